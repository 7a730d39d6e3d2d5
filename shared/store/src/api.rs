//! What the store offers the functions: one trait per concern, all implemented by
//! [`crate::SqlStore`] (and by [`crate::vectorize::store::VectorizeStore`] over it). Platform
//! shells implement none of these; they implement the core's `SqlDatabase` port and the store does
//! the rest.

use serde::{Deserialize, Serialize};

use docent_core::crawl::globs::GlobMatches;
use docent_core::domain::{
    CrawlJob, CrawlMessage, DeadLetter, DocumentMeta, IndexedDocument, NewCrawlJob, NotIndexed,
    UrlOutcome, UrlState,
};
use docent_core::escalation::tickets::{AuditEntry, NewTicket, Ticket, TicketChange, TicketStatus};
use docent_core::ports::{PortError, PortResult};
use docent_core::retrieval::answer::{PageChunks, TermCounts};
use docent_core::retrieval::search::SearchHit;

/// Crawl bookkeeping: jobs and the per-URL state that makes crawls exact and resumable.
pub trait CrawlStore {
    /// Creates the job and its start URL (state `queued`).
    async fn create_job(
        &self, job: &NewCrawlJob, start: &CrawlMessage, now_ms: u64,
    ) -> PortResult<()>;
    async fn job(&self, id: &str) -> PortResult<Option<CrawlJob>>;
    async fn recent_jobs(&self, limit: u32) -> PortResult<Vec<CrawlJob>>;
    /// Cancels a queued or running job; false if it had already ended or does not exist.
    async fn cancel_job(&self, id: &str, now_ms: u64) -> PortResult<bool>;
    async fn mark_job_running(&self, id: &str, now_ms: u64) -> PortResult<()>;
    /// What a queue consumer reads first for a message, in one round trip: the job `job_id`, the
    /// state of its URL `url_key` and the document indexed at that URL; `None` if there is no such
    /// job.
    async fn message_context(
        &self, job_id: &str, url_key: &str,
    ) -> PortResult<Option<MessageContext>>;
    /// Records newly discovered URLs, never letting the job exceed `max_pages`; duplicates are
    /// ignored.
    async fn add_discovered(
        &self, parent: &CrawlMessage, found: &[CrawlMessage], max_pages: u32, now_ms: u64,
    ) -> PortResult<()>;
    /// URLs first discovered from `parent` that are still waiting to be crawled.
    async fn queued_children(&self, parent: &CrawlMessage) -> PortResult<Vec<CrawlMessage>>;
    /// Records the outcome of a URL (only if it is still queued) with what its page showed, and
    /// ends the job when nothing is left; one transaction.
    async fn finish_url(
        &self, message: &CrawlMessage, outcome: &UrlOutcome, findings: Findings<'_>, now_ms: u64,
    ) -> PortResult<Finished>;
    /// Adds `matched` to the globs of `job` known to have matched a URL. A set union, so a
    /// redelivered message and concurrent consumers leave it exact.
    async fn record_glob_matches(&self, job_id: &str, matched: GlobMatches) -> PortResult<()>;
    /// Up to `limit` URLs of `job` that were skipped or failed, with their reasons, in URL order.
    async fn not_indexed(&self, job_id: &str, limit: u32) -> PortResult<Vec<NotIndexed>>;
    /// The globs of `job` that matched a URL so far.
    async fn glob_matches(&self, job_id: &str) -> PortResult<GlobMatches>;
    async fn was_truncated(&self, job_id: &str) -> PortResult<bool>;
    /// Records when `message`, put back on the queue with a delay, is due to be delivered again.
    async fn note_due(&self, message: &CrawlMessage, due_at_ms: u64) -> PortResult<()>;
    /// Records a failed attempt at `message` and why; returns how many attempts have failed so far.
    async fn record_failure(&self, message: &CrawlMessage, reason: &str) -> PortResult<u32>;
    /// Gives up on `message`: it becomes a dead letter and its URL `failed`.
    async fn dead_letter(&self, message: &CrawlMessage, now_ms: u64) -> PortResult<Finished>;
    async fn dead_letters(&self, limit: u32) -> PortResult<Vec<DeadLetter>>;
    /// Puts dead letters (of one job, or all) back to `queued` and reopens their jobs; returns them
    /// for re-enqueueing.
    async fn replay_dead_letters(
        &self, job: Option<&str>, now_ms: u64,
    ) -> PortResult<Vec<CrawlMessage>>;
    /// Queued URLs of active jobs that made no progress since `older_than_ms` (their messages were
    /// lost); each job is marked swept, so the next sweep leaves it alone unless it stalls again.
    async fn take_stale_queued(
        &self, older_than_ms: u64, limit: u32, now_ms: u64,
    ) -> PortResult<Vec<CrawlMessage>>;
}

