//! The webhooks function: `POST /hooks/{source}`. A verified delivery recrawls pages at high
//! priority and removes deleted ones from the index.
//!
//! A source is configured by one of three secrets (upper-cased source name), which also selects how
//! deliveries are signed. To rotate, put the old secret in the same variable with `_PREVIOUS`
//! appended (Standard Webhooks secrets may also be listed space-separated in one variable):
//! - `DOCENT_WEBHOOK_SECRET_<SOURCE>`: Standard Webhooks (`webhook-id`, `webhook-timestamp`,
//!   `webhook-signature`), body `{"urls": [...], "deleted": [...]}`;
//! - `DOCENT_GITHUB_WEBHOOK_SECRET_<SOURCE>`: GitHub (`X-Hub-Signature-256`, `X-GitHub-Delivery`);
//!   a `push` recrawls the changed docs pages mapped by `DOCENT_GITHUB_DOCS_<SOURCE>`;
//! - `DOCENT_HMAC_WEBHOOK_SECRET_<SOURCE>`: `X-Signature-256: sha256=<hex>` over the body, with an
//!   `X-Delivery-Id`; same body as Standard Webhooks.
//!
//! The signature is checked before the body is parsed. An unconfigured source is 404. A delivery
//! seen before within the replay window is refused with 409, so the same delivery processed twice
//! has the effect of once: a Standard Webhooks delivery is known by its signed id, a GitHub or
//! generic one by the digest of its signed body (their delivery ids are not signed, so a captured
//! delivery resent with a new id is still a replay).

use ::http::StatusCode;
use serde::{Deserialize, Serialize};

use docent_core::crawl::urls::parse_crawl_url;
use docent_core::domain::{sha256_hex, url_key, Priority};
use docent_core::escalation::signature::{
    verify_github, verify_hex_hmac, verify_standard_webhook, SignatureError, StandardWebhook,
};
use docent_core::escalation::webhook::{GithubDocs, WebhookActions};
use docent_core::ports::Clock;
use docent_store::api::DocumentStore;

use crate::crawl::{start_job, CrawlRequest};
use crate::http::{json_response, parse_json, ApiError, Request, Response};
use crate::kv_state::{KvState, WebhookDeliveryKey};
use crate::Platform;

/// `urls` and `deleted` entries of one delivery, together.
pub const MAX_URLS: usize = 100;
/// The longest source name (`/hooks/{source}`: letters, digits, `_` and `-`).
pub const MAX_SOURCE_NAME_CHARS: usize = 64;

/// The body of a Standard Webhooks or generic HMAC delivery (GitHub deliveries are GitHub's own
/// payloads).
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct UrlDelivery {
    /// Pages to recrawl at high priority (each alone, plus its redirects).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schemars(length(max = MAX_URLS), inner(url)))]
    urls: Vec<String>,
    /// Pages to remove from the index.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schemars(length(max = MAX_URLS), inner(url)))]
    deleted: Vec<String>,
}

/// The answer of `POST /hooks/{source}`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum WebhookAccepted<'a> {
    /// The delivery was acted on.
    Acted {
        /// The recrawl jobs started, one per URL.
        recrawl_jobs: Vec<String>,
        /// Pages removed from the index.
        removed: usize,
    },
    /// A GitHub event other than `push` (e.g. `ping`): acknowledged, nothing done.
    Ignored { ignored_event: Option<&'a str> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Standard,
    Github,
    Hmac,
}

fn is_source_name(name: &str) -> bool {
    (1..=MAX_SOURCE_NAME_CHARS).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The scheme and secrets configured for `source`.
fn source_config<P: Platform>(platform: &P, source: &str) -> Option<(Scheme, Vec<String>)> {
    let suffix = source.to_ascii_uppercase().replace('-', "_");
    [
        (Scheme::Standard, "DOCENT_WEBHOOK_SECRET_"),
        (Scheme::Github, "DOCENT_GITHUB_WEBHOOK_SECRET_"),
        (Scheme::Hmac, "DOCENT_HMAC_WEBHOOK_SECRET_"),
    ]
    .into_iter()
    .find_map(|(scheme, prefix)| {
        let name = format!("{prefix}{suffix}");
        let values = [platform.setting(&name), platform.setting(&format!("{name}_PREVIOUS"))];
        let mut secrets = Vec::new();
        for value in values.into_iter().flatten() {
            match scheme {
                // whsec_ secrets are base64, so several may share one variable.
                Scheme::Standard => secrets.extend(value.split_whitespace().map(str::to_string)),
                // GitHub and generic secrets are arbitrary text (spaces included).
                Scheme::Github | Scheme::Hmac => secrets.push(value),
            }
        }
        secrets.retain(|s| !s.is_empty());
        (!secrets.is_empty()).then_some((scheme, secrets))
    })
}

fn rejected(error: SignatureError) -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_signature",
        format!("webhook rejected: {error}"),
    )
}

