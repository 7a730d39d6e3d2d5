//! Metrics without I/O: what Docent counts, the deltas one invocation gathers, and the Prometheus
//! text it serves.
//!
//! Every instance adds its deltas to one table of cumulative values (one upsert statement per
//! flush), so `/metrics` is exact across instances, whichever one is scraped. A series is stored
//! under its family's sample name and its label set as the exposition writes it
//! (`route="/api/search",status="200"`). Histogram buckets are stored *per bucket* (the count of
//! observations that fell into that bucket alone): an observation then adds to one bucket row, not
//! to every bucket above it, and [`exposition`] makes them cumulative when it renders.

use std::collections::BTreeMap;
use std::fmt::Write;

/// What a family measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Histogram,
    /// Read from the store when scraped, never flushed.
    Gauge,
}

/// A metric family: its name, type, help text and label names.
#[derive(Debug, PartialEq)]
pub struct Family {
    pub name: &'static str,
    pub kind: Kind,
    pub help: &'static str,
    pub labels: &'static [&'static str],
}

/// Upper bounds of the latency histograms' buckets, in seconds.
pub const LATENCY_BUCKETS: &[f64] =
    &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0];

const fn family(
    name: &'static str, kind: Kind, help: &'static str, labels: &'static [&'static str],
) -> Family {
    Family { name, kind, help, labels }
}

use Kind::{Counter, Gauge, Histogram as Distribution};

pub const HTTP_REQUESTS: Family = family(
    "docent_http_requests_total",
    Counter,
    "HTTP requests answered, by route pattern, method and status.",
    &["route", "method", "status"],
);
pub const HTTP_DURATION: Family = family(
    "docent_http_request_duration_seconds",
    Distribution,
    "Time to the response's head, by route pattern (a streamed answer's head follows its sources).",
    &["route"],
);
/// LLM calls follow the OpenTelemetry GenAI names for their labels.
pub const LLM_CALLS: Family = family(
    "docent_llm_calls_total",
    Counter,
    "Language-model calls (retries included), by provider, model and outcome (ok or error).",
    &["gen_ai_provider_name", "gen_ai_request_model", "outcome"],
);
pub const LLM_ERRORS: Family = family(
    "docent_llm_errors_total",
    Counter,
    "Failed language-model calls by kind (http_5xx, http_429, http_4xx, timeout, stream, network).",
    &["gen_ai_provider_name", "gen_ai_request_model", "error_type"],
);
pub const LLM_TOKENS: Family = family(
    "docent_llm_tokens_total",
    Counter,
    "Tokens sent to and received from language models (estimated where a provider reports none).",
    &["gen_ai_provider_name", "gen_ai_request_model", "gen_ai_token_type"],
);
pub const LLM_COST: Family = family(
    "docent_llm_cost_usd_total",
    Counter,
    "Estimated language-model cost in US dollars at the configured prices.",
    &["gen_ai_provider_name", "gen_ai_request_model"],
);
pub const LLM_DURATION: Family = family(
    "docent_llm_duration_seconds",
    Distribution,
    "Duration of language-model calls, from request to the last token or the failure.",
    &["gen_ai_provider_name", "gen_ai_request_model"],
);
pub const LLM_FIRST_TOKEN: Family = family(
    "docent_llm_first_token_seconds",
    Distribution,
    "Time from a language-model request to its first token.",
    &["gen_ai_provider_name", "gen_ai_request_model"],
);
pub const CACHE_LOOKUPS: Family = family(
    "docent_cache_lookups_total",
    Counter,
    "Cache lookups by cache (answer, search, embedding) and result (hit or miss).",
    &["cache", "result"],
);
pub const QUESTIONS: Family = family(
    "docent_questions_total",
    Counter,
    "Questions answered, by how: llm, extractive, fallback (no model could answer), no_evidence \
     (declined for weak evidence), cached, interrupted (the model stopped mid-answer).",
    &["answer"],
);
pub const SESSIONS: Family = family(
    "docent_sessions_total",
    Counter,
    "Conversations started (a question without a session id).",
    &[],
);
pub const VECTOR_SEARCH_DURATION: Family = family(
    "docent_vector_search_duration_seconds",
    Distribution,
    "Duration of the vector half of a search (embedding the query and the nearest-neighbour lookup).",
    &[],
);
pub const CRAWL_PAGES: Family = family(
    "docent_crawl_pages_total",
    Counter,
    "Crawled URLs by how they ended: indexed, unchanged, skipped, blocked (robots.txt), failed, \
     dead_lettered; and retried, each failed attempt that will be tried again.",
    &["outcome"],
);
pub const SQL_ROUND_TRIPS: Family = family(
    "docent_sql_round_trips_total",
    Counter,
    "Requests the store sent its database (D1 bills each; the metrics' own writes are not counted).",
    &[],
);
pub const SQL_STATEMENTS: Family = family(
    "docent_sql_statements_total",
    Counter,
    "SQL statements those requests carried (a batch carries several).",
    &[],
);
pub const SQL_ROWS_READ: Family = family(
    "docent_sql_rows_read_total",
    Counter,
    "Rows those statements read, as the database reports them (D1 bills by them; 0 elsewhere).",
    &[],
);
pub const SQL_ROWS_WRITTEN: Family = family(
    "docent_sql_rows_written_total",
    Counter,
    "Rows those statements wrote, indexes included, as the database reports them (D1 bills by \
     them; 0 elsewhere).",
    &[],
);
pub const PLATFORM_OPERATIONS: Family = family(
    "docent_platform_operations_total",
    Counter,
    "Calls to the platform's services billed by the call: kv (read, write, delete), queue (sent, \
     received), gate (acquire, release: a Durable Object request each on Cloudflare), fetch \
     (request: outbound HTTP).",
    &["service", "operation"],
);
pub const INDEX_DOCUMENTS: Family =
    family("docent_index_documents", Gauge, "Pages in the index.", &[]);
