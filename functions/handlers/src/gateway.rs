//! The language-model gateway: asks the configured providers in order, each under a circuit
//! breaker, its quota and the answer's deadlines, with retries (exponential backoff, full jitter,
//! `Retry-After`) and accounting. Text is handed to `emit` as it streams in. The caller falls back
//! to the extractive answerer when every provider failed before sending any text.

use std::future::Future;

use docent_core::config::llm::{LlmProvider, ProviderKind};
use docent_core::crawl::breaker::Gate;
use docent_core::crawl::politeness::Admission;
use docent_core::crawl::retry::parse_retry_after;
use docent_core::crawl::schedule::utc_day;
use docent_core::domain::UsageRecord;
use docent_core::llm::accounting::per_minute_limits;
use docent_core::llm::prompt::{estimate_tokens, Message};
use docent_core::llm::sse::EventParser;
use docent_core::llm::wire::{self, Piece, Usage, WireFormat};
use docent_core::ops::metrics::{
    LLM_CALLS, LLM_COST, LLM_DURATION, LLM_ERRORS, LLM_FIRST_TOKEN, LLM_TOKENS,
};
use docent_core::ports::{ByteStream, Clock, FetchGate, FetchRequest, Fetcher, ModelRuntime};
use docent_store::api::AnswerStore;
use futures_util::future::{select, Either};

use crate::kv_state::{Breaker, BreakerOutcome, KvState, LlmBreakerKey};
use crate::Platform;

/// A provider's complete answer.
#[derive(Debug, Clone)]
pub struct ModelAnswer {
    pub provider: String,
    pub model: String,
    pub text: String,
    pub usage: Usage,
    /// True when the provider did not report usage and it was estimated.
    pub usage_estimated: bool,
    pub cost_usd: f64,
}

/// Why no provider answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayError {
    /// Nothing was sent to the user: the caller may answer some other way. Each entry is
    /// "provider: reason".
    Unavailable(Vec<String>),
    /// A provider failed after part of its answer had been sent; the answer cannot be taken back.
    Interrupted(String),
}

/// Waiting for quota longer than this skips the provider instead.
const MAX_QUOTA_WAIT_MS: u64 = 2_000;
/// Largest error body read from a failing provider.
const MAX_ERROR_BYTES: usize = 16 * 1024;

/// One failed attempt.
struct Failure {
    reason: String,
    /// Worth trying this provider again (429, 5xx, broken streams). A provider that did not answer
    /// in time is not retried: the next one is asked instead.
    retryable: bool,
    retry_after_ms: Option<u64>,
    /// The text already sent to the user (it cannot be taken back).
    sent_text: String,
    /// The failure says something about the provider's health and counts towards its breaker; a
    /// request the provider rejected as invalid, or our own deadline running out, does not.
    provider_fault: bool,
}

impl Failure {
    fn new(reason: impl Into<String>, retryable: bool) -> Self {
        Failure {
            reason: reason.into(),
            retryable,
            retry_after_ms: None,
            sent_text: String::new(),
            provider_fault: true,
        }
    }
    fn not_provider_fault(mut self) -> Self {
        self.provider_fault = false;
        self
    }
}

/// Races `future` against the clock; `None` when `ms` passed first.
pub(crate) async fn within<P: Platform, T>(
    platform: &P, ms: u64, future: impl Future<Output = T>,
) -> Option<T> {
    let future = std::pin::pin!(future);
    let timer = std::pin::pin!(platform.clock().sleep(ms));
    match select(future, timer).await {
        Either::Left((value, _)) => Some(value),
        Either::Right(_) => None,
    }
}

