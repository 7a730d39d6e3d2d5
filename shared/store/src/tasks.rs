//! A durable task table: the crawl queue of platforms that have no managed queue (Spin, and any
//! deployment whose store is Postgres).
//!
//! One row per crawl message. Sending inserts rows with a priority tier and a due time; a drainer
//! claims due rows with a lease in priority order, runs them, and then deletes (ack), reschedules
//! (retry) or moves them to the dead letters. It gives what the Worker gets from Cloudflare Queues:
//!
//! - **At-least-once delivery.** A claimed row stays in the table until it is settled; a drainer
//!   that dies leaves a lease that expires, and the row is claimed again.
//! - **No double claim.** The claim is one `UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING`
//!   statement: SQLite runs writers one at a time, so two drainers never take the same row while
//!   its lease holds (Postgres gets the same from `SELECT … FOR UPDATE SKIP LOCKED` in the
//!   sub-select).
//! - **Settling needs the lease.** Every ack and retry names the lease token it claimed with, so a
//!   drainer whose lease ran out and whose row was claimed again cannot settle the other one's
//!   delivery.
//! - **Retries and dead letters** as the Worker's queues are configured: [`MAX_RETRIES`]
//!   redeliveries after the first, then the row turns into a dead letter, delivered once more to
//!   the dead-letter consumer (`crawl::dead_letter`), as Cloudflare moves it to the dead-letter
//!   queue.
//!
//! Exactly-once *indexing* does not come from here but from the crawl store (see ARCHITECTURE.md):
//! a redelivered message is recognised by its URL's state and acknowledged without work.

use crate::rows::{decode, decode_first, from_row, Columns, FromRow};
use docent_core::domain::{CrawlMessage, Priority};
use docent_core::ports::{
    Clock, CrawlQueue, PortError, PortResult, SqlDatabase, SqlDialect, SqlValue, Statement,
};

/// Redeliveries after the first before a message becomes a dead letter: `max_retries` of the
/// Worker's queue consumers in wrangler.toml, so both platforms give a failing URL six attempts.
pub const MAX_RETRIES: u32 = docent_core::crawl::retry::MAX_ATTEMPTS - 1;

/// The table and the index the claim walks (tier first, then due time).
pub const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS crawl_tasks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        tier INTEGER NOT NULL,
        due_ms INTEGER NOT NULL,
        lease_until_ms INTEGER NOT NULL DEFAULT 0,
        lease_token TEXT,
        retries INTEGER NOT NULL DEFAULT 0,
        dead INTEGER NOT NULL DEFAULT 0,
        message TEXT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS crawl_tasks_due ON crawl_tasks (tier, due_ms)",
];

/// A claimed row: deliver `message` (to the dead-letter consumer if `dead`), then settle it.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub id: i64,
    pub message: CrawlMessage,
    /// Redeliveries so far (0 on the first delivery).
    pub retries: u32,
    pub dead: bool,
    pub lease_token: String,
}

/// What a retry did with the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retried {
    /// Due again after the delay.
    Rescheduled,
    /// It used its last retry: it is now a dead letter, due at once.
    DeadLettered,
    /// The lease had run out and someone else holds the row now; nothing was changed.
    LeaseLost,
}

/// How much work the table holds, for drain reports and for deciding whether to drain again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Rows due now and not leased.
    pub due: u64,
    /// Rows due later, or leased by a drainer.
    pub waiting: u64,
    /// When the next row not yet due becomes due (ms since the epoch).
    pub next_due_ms: Option<u64>,
}

/// The task table over SQLite or Postgres, with the platform's clock for due times and
/// lease tokens. It implements [`CrawlQueue`], so the functions send to it like to any queue.
pub struct TaskQueue<D, C> {
    db: D,
    clock: C,
}

fn tier(priority: Priority) -> i64 {
    Priority::ALL.iter().position(|p| *p == priority).unwrap_or(2) as i64
}

/// A row as a claim returns it; the claim's lease token completes the task.
struct ClaimedRow {
    tier: u64,
    due_ms: u64,
    task: Task,
}

impl FromRow for ClaimedRow {
    const COLUMNS: &'static str = "id, tier, due_ms, retries, dead, message";
    fn from_row(row: &Columns<'_>) -> PortResult<Self> {
        let message = serde_json::from_str(row.str("message")?)
            .map_err(|e| PortError::permanent(format!("decoding a task: {e}")))?;
        Ok(ClaimedRow {
            tier: row.int("tier")?,
            due_ms: row.int("due_ms")?,
            task: Task {
                id: row.int("id")? as i64,
                message,
                retries: row.int("retries")? as u32,
                dead: row.int("dead")? != 0,
                lease_token: String::new(),
            },
        })
    }
}

