//! The Cloudflare Workers shell: Docent's ports on KV, Queues, D1 and fetch, and the three event
//! entry points. No Docent logic lives here; see `docent-functions` and `docent-core`.

#![allow(async_fn_in_trait)]

mod gate;
mod metrics;
mod timer;
mod vectorize;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use bytes::Bytes;
use futures_util::StreamExt;
use wasm_bindgen::{JsCast, JsValue};
use worker::{
    console_error, console_log, event, BatchMessageBuilder, Context, D1Database, Env, Fetch,
    Headers, MessageBatch, MessageExt, Method, QueueRetryOptionsBuilder, RequestInit,
    RequestRedirect, ScheduleContext, ScheduledEvent,
};

use gate::{WorkersGate, GATE_BINDING};
use timer::Timer;
use vectorize::{WorkersVectorize, VECTORIZE_BINDING};

use docent_core::config::{Config, StoreBackend, VectorStoreKind};
use docent_core::domain::{CrawlMessage, Priority};
use docent_core::llm::prompt::Message;
use docent_core::ports::{
    append_capped, ByteStream, Clock, CrawlQueue, FetchRequest, FetchResponse, Fetcher, KeyValue,
    ModelRuntime, PortError, PortResult, Row, RowCounts, SqlDatabase, SqlValue, Statement,
    StreamingResponse,
};
use docent_store::vectorize::store::VectorizeStore;
use docent_store::SqlStore;

mod postgres;
use docent_functions::crawl::{self, Delivery};
use docent_functions::http::read_in_time;
use docent_functions::{handle, monitoring, ops, Body, Platform};
use postgres::Database;

const KV_BINDING: &str = "DOCENT_KV";
const DB_BINDING: &str = "DOCENT_DB";
/// Workers AI, declared in wrangler.toml only where it is used (it has no local simulator).
const AI_BINDING: &str = "AI";
/// One queue per priority tier (highest first), so bulk low-priority crawls never delay urgent
/// ones.
const QUEUE_BINDINGS: [&str; 4] =
    ["CRAWL_QUEUE_CRITICAL", "CRAWL_QUEUE_HIGH", "CRAWL_QUEUE_NORMAL", "CRAWL_QUEUE_LOW"];
/// Queue names as declared in wrangler.toml; the dead-letter queue's consumer marks URLs failed.
const DEAD_LETTER_QUEUE: &str = "docent-crawl-dlq";
/// Messages of one batch handled at the same time: their fetches overlap, while D1 sees few
/// writers.
const BATCH_CONCURRENCY: usize = 3;
/// Vectors whose chunks are gone that one cron run deletes from Vectorize (deletions that failed
/// when their page changed).
const ORPHAN_VECTORS_PER_CRON: usize = 5_000;

/// Every `DOCENT_*` name the configuration reads, looked up among vars and secrets.
fn lookup(env: &Env, name: &str) -> Option<String> {
    env.var(name)
        .ok()
        .map(|v| v.to_string())
        .or_else(|| env.secret(name).ok().map(|s| s.to_string()))
}

#[derive(Clone)]
struct Cloudflare(Rc<Shell>);

/// The optional Workers Analytics Engine dataset that receives one data point per request (route,
/// method, status; milliseconds).
const ANALYTICS_BINDING: &str = "DOCENT_ANALYTICS";

struct Shell {
    env: Env,
    config: Config,
    kv: WorkersKv,
    queue: WorkersQueue,
    /// D1 or Postgres, with the vectors in Vectorize when `DOCENT_VECTOR_STORE=vectorize`.
    store: VectorizeStore<Database, WorkersVectorize>,
    fetcher: WorkersFetch,
    clock: WorkersClock,
    gate: WorkersGate,
    models: WorkersAi,
    recorder: docent_functions::ops::Recorder,
    /// The fetch event's context, for flushing metrics in `waitUntil`; none for queue and cron
    /// invocations, which write their metrics at once.
    context: RefCell<Option<Rc<Context>>>,
}

thread_local! {
    /// The schema is ensured once per isolate, not per request.
    static SCHEMA_READY: Cell<bool> = const { Cell::new(false) };
}

