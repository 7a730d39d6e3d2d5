//! Language models without I/O: the grounding prompt ([`prompt`]), the wire formats of
//! OpenAI-compatible endpoints and Workers AI ([`wire`]), quotas, prices and the response-cache key
//! ([`accounting`]), Llama-style instruct rendering ([`instruct`]) and server-sent events ([`sse`]).
//! The chat function drives these over the ports.

pub mod accounting;
pub mod instruct;
pub mod prompt;
pub mod sse;
pub mod wire;