/// The most URLs [`DocumentStore::urls_with_text`] returns: a page's other addresses are few.
pub const SAME_TEXT_LIMIT: u32 = 20;

/// Indexed documents and chunks, with lexical search.
pub trait DocumentStore {
    async fn document_meta(&self, url_key: &str) -> PortResult<Option<DocumentMeta>>;
    /// Replaces a document and all its chunks atomically; bumps the index version.
    async fn upsert_document(&self, document: &IndexedDocument) -> PortResult<()>;
    async fn delete_document(&self, url_key: &str) -> PortResult<bool>;
    /// The URLs of indexed documents other than `url_key` whose text has `content_hash` (at most
    /// [`SAME_TEXT_LIMIT`]): the crawl indexes a page served under two addresses once.
    async fn urls_with_text(&self, content_hash: &str, url_key: &str) -> PortResult<Vec<String>>;
    /// Removes the documents under `url_prefix`, indexed before `job_id` started, that it did not
    /// find; returns how many. Pages written by other jobs meanwhile are kept.
    async fn prune_unseen(&self, job_id: &str, url_prefix: &str) -> PortResult<u64>;
    /// Drops the job's sightings once it has ended.
    async fn forget_sightings(&self, job_id: &str) -> PortResult<()>;
    /// Counts, for every document, the other documents whose stored links point to it (its
    /// `PageSignals::inlinks`, read back with its chunks), a link from nearly every page (the
    /// site's template) counting nothing; called when a crawl ends, since one page's links change
    /// others' counts. Returns how many documents' counts changed.
    async fn count_inlinks(&self) -> PortResult<u64>;
    /// Ranks chunks matching any of `terms` (from [`crate::retrieval::search::query_terms`]), more
    /// matches and matches in titles and headings first. With `url_prefix`, only chunks whose URL
    /// starts with it.
    async fn lexical_search(
        &self, terms: &[String], url_prefix: Option<&str>, limit: u32,
    ) -> PortResult<Vec<SearchHit>>;
    /// As [`DocumentStore::lexical_search`], among the chunks whose text holds one of `texts`
    /// verbatim (case-sensitive) only: where a query's word is in most chunks (an option's one
    /// letter, `-x`), the chunks that write it as the query does, however far down the word's
    /// ranking they are. The texts are spellings of one thing: the same words, cased or set off
    /// differently (`\nslug\n`, `\nSlug (noun)`).
    async fn lexical_search_containing(
        &self, terms: &[String], texts: &[String], url_prefix: Option<&str>, limit: u32,
    ) -> PortResult<Vec<SearchHit>>;
    /// The chunks with these ids, in the order given (unknown ids are left out); `score` is 0.
    async fn chunks_by_id(&self, ids: &[String]) -> PortResult<Vec<SearchHit>>;
    /// For each chunk id, chunks of its page in page order, so that an answer can choose among the
    /// page's sections and quote one whole: its first `per_page`, and, when the chunk lies beyond
    /// them, the `per_page` from half as many before it; an unknown id gets none.
    async fn page_chunks(&self, chunk_ids: &[String], per_page: u32)
        -> PortResult<Vec<PageChunks>>;
    /// How many chunks there are and how many contain each term (as lexical search matches it): how
    /// rare a question's words are, which tells evidence from a chance match.
    async fn term_counts(&self, terms: &[String]) -> PortResult<TermCounts>;
    /// Changes whenever the indexed content changes; part of every cache key.
    async fn index_version(&self) -> PortResult<u64>;
    async fn counts(&self) -> PortResult<IndexCounts>;
}

