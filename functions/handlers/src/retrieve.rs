//! The retrieve function: `GET /api/search`, also used by chat.

use ::http::{header, HeaderValue, StatusCode};
use serde::Serialize;

use docent_core::config::SearchMode;
use docent_core::config::{Reranker, RerankerKind};
use docent_core::domain::sha256_hex;
use docent_core::ops::metrics::{CACHE_LOOKUPS, VECTOR_SEARCH_DURATION};
use docent_core::ports::{Clock, FetchRequest, Fetcher, ModelRuntime, PortError, PortResult};
use docent_core::retrieval::embed::{builtin_embed, builtin_embed_query, dot, with_feedback};
use docent_core::retrieval::pages::query::{PageQuery, ENTRY_CANDIDATES, NAME_CANDIDATES};
use docent_core::retrieval::pages::{rank_pages, CANDIDATES};
use docent_core::retrieval::plan::{Combine, Embedder, SearchInputs, SearchPlan, VectorRanking};
use docent_core::retrieval::rerank;
use docent_core::retrieval::search::{
    merge_by_score, query_terms, reciprocal_rank_fusion, snippet, SearchHit, SectionLink,
};
use docent_store::api::{DocumentStore, FusedQuery, VectorStore};

use crate::embeddings;
use crate::gateway::within;

use crate::http::{json_response, query_param, ApiError, Body, Request, Response};
use crate::Platform;

/// The longest search text (`q`, and the MCP `search_docs` query).
pub const MAX_QUERY_CHARS: usize = 500;
/// The most results one search returns.
pub const MAX_K: u32 = 50;
/// Results returned when `k` is not given.
pub const DEFAULT_K: u32 = 10;
/// The longest `prefix`.
pub const MAX_PREFIX_CHARS: usize = 2_000;

/// How a search ranks, and where it looks.
#[derive(Debug, Clone, Copy)]
pub struct SearchOptions<'a> {
    pub mode: SearchMode,
    /// Only chunks whose URL starts with this (a site, or a section of one).
    pub url_prefix: Option<&'a str>,
}

impl SearchOptions<'_> {
    pub fn of(config: &docent_core::config::Config) -> SearchOptions<'static> {
        SearchOptions { mode: config.search_mode, url_prefix: None }
    }
}

