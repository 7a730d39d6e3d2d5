//! The crawl, document, vector, answer and ticket stores on SQL: SQLite (D1 on Cloudflare, Spin's
//! SQLite, rusqlite natively) or Postgres with pgvector. One set of queries, so every platform
//! indexes identically; where the dialects differ (full-text search, vectors, JSON rows) each gets
//! its own statement, chosen by [`SqlDatabase::dialect`].
//!
//! [`SqlStore`] implements every store trait of [`api`], one module per concern: `schema`
//! (creation and migrations), `crawl_state`, `documents` (with lexical search), `vectors`,
//! `answers` and `tickets`; `rows` reads result rows. Beside it: the task table ([`tasks`]), the
//! politeness gates ([`sql_gate`]) and Cloudflare Vectorize ([`vectorize`]).
//!
//! Idempotence: crawl state is keyed by (job, url key) and only moves out of `queued` once; a
//! document is keyed by url key and rewritten only when its content hash changes. Redelivered queue
//! messages therefore change nothing.

// The store traits are used with static dispatch on single-threaded runtimes, like the core's
// ports.
#![allow(async_fn_in_trait)]

mod answers;
pub mod api;
mod crawl_state;
mod documents;
mod metrics;
mod rate_counts;
mod rows;
mod schema;
pub mod sql_gate;
pub mod tasks;
mod tickets;
pub mod vectorize;
mod vectors;

use docent_core::ports::{PortResult, Row, SqlDatabase, SqlValue, Statement};

pub use schema::{
    migrations, split_script, Migration, MIGRATIONS_TABLE, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS,
};

/// Every store of [`api`] over one database of either dialect.
pub struct SqlStore<D> {
    db: D,
}

impl<D: SqlDatabase> SqlStore<D> {
    pub fn new(db: D) -> Self {
        SqlStore { db }
    }

    pub fn database(&self) -> &D {
        &self.db
    }

    async fn query(&self, sql: &str, params: Vec<SqlValue>) -> PortResult<Vec<Row>> {
        self.db.query(&Statement::new(sql, params)).await
    }
}