impl Cloudflare {
    async fn from_env(env: &Env) -> Result<Self, String> {
        let config = Config::from_lookup(|name| lookup(env, name)).map_err(|e| e.to_string())?;
        let kv = env.kv(KV_BINDING).map_err(|e| format!("KV binding {KV_BINDING}: {e}"))?;
        let mut queues = Vec::with_capacity(QUEUE_BINDINGS.len());
        for binding in QUEUE_BINDINGS {
            queues.push(env.queue(binding).map_err(|e| format!("queue binding {binding}: {e}"))?);
        }
        let db = match config.store {
            StoreBackend::Sqlite => Database::Sqlite(D1::new(
                env.d1(DB_BINDING).map_err(|e| format!("D1 binding {DB_BINDING}: {e}"))?,
            )),
            StoreBackend::Postgres { .. } => {
                Database::Postgres(postgres::connect_hyperdrive(env).await?)
            }
        };
        let gates = env
            .durable_object(GATE_BINDING)
            .map_err(|e| format!("Durable Object binding {GATE_BINDING}: {e}"))?;
        let index = match config.vector_store {
            VectorStoreKind::Sql => None,
            VectorStoreKind::Vectorize => Some(WorkersVectorize::from_env(env).ok_or_else(|| {
                format!("DOCENT_VECTOR_STORE=vectorize needs the Vectorize binding {VECTORIZE_BINDING} ([[vectorize]] in wrangler.toml)")
            })?),
        };
        let store = VectorizeStore::new(SqlStore::new(db), index);
        if !SCHEMA_READY.get() {
            store.ensure_schema().await.map_err(|e| format!("creating the store's schema: {e}"))?;
            SCHEMA_READY.set(true);
        }
        Ok(Cloudflare(Rc::new(Shell {
            env: env.clone(),
            kv: WorkersKv(kv),
            queue: WorkersQueue(queues),
            store,
            fetcher: WorkersFetch { timeout_ms: config.fetch_timeout_seconds * 1000 },
            clock: WorkersClock,
            gate: WorkersGate(gates),
            models: WorkersAi(env.ai(AI_BINDING).ok()),
            recorder: Default::default(),
            context: RefCell::new(None),
            config,
        })))
    }
}

impl Platform for Cloudflare {
    type Kv = WorkersKv;
    type Queue = WorkersQueue;
    type Store = VectorizeStore<Database, WorkersVectorize>;
    type Fetch = WorkersFetch;
    type Clock = WorkersClock;
    type Gate = WorkersGate;
    type Models = WorkersAi;

    fn config(&self) -> &Config {
        &self.0.config
    }
    fn kv(&self) -> &WorkersKv {
        &self.0.kv
    }
    fn queue(&self) -> &WorkersQueue {
        &self.0.queue
    }
    fn store(&self) -> &VectorizeStore<Database, WorkersVectorize> {
        &self.0.store
    }
    fn fetcher(&self) -> &WorkersFetch {
        &self.0.fetcher
    }
    fn clock(&self) -> &WorkersClock {
        &self.0.clock
    }
    fn gate(&self) -> &WorkersGate {
        &self.0.gate
    }
    fn models(&self) -> &WorkersAi {
        &self.0.models
    }
    fn cached_body(&self, key: &str) -> docent_functions::LocalFuture<'_, Option<Vec<u8>>> {
        let key = key.to_string();
        Box::pin(async move {
            // A cache that fails is a cache that missed.
            let mut response =
                worker::Cache::default().get(key.as_str(), false).await.ok().flatten()?;
            response.bytes().await.ok()
        })
    }
    fn cache_body(
        &self, key: &str, body: &[u8], ttl_seconds: u64,
    ) -> docent_functions::LocalFuture<'_, ()> {
        let (key, body) = (key.to_string(), body.to_vec());
        Box::pin(async move {
            let headers = Headers::new();
            let _ = headers.set("content-type", "application/json");
            let _ = headers.set("cache-control", &format!("public, max-age={ttl_seconds}"));
            let response = worker::ResponseBuilder::new().with_headers(headers).fixed(body);
            if let Err(e) = worker::Cache::default().put(key.as_str(), response).await {
                console_log!("edge cache put {key}: {e}");
            }
        })
    }
    fn recorder(&self) -> &docent_functions::ops::Recorder {
        &self.0.recorder
    }
    fn flush_metrics(&self) -> docent_functions::LocalFuture<'_, ()> {
        let context = self.0.context.borrow().clone();
        match context {
            Some(context) => {
                metrics::gather(self, &context);
                Box::pin(async {})
            }
            None => Box::pin(ops::write_recorded(self)),
        }
    }
    fn log(&self, record: &serde_json::Value) {
        // Workers Logs and `wrangler tail` parse JSON lines into fields.
        console_log!("{record}");
    }
    fn name(&self) -> &'static str {
        "cloudflare"
    }
    fn setting(&self, name: &str) -> Option<String> {
        lookup(&self.0.env, name)
    }
    fn client_address(&self, request: &docent_functions::http::Request) -> Option<String> {
        // Set by Cloudflare's edge (and by workerd locally) from the connection; a client's own
        // X-Forwarded-For is never read.
        let value = request.headers().get("cf-connecting-ip")?.to_str().ok()?.trim();
        (!value.is_empty()).then(|| value.to_string())
    }
}

