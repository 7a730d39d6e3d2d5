//! The crawl function: the admin API that starts and watches crawls, the queue consumer that
//! fetches one URL per message, and the cron entry point that resumes stalled work and runs
//! scheduled sources.

use std::ops::ControlFlow;

use ::http::StatusCode;
use serde::{Deserialize, Serialize};

use docent_core::crawl::breaker::Gate;
use docent_core::crawl::decide::{
    decide, discover_listed, not_modified, unchanged_since_lastmod, IndexChange, ListedPage,
    PageDecision,
};
use docent_core::crawl::fetch::{
    page_request, robots_origin, robots_policy, robots_request, sitemap_request, CrawlSettings,
    RobotsPolicy,
};
use docent_core::crawl::globs::{unmatched_glob_warnings, GlobMatches};
use docent_core::crawl::outbound::{
    is_private_host, redirect_target, OutboundPolicy, MAX_ROBOTS_REDIRECTS,
};
use docent_core::crawl::politeness::{Admission, HostLimits};
use docent_core::crawl::retry::{Backoff, MAX_ATTEMPTS};
use docent_core::crawl::schedule::{parse_w3c_datetime, CronSchedule};
use docent_core::crawl::sitemap;
use docent_core::crawl::urls::{parse_crawl_url, same_page_at, Scope};
use docent_core::domain::ROBOTS_BLOCKED;
use docent_core::domain::{
    CrawlJob, CrawlMessage, DeadLetter, DocumentMeta, JobStatus, NewCrawlJob, NotIndexed, Priority,
    UrlOutcome, UrlState,
};
use docent_core::ops::metrics::CRAWL_PAGES;
use docent_core::ports::{
    Clock, CrawlQueue, FetchGate, FetchRequest, FetchResponse, Fetcher, PortError, PortResult,
    GLOBAL_GATE,
};
use docent_store::api::RateStore;
use docent_store::api::{
    CrawlStore, DocumentStore, Findings, Finished, MessageContext, VectorStore,
};

use crate::http::{json_response, parse_json, ApiError, Request, Response};
use crate::kv_state::{
    Breaker, BreakerOutcome, CrawlBreakerKey, KvState, LastScheduleRunKey, RobotsKey,
};
use crate::Platform;

/// New URLs recorded per processed page (its links, plus sitemap entries for a start page); the API
/// index of a large library links to ten thousand pages.
pub const MAX_DISCOVERED_PER_PAGE: usize = 10_000;
/// Hard ceilings on what one crawl request may ask for.
pub const MAX_PAGES_LIMIT: u32 = 100_000;
pub const MAX_DEPTH_LIMIT: u32 = 100;
/// Include and exclude globs together.
pub const MAX_GLOBS: usize = 50;
pub const MAX_GLOB_CHARS: usize = 500;

/// The body of `POST /api/crawls` (and of a scheduled source in `DOCENT_CRAWL_SOURCES`).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CrawlRequest {
    /// Where the crawl starts; it stays on this URL's scheme, host and port, under its directory.
    #[cfg_attr(feature = "openapi", schemars(url))]
    pub url: String,
    /// Pages to crawl at most (default DOCENT_CRAWL_MAX_PAGES).
    #[cfg_attr(feature = "openapi", schemars(range(min = 1, max = MAX_PAGES_LIMIT)))]
    pub max_pages: Option<u32>,
    /// Links to follow from the start page at most (default DOCENT_CRAWL_MAX_DEPTH).
    #[cfg_attr(feature = "openapi", schemars(range(max = MAX_DEPTH_LIMIT)))]
    pub max_depth: Option<u32>,
    /// Only URLs matching one of these globs, read as in `.gitignore`: a pattern without `/`
    /// matches the last path segment at any depth, one with `/` the path from the crawl's start;
    /// `*` stays within a segment and `**` spans folders; a full URL (with a scheme) matches the
    /// whole URL. A glob that matched no URL is reported with the job as a warning.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schemars(length(max = MAX_GLOBS), inner(length(min = 1, max = MAX_GLOB_CHARS)))
    )]
    pub include: Vec<String>,
    /// No URL matching one of these globs (read as for `include`); exclude wins over include.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schemars(length(max = MAX_GLOBS), inner(length(min = 1, max = MAX_GLOB_CHARS)))
    )]
    pub exclude: Vec<String>,
    /// The queue tier (default normal).
    #[cfg_attr(feature = "openapi", schemars(with = "Option<Priority>"))]
    pub priority: Option<String>,
    /// Only for scheduled sources: when to recrawl (five-field cron, UTC); see [`parse_sources`].
    /// The API refuses it, so its schema leaves it out.
    #[cfg_attr(feature = "openapi", schemars(skip))]
    pub schedule: Option<String>,
}

/// The answer of `POST /api/crawls`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct CrawlQueued {
    /// The job's id.
    pub id: String,
    #[cfg_attr(feature = "openapi", schemars(extend("const" = "queued")))]
    pub status: &'static str,
    /// The start URL, normalised.
    pub url: String,
}

/// The answer of `GET /api/crawls/{id}`: the job, and what is worth knowing about how it went.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct CrawlStatus {
    #[serde(flatten)]
    pub job: CrawlJob,
    /// Once the job has ended: each include or exclude glob that matched no URL, as
    /// `"exclude glob 'x' matched no URL"` (a likely typo, not an error). Empty while it runs.
    pub warnings: Vec<String>,
    /// The URLs skipped or failed so far, each with its reason (at most
    /// [`NOT_INDEXED_LISTED`], in URL order; `pages` has the full counts).
    pub not_indexed: Vec<NotIndexed>,
}

