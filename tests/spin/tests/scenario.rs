//! The Worker's end-to-end scenario (tests/e2e/tests/scenario, included here unchanged) against the
//! Spin components under the wasmtime harness: the same requests, counts and top results, with the
//! store on Spin's SQLite and on Postgres (Spin's Postgres interface). The crawl goes through the
//! task table, drained by the components' self-invocation (`POST /internal/drain` on `self.alt`). A
//! difference in behaviour from workerd is a bug.

#[path = "../../e2e/tests/scenario/mod.rs"]
mod scenario;
mod support;

use docent_e2e::{repo_root, FixtureServer};
use scenario::{Deployment, WEBHOOK_SECRET};
use support::SpinApp;

impl Deployment for SpinApp {
    fn url(&self, path: &str) -> String {
        SpinApp::url(self, path)
    }
}

/// The settings of the Worker's local run, which the scenario expects.
const SCENARIO_SETTINGS: &[(&str, &str)] = &[
    // The Worker's local run allows private hosts (and so the development admin key); so does this
    // one.
    ("docent_allow_private_hosts", "true"),
    ("docent_webhook_secret_docs", WEBHOOK_SECRET),
    ("docent_retry_base_seconds", "1"),
    ("docent_retry_max_seconds", "2"),
    // The flaky-page scenario fails one URL six times in a row to reach the dead letters; the
    // per-origin circuit breaker (tested natively) would otherwise pause that origin for a minute.
    ("docent_breaker_failures", "100"),
];

#[test]
fn crawl_search_and_chat_on_spin() {
    let site = FixtureServer::start(repo_root().join("tests/fixtures/site"));
    let docent = SpinApp::start(SCENARIO_SETTINGS, &["docs"]);
    scenario::crawl_search_and_chat(&docent, &site);
    scenario::metrics_count_what_happened(&docent, &site);
    // The crawl's end counted each page's links from the others in Spin's SQLite: the fixture
    // site's pages link each other from their navigation.
    let sqlite = rusqlite::Connection::open(docent.app.sqlite_path("default")).unwrap();
    let linked: i64 = sqlite
        .query_row("SELECT COUNT(*) FROM documents WHERE inlinks > 0", [], |row| row.get(0))
        .unwrap();
    assert!(linked > 1, "{linked} pages with links from others counted");
}

#[test]
fn crawl_search_and_chat_on_spin_with_postgres() {
    let Some(database) = docent_cli::testing::fresh_postgres_database("spin_scenario") else {
        return;
    };
    let site = FixtureServer::start(repo_root().join("tests/fixtures/site"));
    let mut settings = SCENARIO_SETTINGS.to_vec();
    let host = support::postgres_host(&database);
    settings.extend([
        ("docent_store", "postgres"),
        ("docent_database_url", database.as_str()),
        ("docent_database_host", host.as_str()),
    ]);
    let docent = SpinApp::start(&settings, &["docs"]);
    scenario::crawl_search_and_chat(&docent, &site);
    scenario::metrics_count_what_happened(&docent, &site);
    // The scenario's documents, crawl and gates are in Postgres, not in the components' SQLite
    // database.
    let counts = support::postgres_numbers(
        &database,
        "SELECT COUNT(*) FROM documents UNION ALL SELECT COUNT(*) FROM crawl_jobs UNION ALL SELECT COUNT(*) FROM politeness_gates",
    );
    assert!(
        counts.iter().all(|n| *n > 0),
        "documents, crawl jobs and gates in Postgres: {counts:?}"
    );
    let linked =
        support::postgres_numbers(&database, "SELECT COUNT(*) FROM documents WHERE inlinks > 0");
    assert!(linked[0] > 1, "pages with links from others counted in Postgres: {linked:?}");
    let sqlite = docent.app.sqlite_path("default");
    assert!(
        !sqlite.exists(),
        "nothing was written to Spin's SQLite database ({})",
        sqlite.display()
    );
}

/// Per-client limits are exact across concurrent requests, counted by the peer address Spin
/// reports (a client's own `X-Forwarded-For` is not trusted unless configured).
#[test]
fn limits_hold_under_concurrency_on_spin() {
    let budget = scenario::LIMITS_SEARCH_BUDGET.to_string();
    let docent = SpinApp::start(
        &[("docent_search_rate_limit", budget.as_str()), ("docent_search_cache_seconds", "0")],
        &[],
    );
    scenario::limits_hold_under_concurrency(&docent);
}