fn transient(context: &str, error: impl std::fmt::Display) -> PortError {
    PortError::transient(format!("{context}: {error}"))
}

// ---- KV ----

struct WorkersKv(worker::kv::KvStore);

impl KeyValue for WorkersKv {
    async fn get(&self, key: &str) -> PortResult<Option<String>> {
        self.0.get(key).text().await.map_err(|e| transient("KV get", e))
    }
    async fn put(&self, key: &str, value: &str, ttl_seconds: Option<u64>) -> PortResult<()> {
        let mut put = self.0.put(key, value).map_err(|e| transient("KV put", e))?;
        if let Some(ttl) = ttl_seconds {
            put = put.expiration_ttl(ttl.max(60));
        }
        put.execute().await.map_err(|e| transient("KV put", e))
    }
    async fn delete(&self, key: &str) -> PortResult<()> {
        self.0.delete(key).await.map_err(|e| transient("KV delete", e))
    }
}

// ---- Queue ----

/// The four tier queues, in `Priority::ALL` order.
struct WorkersQueue(Vec<worker::Queue>);

impl WorkersQueue {
    /// Sends each message on its tier's queue, deliverable after `delay_seconds` if given.
    async fn send(&self, messages: &[CrawlMessage], delay_seconds: Option<u32>) -> PortResult<()> {
        for (tier, queue) in Priority::ALL.iter().zip(&self.0) {
            let batch: Vec<CrawlMessage> =
                messages.iter().filter(|m| m.priority == *tier).cloned().collect();
            if batch.is_empty() {
                continue;
            }
            let mut builder = BatchMessageBuilder::new().messages(batch);
            if let Some(delay) = delay_seconds {
                builder = builder.delay_seconds(delay);
            }
            queue.send_batch(builder.build()).await.map_err(|e| transient("queue send", e))?;
        }
        Ok(())
    }
}

impl CrawlQueue for WorkersQueue {
    async fn send_batch(&self, messages: &[CrawlMessage]) -> PortResult<()> {
        self.send(messages, None).await
    }

    async fn send_later(&self, messages: &[CrawlMessage], delay_seconds: u32) -> PortResult<()> {
        // Cloudflare Queues delay messages by at most 12 hours.
        self.send(messages, Some(delay_seconds.min(12 * 3600))).await
    }
}

// ---- D1 ----

/// D1, counting the rows each result's `meta` says were read and written (what D1 bills).
struct D1 {
    database: D1Database,
    rows: Cell<RowCounts>,
}

impl D1 {
    fn new(database: D1Database) -> Self {
        D1 { database, rows: Cell::default() }
    }

    /// Counts the rows `result`'s `meta` reports read and written; returns the rows it changed.
    fn read_meta(&self, result: &worker::D1Result) -> u64 {
        let Ok(Some(meta)) = result.meta() else { return 0 };
        let mut rows = self.rows.get();
        rows.read += meta.rows_read.unwrap_or(0) as u64;
        rows.written += meta.rows_written.unwrap_or(0) as u64;
        self.rows.set(rows);
        meta.changes.unwrap_or(0) as u64
    }
}

/// A result row as D1 returns it, an object keyed by column name, read back into its columns in
/// order (D1 builds the object column by column; the store's SELECT lists name each column once).
struct OrderedRow(Row);

