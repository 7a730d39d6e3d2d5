//! Domain types shared by every function and platform.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Crawl priority tiers, highest first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Critical,
    High,
    #[default]
    Normal,
    Low,
}

impl Priority {
    /// Highest first.
    pub const ALL: [Priority; 4] =
        [Priority::Critical, Priority::High, Priority::Normal, Priority::Low];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Critical => "critical",
            Priority::High => "high",
            Priority::Normal => "normal",
            Priority::Low => "low",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "critical" => Priority::Critical,
            "high" => Priority::High,
            "normal" => Priority::Normal,
            "low" => Priority::Low,
            _ => return None,
        })
    }
}

/// Where a crawl job is: waiting, crawling, or ended (done, failed or cancelled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Failed,
    Cancelled,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => JobStatus::Queued,
            "running" => JobStatus::Running,
            "done" => JobStatus::Done,
            "failed" => JobStatus::Failed,
            "cancelled" => JobStatus::Cancelled,
            _ => return None,
        })
    }

    pub fn is_active(self) -> bool {
        matches!(self, JobStatus::Queued | JobStatus::Running)
    }
}

/// A validated crawl request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCrawlJob {
    pub id: String,
    pub start_url: String,
    pub max_pages: u32,
    pub max_depth: u32,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub priority: Priority,
}

/// The detail recorded for URLs that robots.txt disallows (counted in
/// `CrawlJob::blocked_by_robots`).
pub const ROBOTS_BLOCKED: &str = "blocked by robots.txt";

/// Exact per-job page counts, derived from per-URL state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PageCounts {
    /// URLs accepted into the crawl (after scope and filters).
    pub discovered: u64,
    /// URLs that got an HTTP response.
    pub fetched: u64,
    /// Pages whose content was new or changed and was (re)indexed.
    pub indexed: u64,
    /// Pages fetched whose content had not changed since the last crawl.
    pub unchanged: u64,
    /// Pages not indexed by rule: not HTML/text, noindex, or the job was cancelled.
    pub skipped: u64,
    /// Pages that could not be fetched or processed after retries.
    pub failed: u64,
    /// URLs found after the crawl had reached its `max_pages`, and so never fetched: the part of
    /// the site this crawl left out (0 when it saw everything it found).
    #[serde(default)]
    pub left_out: u64,
}

/// A crawl job with its exact page counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CrawlJob {
    pub id: String,
    /// The start URL, normalised.
    pub url: String,
    pub status: JobStatus,
    pub priority: Priority,
    pub max_pages: u32,
    pub max_depth: u32,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub pages: PageCounts,
    /// Skipped URLs that robots.txt disallows (reported, never silently dropped).
    pub blocked_by_robots: u64,
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time")))]
    pub created_at: String,
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time")))]
    pub started_at: Option<String>,
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time")))]
    pub finished_at: Option<String>,
}

/// One unit of crawl work on the queue: fetch `url` for `job`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrawlMessage {
    pub job: String,
    pub url: String,
    pub depth: u32,
    /// The job's tier, which picks the queue; messages from before tiers existed are `normal`.
    #[serde(default)]
    pub priority: Priority,
    /// The page's `<lastmod>` in a sitemap (ms since the epoch): a page indexed since is not
    /// fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lastmod_ms: Option<u64>,
    /// How many redirects led to this URL (a chain longer than [`MAX_REDIRECTS`] is given up).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub redirects: u32,
}

/// Redirect hops followed from a linked URL to the page that answers.
pub const MAX_REDIRECTS: u32 = 5;

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl CrawlMessage {
    pub fn new(job: &str, url: &str, depth: u32, priority: Priority) -> CrawlMessage {
        CrawlMessage {
            job: job.to_string(),
            url: url.to_string(),
            depth,
            priority,
            lastmod_ms: None,
            redirects: 0,
        }
    }

    pub fn url_key(&self) -> String {
        url_key(&self.url)
    }
}

/// A URL the queue gave up on, kept for operators to inspect and replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DeadLetter {
    /// The crawl job the URL belongs to.
    pub job: String,
    pub url: String,
    pub depth: u32,
    pub attempts: u32,
    /// The last failure before giving up.
    pub reason: String,
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time")))]
    pub at: String,
}

/// A URL of a job that was skipped or failed, and why: nothing is dropped without a word.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NotIndexed {
    pub url: String,
    /// `skipped` (robots.txt, noindex, not HTML, no text content, out of scope…) or `failed`.
    pub state: String,
    pub reason: String,
}

/// The state of one URL within one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlState {
    Queued,
    Indexed,
    Unchanged,
    Skipped,
    Failed,
}

impl UrlState {
    pub fn as_str(self) -> &'static str {
        match self {
            UrlState::Queued => "queued",
            UrlState::Indexed => "indexed",
            UrlState::Unchanged => "unchanged",
            UrlState::Skipped => "skipped",
            UrlState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => UrlState::Queued,
            "indexed" => UrlState::Indexed,
            "unchanged" => UrlState::Unchanged,
            "skipped" => UrlState::Skipped,
            "failed" => UrlState::Failed,
            _ => return None,
        })
    }
}

