//! `docent`: Docent's pipeline on the command line, for operators and offline measurement.
//!
//! ```text
//! docent extract <file.html> [--url URL]
//! docent index <dir-or-url> --db <path> [--exclude GLOB]... [--include GLOB]... [--max-pages N] [--max-depth N]
//! docent search --db <path> [--k N] [--mode auto|hybrid|lexical|vector] [--jsonl [--timings]] [QUERY...]
//! docent ask --db <path> [--jsonl [--timings]] [QUESTION...]
//! docent robots check --jsonl
//! docent migrate --db <path-or-postgres-url>
//! ```
//!
//! `--db` is a SQLite file or a `postgres://` URL (Postgres with pgvector).

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use docent_core::config::{Config, SearchMode};
use docent_core::content::extract::extract_html;
use docent_core::domain::CrawlMessage;
use docent_core::retrieval::search::{query_terms, snippet};
use docent_functions::chat;
use docent_functions::crawl::{self, CrawlRequest, Delivery};
use docent_functions::retrieve::{retrieve, SearchOptions};
use docent_functions::Platform;
use docent_store::api::{CrawlStore, DocumentStore, VectorStore};

use docent_cli::platform::{open_database, Native};
use docent_store::SqlStore;

const USAGE: &str = "usage:
  docent extract <file.html> [--url URL]
  docent index <dir-or-url> --db <path> [--exclude GLOB]... [--include GLOB]... [--max-pages N] [--max-depth N]
  docent search --db <path> [--k N] [--mode auto|hybrid|lexical|vector] [--jsonl [--timings]] [QUERY...]
  docent ask --db <path> [--jsonl [--timings]] [QUESTION...]
                                 (the chat's answer; stdin: {\"q\"} per line; stdout: {\"answer\", \"sources\", \"mode\"})
  docent robots check --jsonl    (stdin: {\"robots\", \"agent\", \"url\"} per line; stdout: {\"allowed\": bool})
  docent migrate --db <path>     (creates or upgrades the store's schema)
--db is a SQLite file or a postgres:// URL.";

/// Attempts per URL before it is dead-lettered, as the Worker's queue does with `max_retries`.
const MAX_ATTEMPTS: u32 = 3;
/// Page limit of a CLI index run unless --max-pages says otherwise.
const CLI_MAX_PAGES: u32 = 100_000;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("extract") => extract(&args[1..]),
        Some("index") => index(&args[1..]),
        Some("search") => search(&args[1..]),
        Some("ask") => ask(&args[1..]),
        Some("robots") => robots(&args[1..]),
        Some("migrate") => migrate(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("docent: {message}");
            ExitCode::from(2)
        }
    }
}

/// Parsed flags: positional arguments, `--name value` options (repeatable) and `--switch`es.
struct Args {
    positional: Vec<String>,
    options: Vec<(String, String)>,
    switches: Vec<String>,
}

impl Args {
    fn parse(args: &[String], with_value: &[&str], switches: &[&str]) -> Result<Args, String> {
        let mut parsed = Args { positional: vec![], options: vec![], switches: vec![] };
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            if let Some(name) = arg.strip_prefix("--") {
                let (name, inline) = match name.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_string())),
                    None => (name, None),
                };
                if with_value.contains(&name) {
                    let value = inline
                        .or_else(|| iter.next().cloned())
                        .ok_or_else(|| format!("--{name} needs a value"))?;
                    parsed.options.push((name.to_string(), value));
                } else if switches.contains(&name) {
                    parsed.switches.push(name.to_string());
                } else {
                    return Err(format!("unknown option --{name}\n{USAGE}"));
                }
            } else {
                parsed.positional.push(arg.clone());
            }
        }
        Ok(parsed)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.options.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.options.iter().filter(|(n, _)| n == name).map(|(_, v)| v.clone()).collect()
    }

    fn number(&self, name: &str) -> Result<Option<u32>, String> {
        self.get(name)
            .map(|v| v.parse().map_err(|_| format!("--{name} must be a whole number, got `{v}`")))
            .transpose()
    }
}

