//! The `SqlDatabase` port on Spin's Postgres interface (`spin:postgres/postgres@4.2.0` through
//! spin-sdk's `pg` feature), for `DOCENT_STORE=postgres`: the store, the task table and the
//! politeness gates then share one Postgres database with every other instance and platform.
//!
//! Spin binds each parameter as the Rust type of its value and never tells the guest what the
//! server inferred, so statements are sent with a cast per placeholder chosen from the value
//! (`docent_core::pg_params::with_value_casts`). Rows come back as JSON like
//! `docent_postgres::row_to_json` gives them: numbers, text, booleans as 0/1.

use std::rc::Rc;

use docent_core::pg_params::with_value_casts;
use docent_core::ports::{
    PortError, PortResult, Row, SqlDatabase, SqlDialect, SqlValue, Statement,
};
use futures_util::lock::Mutex;
use spin_sdk::pg::{Connection, DbValue, ParameterValue, PgError, QueryError};

/// One connection per instance. Calls take turns on it: a batch's BEGIN … COMMIT must not take in a
/// statement of another task of the same instance (a drain runs several deliveries at once).
#[derive(Clone)]
pub struct SpinPostgres(Rc<Mutex<Connection>>);

impl SpinPostgres {
    pub async fn open(url: &str) -> Result<Self, String> {
        let connection = Connection::open(url).await.map_err(|e| {
            format!("connecting to Postgres (DOCENT_DATABASE_URL): {}", describe_sdk(&e))
        })?;
        Ok(SpinPostgres(Rc::new(Mutex::new(connection))))
    }
}

fn describe_sdk(error: &spin_sdk::pg::Error) -> String {
    match error {
        spin_sdk::pg::Error::PgError(error) => describe(error),
        other => other.to_string(),
    }
}

fn describe(error: &PgError) -> String {
    match error {
        PgError::ConnectionFailed(message) => format!("connection failed: {message}"),
        PgError::BadParameter(message) => format!("bad parameter: {message}"),
        PgError::QueryFailed(QueryError::Text(message)) => message.clone(),
        PgError::QueryFailed(QueryError::DbError(db)) => format!("{} ({})", db.message, db.code),
        PgError::ValueConversionFailed(message) => format!("value conversion failed: {message}"),
        PgError::Other(message) => message.clone(),
    }
}

/// As `docent_postgres::port_error`: lost connections, serialisation failures, deadlocks, too many
/// connections and a server shutting down may pass on retry; a bad statement does not.
fn failure(error: &PgError) -> PortError {
    let transient = match error {
        PgError::ConnectionFailed(_) => true,
        PgError::QueryFailed(QueryError::DbError(db)) => {
            let code = db.code.as_str();
            code.starts_with("08")
                || code == "40001"
                || code == "40P01"
                || code == "53300"
                || code.starts_with("57P")
        }
        _ => false,
    };
    let message = format!("postgres: {}", describe(error));
    if transient {
        PortError::transient(message)
    } else {
        PortError::permanent(message)
    }
}

fn failure_sdk(error: &spin_sdk::pg::Error) -> PortError {
    match error {
        spin_sdk::pg::Error::PgError(error) => failure(error),
        other => PortError::permanent(format!("postgres: {other}")),
    }
}

/// The statement as sent, and its values as Spin's typed parameters (matching the casts).
fn prepare(statement: &Statement) -> PortResult<(String, Vec<ParameterValue>)> {
    let sql = with_value_casts(&statement.sql, &statement.params)
        .map_err(|e| PortError::permanent(format!("postgres: {e}: {}", statement.sql)))?;
    let params = statement
        .params
        .iter()
        .map(|value| match value {
            SqlValue::Null => ParameterValue::DbNull,
            SqlValue::Integer(n) => ParameterValue::Int64(*n),
            SqlValue::Real(x) => ParameterValue::Floating64(*x),
            SqlValue::Text(s) => ParameterValue::Str(s.clone()),
        })
        .collect();
    Ok((sql, params))
}

fn to_json(value: DbValue, column: &str) -> PortResult<serde_json::Value> {
    Ok(match value {
        DbValue::DbNull => serde_json::Value::Null,
        DbValue::Boolean(b) => u8::from(b).into(),
        DbValue::Int8(n) => n.into(),
        DbValue::Int16(n) => n.into(),
        DbValue::Int32(n) => n.into(),
        DbValue::Int64(n) => n.into(),
        DbValue::Floating32(x) => serde_json::Number::from_f64(f64::from(x)).map(serde_json::Value::Number).unwrap_or_default(),
        DbValue::Floating64(x) => serde_json::Number::from_f64(x).map(serde_json::Value::Number).unwrap_or_default(),
        DbValue::Str(s) => s.into(),
        _ => return Err(PortError::permanent(format!("postgres: column {column} has a type Docent does not read: cast it to a number or text in the statement"))),
    })
}

impl SpinPostgres {
    async fn query_on(connection: &Connection, statement: &Statement) -> PortResult<Vec<Row>> {
        let (sql, params) = prepare(statement)?;
        let (columns, mut rows, result) =
            connection.query(sql, params).await.map_err(|e| failure_sdk(&e))?.into_inner();
        let mut out = Vec::new();
        while let Some(row) = rows.next().await {
            out.push(
                row.into_iter()
                    .zip(&columns)
                    .map(|(value, column)| to_json(value, &column.name))
                    .collect::<PortResult<Row>>()?,
            );
        }
        result.await.map_err(|e| failure(&e))?;
        Ok(out)
    }

    async fn execute_on(connection: &Connection, statement: &Statement) -> PortResult<u64> {
        let (sql, params) = prepare(statement)?;
        connection.execute(sql, params).await.map_err(|e| failure_sdk(&e))
    }

    async fn run(connection: &Connection, sql: &str) -> PortResult<()> {
        connection.execute(sql, Vec::new()).await.map(|_| ()).map_err(|e| failure_sdk(&e))
    }
}

impl SqlDatabase for SpinPostgres {
    fn dialect(&self) -> SqlDialect {
        SqlDialect::Postgres
    }

    async fn query(&self, statement: &Statement) -> PortResult<Vec<Row>> {
        let connection = self.0.lock().await;
        Self::query_on(&connection, statement).await
    }

    async fn batch(&self, statements: &[Statement]) -> PortResult<Vec<u64>> {
        let connection = self.0.lock().await;
        Self::run(&connection, "BEGIN").await?;
        let mut changed = Vec::with_capacity(statements.len());
        for statement in statements {
            match Self::execute_on(&connection, statement).await {
                Ok(n) => changed.push(n),
                Err(error) => {
                    let _ = Self::run(&connection, "ROLLBACK").await;
                    return Err(error);
                }
            }
        }
        if let Err(error) = Self::run(&connection, "COMMIT").await {
            let _ = Self::run(&connection, "ROLLBACK").await;
            return Err(error);
        }
        Ok(changed)
    }
}
