//! The crawler against a misbehaving fixture server on the local Cloudflare runtime: per-host rate
//! and concurrency limits under several concurrent consumers, Crawl-delay, 429/503 with
//! Retry-After, slow answers past the fetch timeout, redirect loops, moved pages, oversized and
//! malformed pages, the per-host circuit breaker opening and closing, and (with private hosts not
//! allowed) redirects towards internal addresses refused at their first such hop.

use std::time::{Duration, Instant};

use docent_e2e::site::{page, section, write};
use docent_e2e::{
    in_loopback_namespace, repo_root, request, wait_for_job, Docent, Fault, FixtureServer, TempDir,
    ADMIN, JSON,
};
use serde_json::Value;

fn start_crawl(docent: &Docent, url: &str, priority: &str) -> String {
    let body = serde_json::json!({"url": url, "priority": priority}).to_string();
    let reply = request("POST", &docent.url("/api/crawls"), &[ADMIN, JSON], Some(&body));
    assert_eq!(reply.status, 202, "start crawl: {}", reply.body);
    reply.json()["id"].as_str().unwrap().to_string()
}

fn finish(docent: &Docent, id: &str) -> Value {
    let job = wait_for_job(docent, ADMIN, id, Duration::from_secs(120));
    assert!(job["status"] == "done", "crawl {id} did not finish cleanly: {job}\n{}", docent.log());
    job
}

fn pages_of(job: &Value) -> [u64; 5] {
    ["discovered", "indexed", "unchanged", "skipped", "failed"]
        .map(|k| job["pages"][k].as_u64().unwrap_or(u64::MAX))
}

#[test]
fn per_host_rate_and_concurrency_hold_across_concurrent_consumers() {
    let root = TempDir::new("docent-polite-site");
    section(&root.path, "a", 20);
    section(&root.path, "b", 20);
    let site = FixtureServer::start(root.path.clone());
    // Slow answers: without the gate, a batch of ten messages would have ten requests in flight.
    site.delay_ms.store(300, std::sync::atomic::Ordering::SeqCst);
    let (rate, burst, concurrency) = (4.0, 2, 2);
    let docent = Docent::start(&[
        ("DOCENT_CRAWL_RATE", "4"),
        ("DOCENT_CRAWL_BURST", "2"),
        ("DOCENT_CRAWL_CONCURRENCY", "2"),
    ]);
    // Two crawls of the same host on two priority tiers: two queues, two consumers, each handling
    // its batch concurrently.
    let a = start_crawl(&docent, &site.url("/a/index.html"), "normal");
    let b = start_crawl(&docent, &site.url("/b/index.html"), "low");
    let (a, b) = (finish(&docent, &a), finish(&docent, &b));
    assert_eq!(pages_of(&a), [21, 21, 0, 0, 0], "{a}");
    assert_eq!(pages_of(&b), [21, 21, 0, 0, 0], "{b}");
    let seen = site.seen();
    let pages: Vec<&str> = seen
        .iter()
        .filter(|r| r.path.contains("/page-") || r.path.ends_with("/index.html"))
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(pages.len(), 42, "each page fetched exactly once: {pages:?}");
    assert!(
        seen.iter().all(|r| r.user_agent.starts_with("DocentBot/")),
        "an honest user agent on every request"
    );

    site.assert_polite(rate, burst, concurrency);
    let busiest_second = site.max_in_window(Duration::from_secs(1));
    let span = seen.last().unwrap().arrived - seen.first().unwrap().arrived;
    let achieved = (seen.len() - 1) as f64 / span.as_secs_f64();
    // Reported for docs/BENCHMARKS.md (politeness efficiency); the limits above are what is
    // asserted.
    println!(
        "politeness: {} requests in {:.1} s = {achieved:.2} req/s of {rate} configured ({:.0}%); max in flight {}; busiest second {busiest_second}",
        seen.len(),
        span.as_secs_f64(),
        100.0 * achieved / rate,
        site.max_in_flight()
    );
}

#[test]
fn crawl_delay_from_robots_txt_spaces_requests() {
    let root = TempDir::new("docent-crawl-delay-site");
    section(&root.path, "docs", 4);
    write(&root.path, "/robots.txt", "User-agent: *\nCrawl-delay: 1\nDisallow: /private/\n");
    let site = FixtureServer::start(root.path.clone());
    let docent = Docent::start(&[]);
    let job = finish(&docent, &start_crawl(&docent, &site.url("/docs/index.html"), "normal"));
    assert_eq!(pages_of(&job), [5, 5, 0, 0, 0], "{job}");
    // After robots.txt itself, every request (sitemap probe and pages) waits one second for the
    // last.
    let arrivals: Vec<Instant> =
        site.seen().into_iter().filter(|r| r.path != "/robots.txt").map(|r| r.arrived).collect();
    assert_eq!(arrivals.len(), 6, "five pages and the sitemap probe");
    // The gate spaces the grants exactly; arrivals at the server add the runtime's own latency,
    // which varies by a few hundred milliseconds on a busy machine. So: no two requests close
    // together, and the five intervals together last the five seconds asked for. (Without
    // Crawl-delay, at the default 3 requests/s with a burst of 5, all six arrive within about a
    // second.)
    for pair in arrivals.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= Duration::from_millis(600), "requests {gap:?} apart despite Crawl-delay: 1");
    }
    let span = *arrivals.last().unwrap() - arrivals[0];
    assert!(
        span >= Duration::from_millis(4_800),
        "six requests within {span:?} despite Crawl-delay: 1"
    );
}

