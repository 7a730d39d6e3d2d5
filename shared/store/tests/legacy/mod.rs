//! The SQLite schema as the store created it before its migrations became files (up to commit
//! a71a48c): `SCHEMA`, run in full at every start-up, then `MIGRATIONS` counted in
//! `docent_meta.schema_version`. Kept verbatim so the tests can build the databases deployed
//! today and check that they upgrade.

use docent_core::ports::{SqlDatabase, Statement};

/// The schema, one statement each (D1 prepares statements one at a time). Every statement is
/// idempotent, so the whole list can run at start-up on every platform.
pub const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS docent_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "INSERT INTO docent_meta (key, value) VALUES ('index_version', 0) ON CONFLICT DO NOTHING",
    "INSERT INTO docent_meta (key, value) VALUES ('schema_version', 0) ON CONFLICT DO NOTHING",
    "CREATE TABLE IF NOT EXISTS crawl_jobs (
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
        finished_at INTEGER)",
    "CREATE INDEX IF NOT EXISTS crawl_jobs_created ON crawl_jobs (created_at)",
    "CREATE TABLE IF NOT EXISTS crawl_urls (
        job_id TEXT NOT NULL,
        url_key TEXT NOT NULL,
        url TEXT NOT NULL,
        depth INTEGER NOT NULL,
        parent_key TEXT,
        state TEXT NOT NULL,
        fetched INTEGER NOT NULL DEFAULT 0,
        detail TEXT,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (job_id, url_key))",
    "CREATE INDEX IF NOT EXISTS crawl_urls_state ON crawl_urls (state, updated_at)",
    "CREATE INDEX IF NOT EXISTS crawl_urls_parent ON crawl_urls (job_id, parent_key)",
    "CREATE TABLE IF NOT EXISTS crawl_attempts (
        job_id TEXT NOT NULL,
        url_key TEXT NOT NULL,
        failures INTEGER NOT NULL,
        last_error TEXT NOT NULL,
        PRIMARY KEY (job_id, url_key))",
    "CREATE TABLE IF NOT EXISTS dead_letters (
        job_id TEXT NOT NULL,
        url_key TEXT NOT NULL,
        url TEXT NOT NULL,
        depth INTEGER NOT NULL,
        attempts INTEGER NOT NULL,
        reason TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (job_id, url_key))",
    "CREATE INDEX IF NOT EXISTS dead_letters_at ON dead_letters (at)",
    "CREATE TABLE IF NOT EXISTS documents (
        url_key TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        title TEXT NOT NULL,
        lang TEXT,
        content_hash TEXT NOT NULL,
        etag TEXT,
        last_modified TEXT,
        job_id TEXT,
        links TEXT NOT NULL DEFAULT '[]',
        indexed_at INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS page_sightings (job_id TEXT NOT NULL, url_key TEXT NOT NULL, PRIMARY KEY (job_id, url_key))",
    "CREATE TABLE IF NOT EXISTS crawl_truncated (job_id TEXT PRIMARY KEY)",
    "CREATE TABLE IF NOT EXISTS chunks (
        id TEXT PRIMARY KEY,
        url_key TEXT NOT NULL,
        ordinal INTEGER NOT NULL,
        url TEXT NOT NULL,
        title TEXT NOT NULL,
        heading TEXT NOT NULL,
        text TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS chunks_document ON chunks (url_key)",
    // External-content FTS5 index over chunks; the triggers keep it in step inside the same
    // transaction.
    "CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
        title, heading, text, content='chunks', content_rowid='rowid', tokenize='porter unicode61')",
    "CREATE TRIGGER IF NOT EXISTS chunks_fts_insert AFTER INSERT ON chunks BEGIN
        INSERT INTO chunks_fts (rowid, title, heading, text) VALUES (new.rowid, new.title, new.heading, new.text);
     END",
    "CREATE TRIGGER IF NOT EXISTS chunks_fts_delete AFTER DELETE ON chunks BEGIN
        INSERT INTO chunks_fts (chunks_fts, rowid, title, heading, text)
        VALUES ('delete', old.rowid, old.title, old.heading, old.text);
     END",
    "CREATE TABLE IF NOT EXISTS tickets (
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
        updated_at INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS tickets_status ON tickets (status, updated_at)",
    "CREATE TABLE IF NOT EXISTS ticket_comments (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ticket_id TEXT NOT NULL,
        author TEXT NOT NULL,
        text TEXT NOT NULL,
        at INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ticket_comments_ticket ON ticket_comments (ticket_id, id)",
    "CREATE TABLE IF NOT EXISTS ticket_audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ticket_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ticket_audit_ticket ON ticket_audit (ticket_id, id)",
];

