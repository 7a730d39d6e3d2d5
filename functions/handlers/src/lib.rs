//! Docent's edge functions, written only against the core's ports.
//!
//! - [`crawl`]: the crawl API, the queue consumer and the cron entry point.
//! - [`retrieve`]: lexical search over chunks (`/api/search`).
//! - [`chat`]: grounded answers streamed as server-sent events (`/api/chat`).
//! - [`webhooks`]: signed deliveries that trigger recrawls and removals (`/hooks/{source}`).
//!
//! A shell builds a [`Platform`] from its bindings and calls [`handle`], [`crawl::consume`] or
//! [`crawl::on_schedule`]; everything else happens here, identically on every platform.

#![allow(async_fn_in_trait)]

pub mod chat;
pub mod cors;
pub mod crawl;
pub mod embeddings;
pub mod feedback;
pub mod gateway;
pub mod http;
mod kv_state;
pub mod limits;
pub mod mcp;
pub mod metered;
pub mod monitoring;
pub mod openai;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod ops;
pub mod retrieve;
pub mod routes;
pub mod tickets;
pub mod webhooks;

use ::http::{header, Method, StatusCode};
use docent_core::config::Config;
use docent_core::ops::metrics::{HTTP_DURATION, HTTP_REQUESTS};
use docent_core::ports::{Clock, CrawlQueue, FetchGate, Fetcher, KeyValue, ModelRuntime};
use docent_store::api::{
    AnswerStore, CrawlStore, DocumentStore, MetricsStore, RateStore, TicketStore, VectorStore,
};

pub use crate::http::{ApiError, Body, Request, Response};
use crate::routes::{Access, Handler, Lookup, ROUTES};

/// Everything a function may touch, provided by a platform shell. Cheap to clone (shells keep their
/// bindings behind an `Rc`): a streamed answer owns a clone while the client reads it.
pub trait Platform: Clone + 'static {
    type Kv: KeyValue;
    type Queue: CrawlQueue;
    type Store: CrawlStore
        + DocumentStore
        + TicketStore
        + VectorStore
        + AnswerStore
        + RateStore
        + MetricsStore;
    type Fetch: Fetcher;
    type Clock: Clock;
    type Gate: FetchGate;
    type Models: ModelRuntime;

    fn config(&self) -> &Config;
    fn kv(&self) -> &Self::Kv;
    fn queue(&self) -> &Self::Queue;
    fn store(&self) -> &Self::Store;
    fn fetcher(&self) -> &Self::Fetch;
    fn clock(&self) -> &Self::Clock;
    fn gate(&self) -> &Self::Gate;
    /// The platform's own model runtime (Workers AI), if any.
    fn models(&self) -> &Self::Models;
    /// The metric deltas this invocation has gathered (see [`ops`]).
    fn recorder(&self) -> &ops::Recorder;
    /// Hands the recorder's deltas on to the store: written at once (one upsert) unless the platform
    /// gathers them across the invocations of an instance and writes them together, as the Worker
    /// does once a second per isolate.
    fn flush_metrics(&self) -> LocalFuture<'_, ()>
    where
        Self: Sized,
    {
        Box::pin(ops::write_recorded(self))
    }
    /// Writes one structured log record (a JSON line) where the platform keeps logs.
    fn log(&self, record: &serde_json::Value);
    /// A response body kept in the platform's edge cache under `key` (the Cache API on Cloudflare),
    /// if it has one. Platforms without an edge cache keep nothing.
    fn cached_body(&self, key: &str) -> LocalFuture<'_, Option<Vec<u8>>> {
        let _ = key;
        Box::pin(async { None })
    }
    /// Keeps `body` under `key` for `ttl_seconds` in the edge cache, if there is one.
    fn cache_body(&self, key: &str, body: &[u8], ttl_seconds: u64) -> LocalFuture<'_, ()> {
        let _ = (key, body, ttl_seconds);
        Box::pin(async {})
    }
    /// The platform's name, reported by `/healthz` (`cloudflare`, `spin`, `native`).
    fn name(&self) -> &'static str;
    /// A `DOCENT_*` variable that is not part of [`Config`] because its name is dynamic or it is
    /// read rarely (per-source webhook secrets, scheduled sources).
    fn setting(&self, name: &str) -> Option<String>;
    /// The client's address as the platform vouches for it, for per-client limits: Cloudflare's
    /// `CF-Connecting-IP`; on Spin the trusted proxy header (`DOCENT_TRUSTED_CLIENT_HEADER`) if
    /// configured, else the peer address. Never a header any client may set. `None` if unknown.
    fn client_address(&self, request: &Request) -> Option<String>;
}

/// A boxed future of a single-threaded runtime, for the platform's optional capabilities.
pub type LocalFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + 'a>>;