#[test]
fn faults_are_retried_redirected_or_skipped_and_the_crawl_ends() {
    let root = TempDir::new("docent-faulty-site");
    let linked = [
        "limited.html",
        "flaky.html",
        "slow.html",
        "loop-a.html",
        "moved.html",
        "huge.html",
        "broken.html",
    ]
    .map(String::from);
    write(
        &root.path,
        "/index.html",
        &page("Faulty site", "A site that misbehaves on purpose.", &linked),
    );
    write(
        &root.path,
        "/limited.html",
        &page("Limited", "This page is rate limited with quotaword.", &[]),
    );
    write(&root.path, "/flaky.html", &page("Flaky", "This page fails twice with flakeword.", &[]));
    write(&root.path, "/slow.html", &page("Slow", "This page is slow once with slowword.", &[]));
    write(
        &root.path,
        "/new-home.html",
        &page("New home", "Moved content lives here with movedword.", &[]),
    );
    let site = FixtureServer::start(root.path.clone());
    site.inject(
        "/limited.html",
        Fault::Status { status: 429, retry_after: Some(2), times: Some(1) },
    );
    site.inject("/flaky.html", Fault::Status { status: 503, retry_after: None, times: Some(2) });
    site.inject("/slow.html", Fault::Slow { ms: 4_000, times: Some(1) });
    site.inject("/loop-a.html", Fault::Redirect { status: 302, location: "/loop-b.html".into() });
    site.inject("/loop-b.html", Fault::Redirect { status: 302, location: "/loop-a.html".into() });
    site.inject("/moved.html", Fault::Redirect { status: 301, location: "/new-home.html".into() });
    site.inject("/huge.html", Fault::Oversized { bytes: 300_000 });
    site.inject("/broken.html", Fault::Malformed);
    let docent = Docent::start(&[
        ("DOCENT_CRAWL_RATE", "0"),
        ("DOCENT_CRAWL_CONCURRENCY", "0"),
        ("DOCENT_RETRY_BASE_SECONDS", "1"),
        ("DOCENT_RETRY_MAX_SECONDS", "2"),
        ("DOCENT_FETCH_TIMEOUT_SECONDS", "2"),
        ("DOCENT_MAX_PAGE_BYTES", "200000"),
        ("DOCENT_BREAKER_FAILURES", "100"),
    ]);
    let job = finish(&docent, &start_crawl(&docent, &site.url("/index.html"), "normal"));
    // Discovered: the index, its seven links, and the two redirect targets. Indexed: the index, the
    // three pages that recovered, the moved page's new home and the malformed page's text. Skipped:
    // the two loop pages, the moved page and the oversized one.
    assert_eq!(pages_of(&job), [10, 6, 0, 4, 0], "{job}");
    let statuses = |path: &str| -> Vec<u16> {
        site.requests().into_iter().filter(|(p, _)| p == path).map(|(_, s)| s).collect()
    };
    assert_eq!(statuses("/limited.html"), [429, 200]);
    let limited = site.request_times("/limited.html");
    assert!(
        limited[1] - limited[0] >= Duration::from_millis(1_900),
        "Retry-After: 2 honoured: {:?}",
        limited[1] - limited[0]
    );
    assert_eq!(statuses("/flaky.html"), [503, 503, 200]);
    assert_eq!(
        statuses("/slow.html"),
        [200, 200],
        "the first answer came after the 2 s timeout and was retried"
    );
    assert_eq!(statuses("/loop-a.html"), [302], "a redirect loop ends: each URL once");
    assert_eq!(statuses("/loop-b.html"), [302]);
    assert_eq!(statuses("/moved.html"), [301]);
    assert_eq!(statuses("/new-home.html"), [200]);
    for (query, expected) in [
        ("movedword", "/new-home.html"),
        ("flakeword", "/flaky.html"),
        ("quotaword", "/limited.html"),
        ("recovery", "/broken.html"),
    ] {
        let reply = request("GET", &format!("{}?q={query}", docent.url("/api/search")), &[], None);
        let top = reply.json()["results"][0]["url"].as_str().unwrap_or_default().to_string();
        assert!(top.starts_with(&site.url(expected)), "{query}: expected {expected}, got {top:?}");
    }
    let moved =
        request("GET", &format!("{}?q=moved+content", docent.url("/api/search")), &[], None).json();
    assert!(
        moved["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| !r["url"].as_str().unwrap().contains("/moved.html")),
        "{moved}"
    );
}

#[test]
fn the_circuit_breaker_opens_during_an_outage_and_closes_after() {
    let root = TempDir::new("docent-outage-site");
    section(&root.path, "docs", 3);
    let site = FixtureServer::start(root.path.clone());
    // The first two page requests fail: that opens the circuit (two consecutive failures), which
    // stays open for the three-second cool-down, then a trial request succeeds and the crawl goes
    // on.
    site.outage(2);
    let docent = Docent::start(&[
        ("DOCENT_CRAWL_RATE", "0"),
        ("DOCENT_BREAKER_FAILURES", "2"),
        ("DOCENT_BREAKER_COOL_DOWN_SECONDS", "3"),
        ("DOCENT_RETRY_BASE_SECONDS", "1"),
        ("DOCENT_RETRY_MAX_SECONDS", "1"),
    ]);
    let job = finish(&docent, &start_crawl(&docent, &site.url("/docs/index.html"), "normal"));
    assert_eq!(pages_of(&job), [4, 4, 0, 0, 0], "{job}");
    let pages: Vec<_> = site.seen().into_iter().filter(|r| r.path.ends_with(".html")).collect();
    let statuses: Vec<u16> = pages.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 503, 200, 200, 200, 200], "{pages:?}");
    let quiet = pages[2].arrived - pages[1].arrived;
    assert!(
        quiet >= Duration::from_millis(2_900),
        "the open circuit kept the host quiet for the cool-down, not {quiet:?}"
    );
}