/// Ranks pages for `query`, best first, each as its best chunk: lexical (FTS5 BM25 with
/// title and heading weights) and vector (nearest embeddings) rankings fused by reciprocal rank
/// fusion, or one of them alone, as the search plan (`core::retrieval::plan`) says.
pub async fn retrieve<P: Platform>(
    platform: &P, query: &str, k: u32, options: SearchOptions<'_>,
) -> PortResult<Vec<SearchHit>> {
    let store = platform.store();
    let config = platform.config();
    let page_query = PageQuery::new(query);
    let terms = &page_query.terms;
    let candidates = CANDIDATES;
    let plan = SearchPlan::new(&SearchInputs {
        mode: options.mode,
        embedder: Embedder::of(&config.embeddings),
        store_fuses: store.fuses_in_database(),
        feedback_passages: config.vector_feedback.0,
        terms: terms.len(),
        candidates,
    });
    // Fused in the store, hybrid search is one round trip. That needs the query vector first,
    // which then serves the separate steps below if it cannot be had.
    let mut query_vector = None;
    let vector_searched = |platform: &P, started: u64| {
        let now = platform.clock().now_ms();
        crate::ops::record(platform, |m| m.observe_ms(&VECTOR_SEARCH_DURATION, &[], started, now));
    };
    if plan.fused_in_store {
        let started = platform.clock().now_ms();
        let embedded = embeddings::embed_query(platform, query).await;
        if let (Some(model), Ok(Some(vector))) = (embeddings::model(&config.embeddings), &embedded)
        {
            let fused = FusedQuery {
                terms,
                model,
                vector,
                url_prefix: options.url_prefix,
                candidates,
                weights: config.rrf_weights,
            };
            let hits = store.fused_search(&fused).await?;
            vector_searched(platform, started);
            return Ok(finish(platform, query, &page_query, hits, k).await);
        }
        query_vector = Some(embedded);
    }
    // A code name asked with other words is searched alone too, at the same time (its
    // definition may not say the other words: `pages::query::NAME_CANDIDATES`).
    let name_terms = plan.lexical.and(page_query.name_terms()).unwrap_or_default();
    // One with an owner, as written too (`PageQuery::written_name`, only when `name_terms` is).
    let written_name: Vec<String> =
        plan.lexical.and(page_query.written_name()).map(str::to_string).into_iter().collect();
    // So is the entry for an option or a glossary's term, which its words alone cannot rank
    // (`PageQuery::entry_search`).
    let entry_search = if plan.lexical.is_some() { page_query.entry_search() } else { Vec::new() };
    let (mut lexical, mut named, entries) = futures_util::future::try_join3(
        async {
            match plan.lexical {
                Some(limit) => store.lexical_search(terms, options.url_prefix, limit).await,
                None => Ok(Vec::new()),
            }
        },
        async {
            if name_terms.is_empty() {
                return Ok(Vec::new());
            }
            let by_words = store.lexical_search(&name_terms, options.url_prefix, NAME_CANDIDATES);
            let as_written = async {
                if written_name.is_empty() {
                    return Ok(Vec::new());
                }
                let prefix = options.url_prefix;
                store
                    .lexical_search_containing(&name_terms, &written_name, prefix, NAME_CANDIDATES)
                    .await
            };
            let (by_words, as_written) =
                futures_util::future::try_join(by_words, as_written).await?;
            Ok(merge_by_score(by_words, as_written))
        },
        async {
            let found = futures_util::future::try_join_all(entry_search.iter().map(|search| {
                store.lexical_search_containing(
                    &search.words,
                    &search.texts,
                    options.url_prefix,
                    ENTRY_CANDIDATES,
                )
            }))
            .await?;
            Ok(found.into_iter().flatten().collect::<Vec<_>>())
        },
    )
    .await?;
    let best = lexical.iter().chain(&named).map(|h| h.score).fold(0.0, f64::max);
    page_query.lift_name_definition(&mut named, best);
    let entry = page_query.entry_hit(entries, if best > 0.0 { best } else { 1.0 });
    let entry_id = entry.as_ref().map(|entry| entry.chunk_id.clone());
    let named = match entry {
        Some(entry) => merge_by_score(named, vec![entry]),
        None => named,
    };
    let vector_started = platform.clock().now_ms();
    let searches_vectors = plan.vector.is_some();
    let vector = match plan.vector {
        None => Vec::new(),
        _ if plan.vector_needs_lexical_hits && lexical.is_empty() => Vec::new(),
        Some(VectorRanking::RescoreLexicalPool { keep, feedback_passages }) => {
            let merged;
            let pool = if named.is_empty() {
                &lexical
            } else {
                merged = merge_by_score(lexical.clone(), named.clone());
                &merged
            };
            let mut ranked = rescore_pool(platform, query, pool, feedback_passages).await?;
            // The entry keeps a vector rank, last if need be: added to the lexical candidates
            // and often least like the query's few words (`-x`), it would otherwise be the one
            // cut, and lose its share of the fusion.
            let is_entry = |hit: &&SearchHit| entry_id.as_ref() == Some(&hit.chunk_id);
            let entry_cut = ranked.iter().skip(keep as usize).find(is_entry).cloned();
            ranked.truncate(keep as usize);
            ranked.extend(entry_cut);
            lexical.truncate(keep as usize);
            ranked
        }
        Some(VectorRanking::Nearest { limit, feedback_passages, optional }) => {
            let hits = vector_hits(
                platform,
                query,
                query_vector,
                &lexical[..lexical.len().min(feedback_passages as usize)],
                options.url_prefix,
                limit,
            );
            match hits.await {
                Ok(hits) => hits,
                // A provider outage degrades hybrid search to lexical instead of failing it.
                Err(error) if error.transient && optional => Vec::new(),
                Err(error) => return Err(error),
            }
        }
    };
    if searches_vectors {
        vector_searched(platform, vector_started);
    }
    let ranked = match plan.combine {
        // The name's chunks join the lexical ranking by score.
        Combine::Lexical => merge_by_score(lexical, named),
        Combine::Vector => vector,
        // Ranked by position, chunks found only by the name would all fall behind the whole
        // query's: the name's ranking is fused as a list of its own.
        Combine::ReciprocalRankFusion => {
            let (lexical_weight, vector_weight) = config.rrf_weights;
            reciprocal_rank_fusion(vec![
                (lexical, lexical_weight),
                (named, lexical_weight),
                (vector, vector_weight),
            ])
        }
    };
    Ok(finish(platform, query, &page_query, ranked, k).await)
}

