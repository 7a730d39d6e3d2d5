//! What the store's test suites share: opening a test database of either dialect, a clock, and the
//! fixture site indexed without the crawl function (the core's page decisions and the built-in
//! embedder, as the crawl function applies them).

// Each test file uses a part of this module.
#![allow(dead_code, unused_imports)]

use std::collections::{HashSet, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use docent_core::config::Config;
use docent_core::crawl::decide::{decide, IndexChange, PageDecision};
use docent_core::crawl::fetch::CrawlSettings;
use docent_core::crawl::outbound::OutboundPolicy;
use docent_core::domain::{
    ChunkVector, CrawlJob, CrawlMessage, IndexedChunk, IndexedDocument, JobStatus, PageCounts,
    Priority,
};
use docent_core::ports::{Clock, FetchResponse, StoreDatabase};
use docent_core::retrieval::embed::{builtin_embed, BUILTIN_MODEL};
use docent_postgres::blocking::Postgres;
use docent_sqlite::Sqlite;
use docent_store::api::DocumentStore;
use docent_store::SqlStore;

pub use docent_postgres::testing::{fresh_postgres_database, test_databases, TestDir};

/// A test database: a SQLite file, or Postgres for `postgres://` URLs.
pub type Database = StoreDatabase<Sqlite, Postgres>;

pub fn open(location: &str) -> Database {
    if location.starts_with("postgres://") {
        StoreDatabase::Postgres(Postgres::connect(location).unwrap())
    } else {
        StoreDatabase::Sqlite(Sqlite::open(Path::new(location)).unwrap())
    }
}

/// The store on `location`, its schema created.
pub fn store(location: &str) -> SqlStore<Database> {
    let store = SqlStore::new(open(location));
    pollster::block_on(store.ensure_schema()).unwrap();
    store
}

/// A clock stopped at one instant, with ids from a process-wide counter: the store's tests need
/// unique lease and task ids, not the time of day (nothing here waits for time to pass).
pub struct StoppedClock;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Clock for StoppedClock {
    fn now_ms(&self) -> u64 {
        1_767_225_600_000 // 2026-01-01T00:00:00Z
    }
    fn random_bytes(&self, buf: &mut [u8]) {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed).to_le_bytes();
        for (byte, value) in buf.iter_mut().zip(id.iter().cycle()) {
            *byte = *value;
        }
    }
    async fn sleep(&self, _ms: u64) {}
}

/// Indexes `tests/fixtures/site` as a crawl of its start page does: every page reachable by links,
/// each chunk with its built-in embedding.
pub fn index_fixture_site(store: &SqlStore<Database>) {
    let config = Config::default();
    let settings = CrawlSettings {
        user_agent: config.user_agent.clone(),
        max_page_bytes: config.max_page_bytes,
        outbound: OutboundPolicy { allow_private_hosts: true, allow_file_urls: true },
        chunking: config.chunking,
    };
    let root = Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("../../tests/fixtures/site")
        .canonicalize()
        .unwrap();
    let start = url::Url::from_file_path(root.join("index.html")).unwrap().to_string();
    let job = CrawlJob {
        id: "fixture".into(),
        url: start.clone(),
        status: JobStatus::Running,
        priority: Priority::Normal,
        max_pages: config.default_max_pages,
        max_depth: config.default_max_depth,
        include: vec![],
        exclude: vec![],
        pages: PageCounts::default(),
        blocked_by_robots: 0,
        created_at: String::new(),
        started_at: None,
        finished_at: None,
    };
    let mut queue = VecDeque::from([CrawlMessage::new(&job.id, &start, 0, job.priority)]);
    let mut seen: HashSet<String> = queue.iter().map(CrawlMessage::url_key).collect();
    let mut indexed = 0;
    pollster::block_on(async {
        while let Some(message) = queue.pop_front() {
            let response = read_file(&message.url);
            let PageDecision::Finished { change, discovered, .. } =
                decide(&job, &message, &response, None, &settings, 0)
            else {
                panic!("{} asked for a retry", message.url)
            };
            if let IndexChange::Upsert(mut document) = change {
                embed_chunks(&mut document);
                store.upsert_document(&document).await.unwrap();
                indexed += 1;
            }
            queue.extend(discovered.into_iter().filter(|m| seen.insert(m.url_key())));
        }
    });
    assert!(indexed > 3, "the fixture site has pages: {indexed}");
}

/// The built-in embedding of every chunk, of the text the crawl function embeds (docent-functions'
/// `embeddings::chunk_text`: the page title and section heading give the text its context).
fn embed_chunks(document: &mut IndexedDocument) {
    for chunk in &mut document.chunks {
        let text = if chunk.heading.is_empty() || chunk.heading == document.title {
            format!("{}\n{}", document.title, chunk.text)
        } else {
            format!("{} — {}\n{}", document.title, chunk.heading, chunk.text)
        };
        chunk.vector =
            Some(ChunkVector { model: BUILTIN_MODEL.into(), values: builtin_embed(&text) });
    }
}

/// A page at `url` (key `key`, title "Page {key}") written by the job `job`, with these chunks.
pub fn document(key: &str, url: &str, chunks: Vec<IndexedChunk>) -> IndexedDocument {
    IndexedDocument {
        url_key: key.into(),
        url: url.into(),
        title: format!("Page {key}"),
        lang: None,
        content_hash: format!("hash-{key}"),
        etag: None,
        last_modified: None,
        job_id: "job".into(),
        indexed_at_ms: 1_000,
        links: vec![],
        links_capped: false,
        signals: Default::default(),
        chunks,
    }
}

/// A `file://` URL answered as a static file server would.
fn read_file(url: &str) -> FetchResponse {
    let path = url::Url::parse(url).unwrap().to_file_path().unwrap();
    let path = if path.is_dir() { path.join("index.html") } else { path };
    let (status, body) = match std::fs::read(&path) {
        Ok(body) => (200, body),
        Err(_) => (404, Vec::new()),
    };
    let content_type = match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css",
        _ => "application/octet-stream",
    };
    FetchResponse {
        status,
        url: url.to_string(),
        headers: vec![("Content-Type".into(), content_type.into())],
        body,
        truncated: false,
    }
}
