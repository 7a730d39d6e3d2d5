//! Helpers for end-to-end tests: a fixture web server on loopback and a Docent instance started
//! with the README's run command (`infra/scripts/dev.sh`) on a free port with its own state
//! directory.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub mod fake_llm;

/// The checkout the tests run in. Read at run time (cargo sets `CARGO_MANIFEST_DIR` for the test
/// process), not with `env!`: the target directory is shared between checkouts, and a library
/// compiled in another one would still carry that checkout's path.
pub fn repo_root() -> PathBuf {
    Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

/// The Python of the test clients' venv (infra/scripts/setup.sh creates it).
pub fn venv_python() -> PathBuf {
    let venv = std::env::var("DOCENT_VENV")
        .unwrap_or_else(|_| format!("{}/.cache/docent/venv", std::env::var("HOME").unwrap()));
    PathBuf::from(format!("{venv}/bin/python"))
}

/// Prometheus' `promtool`: on the PATH, or where infra/scripts/setup.sh unpacks it.
pub fn promtool() -> PathBuf {
    let unpacked = PathBuf::from(format!(
        "{}/.cache/docent/prometheus/usr/bin/promtool",
        std::env::var("HOME").unwrap()
    ));
    if unpacked.exists() {
        unpacked
    } else {
        PathBuf::from("promtool")
    }
}

/// `GET /metrics` read by Prometheus' own Python parser (tests/clients/metrics_check.py).
pub struct Scrape {
    /// Family name (without `_total`) → type.
    pub families: serde_json::Map<String, serde_json::Value>,
    /// (sample name, labels, value).
    pub samples: Vec<(String, std::collections::BTreeMap<String, String>, f64)>,
    /// The text as served.
    pub text: String,
}

impl Scrape {
    /// Scrapes `url` with `key`; panics with the parser's error if it refuses the text.
    pub fn read(url: &str, key: &str) -> Scrape {
        let output = std::process::Command::new(venv_python())
            .arg(repo_root().join("tests/clients/metrics_check.py"))
            .args([url, key])
            .output()
            .expect("run tests/clients/metrics_check.py (infra/scripts/setup.sh creates the venv)");
        assert!(
            output.status.success(),
            "the Prometheus parser refused /metrics: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let parsed: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("metrics_check.py prints JSON");
        let samples = parsed["samples"]
            .as_array()
            .expect("samples")
            .iter()
            .map(|s| {
                let labels = s["labels"]
                    .as_object()
                    .expect("labels")
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect();
                (s["name"].as_str().unwrap().to_string(), labels, s["value"].as_f64().unwrap())
            })
            .collect();
        Scrape {
            families: parsed["families"].as_object().expect("families").clone(),
            samples,
            text: parsed["text"].as_str().unwrap_or_default().to_string(),
        }
    }

    /// The sum of the samples named `name` whose labels include `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|(n, l, _)| {
                n == name && labels.iter().all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, _, v)| v)
            .sum()
    }

    /// Whether `later` shows the same counts as this scrape, apart from the scrapes themselves
    /// (`/metrics` requests and the statements they run) and the gauges: nothing else landed in
    /// between.
    pub fn settled_with(&self, later: &Scrape) -> bool {
        let counts = |scrape: &Scrape| -> Vec<(String, String, u64)> {
            scrape
                .samples
                .iter()
                .filter(|(name, labels, _)| {
                    (name.ends_with("_total") || name.ends_with("_count"))
                        && labels.get("route").map(String::as_str) != Some("/metrics")
                        // Scrapes run statements too, and read the alerts from KV.
                        && !name.starts_with("docent_sql_")
                        && name != "docent_platform_operations_total"
                })
                .map(|(name, labels, value)| (name.clone(), format!("{labels:?}"), *value as u64))
                .collect()
        };
        counts(self) == counts(later)
    }

    /// `promtool check metrics` on the text: the exposition's lint, as Prometheus' own tool has it.
    pub fn lint(&self) {
        use std::io::Write;
        let mut child = std::process::Command::new(promtool())
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run promtool (infra/scripts/setup.sh unpacks it)");
        child.stdin.take().unwrap().write_all(self.text.as_bytes()).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "promtool check metrics: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// A fault a fixture server injects for one path.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer `status` (with `Retry-After` if given) to the next `times` requests, or to all of
    /// them.
    Status { status: u16, retry_after: Option<u32>, times: Option<u32> },
    /// Answer with a redirect to `location`.
    Redirect { status: u16, location: String },
    /// Hold the next `times` responses back by `ms` (all of them if `None`).
    Slow { ms: u64, times: Option<u32> },
    /// Serve `bytes` bytes of HTML (larger than a crawler should accept).
    Oversized { bytes: usize },
    /// Serve broken markup: unclosed tags, stray bytes, an unterminated comment.
    Malformed,
}

