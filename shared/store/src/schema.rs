//! The schema as migration files, one list per dialect (`infra/sqlite/migrations`,
//! `infra/postgres/migrations`), and the one runner that applies the pending ones: each in a
//! transaction with its row in `docent_migrations`, so a migration applies whole or not at all,
//! and concurrent migrators (instances starting together) apply it once.
//!
//! SQLite databases made before the migrations were files counted them in
//! `docent_meta.schema_version` (0001, the first release's schema, was run at every start-up, and
//! `schema_version` counted the changes after it: 0002 onwards). The runner takes such a count over
//! into `docent_migrations` once, and carries on from there.

use docent_core::ports::{PortError, PortResult, SqlDatabase, SqlDialect, Statement};

use crate::rows::{single_int, single_text};
use crate::SqlStore;

/// One schema change: `NNNN_name.sql`, statements ending with `;` at the end of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    pub name: &'static str,
    pub script: &'static str,
}

macro_rules! migrations {
    ($dialect:literal: $($name:literal),* $(,)?) => {
        &[$(Migration {
            name: $name,
            script: include_str!(concat!("../../../infra/", $dialect, "/migrations/", $name, ".sql")),
        }),*]
    };
}

/// The SQLite schema (D1, Spin's SQLite, rusqlite), in order. Append only.
pub const SQLITE_MIGRATIONS: &[Migration] = migrations!("sqlite":
    "0001_init",
    "0002_crawl_url_lastmod_and_sweep",
    "0003_chunk_vectors",
    "0004_crawl_url_due_at",
    "0005_document_links_capped",
    "0006_feedback_and_usage",
    "0007_document_page_signals",
    "0008_rate_counters",
    "0009_metrics",
    "0010_crawl_left_out",
    "0011_declined_questions",
    "0012_vector_centres",
    "0013_document_inlinks",
    "0014_document_content_hash",
);

/// The Postgres schema, in order. Append only.
pub const POSTGRES_MIGRATIONS: &[Migration] = migrations!("postgres":
    "0001_init",
    "0002_document_page_signals",
    "0003_rate_counters",
    "0004_metrics",
    "0005_crawl_left_out",
    "0006_declined_questions",
    "0007_document_inlinks",
    "0008_search_splits_dotted_names",
    "0009_document_content_hash",
);

/// The table of applied migrations, the same on both dialects.
pub const MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS docent_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

/// The migrations of a dialect.
pub fn migrations(dialect: SqlDialect) -> &'static [Migration] {
    match dialect {
        SqlDialect::Sqlite => SQLITE_MIGRATIONS,
        SqlDialect::Postgres => POSTGRES_MIGRATIONS,
    }
}

impl<D: SqlDatabase> SqlStore<D> {
    /// Applies the migrations not yet recorded in `docent_migrations` (all of them on a new
    /// database); also `docent migrate`.
    pub async fn ensure_schema(&self) -> PortResult<()> {
        let dialect = self.db.dialect();
        self.db.batch(&[Statement::new(MIGRATIONS_TABLE, vec![])]).await?;
        if dialect == SqlDialect::Sqlite {
            self.adopt_schema_version().await?;
        }
        let migrations = migrations(dialect);
        loop {
            let applied = self.recorded_migrations().await?;
            let Some(migration) = migrations.get(applied as usize) else { return Ok(()) };
            let mut statements = Vec::new();
            if dialect == SqlDialect::Postgres {
                // Concurrent migrators take turns; the second then fails (the tables exist) and
                // finds the migration recorded. SQLite runs one writer at a time anyway.
                statements.push(Statement::new("SELECT pg_advisory_xact_lock(7355608)", vec![]));
            }
            statements.extend(statements_of(migration.script));
            statements.push(record_statement(dialect, applied + 1, migration.name));
            if let Err(error) = self.db.batch(&statements).await {
                // Another instance may have applied it at the same moment (its ALTER or its
                // record won); otherwise fail.
                if self.recorded_migrations().await? == applied {
                    return Err(PortError {
                        message: format!("migration {}: {}", migration.name, error.message),
                        ..error
                    });
                }
            }
        }
    }

    /// How many migrations this database has applied (of [`migrations`] for its dialect).
    pub async fn schema_version(&self) -> PortResult<u64> {
        match self.query("SELECT COUNT(*) FROM docent_migrations", vec![]).await {
            Ok(rows) => match single_int(&rows)? {
                0 if self.db.dialect() == SqlDialect::Sqlite => {
                    Ok(self.counted_schema_version().await?.unwrap_or(0))
                }
                n => Ok(n),
            },
            // A SQLite database from before `docent_migrations`.
            Err(_) if self.db.dialect() == SqlDialect::Sqlite => {
                Ok(self.counted_schema_version().await?.unwrap_or(0))
            }
            Err(error) => Err(error),
        }
    }