pub const INDEX_CHUNKS: Family =
    family("docent_index_chunks", Gauge, "Passages (chunks) in the index.", &[]);
pub const INDEX_VECTORS: Family = family(
    "docent_index_vectors",
    Gauge,
    "Passage vectors of the configured embedding model (0 with embeddings off).",
    &[],
);
pub const CRAWL_BACKLOG: Family = family(
    "docent_crawl_backlog",
    Gauge,
    "URLs queued and not yet finished, by priority tier.",
    &["priority"],
);
pub const CRAWL_DEAD_LETTERS: Family =
    family("docent_crawl_dead_letters", Gauge, "URLs the crawl queue gave up on.", &[]);
pub const CRAWL_JOBS: Family =
    family("docent_crawl_jobs", Gauge, "Recent crawl jobs by status.", &["status"]);
pub const ALERTS_FIRING: Family = family(
    "docent_alerts_firing",
    Gauge,
    "1 for each alert rule firing, with its severity (warning or critical).",
    &["rule", "severity"],
);

/// Every family, in the order `/metrics` lists them.
pub const FAMILIES: &[&Family] = &[
    &HTTP_REQUESTS,
    &HTTP_DURATION,
    &LLM_CALLS,
    &LLM_ERRORS,
    &LLM_TOKENS,
    &LLM_COST,
    &LLM_DURATION,
    &LLM_FIRST_TOKEN,
    &CACHE_LOOKUPS,
    &QUESTIONS,
    &SESSIONS,
    &VECTOR_SEARCH_DURATION,
    &CRAWL_PAGES,
    &SQL_ROUND_TRIPS,
    &SQL_STATEMENTS,
    &SQL_ROWS_READ,
    &SQL_ROWS_WRITTEN,
    &PLATFORM_OPERATIONS,
    &INDEX_DOCUMENTS,
    &INDEX_CHUNKS,
    &INDEX_VECTORS,
    &CRAWL_BACKLOG,
    &CRAWL_DEAD_LETTERS,
    &CRAWL_JOBS,
    &ALERTS_FIRING,
];

/// One stored series: the sample name (`…_bucket`, `…_sum` for histograms) and its label set as
/// the exposition writes it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeriesKey {
    pub name: String,
    pub labels: String,
}

/// Writes `labels` (names from the family, values in order) as `a="x",b="y"`, escaped as the text
/// format asks.
fn label_set(names: &[&str], values: &[&str]) -> String {
    debug_assert_eq!(names.len(), values.len(), "a value for each label");
    let mut out = String::new();
    for (i, (name, value)) in names.iter().zip(values).enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{name}=\"");
        for c in value.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out
}

/// The bucket an observation of `value` falls into: its upper bound as the `le` label writes it.
fn bucket_of(value: f64) -> String {
    LATENCY_BUCKETS
        .iter()
        .find(|bound| value <= **bound)
        .map(|bound| format_value(*bound))
        .unwrap_or_else(|| "+Inf".into())
}

