//! End to end on the local Cloudflare runtime: the Worker under `wrangler dev` (workerd) runs the shared
//! scenario (tests/scenario): it crawls a fixture site served on loopback through the API and the queue,
//! then answers searches and chat from D1. The Spin components run the same scenario (tests/spin).

mod scenario;

use docent_e2e::{repo_root, Docent, FixtureServer};
use scenario::WEBHOOK_SECRET;

#[test]
fn crawl_search_and_chat_on_workerd() {
    let site = FixtureServer::start(repo_root().join("tests/fixtures/site"));
    // Short retry delays keep the dead-letter scenario quick; Retry-After still sets the minimum.
    let docent = Docent::start(&[
        ("DOCENT_WEBHOOK_SECRET_DOCS", WEBHOOK_SECRET),
        ("DOCENT_RETRY_BASE_SECONDS", "1"),
        ("DOCENT_RETRY_MAX_SECONDS", "2"),
        // The flaky-page scenario fails one URL six times in a row to reach the dead-letter queue; the
        // per-origin circuit breaker (tested natively) would otherwise pause that origin for a minute.
        ("DOCENT_BREAKER_FAILURES", "100"),
    ]);
    scenario::crawl_search_and_chat(&docent, &site);
}