/// Changes to tables that already exist, in order; `schema_version` in `docent_meta` counts how
/// many have been applied. Append only: a deployed database has run every earlier entry.
pub const MIGRATIONS: &[&[&str]] = &[
    // 1: sitemap <lastmod> and the redirect hop count travel with a queued URL.
    // The cron sweep looks for jobs without progress, not for URLs that merely waited their turn.
    &[
        "ALTER TABLE crawl_urls ADD COLUMN lastmod_ms INTEGER",
        "ALTER TABLE crawl_urls ADD COLUMN redirects INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE crawl_jobs ADD COLUMN swept_at INTEGER",
        "CREATE INDEX IF NOT EXISTS crawl_urls_job_updated ON crawl_urls (job_id, updated_at)",
    ],
    // 2: chunk embeddings, as sign bits (hex) for the first pass and int8 (base64) for rescoring. A
    // trigger removes a chunk's vector with the chunk, whichever path deletes it.
    &[
        "CREATE TABLE IF NOT EXISTS chunk_vectors (
            chunk_id TEXT PRIMARY KEY,
            url_key TEXT NOT NULL,
            model TEXT NOT NULL,
            bits TEXT NOT NULL,
            int8 TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS chunk_vectors_model ON chunk_vectors (model)",
        "CREATE TRIGGER IF NOT EXISTS chunk_vectors_follow_chunks AFTER DELETE ON chunks BEGIN
            DELETE FROM chunk_vectors WHERE chunk_id = old.id;
         END",
    ],
    // 3: when a deferred or retried URL's message is due back, so the sweep does not take a job
    // that is only waiting (Retry-After, an open circuit, a long Crawl-delay) for one whose
    // messages were lost.
    &[
        "ALTER TABLE crawl_urls ADD COLUMN due_at INTEGER",
        "CREATE INDEX IF NOT EXISTS crawl_urls_job_due ON crawl_urls (job_id, due_at)",
    ],
    // 4: whether a document's stored links stop short of the page's (a crawl through them is
    // partial).
    &["ALTER TABLE documents ADD COLUMN links_capped INTEGER NOT NULL DEFAULT 0"],
    // 5: ratings of answers, and model usage and cost per day.
    &[
        "CREATE TABLE IF NOT EXISTS feedback (
            id TEXT PRIMARY KEY,
            answer_id TEXT NOT NULL UNIQUE,
            session_id TEXT,
            rating TEXT NOT NULL,
            comment TEXT,
            question TEXT NOT NULL,
            answer TEXT NOT NULL,
            created_at INTEGER NOT NULL)",
        "CREATE INDEX IF NOT EXISTS feedback_created ON feedback (created_at)",
        "CREATE TABLE IF NOT EXISTS llm_usage_daily (
            day TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            requests INTEGER NOT NULL DEFAULT 0,
            failures INTEGER NOT NULL DEFAULT 0,
            prompt_tokens INTEGER NOT NULL DEFAULT 0,
            completion_tokens INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL NOT NULL DEFAULT 0,
            PRIMARY KEY (day, provider, model))",
    ],
];

/// A database as that code left it with the first `applied` migrations: `SCHEMA`, then each
/// migration in one transaction with its version bump.
pub async fn create(db: &impl SqlDatabase, applied: usize) {
    let schema: Vec<Statement> = SCHEMA.iter().map(|sql| Statement::new(*sql, vec![])).collect();
    db.batch(&schema).await.unwrap();
    for (version, migration) in MIGRATIONS.iter().take(applied).enumerate() {
        let mut statements: Vec<Statement> =
            migration.iter().map(|sql| Statement::new(*sql, vec![])).collect();
        statements.push(Statement::new(
            "UPDATE docent_meta SET value = value + 1 WHERE key = 'schema_version' AND value = ?1",
            vec![(version as u64).into()],
        ));
        db.batch(&statements).await.unwrap();
    }
}
