//! The crawl function's guarantees, on real SQLite and Postgres and real files: redelivery changes
//! nothing, the page limit holds, cancellation and dead letters end jobs, lost messages are found
//! again by the cron sweep.

use std::path::Path;

use docent_cli::platform::{open_database, Database, Native};
use docent_cli::testing::{test_databases, TestDir};
use docent_core::config::Config;
use docent_core::crawl::globs::GlobMatches;
use docent_core::domain::{CrawlMessage, JobStatus, PageCounts, Priority};
use docent_core::ports::KeyValue;
use docent_functions::crawl::{self, CrawlRequest, Delivery};
use docent_functions::Platform;
use docent_store::api::{CrawlStore, DocumentStore, VectorStore};

fn site_url(path: &str) -> String {
    let root = Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("../../tests/fixtures/site")
        .canonicalize()
        .unwrap();
    url::Url::from_file_path(root.join(path)).unwrap().to_string()
}

/// An empty directory for the test `name`, removed when dropped.
fn fresh_dir(name: &str) -> TestDir {
    TestDir::new(&format!("pipeline-{name}"))
}

/// What the CLI allows: local files and private hosts.
fn test_config() -> Config {
    Config { allow_private_hosts: true, allow_file_urls: true, ..Config::default() }
}

/// Docent on each store (SQLite, and Postgres when the test command started it), fresh for `name`
/// (opened as the loop over them reaches it).
fn natives(name: &str) -> impl Iterator<Item = Native> {
    test_databases(name)
        .map(|location| Native::open(open_database(&location).unwrap(), test_config()).unwrap())
}

fn sqlite(path: &Path) -> Database {
    open_database(path.to_str().unwrap()).unwrap()
}

/// A minimal page whose main content is `body`.
fn page(title: &str, body: &str) -> String {
    format!(
        "<html><head><title>{title}</title></head><body><main><p>{body}</p></main></body></html>"
    )
}