/// Nearest-neighbour search over chunk embeddings (the embedded store on D1/SQLite; Vectorize or
/// pgvector at scale). Vectors are written with their document, so a page and its vectors change
/// together.
pub trait VectorStore {
    /// The `limit` chunks nearest to `query` among vectors of `model`, best first, with their
    /// cosine similarity; with `url_prefix`, only chunks whose URL starts with it.
    async fn nearest(
        &self, model: &str, query: &[f32], url_prefix: Option<&str>, limit: u32,
    ) -> PortResult<Vec<(String, f32)>>;
    /// The similarity of `query` to each of these chunks that has a vector of `model` (others are
    /// left out).
    async fn similarities(
        &self, model: &str, query: &[f32], chunk_ids: &[String],
    ) -> PortResult<Vec<(String, f32)>>;
    async fn vector_count(&self, model: &str) -> PortResult<u64>;
    /// Chunks of the document `url_key` with no vector of `model`, as (chunk id, title, heading,
    /// text).
    async fn chunks_without_vectors(
        &self, url_key: &str, model: &str,
    ) -> PortResult<Vec<(String, String, String, String)>>;
    /// Stores vectors for existing chunks of the document `url_key`.
    async fn put_vectors(
        &self, url_key: &str, vectors: &[(String, docent_core::domain::ChunkVector)],
    ) -> PortResult<()>;
    /// Builds the index that serves [`VectorStore::nearest`] over `model`'s vectors, where the store
    /// keeps one and it does not exist yet (pgvector's HNSW); nothing elsewhere. Called when a crawl
    /// ends: building it once after a load is cheaper than keeping it current during the load
    /// (pgvector's advice, measured in docs/BENCHMARKS.md). Until then searches compare every vector.
    async fn index_vectors(&self, model: &str) -> PortResult<()> {
        let _ = model;
        Ok(())
    }
    /// Gives each model whose stored vectors have sign bits about 0 (written before the store kept
    /// centres) its centre, and takes their bits again about it, where the store keeps sign bits
    /// (SQLite); nothing elsewhere. Returns the models centred with their vector counts. Cheap
    /// when there is nothing to do: the cron calls it on every tick.
    async fn centre_vectors(&self) -> PortResult<Vec<(String, u64)>> {
        Ok(Vec::new())
    }
    /// Whether [`VectorStore::fused_search`] is available: the store ranks both ways and fuses
    /// the rankings in the database (Postgres with its vectors). The search plan
    /// (`docent_core::retrieval::plan`) takes it into account.
    fn fuses_in_database(&self) -> bool {
        false
    }
    /// The lexical ranking of `query.terms` and the vector ranking of `query.vector`, each at most
    /// `query.candidates` long, fused by reciprocal rank fusion
    /// ([`docent_core::retrieval::search::reciprocal_rank_fusion`]) inside the database in one round
    /// trip; empty when no chunk matched lexically. An error where
    /// [`VectorStore::fuses_in_database`] is false.
    async fn fused_search(&self, query: &FusedQuery<'_>) -> PortResult<Vec<SearchHit>> {
        let _ = query;
        Err(PortError::permanent("this store does not fuse rankings: rank both ways and fuse them"))
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
    InvalidTransition {
        from: TicketStatus,
        to: TicketStatus,
    },
    /// Someone else changed the ticket at the same moment; nothing was written.
    Conflict,
}

/// Ratings of answers and the accounting of model calls.
pub trait AnswerStore {
    async fn record_feedback(&self, feedback: &docent_core::domain::Feedback) -> PortResult<()>;
    /// Newest first.
    async fn list_feedback(
        &self, rating: Option<docent_core::domain::Rating>, limit: u32,
    ) -> PortResult<Vec<docent_core::domain::Feedback>>;
    async fn add_usage(&self, record: &docent_core::domain::UsageRecord) -> PortResult<()>;
    /// Totals of the days from `since_day` (`YYYY-MM-DD`) on, newest first.
    async fn usage_since(
        &self, since_day: &str,
    ) -> PortResult<Vec<docent_core::domain::UsageTotals>>;
    /// Counts a question declined for weak evidence (the same question, however it is spaced or
    /// capitalised, is one row).
    async fn record_declined(&self, question: &str, now_ms: u64) -> PortResult<()>;
    /// Declined questions, most asked first, then most recent.
    async fn declined_questions(&self, limit: u32) -> PortResult<Vec<DeclinedQuestion>>;
}

/// A question Docent declined to answer, and how often it was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclinedQuestion {
    pub question: String,
    pub times: u64,
    /// When it was last asked (RFC 3339).
    pub last_at: String,
}

