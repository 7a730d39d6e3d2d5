//! The crawl, document, vector, answer and ticket stores on SQL: SQLite (D1 on Cloudflare, Spin's
//! SQLite, rusqlite natively) or Postgres with pgvector. One set of queries, so every platform
//! indexes identically; where the dialects differ (full-text search, vectors, JSON rows) each gets
//! its own statement, chosen by [`SqlDatabase::dialect`]. The SQLite schema is [`SCHEMA`] plus
//! [`MIGRATIONS`]; the Postgres schema is the versioned files in `infra/postgres/migrations`
//! ([`POSTGRES_MIGRATIONS`]).
//!
//! Idempotence: crawl state is keyed by (job, url key) and only moves out of `queued` once; a
//! document is keyed by url key and rewritten only when its content hash changes. Redelivered queue
//! messages therefore change nothing.

// The store traits are used with static dispatch on single-threaded runtimes, like the core's
// ports.
#![allow(async_fn_in_trait)]

pub mod api;
pub mod sql_gate;
pub mod tasks;
pub mod vectorize;

use serde_json::Value;

use crate::api::{CrawlStore, DocumentStore, IndexCounts, TicketStore, TicketUpdate, VectorStore};
use docent_core::domain::{
    format_timestamp, CrawlJob, CrawlMessage, DeadLetter, DocumentMeta, IndexedDocument, JobStatus,
    NewCrawlJob, PageCounts, Priority, UrlOutcome, UrlState,
};
use docent_core::escalation::tickets::{
    AuditEntry, NewTicket, Ticket, TicketChange, TicketComment, TicketStatus,
};
use docent_core::ports::{
    PortError, PortResult, Row, SqlDatabase, SqlDialect, SqlValue, Statement,
};
use docent_core::retrieval::embed::{hamming, QuantizedVector};
use docent_core::retrieval::search::{fts5_match_expression, tsquery_words, SearchHit};

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

/// URLs recorded per statement by `add_discovered` (about 100 KB of JSON).
const DISCOVERED_PER_STATEMENT: usize = 500;

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

/// The Postgres schema, one file per version (`infra/postgres/migrations/NNNN_name.sql`), applied
/// in order by [`SqlStore::ensure_schema`] (and `docent migrate`); `docent_migrations` records each
/// one. Append only.
pub const POSTGRES_MIGRATIONS: &[(&str, &str)] =
    &[("0001_init", include_str!("../../../infra/postgres/migrations/0001_init.sql"))];

/// BM25 column weights for (title, heading, text): a match in a page title or section heading says
/// more about what the chunk is about than one in its body.
const BM25_WEIGHTS: (f64, f64, f64) = (4.0, 2.5, 1.0);

/// Postgres lexical search: BM25 as the SQLite store's FTS5 computes it, over the stored
/// `tsvector`. Postgres has no BM25, and `ts_rank` (no IDF, no saturation relative to the average
/// length) ranked far worse on the evaluation set (docs/BENCHMARKS.md). The CTEs, ending in `scored
/// (id, score)`:
/// - `lexemes`: the query's words (`?1`, from [`tsquery_words`]) as the index stores them;
/// - `stats`: the chunk count (planner statistics, or exact while under 1,000 or never analysed)
///   and the average chunk length in lexemes, from a sample of 1,000 chunks;
/// - `terms`: each lexeme's IDF, its document frequency counted through the GIN index;
/// - `candidates`: the 300 best chunks by IDF-weighted `ts_rank` (twice the longest list asked
///   for), with the URL prefix (`?3`) applied, so the exact scoring below reads a bounded number of
///   tsvectors however common a word is;
/// - `scored`: BM25 (k1 = 1.2, b = 0.75) with the term frequency weighted by field as FTS5's column
///   weights do (title 4, heading 2.5, body 1: the tsvector's weights A, B and D).
const POSTGRES_BM25: &str = "lexemes AS (SELECT DISTINCT lexeme FROM unnest(to_tsvector('docent', ?1))),
     stats AS (SELECT CASE WHEN reltuples < 1000 THEN (SELECT count(*) FROM chunks)::float8 ELSE reltuples::float8 END AS n,
                      (SELECT greatest(avg(length(search)), 1)::float8 FROM (SELECT search FROM chunks LIMIT 1000) AS sample) AS avgdl
               FROM pg_class WHERE oid = 'chunks'::regclass),
     terms AS (SELECT l.lexeme, quote_literal(l.lexeme)::tsquery AS q,
                      ln(1 + (greatest(stats.n, d.df) - d.df + 0.5) / (d.df + 0.5)) AS idf
               FROM lexemes l CROSS JOIN stats
               CROSS JOIN LATERAL (SELECT count(*)::float8 AS df FROM chunks WHERE search @@ quote_literal(l.lexeme)::tsquery) AS d),
     candidates AS (SELECT c.id FROM chunks c JOIN terms ON c.search @@ terms.q
                    WHERE (?3::text IS NULL OR substr(c.url, 1, length(?3)) = ?3)
                    GROUP BY c.id ORDER BY SUM(terms.idf * ts_rank(c.search, terms.q)) DESC, c.id LIMIT 300),
     scored AS (SELECT c.id, SUM(t.idf * f.tf * 2.2 / (f.tf + 1.2 * (0.25 + 0.75 * length(c.search) / stats.avgdl)))::float8 AS score
                FROM candidates k JOIN chunks c ON c.id = k.id CROSS JOIN stats
                CROSS JOIN LATERAL unnest(c.search) AS u
                JOIN terms t ON t.lexeme = u.lexeme
                CROSS JOIN LATERAL (SELECT SUM(CASE w WHEN 'A' THEN 4.0 WHEN 'B' THEN 2.5 ELSE 1.0 END) AS tf FROM unnest(u.weights) AS w) AS f
                GROUP BY c.id)";

pub struct SqlStore<D> {
    db: D,
}

impl<D: SqlDatabase> SqlStore<D> {
    pub fn new(db: D) -> Self {
        SqlStore { db }
    }

    pub fn database(&self) -> &D {
        &self.db
    }

    /// Creates missing tables and indexes, and applies pending migrations.
    pub async fn ensure_schema(&self) -> PortResult<()> {
        if self.db.dialect() == SqlDialect::Postgres {
            return self.migrate_postgres().await;
        }
        let statements: Vec<Statement> =
            SCHEMA.iter().map(|sql| Statement::new(*sql, vec![])).collect();
        self.db.batch(&statements).await?;
        loop {
            let applied = self.schema_version().await?;
            let Some(migration) = MIGRATIONS.get(applied as usize) else { return Ok(()) };
            // The version bump is in the same transaction: a migration applies whole or not at all.
            let mut statements: Vec<Statement> =
                migration.iter().map(|sql| Statement::new(*sql, vec![])).collect();
            statements.push(Statement::new(
                "UPDATE docent_meta SET value = value + 1 WHERE key = 'schema_version' AND value = ?1",
                vec![applied.into()],
            ));
            if let Err(error) = self.db.batch(&statements).await {
                // Another instance may have applied it at the same moment (its ALTER won);
                // otherwise fail.
                if self.schema_version().await? == applied {
                    return Err(error);
                }
            }
        }
    }

    /// Applies the [`POSTGRES_MIGRATIONS`] not yet recorded in `docent_migrations`, each in one
    /// transaction with its record. Concurrent migrators queue on an advisory lock; the loser's
    /// statements then fail (the tables exist) and it finds the version already recorded.
    async fn migrate_postgres(&self) -> PortResult<()> {
        self.db
            .batch(&[Statement::new(
                "CREATE TABLE IF NOT EXISTS docent_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
                vec![],
            )])
            .await?;
        loop {
            let applied = self.schema_version().await?;
            let Some((name, script)) = POSTGRES_MIGRATIONS.get(applied as usize) else {
                return Ok(());
            };
            let mut statements =
                vec![Statement::new("SELECT pg_advisory_xact_lock(7355608)", vec![])];
            statements
                .extend(split_script(script).into_iter().map(|sql| Statement::new(sql, vec![])));
            statements.push(Statement::new(
                "INSERT INTO docent_migrations (version, name, applied_at) VALUES (?1, ?2, (extract(epoch from now()) * 1000)::bigint)",
                vec![(applied + 1).into(), (*name).into()],
            ));
            if let Err(error) = self.db.batch(&statements).await {
                if self.schema_version().await? == applied {
                    return Err(PortError {
                        message: format!("migration {name}: {}", error.message),
                        ..error
                    });
                }
            }
        }
    }

