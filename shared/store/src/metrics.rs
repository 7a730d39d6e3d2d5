//! Metric totals (`metrics`) and the crawl gauges `/metrics` reads when scraped.

use docent_core::ops::metrics::SeriesKey;
use docent_core::ports::{PortResult, SqlDatabase, SqlValue, Statement};

use crate::api::CrawlGauges;
use crate::rows::{decode, Columns, FromRow};
use crate::SqlStore;

/// Series per upsert statement: three parameters each, within D1's 100 bound parameters.
const SERIES_PER_STATEMENT: usize = 33;

impl<D: SqlDatabase> crate::api::MetricsStore for SqlStore<D> {
    async fn add_metrics(&self, deltas: &[(SeriesKey, f64)]) -> PortResult<()> {
        if deltas.is_empty() {
            return Ok(());
        }
        // Adding in the statement (not read-then-write) keeps concurrent flushes from every
        // instance exact.
        let statements: Vec<Statement> = deltas
            .chunks(SERIES_PER_STATEMENT)
            .map(|chunk| {
                let rows: Vec<String> = (0..chunk.len())
                    .map(|i| format!("(?{}, ?{}, ?{})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
                    .collect();
                let params: Vec<SqlValue> = chunk
                    .iter()
                    .flat_map(|(key, by)| {
                        [key.name.clone().into(), key.labels.clone().into(), (*by).into()]
                    })
                    .collect();
                Statement::new(
                    format!(
                        "INSERT INTO metrics (name, labels, value) VALUES {}
                         ON CONFLICT (name, labels) DO UPDATE SET value = metrics.value + excluded.value",
                        rows.join(", ")
                    ),
                    params,
                )
            })
            .collect();
        self.db.batch(&statements).await?;
        Ok(())
    }

    async fn metric_totals(&self) -> PortResult<Vec<(SeriesKey, f64)>> {
        let rows =
            self.query(&format!("SELECT {} FROM metrics", MetricRow::COLUMNS), vec![]).await?;
        Ok(decode::<MetricRow>(&rows)?.into_iter().map(|r| (r.0, r.1)).collect())
    }

    fn take_sql_counts(&self) -> crate::SqlCounts {
        crate::SqlCounts { rows: self.db.take_row_counts(), ..self.db.counts.take() }
    }

    async fn crawl_gauges(&self) -> PortResult<CrawlGauges> {
        // One statement, one round trip: queued URLs by their job's priority, dead letters, jobs
        // by status.
        let rows = self
            .query(
                "SELECT 'backlog' AS kind, j.priority AS label, COUNT(*) AS n
                   FROM crawl_urls u JOIN crawl_jobs j ON j.id = u.job_id
                  WHERE u.state = 'queued' GROUP BY j.priority
                 UNION ALL SELECT 'dead_letters', '', COUNT(*) FROM dead_letters
                 UNION ALL SELECT 'jobs', status, COUNT(*) FROM crawl_jobs GROUP BY status",
                vec![],
            )
            .await?;
        let mut gauges = CrawlGauges::default();
        for GaugeRow { kind, label, n } in decode::<GaugeRow>(&rows)? {
            match kind.as_str() {
                "backlog" => gauges.backlog.push((label, n)),
                "dead_letters" => gauges.dead_letters = n,
                _ => gauges.jobs.push((label, n)),
            }
        }
        Ok(gauges)
    }
}

struct MetricRow(SeriesKey, f64);

impl FromRow for MetricRow {
    const COLUMNS: &'static str = "name, labels, value";
    fn from_row(row: &Columns<'_>) -> PortResult<Self> {
        let key = SeriesKey { name: row.text("name")?, labels: row.text("labels")? };
        Ok(MetricRow(key, row.float("value")?))
    }
}

/// A row of the crawl gauges' query (its SELECT list is written out there).
struct GaugeRow {
    kind: String,
    label: String,
    n: u64,
}

impl FromRow for GaugeRow {
    const COLUMNS: &'static str = "kind, label, n";
    fn from_row(row: &Columns<'_>) -> PortResult<Self> {
        Ok(GaugeRow { kind: row.text("kind")?, label: row.text("label")?, n: row.int("n")? })
    }
}