/// The OpenAPI 3.1 description of every route, served at `/openapi.json` (generated; see
/// `openapi.rs`). It lives with the chat page in `functions/web`: the Worker's static assets serve it
/// before the Worker runs, so only shells without an asset server embed it (feature
/// `embedded-openapi`), and the Worker bundle does not carry it.
#[cfg(feature = "embedded-openapi")]
pub const OPENAPI_JSON: &str = include_str!("../../web/openapi.json");

/// The path patterns Docent serves, with their methods (for the OpenAPI consistency test).
pub fn route_patterns() -> impl Iterator<Item = (&'static str, &'static str)> {
    ROUTES.iter().map(|r| (r.method.as_str(), r.pattern))
}

/// The route pattern a request is recorded under (`unmatched` for paths and methods Docent does not
/// serve), so ids in paths make no new series.
pub fn route_label(method: &Method, path: &str) -> &'static str {
    let method = if method == Method::HEAD { Method::GET } else { method.clone() };
    match routes::lookup(&method, path) {
        Lookup::Found(route, _) => route.pattern,
        _ => "unmatched",
    }
}

/// Serves one HTTP request, and records it (by route pattern, so ids make no new series).
pub async fn handle<P: Platform>(platform: &P, request: Request) -> Response {
    let started = platform.clock().now_ms();
    let method = ops::method_label(request.method());
    let route = route_label(request.method(), request.uri().path());
    let response = match dispatch(platform, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    let now = platform.clock().now_ms();
    ops::record(platform, |m| {
        m.count(&HTTP_REQUESTS, &[route, method, response.status().as_str()], 1.0);
        m.observe_ms(&HTTP_DURATION, &[route], started, now);
    });
    response
}

async fn dispatch<P: Platform>(platform: &P, request: Request) -> Result<Response, ApiError> {
    let path = request.uri().path().to_string();
    if request.method() == Method::OPTIONS {
        return cors::options(&request, &path, &platform.config().allowed_origins);
    }
    let method =
        if request.method() == Method::HEAD { Method::GET } else { request.method().clone() };
    let (route, params) = match routes::lookup(&method, &path) {
        Lookup::Found(route, params) => (route, params),
        Lookup::NotFound => {
            return Err(ApiError::not_found(format!("no route for {path}; see /openapi.json")))
        }
        Lookup::WrongMethod(allowed) => {
            let mut response = ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!(
                    "{} is not allowed on {path}; use {}",
                    request.method(),
                    allowed.join(", ")
                ),
            )
            .into_response();
            if let Ok(value) = allowed.join(", ").parse() {
                response.headers_mut().insert(header::ALLOW, value);
            }
            return Ok(response);
        }
    };
    cors::check_origin(&request, &platform.config().allowed_origins)?;
    let mut response =
        serve(platform, &request, route, &params).await.unwrap_or_else(ApiError::into_response);
    if cors::enabled(route) {
        cors::mark(&mut response, cors::foreign_origin(&request).as_deref());
    }
    Ok(response)
}

/// Runs a route's checks (body size, key, rate limit) and then its handler.
async fn serve<P: Platform>(
    platform: &P, request: &Request, route: &routes::Route, params: &[&str],
) -> Result<Response, ApiError> {
    if request.body().len() > platform.config().max_request_bytes {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("request bodies are limited to {} bytes", platform.config().max_request_bytes),
        ));
    }
    if route.access == Access::Admin {
        crate::http::require_admin(request, platform.config().admin_key.as_deref())?;
    }
    if let Some(limit) = route.limit {
        let budget = (limit.budget)(platform.config());
        limits::rate_limit(platform, request, limit.scope, budget, limit.what).await?;
    }
    match route.handler {
        Handler::Health => health(platform).await,
        #[cfg(feature = "embedded-openapi")]
        Handler::OpenApi => {
            let mut response = http::json_response(StatusCode::OK, &serde_json::Value::Null);
            *response.body_mut() = Body::Full(OPENAPI_JSON.as_bytes().into());
            Ok(response)
        }
        // Reached only if a deployment drops the static assets from wrangler.toml.
        #[cfg(not(feature = "embedded-openapi"))]
        Handler::OpenApi => Err(ApiError::not_found(
            "/openapi.json is served from the static assets (wrangler.toml [assets])",
        )),
        Handler::Search => retrieve::search(platform, request).await,
        Handler::Chat => chat::chat(platform, request).await,
        Handler::Models => Ok(openai::models()),
        Handler::ChatCompletions => openai::chat_completions(platform, request).await,
        Handler::RecordFeedback => feedback::record(platform, request).await,
        Handler::ListFeedback => feedback::list(platform, request).await,
        Handler::Usage => feedback::usage(platform, request).await,
        Handler::Gaps => feedback::gaps(platform).await,
        Handler::StartCrawl => crawl::start(platform, request).await,
        Handler::ListCrawls => crawl::list(platform).await,
        Handler::Schedules => crawl::schedules(platform).await,
        Handler::CrawlStatus => crawl::status(platform, params[0]).await,
        Handler::CancelCrawl => crawl::cancel(platform, params[0]).await,
        Handler::IndexStats => index_stats(platform).await,
        Handler::Metrics => monitoring::serve_metrics(platform, request).await,
        Handler::ListAlerts => monitoring::list_alerts(platform).await,
        Handler::About => about(platform).await,
        Handler::ListDeadLetters => crawl::list_dead_letters(platform).await,
        Handler::ReplayDeadLetters => crawl::replay_dead_letters(platform, request).await,
        Handler::Webhook => webhooks::receive(platform, request, params[0]).await,
        Handler::CreateTicket => tickets::create_route(platform, request).await,
        Handler::ListTickets => tickets::list_route(platform, request).await,
        Handler::GetTicket => tickets::get_route(platform, request, params[0]).await,
        Handler::UpdateTicket => tickets::update_route(platform, request, params[0]).await,
        Handler::Mcp => mcp::post(platform, request).await,
        Handler::McpNotOffered => Ok(mcp::method_not_allowed()),
    }
}

