//! The native shell: Docent's ports on rusqlite or Postgres, an in-memory queue and KV, the file
//! system and ureq. It exists so the same functions can run offline (`docent index`, `docent
//! search`) and be measured, on either store.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::io::Read;
use std::path::{Path, PathBuf};

use docent_core::config::Config;
use docent_core::crawl::politeness::{Admission, HostGate, HostLimits};
use docent_core::domain::{CrawlMessage, Priority};
use docent_core::ports::{
    ByteStream, Clock, CrawlQueue, FetchGate, FetchRequest, FetchResponse, Fetcher, KeyValue,
    NoModelRuntime, PortError, PortResult, StoreDatabase, StreamingResponse,
};
use docent_functions::Platform;
use docent_store::SqlStore;

/// Postgres over TCP, blocking on its own runtime (`docent-postgres`).
pub use docent_postgres::blocking::Postgres;
/// SQLite through rusqlite (`docent-sqlite`).
pub use docent_sqlite::Sqlite;

/// Docent on this machine: what `docent index` and the native tests run. Cloning shares the parts.
#[derive(Clone)]
pub struct Native(std::rc::Rc<NativeParts>);

impl std::ops::Deref for Native {
    type Target = NativeParts;
    fn deref(&self) -> &NativeParts {
        &self.0
    }
}

pub struct NativeParts {
    pub config: Config,
    pub kv: MemoryKv,
    pub queue: MemoryQueue,
    pub store: SqlStore<Database>,
    pub fetcher: NativeFetcher,
    pub clock: SystemClock,
    pub gate: MemoryGate,
    pub models: NoModelRuntime,
    pub recorder: docent_functions::ops::Recorder,
}

impl Native {
    /// Docent on `database`, whose schema is created or migrated first.
    pub fn open(database: Database, config: Config) -> Result<Self, String> {
        config.vector_store.require_sql("the docent command")?;
        let store = SqlStore::new(database);
        pollster::block_on(store.ensure_schema())
            .map_err(|e| format!("creating the index schema: {e}"))?;
        let fetcher = NativeFetcher::new(&config.user_agent, config.fetch_timeout_seconds);
        Ok(Native(std::rc::Rc::new(NativeParts {
            config,
            kv: MemoryKv::default(),
            queue: MemoryQueue::default(),
            store,
            fetcher,
            clock: SystemClock,
            gate: MemoryGate::default(),
            models: NoModelRuntime,
            recorder: Default::default(),
        })))
    }
}

impl Platform for Native {
    type Kv = MemoryKv;
    type Queue = MemoryQueue;
    type Store = SqlStore<Database>;
    type Fetch = NativeFetcher;
    type Clock = SystemClock;
    type Gate = MemoryGate;
    type Models = NoModelRuntime;

    fn config(&self) -> &Config {
        &self.config
    }
    fn kv(&self) -> &MemoryKv {
        &self.kv
    }
    fn queue(&self) -> &MemoryQueue {
        &self.queue
    }
    fn store(&self) -> &SqlStore<Database> {
        &self.store
    }
    fn fetcher(&self) -> &NativeFetcher {
        &self.fetcher
    }
    fn clock(&self) -> &SystemClock {
        &self.clock
    }
    fn gate(&self) -> &MemoryGate {
        &self.gate
    }
    fn models(&self) -> &NoModelRuntime {
        &self.models
    }
    fn recorder(&self) -> &docent_functions::ops::Recorder {
        &self.recorder
    }
    fn log(&self, record: &serde_json::Value) {
        eprintln!("{record}");
    }
    fn name(&self) -> &'static str {
        "native"
    }
    fn setting(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
    /// The CLI serves no HTTP: requests come from its own commands.
    fn client_address(&self, _request: &docent_functions::http::Request) -> Option<String> {
        None
    }
}

/// The store's database: a SQLite file, or Postgres for `postgres://` URLs.
pub type Database = StoreDatabase<Sqlite, Postgres>;

/// Opens `location`: a file path, or a `postgres://` / `postgresql://` connection URL.
pub fn open_database(location: &str) -> Result<Database, String> {
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        Postgres::connect(location).map(StoreDatabase::Postgres)
    } else {
        Sqlite::open(Path::new(location)).map(StoreDatabase::Sqlite)
    }
}

/// An in-memory queue with one FIFO per priority tier, drained highest tier first, as the Worker's
/// four queues are by their consumers. Delayed messages wait aside until they are due.
#[derive(Default)]
pub struct MemoryQueue {
    ready: RefCell<[VecDeque<CrawlMessage>; 4]>,
    /// (due at, message) of messages sent with a delay.
    later: RefCell<Vec<(u64, CrawlMessage)>>,
}

