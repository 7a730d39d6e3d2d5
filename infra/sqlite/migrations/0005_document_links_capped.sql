-- Whether a document's stored links stop short of the page's (a crawl through them is partial).
ALTER TABLE documents ADD COLUMN links_capped INTEGER NOT NULL DEFAULT 0;
