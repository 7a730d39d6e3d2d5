//! The language-model gateway's settings (`DOCENT_LLM_*`): providers in fallback order, deadlines,
//! retries, quotas, prices and the context budget.

use super::{ConfigError, Vars};
use crate::crawl::breaker::BreakerPolicy;
use crate::llm::accounting::{parse_prices, Price};
use crate::llm::prompt::ContextBudget;

/// The language-model gateway (`DOCENT_LLM_*`). With no providers, answers are extractive.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmConfig {
    /// Tried in order; the extractive answerer is always the last resort after them.
    pub providers: Vec<LlmProvider>,
    /// Longest wait for a provider's response headers.
    pub connect_timeout_ms: u64,
    /// Longest wait for the first piece of text, and then between pieces.
    pub first_token_timeout_ms: u64,
    /// The whole answer's budget, every provider and retry included: past it the user gets an error
    /// event (or the extractive answer, if nothing was sent yet).
    pub total_timeout_ms: u64,
    /// Retries of one provider after the first attempt, before falling back to the next.
    pub retries: u32,
    /// Exponential backoff with full jitter between retries (milliseconds): base and cap.
    pub backoff_ms: (u64, u64),
    /// Per-provider circuit breaker.
    pub breaker: BreakerPolicy,
    pub context: ContextBudget,
    /// Below this share of the question's terms found in the best passages, Docent says it does not
    /// know instead of asking a model.
    pub min_evidence: f64,
    /// How long a complete answer is served from the response cache; 0 disables it.
    pub answer_cache_seconds: u64,
    /// Dollars per million tokens by model, for the cost estimate.
    pub prices: Vec<(String, Price)>,
}

/// One model endpoint of the fallback chain.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmProvider {
    /// The name in `DOCENT_LLM_PROVIDERS`, used in logs, usage and the breaker's key.
    pub name: String,
    pub kind: ProviderKind,
    pub model: String,
    /// The provider's quota; 0 for none.
    pub requests_per_minute: u32,
    pub tokens_per_minute: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderKind {
    /// Any OpenAI-compatible `/chat/completions` endpoint (OpenAI, Gemini's OpenAI endpoint,
    /// Ollama, vLLM, llama.cpp server).
    OpenAi { base_url: String, api_key: Option<String> },
    /// Cloudflare Workers AI through the `AI` binding.
    WorkersAi,
    /// Spin's LLM interface (`fermyon:spin/llm`): the model must be listed in the component's
    /// `ai_models` in spin.toml. It answers whole, not streamed.
    SpinLlm,
}

impl LlmConfig {
    /// The price of `model`, if the table lists it.
    pub fn price(&self, model: &str) -> Option<Price> {
        self.prices.iter().find(|(name, _)| name == model).map(|(_, price)| *price)
    }

    /// Names the chain for the response cache: a change of models is a change of answers.
    pub fn chain_id(&self) -> String {
        let models: Vec<String> =
            self.providers.iter().map(|p| format!("{}={}", p.name, p.model)).collect();
        if models.is_empty() {
            "extractive".into()
        } else {
            models.join(",")
        }
    }
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            providers: Vec::new(),
            connect_timeout_ms: 10_000,
            first_token_timeout_ms: 15_000,
            total_timeout_ms: 60_000,
            retries: 2,
            backoff_ms: (250, 4_000),
            breaker: BreakerPolicy { failure_threshold: 3, cool_down_ms: 30_000 },
            context: ContextBudget { window_tokens: 8_192, answer_tokens: 700 },
            min_evidence: 0.5,
            answer_cache_seconds: 3_600,
            prices: Vec::new(),
        }
    }
}

/// The default Workers AI text model.
pub const DEFAULT_WORKERS_AI_MODEL: &str = "@cf/meta/llama-3.1-8b-instruct";
/// The default model of Spin's LLM interface (one of the two Spin serves itself).
pub const DEFAULT_SPIN_LLM_MODEL: &str = "llama2-chat";

