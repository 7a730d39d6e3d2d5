//! What reaches people and other systems: support tickets, webhook payloads and their signatures.

pub mod signature;
pub mod tickets;
pub mod webhook;
