//! Helpers for end-to-end tests: a fixture web server on loopback and a Docent instance started with
//! the README's run command (`infra/scripts/dev.sh`) on a free port with its own state directory.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// A static file server for fixture sites. It answers `If-None-Match` with 304 while `validators` is
/// on, and records every request path so tests can assert how often each page was fetched.
pub struct FixtureServer {
    pub port: u16,
    pub validators: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<(String, u16, Instant)>>>,
    /// Paths answered with a fixed status instead of their file (fault injection).
    forced: Arc<Mutex<HashMap<String, u16>>>,
    /// Milliseconds every page response is held back (a slow site).
    pub delay_ms: Arc<std::sync::atomic::AtomicU64>,
}

impl FixtureServer {
    pub fn start(root: PathBuf) -> FixtureServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fixture server");
        let port = listener.local_addr().unwrap().port();
        let validators = Arc::new(AtomicBool::new(true));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let forced = Arc::new(Mutex::new(HashMap::new()));
        let delay_ms = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (v, r, f, d) = (validators.clone(), requests.clone(), forced.clone(), delay_ms.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (root, v, r, f, d) = (root.clone(), v.clone(), r.clone(), f.clone(), d.clone());
                std::thread::spawn(move || {
                    let delay = d.load(Ordering::SeqCst);
                    if delay > 0 {
                        std::thread::sleep(Duration::from_millis(delay));
                    }
                    let _ = serve(stream, &root, &v, &r, &f);
                });
            }
        });
        FixtureServer { port, validators, requests, forced, delay_ms }
    }

    /// Answers `path` with `status` (and no body) from now on.
    pub fn force_status(&self, path: &str, status: u16) {
        self.forced.lock().unwrap().insert(path.to_string(), status);
    }

    /// Requests for pages, leaving out robots.txt and sitemap.xml.
    pub fn page_requests(&self) -> Vec<(String, u16)> {
        self.requests().into_iter().filter(|(path, _)| path != "/robots.txt" && path != "/sitemap.xml").collect()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Requests so far as (path, status).
    pub fn requests(&self) -> Vec<(String, u16)> {
        self.requests.lock().unwrap().iter().map(|(p, s, _)| (p.clone(), *s)).collect()
    }

    /// When each request for `path` arrived.
    pub fn request_times(&self, path: &str) -> Vec<Instant> {
        self.requests.lock().unwrap().iter().filter(|(p, _, _)| p == path).map(|(_, _, t)| *t).collect()
    }

    /// Serves `path` normally again.
    pub fn clear_forced(&self, path: &str) {
        self.forced.lock().unwrap().remove(path);
    }

    pub fn clear_requests(&self) {
        self.requests.lock().unwrap().clear();
    }
}

