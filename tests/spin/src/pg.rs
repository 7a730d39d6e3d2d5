//! `spin:postgres/postgres@4.2.0` (the async calls spin-sdk 7's `pg` uses) on tokio-postgres,
//! against a real server. Like Spin's host, it binds each parameter as the Rust type of its value
//! (an `s64` as `i64`, which Postgres accepts only where it inferred `int8`), lets tokio-postgres
//! check it against the type the server inferred, and reads the column types Spin reads; and it
//! opens a connection only to an address the component's `allowed_outbound_hosts` allows
//! (`postgres://host:port`).

// `Error` is the bindgen-generated type of Spin's interface; its size is not ours to choose.
#![allow(clippy::result_large_err)]

use std::str::FromStr;
use std::sync::Arc;

use bytes::BytesMut;
use tokio_postgres::types::{IsNull, ToSql, Type};
use wasmtime::component::{Accessor, FutureReader, HasSelf, Resource, StreamReader};

use crate::bindings::spin::postgres::postgres::{
    self as pg, Column, DbDataType, DbValue, Error, ParameterValue, QueryError,
};
use crate::Host;

/// An open connection: its client, shared with the task that awaits a call.
pub struct PgConnection {
    client: Arc<tokio_postgres::Client>,
}

/// A NULL of whatever type the server inferred.
#[derive(Debug)]
struct Null;

impl ToSql for Null {
    fn to_sql(
        &self, _: &Type, _: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        Ok(IsNull::Yes)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    tokio_postgres::types::to_sql_checked!();
}

type Param = Box<dyn ToSql + Send + Sync>;

fn to_param(value: ParameterValue) -> Result<Param, Error> {
    Ok(match value {
        ParameterValue::Boolean(v) => Box::new(v),
        ParameterValue::Int8(v) => Box::new(v),
        ParameterValue::Int16(v) => Box::new(v),
        ParameterValue::Int32(v) => Box::new(v),
        ParameterValue::Int64(v) => Box::new(v),
        ParameterValue::Floating32(v) => Box::new(v),
        ParameterValue::Floating64(v) => Box::new(v),
        ParameterValue::Str(v) => Box::new(v),
        ParameterValue::Binary(v) => Box::new(v),
        ParameterValue::DbNull => Box::new(Null),
        other => return Err(Error::BadParameter(format!("the harness does not bind {other:?}"))),
    })
}

fn query_failed(error: tokio_postgres::Error) -> Error {
    match error.as_db_error() {
        Some(db) => Error::QueryFailed(QueryError::DbError(pg::DbError {
            as_text: error.to_string(),
            severity: db.severity().to_string(),
            code: db.code().code().to_string(),
            message: db.message().to_string(),
            detail: db.detail().map(str::to_string),
            extras: Vec::new(),
        })),
        None => Error::QueryFailed(QueryError::Text(error.to_string())),
    }
}

fn data_type(ty: &Type) -> DbDataType {
    match *ty {
        Type::BOOL => DbDataType::Boolean,
        Type::INT2 => DbDataType::Int16,
        Type::INT4 => DbDataType::Int32,
        Type::INT8 => DbDataType::Int64,
        Type::FLOAT4 => DbDataType::Floating32,
        Type::FLOAT8 => DbDataType::Floating64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => DbDataType::Str,
        Type::BYTEA => DbDataType::Binary,
        _ => DbDataType::Other(ty.name().to_string()),
    }
}

fn value(row: &tokio_postgres::Row, i: usize) -> Result<DbValue, tokio_postgres::Error> {
    fn or_null<T>(value: Option<T>, wrap: impl FnOnce(T) -> DbValue) -> DbValue {
        value.map(wrap).unwrap_or(DbValue::DbNull)
    }
    Ok(match *row.columns()[i].type_() {
        Type::BOOL => or_null(row.try_get(i)?, DbValue::Boolean),
        Type::INT2 => or_null(row.try_get(i)?, DbValue::Int16),
        Type::INT4 => or_null(row.try_get(i)?, DbValue::Int32),
        Type::INT8 => or_null(row.try_get(i)?, DbValue::Int64),
        Type::FLOAT4 => or_null(row.try_get(i)?, DbValue::Floating32),
        Type::FLOAT8 => or_null(row.try_get(i)?, DbValue::Floating64),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
            or_null(row.try_get(i)?, DbValue::Str)
        }
        Type::BYTEA => or_null(row.try_get(i)?, DbValue::Binary),
        _ => DbValue::Unsupported(Vec::new()),
    })
}