/// One result per page, weighed by what kind of page it is (`core::retrieval::pages`), reranked if a
/// reranker is configured, `k` at most.
async fn finish<P: Platform>(
    platform: &P, query: &str, page_query: &PageQuery, ranked: Vec<SearchHit>, k: u32,
) -> Vec<SearchHit> {
    let mut hits = rank_pages(ranked, page_query);
    if let Some(reranker) = &platform.config().reranker {
        hits = rerank(platform, reranker, query, hits).await;
    }
    hits.truncate(k as usize);
    hits
}

/// Reorders the best candidates with the configured reranker; any failure or timeout keeps the
/// fused order (a reranker improves search, it must never break it).
async fn rerank<P: Platform>(
    platform: &P, reranker: &Reranker, query: &str, mut hits: Vec<SearchHit>,
) -> Vec<SearchHit> {
    let tail = hits.split_off(hits.len().min(reranker.candidates as usize));
    if hits.len() < 2 {
        hits.extend(tail);
        return hits;
    }
    let documents: Vec<String> = hits.iter().map(rerank::document_text).collect();
    let started = platform.clock().now_ms();
    let scores =
        within(platform, reranker.timeout_ms, rerank_scores(platform, reranker, query, &documents))
            .await;
    let mut ranked = match scores {
        Some(Ok(scores)) => rerank::reorder(hits, &scores),
        failure => {
            let error = match failure {
                Some(Err(e)) => e.to_string(),
                _ => format!("no answer within {} ms", reranker.timeout_ms),
            };
            platform.log(&serde_json::json!({"event": "rerank_failed", "model": reranker.model, "error": error}));
            hits
        }
    };
    platform.log(&serde_json::json!({"event": "rerank", "model": reranker.model, "candidates": documents.len(), "ms": platform.clock().now_ms().saturating_sub(started)}));
    ranked.extend(tail);
    ranked
}

async fn rerank_scores<P: Platform>(
    platform: &P, reranker: &Reranker, query: &str, documents: &[String],
) -> PortResult<Vec<(usize, f64)>> {
    match &reranker.kind {
        RerankerKind::WorkersAi => {
            platform.models().rerank(&reranker.model, query, documents).await
        }
        RerankerKind::Http { base_url, api_key } => {
            let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
            if let Some(key) = api_key {
                headers.push(("authorization".into(), format!("Bearer {key}")));
            }
            let response = crate::metered::fetcher(platform)
                .fetch(FetchRequest {
                    method: "POST".into(),
                    url: format!("{base_url}/rerank"),
                    headers,
                    body: Some(
                        rerank::rerank_body(&reranker.model, query, documents)
                            .to_string()
                            .into_bytes(),
                    ),
                    max_body_bytes: 1024 * 1024,
                })
                .await?;
            if response.status != 200 {
                return Err(PortError::transient(format!(
                    "reranker answered HTTP {}",
                    response.status
                )));
            }
            rerank::parse_rerank(&response.body).map_err(PortError::permanent)
        }
    }
}

