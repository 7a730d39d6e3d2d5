//! `spin:sqlite` on rusqlite (bundled, so FTS5 is there as in Spin's own SQLite).

use std::path::PathBuf;

use rusqlite::types::{ToSqlOutput, ValueRef};
use wasmtime::component::Resource;

use crate::bindings::spin::sqlite::sqlite::{self, Error, QueryResult, RowResult, Value};
use crate::Host;

/// One connection, as `connection.open` returns it: an instance's transactions are its own.
pub struct SqlConnection {
    connection: rusqlite::Connection,
    database: String,
}

/// Idle connections per database label, shared by the application's instances.
pub type Pool =
    std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, Vec<rusqlite::Connection>>>>;

/// Where the database `label` of an application lives.
pub fn database_path(dir: &std::path::Path, label: &str) -> PathBuf {
    dir.join(format!("{label}.db"))
}

/// A Spin value as a rusqlite parameter.
fn param(value: &Value) -> ToSqlOutput<'_> {
    ToSqlOutput::Borrowed(match value {
        Value::Null => ValueRef::Null,
        Value::Integer(n) => ValueRef::Integer(*n),
        Value::Real(x) => ValueRef::Real(*x),
        Value::Text(s) => ValueRef::Text(s.as_bytes()),
        Value::Blob(b) => ValueRef::Blob(b),
    })
}

fn cell(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(n) => Value::Integer(n),
        ValueRef::Real(x) => Value::Real(x),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

fn run(
    connection: &rusqlite::Connection, sql: &str, params: &[Value],
) -> rusqlite::Result<QueryResult> {
    let mut statement = connection.prepare_cached(sql)?;
    let columns: Vec<String> = statement.column_names().into_iter().map(str::to_string).collect();
    let rows = docent_sqlite::rows(
        &mut statement,
        rusqlite::params_from_iter(params.iter().map(param)),
        cell,
    )?;
    Ok(QueryResult { columns, rows: rows.into_iter().map(|values| RowResult { values }).collect() })
}

impl sqlite::HostConnection for Host {
    fn open(
        &mut self, database: String,
    ) -> wasmtime::Result<Result<Resource<SqlConnection>, Error>> {
        if !self.component.spec.sqlite_databases.contains(&database) {
            return Ok(Err(Error::AccessDenied));
        }
        // Connections are reused across instances (one instance at a time each), as a host keeps a
        // pool: opening one costs more than a query, and its statement cache stays warm.
        let pooled = self.sqlite_pool.lock().unwrap().get_mut(&database).and_then(Vec::pop);
        let connection = match pooled {
            Some(connection) => connection,
            // Opening may wait for another connection's lock: off the async workers, as `execute`.
            None => match tokio::task::block_in_place(|| {
                docent_sqlite::connect(&database_path(&self.sqlite_dir, &database))
            }) {
                Ok(connection) => connection,
                Err(e) => return Ok(Err(Error::Io(e.to_string()))),
            },
        };
        Ok(Ok(self.table.push(SqlConnection { connection, database })?))
    }

    fn execute(
        &mut self, connection: Resource<SqlConnection>, statement: String, parameters: Vec<Value>,
    ) -> wasmtime::Result<Result<QueryResult, Error>> {
        let connection = &self.table.get(&connection)?.connection;
        // A blocking call: rusqlite is synchronous, and so is this interface.
        Ok(tokio::task::block_in_place(|| run(connection, &statement, &parameters))
            .map_err(|e| Error::Io(e.to_string())))
    }

    fn changes(&mut self, connection: Resource<SqlConnection>) -> wasmtime::Result<u64> {
        Ok(self.table.get(&connection)?.connection.changes())
    }

    fn drop(&mut self, connection: Resource<SqlConnection>) -> wasmtime::Result<()> {
        let SqlConnection { connection, database } = self.table.delete(connection)?;
        // A connection left inside a transaction (an instance that trapped mid-batch) is not
        // reused.
        if connection.is_autocommit() {
            self.sqlite_pool.lock().unwrap().entry(database).or_default().push(connection);
        }
        Ok(())
    }
}

impl sqlite::Host for Host {}