/// Exact request counts per client for the public routes' limits: each request is counted by one
/// atomic statement, so concurrent requests from every instance are all counted (KV's
/// read-then-write lost most of them).
pub trait RateStore {
    /// Counts one request against `counter` in the window that starts at `window_start_ms`, and
    /// returns the window's count so far, this request included. The count may be forgotten after
    /// `expires_ms`.
    async fn count_request(
        &self, counter: &str, window_start_ms: u64, expires_ms: u64,
    ) -> PortResult<u64>;
    /// Forgets the counts of windows that expired before `now_ms`.
    async fn forget_expired_counts(&self, now_ms: u64) -> PortResult<()>;
}

/// What [`CrawlStore::message_context`] reads.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageContext {
    /// The job, its page counts left at zero (counting them reads every URL of the job;
    /// [`CrawlStore::job`] does).
    pub job: CrawlJob,
    /// `None` if the job never recorded the URL.
    pub url_state: Option<UrlState>,
    /// The document indexed at the URL, by any job.
    pub document: Option<DocumentMeta>,
}

/// What a finished URL's page showed, recorded with its outcome ([`CrawlStore::finish_url`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Findings<'a> {
    /// The document the job found at the URL (indexed or unchanged): a prune after the crawl
    /// keeps it.
    pub seen_document: Option<&'a str>,
    /// Discovery stopped at this page (its depth limit, or links beyond the cap), so the job did
    /// not see the whole site.
    pub truncated: bool,
}

/// What [`CrawlStore::finish_url`] changed: a redelivered message finds its URL finished already
/// and changes nothing, so counting only `url` counts each URL once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Finished {
    /// This call moved the URL out of `queued`.
    pub url: bool,
    /// This call ended the job.
    pub job: bool,
}

/// Metric totals added by every instance, and the crawl figures `/metrics` reads when scraped.
pub trait MetricsStore {
    /// Adds each delta to its series' total (one upsert per 33 series, in one batch).
    async fn add_metrics(
        &self, deltas: &[(docent_core::ops::metrics::SeriesKey, f64)],
    ) -> PortResult<()>;
    /// Every series' total.
    async fn metric_totals(&self) -> PortResult<Vec<(docent_core::ops::metrics::SeriesKey, f64)>>;
    /// Queued URLs per priority tier, dead letters and jobs per status, in one round trip.
    async fn crawl_gauges(&self) -> PortResult<CrawlGauges>;
    /// The round trips and statements this store sent its database since the last call, and the
    /// rows the database reports they read and wrote.
    fn take_sql_counts(&self) -> crate::SqlCounts;
}

/// What [`MetricsStore::crawl_gauges`] reads.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CrawlGauges {
    /// (priority, URLs queued and not finished).
    pub backlog: Vec<(String, u64)>,
    pub dead_letters: u64,
    /// (status, jobs).
    pub jobs: Vec<(String, u64)>,
}

/// Support tickets with their comments and audit log.
pub trait TicketStore {
    async fn create_ticket(&self, ticket: &NewTicket, now_ms: u64) -> PortResult<Ticket>;
    /// The ticket and the SHA-256 of its requester's access token.
    async fn ticket(&self, id: &str) -> PortResult<Option<(Ticket, String)>>;
    async fn list_tickets(
        &self, status: Option<TicketStatus>, limit: u32,
    ) -> PortResult<Vec<Ticket>>;
    /// Applies `change` as `actor`; `revision` is a fresh random token that makes the write
    /// conditional.
    async fn update_ticket(
        &self, id: &str, change: &TicketChange, actor: &str, revision: &str, now_ms: u64,
    ) -> PortResult<TicketUpdate>;
    async fn ticket_audit(&self, id: &str) -> PortResult<Vec<AuditEntry>>;
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexCounts {
    pub documents: u64,
    pub chunks: u64,
}
