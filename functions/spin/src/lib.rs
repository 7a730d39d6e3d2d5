//! The Spin shell: Docent's ports on Spin key-value, Spin SQLite or Postgres, Spin variables,
//! Spin's LLM interface and wasi:http, and the component's two entry points (the HTTP handler and
//! the cron trigger). No Docent logic lives here; see `docent-functions` and `docent-core`.
//!
//! One component binary serves every function: spin.toml declares it four times (chat, retrieve,
//! crawl, webhooks) with the routes, stores and outbound hosts each function needs. Spin has no
//! queue, so the crawl fan-out goes through the task table of `docent_store::tasks`, drained by the
//! cron trigger and by `POST /internal/drain`, which the component invokes on itself after it
//! enqueues work.

#![allow(async_fn_in_trait)]

mod bindings {
    // Variables through a synchronous lowering (see wit/docent.wit), SQLite (synchronous in the
    // WIT), and the async cron export.
    spin_sdk::wit_bindgen::generate!({
        runtime_path: "spin_sdk::wit_bindgen::rt",
        path: "../../wit",
        world: "docent:spin/component",
        async: ["-import:spin:variables/variables@3.0.0#get"],
        generate_all,
    });
}

mod drain;
mod fetch;
mod models;
mod postgres;
mod store;

use std::cell::Cell;
use std::rc::Rc;

use bytes::Bytes;
use docent_core::config::{Config, StoreBackend};
use docent_core::ports::{Clock, KeyValue, PortError, PortResult};
use docent_functions::http::read_in_time;
use docent_functions::{handle, Body, Platform};
use docent_store::sql_gate::SqlGate;
use docent_store::tasks::TaskQueue;
use docent_store::SqlStore;
use futures_util::StreamExt;
use spin_sdk::http::body::IncomingBodyExt;

use crate::fetch::SpinFetch;
use crate::models::SpinLlm;
use crate::store::{SpinDatabase, SpinSqlite};

/// The key-value store every component opens (spin.toml `key_value_stores`).
const KV_STORE: &str = "default";
/// The SQLite database every component opens (spin.toml `sqlite_databases`).
const SQL_DATABASE: &str = "default";
/// Key-value keys of the edge-cache stand-in.
const EDGE_CACHE_PREFIX: &str = "edge-cache:";
/// The static chat page, widget and operator console, served by the component that owns `/` (the
/// Worker serves them as assets).
const STATIC_FILES: &[(&str, &str, &str)] = &[
    ("/", "text/html; charset=utf-8", include_str!("../../web/index.html")),
    ("/index.html", "text/html; charset=utf-8", include_str!("../../web/index.html")),
    ("/widget.js", "text/javascript; charset=utf-8", include_str!("../../web/widget.js")),
    ("/admin", "text/html; charset=utf-8", include_str!("../../web/admin.html")),
    ("/admin.html", "text/html; charset=utf-8", include_str!("../../web/admin.html")),
    ("/admin.js", "text/javascript; charset=utf-8", include_str!("../../web/admin.js")),
];

/// The Spin variable behind a `DOCENT_*` setting: Spin variable names are lower-case
/// (`DOCENT_ADMIN_KEY` → `docent_admin_key`, set in a deployment as
/// `SPIN_VARIABLE_DOCENT_ADMIN_KEY`).
pub fn variable_name(setting: &str) -> String {
    setting.to_ascii_lowercase()
}

/// A `DOCENT_*` setting from the component's variables; empty or undeclared reads as unset.
fn lookup(setting: &str) -> Option<String> {
    bindings::spin::variables::variables::get(&variable_name(setting))
        .ok()
        .filter(|v| !v.trim().is_empty())
}

#[derive(Clone)]
pub struct Spin(Rc<Shell>);

struct Shell {
    config: Config,
    kv: SpinKv,
    queue: TaskQueue<SpinDatabase, SpinClock>,
    store: SqlStore<SpinDatabase>,
    fetcher: SpinFetch,
    clock: SpinClock,
    gate: SqlGate<SpinDatabase, SpinClock>,
    models: SpinLlm,
    /// Set when this instance enqueued crawl tasks, so the HTTP entry point starts a drain.
    enqueued: Rc<Cell<bool>>,
    recorder: docent_functions::ops::Recorder,
}

