//! Kill and resume on the local Cloudflare runtime: stop workerd in the middle of a crawl, start it
//! again on the same state, and the crawl finishes with every page indexed exactly once.

use std::time::{Duration, Instant};

use docent_e2e::{repo_root, request, wait_for_job, Docent, FixtureServer, ADMIN, JSON};

/// The local queue forgets its messages when workerd stops; the cron sweep re-enqueues queued URLs
/// untouched this long (10 minutes in production).
const SETTINGS: [(&str, &str); 1] = [("DOCENT_STALE_AFTER_SECONDS", "2")];

#[test]
fn a_crawl_survives_a_restart_mid_way() {
    let site = FixtureServer::start(repo_root().join("tests/fixtures/site"));
    site.delay_ms.store(700, std::sync::atomic::Ordering::SeqCst);
    let docent = Docent::start(&SETTINGS);
    let body = format!(r#"{{"url": "{}"}}"#, site.url("/index.html"));
    let started = request("POST", &docent.url("/api/crawls"), &[ADMIN, JSON], Some(&body));
    let id = started.json()["id"].as_str().unwrap().to_string();
    // Kill the runtime once the crawl is under way but not finished.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let job = request("GET", &docent.url(&format!("/api/crawls/{id}")), &[ADMIN], None).json();
        let indexed = job["pages"]["indexed"].as_u64().unwrap_or(0);
        if indexed >= 1 {
            assert!(
                indexed < 7,
                "the crawl finished before the restart; slow the site down: {job}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "the crawl did not start: {job}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let docent = docent.restart(&SETTINGS);
    let job = request("GET", &docent.url(&format!("/api/crawls/{id}")), &[ADMIN], None).json();
    assert_eq!(job["status"], "running", "state survived the restart: {job}");

    // Cron finds the URLs whose messages died with the old runtime and queues them again.
    site.delay_ms.store(0, std::sync::atomic::Ordering::SeqCst);
    std::thread::sleep(Duration::from_secs(3));
    let cron = request("GET", &docent.url("/cdn-cgi/local/scheduled?cron=*/5+*+*+*+*"), &[], None);
    assert!(cron.status < 400, "scheduled event: {} {}", cron.status, cron.body);
    let job = wait_for_job(&docent, ADMIN, &id, Duration::from_secs(60));
    assert_eq!(
        job["pages"],
        serde_json::json!({"discovered": 7, "fetched": 7, "indexed": 7, "unchanged": 0, "skipped": 0, "failed": 0}),
        "{job}"
    );
    let index = request("GET", &docent.url("/api/index"), &[ADMIN], None).json();
    assert_eq!(index["documents"], 7, "each page indexed exactly once: {index}");
    let jobs = request("GET", &docent.url("/api/crawls"), &[ADMIN], None).json();
    assert_eq!(jobs["crawls"].as_array().unwrap().len(), 1);
}