fn config() -> Result<Config, String> {
    let mut config =
        Config::from_lookup(|name| std::env::var(name).ok()).map_err(|e| e.to_string())?;
    // A local tool may read local files and crawl the operator's own network.
    config.allow_private_hosts = true;
    config.allow_file_urls = true;
    Ok(config)
}

fn extract(args: &[String]) -> Result<(), String> {
    let args = Args::parse(args, &["url"], &[])?;
    let [file] = args.positional.as_slice() else {
        return Err(format!("extract takes one file\n{USAGE}"));
    };
    let html = std::fs::read(file).map_err(|e| format!("reading {file}: {e}"))?;
    let page = extract_html(&String::from_utf8_lossy(&html));
    let mut out = std::io::stdout().lock();
    let markdown = page.markdown();
    writeln!(out, "{markdown}").map_err(|e| e.to_string())
}

/// The start URL for a directory or URL argument, and the files to seed when it is a directory.
fn start_point(target: &str) -> Result<(String, Vec<String>), String> {
    let path = Path::new(target);
    if !path.is_dir() {
        if target.contains("://") {
            return Ok((target.to_string(), Vec::new()));
        }
        return Err(format!("{target} is neither a directory nor a URL"));
    }
    let root = path.canonicalize().map_err(|e| format!("{target}: {e}"))?;
    let root_url = url::Url::from_directory_path(&root)
        .map_err(|_| format!("{target}: not an absolute path"))?;
    let (mut html, mut text) = (Vec::new(), Vec::new());
    collect_pages(&root, &mut html, &mut text).map_err(|e| format!("listing {target}: {e}"))?;
    // A directory with HTML pages is a built site: its markdown and text files are what the site
    // generator kept beside them (Sphinx's `_sources/*.rst.txt`, a copy of every page), or
    // `robots.txt`. They are indexed only if a page links them, as a crawl would find them.
    let mut files = if html.is_empty() { text } else { html };
    files.sort();
    let seeds = files
        .iter()
        .filter_map(|f| url::Url::from_file_path(f).ok())
        .map(|u| u.to_string())
        .collect();
    let start = if root.join("index.html").is_file() {
        root_url.join("index.html").map_err(|e| e.to_string())?
    } else {
        root_url
    };
    Ok((start.to_string(), seeds))
}

/// Every page-like file under `dir`: HTML files into `html`, markdown and plain text into `text`.
/// A directory is indexed as if a sitemap listed all of its pages, not only those reachable by links.
fn collect_pages(
    dir: &Path, html: &mut Vec<PathBuf>, text: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_pages(&path, html, text)?;
            continue;
        }
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("html" | "htm") => html.push(path),
            Some("md" | "markdown" | "txt") => text.push(path),
            _ => {}
        }
    }
    Ok(())
}