/// How many skipped or failed URLs a job's status lists.
pub const NOT_INDEXED_LISTED: u32 = 100;

/// The answer of `GET /api/crawls`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct CrawlList {
    /// Newest first.
    pub crawls: Vec<CrawlJob>,
}

/// The answer of `GET /api/dead-letters`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct DeadLetterList {
    /// Newest first.
    pub dead_letters: Vec<DeadLetter>,
}

/// The answer of `POST /api/dead-letters/replay`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Replayed {
    /// Dead letters requeued.
    pub replayed: usize,
}

/// How often a scheduled source without its own `schedule` is recrawled: hourly, which conditional
/// requests and sitemap `<lastmod>` keep cheap for unchanged pages.
pub const DEFAULT_SCHEDULE: &str = "0 * * * *";
/// URLs of stalled jobs re-enqueued per cron run (bounded by the invocation's subrequest budget).
const MAX_RESENT_PER_SWEEP: u32 = 2_000;

impl CrawlRequest {
    /// Checks the request against the deployment's rules and fills in defaults.
    pub fn validate(
        self, config: &docent_core::config::Config, id: String,
    ) -> Result<NewCrawlJob, ApiError> {
        let url = parse_crawl_url(&self.url)
            .map_err(|e| ApiError::bad_request("invalid_url", format!("url: {e}")))?;
        if url.scheme() == "file" && !config.allow_file_urls {
            return Err(ApiError::bad_request(
                "invalid_url",
                "url: file URLs can only be indexed by the docent CLI",
            ));
        }
        if !config.allow_private_hosts && is_private_host(&url) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "url_not_allowed",
                format!("url: {} is a private or loopback address; set DOCENT_ALLOW_PRIVATE_HOSTS=true to crawl it", url.host_str().unwrap_or("")),
            ));
        }
        let max_pages = self.max_pages.unwrap_or(config.default_max_pages);
        if !(1..=MAX_PAGES_LIMIT).contains(&max_pages) {
            return Err(ApiError::bad_request(
                "invalid_request",
                format!("max_pages must be between 1 and {MAX_PAGES_LIMIT}"),
            ));
        }
        let max_depth = self.max_depth.unwrap_or(config.default_max_depth);
        if max_depth > MAX_DEPTH_LIMIT {
            return Err(ApiError::bad_request(
                "invalid_request",
                format!("max_depth must be at most {MAX_DEPTH_LIMIT}"),
            ));
        }
        if self.include.len() + self.exclude.len() > MAX_GLOBS
            || self
                .include
                .iter()
                .chain(&self.exclude)
                .any(|g| g.is_empty() || g.len() > MAX_GLOB_CHARS)
        {
            return Err(ApiError::bad_request(
                "invalid_request",
                format!(
                    "at most {MAX_GLOBS} include/exclude globs, each 1 to {MAX_GLOB_CHARS} \
                     characters"
                ),
            ));
        }
        let priority = match self.priority.as_deref() {
            None => Priority::Normal,
            Some(p) => Priority::parse(p).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_request",
                    format!("priority must be critical, high, normal or low, not `{p}`"),
                )
            })?,
        };
        Ok(NewCrawlJob {
            id,
            start_url: url.to_string(),
            max_pages,
            max_depth,
            include: self.include,
            exclude: self.exclude,
            priority,
        })
    }
}

/// Creates a job and enqueues its start URL.
pub async fn start_job<P: Platform>(
    platform: &P, request: CrawlRequest,
) -> Result<NewCrawlJob, ApiError> {
    let job = request.validate(platform.config(), platform.clock().random_id(12))?;
    let start = CrawlMessage::new(&job.id, &job.start_url, 0, job.priority);
    platform.store().create_job(&job, &start, platform.clock().now_ms()).await?;
    // If this send is lost, the cron sweep re-enqueues the still-queued start URL.
    crate::metered::queue(platform)
        .send_batch(std::slice::from_ref(&start))
        .await
        .map_err(|e| ApiError::internal("queue", e))?;
    Ok(job)
}

/// `POST /api/crawls`
pub async fn start<P: Platform>(platform: &P, request: &Request) -> Result<Response, ApiError> {
    let crawl: CrawlRequest = parse_json(request)?;
    if crawl.schedule.is_some() {
        return Err(ApiError::bad_request(
            "invalid_request",
            "schedule belongs to sources in DOCENT_CRAWL_SOURCES; this starts one crawl now",
        ));
    }
    let job = start_job(platform, crawl).await?;
    let location = format!("/api/crawls/{}", job.id);
    let mut response = json_response(
        StatusCode::ACCEPTED,
        &CrawlQueued { id: job.id, status: "queued", url: job.start_url },
    );
    if let Ok(location) = location.parse() {
        response.headers_mut().insert(::http::header::LOCATION, location);
    }
    Ok(response)
}

/// `GET /api/crawls/{id}`
pub async fn status<P: Platform>(platform: &P, id: &str) -> Result<Response, ApiError> {
    match platform.store().job(id).await? {
        Some(job) => {
            let warnings = warnings(platform, &job).await?;
            let not_indexed = platform.store().not_indexed(&job.id, NOT_INDEXED_LISTED).await?;
            Ok(json_response(StatusCode::OK, &CrawlStatus { job, warnings, not_indexed }))
        }
        None => Err(ApiError::not_found(format!("no crawl with id {id}"))),
    }
}

