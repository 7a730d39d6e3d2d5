//! Databases for tests that must hold on every store: a fresh SQLite file always, and a fresh
//! Postgres database when `DOCENT_TEST_DATABASE_URL` names a server (the test command starts one,
//! with pgvector). Under CI (`CI=true`) or with `DOCENT_REQUIRE_POSTGRES` set, a missing server is
//! a failure, not a skip. Shared by the store's tests and the shells' (feature `testing`).

use std::path::{Path, PathBuf};

/// A fresh directory for the test `name` under the system's temporary directory, removed with
/// everything in it when dropped: a run of the test suites leaves nothing behind in `/tmp`. Names
/// must be unique among the tests of one run.
pub struct TestDir(PathBuf);

impl TestDir {
    pub fn new(name: &str) -> TestDir {
        let dir = std::env::temp_dir().join(format!("docent-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("creating a temporary directory");
        TestDir(dir)
    }
}

impl std::ops::Deref for TestDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The database locations of one test, in order; their directory lasts as long as this iterator
/// (keep it, or what is opened from it, for the test's length).
pub struct TestDatabases {
    locations: std::vec::IntoIter<String>,
    _dir: TestDir,
}

impl Iterator for TestDatabases {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        self.locations.next()
    }
}

/// A fresh database location per store for the test `name`: a SQLite path, then a `postgres://` URL
/// when a server is available. Names must be unique among the tests of one run.
pub fn test_databases(name: &str) -> TestDatabases {
    let dir = TestDir::new(name);
    let mut databases = vec![dir.join("index.db").to_string_lossy().into_owned()];
    if let Some(url) = fresh_postgres_database(name) {
        databases.push(url);
    }
    TestDatabases { locations: databases.into_iter(), _dir: dir }
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