impl<'de> serde::Deserialize<'de> for OrderedRow {
    fn deserialize<De: serde::Deserializer<'de>>(deserializer: De) -> Result<Self, De::Error> {
        struct Columns;
        impl<'de> serde::de::Visitor<'de> for Columns {
            type Value = OrderedRow;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a result row (an object of columns)")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self, mut map: A,
            ) -> Result<OrderedRow, A::Error> {
                let mut row = Vec::with_capacity(map.size_hint().unwrap_or(4));
                while let Some((_, value)) =
                    map.next_entry::<serde::de::IgnoredAny, serde_json::Value>()?
                {
                    row.push(value);
                }
                Ok(OrderedRow(row))
            }
        }
        deserializer.deserialize_map(Columns)
    }
}

fn to_js(value: &SqlValue) -> JsValue {
    match value {
        SqlValue::Null => JsValue::null(),
        // D1 binds JavaScript numbers; Docent's integers (timestamps, counts) fit in 53 bits.
        SqlValue::Integer(n) => JsValue::from_f64(*n as f64),
        SqlValue::Real(x) => JsValue::from_f64(*x),
        SqlValue::Text(s) => JsValue::from_str(s),
    }
}

impl D1 {
    fn prepare(&self, statement: &Statement) -> PortResult<worker::D1PreparedStatement> {
        let params: Vec<JsValue> = statement.params.iter().map(to_js).collect();
        self.database
            .prepare(&statement.sql)
            .bind(&params)
            .map_err(|e| PortError::permanent(format!("D1 bind: {e}")))
    }
}

impl SqlDatabase for D1 {
    /// Through `all()`, not `raw()`: only a full result carries the `meta` with the rows read.
    async fn query(&self, statement: &Statement) -> PortResult<Vec<Row>> {
        let result = self.prepare(statement)?.all().await.map_err(|e| transient("D1 query", e))?;
        self.read_meta(&result);
        let rows = result.results::<OrderedRow>().map_err(|e| transient("D1 query", e))?;
        Ok(rows.into_iter().map(|OrderedRow(row)| row).collect())
    }

    async fn batch(&self, statements: &[Statement]) -> PortResult<Vec<u64>> {
        let prepared =
            statements.iter().map(|s| self.prepare(s)).collect::<PortResult<Vec<_>>>()?;
        let results = self.database.batch(prepared).await.map_err(|e| transient("D1 batch", e))?;
        Ok(results.iter().map(|result| self.read_meta(result)).collect())
    }

    fn take_row_counts(&self) -> RowCounts {
        self.rows.take()
    }
}

// ---- Outbound fetch ----

struct WorkersFetch {
    timeout_ms: u64,
}

/// A response body as the Workers runtime streams it.
struct WorkersStream(worker::ByteStream);

impl ByteStream for WorkersStream {
    async fn next_chunk(&mut self) -> Option<PortResult<Vec<u8>>> {
        self.0.next().await.map(|chunk| chunk.map_err(|e| transient("response body", e)))
    }
}

// ---- Workers AI ----

/// The `AI` binding, when wrangler.toml declares it.
struct WorkersAi(Option<worker::Ai>);

impl WorkersAi {
    fn binding(&self) -> PortResult<&worker::Ai> {
        self.0.as_ref().ok_or_else(|| {
            PortError::permanent(format!(
                "no Workers AI binding `{AI_BINDING}` (add [ai] to wrangler.toml)"
            ))
        })
    }
}

/// Workers AI's text-generation input. A struct, not a `serde_json::Value`: the binding's
/// serializer would turn a map into a JS `Map`, which the runtime sends as `{}`.
#[derive(serde::Serialize)]
struct TextGeneration<'a> {
    messages: &'a [Message],
    max_tokens: u32,
    temperature: f32,
    stream: bool,
}

/// Workers AI's reranker input (a struct for the same reason as [`TextGeneration`]).
#[derive(serde::Serialize)]
struct RerankInput<'a> {
    query: &'a str,
    contexts: Vec<RerankContext<'a>>,
    top_k: usize,
}

#[derive(serde::Serialize)]
struct RerankContext<'a> {
    text: &'a str,
}

#[derive(serde::Serialize)]
struct EmbeddingInput<'a> {
    text: &'a [String],
}

