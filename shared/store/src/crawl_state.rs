//! Crawl bookkeeping: jobs, the per-URL state that makes crawls exact and resumable, failed
//! attempts and dead letters.

use crate::api::{CrawlStore, Findings, Finished, MessageContext};
use crate::documents::document_columns;
use crate::rows::{decode, decode_first, single_int, single_text, Columns, FromRow};
use crate::SqlStore;
use docent_core::crawl::globs::GlobMatches;
use docent_core::domain::{
    format_timestamp, CrawlJob, CrawlMessage, DeadLetter, DocumentMeta, JobStatus, NewCrawlJob,
    NotIndexed, PageCounts, Priority, UrlOutcome, UrlState,
};
use docent_core::ports::{PortResult, SqlDatabase, SqlDialect, Statement};

/// URLs recorded per statement by `add_discovered` (about 100 KB of JSON).
const DISCOVERED_PER_STATEMENT: usize = 500;

/// The columns of a job's row, shared by the row types that read one.
macro_rules! job_columns {
    () => {
        "id, start_url, status, priority, max_pages, max_depth, include_globs, exclude_globs, created_at, started_at, finished_at"
    };
}

/// A job as its row holds it; the page counts are read separately.
impl FromRow for CrawlJob {
    const COLUMNS: &'static str = job_columns!();
    fn from_row(row: &Columns<'_>) -> PortResult<Self> {
        Ok(CrawlJob {
            id: row.text("id")?,
            url: row.text("start_url")?,
            status: row.parsed("status", JobStatus::parse)?,
            priority: Priority::parse(&row.text("priority")?).unwrap_or_default(),
            max_pages: row.int("max_pages")? as u32,
            max_depth: row.int("max_depth")? as u32,
            include: row.json("include_globs")?,
            exclude: row.json("exclude_globs")?,
            pages: PageCounts::default(),
            blocked_by_robots: 0,
            created_at: format_timestamp(row.int("created_at")?),
            started_at: row.opt_int("started_at")?.map(format_timestamp),
            finished_at: row.opt_int("finished_at")?.map(format_timestamp),
        })
    }
}

/// Where a job's matched globs are kept: a row of the integer key-value table `docent_meta`, so
/// the report needs no schema change; the set is a bit mask that SQL can OR in place.
fn glob_matches_key(job_id: &str) -> String {
    format!("crawl_glob_matches:{job_id}")
}

impl FromRow for NotIndexed {
    const COLUMNS: &'static str = "url, state, detail";
    fn from_row(row: &Columns<'_>) -> PortResult<Self> {
        Ok(NotIndexed {
            url: row.text("url")?,
            state: row.text("state")?,
            reason: row.opt_text("detail")?.unwrap_or_default(),
        })
    }
}

/// How many of a job's URLs are in one state, and how many of those were fetched.
struct StateCount {
    state: Option<UrlState>,
    urls: u64,
    fetched: u64,
}

impl FromRow for StateCount {
    const COLUMNS: &'static str = "state, COUNT(*) AS urls, SUM(fetched) AS fetched";
    fn from_row(row: &Columns<'_>) -> PortResult<Self> {
        Ok(StateCount {
            state: UrlState::parse(&row.text("state")?),
            urls: row.int("urls")?,
            fetched: row.int("fetched")?,
        })
    }
}

/// A job's row (`j`), the state of one of its URLs and the document at that URL (`d`, joined on
/// it): `?1` the job, `?2` the URL key.
impl FromRow for MessageContext {
    const COLUMNS: &'static str = concat!(
        job_columns!(),
        ", (SELECT state FROM crawl_urls WHERE job_id = ?1 AND url_key = ?2) AS url_state, ",
        document_columns!()
    );
    fn from_row(row: &Columns<'_>) -> PortResult<Self> {
        Ok(MessageContext {
            job: CrawlJob::from_row(row)?,
            url_state: row.opt_text("url_state")?.as_deref().and_then(UrlState::parse),
            // A document always has a content hash; none here is no document.
            document: match row.opt_text("content_hash")? {
                Some(_) => Some(DocumentMeta::from_row(row)?),
                None => None,
            },
        })
    }
}

/// A queued URL discovered from a parent page (the parent's job and priority complete it).
struct QueuedChild {
    url: String,
    depth: u32,
    lastmod_ms: Option<u64>,
    redirects: u32,
}