/// The warnings of a job: what it left out at its page limit, and once it ended its globs that
/// matched no URL (not while it runs, since a glob may still match a page not yet seen).
pub async fn warnings<P: Platform>(platform: &P, job: &CrawlJob) -> PortResult<Vec<String>> {
    let mut warnings = Vec::new();
    if job.pages.left_out > 0 {
        warnings.push(format!(
            "stopped at max_pages ({}): {} more URL{} found on the site {} not crawled; raise \
             max_pages to include them",
            job.max_pages,
            job.pages.left_out,
            if job.pages.left_out == 1 { "" } else { "s" },
            if job.pages.left_out == 1 { "was" } else { "were" },
        ));
    }
    if job.status.is_active() || (job.include.is_empty() && job.exclude.is_empty()) {
        return Ok(warnings);
    }
    let matched = platform.store().glob_matches(&job.id).await?;
    warnings.extend(unmatched_glob_warnings(&job.include, &job.exclude, matched));
    Ok(warnings)
}

/// `GET /api/crawls`
pub async fn list<P: Platform>(platform: &P) -> Result<Response, ApiError> {
    let jobs = platform.store().recent_jobs(50).await?;
    Ok(json_response(StatusCode::OK, &CrawlList { crawls: jobs }))
}

/// `DELETE /api/crawls/{id}`
pub async fn cancel<P: Platform>(platform: &P, id: &str) -> Result<Response, ApiError> {
    let cancelled = platform.store().cancel_job(id, platform.clock().now_ms()).await?;
    match platform.store().job(id).await? {
        None => Err(ApiError::not_found(format!("no crawl with id {id}"))),
        Some(job) if cancelled => Ok(json_response(StatusCode::OK, &job)),
        Some(job) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "crawl_finished",
            format!("crawl {id} already ended with status {}", job.status.as_str()),
        )),
    }
}

/// What the shell should do with a delivered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Ack,
    /// Deliver again after `delay_seconds`; after the queue's last retry the message goes to the
    /// dead-letter queue.
    Retry {
        reason: String,
        delay_seconds: u32,
    },
}

fn settings(config: &docent_core::config::Config) -> CrawlSettings {
    CrawlSettings {
        user_agent: config.user_agent.clone(),
        max_page_bytes: config.max_page_bytes,
        outbound: OutboundPolicy {
            allow_private_hosts: config.allow_private_hosts,
            allow_file_urls: config.allow_file_urls,
        },
        chunking: config.chunking,
    }
}

/// A storage failure inside Docent: retry after the first backoff step, without counting it against
/// the URL (the store that would count it is what failed).
fn retry_on(error: PortError) -> Delivery {
    Delivery::Retry { reason: error.message, delay_seconds: Backoff::default().base_seconds }
}

/// Counts a failed attempt of `message`: how many it has used, or, once that is all of them
/// ([`MAX_ATTEMPTS`]), the delivery of the URL dead-lettered.
async fn count_attempt<P: Platform>(
    platform: &P, message: &CrawlMessage, reason: &str,
) -> Result<ControlFlow<Delivery, u32>, PortError> {
    let attempts = platform.store().record_failure(message, reason).await?;
    if attempts >= MAX_ATTEMPTS {
        return Ok(ControlFlow::Break(give_up(platform, message).await?));
    }
    Ok(ControlFlow::Continue(attempts))
}

/// Counts a failed attempt and picks the delay before the next one.
async fn retry_later<P: Platform>(
    platform: &P, message: &CrawlMessage, reason: String, retry_after: Option<u32>,
) -> Result<Delivery, PortError> {
    let attempts = match count_attempt(platform, message, &reason).await? {
        ControlFlow::Continue(attempts) => attempts,
        ControlFlow::Break(dead_lettered) => return Ok(dead_lettered),
    };
    crate::ops::record(platform, |m| m.count(&CRAWL_PAGES, &["retried"], 1.0));
    let mut random = [0u8; 4];
    platform.clock().random_bytes(&mut random);
    let unit = f64::from(u32::from_le_bytes(random)) / (f64::from(u32::MAX) + 1.0);
    let delay_seconds = platform.config().retry_backoff.delay_seconds(attempts, retry_after, unit);
    platform
        .store()
        .note_due(message, platform.clock().now_ms() + u64::from(delay_seconds) * 1000)
        .await?;
    Ok(Delivery::Retry { reason, delay_seconds })
}

/// Processes one crawl message: fetch, extract, index, discover. Safe to run any number of times.
pub async fn consume<P: Platform>(platform: &P, message: &CrawlMessage) -> Delivery {
    crate::metered::Meter::of(platform).count("queue", "received", 1);
    match consume_inner(platform, message).await {
        Ok(delivery) => delivery,
        Err(error) => retry_on(error),
    }
}

