//! The language-model gateway on the local Cloudflare runtime, against two scripted
//! OpenAI-compatible servers (`primary`, then `backup`): streamed grounded answers, the response
//! cache, follow-up condensation, Retry-After, retries and fallback, timeouts, the circuit breaker,
//! malformed streams, an answer cut off mid-stream, the evidence threshold and the usage
//! accounting.

use std::time::{Duration, Instant};

use docent_core::retrieval::answer::NOTHING_FOUND;
use docent_e2e::fake_llm::{FakeLlm, LlmRequest, Script};
use docent_e2e::{repo_root, request, Docent, FixtureServer, ADMIN, JSON};
use serde_json::{json, Value};

const FALLBACK_NOTICE: &str = "_The language model could not answer just now";

/// One chat answer: its events by name, the text of its deltas, and how long it took.
struct Answer {
    events: Vec<(String, Value)>,
    text: String,
    took: Duration,
}

impl Answer {
    fn done(&self) -> &Value {
        &self
            .events
            .iter()
            .find(|(name, _)| name == "done")
            .unwrap_or_else(|| panic!("no done event: {:?}", self.events))
            .1
    }
    fn sources(&self) -> &Value {
        &self.events.first().expect("events").1["sources"]
    }
}

fn chat(docent: &Docent, message: &str, session: Option<&str>) -> Answer {
    let mut body = json!({"message": message});
    if let Some(id) = session {
        body["session_id"] = json!(id);
    }
    let started = Instant::now();
    let reply = request("POST", &docent.url("/api/chat"), &[JSON], Some(&body.to_string()));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let events = reply.events();
    assert_eq!(
        events.first().map(|e| e.0.as_str()),
        Some("sources"),
        "sources come first: {events:?}"
    );
    let text = events
        .iter()
        .filter(|(name, _)| name == "delta")
        .map(|(_, d)| d["text"].as_str().unwrap().to_string())
        .collect();
    Answer { events, text, took: started.elapsed() }
}

fn chat_requests(fake: &FakeLlm) -> Vec<LlmRequest> {
    fake.requests().into_iter().filter(|r| r.path == "/v1/chat/completions").collect()
}

fn user_message(request: &LlmRequest) -> String {
    let messages = request.body["messages"].as_array().expect("messages");
    messages.last().unwrap()["content"].as_str().unwrap().to_string()
}

