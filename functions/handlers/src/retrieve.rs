//! The retrieve function: `GET /api/search`, also used by chat.

use ::http::{header, HeaderValue, StatusCode};
use serde::Serialize;

use docent_core::domain::sha256_hex;
use docent_core::ports::{DocumentStore, PortResult};
use docent_core::search::{dedupe_by_section, fts5_match_expression, query_terms, snippet, SearchHit};

use crate::http::{json_response, query_param, ApiError, Body, Request, Response};
use crate::Platform;

const MAX_QUERY_CHARS: usize = 500;
const MAX_K: u32 = 50;
/// Candidates fetched per requested result, so de-duplication by section still fills the page.
const OVERFETCH: u32 = 3;

/// Ranks chunks for `query`, best first, at most one per page section.
pub async fn retrieve<S: DocumentStore>(store: &S, query: &str, k: u32) -> PortResult<Vec<SearchHit>> {
    let Some(expression) = fts5_match_expression(query) else { return Ok(Vec::new()) };
    let hits = store.lexical_search(&expression, k * OVERFETCH).await?;
    let mut hits = dedupe_by_section(hits);
    hits.truncate(k as usize);
    Ok(hits)
}

/// A search result as `/api/search` and the MCP `search_docs` tool return it.
#[derive(Debug, Serialize)]
pub struct SearchResult {
    pub url: String,
    pub title: String,
    pub heading: String,
    pub snippet: String,
    pub score: f64,
    pub chunk_id: String,
}

/// Ranked results for `query` with snippets around its terms.
pub async fn search_results<S: DocumentStore>(store: &S, query: &str, k: u32) -> PortResult<Vec<SearchResult>> {
    let terms = query_terms(query);
    let hits = retrieve(store, query, k).await?;
    Ok(hits
        .into_iter()
        .map(|hit| SearchResult {
            snippet: snippet(&hit.text, &terms, 40),
            url: hit.url,
            title: hit.title,
            heading: hit.heading,
            score: (hit.score * 1000.0).round() / 1000.0,
            chunk_id: hit.chunk_id,
        })
        .collect())
}

/// `GET /api/search?q=...&k=10`
pub async fn search<P: Platform>(platform: &P, request: &Request) -> Result<Response, ApiError> {
    let query = query_param(request, "q").map(|q| q.trim().to_string()).unwrap_or_default();
    if query.is_empty() {
        return Err(ApiError::bad_request("missing_query", "add the search text as ?q=..."));
    }
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::bad_request("query_too_long", format!("q is limited to {MAX_QUERY_CHARS} characters")));
    }
    let k = match query_param(request, "k") {
        None => 10,
        Some(k) => k
            .parse::<u32>()
            .ok()
            .filter(|k| (1..=MAX_K).contains(k))
            .ok_or_else(|| ApiError::bad_request("invalid_k", format!("k must be a whole number from 1 to {MAX_K}")))?,
    };
    let version = platform.store().index_version().await?;
    // The index version is part of the validator: any recrawl that changes content changes every ETag.
    let etag = format!("\"{}\"", &sha256_hex(format!("{version}\n{k}\n{query}").as_bytes())[..32]);
    let cache_control = format!("public, max-age=0, s-maxage={}", platform.config().search_cache_seconds);
    let not_modified = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().trim_start_matches("W/") == etag));
    let mut response = if not_modified {
        let mut response = http::Response::new(Body::empty());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
    } else {
        let results = search_results(platform.store(), &query, k).await?;
        json_response(StatusCode::OK, &serde_json::json!({"query": query, "results": results, "index_version": version}))
    };
    let headers = response.headers_mut();
    if let (Ok(etag), Ok(cache)) = (HeaderValue::from_str(&etag), HeaderValue::from_str(&cache_control)) {
        headers.insert(header::ETAG, etag);
        headers.insert(header::CACHE_CONTROL, cache);
    }
    Ok(response)
}
