//! Runs Docent's Spin application in-process under wasmtime, the way miniflare runs a Worker: it
//! reads `spin.toml`, loads each component, provides the Spin host interfaces the components
//! import, and dispatches HTTP requests (by the manifest's routes) and cron events to them.
//!
//! What the host provides, per component and as the manifest allows it:
//! - `spin:key-value@3.0.0`: in-memory stores named by `key_value_stores`;
//! - `spin:sqlite@3.1.0` (the synchronous calls): a rusqlite file per database in a temp directory,
//!   a connection per open instance (pooled between instances), so transactions are isolated (FTS5
//!   included);
//! - `spin:postgres/postgres@4.2.0` (the async calls of spin-sdk's `pg`): tokio-postgres against
//!   the server the test gives (`DOCENT_TEST_DATABASE_URL`), to addresses in
//!   `allowed_outbound_hosts` only, parameters bound as Spin binds them ([`pg`]);
//! - `fermyon:spin/llm@2.0.0`: a deterministic test model ([`llm::TestLlm`]), for the models in the
//!   component's `ai_models`;
//! - `spin:variables@3.0.0`: the component's `[component.x.variables]` templates over the
//!   application's `[variables]`, their defaults overridden by the harness's `variables`;
//! - `wasi:http@0.3.0` outbound: only to `allowed_outbound_hosts`, `self.alt` dispatched back into
//!   the application in-process; WASI 0.2 and 0.3 CLI, clocks and random from wasmtime-wasi.
//!
//! Every request gets a fresh instance from an `InstancePre`, as on Spin.

use std::collections::HashMap;
use std::future::poll_fn;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use wasmtime::component::{Component, HasSelf, Linker, Resource, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p3::bindings::ServicePre;
use wasmtime_wasi_http::{WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

pub mod llm;
pub mod manifest;
pub mod pg;
pub mod sql;

pub use manifest::{ComponentSpec, Manifest};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "docent:spin/spin-host",
        imports: {
            "spin:key-value/key-value.[static]store.open": store | trappable,
            "spin:key-value/key-value.[method]store.get": store | trappable,
            "spin:key-value/key-value.[method]store.set": store | trappable,
            "spin:key-value/key-value.[method]store.delete": store | trappable,
            "spin:variables/variables.get": store | trappable,
            "spin:postgres/postgres.[static]connection.open-async": store | trappable,
            "spin:postgres/postgres.[method]connection.query-async": store | trappable,
            "spin:postgres/postgres.[method]connection.execute-async": store | trappable,
            default: trappable,
        },
        exports: { default: async | store },
        with: {
            "spin:key-value/key-value.store": crate::KvStore,
            "spin:sqlite/sqlite.connection": crate::sql::SqlConnection,
            "spin:postgres/postgres.connection": crate::pg::PgConnection,
        },
    });
}

/// The cron export as spin-trigger-cron's host sees it (wit/docent.wit, world `cron-plugin`): its
/// WIT declares the export synchronous, and it calls it with `call_async` outside any
/// `run_concurrent`.
mod cron_plugin {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "docent:spin/cron-plugin",
        exports: { default: async },
    });
}

use bindings::spin::key_value::key_value as kv;
use bindings::spin::variables::variables as vars;

/// An open key-value store: its label (the data lives in the application).
pub struct KvStore {
    label: String,
}

type KvData = Arc<Mutex<HashMap<String, HashMap<String, Vec<u8>>>>>;

/// A component of the application, ready to instantiate.
struct Loaded {
    spec: ComponentSpec,
    variables: HashMap<String, String>,
    http: ServicePre<Host>,
    cron: bindings::SpinHostPre<Host>,
}

/// The application: components, routes, stores. Cheap to share between requests and threads.
pub struct App {
    engine: Engine,
    components: HashMap<String, Arc<Loaded>>,
    manifest: Manifest,
    kv: KvData,
    sqlite_dir: PathBuf,
    sqlite_pool: sql::Pool,
    llm: Arc<llm::TestLlm>,
}

