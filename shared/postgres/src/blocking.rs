//! Postgres over TCP for callers that block on futures (the `docent` command, tests): the
//! connection runs on a runtime of its own, and every call drives it while it waits.

use docent_core::ports::{PortResult, Row, SqlDatabase, SqlDialect, Statement};

use crate::PgDatabase;

pub struct Postgres {
    runtime: tokio::runtime::Runtime,
    db: PgDatabase,
}

impl Postgres {
    pub fn connect(url: &str) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("starting a runtime: {e}"))?;
        let (client, connection) = runtime
            .block_on(tokio_postgres::connect(url, tokio_postgres::NoTls))
            .map_err(|e| format!("connecting to {}: {e}", redact_password(url)))?;
        runtime.spawn(connection);
        Ok(Postgres { runtime, db: PgDatabase::new(client) })
    }
}

/// A connection URL fit for an error message.
fn redact_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

impl SqlDatabase for Postgres {
    fn dialect(&self) -> SqlDialect {
        SqlDialect::Postgres
    }
    async fn query(&self, statement: &Statement) -> PortResult<Vec<Row>> {
        self.runtime.block_on(self.db.query(statement))
    }
    async fn batch(&self, statements: &[Statement]) -> PortResult<Vec<u64>> {
        self.runtime.block_on(self.db.batch(statements))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            super::redact_password("postgres://docent:secret@db:5432/docent"),
            "postgres://docent:***@db:5432/docent"
        );
        assert_eq!(super::redact_password("not a url"), "not a url");
    }
}