fn index(args: &[String]) -> Result<(), String> {
    let args = Args::parse(args, &["db", "exclude", "include", "max-pages", "max-depth"], &[])?;
    let [target] = args.positional.as_slice() else {
        return Err(format!("index takes one directory or URL\n{USAGE}"));
    };
    let db = args.get("db").ok_or_else(|| format!("index needs --db <path>\n{USAGE}"))?;
    let native = Native::open(open_database(db)?, config()?)?;
    let (start_url, seeds) = start_point(target)?;
    let max_pages = args.number("max-pages")?.unwrap_or(CLI_MAX_PAGES);
    let request = CrawlRequest {
        url: start_url,
        max_pages: Some(max_pages),
        max_depth: args.number("max-depth")?.or(Some(100)),
        include: args.all("include"),
        exclude: args.all("exclude"),
        priority: None,
        schedule: None,
    };
    let started = Instant::now();
    pollster::block_on(async {
        let chunks_before = native.store().counts().await.map_err(|e| e.to_string())?.chunks;
        let job = crawl::start_job(&native, request).await.map_err(|e| e.message)?;
        if !seeds.is_empty() {
            seed(&native, &job, &seeds).await?;
        }
        drain(&native).await;
        let status = native
            .store()
            .job(&job.id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the job vanished")?;
        let counts = native.store().counts().await.map_err(|e| e.to_string())?;
        let seconds = started.elapsed().as_secs_f64();
        let pages = status.pages;
        eprintln!(
            "indexed {} pages ({} unchanged, {} skipped, {} failed) of {} discovered in {:.1}s ({:.0} pages/s, {:.0} chunks/s); index: {} documents, {} chunks",
            pages.indexed,
            pages.unchanged,
            pages.skipped,
            pages.failed,
            pages.discovered,
            seconds,
            pages.fetched as f64 / seconds.max(1e-9),
            (counts.chunks - chunks_before) as f64 / seconds.max(1e-9),
            counts.documents,
            counts.chunks
        );
        for warning in crawl::warnings(&native, &status).await.map_err(|e| e.to_string())? {
            eprintln!("warning: {warning}");
        }
        // Nothing is left out silently: every page not indexed, with why.
        const LISTED: u32 = 20;
        let not_indexed =
            native.store().not_indexed(&job.id, LISTED).await.map_err(|e| e.to_string())?;
        for page in &not_indexed {
            eprintln!("{}: {} ({})", page.state, page.url, page.reason);
        }
        let unlisted = (pages.skipped + pages.failed).saturating_sub(not_indexed.len() as u64);
        if unlisted > 0 {
            eprintln!("… and {unlisted} more not indexed");
        }
        Ok(())
    })
}

/// Adds the directory's files as links of the start page (filtered by the job's globs), so that the
/// start page's message enqueues them.
async fn seed(
    native: &Native, job: &docent_core::domain::NewCrawlJob, seeds: &[String],
) -> Result<(), String> {
    let start = CrawlMessage::new(&job.id, &job.start_url, 0, job.priority);
    let scope = docent_core::crawl::urls::Scope::of(
        &url::Url::parse(&job.start_url).map_err(|e| e.to_string())?,
    );
    let filter = docent_core::crawl::urls::UrlFilter::new(&job.include, &job.exclude);
    let mut glob_matches = docent_core::crawl::globs::GlobMatches::default();
    let found: Vec<CrawlMessage> = seeds
        .iter()
        .filter_map(|s| docent_core::crawl::urls::parse_crawl_url(s).ok())
        .filter(|u| u.as_str() != job.start_url && filter.admits(&scope, u, &mut glob_matches))
        .map(|u| CrawlMessage::new(&job.id, u.as_str(), 1, job.priority))
        .collect();
    // A file only the listing finds (no page links to it) counts for the glob report too.
    native.store().record_glob_matches(&job.id, glob_matches).await.map_err(|e| e.to_string())?;
    let now = docent_core::ports::Clock::now_ms(native.clock());
    native
        .store()
        .add_discovered(&start, &found, job.max_pages, now)
        .await
        .map_err(|e| e.to_string())
}

/// Consumes the queue until it is empty, retrying failures like the platform queue would.
async fn drain(native: &Native) {
    let mut attempts: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    while let Some(message) = native.queue().pop() {
        match crawl::consume(native, &message).await {
            Delivery::Ack => {}
            // The CLI retries at once (the job is local and sequential); the store counts the
            // failures.
            Delivery::Retry { reason, .. } => {
                let n = attempts.entry(format!("{}\n{}", message.job, message.url)).or_insert(0);
                *n += 1;
                if *n < MAX_ATTEMPTS {
                    native.queue().push(message);
                } else {
                    eprintln!("docent: giving up on {}: {reason}", message.url);
                    crawl::dead_letter(native, &message).await;
                }
            }
        }
    }
}

/// Applies pending schema migrations (also done by every command that opens a store) and reports
/// the schema version.
fn migrate(args: &[String]) -> Result<(), String> {
    let args = Args::parse(args, &["db"], &[])?;
    let db = args.get("db").ok_or_else(|| format!("migrate needs --db <path>\n{USAGE}"))?;
    let store = SqlStore::new(open_database(db)?);
    let before = pollster::block_on(store.schema_version()).unwrap_or(0);
    pollster::block_on(store.ensure_schema()).map_err(|e| format!("migrating: {e}"))?;
    let after = pollster::block_on(store.schema_version()).map_err(|e| e.to_string())?;
    println!("schema version {after} ({} applied now)", after.saturating_sub(before));
    for (model, vectors) in pollster::block_on(store.centre_vectors()).map_err(|e| e.to_string())? {
        println!("centred the sign bits of {vectors} {model} vectors");
    }
    Ok(())
}

fn search(args: &[String]) -> Result<(), String> {
    let args = Args::parse(args, &["db", "k", "mode"], &["jsonl", "timings"])?;
    let k = args.number("k")?.unwrap_or(10).clamp(1, 100);
    let native = open_index(&args, "search")?;
    let mut options = SearchOptions::of(native.config());
    if let Some(mode) = args.get("mode") {
        options.mode = SearchMode::parse(mode).ok_or_else(|| {
            format!("--mode must be auto, hybrid, lexical or vector, not `{mode}`")
        })?;
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if args.switches.iter().any(|s| s == "jsonl") {
        let label = format!("{:?}", options.mode);
        each_line(&native, &label, args.switches.iter().any(|s| s == "timings"), |q| {
            let hits =
                pollster::block_on(retrieve(&native, q, k, options)).map_err(|e| e.to_string())?;
            let results: Vec<serde_json::Value> = hits
                .iter()
                .map(|h| serde_json::json!({"url": h.url, "title": h.title, "score": h.score}))
                .collect();
            Ok(serde_json::json!({"results": results}))
        })?;
    } else {
        let q = args.positional.join(" ");
        if q.trim().is_empty() {
            return Err(format!("give a query, or --jsonl to read queries from stdin\n{USAGE}"));
        }
        let terms = query_terms(&q);
        let hits =
            pollster::block_on(retrieve(&native, &q, k, options)).map_err(|e| e.to_string())?;
        for (i, hit) in hits.iter().enumerate() {
            writeln!(
                out,
                "{}. {} — {}\n   {}\n   {}\n",
                i + 1,
                hit.title,
                hit.heading,
                hit.url,
                snippet(&hit.text, &terms, 30)
            )
            .map_err(|e| e.to_string())?;
        }
    }
    out.flush().map_err(|e| e.to_string())
}

/// `docent ask`: the answer the chat gives (with no model configured, the extractive one), from
/// the same pipeline.
fn ask(args: &[String]) -> Result<(), String> {
    let args = Args::parse(args, &["db"], &["jsonl", "timings"])?;
    let native = open_index(&args, "ask")?;
    let answer = |q: &str| -> Result<serde_json::Value, String> {
        let answer = pollster::block_on(chat::answer(&native, q)).map_err(|e| e.message)?;
        let sources: Vec<serde_json::Value> = answer
            .sources
            .iter()
            .map(|s| serde_json::json!({"url": s.url, "title": s.title, "heading": s.heading}))
            .collect();
        Ok(serde_json::json!({"answer": answer.text, "sources": sources, "mode": answer.mode}))
    };
    if args.switches.iter().any(|s| s == "jsonl") {
        return each_line(&native, "ask", args.switches.iter().any(|s| s == "timings"), answer);
    }
    let q = args.positional.join(" ");
    if q.trim().is_empty() {
        return Err(format!("give a question, or --jsonl to read questions from stdin\n{USAGE}"));
    }
    let reply = answer(&q)?;
    println!("{}", reply["answer"].as_str().unwrap_or_default());
    if let Some(sources) = reply["sources"].as_array().filter(|s| !s.is_empty()) {
        println!();
        for (i, source) in sources.iter().enumerate() {
            println!("[{}] {}", i + 1, source["url"].as_str().unwrap_or_default());
        }
    }
    Ok(())
}

/// The index `--db` names, which must exist (a Postgres URL is checked on connecting), opened for
/// `command`.
fn open_index(args: &Args, command: &str) -> Result<Native, String> {
    let db = args.get("db").ok_or_else(|| format!("{command} needs --db <path>\n{USAGE}"))?;
    if !db.starts_with("postgres") && !Path::new(db).exists() {
        return Err(format!("{db} does not exist; build it with `docent index`"));
    }
    Native::open(open_database(db)?, config()?)
}

/// Answers `{"q": "..."}` lines from stdin with one JSON line each on stdout, in order; a line that
/// cannot be read or answered gets `{"error": "..."}` and the next is still answered. With
/// `timings`, the latency percentiles go to stderr.
fn each_line(
    native: &Native, label: &str, timings: bool,
    mut answer: impl FnMut(&str) -> Result<serde_json::Value, String>,
) -> Result<(), String> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut took_ms = Vec::new();
    for (n, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line.map_err(|e| format!("reading stdin: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let query = serde_json::from_str::<serde_json::Value>(&line)
            .map_err(|e| format!("line {}: {e}", n + 1))
            .and_then(|v| {
                v["q"]
                    .as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("line {}: expected {{\"q\": \"...\"}}", n + 1))
            });
        let started = std::time::Instant::now();
        let reply = query.and_then(|q| answer(&q));
        took_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        let reply = reply.unwrap_or_else(|e| serde_json::json!({"error": e}));
        writeln!(out, "{reply}").map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())?;
    if timings && !took_ms.is_empty() {
        took_ms.sort_by(f64::total_cmp);
        let at = |p: f64| {
            took_ms[((p * took_ms.len() as f64).ceil() as usize).clamp(1, took_ms.len()) - 1]
        };
        let chunks = pollster::block_on(native.store().counts()).map_err(|e| e.to_string())?.chunks;
        eprintln!(
            "{} queries over {chunks} chunks ({label}): p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
            took_ms.len(),
            at(0.5),
            at(0.95),
            at(1.0)
        );
    }
    Ok(())
}

/// One `robots check` line: `{"robots", "agent", "url"}` → whether the agent may fetch the URL.
fn robots_decision(line: &str) -> Result<bool, String> {
    let input: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let field = |name: &str| {
        input[name].as_str().ok_or_else(|| format!("expected a string field `{name}`"))
    };
    let (body, agent, url) = (field("robots")?, field("agent")?, field("url")?);
    let target = match url::Url::parse(url) {
        Ok(parsed) => parsed[url::Position::BeforePath..url::Position::AfterQuery].to_string(),
        Err(_) if url.starts_with('/') => url.to_string(),
        Err(e) => return Err(format!("url `{url}`: {e}")),
    };
    Ok(docent_core::crawl::robots::Robots::parse(body).is_allowed(agent, &target))
}

/// `docent robots check --jsonl`: the RFC 9309 matcher, one decision per input line, in order.
fn robots(args: &[String]) -> Result<(), String> {
    let args = Args::parse(args, &[], &["jsonl"])?;
    if args.positional.first().map(String::as_str) != Some("check")
        || !args.switches.iter().any(|s| s == "jsonl")
    {
        return Err(format!("robots takes `check --jsonl`\n{USAGE}"));
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (n, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line.map_err(|e| format!("reading stdin: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        // A line it cannot use gets an error of its own; the lines after it are still answered.
        let reply = match robots_decision(&line) {
            Ok(allowed) => serde_json::json!({"allowed": allowed}),
            Err(error) => serde_json::json!({"error": format!("line {}: {error}", n + 1)}),
        };
        writeln!(out, "{reply}").map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())
}
