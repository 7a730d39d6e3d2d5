//! Politeness gates kept in a SQL table, for platforms with no single-threaded object per host
//! (Spin; later Postgres): one row per gate key holding the [`HostGate`] state and a version.
//!
//! Every decision is the core's own ([`HostGate::acquire_units`], [`HostGate::release`]), made on
//! the state just read and written back only if nobody wrote in between: the write is conditional
//! on the version read (`UPDATE … WHERE key = ? AND version = ?`), or, for a key not seen before,
//! an insert that does nothing if another instance inserted first. A lost race reads again and
//! decides again, a bounded number of times; so two instances can never both take the last slot,
//! which is what the Durable Object gives on Cloudflare by being the only one deciding.
//!
//! No transaction is held across the decision (a read, then one conditional statement), so a gate
//! costs two statements per request and never blocks another writer for longer than one statement.

use docent_core::crawl::politeness::{Admission, HostGate, HostLimits, CONCURRENCY_POLL_MS};
use docent_core::ports::{Clock, FetchGate, PortError, PortResult, Row, SqlDatabase, Statement};

/// The gate table. `state` is the [`HostGate`] as JSON.
pub const SCHEMA: &[&str] = &["CREATE TABLE IF NOT EXISTS politeness_gates (
        key TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        state TEXT NOT NULL
    )"];

/// Reads and decisions per call before giving up on a contended gate.
pub const MAX_ATTEMPTS: u32 = 8;

/// The statement that reads a gate's version and state.
pub fn read_statement(key: &str) -> Statement {
    Statement::new("SELECT version, state FROM politeness_gates WHERE key = ?1", vec![key.into()])
}

/// A gate row as read: its version and state.
pub fn decode_row(row: &Row) -> PortResult<(i64, HostGate)> {
    let [version, state] = row.as_slice() else {
        return Err(PortError::permanent("politeness_gates: unexpected columns"));
    };
    let version = version.as_i64().ok_or_else(|| {
        PortError::permanent(format!("politeness_gates.version: not an integer: {version}"))
    })?;
    let state =
        state.as_str().ok_or_else(|| PortError::permanent("politeness_gates.state: not text"))?;
    let gate = serde_json::from_str(state)
        .map_err(|e| PortError::permanent(format!("politeness_gates.state: {e}")))?;
    Ok((version, gate))
}

/// The write of `gate` as the new state of `key`, which applies only if the row is still at
/// `read_version` (or, with `None`, still absent). It returns a row exactly when it applied.
pub fn write_statement(
    key: &str, read_version: Option<i64>, gate: &HostGate,
) -> PortResult<Statement> {
    let state = serde_json::to_string(gate)
        .map_err(|e| PortError::permanent(format!("encoding a gate: {e}")))?;
    Ok(match read_version {
        None => Statement::new(
            "INSERT INTO politeness_gates (key, version, state) VALUES (?1, 1, ?2) ON CONFLICT (key) DO NOTHING RETURNING version",
            vec![key.into(), state.into()],
        ),
        Some(version) => Statement::new(
            "UPDATE politeness_gates SET state = ?3, version = version + 1 WHERE key = ?1 AND version = ?2 RETURNING version",
            vec![key.into(), version.into(), state.into()],
        ),
    })
}

/// The [`FetchGate`] port over any SQLite-dialect database, with the platform's clock.
pub struct SqlGate<D, C> {
    db: D,
    clock: C,
}

impl<D: SqlDatabase, C: Clock> SqlGate<D, C> {
    pub fn new(db: D, clock: C) -> Self {
        SqlGate { db, clock }
    }

    pub async fn ensure_schema(&self) -> PortResult<()> {
        let statements: Vec<Statement> =
            SCHEMA.iter().map(|sql| Statement::new(*sql, vec![])).collect();
        self.db.batch(&statements).await.map(|_| ())
    }

    /// Applies `decide` to the current state of `key` and stores the result, retrying on a lost
    /// race; `None` if every attempt lost. An absent gate is created only if `create` (a release of
    /// an unknown gate changes nothing).
    async fn update<T>(
        &self, key: &str, create: bool, decide: impl Fn(&mut HostGate, u64) -> T,
    ) -> PortResult<Option<T>> {
        for _ in 0..MAX_ATTEMPTS {
            let now = self.clock.now_ms();
            let rows = self.db.query(&read_statement(key)).await?;
            let (read_version, mut gate) = match rows.first() {
                Some(row) => decode_row(row).map(|(version, gate)| (Some(version), gate))?,
                None if create => (None, HostGate::starting_after(now.saturating_mul(1000))),
                None => return Ok(None),
            };
            let outcome = decide(&mut gate, now);
            if !self.db.query(&write_statement(key, read_version, &gate)?).await?.is_empty() {
                return Ok(Some(outcome));
            }
        }
        Ok(None)
    }
}

impl<D: SqlDatabase, C: Clock> FetchGate for SqlGate<D, C> {
    async fn acquire_units(
        &self, key: &str, limits: &HostLimits, units: u32,
    ) -> PortResult<Admission> {
        let admission =
            self.update(key, true, |gate, now| gate.acquire_units(limits, units, now)).await?;
        // A gate this contended is busy: asking again shortly is always within the limits.
        Ok(admission.unwrap_or(Admission::Wait { ms: CONCURRENCY_POLL_MS }))
    }

    async fn release(&self, key: &str, lease: u64) -> PortResult<()> {
        // A release that keeps losing races leaves the lease to expire on its own.
        match self.update(key, false, |gate, _| gate.release(lease)).await? {
            Some(()) => Ok(()),
            None => Err(PortError::transient(format!(
                "politeness gate {key}: release kept conflicting; the lease will expire"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_state_reads_back_with_its_version() {
        let limits =
            HostLimits { rate_per_second: 2.0, burst: 1, concurrency: 2, lease_ms: 10_000 };
        let mut gate = HostGate::starting_after(7);
        assert_eq!(gate.acquire(&limits, 1_000), Admission::Granted { lease: 8 });
        let write = write_statement("https://a.example", Some(4), &gate).unwrap();
        assert!(write.sql.contains("WHERE key = ?1 AND version = ?2"), "{}", write.sql);
        let state = write.params[2].clone();
        let docent_core::ports::SqlValue::Text(state) = state else { panic!("state is text") };
        let (version, read) =
            decode_row(&vec![serde_json::json!(5), serde_json::json!(state)]).unwrap();
        assert_eq!((version, &read), (5, &gate));
        // The state carries the rate schedule and the lease: the next request waits for both.
        let mut read = read;
        assert!(matches!(read.acquire(&limits, 1_000), Admission::Wait { .. }));
        read.release(8);
        assert_eq!(read.in_flight(), 0);
    }

    #[test]
    fn a_new_key_is_inserted_only_if_still_absent() {
        let write = write_statement("*", None, &HostGate::default()).unwrap();
        assert!(
            write.sql.starts_with("INSERT")
                && write.sql.contains("ON CONFLICT (key) DO NOTHING RETURNING"),
            "{}",
            write.sql
        );
        assert!(decode_row(&vec![serde_json::json!("x")]).is_err());
        assert!(decode_row(&vec![serde_json::json!(1), serde_json::json!("not json")]).is_err());
    }
}
