//! Docent's [`SqlDatabase`] port on SQLite through rusqlite: what the `docent` command indexes
//! into, and what the store's tests run on. SQLite is bundled, so FTS5 is there as in D1 and in
//! Spin's SQLite.
//!
//! [`rows`] and [`param`] are also what the Spin test harness's `spin:sqlite` host is built on,
//! with Spin's value type instead of the port's.

#![allow(async_fn_in_trait)]

use std::cell::RefCell;
use std::path::Path;

use docent_core::ports::{PortError, PortResult, Row, SqlDatabase, SqlValue, Statement};
use rusqlite::types::{ToSqlOutput, ValueRef};

/// One SQLite connection: the same schema and SQL as D1.
pub struct Sqlite(RefCell<rusqlite::Connection>);

impl Sqlite {
    /// Opens (or creates) the database file at `path`.
    pub fn open(path: &Path) -> Result<Self, String> {
        let connection = rusqlite::Connection::open(path)
            .map_err(|e| format!("opening {}: {e}", path.display()))?;
        // WAL without a sync per commit: an index can be rebuilt, so losing the last commits on
        // power loss is acceptable, and indexing runs several times faster.
        connection
            .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;")
            .map_err(|e| format!("configuring {}: {e}", path.display()))?;
        Ok(Sqlite(RefCell::new(connection)))
    }

    /// A private database that lives as long as this value.
    pub fn in_memory() -> Result<Self, String> {
        rusqlite::Connection::open_in_memory()
            .map(|connection| Sqlite(RefCell::new(connection)))
            .map_err(|e| format!("opening an in-memory database: {e}"))
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

fn sql_error(error: rusqlite::Error) -> PortError {
    PortError::permanent(format!("SQLite: {error}"))
}

impl SqlDatabase for Sqlite {
    async fn query(&self, statement: &Statement) -> PortResult<Vec<Row>> {
        let connection = self.0.borrow();
        let mut prepared = connection.prepare_cached(&statement.sql).map_err(sql_error)?;
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