/// How processing a URL ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlOutcome {
    pub state: UrlState,
    /// Whether an HTTP response was received.
    pub fetched: bool,
    /// Why, for skipped and failed URLs (shown to operators).
    pub detail: Option<String>,
}

/// What is stored about an indexed page for change detection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentMeta {
    pub content_hash: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// The job that last changed this document's content.
    pub job_id: Option<String>,
    /// Absolute out-links of the stored version.
    pub links: Vec<String>,
    /// When this version was written to the index.
    pub indexed_at_ms: u64,
    /// `links` is not all of the page's links (it hit the count or size cap).
    pub links_capped: bool,
}

/// A page ready to be written to the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedDocument {
    pub url_key: String,
    pub url: String,
    pub title: String,
    pub lang: Option<String>,
    pub content_hash: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub job_id: String,
    pub indexed_at_ms: u64,
    /// Absolute out-links, kept for discovery on 304 Not Modified.
    pub links: Vec<String>,
    /// `links` stops short of the page's links (the count or size cap).
    pub links_capped: bool,
    pub signals: PageSignals,
    pub chunks: Vec<IndexedChunk>,
}

/// What kind of page this is, for ranking: measured on its extracted content, a page that exists to
/// point at others (a table of contents, an index) or a listing of source code matches many
/// queries' words without being what they ask for (whole percentages, so a document compares and
/// stores exactly); and, counted across the site, how many other pages link to it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageSignals {
    /// Share of the content's text in link entries (see `ExtractedPage::link_list_share`).
    pub link_list_percent: u8,
    /// Share of the content's words inside code blocks.
    pub code_text_percent: u8,
    /// How many other indexed pages link to this one (not counting a link that nearly every page
    /// has: the site's template), counted by the store when a crawl ends
    /// (`DocumentStore::count_inlinks`); 0 from extraction, which sees one page.
    pub inlinks: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedChunk {
    pub id: String,
    pub ordinal: usize,
    /// Page URL plus `#anchor` of the chunk's section, when it has one.
    pub url: String,
    pub heading: String,
    pub text: String,
    /// The chunk's embedding, attached by the crawl function before the document is written.
    pub vector: Option<ChunkVector>,
}

/// An embedding and the model that made it (vectors of different models are never compared).
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkVector {
    pub model: String,
    pub values: Vec<f32>,
}

impl Eq for ChunkVector {}

/// Hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// The stable identity of a normalised URL in storage (128 bits of its SHA-256).
pub fn url_key(normalized_url: &str) -> String {
    sha256_hex(normalized_url.as_bytes())[..32].to_string()
}

/// Formats milliseconds since the Unix epoch as RFC 3339 UTC (`2026-11-23T09:15:02.123Z`).
pub fn format_timestamp(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (proleptic Gregorian), after Howard Hinnant's published algorithm.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_timestamp(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(format_timestamp(1_795_432_502_123), "2026-11-23T11:15:02.123Z");
    }

    #[test]
    fn hashes() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(url_key("https://a.test/").len(), 32);
    }

    #[test]
    fn enums_round_trip() {
        for p in [Priority::Critical, Priority::High, Priority::Normal, Priority::Low] {
            assert_eq!(Priority::parse(p.as_str()), Some(p));
        }
        for s in [
            JobStatus::Queued,
            JobStatus::Running,
            JobStatus::Done,
            JobStatus::Failed,
            JobStatus::Cancelled,
        ] {
            assert_eq!(JobStatus::parse(s.as_str()), Some(s));
        }
        for s in [
            UrlState::Queued,
            UrlState::Indexed,
            UrlState::Unchanged,
            UrlState::Skipped,
            UrlState::Failed,
        ] {
            assert_eq!(UrlState::parse(s.as_str()), Some(s));
        }
    }
}

/// A user's rating of one answer (`POST /api/feedback`); a second rating of the same answer
/// replaces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Feedback {
    pub id: String,
    pub answer_id: String,
    pub session_id: Option<String>,
    pub rating: Rating,
    pub comment: Option<String>,
    /// The question and answer as they were given, so operators read the rating in context.
    pub question: String,
    pub answer: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: u64,
}

/// Thumbs up or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Rating {
    Up,
    Down,
}

impl Rating {
    pub fn as_str(self) -> &'static str {
        match self {
            Rating::Up => "up",
            Rating::Down => "down",
        }
    }
    pub fn parse(text: &str) -> Option<Rating> {
        match text {
            "up" => Some(Rating::Up),
            "down" => Some(Rating::Down),
            _ => None,
        }
    }
}

/// One model call, added to the day's totals for its provider and model. (Answers from the response
/// cache call no model; they are logged, not written: a write per cached answer would make the
/// cheapest answer wait on the database.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageRecord {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    pub provider: String,
    pub model: String,
    pub failed: bool,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_usd: f64,
}

/// A day's totals for one provider and model (`GET /api/usage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UsageTotals {
    pub day: String,
    pub provider: String,
    pub model: String,
    pub requests: u64,
    pub failures: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_usd: f64,
}
