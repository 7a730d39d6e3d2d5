//! Per-host politeness: a request rate with a burst allowance and a cap on requests in flight.
//!
//! One [`HostGate`] holds the state of one host. Every consumer asks the same gate before fetching
//! (a Durable Object per host on Cloudflare, a locked map natively), so the limits hold across
//! consumers. The rate is a GCRA (generic cell rate algorithm): one timestamp per host, no timers,
//! and a burst of `burst` requests after an idle period. Concurrency is counted with leases that
//! expire, so a consumer that dies mid-fetch cannot hold a slot forever.

use serde::{Deserialize, Serialize};

/// The limits one host is held to. A zero rate or concurrency means "no limit".
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HostLimits {
    pub rate_per_second: f64,
    pub burst: u32,
    pub concurrency: u32,
    /// How long a granted slot is held at most (longer than any fetch may take).
    pub lease_ms: u64,
}

/// Seconds of `Crawl-delay` beyond which Docent still crawls, at this pace: a site asking for a day
/// between requests would otherwise never finish a crawl.
pub const MAX_CRAWL_DELAY_SECONDS: f64 = 60.0;

impl HostLimits {
    /// No rate and no concurrency cap: there is nothing to ask a gate.
    pub fn is_unlimited(&self) -> bool {
        self.rate_per_second <= 0.0 && self.concurrency == 0
    }

    /// The limits under a robots.txt `Crawl-delay`: one request per delay, no burst. The delay only
    /// ever slows Docent down; a delay shorter than the configured pace leaves the pace as it is.
    pub fn with_crawl_delay(self, delay_seconds: Option<f64>) -> HostLimits {
        match delay_seconds.filter(|d| d.is_finite() && *d > 0.0) {
            None => self,
            Some(delay) => {
                let delay_rate = 1.0 / delay.min(MAX_CRAWL_DELAY_SECONDS);
                let rate = if self.rate_per_second > 0.0 {
                    self.rate_per_second.min(delay_rate)
                } else {
                    delay_rate
                };
                HostLimits { rate_per_second: rate, burst: 1, ..self }
            }
        }
    }
}

/// The answer to a request for a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Admission {
    /// Fetch now, and release `lease` when done.
    Granted { lease: u64 },
    /// Ask again in `ms` milliseconds.
    Wait { ms: u64 },
}

/// How often a consumer waiting for a concurrency slot asks again: slots free up when fetches end,
/// which the gate cannot predict.
pub const CONCURRENCY_POLL_MS: u64 = 250;

/// How late after its slot a request may be and still keep the schedule (see
/// [`HostGate::acquire_units`]); at most a quarter of the interval.
const ON_TIME_US: u64 = 10_000;

/// The politeness state of one host.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostGate {
    /// GCRA's theoretical arrival time, in microseconds: when the next request would be on
    /// schedule.
    next_at_us: u64,
    /// (lease id, expiry) of the fetches in flight.
    leases: Vec<(u64, u64)>,
    last_lease: u64,
}

impl HostGate {
    /// A gate whose lease ids start after `first_lease`: a gate that restarts (a Durable Object
    /// evicted and created again) starts from the clock, so a late release from before the restart
    /// cannot free a new slot.
    pub fn starting_after(first_lease: u64) -> HostGate {
        HostGate { last_lease: first_lease, ..HostGate::default() }
    }

    pub fn acquire(&mut self, limits: &HostLimits, now_ms: u64) -> Admission {
        self.acquire_units(limits, 1, now_ms)
    }

    /// Like [`acquire`](Self::acquire) for a request that costs `units` of the rate (tokens of a
    /// per-minute token quota, say). A request larger than the burst waits for a full bucket.
    pub fn acquire_units(&mut self, limits: &HostLimits, units: u32, now_ms: u64) -> Admission {
        self.leases.retain(|&(_, expires)| expires > now_ms);
        if limits.concurrency > 0 && self.leases.len() >= limits.concurrency as usize {
            let first_expiry =
                self.leases.iter().map(|&(_, expires)| expires).min().unwrap_or(now_ms);
            return Admission::Wait { ms: (first_expiry - now_ms).clamp(1, CONCURRENCY_POLL_MS) };
        }
        if limits.rate_per_second > 0.0 {
            // Whole microseconds, so that a burst granted in one instant is exact.
            // Rounded up, so the rate is never exceeded.
            let interval = (1_000_000.0 / limits.rate_per_second).ceil().max(1.0) as u64;
            let burst = u64::from(limits.burst.max(1));
            let cost = interval * u64::from(units.max(1));
            // GCRA: allowed when the schedule, advanced by this request's cost, ends at most one
            // bucket (burst × interval) ahead of now. A request larger than the bucket is let in
            // when the bucket is full, and still charged in full, so later requests wait for it.
            let now = now_ms * 1000;
            let earliest =
                (self.next_at_us + cost.min(interval * burst)).saturating_sub(interval * burst);
            if now < earliest {
                return Admission::Wait { ms: (earliest - now).div_ceil(1000) };
            }
            // A claim a little after its slot keeps the schedule: a consumer told to wait wakes
            // milliseconds late (its timer, the round trip to the gate), and charging from `now`
            // would lose that time for good on every request. Later than that, the host was idle.
            let late = now.saturating_sub(self.next_at_us);
            let start = if late <= ON_TIME_US.min(interval / 4) { self.next_at_us } else { now };
            self.next_at_us = start + cost;
        }
        self.last_lease += 1;
        if limits.concurrency > 0 {
            self.leases.push((self.last_lease, now_ms + limits.lease_ms));
        }
        Admission::Granted { lease: self.last_lease }
    }

