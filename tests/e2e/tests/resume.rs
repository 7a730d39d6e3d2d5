//! Every crawl ends, on the local Cloudflare runtime: stop workerd in the middle of a crawl and start
//! it again on the same state, and the crawl finishes with every page indexed exactly once; crawl a
//! site that answers 503 forever, with the default settings, and its job still ends.

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
        serde_json::json!({"discovered": 7, "fetched": 7, "indexed": 7, "unchanged": 0, "skipped": 0, "failed": 0, "left_out": 0}),
        "{job}"
    );
    let index = request("GET", &docent.url("/api/index"), &[ADMIN], None).json();
    assert_eq!(index["documents"], 7, "each page indexed exactly once: {index}");
    let jobs = request("GET", &docent.url("/api/crawls"), &[ADMIN], None).json();
    assert_eq!(jobs["crawls"].as_array().unwrap().len(), 1);
}

/// With the default settings (the circuit breaker opens after five failures, before the queue's
/// five retries are used up), a URL of an origin that answers 503 forever is dead-lettered within
/// its six attempts, and its job ends. Waiting out the open breaker used to re-send the URL as a
/// fresh message each time, so it never reached the dead letters and the job ran for ever.
#[test]
fn a_site_that_always_fails_ends_its_job_with_the_default_settings() {
    let site = FixtureServer::start(repo_root().join("tests/fixtures/site"));
    site.outage(u32::MAX);
    let docent = Docent::start(&[]);
    let body = format!(r#"{{"url": "{}"}}"#, site.url("/index.html"));
    let started = request("POST", &docent.url("/api/crawls"), &[ADMIN, JSON], Some(&body));
    assert_eq!(started.status, 202, "{}", started.body);
    let id = started.json()["id"].as_str().unwrap().to_string();
    // Six attempts with full-jitter backoff from 2 s (at most 4 + 8 + 16 + 32 + 64 s of waiting).
    let job = wait_for_job(&docent, ADMIN, &id, Duration::from_secs(240));
    assert!(job["status"] == "done" || job["status"] == "failed", "the job did not end: {job}");
    assert_eq!(job["pages"]["failed"], 1, "{job}");
    assert_eq!(job["pages"]["indexed"], 0, "{job}");
    let letters = request("GET", &docent.url("/api/dead-letters"), &[ADMIN], None).json();
    let letter = letters["dead_letters"]
        .as_array()
        .and_then(|l| l.iter().find(|d| d["url"] == site.url("/index.html").as_str()))
        .unwrap_or_else(|| panic!("the URL is not among the dead letters: {letters}"))
        .clone();
    assert_eq!(letter["attempts"], 6, "the retry budget, breaker waits included: {letter}");
    let fetches = site.page_requests().len();
    assert!(
        (1..=6).contains(&fetches),
        "{fetches} requests for the page: never more than its six attempts"
    );
}