    /// How many migrations this database has applied ([`MIGRATIONS`] on SQLite,
    /// [`POSTGRES_MIGRATIONS`] on Postgres).
    pub async fn schema_version(&self) -> PortResult<u64> {
        if self.db.dialect() == SqlDialect::Postgres {
            let rows = self.query("SELECT COUNT(*) FROM docent_migrations", vec![]).await?;
            return rows.first().map(|r| int(r, 0)).transpose().map(|v| v.unwrap_or(0));
        }
        let rows = self
            .query("SELECT value FROM docent_meta WHERE key = 'schema_version'", vec![])
            .await?;
        rows.first().map(|r| int(r, 0)).transpose().map(|v| v.unwrap_or(0))
    }

    async fn query(&self, sql: &str, params: Vec<SqlValue>) -> PortResult<Vec<Row>> {
        self.db.query(&Statement::new(sql, params)).await
    }

    async fn page_counts(&self, job_id: &str) -> PortResult<PageCounts> {
        let rows = self
            .query("SELECT state, COUNT(*), SUM(fetched) FROM crawl_urls WHERE job_id = ?1 GROUP BY state", vec![job_id.into()])
            .await?;
        let mut counts = PageCounts::default();
        for row in rows {
            let n = int(&row, 1)?;
            counts.discovered += n;
            counts.fetched += int(&row, 2)?;
            match UrlState::parse(&text(&row, 0)?) {
                Some(UrlState::Indexed) => counts.indexed += n,
                Some(UrlState::Unchanged) => counts.unchanged += n,
                Some(UrlState::Skipped) => counts.skipped += n,
                Some(UrlState::Failed) => counts.failed += n,
                Some(UrlState::Queued) | None => {}
            }
        }
        Ok(counts)
    }

    async fn job_from_row(&self, row: &Row) -> PortResult<CrawlJob> {
        let id = text(row, 0)?;
        let globs = |i: usize| -> PortResult<Vec<String>> {
            serde_json::from_str(&text(row, i)?)
                .map_err(|e| PortError::permanent(format!("corrupt glob list: {e}")))
        };
        let timestamp = |i: usize| opt_int(row, i).map(format_timestamp);
        let blocked = self
            .query(
                "SELECT COUNT(*) FROM crawl_urls WHERE job_id = ?1 AND state = 'skipped' AND detail = ?2",
                vec![id.as_str().into(), docent_core::domain::ROBOTS_BLOCKED.into()],
            )
            .await?;
        Ok(CrawlJob {
            blocked_by_robots: blocked.first().map(|r| int(r, 0)).transpose()?.unwrap_or(0),
            pages: self.page_counts(&id).await?,
            id,
            url: text(row, 1)?,
            status: JobStatus::parse(&text(row, 2)?)
                .ok_or_else(|| PortError::permanent("corrupt job status"))?,
            priority: Priority::parse(&text(row, 3)?).unwrap_or_default(),
            max_pages: int(row, 4)? as u32,
            max_depth: int(row, 5)? as u32,
            include: globs(6)?,
            exclude: globs(7)?,
            created_at: format_timestamp(int(row, 8)?),
            started_at: timestamp(9),
            finished_at: timestamp(10),
        })
    }
}

const JOB_COLUMNS: &str =
    "id, start_url, status, priority, max_pages, max_depth, include_globs, exclude_globs, created_at, started_at, finished_at";

impl<D: SqlDatabase> CrawlStore for SqlStore<D> {
    async fn create_job(
        &self,
        job: &NewCrawlJob,
        start: &CrawlMessage,
        now_ms: u64,
    ) -> PortResult<()> {
        let globs = |g: &Vec<String>| serde_json::to_string(g).unwrap_or_else(|_| "[]".into());
        self.db
            .batch(&[
                Statement::new(
                    format!("INSERT INTO crawl_jobs ({JOB_COLUMNS}) VALUES (?1, ?2, 'queued', ?3, ?4, ?5, ?6, ?7, ?8, NULL, NULL)"),
                    vec![
                        job.id.as_str().into(),
                        job.start_url.as_str().into(),
                        job.priority.as_str().into(),
                        u64::from(job.max_pages).into(),
                        u64::from(job.max_depth).into(),
                        globs(&job.include).into(),
                        globs(&job.exclude).into(),
                        now_ms.into(),
                    ],
                ),
                Statement::new(
                    "INSERT INTO crawl_urls (job_id, url_key, url, depth, parent_key, state, updated_at)
                     VALUES (?1, ?2, ?3, 0, NULL, 'queued', ?4) ON CONFLICT DO NOTHING",
                    vec![job.id.as_str().into(), start.url_key().into(), start.url.as_str().into(), now_ms.into()],
                ),
            ])
            .await
            .map(|_| ())
    }

    async fn job(&self, id: &str) -> PortResult<Option<CrawlJob>> {
        let rows = self
            .query(&format!("SELECT {JOB_COLUMNS} FROM crawl_jobs WHERE id = ?1"), vec![id.into()])
            .await?;
        match rows.first() {
            Some(row) => Ok(Some(self.job_from_row(row).await?)),
            None => Ok(None),
        }
    }

    async fn recent_jobs(&self, limit: u32) -> PortResult<Vec<CrawlJob>> {
        let rows = self
            .query(
                &format!("SELECT {JOB_COLUMNS} FROM crawl_jobs ORDER BY created_at DESC LIMIT ?1"),
                vec![u64::from(limit).into()],
            )
            .await?;
        let mut jobs = Vec::with_capacity(rows.len());
        for row in &rows {
            jobs.push(self.job_from_row(row).await?);
        }
        Ok(jobs)
    }

    async fn cancel_job(&self, id: &str, now_ms: u64) -> PortResult<bool> {
        let changes = self
            .db
            .batch(&[
                Statement::new(
                    "UPDATE crawl_jobs SET status = 'cancelled', finished_at = ?2 WHERE id = ?1 AND status IN ('queued', 'running')",
                    vec![id.into(), now_ms.into()],
                ),
                Statement::new(
                    "UPDATE crawl_urls SET state = 'skipped', detail = 'cancelled', updated_at = ?2
                     WHERE job_id = ?1 AND state = 'queued'
                       AND EXISTS (SELECT 1 FROM crawl_jobs WHERE id = ?1 AND status = 'cancelled')",
                    vec![id.into(), now_ms.into()],
                ),
            ])
            .await?;
        Ok(changes.first().copied().unwrap_or(0) > 0)
    }

    async fn mark_job_running(&self, id: &str, now_ms: u64) -> PortResult<()> {
        self.db
            .batch(&[Statement::new(
                "UPDATE crawl_jobs SET status = 'running', started_at = ?2 WHERE id = ?1 AND status = 'queued'",
                vec![id.into(), now_ms.into()],
            )])
            .await
            .map(|_| ())
    }

    async fn url_state(&self, job_id: &str, url_key: &str) -> PortResult<Option<UrlState>> {
        let rows = self
            .query(
                "SELECT state FROM crawl_urls WHERE job_id = ?1 AND url_key = ?2",
                vec![job_id.into(), url_key.into()],
            )
            .await?;
        Ok(rows.first().and_then(|r| r.first()).and_then(Value::as_str).and_then(UrlState::parse))
    }

