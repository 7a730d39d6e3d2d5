//! The operators' side, as serving feeds it: metrics recorded while serving and flushed to the
//! store, for `/metrics` and the alert rules (`monitoring.rs`).
//!
//! Recording costs no I/O: each invocation gathers deltas in its platform's [`Recorder`], and the
//! shell calls [`flush`] once the response is on its way (`waitUntil` on Cloudflare), after a queue
//! batch and after a cron tick; a streamed answer flushes what it recorded when it ends. A flush
//! that fails puts its deltas back for the next one.

use std::cell::RefCell;

use docent_core::ops::metrics::{self, MetricsBuffer};
use docent_store::api::MetricsStore;

use crate::Platform;

/// The deltas one invocation gathers (each shell keeps one in its platform state).
#[derive(Debug, Default)]
pub struct Recorder(RefCell<MetricsBuffer>);

/// Records into the platform's buffer, unless metrics are off.
pub fn record<P: Platform>(platform: &P, write: impl FnOnce(&mut MetricsBuffer)) {
    if platform.config().ops.metrics {
        write(&mut platform.recorder().0.borrow_mut());
    }
}

/// Hands what was recorded on to the store, as the platform does it ([`Platform::flush_metrics`]:
/// at once by default, gathered per isolate on Cloudflare).
pub async fn flush<P: Platform>(platform: &P) {
    let sql = platform.store().take_sql_counts();
    record(platform, |m| {
        m.count(&metrics::SQL_ROUND_TRIPS, &[], sql.round_trips as f64);
        m.count(&metrics::SQL_STATEMENTS, &[], sql.statements as f64);
        m.count(&metrics::SQL_ROWS_READ, &[], sql.rows.read as f64);
        m.count(&metrics::SQL_ROWS_WRITTEN, &[], sql.rows.written as f64);
    });
    platform.flush_metrics().await;
}

impl Recorder {
    /// Adds `by` to a counter (see [`MetricsBuffer::count`]); callers check that metrics are on.
    pub fn count(&self, family: &metrics::Family, labels: &[&str], by: f64) {
        self.0.borrow_mut().count(family, labels, by);
    }

    /// Hands over the deltas gathered so far.
    pub fn take(&self) -> Vec<(metrics::SeriesKey, f64)> {
        self.0.borrow_mut().take()
    }
}

/// Adds `deltas` to the stored totals (one upsert statement per 33 series); on failure hands them
/// back, for the caller to keep for its next write.
pub async fn write_deltas<P: Platform>(
    platform: &P, deltas: Vec<(metrics::SeriesKey, f64)>,
) -> Result<(), Vec<(metrics::SeriesKey, f64)>> {
    if deltas.is_empty() {
        return Ok(());
    }
    match platform.store().add_metrics(&deltas).await {
        Ok(()) => Ok(()),
        Err(error) => {
            platform.log(
                &serde_json::json!({"event": "metrics_flush_failed", "error": error.to_string()}),
            );
            Err(deltas)
        }
    }
}

/// Writes this invocation's deltas now; kept for the next flush if the write fails.
pub async fn write_recorded<P: Platform>(platform: &P) {
    if let Err(deltas) = write_deltas(platform, platform.recorder().take()).await {
        platform.recorder().0.borrow_mut().restore(deltas);
    }
}

/// The label of an HTTP method: the standard ones by name, anything else as `other` (so a client
/// inventing methods cannot invent series).
pub fn method_label(method: &::http::Method) -> &'static str {
    use ::http::Method as M;
    match *method {
        M::GET => "GET",
        M::HEAD => "HEAD",
        M::POST => "POST",
        M::PUT => "PUT",
        M::PATCH => "PATCH",
        M::DELETE => "DELETE",
        M::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
