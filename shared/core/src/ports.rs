//! Port traits: the only way Docent's logic touches the outside world.
//!
//! Each platform shell (Cloudflare Workers, Spin, the native CLI) implements these and nothing more.
//! The futures are not `Send`: Workers and Spin components are single-threaded, and the native CLI drives
//! them on one thread, so requiring `Send` would only force needless locking into the shells.

use serde::{Deserialize, Serialize};

use crate::politeness::{Admission, HostLimits};
use crate::domain::{CrawlJob, CrawlMessage, DeadLetter, DocumentMeta, IndexedDocument, NewCrawlJob, UrlOutcome, UrlState};
use crate::search::SearchHit;
use crate::tickets::{AuditEntry, NewTicket, Ticket, TicketChange, TicketStatus};

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
    async fn acquire_units(&self, key: &str, limits: &HostLimits, units: u32) -> PortResult<Admission>;
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

/// The SQL a database speaks. Statements are written once with `?N` placeholders; where the dialects
/// differ (full-text search, vectors, JSON, upserts of many rows) the store writes each one.
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
}

/// The store's database as a platform opens it at start-up (`DOCENT_STORE`): its SQLite, or Postgres.
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
}

/// Crawl bookkeeping: jobs and the per-URL state that makes crawls exact and resumable.
pub trait CrawlStore {
    /// Creates the job and its start URL (state `queued`).
    async fn create_job(&self, job: &NewCrawlJob, start: &CrawlMessage, now_ms: u64) -> PortResult<()>;
    async fn job(&self, id: &str) -> PortResult<Option<CrawlJob>>;
    async fn recent_jobs(&self, limit: u32) -> PortResult<Vec<CrawlJob>>;
    /// Cancels a queued or running job; false if it had already ended or does not exist.
    async fn cancel_job(&self, id: &str, now_ms: u64) -> PortResult<bool>;
    async fn mark_job_running(&self, id: &str, now_ms: u64) -> PortResult<()>;
    async fn url_state(&self, job_id: &str, url_key: &str) -> PortResult<Option<UrlState>>;
    /// Records newly discovered URLs, never letting the job exceed `max_pages`; duplicates are ignored.
    async fn add_discovered(&self, parent: &CrawlMessage, found: &[CrawlMessage], max_pages: u32, now_ms: u64) -> PortResult<()>;
    /// URLs first discovered from `parent` that are still waiting to be crawled.
    async fn queued_children(&self, parent: &CrawlMessage) -> PortResult<Vec<CrawlMessage>>;
    /// Records the outcome of a URL (only if it is still queued) and ends the job when nothing is left;
    /// returns true if this call ended the job.
    async fn finish_url(&self, message: &CrawlMessage, outcome: &UrlOutcome, now_ms: u64) -> PortResult<bool>;
    /// Notes that `job` stopped discovery somewhere (a page at its depth limit), so it did not see
    /// the whole site.
    async fn mark_truncated(&self, job_id: &str) -> PortResult<()>;
    async fn was_truncated(&self, job_id: &str) -> PortResult<bool>;
    /// Records when `message`, put back on the queue with a delay, is due to be delivered again.
    async fn note_due(&self, message: &CrawlMessage, due_at_ms: u64) -> PortResult<()>;
    /// Records a failed attempt at `message` and why; returns how many attempts have failed so far.
    async fn record_failure(&self, message: &CrawlMessage, reason: &str) -> PortResult<u32>;
    /// Gives up on `message`: it becomes a dead letter and its URL `failed`; true if that ended the job.
    async fn dead_letter(&self, message: &CrawlMessage, now_ms: u64) -> PortResult<bool>;
    async fn dead_letters(&self, limit: u32) -> PortResult<Vec<DeadLetter>>;
    /// Puts dead letters (of one job, or all) back to `queued` and reopens their jobs; returns them
    /// for re-enqueueing.
    async fn replay_dead_letters(&self, job: Option<&str>, now_ms: u64) -> PortResult<Vec<CrawlMessage>>;
    /// Queued URLs of active jobs that made no progress since `older_than_ms` (their messages were lost);
    /// each job is marked swept, so the next sweep leaves it alone unless it stalls again.
    async fn take_stale_queued(&self, older_than_ms: u64, limit: u32, now_ms: u64) -> PortResult<Vec<CrawlMessage>>;
}

