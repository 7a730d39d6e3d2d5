//! SQLite databases as the store left them before its migrations became files (up to commit
//! a71a48c): the first release's schema, run at every start-up, then each later change counted in
//! `docent_meta.schema_version`. Those statements are the migration files' statements verbatim
//! (0001 the schema, 0002 onwards the counted changes; `applied_migrations_never_change` in
//! `tests/schema.rs` keeps the files so), so an old database is rebuilt here from the files with the old
//! bookkeeping.

use docent_core::ports::{SqlDatabase, Statement};
use docent_store::{split_script, SQLITE_MIGRATIONS};

/// How many changes the old counter could count: every migration after 0001.
pub fn counted_changes() -> usize {
    SQLITE_MIGRATIONS.len() - 1
}

/// A database as the old code left it with the first `applied` changes after the schema: each
/// change in one transaction with its counter bump.
pub async fn create(db: &impl SqlDatabase, applied: usize) {
    let (schema, changes) = SQLITE_MIGRATIONS.split_first().expect("0001 exists");
    let mut first = statements(schema.script);
    first.push(Statement::new(
        "INSERT INTO docent_meta (key, value) VALUES ('schema_version', 0) ON CONFLICT DO NOTHING",
        vec![],
    ));
    db.batch(&first).await.unwrap();
    for (version, change) in changes.iter().take(applied).enumerate() {
        let mut batch = statements(change.script);
        batch.push(Statement::new(
            "UPDATE docent_meta SET value = value + 1 WHERE key = 'schema_version' AND value = ?1",
            vec![(version as u64).into()],
        ));
        db.batch(&batch).await.unwrap();
    }
}

fn statements(script: &str) -> Vec<Statement> {
    split_script(script).into_iter().map(|sql| Statement::new(sql, vec![])).collect()
}
