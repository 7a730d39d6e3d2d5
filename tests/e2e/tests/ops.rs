//! The operators' side on workerd: a model provider that answers 500 fires the language-model
//! error-rate alert at the next cron tick, a Standard Webhooks notification reaches a receiver and
//! verifies, `/metrics` and `/api/alerts` show it firing; once the provider recovers, the next tick
//! resolves it and says so, and the token counters rose by exactly what the provider reported.

use std::time::{Duration, Instant};

use docent_core::escalation::signature::{verify_standard_webhook, StandardWebhook};
use docent_e2e::fake_llm::{FakeLlm, LlmRequest, Script};
use docent_e2e::{repo_root, request, Docent, FixtureServer, Scrape, ADMIN, JSON};
use serde_json::{json, Value};

/// The receiver's Standard Webhooks secret (base64 of "docent alert relay secret").
const ALERT_SECRET: &str = "whsec_ZG9jZW50IGFsZXJ0IHJlbGF5IHNlY3JldA==";
const ADMIN_KEY: &str = "docent-dev-admin-key";

fn ask(docent: &Docent, message: &str) -> Value {
    let body = json!({ "message": message }).to_string();
    let reply = request("POST", &docent.url("/api/chat"), &[JSON], Some(&body));
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.events().into_iter().find(|(name, _)| name == "done").expect("a done event").1
}

fn cron_tick(docent: &Docent) {
    let tick = request("GET", &docent.url("/cdn-cgi/local/scheduled?cron=*+*+*+*+*"), &[], None);
    assert!(tick.status < 400, "scheduled event: {} {}", tick.status, tick.body);
}

/// Waits until `/metrics` shows `value` for a sample (the answers' flushes run after their
/// responses), so the cron tick that follows judges every call.
fn wait_for_metric(docent: &Docent, name: &str, labels: &[(&str, &str)], value: f64) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let seen = Scrape::read(&docent.url("/metrics"), ADMIN_KEY).value(name, labels);
        if seen == value {
            return;
        }
        assert!(Instant::now() < deadline, "{name} {labels:?} stayed at {seen}, not {value}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn alert(docent: &Docent, rule: &str) -> Value {
    let alerts = request("GET", &docent.url("/api/alerts"), &[ADMIN], None).json();
    alerts["alerts"]
        .as_array()
        .and_then(|all| all.iter().find(|a| a["rule"] == rule).cloned())
        .unwrap_or_else(|| panic!("no rule {rule} in {alerts}"))
}

/// The alert notifications the receiver has taken so far, each verified as a Standard Webhooks
/// delivery signed with [`ALERT_SECRET`].
fn notifications(receiver: &FakeLlm) -> Vec<Value> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    receiver
        .requests()
        .into_iter()
        .filter(|r: &LlmRequest| r.path == "/hooks/alerts")
        .map(|r| {
            let header =
                |name: &str| r.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
            let headers = StandardWebhook {
                id: header("webhook-id"),
                timestamp: header("webhook-timestamp"),
                signature: header("webhook-signature"),
            };
            let verified =
                verify_standard_webhook(&headers, &r.raw_body, &[ALERT_SECRET.to_string()], now);
            assert!(verified.is_ok(), "the notification verifies: {verified:?} {:?}", r.headers);
            r.body
        })
        .collect()
}