/// Asks the providers in order until one answers. `deadline_ms` bounds everything (clock time).
pub async fn complete<P: Platform>(
    platform: &P, messages: &[Message], max_tokens: u32, deadline_ms: u64,
    emit: &mut dyn FnMut(&str),
) -> Result<ModelAnswer, GatewayError> {
    let config = &platform.config().llm;
    let prompt_tokens = messages.iter().map(|m| estimate_tokens(&m.content) + 4).sum::<u32>();
    let kv = KvState::of(platform);
    let mut reasons = Vec::new();
    for provider in &config.providers {
        let key = LlmBreakerKey { provider: &provider.name };
        // A breaker that cannot be read does not keep the provider from being asked.
        let breaker = Breaker::load(&kv, key, config.breaker)
            .await
            .unwrap_or_else(|_| Breaker::closed(key, config.breaker));
        if let Gate::Open { retry_in_seconds } = breaker.gate(platform.clock().now_ms()) {
            reasons.push(format!("{}: circuit open for {retry_in_seconds} s more", provider.name));
            continue;
        }
        let mut attempt = 0;
        let mut provider_faults = 0;
        let outcome = loop {
            // Every attempt, retries included, is taken from the provider's quotas.
            if let Err(reason) =
                take_quota(platform, provider, prompt_tokens + max_tokens, deadline_ms).await
            {
                reasons.push(format!("{}: {reason}", provider.name));
                break Err(GatewayError::Unavailable(Vec::new()));
            }
            let started = platform.clock().now_ms();
            match attempt_once(platform, provider, messages, max_tokens, deadline_ms, emit).await {
                Ok((text, reported)) => {
                    let usage = reported.unwrap_or(Usage {
                        prompt_tokens,
                        completion_tokens: estimate_tokens(&text),
                    });
                    let answer = priced(config, provider, text, usage, reported.is_none());
                    account(platform, &answer, started, None).await;
                    break Ok(answer);
                }
                Err(failure) => {
                    // A broken stream was still generated (and billed): its tokens are estimated.
                    let partial = Usage {
                        prompt_tokens,
                        completion_tokens: estimate_tokens(&failure.sent_text),
                    };
                    let usage =
                        if failure.sent_text.is_empty() { Usage::default() } else { partial };
                    account(
                        platform,
                        &priced(config, provider, String::new(), usage, true),
                        started,
                        Some(&failure.reason),
                    )
                    .await;
                    provider_faults += u32::from(failure.provider_fault);
                    if !failure.sent_text.is_empty() {
                        break Err(GatewayError::Interrupted(format!(
                            "{}: {}",
                            provider.name, failure.reason
                        )));
                    }
                    let now = platform.clock().now_ms();
                    let mut unit = [0u8; 4];
                    platform.clock().random_bytes(&mut unit);
                    let unit = f64::from(u32::from_le_bytes(unit)) / f64::from(u32::MAX);
                    // Full jitter: anywhere from zero to the exponential ceiling; never sooner than
                    // asked.
                    let ceiling = config
                        .backoff_ms
                        .0
                        .saturating_mul(1 << attempt.min(20))
                        .min(config.backoff_ms.1);
                    let delay =
                        ((ceiling as f64 * unit) as u64).max(failure.retry_after_ms.unwrap_or(0));
                    let worth_retrying = failure.retryable
                        && attempt < config.retries
                        && now + delay + 500 < deadline_ms;
                    if !worth_retrying {
                        reasons.push(format!("{}: {}", provider.name, failure.reason));
                        break Err(GatewayError::Unavailable(Vec::new()));
                    }
                    attempt += 1;
                    platform.clock().sleep(delay).await;
                }
            }
        };
        let verdict = match &outcome {
            Ok(_) => BreakerOutcome::Success,
            Err(_) if provider_faults > 0 => BreakerOutcome::Failure,
            // Rejected requests, our own deadlines and quotas say nothing about its health.
            Err(_) => BreakerOutcome::Inconclusive,
        };
        let _ = breaker.settle(&kv, verdict, platform.clock().now_ms()).await;
        match outcome {
            Ok(answer) => return Ok(answer),
            Err(error @ GatewayError::Interrupted(_)) => return Err(error),
            Err(GatewayError::Unavailable(_)) => {}
        }
        if platform.clock().now_ms() >= deadline_ms {
            reasons.push("the answer's time budget ran out".into());
            break;
        }
    }
    Err(GatewayError::Unavailable(reasons))
}

