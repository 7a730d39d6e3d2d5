//! What operators watch: the recorded metrics served at `/metrics`, with gauges read at each
//! scrape; alert rules evaluated by cron and sent as signed webhooks; `/api/alerts`.

use ::http::{header, HeaderValue, StatusCode};
use docent_core::domain::format_timestamp as utc_timestamp;
use docent_core::escalation::signature::sign_standard_webhook;
use docent_core::ops::alerts::{self, AlertState, NotificationKind, Window};
use docent_core::ops::metrics::{self, GaugeValue, Totals};
use docent_core::ports::{Clock, FetchRequest, Fetcher};
use docent_store::api::{DocumentStore, MetricsStore, VectorStore};
use serde::Serialize;

use crate::http::{ApiError, Request, Response};
use crate::kv_state::{AlertsKey, KvState};
use crate::ops::flush;
use crate::Platform;

/// `GET /metrics`: the admin key or `DOCENT_METRICS_KEY`.
pub async fn serve_metrics<P: Platform>(
    platform: &P, request: &Request,
) -> Result<Response, ApiError> {
    let config = platform.config();
    let presented = crate::http::bearer_token(request);
    let metrics_key_ok = match (&config.ops.metrics_key, presented) {
        (Some(key), Some(given)) => {
            docent_core::escalation::signature::ct_eq(key.as_bytes(), given.as_bytes())
        }
        _ => false,
    };
    if !metrics_key_ok {
        crate::http::require_admin(request, config.admin_key.as_deref())?;
    }
    // This instance's own deltas first, so a scrape sees everything it has done.
    flush(platform).await;
    let totals = Totals::from_rows(platform.store().metric_totals().await?);
    let gauges = gauges(platform).await?;
    let mut response = crate::http::json_response(StatusCode::OK, &serde_json::Value::Null);
    *response.body_mut() = crate::Body::Full(metrics::exposition(&totals, &gauges).into());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The gauges, read now: index size, crawl backlog per tier, dead letters, jobs, firing alerts.
async fn gauges<P: Platform>(platform: &P) -> Result<Vec<GaugeValue>, ApiError> {
    let counts = platform.store().counts().await?;
    let crawl = platform.store().crawl_gauges().await?;
    let vectors = match crate::embeddings::model(&platform.config().embeddings) {
        Some(model) => platform.store().vector_count(model).await?,
        None => 0,
    };
    let gauge = |family, labels: Vec<String>, value: f64| GaugeValue { family, labels, value };
    let mut gauges = vec![
        gauge(&metrics::INDEX_DOCUMENTS, vec![], counts.documents as f64),
        gauge(&metrics::INDEX_CHUNKS, vec![], counts.chunks as f64),
        gauge(&metrics::INDEX_VECTORS, vec![], vectors as f64),
        gauge(&metrics::CRAWL_DEAD_LETTERS, vec![], crawl.dead_letters as f64),
    ];
    // Every tier, so a dashboard sees a zero rather than no series.
    for tier in ["critical", "high", "normal", "low"] {
        let queued = crawl.backlog.iter().find(|(p, _)| p == tier).map_or(0, |(_, n)| *n);
        gauges.push(gauge(&metrics::CRAWL_BACKLOG, vec![tier.into()], queued as f64));
    }
    for (status, jobs) in &crawl.jobs {
        gauges.push(gauge(&metrics::CRAWL_JOBS, vec![status.clone()], *jobs as f64));
    }
    let state = KvState::of(platform).load(&AlertsKey).await.ok().flatten().unwrap_or_default();
    for alert in state.alerts {
        if let Some(severity) = alert.severity {
            gauges.push(gauge(
                &metrics::ALERTS_FIRING,
                vec![alert.rule, severity.as_str().into()],
                1.0,
            ));
        }
    }
    Ok(gauges)
}

/// One rule as `/api/alerts` shows it.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct AlertView {
    pub rule: String,
    pub summary: String,
    pub unit: String,
    pub warning: Option<f64>,
    pub critical: Option<f64>,
    /// `warning` or `critical` while firing; null otherwise.
    pub severity: Option<String>,
    /// Since when the rule has been in its current state (null before its first evaluation).
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date-time")))]
    pub since: Option<String>,
    /// The value measured at the last evaluation (null: too few events in the window).
    pub value: Option<f64>,
}

