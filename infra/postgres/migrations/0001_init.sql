-- Docent's store on Postgres: the same tables as the SQLite/D1 store (infra/sqlite/migrations), with
-- a generated tsvector and a GIN index for lexical search, and pgvector for embeddings.
-- Statements end with ";" at the end of a line: the migrator splits on that.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE docent_meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL);
INSERT INTO docent_meta (key, value) VALUES ('index_version', 0) ON CONFLICT DO NOTHING;

CREATE TABLE crawl_jobs (
    id TEXT PRIMARY KEY,
    start_url TEXT NOT NULL,
    status TEXT NOT NULL,
    priority TEXT NOT NULL,
    max_pages INTEGER NOT NULL,
    max_depth INTEGER NOT NULL,
    include_globs TEXT NOT NULL,
    exclude_globs TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT,
    swept_at BIGINT);
CREATE INDEX crawl_jobs_created ON crawl_jobs (created_at);

CREATE TABLE crawl_urls (
    job_id TEXT NOT NULL,
    url_key TEXT NOT NULL,
    url TEXT NOT NULL,
    depth INTEGER NOT NULL,
    parent_key TEXT,
    state TEXT NOT NULL,
    fetched INTEGER NOT NULL DEFAULT 0,
    detail TEXT,
    updated_at BIGINT NOT NULL,
    lastmod_ms BIGINT,
    redirects INTEGER NOT NULL DEFAULT 0,
    due_at BIGINT,
    PRIMARY KEY (job_id, url_key));
CREATE INDEX crawl_urls_state ON crawl_urls (state, updated_at);
CREATE INDEX crawl_urls_parent ON crawl_urls (job_id, parent_key);
CREATE INDEX crawl_urls_job_updated ON crawl_urls (job_id, updated_at);
CREATE INDEX crawl_urls_job_due ON crawl_urls (job_id, due_at);

CREATE TABLE crawl_attempts (
    job_id TEXT NOT NULL,
    url_key TEXT NOT NULL,
    failures INTEGER NOT NULL,
    last_error TEXT NOT NULL,
    PRIMARY KEY (job_id, url_key));

CREATE TABLE dead_letters (
    job_id TEXT NOT NULL,
    url_key TEXT NOT NULL,
    url TEXT NOT NULL,
    depth INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    reason TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (job_id, url_key));
CREATE INDEX dead_letters_at ON dead_letters (at);

CREATE TABLE documents (
    url_key TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    title TEXT NOT NULL,
    lang TEXT,
    content_hash TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    job_id TEXT,
    links TEXT NOT NULL DEFAULT '[]',
    links_capped INTEGER NOT NULL DEFAULT 0,
    indexed_at BIGINT NOT NULL);

CREATE TABLE page_sightings (job_id TEXT NOT NULL, url_key TEXT NOT NULL, PRIMARY KEY (job_id, url_key));
CREATE TABLE crawl_truncated (job_id TEXT PRIMARY KEY);

-- Text search as the SQLite store's FTS5 `porter unicode61` tokenizer does it: English stemming and
-- no stopword list (Docent drops question words itself, in core::search::query_terms; words such as
-- "under" or "only" can be what a passage is about).
CREATE TEXT SEARCH DICTIONARY docent_stem (TEMPLATE = snowball, Language = english);
CREATE TEXT SEARCH CONFIGURATION docent (COPY = english);
ALTER TEXT SEARCH CONFIGURATION docent ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH docent_stem;

-- The lexical index: title, heading and body weighted A, B and D (ranked 1.0, 0.625 and 0.25, the
-- ratios of the SQLite store's BM25 column weights 4 : 2.5 : 1).
CREATE TABLE chunks (
    id TEXT PRIMARY KEY,
    url_key TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    url TEXT NOT NULL,
    title TEXT NOT NULL,
    heading TEXT NOT NULL,
    text TEXT NOT NULL,
    search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('docent', title), 'A') ||
        setweight(to_tsvector('docent', heading), 'B') ||
        setweight(to_tsvector('docent', text), 'D')) STORED);
CREATE INDEX chunks_document ON chunks (url_key);
CREATE INDEX chunks_search ON chunks USING GIN (search);

-- Embeddings of any dimension; each model gets a partial HNSW index on its dimension when its first
-- vectors are stored (the store creates it). A chunk's vector goes with the chunk.
CREATE TABLE chunk_vectors (
    chunk_id TEXT PRIMARY KEY REFERENCES chunks (id) ON DELETE CASCADE,
    url_key TEXT NOT NULL,
    model TEXT NOT NULL,
    embedding vector NOT NULL);
CREATE INDEX chunk_vectors_model ON chunk_vectors (model);
-- Settings for every session of this database (or of Docent's role, without the privilege):
-- - an HNSW scan returns at most hnsw.ef_search rows (40 by default); hybrid search asks for up to 150;
-- - a prepared statement's generic plan ignores what its parameters say (no URL prefix, which words),
--   and made lexical search 2.5 times slower on the evaluation set (docs/BENCHMARKS.md): plan each
--   execution for its values instead.
DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET hnsw.ef_search = 200', current_database()); EXECUTE format('ALTER DATABASE %I SET plan_cache_mode = force_custom_plan', current_database()); EXCEPTION WHEN insufficient_privilege THEN RAISE WARNING 'cannot change settings of the database: run ALTER ROLE <docent role> SET hnsw.ef_search = 200 and ALTER ROLE <docent role> SET plan_cache_mode = force_custom_plan'; END $$;

CREATE TABLE tickets (
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
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL);
CREATE INDEX tickets_status ON tickets (status, updated_at);

CREATE TABLE ticket_comments (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    ticket_id TEXT NOT NULL,
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    at BIGINT NOT NULL);
CREATE INDEX ticket_comments_ticket ON ticket_comments (ticket_id, id);

CREATE TABLE ticket_audit (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    ticket_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL);
CREATE INDEX ticket_audit_ticket ON ticket_audit (ticket_id, id);

CREATE TABLE feedback (
    id TEXT PRIMARY KEY,
    answer_id TEXT NOT NULL UNIQUE,
    session_id TEXT,
    rating TEXT NOT NULL,
    comment TEXT,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    created_at BIGINT NOT NULL);
CREATE INDEX feedback_created ON feedback (created_at);

CREATE TABLE llm_usage_daily (
    day TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    requests BIGINT NOT NULL DEFAULT 0,
    failures BIGINT NOT NULL DEFAULT 0,
    prompt_tokens BIGINT NOT NULL DEFAULT 0,
    completion_tokens BIGINT NOT NULL DEFAULT 0,
    cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (day, provider, model));

-- The crawl task queue for platforms without a managed queue (shared/store/src/tasks.rs); drainers
-- claim with FOR UPDATE SKIP LOCKED.
CREATE TABLE crawl_tasks (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    tier INTEGER NOT NULL,
    due_ms BIGINT NOT NULL,
    lease_until_ms BIGINT NOT NULL DEFAULT 0,
    lease_token TEXT,
    retries INTEGER NOT NULL DEFAULT 0,
    dead INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL);
CREATE INDEX crawl_tasks_due ON crawl_tasks (tier, due_ms);