async fn consume_inner<P: Platform>(
    platform: &P, message: &CrawlMessage,
) -> Result<Delivery, PortError> {
    let store = platform.store();
    let Some(context) = store.message_context(&message.job, &message.url_key()).await? else {
        return Ok(Delivery::Ack);
    };
    let MessageContext { job, url_state, document: previous } = context;
    if !job.status.is_active() || url_state != Some(UrlState::Queued) {
        // Already processed (a redelivery), or the job ended: nothing to do.
        return Ok(Delivery::Ack);
    }
    let now = platform.clock().now_ms();
    if job.status == JobStatus::Queued {
        store.mark_job_running(&job.id, now).await?;
    }
    let settings = settings(platform.config());
    let Ok(url) = parse_crawl_url(&message.url) else {
        let outcome = UrlOutcome {
            state: UrlState::Failed,
            fetched: false,
            detail: Some("invalid URL".into()),
        };
        finish(platform, message, &outcome, Findings::default()).await?;
        return Ok(Delivery::Ack);
    };
    let origin = robots_origin(&url);
    let mut limits = platform.config().host_limits;
    let mut robots = None;
    if let Some(origin) = &origin {
        match robots_for(platform, origin, &settings).await? {
            Err(Blocked::Deferred(delay_seconds)) => {
                return defer(platform, message, delay_seconds).await
            }
            Err(Blocked::Unavailable(reason)) => {
                let reason =
                    format!("not crawling {origin} until its robots.txt answers: {reason}");
                return retry_later(platform, message, reason, None).await;
            }
            Err(Blocked::Refused(reason)) => {
                let outcome = UrlOutcome {
                    state: UrlState::Failed,
                    fetched: false,
                    detail: Some(format!("not crawling {origin}: its robots.txt redirects to a refused address ({reason})")),
                };
                finish(platform, message, &outcome, Findings::default()).await?;
                return Ok(Delivery::Ack);
            }
            Ok(policy) if !policy.allows(&settings.user_agent, &url) => {
                let outcome = UrlOutcome {
                    state: UrlState::Skipped,
                    fetched: false,
                    detail: Some(ROBOTS_BLOCKED.into()),
                };
                finish(platform, message, &outcome, Findings::default()).await?;
                return Ok(Delivery::Ack);
            }
            Ok(policy) => {
                if let RobotsPolicy::Rules(rules) = &policy {
                    limits = limits.with_crawl_delay(rules.crawl_delay(&settings.user_agent));
                }
                robots = Some((origin.clone(), policy));
            }
        }
    }
    let decision = if unchanged_since_lastmod(message, previous.as_ref()) {
        // The sitemap says the page has not changed since it was indexed: no request at all.
        not_modified(&job, message, previous.as_ref(), &settings, false)
    } else {
        // A failing origin is left alone while its circuit is open.
        let origin = origin.unwrap_or_default();
        let kv = KvState::of(platform);
        let key = CrawlBreakerKey { origin: &origin };
        let breaker = Breaker::load(&kv, key, platform.config().breaker).await?;
        if let Gate::Open { retry_in_seconds } = breaker.gate(now) {
            // Waiting out the cool-down spends an attempt: an origin that never recovers would
            // otherwise keep its URLs (and its job) waiting forever, each wait a fresh message
            // the queue's retry count never sees.
            let reason = format!("{origin} keeps failing: its circuit breaker is open");
            if let ControlFlow::Break(dead_lettered) =
                count_attempt(platform, message, &reason).await?
            {
                return Ok(dead_lettered);
            }
            return defer(platform, message, retry_in_seconds).await;
        }
        let fetched = match polite_fetch(
            platform,
            &origin,
            &limits,
            page_request(&message.url, previous.as_ref(), &settings),
            MAX_INLINE_WAIT_MS,
        )
        .await?
        {
            Ok(fetched) => fetched,
            Err(delay_seconds) => return defer(platform, message, delay_seconds).await,
        };
        let failed = match &fetched {
            Ok(response) => response.status == 429 || response.status >= 500,
            Err(error) => error.transient,
        };
        // A URL without an origin (a file) has no breaker to keep.
        if !origin.is_empty() {
            let outcome = if failed { BreakerOutcome::Failure } else { BreakerOutcome::Success };
            breaker.settle(&kv, outcome, platform.clock().now_ms()).await?;
        }
        match fetched {
            Ok(response) => decide(&job, message, &response, previous.as_ref(), &settings, now),
            Err(error) if error.transient => {
                PageDecision::Retry { reason: error.message, retry_after: None }
            }
            Err(error) => PageDecision::Finished {
                outcome: UrlOutcome {
                    state: UrlState::Failed,
                    fetched: false,
                    detail: Some(error.message),
                },
                change: IndexChange::None,
                discovered: Vec::new(),
                glob_matches: GlobMatches::default(),
            },
        }
    };
    let (outcome, change, mut discovered, mut glob_matches) = match decision {
        PageDecision::Retry { reason, retry_after } => {
            return retry_later(platform, message, reason, retry_after).await
        }
        PageDecision::Finished { outcome, change, discovered, glob_matches } => {
            (outcome, change, discovered, glob_matches)
        }
    };
    // The start page also brings in what the site's sitemaps list; read once the page is settled,
    // so a retried start page does not fetch them again.
    if let (Some((origin, policy)), true) =
        (&robots, message.depth == 0 && message.url == job.url && job.max_depth > 0)
    {
        let pages = sitemap_pages(platform, origin, policy, &limits, &settings).await?;
        let listed = discover_listed(&job, message, &pages, &settings.outbound);
        glob_matches = glob_matches.union(listed.glob_matches);
        discovered.extend(listed.messages.into_iter().filter(|m| m.url != message.url));
    }
    // Links beyond the cap may still be found from other pages, but the crawl can no longer claim
    // it saw the whole site (nor can one that discovered through a page's capped stored links), so
    // it prunes nothing afterwards.
    let capped = discovered.len() > MAX_DISCOVERED_PER_PAGE
        || previous.as_ref().is_some_and(|p| p.links_capped);
    discovered.truncate(MAX_DISCOVERED_PER_PAGE);
    let (outcome, change) =
        one_address_per_page(platform, message, previous.as_ref(), outcome, change).await?;
    let seen = match &change {
        IndexChange::Upsert(document) => Some(document.url_key.clone()),
        IndexChange::None if matches!(outcome.state, UrlState::Indexed | UrlState::Unchanged) => {
            Some(message.url_key())
        }
        _ => None,
    };
    match change {
        // An unchanged page gets the vectors it lacks (embeddings turned on, or another model).
        IndexChange::None if seen.is_some() => {
            crate::embeddings::backfill(platform, &message.url_key()).await?
        }
        IndexChange::None => {}
        IndexChange::Upsert(mut document) => {
            // Vectors go in the same write as the page, so a page and its vectors never disagree.
            crate::embeddings::attach_vectors(platform, &mut document).await?;
            store.upsert_document(&document).await?
        }
        IndexChange::Delete { url_key } => {
            store.delete_document(&url_key).await?;
        }
    }
    // Children are recorded and enqueued before this URL finishes, so the job cannot end early; on
    // a redelivery every child still queued is sent again (consumers ignore the duplicates).
    if !discovered.is_empty() {
        store.add_discovered(message, &discovered, job.max_pages, now).await?;
    }
    // Also before this URL finishes, so an ended job's glob report is complete; a redelivery
    // records the same matches again, which changes nothing.
    store.record_glob_matches(&job.id, glob_matches).await?;
    let children = store.queued_children(message).await?;
    for group in children.chunks(100) {
        crate::metered::queue(platform).send_batch(group).await?;
    }
    let findings = Findings {
        seen_document: seen.as_deref(),
        truncated: (message.depth >= job.max_depth && outcome.fetched) || capped,
    };
    if finish(platform, message, &outcome, findings).await? {
        crawl_ended(platform, &job.id).await?;
    }
    Ok(Delivery::Ack)
}

