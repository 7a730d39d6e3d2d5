//! End to end on the local Cloudflare runtime: the Worker under `wrangler dev` (workerd) runs the
//! shared scenario (tests/scenario): it crawls a fixture site served on loopback through the API
//! and the queue, then answers searches and chat from D1, and again with the store on Postgres
//! through Hyperdrive. The Spin components run the same scenario (tests/spin).

mod scenario;

use docent_cli::platform::{open_database, Native};
use docent_core::config::Config;
use docent_e2e::{repo_root, request, site, Docent, FixtureServer, TempDir, JSON};
use docent_functions::Platform;
use docent_store::api::DocumentStore;
use scenario::WEBHOOK_SECRET;

/// The scenario's settings. Short retry delays keep the dead-letter scenario quick; Retry-After
/// still sets the minimum. The flaky-page scenario fails one URL six times in a row to reach the
/// dead-letter queue; the per-origin circuit breaker (tested natively) would otherwise pause that
/// origin for a minute.
const SCENARIO_ENV: [(&str, &str); 4] = [
    ("DOCENT_WEBHOOK_SECRET_DOCS", WEBHOOK_SECRET),
    ("DOCENT_RETRY_BASE_SECONDS", "1"),
    ("DOCENT_RETRY_MAX_SECONDS", "2"),
    ("DOCENT_BREAKER_FAILURES", "100"),
];

#[test]
fn crawl_search_and_chat_on_workerd() {
    let site = FixtureServer::start(repo_root().join("tests/fixtures/site"));
    let docent = Docent::start(&SCENARIO_ENV);
    scenario::crawl_search_and_chat(&docent, &site);
    scenario::metrics_count_what_happened(&docent, &site);
}

/// The same scenario with the store on Postgres + pgvector, reached through the Hyperdrive binding
/// (wrangler connects it to the test's own database).
#[test]
fn crawl_search_and_chat_on_workerd_with_postgres() {
    let Some(database) = docent_cli::testing::fresh_postgres_database("worker_scenario") else {
        return;
    };
    let site = FixtureServer::start(repo_root().join("tests/fixtures/site"));
    let mut env = SCENARIO_ENV.to_vec();
    env.extend([
        ("DOCENT_STORE", "postgres"),
        ("CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE", database.as_str()),
    ]);
    let docent = Docent::start(&env);
    scenario::crawl_search_and_chat(&docent, &site);
    scenario::metrics_count_what_happened(&docent, &site);
    // The pages really are in Postgres (not in D1): read the index back natively from the same
    // database.
    let native = Native::open(open_database(&database).unwrap(), Config::default()).unwrap();
    let counts = pollster::block_on(native.store().counts()).unwrap();
    assert!(counts.documents >= 5 && counts.chunks >= counts.documents, "{counts:?}");
    drop(docent);
}

/// An answer reads the whole page of the chunk that retrieval found, as D1 returns it: a glossary's
/// "WAL: See Write-ahead log." is answered from the entry it points to, which small chunks put in
/// another chunk of the page. (D1 keys a row by column name; a query that named two columns `id`
/// once gave every page no chunks, and answers quoted the found chunk alone.)
#[test]
fn an_answer_reads_the_whole_page_of_the_chunk_it_found_on_workerd() {
    let root = TempDir::new("docent-glossary-site");
    let filler: String = (1..=12)
        .map(|i| {
            format!(
                "<dt>Term {i}</dt><dd><p>The meaning of term number {i} is written here in a \
                 sentence of about twenty words, long enough to fill a chunk.</p></dd>"
            )
        })
        .collect();
    let glossary = format!(
        "<html><head><title>Glossary</title></head><body><main><h1>Glossary</h1><dl>\
         <dt>WAL</dt><dd><p>See Write-ahead log.</p></dd>{filler}\
         <dt>Write-ahead log</dt><dd><p>The journal that keeps track of the changes in the \
         database cluster as operations take place.</p></dd></dl></main></body></html>"
    );
    site::write(&root.path, "/glossary.html", &glossary);
    let server = FixtureServer::start(root.path.clone());
    let docent =
        Docent::start(&[("DOCENT_CHUNK_TOKENS", "40"), ("DOCENT_CHUNK_OVERLAP_TOKENS", "8")]);
    let job = docent.crawl_to_end(&server.url("/glossary.html"));
    assert_eq!(job["status"], "done", "{job}");
    let reply =
        request("POST", &docent.url("/api/chat"), &[JSON], Some(r#"{"message": "What is WAL?"}"#));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let answer: String = reply
        .events()
        .iter()
        .filter(|(name, _)| name == "delta")
        .map(|(_, data)| data["text"].as_str().unwrap().to_string())
        .collect();
    assert!(answer.contains("> Write-ahead log"), "{answer}");
    assert!(answer.contains("The journal that keeps track of the changes"), "{answer}");
    assert!(!answer.contains("Term 12"), "one entry, not the page: {answer}");
}

/// Per-client limits are exact across concurrent requests (counted in D1, one upsert each), per
/// `CF-Connecting-IP`; a forged `X-Forwarded-For` buys nothing.
#[test]
fn limits_hold_under_concurrency_on_workerd() {
    let budget = scenario::LIMITS_SEARCH_BUDGET.to_string();
    let docent = Docent::start(&[
        ("DOCENT_SEARCH_RATE_LIMIT", budget.as_str()),
        ("DOCENT_SEARCH_CACHE_SECONDS", "0"),
    ]);
    scenario::limits_hold_under_concurrency(&docent);
}
