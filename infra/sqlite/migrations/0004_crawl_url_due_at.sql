-- When a deferred or retried URL's message is due back, so the sweep does not take a job that is
-- only waiting (Retry-After, an open circuit, a long Crawl-delay) for one whose messages were lost.
ALTER TABLE crawl_urls ADD COLUMN due_at INTEGER;
CREATE INDEX IF NOT EXISTS crawl_urls_job_due ON crawl_urls (job_id, due_at);
