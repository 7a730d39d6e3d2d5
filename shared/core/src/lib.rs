//! Docent's platform-neutral core: plain Rust with no I/O.
//!
//! Each room is one capability: [`crawl`] (what to fetch and what a response means), [`content`]
//! (pages to text and chunks), [`retrieval`] (ranking and extractive answers), [`llm`] (prompts,
//! provider wire formats, quotas), [`escalation`] (tickets, webhooks, signatures) and [`ops`]
//! (metrics and alert rules). [`domain`]
//! holds the types they share, [`config`] reads the `DOCENT_*` settings, and [`ports`] are the
//! traits each platform shell implements: the only way out to the world. The store built on these
//! ports is the `docent-store` crate.

// The port traits are used with static dispatch on single-threaded runtimes; see `ports`.
#![allow(async_fn_in_trait)]

pub mod config;
pub mod content;
pub mod crawl;
pub mod domain;
pub mod escalation;
pub mod llm;
pub mod ops;
pub mod pg_params;
pub mod ports;
pub mod retrieval;
