//! Retry timing: exponential backoff with full jitter, never sooner than the server's
//! `Retry-After`.

/// Attempts a URL gets before it is dead-lettered: one delivery and `max_retries = 5` of the
/// Worker's queues (wrangler.toml), the Spin task table's `MAX_RETRIES`. Docent counts them itself
/// (in the crawl state), so waiting out an open circuit breaker, which re-sends the message as a
/// new one, still spends them.
pub const MAX_ATTEMPTS: u32 = 6;

/// Backoff for crawl retries: attempt n waits a uniformly random time in [0, min(cap, base·2ⁿ)]
/// ("full jitter"), so many failing URLs spread out instead of retrying in lockstep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base_seconds: u32,
    pub cap_seconds: u32,
}

/// Cloudflare Queues accept retry delays up to 12 hours.
pub const MAX_DELAY_SECONDS: u32 = 12 * 3600;

impl Default for Backoff {
    fn default() -> Self {
        Backoff { base_seconds: 2, cap_seconds: 600 }
    }
}

impl Backoff {
    /// The delay before retry number `attempt` (1 for the first retry). `unit` is a uniform random
    /// number in [0, 1); `retry_after` is what the server asked for, which is always honoured.
    pub fn delay_seconds(&self, attempt: u32, retry_after: Option<u32>, unit: f64) -> u32 {
        let ceiling = u64::from(self.base_seconds)
            .saturating_mul(1u64 << attempt.min(30))
            .min(u64::from(self.cap_seconds));
        let jittered = (ceiling as f64 * unit.clamp(0.0, 1.0)) as u32;
        jittered.max(retry_after.unwrap_or(0)).min(MAX_DELAY_SECONDS)
    }
}

/// Parses a `Retry-After` value: delta-seconds or an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`),
/// as seconds from `now_ms`. A date in the past means "now" (0).
pub fn parse_retry_after(value: &str, now_ms: u64) -> Option<u32> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(seconds.min(u64::from(MAX_DELAY_SECONDS)) as u32);
    }
    let at = parse_http_date(value)?;
    let now = now_ms / 1000;
    Some(at.saturating_sub(now).min(u64::from(MAX_DELAY_SECONDS)) as u32)
}

/// Seconds since the epoch of an IMF-fixdate.
pub fn parse_http_date(value: &str) -> Option<u64> {
    // "Sun, 06 Nov 1994 08:49:37 GMT"
    let rest = value.split_once(", ")?.1;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = parts.as_slice() else { return None };
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        .iter()
        .position(|m| m == month)? as i64
        + 1;
    let (day, year): (i64, i64) = (day.parse().ok()?, year.parse().ok()?);
    let hms: Vec<u64> = time.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let [h, m, s] = hms.as_slice() else { return None };
    if !(1..=31).contains(&day) || *h > 23 || *m > 59 || *s > 60 {
        return None;
    }
    // Days from civil (proleptic Gregorian), after Howard Hinnant's published algorithm.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days).ok().map(|d| d * 86_400 + h * 3600 + m * 60 + s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_jitter_grows_and_is_capped() {
        let backoff = Backoff { base_seconds: 2, cap_seconds: 60 };
        assert_eq!(backoff.delay_seconds(1, None, 0.999_999), 3); // ceiling 4
        assert_eq!(backoff.delay_seconds(3, None, 0.5), 8); // ceiling 16
        assert_eq!(backoff.delay_seconds(20, None, 0.999_999), 59); // capped at 60
        assert_eq!(backoff.delay_seconds(5, None, 0.0), 0, "full jitter reaches zero");
    }

    #[test]
    fn retry_after_is_honoured() {
        let backoff = Backoff::default();
        assert_eq!(backoff.delay_seconds(1, Some(120), 0.5), 120);
        assert_eq!(backoff.delay_seconds(1, Some(999_999), 0.5), MAX_DELAY_SECONDS);
        let now = 784_111_777_000; // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now), Some(60));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(0),
            "a past date means now"
        );
        assert_eq!(parse_retry_after(" 30 ", now), Some(30));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_http_date("Sun, 06 Foo 1994 08:49:37 GMT"), None);
    }
}
