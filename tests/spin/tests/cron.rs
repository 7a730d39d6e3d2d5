//! The cron trigger drains the task table on its own: with self-invocation impossible (the crawl
//! component may not reach `self.alt`), a crawl waits in the table until the cron event, which then
//! runs it to the end.

mod support;

use std::time::Duration;

use docent_e2e::{repo_root, request, FixtureServer};
use support::{SpinApp, ADMIN};

/// A crawl started with self-invocation impossible (the crawl component may not reach `self.alt`),
/// so it waits in the task table for a cron event.
fn waiting_crawl() -> (FixtureServer, SpinApp, String) {
    let site = FixtureServer::start(repo_root().join("tests/fixtures/site"));
    let mut manifest = SpinApp::manifest();
    assert_eq!(manifest.crons.len(), 1, "spin.toml declares one cron trigger");
    assert_eq!(
        (manifest.crons[0].component.as_str(), manifest.crons[0].cron_expression.as_str()),
        ("crawl", "0 * * * * *")
    );
    for component in &mut manifest.components {
        component
            .allowed_outbound_hosts
            .retain(|pattern| pattern.host() != docent_spin_harness::manifest::SELF_HOST);
    }
    let spin = SpinApp::start_with(manifest, &[("docent_allow_private_hosts", "true")]);

    let body = serde_json::json!({"url": site.url("/index.html")}).to_string();
    let started = request(
        "POST",
        &spin.url("/api/crawls"),
        &[ADMIN, ("Content-Type", "application/json")],
        Some(&body),
    );
    assert_eq!(started.status, 202, "{}", started.body);
    let id = started.json()["id"].as_str().unwrap().to_string();
    std::thread::sleep(Duration::from_millis(1500));
    let waiting = request("GET", &spin.url(&format!("/api/crawls/{id}")), &[ADMIN], None).json();
    assert_eq!(
        (waiting["status"].as_str(), &waiting["pages"]["fetched"]),
        (Some("queued"), &serde_json::json!(0)),
        "{waiting}"
    );
    assert!(
        site.requests().is_empty(),
        "nothing may be fetched before the cron event: {:?}",
        site.requests()
    );
    (site, spin, id)
}

fn assert_crawled(spin: &SpinApp, id: &str) {
    let job = request("GET", &spin.url(&format!("/api/crawls/{id}")), &[ADMIN], None).json();
    assert_eq!(
        job["status"], "done",
        "one cron event runs the whole crawl (its drain follows the links): {job}"
    );
    assert_eq!(job["pages"]["indexed"], 7, "{job}");
}

#[test]
fn cron_event_drains_what_no_request_drained() {
    let (_site, spin, id) = waiting_crawl();
    let outcome = spin.runtime.block_on(spin.app.cron("crawl")).expect("the cron event ran");
    assert_eq!(outcome, Ok(()));
    assert_crawled(&spin, &id);
}

#[test]
fn the_export_answers_the_call_spin_trigger_cron_makes() {
    // Bindings from the plugin's synchronous WIT, `call_async`, no concurrent scope: the async
    // export is found (same name and types), runs its drain to the end, and returns before the
    // instance goes.
    let (_site, spin, id) = waiting_crawl();
    let outcome = spin
        .runtime
        .block_on(spin.app.cron_as_plugin_calls_it("crawl"))
        .expect("the plugin-style call ran");
    assert_eq!(outcome, Ok(()));
    assert_crawled(&spin, &id);
}
