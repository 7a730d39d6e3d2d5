-- URLs a crawl found after it had reached max_pages, so it never fetched them: reported with the
-- job as `pages.left_out`, so a crawl cut short says so.
CREATE TABLE IF NOT EXISTS crawl_left_out (
    job_id TEXT NOT NULL,
    url_key TEXT NOT NULL,
    url TEXT NOT NULL,
    PRIMARY KEY (job_id, url_key));