/// Whether `address` (a URL or `key=value` connection string) goes only to allowed hosts.
fn check_allowed(host: &Host, address: &str) -> Result<tokio_postgres::Config, Error> {
    let config = tokio_postgres::Config::from_str(address)
        .map_err(|e| Error::ConnectionFailed(format!("invalid address: {e}")))?;
    let ports = config.get_ports();
    for (i, target) in config.get_hosts().iter().enumerate() {
        let tokio_postgres::config::Host::Tcp(name) = target else {
            return Err(Error::ConnectionFailed("Unix sockets are not allowed".into()));
        };
        let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
        let uri: http::Uri = format!("postgres://{name}:{port}")
            .parse()
            .map_err(|e| Error::ConnectionFailed(format!("invalid host {name}: {e}")))?;
        if !host.component.spec.allowed_outbound_hosts.iter().any(|pattern| pattern.allows(&uri)) {
            return Err(Error::ConnectionFailed(format!(
                "address {uri} is not permitted (allowed_outbound_hosts)"
            )));
        }
    }
    Ok(config)
}

fn client_of<U>(
    accessor: &Accessor<U, HasSelf<Host>>, connection: &Resource<PgConnection>,
) -> wasmtime::Result<Arc<tokio_postgres::Client>> {
    accessor.with(|mut access| Ok(access.get().table.get(connection)?.client.clone()))
}

impl<U: 'static> pg::HostConnectionWithStore<U> for HasSelf<Host> {
    async fn open_async(
        accessor: &Accessor<U, Self>, address: String,
    ) -> wasmtime::Result<Result<Resource<PgConnection>, Error>> {
        let config = match accessor.with(|mut access| check_allowed(access.get(), &address)) {
            Ok(config) => config,
            Err(error) => return Ok(Err(error)),
        };
        let (client, connection) = match config.connect(tokio_postgres::NoTls).await {
            Ok(pair) => pair,
            Err(error) => return Ok(Err(Error::ConnectionFailed(error.to_string()))),
        };
        // The connection's protocol task ends when the client is dropped with the resource.
        tokio::spawn(connection);
        accessor.with(|mut access| {
            Ok(Ok(access.get().table.push(PgConnection { client: Arc::new(client) })?))
        })
    }

    async fn query_async(
        accessor: &Accessor<U, Self>, connection: Resource<PgConnection>, statement: String,
        params: Vec<ParameterValue>,
    ) -> wasmtime::Result<
        Result<(Vec<Column>, StreamReader<Vec<DbValue>>, FutureReader<Result<(), Error>>), Error>,
    > {
        let client = client_of(accessor, &connection)?;
        let params = match params.into_iter().map(to_param).collect::<Result<Vec<_>, _>>() {
            Ok(params) => params,
            Err(error) => return Ok(Err(error)),
        };
        let prepared = match client.prepare(&statement).await {
            Ok(prepared) => prepared,
            Err(error) => return Ok(Err(query_failed(error))),
        };
        let refs: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect();
        let rows = match client.query(&prepared, &refs).await {
            Ok(rows) => rows,
            Err(error) => return Ok(Err(query_failed(error))),
        };
        let columns: Vec<Column> = prepared
            .columns()
            .iter()
            .map(|c| Column { name: c.name().to_string(), data_type: data_type(c.type_()) })
            .collect();
        // The whole result is read before it is streamed: the tests' results are small.
        let mut values = Vec::with_capacity(rows.len());
        for row in &rows {
            match (0..row.len()).map(|i| value(row, i)).collect::<Result<Vec<_>, _>>() {
                Ok(row) => values.push(row),
                Err(error) => return Ok(Err(Error::ValueConversionFailed(error.to_string()))),
            }
        }
        accessor.with(|mut access| {
            let rows = StreamReader::new(&mut access, values)?;
            let done = FutureReader::new(&mut access, async { Ok::<_, wasmtime::Error>(Ok(())) })?;
            Ok(Ok((columns, rows, done)))
        })
    }

    async fn execute_async(
        accessor: &Accessor<U, Self>, connection: Resource<PgConnection>, statement: String,
        params: Vec<ParameterValue>,
    ) -> wasmtime::Result<Result<u64, Error>> {
        let client = client_of(accessor, &connection)?;
        let params = match params.into_iter().map(to_param).collect::<Result<Vec<_>, _>>() {
            Ok(params) => params,
            Err(error) => return Ok(Err(error)),
        };
        let refs: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect();
        Ok(client.execute(statement.as_str(), &refs).await.map_err(query_failed))
    }
}

impl pg::HostConnection for Host {
    fn drop(&mut self, connection: Resource<PgConnection>) -> wasmtime::Result<()> {
        self.table.delete(connection)?;
        Ok(())
    }
}

impl pg::Host for Host {}