/// The answer of `GET /healthz`.
#[derive(Debug, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Health {
    #[cfg_attr(feature = "openapi", schemars(extend("const" = "ok")))]
    pub status: &'static str,
    /// `cloudflare`, `spin` or `native`.
    pub platform: &'static str,
    /// Changes whenever the indexed content changes.
    pub index_version: u64,
}

async fn health<P: Platform>(platform: &P) -> Result<Response, ApiError> {
    // Reading the index version proves the store answers.
    let version =
        platform.store().index_version().await.map_err(|e| ApiError::internal("store", e))?;
    let health = Health { status: "ok", platform: platform.name(), index_version: version };
    Ok(http::json_response(StatusCode::OK, &health))
}

/// The answer of `GET /api/index`.
#[derive(Debug, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct IndexStats {
    /// Indexed pages.
    pub documents: u64,
    /// Indexed passages (chunks) of those pages.
    pub chunks: u64,
    /// Changes whenever the indexed content changes.
    pub index_version: u64,
}

async fn index_stats<P: Platform>(platform: &P) -> Result<Response, ApiError> {
    let counts = platform.store().counts().await?;
    let version = platform.store().index_version().await?;
    let stats =
        IndexStats { documents: counts.documents, chunks: counts.chunks, index_version: version };
    Ok(http::json_response(StatusCode::OK, &stats))
}

/// The answer of `GET /api/about`: what a visitor can ask about.
#[derive(Debug, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct About {
    /// Indexed pages.
    pub documents: u64,
    /// The sites crawled, most recently crawled first.
    pub sites: Vec<IndexedSite>,
    /// Questions to offer (`DOCENT_EXAMPLE_QUESTIONS`).
    pub examples: Vec<String>,
}

/// One crawled site of [`About`].
#[derive(Debug, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct IndexedSite {
    /// Its origin (`https://docs.example.com`): start URLs and paths are the operator's business.
    pub site: String,
    /// When its last finished crawl ended; null while none has.
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date-time")))]
    pub last_crawled_at: Option<String>,
}

/// How many recent crawls `GET /api/about` reads for its list of sites.
const ABOUT_RECENT_JOBS: u32 = 100;

async fn about<P: Platform>(platform: &P) -> Result<Response, ApiError> {
    let counts = platform.store().counts().await?;
    let jobs = platform.store().recent_jobs(ABOUT_RECENT_JOBS).await?;
    let mut sites: Vec<IndexedSite> = Vec::new();
    for job in jobs {
        let Ok(url) = url::Url::parse(&job.url) else { continue };
        if !matches!(url.scheme(), "http" | "https") {
            continue;
        }
        let site = url.origin().ascii_serialization();
        let ended = job.finished_at.filter(|_| job.status == docent_core::domain::JobStatus::Done);
        match sites.iter_mut().find(|s| s.site == site) {
            Some(known) => {
                if known.last_crawled_at < ended {
                    known.last_crawled_at = ended;
                }
            }
            None => sites.push(IndexedSite { site, last_crawled_at: ended }),
        }
    }
    let about = About {
        documents: counts.documents,
        sites,
        examples: platform.config().example_questions.clone(),
    };
    let mut response = http::json_response(StatusCode::OK, &about);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, header::HeaderValue::from_static("public, max-age=60"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openapi_documents_every_route() {
        let spec: serde_json::Value = serde_json::from_str(include_str!("../../web/openapi.json"))
            .expect("openapi.json is valid JSON");
        assert_eq!(spec["openapi"], "3.1.0");
        for (method, pattern) in route_patterns() {
            let operation = &spec["paths"][pattern][method.to_ascii_lowercase()];
            assert!(operation.is_object(), "{method} {pattern} is missing from openapi.json");
        }
        let methods = ["get", "put", "post", "delete", "patch", "head", "options"];
        let documented: usize = spec["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|p| {
                p.as_object().unwrap().keys().filter(|k| methods.contains(&k.as_str())).count()
            })
            .sum();
        assert_eq!(
            documented,
            ROUTES.len(),
            "openapi.json documents routes the router does not serve"
        );
    }
}
