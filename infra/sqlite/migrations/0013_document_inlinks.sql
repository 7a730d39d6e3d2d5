-- How many other indexed pages link to each page (core::domain::PageSignals::inlinks), counted from
-- the stored links when a crawl ends. Pages read 0 until the next crawl's end counts them.
ALTER TABLE documents ADD COLUMN inlinks INTEGER NOT NULL DEFAULT 0;
