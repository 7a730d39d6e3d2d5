//! Per-client limits on the public endpoints: a fixed window per client address, counted in KV.

use ::http::StatusCode;

use docent_core::crawl::ratelimit::{RateDecision, RateLimit};
use docent_core::ports::Clock;

use crate::http::{ApiError, Request};
use crate::kv_state::{KvState, RateCounterKey};
use crate::Platform;

/// The client address the platform reports, for per-client limits.
pub fn client_id(request: &Request) -> String {
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    header("cf-connecting-ip")
        .or_else(|| header("x-forwarded-for").and_then(|v| v.split(',').next()))
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// Counts this request against the client's budget for `scope`, or answers 429 with `Retry-After`;
/// `what` names the requests in the message ("too many questions").
pub async fn rate_limit<P: Platform>(
    platform: &P, request: &Request, scope: &str, limit: RateLimit, what: &str,
) -> Result<(), ApiError> {
    if limit.requests == 0 {
        return Ok(());
    }
    let client = client_id(request);
    let now = platform.clock().now_ms();
    let kv = KvState::of(platform);
    let counter = RateCounterKey { scope, client: &client, limit, now_ms: now };
    // The limiter protects the service; when its store fails it lets requests through rather than
    // failing them (KV also refuses a second write to one key within a second).
    let Ok(recorded) = kv.load(&counter).await else { return Ok(()) };
    match limit.decide(now, recorded.unwrap_or(0)) {
        RateDecision::Allow { count } => {
            let _ = kv.save(&counter, &count).await;
            Ok(())
        }
        RateDecision::Deny { retry_after_seconds } => Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many {what} from this client; try again in {retry_after_seconds} seconds"),
        )
        .with_retry_after(retry_after_seconds)),
    }
}
