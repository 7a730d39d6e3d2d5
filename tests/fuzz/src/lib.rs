//! Fuzz targets: every parser that takes bytes from outside Docent, each behind `fn(&[u8])`.
//!
//! A target must not panic on any input, and checks what must hold of its parser's output (a
//! chunk within its budget, a decision that does not depend on how the input was split). The
//! AFL++ driver in `afl/` runs them (infra/scripts/fuzz.sh); `tests/regressions.rs` runs every
//! input kept in `corpus/<target>/` (seeds and the inputs that once failed) in the test command.

use docent_core::content::chunk::{chunk_blocks, ChunkingOptions};
use docent_core::content::extract::extract_html;
use docent_core::content::html::tokenize;
use docent_core::content::markdown::markdown_blocks;
use docent_core::crawl::robots::Robots;
use docent_core::crawl::schedule::{parse_w3c_datetime, CronSchedule};
use docent_core::crawl::sitemap;
use docent_core::crawl::urls::{normalize, parse_crawl_url, resolve_link};
use docent_core::escalation::signature::{
    sign_hex_hmac, verify_github, verify_hex_hmac, verify_standard_webhook, StandardWebhook,
};
use docent_core::escalation::webhook::GithubDocs;
use docent_core::llm::sse::EventParser;

/// A fuzz target: any bytes in, no panic out.
pub type Target = fn(&[u8]);

/// Every target, by name (the name is the corpus folder and the driver's argument).
pub const TARGETS: &[(&str, Target)] = &[
    ("robots", robots),
    ("sitemap", sitemap),
    ("html", html),
    ("chunker", chunker),
    ("sse", sse),
    ("webhook", webhook),
    ("cron", cron),
    ("url", url),
    ("json_bodies", json_bodies),
    ("mcp", mcp),
];

pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

pub fn names() -> Vec<&'static str> {
    TARGETS.iter().map(|(n, _)| *n).collect()
}

fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// robots.txt: parsing, and matching the paths it names and one made up.
pub fn robots(data: &[u8]) {
    let body = text(data);
    let robots = Robots::parse(&body);
    for agent in ["DocentBot", "docentbot/1.0", "*", ""] {
        let _ = robots.crawl_delay(agent);
        for path in ["/", "/private/x.html?q=1", "/%E2%82%AC/", ""] {
            let _ = robots.is_allowed(agent, path);
        }
    }
    // Each line's own path, as a URL path, too.
    for line in body.lines().take(64) {
        if let Some((_, path)) = line.split_once(':') {
            let _ = robots.is_allowed("DocentBot", path.trim());
        }
    }
}

/// Sitemaps: gzip or plain bodies, then the XML.
pub fn sitemap(data: &[u8]) {
    let decoded = sitemap::decode_body(data).unwrap_or_else(|_| data.to_vec());
    let parsed = sitemap::parse(&text(&decoded));
    for entry in parsed.pages.iter().chain(&parsed.sitemaps) {
        if let Some(lastmod) = &entry.lastmod {
            let _ = parse_w3c_datetime(lastmod);
        }
    }
}

/// HTML: the tokenizer, then main-content extraction and its markdown.
pub fn html(data: &[u8]) {
    let page = text(data);
    let _ = tokenize(&page).len();
    let extracted = extract_html(&page);
    let share = extracted.link_list_share;
    assert!((0.0..=1.0).contains(&share) || extracted.blocks.is_empty(), "link share {share}");
    let _ = extracted.markdown();
}

/// Chunking: markdown into blocks into chunks; no chunk is empty.
pub fn chunker(data: &[u8]) {
    let blocks = markdown_blocks(&text(data));
    let options = ChunkingOptions { max_tokens: 64, overlap_tokens: 8 };
    for chunk in chunk_blocks(&blocks, options) {
        assert!(!chunk.text.trim().is_empty(), "an empty chunk from {blocks:?}");
    }
}

/// Server-sent events from a model: the same events whether the stream arrives whole or in pieces.
pub fn sse(data: &[u8]) {
    let stream = text(data);
    let whole = EventParser::default().feed(&stream);
    let mut pieces = EventParser::default();
    let mut split = Vec::new();
    let mut rest: &str = &stream;
    let mut size = 1;
    while !rest.is_empty() {
        let mut at = size.min(rest.len());
        while !rest.is_char_boundary(at) {
            at += 1;
        }
        let (piece, tail) = rest.split_at(at);
        split.extend(pieces.feed(piece));
        rest = tail;
        size = size % 7 + 1;
    }
    assert_eq!(whole, split, "the events depend on how the stream was split");
}

