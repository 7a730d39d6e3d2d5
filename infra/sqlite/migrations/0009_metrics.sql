-- Cumulative metric values, one row per series: every instance adds its deltas with one upsert
-- per flush, so /metrics is exact whichever instance is scraped. `labels` is the label set as the
-- Prometheus text format writes it; histogram buckets are stored per bucket (not cumulative).
CREATE TABLE IF NOT EXISTS metrics (
    name TEXT NOT NULL,
    labels TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (name, labels));