impl MemoryQueue {
    /// The next message; when only delayed ones are left, sleeps until the first is due.
    pub fn pop(&self) -> Option<CrawlMessage> {
        loop {
            let now = SystemClock.now_ms();
            let due: Vec<CrawlMessage> = {
                let mut later = self.later.borrow_mut();
                let (due, waiting): (Vec<_>, Vec<_>) =
                    later.drain(..).partition(|(at, _)| *at <= now);
                *later = waiting;
                due.into_iter().map(|(_, m)| m).collect()
            };
            due.into_iter().for_each(|m| self.push(m));
            if let Some(message) = self.ready.borrow_mut().iter_mut().find_map(VecDeque::pop_front)
            {
                return Some(message);
            }
            let first_due = self.later.borrow().iter().map(|(at, _)| *at).min()?;
            std::thread::sleep(std::time::Duration::from_millis(first_due.saturating_sub(now)));
        }
    }
    /// Messages sent with a delay that are not yet due, with the seconds until each is.
    pub fn delayed(&self) -> Vec<(CrawlMessage, u64)> {
        let now = SystemClock.now_ms();
        self.later
            .borrow()
            .iter()
            .map(|(at, m)| (m.clone(), at.saturating_sub(now).div_ceil(1000)))
            .collect()
    }
    pub fn push(&self, message: CrawlMessage) {
        let tier = Priority::ALL.iter().position(|p| *p == message.priority).unwrap_or(2);
        self.ready.borrow_mut()[tier].push_back(message);
    }
}

impl CrawlQueue for MemoryQueue {
    async fn send_batch(&self, messages: &[CrawlMessage]) -> PortResult<()> {
        messages.iter().cloned().for_each(|m| self.push(m));
        Ok(())
    }
    async fn send_later(&self, messages: &[CrawlMessage], delay_seconds: u32) -> PortResult<()> {
        let due = SystemClock.now_ms() + u64::from(delay_seconds) * 1000;
        self.later.borrow_mut().extend(messages.iter().map(|m| (due, m.clone())));
        Ok(())
    }
}

/// The politeness gates of one process (the CLI crawls from a single consumer).
#[derive(Default)]
pub struct MemoryGate(RefCell<HashMap<String, HostGate>>);

impl FetchGate for MemoryGate {
    async fn acquire_units(
        &self, key: &str, limits: &HostLimits, units: u32,
    ) -> PortResult<Admission> {
        Ok(self.0.borrow_mut().entry(key.to_string()).or_default().acquire_units(
            limits,
            units,
            SystemClock.now_ms(),
        ))
    }
    async fn release(&self, key: &str, lease: u64) -> PortResult<()> {
        if let Some(gate) = self.0.borrow_mut().get_mut(key) {
            gate.release(lease);
        }
        Ok(())
    }
}

#[derive(Default)]
pub struct MemoryKv(RefCell<HashMap<String, String>>);

impl KeyValue for MemoryKv {
    async fn get(&self, key: &str) -> PortResult<Option<String>> {
        Ok(self.0.borrow().get(key).cloned())
    }
    async fn put(&self, key: &str, value: &str, _ttl_seconds: Option<u64>) -> PortResult<()> {
        self.0.borrow_mut().insert(key.to_string(), value.to_string());
        Ok(())
    }
    async fn delete(&self, key: &str) -> PortResult<()> {
        self.0.borrow_mut().remove(key);
        Ok(())
    }
}

/// Fetches `file://` URLs from disk (a directory "as if served": `dir/` answers with
/// `dir/index.html`) and `http(s)://` URLs with ureq.
pub struct NativeFetcher {
    agent: ureq::Agent,
    timeout: std::time::Duration,
}

