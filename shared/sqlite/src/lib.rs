//! Docent's [`SqlDatabase`] port on SQLite through rusqlite: what the `docent` command indexes
//! into, and what the store's tests run on. SQLite is bundled, so FTS5 is there as in D1 and in
//! Spin's SQLite.
//!
//! [`rows`] and [`param`] are also what the Spin test harness's `spin:sqlite` host is built on,
//! with Spin's value type instead of the port's.

#![allow(async_fn_in_trait)]

use std::cell::RefCell;
use std::path::Path;
use std::time::{Duration, Instant};

use docent_core::ports::{PortError, PortResult, Row, SqlDatabase, SqlValue, Statement};
use rusqlite::types::{ToSqlOutput, ValueRef};

/// One SQLite connection: the same schema and SQL as D1.
pub struct Sqlite(RefCell<rusqlite::Connection>);

impl Sqlite {
    /// Opens (or creates) the database file at `path`.
    pub fn open(path: &Path) -> Result<Self, String> {
        connect(path)
            .map(|c| Sqlite(RefCell::new(c)))
            .map_err(|e| format!("opening {}: {e}", path.display()))
    }

    /// A private database that lives as long as this value.
    pub fn in_memory() -> Result<Self, String> {
        rusqlite::Connection::open_in_memory()
            .map(|connection| Sqlite(RefCell::new(connection)))
            .map_err(|e| format!("opening an in-memory database: {e}"))
    }
}

/// How long a statement waits for another connection's lock before it fails as busy.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection to the database file at `path` (created if missing), in WAL mode, waiting up to
/// [`BUSY_TIMEOUT`] for other connections' locks.
pub fn connect(path: &Path) -> rusqlite::Result<rusqlite::Connection> {
    let connection = rusqlite::Connection::open(path)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    // WAL without a sync per commit: an index can be rebuilt, so losing the last commits on power
    // loss is acceptable, and indexing runs several times faster.
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    // Switching a new database to WAL turns a read lock into a write lock, which SQLite does not
    // wait for (two connections waiting on each other would deadlock): when several connections
    // open a new database at once, all but one see "database is locked". Asking again is safe, as
    // the one that got through has switched the file for all.
    let started = Instant::now();
    loop {
        match connection
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
        {
            Ok(_) => return Ok(connection),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => return Err(e),
        }
    }
}

/// A port value as a rusqlite parameter.
pub fn param(value: &SqlValue) -> ToSqlOutput<'_> {
    ToSqlOutput::Borrowed(match value {
        SqlValue::Null => ValueRef::Null,
        SqlValue::Integer(n) => ValueRef::Integer(*n),
        SqlValue::Real(x) => ValueRef::Real(*x),
        SqlValue::Text(s) => ValueRef::Text(s.as_bytes()),
    })
}

/// Runs a prepared query and converts each cell of each row with `cell`.
pub fn rows<T>(
    statement: &mut rusqlite::Statement<'_>, params: impl rusqlite::Params,
    mut cell: impl FnMut(ValueRef<'_>) -> T,
) -> rusqlite::Result<Vec<Vec<T>>> {
    let columns = statement.column_count();
    let mut rows = statement.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(columns);
        for i in 0..columns {
            values.push(cell(row.get_ref(i)?));
        }
        out.push(values);
    }
    Ok(out)
}

/// A cell as the port's rows hold it: numbers, text (blobs read as text) or null.
fn json_cell(value: ValueRef<'_>) -> serde_json::Value {
    match value {
        ValueRef::Null => serde_json::Value::Null,
        ValueRef::Integer(n) => n.into(),
        ValueRef::Real(x) => {
            serde_json::Number::from_f64(x).map(serde_json::Value::Number).unwrap_or_default()
        }
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned().into(),
    }
}