/// One page served under two addresses (`guide/` and `guide/index.html`) is indexed once: a page
/// whose text another address of it ([`same_page_at`]) already has in the index is not written,
/// and its own earlier text, if it had any, leaves the index.
async fn one_address_per_page<P: Platform>(
    platform: &P, message: &CrawlMessage, previous: Option<&DocumentMeta>, outcome: UrlOutcome,
    change: IndexChange,
) -> Result<(UrlOutcome, IndexChange), PortError> {
    let IndexChange::Upsert(document) = &change else { return Ok((outcome, change)) };
    let others = platform.store().urls_with_text(&document.content_hash, &document.url_key).await?;
    let Some(other) = same_page_at(&message.url, &others) else { return Ok((outcome, change)) };
    let skipped = UrlOutcome {
        state: UrlState::Skipped,
        fetched: outcome.fetched,
        detail: Some(format!("same text as {other}")),
    };
    let change = match previous {
        Some(_) => IndexChange::Delete { url_key: document.url_key.clone() },
        None => IndexChange::None,
    };
    Ok((skipped, change))
}

/// What follows the end of a crawl: pages it no longer found leave the index, each page's links
/// from the others are counted anew (a ranking signal, `PageSignals::inlinks`), and the vector
/// index is built now that the load is in (see `VectorStore::index_vectors`). A failed count or
/// build is logged, not retried: the message is done, search works without them, and the next
/// crawl's end tries again.
async fn crawl_ended<P: Platform>(platform: &P, job_id: &str) -> Result<(), PortError> {
    prune_after_full_crawl(platform, job_id).await?;
    if let Err(error) = platform.store().count_inlinks().await {
        platform
            .log(&serde_json::json!({"event": "inlink_count_failed", "error": error.to_string()}));
    }
    if let Some(model) = crate::embeddings::model(&platform.config().embeddings) {
        if let Err(error) = platform.store().index_vectors(model).await {
            platform.log(&serde_json::json!({"event": "vector_index_failed", "model": model, "error": error.to_string()}));
        }
    }
    Ok(())
}

/// After a complete crawl, pages it no longer found are removed from the index. Only a crawl that
/// saw the whole site qualifies: it ended `done` with no failures, no include/exclude filters,
/// below its page limit and never at its depth limit; otherwise an unseen page may simply not have
/// been looked at.
async fn prune_after_full_crawl<P: Platform>(platform: &P, job_id: &str) -> Result<u64, PortError> {
    let store = platform.store();
    let Some(job) = store.job(job_id).await? else { return Ok(0) };
    let complete = job.status == JobStatus::Done
        && job.pages.failed == 0
        && job.include.is_empty()
        && job.exclude.is_empty()
        && job.pages.discovered < u64::from(job.max_pages)
        && !store.was_truncated(job_id).await?;
    let removed = match parse_crawl_url(&job.url) {
        Ok(start) if complete => store.prune_unseen(job_id, &Scope::url_prefix(&start)).await?,
        _ => 0,
    };
    store.forget_sightings(job_id).await?;
    Ok(removed)
}

/// Why a host's robots policy is not known yet.
enum Blocked {
    /// robots.txt is unreachable or answers 5xx: fail closed, and the queue retries later.
    Unavailable(String),
    /// The host's politeness gate has no slot for the robots.txt request yet.
    Deferred(u32),
    /// robots.txt redirects somewhere the outbound policy refuses: the origin is not crawled.
    Refused(String),
}

/// The robots policy of `origin`, from KV or fetched and cached.
async fn robots_for<P: Platform>(
    platform: &P, origin: &str, settings: &CrawlSettings,
) -> Result<Result<RobotsPolicy, Blocked>, PortError> {
    let kv = KvState::of(platform);
    let key = RobotsKey { origin };
    if let Some(policy) = kv.load(&key).await? {
        return Ok(Ok(policy));
    }
    let limits = platform.config().host_limits;
    let request = robots_request(origin, settings);
    let policy = match fetch_following(
        platform,
        origin,
        &limits,
        request,
        &settings.outbound,
        MAX_ROBOTS_REDIRECTS,
        MAX_INLINE_WAIT_MS,
    )
    .await?
    {
        Followed::Deferred(delay_seconds) => return Ok(Err(Blocked::Deferred(delay_seconds))),
        Followed::Refused(reason) => return Ok(Err(Blocked::Refused(reason))),
        // Out of hops, the last 3xx reads as "unavailable" (RFC 9309 §2.3.1.2).
        Followed::Response(response) => robots_policy(&response).map_err(Blocked::Unavailable),
        Followed::Failed(error) => Err(Blocked::Unavailable(error.message)),
    };
    if let Ok(policy) = &policy {
        kv.save(&key, policy).await?;
    }
    Ok(policy)
}

