#![allow(dead_code)] // shared by several test binaries, each using part of it
//! The Spin application under the harness, served on a loopback port so the scenario drives it with
//! the same HTTP client as the Worker's end-to-end test.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use docent_e2e::repo_root;
use docent_spin_harness::{build_component, serve, App, Manifest};

pub const ADMIN: (&str, &str) = ("Authorization", "Bearer docent-dev-admin-key");

/// The component, built once per test binary.
pub fn component() -> PathBuf {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| build_component(&repo_root()).unwrap_or_else(|e| panic!("{e}"))).clone()
}

pub struct SpinApp {
    pub app: Arc<App>,
    pub runtime: tokio::runtime::Runtime,
    pub base: String,
    _state: docent_e2e::TempDir,
}

impl SpinApp {
    /// Loads the repository's spin.toml with `variables` set (names as in spin.toml), webhook
    /// secret variables declared for `webhook_sources`, and serves it on a free loopback port.
    pub fn start(variables: &[(&str, &str)], webhook_sources: &[&str]) -> SpinApp {
        let mut manifest = Self::manifest();
        for source in webhook_sources {
            manifest.declare_variable(
                &format!("docent_webhook_secret_{source}"),
                "",
                &["webhooks"],
            );
        }
        Self::start_with(manifest, variables)
    }

    /// The repository's spin.toml.
    pub fn manifest() -> Manifest {
        let text = std::fs::read_to_string(repo_root().join("spin.toml")).expect("spin.toml");
        Manifest::parse(&text).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn start_with(manifest: Manifest, variables: &[(&str, &str)]) -> SpinApp {
        let state = docent_e2e::TempDir::new("docent-spin");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .expect("runtime");
        let app = App::load(manifest, &component(), variables, &state.path)
            .unwrap_or_else(|e| panic!("loading the components: {e:?}"));
        let listener =
            runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        runtime.spawn(serve(app.clone(), listener));
        SpinApp { app, runtime, base, _state: state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// `host:port` of a Postgres URL: what `docent_database_host` (the components' allowed outbound
/// Postgres host) must say for the components to reach it.
pub fn postgres_host(url: &str) -> String {
    let config: tokio_postgres::Config = url.parse().expect("a Postgres URL");
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(name)) => name.clone(),
        other => panic!("a TCP host in {url}, not {other:?}"),
    };
    format!("{host}:{}", config.get_ports().first().copied().unwrap_or(5432))
}

/// Runs one statement on the Postgres database at `url` and returns the first column of each row as
/// an integer (for counting what the components wrote).
pub fn postgres_numbers(url: &str, sql: &str) -> Vec<i64> {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("connecting to the test database");
        tokio::spawn(connection);
        client.query(sql, &[]).await.expect(sql).iter().map(|row| row.get::<_, i64>(0)).collect()
    })
}