pub(super) fn llm_config(vars: &Vars) -> Result<LlmConfig, ConfigError> {
    let get = |name: &str| vars.get(name);
    let mut llm = LlmConfig::default();
    let names = get("DOCENT_LLM_PROVIDERS").unwrap_or_default();
    for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(ConfigError(format!(
                "DOCENT_LLM_PROVIDERS: `{name}` is not a name (letters, digits, - and _)"
            )));
        }
        if llm.providers.iter().any(|p| p.name == name) {
            return Err(ConfigError(format!("DOCENT_LLM_PROVIDERS names `{name}` twice")));
        }
        let prefix = format!("DOCENT_LLM_{}", name.to_ascii_uppercase().replace('-', "_"));
        // The platforms' own runtimes go by their names; any other name is an OpenAI-compatible
        // endpoint.
        let (kind, model) = if name == "workers-ai" {
            (
                ProviderKind::WorkersAi,
                get(&format!("{prefix}_MODEL")).unwrap_or_else(|| DEFAULT_WORKERS_AI_MODEL.into()),
            )
        } else if name == "spin-llm" {
            (
                ProviderKind::SpinLlm,
                get(&format!("{prefix}_MODEL")).unwrap_or_else(|| DEFAULT_SPIN_LLM_MODEL.into()),
            )
        } else {
            let base_url = get(&format!("{prefix}_BASE_URL")).ok_or_else(|| {
                ConfigError(format!(
                    "provider `{name}` needs {prefix}_BASE_URL (e.g. https://api.openai.com/v1)"
                ))
            })?;
            if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
                return Err(ConfigError(format!(
                    "{prefix}_BASE_URL must be an http(s) URL, got `{base_url}`"
                )));
            }
            let model = get(&format!("{prefix}_MODEL"))
                .ok_or_else(|| ConfigError(format!("provider `{name}` needs {prefix}_MODEL")))?;
            (
                ProviderKind::OpenAi {
                    base_url: base_url.trim_end_matches('/').to_string(),
                    api_key: get(&format!("{prefix}_API_KEY")),
                },
                model,
            )
        };
        llm.providers.push(LlmProvider {
            name: name.to_string(),
            kind,
            model,
            requests_per_minute: vars.number(&format!("{prefix}_RPM"), 0)?,
            tokens_per_minute: vars.number(&format!("{prefix}_TPM"), 0)?,
        });
    }
    llm.connect_timeout_ms =
        vars.number("DOCENT_LLM_CONNECT_TIMEOUT_MS", llm.connect_timeout_ms)?.max(1);
    llm.first_token_timeout_ms =
        vars.number("DOCENT_LLM_FIRST_TOKEN_TIMEOUT_MS", llm.first_token_timeout_ms)?.max(1);
    llm.total_timeout_ms = vars.number("DOCENT_LLM_TOTAL_TIMEOUT_MS", llm.total_timeout_ms)?.max(1);
    llm.retries = vars.number("DOCENT_LLM_RETRIES", llm.retries)?.min(10);
    llm.backoff_ms.0 = vars.number("DOCENT_LLM_BACKOFF_BASE_MS", llm.backoff_ms.0)?;
    llm.backoff_ms.1 =
        vars.number("DOCENT_LLM_BACKOFF_MAX_MS", llm.backoff_ms.1)?.max(llm.backoff_ms.0);
    llm.breaker.failure_threshold =
        vars.number("DOCENT_LLM_BREAKER_FAILURES", llm.breaker.failure_threshold)?.max(1);
    llm.breaker.cool_down_ms = vars
        .number("DOCENT_LLM_BREAKER_COOL_DOWN_SECONDS", llm.breaker.cool_down_ms / 1000)?
        * 1000;
    llm.context.window_tokens =
        vars.number("DOCENT_LLM_CONTEXT_TOKENS", llm.context.window_tokens)?;
    llm.context.answer_tokens =
        vars.number("DOCENT_LLM_MAX_ANSWER_TOKENS", llm.context.answer_tokens)?;
    if llm.context.answer_tokens == 0 || llm.context.window_tokens < llm.context.answer_tokens + 512
    {
        return Err(ConfigError(
            "DOCENT_LLM_CONTEXT_TOKENS must exceed DOCENT_LLM_MAX_ANSWER_TOKENS by 512 or more"
                .into(),
        ));
    }
    llm.min_evidence = vars.decimal("DOCENT_MIN_EVIDENCE", llm.min_evidence)?;
    if llm.min_evidence > 1.0 {
        return Err(ConfigError(
            "DOCENT_MIN_EVIDENCE is a share of the question's terms, from 0 to 1".into(),
        ));
    }
    llm.answer_cache_seconds =
        vars.number("DOCENT_ANSWER_CACHE_SECONDS", llm.answer_cache_seconds)?;
    if let Some(table) = get("DOCENT_LLM_PRICES") {
        llm.prices =
            parse_prices(&table).map_err(|e| ConfigError(format!("DOCENT_LLM_PRICES: {e}")))?;
    }
    Ok(llm)
}