// `?1` is the time now.
from_row!(Backlog = "COUNT(CASE WHEN due_ms <= ?1 AND lease_until_ms <= ?1 THEN 1 END) AS due,
         COUNT(CASE WHEN due_ms > ?1 OR lease_until_ms > ?1 THEN 1 END) AS waiting,
         MIN(CASE WHEN due_ms > ?1 THEN due_ms END) AS next_due_ms" { due, waiting, next_due_ms });

impl<D: SqlDatabase, C: Clock> TaskQueue<D, C> {
    pub fn new(db: D, clock: C) -> Self {
        TaskQueue { db, clock }
    }

    /// Creates the table on SQLite; on Postgres it is part of the store's migrations.
    pub async fn ensure_schema(&self) -> PortResult<()> {
        if self.db.dialect() == SqlDialect::Postgres {
            return Ok(());
        }
        let statements: Vec<Statement> =
            SCHEMA.iter().map(|sql| Statement::new(*sql, vec![])).collect();
        self.db.batch(&statements).await.map(|_| ())
    }

    /// Inserts one row per message, all due at `due_ms`, in one transaction.
    pub async fn send_at(&self, messages: &[CrawlMessage], due_ms: u64) -> PortResult<()> {
        if messages.is_empty() {
            return Ok(());
        }
        let statements = messages
            .iter()
            .map(|message| {
                let body = serde_json::to_string(message)
                    .map_err(|e| PortError::permanent(format!("encoding a task: {e}")))?;
                Ok(Statement::new(
                    "INSERT INTO crawl_tasks (tier, due_ms, message) VALUES (?1, ?2, ?3)",
                    vec![tier(message.priority).into(), due_ms.into(), body.into()],
                ))
            })
            .collect::<PortResult<Vec<_>>>()?;
        self.db.batch(&statements).await.map(|_| ())
    }

    /// Claims up to `limit` due rows for `lease_ms`, highest tier first, then oldest due first.
    pub async fn claim(&self, limit: u32, lease_ms: u64) -> PortResult<Vec<Task>> {
        let now = self.clock.now_ms();
        let mut token = [0u8; 16];
        self.clock.random_bytes(&mut token);
        let token: String = token.iter().map(|b| format!("{b:02x}")).collect();
        // Postgres runs writers concurrently: the sub-select locks the rows it picks and skips rows
        // another drainer is claiming, so two claims never overlap and never wait on each other.
        let lock =
            if self.db.dialect() == SqlDialect::Postgres { "FOR UPDATE SKIP LOCKED" } else { "" };
        let rows = self
            .db
            .query(&Statement::new(
                format!(
                    "UPDATE crawl_tasks SET lease_until_ms = ?1, lease_token = ?2
                     WHERE id IN (SELECT id FROM crawl_tasks WHERE due_ms <= ?3 AND lease_until_ms <= ?3
                                  ORDER BY tier, due_ms, id LIMIT ?4 {lock})
                     RETURNING {}",
                    ClaimedRow::COLUMNS
                ),
                vec![(now + lease_ms).into(), token.clone().into(), now.into(), i64::from(limit).into()],
            ))
            .await?;
        let mut claimed: Vec<ClaimedRow> = decode(&rows)?;
        // RETURNING gives rows in no promised order: deliver in the claim's order.
        claimed.sort_by_key(|row| (row.tier, row.due_ms, row.task.id));
        Ok(claimed.into_iter().map(|row| Task { lease_token: token.clone(), ..row.task }).collect())
    }

    /// The delivery succeeded: the row goes. False if the lease was lost meanwhile.
    pub async fn ack(&self, task: &Task) -> PortResult<bool> {
        let changed = self
            .db
            .batch(&[Statement::new(
                "DELETE FROM crawl_tasks WHERE id = ?1 AND lease_token = ?2",
                vec![task.id.into(), task.lease_token.clone().into()],
            )])
            .await?;
        Ok(changed.first().copied().unwrap_or(0) > 0)
    }

    /// The delivery asked to be retried after `delay_seconds`: reschedules it, or, after its last
    /// retry, turns it into a dead letter. A dead letter that asks for a retry is rescheduled as
    /// such.
    pub async fn retry(&self, task: &Task, delay_seconds: u32) -> PortResult<Retried> {
        let now = self.clock.now_ms();
        let (statement, outcome) = if !task.dead && task.retries >= MAX_RETRIES {
            (
                Statement::new(
                    "UPDATE crawl_tasks SET dead = 1, due_ms = ?1, lease_until_ms = 0, lease_token = NULL WHERE id = ?2 AND lease_token = ?3",
                    vec![now.into(), task.id.into(), task.lease_token.clone().into()],
                ),
                Retried::DeadLettered,
            )
        } else {
            (
                Statement::new(
                    "UPDATE crawl_tasks SET retries = retries + 1, due_ms = ?1, lease_until_ms = 0, lease_token = NULL WHERE id = ?2 AND lease_token = ?3",
                    vec![(now + u64::from(delay_seconds) * 1000).into(), task.id.into(), task.lease_token.clone().into()],
                ),
                Retried::Rescheduled,
            )
        };
        let changed = self.db.batch(&[statement]).await?;
        Ok(if changed.first().copied().unwrap_or(0) > 0 { outcome } else { Retried::LeaseLost })
    }

    /// Rows due now, and the rest (later or leased).
    pub async fn backlog(&self) -> PortResult<Backlog> {
        let now = self.clock.now_ms();
        let rows = self
            .db
            .query(&Statement::new(
                format!("SELECT {} FROM crawl_tasks", Backlog::COLUMNS),
                vec![SqlValue::from(now)],
            ))
            .await?;
        decode_first(&rows)?.ok_or_else(|| PortError::permanent("crawl_tasks backlog: no row"))
    }
}

impl<D: SqlDatabase, C: Clock> CrawlQueue for TaskQueue<D, C> {
    async fn send_batch(&self, messages: &[CrawlMessage]) -> PortResult<()> {
        self.send_at(messages, self.clock.now_ms()).await
    }

    async fn send_later(&self, messages: &[CrawlMessage], delay_seconds: u32) -> PortResult<()> {
        self.send_at(messages, self.clock.now_ms() + u64::from(delay_seconds) * 1000).await
    }
}