impl Spin {
    async fn open() -> Result<Self, String> {
        let config = Config::from_lookup(lookup).map_err(|e| e.to_string())?;
        config.vector_store.require_sql("Spin")?;
        let kv = spin_sdk::key_value::Store::open(KV_STORE)
            .await
            .map_err(|e| format!("key-value store `{KV_STORE}`: {e:?}"))?;
        let db = match &config.store {
            StoreBackend::Sqlite => SpinDatabase::Sqlite(SpinSqlite::open(SQL_DATABASE)?),
            StoreBackend::Postgres { url: Some(url) } => SpinDatabase::Postgres(postgres::SpinPostgres::open(url).await?),
            StoreBackend::Postgres { url: None } => return Err("DOCENT_STORE=postgres needs DOCENT_DATABASE_URL (Spin variable docent_database_url)".into()),
        };
        let store = SqlStore::new(db.clone());
        let queue = TaskQueue::new(db.clone(), SpinClock);
        let gate = SqlGate::new(db.clone(), SpinClock);
        // A Spin instance lives for one request, so there is no per-isolate flag as on Workers; a
        // read tells whether the schema is current, and only then are the (write-locking) DDL
        // batches skipped.
        if !schema_is_current(&db).await {
            store.ensure_schema().await.map_err(|e| format!("creating the store's schema: {e}"))?;
            queue.ensure_schema().await.map_err(|e| format!("creating the task table: {e}"))?;
            gate.ensure_schema()
                .await
                .map_err(|e| format!("creating the politeness gates: {e}"))?;
        }
        let enqueued = Rc::new(Cell::new(false));
        Ok(Spin(Rc::new(Shell {
            kv: SpinKv(kv),
            queue,
            store,
            fetcher: SpinFetch::new(config.fetch_timeout_seconds * 1000),
            clock: SpinClock,
            gate,
            models: SpinLlm,
            enqueued,
            recorder: Default::default(),
            config,
        })))
    }
}

/// Whether the database has every migration, the task table and the gate table (a fresh or older
/// database does not; later schema changes are always migrations, see `docent_store::migrations`).
async fn schema_is_current(db: &SpinDatabase) -> bool {
    use docent_core::ports::{SqlDatabase, SqlDialect, Statement};
    let sql = match db.dialect() {
        SqlDialect::Sqlite => {
            "SELECT (SELECT COUNT(*) FROM docent_migrations),
                    (SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('crawl_tasks', 'politeness_gates'))"
        }
        SqlDialect::Postgres => {
            "SELECT (SELECT COUNT(*) FROM docent_migrations),
                    (SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename IN ('crawl_tasks', 'politeness_gates'))"
        }
    };
    let migrations = docent_store::migrations(db.dialect()).len();
    match db.query(&Statement::new(sql, vec![])).await {
        Ok(rows) => rows.first().is_some_and(|row| {
            row.first().and_then(|v| v.as_u64()) == Some(migrations as u64)
                && row.get(1).and_then(|v| v.as_u64()) == Some(2)
        }),
        // No docent_migrations yet: a fresh database, or one from before the migration files.
        Err(_) => false,
    }
}

impl Platform for Spin {
    type Kv = SpinKv;
    type Queue = TaskQueue<SpinDatabase, SpinClock>;
    type Store = SqlStore<SpinDatabase>;
    type Fetch = SpinFetch;
    type Clock = SpinClock;
    type Gate = SqlGate<SpinDatabase, SpinClock>;
    type Models = SpinLlm;