/// Webhook signatures (headers from the input) and GitHub push payloads.
pub fn webhook(data: &[u8]) {
    let input = text(data);
    let mut lines = input.splitn(4, '\n');
    let (id, timestamp, signature) = (lines.next(), lines.next(), lines.next());
    let body = lines.next().unwrap_or("").as_bytes();
    let secrets = vec!["whsec_ZG9jZW50IGZ1enogc2VjcmV0".to_string(), "plain secret".to_string()];
    let headers = StandardWebhook { id, timestamp, signature };
    let _ = verify_standard_webhook(&headers, body, &secrets, 1_800_000_000);
    let _ = verify_github(signature, body, &secrets);
    let _ = verify_hex_hmac(signature.unwrap_or(""), body, &secrets);
    // A signature made with the secret always verifies.
    let good = sign_hex_hmac("plain secret", body);
    assert!(verify_hex_hmac(&good, body, &secrets).is_ok());
    if let Ok(payload) = serde_json::from_slice::<serde_json::Value>(data) {
        let docs = GithubDocs {
            base_url: "https://docs.example.com/".into(),
            path: "docs/".into(),
            page_extension: ".html".into(),
        };
        let actions = docs.push_actions(&payload);
        for url in actions.recrawl.iter().chain(&actions.deleted) {
            assert!(url.starts_with("https://docs.example.com/"), "{url}");
        }
    }
}

/// Cron expressions of scheduled sources.
pub fn cron(data: &[u8]) {
    if let Ok(schedule) = CronSchedule::parse(&text(data)) {
        let _ = schedule.due(1_800_000_000_000, 1_800_000_000_000 + 3_600_000);
        let _ = schedule.matches(1_800_000_060_000);
    }
}

/// URL normalisation: a normalised crawl URL normalises to itself.
pub fn url(data: &[u8]) {
    let input = text(data);
    if let Ok(parsed) = parse_crawl_url(&input) {
        let again = normalize(parsed.clone());
        assert_eq!(parsed, again, "normalising twice changed {input:?}");
        let _ = resolve_link(&parsed, &input);
    }
    let base = url::Url::parse("https://docs.example.com/guide/intro.html").unwrap();
    if let Some(link) = resolve_link(&base, &input) {
        assert!(matches!(link.scheme(), "http" | "https" | "file"), "{link}");
    }
}

thread_local! {
    /// Docent with an empty index in memory (nothing left behind), natively: the MCP route goes
    /// through the same dispatch as on the edge.
    static DOCENT: docent_cli::platform::Native = {
        use docent_cli::platform::{Database, Sqlite};
        let database = Database::Sqlite(Sqlite::in_memory().unwrap());
        let config = docent_core::config::Config {
            admin_key: Some("fuzz-admin-key".into()),
            ..docent_core::config::Config::default()
        };
        docent_cli::platform::Native::open(database, config).unwrap()
    };
}

fn post(path: &str, body: &[u8]) -> http::Response<docent_functions::Body> {
    let request = http::Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json")
        .header("authorization", "Bearer fuzz-admin-key")
        .body(bytes::Bytes::copy_from_slice(body))
        .unwrap();
    DOCENT.with(|docent| pollster::block_on(docent_functions::handle(docent, request)))
}

/// The JSON bodies of every route that reads one, through `http::parse_json` as the handlers read
/// them (a 4xx with a message, never a panic), and a crawl request's validation.
pub fn json_bodies(data: &[u8]) {
    use docent_functions::http::parse_json;
    let request = http::Request::builder()
        .method("POST")
        .uri("/")
        .header("content-type", "application/json")
        .body(bytes::Bytes::copy_from_slice(data))
        .unwrap();
    let _ = parse_json::<docent_functions::chat::ChatRequest>(&request);
    let _ = parse_json::<docent_functions::openai::CompletionRequest>(&request);
    let _ = parse_json::<docent_functions::feedback::FeedbackRequest>(&request);
    let _ = parse_json::<docent_functions::tickets::CreateTicket>(&request);
    let _ = parse_json::<docent_functions::tickets::UpdateTicket>(&request);
    let _ = parse_json::<docent_functions::webhooks::UrlDelivery>(&request);
    let _ = parse_json::<docent_functions::crawl::ReplayRequest>(&request);
    if let Ok(crawl) = parse_json::<docent_functions::crawl::CrawlRequest>(&request) {
        let config = docent_core::config::Config::default();
        if let Ok(job) = crawl.validate(&config, "job".into()) {
            assert!(job.max_pages >= 1, "{job:?}");
        }
    }
}

/// MCP JSON-RPC messages and batches.
pub fn mcp(data: &[u8]) {
    let status = post("/mcp", data).status();
    assert!(status.as_u16() < 500, "/mcp answered {status}");
}

/// Where the inputs kept for each target are (`corpus/<target>/`: seeds and regressions).
pub fn corpus_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}