#[derive(serde::Deserialize)]
struct EmbeddingOutput {
    data: Vec<Vec<f32>>,
}

impl ModelRuntime for WorkersAi {
    async fn embed(&self, model: &str, texts: &[String]) -> PortResult<Vec<Vec<f32>>> {
        let ai = self.binding()?;
        let output: EmbeddingOutput = ai
            .run(model, &EmbeddingInput { text: texts })
            .await
            .map_err(|e| transient("Workers AI embeddings", e))?;
        Ok(output.data)
    }

    async fn rerank(
        &self, model: &str, query: &str, documents: &[String],
    ) -> PortResult<Vec<(usize, f64)>> {
        let ai = self.binding()?;
        let input = RerankInput {
            query,
            contexts: documents.iter().map(|text| RerankContext { text }).collect(),
            top_k: documents.len(),
        };
        let output: serde_json::Value =
            ai.run(model, &input).await.map_err(|e| transient("Workers AI reranker", e))?;
        docent_core::retrieval::rerank::parse_workers_ai_rerank(&output)
            .map_err(PortError::permanent)
    }

    type Stream = WorkersStream;
    async fn stream_chat(
        &self, model: &str, messages: &[Message], max_tokens: u32,
    ) -> PortResult<WorkersStream> {
        let ai = self.binding()?;
        let input = TextGeneration { messages, max_tokens, temperature: 0.2, stream: true };
        // Locally the binding exists but every call fails ("needs to be run remotely"): transient,
        // so the breaker counts it and the chain moves on.
        let stream = ai.run_bytes(model, &input).await.map_err(|e| transient("Workers AI", e))?;
        Ok(WorkersStream(stream))
    }
}

impl Fetcher for WorkersFetch {
    type Stream = WorkersStream;

    async fn open(&self, request: FetchRequest) -> PortResult<StreamingResponse<WorkersStream>> {
        let outbound = outbound_request(&request)?;
        let mut response =
            Fetch::Request(outbound).send().await.map_err(|e| transient("fetch", e))?;
        let status = response.status_code();
        let headers: Vec<(String, String)> = response.headers().entries().collect();
        let body = response.stream().map_err(|e| transient("response body", e))?;
        Ok(StreamingResponse { status, headers, body: WorkersStream(body) })
    }

    async fn fetch(&self, request: FetchRequest) -> PortResult<FetchResponse> {
        // The whole exchange, body included, has one deadline: a server that trickles bytes is cut
        // off.
        let url = request.url.clone();
        let exchange = std::pin::pin!(self.exchange(request));
        let deadline = std::pin::pin!(Timer::after_ms(self.timeout_ms));
        match futures_util::future::select(exchange, deadline).await {
            futures_util::future::Either::Left((result, _)) => result,
            futures_util::future::Either::Right(_) => Err(PortError::transient(format!(
                "fetch {url}: no complete answer within {} ms",
                self.timeout_ms
            ))),
        }
    }
}

impl WorkersFetch {
    async fn exchange(&self, request: FetchRequest) -> PortResult<FetchResponse> {
        let outbound = outbound_request(&request)?;
        let response = Fetch::Request(outbound).send().await.map_err(|e| transient("fetch", e))?;
        // The URL after redirects is only exposed by the underlying web_sys::Response.
        let raw: worker::web_sys::Response = response.into();
        let url = Some(raw.url()).filter(|u| !u.is_empty()).unwrap_or_else(|| request.url.clone());
        // 304 and 204 responses have no body at all (not an empty one), which cannot be streamed.
        let has_body = raw.body().is_some();
        let mut response = worker::Response::from(raw);
        let status = response.status_code();
        let headers: Vec<(String, String)> = response.headers().entries().collect();
        let declared = response
            .headers()
            .get("content-length")
            .ok()
            .flatten()
            .and_then(|v| v.parse::<usize>().ok());
        let mut body = Vec::new();
        let mut truncated = declared.is_some_and(|n| n > request.max_body_bytes);
        if has_body && !truncated {
            // Read at most max_body_bytes + 1 so an oversized body is detected without buffering
            // it.
            let mut stream = response.stream().map_err(|e| transient("response body", e))?;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| transient("response body", e))?;
                if append_capped(&mut body, &chunk, request.max_body_bytes) {
                    truncated = true;
                    break;
                }
            }
        }
        Ok(FetchResponse { status, url, headers, body, truncated })
    }
}