/// A deployment that does not allow private hosts, crawling a public-looking site
/// (`docs.example.test`, served on loopback inside a network namespace, so nothing can leave the
/// machine) whose robots.txt redirects to the cloud metadata address: the hop is refused before it
/// is requested, and the job ends with the URL failed for that reason. Addresses in special-purpose
/// ranges cannot be crawled at all.
#[test]
fn redirects_to_internal_addresses_are_refused_at_their_first_hop() {
    if !in_loopback_namespace(
        "redirects_to_internal_addresses_are_refused_at_their_first_hop",
        "127.0.0.1 docs.example.test",
    ) {
        return;
    }
    let site = FixtureServer::start(repo_root().join("tests/fixtures/site"));
    site.inject(
        "/robots.txt",
        Fault::Redirect { status: 302, location: "/robots-moved.txt".into() },
    );
    site.inject(
        "/robots-moved.txt",
        Fault::Redirect {
            status: 302,
            location: "http://169.254.169.254/latest/meta-data/".into(),
        },
    );
    let key = ("Authorization", "Bearer namespace-admin-key");
    let docent = Docent::start(&[
        ("DOCENT_ALLOW_PRIVATE_HOSTS", "false"),
        ("DOCENT_ADMIN_KEY", "namespace-admin-key"),
    ]);
    let crawls = docent.url("/api/crawls");
    for internal in ["http://[64:ff9b::a9fe:a9fe]/", "http://198.18.0.1/", "http://2852039166/"] {
        let body = serde_json::json!({ "url": internal }).to_string();
        let refused = request("POST", &crawls, &[key, JSON], Some(&body));
        assert_eq!(refused.status, 403, "{internal}: {}", refused.body);
        assert_eq!(refused.json()["error"]["code"], "url_not_allowed", "{internal}");
    }
    let start = format!("http://docs.example.test:{}/index.html", site.port);
    let body = serde_json::json!({ "url": start }).to_string();
    let started = request("POST", &crawls, &[key, JSON], Some(&body));
    assert_eq!(started.status, 202, "a public name is crawled: {}", started.body);
    let id = started.json()["id"].as_str().unwrap().to_string();
    let job = wait_for_job(&docent, key, &id, Duration::from_secs(60));
    assert!(job["status"] == "done" || job["status"] == "failed", "{job}\n{}", docent.log());
    assert_eq!(job["pages"]["failed"], 1, "{job}");
    let reason = job["not_indexed"][0]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("169.254.169.254") && reason.contains("refused"),
        "the job names the refused hop: {job}"
    );
    let paths: Vec<String> = site.requests().into_iter().map(|(path, _)| path).collect();
    assert!(
        paths.contains(&"/robots-moved.txt".to_string()),
        "the public hop is followed: {paths:?}"
    );
    assert!(!paths.contains(&"/index.html".to_string()), "the origin is left uncrawled: {paths:?}");
}