    async fn recorded_migrations(&self) -> PortResult<u64> {
        single_int(&self.query("SELECT COUNT(*) FROM docent_migrations", vec![]).await?)
    }

    /// The migrations a SQLite database applied before `docent_migrations` existed: 0001 and the
    /// `docent_meta.schema_version` after it; `None` for a new database or one of the first
    /// releases (no count: 0001, which is idempotent, runs as on a new one).
    async fn counted_schema_version(&self) -> PortResult<Option<u64>> {
        let tables = self
            .query(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'docent_meta'",
                vec![],
            )
            .await?;
        if single_text(&tables).is_none() {
            return Ok(None);
        }
        let rows = self
            .query("SELECT value FROM docent_meta WHERE key = 'schema_version'", vec![])
            .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        Ok(Some(1 + single_int(&rows)?))
    }

    /// Records in `docent_migrations` what a SQLite database counted in `schema_version`, once,
    /// after running 0001 again as every start-up used to (it may add what a database of an older
    /// release lacks).
    async fn adopt_schema_version(&self) -> PortResult<()> {
        if self.recorded_migrations().await? > 0 {
            return Ok(());
        }
        let Some(counted) = self.counted_schema_version().await? else { return Ok(()) };
        let mut statements = statements_of(SQLITE_MIGRATIONS[0].script);
        statements.extend(SQLITE_MIGRATIONS.iter().take(counted as usize).enumerate().map(
            |(i, migration)| {
                let mut record = record_statement(SqlDialect::Sqlite, i as u64 + 1, migration.name);
                // Two instances may take the count over at the same moment.
                record.sql.push_str(" ON CONFLICT DO NOTHING");
                record
            },
        ));
        self.db.batch(&statements).await.map(|_| ())
    }
}

/// The row that records migration `version` as applied now.
fn record_statement(dialect: SqlDialect, version: u64, name: &str) -> Statement {
    let now_ms = match dialect {
        SqlDialect::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
        SqlDialect::Postgres => "(extract(epoch from now()) * 1000)::bigint",
    };
    Statement::new(
        format!(
            "INSERT INTO docent_migrations (version, name, applied_at) VALUES (?1, ?2, {now_ms})"
        ),
        vec![version.into(), name.into()],
    )
}

fn statements_of(script: &str) -> Vec<Statement> {
    split_script(script).into_iter().map(|sql| Statement::new(sql, vec![])).collect()
}

/// A migration file's statements: each ends with `;` at the end of a line, except that a
/// `CREATE TRIGGER` (whose body holds statements of its own) runs to a line ending in `END;`.
/// Comment lines and blank lines are dropped.
pub fn split_script(script: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    for line in script.lines() {
        if line.trim_start().starts_with("--") || line.trim().is_empty() {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        let in_trigger = starts_with_words(&current, &["CREATE", "TRIGGER"]);
        let end = line.trim_end();
        let ends = if in_trigger {
            end.len() >= 4 && end[end.len() - 4..].eq_ignore_ascii_case("END;")
        } else {
            end.ends_with(';')
        };
        if ends {
            statements.push(current.trim().trim_end_matches(';').trim().to_string());
            current.clear();
        }
    }
    if !current.trim().is_empty() {
        statements.push(current.trim().to_string());
    }
    statements
}

fn starts_with_words(text: &str, words: &[&str]) -> bool {
    let mut found = text.split_whitespace();
    words.iter().all(|word| found.next().is_some_and(|w| w.eq_ignore_ascii_case(word)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_split_at_line_ends_and_triggers_run_to_their_end() {
        let script = "-- a comment\nCREATE TABLE t (a INTEGER,\n  b TEXT);\n\nCREATE TRIGGER x AFTER DELETE ON t BEGIN\n    DELETE FROM u WHERE a = old.a;\nEND;\nDO $$ BEGIN PERFORM 1; END $$;\n";
        assert_eq!(
            split_script(script),
            [
                "CREATE TABLE t (a INTEGER,\n  b TEXT)",
                "CREATE TRIGGER x AFTER DELETE ON t BEGIN\n    DELETE FROM u WHERE a = old.a;\nEND",
                "DO $$ BEGIN PERFORM 1; END $$",
            ]
        );
    }

    #[test]
    fn every_migration_file_is_listed_in_order() {
        for (dialect, listed) in [("sqlite", SQLITE_MIGRATIONS), ("postgres", POSTGRES_MIGRATIONS)]
        {
            let dir = format!(
                "{}/../../infra/{dialect}/migrations",
                std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo")
            );
            let mut files: Vec<String> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .filter_map(|name| name.strip_suffix(".sql").map(str::to_string))
                .collect();
            files.sort();
            let names: Vec<&str> = listed.iter().map(|m| m.name).collect();
            assert_eq!(names, files, "{dir}");
            for (i, name) in names.iter().enumerate() {
                assert!(name.starts_with(&format!("{:04}_", i + 1)), "{name} is number {}", i + 1);
            }
        }
    }
}