    /// Frees the slot of a finished fetch; unknown or expired leases are ignored.
    pub fn release(&mut self, lease: u64) {
        self.leases.retain(|&(id, _)| id != lease);
    }

    pub fn in_flight(&self) -> usize {
        self.leases.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: HostLimits =
        HostLimits { rate_per_second: 3.0, burst: 5, concurrency: 3, lease_ms: 30_000 };

    fn granted(admission: Admission) -> u64 {
        match admission {
            Admission::Granted { lease } => lease,
            Admission::Wait { ms } => panic!("expected a slot, told to wait {ms} ms"),
        }
    }

    /// Simulates consumers that fetch as fast as the gate lets them, each fetch taking `fetch_ms`,
    /// and returns the grant times.
    fn simulate(
        limits: HostLimits, consumers: usize, fetch_ms: u64, until_ms: u64,
    ) -> (Vec<u64>, usize) {
        let mut gate = HostGate::default();
        let mut next_try = vec![0u64; consumers];
        let mut holding: Vec<Option<(u64, u64)>> = vec![None; consumers];
        let mut grants = Vec::new();
        let mut max_in_flight = 0;
        for now in 0..until_ms {
            for c in 0..consumers {
                if let Some((lease, done_at)) = holding[c] {
                    if now >= done_at {
                        gate.release(lease);
                        holding[c] = None;
                        next_try[c] = now;
                    }
                }
            }
            for c in 0..consumers {
                if holding[c].is_none() && now >= next_try[c] {
                    match gate.acquire(&limits, now) {
                        Admission::Granted { lease } => {
                            grants.push(now);
                            holding[c] = Some((lease, now + fetch_ms));
                        }
                        Admission::Wait { ms } => next_try[c] = now + ms,
                    }
                }
            }
            max_in_flight = max_in_flight.max(gate.in_flight());
        }
        (grants, max_in_flight)
    }

    #[test]
    fn a_burst_then_the_steady_rate() {
        let mut gate = HostGate::default();
        let limits = HostLimits { concurrency: 0, ..LIMITS };
        for _ in 0..5 {
            granted(gate.acquire(&limits, 10_000));
        }
        // The sixth request in the same instant waits one interval (333 ms at 3/s).
        assert_eq!(gate.acquire(&limits, 10_000), Admission::Wait { ms: 334 });
        granted(gate.acquire(&limits, 10_334));
        assert!(matches!(gate.acquire(&limits, 10_400), Admission::Wait { .. }));
    }

    #[test]
    fn concurrency_is_capped_until_a_slot_is_released() {
        let mut gate = HostGate::default();
        let limits = HostLimits { rate_per_second: 0.0, ..LIMITS };
        let first = granted(gate.acquire(&limits, 0));
        granted(gate.acquire(&limits, 0));
        granted(gate.acquire(&limits, 0));
        assert_eq!(gate.acquire(&limits, 5), Admission::Wait { ms: CONCURRENCY_POLL_MS });
        gate.release(first);
        granted(gate.acquire(&limits, 6));
    }

    #[test]
    fn a_lost_lease_expires() {
        let mut gate = HostGate::default();
        let limits = HostLimits { rate_per_second: 0.0, concurrency: 1, lease_ms: 1_000, ..LIMITS };
        granted(gate.acquire(&limits, 0));
        assert_eq!(gate.acquire(&limits, 950), Admission::Wait { ms: 50 });
        granted(gate.acquire(&limits, 1_000));
    }

    #[test]
    fn many_consumers_never_exceed_rate_burst_or_concurrency() {
        // Eight consumers, 200 ms fetches, for 20 s.
        let (grants, max_in_flight) = simulate(LIMITS, 8, 200, 20_000);
        assert!(max_in_flight <= 3, "{max_in_flight} in flight");
        // Any window of one second holds at most burst + rate requests.
        for (i, &start) in grants.iter().enumerate() {
            let in_window = grants[i..].iter().take_while(|&&t| t < start + 1000).count();
            assert!(in_window <= 5 + 3, "{in_window} requests in the second from {start} ms");
        }
        // Over the whole run the pace is the configured rate: 3/s plus the initial burst.
        let expected = 3.0 * 20.0 + 5.0;
        assert!(
            (grants.len() as f64 - expected).abs() <= 2.0,
            "{} grants, expected about {expected}",
            grants.len()
        );
    }

    #[test]
    fn a_consumer_waking_late_keeps_the_pace_but_never_outruns_it() {
        // 20/s with no burst; the consumer asks again 3 ms after it was told to (its timer and the
        // round trip to the gate), and fetches take 5 ms.
        let limits =
            HostLimits { rate_per_second: 20.0, burst: 1, concurrency: 10, lease_ms: 1_000 };
        let mut gate = HostGate::default();
        let (mut now, mut grants) = (0u64, Vec::new());
        while now < 10_000 {
            match gate.acquire(&limits, now) {
                Admission::Granted { lease } => {
                    grants.push(now);
                    gate.release(lease);
                    now += 5;
                }
                Admission::Wait { ms } => now += ms + 3,
            }
        }
        // Charged from its late arrival, each request would cost 53 ms: 189 in 10 s.
        assert!(grants.len() >= 199, "{} grants in 10 s", grants.len());
        for (i, &start) in grants.iter().enumerate() {
            let in_window = grants[i..].iter().take_while(|&&t| t < start + 1000).count();
            assert!(in_window <= 21, "{in_window} requests in the second from {start} ms");
        }
        let closest = grants.windows(2).map(|w| w[1] - w[0]).min().unwrap();
        assert!(closest >= 50 - 10, "two requests {closest} ms apart");
        // After an idle spell there is no credit: the next request is charged from its arrival.
        let last = *grants.last().unwrap();
        granted(gate.acquire(&limits, last + 5_000));
        assert_eq!(gate.acquire(&limits, last + 5_000 + 45), Admission::Wait { ms: 5 });
    }

    #[test]
    fn slow_fetches_are_bounded_by_concurrency_not_rate() {
        // 2 s fetches with three slots: at most 1.5 requests per second, whatever the rate allows.
        let (grants, max_in_flight) = simulate(LIMITS, 8, 2_000, 20_000);
        assert_eq!(max_in_flight, 3);
        assert!(grants.len() <= 30, "{} grants", grants.len());
        assert!(grants.len() >= 28, "{} grants", grants.len());
    }

    #[test]
    fn crawl_delay_slows_down_and_removes_the_burst() {
        let limits = LIMITS.with_crawl_delay(Some(2.0));
        assert_eq!(limits.rate_per_second, 0.5);
        assert_eq!(limits.burst, 1);
        let (grants, _) = simulate(limits, 4, 10, 10_000);
        assert_eq!(grants, vec![0, 2_000, 4_000, 6_000, 8_000]);
        // A delay faster than the configured pace does not speed Docent up; nonsense is ignored.
        assert_eq!(LIMITS.with_crawl_delay(Some(0.01)).rate_per_second, 3.0);
        assert_eq!(LIMITS.with_crawl_delay(Some(-1.0)), LIMITS);
        assert_eq!(LIMITS.with_crawl_delay(Some(f64::NAN)), LIMITS);
        // An enormous delay is capped so a crawl still ends.
        assert_eq!(
            LIMITS.with_crawl_delay(Some(86_400.0)).rate_per_second,
            1.0 / MAX_CRAWL_DELAY_SECONDS
        );
    }

    #[test]
    fn zero_limits_mean_unlimited() {
        let mut gate = HostGate::default();
        let limits = HostLimits { rate_per_second: 0.0, burst: 0, concurrency: 0, lease_ms: 1 };
        for _ in 0..1000 {
            granted(gate.acquire(&limits, 0));
        }
        assert_eq!(gate.in_flight(), 0);
    }

    #[test]
    fn weighted_requests_spend_several_units_of_the_rate() {
        // 10 units per second, a bucket of 20: a 15-unit request, then 5 more fit at once; the next
        // 10-unit request waits a second for the bucket to refill.
        let limits = HostLimits { rate_per_second: 10.0, burst: 20, concurrency: 0, lease_ms: 0 };
        let mut gate = HostGate::default();
        granted(gate.acquire_units(&limits, 15, 1_000));
        granted(gate.acquire_units(&limits, 5, 1_000));
        assert_eq!(gate.acquire_units(&limits, 10, 1_000), Admission::Wait { ms: 1_000 });
        granted(gate.acquire_units(&limits, 10, 2_000));
        // More than a bucket waits for a full bucket, never forever, and is charged in full: the
        // 500 units take 50 s of the rate, so the next unit waits for them.
        assert_eq!(gate.acquire_units(&limits, 500, 2_000), Admission::Wait { ms: 2_000 });
        granted(gate.acquire_units(&limits, 500, 4_000));
        assert_eq!(gate.acquire_units(&limits, 1, 4_000), Admission::Wait { ms: 48_100 });
    }
}