    async fn add_discovered(
        &self,
        parent: &CrawlMessage,
        found: &[CrawlMessage],
        max_pages: u32,
        now_ms: u64,
    ) -> PortResult<()> {
        // Candidates beyond the capacity left are dropped first, so a full job costs one read.
        let recorded = self
            .query(
                "SELECT COUNT(*) FROM crawl_urls WHERE job_id = ?1",
                vec![parent.job.as_str().into()],
            )
            .await?;
        let room = u64::from(max_pages)
            .saturating_sub(recorded.first().map(|r| int(r, 0)).transpose()?.unwrap_or(0));
        if room == 0 {
            return Ok(());
        }
        // Already-recorded URLs do not use room, so the SQL LIMIT (not a cut here) decides what
        // fits.
        let mut seen = std::collections::HashSet::new();
        let found: Vec<&CrawlMessage> = found.iter().filter(|m| seen.insert(m.url_key())).collect();
        let mut inserted = 0;
        // A group of URLs travels as one JSON parameter (D1 binds at most 100 parameters). The cap
        // check and the insert are one statement, so concurrent consumers can never push a job past
        // max_pages: the LIMIT is the room left when the statement runs, and only URLs not yet
        // recorded count.
        for group in found.chunks(DISCOVERED_PER_STATEMENT) {
            let rows: Vec<serde_json::Value> = group
                .iter()
                .map(|m| {
                    serde_json::json!([m.url_key(), m.url, m.depth, m.lastmod_ms, m.redirects])
                })
                .collect();
            let sql = match self.db.dialect() {
                SqlDialect::Sqlite => {
                    "INSERT OR IGNORE INTO crawl_urls (job_id, url_key, url, depth, parent_key, state, updated_at, lastmod_ms, redirects)
                     SELECT ?1, json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), ?2, 'queued', ?3,
                            json_extract(value, '$[3]'), json_extract(value, '$[4]')
                     FROM json_each(?4)
                     WHERE NOT EXISTS (SELECT 1 FROM crawl_urls u WHERE u.job_id = ?1 AND u.url_key = json_extract(value, '$[0]'))
                       AND EXISTS (SELECT 1 FROM crawl_jobs WHERE id = ?1 AND status IN ('queued', 'running'))
                     LIMIT max(0, ?5 - (SELECT COUNT(*) FROM crawl_urls WHERE job_id = ?1))"
                }
                // Two consumers adding children of one job could each see room for the same slots;
                // the row lock on the job makes them take turns, as SQLite's single writer does.
                SqlDialect::Postgres => {
                    "INSERT INTO crawl_urls (job_id, url_key, url, depth, parent_key, state, updated_at, lastmod_ms, redirects)
                     SELECT ?1, e->>0, e->>1, (e->>2)::integer, ?2, 'queued', ?3, (e->>3)::bigint, (e->>4)::integer
                     FROM jsonb_array_elements((?4::text)::jsonb) AS e
                     WHERE NOT EXISTS (SELECT 1 FROM crawl_urls u WHERE u.job_id = ?1 AND u.url_key = e->>0)
                       AND EXISTS (SELECT 1 FROM crawl_jobs WHERE id = ?1 AND status IN ('queued', 'running') FOR UPDATE)
                     LIMIT greatest(0, ?5 - (SELECT COUNT(*) FROM crawl_urls WHERE job_id = ?1))
                     ON CONFLICT DO NOTHING"
                }
            };
            let statement = Statement::new(
                sql,
                vec![
                    parent.job.as_str().into(),
                    parent.url_key().into(),
                    now_ms.into(),
                    serde_json::Value::Array(rows).to_string().into(),
                    u64::from(max_pages).into(),
                ],
            );
            inserted += self
                .db
                .batch(std::slice::from_ref(&statement))
                .await?
                .first()
                .copied()
                .unwrap_or(0);
            if inserted >= room {
                break;
            }
        }
        Ok(())
    }

    async fn queued_children(&self, parent: &CrawlMessage) -> PortResult<Vec<CrawlMessage>> {
        let rows = self
            .query(
                "SELECT url, depth, lastmod_ms, redirects FROM crawl_urls WHERE job_id = ?1 AND parent_key = ?2 AND state = 'queued'",
                vec![parent.job.as_str().into(), parent.url_key().into()],
            )
            .await?;
        rows.iter()
            .map(|row| {
                let mut message = CrawlMessage::new(
                    &parent.job,
                    &text(row, 0)?,
                    int(row, 1)? as u32,
                    parent.priority,
                );
                message.lastmod_ms = row.get(2).and_then(Value::as_u64);
                message.redirects = int(row, 3)? as u32;
                Ok(message)
            })
            .collect()
    }

    async fn finish_url(
        &self,
        message: &CrawlMessage,
        outcome: &UrlOutcome,
        now_ms: u64,
    ) -> PortResult<bool> {
        let changes = self
            .db
            .batch(&[
                Statement::new(
                    "UPDATE crawl_urls SET state = ?3, fetched = ?4, detail = ?5, updated_at = ?6
                     WHERE job_id = ?1 AND url_key = ?2 AND state = 'queued'",
                    vec![
                        message.job.as_str().into(),
                        message.url_key().into(),
                        outcome.state.as_str().into(),
                        i64::from(outcome.fetched).into(),
                        outcome.detail.clone().into(),
                        now_ms.into(),
                    ],
                ),
                // The job ends when no URL is left queued. Children are recorded before their
                // parent finishes, so "none queued" really means the crawl is complete.
                Statement::new(
                    "UPDATE crawl_jobs SET finished_at = ?2,
                       status = CASE WHEN EXISTS (SELECT 1 FROM crawl_urls WHERE job_id = ?1 AND state <> 'failed')
                                THEN 'done' ELSE 'failed' END
                     WHERE id = ?1 AND status IN ('queued', 'running')
                       AND NOT EXISTS (SELECT 1 FROM crawl_urls WHERE job_id = ?1 AND state = 'queued')",
                    vec![message.job.as_str().into(), now_ms.into()],
                ),
            ])
            .await?;
        Ok(changes.get(1).copied().unwrap_or(0) > 0)
    }

    async fn mark_truncated(&self, job_id: &str) -> PortResult<()> {
        self.db
            .batch(&[Statement::new(
                "INSERT INTO crawl_truncated (job_id) VALUES (?1) ON CONFLICT DO NOTHING",
                vec![job_id.into()],
            )])
            .await
            .map(|_| ())
    }

    async fn note_due(&self, message: &CrawlMessage, due_at_ms: u64) -> PortResult<()> {
        let statement = Statement::new(
            "UPDATE crawl_urls SET due_at = ?3 WHERE job_id = ?1 AND url_key = ?2 AND state = 'queued'",
            vec![message.job.as_str().into(), message.url_key().into(), due_at_ms.into()],
        );
        self.db.batch(std::slice::from_ref(&statement)).await.map(|_| ())
    }

    async fn was_truncated(&self, job_id: &str) -> PortResult<bool> {
        Ok(!self
            .query("SELECT 1 FROM crawl_truncated WHERE job_id = ?1", vec![job_id.into()])
            .await?
            .is_empty())
    }

    async fn record_failure(&self, message: &CrawlMessage, reason: &str) -> PortResult<u32> {
        let params = vec![message.job.as_str().into(), message.url_key().into(), reason.into()];
        self.db
            .batch(&[Statement::new(
                "INSERT INTO crawl_attempts (job_id, url_key, failures, last_error) VALUES (?1, ?2, 1, ?3)
                 ON CONFLICT (job_id, url_key) DO UPDATE SET failures = crawl_attempts.failures + 1, last_error = excluded.last_error",
                params,
            )])
            .await?;
        let rows = self
            .query(
                "SELECT failures FROM crawl_attempts WHERE job_id = ?1 AND url_key = ?2",
                vec![message.job.as_str().into(), message.url_key().into()],
            )
            .await?;
        Ok(rows.first().map(|r| int(r, 0)).transpose()?.unwrap_or(1) as u32)
    }

    async fn dead_letter(&self, message: &CrawlMessage, now_ms: u64) -> PortResult<bool> {
        self.db
            .batch(&[Statement::new(
                "INSERT INTO dead_letters (job_id, url_key, url, depth, attempts, reason, at)
                 SELECT ?1, ?2, ?3, ?4,
                        COALESCE((SELECT failures FROM crawl_attempts WHERE job_id = ?1 AND url_key = ?2), 0),
                        COALESCE((SELECT last_error FROM crawl_attempts WHERE job_id = ?1 AND url_key = ?2), 'unknown'), ?5
                 WHERE EXISTS (SELECT 1 FROM crawl_urls WHERE job_id = ?1 AND url_key = ?2 AND state = 'queued')
                 ON CONFLICT (job_id, url_key) DO UPDATE SET url = excluded.url, depth = excluded.depth,
                   attempts = excluded.attempts, reason = excluded.reason, at = excluded.at",
                vec![
                    message.job.as_str().into(),
                    message.url_key().into(),
                    message.url.as_str().into(),
                    u64::from(message.depth).into(),
                    now_ms.into(),
                ],
            )])
            .await?;
        let reason = self
            .query(
                "SELECT reason FROM dead_letters WHERE job_id = ?1 AND url_key = ?2",
                vec![message.job.as_str().into(), message.url_key().into()],
            )
            .await?
            .first()
            .and_then(|r| opt_text(r, 0))
            .unwrap_or_else(|| "unknown".into());
        let outcome = UrlOutcome {
            state: UrlState::Failed,
            fetched: false,
            detail: Some(format!("gave up after retries: {reason}")),
        };
        self.finish_url(message, &outcome, now_ms).await
    }

    async fn dead_letters(&self, limit: u32) -> PortResult<Vec<DeadLetter>> {
        let rows = self
            .query(
                "SELECT job_id, url, depth, attempts, reason, at FROM dead_letters ORDER BY at DESC LIMIT ?1",
                vec![u64::from(limit).into()],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(DeadLetter {
                    job: text(r, 0)?,
                    url: text(r, 1)?,
                    depth: int(r, 2)? as u32,
                    attempts: int(r, 3)? as u32,
                    reason: text(r, 4)?,
                    at: format_timestamp(int(r, 5)?),
                })
            })
            .collect()
    }

    async fn replay_dead_letters(
        &self,
        job: Option<&str>,
        now_ms: u64,
    ) -> PortResult<Vec<CrawlMessage>> {
        let rows = self
            .query(
                "SELECT d.job_id, d.url, d.depth, j.priority FROM dead_letters d JOIN crawl_jobs j ON j.id = d.job_id
                 WHERE CAST(?1 AS TEXT) IS NULL OR d.job_id = ?1 ORDER BY d.at LIMIT 500",
                vec![job.into()],
            )
            .await?;
        let messages: Vec<CrawlMessage> = rows
            .iter()
            .map(|r| {
                Ok(CrawlMessage::new(
                    &text(r, 0)?,
                    &text(r, 1)?,
                    int(r, 2)? as u32,
                    priority_at(r, 3),
                ))
            })
            .collect::<PortResult<_>>()?;
        for message in &messages {
            let (job, key) = (message.job.as_str(), message.url_key());
            self.db
                .batch(&[
                    Statement::new(
                        "UPDATE crawl_urls SET state = 'queued', fetched = 0, detail = NULL, updated_at = ?3
                         WHERE job_id = ?1 AND url_key = ?2 AND state = 'failed'",
                        vec![job.into(), key.as_str().into(), now_ms.into()],
                    ),
                    Statement::new(
                        "UPDATE crawl_jobs SET status = 'running', finished_at = NULL WHERE id = ?1 AND status IN ('done', 'failed')",
                        vec![job.into()],
                    ),
                    Statement::new("DELETE FROM crawl_attempts WHERE job_id = ?1 AND url_key = ?2", vec![job.into(), key.as_str().into()]),
                    Statement::new("DELETE FROM dead_letters WHERE job_id = ?1 AND url_key = ?2", vec![job.into(), key.as_str().into()]),
                ])
                .await?;
        }
        Ok(messages)
    }

    async fn take_stale_queued(
        &self,
        older_than_ms: u64,
        limit: u32,
        now_ms: u64,
    ) -> PortResult<Vec<CrawlMessage>> {
        // A job is stalled when none of its URLs changed state, and no sweep resent its work, since
        // `older_than_ms`: its messages were lost. A job that progresses slowly (a polite crawl of
        // a large site) is left alone however long its URLs wait.
        let rows = self
            .query(
                "SELECT u.job_id, u.url, u.depth, j.priority, u.lastmod_ms, u.redirects FROM crawl_urls u JOIN crawl_jobs j ON j.id = u.job_id
                 WHERE u.state = 'queued' AND j.status IN ('queued', 'running') AND COALESCE(j.swept_at, 0) < ?1
                   AND NOT EXISTS (SELECT 1 FROM crawl_urls r WHERE r.job_id = u.job_id AND r.updated_at >= ?1)
                   AND NOT EXISTS (SELECT 1 FROM crawl_urls d WHERE d.job_id = u.job_id AND d.due_at >= ?1)
                 LIMIT ?2",
                vec![older_than_ms.into(), u64::from(limit).into()],
            )
            .await?;
        let messages: Vec<CrawlMessage> = rows
            .iter()
            .map(|row| {
                let mut message = CrawlMessage::new(
                    &text(row, 0)?,
                    &text(row, 1)?,
                    int(row, 2)? as u32,
                    priority_at(row, 3),
                );
                message.lastmod_ms = row.get(4).and_then(Value::as_u64);
                message.redirects = int(row, 5)? as u32;
                Ok(message)
            })
            .collect::<PortResult<_>>()?;
        let mut jobs: Vec<&str> = messages.iter().map(|m| m.job.as_str()).collect();
        jobs.sort_unstable();
        jobs.dedup();
        let touches: Vec<Statement> = jobs
            .iter()
            .map(|job| {
                Statement::new(
                    "UPDATE crawl_jobs SET swept_at = ?2 WHERE id = ?1",
                    vec![(*job).into(), now_ms.into()],
                )
            })
            .collect();
        for group in touches.chunks(50) {
            self.db.batch(group).await?;
        }
        Ok(messages)
    }
}

