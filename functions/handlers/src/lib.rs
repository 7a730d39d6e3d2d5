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
pub mod crawl;
pub mod embeddings;
pub mod feedback;
pub mod gateway;
pub mod http;
mod kv_state;
pub mod limits;
pub mod mcp;
pub mod openai;
pub mod retrieve;
pub mod tickets;
pub mod webhooks;

use ::http::{header, Method, StatusCode};
use docent_core::config::Config;
use docent_core::ports::{Clock, CrawlQueue, FetchGate, Fetcher, KeyValue, ModelRuntime};
use docent_store::api::{AnswerStore, CrawlStore, DocumentStore, TicketStore, VectorStore};

pub use crate::http::{ApiError, Body, Request, Response};

/// Everything a function may touch, provided by a platform shell. Cheap to clone (shells keep their
/// bindings behind an `Rc`): a streamed answer owns a clone while the client reads it.
pub trait Platform: Clone + 'static {
    type Kv: KeyValue;
    type Queue: CrawlQueue;
    type Store: CrawlStore + DocumentStore + TicketStore + VectorStore + AnswerStore;
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
}

/// A boxed future of a single-threaded runtime, for the platform's optional capabilities.
pub type LocalFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + 'a>>;

/// The OpenAPI 3.1 description of every route, served at `/openapi.json`.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

/// A route: method, path pattern (`{id}` matches one segment) and whether it needs the admin key.
struct Route {
    method: Method,
    pattern: &'static str,
    admin: bool,
}

const fn route(method: Method, pattern: &'static str, admin: bool) -> Route {
    Route { method, pattern, admin }
}

const ROUTES: &[Route] = &[
    route(Method::GET, "/healthz", false),
    route(Method::GET, "/openapi.json", false),
    route(Method::GET, "/api/search", false),
    route(Method::POST, "/api/chat", false),
    route(Method::GET, "/v1/models", false),
    route(Method::POST, "/v1/chat/completions", false),
    route(Method::POST, "/api/feedback", false),
    route(Method::GET, "/api/feedback", true),
    route(Method::GET, "/api/usage", true),
    route(Method::POST, "/api/crawls", true),
    route(Method::GET, "/api/crawls", true),
    route(Method::GET, "/api/crawls/{id}", true),
    route(Method::DELETE, "/api/crawls/{id}", true),
    route(Method::GET, "/api/index", true),
    route(Method::GET, "/api/dead-letters", true),
    route(Method::POST, "/api/dead-letters/replay", true),
    route(Method::POST, "/hooks/{source}", false),
    // Ticket routes authorise per ticket (admin key or the requester's token); see `tickets`.
    route(Method::POST, "/api/tickets", false),
    route(Method::GET, "/api/tickets", true),
    route(Method::GET, "/api/tickets/{id}", false),
    route(Method::PATCH, "/api/tickets/{id}", false),
    // MCP authenticates with the admin key or an API key; see `mcp`.
    route(Method::POST, "/mcp", false),
    route(Method::GET, "/mcp", false),
    route(Method::DELETE, "/mcp", false),
];

/// The path patterns Docent serves (for the OpenAPI consistency test).
pub fn route_patterns() -> impl Iterator<Item = (&'static str, &'static str)> {
    ROUTES.iter().map(|r| (r.method.as_str(), r.pattern))
}

fn matches<'p>(pattern: &str, path: &'p str) -> Option<Vec<&'p str>> {
    let (mut p, mut s) = (pattern.split('/'), path.split('/'));
    let mut params = Vec::new();
    loop {
        match (p.next(), s.next()) {
            (None, None) => return Some(params),
            (Some(seg), Some(value)) if seg.starts_with('{') && !value.is_empty() => {
                params.push(value)
            }
            (Some(seg), Some(value)) if seg == value => {}
            _ => return None,
        }
    }
}