/// Takes one request and `tokens` from the provider's per-minute quotas, shared by every instance
/// through the platform's gates; waits up to [`MAX_QUOTA_WAIT_MS`], else gives up on this provider.
async fn take_quota<P: Platform>(
    platform: &P, provider: &LlmProvider, tokens: u32, deadline_ms: u64,
) -> Result<(), String> {
    let quotas = [
        (format!("llm-requests:{}", provider.name), provider.requests_per_minute, 1),
        (format!("llm-tokens:{}", provider.name), provider.tokens_per_minute, tokens),
    ];
    for (key, per_minute, units) in quotas {
        if per_minute == 0 {
            continue;
        }
        let limits = per_minute_limits(per_minute);
        loop {
            // A quota that cannot be checked does not stop answers (the provider's own 429 still
            // would).
            let Ok(admission) =
                crate::metered::gate(platform).acquire_units(&key, &limits, units).await
            else {
                break;
            };
            match admission {
                Admission::Granted { .. } => break,
                Admission::Wait { ms } => {
                    let now = platform.clock().now_ms();
                    if ms > MAX_QUOTA_WAIT_MS || now + ms >= deadline_ms {
                        return Err(format!(
                            "over its quota of {per_minute} per minute (next slot in {ms} ms)"
                        ));
                    }
                    platform.clock().sleep(ms).await;
                }
            }
        }
    }
    Ok(())
}

/// One call to one provider, streamed into `emit`: the text and the usage it reported.
async fn attempt_once<P: Platform>(
    platform: &P, provider: &LlmProvider, messages: &[Message], max_tokens: u32, deadline_ms: u64,
    emit: &mut dyn FnMut(&str),
) -> Result<(String, Option<Usage>), Failure> {
    let config = &platform.config().llm;
    let remaining = |platform: &P| deadline_ms.saturating_sub(platform.clock().now_ms());
    let attempt_started = platform.clock().now_ms();
    let connect_ms = config.connect_timeout_ms.min(remaining(platform));
    // A timeout the provider is given less than its configured time for is our budget's fault.
    let timed_out = |ms: u64, configured: u64| {
        let failure = Failure::new(format!("no response within {ms} ms"), false);
        if ms < configured {
            failure.not_provider_fault()
        } else {
            failure
        }
    };
    match &provider.kind {
        ProviderKind::OpenAi { base_url, api_key } => {
            let body = wire::openai_chat_body(&provider.model, messages, max_tokens, true);
            let mut headers = vec![
                ("content-type".to_string(), "application/json".to_string()),
                ("accept".to_string(), "text/event-stream".to_string()),
            ];
            if let Some(key) = api_key {
                headers.push(("authorization".into(), format!("Bearer {key}")));
            }
            let request = FetchRequest {
                method: "POST".into(),
                url: format!("{base_url}/chat/completions"),
                headers,
                body: Some(body.to_string().into_bytes()),
                max_body_bytes: MAX_ERROR_BYTES,
            };
            let opened =
                within(platform, connect_ms, crate::metered::fetcher(platform).open(request))
                    .await
                    .ok_or_else(|| timed_out(connect_ms, config.connect_timeout_ms))?
                    .map_err(|e| Failure::new(e.to_string(), true))?;
            let content_type =
                opened.header("content-type").unwrap_or_default().to_ascii_lowercase();
            let retry_after = opened.header("retry-after").map(str::to_string);
            let mut body = opened.body;
            if opened.status != 200 {
                let mut bytes = Vec::new();
                while bytes.len() < MAX_ERROR_BYTES {
                    match within(platform, 2_000.min(remaining(platform)), body.next_chunk()).await
                    {
                        Some(Some(Ok(chunk))) => bytes.extend_from_slice(&chunk),
                        _ => break,
                    }
                }
                let retry_after_ms = retry_after
                    .and_then(|v| parse_retry_after(&v, platform.clock().now_ms()))
                    .map(|s| u64::from(s) * 1000);
                let retryable = matches!(opened.status, 408 | 409 | 429) || opened.status >= 500;
                let mut failure = Failure::new(
                    format!("HTTP {}: {}", opened.status, wire::provider_error_message(&bytes)),
                    retryable,
                );
                failure.retry_after_ms = retry_after_ms;
                // A rejected request (too long, bad parameters) is not the provider failing; a bad
                // key (401/403) is a broken provider configuration, which the breaker should see.
                if (400..500).contains(&opened.status)
                    && !retryable
                    && !matches!(opened.status, 401 | 403)
                {
                    failure = failure.not_provider_fault();
                }
                return Err(failure);
            }
            let is_stream = content_type.contains("text/event-stream");
            if !is_stream {
                // Some servers ignore `stream`: take the whole answer.
                let mut bytes = Vec::new();
                loop {
                    let wait = config.first_token_timeout_ms.min(remaining(platform));
                    match within(platform, wait, body.next_chunk()).await {
                        None => return Err(timed_out(wait, config.first_token_timeout_ms)),
                        Some(None) => break,
                        Some(Some(Ok(chunk))) => bytes.extend_from_slice(&chunk),
                        Some(Some(Err(e))) => return Err(Failure::new(e.to_string(), true)),
                    }
                }
                let (text, usage) = wire::parse_completion(WireFormat::OpenAi, &bytes)
                    .map_err(|e| Failure::new(e, true))?;
                first_token(platform, provider, attempt_started);
                emit(&text);
                return Ok((text, usage));
            }
            read_stream(
                platform,
                provider,
                WireFormat::OpenAi,
                &mut body,
                attempt_started,
                deadline_ms,
                emit,
            )
            .await
        }
        // The platform's own runtime (Workers AI, Spin's LLM interface) streams in the Workers AI
        // format.
        ProviderKind::WorkersAi | ProviderKind::SpinLlm => {
            let mut body = within(
                platform,
                connect_ms,
                platform.models().stream_chat(&provider.model, messages, max_tokens),
            )
            .await
            .ok_or_else(|| timed_out(connect_ms, config.connect_timeout_ms))?
            .map_err(|e| Failure::new(e.to_string(), e.transient))?;
            read_stream(
                platform,
                provider,
                WireFormat::WorkersAi,
                &mut body,
                attempt_started,
                deadline_ms,
                emit,
            )
            .await
        }
    }
}

