-- What kind of page a document is, for ranking (core::domain::PageSignals): the share of its text
-- in link entries (a table of contents, an index), and in code blocks. Pages stored before this
-- migration read 0 until a crawl stores them again (their content hash now covers the signals, so
-- the next crawl does).
ALTER TABLE documents ADD COLUMN link_list_percent INTEGER NOT NULL DEFAULT 0;

ALTER TABLE documents ADD COLUMN code_text_percent INTEGER NOT NULL DEFAULT 0;