/// Indexed documents and chunks, with lexical search.
pub trait DocumentStore {
    async fn document_meta(&self, url_key: &str) -> PortResult<Option<DocumentMeta>>;
    /// Replaces a document and all its chunks atomically; bumps the index version.
    async fn upsert_document(&self, document: &IndexedDocument) -> PortResult<()>;
    async fn delete_document(&self, url_key: &str) -> PortResult<bool>;
    /// Records that `job` found the document `url_key` (indexed or unchanged).
    async fn mark_seen(&self, url_key: &str, job_id: &str) -> PortResult<()>;
    /// Removes the documents under `url_prefix`, indexed before `job_id` started, that it did not find;
    /// returns how many. Pages written by other jobs meanwhile are kept.
    async fn prune_unseen(&self, job_id: &str, url_prefix: &str) -> PortResult<u64>;
    /// Drops the job's sightings once it has ended.
    async fn forget_sightings(&self, job_id: &str) -> PortResult<()>;
    /// Ranks chunks matching any of `terms` (from [`crate::search::query_terms`]), more matches and
    /// matches in titles and headings first. With `url_prefix`, only chunks whose URL starts with it.
    async fn lexical_search(&self, terms: &[String], url_prefix: Option<&str>, limit: u32) -> PortResult<Vec<SearchHit>>;
    /// The chunks with these ids, in the order given (unknown ids are left out); `score` is 0.
    async fn chunks_by_id(&self, ids: &[String]) -> PortResult<Vec<SearchHit>>;
    /// Changes whenever the indexed content changes; part of every cache key.
    async fn index_version(&self) -> PortResult<u64>;
    async fn counts(&self) -> PortResult<IndexCounts>;
}

/// Nearest-neighbour search over chunk embeddings (the embedded store on D1/SQLite; Vectorize or
/// pgvector at scale). Vectors are written with their document, so a page and its vectors change together.
pub trait VectorStore {
    /// The `limit` chunks nearest to `query` among vectors of `model`, best first, with their cosine
    /// similarity; with `url_prefix`, only chunks whose URL starts with it.
    async fn nearest(&self, model: &str, query: &[f32], url_prefix: Option<&str>, limit: u32) -> PortResult<Vec<(String, f32)>>;
    /// The similarity of `query` to each of these chunks that has a vector of `model` (others are left out).
    async fn similarities(&self, model: &str, query: &[f32], chunk_ids: &[String]) -> PortResult<Vec<(String, f32)>>;
    async fn vector_count(&self, model: &str) -> PortResult<u64>;
    /// Chunks of the document `url_key` with no vector of `model`, as (chunk id, title, heading, text).
    async fn chunks_without_vectors(&self, url_key: &str, model: &str) -> PortResult<Vec<(String, String, String, String)>>;
    /// Stores vectors for existing chunks of the document `url_key`.
    async fn put_vectors(&self, url_key: &str, vectors: &[(String, crate::domain::ChunkVector)]) -> PortResult<()>;
    /// The lexical ranking of `query.terms` and the vector ranking of `query.vector`, each at most
    /// `query.candidates` long, fused by reciprocal rank fusion ([`crate::search::reciprocal_rank_fusion`])
    /// inside the database in one round trip; empty when no chunk matched lexically. `None` when the
    /// store cannot, and the caller runs both searches and fuses them itself.
    async fn fused_search(&self, query: &FusedQuery<'_>) -> PortResult<Option<Vec<SearchHit>>> {
        let _ = query;
        Ok(None)
    }
}