#[test]
fn model_gateway_on_workerd() {
    let site = FixtureServer::start(repo_root().join("tests/fixtures/site"));
    let primary = FakeLlm::start(vec![]);
    let backup = FakeLlm::start(vec![]);
    let (primary_url, backup_url) = (primary.base_url(), backup.base_url());
    let docent = Docent::start(&[
        ("DOCENT_LLM_PROVIDERS", "primary,backup"),
        ("DOCENT_LLM_PRIMARY_BASE_URL", &primary_url),
        ("DOCENT_LLM_PRIMARY_MODEL", "fake-primary"),
        ("DOCENT_LLM_PRIMARY_API_KEY", "sk-primary"),
        ("DOCENT_LLM_BACKUP_BASE_URL", &backup_url),
        ("DOCENT_LLM_BACKUP_MODEL", "fake-backup"),
        ("DOCENT_LLM_PRICES", "fake-primary=1000/2000, fake-backup=10/20"),
        ("DOCENT_LLM_CONNECT_TIMEOUT_MS", "1500"),
        ("DOCENT_LLM_FIRST_TOKEN_TIMEOUT_MS", "1500"),
        ("DOCENT_LLM_TOTAL_TIMEOUT_MS", "9000"),
        ("DOCENT_LLM_RETRIES", "1"),
        ("DOCENT_LLM_BACKOFF_BASE_MS", "100"),
        ("DOCENT_LLM_BACKOFF_MAX_MS", "400"),
        ("DOCENT_LLM_BREAKER_FAILURES", "2"),
        ("DOCENT_LLM_BREAKER_COOL_DOWN_SECONDS", "120"),
        ("DOCENT_CHAT_RATE_LIMIT", "0"),
    ]);
    let job = docent.crawl_to_end(&site.url("/index.html"));
    assert_eq!(job["pages"]["indexed"], 7, "{job}");

    // --- A streamed, grounded answer from the first provider, with its usage and cost.
    let text = "Harbor runs on Linux and macOS; on Windows, run it inside WSL2 [1].";
    primary.push(vec![Script::AnswerWithUsage(text.into(), 120, 30)]);
    let first = chat(&docent, "Does Harbor run on Windows?", None);
    assert_eq!(first.text, text);
    let done = first.done();
    assert_eq!(
        (done["mode"].as_str(), done["cached"].as_bool()),
        (Some("llm"), Some(false)),
        "{done}"
    );
    assert_eq!(done["usage"]["provider"], "primary");
    assert_eq!(
        (done["usage"]["prompt_tokens"].as_u64(), done["usage"]["completion_tokens"].as_u64()),
        (Some(120), Some(30))
    );
    assert!(
        (done["usage"]["cost_usd"].as_f64().unwrap() - 0.18).abs() < 1e-9,
        "120×$1000/M + 30×$2000/M: {done}"
    );
    assert_eq!(first.sources()[0]["url"], site.url("/faq.html#windows"));
    let sent = &chat_requests(&primary)[0];
    assert_eq!(sent.authorization.as_deref(), Some("Bearer sk-primary"));
    assert_eq!(
        (sent.body["model"].as_str(), sent.body["stream"].as_bool()),
        (Some("fake-primary"), Some(true))
    );
    assert!(
        sent.body["messages"][0]["content"].as_str().unwrap().contains("untrusted data"),
        "the system prompt fences passages"
    );
    let prompt = user_message(sent);
    assert!(
        prompt.contains("<passage number=\"1\"") && prompt.contains("run it inside WSL2"),
        "{prompt}"
    );
    assert!(prompt.ends_with("Question: Does Harbor run on Windows?"), "{prompt}");
    assert_eq!(backup.request_count(), 0);

    // --- The same question again, differently typed: from the cache, no model call.
    let again = chat(&docent, "does harbor run on   windows", None);
    assert_eq!((again.text.as_str(), again.done()["cached"].as_bool()), (text, Some(true)));
    assert_eq!(chat_requests(&primary).len(), 1, "a cached answer asks no model");
    // Both answers can be rated, each in its own conversation.
    for (answer, rating) in [(&first, "up"), (&again, "down")] {
        let id = answer.done()["answer_id"].as_str().unwrap().to_string();
        let rated = request(
            "POST",
            &docent.url("/api/feedback"),
            &[JSON],
            Some(&json!({"answer_id": id, "rating": rating}).to_string()),
        );
        assert_eq!(rated.status, 201, "{}", rated.body);
    }
    let listed = request("GET", &docent.url("/api/feedback"), &[ADMIN], None).json();
    assert_eq!(listed["feedback"].as_array().unwrap().len(), 2, "{listed}");
    assert!(listed["feedback"].as_array().unwrap().iter().all(|f| f["answer"] == text), "{listed}");
    let unknown = format!("{}-9", first.done()["session_id"].as_str().unwrap());
    let missing = request(
        "POST",
        &docent.url("/api/feedback"),
        &[JSON],
        Some(&json!({"answer_id": unknown, "rating": "up"}).to_string()),
    );
    assert_eq!(missing.status, 404, "{}", missing.body);

    // --- A follow-up is condensed into a standalone question, then answered with the history.
    let session = first.done()["session_id"].as_str().unwrap().to_string();
    primary.push(vec![
        Script::Answer("Can Harbor run on macOS?".into()),
        Script::Answer("Yes, Harbor supports macOS [1].".into()),
    ]);
    let follow_up = chat(&docent, "And what about macOS?", Some(&session));
    assert_eq!(follow_up.text, "Yes, Harbor supports macOS [1].");
    let requests = chat_requests(&primary);
    let condense = &requests[1];
    assert!(
        user_message(condense).contains("Last message: And what about macOS?"),
        "{}",
        user_message(condense)
    );
    assert!(user_message(condense).contains("User: Does Harbor run on Windows?"));
    let answer_messages = requests[2].body["messages"].as_array().unwrap().clone();
    let roles: Vec<&str> = answer_messages.iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(
        roles,
        ["system", "user", "assistant", "user"],
        "the earlier turn travels with the question"
    );
    assert_eq!(answer_messages[2]["content"], text);

    // --- 429 with Retry-After: the retry waits as long as asked, then the same provider answers.
    primary.push(vec![
        Script::Status { status: 429, retry_after: Some(1), body: "slow down".into() },
        Script::Answer("Use WSL2 [1].".into()),
    ]);
    let limited = chat(&docent, "Can I run Harbor on Windows?", None);
    assert_eq!(
        (limited.text.as_str(), limited.done()["usage"]["provider"].as_str()),
        ("Use WSL2 [1].", Some("primary"))
    );
    let requests = chat_requests(&primary);
    let gap = requests[4].at.duration_since(requests[3].at);
    assert!(gap >= Duration::from_millis(950), "Retry-After: 1 honoured, retried after {gap:?}");

    // --- Two 500s (the first try and one retry): the backup answers.
    primary.push(vec![
        Script::Status { status: 500, retry_after: None, body: "boom".into() },
        Script::Status { status: 500, retry_after: None, body: "boom".into() },
    ]);
    backup.push(vec![Script::Answer("The backup says: WSL2 [1].".into())]);
    let fell_back = chat(&docent, "Is Windows supported by Harbor?", None);
    assert_eq!(fell_back.text, "The backup says: WSL2 [1].");
    assert_eq!(fell_back.done()["usage"]["provider"], "backup");
    assert_eq!(chat_requests(&primary).len(), 7);

    // --- A provider that does not answer in time is cut off by the connect timeout and not
    // retried: the backup answers at once. That is the primary's second failed question: its
    // breaker opens.
    primary.push(vec![Script::StallBeforeHeaders(Duration::from_secs(4))]);
    backup.push(vec![Script::Answer("Backup again [1].".into())]);
    let stalled = chat(&docent, "Harbor on Windows, does it work?", None);
    assert_eq!(stalled.done()["usage"]["provider"], "backup");
    assert!(
        stalled.took < Duration::from_millis(3_000),
        "one 1.5 s timeout, then the backup; took {:?}",
        stalled.took
    );
    assert_eq!(chat_requests(&primary).len(), 8);

    // --- The open breaker keeps the primary out of the next answer altogether.
    backup.push(vec![Script::Answer("Breaker open, backup answers [1].".into())]);
    let skipped = chat(&docent, "Which systems does Harbor run on besides Windows?", None);
    assert_eq!(skipped.done()["usage"]["provider"], "backup");
    assert_eq!(chat_requests(&primary).len(), 8, "no request to a provider whose circuit is open");

    // --- Malformed streams from the last model: the extractive answerer answers, labelled as such.
    backup.push(vec![Script::Malformed, Script::Malformed]);
    let extractive = chat(&docent, "Does Harbor support Windows servers?", None);
    assert_eq!(extractive.done()["mode"], "fallback");
    assert!(extractive.text.starts_with(FALLBACK_NOTICE), "{}", extractive.text);
    assert!(extractive.text.contains("WSL2"), "{}", extractive.text);
    assert_eq!(chat_requests(&backup).len(), 5);
    // A fallback is not cached: asked again, the models are tried again.
    backup.push(vec![Script::Answer("Recovered [1].".into())]);
    assert_eq!(chat(&docent, "Does Harbor support Windows servers?", None).text, "Recovered [1].");

    // --- A stream that stalls mid-answer: the text so far, then a clear error event, in time.
    backup.push(vec![Script::StallAfterChunks {
        text: "Harbor runs inside WSL2 on Windows machines [1].".into(),
        chunks_before_stall: 3,
        stall: Duration::from_secs(5),
    }]);
    let cut = chat(&docent, "How do I use Harbor on Windows machines?", None);
    let (name, error) = cut.events.last().unwrap();
    assert_eq!(
        (name.as_str(), error["code"].as_str()),
        ("error", Some("answer_interrupted")),
        "{:?}",
        cut.events
    );
    assert_eq!(cut.text, "Harbor runs inside ", "the three pieces sent before the stall");
    assert!(
        cut.took < Duration::from_millis(4_000),
        "cut after the 1.5 s idle timeout, took {:?}",
        cut.took
    );

    // --- Weak evidence: nothing found, and no model is asked.
    let (p, b) = (primary.request_count(), backup.request_count());
    let unknown = chat(&docent, "What is the capital of France?", None);
    assert_eq!(unknown.done()["mode"], "no_evidence");
    assert_eq!(unknown.done()["escalate"], true);
    assert!(unknown.text.starts_with(NOTHING_FOUND), "{}", unknown.text);
    assert_eq!((primary.request_count(), backup.request_count()), (p, b));

    // --- Accounting: every call, failed or not, per day, provider and model, with the cost.
    let usage = request("GET", &docent.url("/api/usage"), &[ADMIN], None).json();
    let row = |provider: &str| {
        usage["days"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["provider"] == provider)
            .cloned()
            .unwrap_or_else(|| panic!("{usage}"))
    };
    let primary_row = row("primary");
    // Calls: answer, condense, answer, 429 + answer, 500 × 2, timeout.
    assert_eq!(
        (primary_row["requests"].as_u64(), primary_row["failures"].as_u64()),
        (Some(8), Some(4)),
        "{primary_row}"
    );
    assert_eq!(primary_row["model"], "fake-primary");
    assert!(
        primary_row["prompt_tokens"].as_u64().unwrap() >= 120
            && primary_row["cost_usd"].as_f64().unwrap() >= 0.18,
        "{primary_row}"
    );
    let backup_row = row("backup");
    // Calls: three answers, malformed × 2, the recovery, the interrupted stream.
    assert_eq!(
        (backup_row["requests"].as_u64(), backup_row["failures"].as_u64()),
        (Some(7), Some(3)),
        "{backup_row}"
    );
    assert_eq!(
        usage["days"].as_array().unwrap().len(),
        2,
        "a cached answer calls no model: {usage}"
    );
    assert!(docent.log().contains(r#""cached":true"#), "cached answers are logged");
    assert!(request("GET", &docent.url("/api/usage"), &[], None).status == 401);
    assert!(
        docent.log().contains(r#""event":"gen_ai.client.inference""#),
        "structured call records in the log"
    );
}

#[test]
fn provider_quota_holds_and_the_answer_falls_back_instead_of_waiting() {
    let site = FixtureServer::start(repo_root().join("tests/fixtures/site"));
    let model = FakeLlm::start(vec![]);
    let model_url = model.base_url();
    // 5 requests a minute: a burst of one, then one every 15 s.
    let docent = Docent::start(&[
        ("DOCENT_LLM_PROVIDERS", "metered"),
        ("DOCENT_LLM_METERED_BASE_URL", &model_url),
        ("DOCENT_LLM_METERED_MODEL", "fake-metered"),
        ("DOCENT_LLM_METERED_RPM", "5"),
        ("DOCENT_CHAT_RATE_LIMIT", "0"),
    ]);
    docent.crawl_to_end(&site.url("/index.html"));
    let first = chat(&docent, "Does Harbor run on Windows?", None);
    assert_eq!(
        (first.done()["mode"].as_str(), first.done()["usage"]["provider"].as_str()),
        (Some("llm"), Some("metered"))
    );
    // The quota's next slot is 15 s away, longer than an answer waits for it: the extractive answer
    // comes at once and the provider is not asked.
    let second = chat(&docent, "Can Harbor run on Windows machines?", None);
    assert_eq!(second.done()["mode"], "fallback", "{:?}", second.events);
    assert!(second.took < Duration::from_secs(2), "no waiting for the quota: {:?}", second.took);
    assert_eq!(chat_requests(&model).len(), 1, "the provider stayed inside its quota");
    assert!(docent.log().contains("over its quota of 5 per minute"), "the fallback says why");
}
