//! Spin's LLM interface as Docent's model runtime (`DOCENT_LLM_PROVIDERS=spin-llm`,
//! `DOCENT_EMBEDDINGS=spin-llm`), against the harness's deterministic test model: chat answers come
//! from it with their sources and are accounted for; when inference fails, the answer falls back to
//! the extractive one; a model missing from a component's `ai_models` is refused, as Spin refuses
//! it.

mod support;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use docent_core::config::llm::DEFAULT_SPIN_LLM_MODEL;
use docent_core::config::DEFAULT_SPIN_EMBEDDING_MODEL;
use docent_e2e::{repo_root, request, FixtureServer};
use docent_spin_harness::llm::answer_of;
use support::{SpinApp, ADMIN};

const JSON: (&str, &str) = ("Content-Type", "application/json");

/// The app with spin-llm answering chat and embedding pages and queries, its models allowed where
/// used (`chat_models`: the components allowed the inference model), and the fixture site crawled.
fn start(chat_models: &[&str]) -> (SpinApp, FixtureServer) {
    let site = FixtureServer::start(repo_root().join("tests/fixtures/site"));
    let mut manifest = SpinApp::manifest();
    manifest.allow_ai_model(DEFAULT_SPIN_LLM_MODEL, chat_models);
    manifest.allow_ai_model(DEFAULT_SPIN_EMBEDDING_MODEL, &["chat", "retrieve", "crawl"]);
    let spin = SpinApp::start_with(
        manifest,
        &[
            ("docent_allow_private_hosts", "true"),
            ("docent_llm_providers", "spin-llm"),
            ("docent_embeddings", "spin-llm"),
            ("docent_llm_backoff_base_ms", "10"),
            ("docent_llm_backoff_max_ms", "20"),
        ],
    );
    let body = serde_json::json!({"url": site.url("/index.html")}).to_string();
    let started = request("POST", &spin.url("/api/crawls"), &[ADMIN, JSON], Some(&body));
    assert_eq!(started.status, 202, "{}", started.body);
    let id = started.json()["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let job = request("GET", &spin.url(&format!("/api/crawls/{id}")), &[ADMIN], None).json();
        if job["status"] == "done" {
            break;
        }
        assert!(
            Instant::now() < deadline && job["status"] != "failed",
            "the crawl did not finish: {job}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    (spin, site)
}

struct Answer {
    sources: serde_json::Value,
    text: String,
    done: serde_json::Value,
}

fn chat(spin: &SpinApp, question: &str) -> Answer {
    let reply = request(
        "POST",
        &spin.url("/api/chat"),
        &[JSON],
        Some(&serde_json::json!({"message": question}).to_string()),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let events = reply.events();
    assert_eq!(events.first().map(|(n, _)| n.as_str()), Some("sources"), "{events:?}");
    assert_eq!(events.last().map(|(n, _)| n.as_str()), Some("done"), "{events:?}");
    Answer {
        sources: events[0].1["sources"].clone(),
        text: events
            .iter()
            .filter(|(n, _)| n == "delta")
            .map(|(_, d)| d["text"].as_str().unwrap())
            .collect(),
        done: events.last().unwrap().1.clone(),
    }
}

/// Whether the answer's sources include `url` (hybrid ranking with the test embeddings may reorder
/// them).
fn cites(answer: &Answer, url: &str) -> bool {
    answer.sources.as_array().unwrap().iter().any(|s| s["url"] == url)
}

#[test]
fn chat_answers_from_spins_llm_and_falls_back_when_it_fails() {
    let (spin, site) = start(&["chat"]);
    let llm = spin.app.llm();
    let embedded_by_crawl = *llm.embedded.lock().unwrap();
    assert!(
        embedded_by_crawl >= 7,
        "every page's chunks were embedded by the Spin model: {embedded_by_crawl}"
    );

    let answer = chat(&spin, "Does Harbor run on Windows?");
    assert_eq!(answer.text, answer_of(DEFAULT_SPIN_LLM_MODEL), "the whole answer, as one piece");
    assert!(cites(&answer, &site.url("/faq.html#windows")), "{}", answer.sources);
    assert_eq!(answer.done["mode"], "llm", "{}", answer.done);
    assert_eq!(
        (answer.done["usage"]["provider"].as_str(), answer.done["usage"]["model"].as_str()),
        (Some("spin-llm"), Some(DEFAULT_SPIN_LLM_MODEL))
    );
    assert!(
        answer.done["usage"]["prompt_tokens"].as_u64().unwrap() > 50,
        "the host's token counts: {}",
        answer.done
    );
    // The model saw one instruct prompt holding the question and the passage that answers it.
    let prompts = llm.prompts.lock().unwrap().clone();
    let (model, prompt, max_tokens) = prompts.last().unwrap();
    assert_eq!(model, DEFAULT_SPIN_LLM_MODEL);
    assert!(
        prompt.starts_with("<s>[INST] <<SYS>>")
            && prompt.ends_with("Does Harbor run on Windows? [/INST]"),
        "{prompt}"
    );
    assert!(prompt.contains("WSL2"), "the Windows passage is in the prompt: {prompt}");
    assert_eq!(
        *max_tokens,
        Some(700),
        "the answer budget (DOCENT_LLM_MAX_ANSWER_TOKENS) is passed on"
    );
    // A question longer than a keyword query is searched both ways (the default, auto): the Spin
    // model embeds it.
    let before = *llm.embedded.lock().unwrap();
    let search = request(
        "GET",
        &spin.url("/api/search?q=which+operating+systems+does+harbor+support+besides+linux"),
        &[],
        None,
    );
    assert_eq!(search.status, 200, "{}", search.body);
    assert!(*llm.embedded.lock().unwrap() > before, "the question was embedded for hybrid search");

    // The model goes down: retried (a runtime error is transient), then the extractive answer.
    llm.failing.store(true, Ordering::SeqCst);
    let asked_before = llm.prompts.lock().unwrap().len();
    let fallback = chat(&spin, "What license is Harbor under?");
    assert_eq!(fallback.done["mode"], "fallback", "{}", fallback.done);
    assert!(fallback.text.contains("extractive answer"), "{}", fallback.text);
    assert!(cites(&fallback, &site.url("/faq.html#license")), "{}", fallback.sources);
    assert_eq!(
        llm.prompts.lock().unwrap().len() - asked_before,
        3,
        "one attempt and DOCENT_LLM_RETRIES (2) retries"
    );

    let usage = request("GET", &spin.url("/api/usage"), &[ADMIN], None).json();
    let row = usage["days"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["provider"] == "spin-llm")
        .cloned()
        .unwrap_or_else(|| panic!("{usage}"));
    assert_eq!((row["requests"].as_u64(), row["failures"].as_u64()), (Some(4), Some(3)), "{row}");
    assert_eq!(row["model"], DEFAULT_SPIN_LLM_MODEL);
    assert!(row["prompt_tokens"].as_u64().unwrap() > 50, "{row}");

    // /metrics, read with Prometheus' parser, counts the same calls and tokens as the usage table
    // and the answer's own usage.
    let metrics = docent_e2e::Scrape::read(&spin.url("/metrics"), "docent-dev-admin-key");
    let model = [("gen_ai_provider_name", "spin-llm")];
    let calls =
        |outcome: &str| metrics.value("docent_llm_calls_total", &[model[0], ("outcome", outcome)]);
    assert_eq!((calls("ok"), calls("error")), (1.0, 3.0), "{}", metrics.text);
    let tokens = |kind: &str| {
        metrics.value("docent_llm_tokens_total", &[model[0], ("gen_ai_token_type", kind)])
    };
    assert_eq!(tokens("input"), row["prompt_tokens"].as_f64().unwrap(), "{}", metrics.text);
    assert_eq!(tokens("output"), row["completion_tokens"].as_f64().unwrap(), "{}", metrics.text);
    assert_eq!(
        metrics.value("docent_questions_total", &[("answer", "fallback")]),
        1.0,
        "{}",
        metrics.text
    );
    metrics.lint();
}

#[test]
fn a_model_missing_from_ai_models_is_refused_and_the_answer_is_extractive() {
    // The inference model is allowed nowhere: Spin's host refuses it, and the chat does not fail.
    let (spin, site) = start(&[]);
    let answer = chat(&spin, "Does Harbor run on Windows?");
    assert_eq!(answer.done["mode"], "fallback", "{}", answer.done);
    assert!(cites(&answer, &site.url("/faq.html#windows")), "{}", answer.sources);
    assert!(spin.app.llm().prompts.lock().unwrap().is_empty(), "the test model was never reached");
}