    fn config(&self) -> &Config {
        &self.0.config
    }
    fn kv(&self) -> &SpinKv {
        &self.0.kv
    }
    fn queue(&self) -> &Self::Queue {
        // Every send goes through here, so this is where the shell learns that a drain is needed.
        self.0.enqueued.set(true);
        &self.0.queue
    }
    fn store(&self) -> &SqlStore<SpinDatabase> {
        &self.0.store
    }
    fn fetcher(&self) -> &SpinFetch {
        &self.0.fetcher
    }
    fn clock(&self) -> &SpinClock {
        &self.0.clock
    }
    fn gate(&self) -> &Self::Gate {
        &self.0.gate
    }
    fn models(&self) -> &SpinLlm {
        &self.0.models
    }
    fn recorder(&self) -> &docent_functions::ops::Recorder {
        &self.0.recorder
    }
    fn log(&self, record: &serde_json::Value) {
        // Spin keeps a component's stdout and stderr as its log.
        eprintln!("{record}");
    }
    fn cached_body(&self, key: &str) -> docent_functions::LocalFuture<'_, Option<Vec<u8>>> {
        // Spin has no edge cache: the key-value store (with the shell's expiry) stands in for the
        // Worker's Cache API, so repeated searches are answered from it on both platforms.
        let key = format!("{EDGE_CACHE_PREFIX}{key}");
        Box::pin(async move { self.0.kv.get(&key).await.ok().flatten().map(String::into_bytes) })
    }
    fn cache_body(
        &self, key: &str, body: &[u8], ttl_seconds: u64,
    ) -> docent_functions::LocalFuture<'_, ()> {
        let key = format!("{EDGE_CACHE_PREFIX}{key}");
        // Bodies cached here are JSON, so text; anything else is simply not cached.
        let body = String::from_utf8(body.to_vec()).ok();
        Box::pin(async move {
            if let Some(body) = body {
                let _ = self.0.kv.put(&key, &body, Some(ttl_seconds)).await;
            }
        })
    }
    fn name(&self) -> &'static str {
        "spin"
    }
    fn setting(&self, name: &str) -> Option<String> {
        lookup(name)
    }
    fn client_address(&self, request: &docent_functions::http::Request) -> Option<String> {
        if let Some(header) = &self.config().trusted_client_header {
            return docent_functions::limits::trusted_header_address(request, header);
        }
        // Spin's HTTP trigger writes the peer's socket address here, over any client's value.
        let peer = request.headers().get("spin-client-addr")?.to_str().ok()?;
        let address = peer.parse::<std::net::SocketAddr>().map(|a| a.ip().to_string());
        Some(address.unwrap_or_else(|_| peer.to_string()))
    }
}

// ---- KV ----

pub struct SpinKv(spin_sdk::key_value::Store);

/// Spin key-value has no expiry: an entry with a TTL is stored with its deadline and read as
/// missing (and deleted) once it has passed.
const EXPIRES_PREFIX: &str = "\u{1}expires:";

impl KeyValue for SpinKv {
    async fn get(&self, key: &str) -> PortResult<Option<String>> {
        let Some(bytes) = self
            .0
            .get(key)
            .await
            .map_err(|e| PortError::transient(format!("key-value get: {e:?}")))?
        else {
            return Ok(None);
        };
        let value = String::from_utf8(bytes)
            .map_err(|_| PortError::permanent(format!("key-value {key}: not UTF-8")))?;
        let Some(rest) = value.strip_prefix(EXPIRES_PREFIX) else { return Ok(Some(value)) };
        let (deadline, value) = rest
            .split_once(';')
            .ok_or_else(|| PortError::permanent(format!("key-value {key}: bad expiry")))?;
        if deadline.parse::<u64>().is_ok_and(|deadline| deadline > SpinClock.now_ms()) {
            return Ok(Some(value.to_string()));
        }
        self.delete(key).await?;
        Ok(None)
    }
    async fn put(&self, key: &str, value: &str, ttl_seconds: Option<u64>) -> PortResult<()> {
        let stored = match ttl_seconds {
            Some(ttl) => format!("{EXPIRES_PREFIX}{};{value}", SpinClock.now_ms() + ttl * 1000),
            None => value.to_string(),
        };
        self.0
            .set(key, stored.as_bytes())
            .await
            .map_err(|e| PortError::transient(format!("key-value set: {e:?}")))
    }
    async fn delete(&self, key: &str) -> PortResult<()> {
        self.0
            .delete(key)
            .await
            .map_err(|e| PortError::transient(format!("key-value delete: {e:?}")))
    }
}

// ---- Clock ----

#[derive(Clone, Copy)]
pub struct SpinClock;

impl Clock for SpinClock {
    fn now_ms(&self) -> u64 {
        let now = spin_sdk::wasip3::clocks::system_clock::now();
        (now.seconds.max(0) as u64) * 1000 + u64::from(now.nanoseconds) / 1_000_000
    }
    fn random_bytes(&self, buf: &mut [u8]) {
        let bytes = spin_sdk::wasip3::random::random::get_random_bytes(buf.len() as u64);
        buf.copy_from_slice(&bytes[..buf.len()]);
    }
    async fn sleep(&self, ms: u64) {
        spin_sdk::wasip3::clocks::monotonic_clock::wait_for(ms.saturating_mul(1_000_000)).await;
    }
}

// ---- Entry points ----

type OutBody = http_body_util::StreamBody<
    futures_util::stream::LocalBoxStream<
        'static,
        Result<http_body::Frame<Bytes>, std::convert::Infallible>,
    >,
>;