/// `POST /hooks/{source}`
pub async fn receive<P: Platform>(
    platform: &P, request: &Request, source: &str,
) -> Result<Response, ApiError> {
    let unknown = || ApiError::not_found(format!("no webhook source named {source}"));
    if !is_source_name(source) {
        return Err(unknown());
    }
    let (scheme, secrets) = source_config(platform, source).ok_or_else(unknown)?;
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    let body = request.body();

    // 1. Authenticity, before anything else. What identifies the delivery against replays must be
    //    covered by the signature: Standard Webhooks signs its id; GitHub and generic senders sign
    //    only the body, so a replay could carry any new id, and the body's digest identifies it.
    let delivery_id = match scheme {
        Scheme::Standard => {
            let headers = StandardWebhook {
                id: header("webhook-id"),
                timestamp: header("webhook-timestamp"),
                signature: header("webhook-signature"),
            };
            verify_standard_webhook(&headers, body, &secrets, platform.clock().now_ms() / 1000)
                .map_err(rejected)?;
            headers.id.unwrap_or_default().to_string()
        }
        Scheme::Github => {
            verify_github(header("x-hub-signature-256"), body, &secrets).map_err(rejected)?;
            header("x-github-delivery")
                .ok_or(SignatureError::Missing("x-github-delivery"))
                .map_err(rejected)?;
            format!("body-sha256:{}", sha256_hex(body))
        }
        Scheme::Hmac => {
            let signature = header("x-signature-256")
                .ok_or(SignatureError::Missing("x-signature-256"))
                .map_err(rejected)?;
            verify_hex_hmac(signature, body, &secrets).map_err(rejected)?;
            header("x-delivery-id")
                .ok_or(SignatureError::Missing("x-delivery-id"))
                .map_err(rejected)?;
            format!("body-sha256:{}", sha256_hex(body))
        }
    };

    // 2. Replays. KV is eventually consistent, so two copies arriving within a second at different
    // locations can both pass; the crawl is idempotent, so that costs a duplicate fetch, not data.
    let kv = KvState::of(platform);
    let seen = WebhookDeliveryKey {
        source,
        delivery_id: &delivery_id,
        timestamped: scheme == Scheme::Standard,
    };
    if kv.load(&seen).await.map_err(|e| ApiError::internal("replay store", e))?.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "duplicate_delivery",
            "this delivery was already processed (the same signed delivery within the replay window)",
        ));
    }

    // 3. What the delivery asks for, validated whole before acting so a bad entry changes nothing.
    let actions = match scheme {
        Scheme::Github => match header("x-github-event") {
            Some("push") => {
                let config = platform.setting(&format!(
                    "DOCENT_GITHUB_DOCS_{}",
                    source.to_ascii_uppercase().replace('-', "_")
                ));
                let docs: GithubDocs = serde_json::from_str(config.as_deref().unwrap_or(""))
                    .map_err(|e| {
                        ApiError::internal(
                            "webhook configuration",
                            format!("DOCENT_GITHUB_DOCS_{}: {e}", source.to_ascii_uppercase()),
                        )
                    })?;
                let payload: serde_json::Value = parse_json(request)?;
                docs.push_actions(&payload)
            }
            // ping and events Docent does not act on are acknowledged, so GitHub marks them
            // delivered.
            event => {
                return Ok(json_response(
                    StatusCode::ACCEPTED,
                    &WebhookAccepted::Ignored { ignored_event: event },
                ))
            }
        },
        Scheme::Standard | Scheme::Hmac => {
            let delivery: UrlDelivery = parse_json(request)?;
            WebhookActions { recrawl: delivery.urls, deleted: delivery.deleted }
        }
    };
    if actions.recrawl.len() + actions.deleted.len() > MAX_URLS {
        return Err(ApiError::bad_request(
            "invalid_request",
            format!("at most {MAX_URLS} urls and deleted entries per delivery"),
        ));
    }
    let mut recrawl = Vec::new();
    for url in &actions.recrawl {
        let request = CrawlRequest {
            url: url.clone(),
            // The page alone (depth 0 follows no links), plus the hops if it now redirects.
            max_pages: Some(1 + docent_core::domain::MAX_REDIRECTS),
            max_depth: Some(0),
            include: vec![],
            exclude: vec![],
            priority: Some(Priority::High.as_str().into()),
            schedule: None,
        };
        request.clone().validate(platform.config(), String::new())?;
        recrawl.push(request);
    }
    let deleted = actions
        .deleted
        .iter()
        .map(|u| {
            parse_crawl_url(u)
                .map(|u| url_key(u.as_str()))
                .map_err(|e| ApiError::bad_request("invalid_url", format!("deleted: {u}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;

    // 4. Act. The id is remembered first: a crash after it leaves work undone that the sender's
    //    retry
    // cannot redo, but never does work twice; a recrawl of the same pages repairs it.
    kv.save(&seen, &1).await.map_err(|e| ApiError::internal("replay store", e))?;
    let mut jobs = Vec::new();
    for request in recrawl {
        jobs.push(start_job(platform, request).await?.id);
    }
    let mut removed = 0;
    for key in deleted {
        removed += usize::from(platform.store().delete_document(&key).await?);
    }
    Ok(json_response(StatusCode::ACCEPTED, &WebhookAccepted::Acted { recrawl_jobs: jobs, removed }))
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
