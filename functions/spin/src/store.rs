//! The `SqlDatabase` port on Spin SQLite: the same SQL as D1 and rusqlite (FTS5 included).

use std::rc::Rc;

use docent_core::ports::{PortError, PortResult, Row, SqlDatabase, SqlValue, Statement};

use crate::bindings::spin::sqlite::sqlite::{Connection, Error, Value};

/// One connection per instance, shared by the document store and the task table.
#[derive(Clone)]
pub struct SpinSqlite(Rc<Connection>);

impl SpinSqlite {
    pub fn open(database: &str) -> Result<Self, String> {
        Connection::open(database)
            .map(|c| SpinSqlite(Rc::new(c)))
            .map_err(|e| format!("SQLite database `{database}`: {}", describe(&e)))
    }

    fn execute(
        &self, statement: &Statement,
    ) -> PortResult<crate::bindings::spin::sqlite::sqlite::QueryResult> {
        let params: Vec<Value> = statement.params.iter().map(to_value).collect();
        self.0.execute(&statement.sql, &params).map_err(|e| failure(&e))
    }

    fn run(&self, sql: &str) -> PortResult<()> {
        self.0.execute(sql, &[]).map(|_| ()).map_err(|e| failure(&e))
    }
}

fn describe(error: &Error) -> String {
    match error {
        Error::NoSuchDatabase => {
            "no such database (declare it in spin.toml sqlite_databases)".into()
        }
        Error::AccessDenied => "access denied".into(),
        Error::InvalidConnection => "invalid connection".into(),
        Error::DatabaseFull => "database full".into(),
        Error::Io(message) => message.clone(),
    }
}

fn failure(error: &Error) -> PortError {
    let message = format!("SQLite: {}", describe(error));
    // A locked or busy database clears up; a bad statement does not.
    if message.contains("locked")
        || message.contains("busy")
        || matches!(error, Error::DatabaseFull)
    {
        PortError::transient(message)
    } else {
        PortError::permanent(message)
    }
}

fn to_value(value: &SqlValue) -> Value {
    match value {
        SqlValue::Null => Value::Null,
        SqlValue::Integer(n) => Value::Integer(*n),
        SqlValue::Real(x) => Value::Real(*x),
        SqlValue::Text(s) => Value::Text(s.clone()),
    }
}

fn to_json(value: Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Integer(n) => n.into(),
        Value::Real(x) => {
            serde_json::Number::from_f64(x).map(serde_json::Value::Number).unwrap_or_default()
        }
        Value::Text(s) => s.into(),
        Value::Blob(b) => String::from_utf8_lossy(&b).into_owned().into(),
    }
}

impl SqlDatabase for SpinSqlite {
    async fn query(&self, statement: &Statement) -> PortResult<Vec<Row>> {
        let result = self.execute(statement)?;
        Ok(result
            .rows
            .into_iter()
            .map(|row| row.values.into_iter().map(to_json).collect())
            .collect())
    }

    async fn batch(&self, statements: &[Statement]) -> PortResult<Vec<u64>> {
        // The calls are synchronous, so nothing else in this instance runs between BEGIN and
        // COMMIT; IMMEDIATE takes the write lock up front, so two instances never deadlock
        // upgrading a read.
        self.run("BEGIN IMMEDIATE")?;
        let mut changes = Vec::with_capacity(statements.len());
        for statement in statements {
            if let Err(error) = self.execute(statement) {
                let _ = self.run("ROLLBACK");
                return Err(error);
            }
            changes.push(self.0.changes());
        }
        if let Err(error) = self.run("COMMIT") {
            let _ = self.run("ROLLBACK");
            return Err(error);
        }
        Ok(changes)
    }
}

/// The store's database as configured (`DOCENT_STORE`): Spin SQLite, or Postgres through Spin's
/// Postgres interface.
pub type SpinDatabase =
    docent_core::ports::StoreDatabase<SpinSqlite, crate::postgres::SpinPostgres>;
