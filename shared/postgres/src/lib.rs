//! Docent's [`SqlDatabase`] port on Postgres, over a `tokio_postgres::Client` on any transport: TCP
//! natively, a Workers socket to Hyperdrive on Cloudflare. The shell connects and drives the
//! connection; this crate turns the store's statements into Postgres ones and rows back into JSON.
//!
//! The store writes statements once with `?N` placeholders (`dollar_placeholders` makes them `$N`)
//! and binds four kinds of value (`SqlValue`). Postgres is strictly typed, so each value is
//! converted to the type the server inferred for its parameter when the statement was prepared
//! ([`bind`]); a value that does not fit (text for an integer column, an integer out of range) is
//! an error naming the parameter, never a silent cast.

#[cfg(feature = "blocking")]
pub mod blocking;
#[cfg(feature = "testing")]
pub mod testing;

use bytes::BytesMut;
use docent_core::pg_params::dollar_placeholders;
use docent_core::ports::{
    PortError, PortResult, Row, SqlDatabase, SqlDialect, SqlValue, Statement,
};
use futures_util::lock::Mutex;
use std::collections::HashMap;
use tokio_postgres::types::{IsNull, ToSql, Type};

/// A bound parameter in the exact type Postgres expects.
#[derive(Debug)]
pub enum Param {
    Null,
    Bool(bool),
    Int2(i16),
    Int4(i32),
    Int8(i64),
    Float4(f32),
    Float8(f64),
    Text(String),
}