impl<D: SqlDatabase> DocumentStore for SqlStore<D> {
    async fn document_meta(&self, url_key: &str) -> PortResult<Option<DocumentMeta>> {
        let rows = self
            .query("SELECT content_hash, etag, last_modified, job_id, links, indexed_at, links_capped FROM documents WHERE url_key = ?1", vec![url_key.into()])
            .await?;
        match rows.first() {
            None => Ok(None),
            Some(row) => Ok(Some(DocumentMeta {
                content_hash: text(row, 0)?,
                etag: opt_text(row, 1),
                last_modified: opt_text(row, 2),
                job_id: opt_text(row, 3),
                links: opt_text(row, 4)
                    .and_then(|l| serde_json::from_str(&l).ok())
                    .unwrap_or_default(),
                indexed_at_ms: int(row, 5)?,
                links_capped: int(row, 6)? != 0,
            })),
        }
    }

    async fn upsert_document(&self, doc: &IndexedDocument) -> PortResult<()> {
        let mut statements = vec![
            Statement::new("DELETE FROM chunks WHERE url_key = ?1", vec![doc.url_key.as_str().into()]),
            Statement::new(
                "INSERT INTO documents (url_key, url, title, lang, content_hash, etag, last_modified, job_id, indexed_at, links, links_capped)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT (url_key) DO UPDATE SET url = excluded.url, title = excluded.title, lang = excluded.lang,
                   content_hash = excluded.content_hash, etag = excluded.etag, last_modified = excluded.last_modified,
                   job_id = excluded.job_id, indexed_at = excluded.indexed_at, links = excluded.links,
                   links_capped = excluded.links_capped",
                vec![
                    doc.url_key.as_str().into(),
                    doc.url.as_str().into(),
                    doc.title.as_str().into(),
                    doc.lang.clone().into(),
                    doc.content_hash.as_str().into(),
                    doc.etag.clone().into(),
                    doc.last_modified.clone().into(),
                    doc.job_id.as_str().into(),
                    doc.indexed_at_ms.into(),
                    serde_json::to_string(&doc.links).unwrap_or_else(|_| "[]".into()).into(),
                    u64::from(doc.links_capped).into(),
                ],
            ),
        ];
        if self.db.dialect() == SqlDialect::Postgres {
            if let Some(vector) = doc.chunks.iter().find_map(|c| c.vector.as_ref()) {
                statements.push(hnsw_index_statement(&vector.model, vector.values.len()));
            }
            // Each statement is a round trip to a server: a page's chunks and vectors go as one
            // JSON array each (SQLite runs statements in-process, and D1 sends a batch at once).
            statements.extend(postgres_chunk_statements(doc));
        } else {
            for chunk in &doc.chunks {
                statements.push(Statement::new(
                    "INSERT INTO chunks (id, url_key, ordinal, url, title, heading, text) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    vec![
                        chunk.id.as_str().into(),
                        doc.url_key.as_str().into(),
                        (chunk.ordinal as u64).into(),
                        chunk.url.as_str().into(),
                        doc.title.as_str().into(),
                        chunk.heading.as_str().into(),
                        chunk.text.as_str().into(),
                    ],
                ));
                if let Some(vector) = &chunk.vector {
                    statements.push(self.vector_statement(&chunk.id, &doc.url_key, vector, false));
                }
            }
        }
        statements.push(Statement::new(
            "UPDATE docent_meta SET value = value + 1 WHERE key = 'index_version'",
            vec![],
        ));
        // One batch is one transaction: readers see the old page or the new one, never a mix.
        self.db.batch(&statements).await.map(|_| ())
    }

    async fn delete_document(&self, url_key: &str) -> PortResult<bool> {
        let changes = self
            .db
            .batch(&[
                Statement::new("DELETE FROM chunks WHERE url_key = ?1", vec![url_key.into()]),
                Statement::new("DELETE FROM documents WHERE url_key = ?1", vec![url_key.into()]),
                Statement::new(
                    "UPDATE docent_meta SET value = value + 1 WHERE key = 'index_version'",
                    vec![],
                ),
            ])
            .await?;
        Ok(changes.get(1).copied().unwrap_or(0) > 0)
    }

    async fn mark_seen(&self, url_key: &str, job_id: &str) -> PortResult<()> {
        self.db
            .batch(&[Statement::new(
                "INSERT INTO page_sightings (url_key, job_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                vec![url_key.into(), job_id.into()],
            )])
            .await
            .map(|_| ())
    }

    async fn prune_unseen(&self, job_id: &str, url_prefix: &str) -> PortResult<u64> {
        // substr, not LIKE: URLs contain `_` and `%`, which LIKE treats as wildcards.
        const UNSEEN: &str = "SELECT d.url_key FROM documents d
             WHERE substr(d.url, 1, length(?2)) = ?2
               AND d.indexed_at < (SELECT started_at FROM crawl_jobs WHERE id = ?1)
               AND NOT EXISTS (SELECT 1 FROM page_sightings s WHERE s.job_id = ?1 AND s.url_key = d.url_key)";
        let params = || vec![SqlValue::from(job_id), SqlValue::from(url_prefix)];
        let changes = self
            .db
            .batch(&[
                Statement::new(format!("DELETE FROM chunks WHERE url_key IN ({UNSEEN})"), params()),
                Statement::new(
                    format!("DELETE FROM documents WHERE url_key IN ({UNSEEN})"),
                    params(),
                ),
            ])
            .await?;
        let removed = changes.get(1).copied().unwrap_or(0);
        if removed > 0 {
            self.db
                .batch(&[Statement::new(
                    "UPDATE docent_meta SET value = value + 1 WHERE key = 'index_version'",
                    vec![],
                )])
                .await?;
        }
        Ok(removed)
    }

    async fn forget_sightings(&self, job_id: &str) -> PortResult<()> {
        self.db
            .batch(&[
                Statement::new("DELETE FROM page_sightings WHERE job_id = ?1", vec![job_id.into()]),
                Statement::new(
                    "DELETE FROM crawl_truncated WHERE job_id = ?1",
                    vec![job_id.into()],
                ),
            ])
            .await
            .map(|_| ())
    }

    async fn lexical_search(
        &self,
        terms: &[String],
        url_prefix: Option<&str>,
        limit: u32,
    ) -> PortResult<Vec<SearchHit>> {
        let (sql, expression, sign) = match self.db.dialect() {
            SqlDialect::Sqlite => {
                let (t, h, b) = BM25_WEIGHTS;
                let sql = format!(
                    "SELECT c.id, c.url, c.title, c.heading, c.text, bm25(chunks_fts, {t:.1}, {h:.1}, {b:.1}) AS rank
                     FROM chunks_fts JOIN chunks c ON c.rowid = chunks_fts.rowid
                     WHERE chunks_fts MATCH ?1 AND (?3 IS NULL OR substr(c.url, 1, length(?3)) = ?3) ORDER BY rank LIMIT ?2"
                );
                // FTS5's bm25() is lower-is-better; flip it so higher is better everywhere.
                (sql, fts5_match_expression(terms), -1.0)
            }
            SqlDialect::Postgres => {
                let sql = format!(
                    "WITH {POSTGRES_BM25}
                     SELECT c.id, c.url, c.title, c.heading, c.text, scored.score FROM scored JOIN chunks c ON c.id = scored.id
                     ORDER BY scored.score DESC, c.id LIMIT ?2"
                );
                (sql, tsquery_words(terms), 1.0)
            }
        };
        let Some(expression) = expression else { return Ok(Vec::new()) };
        let rows = self
            .query(&sql, vec![expression.into(), u64::from(limit).into(), url_prefix.into()])
            .await?;
        rows.iter().map(|row| scored_hit(row, sign)).collect()
    }

    async fn chunks_by_id(&self, ids: &[String]) -> PortResult<Vec<SearchHit>> {
        let mut hits = Vec::with_capacity(ids.len());
        // D1 binds at most 100 parameters per statement.
        for group in ids.chunks(90) {
            let marks = (1..=group.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
            let sql =
                format!("SELECT id, url, title, heading, text FROM chunks WHERE id IN ({marks})");
            let rows =
                self.query(&sql, group.iter().map(|id| id.as_str().into()).collect()).await?;
            hits.extend(rows.iter().map(hit_from_row).collect::<PortResult<Vec<_>>>()?);
        }
        // In the order asked for.
        hits.sort_by_key(|hit| ids.iter().position(|id| *id == hit.chunk_id));
        Ok(hits)
    }

    async fn index_version(&self) -> PortResult<u64> {
        let rows =
            self.query("SELECT value FROM docent_meta WHERE key = 'index_version'", vec![]).await?;
        rows.first().map(|r| int(r, 0)).unwrap_or(Ok(0))
    }

    async fn counts(&self) -> PortResult<IndexCounts> {
        let rows = self
            .query("SELECT (SELECT COUNT(*) FROM documents), (SELECT COUNT(*) FROM chunks)", vec![])
            .await?;
        let row =
            rows.first().ok_or_else(|| PortError::permanent("count query returned no row"))?;
        Ok(IndexCounts { documents: int(row, 0)?, chunks: int(row, 1)? })
    }
}

