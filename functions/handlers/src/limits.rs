//! Per-client limits on the public endpoints: a fixed window per client address, counted exactly
//! by the store (one atomic upsert per request), before the handler does any work.

use ::http::StatusCode;

use docent_core::crawl::ratelimit::{RateDecision, RateLimit};
use docent_core::ports::Clock;
use docent_store::api::RateStore;

use crate::http::{ApiError, Request};
use crate::Platform;

/// Counts this request against the client's budget for `scope`, or answers 429 with `Retry-After`;
/// `what` names the requests in the message ("too many questions"). The client is the address the
/// platform vouches for ([`Platform::client_address`]), never a header the client may set.
pub async fn rate_limit<P: Platform>(
    platform: &P, request: &Request, scope: &str, limit: RateLimit, what: &str,
) -> Result<(), ApiError> {
    if limit.requests == 0 {
        return Ok(());
    }
    // Requests whose address the platform cannot tell share one budget.
    let client = platform.client_address(request).unwrap_or_else(|| "unknown".into());
    let now = platform.clock().now_ms();
    let counter = format!("{scope}:{client}");
    let counted = platform
        .store()
        .count_request(&counter, limit.window_start_ms(now), limit.window_end_ms(now))
        .await;
    // The limiter protects the service; when its store fails it lets requests through rather
    // than failing them (the handler will meet the same store and answer for itself).
    let Ok(counted) = counted else { return Ok(()) };
    match limit.decide(now, counted) {
        RateDecision::Allow => Ok(()),
        RateDecision::Deny { retry_after_seconds } => Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many {what} from this client; try again in {retry_after_seconds} seconds"),
        )
        .with_retry_after(retry_after_seconds)),
    }
}

/// The client address in `header` as a trusted proxy wrote it: the last entry of a list
/// (`X-Forwarded-For: client, proxy1` → the address the trusted proxy appended last).
pub fn trusted_header_address(request: &Request, header: &str) -> Option<String> {
    let value = request.headers().get_all(header).iter().next_back()?.to_str().ok()?;
    Some(value.rsplit(',').next()?.trim().to_string()).filter(|v| !v.is_empty())
}
