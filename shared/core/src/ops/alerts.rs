//! Alert rules and their states, without I/O.
//!
//! Each cron tick reads the stored totals, measures every rule over the window since the previous
//! tick (counter and histogram differences) or on a gauge read now, and moves each rule's state.
//! What the notification receiver was last told is part of the state, so a delivery that failed is
//! sent again on the next tick, and a rule that fires and resolves between two deliveries sends
//! only what is true now.
//!
//! The defaults are the levels the operators asked for: p95 latency warning at 1.5 s and critical
//! at 2.5 s, 5xx error rate 2 % and 5 %, crawl backlog 100 and 500 URLs, language-model p95 over
//! 3 s, vector search p95 over 500 ms, language-model error rate 2 % and 5 %.
//! `DOCENT_ALERT_RULES` changes them (see [`apply_overrides`]). The same rules, written for
//! Prometheus, are in `infra/prometheus/docent-rules.yml`.

use serde::{Deserialize, Serialize};

use super::metrics::VECTOR_SEARCH_DURATION;
use super::metrics::{Totals, HTTP_DURATION, HTTP_REQUESTS, LLM_CALLS, LLM_DURATION};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// What a rule measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Share of HTTP responses with a 5xx status in the window.
    HttpErrorRate,
    /// 95th percentile of HTTP response times in the window, seconds.
    HttpLatencyP95,
    /// Share of language-model calls that failed in the window.
    LlmErrorRate,
    /// 95th percentile of language-model call durations in the window, seconds.
    LlmLatencyP95,
    /// 95th percentile of vector search durations in the window, seconds.
    VectorSearchP95,
    /// URLs queued and not finished, now.
    CrawlBacklog,
}

/// One rule: a measure and the levels at which it fires. A rule with too few events in its window
/// (`min_events`) is not judged on them and counts as not firing.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub name: &'static str,
    pub measure: Measure,
    pub warning: Option<f64>,
    pub critical: Option<f64>,
    pub min_events: f64,
    /// What the value is, for people: "share of requests", "seconds", "URLs".
    pub unit: &'static str,
    pub summary: &'static str,
}

/// The default rules.
pub fn default_rules() -> Vec<Rule> {
    let rule = |name, measure, warning, critical, min_events, unit, summary| Rule {
        name,
        measure,
        warning,
        critical,
        min_events,
        unit,
        summary,
    };
    vec![
        rule(
            "http_error_rate",
            Measure::HttpErrorRate,
            Some(0.02),
            Some(0.05),
            5.0,
            "share of requests",
            "HTTP responses with a 5xx status",
        ),
        rule(
            "http_latency_p95",
            Measure::HttpLatencyP95,
            Some(1.5),
            Some(2.5),
            5.0,
            "seconds",
            "95th percentile of response times",
        ),
        rule(
            "llm_error_rate",
            Measure::LlmErrorRate,
            Some(0.02),
            Some(0.05),
            3.0,
            "share of calls",
            "language-model calls that failed",
        ),
        rule(
            "llm_latency_p95",
            Measure::LlmLatencyP95,
            None,
            Some(3.0),
            3.0,
            "seconds",
            "95th percentile of language-model call durations",
        ),
        rule(
            "vector_search_p95",
            Measure::VectorSearchP95,
            None,
            Some(0.5),
            5.0,
            "seconds",
            "95th percentile of vector search durations",
        ),
        rule(
            "crawl_backlog",
            Measure::CrawlBacklog,
            Some(100.0),
            Some(500.0),
            0.0,
            "URLs",
            "crawl URLs queued and not finished",
        ),
    ]
}