impl NativeFetcher {
    fn new(user_agent: &str, timeout_seconds: u64) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(user_agent)
            .timeout_global(Some(std::time::Duration::from_secs(timeout_seconds)))
            .max_redirects(5)
            .build();
        NativeFetcher {
            agent: config.into(),
            timeout: std::time::Duration::from_secs(timeout_seconds),
        }
    }

    fn fetch_file(&self, request: &FetchRequest) -> PortResult<FetchResponse> {
        let url = url::Url::parse(&request.url).map_err(|e| PortError::permanent(e.to_string()))?;
        let mut path: PathBuf = url
            .to_file_path()
            .map_err(|_| PortError::permanent(format!("not a local path: {url}")))?;
        if path.is_dir() {
            path.push("index.html");
        }
        let not_found = |status| FetchResponse {
            status,
            url: request.url.clone(),
            headers: vec![],
            body: vec![],
            truncated: false,
        };
        let Ok(file) = std::fs::File::open(&path) else { return Ok(not_found(404)) };
        let mut body = Vec::new();
        file.take(request.max_body_bytes as u64 + 1)
            .read_to_end(&mut body)
            .map_err(|e| PortError::transient(format!("reading {}: {e}", path.display())))?;
        let truncated = body.len() > request.max_body_bytes;
        body.truncate(request.max_body_bytes);
        let content_type = content_type_of(&path);
        Ok(FetchResponse {
            status: 200,
            url: request.url.clone(),
            headers: vec![("Content-Type".into(), content_type.into())],
            body,
            truncated,
        })
    }
}

/// The MIME type a static file server would send for `path`.
pub fn content_type_of(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("html" | "htm" | "xhtml") => "text/html; charset=utf-8",
        Some("md" | "markdown") => "text/markdown; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        Some("css") => "text/css",
        Some("js") => "text/javascript",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        Some("pdf") => "application/pdf",
        _ => "application/octet-stream",
    }
}

/// A response body read from ureq as it arrives (blocking reads: natively the gateway's deadlines
/// are only checked between pieces, and the agent's global timeout bounds each exchange).
pub struct NativeStream(Box<dyn Read>);

impl ByteStream for NativeStream {
    async fn next_chunk(&mut self) -> Option<PortResult<Vec<u8>>> {
        let mut buffer = vec![0; 8 * 1024];
        match self.0.read(&mut buffer) {
            Ok(0) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some(Ok(buffer))
            }
            Err(e) => Some(Err(PortError::transient(format!("reading the response: {e}")))),
        }
    }
}

impl Fetcher for NativeFetcher {
    type Stream = NativeStream;

    async fn open(&self, request: FetchRequest) -> PortResult<StreamingResponse<NativeStream>> {
        let mut builder =
            ureq::http::Request::builder().method(request.method.as_str()).uri(&request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let outbound = builder
            .body(request.body.clone().unwrap_or_default())
            .map_err(|e| PortError::permanent(e.to_string()))?;
        // Headers within the fetch timeout; the body streams for as long as the caller reads it.
        let mut configured = self
            .agent
            .configure_request(outbound)
            .timeout_global(None)
            .timeout_recv_response(Some(self.timeout));
        configured = configured.max_redirects(0);
        let response = self
            .agent
            .run(configured.build())
            .map_err(|e| PortError::transient(format!("fetch {}: {e}", request.url)))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_string(), v.to_string())))
            .collect();
        let reader = response.into_body().into_reader();
        Ok(StreamingResponse { status, headers, body: NativeStream(Box::new(reader)) })
    }

    async fn fetch(&self, request: FetchRequest) -> PortResult<FetchResponse> {
        if request.url.starts_with("file:") {
            return self.fetch_file(&request);
        }
        let mut builder =
            ureq::http::Request::builder().method(request.method.as_str()).uri(&request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let outbound = builder
            .body(request.body.clone().unwrap_or_default())
            .map_err(|e| PortError::permanent(e.to_string()))?;
        let outbound = self.agent.configure_request(outbound).max_redirects(0).build();
        let mut response = self
            .agent
            .run(outbound)
            .map_err(|e| PortError::transient(format!("fetch {}: {e}", request.url)))?;
        let status = response.status().as_u16();
        let url = ureq::ResponseExt::get_uri(&response).to_string();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_string(), v.to_string())))
            .collect();
        let mut body = Vec::new();
        response
            .body_mut()
            .as_reader()
            .take(request.max_body_bytes as u64 + 1)
            .read_to_end(&mut body)
            .map_err(|e| PortError::transient(format!("reading {}: {e}", request.url)))?;
        let truncated = body.len() > request.max_body_bytes;
        body.truncate(request.max_body_bytes);
        Ok(FetchResponse { status, url, headers, body, truncated })
    }
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
    fn random_bytes(&self, buf: &mut [u8]) {
        let mut urandom = std::fs::File::open("/dev/urandom").expect("/dev/urandom");
        urandom.read_exact(buf).expect("reading /dev/urandom");
    }
    async fn sleep(&self, ms: u64) {
        // The CLI runs one consumer on one thread: blocking it is what waiting means here.
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}