fn serve(
    stream: TcpStream,
    root: &Path,
    validators: &AtomicBool,
    log: &Mutex<Vec<(String, u16, Instant)>>,
    forced: &Mutex<HashMap<String, u16>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/").split('?').next().unwrap_or("/").to_string();
    let mut file = root.join(path.trim_start_matches('/'));
    if file.is_dir() {
        file = file.join("index.html");
    }
    let forced_status = forced.lock().unwrap().get(&path).copied();
    let (status, body, content_type, etag) = match std::fs::read(&file) {
        _ if forced_status.is_some() => (forced_status.unwrap_or(500), Vec::new(), "text/plain", None),
        Ok(body) if !path.contains("..") => {
            let etag = format!("\"{:x}\"", body.iter().fold(0xcbf29ce484222325u64, |h, b| (h ^ *b as u64).wrapping_mul(0x100000001b3)));
            let content_type = match file.extension().and_then(|e| e.to_str()) {
                Some("html") => "text/html; charset=utf-8",
                Some("css") => "text/css",
                Some("txt") => "text/plain",
                Some("xml") => "application/xml",
                _ => "application/octet-stream",
            };
            if validators.load(Ordering::SeqCst) && headers.get("if-none-match") == Some(&etag) {
                (304, Vec::new(), content_type, Some(etag))
            } else {
                (200, body, content_type, Some(etag))
            }
        }
        _ => (404, b"not found".to_vec(), "text/plain", None),
    };
    log.lock().unwrap().push((path, status, Instant::now()));
    let mut out = stream;
    let reason = match status {
        200 => "OK",
        304 => "Not Modified",
        404 => "Not Found",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let mut head = format!("HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nConnection: close\r\n");
    if forced_status.is_some_and(|s| s == 429 || s == 503) {
        head.push_str("Retry-After: 1\r\n");
    }
    if let Some(etag) = etag.filter(|_| validators.load(Ordering::SeqCst)) {
        head.push_str(&format!("ETag: {etag}\r\n"));
    }
    if status != 304 {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    out.write_all(&body)?;
    out.flush()
}

/// Docent started by the README run command; stopped (its whole process group) on drop.
pub struct Docent {
    pub base: String,
    child: Child,
    _state: TempDir,
    log_path: PathBuf,
}

impl Docent {
    /// Starts `infra/scripts/dev.sh` with the already-built Worker (the test script builds it first).
    pub fn start(extra_env: &[(&str, &str)]) -> Docent {
        Docent::start_with_state(TempDir::new("docent-e2e-state"), extra_env)
    }

    /// Stops this instance (its whole process group) and starts a new one on the same state directory,
    /// as an operator restarting the runtime would.
    pub fn restart(mut self, extra_env: &[(&str, &str)]) -> Docent {
        self.stop();
        let state = std::mem::replace(&mut self._state, TempDir { path: PathBuf::new() });
        Docent::start_with_state(state, extra_env)
    }

    fn start_with_state(state: TempDir, extra_env: &[(&str, &str)]) -> Docent {
        let root = repo_root();
        if !root.join("functions/cloudflare/build/worker/shim.mjs").exists() {
            let status = Command::new(root.join("infra/scripts/build-worker.sh")).status().expect("run build-worker.sh");
            assert!(status.success(), "building the Worker failed");
        }
        let port = free_port();
        let log_path = state.path.with_extension("log");
        let log = std::fs::File::create(&log_path).expect("log file");
        let mut command = Command::new(root.join("infra/scripts/dev.sh"));
        command
            .env("PORT", port.to_string())
            .env("DOCENT_STATE_DIR", &state.path)
            .env("DOCENT_SKIP_BUILD", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        for (k, v) in extra_env {
            command.env(k, v);
        }
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().expect("start dev.sh");
        let docent = Docent { base: format!("http://127.0.0.1:{port}"), child, _state: state, log_path };
        docent.wait_ready(Duration::from_secs(90));
        docent
    }

    fn wait_ready(&self, timeout: Duration) {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Ok(response) = client().get(&format!("{}/healthz", self.base)).call() {
                if response.status() == 200 {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!("Docent did not answer /healthz within {timeout:?}; log:\n{}", self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Docent {
    fn stop(&mut self) {
        // wrangler starts workerd as a child: stop the whole process group, then reap.
        let pgid = self.child.id();
        let _ = Command::new("kill").args(["-TERM", "--", &format!("-{pgid}")]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{pgid}")]).status();
        let _ = self.child.wait();
    }
}

impl Drop for Docent {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_file(&self.log_path);
    }
}

/// A directory removed on drop.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).expect("temp dir");
        TempDir { path }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if self.path.as_os_str().is_empty() {
            return; // moved out (see Docent::restart)
        }
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Polls `GET /api/crawls/{id}` until the job is done or failed (or `timeout` passes) and returns it.
pub fn wait_for_job(docent: &Docent, admin: (&str, &str), id: &str, timeout: Duration) -> serde_json::Value {
    let deadline = Instant::now() + timeout;
    loop {
        let job = request("GET", &docent.url(&format!("/api/crawls/{id}")), &[admin], None).json();
        if job["status"] == "done" || job["status"] == "failed" || Instant::now() > deadline {
            return job;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// An HTTP client that returns 4xx/5xx responses instead of errors.
pub fn client() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// A response read whole: status, headers (lower-case names) and body.
pub struct Reply {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// Server-sent events as (name, JSON data).
    pub fn events(&self) -> Vec<(String, serde_json::Value)> {
        self.body
            .split("\n\n")
            .filter(|block| !block.trim().is_empty())
            .map(|block| {
                let mut name = "message".to_string();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(n) = line.strip_prefix("event: ") {
                        name = n.to_string();
                    } else if let Some(d) = line.strip_prefix("data: ") {
                        data.push_str(d);
                    }
                }
                (name, serde_json::from_str(&data).unwrap_or_else(|e| panic!("event data is not JSON ({e}): {data}")))
            })
            .collect()
    }
}

/// Sends a request; `body` is sent as JSON when present.
pub fn request(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> Reply {
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let request = builder.body(body.unwrap_or("").as_bytes().to_vec()).expect("request");
    let mut response = client().run(request).unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_ascii_lowercase(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let mut body = String::new();
    // A 304 has no body, whatever its headers say.
    if status != 304 {
        response.body_mut().as_reader().read_to_string(&mut body).unwrap_or_else(|e| panic!("{method} {url}: reading the body: {e}"));
    }
    Reply { status, headers, body }
}
