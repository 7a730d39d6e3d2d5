//! The Worker's end-to-end scenario (tests/e2e/tests/scenario, included here unchanged) against the Spin
//! components under the wasmtime harness: the same requests, counts and top results. The crawl goes
//! through the task table, drained by the components' self-invocation (`POST /internal/drain` on
//! `self.alt`). A difference in behaviour from workerd is a bug.

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

#[test]
fn crawl_search_and_chat_on_spin() {
    let site = FixtureServer::start(repo_root().join("tests/fixtures/site"));
    // The Worker's local run allows private hosts (and so the development admin key); so does this one.
    let docent = SpinApp::start(
        &[
            ("docent_allow_private_hosts", "true"),
            ("docent_webhook_secret_docs", WEBHOOK_SECRET),
            ("docent_retry_base_seconds", "1"),
            ("docent_retry_max_seconds", "2"),
            // The flaky-page scenario fails one URL six times in a row to reach the dead letters; the
            // per-origin circuit breaker (tested natively) would otherwise pause that origin for a minute.
            ("docent_breaker_failures", "100"),
        ],
        &["docs"],
    );
    scenario::crawl_search_and_chat(&docent, &site);
}
