//! Port traits: the only way Docent's logic touches the outside world.
//!
//! Each platform shell (Cloudflare Workers, Spin, the native CLI) implements these and nothing
//! more. The futures are not `Send`: Workers and Spin components are single-threaded, and the
//! native CLI drives them on one thread, so requiring `Send` would only force needless locking into
//! the shells.

use crate::crawl::politeness::{Admission, HostLimits};
use crate::domain::CrawlMessage;

/// A failure reported by a port. `transient` failures (timeouts, 5xx, lost connections) are worth
/// retrying; the others are not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortError {
    pub message: String,
    pub transient: bool,
}

impl PortError {
    pub fn transient(message: impl Into<String>) -> Self {
        PortError { message: message.into(), transient: true }
    }
    pub fn permanent(message: impl Into<String>) -> Self {
        PortError { message: message.into(), transient: false }
    }
}

impl std::fmt::Display for PortError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PortError {}

pub type PortResult<T> = Result<T, PortError>;

/// An eventually consistent key-value store (Workers KV, Spin key-value).
pub trait KeyValue {
    async fn get(&self, key: &str) -> PortResult<Option<String>>;
    /// Stores `value`; with `ttl_seconds` the entry expires (Workers KV needs at least 60 s).
    async fn put(&self, key: &str, value: &str, ttl_seconds: Option<u64>) -> PortResult<()>;
    async fn delete(&self, key: &str) -> PortResult<()>;
}

/// The crawl work queue: at-least-once delivery, so consumers must be idempotent.
pub trait CrawlQueue {
    async fn send_batch(&self, messages: &[CrawlMessage]) -> PortResult<()>;
    /// Sends messages that become deliverable only after `delay_seconds`.
    async fn send_later(&self, messages: &[CrawlMessage], delay_seconds: u32) -> PortResult<()>;
}

/// The per-host politeness gates, shared by every consumer of every instance (a Durable Object per
/// host on Cloudflare). `key` names the gate: a crawl origin, or [`GLOBAL_GATE`].
pub trait FetchGate {
    async fn acquire(&self, key: &str, limits: &HostLimits) -> PortResult<Admission> {
        self.acquire_units(key, limits, 1).await
    }
    /// Asks for a slot that costs `units` of the rate (tokens of a per-minute token quota).
    async fn acquire_units(
        &self, key: &str, limits: &HostLimits, units: u32,
    ) -> PortResult<Admission>;
    async fn release(&self, key: &str, lease: u64) -> PortResult<()>;
}

/// The gate that caps requests to all hosts together.
pub const GLOBAL_GATE: &str = "*";

/// A value bound to or read from SQL.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
}

impl From<&str> for SqlValue {
    fn from(s: &str) -> Self {
        SqlValue::Text(s.to_string())
    }
}
impl From<String> for SqlValue {
    fn from(s: String) -> Self {
        SqlValue::Text(s)
    }
}
impl From<i64> for SqlValue {
    fn from(n: i64) -> Self {
        SqlValue::Integer(n)
    }
}
impl From<u64> for SqlValue {
    fn from(n: u64) -> Self {
        SqlValue::Integer(n as i64)
    }
}
impl From<f64> for SqlValue {
    fn from(n: f64) -> Self {
        SqlValue::Real(n)
    }
}
impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(v: Option<T>) -> Self {
        v.map(Into::into).unwrap_or(SqlValue::Null)
    }
}

/// One SQL statement with positional (`?1`, `?2`, ...) parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<SqlValue>,
}

impl Statement {
    pub fn new(sql: impl Into<String>, params: Vec<SqlValue>) -> Self {
        Statement { sql: sql.into(), params }
    }
}

/// A row as JSON values, in the order of the SELECT list.
pub type Row = Vec<serde_json::Value>;

/// The SQL a database speaks. Statements are written once with `?N` placeholders; where the
/// dialects differ (full-text search, vectors, JSON, upserts of many rows) the store writes each
/// one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlDialect {
    /// D1, Spin SQLite and rusqlite natively: FTS5 for lexical search, quantised vectors in rows.
    Sqlite,
    /// Postgres with pgvector (Hyperdrive on Cloudflare, Spin's Postgres interface, natively).
    Postgres,
}

/// A SQL database: SQLite (D1, Spin SQLite, rusqlite natively) or Postgres.
pub trait SqlDatabase {
    fn dialect(&self) -> SqlDialect {
        SqlDialect::Sqlite
    }
    async fn query(&self, statement: &Statement) -> PortResult<Vec<Row>>;
    /// Runs the statements in one transaction; returns the number of rows each one changed.
    async fn batch(&self, statements: &[Statement]) -> PortResult<Vec<u64>>;
    /// The rows the database read and wrote for this connection's statements since the last call,
    /// where it reports them (D1, which bills by them); zero elsewhere.
    fn take_row_counts(&self) -> RowCounts {
        RowCounts::default()
    }
}

/// Rows a database reports having read and written ([`SqlDatabase::take_row_counts`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowCounts {
    pub read: u64,
    pub written: u64,
}

/// The store's database as a platform opens it at start-up (`DOCENT_STORE`): its SQLite, or
/// Postgres.
#[derive(Clone)]
pub enum StoreDatabase<S, P> {
    Sqlite(S),
    Postgres(P),
}