/// One request as the fixture server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub status: u16,
    pub arrived: Instant,
    pub user_agent: String,
}

#[derive(Default)]
struct ServerState {
    requests: Mutex<Vec<Seen>>,
    faults: Mutex<HashMap<String, Fault>>,
    in_flight: std::sync::atomic::AtomicUsize,
    max_in_flight: std::sync::atomic::AtomicUsize,
    /// Page requests (not robots.txt or sitemaps) still to answer with 503: a site-wide outage.
    outage: std::sync::atomic::AtomicU32,
}

/// A static file server for fixture sites, written for the tests, that can also misbehave: it
/// injects [`Fault`]s per path and site-wide outages, answers `If-None-Match` with 304 while
/// `validators` is on, and records every request (with its arrival time) and the most requests it
/// ever had in flight.
pub struct FixtureServer {
    pub port: u16,
    pub validators: Arc<AtomicBool>,
    /// Milliseconds every response is held back (a slow site).
    pub delay_ms: Arc<std::sync::atomic::AtomicU64>,
    state: Arc<ServerState>,
}

impl FixtureServer {
    pub fn start(root: PathBuf) -> FixtureServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fixture server");
        let port = listener.local_addr().unwrap().port();
        let validators = Arc::new(AtomicBool::new(true));
        let delay_ms = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let state = Arc::new(ServerState::default());
        let (v, d, st) = (validators.clone(), delay_ms.clone(), state.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (root, v, d, st) = (root.clone(), v.clone(), d.clone(), st.clone());
                std::thread::spawn(move || {
                    let arrived = Instant::now();
                    let in_flight = InFlight::enter(&st);
                    let _ =
                        serve(stream, &root, &v, d.load(Ordering::SeqCst), &st, arrived, in_flight);
                });
            }
        });
        FixtureServer { port, validators, delay_ms, state }
    }

    /// Answers `path` with `status` (and no body) from now on; 429 and 503 carry `Retry-After: 1`.
    pub fn force_status(&self, path: &str, status: u16) {
        let retry_after = matches!(status, 429 | 503).then_some(1);
        self.inject(path, Fault::Status { status, retry_after, times: None });
    }

    pub fn inject(&self, path: &str, fault: Fault) {
        self.state.faults.lock().unwrap().insert(path.to_string(), fault);
    }

    /// The next `requests` page requests, whatever their path, answer 503.
    pub fn outage(&self, requests: u32) {
        self.state.outage.store(requests, Ordering::SeqCst);
    }

    /// Requests for pages, leaving out robots.txt and sitemap.xml.
    pub fn page_requests(&self) -> Vec<(String, u16)> {
        self.requests()
            .into_iter()
            .filter(|(path, _)| path != "/robots.txt" && path != "/sitemap.xml")
            .collect()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Requests so far as (path, status).
    pub fn requests(&self) -> Vec<(String, u16)> {
        self.seen().into_iter().map(|r| (r.path, r.status)).collect()
    }

    /// Every request so far, in order of arrival.
    pub fn seen(&self) -> Vec<Seen> {
        let mut seen = self.state.requests.lock().unwrap().clone();
        seen.sort_by_key(|r| r.arrived);
        seen
    }

    /// When each request for `path` arrived.
    pub fn request_times(&self, path: &str) -> Vec<Instant> {
        self.seen().into_iter().filter(|r| r.path == path).map(|r| r.arrived).collect()
    }

    /// The most requests that were ever being answered at the same moment.
    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }

    /// The most requests that arrived within any `window`.
    pub fn max_in_window(&self, window: Duration) -> usize {
        let times: Vec<Instant> = self.seen().into_iter().map(|r| r.arrived).collect();
        (0..times.len())
            .map(|i| times[i..].iter().take_while(|t| **t < times[i] + window).count())
            .max()
            .unwrap_or(0)
    }

    /// Panics unless the requests so far kept to `concurrency` in flight and to `rate` per second
    /// with `burst` on top in any one second: the politeness settings a crawl was given.
    pub fn assert_polite(&self, rate: f64, burst: usize, concurrency: usize) {
        assert!(
            self.max_in_flight() <= concurrency,
            "{} requests in flight at once (limit {concurrency})",
            self.max_in_flight()
        );
        let busiest_second = self.max_in_window(Duration::from_secs(1));
        assert!(
            busiest_second <= rate as usize + burst,
            "{busiest_second} requests within one second (rate {rate}/s, burst {burst})"
        );
    }

    /// Serves `path` normally again.
    pub fn clear_forced(&self, path: &str) {
        self.state.faults.lock().unwrap().remove(path);
    }

    pub fn clear_requests(&self) {
        self.state.requests.lock().unwrap().clear();
        self.state.max_in_flight.store(0, Ordering::SeqCst);
    }
}

