//! Fixed-window rate limiting for public endpoints, over any counter store (KV on the edge).
//!
//! KV is eventually consistent, so concurrent requests at different locations may each see a stale
//! count: the limit is approximate, erring towards letting a burst through, never towards refusing
//! a client that is within its budget. That suits abuse protection; quota accounting needs a
//! Durable Object.

/// Where a request stands against its budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateDecision {
    /// Allowed; the window's count becomes `count`.
    Allow { count: u64 },
    /// Refused; the client may retry after this many seconds.
    Deny { retry_after_seconds: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u64,
    pub window_seconds: u64,
}

impl RateLimit {
    /// The number of the window containing `now_ms`, counted from the Unix epoch; a client's count
    /// is kept per window.
    pub fn window(&self, now_ms: u64) -> u64 {
        now_ms / 1000 / self.window_seconds.max(1)
    }

    /// Whole seconds from `now_ms` until its window ends (at least 1).
    pub fn seconds_left(&self, now_ms: u64) -> u64 {
        let window = self.window_seconds.max(1);
        let now = now_ms / 1000;
        (now / window + 1) * window - now
    }

    /// Decides given the count already recorded in this window.
    pub fn decide(&self, now_ms: u64, recorded: u64) -> RateDecision {
        if recorded >= self.requests {
            return RateDecision::Deny { retry_after_seconds: self.seconds_left(now_ms) };
        }
        RateDecision::Allow { count: recorded + 1 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_within_a_window_and_resets_after_it() {
        let limit = RateLimit { requests: 2, window_seconds: 600 };
        let t = 1_800_000_000_000; // a window boundary (divisible by 600 s)
        assert_eq!(limit.decide(t, 0), RateDecision::Allow { count: 1 });
        assert_eq!((limit.window(t), limit.seconds_left(t)), (3_000_000, 600));
        assert!(matches!(limit.decide(t + 1000, 1), RateDecision::Allow { count: 2 }));
        assert_eq!(limit.decide(t + 100_000, 2), RateDecision::Deny { retry_after_seconds: 500 });
        assert_ne!(limit.window(t), limit.window(t + 600_000), "a new window, a new counter");
    }
}