/// Deltas gathered while serving one request, message batch or cron tick, added to the stored
/// totals by one flush.
#[derive(Debug, Default, Clone)]
pub struct MetricsBuffer {
    deltas: BTreeMap<SeriesKey, f64>,
}

impl MetricsBuffer {
    fn add(&mut self, name: String, labels: String, by: f64) {
        *self.deltas.entry(SeriesKey { name, labels }).or_insert(0.0) += by;
    }

    /// Adds `by` to a counter.
    pub fn count(&mut self, family: &Family, labels: &[&str], by: f64) {
        debug_assert_eq!(family.kind, Kind::Counter, "{} is not a counter", family.name);
        if by > 0.0 && by.is_finite() {
            self.add(family.name.to_string(), label_set(family.labels, labels), by);
        }
    }

    /// Records one observation (seconds) in a histogram.
    pub fn observe(&mut self, family: &Family, labels: &[&str], seconds: f64) {
        debug_assert_eq!(family.kind, Kind::Histogram, "{} is not a histogram", family.name);
        if !seconds.is_finite() || seconds < 0.0 {
            return;
        }
        let set = label_set(family.labels, labels);
        let le = format!("le=\"{}\"", bucket_of(seconds));
        let bucket_labels = if set.is_empty() { le } else { format!("{set},{le}") };
        self.add(format!("{}_bucket", family.name), bucket_labels, 1.0);
        self.add(format!("{}_sum", family.name), set, seconds);
    }

    /// Records the milliseconds from `started_ms` to `now_ms` in a histogram.
    pub fn observe_ms(&mut self, family: &Family, labels: &[&str], started_ms: u64, now_ms: u64) {
        self.observe(family, labels, now_ms.saturating_sub(started_ms) as f64 / 1000.0);
    }

    pub fn is_empty(&self) -> bool {
        self.deltas.is_empty()
    }

    /// Hands over the deltas gathered so far, leaving the buffer empty.
    pub fn take(&mut self) -> Vec<(SeriesKey, f64)> {
        std::mem::take(&mut self.deltas).into_iter().collect()
    }

    /// Puts back deltas a flush could not write, so the next flush carries them.
    pub fn restore(&mut self, deltas: Vec<(SeriesKey, f64)>) {
        for (key, by) in deltas {
            *self.deltas.entry(key).or_insert(0.0) += by;
        }
    }
}

/// A gauge's value read when scraped.
#[derive(Debug, Clone, PartialEq)]
pub struct GaugeValue {
    pub family: &'static Family,
    pub labels: Vec<String>,
    pub value: f64,
}

/// Prometheus writes integers without a fraction; other values as Rust's shortest round-trip form.
pub fn format_value(value: f64) -> String {
    if value.is_infinite() {
        return if value > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// The `le` value of a bucket row's label set, and the labels without it.
fn split_le(labels: &str) -> (&str, &str) {
    match labels.rfind("le=\"") {
        Some(at) => {
            let rest = labels[..at].trim_end_matches(',');
            (rest, labels[at + 4..].trim_end_matches('"'))
        }
        None => (labels, "+Inf"),
    }
}

fn le_bound(le: &str) -> f64 {
    if le == "+Inf" {
        f64::INFINITY
    } else {
        le.parse().unwrap_or(f64::INFINITY)
    }
}

/// A histogram's buckets for one label set, rebuilt from the stored per-bucket counts: every
/// configured bound (so the series are complete even where nothing fell) with cumulative counts.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Histogram {
    /// (upper bound, observations at or below it), ascending, ending with +Inf.
    pub cumulative: Vec<(f64, f64)>,
    pub sum: f64,
}

impl Histogram {
    fn from_buckets(per_bucket: &BTreeMap<String, f64>, sum: f64) -> Histogram {
        let mut running = 0.0;
        let mut cumulative = Vec::new();
        for bound in LATENCY_BUCKETS.iter().copied().chain([f64::INFINITY]) {
            running += per_bucket
                .iter()
                .filter(|(le, _)| le_bound(le) == bound)
                .map(|(_, n)| *n)
                .sum::<f64>();
            cumulative.push((bound, running));
        }
        Histogram { cumulative, sum }
    }

    pub fn count(&self) -> f64 {
        self.cumulative.last().map_or(0.0, |(_, n)| *n)
    }

    /// The `q` quantile, interpolated within its bucket as Prometheus' `histogram_quantile` does;
    /// `None` without observations. Past the last finite bound it is that bound.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total <= 0.0 {
            return None;
        }
        let rank = q * total;
        let mut lower = (0.0, 0.0);
        for &(bound, count) in &self.cumulative {
            if count >= rank {
                if bound.is_infinite() {
                    return Some(lower.0);
                }
                let within = count - lower.1;
                let share = if within > 0.0 { (rank - lower.1) / within } else { 1.0 };
                return Some(lower.0 + (bound - lower.0) * share);
            }
            lower = (bound, count);
        }
        Some(lower.0)
    }

    /// The observations this histogram holds beyond `earlier` (same label set, read before).
    pub fn since(&self, earlier: &Histogram) -> Histogram {
        let cumulative = self
            .cumulative
            .iter()
            .map(|&(bound, count)| {
                let before =
                    earlier.cumulative.iter().find(|(b, _)| *b == bound).map_or(0.0, |(_, n)| *n);
                (bound, (count - before).max(0.0))
            })
            .collect();
        Histogram { cumulative, sum: (self.sum - earlier.sum).max(0.0) }
    }
}

