//! The end-to-end scenario both platforms must pass: crawl a fixture site through the API and the
//! crawl queue, search, chat with sources, recrawl unchanged, robots.txt, priority tiers, retries
//! and dead letters, signed webhooks, and bad input. `tests/e2e/tests/worker.rs` runs it on workerd
//! (the Worker under `wrangler dev`); `tests/spin/tests/scenario.rs` includes this file and runs it
//! on the Spin components under wasmtime. The assertions are the same for both: a difference in
//! behaviour is a bug.
//!
//! The deployment under test must allow private hosts (so the development admin key applies), use
//! retry delays of 1-2 s, let the breaker tolerate 100 failures, and verify `/hooks/docs` with
//! [`WEBHOOK_SECRET`].

use std::time::Duration;

use docent_core::escalation::signature::sign_standard_webhook;
use serde_json::Value;

use docent_e2e::{repo_root, request, FixtureServer, Reply};

/// A Standard Webhooks secret configured for the source `docs` (base64 of "docent end-to-end
/// secret!").
pub const WEBHOOK_SECRET: &str = "whsec_ZG9jZW50IGVuZC10by1lbmQgc2VjcmV0IQ==";
pub use docent_e2e::ADMIN;
use docent_e2e::JSON;
/// Every page of tests/fixtures/site: the six linked from the navigation plus the privacy page
/// linked from the footer.
const PAGES: [&str; 7] = [
    "/index.html",
    "/install.html",
    "/configuration.html",
    "/guides/scheduling.html",
    "/guides/troubleshooting.html",
    "/faq.html",
    "/privacy.html",
];