/// Applies `DOCENT_ALERT_RULES`: comma-separated `rule=warning/critical`, where either level may be
/// `-` (none) and `rule=off` disables the rule; e.g. `http_error_rate=0.01/0.05,crawl_backlog=off`.
pub fn apply_overrides(rules: &mut Vec<Rule>, value: &str) -> Result<(), String> {
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, levels) =
            item.split_once('=').ok_or_else(|| format!("`{item}` is not rule=warning/critical"))?;
        let name = name.trim();
        let Some(at) = rules.iter().position(|r| r.name == name) else {
            let known: Vec<&str> = rules.iter().map(|r| r.name).collect();
            return Err(format!("no alert rule `{name}`; the rules are {}", known.join(", ")));
        };
        if levels.trim() == "off" {
            rules.remove(at);
            continue;
        }
        let level = |text: &str| -> Result<Option<f64>, String> {
            match text.trim() {
                "-" | "" => Ok(None),
                number => number
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite() && *x >= 0.0)
                    .map(Some)
                    .ok_or_else(|| format!("`{number}` in `{item}` is not a number, 0 or more")),
            }
        };
        let (warning, critical) = match levels.split_once('/') {
            Some((w, c)) => (level(w)?, level(c)?),
            None => (level(levels)?, None),
        };
        if let (Some(w), Some(c)) = (warning, critical) {
            if w > c {
                return Err(format!("`{item}`: the warning level is above the critical one"));
            }
        }
        if warning.is_none() && critical.is_none() {
            return Err(format!("`{item}` sets no level; write `{name}=off` to disable it"));
        }
        rules[at].warning = warning;
        rules[at].critical = critical;
    }
    Ok(())
}

/// What a rule is measured on: the totals at the start and at the end of the window, and the
/// gauges read now.
pub struct Window<'a> {
    pub before: &'a Totals,
    pub now: &'a Totals,
    pub crawl_backlog: f64,
}

/// A rule's value over the window and the events it rests on; `None` when there were too few.
pub fn measure(rule: &Rule, window: &Window) -> Option<f64> {
    let delta = |f: &dyn Fn(&Totals) -> f64| (f(window.now) - f(window.before)).max(0.0);
    let (value, events) = match rule.measure {
        Measure::HttpErrorRate | Measure::LlmErrorRate => {
            let (all, failed) = if rule.measure == Measure::HttpErrorRate {
                (
                    delta(&|t| t.counter_where(&HTTP_REQUESTS, |_, _| true)),
                    delta(&|t| {
                        t.counter_where(&HTTP_REQUESTS, |n, v| n != "status" || v.starts_with('5'))
                    }),
                )
            } else {
                (
                    delta(&|t| t.counter_where(&LLM_CALLS, |_, _| true)),
                    delta(&|t| t.counter_where(&LLM_CALLS, |n, v| n != "outcome" || v == "error")),
                )
            };
            (if all > 0.0 { failed / all } else { 0.0 }, all)
        }
        Measure::HttpLatencyP95 | Measure::LlmLatencyP95 | Measure::VectorSearchP95 => {
            let family = match rule.measure {
                Measure::HttpLatencyP95 => &HTTP_DURATION,
                Measure::LlmLatencyP95 => &LLM_DURATION,
                _ => &VECTOR_SEARCH_DURATION,
            };
            let now = window.now.histogram_where(family, |_, _| true);
            let before = window.before.histogram_where(family, |_, _| true);
            let span = now.since(&before);
            (span.quantile(0.95).unwrap_or(0.0), span.count())
        }
        Measure::CrawlBacklog => (window.crawl_backlog, f64::INFINITY),
    };
    (events >= rule.min_events && events > 0.0).then_some(value)
}

/// The severity a value reaches under a rule (levels are exceeded, not met).
pub fn severity(rule: &Rule, value: Option<f64>) -> Option<Severity> {
    let value = value?;
    if rule.critical.is_some_and(|level| value > level) {
        Some(Severity::Critical)
    } else if rule.warning.is_some_and(|level| value > level) {
        Some(Severity::Warning)
    } else {
        None
    }
}

/// One rule's state between ticks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertState {
    pub rule: String,
    /// Firing at this severity, or not firing.
    pub severity: Option<Severity>,
    /// Since when the rule has been in this state (ms since the epoch).
    pub since_ms: u64,
    /// The last measured value (none when the window had too few events).
    pub value: Option<f64>,
    /// What the notification receiver was last told: the severity it fired with, or none.
    pub notified: Option<Severity>,
}

impl AlertState {
    pub fn new(rule: &str, now_ms: u64) -> AlertState {
        AlertState {
            rule: rule.into(),
            severity: None,
            since_ms: now_ms,
            value: None,
            notified: None,
        }
    }

