//! Per-host politeness across Spin instances: the Worker's e2e test (tests/e2e/tests/politeness.rs)
//! on the Spin components. Two crawls of one host are drained by two drains running at once, each
//! in its own instance (a request gets a fresh one), each delivering three tasks at a time; the
//! gate they share (`core::sql_gate` on the app's SQLite) must hold the host to 2 requests in
//! flight and 4/s with a burst of 2 across both. The control run lifts the limits and shows the
//! same set-up exceeds them, so the assertions can fail.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use docent_e2e::site::section;
use docent_e2e::{request, FixtureServer, TempDir};
use support::{SpinApp, ADMIN};

const JSON: (&str, &str) = ("Content-Type", "application/json");

/// One drain as the test saw it: when it ran and how many tasks it delivered.
#[derive(Debug, Clone, Copy)]
struct DrainRun {
    started: Instant,
    ended: Instant,
    delivered: u64,
}

struct Outcome {
    site: FixtureServer,
    drains: Vec<DrainRun>,
    jobs: Vec<serde_json::Value>,
}

/// Crawls sections `a` and `b` of one slow site with `variables`, drained only by two loops that
/// each keep one `POST /internal/drain` running (self-invocation is switched off, so no other drain
/// starts).
fn crawl_with_two_drainers(variables: &[(&str, &str)]) -> Outcome {
    let root = TempDir::new("docent-spin-polite-site");
    section(&root.path, "a", 20);
    section(&root.path, "b", 20);
    let site = FixtureServer::start(root.path.clone());
    // Slow answers, so fetches overlap: without a shared gate, each drain has three in flight.
    site.delay_ms.store(300, Ordering::SeqCst);
    let mut manifest = SpinApp::manifest();
    for component in &mut manifest.components {
        component
            .allowed_outbound_hosts
            .retain(|pattern| pattern.host() != docent_spin_harness::manifest::SELF_HOST);
    }
    let mut all = vec![("docent_allow_private_hosts", "true")];
    all.extend_from_slice(variables);
    let spin = SpinApp::start_with(manifest, &all);

    let ids: Vec<String> = ["a", "b"]
        .iter()
        .map(|name| {
            let body =
                serde_json::json!({"url": site.url(&format!("/{name}/index.html"))}).to_string();
            let reply = request("POST", &spin.url("/api/crawls"), &[ADMIN, JSON], Some(&body));
            assert_eq!(reply.status, 202, "start crawl: {}", reply.body);
            reply.json()["id"].as_str().unwrap().to_string()
        })
        .collect();

    let finished = Arc::new(AtomicBool::new(false));
    let drains = Arc::new(Mutex::new(Vec::new()));
    let drainers: Vec<_> = (0..2)
        .map(|_| {
            let (finished, drains, url) =
                (finished.clone(), drains.clone(), spin.url("/internal/drain"));
            std::thread::spawn(move || {
                while !finished.load(Ordering::SeqCst) {
                    let started = Instant::now();
                    let reply = request("POST", &url, &[ADMIN], None);
                    assert_eq!(reply.status, 200, "drain: {}", reply.body);
                    let delivered = reply.json()["delivered"].as_u64().unwrap();
                    drains.lock().unwrap().push(DrainRun {
                        started,
                        ended: Instant::now(),
                        delivered,
                    });
                    if delivered == 0 {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    let jobs = loop {
        let jobs: Vec<serde_json::Value> = ids
            .iter()
            .map(|id| {
                request("GET", &spin.url(&format!("/api/crawls/{id}")), &[ADMIN], None).json()
            })
            .collect();
        if jobs.iter().all(|job| job["status"] == "done" || job["status"] == "failed")
            || Instant::now() > deadline
        {
            break jobs;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    finished.store(true, Ordering::SeqCst);
    for drainer in drainers {
        drainer.join().expect("a drainer panicked");
    }
    let drains = drains.lock().unwrap().clone();
    Outcome { site, drains, jobs }
}

fn assert_crawled_with_overlapping_drains(outcome: &Outcome) {
    for job in &outcome.jobs {
        assert_eq!(job["status"], "done", "{job}");
        assert_eq!(job["pages"]["indexed"], 21, "{job}");
    }
    let pages = outcome.site.seen().into_iter().filter(|r| r.path.ends_with(".html")).count();
    assert_eq!(pages, 42, "each page fetched exactly once");
    // Two instances really did work at the same time: two drains that both delivered tasks
    // overlapped.
    let working: Vec<&DrainRun> = outcome.drains.iter().filter(|d| d.delivered > 0).collect();
    let overlapping = working
        .iter()
        .enumerate()
        .any(|(i, a)| working[i + 1..].iter().any(|b| a.started < b.ended && b.started < a.ended));
    assert!(overlapping, "no two working drains overlapped: {:?}", outcome.drains);
}

#[test]
fn per_host_limits_hold_across_instances() {
    let (rate, burst, concurrency) = (4.0, 2, 2);
    let outcome = crawl_with_two_drainers(&[
        ("docent_crawl_rate", "4"),
        ("docent_crawl_burst", "2"),
        ("docent_crawl_concurrency", "2"),
    ]);
    assert_crawled_with_overlapping_drains(&outcome);
    let site = &outcome.site;
    site.assert_polite(rate, burst, concurrency);
    let busiest_second = site.max_in_window(Duration::from_secs(1));
    let seen = site.seen();
    let span = seen.last().unwrap().arrived - seen.first().unwrap().arrived;
    println!(
        "spin politeness: {} requests in {:.1} s ({:.2}/s of {rate}); max in flight {}; busiest second {busiest_second}; {} drains",
        seen.len(),
        span.as_secs_f64(),
        (seen.len() - 1) as f64 / span.as_secs_f64(),
        site.max_in_flight(),
        outcome.drains.iter().filter(|d| d.delivered > 0).count()
    );
}

#[test]
fn without_limits_the_same_crawl_exceeds_them() {
    let outcome = crawl_with_two_drainers(&[
        ("docent_crawl_rate", "0"),
        ("docent_crawl_concurrency", "0"),
        ("docent_crawl_global_rate", "0"),
    ]);
    assert_crawled_with_overlapping_drains(&outcome);
    let (in_flight, busiest_second) =
        (outcome.site.max_in_flight(), outcome.site.max_in_window(Duration::from_secs(1)));
    println!("spin politeness, limits lifted: max in flight {in_flight}; busiest second {busiest_second}");
    assert!(in_flight > 2 && busiest_second > 6, "the set-up does not exceed the limits on its own: {in_flight} in flight, {busiest_second} in a second");
}