/// A running Docent: the Worker on workerd, or the Spin application in the harness.
pub trait Deployment {
    fn url(&self, path: &str) -> String;
    /// What the deployment logged, for failure messages.
    fn log(&self) -> String {
        String::new()
    }
    /// Whether `CONNECT` reaches Docent's HTTP handler. workerd hands it to a Worker's
    /// `connect()` (raw TCP) handler instead, which Docent does not export, and answers 500
    /// itself before any of Docent's code runs.
    fn handles_connect(&self) -> bool {
        true
    }
    /// Polls `GET /api/crawls/{id}` until the job is done or failed (or `timeout` passes).
    fn wait_for_job(&self, id: &str, timeout: Duration) -> Value {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let job =
                request("GET", &self.url(&format!("/api/crawls/{id}")), &[ADMIN], None).json();
            if job["status"] == "done"
                || job["status"] == "failed"
                || std::time::Instant::now() > deadline
            {
                return job;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Deployment for docent_e2e::Docent {
    fn url(&self, path: &str) -> String {
        docent_e2e::Docent::url(self, path)
    }
    fn log(&self) -> String {
        docent_e2e::Docent::log(self)
    }
    fn handles_connect(&self) -> bool {
        false
    }
}

/// One request written by hand, for methods HTTP clients refuse to send; the whole response.
fn raw_request(method: &str, url: &str) -> String {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = std::net::TcpStream::connect(authority).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(stream, "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read the response");
    response
}

fn assert_error(reply: &Reply, status: u16, code: &str, context: &str) {
    assert_eq!(reply.status, status, "{context}: status; body {}", reply.body);
    assert_eq!(
        reply.headers.get("content-type").map(String::as_str),
        Some("application/json"),
        "{context}: content type"
    );
    let body = reply.json();
    assert_eq!(body["error"]["code"], code, "{context}: error code in {body}");
    assert!(
        body["error"]["message"].as_str().is_some_and(|m| m.len() > 10),
        "{context}: a helpful message in {body}"
    );
}

fn crawl(docent: &impl Deployment, start_url: &str) -> Value {
    crawl_at(docent, start_url, "normal")
}

fn crawl_at(docent: &impl Deployment, start_url: &str, priority: &str) -> Value {
    let body = serde_json::json!({"url": start_url, "priority": priority}).to_string();
    let reply = request("POST", &docent.url("/api/crawls"), &[ADMIN, JSON], Some(&body));
    assert_eq!(reply.status, 202, "start crawl: {}", reply.body);
    let started = reply.json();
    assert_eq!(started["status"], "queued");
    let id = started["id"].as_str().expect("job id").to_string();
    let job = docent.wait_for_job(&id, Duration::from_secs(90));
    assert!(
        job["status"] == "done" || job["status"] == "failed",
        "crawl {id} did not finish: {job}\n{}",
        docent.log()
    );
    job
}

fn top_result(docent: &impl Deployment, query: &str) -> String {
    let url = format!("{}?q={}&k=5", docent.url("/api/search"), query.replace(' ', "+"));
    let reply = request("GET", &url, &[], None);
    assert_eq!(reply.status, 200, "search {query}: {}", reply.body);
    reply.json()["results"][0]["url"].as_str().unwrap_or_default().to_string()
}

/// Runs the scenario against `docent`; `site` must serve tests/fixtures/site (a fresh server: the
/// scenario counts its requests).
pub fn crawl_search_and_chat(docent: &impl Deployment, site: &FixtureServer) {
    // The chat page is served (a static asset on Cloudflare, by the chat component on Spin).
    let page = request("GET", &docent.url("/"), &[], None);
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("<title>Docent"),
        "chat page: {}",
        &page.body[..page.body.len().min(300)]
    );
    // So is the OpenAPI document (a static asset on Cloudflare, embedded on Spin).
    let openapi = request("GET", &docent.url("/openapi.json"), &[], None);
    assert_eq!(openapi.status, 200);
    assert!(
        openapi.headers.get("content-type").is_some_and(|t| t.starts_with("application/json")),
        "openapi.json content type: {:?}",
        openapi.headers.get("content-type")
    );
    let spec: Value = serde_json::from_str(&openapi.body).expect("openapi.json is JSON");
    assert_eq!(spec["openapi"], "3.1.0");
    assert!(spec["paths"]["/api/chat"]["post"].is_object(), "openapi.json documents /api/chat");

    // --- First crawl: every page is discovered, fetched and indexed exactly once.
    let job = crawl(docent, &site.url("/index.html"));
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(
        job["pages"],
        serde_json::json!({"discovered": 7, "fetched": 7, "indexed": 7, "unchanged": 0, "skipped": 0, "failed": 0, "left_out": 0}),
        "first crawl counts"
    );
    assert!(
        site.requests().iter().any(|(path, status)| path == "/robots.txt" && *status == 404),
        "robots.txt is asked for"
    );
    let mut fetched: Vec<String> = site.page_requests().into_iter().map(|(path, _)| path).collect();
    fetched.sort();
    let mut expected: Vec<String> = PAGES.iter().map(|p| p.to_string()).collect();
    expected.sort();
    assert_eq!(fetched, expected, "each page fetched exactly once, nothing else");
    let index = request("GET", &docent.url("/api/index"), &[ADMIN], None).json();
    assert_eq!(index["documents"], 7, "{index}");
    let chunks = index["chunks"].as_u64().unwrap();
    assert!(chunks >= 14, "pages are split into section chunks: {index}");
    let version = index["index_version"].clone();

    // --- Search ranks the right section first.
    for (query, expected) in [
        ("database is locked", "/guides/troubleshooting.html#database-locked"),
        ("how do I change the dashboard port", "/configuration.html#listen-port"),
        ("retry backoff jitter", "/guides/scheduling.html#retries"),
        ("does it run on windows", "/faq.html#windows"),
        ("how much memory is required", "/install.html#requirements"),
        ("kill a job that runs too long", "/guides/scheduling.html#timeouts"),
    ] {
        assert_eq!(top_result(docent, query), site.url(expected), "top result for {query:?}");
    }
    // Boilerplate (navigation, cookie banner, footer) is not indexed.
    let cookies =
        request("GET", &format!("{}?q=cookies", docent.url("/api/search")), &[], None).json();
    assert_eq!(
        cookies["results"],
        serde_json::json!([]),
        "the cookie banner was indexed: {cookies}"
    );
    // Cacheable, with a validator.
    let search = request("GET", &format!("{}?q=schedule", docent.url("/api/search")), &[], None);
    assert!(search.headers["cache-control"].contains("s-maxage="), "{:?}", search.headers);
    let etag = search.headers["etag"].clone();
    let again = request(
        "GET",
        &format!("{}?q=schedule", docent.url("/api/search")),
        &[("If-None-Match", &etag)],
        None,
    );
    assert_eq!(again.status, 304);

    // --- Chat streams an extractive answer whose sources cite the right page.
    let reply = request(
        "POST",
        &docent.url("/api/chat"),
        &[JSON],
        Some(r#"{"message": "Does Harbor run on Windows?"}"#),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.headers["content-type"].starts_with("text/event-stream"));
    let events = reply.events();
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"sources"), "{names:?}");
    assert_eq!(names.last(), Some(&"done"), "{names:?}");
    assert!(
        names.iter().filter(|n| **n == "delta").count() >= 2,
        "the answer streams in pieces: {names:?}"
    );
    let sources = &events[0].1["sources"];
    assert_eq!(sources[0]["url"], site.url("/faq.html#windows"), "{sources}");
    assert_eq!(sources[0]["number"], 1);
    let answer: String = events
        .iter()
        .filter(|(n, _)| n == "delta")
        .map(|(_, d)| d["text"].as_str().unwrap())
        .collect();
    assert!(answer.contains("extractive answer"), "the answer says it is extractive: {answer}");
    assert!(
        answer.contains("Harbor supports Linux and macOS only") && answer.contains("[1]"),
        "{answer}"
    );
    let done = &events.last().unwrap().1;
    assert_eq!(done["cached"], false);
    let session = done["session_id"].as_str().unwrap().to_string();
    assert_eq!(session.len(), 32);
    // A follow-up in the same session keeps its id.
    let follow_up = request(
        "POST",
        &docent.url("/api/chat"),
        &[JSON],
        Some(&format!(
            r#"{{"message": "And what license is it under?", "session_id": "{session}"}}"#
        )),
    );
    let events = follow_up.events();
    assert_eq!(events.last().unwrap().1["session_id"], session.as_str());
    assert_eq!(events[0].1["sources"][0]["url"], site.url("/faq.html#license"));

    // --- A second identical crawl finds nothing new: the server answers 304 to conditional
    // requests.
    site.clear_requests();
    let job = crawl(docent, &site.url("/index.html"));
    assert_eq!(
        job["pages"],
        serde_json::json!({"discovered": 7, "fetched": 7, "indexed": 0, "unchanged": 7, "skipped": 0, "failed": 0, "left_out": 0}),
        "recrawl with validators"
    );
    assert!(site.page_requests().iter().all(|(_, status)| *status == 304), "{:?}", site.requests());
    assert!(
        !site.requests().iter().any(|(path, _)| path == "/robots.txt"),
        "robots.txt is cached between crawls"
    );
    // --- And again without validators: full bodies whose content hash is unchanged.
    site.validators.store(false, std::sync::atomic::Ordering::SeqCst);
    let job = crawl(docent, &site.url("/index.html"));
    assert_eq!(job["pages"]["unchanged"], 7, "recrawl without validators: {job}");
    assert_eq!(job["pages"]["indexed"], 0, "{job}");
    let index = request("GET", &docent.url("/api/index"), &[ADMIN], None).json();
    assert_eq!(index["documents"], 7);
    assert_eq!(index["chunks"].as_u64().unwrap(), chunks, "no chunk was duplicated");
    assert_eq!(index["index_version"], version, "unchanged pages are not rewritten");

    // --- robots.txt: DocentBot's own group applies (not the stricter *), and blocked URLs are
    // reported. The site's sitemap.xml also lists a page no link leads to.
    let guarded = FixtureServer::start(repo_root().join("tests/fixtures/robots-site"));
    let job = crawl(docent, &guarded.url("/index.html"));
    assert_eq!(
        (job["status"].as_str(), &job["pages"], &job["blocked_by_robots"]),
        (
            Some("done"),
            &serde_json::json!({"discovered": 4, "fetched": 3, "indexed": 3, "unchanged": 0, "skipped": 1, "failed": 0, "left_out": 0}),
            &serde_json::json!(1)
        ),
        "{job}"
    );
    assert!(
        guarded.requests().iter().any(|(path, _)| path == "/hidden.html"),
        "the sitemap-only page was crawled"
    );
    assert!(
        !guarded.requests().iter().any(|(path, _)| path.starts_with("/secret/")),
        "a disallowed page was fetched"
    );
    // Every priority tier is delivered (its own queue on Cloudflare, claim order of the Spin task
    // table).
    for priority in ["critical", "high", "low"] {
        let job = crawl_at(docent, &guarded.url("/index.html"), priority);
        assert_eq!(
            (job["status"].as_str(), job["priority"].as_str(), &job["pages"]["unchanged"]),
            (Some("done"), Some(priority), &serde_json::json!(3)),
            "{job}"
        );
    }
    // The sitemap dates hidden.html before it was indexed: the recrawls did not fetch it again.
    assert_eq!(
        guarded.requests().iter().filter(|(path, _)| path == "/hidden.html").count(),
        1,
        "{:?}",
        guarded.requests()
    );
    // A host whose robots.txt answers 503 is not crawled at all: the URL is retried, then
    // dead-lettered.
    let unavailable = FixtureServer::start(repo_root().join("tests/fixtures/robots-site"));
    unavailable.force_status("/robots.txt", 503);
    let job = crawl(docent, &unavailable.url("/index.html"));
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["pages"]["failed"], 1, "{job}");
    assert!(
        unavailable.page_requests().is_empty(),
        "pages were fetched without robots.txt: {:?}",
        unavailable.requests()
    );
    assert!(
        unavailable.requests().len() >= 2,
        "robots.txt was retried: {:?}",
        unavailable.requests()
    );

    // --- A page answering 503 + Retry-After is retried no sooner than asked, dead-lettered, then
    // replayed.
    let flaky = FixtureServer::start(repo_root().join("tests/fixtures/site"));
    flaky.force_status("/faq.html", 503);
    let job = crawl(docent, &flaky.url("/index.html"));
    assert_eq!(
        (&job["status"], &job["pages"]["indexed"], &job["pages"]["failed"]),
        (&serde_json::json!("done"), &serde_json::json!(6), &serde_json::json!(1)),
        "{job}"
    );
    let attempts = flaky.request_times("/faq.html");
    assert_eq!(attempts.len(), 6, "one delivery and 5 retries (max_retries on Cloudflare, MAX_RETRIES of the Spin task table): {attempts:?}");
    for pair in attempts.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(950),
            "retried sooner than Retry-After: {attempts:?}"
        );
    }
    let letters = request("GET", &docent.url("/api/dead-letters"), &[ADMIN], None).json();
    let letter = &letters["dead_letters"][0];
    assert_eq!(
        (letter["url"].as_str(), letter["reason"].as_str(), letter["attempts"].as_u64()),
        (Some(flaky.url("/faq.html").as_str()), Some("HTTP 503"), Some(6)),
        "{letters}"
    );
    flaky.clear_forced("/faq.html");
    let job_id = job["id"].as_str().unwrap();
    let replay = request(
        "POST",
        &docent.url("/api/dead-letters/replay"),
        &[ADMIN, JSON],
        Some(&format!(r#"{{"job": "{job_id}"}}"#)),
    );
    assert_eq!(
        (replay.status, replay.json()["replayed"].as_u64()),
        (202, Some(1)),
        "{}",
        replay.body
    );
    let job = docent.wait_for_job(job_id, Duration::from_secs(30));
    assert_eq!(
        (&job["status"], &job["pages"]["indexed"], &job["pages"]["failed"]),
        (&serde_json::json!("done"), &serde_json::json!(7), &serde_json::json!(0)),
        "{job}"
    );

    // --- Signed webhooks recrawl at high priority and remove deleted pages, once per delivery.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let body = format!(
        r#"{{"urls": ["{}"], "deleted": ["{}"]}}"#,
        site.url("/faq.html"),
        site.url("/privacy.html")
    );
    let signed = |id: &str, timestamp: u64, body: &str| {
        let signature =
            sign_standard_webhook(WEBHOOK_SECRET, id, timestamp, body.as_bytes()).unwrap();
        (id.to_string(), timestamp.to_string(), signature)
    };
    let deliver =
        |(id, timestamp, signature): &(String, String, String), body: &str, source: &str| {
            let headers = [
                JSON,
                ("webhook-id", id.as_str()),
                ("webhook-timestamp", timestamp.as_str()),
                ("webhook-signature", signature.as_str()),
            ];
            request("POST", &docent.url(&format!("/hooks/{source}")), &headers, Some(body))
        };
    let delivery = signed("msg_e2e_1", now, &body);
    // The Cache API holds search answers, keyed by the index version: a second search is a hit...
    let privacy_url = format!("{}?q=personal+data+server+logs", docent.url("/api/search"));
    let before = request("GET", &privacy_url, &[], None);
    assert!(before.body.contains(&site.url("/privacy.html")), "{}", before.body);
    let cached = request("GET", &privacy_url, &[], None);
    assert_eq!(
        (cached.headers["x-docent-cache"].as_str(), cached.body.as_str()),
        ("hit", before.body.as_str())
    );
    let accepted = deliver(&delivery, &body, "docs");
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    let accepted = accepted.json();
    assert_eq!(accepted["removed"], 1, "{accepted}");
    let job_id = accepted["recrawl_jobs"][0].as_str().expect("a recrawl job").to_string();
    let job = docent.wait_for_job(&job_id, Duration::from_secs(60));
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["priority"], "high");
    assert_eq!(job["pages"]["discovered"], 1, "a webhook recrawls the listed page only: {job}");
    let index = request("GET", &docent.url("/api/index"), &[ADMIN], None).json();
    // Seven fixture pages, the robots site's three and the flaky copy's seven, less the deleted
    // one.
    assert_eq!(index["documents"], 16, "the deleted page left the index: {index}");
    // ...and after the page left the index, the same search is not answered from the cache.
    let after = request("GET", &privacy_url, &[], None);
    assert_eq!(after.headers["x-docent-cache"], "miss");
    assert!(!after.body.contains(&site.url("/privacy.html")), "{}", after.body);
    assert_error(
        &deliver(&delivery, &body, "docs"),
        409,
        "duplicate_delivery",
        "replayed delivery",
    );
    assert_error(
        &deliver(&signed("msg_e2e_2", now - 3600, &body), &body, "docs"),
        401,
        "invalid_signature",
        "stale delivery",
    );
    let forged = ("msg_e2e_3".to_string(), now.to_string(), delivery.2.clone());
    assert_error(
        &deliver(&forged, &body, "docs"),
        401,
        "invalid_signature",
        "signature of another delivery",
    );
    assert_error(
        &request("POST", &docent.url("/hooks/docs"), &[JSON], Some(&body)),
        401,
        "invalid_signature",
        "unsigned delivery",
    );
    assert_error(
        &deliver(&signed("msg_e2e_4", now, &body), &body, "other"),
        404,
        "not_found",
        "unknown source",
    );
    let jobs = request("GET", &docent.url("/api/crawls"), &[ADMIN], None).json();
    assert_eq!(jobs["crawls"].as_array().unwrap().len(), 10, "rejected deliveries started nothing");

    // --- Bad input gets the JSON errors of API.md.
    let crawls = docent.url("/api/crawls");
    assert_error(
        &request("POST", &crawls, &[JSON], Some(r#"{"url": "http://x.test/"}"#)),
        401,
        "unauthorized",
        "no admin key",
    );
    assert_error(
        &request(
            "POST",
            &crawls,
            &[("Authorization", "Bearer wrong"), JSON],
            Some(r#"{"url": "http://x.test/"}"#),
        ),
        401,
        "unauthorized",
        "wrong admin key",
    );
    assert_error(
        &request("POST", &crawls, &[ADMIN, JSON], Some("{not json")),
        400,
        "invalid_json",
        "bad JSON",
    );
    assert_error(
        &request("POST", &crawls, &[ADMIN, JSON], Some(r#"{"max_pages": 3}"#)),
        400,
        "invalid_request",
        "missing url",
    );
    assert_error(
        &request("POST", &crawls, &[ADMIN, JSON], Some(r#"{"url": "not a url"}"#)),
        400,
        "invalid_url",
        "bad url",
    );
    assert_error(
        &request("POST", &crawls, &[ADMIN, JSON], Some(r#"{"url": "file:///etc/passwd"}"#)),
        400,
        "invalid_url",
        "file URL",
    );
    assert_error(
        &request(
            "POST",
            &crawls,
            &[ADMIN, JSON],
            Some(r#"{"url": "http://x.test/", "priority": "urgent"}"#),
        ),
        400,
        "invalid_request",
        "bad priority",
    );
    let huge = format!(r#"{{"url": "http://x.test/", "exclude": ["{}"]}}"#, "x".repeat(70_000));
    assert_error(
        &request("POST", &crawls, &[ADMIN, JSON], Some(&huge)),
        413,
        "body_too_large",
        "oversized body",
    );
    assert_error(
        &request("GET", &docent.url("/api/crawls/nope"), &[ADMIN], None),
        404,
        "not_found",
        "unknown crawl",
    );
    assert_error(
        &request("GET", &docent.url("/api/nothing-here"), &[], None),
        404,
        "not_found",
        "unknown route",
    );
    let wrong_method = request("PUT", &crawls, &[ADMIN, JSON], Some("{}"));
    assert_error(&wrong_method, 405, "method_not_allowed", "wrong method");
    assert_eq!(wrong_method.headers.get("allow").map(String::as_str), Some("POST, GET"));
    // A method the platform does not know is not taken for GET.
    let unknown_method = raw_request("QUERY", &docent.url("/api/search?q=install"));
    assert!(unknown_method.starts_with("HTTP/1.1 405"), "{unknown_method}");
    assert!(unknown_method.to_ascii_lowercase().contains("\r\nallow: get\r\n"), "{unknown_method}");
    assert!(unknown_method.contains("method_not_allowed"), "{unknown_method}");
    let methods: &[&str] =
        if docent.handles_connect() { &["CONNECT", "PROPFIND"] } else { &["PROPFIND"] };
    for method in methods {
        let reply = raw_request(method, &docent.url("/api/search?q=install"));
        assert!(reply.starts_with("HTTP/1.1 405"), "{method}: {reply}");
        assert!(reply.contains("method_not_allowed"), "{method}: {reply}");
    }
    // A body that never arrives in full is not waited for past the read deadline.
    {
        use std::io::{Read, Write};
        let url = docent.url("/api/chat");
        let rest = url.strip_prefix("http://").unwrap();
        let (authority, path) = rest.split_at(rest.find('/').unwrap());
        let mut stream = std::net::TcpStream::connect(authority).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"message\": "
        )
        .unwrap();
        let started = std::time::Instant::now();
        // Headers and body may come in separate reads; the connection may stay open.
        let mut reply = String::new();
        let mut buffer = [0u8; 4096];
        while !reply.contains("}}") {
            match stream.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => reply.push_str(&String::from_utf8_lossy(&buffer[..n])),
            }
        }
        assert!(reply.starts_with("HTTP/1.1 408"), "a short body: {reply}");
        assert!(reply.contains("request_timeout"), "{reply}");
        assert!(started.elapsed() < Duration::from_secs(20), "answered in {:?}", started.elapsed());
    }
    // Writes must say they are JSON: a page on another site can send a no-cors POST with any
    // body, but not with this type.
    for (route, body) in [
        ("/api/chat", r#"{"message": "How do I install Docent?"}"#),
        ("/api/tickets", r#"{"subject": "forged", "description": "sent by another site"}"#),
    ] {
        assert_error(
            &request("POST", &docent.url(route), &[], Some(body)),
            415,
            "unsupported_media_type",
            &format!("{route} without Content-Type"),
        );
        assert_error(
            &request("POST", &docent.url(route), &[("Content-Type", "text/plain")], Some(body)),
            415,
            "unsupported_media_type",
            &format!("{route} as text/plain"),
        );
    }
    // A browser on another site is refused before any work; Docent's own page is not.
    let foreign = ("Origin", "https://evil.example");
    assert_error(
        &request(
            "POST",
            &docent.url("/api/chat"),
            &[JSON, foreign],
            Some(r#"{"message": "How do I install Docent?"}"#),
        ),
        403,
        "origin_not_allowed",
        "chat from another origin",
    );
    assert_error(
        &request("GET", &docent.url("/api/search?q=install"), &[foreign], None),
        403,
        "origin_not_allowed",
        "search from another origin",
    );
    let own_origin = docent.url("");
    let own_origin = own_origin.trim_end_matches('/');
    let same_origin =
        request("GET", &docent.url("/api/search?q=install"), &[("Origin", own_origin)], None);
    assert_eq!(same_origin.status, 200, "search from Docent's own page: {}", same_origin.body);
    // The chat page may only be framed by Docent itself (clickjacking).
    let page = request("GET", &docent.url("/"), &[], None);
    assert_eq!(page.status, 200);
    let policy = page.headers.get("content-security-policy").cloned().unwrap_or_default();
    assert!(policy.contains("frame-ancestors 'self'"), "the chat page's CSP: {:?}", page.headers);
    // CORS: a page of an origin not on the list fails its preflight; routes that need a key are
    // never CORS-enabled, whoever asks; OPTIONS without a preflight lists the methods.
    let preflight = |path: &str, origin: &str, method: &str| {
        request(
            "OPTIONS",
            &docent.url(path),
            &[("Origin", origin), ("Access-Control-Request-Method", method)],
            None,
        )
    };
    let refused = preflight("/api/chat", "https://evil.example", "POST");
    assert_error(&refused, 403, "origin_not_allowed", "preflight from another origin");
    assert!(!refused.headers.contains_key("access-control-allow-origin"), "{:?}", refused.headers);
    assert_error(
        &preflight("/api/crawls", "https://evil.example", "POST"),
        403,
        "cors_not_offered",
        "preflight of an admin route",
    );
    let options = request("OPTIONS", &docent.url("/api/crawls/x"), &[], None);
    assert_eq!(options.status, 204, "{}", options.body);
    assert_eq!(options.headers.get("allow").map(String::as_str), Some("GET, DELETE, OPTIONS"));
    // The widget is a script other sites may load.
    let widget = request("GET", &docent.url("/widget.js"), &[], None);
    assert_eq!(widget.status, 200);
    let widget_type = widget.headers.get("content-type").cloned().unwrap_or_default();
    assert!(widget_type.contains("javascript"), "widget.js served as {widget_type}");
    assert_eq!(
        widget.headers.get("cross-origin-resource-policy").map(String::as_str),
        Some("cross-origin"),
        "{:?}",
        widget.headers
    );
    assert!(widget.body.contains("attachShadow"), "widget.js is the widget");
    let about = request("GET", &docent.url("/api/about"), &[], None);
    assert_eq!(about.status, 200, "{}", about.body);
    assert!(
        about.json()["documents"].is_u64() && about.json()["sites"].is_array(),
        "{}",
        about.body
    );
    assert_eq!(about.headers.get("cache-control").map(String::as_str), Some("public, max-age=60"));
    assert_error(
        &request("GET", &docent.url("/api/search"), &[], None),
        400,
        "missing_query",
        "search without q",
    );
    assert_error(
        &request("GET", &docent.url("/api/search?q=x&k=0"), &[], None),
        400,
        "invalid_k",
        "search k=0",
    );
    assert_error(
        &request("POST", &docent.url("/api/chat"), &[JSON], Some(r#"{"message": "  "}"#)),
        400,
        "invalid_request",
        "empty chat",
    );
    assert_error(
        &request(
            "POST",
            &docent.url("/api/chat"),
            &[JSON],
            Some(r#"{"message": "hi", "session_id": "../x"}"#),
        ),
        400,
        "invalid_session",
        "bad session id",
    );
}

/// The search budget the limits scenario runs with (`DOCENT_SEARCH_RATE_LIMIT`).
pub const LIMITS_SEARCH_BUDGET: usize = 40;

/// `GET url` sent from the local address `source` (127.0.0.1, 127.0.0.2, …: every loopback address
/// is this machine), with `headers`; the status and the `Retry-After` header.
fn get_from(source: &str, url: &str, headers: &[(&str, &str)]) -> (u16, Option<String>) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let target: std::net::SocketAddr = authority.parse().expect("an ip:port authority");
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    let from: std::net::SocketAddr = format!("{source}:0").parse().unwrap();
    socket.bind(&from.into()).expect("bind the source address");
    socket.connect(&target.into()).expect("connect");
    let mut stream: std::net::TcpStream = socket.into();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {authority}\r\n{extra}Connection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read the response");
    let status = response.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let retry_after = response.lines().find_map(|l| {
        l.to_ascii_lowercase().strip_prefix("retry-after:").map(|v| v.trim().to_string())
    });
    (status, retry_after)
}

/// Per-client limits hold under concurrency: 20 clients at once from one address get exactly the
/// budget and then 429 with `Retry-After`, whatever `X-Forwarded-For` they send; a second address
/// gets a budget of its own. `docent` runs with `DOCENT_SEARCH_RATE_LIMIT` =
/// [`LIMITS_SEARCH_BUDGET`] and a search cache of 0 s (so every search counts and does work).
pub fn limits_hold_under_concurrency(docent: &impl Deployment) {
    // The budget is per minute: start well inside one, so the burst cannot straddle two.
    loop {
        let second =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
                % 60;
        if second < 40 {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let base = docent.url("");
    let base = base.as_str();
    let burst = |source: &'static str, forge: bool| -> Vec<(u16, Option<String>)> {
        std::thread::scope(|scope| {
            let clients: Vec<_> = (0..20)
                .map(|client| {
                    scope.spawn(move || {
                        (0..5)
                            .map(|i| {
                                let url = format!("{base}/api/search?q=install+{client}+{i}");
                                // A new X-Forwarded-For each time: it must not buy a new budget.
                                let forged = format!("203.0.113.{}", client * 5 + i);
                                let headers: Vec<(&str, &str)> = if forge {
                                    vec![("X-Forwarded-For", forged.as_str())]
                                } else {
                                    vec![]
                                };
                                get_from(source, &url, &headers)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            clients.into_iter().flat_map(|c| c.join().unwrap()).collect()
        })
    };
    let first = burst("127.0.0.1", true);
    let answered = first.iter().filter(|(status, _)| *status == 200).count();
    let limited: Vec<_> = first.iter().filter(|(status, _)| *status == 429).collect();
    assert_eq!(
        (answered, limited.len()),
        (LIMITS_SEARCH_BUDGET, 100 - LIMITS_SEARCH_BUDGET),
        "100 searches from one address, 20 at a time: exactly the budget answered; statuses {:?}",
        first.iter().map(|(s, _)| *s).collect::<Vec<_>>()
    );
    assert!(
        limited.iter().all(|(_, retry)| retry
            .as_deref()
            .and_then(|r| r.parse::<u64>().ok())
            .is_some_and(|r| (1..=60).contains(&r))),
        "every 429 says when to come back: {limited:?}"
    );
    let second = burst("127.0.0.2", false);
    let answered = second.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!(answered, LIMITS_SEARCH_BUDGET, "another address, a budget of its own");
}

/// A sample, the labels that select it, and how much it should have risen.
type Expected = (&'static str, Vec<(&'static str, &'static str)>, f64);

/// The development admin key (`ADMIN` is the header that carries it).
const ADMIN_KEY: &str = "docent-dev-admin-key";

/// `/metrics` counts exactly what was done: after the scenario (every crawl ended), a recrawl, four
/// searches (one repeated) and two questions (one repeated), the counters moved by exactly those
/// amounts, read with Prometheus' own parser and linted by promtool. Flushes run after responses
/// (on workerd in `waitUntil`), so the scrape is repeated until they have landed or time is up.
pub fn metrics_count_what_happened(docent: &impl Deployment, site: &FixtureServer) {
    let unauthorised = request("GET", &docent.url("/metrics"), &[], None);
    assert_error(&unauthorised, 401, "unauthorized", "/metrics without a key");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while request("GET", &docent.url("/api/crawls"), &[ADMIN], None).json()["crawls"]
        .as_array()
        .is_some_and(|jobs| {
            jobs.iter().any(|j| j["status"] == "queued" || j["status"] == "running")
        })
    {
        assert!(std::time::Instant::now() < deadline, "crawls still running\n{}", docent.log());
        std::thread::sleep(Duration::from_millis(300));
    }
    let metrics_url = docent.url("/metrics");
    // The Worker writes an isolate's deltas within a second: read once nothing more is landing.
    let settle_deadline = std::time::Instant::now() + Duration::from_secs(30);
    let before = loop {
        let first = docent_e2e::Scrape::read(&metrics_url, ADMIN_KEY);
        std::thread::sleep(Duration::from_millis(1500));
        let second = docent_e2e::Scrape::read(&metrics_url, ADMIN_KEY);
        if first.settled_with(&second) {
            break second;
        }
        assert!(std::time::Instant::now() < settle_deadline, "the metrics never settled");
    };
    before.lint();
    for family in ["docent_http_requests", "docent_llm_tokens", "docent_crawl_pages"] {
        assert_eq!(before.families[family], "counter", "{family}");
    }
    assert_eq!(before.families["docent_http_request_duration_seconds"], "histogram");

    let job = crawl(docent, &site.url("/index.html"));
    let nonce = std::process::id();
    let queries = [
        format!("harbor zq{nonce}a"),
        format!("scheduling zq{nonce}b"),
        format!("logs zq{nonce}c"),
        format!("harbor zq{nonce}a"),
    ];
    for query in &queries {
        let url = format!("{}?q={}", docent.url("/api/search"), query.replace(' ', "+"));
        assert_eq!(request("GET", &url, &[], None).status, 200);
    }
    let question = format!(r#"{{"message": "How do I configure Harbor? ({nonce})"}}"#);
    for _ in 0..2 {
        let reply = request("POST", &docent.url("/api/chat"), &[JSON], Some(&question));
        assert_eq!(reply.status, 200, "{}", reply.body);
    }

    let pages = &job["pages"];
    let count = |key: &str| pages[key].as_f64().unwrap();
    // (sample, labels, expected increase)
    let expected: Vec<Expected> = vec![
        ("docent_crawl_pages_total", vec![("outcome", "indexed")], count("indexed")),
        ("docent_crawl_pages_total", vec![("outcome", "unchanged")], count("unchanged")),
        ("docent_crawl_pages_total", vec![("outcome", "skipped")], count("skipped")),
        ("docent_crawl_pages_total", vec![("outcome", "failed")], count("failed")),
        (
            "docent_http_requests_total",
            vec![("route", "/api/search"), ("method", "GET"), ("status", "200")],
            4.0,
        ),
        ("docent_http_request_duration_seconds_count", vec![("route", "/api/search")], 4.0),
        ("docent_cache_lookups_total", vec![("cache", "search"), ("result", "miss")], 3.0),
        ("docent_cache_lookups_total", vec![("cache", "search"), ("result", "hit")], 1.0),
        ("docent_cache_lookups_total", vec![("cache", "answer"), ("result", "miss")], 1.0),
        ("docent_cache_lookups_total", vec![("cache", "answer"), ("result", "hit")], 1.0),
        ("docent_questions_total", vec![], 2.0),
        ("docent_questions_total", vec![("answer", "cached")], 1.0),
        ("docent_sessions_total", vec![], 2.0),
        (
            "docent_http_requests_total",
            vec![("route", "/api/chat"), ("method", "POST"), ("status", "200")],
            2.0,
        ),
    ];
    let increases = |after: &docent_e2e::Scrape| -> Vec<f64> {
        expected
            .iter()
            .map(|(name, labels, _)| after.value(name, labels) - before.value(name, labels))
            .collect()
    };
    let wanted: Vec<f64> = expected.iter().map(|(_, _, v)| *v).collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let after = loop {
        let after = docent_e2e::Scrape::read(&metrics_url, ADMIN_KEY);
        if increases(&after) == wanted || std::time::Instant::now() > deadline {
            break after;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    after.lint();
    for ((name, labels, want), got) in expected.iter().zip(increases(&after)) {
        assert_eq!(got, *want, "{name} {labels:?} rose by {got}, expected {want}; the job: {job}");
    }
    assert_eq!(
        after.value("docent_crawl_pages_total", &[])
            - before.value("docent_crawl_pages_total", &[]),
        count("indexed") + count("unchanged") + count("skipped") + count("failed"),
        "no other outcome was counted"
    );
    let index = request("GET", &docent.url("/api/index"), &[ADMIN], None).json();
    assert_eq!(after.value("docent_index_documents", &[]), index["documents"].as_f64().unwrap());
    assert_eq!(after.value("docent_index_chunks", &[]), index["chunks"].as_f64().unwrap());
    // Every crawled page took at least one statement; a batch carries one or more.
    let rose = |name: &str| after.value(name, &[]) - before.value(name, &[]);
    let (trips, statements) =
        (rose("docent_sql_round_trips_total"), rose("docent_sql_statements_total"));
    assert!(
        trips >= count("discovered") && statements >= trips,
        "{trips} round trips, {statements} statements"
    );
    // Each URL was sent to the queue and delivered at least once, each fetched page was an
    // outbound request, and each page read its origin's circuit breaker from KV.
    let operation = |service: &str, operation: &str| {
        let labels = [("service", service), ("operation", operation)];
        after.value("docent_platform_operations_total", &labels)
            - before.value("docent_platform_operations_total", &labels)
    };
    assert!(operation("queue", "sent") >= count("discovered"), "{job}");
    assert!(operation("queue", "received") >= count("discovered"), "{job}");
    assert!(operation("fetch", "request") >= count("fetched"), "{job}");
    assert!(operation("kv", "read") >= count("fetched"), "{job}");
    // The built-in embedder gives every passage a vector.
    assert_eq!(after.value("docent_index_vectors", &[]), index["chunks"].as_f64().unwrap());
    assert_eq!(after.value("docent_crawl_backlog", &[]), 0.0, "every crawl ended");
    let alerts = request("GET", &docent.url("/api/alerts"), &[ADMIN], None);
    assert_eq!(alerts.status, 200, "{}", alerts.body);
    assert_eq!(alerts.json()["alerts"].as_array().map(Vec::len), Some(6), "{}", alerts.body);
}