impl ToSql for Param {
    fn to_sql(
        &self, ty: &Type, out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Param::Null => Ok(IsNull::Yes),
            Param::Bool(v) => v.to_sql(ty, out),
            Param::Int2(v) => v.to_sql(ty, out),
            Param::Int4(v) => v.to_sql(ty, out),
            Param::Int8(v) => v.to_sql(ty, out),
            Param::Float4(v) => v.to_sql(ty, out),
            Param::Float8(v) => v.to_sql(ty, out),
            Param::Text(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        // `bind` chose the variant for the parameter's type.
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

fn is_text(ty: &Type) -> bool {
    [Type::TEXT, Type::VARCHAR, Type::BPCHAR, Type::NAME, Type::UNKNOWN].contains(ty)
}

/// Converts each value to its parameter's type (from the prepared statement).
pub fn bind(values: &[SqlValue], types: &[Type]) -> PortResult<Vec<Param>> {
    if values.len() != types.len() {
        return Err(PortError::permanent(format!(
            "statement has {} parameters, {} values given",
            types.len(),
            values.len()
        )));
    }
    values
        .iter()
        .zip(types)
        .enumerate()
        .map(|(i, (value, ty))| {
            let wrong = || {
                PortError::permanent(format!(
                    "parameter ${}: {value:?} does not fit type {ty}",
                    i + 1
                ))
            };
            Ok(match value {
                SqlValue::Null => Param::Null,
                SqlValue::Integer(n) => match *ty {
                    Type::INT8 => Param::Int8(*n),
                    Type::INT4 => Param::Int4(i32::try_from(*n).map_err(|_| wrong())?),
                    Type::INT2 => Param::Int2(i16::try_from(*n).map_err(|_| wrong())?),
                    Type::FLOAT8 => Param::Float8(*n as f64),
                    Type::FLOAT4 => Param::Float4(*n as f32),
                    Type::BOOL => Param::Bool(*n != 0),
                    _ if is_text(ty) => Param::Text(n.to_string()),
                    _ => return Err(wrong()),
                },
                SqlValue::Real(x) => match *ty {
                    Type::FLOAT8 => Param::Float8(*x),
                    Type::FLOAT4 => Param::Float4(*x as f32),
                    _ if is_text(ty) => Param::Text(x.to_string()),
                    _ => return Err(wrong()),
                },
                SqlValue::Text(s) if is_text(ty) => Param::Text(s.clone()),
                SqlValue::Text(_) => return Err(wrong()),
            })
        })
        .collect()
}

/// A result row as JSON, as the SQLite databases give it: integers and floats as numbers, text as
/// strings, booleans as 0 or 1. Other types must be cast in the statement.
pub fn row_to_json(row: &tokio_postgres::Row) -> PortResult<Row> {
    let mut values = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let decode = |e: tokio_postgres::Error| {
            PortError::permanent(format!("column {} ({ty}): {e}", column.name()))
        };
        let value = match *ty {
            Type::INT8 => {
                row.try_get::<_, Option<i64>>(i).map_err(decode)?.map(serde_json::Value::from)
            }
            Type::INT4 => {
                row.try_get::<_, Option<i32>>(i).map_err(decode)?.map(serde_json::Value::from)
            }
            Type::INT2 => {
                row.try_get::<_, Option<i16>>(i).map_err(decode)?.map(serde_json::Value::from)
            }
            Type::FLOAT8 => {
                row.try_get::<_, Option<f64>>(i).map_err(decode)?.map(serde_json::Value::from)
            }
            Type::FLOAT4 => row
                .try_get::<_, Option<f32>>(i)
                .map_err(decode)?
                .map(|x| serde_json::Value::from(f64::from(x))),
            Type::BOOL => row
                .try_get::<_, Option<bool>>(i)
                .map_err(decode)?
                .map(|b| serde_json::Value::from(u8::from(b))),
            Type::VOID => None,
            _ if is_text(ty) => {
                row.try_get::<_, Option<String>>(i).map_err(decode)?.map(serde_json::Value::from)
            }
            _ => {
                return Err(PortError::permanent(format!(
                    "column {} has type {ty}: cast it to a number or text in the statement",
                    column.name()
                )))
            }
        };
        values.push(value.unwrap_or(serde_json::Value::Null));
    }
    Ok(values)
}

/// Whether a failure may pass on retry: lost connections, serialisation failures and deadlocks,
/// too many connections, and a server shutting down.
pub fn port_error(error: tokio_postgres::Error) -> PortError {
    let transient = match error.code() {
        Some(code) => {
            let code = code.code();
            code.starts_with("08")
                || code == "40001"
                || code == "40P01"
                || code == "53300"
                || code.starts_with("57P")
        }
        None => true,
    };
    let message = match error.as_db_error() {
        Some(db) => format!("postgres: {} ({})", db.message(), db.code().code()),
        None => format!("postgres: {error}"),
    };
    if transient {
        PortError::transient(message)
    } else {
        PortError::permanent(message)
    }
}

/// A Postgres connection as Docent's SQL port. Statements are prepared once per connection. Calls
/// take turns on the connection (one transaction at a time), which is what a single-threaded edge
/// function needs; pooling is Hyperdrive's or PgBouncer's job.
pub struct PgDatabase {
    client: Mutex<Connection>,
}

struct Connection {
    client: tokio_postgres::Client,
    prepared: HashMap<String, tokio_postgres::Statement>,
}

impl PgDatabase {
    /// Wraps a connected client; the shell keeps its connection future running.
    pub fn new(client: tokio_postgres::Client) -> Self {
        PgDatabase { client: Mutex::new(Connection { client, prepared: HashMap::new() }) }
    }
}

/// The prepared statement for `sql`, from the connection's cache or prepared through `client` (the
/// connection itself, or a transaction on it).
async fn prepare_cached(
    client: &impl tokio_postgres::GenericClient,
    prepared: &mut HashMap<String, tokio_postgres::Statement>, sql: &str,
) -> PortResult<tokio_postgres::Statement> {
    if let Some(statement) = prepared.get(sql) {
        return Ok(statement.clone());
    }
    let statement = client.prepare(&dollar_placeholders(sql)).await.map_err(port_error)?;
    if is_cacheable(sql) {
        prepared.insert(sql.to_string(), statement.clone());
    }
    Ok(statement)
}

/// Statements worth keeping prepared: those that read or write rows. Schema changes run once, and
/// would leave stale statements behind.
fn is_cacheable(sql: &str) -> bool {
    let head: String = sql.trim_start().chars().take(6).collect::<String>().to_ascii_uppercase();
    ["SELECT", "INSERT", "UPDATE", "DELETE", "WITH"].iter().any(|verb| head.starts_with(verb))
}

fn as_params(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

impl SqlDatabase for PgDatabase {
    fn dialect(&self) -> SqlDialect {
        SqlDialect::Postgres
    }

    async fn query(&self, statement: &Statement) -> PortResult<Vec<Row>> {
        let mut connection = self.client.lock().await;
        let Connection { client, prepared } = &mut *connection;
        let ready = prepare_cached(&*client, prepared, &statement.sql).await?;
        let params = bind(&statement.params, ready.params())?;
        let rows = client.query(&ready, &as_params(&params)).await.map_err(port_error)?;
        rows.iter().map(row_to_json).collect()
    }

    async fn batch(&self, statements: &[Statement]) -> PortResult<Vec<u64>> {
        let mut connection = self.client.lock().await;
        let Connection { client, prepared } = &mut *connection;
        // Each statement is prepared in turn inside the transaction: a migration's statements refer
        // to tables its earlier ones create. A failure drops the transaction, which rolls it back.
        let transaction = client.transaction().await.map_err(port_error)?;
        let mut changed = Vec::with_capacity(statements.len());
        for statement in statements {
            let ready = prepare_cached(&transaction, prepared, &statement.sql).await?;
            let params = bind(&statement.params, ready.params())?;
            changed
                .push(transaction.execute(&ready, &as_params(&params)).await.map_err(port_error)?);
        }
        transaction.commit().await.map_err(port_error)?;
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_take_the_parameter_type_or_fail_clearly() {
        let params = bind(
            &[
                SqlValue::Integer(7),
                SqlValue::Integer(7),
                SqlValue::Text("x".into()),
                SqlValue::Null,
            ],
            &[Type::INT4, Type::INT8, Type::TEXT, Type::INT4],
        )
        .unwrap();
        assert!(
            matches!(params.as_slice(), [Param::Int4(7), Param::Int8(7), Param::Text(t), Param::Null] if t == "x")
        );
        let error = bind(&[SqlValue::Integer(1 << 40)], &[Type::INT4]).unwrap_err();
        assert!(
            error.message.contains("$1") && error.message.contains("int4"),
            "{}",
            error.message
        );
        assert!(bind(&[SqlValue::Text("x".into())], &[Type::INT8]).is_err());
        assert!(bind(&[SqlValue::Null], &[]).is_err());
    }
}
