-- Requests per client, limit and window for the public routes' limits: counted by one atomic
-- upsert per request, so concurrent requests from any instance are each counted.
CREATE TABLE IF NOT EXISTS rate_counters (
    counter TEXT NOT NULL,
    window_start_ms BIGINT NOT NULL,
    requests BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    PRIMARY KEY (counter, window_start_ms));
CREATE INDEX IF NOT EXISTS rate_counters_expiry ON rate_counters (expires_ms);
