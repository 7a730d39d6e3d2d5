//! A per-origin circuit breaker: after `failure_threshold` consecutive failures the origin is left
//! alone for `cool_down_ms`; then one request probes it (half-open), and its outcome closes the
//! circuit or opens it again. The state is small and kept per origin in KV; KV is eventually
//! consistent, so concurrent consumers may each let a probe through, which only means a few more
//! requests to a struggling host, never a lost URL.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakerState {
    pub consecutive_failures: u32,
    pub opened_at_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerPolicy {
    pub failure_threshold: u32,
    pub cool_down_ms: u64,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        BreakerPolicy { failure_threshold: 5, cool_down_ms: 60_000 }
    }
}

/// Whether a request to the origin may go out now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    Closed,
    /// Cooling down: try again in this many seconds.
    Open {
        retry_in_seconds: u32,
    },
    /// Cool-down over: this request is the probe.
    HalfOpen,
}

impl BreakerPolicy {
    pub fn gate(&self, state: &BreakerState, now_ms: u64) -> Gate {
        match state.opened_at_ms {
            None => Gate::Closed,
            Some(opened) if now_ms < opened.saturating_add(self.cool_down_ms) => {
                let remaining_ms = opened + self.cool_down_ms - now_ms;
                Gate::Open { retry_in_seconds: remaining_ms.div_ceil(1000).max(1) as u32 }
            }
            Some(_) => Gate::HalfOpen,
        }
    }

    /// The state after a failure (a network error, 429 or 5xx); a failed probe re-opens at once.
    pub fn on_failure(&self, state: &BreakerState, now_ms: u64) -> BreakerState {
        let failures = state.consecutive_failures.saturating_add(1);
        let opens = failures >= self.failure_threshold.max(1) || state.opened_at_ms.is_some();
        BreakerState {
            consecutive_failures: failures,
            opened_at_ms: if opens { Some(now_ms) } else { None },
        }
    }

    /// The state after any answer that is not a failure: closed and forgiven.
    pub fn on_success(&self) -> BreakerState {
        BreakerState::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_and_half_opens_after_the_cool_down() {
        let policy = BreakerPolicy { failure_threshold: 3, cool_down_ms: 10_000 };
        let mut state = BreakerState::default();
        for t in [1_000, 2_000] {
            state = policy.on_failure(&state, t);
            assert_eq!(policy.gate(&state, t), Gate::Closed);
        }
        state = policy.on_failure(&state, 3_000);
        assert_eq!(policy.gate(&state, 3_000), Gate::Open { retry_in_seconds: 10 });
        assert_eq!(policy.gate(&state, 12_500), Gate::Open { retry_in_seconds: 1 });
        assert_eq!(policy.gate(&state, 13_000), Gate::HalfOpen);
        // A failed probe opens it again for a whole cool-down.
        let reopened = policy.on_failure(&state, 13_000);
        assert_eq!(policy.gate(&reopened, 14_000), Gate::Open { retry_in_seconds: 9 });
        // A successful probe closes it.
        assert_eq!(policy.gate(&policy.on_success(), 14_000), Gate::Closed);
    }

    #[test]
    fn a_success_resets_the_count() {
        let policy = BreakerPolicy { failure_threshold: 2, cool_down_ms: 1_000 };
        let failed_once = policy.on_failure(&BreakerState::default(), 0);
        assert_eq!(failed_once.consecutive_failures, 1);
        // The success in between forgives it: the next failure is the first again, not the second.
        let state = policy.on_failure(&policy.on_success(), 1);
        assert_eq!((state.consecutive_failures, policy.gate(&state, 2)), (1, Gate::Closed));
    }
}