impl<S: SqlDatabase, P: SqlDatabase> SqlDatabase for StoreDatabase<S, P> {
    fn dialect(&self) -> SqlDialect {
        match self {
            StoreDatabase::Sqlite(db) => db.dialect(),
            StoreDatabase::Postgres(db) => db.dialect(),
        }
    }
    async fn query(&self, statement: &Statement) -> PortResult<Vec<Row>> {
        match self {
            StoreDatabase::Sqlite(db) => db.query(statement).await,
            StoreDatabase::Postgres(db) => db.query(statement).await,
        }
    }
    async fn batch(&self, statements: &[Statement]) -> PortResult<Vec<u64>> {
        match self {
            StoreDatabase::Sqlite(db) => db.batch(statements).await,
            StoreDatabase::Postgres(db) => db.batch(statements).await,
        }
    }
    fn take_row_counts(&self) -> RowCounts {
        match self {
            StoreDatabase::Sqlite(db) => db.take_row_counts(),
            StoreDatabase::Postgres(db) => db.take_row_counts(),
        }
    }
}

/// An outbound HTTP request. A 3xx answer comes back as it is: shells never follow redirects,
/// so every hop passes the crawl's outbound policy ([`crate::crawl::outbound`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// Bodies beyond this are cut off and flagged, never buffered whole.
    pub max_body_bytes: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchResponse {
    pub status: u16,
    /// The URL that answered.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub truncated: bool,
}

impl FetchResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Outbound HTTP.
pub trait Fetcher {
    type Stream: ByteStream;
    /// The whole exchange, body included, within the platform's fetch deadline.
    async fn fetch(&self, request: FetchRequest) -> PortResult<FetchResponse>;
    /// Returns as soon as the response headers are in; the body is read as it arrives. It has no
    /// deadline of its own: the caller races each step against [`Clock::sleep`].
    async fn open(&self, request: FetchRequest) -> PortResult<StreamingResponse<Self::Stream>>;
}

/// A response whose body is still arriving (a streamed model answer).
pub struct StreamingResponse<S> {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: S,
}

impl<S> StreamingResponse<S> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A body read piece by piece.
pub trait ByteStream {
    /// The next piece, or `None` at the end.
    async fn next_chunk(&mut self) -> Option<PortResult<Vec<u8>>>;
}

/// The model runtime of a platform that has none (natively): models are reached over
/// OpenAI-compatible HTTP instead, and every call here fails permanently so the gateway moves on.
pub struct NoModelRuntime;

/// The body stream of [`NoModelRuntime`]; never constructed.
pub enum NoStream {}

impl ByteStream for NoStream {
    async fn next_chunk(&mut self) -> Option<PortResult<Vec<u8>>> {
        match *self {}
    }
}

impl ModelRuntime for NoModelRuntime {
    type Stream = NoStream;
    async fn stream_chat(
        &self, _model: &str, _messages: &[crate::llm::prompt::Message], _max_tokens: u32,
    ) -> PortResult<NoStream> {
        Err(PortError::permanent("this platform has no model runtime (Workers AI is Cloudflare's, spin-llm is Spin's); use an OpenAI-compatible provider"))
    }
}

/// Appends `chunk` to a body read up to `max_bytes`; true (and the body cut to `max_bytes`) once it
/// went over, so an oversized body is detected without buffering it.
pub fn append_capped(body: &mut Vec<u8>, chunk: &[u8], max_bytes: usize) -> bool {
    body.extend_from_slice(chunk);
    if body.len() > max_bytes {
        body.truncate(max_bytes);
        return true;
    }
    false
}

/// A model runtime bound to the platform: Workers AI's `AI` binding, or Spin's LLM interface.
/// Platforms without one answer every call with a permanent error.
pub trait ModelRuntime {
    type Stream: ByteStream;
    /// Runs a text-generation model with `stream: true`: the bytes are server-sent events in the
    /// Workers AI format (a runtime that answers whole sends them at once:
    /// `instruct::whole_answer_events`).
    async fn stream_chat(
        &self, model: &str, messages: &[crate::llm::prompt::Message], max_tokens: u32,
    ) -> PortResult<Self::Stream>;
    /// Embeds `texts` (at most 100) with an embedding model, in order.
    async fn embed(&self, model: &str, texts: &[String]) -> PortResult<Vec<Vec<f32>>> {
        let _ = (model, texts);
        Err(PortError::permanent("this platform has no model runtime for embeddings"))
    }
    /// Scores `documents` against `query` with a reranker model: `(index, score)` pairs.
    async fn rerank(
        &self, model: &str, query: &str, documents: &[String],
    ) -> PortResult<Vec<(usize, f64)>> {
        let _ = (model, query, documents);
        Err(PortError::permanent("this platform has no model runtime for reranking"))
    }
}

/// Wall-clock time and randomness, which differ per platform and are fixed in tests.
pub trait Clock {
    fn now_ms(&self) -> u64;
    /// Cryptographically secure random bytes (session ids must be unguessable).
    fn random_bytes(&self, buf: &mut [u8]);
    /// Hex of `bytes` random bytes, e.g. for job and session ids.
    fn random_id(&self, bytes: usize) -> String {
        let mut buf = vec![0u8; bytes];
        self.random_bytes(&mut buf);
        buf.iter().map(|b| format!("{b:02x}")).collect()
    }
    /// Waits `ms` milliseconds without blocking other work of the instance.
    async fn sleep(&self, ms: u64);
}