/// The vector ranking of a whole pool of lexical candidates, by similarity to the query moved towards the
/// best of them (the same feedback as [`vector_hits`]). Stored vectors are read for the pool; a
/// chunk without one (not yet backfilled) is embedded in place.
async fn rescore_pool<P: Platform>(
    platform: &P, query: &str, pool: &[SearchHit], passages: u32,
) -> PortResult<Vec<SearchHit>> {
    let weight = platform.config().vector_feedback.1;
    let text_of = |h: &SearchHit| embeddings::chunk_text(&h.title, &h.heading, &h.text);
    let feedback: Vec<Vec<f32>> =
        pool.iter().take(passages as usize).map(|h| builtin_embed(&text_of(h))).collect();
    let embedded = with_feedback(&builtin_embed_query(query), &feedback, weight);
    let ids: Vec<String> = pool.iter().map(|h| h.chunk_id.clone()).collect();
    let stored = platform
        .store()
        .similarities(docent_core::retrieval::embed::BUILTIN_MODEL, &embedded, &ids)
        .await?;
    let mut scored: Vec<(f32, &SearchHit)> = pool
        .iter()
        .map(|hit| {
            let score = stored.iter().find(|(id, _)| *id == hit.chunk_id).map(|(_, s)| *s);
            (score.unwrap_or_else(|| dot(&embedded, &builtin_embed(&text_of(hit)))), hit)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    Ok(scored
        .into_iter()
        .map(|(score, hit)| SearchHit { score: f64::from(score), ..hit.clone() })
        .collect())
}

/// The vector ranking. In hybrid search the query vector is first moved towards the best lexical
/// passages (`feedback`: `DOCENT_VECTOR_FEEDBACK_PASSAGES` of them), which is what makes the
/// built-in embedder help. `query_vector` is the query's embedding if it was already asked for.
async fn vector_hits<P: Platform>(
    platform: &P, query: &str, query_vector: Option<PortResult<Option<Vec<f32>>>>,
    feedback: &[SearchHit], url_prefix: Option<&str>, limit: u32,
) -> PortResult<Vec<SearchHit>> {
    let Some(model) = embeddings::model(&platform.config().embeddings) else {
        return Ok(Vec::new());
    };
    let embedded = match query_vector {
        Some(embedded) => embedded?,
        None => embeddings::embed_query(platform, query).await?,
    };
    let Some(mut embedded) = embedded else { return Ok(Vec::new()) };
    if !feedback.is_empty() {
        let weight = platform.config().vector_feedback.1;
        let texts: Vec<String> =
            feedback.iter().map(|h| format!("{} {} {}", h.title, h.heading, h.text)).collect();
        let vectors = embeddings::embed(platform, &texts, embeddings::Input::Document).await?;
        embedded = docent_core::retrieval::embed::with_feedback(&embedded, &vectors, weight);
    }
    let nearest = platform.store().nearest(model, &embedded, url_prefix, limit).await?;
    let ids: Vec<String> = nearest.iter().map(|(id, _)| id.clone()).collect();
    let mut hits = platform.store().chunks_by_id(&ids).await?;
    for hit in &mut hits {
        hit.score = nearest
            .iter()
            .find(|(id, _)| *id == hit.chunk_id)
            .map_or(0.0, |(_, score)| f64::from(*score));
    }
    Ok(hits)
}

/// A search result as `/api/search` and the MCP `search_docs` tool return it.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct SearchResult {
    /// The page URL, with the `#fragment` of the section when known.
    pub url: String,
    pub title: String,
    /// The heading of the section the passage is in.
    pub heading: String,
    /// The passage around the query's terms.
    pub snippet: String,
    /// Higher is better; comparable within one search only.
    pub score: f64,
    pub chunk_id: String,
    /// The page's other sections that matched, best first: each page is one result.
    pub more: Vec<SectionLink>,
}

/// The answer of `GET /api/search`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct SearchResponse<'a> {
    /// The search text, trimmed.
    pub query: &'a str,
    /// Best first.
    pub results: Vec<SearchResult>,
    /// The index version the results come from (part of the ETag).
    pub index_version: u64,
}

/// The query parameters of `GET /api/search`.
#[derive(Debug)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct SearchParams {
    /// The search text.
    #[cfg_attr(feature = "openapi", schemars(length(min = 1, max = MAX_QUERY_CHARS)))]
    pub q: String,
    /// How many results, at most.
    #[cfg_attr(feature = "openapi", schemars(default = "default_k", range(min = 1, max = MAX_K)))]
    pub k: u32,
    /// auto (lexical for keyword queries of up to four words, hybrid for longer ones), hybrid
    /// (lexical and vector rankings fused by reciprocal rank fusion), lexical (full-text BM25) or
    /// vector (nearest embeddings); default DOCENT_SEARCH_MODE.
    pub mode: Option<SearchMode>,
    /// Only results whose URL starts with this http(s) prefix: one site, or one section of it.
    #[cfg_attr(
        feature = "openapi",
        schemars(length(max = MAX_PREFIX_CHARS), regex(pattern = "^https?://"))
    )]
    pub prefix: Option<String>,
}

fn default_k() -> u32 {
    DEFAULT_K
}