fn out_body(body: Body) -> OutBody {
    let stream = match body {
        Body::Full(bytes) => futures_util::stream::once(async move { bytes }).boxed_local(),
        Body::Stream(stream) => stream.boxed_local(),
    };
    http_body_util::StreamBody::new(
        stream.map(|bytes| Ok(http_body::Frame::data(bytes))).boxed_local(),
    )
}

fn error_response(status: u16, code: &str, message: &str) -> http::Response<OutBody> {
    let body = serde_json::json!({"error": {"code": code, "message": message}}).to_string();
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(out_body(Body::Full(body.into())))
        .expect("a static response")
}

/// Reads the request body, at most `limit` bytes (413 beyond, as the router would answer).
async fn read_body(
    request: spin_sdk::http::Request, limit: usize,
) -> Result<http::Request<Bytes>, (u16, &'static str, String)> {
    let too_large =
        || (413, "body_too_large", format!("request bodies are limited to {limit} bytes"));
    let declared = request
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let (parts, body) = request.into_parts();
    let mut stream = body.stream();
    let mut collected = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| (400, "invalid_body", format!("reading the request body: {e:?}")))?;
        collected.extend_from_slice(&chunk);
        if collected.len() > limit {
            return Err(too_large());
        }
    }
    Ok(http::Request::from_parts(parts, Bytes::from(collected)))
}

fn static_page(path: &str) -> Option<http::Response<OutBody>> {
    let (_, content_type, text) = STATIC_FILES.iter().find(|(p, _, _)| *p == path)?;
    let mut response = http::Response::builder()
        .status(200)
        .header("content-type", *content_type)
        .header("cache-control", "public, max-age=300");
    for (name, value) in static_headers(STATIC_HEADERS, path) {
        response = response.header(name, value);
    }
    Some(
        response
            .body(out_body(Body::Full(Bytes::from_static(text.as_bytes()))))
            .expect("a static response"),
    )
}

/// `functions/web/_headers`, the headers Workers static assets send with these files.
const STATIC_HEADERS: &str = include_str!("../../web/_headers");

/// The headers `file` (in the `_headers` format of Workers static assets: a path or `prefix/*`
/// line, then indented `Name: value` lines) gives `path`.
fn static_headers<'f>(file: &'f str, path: &str) -> Vec<(&'f str, &'f str)> {
    let mut headers = Vec::new();
    let mut applies = false;
    for line in file.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(char::is_whitespace) {
            let pattern = line.trim();
            applies = match pattern.strip_suffix('*') {
                Some(prefix) => path.starts_with(prefix),
                None => pattern == path,
            };
        } else if let (true, Some((name, value))) = (applies, line.trim().split_once(':')) {
            headers.push((name.trim(), value.trim()));
        }
    }
    headers
}

#[spin_sdk::http_service]
async fn serve(request: spin_sdk::http::Request) -> http::Response<OutBody> {
    let path = request.uri().path().to_string();
    if request.method() == http::Method::GET {
        if let Some(page) = static_page(&path) {
            return page;
        }
    }
    let platform = match Spin::open().await {
        Ok(platform) => platform,
        Err(message) => {
            eprintln!("configuration: {message}");
            return error_response(503, "misconfigured", &message);
        }
    };
    let read = read_body(request, platform.config().max_request_bytes);
    let request = match read_in_time(&platform, read).await {
        Ok(Ok(request)) => request,
        Ok(Err((status, code, message))) => return error_response(status, code, &message),
        Err(late) => return error_response(late.status.as_u16(), late.code, &late.message),
    };
    let response = if path == drain::DRAIN_PATH {
        drain::serve(&platform, &request).await
    } else {
        handle(&platform, request).await
    };
    // An instance serves one request: what it recorded is written before it ends (a local
    // statement; a streamed answer writes its own when it ends).
    docent_functions::ops::flush(&platform).await;
    if platform.0.enqueued.get() && path != drain::DRAIN_PATH {
        // New tasks: start a drain now rather than at the next cron tick, without holding the
        // response.
        drain::kick(&platform);
    }
    let (parts, body) = response.into_parts();
    http::Response::from_parts(parts, out_body(body))
}

struct Cron;

impl bindings::Guest for Cron {
    async fn handle_cron_event(metadata: bindings::Metadata) -> Result<(), bindings::Error> {
        let platform = Spin::open().await.map_err(bindings::Error::Other)?;
        drain::on_cron(&platform, metadata.timestamp).await.map_err(bindings::Error::Other)
    }
}

bindings::export!(Cron with_types_in bindings);