/// The answer of `GET /api/alerts`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Alerts {
    pub alerts: Vec<AlertView>,
    /// When the rules were last evaluated (null before the first cron tick).
    #[cfg_attr(feature = "openapi", schemars(extend("format" = "date-time")))]
    pub evaluated_at: Option<String>,
    /// Whether notifications are sent (`DOCENT_ALERT_WEBHOOK_URL`).
    pub notifying: bool,
}

/// `GET /api/alerts` (admin).
pub async fn list_alerts<P: Platform>(platform: &P) -> Result<Response, ApiError> {
    let book = KvState::of(platform).load(&AlertsKey).await?.unwrap_or_default();
    let alerts = platform
        .config()
        .ops
        .alert_rules
        .iter()
        .map(|rule| {
            let state = book.alerts.iter().find(|s| s.rule == rule.name);
            AlertView {
                rule: rule.name.into(),
                summary: rule.summary.into(),
                unit: rule.unit.into(),
                warning: rule.warning,
                critical: rule.critical,
                severity: state.and_then(|s| s.severity).map(|s| s.as_str().to_string()),
                since: state.map(|s| utc_timestamp(s.since_ms)),
                value: state.and_then(|s| s.value),
            }
        })
        .collect();
    let evaluated_at = (book.window_start_ms > 0).then(|| utc_timestamp(book.window_start_ms));
    let notifying = platform.config().ops.alert_webhook.is_some();
    Ok(crate::http::json_response(StatusCode::OK, &Alerts { alerts, evaluated_at, notifying }))
}

/// One cron tick of the alert rules: measure each over the window since the last tick, move its
/// state, send what the receiver is owed, start the next window. Returns the rules firing.
pub async fn evaluate_alerts<P: Platform>(platform: &P) -> Result<Vec<String>, String> {
    let config = &platform.config().ops;
    flush(platform).await;
    let kv = KvState::of(platform);
    let mut book = kv.load(&AlertsKey).await.map_err(|e| e.to_string())?.unwrap_or_default();
    let rows = platform.store().metric_totals().await.map_err(|e| e.to_string())?;
    let now_totals = Totals::from_rows(rows.clone());
    let before = Totals::from_rows(book.window_start.iter().map(|(name, labels, value)| {
        (metrics::SeriesKey { name: name.clone(), labels: labels.clone() }, *value)
    }));
    let crawl = platform.store().crawl_gauges().await.map_err(|e| e.to_string())?;
    let backlog = crawl.backlog.iter().map(|(_, n)| *n as f64).sum();
    let window = Window { before: &before, now: &now_totals, crawl_backlog: backlog };
    let now = platform.clock().now_ms();
    let mut firing = Vec::new();
    let mut states = Vec::new();
    for rule in &config.alert_rules {
        let mut state = book
            .alerts
            .iter()
            .find(|s| s.rule == rule.name)
            .cloned()
            .unwrap_or_else(|| AlertState::new(rule.name, now));
        let value = alerts::measure(rule, &window);
        state.step(alerts::severity(rule, value), value, now);
        if let Some(kind) = state.owed() {
            if notify(platform, rule, &state, kind).await {
                state.notified = state.severity;
            }
        }
        if let Some(severity) = state.severity {
            firing.push(format!("{} ({})", rule.name, severity.as_str()));
        }
        states.push(state);
    }
    book.alerts = states;
    book.window_start_ms = now;
    // Only the families the rules read start the next window.
    book.window_start = rows
        .into_iter()
        .filter(|(key, _)| {
            [
                "docent_http_request",
                "docent_llm_calls",
                "docent_llm_duration",
                "docent_vector_search",
            ]
            .iter()
            .any(|prefix| key.name.starts_with(prefix))
        })
        .map(|(key, value)| (key.name, key.labels, value))
        .collect();
    kv.save(&AlertsKey, &book).await.map_err(|e| e.to_string())?;
    Ok(firing)
}