/// Longest a consumer waits in place for a politeness slot; a longer wait puts the message back on
/// the queue with a delay instead, so the consumer is free for other hosts.
pub const MAX_INLINE_WAIT_MS: u64 = 5_000;
/// A start page waits in place for its sitemaps' politeness slots, but not past this (each): a site
/// with a long Crawl-delay is then discovered through its links.
const MAX_SITEMAP_WAIT_MS: u64 = 30_000;

/// Fetches `request` once the host's politeness gate (and the global one) grant a slot, holding the
/// slot until the response is read. `Err(seconds)` when the slot is further off than `max_wait_ms`.
async fn polite_fetch<P: Platform>(
    platform: &P, origin: &str, limits: &HostLimits, request: FetchRequest, max_wait_ms: u64,
) -> Result<Result<PortResult<FetchResponse>, u32>, PortError> {
    let global_rate = platform.config().global_rate_per_second;
    // file: URLs (the CLI) have no host to be polite to; with every limit lifted there is nothing
    // to ask.
    if origin.is_empty() || (limits.is_unlimited() && global_rate <= 0.0) {
        return Ok(Ok(crate::metered::fetcher(platform).fetch(request).await));
    }
    let global = HostLimits {
        rate_per_second: global_rate,
        burst: global_rate.ceil().max(1.0) as u32,
        concurrency: 0,
        lease_ms: limits.lease_ms,
    };
    let mut waited_ms = 0;
    let lease = loop {
        let wait_ms = match crate::metered::gate(platform).acquire(origin, limits).await? {
            Admission::Granted { lease } if global_rate <= 0.0 => break lease,
            Admission::Granted { lease } => {
                match crate::metered::gate(platform).acquire(GLOBAL_GATE, &global).await {
                    Ok(Admission::Granted { .. }) => break lease,
                    Ok(Admission::Wait { ms }) => {
                        let _ = crate::metered::gate(platform).release(origin, lease).await;
                        ms
                    }
                    Err(error) => {
                        let _ = crate::metered::gate(platform).release(origin, lease).await;
                        return Err(error);
                    }
                }
            }
            Admission::Wait { ms } => ms,
        };
        if waited_ms + wait_ms > max_wait_ms {
            return Ok(Err(u32::try_from(wait_ms.div_ceil(1000)).unwrap_or(u32::MAX).max(1)));
        }
        platform.clock().sleep(wait_ms).await;
        waited_ms += wait_ms;
    };
    let response = crate::metered::fetcher(platform).fetch(request).await;
    // A failed release costs nothing but time: the lease expires by itself.
    let _ = crate::metered::gate(platform).release(origin, lease).await;
    Ok(Ok(response))
}

/// How a fetch that follows redirects ended.
enum Followed {
    Response(FetchResponse),
    Failed(PortError),
    /// A hop the outbound policy refuses, and why: it was not fetched.
    Refused(String),
    /// No politeness slot within the wait: try again after this many seconds.
    Deferred(u32),
}

/// Fetches `request` politely, following up to `max_hops` redirects itself: every hop passes the
/// outbound policy before it is requested, so a public robots.txt or sitemap cannot send the
/// crawler to an internal address. Out of hops, the last 3xx is the response.
async fn fetch_following<P: Platform>(
    platform: &P, origin: &str, limits: &HostLimits, mut request: FetchRequest,
    policy: &OutboundPolicy, max_hops: u32, max_wait_ms: u64,
) -> Result<Followed, PortError> {
    let mut hops = 0;
    loop {
        let url = match parse_crawl_url(&request.url) {
            Ok(url) => url,
            Err(error) => return Ok(Followed::Refused(format!("{}: {error}", request.url))),
        };
        if let Err(reason) = policy.check(&url) {
            return Ok(Followed::Refused(reason));
        }
        let response =
            match polite_fetch(platform, origin, limits, request.clone(), max_wait_ms).await? {
                Err(delay_seconds) => return Ok(Followed::Deferred(delay_seconds)),
                Ok(Err(error)) => return Ok(Followed::Failed(error)),
                Ok(Ok(response)) => response,
            };
        match redirect_target(&url, &response) {
            Some(next) if hops < max_hops => {
                hops += 1;
                request.url = next.to_string();
            }
            _ => return Ok(Followed::Response(response)),
        }
    }
}

/// Puts a message back on its queue for later without counting an attempt: waiting for politeness
/// is not a failure (a queue retry would be, and would end in the dead-letter queue).
async fn defer<P: Platform>(
    platform: &P, message: &CrawlMessage, delay_seconds: u32,
) -> Result<Delivery, PortError> {
    // Spread over up to twice the wait: messages that waited together must not all come back
    // together.
    let mut random = [0u8; 4];
    platform.clock().random_bytes(&mut random);
    let delay_seconds =
        delay_seconds + u32::from_le_bytes(random) % delay_seconds.max(1).saturating_add(1);
    platform
        .store()
        .note_due(message, platform.clock().now_ms() + u64::from(delay_seconds) * 1000)
        .await?;
    crate::metered::queue(platform)
        .send_later(std::slice::from_ref(message), delay_seconds)
        .await?;
    Ok(Delivery::Ack)
}