impl SearchParams {
    /// Reads and checks the parameters; the error names the one that is wrong.
    pub fn from_request(request: &Request) -> Result<SearchParams, ApiError> {
        let q = query_param(request, "q").map(|q| q.trim().to_string()).unwrap_or_default();
        if q.is_empty() {
            return Err(ApiError::bad_request("missing_query", "add the search text as ?q=..."));
        }
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(ApiError::bad_request(
                "query_too_long",
                format!("q is limited to {MAX_QUERY_CHARS} characters"),
            ));
        }
        let k = match query_param(request, "k") {
            None => default_k(),
            Some(k) => {
                k.parse::<u32>().ok().filter(|k| (1..=MAX_K).contains(k)).ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_k",
                        format!("k must be a whole number from 1 to {MAX_K}"),
                    )
                })?
            }
        };
        let mode = match query_param(request, "mode") {
            None => None,
            Some(mode) => Some(SearchMode::parse(&mode).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_mode",
                    "mode must be auto, hybrid, lexical or vector",
                )
            })?),
        };
        let prefix = query_param(request, "prefix").filter(|p| !p.is_empty());
        if prefix.as_ref().is_some_and(|p| {
            !(p.starts_with("https://") || p.starts_with("http://")) || p.len() > MAX_PREFIX_CHARS
        }) {
            return Err(ApiError::bad_request(
                "invalid_prefix",
                "prefix must be an http(s) URL prefix, e.g. https://docs.example.com/guide/",
            ));
        }
        Ok(SearchParams { q, k, mode, prefix })
    }
}

/// Ranked results for `query` with snippets around its terms.
pub async fn search_results<P: Platform>(
    platform: &P, query: &str, k: u32, options: SearchOptions<'_>,
) -> PortResult<Vec<SearchResult>> {
    let terms = query_terms(query);
    let hits = retrieve(platform, query, k, options).await?;
    Ok(hits
        .into_iter()
        .map(|hit| SearchResult {
            snippet: snippet(&hit.text, &terms, 40),
            url: hit.url,
            title: hit.title,
            heading: hit.heading,
            score: (hit.score * 1000.0).round() / 1000.0,
            chunk_id: hit.chunk_id,
            more: hit.more,
        })
        .collect())
}

/// `GET /api/search?q=...&k=10`
pub async fn search<P: Platform>(platform: &P, request: &Request) -> Result<Response, ApiError> {
    let SearchParams { q: query, k, mode, prefix } = SearchParams::from_request(request)?;
    let mut options = SearchOptions::of(platform.config());
    if let Some(mode) = mode {
        options.mode = mode;
    }
    options.url_prefix = prefix.as_deref();
    let version = platform.store().index_version().await?;
    // The index version is part of the validator: any recrawl that changes content changes every
    // ETag.
    let key = format!(
        "{version}\n{k}\n{:?}\n{}\n{query}",
        options.mode,
        options.url_prefix.unwrap_or("")
    );
    let etag = format!("\"{}\"", &sha256_hex(key.as_bytes())[..32]);
    let cache_control =
        format!("public, max-age=0, s-maxage={}", platform.config().search_cache_seconds);
    let not_modified = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().trim_start_matches("W/") == etag));
    // The edge cache is keyed by the validator, so a recrawl that changes content is never answered
    // from it: the new index version makes a new key.
    let cache_key = format!("https://search-cache.docent.internal/{}", etag.trim_matches('"'));
    let mut cache_state = "miss";
    let mut response = if not_modified {
        let mut response = http::Response::new(Body::empty());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
    } else if let Some(body) = platform.cached_body(&cache_key).await {
        cache_state = "hit";
        crate::ops::record(platform, |m| m.count(&CACHE_LOOKUPS, &["search", "hit"], 1.0));
        let mut response = json_response(StatusCode::OK, &serde_json::Value::Null);
        *response.body_mut() = Body::Full(body.into());
        response
    } else {
        crate::ops::record(platform, |m| m.count(&CACHE_LOOKUPS, &["search", "miss"], 1.0));
        let results = search_results(platform, &query, k, options).await?;
        let body =
            serde_json::to_vec(&SearchResponse { query: &query, results, index_version: version })
                .unwrap_or_default();
        let ttl = platform.config().search_cache_seconds;
        if ttl > 0 {
            platform.cache_body(&cache_key, &body, ttl).await;
        }
        let mut response = json_response(StatusCode::OK, &serde_json::Value::Null);
        *response.body_mut() = Body::Full(body.into());
        response
    };
    let headers = response.headers_mut();
    headers.insert("x-docent-cache", HeaderValue::from_static(cache_state));
    if let (Ok(etag), Ok(cache)) =
        (HeaderValue::from_str(&etag), HeaderValue::from_str(&cache_control))
    {
        headers.insert(header::ETAG, etag);
        headers.insert(header::CACHE_CONTROL, cache);
    }
    Ok(response)
}