/// Sends one notification; true when the receiver took it (2xx). Without a configured receiver
/// there is no one to tell, and nothing stays owed.
async fn notify<P: Platform>(
    platform: &P, rule: &alerts::Rule, state: &AlertState, kind: NotificationKind,
) -> bool {
    let Some(hook) = &platform.config().ops.alert_webhook else { return true };
    let now = platform.clock().now_ms();
    let body = alerts::notification(
        rule,
        state,
        kind,
        &utc_timestamp(now),
        &utc_timestamp(state.since_ms),
    )
    .to_string();
    let id = alerts::delivery_id(state, kind);
    let timestamp = now / 1000;
    let Ok(signature) = sign_standard_webhook(&hook.secret, &id, timestamp, body.as_bytes()) else {
        return false;
    };
    let request = FetchRequest {
        method: "POST".into(),
        url: hook.url.clone(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("webhook-id".into(), id.clone()),
            ("webhook-timestamp".into(), timestamp.to_string()),
            ("webhook-signature".into(), signature),
        ],
        body: Some(body.into_bytes()),
        max_body_bytes: 4 * 1024,
    };
    let delivered =
        crate::gateway::within(platform, 10_000, crate::metered::fetcher(platform).fetch(request))
            .await;
    let status = match delivered {
        Some(Ok(response)) => Some(response.status),
        _ => None,
    };
    platform.log(&serde_json::json!({"event": "alert_notification", "id": id, "status": status}));
    status.is_some_and(|s| (200..300).contains(&s))
}

#[cfg(test)]
mod tests {
    use docent_core::ops::alerts::default_rules;
    use docent_core::ops::metrics::FAMILIES;

    const RULES_FILE: &str = include_str!("../../../infra/prometheus/docent-rules.yml");
    const DASHBOARD: &str = include_str!("../../../infra/grafana/docent-dashboard.json");

    /// The metric names an expression uses (`docent_…`, without the histogram and counter
    /// suffixes the families add).
    fn names_in(expr: &str) -> Vec<String> {
        expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|word| word.starts_with("docent_") && !word.starts_with("docent_rule"))
            .map(str::to_string)
            .collect()
    }

    fn known(name: &str) -> bool {
        FAMILIES.iter().any(|f| {
            name == f.name
                || ["_bucket", "_sum", "_count"].iter().any(|s| name == format!("{}{s}", f.name))
        })
    }

    /// The Prometheus rules are Docent's own rules, level for level: each rule's thresholds appear
    /// in the file under its `docent_rule` label, and every metric they read exists.
    #[test]
    fn the_prometheus_rules_match_the_built_in_ones() {
        for rule in default_rules() {
            let label = format!("docent_rule: {}", rule.name);
            let blocks: Vec<&str> =
                RULES_FILE.split("- alert:").filter(|block| block.contains(&label)).collect();
            let levels: Vec<f64> = rule.warning.into_iter().chain(rule.critical).collect();
            assert_eq!(blocks.len(), levels.len(), "{}: one Prometheus rule per level", rule.name);
            for (block, level) in blocks.iter().zip(levels) {
                assert!(
                    block.contains(&format!("> {level}")),
                    "{}: the level {level} is not in {block}",
                    rule.name
                );
            }
        }
        for name in names_in(RULES_FILE) {
            assert!(known(&name), "the rules read {name}, which /metrics does not serve");
        }
    }

    #[test]
    fn the_dashboard_reads_only_served_metrics() {
        let dashboard: serde_json::Value = serde_json::from_str(DASHBOARD).expect("valid JSON");
        let panels = dashboard["panels"].as_array().expect("panels");
        assert!(panels.len() >= 12, "a panel for each area");
        let mut read = std::collections::BTreeSet::new();
        for panel in panels {
            for target in panel["targets"].as_array().expect("targets") {
                let expr = target["expr"].as_str().expect("an expression");
                for name in names_in(expr) {
                    assert!(
                        known(&name),
                        "panel {} reads {name}, which is not served",
                        panel["title"]
                    );
                    read.insert(name);
                }
            }
        }
        for family in FAMILIES {
            assert!(
                read.iter().any(|name| name.starts_with(family.name)),
                "no panel shows {}",
                family.name
            );
        }
    }
}