fn wait_for_notifications(receiver: &FakeLlm, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let seen = notifications(receiver);
        if seen.len() >= count || Instant::now() > deadline {
            return seen;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_failing_model_fires_the_error_rate_alert_and_recovery_resolves_it() {
    let site = FixtureServer::start(repo_root().join("tests/fixtures/site"));
    let model = FakeLlm::start(vec![]);
    model.set_default_reply(Script::Status {
        status: 500,
        retry_after: None,
        body: "the model is down".into(),
    });
    // A second fake stands for the relay the alerts go to (it takes POST /hooks/... with 204).
    let receiver = FakeLlm::start(vec![]);
    let hook = receiver.base_url().replace("/v1", "/hooks/alerts");
    let model_url = model.base_url();
    let docent = Docent::start(&[
        ("DOCENT_LLM_PROVIDERS", "primary"),
        ("DOCENT_LLM_PRIMARY_BASE_URL", &model_url),
        ("DOCENT_LLM_PRIMARY_MODEL", "fake-model"),
        ("DOCENT_LLM_RETRIES", "1"),
        ("DOCENT_LLM_BACKOFF_BASE_MS", "50"),
        ("DOCENT_LLM_BACKOFF_MAX_MS", "100"),
        // The breaker stays closed, so the provider is asked (and fails) every time.
        ("DOCENT_LLM_BREAKER_FAILURES", "1000"),
        ("DOCENT_CHAT_RATE_LIMIT", "0"),
        ("DOCENT_ALERT_WEBHOOK_URL", &hook),
        ("DOCENT_ALERT_WEBHOOK_SECRET", ALERT_SECRET),
    ]);
    let job = docent.crawl_to_end(&site.url("/index.html"));
    assert_eq!(job["pages"]["indexed"], 7, "{job}");
    cron_tick(&docent);
    assert_eq!(alert(&docent, "llm_error_rate")["severity"], Value::Null);

    // --- The provider fails: answers fall back to quotes, and every call is an error.
    for n in 1..=3 {
        let done = ask(&docent, &format!("Does Harbor run on Windows? ({n})"));
        assert_eq!(done["mode"], "fallback", "{done}");
    }
    wait_for_metric(&docent, "docent_llm_calls_total", &[("outcome", "error")], 6.0);
    cron_tick(&docent);
    let firing = alert(&docent, "llm_error_rate");
    assert_eq!(firing["severity"], "critical", "{firing}");
    assert_eq!(firing["value"], 1.0, "{firing}");
    let sent = wait_for_notifications(&receiver, 1);
    assert_eq!(sent.len(), 1, "one notification: {sent:?}");
    assert_eq!(sent[0]["type"], "alert.firing");
    assert_eq!(sent[0]["data"]["rule"], "llm_error_rate");
    assert_eq!(sent[0]["data"]["severity"], "critical");
    assert_eq!(sent[0]["data"]["threshold"], 0.05);
    let metrics = Scrape::read(&docent.url("/metrics"), ADMIN_KEY);
    let labels = [("rule", "llm_error_rate"), ("severity", "critical")];
    assert_eq!(metrics.value("docent_alerts_firing", &labels), 1.0);
    let failed_calls = metrics.value("docent_llm_calls_total", &[("outcome", "error")]);
    assert_eq!(failed_calls, 6.0, "three questions, each tried twice");
    assert_eq!(metrics.value("docent_llm_errors_total", &[("error_type", "http_5xx")]), 6.0);
    assert_eq!(metrics.value("docent_questions_total", &[("answer", "fallback")]), 3.0);
    let before = metrics;

    // --- The provider recovers.
    model.set_default_reply(Script::AnswerWithUsage("Harbor runs in WSL2 [1].".into(), 120, 9));
    for n in 1..=3 {
        let done = ask(&docent, &format!("Does Harbor run on macOS? ({n})"));
        assert_eq!(done["mode"], "llm", "{done}");
    }
    wait_for_metric(&docent, "docent_llm_calls_total", &[("outcome", "ok")], 3.0);
    cron_tick(&docent);
    let resolved = alert(&docent, "llm_error_rate");
    assert_eq!(resolved["severity"], Value::Null, "{resolved}");
    assert_eq!(resolved["value"], 0.0, "{resolved}");
    let sent = wait_for_notifications(&receiver, 2);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[1]["type"], "alert.resolved");
    assert_eq!(sent[1]["data"]["rule"], "llm_error_rate");
    let after = Scrape::read(&docent.url("/metrics"), ADMIN_KEY);
    assert_eq!(after.value("docent_alerts_firing", &[]), 0.0);
    let rose = |labels: &[(&str, &str)]| {
        after.value("docent_llm_tokens_total", labels)
            - before.value("docent_llm_tokens_total", labels)
    };
    assert_eq!(rose(&[("gen_ai_token_type", "input")]), 360.0, "3 answers x 120 prompt tokens");
    assert_eq!(rose(&[("gen_ai_token_type", "output")]), 27.0, "3 answers x 9 completion tokens");
    assert_eq!(
        after.value("docent_llm_calls_total", &[("outcome", "ok")]),
        3.0,
        "one successful call per answer"
    );
    let first_token = after.value("docent_llm_first_token_seconds_count", &[]);
    assert_eq!(first_token, 3.0, "each answer's first token was timed");
    after.lint();
    assert!(
        docent.log().contains(r#""event":"alert_notification""#),
        "deliveries are logged\n{}",
        docent.log()
    );
}