/// Reads a streamed answer: the first text within the first-token timeout of the attempt's start,
/// every later piece within that timeout of the one before, all within the deadline, and a clean
/// end (`[DONE]`) required.
async fn read_stream<P: Platform>(
    platform: &P, provider: &LlmProvider, format: WireFormat, body: &mut impl ByteStream,
    attempt_started: u64, deadline_ms: u64, emit: &mut dyn FnMut(&str),
) -> Result<(String, Option<Usage>), Failure> {
    let first_token_ms = platform.config().llm.first_token_timeout_ms;
    let mut parser = EventParser::default();
    let mut pending = Vec::new();
    let mut text = String::new();
    let mut usage = None;
    let fail = |reason: String, text: &str, retryable: bool| Failure {
        reason,
        retryable,
        retry_after_ms: None,
        sent_text: text.to_string(),
        provider_fault: true,
    };
    loop {
        let now = platform.clock().now_ms();
        let remaining = deadline_ms.saturating_sub(now);
        // Keep-alive comments and role-only chunks do not count as an answer starting.
        let allowed = if text.is_empty() {
            (attempt_started + first_token_ms).saturating_sub(now)
        } else {
            first_token_ms
        };
        let wait = allowed.min(remaining);
        let chunk = match within(platform, wait, body.next_chunk()).await {
            None => {
                let reason = if text.is_empty() {
                    format!("no text within {first_token_ms} ms")
                } else {
                    format!("the answer stalled for {wait} ms")
                };
                let failure = fail(reason, &text, false);
                return Err(if wait < allowed { failure.not_provider_fault() } else { failure });
            }
            Some(None) => return Err(fail("the stream ended before [DONE]".into(), &text, true)),
            Some(Some(Err(e))) => return Err(fail(e.to_string(), &text, true)),
            Some(Some(Ok(chunk))) => chunk,
        };
        pending.extend_from_slice(&chunk);
        // Feed only whole UTF-8 sequences; a character may straddle two chunks.
        let valid = match std::str::from_utf8(&pending) {
            Ok(_) => pending.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => return Err(fail("the stream is not UTF-8".into(), &text, true)),
        };
        let decoded = String::from_utf8_lossy(&pending[..valid]).into_owned();
        pending.drain(..valid);
        for event in parser.feed(&decoded) {
            for piece in
                wire::parse_stream_data(format, &event.data).map_err(|e| fail(e, &text, true))?
            {
                match piece {
                    Piece::Text(piece) => {
                        if text.is_empty() && !piece.is_empty() {
                            first_token(platform, provider, attempt_started);
                        }
                        emit(&piece);
                        text.push_str(&piece);
                    }
                    Piece::Usage(reported) => usage = Some(reported),
                    Piece::Done => {
                        if text.is_empty() {
                            return Err(fail("the answer was empty".into(), &text, true));
                        }
                        return Ok((text, usage));
                    }
                }
            }
        }
    }
}

