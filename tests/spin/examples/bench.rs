//! Figures for docs/BENCHMARKS.md ("Spin components under wasmtime"): instantiation per request
//! (InstancePre; pooling allocator with DOCENT_HARNESS_POOLING=1), in-process requests, and
//! requests/s served by the harness on loopback, for `/api/search` and for a static file (the no-op
//! baseline: routed, instantiated, answered without touching configuration or storage).
//!
//!   cargo run --release -p docent-spin-harness --example bench [-- <seconds per load run>]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use docent_e2e::{repo_root, FixtureServer};
use docent_spin_harness::{build_component, serve, App, Manifest};

const QUERIES: [&str; 6] = [
    "database+is+locked",
    "change+the+dashboard+port",
    "retry+backoff+jitter",
    "run+on+windows",
    "memory+required",
    "kill+a+long+job",
];

fn get(path: &str) -> http::Request<Bytes> {
    http::Request::builder().uri(format!("http://localhost{path}")).body(Bytes::new()).unwrap()
}

/// `clients` threads with keep-alive connections send GETs to `paths` (in turn) for `seconds`.
fn load(base: &str, paths: &[String], clients: usize, seconds: u64) -> (f64, Vec<Duration>) {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..clients)
        .map(|i| {
            let (stop, done, base, paths) =
                (stop.clone(), done.clone(), base.to_string(), paths.to_vec());
            std::thread::spawn(move || {
                let agent: ureq::Agent =
                    ureq::Agent::config_builder().http_status_as_error(false).build().into();
                let mut latencies = Vec::new();
                let mut n = i;
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let mut response = agent
                        .get(format!("{base}{}", paths[n % paths.len()]))
                        .call()
                        .expect("request");
                    assert_eq!(response.status(), 200);
                    response.body_mut().read_to_vec().expect("body");
                    latencies.push(started.elapsed());
                    done.fetch_add(1, Ordering::Relaxed);
                    n += 1;
                }
                latencies
            })
        })
        .collect();
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    let mut latencies: Vec<Duration> =
        threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    latencies.sort();
    (done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64(), latencies)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn main() {
    let seconds: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    let wasm = build_component(&repo_root()).expect("component");
    let size = std::fs::metadata(&wasm).unwrap().len();
    println!("component: {} ({size} bytes)", wasm.display());

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let state = docent_e2e::TempDir::new("docent-spin-bench");
    let manifest =
        Manifest::parse(&std::fs::read_to_string(repo_root().join("spin.toml")).unwrap()).unwrap();
    let variables = [
        ("docent_allow_private_hosts", "true"),
        ("docent_search_rate_limit", "0"),
        ("docent_search_cache_seconds", "0"),
    ];
    let loaded = Instant::now();
    let app = App::load(manifest, &wasm, &variables, &state.path).expect("load");
    println!("load (compile the component, link, InstancePre): {:?}", loaded.elapsed());
    let pooling = std::env::var_os("DOCENT_HARNESS_POOLING").is_some();

    // Instantiation alone, fresh store each time.
    runtime.block_on(async {
        for _ in 0..200 {
            app.instantiate_only("retrieve").await.unwrap();
        }
        let n = 5_000;
        let started = Instant::now();
        for _ in 0..n {
            app.instantiate_only("retrieve").await.unwrap();
        }
        println!(
            "instantiate per request ({}): {:.1} µs",
            if pooling { "pooling allocator" } else { "on-demand allocator" },
            started.elapsed().as_secs_f64() * 1e6 / n as f64
        );
    });

    // Index the fixture site through the API.
    let site = FixtureServer::start(repo_root().join("tests/fixtures/site"));
    runtime.block_on(async {
        let body = serde_json::json!({"url": site.url("/index.html")}).to_string();
        let request = http::Request::builder()
            .method("POST")
            .uri("http://localhost/api/crawls")
            .header("authorization", "Bearer docent-dev-admin-key")
            .header("content-type", "application/json")
            .body(Bytes::from(body))
            .unwrap();
        let reply = app.handle(request).await.unwrap();
        let id = serde_json::from_slice::<serde_json::Value>(reply.body()).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        loop {
            let status = app
                .handle(
                    http::Request::builder()
                        .uri(format!("http://localhost/api/crawls/{id}"))
                        .header("authorization", "Bearer docent-dev-admin-key")
                        .body(Bytes::new())
                        .unwrap(),
                )
                .await
                .unwrap();
            let job: serde_json::Value = serde_json::from_slice(status.body()).unwrap();
            if job["status"] == "done" {
                println!("indexed: {}", job["pages"]);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });

    // In-process requests, one at a time (no HTTP server, no client).
    runtime.block_on(async {
        for (name, path) in [
            ("static file", "/widget.js".to_string()),
            ("/healthz", "/healthz".to_string()),
            ("/api/search", format!("/api/search?q={}", QUERIES[0])),
        ] {
            let n = 2_000;
            let started = Instant::now();
            for _ in 0..n {
                let reply = app.handle(get(&path)).await.unwrap();
                assert_eq!(reply.status(), 200);
            }
            println!(
                "in-process, sequential, {name}: {:.0} µs per request",
                started.elapsed().as_secs_f64() * 1e6 / n as f64
            );
        }
    });

    // Served on loopback.
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(serve(app.clone(), listener));
    let search: Vec<String> = QUERIES.iter().map(|q| format!("/api/search?q={q}&k=5")).collect();
    for clients in [1, 8, 32] {
        for (name, paths) in [
            ("static file (baseline)", vec!["/widget.js".to_string()]),
            ("/api/search", search.clone()),
        ] {
            let (rate, latencies) = load(&base, &paths, clients, seconds);
            println!(
                "loopback, {clients} clients, {name}: {rate:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
                percentile(&latencies, 0.5).as_secs_f64() * 1e3,
                percentile(&latencies, 0.99).as_secs_f64() * 1e3
            );
        }
    }
}