impl FromRow for QueuedChild {
    const COLUMNS: &'static str = "url, depth, lastmod_ms, redirects";
    fn from_row(row: &Columns<'_>) -> PortResult<Self> {
        Ok(QueuedChild {
            url: row.text("url")?,
            depth: row.int("depth")? as u32,
            lastmod_ms: row.opt_int("lastmod_ms")?,
            redirects: row.int("redirects")? as u32,
        })
    }
}

/// The message of a queued URL of an active job, as the sweep resends it.
struct StaleMessage(CrawlMessage);

impl FromRow for StaleMessage {
    const COLUMNS: &'static str = "u.job_id, u.url, u.depth, j.priority, u.lastmod_ms, u.redirects";
    fn from_row(row: &Columns<'_>) -> PortResult<Self> {
        let mut message = CrawlMessage::new(
            &row.text("job_id")?,
            &row.text("url")?,
            row.int("depth")? as u32,
            priority(row)?,
        );
        message.lastmod_ms = row.opt_int("lastmod_ms")?;
        message.redirects = row.int("redirects")? as u32;
        Ok(StaleMessage(message))
    }
}

/// The message of a dead letter, as a replay sends it again.
struct ReplayedMessage(CrawlMessage);

impl FromRow for ReplayedMessage {
    const COLUMNS: &'static str = "d.job_id, d.url, d.depth, j.priority";
    fn from_row(row: &Columns<'_>) -> PortResult<Self> {
        Ok(ReplayedMessage(CrawlMessage::new(
            &row.text("job_id")?,
            &row.text("url")?,
            row.int("depth")? as u32,
            priority(row)?,
        )))
    }
}

impl FromRow for DeadLetter {
    const COLUMNS: &'static str = "job_id, url, depth, attempts, reason, at";
    fn from_row(row: &Columns<'_>) -> PortResult<Self> {
        Ok(DeadLetter {
            job: row.text("job_id")?,
            url: row.text("url")?,
            depth: row.int("depth")? as u32,
            attempts: row.int("attempts")? as u32,
            reason: row.text("reason")?,
            at: format_timestamp(row.int("at")?),
        })
    }
}

/// A job's priority; an unknown or missing one is the default.
fn priority(row: &Columns<'_>) -> PortResult<Priority> {
    Ok(row.opt_text("priority")?.as_deref().and_then(Priority::parse).unwrap_or_default())
}

impl<D: SqlDatabase> SqlStore<D> {
    async fn page_counts(&self, job_id: &str) -> PortResult<PageCounts> {
        let rows = self
            .query(
                &format!(
                    "SELECT {} FROM crawl_urls WHERE job_id = ?1 GROUP BY state",
                    StateCount::COLUMNS
                ),
                vec![job_id.into()],
            )
            .await?;
        let mut counts = PageCounts::default();
        for StateCount { state, urls, fetched } in decode(&rows)? {
            counts.discovered += urls;
            counts.fetched += fetched;
            match state {
                Some(UrlState::Indexed) => counts.indexed += urls,
                Some(UrlState::Unchanged) => counts.unchanged += urls,
                Some(UrlState::Skipped) => counts.skipped += urls,
                Some(UrlState::Failed) => counts.failed += urls,
                Some(UrlState::Queued) | None => {}
            }
        }
        Ok(counts)
    }

    /// The job of a row, with its page counts.
    async fn with_counts(&self, mut job: CrawlJob) -> PortResult<CrawlJob> {
        let blocked = self
            .query(
                "SELECT COUNT(*) FROM crawl_urls WHERE job_id = ?1 AND state = 'skipped' AND detail = ?2",
                vec![job.id.as_str().into(), docent_core::domain::ROBOTS_BLOCKED.into()],
            )
            .await?;
        job.blocked_by_robots = single_int(&blocked)?;
        job.pages = self.page_counts(&job.id).await?;
        // A URL noted as left out while a concurrent consumer still had room for it may have been
        // recorded after all; only the ones never recorded count.
        let left_out = self
            .query(
                "SELECT COUNT(*) FROM crawl_left_out l WHERE l.job_id = ?1
                   AND NOT EXISTS (SELECT 1 FROM crawl_urls u WHERE u.job_id = l.job_id AND u.url_key = l.url_key)",
                vec![job.id.as_str().into()],
            )
            .await?;
        job.pages.left_out = single_int(&left_out)?;
        Ok(job)
    }
}