/// The stored totals, organised for reading: counters by family and label set, histograms rebuilt.
#[derive(Debug, Default, Clone)]
pub struct Totals {
    counters: BTreeMap<(String, String), f64>,
    histograms: BTreeMap<(String, String), Histogram>,
}

impl Totals {
    /// Reads the stored rows (sample name, label set, cumulative value).
    pub fn from_rows(rows: impl IntoIterator<Item = (SeriesKey, f64)>) -> Totals {
        let mut counters = BTreeMap::new();
        let mut buckets: BTreeMap<(String, String), BTreeMap<String, f64>> = BTreeMap::new();
        let mut sums: BTreeMap<(String, String), f64> = BTreeMap::new();
        for (key, value) in rows {
            if let Some(family) = key.name.strip_suffix("_bucket") {
                let (labels, le) = split_le(&key.labels);
                *buckets
                    .entry((family.to_string(), labels.to_string()))
                    .or_default()
                    .entry(le.to_string())
                    .or_insert(0.0) += value;
            } else if let Some(family) = key.name.strip_suffix("_sum") {
                sums.insert((family.to_string(), key.labels), value);
            } else {
                counters.insert((key.name, key.labels), value);
            }
        }
        let histograms = buckets
            .into_iter()
            .map(|(key, per_bucket)| {
                let sum = sums.get(&key).copied().unwrap_or(0.0);
                let histogram = Histogram::from_buckets(&per_bucket, sum);
                (key, histogram)
            })
            .collect();
        Totals { counters, histograms }
    }

    /// A counter's value for an exact label set (`labels` as [`label_set`] writes them).
    pub fn counter(&self, family: &Family, labels: &[&str]) -> f64 {
        let key = (family.name.to_string(), label_set(family.labels, labels));
        self.counters.get(&key).copied().unwrap_or(0.0)
    }

    /// The sum of a counter over every label set whose labels pass `keep` (label name, value).
    pub fn counter_where(&self, family: &Family, keep: impl Fn(&str, &str) -> bool) -> f64 {
        self.counters
            .iter()
            .filter(|((name, labels), _)| name == family.name && labels_pass(labels, &keep))
            .map(|(_, v)| *v)
            .sum()
    }

    /// A histogram merged over every label set whose labels pass `keep`.
    pub fn histogram_where(&self, family: &Family, keep: impl Fn(&str, &str) -> bool) -> Histogram {
        let mut merged: Option<Histogram> = None;
        for ((name, labels), histogram) in &self.histograms {
            if name != family.name || !labels_pass(labels, &keep) {
                continue;
            }
            merged = Some(match merged {
                None => histogram.clone(),
                Some(mut m) => {
                    for (slot, (_, n)) in m.cumulative.iter_mut().zip(&histogram.cumulative) {
                        slot.1 += n;
                    }
                    m.sum += histogram.sum;
                    m
                }
            });
        }
        merged.unwrap_or_else(|| Histogram::from_buckets(&BTreeMap::new(), 0.0))
    }
}

