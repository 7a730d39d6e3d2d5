//! Databases for tests that must hold on every store (`docent_postgres::testing`, here for the
//! shells' test suites).

pub use docent_postgres::testing::{fresh_postgres_database, test_databases, TestDir};
