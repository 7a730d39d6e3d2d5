//! The crawl queue's consumer side on Spin: claims due tasks from the task table and delivers them
//! to `crawl::consume` (or, for dead letters, `crawl::dead_letter`), then acks or retries each one.
//! It runs on the cron trigger and on `POST /internal/drain`, which the component sends itself
//! (Spin's `self.alt` host) whenever it enqueued work, so a crawl proceeds at once instead of once
//! a minute.

use docent_core::ports::{Clock, PortError};
use docent_functions::crawl::{self, Delivery};
use docent_functions::http::{json_response, require_admin, ApiError};
use docent_functions::{Platform, Request, Response};
use docent_store::tasks::{Backlog, Retried, Task};
use futures_util::StreamExt;
use http::StatusCode;

use crate::Spin;

/// The route of a drain. Not part of the public API (API.md): it needs the admin key.
pub const DRAIN_PATH: &str = "/internal/drain";
/// Spin routes requests to this host back into the same application (spin.toml must allow it).
const SELF_ORIGIN: &str = "http://self.alt";
/// Tasks claimed at a time, and delivered at once: the Worker's queue batch size and its
/// per-invocation concurrency.
const CLAIM_BATCH: u32 = 10;
const CONCURRENCY: usize = 3;
/// A drain claims no new work after this long, so one request never runs for minutes; if due work
/// is left, it hands over to a fresh drain.
const DRAIN_BUDGET_MS: u64 = 20_000;
/// A claimed task not settled within the fetch timeout plus this is claimed again by another drain.
const LEASE_MARGIN_MS: u64 = 60_000;

#[derive(Debug, Default)]
pub struct Report {
    delivered: u64,
    acked: u64,
    retried: u64,
    dead_lettered: u64,
    lease_lost: u64,
    backlog: Backlog,
}

async fn deliver(platform: &Spin, task: &Task) -> Delivery {
    if task.dead {
        crawl::dead_letter(platform, &task.message).await
    } else {
        crawl::consume(platform, &task.message).await
    }
}

/// Delivers due tasks until none is due within the budget, then reports what is left.
pub async fn drain(platform: &Spin) -> Result<Report, PortError> {
    let queue = &platform.0.queue;
    let clock = platform.clock();
    let started = clock.now_ms();
    let lease_ms = platform.config().fetch_timeout_seconds * 1000 + LEASE_MARGIN_MS;
    let mut report = Report::default();
    while clock.now_ms() < started + DRAIN_BUDGET_MS {
        let tasks = queue.claim(CLAIM_BATCH, lease_ms).await?;
        if tasks.is_empty() {
            // Retries and deferrals due within the budget are waited for here; later ones are left
            // to the next cron tick.
            match queue.backlog().await?.next_due_ms {
                Some(due) if due < started + DRAIN_BUDGET_MS => {
                    clock.sleep(due.saturating_sub(clock.now_ms()).max(10)).await;
                    continue;
                }
                _ => break,
            }
        }
        let deliveries: Vec<Delivery> =
            futures_util::stream::iter(tasks.iter().map(|task| deliver(platform, task)))
                .buffered(CONCURRENCY)
                .collect()
                .await;
        for (task, delivery) in tasks.iter().zip(deliveries) {
            report.delivered += 1;
            match delivery {
                Delivery::Ack => {
                    if queue.ack(task).await? {
                        report.acked += 1;
                    } else {
                        report.lease_lost += 1;
                    }
                }
                Delivery::Retry { reason, delay_seconds } => {
                    platform.log(&serde_json::json!({"event": "crawl_retry", "url": task.message.url, "retries": task.retries, "delay_seconds": delay_seconds, "reason": reason}));
                    match queue.retry(task, delay_seconds).await? {
                        Retried::Rescheduled => report.retried += 1,
                        Retried::DeadLettered => report.dead_lettered += 1,
                        Retried::LeaseLost => report.lease_lost += 1,
                    }
                }
            }
        }
    }
    report.backlog = queue.backlog().await?;
    Ok(report)
}

/// `POST /internal/drain` (admin key): one drain; a new one is started if due work is left.
pub async fn serve(platform: &Spin, request: &Request) -> Response {
    if request.method() != http::Method::POST {
        let mut response = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("use POST on {DRAIN_PATH}"),
        )
        .into_response();
        response.headers_mut().insert(http::header::ALLOW, http::HeaderValue::from_static("POST"));
        return response;
    }
    if let Err(error) = require_admin(request, platform.config().admin_key.as_deref()) {
        return error.into_response();
    }
    match drain(platform).await {
        Ok(report) => {
            if report.backlog.due > 0 {
                kick(platform);
            }
            json_response(
                StatusCode::OK,
                &serde_json::json!({
                    "delivered": report.delivered, "acked": report.acked, "retried": report.retried,
                    "dead_lettered": report.dead_lettered, "lease_lost": report.lease_lost,
                    "backlog": {"due": report.backlog.due, "waiting": report.backlog.waiting, "next_due_ms": report.backlog.next_due_ms},
                }),
            )
        }
        Err(error) => ApiError::internal("task table", error).into_response(),
    }
}

/// Starts a drain in a new instance by sending `POST /internal/drain` to this application, without
/// waiting for it. Needs the admin key; without one, the cron trigger drains alone.
pub fn kick(platform: &Spin) {
    let Some(key) = platform.config().admin_key.clone() else {
        platform.log(&serde_json::json!({"event": "drain_not_started", "reason": "DOCENT_ADMIN_KEY is unset; the cron trigger will drain"}));
        return;
    };
    let platform = platform.clone();
    spin_sdk::wasip3::spawn(async move {
        let request = http::Request::builder()
            .method("POST")
            .uri(format!("{SELF_ORIGIN}{DRAIN_PATH}"))
            .header("authorization", format!("Bearer {key}"))
            .body(http_body_util::Full::new(bytes::Bytes::new()));
        let outcome = match request {
            Ok(request) => spin_sdk::http::send(request)
                .await
                .map(|r| r.status().as_u16())
                .map_err(|e| format!("{e:?}")),
            Err(e) => Err(e.to_string()),
        };
        match outcome {
            Ok(200) => {}
            Ok(status) => {
                platform.log(&serde_json::json!({"event": "drain_failed", "status": status}))
            }
            Err(error) => {
                platform.log(&serde_json::json!({"event": "drain_not_started", "reason": error}))
            }
        }
    });
}

/// The cron trigger: the crawl schedule (stalled URLs, scheduled sources), then a drain.
pub async fn on_cron(platform: &Spin, timestamp: u64) -> Result<(), String> {
    let sources = crawl::parse_sources(platform.setting("DOCENT_CRAWL_SOURCES").as_deref())?;
    let (resumed, started) =
        crawl::on_schedule(platform, &sources).await.map_err(|e| format!("cron: {e}"))?;
    // Before the drain, which may take its whole budget: alerts are judged on the minute.
    let firing = docent_functions::monitoring::evaluate_alerts(platform)
        .await
        .unwrap_or_else(|error| vec![format!("(not evaluated: {error})")]);
    let report = drain(platform).await.map_err(|e| format!("drain: {e}"));
    docent_functions::ops::flush(platform).await;
    let report = report?;
    platform.log(&serde_json::json!({
        "event": "cron", "timestamp": timestamp, "resumed": resumed, "started": started,
        "delivered": report.delivered, "dead_lettered": report.dead_lettered, "due": report.backlog.due,
        "alerts_firing": firing,
    }));
    Ok(())
}
