//! Fixed-window rate limiting for the public endpoints, over an exact counter.
//!
//! The counter is the store's (`RateStore::count_request`: one atomic upsert per request), so
//! concurrent requests from any number of instances are all counted and a client gets exactly its
//! budget per window. KV could not do this: a read-then-write loses concurrent increments.

/// Where a request stands against its budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateDecision {
    Allow,
    /// Refused; the client may retry after this many seconds.
    Deny {
        retry_after_seconds: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u64,
    pub window_seconds: u64,
}

impl RateLimit {
    /// When the window holding `now_ms` started, in milliseconds.
    pub fn window_start_ms(&self, now_ms: u64) -> u64 {
        let window_ms = self.window_seconds.max(1) * 1000;
        now_ms / window_ms * window_ms
    }

    /// When the window holding `now_ms` ends, in milliseconds.
    pub fn window_end_ms(&self, now_ms: u64) -> u64 {
        self.window_start_ms(now_ms) + self.window_seconds.max(1) * 1000
    }

    /// Whole seconds from `now_ms` until its window ends (at least 1).
    pub fn seconds_left(&self, now_ms: u64) -> u64 {
        (self.window_end_ms(now_ms) - now_ms).div_ceil(1000).max(1)
    }

    /// Decides given the window's count with this request included.
    pub fn decide(&self, now_ms: u64, counted: u64) -> RateDecision {
        if counted > self.requests {
            return RateDecision::Deny { retry_after_seconds: self.seconds_left(now_ms) };
        }
        RateDecision::Allow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_within_a_window_and_resets_after_it() {
        let limit = RateLimit { requests: 2, window_seconds: 600 };
        let t = 1_800_000_000_000; // a window boundary (divisible by 600 s)
        assert_eq!(limit.decide(t, 1), RateDecision::Allow);
        assert_eq!((limit.window_start_ms(t), limit.seconds_left(t)), (t, 600));
        assert_eq!(limit.decide(t + 1000, 2), RateDecision::Allow, "the budget, exactly");
        assert_eq!(limit.decide(t + 100_000, 3), RateDecision::Deny { retry_after_seconds: 500 });
        assert_eq!(limit.window_start_ms(t + 599_999), t, "one window, one counter");
        assert_eq!(limit.window_start_ms(t + 600_000), t + 600_000, "a new window");
        assert_eq!(limit.seconds_left(t + 599_500), 1, "never 0");
    }
}