fn outbound_request(request: &FetchRequest) -> PortResult<worker::Request> {
    let headers = Headers::new();
    for (name, value) in &request.headers {
        headers
            .set(name, value)
            .map_err(|e| PortError::permanent(format!("header {name}: {e}")))?;
    }
    let method = Method::from(request.method.to_ascii_uppercase());
    let mut init = RequestInit::new();
    init.with_method(method).with_headers(headers);
    // The 3xx comes back as it is, Location included (Workers do not make it opaque).
    init.with_redirect(RequestRedirect::Manual);
    if let Some(body) = &request.body {
        init.with_body(Some(js_sys::Uint8Array::from(body.as_slice()).into()));
    }
    worker::Request::new_with_init(&request.url, &init)
        .map_err(|e| PortError::permanent(format!("request: {e}")))
}

// ---- Clock ----

struct WorkersClock;

impl Clock for WorkersClock {
    fn now_ms(&self) -> u64 {
        js_sys::Date::now() as u64
    }
    fn random_bytes(&self, buf: &mut [u8]) {
        // crypto.getRandomValues, which every Workers isolate provides.
        let array = js_sys::Uint8Array::new_with_length(buf.len() as u32);
        let crypto =
            js_sys::Reflect::get(&js_sys::global(), &"crypto".into()).expect("crypto global");
        let get_random_values: js_sys::Function =
            js_sys::Reflect::get(&crypto, &"getRandomValues".into())
                .expect("getRandomValues")
                .unchecked_into();
        get_random_values.call1(&crypto, &array).expect("getRandomValues call");
        array.copy_to(buf);
    }
    async fn sleep(&self, ms: u64) {
        Timer::after_ms(ms).await;
    }
}

// ---- Entry points ----

fn error_response(status: u16, code: &str, message: &str) -> worker::Result<worker::Response> {
    let body = serde_json::json!({"error": {"code": code, "message": message}});
    Ok(worker::Response::from_json(&body)?.with_status(status))
}

async fn read_body(request: &mut worker::Request, limit: usize) -> Result<Bytes, (u16, String)> {
    let too_large = || (413, format!("request bodies are limited to {limit} bytes"));
    if request
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > limit)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    if let Ok(mut stream) = request.stream() {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| (400, format!("reading the request body: {e}")))?;
            body.extend_from_slice(&chunk);
            if body.len() > limit {
                return Err(too_large());
            }
        }
    }
    Ok(body.into())
}

#[event(fetch)]
async fn fetch(
    mut request: worker::Request, env: Env, ctx: Context,
) -> worker::Result<worker::Response> {
    let platform = match Cloudflare::from_env(&env).await {
        Ok(platform) => platform,
        Err(message) => {
            console_error!("configuration: {message}");
            return error_response(503, "misconfigured", &message);
        }
    };
    platform.0.context.replace(Some(Rc::new(ctx)));
    let read = read_body(&mut request, platform.config().max_request_bytes);
    let body = match read_in_time(&platform, read).await {
        Ok(Ok(body)) => body,
        Ok(Err((status, message))) => {
            let code = if status == 413 { "body_too_large" } else { "invalid_body" };
            return error_response(status, code, &message);
        }
        Err(late) => return error_response(late.status.as_u16(), late.code, &late.message),
    };
    // The method as sent: worker's `Method` reads any method it does not know as GET, which would
    // answer `QUERY /api/search` as a search instead of 405.
    let method = request.inner().method();
    let mut builder = http::Request::builder().method(method.as_str()).uri(request.url()?.as_str());
    for (name, value) in request.headers().entries() {
        builder = builder.header(name, value);
    }
    let http_request = match builder.body(body) {
        Ok(r) => r,
        Err(e) => {
            return error_response(400, "invalid_request", &format!("malformed request: {e}"))
        }
    };
    let route = docent_functions::route_label(http_request.method(), http_request.uri().path());
    let method = docent_functions::ops::method_label(http_request.method());
    let started = platform.clock().now_ms();
    let response = handle(&platform, http_request).await;
    // Where Workers Analytics Engine is bound, each request is also a data point there (written
    // without waiting; a failed write loses only that point).
    if let Ok(dataset) = env.analytics_engine(ANALYTICS_BINDING) {
        let point = worker::AnalyticsEngineDataPointBuilder::new()
            .indexes([route])
            .blobs([route, method, response.status().as_str()])
            .add_double(platform.clock().now_ms().saturating_sub(started) as f64)
            .build();
        if let Err(error) = dataset.write_data_point(&point) {
            console_error!("analytics engine: {error}");
        }
    }
    // The request's metrics join the isolate's, written within a second after the response.
    ops::flush(&platform).await;
    let (parts, body) = response.into_parts();
    let headers = Headers::new();
    for (name, value) in &parts.headers {
        if let Ok(value) = value.to_str() {
            headers.append(name.as_str(), value)?;
        }
    }
    let respond = |headers| {
        worker::ResponseBuilder::new().with_status(parts.status.as_u16()).with_headers(headers)
    };
    match body {
        Body::Full(bytes) if bytes.is_empty() => {
            // Nothing to compress: without this the local runtime sends `Content-Encoding: gzip`
            // with a 204, and clients fail to decode the nothing that follows.
            headers.set("content-encoding", "identity")?;
            Ok(respond(headers).empty())
        }
        Body::Full(bytes) => Ok(respond(headers).fixed(bytes.to_vec())),
        Body::Stream(stream) => respond(headers)
            .from_stream(stream.map(|chunk| Ok::<Vec<u8>, worker::Error>(chunk.to_vec()))),
    }
}

