//! Finding and quoting: query terms and rank fusion, the plan of a search, chunks to pages, the built-in embedder,
//! reranking, and the extractive answer given when no model is configured.

pub mod answer;
pub mod embed;
pub mod pages;
pub mod plan;
pub mod rerank;
pub mod search;