/// A column name that a result has twice. The same SQL runs on D1, whose rows are objects keyed by
/// column name: there the second column silently replaces the first, so it must fail here.
fn repeated_column<'a>(names: &[&'a str]) -> Option<&'a str> {
    names.iter().enumerate().find(|(i, name)| names[..*i].contains(name)).map(|(_, name)| *name)
}

fn sql_error(error: rusqlite::Error) -> PortError {
    PortError::permanent(format!("SQLite: {error}"))
}

impl SqlDatabase for Sqlite {
    async fn query(&self, statement: &Statement) -> PortResult<Vec<Row>> {
        let connection = self.0.borrow();
        let mut prepared = connection.prepare_cached(&statement.sql).map_err(sql_error)?;
        if let Some(name) = repeated_column(&prepared.column_names()) {
            return Err(PortError::permanent(format!(
                "SQLite: the query returns two columns named `{name}`, and D1, which keys a row by \
                 its column names, would return one: {}",
                statement.sql
            )));
        }
        rows(
            &mut prepared,
            rusqlite::params_from_iter(statement.params.iter().map(param)),
            json_cell,
        )
        .map_err(sql_error)
    }

    async fn batch(&self, statements: &[Statement]) -> PortResult<Vec<u64>> {
        let mut connection = self.0.borrow_mut();
        let transaction = connection.transaction().map_err(sql_error)?;
        let mut changes = Vec::with_capacity(statements.len());
        for statement in statements {
            let mut prepared = transaction.prepare_cached(&statement.sql).map_err(sql_error)?;
            let n = prepared
                .execute(rusqlite::params_from_iter(statement.params.iter().map(param)))
                .map_err(sql_error)?;
            changes.push(n as u64);
        }
        transaction.commit().map_err(sql_error)?;
        Ok(changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_opening_a_new_database_at_once_all_get_through() {
        let dir = std::env::temp_dir().join(format!("docent-sqlite-open-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Each round races twelve connections to create one file; one round alone rarely collides.
        for round in 0..20 {
            let path = dir.join(format!("{round}.db"));
            let start = std::sync::Barrier::new(12);
            let outcomes: Vec<Result<String, String>> = std::thread::scope(|scope| {
                let opening: Vec<_> = (0..12)
                    .map(|_| {
                        scope.spawn(|| {
                            start.wait();
                            let connection = connect(&path).map_err(|e| e.to_string())?;
                            connection
                                .query_row("PRAGMA journal_mode", [], |row| row.get(0))
                                .map_err(|e| e.to_string())
                        })
                    })
                    .collect();
                opening.into_iter().map(|t| t.join().unwrap()).collect()
            });
            assert!(
                outcomes.iter().all(|mode| mode.as_deref() == Ok("wal")),
                "round {round}: {outcomes:?}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn values_round_trip_and_a_failed_batch_changes_nothing() {
        pollster::block_on(async {
            let db = Sqlite::in_memory().unwrap();
            db.batch(&[Statement::new("CREATE TABLE t (a INTEGER, b REAL, c TEXT)", vec![])])
                .await
                .unwrap();
            let insert = |a: SqlValue| {
                Statement::new(
                    "INSERT INTO t (a, b, c) VALUES (?1, ?2, ?3)",
                    vec![a, 0.5.into(), "x".into()],
                )
            };
            assert_eq!(
                db.batch(&[insert(1i64.into()), insert(SqlValue::Null)]).await.unwrap(),
                [1, 1]
            );
            let failing = Statement::new("INSERT INTO missing VALUES (1)", vec![]);
            assert!(db.batch(&[insert(2i64.into()), failing]).await.is_err());
            let rows = db
                .query(&Statement::new("SELECT a, b, c FROM t ORDER BY a", vec![]))
                .await
                .unwrap();
            assert_eq!(
                rows,
                [
                    vec![serde_json::Value::Null, 0.5.into(), "x".into()],
                    vec![1.into(), 0.5.into(), "x".into()]
                ]
            );
        });
    }
}