impl<D: SqlDatabase> CrawlStore for SqlStore<D> {
    async fn create_job(
        &self, job: &NewCrawlJob, start: &CrawlMessage, now_ms: u64,
    ) -> PortResult<()> {
        let globs = |g: &Vec<String>| serde_json::to_string(g).unwrap_or_else(|_| "[]".into());
        self.db
            .batch(&[
                Statement::new(
                    "INSERT INTO crawl_jobs (id, start_url, status, priority, max_pages, max_depth, include_globs, exclude_globs, created_at)
                     VALUES (?1, ?2, 'queued', ?3, ?4, ?5, ?6, ?7, ?8)",
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
            .query(
                &format!("SELECT {} FROM crawl_jobs WHERE id = ?1", CrawlJob::COLUMNS),
                vec![id.into()],
            )
            .await?;
        match decode_first::<CrawlJob>(&rows)? {
            Some(job) => Ok(Some(self.with_counts(job).await?)),
            None => Ok(None),
        }
    }

    async fn recent_jobs(&self, limit: u32) -> PortResult<Vec<CrawlJob>> {
        let rows = self
            .query(
                &format!(
                    "SELECT {} FROM crawl_jobs ORDER BY created_at DESC LIMIT ?1",
                    CrawlJob::COLUMNS
                ),
                vec![u64::from(limit).into()],
            )
            .await?;
        let mut jobs = Vec::with_capacity(rows.len());
        for job in decode::<CrawlJob>(&rows)? {
            jobs.push(self.with_counts(job).await?);
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

    async fn message_context(
        &self, job_id: &str, url_key: &str,
    ) -> PortResult<Option<MessageContext>> {
        let rows = self
            .query(
                &format!(
                    "SELECT {} FROM crawl_jobs LEFT JOIN documents ON documents.url_key = ?2 WHERE crawl_jobs.id = ?1",
                    MessageContext::COLUMNS
                ),
                vec![job_id.into(), url_key.into()],
            )
            .await?;
        decode_first(&rows)
    }

    async fn add_discovered(
        &self, parent: &CrawlMessage, found: &[CrawlMessage], max_pages: u32, now_ms: u64,
    ) -> PortResult<()> {
        let mut seen = std::collections::HashSet::new();
        let found: Vec<&CrawlMessage> = found.iter().filter(|m| seen.insert(m.url_key())).collect();
        // A group of URLs travels as one JSON parameter (D1 binds at most 100 parameters). The cap
        // check and the insert are one statement, so concurrent consumers can never push a job past
        // max_pages: the LIMIT is the room left when the statement runs, and only URLs not yet
        // recorded count. The second statement of the pair, in the same transaction, reads the
        // same array's URL keys and URLs and notes what the first left out because the job is full.
        let (record, note_left_out) = match self.db.dialect() {
            SqlDialect::Sqlite => (
                "INSERT OR IGNORE INTO crawl_urls (job_id, url_key, url, depth, parent_key, state, updated_at, lastmod_ms, redirects)
                 SELECT ?1, json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), ?2, 'queued', ?3,
                        json_extract(value, '$[3]'), json_extract(value, '$[4]')
                 FROM json_each(?4)
                 WHERE NOT EXISTS (SELECT 1 FROM crawl_urls u WHERE u.job_id = ?1 AND u.url_key = json_extract(value, '$[0]'))
                   AND EXISTS (SELECT 1 FROM crawl_jobs WHERE id = ?1 AND status IN ('queued', 'running'))
                 LIMIT max(0, ?5 - (SELECT COUNT(*) FROM crawl_urls WHERE job_id = ?1))",
                "INSERT OR IGNORE INTO crawl_left_out (job_id, url_key, url)
                 SELECT ?1, json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?2)
                 WHERE (SELECT COUNT(*) FROM crawl_urls WHERE job_id = ?1) >= ?3
                   AND NOT EXISTS (SELECT 1 FROM crawl_urls u WHERE u.job_id = ?1 AND u.url_key = json_extract(value, '$[0]'))",
            ),
            // Two consumers adding children of one job could each see room for the same slots;
            // the row lock on the job makes them take turns, as SQLite's single writer does.
            SqlDialect::Postgres => (
                "INSERT INTO crawl_urls (job_id, url_key, url, depth, parent_key, state, updated_at, lastmod_ms, redirects)
                 SELECT ?1, e->>0, e->>1, (e->>2)::integer, ?2, 'queued', ?3, (e->>3)::bigint, (e->>4)::integer
                 FROM jsonb_array_elements((?4::text)::jsonb) AS e
                 WHERE NOT EXISTS (SELECT 1 FROM crawl_urls u WHERE u.job_id = ?1 AND u.url_key = e->>0)
                   AND EXISTS (SELECT 1 FROM crawl_jobs WHERE id = ?1 AND status IN ('queued', 'running') FOR UPDATE)
                 LIMIT greatest(0, ?5 - (SELECT COUNT(*) FROM crawl_urls WHERE job_id = ?1))
                 ON CONFLICT DO NOTHING",
                "INSERT INTO crawl_left_out (job_id, url_key, url)
                 SELECT DISTINCT ?1, e->>0, e->>1 FROM jsonb_array_elements((?2::text)::jsonb) AS e
                 WHERE (SELECT COUNT(*) FROM crawl_urls WHERE job_id = ?1) >= ?3
                   AND NOT EXISTS (SELECT 1 FROM crawl_urls u WHERE u.job_id = ?1 AND u.url_key = e->>0)
                 ON CONFLICT DO NOTHING",
            ),
        };
        for group in found.chunks(DISCOVERED_PER_STATEMENT) {
            let rows: Vec<serde_json::Value> = group
                .iter()
                .map(|m| {
                    serde_json::json!([m.url_key(), m.url, m.depth, m.lastmod_ms, m.redirects])
                })
                .collect();
            let rows = serde_json::Value::Array(rows).to_string();
            let job: docent_core::ports::SqlValue = parent.job.as_str().into();
            self.db
                .batch(&[
                    Statement::new(
                        record,
                        vec![
                            job.clone(),
                            parent.url_key().into(),
                            now_ms.into(),
                            rows.as_str().into(),
                            u64::from(max_pages).into(),
                        ],
                    ),
                    Statement::new(
                        note_left_out,
                        vec![job, rows.into(), u64::from(max_pages).into()],
                    ),
                ])
                .await?;
        }
        Ok(())
    }

    async fn queued_children(&self, parent: &CrawlMessage) -> PortResult<Vec<CrawlMessage>> {
        let rows = self
            .query(
                &format!(
                    "SELECT {} FROM crawl_urls WHERE job_id = ?1 AND parent_key = ?2 AND state = 'queued'",
                    QueuedChild::COLUMNS
                ),
                vec![parent.job.as_str().into(), parent.url_key().into()],
            )
            .await?;
        Ok(decode::<QueuedChild>(&rows)?
            .into_iter()
            .map(|child| {
                let mut message =
                    CrawlMessage::new(&parent.job, &child.url, child.depth, parent.priority);
                message.lastmod_ms = child.lastmod_ms;
                message.redirects = child.redirects;
                message
            })
            .collect())
    }

    async fn finish_url(
        &self, message: &CrawlMessage, outcome: &UrlOutcome, findings: Findings<'_>, now_ms: u64,
    ) -> PortResult<Finished> {
        let mut statements = Vec::with_capacity(4);
        if let Some(url_key) = findings.seen_document {
            statements.push(Statement::new(
                "INSERT INTO page_sightings (url_key, job_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                vec![url_key.into(), message.job.as_str().into()],
            ));
        }
        if findings.truncated {
            statements.push(Statement::new(
                "INSERT INTO crawl_truncated (job_id) VALUES (?1) ON CONFLICT DO NOTHING",
                vec![message.job.as_str().into()],
            ));
        }
        let first = statements.len();
        statements.extend([
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
        ]);
        let changes = self.db.batch(&statements).await?;
        let changed = |i: usize| changes.get(first + i).copied().unwrap_or(0) > 0;
        Ok(Finished { url: changed(0), job: changed(1) })
    }

    async fn record_glob_matches(&self, job_id: &str, matched: GlobMatches) -> PortResult<()> {
        if matched.is_empty() {
            return Ok(());
        }
        // One atomic OR per call; the WHERE skips the write when nothing is new, as on most pages.
        let statement = Statement::new(
            "INSERT INTO docent_meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = docent_meta.value | excluded.value
             WHERE (docent_meta.value & excluded.value) <> excluded.value",
            vec![glob_matches_key(job_id).into(), matched.bits().into()],
        );
        self.db.batch(std::slice::from_ref(&statement)).await.map(|_| ())
    }

    async fn not_indexed(&self, job_id: &str, limit: u32) -> PortResult<Vec<NotIndexed>> {
        let rows = self
            .query(
                &format!(
                    "SELECT {} FROM crawl_urls
                     WHERE job_id = ?1 AND state IN ('skipped', 'failed') ORDER BY url LIMIT ?2",
                    NotIndexed::COLUMNS
                ),
                vec![job_id.into(), u64::from(limit).into()],
            )
            .await?;
        decode(&rows)
    }

    async fn glob_matches(&self, job_id: &str) -> PortResult<GlobMatches> {
        let rows = self
            .query(
                "SELECT value FROM docent_meta WHERE key = ?1",
                vec![glob_matches_key(job_id).into()],
            )
            .await?;
        Ok(GlobMatches::from_bits(single_int(&rows)?))
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
        // The row was just written; were it gone, this was the first failure.
        Ok(if rows.is_empty() { 1 } else { single_int(&rows)? as u32 })
    }

    async fn dead_letter(&self, message: &CrawlMessage, now_ms: u64) -> PortResult<Finished> {
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
            .await?;
        let reason = single_text(&reason).unwrap_or_else(|| "unknown".into());
        let outcome = UrlOutcome {
            state: UrlState::Failed,
            fetched: false,
            detail: Some(format!("gave up after retries: {reason}")),
        };
        self.finish_url(message, &outcome, Findings::default(), now_ms).await
    }

    async fn dead_letters(&self, limit: u32) -> PortResult<Vec<DeadLetter>> {
        let rows = self
            .query(
                &format!(
                    "SELECT {} FROM dead_letters ORDER BY at DESC LIMIT ?1",
                    DeadLetter::COLUMNS
                ),
                vec![u64::from(limit).into()],
            )
            .await?;
        decode(&rows)
    }

    async fn replay_dead_letters(
        &self, job: Option<&str>, now_ms: u64,
    ) -> PortResult<Vec<CrawlMessage>> {
        let rows = self
            .query(
                &format!(
                    "SELECT {} FROM dead_letters d JOIN crawl_jobs j ON j.id = d.job_id
                     WHERE CAST(?1 AS TEXT) IS NULL OR d.job_id = ?1 ORDER BY d.at LIMIT 500",
                    ReplayedMessage::COLUMNS
                ),
                vec![job.into()],
            )
            .await?;
        let messages: Vec<CrawlMessage> =
            decode(&rows)?.into_iter().map(|ReplayedMessage(message)| message).collect();
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
        &self, older_than_ms: u64, limit: u32, now_ms: u64,
    ) -> PortResult<Vec<CrawlMessage>> {
        // A job is stalled when none of its URLs changed state, and no sweep resent its work, since
        // `older_than_ms`: its messages were lost. A job that progresses slowly (a polite crawl of
        // a large site) is left alone however long its URLs wait.
        let rows = self
            .query(
                &format!(
                    "SELECT {} FROM crawl_urls u JOIN crawl_jobs j ON j.id = u.job_id
                     WHERE u.state = 'queued' AND j.status IN ('queued', 'running') AND COALESCE(j.swept_at, 0) < ?1
                       AND NOT EXISTS (SELECT 1 FROM crawl_urls r WHERE r.job_id = u.job_id AND r.updated_at >= ?1)
                       AND NOT EXISTS (SELECT 1 FROM crawl_urls d WHERE d.job_id = u.job_id AND d.due_at >= ?1)
                     LIMIT ?2",
                    StaleMessage::COLUMNS
                ),
                vec![older_than_ms.into(), u64::from(limit).into()],
            )
            .await?;
        let messages: Vec<CrawlMessage> =
            decode(&rows)?.into_iter().map(|StaleMessage(message)| message).collect();
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