#[event(queue)]
async fn queue(batch: MessageBatch<CrawlMessage>, env: Env, _ctx: Context) -> worker::Result<()> {
    let platform = match Cloudflare::from_env(&env).await {
        Ok(platform) => platform,
        Err(message) => {
            console_error!("configuration: {message}");
            batch.retry_all();
            return Ok(());
        }
    };
    let dead_letters = batch.queue() == DEAD_LETTER_QUEUE;
    let messages = batch.messages()?;
    // The batch's messages are handled concurrently: their fetches overlap, and the politeness
    // gates keep each host within its limits however many run at once.
    let deliveries: Vec<Delivery> = futures_util::stream::iter(messages.iter().map(|message| {
        let platform = platform.clone();
        async move {
            let body = message.body();
            if dead_letters {
                crawl::dead_letter(&platform, body).await
            } else {
                crawl::consume(&platform, body).await
            }
        }
    }))
    .buffered(BATCH_CONCURRENCY)
    .collect()
    .await;
    for (message, delivery) in messages.iter().zip(deliveries) {
        let body = message.body();
        match delivery {
            Delivery::Ack => message.ack(),
            Delivery::Retry { reason, delay_seconds } => {
                console_log!("retrying {} in {delay_seconds} s: {reason}", body.url);
                message.retry_with_options(
                    &QueueRetryOptionsBuilder::new().with_delay_seconds(delay_seconds).build(),
                );
            }
        }
    }
    ops::flush(&platform).await;
    Ok(())
}

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let platform = match Cloudflare::from_env(&env).await {
        Ok(platform) => platform,
        Err(message) => return console_error!("configuration: {message}"),
    };
    let sources = match crawl::parse_sources(platform.setting("DOCENT_CRAWL_SOURCES").as_deref()) {
        Ok(sources) => sources,
        Err(message) => return console_error!("{message}"),
    };
    match crawl::on_schedule(&platform, &sources).await {
        Ok((resumed, started)) => console_log!(
            "cron: re-enqueued {resumed} stalled URLs, started {started} scheduled crawls"
        ),
        Err(error) => console_error!("cron: {error}"),
    }
    if platform.config().vector_store == VectorStoreKind::Vectorize {
        match platform.store().delete_orphan_vectors(ORPHAN_VECTORS_PER_CRON).await {
            Ok(0) => {}
            Ok(deleted) => {
                console_log!("cron: deleted {deleted} Vectorize vectors whose chunks are gone")
            }
            Err(error) => console_error!("cron: deleting orphaned Vectorize vectors: {error}"),
        }
    }
    match monitoring::evaluate_alerts(&platform).await {
        Ok(firing) if firing.is_empty() => {}
        Ok(firing) => console_log!("cron: alerts firing: {}", firing.join(", ")),
        Err(error) => console_error!("cron: evaluating alerts: {error}"),
    }
}