/// Per-instance host state.
pub struct Host {
    wasi: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    hooks: Outbound,
    component: Arc<Loaded>,
    kv: KvData,
    sqlite_dir: PathBuf,
    sqlite_pool: sql::Pool,
    llm: Arc<llm::TestLlm>,
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for Host {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}

// ---- spin:key-value ----

fn kv_error(message: impl Into<String>) -> kv::Error {
    kv::Error::Other(message.into())
}

impl<U> kv::HostStoreWithStore<U> for HasSelf<Host> {
    async fn open(
        accessor: &wasmtime::component::Accessor<U, Self>, label: String,
    ) -> wasmtime::Result<Result<Resource<KvStore>, kv::Error>> {
        accessor.with(|mut access| {
            let host = access.get();
            if !host.component.spec.key_value_stores.contains(&label) {
                return Ok(Err(kv::Error::AccessDenied));
            }
            host.kv.lock().unwrap().entry(label.clone()).or_default();
            Ok(Ok(host.table.push(KvStore { label })?))
        })
    }
    async fn get(
        accessor: &wasmtime::component::Accessor<U, Self>, store: Resource<KvStore>, key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, kv::Error>> {
        accessor.with(|mut access| {
            let host = access.get();
            let label = &host.table.get(&store)?.label;
            Ok(Ok(host.kv.lock().unwrap().get(label).and_then(|s| s.get(&key).cloned())))
        })
    }
    async fn set(
        accessor: &wasmtime::component::Accessor<U, Self>, store: Resource<KvStore>, key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), kv::Error>> {
        accessor.with(|mut access| {
            let host = access.get();
            let label = host.table.get(&store)?.label.clone();
            match host.kv.lock().unwrap().get_mut(&label) {
                Some(data) => {
                    data.insert(key, value);
                    Ok(Ok(()))
                }
                None => Ok(Err(kv_error(format!("store {label} vanished")))),
            }
        })
    }
    async fn delete(
        accessor: &wasmtime::component::Accessor<U, Self>, store: Resource<KvStore>, key: String,
    ) -> wasmtime::Result<Result<(), kv::Error>> {
        accessor.with(|mut access| {
            let host = access.get();
            let label = host.table.get(&store)?.label.clone();
            if let Some(data) = host.kv.lock().unwrap().get_mut(&label) {
                data.remove(&key);
            }
            Ok(Ok(()))
        })
    }
}

impl kv::HostStore for Host {
    fn drop(&mut self, store: Resource<KvStore>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

impl kv::Host for Host {}

// ---- spin:variables ----

impl<U> vars::HostWithStore<U> for HasSelf<Host> {
    async fn get(
        accessor: &wasmtime::component::Accessor<U, Self>, name: String,
    ) -> wasmtime::Result<Result<String, vars::Error>> {
        accessor.with(|mut access| {
            let host = access.get();
            Ok(host.component.variables.get(&name).cloned().ok_or_else(|| {
                vars::Error::Undefined(format!(
                    "no variable {name} for component {}",
                    host.component.spec.id
                ))
            }))
        })
    }
}

impl vars::Host for Host {}

// ---- outbound HTTP ----

/// The `send_request` hook: `allowed_outbound_hosts` enforced as Spin does, `self.alt` routed back
/// into the application, everything else over the network (loopback in tests).
pub struct Outbound {
    app: std::sync::Weak<App>,
    allowed: Vec<manifest::HostPattern>,
}

impl WasiHttpHooks for Outbound {
    fn send_request(
        &mut self, request: http::Request<WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn std::future::Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn std::future::Future<
                Output = Result<
                    (
                        http::Response<WasiBody>,
                        Box<
                            dyn std::future::Future<Output = Result<(), wasmtime_wasi_http::Error>>
                                + Send,
                        >,
                    ),
                    wasmtime_wasi_http::Error,
                >,
            > + Send,
    > {
        // A wildcard host does not cover the application itself: only an explicit `self.alt` entry
        // allows requests to it (as Spin's outbound networking treats self-requests).
        let to_self = request.uri().host() == Some(manifest::SELF_HOST);
        let allowed = self.allowed.iter().any(|pattern| {
            pattern.allows(request.uri()) && (!to_self || pattern.host() == manifest::SELF_HOST)
        });
        let app = self.app.clone();
        Box::new(async move {
            if !allowed {
                return Err(wasmtime_wasi_http::Error::HttpRequestDenied);
            }
            if request.uri().host() == Some(manifest::SELF_HOST) {
                let app = app.upgrade().ok_or(wasmtime_wasi_http::Error::DestinationUnavailable)?;
                let (parts, body) = request.into_parts();
                let body = body.collect().await?.to_bytes();
                let response = app
                    .handle(http::Request::from_parts(parts, body))
                    .await
                    .map_err(|_| wasmtime_wasi_http::Error::HttpResponseIncomplete)?;
                let response = response.map(|b| {
                    http_body_util::Full::new(b)
                        .map_err(|never: std::convert::Infallible| -> wasmtime_wasi_http::Error {
                            match never {}
                        })
                        .boxed_unsync()
                });
                return Ok((
                    response,
                    Box::new(async { Ok(()) }) as Box<dyn std::future::Future<Output = _> + Send>,
                ));
            }
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn std::future::Future<Output = _> + Send>,
            ))
        })
    }
}

// ---- the application ----

/// A request body as the harness hands it to a component.
pub type RequestBody = http_body_util::combinators::UnsyncBoxBody<Bytes, wasmtime_wasi_http::Error>;

/// A reply as the harness returns it: status, headers (lower-case names) and the whole body.
pub type Reply = http::Response<Bytes>;

impl App {
    /// Loads the application described by `manifest`, with `wasm` as every component's source (the
    /// harness builds it; spin.toml's `source` is where `spin build` puts it) and `variables`
    /// overriding application variable defaults (as `SPIN_VARIABLE_*` would).
    pub fn load(
        manifest: Manifest, wasm: &Path, variables: &[(&str, &str)], state_dir: &Path,
    ) -> wasmtime::Result<Arc<App>> {
        let mut config = Config::new();
        config.wasm_component_model_async(true);
        if std::env::var_os("DOCENT_HARNESS_POOLING").is_some() {
            config.allocation_strategy(wasmtime::InstanceAllocationStrategy::pooling());
        }
        let engine = Engine::new(&config)?;
        let component = Component::from_file(&engine, wasm)?;
        let mut linker: Linker<Host> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi::p3::add_to_linker(&mut linker)?;
        wasmtime_wasi_http::p3::add_to_linker(&mut linker)?;
        kv::add_to_linker::<_, HasSelf<Host>>(&mut linker, |host| host)?;
        vars::add_to_linker::<_, HasSelf<Host>>(&mut linker, |host| host)?;
        bindings::spin::sqlite::sqlite::add_to_linker::<_, HasSelf<Host>>(&mut linker, |host| {
            host
        })?;
        bindings::spin::postgres::postgres::add_to_linker::<_, HasSelf<Host>>(
            &mut linker,
            |host| host,
        )?;
        bindings::fermyon::spin::llm::add_to_linker::<_, HasSelf<Host>>(&mut linker, |host| host)?;
        let pre = linker.instantiate_pre(&component)?;
        let values = manifest.resolve_variables(variables).map_err(wasmtime::Error::msg)?;
        let mut components = HashMap::new();
        for spec in &manifest.components {
            let variables =
                manifest.component_variables(spec, &values).map_err(wasmtime::Error::msg)?;
            let mut spec = spec.clone();
            spec.allowed_outbound_hosts = spec
                .allowed_outbound_hosts
                .iter()
                .map(|pattern| pattern.resolve(&values))
                .collect::<Result<_, _>>()
                .map_err(|e| wasmtime::format_err!("component {}: {e}", spec.id))?;
            components.insert(
                spec.id.clone(),
                Arc::new(Loaded {
                    spec,
                    variables,
                    http: ServicePre::new(pre.clone())?,
                    cron: bindings::SpinHostPre::new(pre.clone())?,
                }),
            );
        }
        std::fs::create_dir_all(state_dir)?;
        Ok(Arc::new(App {
            engine,
            components,
            manifest,
            kv: KvData::default(),
            sqlite_dir: state_dir.to_path_buf(),
            sqlite_pool: sql::Pool::default(),
            llm: Arc::default(),
        }))
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Where the application's SQLite database `label` is (created when a component first opens
    /// it).
    pub fn sqlite_path(&self, label: &str) -> PathBuf {
        sql::database_path(&self.sqlite_dir, label)
    }

    /// The test model behind Spin's LLM interface.
    pub fn llm(&self) -> &llm::TestLlm {
        &self.llm
    }

    /// The loaded component named `name` and a fresh store for one instance of it.
    fn component_with_store(
        self: &Arc<Self>, name: &str,
    ) -> wasmtime::Result<(Arc<Loaded>, Store<Host>)> {
        let component = self
            .components
            .get(name)
            .ok_or_else(|| wasmtime::format_err!("no component {name}"))?
            .clone();
        let store = self.store(&component);
        Ok((component, store))
    }

    fn store(self: &Arc<Self>, component: &Arc<Loaded>) -> Store<Host> {
        let mut wasi = WasiCtx::builder();
        wasi.inherit_stderr();
        let host = Host {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            http: WasiHttpCtx::new(),
            hooks: Outbound {
                app: Arc::downgrade(self),
                allowed: component.spec.allowed_outbound_hosts.clone(),
            },
            component: component.clone(),
            kv: self.kv.clone(),
            sqlite_dir: self.sqlite_dir.clone(),
            sqlite_pool: self.sqlite_pool.clone(),
            llm: self.llm.clone(),
        };
        Store::new(&self.engine, host)
    }

    /// The component the manifest routes `path` to.
    pub fn route(&self, path: &str) -> Option<&str> {
        self.manifest.route(path)
    }

    /// Serves one request in a fresh instance of the routed component. Returns as soon as the
    /// response is complete; work the component goes on with in the background (a drain it started)
    /// keeps running on the runtime until the instance has no task left.
    pub async fn handle(
        self: &Arc<Self>, request: http::Request<Bytes>,
    ) -> wasmtime::Result<Reply> {
        self.handle_streaming(request.map(|body| {
            http_body_util::Full::new(body)
                .map_err(|never: std::convert::Infallible| -> wasmtime_wasi_http::Error {
                    match never {}
                })
                .boxed_unsync()
        }))
        .await
    }

    /// [`App::handle`] with the request body streamed to the component as it arrives, as Spin's
    /// HTTP trigger does (a client that sends less than it promised is the component's to time
    /// out).
    pub async fn handle_streaming(
        self: &Arc<Self>, request: http::Request<RequestBody>,
    ) -> wasmtime::Result<Reply> {
        let Some(id) = self.route(request.uri().path()) else {
            // Spin answers unrouted paths itself, with a bare 404.
            return Ok(http::Response::builder().status(404).body(Bytes::new())?);
        };
        let component = self.components[id].clone();
        let mut store = self.store(&component);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let app = self.clone();
        tokio::spawn(async move {
            let result = async {
                let service = component.http.instantiate_async(&mut store).await?;
                store
                    .run_concurrent(async move |accessor| -> wasmtime::Result<()> {
                        let mut hooks = Outbound { app: Arc::downgrade(&app), allowed: Vec::new() };
                        let (request, _io) =
                            wasmtime_wasi_http::p3::Request::from_http(&mut hooks, request);
                        let response = match service.handle(accessor, request).await? {
                            Ok(response) => response,
                            Err(code) => {
                                let _ = tx.send(Err(wasmtime::format_err!(
                                    "the component failed the request: {code:?}"
                                )));
                                return Ok(());
                            }
                        };
                        let response = accessor
                            .with(|mut access| response.into_http(&mut access, async { Ok(()) }))?;
                        let (parts, body) = response.into_parts();
                        // The body is written by the guest's own tasks, which run while we wait
                        // here.
                        let body = body
                            .collect()
                            .await
                            .map_err(|e| wasmtime::format_err!("response body: {e:?}"))?
                            .to_bytes();
                        let _ = tx.send(Ok(http::Response::from_parts(parts, body)));
                        // Background work (a drain kicked by this request) runs to its end.
                        poll_fn(|cx| accessor.poll_no_interesting_tasks(cx)).await;
                        Ok(())
                    })
                    .await?
            }
            .await;
            if let Err(error) = result {
                eprintln!("[spin harness] {error:?}");
            }
        });
        rx.await.map_err(|_| {
            wasmtime::format_err!("the instance ended without a response (trap?); see stderr")
        })?
    }

    /// Instantiates `component` for HTTP in a fresh store and drops it: the per-request
    /// instantiation cost, for docs/BENCHMARKS.md.
    pub async fn instantiate_only(self: &Arc<Self>, component: &str) -> wasmtime::Result<()> {
        let (component, mut store) = self.component_with_store(component)?;
        component.http.instantiate_async(&mut store).await?;
        Ok(())
    }

    /// Fires the manifest's cron trigger(s) for `component` once, as spin-trigger-cron does on its
    /// schedule, and waits until the instance has finished.
    pub async fn cron(self: &Arc<Self>, component: &str) -> wasmtime::Result<Result<(), String>> {
        let (component, mut store) = self.component_with_store(component)?;
        let timestamp =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
        let guest = component.cron.instantiate_async(&mut store).await?;
        store
            .run_concurrent(async move |accessor| -> wasmtime::Result<Result<(), String>> {
                let outcome = guest
                    .call_handle_cron_event(
                        accessor,
                        bindings::fermyon::spin_cron::cron_types::Metadata { timestamp },
                    )
                    .await?;
                poll_fn(|cx| accessor.poll_no_interesting_tasks(cx)).await;
                Ok(outcome.map_err(
                    |bindings::fermyon::spin_cron::cron_types::Error::Other(message)| message,
                ))
            })
            .await?
    }

    /// Fires a cron event the way spin-trigger-cron 0.3.0 does (its `src/lib.rs`): instantiate,
    /// look the export up through bindings generated from the plugin's synchronous WIT, call it
    /// with `call_async` on the store, and drop the instance once it returns (no waiting for
    /// background tasks).
    pub async fn cron_as_plugin_calls_it(
        self: &Arc<Self>, component: &str,
    ) -> wasmtime::Result<Result<(), String>> {
        let (component, mut store) = self.component_with_store(component)?;
        let timestamp =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
        let instance = component.cron.instance_pre().instantiate_async(&mut store).await?;
        let cron = cron_plugin::CronPlugin::new(&mut store, &instance)?;
        let outcome = cron
            .call_handle_cron_event(
                &mut store,
                cron_plugin::fermyon::spin_cron::cron_types::Metadata { timestamp },
            )
            .await?;
        Ok(outcome
            .map_err(|cron_plugin::fermyon::spin_cron::cron_types::Error::Other(message)| message))
    }

    /// Runs every cron trigger of the manifest on its schedule until the returned handle is
    /// dropped.
    pub fn start_cron(self: &Arc<Self>, tick: Duration) -> tokio::task::JoinHandle<()> {
        let app = self.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(tick);
            loop {
                interval.tick().await;
                for trigger in &app.manifest.crons {
                    if let Err(error) = app.cron(&trigger.component).await {
                        eprintln!("[spin harness] cron {}: {error:?}", trigger.component);
                    }
                }
            }
        })
    }
}

/// Builds the Spin component (`cargo build --target wasm32-wasip2 --release -p docent-spin`) and
/// returns the path of its `.wasm`.
pub fn build_component(repo_root: &Path) -> Result<PathBuf, String> {
    let installed =
        std::process::Command::new("rustup").args(["target", "list", "--installed"]).output();
    if let Ok(output) = installed {
        if output.status.success()
            && !String::from_utf8_lossy(&output.stdout).lines().any(|l| l.trim() == "wasm32-wasip2")
        {
            return Err("the wasm32-wasip2 Rust target is missing: run `rustup target add wasm32-wasip2` (infra/scripts/setup.sh does)".into());
        }
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(cargo)
        .current_dir(repo_root)
        .args(["build", "--target", "wasm32-wasip2", "--release", "-p", "docent-spin"])
        .status()
        .map_err(|e| format!("running cargo: {e}"))?;
    if !status.success() {
        return Err(format!(
            "cargo build --target wasm32-wasip2 --release -p docent-spin failed ({status})"
        ));
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root.join("target"));
    let wasm = target_dir.join("wasm32-wasip2/release/docent_spin.wasm");
    wasm.exists().then_some(wasm.clone()).ok_or_else(|| format!("{} was not built", wasm.display()))
}

/// A loopback HTTP server in front of the application (for load tests and HTTP clients).
pub async fn serve(app: Arc<App>, listener: tokio::net::TcpListener) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else { continue };
        let app = app.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
                    let app = app.clone();
                    async move {
                        let (mut parts, body) = request.into_parts();
                        let body = body
                            .map_err(|_| wasmtime_wasi_http::Error::HttpProtocolError)
                            .boxed_unsync();
                        // Spin's trigger tells the component who connected, over any value the
                        // client sent.
                        if let Ok(value) = peer.to_string().parse() {
                            parts.headers.insert("spin-client-addr", value);
                        }
                        // As Spin's HTTP trigger does, the guest sees the absolute URL: scheme,
                        // and authority from the Host header (wasi:http carries no Host header).
                        if let (None, Some(host)) = (
                            parts.uri.authority(),
                            parts.headers.get(http::header::HOST).and_then(|h| h.to_str().ok()),
                        ) {
                            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
                            if let Ok(uri) = format!("http://{host}{path}").parse() {
                                parts.uri = uri;
                            }
                        }
                        let reply = match app
                            .handle_streaming(http::Request::from_parts(parts, body))
                            .await
                        {
                            Ok(reply) => reply,
                            Err(error) => http::Response::builder()
                                .status(500)
                                .body(Bytes::from(format!("{error:?}")))
                                .expect("a 500"),
                        };
                        Ok::<_, hyper::Error>(reply.map(http_body_util::Full::new))
                    }
                });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}
