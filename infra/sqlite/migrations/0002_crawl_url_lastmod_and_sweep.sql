-- A sitemap <lastmod> and the redirect hop count travel with a queued URL. The cron sweep looks
-- for jobs without progress, not for URLs that merely waited their turn.
ALTER TABLE crawl_urls ADD COLUMN lastmod_ms INTEGER;
ALTER TABLE crawl_urls ADD COLUMN redirects INTEGER NOT NULL DEFAULT 0;
ALTER TABLE crawl_jobs ADD COLUMN swept_at INTEGER;
CREATE INDEX IF NOT EXISTS crawl_urls_job_updated ON crawl_urls (job_id, updated_at);