    /// Moves to what was measured now.
    pub fn step(&mut self, severity: Option<Severity>, value: Option<f64>, now_ms: u64) {
        if severity != self.severity {
            self.severity = severity;
            self.since_ms = now_ms;
        }
        self.value = value;
    }

    /// The notification the receiver is owed, if its last one no longer says what is true.
    pub fn owed(&self) -> Option<NotificationKind> {
        match (self.severity, self.notified) {
            (now, told) if now == told => None,
            (Some(severity), _) => Some(NotificationKind::Firing(severity)),
            (None, Some(_)) => Some(NotificationKind::Resolved),
            (None, None) => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    Firing(Severity),
    Resolved,
}

/// The body of an alert notification (a Standard Webhooks delivery): `type` is `alert.firing` or
/// `alert.resolved`.
pub fn notification(
    rule: &Rule, state: &AlertState, kind: NotificationKind, timestamp: &str, since: &str,
) -> serde_json::Value {
    let (event, severity, threshold) = match kind {
        NotificationKind::Firing(severity) => {
            let threshold = match severity {
                Severity::Critical => rule.critical,
                Severity::Warning => rule.warning,
            };
            ("alert.firing", Some(severity.as_str()), threshold)
        }
        NotificationKind::Resolved => ("alert.resolved", None, None),
    };
    serde_json::json!({
        "type": event,
        "timestamp": timestamp,
        "data": {
            "rule": rule.name,
            "summary": rule.summary,
            "severity": severity,
            "value": state.value,
            "threshold": threshold,
            "unit": rule.unit,
            "since": since,
        }
    })
}

/// The delivery id of a notification: the same for a retried delivery, so a receiver can drop
/// duplicates.
pub fn delivery_id(state: &AlertState, kind: NotificationKind) -> String {
    let what = match kind {
        NotificationKind::Firing(severity) => severity.as_str(),
        NotificationKind::Resolved => "resolved",
    };
    format!("msg_{}_{}_{what}", state.rule, state.since_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::metrics::{MetricsBuffer, Totals};

    fn totals(buffer: &MetricsBuffer) -> Totals {
        Totals::from_rows(buffer.clone().take())
    }

    fn rule(name: &str) -> Rule {
        default_rules().into_iter().find(|r| r.name == name).unwrap()
    }

    #[test]
    fn error_rates_are_measured_over_the_window_only() {
        let mut buffer = MetricsBuffer::default();
        // Before the window: a hundred failures, which must not count.
        buffer.count(&HTTP_REQUESTS, &["/api/search", "GET", "500"], 100.0);
        let before = totals(&buffer);
        buffer.count(&HTTP_REQUESTS, &["/api/search", "GET", "200"], 97.0);
        buffer.count(&HTTP_REQUESTS, &["/api/chat", "POST", "503"], 3.0);
        let now = totals(&buffer);
        let window = Window { before: &before, now: &now, crawl_backlog: 0.0 };
        let rate = measure(&rule("http_error_rate"), &window).unwrap();
        assert!((rate - 0.03).abs() < 1e-9, "{rate}");
        assert_eq!(severity(&rule("http_error_rate"), Some(rate)), Some(Severity::Warning));
        assert_eq!(severity(&rule("http_error_rate"), Some(0.2)), Some(Severity::Critical));
        assert_eq!(severity(&rule("http_error_rate"), Some(0.02)), None, "levels are exceeded");
    }

    #[test]
    fn too_few_events_are_not_judged() {
        let mut buffer = MetricsBuffer::default();
        let before = totals(&buffer);
        buffer.count(&LLM_CALLS, &["primary", "m", "error"], 2.0);
        let now = totals(&buffer);
        let window = Window { before: &before, now: &now, crawl_backlog: 0.0 };
        assert_eq!(measure(&rule("llm_error_rate"), &window), None, "two calls are too few");
        buffer.count(&LLM_CALLS, &["primary", "m", "error"], 1.0);
        let now = totals(&buffer);
        let window = Window { before: &before, now: &now, crawl_backlog: 0.0 };
        assert_eq!(measure(&rule("llm_error_rate"), &window), Some(1.0));
    }

    #[test]
    fn latency_rules_read_the_windows_histogram() {
        let mut buffer = MetricsBuffer::default();
        for _ in 0..20 {
            buffer.observe(&LLM_DURATION, &["p", "m"], 9.0);
        }
        let before = totals(&buffer);
        for _ in 0..20 {
            buffer.observe(&LLM_DURATION, &["p", "m"], 0.4);
        }
        let now = totals(&buffer);
        let window = Window { before: &before, now: &now, crawl_backlog: 0.0 };
        let p95 = measure(&rule("llm_latency_p95"), &window).unwrap();
        assert!(p95 <= 0.5, "the slow calls were before the window: {p95}");
        assert_eq!(severity(&rule("llm_latency_p95"), Some(p95)), None);
        let window = Window { before: &Totals::default(), now: &now, crawl_backlog: 700.0 };
        assert_eq!(
            severity(&rule("llm_latency_p95"), measure(&rule("llm_latency_p95"), &window)),
            Some(Severity::Critical)
        );
        let backlog = measure(&rule("crawl_backlog"), &window);
        assert_eq!(severity(&rule("crawl_backlog"), backlog), Some(Severity::Critical));
    }

    #[test]
    fn states_owe_one_notification_per_change_until_delivered() {
        let mut state = AlertState::new("llm_error_rate", 1_000);
        assert_eq!(state.owed(), None);
        state.step(Some(Severity::Critical), Some(1.0), 2_000);
        assert_eq!(state.since_ms, 2_000);
        assert_eq!(state.owed(), Some(NotificationKind::Firing(Severity::Critical)));
        // The delivery failed: still owed at the next tick, since unchanged.
        state.step(Some(Severity::Critical), Some(0.9), 3_000);
        assert_eq!(state.since_ms, 2_000);
        assert_eq!(state.owed(), Some(NotificationKind::Firing(Severity::Critical)));
        state.notified = Some(Severity::Critical);
        assert_eq!(state.owed(), None);
        state.step(None, Some(0.0), 4_000);
        assert_eq!(state.owed(), Some(NotificationKind::Resolved));
        let id = delivery_id(&state, NotificationKind::Resolved);
        assert_eq!(id, "msg_llm_error_rate_4000_resolved");
        state.notified = None;
        assert_eq!(state.owed(), None);
        // Fired and resolved between two deliveries: nothing is owed.
        state.step(Some(Severity::Warning), Some(0.03), 5_000);
        state.step(None, Some(0.0), 6_000);
        assert_eq!(state.owed(), None);
    }

    #[test]
    fn overrides_change_levels_and_disable_rules() {
        let mut rules = default_rules();
        apply_overrides(
            &mut rules,
            "http_error_rate=0.01/0.1, crawl_backlog=off, llm_latency_p95=-/5",
        )
        .unwrap();
        let http = rules.iter().find(|r| r.name == "http_error_rate").unwrap();
        assert_eq!((http.warning, http.critical), (Some(0.01), Some(0.1)));
        assert!(rules.iter().all(|r| r.name != "crawl_backlog"));
        let llm = rules.iter().find(|r| r.name == "llm_latency_p95").unwrap();
        assert_eq!((llm.warning, llm.critical), (None, Some(5.0)));
        let mut rules = default_rules();
        for bad in [
            "nope=1",
            "http_error_rate",
            "http_error_rate=x",
            "http_error_rate=0.5/0.1",
            "http_error_rate=-/-",
        ] {
            assert!(apply_overrides(&mut rules, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn notifications_say_what_fired_and_at_which_level() {
        let rule = rule("llm_error_rate");
        let mut state = AlertState::new(rule.name, 0);
        state.step(Some(Severity::Critical), Some(1.0), 60_000);
        let body = notification(
            &rule,
            &state,
            NotificationKind::Firing(Severity::Critical),
            "2026-12-05T06:00:00Z",
            "2026-12-05T06:00:00Z",
        );
        assert_eq!(body["type"], "alert.firing");
        assert_eq!(body["data"]["rule"], "llm_error_rate");
        assert_eq!(body["data"]["severity"], "critical");
        assert_eq!(body["data"]["threshold"], 0.05);
        assert_eq!(body["data"]["value"], 1.0);
    }
}
