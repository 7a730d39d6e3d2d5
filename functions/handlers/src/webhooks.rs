//! The webhooks function: `POST /hooks/{source}`. A verified delivery recrawls the URLs it lists at high
//! priority and removes the deleted ones from the index.
//!
//! The signature is checked before the body is parsed. Each source has its own secret(s) in
//! `DOCENT_WEBHOOK_SECRET_<SOURCE>` (upper-cased; several separated by spaces, for rotation); an
//! unconfigured source is 404. A delivery id seen before (within the signature tolerance) is refused with
//! 409, so the same delivery processed twice has the effect of once.

use ::http::StatusCode;
use serde::Deserialize;

use docent_core::domain::{url_key, Priority};
use docent_core::ports::{Clock, DocumentStore, KeyValue};
use docent_core::signature::{verify_standard_webhook, StandardWebhook, TOLERANCE_SECONDS};
use docent_core::urls::parse_crawl_url;

use crate::crawl::{start_job, CrawlRequest};
use crate::http::{json_response, parse_json, ApiError, Request, Response};
use crate::Platform;

const MAX_URLS: usize = 100;

#[derive(Debug, Deserialize)]
struct Delivery {
    #[serde(default)]
    urls: Vec<String>,
    #[serde(default)]
    deleted: Vec<String>,
}

fn is_source_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `POST /hooks/{source}`
pub async fn receive<P: Platform>(platform: &P, request: &Request, source: &str) -> Result<Response, ApiError> {
    let unknown = || ApiError::not_found(format!("no webhook source named {source}"));
    if !is_source_name(source) {
        return Err(unknown());
    }
    let variable = format!("DOCENT_WEBHOOK_SECRET_{}", source.to_ascii_uppercase().replace('-', "_"));
    let secrets: Vec<String> = platform.setting(&variable).unwrap_or_default().split_whitespace().map(str::to_string).collect();
    if secrets.is_empty() {
        return Err(unknown());
    }
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    let headers = StandardWebhook { id: header("webhook-id"), timestamp: header("webhook-timestamp"), signature: header("webhook-signature") };
    let now_seconds = platform.clock().now_ms() / 1000;
    verify_standard_webhook(&headers, request.body(), &secrets, now_seconds)
        .map_err(|e| ApiError::new(StatusCode::UNAUTHORIZED, "invalid_signature", format!("webhook rejected: {e}")))?;

    // Replay protection. KV is eventually consistent, so two copies arriving within a second at different
    // locations can both pass; the crawl itself is idempotent, so that costs a duplicate fetch, not data.
    let seen_key = format!("webhook:{source}:{}", headers.id.unwrap_or_default());
    if platform.kv().get(&seen_key).await.map_err(|e| ApiError::internal("replay store", e))?.is_some() {
        return Err(ApiError::new(StatusCode::CONFLICT, "duplicate_delivery", "this webhook-id was already processed"));
    }
    let delivery: Delivery = parse_json(request)?;
    if delivery.urls.len() + delivery.deleted.len() > MAX_URLS {
        return Err(ApiError::bad_request("invalid_request", format!("at most {MAX_URLS} urls and deleted entries per delivery")));
    }
    // Validate everything before acting, so a bad entry changes nothing.
    let mut recrawl = Vec::new();
    for url in &delivery.urls {
        let request = CrawlRequest {
            url: url.clone(),
            max_pages: Some(1),
            max_depth: Some(0),
            include: vec![],
            exclude: vec![],
            priority: Some(Priority::High.as_str().into()),
        };
        request.clone().validate(platform.config(), String::new())?;
        recrawl.push(request);
    }
    let deleted = delivery
        .deleted
        .iter()
        .map(|u| parse_crawl_url(u).map(|u| url_key(u.as_str())).map_err(|e| ApiError::bad_request("invalid_url", format!("deleted: {u}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    platform
        .kv()
        .put(&seen_key, "1", Some(2 * TOLERANCE_SECONDS))
        .await
        .map_err(|e| ApiError::internal("replay store", e))?;
    let mut jobs = Vec::new();
    for request in recrawl {
        jobs.push(start_job(platform, request).await?.id);
    }
    let mut removed = 0;
    for key in deleted {
        removed += usize::from(platform.store().delete_document(&key).await?);
    }
    Ok(json_response(StatusCode::ACCEPTED, &serde_json::json!({"recrawl_jobs": jobs, "removed": removed})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_names() {
        assert!(is_source_name("docs"));
        assert!(is_source_name("my-site_2"));
        assert!(!is_source_name(""));
        assert!(!is_source_name("../etc"));
        assert!(!is_source_name(&"a".repeat(65)));
    }
}