/// The (name, value) pairs of a stored label set (values unescaped).
pub fn parse_labels(labels: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = labels.chars().peekable();
    while chars.peek().is_some() {
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if chars.next() != Some('"') {
            break;
        }
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(other) => value.push(other),
                    None => {}
                },
                '"' => break,
                c => value.push(c),
            }
        }
        out.push((name.trim_start_matches(',').to_string(), value));
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    out
}

fn labels_pass(labels: &str, keep: &impl Fn(&str, &str) -> bool) -> bool {
    parse_labels(labels).iter().all(|(name, value)| keep(name, value))
}

fn sample(out: &mut String, name: &str, labels: &str, value: f64) {
    if labels.is_empty() {
        let _ = writeln!(out, "{name} {}", format_value(value));
    } else {
        let _ = writeln!(out, "{name}{{{labels}}} {}", format_value(value));
    }
}

/// The Prometheus text exposition (format 0.0.4) of the stored totals and the gauges read now.
/// Families without a sample are still described, so dashboards and rules find every name.
pub fn exposition(totals: &Totals, gauges: &[GaugeValue]) -> String {
    let mut out = String::new();
    for family in FAMILIES {
        let _ = writeln!(out, "# HELP {} {}", family.name, family.help);
        let kind = match family.kind {
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
            Kind::Gauge => "gauge",
        };
        let _ = writeln!(out, "# TYPE {} {kind}", family.name);
        match family.kind {
            Kind::Counter => {
                for ((name, labels), value) in &totals.counters {
                    if name == family.name {
                        sample(&mut out, name, labels, *value);
                    }
                }
            }
            Kind::Histogram => {
                for ((name, labels), histogram) in &totals.histograms {
                    if name != family.name {
                        continue;
                    }
                    for (bound, count) in &histogram.cumulative {
                        let le = format!("le=\"{}\"", format_value(*bound));
                        let bucket_labels =
                            if labels.is_empty() { le } else { format!("{labels},{le}") };
                        sample(&mut out, &format!("{name}_bucket"), &bucket_labels, *count);
                    }
                    sample(&mut out, &format!("{name}_sum"), labels, histogram.sum);
                    sample(&mut out, &format!("{name}_count"), labels, histogram.count());
                }
            }
            Kind::Gauge => {
                for gauge in gauges.iter().filter(|g| g.family.name == family.name) {
                    let values: Vec<&str> = gauge.labels.iter().map(String::as_str).collect();
                    let labels = label_set(family.labels, &values);
                    sample(&mut out, family.name, &labels, gauge.value);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(buffer: &mut MetricsBuffer) -> Totals {
        Totals::from_rows(buffer.take())
    }

    #[test]
    fn counters_add_up_per_label_set_and_escape_values() {
        let mut buffer = MetricsBuffer::default();
        buffer.count(&HTTP_REQUESTS, &["/api/search", "GET", "200"], 1.0);
        buffer.count(&HTTP_REQUESTS, &["/api/search", "GET", "200"], 2.0);
        buffer.count(&HTTP_REQUESTS, &["/a\"b\\c\nd", "GET", "404"], 1.0);
        buffer.count(&HTTP_REQUESTS, &["/ignored", "GET", "200"], 0.0);
        let totals = stored(&mut buffer);
        assert!(buffer.is_empty(), "take empties the buffer");
        assert_eq!(totals.counter(&HTTP_REQUESTS, &["/api/search", "GET", "200"]), 3.0);
        let text = exposition(&totals, &[]);
        assert!(text.contains(
            "docent_http_requests_total{route=\"/api/search\",method=\"GET\",status=\"200\"} 3\n"
        ));
        assert!(text.contains(r#"route="/a\"b\\c\nd""#), "{text}");
        assert!(!text.contains("/ignored"), "a zero delta writes no series");
        assert_eq!(parse_labels(r#"route="/a\"b\\c\nd",method="GET""#)[0].1, "/a\"b\\c\nd");
    }

    #[test]
    fn histograms_store_one_bucket_per_observation_and_render_cumulatively() {
        let mut buffer = MetricsBuffer::default();
        for seconds in [0.004, 0.02, 0.02, 0.3, 12.0, 45.0] {
            buffer.observe(&HTTP_DURATION, &["/api/chat"], seconds);
        }
        let rows = buffer.take();
        // Four distinct buckets plus the sum: one row each, whatever the number of observations.
        assert_eq!(rows.len(), 6, "{rows:?}");
        let totals = Totals::from_rows(rows);
        let text = exposition(&totals, &[]);
        let line = |le: &str| {
            format!(
                "docent_http_request_duration_seconds_bucket{{route=\"/api/chat\",le=\"{le}\"}}"
            )
        };
        for (le, count) in [("0.005", 1), ("0.01", 1), ("0.025", 3), ("0.5", 4), ("10", 4)] {
            assert!(text.contains(&format!("{} {count}\n", line(le))), "{le}: {text}");
        }
        assert!(text.contains(&format!("{} 5\n", line("30"))), "{text}");
        assert!(text.contains(&format!("{} 6\n", line("+Inf"))), "{text}");
        assert!(
            text.contains("docent_http_request_duration_seconds_count{route=\"/api/chat\"} 6\n")
        );
        assert!(
            text.contains("docent_http_request_duration_seconds_sum{route=\"/api/chat\"} 57.344")
        );
    }

    #[test]
    fn quantiles_interpolate_like_histogram_quantile() {
        let mut buffer = MetricsBuffer::default();
        // 90 fast requests and 10 between 1.5 and 2.5 s: the p95 lies in the (1.5, 2.5] bucket.
        for _ in 0..90 {
            buffer.observe(&HTTP_DURATION, &["/api/search"], 0.02);
        }
        for _ in 0..10 {
            buffer.observe(&HTTP_DURATION, &["/api/chat"], 2.0);
        }
        let totals = stored(&mut buffer);
        let all = totals.histogram_where(&HTTP_DURATION, |_, _| true);
        assert_eq!(all.count(), 100.0);
        let p95 = all.quantile(0.95).unwrap();
        assert!((p95 - 2.0).abs() < 1e-9, "half way into the bucket: {p95}");
        let search =
            totals.histogram_where(&HTTP_DURATION, |n, v| n != "route" || v == "/api/search");
        assert!(search.quantile(0.95).unwrap() <= 0.025);
        let empty = totals.histogram_where(&LLM_DURATION, |_, _| true);
        assert_eq!(empty.quantile(0.95), None);
        // Beyond the last finite bound, the quantile is that bound.
        let mut slow = MetricsBuffer::default();
        slow.observe(&LLM_DURATION, &["p", "m"], 99.0);
        let slow = stored(&mut slow).histogram_where(&LLM_DURATION, |_, _| true);
        assert_eq!(slow.quantile(0.5), Some(30.0));
    }

    #[test]
    fn a_window_is_the_difference_of_two_readings() {
        let mut buffer = MetricsBuffer::default();
        buffer.observe(&HTTP_DURATION, &["/x"], 0.02);
        let earlier = stored(&mut buffer.clone()).histogram_where(&HTTP_DURATION, |_, _| true);
        buffer.observe(&HTTP_DURATION, &["/x"], 3.0);
        buffer.observe(&HTTP_DURATION, &["/x"], 3.0);
        let now = stored(&mut buffer).histogram_where(&HTTP_DURATION, |_, _| true);
        let window = now.since(&earlier);
        assert_eq!(window.count(), 2.0);
        assert!(window.quantile(0.5).unwrap() > 2.5);
    }

    #[test]
    fn restored_deltas_are_flushed_next_time() {
        let mut buffer = MetricsBuffer::default();
        buffer.count(&SESSIONS, &[], 1.0);
        let failed = buffer.take();
        buffer.count(&SESSIONS, &[], 1.0);
        buffer.restore(failed);
        let totals = stored(&mut buffer);
        assert_eq!(totals.counter(&SESSIONS, &[]), 2.0);
    }

    #[test]
    fn every_family_is_described_and_gauges_render() {
        let gauges = [
            GaugeValue { family: &INDEX_DOCUMENTS, labels: vec![], value: 7.0 },
            GaugeValue { family: &CRAWL_BACKLOG, labels: vec!["high".into()], value: 3.0 },
        ];
        let text = exposition(&Totals::default(), &gauges);
        for family in FAMILIES {
            assert!(text.contains(&format!("# TYPE {} ", family.name)), "{}", family.name);
            assert!(
                family.name.starts_with("docent_")
                    && family.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{}",
                family.name
            );
            assert_eq!(
                family.kind == Kind::Counter,
                family.name.ends_with("_total"),
                "counters and only counters end in _total: {}",
                family.name
            );
        }
        assert!(text.contains("docent_index_documents 7\n"));
        assert!(text.contains("docent_crawl_backlog{priority=\"high\"} 3\n"));
    }
}
