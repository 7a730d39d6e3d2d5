//! The native shell of Docent (rusqlite, in-memory queue and KV, file system and ureq) and the
//! pieces of the `docent` command that tests drive directly.

#![allow(async_fn_in_trait)]

pub mod platform;
pub mod testing;