/// Serves one HTTP request.
pub async fn handle<P: Platform>(platform: &P, request: Request) -> Response {
    match dispatch(platform, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn dispatch<P: Platform>(platform: &P, request: Request) -> Result<Response, ApiError> {
    let path = request.uri().path().to_string();
    let candidates: Vec<&Route> =
        ROUTES.iter().filter(|r| matches(r.pattern, &path).is_some()).collect();
    let method =
        if request.method() == Method::HEAD { Method::GET } else { request.method().clone() };
    let Some(route) = candidates.iter().find(|r| r.method == method) else {
        if candidates.is_empty() {
            return Err(ApiError::not_found(format!("no route for {path}; see /openapi.json")));
        }
        let allowed: Vec<&str> = candidates.iter().map(|r| r.method.as_str()).collect();
        let mut response = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{} is not allowed on {path}; use {}", request.method(), allowed.join(", ")),
        )
        .into_response();
        if let Ok(value) = allowed.join(", ").parse() {
            response.headers_mut().insert(header::ALLOW, value);
        }
        return Ok(response);
    };
    if request.body().len() > platform.config().max_request_bytes {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("request bodies are limited to {} bytes", platform.config().max_request_bytes),
        ));
    }
    if route.admin {
        crate::http::require_admin(&request, platform.config().admin_key.as_deref())?;
    }
    let params = matches(route.pattern, &path).unwrap_or_default();
    match (route.method.as_str(), route.pattern) {
        ("GET", "/healthz") => health(platform).await,
        ("GET", "/openapi.json") => {
            let mut response = http::json_response(StatusCode::OK, &serde_json::Value::Null);
            *response.body_mut() = Body::Full(OPENAPI_JSON.as_bytes().into());
            Ok(response)
        }
        ("GET", "/api/search") => {
            limits::rate_limit(
                platform,
                &request,
                "search",
                platform.config().search_rate_limit,
                "searches",
            )
            .await?;
            retrieve::search(platform, &request).await
        }
        ("POST", "/api/chat") => {
            limits::rate_limit(
                platform,
                &request,
                "chat",
                platform.config().chat_rate_limit,
                "questions",
            )
            .await?;
            chat::chat(platform, &request).await
        }
        ("GET", "/v1/models") => Ok(openai::models()),
        ("POST", "/v1/chat/completions") => {
            limits::rate_limit(
                platform,
                &request,
                "chat",
                platform.config().chat_rate_limit,
                "questions",
            )
            .await?;
            openai::chat_completions(platform, &request).await
        }
        ("POST", "/api/feedback") => {
            limits::rate_limit(
                platform,
                &request,
                "feedback",
                platform.config().chat_rate_limit,
                "ratings",
            )
            .await?;
            feedback::record(platform, &request).await
        }
        ("GET", "/api/feedback") => feedback::list(platform, &request).await,
        ("GET", "/api/usage") => feedback::usage(platform, &request).await,
        ("POST", "/api/crawls") => crawl::start(platform, &request).await,
        ("GET", "/api/crawls") => crawl::list(platform).await,
        ("GET", "/api/crawls/{id}") => crawl::status(platform, params[0]).await,
        ("DELETE", "/api/crawls/{id}") => crawl::cancel(platform, params[0]).await,
        ("GET", "/api/index") => index_stats(platform).await,
        ("GET", "/api/dead-letters") => crawl::list_dead_letters(platform).await,
        ("POST", "/api/dead-letters/replay") => {
            crawl::replay_dead_letters(platform, &request).await
        }
        ("POST", "/hooks/{source}") => webhooks::receive(platform, &request, params[0]).await,
        ("POST", "/api/tickets") => tickets::create_route(platform, &request).await,
        ("GET", "/api/tickets") => tickets::list_route(platform, &request).await,
        ("GET", "/api/tickets/{id}") => tickets::get_route(platform, &request, params[0]).await,
        ("PATCH", "/api/tickets/{id}") => {
            tickets::update_route(platform, &request, params[0]).await
        }
        ("POST", "/mcp") => mcp::post(platform, &request).await,
        ("GET" | "DELETE", "/mcp") => Ok(mcp::method_not_allowed()),
        _ => Err(ApiError::not_found(format!("no route for {path}"))),
    }
}

async fn health<P: Platform>(platform: &P) -> Result<Response, ApiError> {
    // Reading the index version proves the store answers.
    let version =
        platform.store().index_version().await.map_err(|e| ApiError::internal("store", e))?;
    Ok(http::json_response(
        StatusCode::OK,
        &serde_json::json!({"status": "ok", "platform": platform.name(), "index_version": version}),
    ))
}

async fn index_stats<P: Platform>(platform: &P) -> Result<Response, ApiError> {
    let counts = platform.store().counts().await?;
    let version = platform.store().index_version().await?;
    Ok(http::json_response(
        StatusCode::OK,
        &serde_json::json!({"documents": counts.documents, "chunks": counts.chunks, "index_version": version}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_matching() {
        assert_eq!(matches("/api/crawls/{id}", "/api/crawls/abc"), Some(vec!["abc"]));
        assert_eq!(matches("/api/crawls/{id}", "/api/crawls/"), None);
        assert_eq!(matches("/api/crawls/{id}", "/api/crawls/a/b"), None);
        assert_eq!(matches("/api/crawls", "/api/crawls"), Some(vec![]));
    }

    #[test]
    fn openapi_documents_every_route() {
        let spec: serde_json::Value =
            serde_json::from_str(OPENAPI_JSON).expect("openapi.json is valid JSON");
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
