//! Docent's platform-neutral core.
//!
//! Everything here is plain Rust with no I/O: HTML extraction, URL handling, chunking, query analysis,
//! answer building and the SQL of the embedded store. The outside world is reached only through the
//! traits in [`ports`], which each platform shell implements.

// The port traits are used with static dispatch on single-threaded runtimes; see `ports`.
#![allow(async_fn_in_trait)]

pub mod answer;
pub mod breaker;
pub mod chunk;
pub mod config;
pub mod crawl;
pub mod domain;
pub mod embed;
pub mod extract;
pub mod html;
pub mod instruct;
pub mod llm;
pub mod pg_params;
pub mod politeness;
pub mod ports;
pub mod ratelimit;
pub mod rerank;
pub mod retry;
pub mod robots;
pub mod schedule;
pub mod search;
pub mod signature;
pub mod sql_gate;
pub mod sitemap;
pub mod sse;
pub mod store;
pub mod tasks;
pub mod tickets;
pub mod urls;
pub mod vectorize;
pub mod vectorize_store;
pub mod webhook;