fn hit_from_row(row: &Row) -> PortResult<SearchHit> {
    Ok(SearchHit {
        chunk_id: text(row, 0)?,
        url: text(row, 1)?,
        title: text(row, 2)?,
        heading: text(row, 3)?,
        text: text(row, 4)?,
        score: 0.0,
    })
}

/// A hit whose score is the row's sixth column times `sign` (-1 where the database's lower is
/// better).
fn scored_hit(row: &Row, sign: f64) -> PortResult<SearchHit> {
    Ok(SearchHit {
        score: sign * row.get(5).and_then(Value::as_f64).unwrap_or(0.0),
        ..hit_from_row(row)?
    })
}

/// Candidates kept from the sign-bit pass for every result asked of the vector search.
const RESCORE_FACTOR: usize = 8;

impl<D: SqlDatabase> VectorStore for SqlStore<D> {
    /// A scan of every chunk's sign bits (Hamming distance to the query's), then the best
    /// candidates rescored with their int8 values. Nothing is kept between calls, so a Worker
    /// isolate needs no memory beyond one query's codes.
    async fn nearest(
        &self,
        model: &str,
        query: &[f32],
        url_prefix: Option<&str>,
        limit: u32,
    ) -> PortResult<Vec<(String, f32)>> {
        if self.db.dialect() == SqlDialect::Postgres {
            return self.nearest_pgvector(model, query, url_prefix, limit).await;
        }
        let query_bits = QuantizedVector::new(query).bits;
        let rows = self
            .query(
                "SELECT v.rowid, v.bits FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id
                 WHERE v.model = ?1 AND (?2 IS NULL OR substr(c.url, 1, length(?2)) = ?2)",
                vec![model.into(), url_prefix.into()],
            )
            .await?;
        let mut candidates: Vec<(u32, u64)> = rows
            .iter()
            .filter_map(|row| {
                let rowid = row.first()?.as_u64()?;
                let bits = QuantizedVector::decode_bits(row.get(1)?.as_str()?)?;
                Some((hamming(&bits, &query_bits), rowid))
            })
            .collect();
        let keep = (limit as usize * RESCORE_FACTOR).max(100);
        if candidates.len() > keep {
            candidates.select_nth_unstable(keep);
            candidates.truncate(keep);
        }
        let mut scored = Vec::with_capacity(candidates.len());
        let rowids: Vec<u64> = candidates.iter().map(|(_, rowid)| *rowid).collect();
        for group in rowids.chunks(90) {
            let marks = (1..=group.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
            let sql = format!("SELECT chunk_id, int8 FROM chunk_vectors WHERE rowid IN ({marks})");
            for row in self.query(&sql, group.iter().map(|r| (*r).into()).collect()).await? {
                if let Some(score) = QuantizedVector::dot_encoded(&text(&row, 1)?, query) {
                    scored.push((text(&row, 0)?, score));
                }
            }
        }
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        scored.truncate(limit as usize);
        Ok(scored)
    }

    async fn similarities(
        &self,
        model: &str,
        query: &[f32],
        chunk_ids: &[String],
    ) -> PortResult<Vec<(String, f32)>> {
        let postgres = self.db.dialect() == SqlDialect::Postgres;
        let mut scored = Vec::with_capacity(chunk_ids.len());
        for group in chunk_ids.chunks(90) {
            let mut params: Vec<SqlValue> = vec![model.into()];
            let score_column = if postgres {
                // pgvector's <#> is the negated inner product; vectors are unit length, so this is
                // cosine.
                params.push(pgvector_literal(query).into());
                "(-(embedding <#> (?2::text)::vector))::float8"
            } else {
                "int8"
            };
            let first_id = params.len() + 1;
            let marks = (first_id..first_id + group.len())
                .map(|i| format!("?{i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!("SELECT chunk_id, {score_column} FROM chunk_vectors WHERE model = ?1 AND chunk_id IN ({marks})");
            params.extend(group.iter().map(|id| id.as_str().into()));
            for row in self.query(&sql, params).await? {
                let score = if postgres {
                    row.get(1).and_then(Value::as_f64).map(|s| s as f32)
                } else {
                    QuantizedVector::dot_encoded(&text(&row, 1)?, query)
                };
                if let Some(score) = score {
                    scored.push((text(&row, 0)?, score));
                }
            }
        }
        Ok(scored)
    }

    async fn chunks_without_vectors(
        &self,
        url_key: &str,
        model: &str,
    ) -> PortResult<Vec<(String, String, String, String)>> {
        let rows = self
            .query(
                "SELECT c.id, c.title, c.heading, c.text FROM chunks c
                 LEFT JOIN chunk_vectors v ON v.chunk_id = c.id AND v.model = ?2
                 WHERE c.url_key = ?1 AND v.chunk_id IS NULL ORDER BY c.ordinal",
                vec![url_key.into(), model.into()],
            )
            .await?;
        rows.iter().map(|r| Ok((text(r, 0)?, text(r, 1)?, text(r, 2)?, text(r, 3)?))).collect()
    }

    async fn put_vectors(
        &self,
        url_key: &str,
        vectors: &[(String, docent_core::domain::ChunkVector)],
    ) -> PortResult<()> {
        // Only for a chunk that still exists: a concurrent rewrite of the page wins.
        let mut statements: Vec<Statement> = Vec::with_capacity(vectors.len() + 1);
        if let (SqlDialect::Postgres, Some((_, vector))) = (self.db.dialect(), vectors.first()) {
            statements.push(hnsw_index_statement(&vector.model, vector.values.len()));
        }
        statements.extend(
            vectors
                .iter()
                .map(|(chunk_id, vector)| self.vector_statement(chunk_id, url_key, vector, true)),
        );
        for group in statements.chunks(50) {
            self.db.batch(group).await?;
        }
        Ok(())
    }

    async fn fused_search(
        &self,
        query: &crate::api::FusedQuery<'_>,
    ) -> PortResult<Option<Vec<SearchHit>>> {
        if self.db.dialect() != SqlDialect::Postgres {
            return Ok(None);
        }
        let Some(words) = tsquery_words(query.terms) else { return Ok(Some(Vec::new())) };
        let (dimensions, model_literal) = (query.vector.len(), model_literal(query.model));
        let k = docent_core::retrieval::search::RRF_K;
        // Ranks count from 1 here, so weight / (k + rank) is the Rust fusion's
        // weight / (k + index + 1).
        let sql = format!(
            "WITH {POSTGRES_BM25},
             lexical AS (SELECT id, row_number() OVER (ORDER BY score DESC, id) AS rank FROM scored ORDER BY rank LIMIT ?2),
             vector AS (
                SELECT nearest.chunk_id AS id, row_number() OVER (ORDER BY nearest.distance, nearest.chunk_id) AS rank
                FROM (SELECT v.chunk_id, v.embedding::vector({dimensions}) <#> (?4::text)::vector({dimensions}) AS distance
                      FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id
                      WHERE v.model = {model_literal} AND (?3::text IS NULL OR substr(c.url, 1, length(?3)) = ?3)
                      ORDER BY v.embedding::vector({dimensions}) <#> (?4::text)::vector({dimensions}) LIMIT ?2) AS nearest
                WHERE EXISTS (SELECT 1 FROM lexical)),
             fused AS (
                SELECT id, SUM(credit) AS score FROM (
                    SELECT id, ?5::float8 / ({k} + rank) AS credit FROM lexical
                    UNION ALL
                    SELECT id, ?6::float8 / ({k} + rank) AS credit FROM vector) AS credits
                GROUP BY id)
             SELECT c.id, c.url, c.title, c.heading, c.text, fused.score::float8 FROM fused JOIN chunks c ON c.id = fused.id
             ORDER BY fused.score DESC, c.id"
        );
        let rows = self
            .query(
                &sql,
                vec![
                    words.into(),
                    u64::from(query.candidates).into(),
                    query.url_prefix.into(),
                    pgvector_literal(query.vector).into(),
                    query.weights.0.into(),
                    query.weights.1.into(),
                ],
            )
            .await?;
        rows.iter().map(|row| scored_hit(row, 1.0)).collect::<PortResult<Vec<_>>>().map(Some)
    }

    async fn vector_count(&self, model: &str) -> PortResult<u64> {
        let rows = self
            .query("SELECT COUNT(*) FROM chunk_vectors WHERE model = ?1", vec![model.into()])
            .await?;
        rows.first().map(|r| int(r, 0)).unwrap_or(Ok(0))
    }
}

impl<D: SqlDatabase> SqlStore<D> {
    /// Stores one chunk's vector, replacing any other. `if_chunk_exists` guards writes made after
    /// the chunk's own transaction.
    fn vector_statement(
        &self,
        chunk_id: &str,
        url_key: &str,
        vector: &docent_core::domain::ChunkVector,
        if_chunk_exists: bool,
    ) -> Statement {
        let guard = if if_chunk_exists {
            "WHERE EXISTS (SELECT 1 FROM chunks WHERE id = ?1)"
        } else {
            "WHERE true"
        };
        match self.db.dialect() {
            SqlDialect::Sqlite => {
                let (bits, int8) = QuantizedVector::new(&vector.values).encode();
                Statement::new(
                    format!("INSERT OR REPLACE INTO chunk_vectors (chunk_id, url_key, model, bits, int8) SELECT ?1, ?2, ?3, ?4, ?5 {guard}"),
                    vec![chunk_id.into(), url_key.into(), vector.model.as_str().into(), bits.into(), int8.into()],
                )
            }
            SqlDialect::Postgres => Statement::new(
                format!("INSERT INTO chunk_vectors (chunk_id, url_key, model, embedding) SELECT ?1, ?2, ?3, (?4::text)::vector {guard} {PG_REPLACE_VECTOR}"),
                vec![chunk_id.into(), url_key.into(), vector.model.as_str().into(), pgvector_literal(&vector.values).into()],
            ),
        }
    }

    /// Nearest neighbours through the model's HNSW index ([`hnsw_index_statement`]); the query
    /// repeats the index's expression and predicate literally so the planner can use it.
    async fn nearest_pgvector(
        &self,
        model: &str,
        query: &[f32],
        url_prefix: Option<&str>,
        limit: u32,
    ) -> PortResult<Vec<(String, f32)>> {
        let (dimensions, model_literal) = (query.len(), model_literal(model));
        let rows = self
            .query(
                &format!(
                    "SELECT v.chunk_id, (-(v.embedding::vector({dimensions}) <#> (?1::text)::vector({dimensions})))::float8
                     FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id
                     WHERE v.model = {model_literal} AND (?3::text IS NULL OR substr(c.url, 1, length(?3)) = ?3)
                     ORDER BY v.embedding::vector({dimensions}) <#> (?1::text)::vector({dimensions}), v.chunk_id LIMIT ?2"
                ),
                vec![pgvector_literal(query).into(), u64::from(limit).into(), url_prefix.into()],
            )
            .await?;
        rows.iter()
            .map(|row| {
                Ok((text(row, 0)?, row.get(1).and_then(Value::as_f64).unwrap_or(0.0) as f32))
            })
            .collect()
    }
}

/// A chunk has one vector: a new one replaces the old (Postgres's form of SQLite's `INSERT OR
/// REPLACE`).
const PG_REPLACE_VECTOR: &str =
    "ON CONFLICT (chunk_id) DO UPDATE SET url_key = excluded.url_key, model = excluded.model, embedding = excluded.embedding";

/// A model name as a SQL string literal. pgvector's partial HNSW index is defined for one model,
/// and the planner uses it only when a query states the same predicate literally.
fn model_literal(model: &str) -> String {
    format!("'{}'", model.replace('\'', "''"))
}

/// Creates, with the first vectors of a model and dimension, the partial HNSW index on the column
/// cast to that dimension (a table may hold several models); a no-op once it exists. Written with
/// the vectors, so searches never pay for it.
fn hnsw_index_statement(model: &str, dimensions: usize) -> Statement {
    let index = format!(
        "chunk_vectors_hnsw_{}",
        &docent_core::domain::sha256_hex(format!("{model}/{dimensions}").as_bytes())[..16]
    );
    Statement::new(
        format!(
            "CREATE INDEX IF NOT EXISTS {index} ON chunk_vectors USING hnsw ((embedding::vector({dimensions})) vector_ip_ops) WHERE model = {}",
            model_literal(model)
        ),
        vec![],
    )
}

/// A page's chunks, and their vectors, as one INSERT each (nothing for a page without chunks).
fn postgres_chunk_statements(doc: &IndexedDocument) -> Vec<Statement> {
    let mut statements = Vec::with_capacity(2);
    if doc.chunks.is_empty() {
        return statements;
    }
    let chunks: Vec<Value> = doc
        .chunks
        .iter()
        .map(|c| serde_json::json!([c.id, c.ordinal, c.url, c.heading, c.text]))
        .collect();
    statements.push(Statement::new(
        "INSERT INTO chunks (id, url_key, ordinal, url, title, heading, text)
         SELECT e->>0, ?1, (e->>1)::integer, e->>2, ?2, e->>3, e->>4 FROM jsonb_array_elements((?3::text)::jsonb) AS e",
        vec![doc.url_key.as_str().into(), doc.title.as_str().into(), Value::Array(chunks).to_string().into()],
    ));
    let vectors: Vec<Value> = doc
        .chunks
        .iter()
        .filter_map(|c| {
            c.vector
                .as_ref()
                .map(|v| serde_json::json!([c.id, v.model, pgvector_literal(&v.values)]))
        })
        .collect();
    if !vectors.is_empty() {
        statements.push(Statement::new(
            format!(
                "INSERT INTO chunk_vectors (chunk_id, url_key, model, embedding)
                 SELECT e->>0, ?1, e->>1, (e->>2)::vector FROM jsonb_array_elements((?2::text)::jsonb) AS e {PG_REPLACE_VECTOR}"
            ),
            vec![doc.url_key.as_str().into(), Value::Array(vectors).to_string().into()],
        ));
    }
    statements
}

/// A vector in pgvector's text form, `[0.1,0.2,...]`.
fn pgvector_literal(values: &[f32]) -> String {
    let parts: Vec<String> = values
        .iter()
        .map(|v| if v.is_finite() { v.to_string() } else { "0".to_string() })
        .collect();
    format!("[{}]", parts.join(","))
}

/// A migration file's statements: each ends with `;` at the end of a line. Comment lines are
/// dropped.
fn split_script(script: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    for line in script.lines() {
        if line.trim_start().starts_with("--") || line.trim().is_empty() {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if line.trim_end().ends_with(';') {
            let statement = current.trim().trim_end_matches(';').trim().to_string();
            statements.push(statement);
            current.clear();
        }
    }
    if !current.trim().is_empty() {
        statements.push(current.trim().to_string());
    }
    statements
}

const TICKET_COLUMNS: &str =
    "id, status, subject, description, email, assignee, transcript, sources, created_at, updated_at, token_hash, revision";

impl<D: SqlDatabase> SqlStore<D> {
    async fn ticket_from_row(&self, row: &Row) -> PortResult<(Ticket, String, String)> {
        let id = text(row, 0)?;
        let json = |i: usize| -> PortResult<serde_json::Value> {
            serde_json::from_str(&text(row, i)?)
                .map_err(|e| PortError::permanent(format!("corrupt ticket column {i}: {e}")))
        };
        let comments = self
            .query(
                "SELECT author, text, at FROM ticket_comments WHERE ticket_id = ?1 ORDER BY id",
                vec![id.as_str().into()],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(TicketComment {
                    author: text(r, 0)?,
                    text: text(r, 1)?,
                    at: format_timestamp(int(r, 2)?),
                })
            })
            .collect::<PortResult<Vec<_>>>()?;
        let ticket = Ticket {
            status: TicketStatus::parse(&text(row, 1)?)
                .ok_or_else(|| PortError::permanent("corrupt ticket status"))?,
            subject: text(row, 2)?,
            description: text(row, 3)?,
            email: opt_text(row, 4),
            assignee: opt_text(row, 5),
            transcript: serde_json::from_value(json(6)?)
                .map_err(|e| PortError::permanent(e.to_string()))?,
            sources: serde_json::from_value(json(7)?)
                .map_err(|e| PortError::permanent(e.to_string()))?,
            comments,
            created_at: format_timestamp(int(row, 8)?),
            updated_at: format_timestamp(int(row, 9)?),
            id,
        };
        Ok((ticket, text(row, 10)?, text(row, 11)?))
    }
}

fn audit_statement(
    id: &str,
    revision: &str,
    now_ms: u64,
    actor: &str,
    action: &str,
    detail: serde_json::Value,
) -> Statement {
    // Written only if this change's UPDATE won (the ticket carries our revision), in the same
    // transaction.
    Statement::new(
        "INSERT INTO ticket_audit (ticket_id, at, actor, action, detail)
         SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM tickets WHERE id = ?1 AND revision = ?6)",
        vec![id.into(), now_ms.into(), actor.into(), action.into(), detail.to_string().into(), revision.into()],
    )
}

const FEEDBACK_COLUMNS: &str =
    "id, answer_id, session_id, rating, comment, question, answer, created_at";

impl<D: SqlDatabase> crate::api::AnswerStore for SqlStore<D> {
    async fn record_feedback(&self, f: &docent_core::domain::Feedback) -> PortResult<()> {
        self.db
            .batch(&[Statement::new(
                format!(
                    "INSERT INTO feedback ({FEEDBACK_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (answer_id) DO UPDATE SET id = excluded.id, rating = excluded.rating, comment = excluded.comment, created_at = excluded.created_at"
                ),
                vec![
                    f.id.as_str().into(),
                    f.answer_id.as_str().into(),
                    f.session_id.clone().into(),
                    f.rating.as_str().into(),
                    f.comment.clone().into(),
                    f.question.as_str().into(),
                    f.answer.as_str().into(),
                    f.created_at.into(),
                ],
            )])
            .await
            .map(|_| ())
    }

    async fn list_feedback(
        &self,
        rating: Option<docent_core::domain::Rating>,
        limit: u32,
    ) -> PortResult<Vec<docent_core::domain::Feedback>> {
        let rows = self
            .query(
                &format!("SELECT {FEEDBACK_COLUMNS} FROM feedback WHERE CAST(?1 AS TEXT) IS NULL OR rating = ?1 ORDER BY created_at DESC LIMIT ?2"),
                vec![rating.map(|r| r.as_str()).into(), u64::from(limit).into()],
            )
            .await?;
        rows.iter()
            .map(|row| {
                Ok(docent_core::domain::Feedback {
                    id: text(row, 0)?,
                    answer_id: text(row, 1)?,
                    session_id: opt_text(row, 2),
                    rating: docent_core::domain::Rating::parse(&text(row, 3)?)
                        .ok_or_else(|| PortError::permanent("unknown rating"))?,
                    comment: opt_text(row, 4),
                    question: text(row, 5)?,
                    answer: text(row, 6)?,
                    created_at: int(row, 7)?,
                })
            })
            .collect()
    }

    async fn add_usage(&self, r: &docent_core::domain::UsageRecord) -> PortResult<()> {
        self.db
            .batch(&[Statement::new(
                "INSERT INTO llm_usage_daily (day, provider, model, requests, failures, prompt_tokens, completion_tokens, cost_usd)
                 VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, ?7)
                 ON CONFLICT (day, provider, model) DO UPDATE SET
                    requests = llm_usage_daily.requests + 1, failures = llm_usage_daily.failures + excluded.failures,
                    prompt_tokens = llm_usage_daily.prompt_tokens + excluded.prompt_tokens,
                    completion_tokens = llm_usage_daily.completion_tokens + excluded.completion_tokens,
                    cost_usd = llm_usage_daily.cost_usd + excluded.cost_usd",
                vec![
                    r.day.as_str().into(),
                    r.provider.as_str().into(),
                    r.model.as_str().into(),
                    u64::from(r.failed).into(),
                    r.prompt_tokens.into(),
                    r.completion_tokens.into(),
                    r.cost_usd.into(),
                ],
            )])
            .await
            .map(|_| ())
    }

    async fn usage_since(
        &self,
        since_day: &str,
    ) -> PortResult<Vec<docent_core::domain::UsageTotals>> {
        let rows = self
            .query(
                "SELECT day, provider, model, requests, failures, prompt_tokens, completion_tokens, cost_usd
                 FROM llm_usage_daily WHERE day >= ?1 ORDER BY day DESC, provider, model",
                vec![since_day.into()],
            )
            .await?;
        rows.iter()
            .map(|row| {
                Ok(docent_core::domain::UsageTotals {
                    day: text(row, 0)?,
                    provider: text(row, 1)?,
                    model: text(row, 2)?,
                    requests: int(row, 3)?,
                    failures: int(row, 4)?,
                    prompt_tokens: int(row, 5)?,
                    completion_tokens: int(row, 6)?,
                    cost_usd: row.get(7).and_then(|v| v.as_f64()).unwrap_or(0.0),
                })
            })
            .collect()
    }
}

impl<D: SqlDatabase> TicketStore for SqlStore<D> {
    async fn create_ticket(&self, t: &NewTicket, now_ms: u64) -> PortResult<Ticket> {
        self.db
            .batch(&[
                Statement::new(
                    format!("INSERT INTO tickets ({TICKET_COLUMNS}) VALUES (?1, 'open', ?2, ?3, ?4, NULL, ?5, ?6, ?7, ?7, ?8, ?9)"),
                    vec![
                        t.id.as_str().into(),
                        t.subject.as_str().into(),
                        t.description.as_str().into(),
                        t.email.clone().into(),
                        to_json(&t.transcript).into(),
                        to_json(&t.sources).into(),
                        now_ms.into(),
                        t.token_hash.as_str().into(),
                        t.id.as_str().into(),
                    ],
                ),
                audit_statement(&t.id, &t.id, now_ms, &t.actor, "created", serde_json::json!({"subject": t.subject})),
            ])
            .await?;
        self.ticket(&t.id)
            .await?
            .map(|(ticket, _)| ticket)
            .ok_or_else(|| PortError::transient("ticket vanished after insert"))
    }

    async fn ticket(&self, id: &str) -> PortResult<Option<(Ticket, String)>> {
        let rows = self
            .query(&format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE id = ?1"), vec![id.into()])
            .await?;
        match rows.first() {
            None => Ok(None),
            Some(row) => self.ticket_from_row(row).await.map(|(t, hash, _)| Some((t, hash))),
        }
    }

    async fn list_tickets(
        &self,
        status: Option<TicketStatus>,
        limit: u32,
    ) -> PortResult<Vec<Ticket>> {
        let rows = self
            .query(
                &format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE CAST(?1 AS TEXT) IS NULL OR status = ?1 ORDER BY updated_at DESC LIMIT ?2"),
                vec![status.map(|s| s.as_str()).into(), u64::from(limit).into()],
            )
            .await?;
        let mut tickets = Vec::with_capacity(rows.len());
        for row in &rows {
            tickets.push(self.ticket_from_row(row).await?.0);
        }
        Ok(tickets)
    }

    async fn update_ticket(
        &self,
        id: &str,
        change: &TicketChange,
        actor: &str,
        revision: &str,
        now_ms: u64,
    ) -> PortResult<TicketUpdate> {
        let rows = self
            .query(&format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE id = ?1"), vec![id.into()])
            .await?;
        let Some(row) = rows.first() else { return Ok(TicketUpdate::NotFound) };
        let (current, _, current_revision) = self.ticket_from_row(row).await?;
        let status = change.status.unwrap_or(current.status);
        if change
            .status
            .is_some_and(|next| next != current.status && !current.status.can_become(next))
        {
            return Ok(TicketUpdate::InvalidTransition { from: current.status, to: status });
        }
        let assignee = change.assignee.clone().unwrap_or(current.assignee.clone());
        let mut statements = vec![Statement::new(
            "UPDATE tickets SET status = ?2, assignee = ?3, updated_at = ?4, revision = ?5 WHERE id = ?1 AND revision = ?6",
            vec![id.into(), status.as_str().into(), assignee.clone().into(), now_ms.into(), revision.into(), current_revision.into()],
        )];
        if status != current.status {
            let detail =
                serde_json::json!({"from": current.status.as_str(), "to": status.as_str()});
            statements.push(audit_statement(id, revision, now_ms, actor, "status_changed", detail));
        }
        if assignee != current.assignee {
            let detail = serde_json::json!({"from": current.assignee, "to": assignee});
            statements.push(audit_statement(id, revision, now_ms, actor, "assigned", detail));
        }
        if let Some(comment) = &change.comment {
            statements.push(Statement::new(
                "INSERT INTO ticket_comments (ticket_id, author, text, at)
                 SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM tickets WHERE id = ?1 AND revision = ?5)",
                vec![id.into(), actor.into(), comment.as_str().into(), now_ms.into(), revision.into()],
            ));
            statements.push(audit_statement(
                id,
                revision,
                now_ms,
                actor,
                "commented",
                serde_json::json!({"chars": comment.chars().count()}),
            ));
        }
        let changes = self.db.batch(&statements).await?;
        if changes.first().copied().unwrap_or(0) == 0 {
            return Ok(TicketUpdate::Conflict);
        }
        match self.ticket(id).await? {
            Some((ticket, _)) => Ok(TicketUpdate::Updated(Box::new(ticket))),
            None => Ok(TicketUpdate::NotFound),
        }
    }

    async fn ticket_audit(&self, id: &str) -> PortResult<Vec<AuditEntry>> {
        let rows = self
            .query("SELECT at, actor, action, detail FROM ticket_audit WHERE ticket_id = ?1 ORDER BY id", vec![id.into()])
            .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    at: format_timestamp(int(r, 0)?),
                    actor: text(r, 1)?,
                    action: text(r, 2)?,
                    detail: serde_json::from_str(&text(r, 3)?).unwrap_or(serde_json::Value::Null),
                })
            })
            .collect()
    }
}

/// A JSON column's text.
fn to_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".into())
}

fn text(row: &Row, i: usize) -> PortResult<String> {
    match row.get(i) {
        Some(Value::String(s)) => Ok(s.clone()),
        other => Err(PortError::permanent(format!("expected text in column {i}, got {other:?}"))),
    }
}

fn priority_at(row: &Row, i: usize) -> Priority {
    opt_text(row, i).as_deref().and_then(Priority::parse).unwrap_or_default()
}

fn opt_text(row: &Row, i: usize) -> Option<String> {
    row.get(i).and_then(Value::as_str).map(str::to_string)
}

fn int(row: &Row, i: usize) -> PortResult<u64> {
    match row.get(i) {
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().map(|f| f as u64))
            .ok_or_else(|| PortError::permanent("negative count")),
        Some(Value::Null) => Ok(0),
        other => {
            Err(PortError::permanent(format!("expected integer in column {i}, got {other:?}")))
        }
    }
}

fn opt_int(row: &Row, i: usize) -> Option<u64> {
    row.get(i).and_then(|v| v.as_u64().or_else(|| v.as_f64().map(|f| f as u64)))
}