/// Page URLs from the origin's sitemaps: those robots.txt names, else `/sitemap.xml`; indexes are
/// followed breadth-first up to `MAX_SITEMAPS` files. Sitemaps are optional, so failures are
/// skipped.
async fn sitemap_pages<P: Platform>(
    platform: &P, origin: &str, policy: &RobotsPolicy, limits: &HostLimits,
    settings: &CrawlSettings,
) -> Result<Vec<ListedPage>, PortError> {
    let mut pending: std::collections::VecDeque<String> = match policy {
        RobotsPolicy::Rules(robots) if !robots.sitemaps.is_empty() => {
            robots.sitemaps.iter().cloned().collect()
        }
        _ => std::iter::once(format!("{origin}/sitemap.xml")).collect(),
    };
    let mut read = 0;
    let mut pages = Vec::new();
    while let Some(sitemap_url) = pending.pop_front() {
        if read == sitemap::MAX_SITEMAPS {
            break;
        }
        read += 1;
        // Only the crawl's own origin: a robots.txt or sitemap index must not point the crawler at
        // another host (an internal address, say).
        let Ok(base) = parse_crawl_url(&sitemap_url) else { continue };
        if robots_origin(&base).as_deref() != Some(origin) {
            continue;
        }
        // The start page is settled by now, so sitemaps wait for their politeness slots in place.
        let Followed::Response(response) = fetch_following(
            platform,
            origin,
            limits,
            sitemap_request(&sitemap_url, settings),
            &settings.outbound,
            MAX_ROBOTS_REDIRECTS,
            MAX_SITEMAP_WAIT_MS,
        )
        .await?
        else {
            continue;
        };
        if !(200..300).contains(&response.status) || response.truncated {
            continue;
        }
        let Ok(body) = sitemap::decode_body(&response.body) else { continue };
        let parsed = sitemap::parse(&String::from_utf8_lossy(&body));
        // Relative locations are resolved against the sitemap (the protocol asks for absolute
        // ones).
        let resolve = |loc: &str| base.join(loc).ok().map(String::from);
        pages.extend(parsed.pages.iter().filter_map(|e| {
            let url = resolve(&e.loc)?;
            // A date without a time could mean any moment of that day: read it as the day's end.
            let lastmod_ms = e.lastmod.as_deref().and_then(|l| {
                Some(parse_w3c_datetime(l)? + if l.contains('T') { 0 } else { 86_400_000 - 1 })
            });
            Some(ListedPage { url, lastmod_ms })
        }));
        pending.extend(parsed.sitemaps.iter().filter_map(|e| resolve(&e.loc)));
    }
    Ok(pages)
}

/// A URL that used all its attempts: dead-lettered now, as the queue would after its last retry.
async fn give_up<P: Platform>(platform: &P, message: &CrawlMessage) -> Result<Delivery, PortError> {
    let finished = platform.store().dead_letter(message, platform.clock().now_ms()).await?;
    count_page(platform, finished, "dead_lettered");
    Ok(Delivery::Ack)
}

/// A message the queue gave up on (dead-letter queue): keep it for operators and mark the URL
/// failed so the job can end.
pub async fn dead_letter<P: Platform>(platform: &P, message: &CrawlMessage) -> Delivery {
    crate::metered::Meter::of(platform).count("queue", "received", 1);
    match platform.store().dead_letter(message, platform.clock().now_ms()).await {
        Ok(finished) => {
            count_page(platform, finished, "dead_lettered");
            if finished.job {
                if let Err(error) = crawl_ended(platform, &message.job).await {
                    return retry_on(error);
                }
            }
            Delivery::Ack
        }
        Err(error) => retry_on(error),
    }
}

/// Records a URL's outcome (only if it is still queued) and counts it once; true if that ended
/// the job.
async fn finish<P: Platform>(
    platform: &P, message: &CrawlMessage, outcome: &UrlOutcome, findings: Findings<'_>,
) -> Result<bool, PortError> {
    let now = platform.clock().now_ms();
    let finished = platform.store().finish_url(message, outcome, findings, now).await?;
    let label = match outcome.state {
        UrlState::Skipped if outcome.detail.as_deref() == Some(ROBOTS_BLOCKED) => "blocked",
        state => state.as_str(),
    };
    count_page(platform, finished, label);
    Ok(finished.job)
}

/// Counts a crawled URL's outcome, if this delivery is the one that finished it.
fn count_page<P: Platform>(platform: &P, finished: Finished, outcome: &str) {
    if finished.url {
        crate::ops::record(platform, |m| m.count(&CRAWL_PAGES, &[outcome], 1.0));
    }
}

/// `GET /api/dead-letters`
pub async fn list_dead_letters<P: Platform>(platform: &P) -> Result<Response, ApiError> {
    let letters = platform.store().dead_letters(200).await?;
    Ok(json_response(StatusCode::OK, &DeadLetterList { dead_letters: letters }))
}

/// The body of `POST /api/dead-letters/replay` (optional).
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// Only this job's dead letters; all of them without it.
    job: Option<String>,
}

/// `POST /api/dead-letters/replay` `{"job"?: id}`: requeues dead letters (of one job, or all).
pub async fn replay_dead_letters<P: Platform>(
    platform: &P, request: &Request,
) -> Result<Response, ApiError> {
    let replay: ReplayRequest =
        if request.body().is_empty() { ReplayRequest::default() } else { parse_json(request)? };
    let messages = platform
        .store()
        .replay_dead_letters(replay.job.as_deref(), platform.clock().now_ms())
        .await?;
    for group in messages.chunks(100) {
        crate::metered::queue(platform)
            .send_batch(group)
            .await
            .map_err(|e| ApiError::internal("queue", e))?;
    }
    Ok(json_response(StatusCode::ACCEPTED, &Replayed { replayed: messages.len() }))
}