/// A request being answered. It stops counting as in flight just before its response is written, so
/// a client that starts its next request as soon as it has the answer never looks concurrent.
struct InFlight<'a>(&'a ServerState);

impl<'a> InFlight<'a> {
    fn enter(state: &'a ServerState) -> InFlight<'a> {
        let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        state.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(state)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The fault to apply to this request, counting down faults limited to a number of requests.
fn take_fault(state: &ServerState, path: &str) -> Option<Fault> {
    let mut faults = state.faults.lock().unwrap();
    let fault = faults.get_mut(path)?;
    let remaining = match fault {
        Fault::Status { times: Some(n), .. } | Fault::Slow { times: Some(n), .. } => n,
        _ => return Some(fault.clone()),
    };
    if *remaining == 0 {
        return None;
    }
    *remaining -= 1;
    Some(fault.clone())
}

fn serve(
    stream: TcpStream, root: &Path, validators: &AtomicBool, delay_ms: u64, state: &ServerState,
    arrived: Instant, in_flight: InFlight<'_>,
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
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .split('?')
        .next()
        .unwrap_or("/")
        .to_string();
    let mut fault = take_fault(state, &path);
    let is_page = path != "/robots.txt" && !path.starts_with("/sitemap");
    if fault.is_none()
        && is_page
        && state
            .outage
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    {
        fault = Some(Fault::Status { status: 503, retry_after: None, times: None });
    }
    let mut delay = delay_ms;
    if let Some(Fault::Slow { ms, .. }) = &fault {
        delay += ms;
    }
    if delay > 0 {
        std::thread::sleep(Duration::from_millis(delay));
    }
    let mut file = root.join(path.trim_start_matches('/'));
    if file.is_dir() {
        file = file.join("index.html");
    }
    let mut extra_headers = Vec::new();
    let (status, body, content_type, etag) = match (&fault, std::fs::read(&file)) {
        (Some(Fault::Status { status, retry_after, .. }), _) => {
            if let Some(seconds) = retry_after {
                extra_headers.push(format!("Retry-After: {seconds}"));
            }
            (*status, Vec::new(), "text/plain", None)
        }
        (Some(Fault::Redirect { status, location }), _) => {
            extra_headers.push(format!("Location: {location}"));
            (*status, Vec::new(), "text/plain", None)
        }
        (Some(Fault::Oversized { bytes }), _) => {
            let mut body = b"<html><body><main><h1>Huge</h1><p>".to_vec();
            body.resize(*bytes, b'x');
            (200, body, "text/html; charset=utf-8", None)
        }
        (Some(Fault::Malformed), _) => {
            let mut body = b"<html><head><title>Broken page</title><body><main><h1>Broken <b>markup<p>Still readable text about recovery".to_vec();
            body.extend_from_slice(&[0xff, 0xfe, 0x00, b'<']);
            body.extend_from_slice(
                b"<div <<span class='x'>><table><tr><td>cell<!-- never closed <p>tail",
            );
            (200, body, "text/html; charset=utf-8", None)
        }
        (_, Ok(body)) if !path.contains("..") => {
            let etag = format!(
                "\"{:x}\"",
                body.iter().fold(0xcbf29ce484222325u64, |h, b| (h ^ *b as u64)
                    .wrapping_mul(0x100000001b3))
            );
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
    let user_agent = headers.get("user-agent").cloned().unwrap_or_default();
    state.requests.lock().unwrap().push(Seen { path, status, arrived, user_agent });
    let mut out = stream;
    let reason = match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        404 => "Not Found",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nConnection: close\r\n"
    );
    for header in extra_headers {
        head.push_str(&format!("{header}\r\n"));
    }
    if let Some(etag) = etag.filter(|_| validators.load(Ordering::SeqCst)) {
        head.push_str(&format!("ETag: {etag}\r\n"));
    }
    if status != 304 {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    drop(in_flight);
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
    /// Held while this instance runs: one local runtime per test binary at a time. Runtimes started
    /// at the same moment race for workerd's internal ports, and timing assertions need the cores.
    exclusive: Option<std::sync::MutexGuard<'static, ()>>,
}

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Set in a test process that [`in_loopback_namespace`] started.
const NAMESPACE_MARK: &str = "DOCENT_E2E_IN_NAMESPACE";

/// Runs the calling test again in a network namespace that has only loopback, with `hosts` as its
/// `/etc/hosts` (so a name like `docs.example.test` can stand for a public site served on
/// 127.0.0.1), and returns `true` in that inner run: the caller's body then runs there, where no
/// request can leave the machine. In the outer run it waits for the inner one, panics if it
/// failed, and returns `false`. Needs `unshare` and root (the test command runs as root).
pub fn in_loopback_namespace(test: &str, hosts: &str) -> bool {
    if std::env::var_os(NAMESPACE_MARK).is_some() {
        return true;
    }
    // One runtime at a time, as `Docent::start` keeps it within this process.
    let _exclusive = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let dir = TempDir::new("docent-namespace");
    let hosts_file = dir.path.join("hosts");
    std::fs::write(&hosts_file, format!("127.0.0.1 localhost\n::1 localhost\n{hosts}\n")).unwrap();
    let output = Command::new("unshare")
        .args(["--mount", "--net", "--", "sh", "-c"])
        .arg("ip link set lo up && mount --bind \"$1\" /etc/hosts && shift && exec \"$@\"")
        .arg("sh")
        .arg(&hosts_file)
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(NAMESPACE_MARK, "1")
        .output()
        .expect("run unshare (util-linux)");
    let (stdout, stderr) =
        (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{test} failed in its network namespace ({}):\n{stdout}\n{stderr}",
        output.status
    );
    false
}

impl Docent {
    /// Starts `infra/scripts/dev.sh` with the already-built Worker (the test script builds it
    /// first).
    pub fn start(extra_env: &[(&str, &str)]) -> Docent {
        let exclusive = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Docent::start_with_state(TempDir::new("docent-e2e-state"), extra_env, exclusive)
    }

    /// Stops this instance (its whole process group) and starts a new one on the same state
    /// directory, as an operator restarting the runtime would.
    pub fn restart(mut self, extra_env: &[(&str, &str)]) -> Docent {
        self.stop();
        let state = std::mem::replace(&mut self._state, TempDir { path: PathBuf::new() });
        let exclusive = self.exclusive.take().expect("a running instance holds the lock");
        Docent::start_with_state(state, extra_env, exclusive)
    }

    fn start_with_state(
        state: TempDir, extra_env: &[(&str, &str)], exclusive: std::sync::MutexGuard<'static, ()>,
    ) -> Docent {
        let root = repo_root();
        if !root.join("functions/cloudflare/build/worker/shim.mjs").exists() {
            let status = Command::new(root.join("infra/scripts/build-worker.sh"))
                .status()
                .expect("run build-worker.sh");
            assert!(status.success(), "building the Worker failed");
        }
        // free_port's port was free when asked, but another process may bind it before wrangler
        // does: then wrangler exits with "Address already in use" and a new port is tried.
        const PORT_TRIES: usize = 3;
        let timeout = Duration::from_secs(90);
        let (mut state, mut exclusive) = (state, exclusive);
        for attempt in 1..=PORT_TRIES {
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
            let mut docent = Docent {
                base: format!("http://127.0.0.1:{port}"),
                child,
                _state: state,
                log_path,
                exclusive: Some(exclusive),
            };
            match docent.wait_ready(timeout) {
                Ok(()) => return docent,
                Err(log) if attempt < PORT_TRIES && log.contains("Address already in use") => {
                    docent.stop();
                    state = std::mem::replace(&mut docent._state, TempDir { path: PathBuf::new() });
                    exclusive =
                        docent.exclusive.take().expect("a starting instance holds the lock");
                }
                Err(log) => {
                    panic!("Docent did not answer /healthz within {timeout:?}; log:\n{log}")
                }
            }
        }
        unreachable!("the last try panics or returns")
    }

    /// Waits until `/healthz` answers 200; the log if the runtime exits first or time runs out.
    fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Ok(response) = client().get(&format!("{}/healthz", self.base)).call() {
                if response.status() == 200 {
                    return Ok(());
                }
            }
            if let Ok(Some(_)) = self.child.try_wait() {
                return Err(self.log());
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        Err(self.log())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Starts a crawl of `start_url` and waits (up to 90 s) until it has ended; the job as the
    /// API reports it.
    pub fn crawl_to_end(&self, start_url: &str) -> serde_json::Value {
        let body = serde_json::json!({ "url": start_url }).to_string();
        let started = request("POST", &self.url("/api/crawls"), &[ADMIN, JSON], Some(&body));
        assert_eq!(started.status, 202, "starting a crawl: {}", started.body);
        let id = started.json()["id"].as_str().expect("a job id").to_string();
        wait_for_job(self, ADMIN, &id, Duration::from_secs(90))
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
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
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

/// Polls `GET /api/crawls/{id}` until the job is done or failed (or `timeout` passes) and returns
/// it.
/// The development admin key's header, which local runs accept.
pub const ADMIN: (&str, &str) = ("Authorization", "Bearer docent-dev-admin-key");
/// The header of a JSON request body.
pub const JSON: (&str, &str) = ("Content-Type", "application/json");

pub fn wait_for_job(
    docent: &Docent, admin: (&str, &str), id: &str, timeout: Duration,
) -> serde_json::Value {
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
                (
                    name,
                    serde_json::from_str(&data)
                        .unwrap_or_else(|e| panic!("event data is not JSON ({e}): {data}")),
                )
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
        response
            .body_mut()
            .as_reader()
            .read_to_string(&mut body)
            .unwrap_or_else(|e| panic!("{method} {url}: reading the body: {e}"));
    }
    Reply { status, headers, body }
}

/// Small fixture sites written into a directory, for tests that need many pages of their own.
pub mod site {
    use std::path::Path;

    /// Writes `body` at `path` (e.g. `/docs/index.html`) under `root`, creating directories.
    pub fn write(root: &Path, path: &str, body: &str) {
        let file = root.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, body).unwrap();
    }

    /// A page with `text` in its main content and a list of `links`.
    pub fn page(title: &str, text: &str, links: &[String]) -> String {
        let links: String =
            links.iter().map(|l| format!(r#"<li><a href="{l}">{l}</a></li>"#)).collect();
        format!("<html><head><title>{title}</title></head><body><main><h1>{title}</h1><p>{text}</p><ul>{links}</ul></main></body></html>")
    }

    /// A section `/{name}/` whose index links to `pages` pages, each with a word of its own.
    pub fn section(root: &Path, name: &str, pages: usize) {
        let links: Vec<String> = (1..=pages).map(|i| format!("page-{i}.html")).collect();
        write(
            root,
            &format!("/{name}/index.html"),
            &page(&format!("Section {name}"), "The index of this section.", &links),
        );
        for i in 1..=pages {
            let text = format!("Page {i} of section {name} describes the topic {name}topic{i} in a sentence or two.");
            write(
                root,
                &format!("/{name}/page-{i}.html"),
                &page(&format!("{name} {i}"), &text, &[]),
            );
        }
    }
}
