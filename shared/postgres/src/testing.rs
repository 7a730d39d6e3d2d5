//! Databases for tests that must hold on every store: a fresh SQLite file always, and a fresh
//! Postgres database when `DOCENT_TEST_DATABASE_URL` names a server (the test command starts one,
//! with pgvector). Under CI (`CI=true`) or with `DOCENT_REQUIRE_POSTGRES` set, a missing server is
//! a failure, not a skip. Shared by the store's tests and the shells' (feature `testing`).

use std::path::PathBuf;

/// A fresh database location per store for the test `name`: a SQLite path, then a `postgres://` URL
/// when a server is available. Names must be unique among the tests of one run.
pub fn test_databases(name: &str) -> Vec<String> {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("docent-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating a temporary directory");
    let mut databases = vec![dir.join("index.db").to_string_lossy().into_owned()];
    if let Some(url) = fresh_postgres_database(name) {
        databases.push(url);
    }
    databases
}

/// A new, empty Postgres database for the test `name`, or `None` when no server is configured.
pub fn fresh_postgres_database(name: &str) -> Option<String> {
    let Some(server) = std::env::var("DOCENT_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty())
    else {
        let required = std::env::var("CI").is_ok_and(|v| v == "true")
            || std::env::var_os("DOCENT_REQUIRE_POSTGRES").is_some();
        assert!(!required, "DOCENT_TEST_DATABASE_URL is not set: run the tests with ./infra/scripts/test.sh, which starts Postgres");
        eprintln!("note: DOCENT_TEST_DATABASE_URL is not set; {name} runs on SQLite only");
        return None;
    };
    let database: String = format!("docent_test_{name}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .collect();
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&server, tokio_postgres::NoTls)
            .await
            .expect("connecting to DOCENT_TEST_DATABASE_URL");
        tokio::spawn(connection);
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
            .await
            .expect("dropping the old test database");
        client
            .batch_execute(&format!("CREATE DATABASE {database}"))
            .await
            .expect("creating the test database");
    });
    let mut url = url::Url::parse(&server).expect("DOCENT_TEST_DATABASE_URL is a URL");
    url.set_path(&database);
    Some(url.to_string())
}
