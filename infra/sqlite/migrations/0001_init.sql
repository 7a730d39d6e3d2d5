-- Docent's store on SQLite (D1, Spin's SQLite, rusqlite natively): the schema of the first release.
-- Postgres has the same tables (infra/postgres/migrations); here lexical search is an FTS5 index
-- kept in step with chunks by triggers.
--
-- Statements end with ";" at the end of a line, and the migrator splits on that (a CREATE TRIGGER
-- runs to its "END;"). Every statement here is idempotent: databases made by the first releases
-- have these tables without any record of them, and take this file as their first migration.
-- Later changes are further files, applied once each and recorded in docent_migrations.

CREATE TABLE IF NOT EXISTS docent_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);

INSERT INTO docent_meta (key, value) VALUES ('index_version', 0) ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS crawl_jobs (
    id TEXT PRIMARY KEY,
    start_url TEXT NOT NULL,
    status TEXT NOT NULL,
    priority TEXT NOT NULL,
    max_pages INTEGER NOT NULL,
    max_depth INTEGER NOT NULL,
    include_globs TEXT NOT NULL,
    exclude_globs TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER);

CREATE INDEX IF NOT EXISTS crawl_jobs_created ON crawl_jobs (created_at);

CREATE TABLE IF NOT EXISTS crawl_urls (
    job_id TEXT NOT NULL,
    url_key TEXT NOT NULL,
    url TEXT NOT NULL,
    depth INTEGER NOT NULL,
    parent_key TEXT,
    state TEXT NOT NULL,
    fetched INTEGER NOT NULL DEFAULT 0,
    detail TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (job_id, url_key));

CREATE INDEX IF NOT EXISTS crawl_urls_state ON crawl_urls (state, updated_at);

CREATE INDEX IF NOT EXISTS crawl_urls_parent ON crawl_urls (job_id, parent_key);

CREATE TABLE IF NOT EXISTS crawl_attempts (
    job_id TEXT NOT NULL,
    url_key TEXT NOT NULL,
    failures INTEGER NOT NULL,
    last_error TEXT NOT NULL,
    PRIMARY KEY (job_id, url_key));

CREATE TABLE IF NOT EXISTS dead_letters (
    job_id TEXT NOT NULL,
    url_key TEXT NOT NULL,
    url TEXT NOT NULL,
    depth INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    reason TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (job_id, url_key));

CREATE INDEX IF NOT EXISTS dead_letters_at ON dead_letters (at);

CREATE TABLE IF NOT EXISTS documents (
    url_key TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    title TEXT NOT NULL,
    lang TEXT,
    content_hash TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    job_id TEXT,
    links TEXT NOT NULL DEFAULT '[]',
    indexed_at INTEGER NOT NULL);

CREATE TABLE IF NOT EXISTS page_sightings (job_id TEXT NOT NULL, url_key TEXT NOT NULL, PRIMARY KEY (job_id, url_key));

CREATE TABLE IF NOT EXISTS crawl_truncated (job_id TEXT PRIMARY KEY);

CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY,
    url_key TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    url TEXT NOT NULL,
    title TEXT NOT NULL,
    heading TEXT NOT NULL,
    text TEXT NOT NULL);

CREATE INDEX IF NOT EXISTS chunks_document ON chunks (url_key);

-- External-content FTS5 index over chunks; the triggers keep it in step inside the same
-- transaction.
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    title, heading, text, content='chunks', content_rowid='rowid', tokenize='porter unicode61');

CREATE TRIGGER IF NOT EXISTS chunks_fts_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts (rowid, title, heading, text) VALUES (new.rowid, new.title, new.heading, new.text);
END;

CREATE TRIGGER IF NOT EXISTS chunks_fts_delete AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts (chunks_fts, rowid, title, heading, text)
    VALUES ('delete', old.rowid, old.title, old.heading, old.text);
END;

CREATE TABLE IF NOT EXISTS tickets (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    subject TEXT NOT NULL,
    description TEXT NOT NULL,
    email TEXT,
    assignee TEXT,
    transcript TEXT NOT NULL,
    sources TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    revision TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL);

CREATE INDEX IF NOT EXISTS tickets_status ON tickets (status, updated_at);

CREATE TABLE IF NOT EXISTS ticket_comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id TEXT NOT NULL,
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    at INTEGER NOT NULL);

CREATE INDEX IF NOT EXISTS ticket_comments_ticket ON ticket_comments (ticket_id, id);

CREATE TABLE IF NOT EXISTS ticket_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL);

CREATE INDEX IF NOT EXISTS ticket_audit_ticket ON ticket_audit (ticket_id, id);