/// Cron: re-enqueues the work of stalled jobs (their messages were lost), forgets expired per-client
/// request counts, then starts the scheduled sources that are due and not already being crawled. A source never crawled before starts at
/// once. Returns how many URLs were re-enqueued and how many jobs were started.
pub async fn on_schedule<P: Platform>(
    platform: &P, sources: &[CrawlRequest],
) -> Result<(usize, usize), PortError> {
    let now = platform.clock().now_ms();
    let stale_after_ms = platform.config().stale_after_seconds * 1000;
    let stale = platform
        .store()
        .take_stale_queued(now.saturating_sub(stale_after_ms), MAX_RESENT_PER_SWEEP, now)
        .await?;
    for group in stale.chunks(100) {
        crate::metered::queue(platform).send_batch(group).await?;
    }
    // Per-client request counts of windows that have ended.
    platform.store().forget_expired_counts(now).await?;
    // Vectors stored before the store kept sign-bit centres, centred once. A failure (a large
    // index may need more statements than one invocation may send) must not stop the schedule.
    match platform.store().centre_vectors().await {
        Ok(centred) => {
            for (model, vectors) in centred {
                let event = serde_json::json!({"event": "vectors_centred", "model": model, "vectors": vectors});
                platform.log(&event);
            }
        }
        Err(error) => platform.log(
            &serde_json::json!({"event": "vectors_centring_failed", "error": error.to_string()}),
        ),
    }
    // The previous run's time: a schedule is due if it matched a minute since then.
    let kv = KvState::of(platform);
    let since = kv.load(&LastScheduleRunKey).await?.unwrap_or(now.saturating_sub(10 * 60 * 1000));
    kv.save(&LastScheduleRunKey, &now).await?;
    let jobs = platform.store().recent_jobs(200).await?;
    let mut started = 0;
    for source in sources {
        let normalized = parse_crawl_url(&source.url).map(|u| u.to_string()).unwrap_or_default();
        let mut crawls = jobs.iter().filter(|j| j.url == normalized);
        let Some(first) = crawls.next() else {
            started += usize::from(start_job(platform, source.clone()).await.is_ok());
            continue;
        };
        let running = first.status.is_active() || crawls.any(|j| j.status.is_active());
        let schedule = CronSchedule::parse(source.schedule.as_deref().unwrap_or(DEFAULT_SCHEDULE));
        if !running && schedule.is_ok_and(|s| s.due(since, now)) {
            started += usize::from(start_job(platform, source.clone()).await.is_ok());
        }
    }
    Ok((stale.len(), started))
}

/// Parses `DOCENT_CRAWL_SOURCES`: a JSON array of crawl requests, each optionally with a
/// `schedule`.
pub fn parse_sources(json: Option<&str>) -> Result<Vec<CrawlRequest>, String> {
    let sources: Vec<CrawlRequest> = match json.map(str::trim).filter(|s| !s.is_empty()) {
        None => return Ok(Vec::new()),
        Some(json) => {
            serde_json::from_str(json).map_err(|e| format!("DOCENT_CRAWL_SOURCES: {e}"))?
        }
    };
    for (i, source) in sources.iter().enumerate() {
        if let Some(schedule) = &source.schedule {
            CronSchedule::parse(schedule)
                .map_err(|e| format!("DOCENT_CRAWL_SOURCES[{i}].schedule: {e}"))?;
        }
    }
    Ok(sources)
}

/// A scheduled source of `GET /api/schedules`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct ScheduledSource {
    pub url: String,
    /// Five-field cron, UTC.
    pub schedule: String,
    /// When the schedule next fires (null if it never does within a year); the cron tick after
    /// that starts the crawl unless one of the source is still running.
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date-time")))]
    pub next_run_at: Option<String>,
    /// The source's most recent crawl, if any.
    pub last_crawl: Option<CrawlJob>,
}

/// The answer of `GET /api/schedules`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Schedules {
    /// `DOCENT_CRAWL_SOURCES`, in order.
    pub sources: Vec<ScheduledSource>,
    /// When the cron last checked the schedules (null before it first did).
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date-time")))]
    pub last_checked_at: Option<String>,
}

/// `GET /api/schedules` (admin): the configured sources with their next run and last crawl.
pub async fn schedules<P: Platform>(platform: &P) -> Result<Response, ApiError> {
    let sources =
        parse_sources(platform.setting("DOCENT_CRAWL_SOURCES").as_deref()).map_err(|message| {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "misconfigured", message)
        })?;
    let now = platform.clock().now_ms();
    let jobs = platform.store().recent_jobs(200).await?;
    let sources = sources
        .into_iter()
        .map(|source| {
            let schedule = source.schedule.clone().unwrap_or_else(|| DEFAULT_SCHEDULE.into());
            let next_run_at = CronSchedule::parse(&schedule)
                .ok()
                .and_then(|s| s.next_after(now))
                .map(docent_core::domain::format_timestamp);
            let normalized =
                parse_crawl_url(&source.url).map(|u| u.to_string()).unwrap_or_default();
            let last_crawl = jobs.iter().find(|j| j.url == normalized).cloned();
            ScheduledSource { url: source.url, schedule, next_run_at, last_crawl }
        })
        .collect();
    let last_checked_at = KvState::of(platform)
        .load(&LastScheduleRunKey)
        .await?
        .map(docent_core::domain::format_timestamp);
    Ok(json_response(StatusCode::OK, &Schedules { sources, last_checked_at }))
}
