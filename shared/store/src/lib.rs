//! The crawl, document, vector, answer and ticket stores on SQL: SQLite (D1 on Cloudflare, Spin's
//! SQLite, rusqlite natively) or Postgres with pgvector. One set of queries, so every platform
//! indexes identically; where the dialects differ (full-text search, vectors, JSON rows) each gets
//! its own statement, chosen by [`SqlDatabase::dialect`].
//!
//! [`SqlStore`] implements every store trait of [`api`], one module per concern: `schema`
//! (creation and migrations), `crawl_state`, `documents` (with lexical search), `vectors`,
//! `answers` and `tickets`; `rows` reads result rows, and `search` holds what the lexical and fused
//! searches share (BM25 on Postgres, hits as rows). Beside it: the task table ([`tasks`]), the
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
mod search;
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
    db: Counted<D>,
    /// Each model's sign-bit centre once read: it never changes (see `vectors.rs`).
    centres: std::cell::RefCell<std::collections::HashMap<String, Option<Vec<f32>>>>,
}

/// The database, counting the round trips and statements the store sends it (each is a billed
/// request on D1), for the metrics.
struct Counted<D> {
    inner: D,
    counts: std::cell::Cell<SqlCounts>,
}

/// Round trips to the database, the statements they carried, and the rows the database reports
/// they read and wrote (D1 only; zero elsewhere).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SqlCounts {
    pub round_trips: u64,
    pub statements: u64,
    pub rows: docent_core::ports::RowCounts,
}

impl<D> Counted<D> {
    fn add(&self, statements: usize) {
        let mut counts = self.counts.get();
        counts.round_trips += 1;
        counts.statements += statements as u64;
        self.counts.set(counts);
    }
}

impl<D: SqlDatabase> SqlDatabase for Counted<D> {
    fn dialect(&self) -> docent_core::ports::SqlDialect {
        self.inner.dialect()
    }
    async fn query(&self, statement: &Statement) -> PortResult<Vec<Row>> {
        self.add(1);
        self.inner.query(statement).await
    }
    async fn batch(&self, statements: &[Statement]) -> PortResult<Vec<u64>> {
        self.add(statements.len());
        self.inner.batch(statements).await
    }
    fn take_row_counts(&self) -> docent_core::ports::RowCounts {
        self.inner.take_row_counts()
    }
}

impl<D: SqlDatabase> SqlStore<D> {
    pub fn new(db: D) -> Self {
        SqlStore {
            db: Counted { inner: db, counts: Default::default() },
            centres: Default::default(),
        }
    }

    /// The database itself (what it is sent through here is not counted).
    pub fn database(&self) -> &D {
        &self.db.inner
    }

    async fn query(&self, sql: &str, params: Vec<SqlValue>) -> PortResult<Vec<Row>> {
        self.db.query(&Statement::new(sql, params)).await
    }
}
