//! Fixed-window rate limiting for public endpoints, over any counter store (KV on the edge).
//!
//! KV is eventually consistent, so concurrent requests at different locations may each see a stale
//! count: the limit is approximate, erring towards letting a burst through, never towards refusing
//! a client that is within its budget. That suits abuse protection; quota accounting needs a
//! Durable Object.

/// Where a request stands against its budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateDecision {
    /// Allowed; store `count` under `key` for `ttl_seconds`.
    Allow { key: String, count: u64, ttl_seconds: u64 },
    /// Refused; the client may retry after this many seconds.
    Deny { retry_after_seconds: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u64,
    pub window_seconds: u64,
}

impl RateLimit {
    /// The counter key for `client` in the window containing `now_ms`.
    pub fn key(&self, scope: &str, client: &str, now_ms: u64) -> String {
        format!("rate:{scope}:{client}:{}", now_ms / 1000 / self.window_seconds.max(1))
    }

    /// Decides given the count already recorded in this window.
    pub fn decide(&self, scope: &str, client: &str, now_ms: u64, recorded: u64) -> RateDecision {
        let window = self.window_seconds.max(1);
        let now = now_ms / 1000;
        let window_end = (now / window + 1) * window;
        if recorded >= self.requests {
            return RateDecision::Deny { retry_after_seconds: (window_end - now).max(1) };
        }
        // KV needs a TTL of at least 60 s; the key names its window, so a longer life is harmless.
        RateDecision::Allow {
            key: self.key(scope, client, now_ms),
            count: recorded + 1,
            ttl_seconds: (window_end - now).max(60),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_within_a_window_and_resets_after_it() {
        let limit = RateLimit { requests: 2, window_seconds: 600 };
        let t = 1_800_000_000_000; // a window boundary (divisible by 600 s)
        assert_eq!(
            limit.decide("tickets", "1.2.3.4", t, 0),
            RateDecision::Allow {
                key: "rate:tickets:1.2.3.4:3000000".into(),
                count: 1,
                ttl_seconds: 600
            }
        );
        assert!(matches!(
            limit.decide("tickets", "1.2.3.4", t + 1000, 1),
            RateDecision::Allow { count: 2, .. }
        ));
        assert_eq!(
            limit.decide("tickets", "1.2.3.4", t + 100_000, 2),
            RateDecision::Deny { retry_after_seconds: 500 }
        );
        assert_ne!(
            limit.key("tickets", "1.2.3.4", t),
            limit.key("tickets", "1.2.3.4", t + 600_000),
            "a new window, a new counter"
        );
    }
}