/// Writes `count` pages `{stem}-{n}.html` titled `{title} {n}` with `body(n)` as their text, and
/// returns the links to them for an index page.
fn write_numbered_pages(
    dir: &std::path::Path, stem: &str, title: &str, count: usize, body: impl Fn(usize) -> String,
) -> String {
    let mut links = String::new();
    for n in 0..count {
        let html = page(&format!("{title} {n}"), &body(n));
        std::fs::write(dir.join(format!("{stem}-{n}.html")), html).unwrap();
        links.push_str(&format!(r#"<a href="{stem}-{n}.html">{n}</a> "#));
    }
    links
}

/// Writes the page a test looks for, `file`, and a home page that links it beside the pages
/// `links` already leads to: the crawl's start and the page's address.
fn write_home_beside(dir: &Path, mut links: String, file: &str, html: &str) -> (String, String) {
    std::fs::write(dir.join(file), html).unwrap();
    links.push_str(&format!(r#"<a href="{file}">{}</a>"#, file.trim_end_matches(".html")));
    std::fs::write(dir.join("index.html"), page("Home", &links)).unwrap();
    let address = |name: &str| url::Url::from_file_path(dir.join(name)).unwrap().to_string();
    (address("index.html"), address(file))
}

fn request(url: String, max_pages: Option<u32>) -> CrawlRequest {
    CrawlRequest {
        url,
        max_pages,
        max_depth: None,
        include: vec![],
        exclude: vec![],
        priority: None,
        schedule: None,
    }
}

/// Delivers every queued message once, returning them in delivery order.
async fn drain(platform: &Native) -> Vec<CrawlMessage> {
    let mut delivered = Vec::new();
    while let Some(message) = platform.queue().pop() {
        assert_eq!(crawl::consume(platform, &message).await, Delivery::Ack, "{message:?}");
        delivered.push(message);
    }
    delivered
}

async fn counts(platform: &Native, job: &str) -> (JobStatus, PageCounts) {
    let job = platform.store().job(job).await.unwrap().unwrap();
    (job.status, job.pages)
}

#[test]
fn redelivering_every_message_changes_nothing() {
    pollster::block_on(async {
        for p in natives("redeliver") {
            let job = crawl::start_job(&p, request(site_url("index.html"), None)).await.unwrap();
            let delivered = drain(&p).await;
            // Over file:// only the relative links lead anywhere: index → install,
            // guides/scheduling → guides/troubleshooting, configuration.
            assert_eq!(delivered.len(), 5);
            let before = counts(&p, &job.id).await;
            assert_eq!(before.0, JobStatus::Done);
            assert_eq!(before.1.indexed, 5);
            let index_before =
                (p.store().counts().await.unwrap(), p.store().index_version().await.unwrap());
            // At-least-once delivery: every message arrives a second time.
            for message in &delivered {
                assert_eq!(crawl::consume(&p, message).await, Delivery::Ack);
            }
            assert!(p.queue().pop().is_none(), "redelivery enqueued more work");
            assert_eq!(counts(&p, &job.id).await, before);
            assert_eq!(
                (p.store().counts().await.unwrap(), p.store().index_version().await.unwrap()),
                index_before
            );
        }
    });
}

#[test]
fn a_message_redelivered_after_indexing_but_before_finishing_counts_once() {
    pollster::block_on(async {
        for p in natives("half-done") {
            let job = crawl::start_job(&p, request(site_url("faq.html"), Some(1))).await.unwrap();
            let message = p.queue().pop().unwrap();
            // Simulate a consumer that indexed the page and died before recording the outcome:
            // index it under another job, then pretend this job's delivery is a retry.
            assert_eq!(crawl::consume(&p, &message).await, Delivery::Ack);
            assert_eq!(counts(&p, &job.id).await.1.indexed, 1);
            let second =
                crawl::start_job(&p, request(site_url("faq.html"), Some(1))).await.unwrap();
            let message = p.queue().pop().unwrap();
            assert_eq!(crawl::consume(&p, &message).await, Delivery::Ack);
            assert_eq!(
                counts(&p, &second.id).await.1,
                PageCounts { discovered: 1, fetched: 1, unchanged: 1, ..PageCounts::default() }
            );
        }
    });
}

#[test]
fn max_pages_is_never_exceeded_and_the_job_ends() {
    pollster::block_on(async {
        for p in natives("max-pages") {
            let job = crawl::start_job(&p, request(site_url("index.html"), Some(3))).await.unwrap();
            let delivered = drain(&p).await;
            let (status, pages) = counts(&p, &job.id).await;
            assert_eq!(status, JobStatus::Done);
            assert_eq!(pages.discovered, 3);
            assert_eq!(pages.indexed, 3);
            assert_eq!(p.store().counts().await.unwrap().documents, 3);
            let warnings = status_json(&p, &job.id).await["warnings"].clone();
            // What the limit left out is what a crawl without one finds beyond those three pages,
            // each URL once however many pages link to it.
            let whole = crawl::start_job(&p, request(site_url("index.html"), None)).await.unwrap();
            drain(&p).await;
            let (_, everything) = counts(&p, &whole.id).await;
            assert!(everything.discovered > 3, "{everything:?}");
            assert_eq!(everything.left_out, 0);
            assert_eq!(pages.left_out, everything.discovered - 3, "{pages:?}");
            assert_eq!(
                warnings[0],
                format!(
                    "stopped at max_pages (3): {} more URLs found on the site were not crawled; \
                     raise max_pages to include them",
                    pages.left_out
                )
            );
            assert_eq!(delivered.len(), 3);
        }
    });
}

/// The job as `GET /api/crawls/{id}` shows it.
async fn status_json(platform: &Native, job: &str) -> serde_json::Value {
    let response = crawl::status(platform, job).await.unwrap();
    let docent_functions::http::Body::Full(body) = response.into_body() else {
        panic!("the status is one JSON body")
    };
    serde_json::from_slice(&body).unwrap()
}

#[test]
fn globs_that_matched_no_url_are_reported_once_the_job_ends_and_redelivery_keeps_the_report() {
    pollster::block_on(async {
        for p in natives("glob-warnings") {
            let mut crawl_request = request(site_url("index.html"), None);
            crawl_request.include = vec!["**/*.html".into(), "*.pdf".into()];
            // guides/troubleshooting.html is linked from guides/scheduling.html.
            crawl_request.exclude = vec!["troubleshooting.html".into(), "no-such-page.html".into()];
            let job = crawl::start_job(&p, crawl_request).await.unwrap();
            assert_eq!(
                status_json(&p, &job.id).await["warnings"],
                serde_json::json!([]),
                "a running job may still match its globs"
            );
            let delivered = drain(&p).await;
            let expected = serde_json::json!([
                "include glob '*.pdf' matched no URL",
                "exclude glob 'no-such-page.html' matched no URL"
            ]);
            let status = status_json(&p, &job.id).await;
            assert_eq!(status["status"], "done");
            assert_eq!(status["pages"]["indexed"], 4, "troubleshooting.html was kept out");
            assert_eq!(status["warnings"], expected);
            for message in &delivered {
                assert_eq!(crawl::consume(&p, message).await, Delivery::Ack);
            }
            assert_eq!(status_json(&p, &job.id).await["warnings"], expected);
        }
    });
}

#[test]
fn recorded_glob_matches_merge_as_a_set() {
    pollster::block_on(async {
        for p in natives("glob-matches") {
            let set = |indices: &[usize]| {
                let mut matched = GlobMatches::default();
                indices.iter().for_each(|&i| matched.insert(i));
                matched
            };
            let store = p.store();
            assert_eq!(store.glob_matches("j").await.unwrap(), GlobMatches::default());
            // Two consumers, one of them delivered twice, in any order.
            store.record_glob_matches("j", set(&[0, 49])).await.unwrap();
            store.record_glob_matches("j", set(&[3])).await.unwrap();
            store.record_glob_matches("j", set(&[0, 49])).await.unwrap();
            store.record_glob_matches("j", GlobMatches::default()).await.unwrap();
            assert_eq!(store.glob_matches("j").await.unwrap(), set(&[0, 3, 49]));
            assert_eq!(store.glob_matches("other").await.unwrap(), GlobMatches::default());
        }
    });
}

#[test]
fn cancelled_jobs_stop_and_say_so() {
    pollster::block_on(async {
        for p in natives("cancel") {
            let job = crawl::start_job(&p, request(site_url("index.html"), None)).await.unwrap();
            let first = p.queue().pop().unwrap();
            assert_eq!(crawl::consume(&p, &first).await, Delivery::Ack);
            assert!(p.store().cancel_job(&job.id, 1).await.unwrap());
            assert!(!p.store().cancel_job(&job.id, 2).await.unwrap(), "a job is cancelled once");
            let remaining = drain(&p).await;
            assert_eq!(remaining.len(), 2, "the start page had enqueued its two relative links");
            let (status, pages) = counts(&p, &job.id).await;
            assert_eq!(status, JobStatus::Cancelled);
            assert_eq!((pages.indexed, pages.skipped, pages.discovered), (1, 2, 3));
            assert_eq!(
                p.store().counts().await.unwrap().documents,
                1,
                "nothing was fetched after cancelling"
            );
        }
    });
}

#[test]
fn dead_letters_fail_the_url_and_end_the_job() {
    pollster::block_on(async {
        for p in natives("dead-letter") {
            let job = crawl::start_job(&p, request(site_url("faq.html"), None)).await.unwrap();
            let message = p.queue().pop().unwrap();
            assert_eq!(crawl::dead_letter(&p, &message).await, Delivery::Ack);
            let (status, pages) = counts(&p, &job.id).await;
            assert_eq!(status, JobStatus::Failed, "a crawl whose every URL failed has failed");
            assert_eq!(pages.failed, 1);
            // The original message arriving late is ignored.
            assert_eq!(crawl::consume(&p, &message).await, Delivery::Ack);
            assert_eq!(counts(&p, &job.id).await.1.indexed, 0);
        }
    });
}

#[test]
fn missing_pages_fail_without_retrying() {
    pollster::block_on(async {
        for p in natives("missing") {
            let job =
                crawl::start_job(&p, request(site_url("no-such-page.html"), None)).await.unwrap();
            drain(&p).await;
            let (status, pages) = counts(&p, &job.id).await;
            assert_eq!(status, JobStatus::Failed);
            assert_eq!(pages.failed, 1);
        }
    });
}

#[test]
fn the_cron_sweep_finds_lost_messages() {
    pollster::block_on(async {
        for p in natives("sweep") {
            let job = crawl::start_job(&p, request(site_url("faq.html"), None)).await.unwrap();
            // The queue lost the start message.
            assert!(p.queue().pop().is_some());
            let (resumed, started) = crawl::on_schedule(&p, &[]).await.unwrap();
            assert_eq!((resumed, started), (0, 0), "a fresh URL is not stale yet");
            // Ten minutes later the sweep re-enqueues it, and only once.
            let later = docent_core::ports::Clock::now_ms(p.clock()) + 11 * 60 * 1000;
            let stale =
                p.store().take_stale_queued(later - 10 * 60 * 1000, 100, later).await.unwrap();
            assert_eq!(stale.len(), 1);
            assert!(p
                .store()
                .take_stale_queued(later - 10 * 60 * 1000, 100, later)
                .await
                .unwrap()
                .is_empty());
            p.queue().push(stale[0].clone());
            drain(&p).await;
            assert_eq!(counts(&p, &job.id).await.0, JobStatus::Done);
        }
    });
}

#[test]
fn scheduled_sources_start_when_due_and_never_twice_at_once() {
    pollster::block_on(async {
        for p in natives("sources") {
            let sources = format!(
                r#"[{{"url": "{}", "max_pages": 2, "schedule": "0 0 30 2 *"}}, {{"url": "{}", "max_pages": 1}}]"#,
                site_url("index.html"),
                site_url("faq.html")
            );
            let sources = crawl::parse_sources(Some(&sources)).unwrap();
            assert_eq!(
                crawl::on_schedule(&p, &sources).await.unwrap(),
                (0, 2),
                "sources never crawled start at once"
            );
            assert_eq!(crawl::on_schedule(&p, &sources).await.unwrap(), (0, 0), "already running");
            drain(&p).await;
            assert_eq!(
                crawl::on_schedule(&p, &sources).await.unwrap(),
                (0, 0),
                "finished, and no schedule matched since the last run"
            );
            // The last run was 61 minutes ago: the default hourly schedule matched since; "February
            // 30" never does.
            let an_hour_ago = docent_core::ports::Clock::now_ms(p.clock()) - 61 * 60 * 1000;
            p.kv().put("schedule:last-run", &an_hour_ago.to_string(), None).await.unwrap();
            assert_eq!(crawl::on_schedule(&p, &sources).await.unwrap(), (0, 1));
            let jobs = p.store().recent_jobs(10).await.unwrap();
            assert_eq!(jobs.iter().filter(|j| j.url == site_url("faq.html")).count(), 2);
            assert_eq!(jobs.iter().filter(|j| j.url == site_url("index.html")).count(), 1);
            assert!(crawl::parse_sources(Some("[{\"url\": 3}]"))
                .unwrap_err()
                .starts_with("DOCENT_CRAWL_SOURCES"));
            let bad = crawl::parse_sources(Some(
                r#"[{"url": "https://d.test/", "schedule": "every hour"}]"#,
            ))
            .unwrap_err();
            assert!(
                bad.starts_with("DOCENT_CRAWL_SOURCES[0].schedule: `every hour` needs five fields"),
                "{bad}"
            );
        }
    });
}

#[test]
fn a_job_that_progresses_slowly_is_not_swept() {
    pollster::block_on(async {
        for p in natives("slow") {
            let job = crawl::start_job(&p, request(site_url("index.html"), None)).await.unwrap();
            let before = docent_core::ports::Clock::now_ms(p.clock());
            std::thread::sleep(std::time::Duration::from_millis(5));
            let start = p.queue().pop().unwrap();
            assert_eq!(crawl::consume(&p, &start).await, Delivery::Ack);
            // The children wait in the queue, but the job finished a URL since `before`: not
            // stalled.
            assert!(p.store().take_stale_queued(before, 100, before).await.unwrap().is_empty());
            let after = docent_core::ports::Clock::now_ms(p.clock()) + 1;
            let stalled = p.store().take_stale_queued(after, 100, after).await.unwrap();
            assert!(
                stalled.len() > 1 && stalled.iter().all(|m| m.job == job.id && m.depth == 1),
                "{stalled:?}"
            );
        }
    });
}

#[test]
fn dead_letters_are_listed_and_replayed() {
    pollster::block_on(async {
        for p in natives("replay") {
            let job = crawl::start_job(&p, request(site_url("faq.html"), None)).await.unwrap();
            let message = p.queue().pop().unwrap();
            assert_eq!(p.store().record_failure(&message, "HTTP 503").await.unwrap(), 1);
            assert_eq!(p.store().record_failure(&message, "HTTP 502").await.unwrap(), 2);
            assert_eq!(crawl::dead_letter(&p, &message).await, Delivery::Ack);
            let letters = p.store().dead_letters(10).await.unwrap();
            assert_eq!(letters.len(), 1);
            assert_eq!(
                (letters[0].attempts, letters[0].reason.as_str(), letters[0].url.as_str()),
                (2, "HTTP 502", message.url.as_str())
            );
            assert_eq!(counts(&p, &job.id).await.0, JobStatus::Failed);
            // A second dead-lettering of the same message (redelivery) changes nothing.
            assert_eq!(crawl::dead_letter(&p, &message).await, Delivery::Ack);
            assert_eq!(p.store().dead_letters(10).await.unwrap().len(), 1);

            let replayed = p.store().replay_dead_letters(Some(&job.id), 5).await.unwrap();
            assert_eq!(replayed, vec![message.clone()]);
            assert!(p.store().dead_letters(10).await.unwrap().is_empty());
            assert_eq!(counts(&p, &job.id).await.0, JobStatus::Running, "the job runs again");
            p.queue().push(message);
            drain(&p).await;
            let (status, pages) = counts(&p, &job.id).await;
            assert_eq!((status, pages.indexed, pages.failed), (JobStatus::Done, 1, 0));
            assert!(p.store().replay_dead_letters(None, 6).await.unwrap().is_empty());
        }
    });
}

/// When a crawl ends, each page's links from the other pages are counted (a ranking signal), and
/// counted anew by the next crawl's end when the links change.
#[test]
fn a_crawls_end_counts_the_links_each_page_gets_from_the_others() {
    pollster::block_on(async {
        let dir = fresh_dir("inlinks-site");
        let start = url::Url::from_file_path(dir.join("index.html")).unwrap().to_string();
        for p in natives("inlinks") {
            let write = |name: &str, title: &str, body: &str| {
                std::fs::write(dir.join(name), page(title, body)).unwrap();
            };
            write(
                "index.html",
                "Home",
                r#"<a href="a.html">Anchors</a> <a href="b.html">Ballast</a>"#,
            );
            write(
                "a.html",
                "Anchors",
                r#"Anchors hold ships. <a href="b.html">Ballast</a> <a href="a.html">top</a>"#,
            );
            write("b.html", "Ballast", "Ballast keeps ships upright.");
            let inlinks = || async {
                let terms = docent_core::retrieval::search::query_terms("ships home");
                let hits = p.store().lexical_search(&terms, None, 20).await.unwrap();
                let of =
                    |name: &str| hits.iter().find(|h| h.url.contains(name)).map(|h| h.page.inlinks);
                (of("index.html"), of("/a.html"), of("/b.html"))
            };
            crawl::start_job(&p, request(start.clone(), None)).await.unwrap();
            drain(&p).await;
            // b.html from the home page and a.html; a.html from the home page (not from itself).
            assert_eq!(inlinks().await, (Some(0), Some(1), Some(2)));

            write("a.html", "Anchors", r#"Anchors hold ships. <a href="index.html">Home</a>"#);
            crawl::start_job(&p, request(start.clone(), None)).await.unwrap();
            drain(&p).await;
            assert_eq!(inlinks().await, (Some(1), Some(1), Some(1)));
        }
    });
}

#[test]
fn pages_no_longer_linked_leave_the_index_after_a_full_recrawl() {
    pollster::block_on(async {
        let dir = fresh_dir("prune-site");
        let start = url::Url::from_file_path(dir.join("index.html")).unwrap().to_string();
        for p in natives("prune") {
            std::fs::write(dir.join("a.html"), page("A", "Anchors hold ships in place.")).unwrap();
            std::fs::write(dir.join("b_old.html"), page("B", "Ballast keeps ships upright."))
                .unwrap();
            std::fs::write(
                dir.join("index.html"),
                page("Home", r#"<a href="a.html">A</a> <a href="b_old.html">B</a>"#),
            )
            .unwrap();
            crawl::start_job(&p, request(start.clone(), None)).await.unwrap();
            drain(&p).await;
            assert_eq!(p.store().counts().await.unwrap().documents, 3);
            let version = p.store().index_version().await.unwrap();

            // An unchanged full recrawl removes nothing and leaves the index version alone.
            crawl::start_job(&p, request(start.clone(), None)).await.unwrap();
            drain(&p).await;
            assert_eq!(p.store().counts().await.unwrap().documents, 3);
            assert_eq!(p.store().index_version().await.unwrap(), version);

            // b_old.html is no longer linked (it still exists): the next full crawl drops it.
            std::fs::write(dir.join("index.html"), page("Home", r#"<a href="a.html">A</a>"#))
                .unwrap();
            crawl::start_job(&p, request(start.clone(), None)).await.unwrap();
            drain(&p).await;
            assert_eq!(p.store().counts().await.unwrap().documents, 2);
            let hits = docent_functions::retrieve::retrieve(
                &p,
                "ballast upright",
                5,
                docent_functions::retrieve::SearchOptions::of(p.config()),
            )
            .await
            .unwrap();
            assert!(hits.is_empty(), "{hits:?}");

            // A capped crawl saw only part of the site, so it prunes nothing.
            std::fs::write(dir.join("index.html"), page("Home", "No links at all")).unwrap();
            crawl::start_job(&p, request(start.clone(), Some(1))).await.unwrap();
            drain(&p).await;
            assert_eq!(p.store().counts().await.unwrap().documents, 2);

            // Nor does a crawl stopped by its depth limit (the review's case: refreshing one page).
            std::fs::write(dir.join("index.html"), page("Home", r#"<a href="a.html">A</a>"#))
                .unwrap();
            let mut shallow = request(start.clone(), None);
            shallow.max_depth = Some(0);
            crawl::start_job(&p, shallow).await.unwrap();
            drain(&p).await;
            assert_eq!(p.store().counts().await.unwrap().documents, 2);

            // A page another job indexes while a full crawl runs is not pruned by it.
            std::fs::write(dir.join("c.html"), page("C", "Capstans haul anchors.")).unwrap();
            let full = crawl::start_job(&p, request(start.clone(), None)).await.unwrap();
            let first = p.queue().pop().unwrap();
            assert_eq!(crawl::consume(&p, &first).await, Delivery::Ack);
            std::thread::sleep(std::time::Duration::from_millis(5));
            crawl::start_job(
                &p,
                request(url::Url::from_file_path(dir.join("c.html")).unwrap().to_string(), Some(1)),
            )
            .await
            .unwrap();
            // Drain the single-page job first (it is queued behind the full crawl's work: take it
            // out).
            let mut later = Vec::new();
            while let Some(m) = p.queue().pop() {
                if m.job == full.id {
                    later.push(m)
                } else {
                    assert_eq!(crawl::consume(&p, &m).await, Delivery::Ack)
                }
            }
            for m in later {
                assert_eq!(crawl::consume(&p, &m).await, Delivery::Ack);
            }
            drain(&p).await;
            assert_eq!(counts(&p, &full.id).await.0, JobStatus::Done);
            assert_eq!(
                p.store().counts().await.unwrap().documents,
                3,
                "c.html, indexed during the full crawl, stays"
            );
        }
    });
}

#[test]
fn a_critical_crawl_overtakes_a_queued_bulk_crawl() {
    pollster::block_on(async {
        for p in natives("tiers") {
            let mut bulk = request(site_url("index.html"), None);
            bulk.priority = Some("low".into());
            let bulk = crawl::start_job(&p, bulk).await.unwrap();
            // The bulk crawl is under way: its start page has enqueued more low-priority work.
            let first = p.queue().pop().unwrap();
            assert_eq!(crawl::consume(&p, &first).await, Delivery::Ack);
            let mut urgent = request(site_url("faq.html"), None);
            urgent.priority = Some("critical".into());
            let urgent = crawl::start_job(&p, urgent).await.unwrap();
            let next = p.queue().pop().unwrap();
            assert_eq!(
                (next.job.as_str(), next.priority),
                (urgent.id.as_str(), Priority::Critical)
            );
            assert_eq!(crawl::consume(&p, &next).await, Delivery::Ack);
            assert_eq!(
                counts(&p, &urgent.id).await.0,
                JobStatus::Done,
                "done while the bulk crawl still waits"
            );
            assert_eq!(counts(&p, &bulk.id).await.0, JobStatus::Running);
            let rest = drain(&p).await;
            assert!(rest.iter().all(|m| m.priority == Priority::Low && m.job == bulk.id));
        }
    });
}

#[test]
fn an_index_from_before_a_migration_is_upgraded_in_place() {
    pollster::block_on(async {
        let dir = fresh_dir("migrate");
        let db = dir.join("index.db");
        // crawl_urls and crawl_jobs as the first release created them, with a queued URL in them.
        let old = rusqlite::Connection::open(&db).unwrap();
        old.execute_batch(
            "CREATE TABLE crawl_jobs (id TEXT PRIMARY KEY, start_url TEXT NOT NULL, status TEXT NOT NULL, priority TEXT NOT NULL,
               max_pages INTEGER NOT NULL, max_depth INTEGER NOT NULL, include_globs TEXT NOT NULL, exclude_globs TEXT NOT NULL,
               created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER);
             CREATE TABLE crawl_urls (job_id TEXT NOT NULL, url_key TEXT NOT NULL, url TEXT NOT NULL, depth INTEGER NOT NULL,
               parent_key TEXT, state TEXT NOT NULL, fetched INTEGER NOT NULL DEFAULT 0, detail TEXT, updated_at INTEGER NOT NULL,
               PRIMARY KEY (job_id, url_key));
             INSERT INTO crawl_jobs VALUES ('old', 'https://d.test/', 'running', 'normal', 10, 2, '[]', '[]', 1, 1, NULL);
             INSERT INTO crawl_urls VALUES ('old', 'k', 'https://d.test/', 0, NULL, 'queued', 0, NULL, 1);",
        )
        .unwrap();
        drop(old);
        let p = Native::open(sqlite(&db), test_config()).unwrap();
        assert_eq!(
            p.store().schema_version().await.unwrap(),
            docent_store::SQLITE_MIGRATIONS.len() as u64
        );
        // The old queued URL is readable with the new columns' defaults.
        let stale = p.store().take_stale_queued(2, 10, 3).await.unwrap();
        assert_eq!(stale, vec![CrawlMessage::new("old", "https://d.test/", 0, Priority::Normal)]);
        // Opening again applies nothing twice.
        drop(p);
        let p = Native::open(sqlite(&db), test_config()).unwrap();
        assert_eq!(
            p.store().schema_version().await.unwrap(),
            docent_store::SQLITE_MIGRATIONS.len() as u64
        );
    });
}

#[test]
fn chunks_carry_vectors_and_every_search_mode_answers() {
    use docent_core::config::SearchMode;
    use docent_functions::retrieve::{retrieve, SearchOptions};
    use docent_store::api::VectorStore;
    pollster::block_on(async {
        for p in natives("vectors") {
            let job = crawl::start_job(&p, request(site_url("index.html"), None)).await.unwrap();
            drain(&p).await;
            assert_eq!(counts(&p, &job.id).await.0, JobStatus::Done);
            let chunks = p.store().counts().await.unwrap().chunks;
            let model = docent_core::retrieval::embed::BUILTIN_MODEL;
            assert_eq!(
                p.store().vector_count(model).await.unwrap(),
                chunks,
                "one vector per chunk"
            );
            use docent_core::ports::SqlDatabase;
            if p.store().database().dialect() == docent_core::ports::SqlDialect::Postgres {
                // The crawl's end built the HNSW index its pages were written without.
                let indexes = p
                    .store()
                    .database()
                    .query(&docent_core::ports::Statement::new(
                        "SELECT indexname FROM pg_indexes WHERE indexname LIKE 'chunk_vectors_hnsw_%'",
                        vec![],
                    ))
                    .await
                    .unwrap();
                assert_eq!(indexes.len(), 1, "{indexes:?}");
            }
            let top = |mode, query: &'static str| {
                let p = &p;
                async move {
                    let hits = retrieve(p, query, 3, SearchOptions { mode, url_prefix: None })
                        .await
                        .unwrap();
                    hits.first().map(|h| h.url.clone()).unwrap_or_default()
                }
            };
            let expected = format!("{}#database-locked", site_url("guides/troubleshooting.html"));
            for mode in [SearchMode::Lexical, SearchMode::Vector, SearchMode::Hybrid] {
                assert_eq!(top(mode, "database is locked error").await, expected, "{mode:?}");
            }
            // Misspelled words match nothing lexically; read as the words one edit away, they still
            // reach the right page.
            assert_eq!(top(SearchMode::Lexical, "databse lokced").await, "");
            let page = site_url("guides/troubleshooting.html");
            assert!(top(SearchMode::Vector, "databse lokced").await.starts_with(&page));
            // A URL prefix keeps results inside one part of the site, in both rankings.
            let guides = site_url("guides/");
            for mode in [SearchMode::Lexical, SearchMode::Vector, SearchMode::Hybrid] {
                let hits = retrieve(
                    &p,
                    "install harbor and schedule jobs",
                    5,
                    SearchOptions { mode, url_prefix: Some(&guides) },
                )
                .await
                .unwrap();
                assert!(
                    !hits.is_empty() && hits.iter().all(|h| h.url.starts_with(&guides)),
                    "{mode:?}: {hits:?}"
                );
            }
            // Vectors leave with their chunks.
            let key = docent_core::domain::url_key(&site_url("install.html"));
            assert!(p.store().delete_document(&key).await.unwrap());
            let left = p.store().counts().await.unwrap().chunks;
            assert!(left < chunks);
            assert_eq!(p.store().vector_count(model).await.unwrap(), left);
        }
    });
}

#[test]
fn pages_with_thousands_of_links_are_followed_up_to_the_cap() {
    pollster::block_on(async {
        let dir = fresh_dir("fanout-site");
        // 1,200 links (more than one insert statement holds), the same again for a duplicate.
        let links: String = (0..1_200).map(|i| format!(r#"<a href="item-{i}.html">item {i}</a> <a href="item-{i}.html#again">again</a> "#)).collect();
        let start = url::Url::from_file_path(dir.join("index.html")).unwrap().to_string();
        for p in natives("fanout") {
            std::fs::write(dir.join("index.html"), page("API index", &links)).unwrap();
            let mut job = request(start.clone(), Some(700));
            job.max_depth = Some(1);
            let job = crawl::start_job(&p, job).await.unwrap();
            let start_message = p.queue().pop().unwrap();
            assert_eq!(crawl::consume(&p, &start_message).await, Delivery::Ack);
            // Exactly the page cap, each URL once, however many statements it took.
            assert_eq!(counts(&p, &job.id).await.1.discovered, 700);
            assert!(
                !p.store().was_truncated(&job.id).await.unwrap(),
                "1,200 links is within the per-page cap"
            );
            // URLs already recorded do not use room: with room for two, two new URLs get in even
            // behind five known ones.
            let parent = CrawlMessage::new(&job.id, &start, 0, Priority::Normal);
            let mut again: Vec<CrawlMessage> = (0..5)
                .map(|i| {
                    CrawlMessage::new(
                        &job.id,
                        &format!("{}item-{i}.html", start.trim_end_matches("index.html")),
                        1,
                        Priority::Normal,
                    )
                })
                .collect();
            again.extend((0..5).map(|i| {
                CrawlMessage::new(
                    &job.id,
                    &format!("{}new-{i}.html", start.trim_end_matches("index.html")),
                    1,
                    Priority::Normal,
                )
            }));
            p.store().add_discovered(&parent, &again, 702, 0).await.unwrap();
            assert_eq!(counts(&p, &job.id).await.1.discovered, 702);

            // Past the per-page cap the crawl cannot have seen everything, so it will not prune.
            while p.queue().pop().is_some() {}
            let links: String =
                (0..10_001).map(|i| format!(r#"<a href="x-{i}.html">x</a>"#)).collect();
            std::fs::write(dir.join("index.html"), page("Huge index", &links)).unwrap();
            let job = crawl::start_job(&p, request(start.clone(), Some(3))).await.unwrap();
            let start_message = p.queue().pop().unwrap();
            assert_eq!(crawl::consume(&p, &start_message).await, Delivery::Ack);
            assert!(p.store().was_truncated(&job.id).await.unwrap());
            assert_eq!(counts(&p, &job.id).await.1.discovered, 3);
        }
    });
}

#[test]
fn turning_embeddings_on_fills_in_vectors_for_unchanged_pages() {
    use docent_core::config::EmbeddingProvider;
    use docent_store::api::VectorStore;
    pollster::block_on(async {
        let dir = fresh_dir("backfill");
        let config = |embeddings| Config { embeddings, ..test_config() };
        let model = docent_core::retrieval::embed::BUILTIN_MODEL;
        {
            let p = Native::open(sqlite(&dir.join("index.db")), config(EmbeddingProvider::Off))
                .unwrap();
            crawl::start_job(&p, request(site_url("index.html"), None)).await.unwrap();
            drain(&p).await;
            assert_eq!(p.store().vector_count(model).await.unwrap(), 0);
        }
        let p = Native::open(sqlite(&dir.join("index.db")), config(EmbeddingProvider::Builtin))
            .unwrap();
        let version = p.store().index_version().await.unwrap();
        let job = crawl::start_job(&p, request(site_url("index.html"), None)).await.unwrap();
        drain(&p).await;
        let (_, pages) = counts(&p, &job.id).await;
        assert_eq!((pages.indexed, pages.unchanged), (0, 5), "nothing was rewritten");
        assert_eq!(p.store().index_version().await.unwrap(), version);
        assert_eq!(
            p.store().vector_count(model).await.unwrap(),
            p.store().counts().await.unwrap().chunks,
            "every chunk got its vector"
        );
    });
}

/// A `/rerank` endpoint for one test: answers each request with `answer(documents)` and records the
/// request bodies.
fn rerank_server(
    answer: fn(usize) -> (u16, String),
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let (status, reply) = answer(body["documents"].as_array().unwrap().len());
            record.lock().unwrap().push(body);
            let _ = write!(stream, "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}", reply.len());
        }
    });
    (base, seen)
}

#[test]
fn a_reranker_reorders_the_best_candidates_and_its_failure_changes_nothing() {
    use docent_core::config::{Reranker, RerankerKind};
    use docent_functions::retrieve::{retrieve, SearchOptions};
    pollster::block_on(async {
        let dir = fresh_dir("rerank");
        let db = dir.join("index.db");
        let plain = Native::open(sqlite(&db), test_config()).unwrap();
        crawl::start_job(&plain, request(site_url("index.html"), None)).await.unwrap();
        drain(&plain).await;
        let ids = |hits: Vec<docent_core::retrieval::search::SearchHit>| {
            hits.into_iter().map(|h| h.chunk_id).collect::<Vec<_>>()
        };
        let options =
            SearchOptions { mode: docent_core::config::SearchMode::Lexical, url_prefix: None };
        let fused = ids(retrieve(&plain, "harbor jobs", 4, options).await.unwrap());
        assert_eq!(fused.len(), 4);

        let with_reranker = |base_url: String| {
            let reranker = Reranker {
                kind: RerankerKind::Http { base_url, api_key: Some("rk".into()) },
                model: "rerank-test".into(),
                candidates: 4,
                timeout_ms: 5_000,
            };
            Native::open(sqlite(&db), Config { reranker: Some(reranker), ..test_config() }).unwrap()
        };
        // A reranker that prefers the last candidate most: the order is reversed.
        let (base, seen) = rerank_server(|n| {
            let results: Vec<serde_json::Value> = (0..n)
                .map(|i| serde_json::json!({"index": i, "relevance_score": i as f64}))
                .collect();
            (200, serde_json::json!({"results": results}).to_string())
        });
        let reranked =
            ids(retrieve(&with_reranker(base), "harbor jobs", 4, options).await.unwrap());
        let mut reversed = fused.clone();
        reversed.reverse();
        assert_eq!(reranked, reversed);
        let request = seen.lock().unwrap()[0].clone();
        assert_eq!(
            (request["model"].as_str(), request["query"].as_str()),
            (Some("rerank-test"), Some("harbor jobs"))
        );
        assert_eq!(request["documents"].as_array().unwrap().len(), 4, "the four best candidates");
        // A failing reranker leaves the fused order.
        let (base, _) = rerank_server(|_| (500, "{}".into()));
        assert_eq!(
            ids(retrieve(&with_reranker(base), "harbor jobs", 4, options).await.unwrap()),
            fused
        );
        let (base, _) = rerank_server(|_| (200, "not json".into()));
        assert_eq!(
            ids(retrieve(&with_reranker(base), "harbor jobs", 4, options).await.unwrap()),
            fused
        );
    });
}

/// An index written before the store kept sign-bit centres has its vectors' bits about 0; the
/// cron centres them once (on SQLite: Postgres compares the vectors themselves).
#[test]
fn the_cron_centres_vectors_stored_before_centres() {
    use docent_core::ports::{SqlDatabase, SqlDialect, Statement};
    use docent_core::retrieval::embed::QuantizedVector;
    pollster::block_on(async {
        for p in natives("centres") {
            crawl::start_job(&p, request(site_url("index.html"), Some(3))).await.unwrap();
            drain(&p).await;
            let db = p.store().database();
            if db.dialect() == SqlDialect::Postgres {
                assert!(p.store().centre_vectors().await.unwrap().is_empty());
                continue;
            }
            // Five chunks' vectors of a model sharing one direction, written as before centres.
            let ids = db.query(&Statement::new("SELECT id FROM chunks LIMIT 5", vec![])).await;
            let ids: Vec<String> =
                ids.unwrap().iter().map(|r| r[0].as_str().unwrap().to_string()).collect();
            assert_eq!(ids.len(), 5);
            let values = |i: usize| -> Vec<f32> {
                (0..8).map(|d| 1.0 + 0.1 * ((i + d) % 3) as f32).collect()
            };
            let writes: Vec<Statement> = ids
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    let (bits, int8) = QuantizedVector::new(&values(i)).encode();
                    Statement::new(
                        "INSERT OR REPLACE INTO chunk_vectors (chunk_id, url_key, model, bits, int8)
                         SELECT id, url_key, 'a-real-model', ?2, ?3 FROM chunks WHERE id = ?1",
                        vec![id.as_str().into(), bits.into(), int8.into()],
                    )
                })
                .collect();
            db.batch(&writes).await.unwrap();
            crawl::on_schedule(&p, &[]).await.unwrap();
            let centre = db
                .query(&Statement::new(
                    "SELECT centre FROM vector_centres WHERE model = 'a-real-model'",
                    vec![],
                ))
                .await
                .unwrap();
            let centre: Vec<f32> = serde_json::from_str(centre[0][0].as_str().unwrap()).unwrap();
            for (i, id) in ids.iter().enumerate() {
                let stored = db
                    .query(&Statement::new(
                        "SELECT bits, int8 FROM chunk_vectors WHERE chunk_id = ?1",
                        vec![id.as_str().into()],
                    ))
                    .await
                    .unwrap();
                let int8 = stored[0][1].as_str().unwrap();
                let decoded = QuantizedVector::decode_values(int8).unwrap();
                let expected = QuantizedVector::centred(&decoded, Some(&centre)).encode().0;
                assert_eq!(stored[0][0].as_str().unwrap(), expected);
                assert_ne!(
                    expected,
                    QuantizedVector::new(&values(i)).encode().0,
                    "all signs were +"
                );
            }
            assert!(p.store().centre_vectors().await.unwrap().is_empty(), "once");
        }
    });
}

#[test]
fn a_setting_is_found_at_its_definition_behind_a_hundred_pages_that_mention_it() {
    use docent_core::config::SearchMode;
    use docent_core::retrieval::search::query_terms;
    use docent_functions::retrieve::{retrieve, SearchOptions};
    pollster::block_on(async {
        let dir = fresh_dir("named-setting");
        // Pages about other things, so that the setting's words are rare enough to weigh.
        let mut links = write_numbered_pages(&dir, "crew", "Crew", 300, |n| {
            format!("Crew {n} hoists the sails and coils the ropes before the tide.")
        });
        links += &write_numbered_pages(&dir, "runner", "Runner", 110, |n| {
            format!(
                "Raise harbor_queue_depth, a configuration parameter, when runner {n} backs up; \
                 the scheduler reads it when it starts, so restart it after changing it. Runners report their backlog each minute in the log, with \
                 the name of the job at the head of the line, how long it has waited, which \
                 worker last picked it up and why it was put back. Read the log from the \
                 bottom: the newest lines come last, and a runner that stopped reporting has \
                 either finished its work or lost its connection to the scheduler. A runner \
                 that lost its connection tries again after a pause that doubles each time, up \
                 to a minute, and its jobs go back to the line for another runner to take; \
                 nothing is lost, but the line grows while it is away, which is when the \
                 depth matters most."
            )
        });
        let settings = "<html><head><title>Scheduler settings</title></head><body><main>\
            <h1>Scheduler settings</h1><dl><dt><code>harbor_queue_depth</code> (<code>integer</code>)</dt>\
            <dd><p>Sets how many jobs wait in line before new ones are refused. The default is 64.</p>\
            </dd></dl></main></body></html>";
        let (start, definition) = write_home_beside(&dir, links, "settings.html", settings);
        for p in natives("named-setting") {
            crawl::start_job(&p, request(start.clone(), None)).await.unwrap();
            drain(&p).await;
            let query = "harbor_queue_depth configuration parameter";
            // On SQLite the whole query's hundred best passages are the pages that mention the
            // setting with those words; the definition, which has neither, is not among them.
            // (Postgres's BM25 over its own stemmed words ranks it within the hundred.)
            use docent_core::ports::{SqlDatabase, SqlDialect};
            if p.store().database().dialect() == SqlDialect::Sqlite {
                let terms = query_terms(query);
                let candidates = docent_core::retrieval::pages::CANDIDATES;
                let lexical = p.store().lexical_search(&terms, None, candidates).await.unwrap();
                assert_eq!(lexical.len(), candidates as usize);
                assert!(lexical.iter().all(|hit| !hit.url.starts_with(&definition)));
            }
            let options = SearchOptions { mode: SearchMode::Lexical, url_prefix: None };
            let hits = retrieve(&p, query, 5, options).await.unwrap();
            assert!(hits[0].url.starts_with(&definition), "{:?}", hits[0].url);
            // Hybrid fuses the name's own ranking with the others: the pages that mention the name
            // are in all three and stay ahead (the definition is 20th on SQLite), but the definition,
            // in none of the whole query's rankings, is found at all.
            let options = SearchOptions { mode: SearchMode::Hybrid, url_prefix: None };
            let hits = retrieve(&p, query, 30, options).await.unwrap();
            assert!(hits.iter().any(|hit| hit.url.starts_with(&definition)), "{hits:?}");
        }
    });
}

#[test]
fn a_name_of_common_words_is_found_at_its_entry_behind_passages_with_the_questions_other_words() {
    use docent_core::config::SearchMode;
    use docent_functions::retrieve::{retrieve, SearchOptions};
    pollster::block_on(async {
        let dir = fresh_dir("common-name");
        // The name's words are in every page, as "user" and "name" are in git's manual.
        let mut links = write_numbered_pages(&dir, "crew", "Crew", 300, |n| {
            format!("Crew {n} signs each sail with a user name before the tide.")
        });
        // Passages that say the question's other word with the name's words, and some that write
        // the name in passing: all rank above the entry by the question's words.
        links += &write_numbered_pages(&dir, "runner", "Runner", 60, |n| {
            format!(
                "Put the user name of runner {n} in its badge, and put the name of each user \
                 who joins the harbor crew in the roster."
            )
        });
        links += &write_numbered_pages(&dir, "commit", "Commit", 10, |n| {
            format!("Entry {n} records its author from `user.name` when it is written.")
        });
        let settings = "<html><head><title>Settings</title></head><body><main>\
            <h1>Settings</h1><dl><dt>harbor.depth</dt><dd><p>How many jobs wait in line.</p></dd>\
            <dt>user.name</dt><dt>user.email</dt><dd><p>The identity recorded with each entry \
            of the log.</p></dd></dl></main></body></html>";
        let (start, entry) = write_home_beside(&dir, links, "settings.html", settings);
        for p in natives("common-name") {
            crawl::start_job(&p, request(start.clone(), None)).await.unwrap();
            drain(&p).await;
            let query = "What should I put in `user.name`?";
            for mode in [SearchMode::Lexical, SearchMode::Auto] {
                let options = SearchOptions { mode, url_prefix: None };
                let hits = retrieve(&p, query, 5, options).await.unwrap();
                assert!(hits[0].url.starts_with(&entry), "{mode:?}: {:?}", hits[0].url);
            }
        }
    });
}

#[test]
fn a_document_cited_by_number_is_found_where_it_is_cited_behind_the_querys_other_words() {
    use docent_core::config::SearchMode;
    use docent_core::retrieval::search::query_terms;
    use docent_functions::retrieve::{retrieve, SearchOptions};
    pollster::block_on(async {
        let dir = fresh_dir("cited-number");
        let mut links = write_numbered_pages(&dir, "crew", "Crew", 300, |n| {
            format!("Crew {n} hoists the sails and coils the ropes before the tide.")
        });
        // Pages that say the query's other words, each citing another proposal, all of release 11
        // (so `11` is in each of them, as 3.11 is in every page of Python 3.11's manual).
        links += &write_numbered_pages(&dir, "proposal", "Proposal", 120, |n| {
            format!(
                "The Harbor Enhancement Proposals for release 11 include HEP {}, which the \
                 Harbor Enhancement Proposals board accepted for release 11.",
                200 + n
            )
        });
        let cited = "<html><head><title>Platforms</title></head><body><main>\
            <h1>Platforms</h1><p>Systems whose vendor no longer supports them are dropped in the \
            next release, as HEP 11 describes.</p></main></body></html>";
        let (start, platforms) = write_home_beside(&dir, links, "platforms.html", cited);
        for p in natives("cited-number") {
            crawl::start_job(&p, request(start.clone(), None)).await.unwrap();
            drain(&p).await;
            let query = "Harbor Enhancement Proposals HEP 11";
            let terms = query_terms(query);
            let candidates = docent_core::retrieval::pages::CANDIDATES;
            let lexical = p.store().lexical_search(&terms, None, candidates).await.unwrap();
            assert!(lexical.iter().all(|hit| !hit.url.starts_with(&platforms)));
            for mode in [SearchMode::Lexical, SearchMode::Auto] {
                let options = SearchOptions { mode, url_prefix: None };
                let hits = retrieve(&p, query, 5, options).await.unwrap();
                assert!(hits[0].url.starts_with(&platforms), "{mode:?}: {:?}", hits[0].url);
            }
        }
    });
}

#[test]
fn a_common_word_asked_what_it_is_is_found_at_its_glossary_entry_behind_the_pages_that_use_it() {
    use docent_core::config::SearchMode;
    use docent_core::retrieval::search::query_terms;
    use docent_functions::retrieve::{retrieve, SearchOptions};
    pollster::block_on(async {
        let dir = fresh_dir("glossary-entry");
        // Reference pages that say "method" and "decorator" over and over, as a manual does.
        let links = write_numbered_pages(&dir, "api", "Api", 150, |n| {
            format!(
                "The method {n} of this class calls the method before it; a decorator wraps \
                 the method, and the decorator's method returns the method's result."
            )
        });
        // One glossary of many entries, each term on its line (one capitalised, as some
        // glossaries write them), which says each word once.
        let mut entries = String::new();
        for (term, text) in [
            ("attribute", "A value associated with an object which is referenced by name."),
            ("class", "A template for creating user-defined objects of one kind."),
            ("Decorator", "A function returning another function, applied with the @ syntax."),
            ("generator", "A function which returns an iterator over the values it yields."),
            (
                "method",
                "A function which is defined inside a class body and called on its instances.",
            ),
            ("module", "An object that serves as an organizational unit of code."),
        ] {
            entries.push_str(&format!("<dt>{term}</dt><dd><p>{text}</p></dd>"));
        }
        let glossary = format!(
            "<html><head><title>Glossary</title></head><body><main><h1>Glossary</h1>\
             <dl>{entries}</dl></main></body></html>"
        );
        let (start, glossary) = write_home_beside(&dir, links, "glossary.html", &glossary);
        for p in natives("glossary-entry") {
            crawl::start_job(&p, request(start.clone(), None)).await.unwrap();
            drain(&p).await;
            for (word, query, definition) in [
                ("method", "What is a method?", "defined inside a class body"),
                ("decorator", "What is a decorator?", "applied with the @ syntax"),
            ] {
                // The word's own ranking holds the reference pages first.
                let lexical =
                    p.store().lexical_search(&query_terms(word), None, 100).await.unwrap();
                assert!(lexical.iter().all(|hit| !hit.url.starts_with(&glossary)), "{word}");
                let options = SearchOptions { mode: SearchMode::Lexical, url_prefix: None };
                let hits = retrieve(&p, query, 5, options).await.unwrap();
                assert!(hits[0].url.starts_with(&glossary), "{query}: {:?}", hits[0]);
                // Hybrid fuses the entry as a list of its own, which the glossary, far in meaning
                // from the question, tops alone: with its definition's weight it scores as a page
                // first in both other lists, and ties with it.
                let options = SearchOptions { mode: SearchMode::Hybrid, url_prefix: None };
                let hits = retrieve(&p, query, 5, options).await.unwrap();
                let first_two = &hits[..2];
                assert!(
                    first_two.iter().any(|h| h.url.starts_with(&glossary)),
                    "{query}: {hits:?}"
                );
                // The answer quotes the entry's definition.
                let answer = docent_functions::chat::answer(&p, query).await.unwrap();
                assert!(answer.text.contains(definition), "{query}: {}", answer.text);
            }
            // Two compared: both entries, from the glossary found first.
            let query = "method vs decorator";
            let options = SearchOptions { mode: SearchMode::Lexical, url_prefix: None };
            let hits = retrieve(&p, query, 5, options).await.unwrap();
            assert!(hits[0].url.starts_with(&glossary), "{query}: {:?}", hits[0]);
            let answer = docent_functions::chat::answer(&p, query).await.unwrap();
            for definition in ["defined inside a class body", "applied with the @ syntax"] {
                assert!(answer.text.contains(definition), "{query}: {}", answer.text);
            }
        }
    });
}

#[test]
fn an_option_of_one_letter_is_found_at_its_entry_behind_the_pages_that_use_the_letter() {
    use docent_core::config::SearchMode;
    use docent_core::retrieval::search::query_terms;
    use docent_functions::retrieve::{retrieve, SearchOptions};
    pollster::block_on(async {
        let dir = fresh_dir("one-letter-option");
        // Plotting pages where `x` is a variable over and over, as in a numerical manual.
        let links = write_numbered_pages(&dir, "plot", "Plot", 150, |n| {
            format!("Plot {n} draws y against x: x is the axis, and x the data it reads.")
        });
        let options = "<html><head><title>Command line options</title></head><body><main>\
            <h1>Command line options</h1><p>Here is a complete list of the options the program \
            accepts when it starts, each with what it changes in the session that follows.</p>\
            <dl><dt><code>--debug</code></dt><dt><code>-d</code></dt><dd><p>Enter parser \
            debugging mode.</p></dd><dt><code>--echo-commands</code></dt><dt><code>-x</code></dt>\
            <dd><p>Echo commands as they are executed.</p></dd></dl></main></body></html>";
        let (start, entry) = write_home_beside(&dir, links, "options.html", options);
        for p in natives("one-letter-option") {
            crawl::start_job(&p, request(start.clone(), None)).await.unwrap();
            drain(&p).await;
            // The letter's own ranking holds the hundred plotting pages first.
            let lexical = p.store().lexical_search(&query_terms("-x"), None, 100).await.unwrap();
            assert!(lexical.iter().take(100).all(|hit| !hit.url.starts_with(&entry)));
            for query in ["-x", "What does the -x option do?"] {
                for mode in [SearchMode::Lexical, SearchMode::Hybrid] {
                    let options = SearchOptions { mode, url_prefix: None };
                    let hits = retrieve(&p, query, 5, options).await.unwrap();
                    assert!(hits[0].url.starts_with(&entry), "{query} {mode:?}: {:?}", hits[0].url);
                }
            }
            // The answer quotes the entry and its description.
            let answer = docent_functions::chat::answer(&p, "What does -x do?").await.unwrap();
            assert!(answer.text.contains("Echo commands as they are executed."), "{}", answer.text);
        }
    });
}

#[test]
fn a_page_served_under_two_addresses_is_indexed_once() {
    pollster::block_on(async {
        let dir = fresh_dir("two-addresses-site");
        let start = url::Url::from_file_path(dir.join("index.html")).unwrap().to_string();
        let guide = page("Guide", "Anchors hold ships in place.");
        for sub in ["guide", "v2/guide"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
            std::fs::write(dir.join(sub).join("index.html"), &guide).unwrap();
        }
        std::fs::write(dir.join("a.html"), page("A", "Ballast keeps ships upright.")).unwrap();
        std::fs::write(
            dir.join("index.html"),
            page(
                "Home",
                r#"<a href="guide/">Guide</a> <a href="guide/index.html">Guide</a>
                   <a href="v2/guide/index.html">Guide 2</a> <a href="a.html">A</a>
                   <a href="b.html">B</a>"#,
            ),
        )
        .unwrap();
        for p in natives("two-addresses") {
            // Each store's crawl starts from the same site (the last one changed b.html).
            std::fs::write(dir.join("b.html"), page("B", "Keels steady ships.")).unwrap();
            let job = crawl::start_job(&p, request(start.clone(), None)).await.unwrap();
            drain(&p).await;
            // The home page, the guide once, its copy in another directory, a.html and b.html.
            assert_eq!(p.store().counts().await.unwrap().documents, 5);
            let skipped = p.store().not_indexed(&job.id, 10).await.unwrap();
            assert_eq!(skipped.len(), 1, "{skipped:?}");
            assert!(skipped[0].reason.starts_with("same text as file://"), "{skipped:?}");
            assert!(skipped[0].url.contains("/guide/"), "{skipped:?}");

            // b.html now says what a.html says: its earlier text leaves the index.
            std::fs::write(dir.join("b.html"), page("A", "Ballast keeps ships upright.")).unwrap();
            // Only b.html is fetched (a crawl of one page prunes nothing).
            let b = url::Url::from_file_path(dir.join("b.html")).unwrap().to_string();
            crawl::start_job(&p, CrawlRequest { max_depth: Some(0), ..request(b, None) })
                .await
                .unwrap();
            drain(&p).await;
            let terms = docent_core::retrieval::search::query_terms("keels ballast");
            let hits = p.store().lexical_search(&terms, None, 10).await.unwrap();
            let pages: Vec<&str> = hits.iter().map(|h| h.url.as_str()).collect();
            assert_eq!(pages.len(), 1, "{pages:?}");
            assert!(pages[0].ends_with("/a.html"), "{pages:?}");
        }
    });
}