fn priced(
    config: &docent_core::config::llm::LlmConfig, provider: &LlmProvider, text: String,
    usage: Usage, usage_estimated: bool,
) -> ModelAnswer {
    let cost_usd = config.price(&provider.model).map(|p| p.cost_usd(&usage)).unwrap_or(0.0);
    ModelAnswer {
        provider: provider.name.clone(),
        model: provider.model.clone(),
        text,
        usage,
        usage_estimated,
        cost_usd,
    }
}

/// Records the time to a call's first token.
fn first_token<P: Platform>(platform: &P, provider: &LlmProvider, attempt_started: u64) {
    let now = platform.clock().now_ms();
    crate::ops::record(platform, |m| {
        m.observe_ms(&LLM_FIRST_TOKEN, &[&provider.name, &provider.model], attempt_started, now)
    });
}

/// The kind of a failed call, from its reason: the `error.type` of the OpenTelemetry GenAI
/// conventions, kept to a few values so it can label a metric.
fn error_type(reason: &str) -> &'static str {
    match reason.strip_prefix("HTTP ") {
        Some(status) if status.starts_with('5') => "http_5xx",
        Some(status) if status.starts_with("429") => "http_429",
        Some(_) => "http_4xx",
        None if reason.starts_with("no response within")
            || reason.starts_with("no text within") =>
        {
            "timeout"
        }
        None if reason.starts_with("the answer stalled") => "timeout",
        None if reason.starts_with("the stream") || reason.starts_with("the answer was empty") => {
            "stream"
        }
        None => "other",
    }
}

/// Logs one model call as a JSON line (OpenTelemetry GenAI attribute names), records its metrics
/// and adds it to the day's totals.
async fn account<P: Platform>(
    platform: &P, answer: &ModelAnswer, started_ms: u64, error: Option<&str>,
) {
    let now = platform.clock().now_ms();
    let kind = error.map(error_type);
    platform.log(&serde_json::json!({
        "event": "gen_ai.client.inference",
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": answer.provider,
        "gen_ai.request.model": answer.model,
        "gen_ai.usage.input_tokens": answer.usage.prompt_tokens,
        "gen_ai.usage.output_tokens": answer.usage.completion_tokens,
        "error.type": kind,
        "error.message": error,
        "duration_ms": now.saturating_sub(started_ms),
        "usage_estimated": answer.usage_estimated,
        "cost_usd": answer.cost_usd,
    }));
    let labels = [answer.provider.as_str(), answer.model.as_str()];
    crate::ops::record(platform, |m| {
        let outcome = if error.is_some() { "error" } else { "ok" };
        m.count(&LLM_CALLS, &[labels[0], labels[1], outcome], 1.0);
        if let Some(kind) = kind {
            m.count(&LLM_ERRORS, &[labels[0], labels[1], kind], 1.0);
        }
        let tokens = &answer.usage;
        m.count(&LLM_TOKENS, &[labels[0], labels[1], "input"], f64::from(tokens.prompt_tokens));
        m.count(
            &LLM_TOKENS,
            &[labels[0], labels[1], "output"],
            f64::from(tokens.completion_tokens),
        );
        m.count(&LLM_COST, &labels, answer.cost_usd);
        m.observe_ms(&LLM_DURATION, &labels, started_ms, now);
    });
    let record = UsageRecord {
        day: utc_day(now),
        provider: answer.provider.clone(),
        model: answer.model.clone(),
        failed: error.is_some(),
        prompt_tokens: u64::from(answer.usage.prompt_tokens),
        completion_tokens: u64::from(answer.usage.completion_tokens),
        cost_usd: answer.cost_usd,
    };
    // Accounting never fails an answer.
    let _ = platform.store().add_usage(&record).await;
}