/// A hybrid query for [`VectorStore::fused_search`].
#[derive(Debug, Clone, Copy)]
pub struct FusedQuery<'a> {
    pub terms: &'a [String],
    pub model: &'a str,
    pub vector: &'a [f32],
    pub url_prefix: Option<&'a str>,
    pub candidates: u32,
    /// RRF weights of the lexical and the vector ranking.
    pub weights: (f64, f64),
}

/// The outcome of a ticket update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketUpdate {
    Updated(Box<Ticket>),
    NotFound,
    /// The requested status change is not allowed from the current status.
    InvalidTransition { from: TicketStatus, to: TicketStatus },
    /// Someone else changed the ticket at the same moment; nothing was written.
    Conflict,
}

/// Support tickets with their comments and audit log.
/// Ratings of answers and the accounting of model calls.
pub trait AnswerStore {
    async fn record_feedback(&self, feedback: &crate::domain::Feedback) -> PortResult<()>;
    /// Newest first.
    async fn list_feedback(&self, rating: Option<crate::domain::Rating>, limit: u32) -> PortResult<Vec<crate::domain::Feedback>>;
    async fn add_usage(&self, record: &crate::domain::UsageRecord) -> PortResult<()>;
    /// Totals of the days from `since_day` (`YYYY-MM-DD`) on, newest first.
    async fn usage_since(&self, since_day: &str) -> PortResult<Vec<crate::domain::UsageTotals>>;
}

pub trait TicketStore {
    async fn create_ticket(&self, ticket: &NewTicket, now_ms: u64) -> PortResult<Ticket>;
    /// The ticket and the SHA-256 of its requester's access token.
    async fn ticket(&self, id: &str) -> PortResult<Option<(Ticket, String)>>;
    async fn list_tickets(&self, status: Option<TicketStatus>, limit: u32) -> PortResult<Vec<Ticket>>;
    /// Applies `change` as `actor`; `revision` is a fresh random token that makes the write conditional.
    async fn update_ticket(&self, id: &str, change: &TicketChange, actor: &str, revision: &str, now_ms: u64) -> PortResult<TicketUpdate>;
    async fn ticket_audit(&self, id: &str) -> PortResult<Vec<AuditEntry>>;
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexCounts {
    pub documents: u64,
    pub chunks: u64,
}

/// An outbound HTTP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// Bodies beyond this are cut off and flagged, never buffered whole.
    pub max_body_bytes: usize,
    /// Follow redirects (up to five) inside the fetch; otherwise a 3xx answer is returned as it is, so
    /// the crawler can queue its target like any other URL.
    pub follow_redirects: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchResponse {
    pub status: u16,
    /// The URL that answered, after redirects.
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
    async fn stream_chat(&self, _model: &str, _messages: &[crate::llm::Message], _max_tokens: u32) -> PortResult<NoStream> {
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
    /// Workers AI format (a runtime that answers whole sends them at once: `instruct::whole_answer_events`).
    async fn stream_chat(&self, model: &str, messages: &[crate::llm::Message], max_tokens: u32) -> PortResult<Self::Stream>;
    /// Embeds `texts` (at most 100) with an embedding model, in order.
    async fn embed(&self, model: &str, texts: &[String]) -> PortResult<Vec<Vec<f32>>> {
        let _ = (model, texts);
        Err(PortError::permanent("this platform has no model runtime for embeddings"))
    }
    /// Scores `documents` against `query` with a reranker model: `(index, score)` pairs.
    async fn rerank(&self, model: &str, query: &str, documents: &[String]) -> PortResult<Vec<(usize, f64)>> {
        let _ = (model, query, documents);
        Err(PortError::permanent("this platform has no model runtime for reranking"))
    }
}

/// Wall-clock time and randomness, which differ per platform and are fixed in tests.
pub trait Clock {
    fn now_ms(&self) -> u64;
    /// Cryptographically secure random bytes (session ids must be unguessable).
    fn random_bytes(&self, buf: &mut [u8]);
    /// Waits `ms` milliseconds without blocking other work of the instance.
    async fn sleep(&self, ms: u64);
}
