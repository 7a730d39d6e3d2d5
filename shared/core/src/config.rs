//! Configuration from `DOCENT_*` variables, read through a lookup function so that every platform
//! (Worker vars and secrets, Spin variables, process environment) feeds the same parser.

use crate::content::chunk::ChunkingOptions;
use crate::crawl::breaker::BreakerPolicy;
use crate::crawl::politeness::HostLimits;
use crate::crawl::ratelimit::RateLimit;
use crate::crawl::retry::Backoff;
use crate::llm::{parse_prices, ContextBudget, Price};

/// The documented development admin key, used only when `DOCENT_ADMIN_KEY` is unset and the
/// deployment allows private hosts (which only local development does).
pub const DEV_ADMIN_KEY: &str = "docent-dev-admin-key";

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Bearer token for admin routes; `None` disables them (they answer 503 with a clear error).
    pub admin_key: Option<String>,
    /// Crawling loopback and private addresses is refused unless this is set (local development
    /// sets it).
    pub allow_private_hosts: bool,
    /// Only the native CLI reads `file:` URLs; no edge deployment may (a webhook could name
    /// /etc/passwd).
    pub allow_file_urls: bool,
    pub user_agent: String,
    /// Largest request body accepted, in bytes.
    pub max_request_bytes: usize,
    /// Largest page body fetched by the crawler, in bytes.
    pub max_page_bytes: usize,
    pub default_max_pages: u32,
    pub default_max_depth: u32,
    pub chunking: ChunkingOptions,
    /// Passages retrieved for a chat answer.
    pub chat_passages: u32,
    pub session_ttl_seconds: u64,
    /// Turns of conversation kept per session.
    pub session_turns: usize,
    /// `s-maxage` of cacheable search responses.
    pub search_cache_seconds: u64,
    /// Tickets a public client may open per window.
    pub ticket_rate_limit: RateLimit,
    /// Questions (chat and `/v1/chat/completions`) and searches one client may send per window.
    pub chat_rate_limit: RateLimit,
    pub search_rate_limit: RateLimit,
    /// Keys that may use the MCP server besides the admin key.
    pub api_keys: Vec<String>,
    /// Delays between crawl retries.
    pub retry_backoff: Backoff,
    /// When to stop sending requests to a failing origin.
    pub breaker: BreakerPolicy,
    /// A queued URL untouched this long is assumed lost (its message dropped, e.g. by a restart)
    /// and re-enqueued by cron.
    pub stale_after_seconds: u64,
    /// What one host may be asked for, across all consumers (robots.txt `Crawl-delay` slows it
    /// further).
    pub host_limits: HostLimits,
    /// Requests per second to all hosts together; 0 for no cap.
    pub global_rate_per_second: f64,
    /// Longest a crawl fetch may take, headers and body.
    pub fetch_timeout_seconds: u64,
    /// Who embeds chunks and queries.
    pub embeddings: EmbeddingProvider,
    /// How search ranks: both lists fused (the default), or one of them.
    pub search_mode: SearchMode,
    /// Where documents, chunks, vectors, crawl state and tickets live (`DOCENT_STORE`).
    pub store: StoreBackend,
    /// Weights of the lexical and vector rankings in reciprocal rank fusion.
    pub rrf_weights: (f64, f64),
    /// Pseudo-relevance feedback of hybrid search: how many of the best lexical passages pull the
    /// query vector towards them, and how hard (`embed::with_feedback`). 0 passages turns it off.
    pub vector_feedback: (u32, f32),
    /// Who answers chat questions, in fallback order, and how they are held to time and quota.
    pub llm: LlmConfig,
    /// An optional second stage that reorders the best candidates of a search (off by default).
    pub reranker: Option<Reranker>,
    /// Where chunk vectors are kept (`DOCENT_VECTOR_STORE`).
    pub vector_store: VectorStoreKind,
}

/// Where chunk vectors are kept and searched (`DOCENT_VECTOR_STORE`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum VectorStoreKind {
    /// The embedded store: quantised vectors in the SQL database, next to their chunks.
    #[default]
    Sql,
    /// A Cloudflare Vectorize index (Workers only; the chunks stay in D1).
    Vectorize,
}

impl VectorStoreKind {
    /// Refuses a vector store that `platform` (which has only its SQL database) cannot provide.
    pub fn require_sql(self, platform: &str) -> Result<(), String> {
        match self {
            VectorStoreKind::Sql => Ok(()),
            VectorStoreKind::Vectorize => Err(format!("DOCENT_VECTOR_STORE=vectorize needs Cloudflare Workers; {platform} keeps vectors in SQL (unset it or use sql)")),
        }
    }
}

/// A cross-encoder reranker (`DOCENT_RERANKER`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reranker {
    pub kind: RerankerKind,
    pub model: String,
    /// How many of the best fused candidates it reorders.
    pub candidates: u32,
    /// Past this the fused order is kept.
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RerankerKind {
    /// A `/rerank` endpoint (Cohere, Jina, vLLM, llama.cpp server, Infinity).
    Http { base_url: String, api_key: Option<String> },
    /// Workers AI through the `AI` binding.
    WorkersAi,
}

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
/// The default embedding model of Spin's LLM interface.
pub const DEFAULT_SPIN_EMBEDDING_MODEL: &str = "all-minilm-l6-v2";

/// Where embeddings come from (`DOCENT_EMBEDDINGS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmbeddingProvider {
    Off,
    /// The built-in hashing embedder: no model download, no network.
    Builtin,
    /// Any OpenAI-compatible `/v1/embeddings` endpoint.
    OpenAi {
        base_url: String,
        api_key: Option<String>,
        model: String,
    },
    /// Workers AI through the `AI` binding (e.g. `@cf/baai/bge-base-en-v1.5`).
    WorkersAi {
        model: String,
    },
    /// Spin's LLM interface (`generate-embeddings`), e.g. `all-minilm-l6-v2`.
    SpinLlm {
        model: String,
    },
}

/// How a search ranks: lexical and vector rankings fused by reciprocal rank fusion (`hybrid`),
/// lexical alone (full-text BM25) or vector alone (nearest embeddings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename_all = "lowercase"))]
pub enum SearchMode {
    Hybrid,
    Lexical,
    Vector,
}

impl SearchMode {
    pub fn parse(text: &str) -> Option<SearchMode> {
        match text {
            "hybrid" => Some(SearchMode::Hybrid),
            "lexical" => Some(SearchMode::Lexical),
            "vector" => Some(SearchMode::Vector),
            _ => None,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            admin_key: None,
            allow_private_hosts: false,
            allow_file_urls: false,
            user_agent: format!(
                "DocentBot/{} (+https://github.com/docent-ai/docent)",
                env!("CARGO_PKG_VERSION")
            ),
            max_request_bytes: 64 * 1024,
            max_page_bytes: 5 * 1024 * 1024,
            default_max_pages: 1_000,
            default_max_depth: 10,
            chunking: ChunkingOptions::default(),
            chat_passages: 5,
            session_ttl_seconds: 24 * 3600,
            session_turns: 10,
            search_cache_seconds: 60,
            ticket_rate_limit: RateLimit { requests: 5, window_seconds: 600 },
            chat_rate_limit: RateLimit { requests: 20, window_seconds: 60 },
            search_rate_limit: RateLimit { requests: 300, window_seconds: 60 },
            api_keys: Vec::new(),
            retry_backoff: Backoff::default(),
            breaker: BreakerPolicy::default(),
            stale_after_seconds: 600,
            host_limits: HostLimits {
                rate_per_second: 3.0,
                burst: 5,
                concurrency: 3,
                lease_ms: 60_000,
            },
            global_rate_per_second: 50.0,
            fetch_timeout_seconds: 30,
            embeddings: EmbeddingProvider::Builtin,
            search_mode: SearchMode::Hybrid,
            store: StoreBackend::Sqlite,
            rrf_weights: (1.0, 1.0),
            vector_feedback: (4, 1.0),
            llm: LlmConfig::default(),
            reranker: None,
            vector_store: VectorStoreKind::Sql,
        }
    }
}

/// A variable that is set but cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

/// The store's database. SQLite is the embedded default: D1 on Cloudflare, Spin's SQLite, a file
/// natively. Postgres (with pgvector) is reached through the `HYPERDRIVE` binding on Cloudflare and
/// at `url` (`DOCENT_DATABASE_URL`) on Spin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreBackend {
    Sqlite,
    Postgres { url: Option<String> },
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Config {
    /// Reads every `DOCENT_*` setting through `lookup`; unset variables keep their defaults.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        let get = |name: &str| lookup(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        fn number<T: std::str::FromStr>(
            name: &str,
            value: Option<String>,
            default: T,
        ) -> Result<T, ConfigError> {
            match value {
                None => Ok(default),
                Some(v) => v
                    .parse()
                    .map_err(|_| ConfigError(format!("{name} must be a whole number, got `{v}`"))),
            }
        }
        config.allow_private_hosts = match get("DOCENT_ALLOW_PRIVATE_HOSTS").as_deref() {
            None | Some("0" | "false" | "no") => false,
            Some("1" | "true" | "yes") => true,
            Some(other) => {
                return Err(ConfigError(format!(
                    "DOCENT_ALLOW_PRIVATE_HOSTS must be true or false, got `{other}`"
                )))
            }
        };
        config.admin_key = get("DOCENT_ADMIN_KEY")
            .or_else(|| config.allow_private_hosts.then(|| DEV_ADMIN_KEY.to_string()));
        if let Some(agent) = get("DOCENT_USER_AGENT") {
            config.user_agent = agent;
        }
        config.max_request_bytes = number(
            "DOCENT_MAX_REQUEST_BYTES",
            get("DOCENT_MAX_REQUEST_BYTES"),
            config.max_request_bytes,
        )?;
        config.max_page_bytes =
            number("DOCENT_MAX_PAGE_BYTES", get("DOCENT_MAX_PAGE_BYTES"), config.max_page_bytes)?;
        config.default_max_pages = number(
            "DOCENT_CRAWL_MAX_PAGES",
            get("DOCENT_CRAWL_MAX_PAGES"),
            config.default_max_pages,
        )?;
        config.default_max_depth = number(
            "DOCENT_CRAWL_MAX_DEPTH",
            get("DOCENT_CRAWL_MAX_DEPTH"),
            config.default_max_depth,
        )?;
        config.chunking.max_tokens =
            number("DOCENT_CHUNK_TOKENS", get("DOCENT_CHUNK_TOKENS"), config.chunking.max_tokens)?;
        config.chunking.overlap_tokens = number(
            "DOCENT_CHUNK_OVERLAP_TOKENS",
            get("DOCENT_CHUNK_OVERLAP_TOKENS"),
            config.chunking.overlap_tokens,
        )?;
        if config.chunking.max_tokens < 32
            || config.chunking.overlap_tokens * 2 > config.chunking.max_tokens
        {
            return Err(ConfigError(
                "DOCENT_CHUNK_TOKENS must be at least 32 and more than twice DOCENT_CHUNK_OVERLAP_TOKENS".into(),
            ));
        }
        config.chat_passages =
            number("DOCENT_CHAT_PASSAGES", get("DOCENT_CHAT_PASSAGES"), config.chat_passages)?;
        config.session_ttl_seconds = number(
            "DOCENT_SESSION_TTL_SECONDS",
            get("DOCENT_SESSION_TTL_SECONDS"),
            config.session_ttl_seconds,
        )?
        .max(60);
        config.search_cache_seconds = number(
            "DOCENT_SEARCH_CACHE_SECONDS",
            get("DOCENT_SEARCH_CACHE_SECONDS"),
            config.search_cache_seconds,
        )?;
        config.ticket_rate_limit.requests = number(
            "DOCENT_TICKET_RATE_LIMIT",
            get("DOCENT_TICKET_RATE_LIMIT"),
            config.ticket_rate_limit.requests,
        )?;
        config.chat_rate_limit.requests = number(
            "DOCENT_CHAT_RATE_LIMIT",
            get("DOCENT_CHAT_RATE_LIMIT"),
            config.chat_rate_limit.requests,
        )?;
        config.search_rate_limit.requests = number(
            "DOCENT_SEARCH_RATE_LIMIT",
            get("DOCENT_SEARCH_RATE_LIMIT"),
            config.search_rate_limit.requests,
        )?;
        config.retry_backoff.base_seconds = number(
            "DOCENT_RETRY_BASE_SECONDS",
            get("DOCENT_RETRY_BASE_SECONDS"),
            config.retry_backoff.base_seconds,
        )?;
        config.retry_backoff.cap_seconds = number(
            "DOCENT_RETRY_MAX_SECONDS",
            get("DOCENT_RETRY_MAX_SECONDS"),
            config.retry_backoff.cap_seconds,
        )?;
        config.breaker.failure_threshold = number(
            "DOCENT_BREAKER_FAILURES",
            get("DOCENT_BREAKER_FAILURES"),
            config.breaker.failure_threshold,
        )?;
        config.breaker.cool_down_ms = number(
            "DOCENT_BREAKER_COOL_DOWN_SECONDS",
            get("DOCENT_BREAKER_COOL_DOWN_SECONDS"),
            config.breaker.cool_down_ms / 1000,
        )? * 1000;
        config.stale_after_seconds = number(
            "DOCENT_STALE_AFTER_SECONDS",
            get("DOCENT_STALE_AFTER_SECONDS"),
            config.stale_after_seconds,
        )?;
        let decimal = |name: &str, default: f64| -> Result<f64, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(v) => {
                    v.parse().ok().filter(|x: &f64| x.is_finite() && *x >= 0.0).ok_or_else(|| {
                        ConfigError(format!("{name} must be a number, 0 or more, got `{v}`"))
                    })
                }
            }
        };
        config.host_limits.rate_per_second =
            decimal("DOCENT_CRAWL_RATE", config.host_limits.rate_per_second)?;
        config.host_limits.burst =
            number("DOCENT_CRAWL_BURST", get("DOCENT_CRAWL_BURST"), config.host_limits.burst)?
                .max(1);
        config.host_limits.concurrency = number(
            "DOCENT_CRAWL_CONCURRENCY",
            get("DOCENT_CRAWL_CONCURRENCY"),
            config.host_limits.concurrency,
        )?;
        config.global_rate_per_second =
            decimal("DOCENT_CRAWL_GLOBAL_RATE", config.global_rate_per_second)?;
        config.fetch_timeout_seconds = number(
            "DOCENT_FETCH_TIMEOUT_SECONDS",
            get("DOCENT_FETCH_TIMEOUT_SECONDS"),
            config.fetch_timeout_seconds,
        )?
        .clamp(1, 600);
        // A slot is held at most as long as a fetch can take, plus time to store the page.
        config.host_limits.lease_ms = (config.fetch_timeout_seconds + 30) * 1000;
        config.embeddings = match get("DOCENT_EMBEDDINGS").as_deref() {
            None | Some("builtin") => EmbeddingProvider::Builtin,
            Some("off") => EmbeddingProvider::Off,
            Some("openai") => EmbeddingProvider::OpenAi {
                base_url: get("DOCENT_EMBEDDINGS_BASE_URL").unwrap_or_else(|| "https://api.openai.com/v1".into()),
                api_key: get("DOCENT_EMBEDDINGS_API_KEY"),
                model: get("DOCENT_EMBEDDINGS_MODEL").ok_or_else(|| ConfigError("DOCENT_EMBEDDINGS=openai needs DOCENT_EMBEDDINGS_MODEL".into()))?,
            },
            Some("workers-ai") => EmbeddingProvider::WorkersAi {
                model: get("DOCENT_EMBEDDINGS_MODEL").unwrap_or_else(|| "@cf/baai/bge-base-en-v1.5".into()),
            },
            Some("spin-llm") => EmbeddingProvider::SpinLlm { model: get("DOCENT_EMBEDDINGS_MODEL").unwrap_or_else(|| DEFAULT_SPIN_EMBEDDING_MODEL.into()) },
            Some(other) => {
                return Err(ConfigError(format!("DOCENT_EMBEDDINGS must be builtin, openai, workers-ai, spin-llm or off, got `{other}`")))
            }
        };
        config.search_mode = match get("DOCENT_SEARCH_MODE") {
            // Hybrid with the built-in embedder and feedback beats lexical ranking on the
            // evaluation set (tests/eval); without feedback it did not.
            None => SearchMode::Hybrid,
            Some(mode) => SearchMode::parse(&mode).ok_or_else(|| {
                ConfigError(format!(
                    "DOCENT_SEARCH_MODE must be hybrid, lexical or vector, got `{mode}`"
                ))
            })?,
        };
        if config.search_mode != SearchMode::Lexical && config.embeddings == EmbeddingProvider::Off
        {
            config.search_mode = SearchMode::Lexical;
        }
        config.store = match get("DOCENT_STORE").as_deref() {
            None | Some("sqlite") => StoreBackend::Sqlite,
            Some("postgres") => {
                StoreBackend::Postgres { url: get("DOCENT_DATABASE_URL").filter(|u| !u.is_empty()) }
            }
            Some(other) => {
                return Err(ConfigError(format!(
                    "DOCENT_STORE must be sqlite or postgres, got `{other}`"
                )))
            }
        };
        config.rrf_weights = (
            decimal("DOCENT_RRF_LEXICAL_WEIGHT", config.rrf_weights.0)?,
            decimal("DOCENT_RRF_VECTOR_WEIGHT", config.rrf_weights.1)?,
        );
        config.llm = llm_config(&get, &decimal)?;
        config.reranker = match get("DOCENT_RERANKER").as_deref() {
            None | Some("off") => None,
            Some(kind @ ("http" | "workers-ai")) => {
                let kind = if kind == "workers-ai" {
                    RerankerKind::WorkersAi
                } else {
                    let base_url = get("DOCENT_RERANKER_BASE_URL")
                        .ok_or_else(|| ConfigError("DOCENT_RERANKER=http needs DOCENT_RERANKER_BASE_URL (the URL before /rerank)".into()))?;
                    RerankerKind::Http {
                        base_url: base_url.trim_end_matches('/').to_string(),
                        api_key: get("DOCENT_RERANKER_API_KEY"),
                    }
                };
                let model = match (&kind, get("DOCENT_RERANKER_MODEL")) {
                    (_, Some(model)) => model,
                    (RerankerKind::WorkersAi, None) => "@cf/baai/bge-reranker-base".into(),
                    (RerankerKind::Http { .. }, None) => {
                        return Err(ConfigError(
                            "DOCENT_RERANKER=http needs DOCENT_RERANKER_MODEL".into(),
                        ))
                    }
                };
                Some(Reranker {
                    kind,
                    model,
                    candidates: number(
                        "DOCENT_RERANK_CANDIDATES",
                        get("DOCENT_RERANK_CANDIDATES"),
                        20,
                    )?
                    .clamp(2, 100),
                    timeout_ms: number(
                        "DOCENT_RERANK_TIMEOUT_MS",
                        get("DOCENT_RERANK_TIMEOUT_MS"),
                        3_000,
                    )?
                    .max(1),
                })
            }
            Some(other) => {
                return Err(ConfigError(format!(
                    "DOCENT_RERANKER must be off, http or workers-ai, got `{other}`"
                )))
            }
        };
        // Feedback is measured to help the built-in embedder; with an external model it is opt-in
        // (unmeasured, and each feedback passage would be one more embedding to compute).
        let default_feedback = if config.embeddings == EmbeddingProvider::Builtin {
            config.vector_feedback.0
        } else {
            0
        };
        config.vector_feedback = (
            number(
                "DOCENT_VECTOR_FEEDBACK_PASSAGES",
                get("DOCENT_VECTOR_FEEDBACK_PASSAGES"),
                default_feedback,
            )?
            .min(10),
            decimal("DOCENT_VECTOR_FEEDBACK_WEIGHT", f64::from(config.vector_feedback.1))? as f32,
        );
        config.vector_store = match get("DOCENT_VECTOR_STORE").as_deref() {
            None | Some("sql") => VectorStoreKind::Sql,
            Some("vectorize") => VectorStoreKind::Vectorize,
            Some(other) => {
                return Err(ConfigError(format!(
                    "DOCENT_VECTOR_STORE must be sql or vectorize, got `{other}`"
                )))
            }
        };
        // The built-in embedder is computed in place and re-scores lexical candidates (no
        // nearest-neighbour search), so a remote index would only add a round trip per query; with
        // embeddings off there is nothing to store.
        if config.vector_store == VectorStoreKind::Vectorize
            && matches!(config.embeddings, EmbeddingProvider::Builtin | EmbeddingProvider::Off)
        {
            return Err(ConfigError(
                "DOCENT_VECTOR_STORE=vectorize needs an embedding model: set DOCENT_EMBEDDINGS to workers-ai or openai".into(),
            ));
        }
        // The Vectorize store keeps its ledger beside the chunks in D1; Postgres has pgvector in
        // the same transaction as the chunks, which an external index cannot improve on.
        if config.vector_store == VectorStoreKind::Vectorize && config.store != StoreBackend::Sqlite
        {
            return Err(ConfigError("DOCENT_VECTOR_STORE=vectorize needs DOCENT_STORE=sqlite (Postgres keeps vectors in pgvector)".into()));
        }
        config.api_keys = get("DOCENT_API_KEYS")
            .map(|k| k.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default();
        Ok(config)
    }
}

fn llm_config(
    get: &dyn Fn(&str) -> Option<String>,
    decimal: &dyn Fn(&str, f64) -> Result<f64, ConfigError>,
) -> Result<LlmConfig, ConfigError> {
    fn number<T: std::str::FromStr>(
        get: &dyn Fn(&str) -> Option<String>,
        name: &str,
        default: T,
    ) -> Result<T, ConfigError> {
        match get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| ConfigError(format!("{name} must be a whole number, got `{v}`"))),
        }
    }
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
            requests_per_minute: number(get, &format!("{prefix}_RPM"), 0)?,
            tokens_per_minute: number(get, &format!("{prefix}_TPM"), 0)?,
        });
    }
    llm.connect_timeout_ms =
        number(get, "DOCENT_LLM_CONNECT_TIMEOUT_MS", llm.connect_timeout_ms)?.max(1);
    llm.first_token_timeout_ms =
        number(get, "DOCENT_LLM_FIRST_TOKEN_TIMEOUT_MS", llm.first_token_timeout_ms)?.max(1);
    llm.total_timeout_ms = number(get, "DOCENT_LLM_TOTAL_TIMEOUT_MS", llm.total_timeout_ms)?.max(1);
    llm.retries = number(get, "DOCENT_LLM_RETRIES", llm.retries)?.min(10);
    llm.backoff_ms.0 = number(get, "DOCENT_LLM_BACKOFF_BASE_MS", llm.backoff_ms.0)?;
    llm.backoff_ms.1 =
        number(get, "DOCENT_LLM_BACKOFF_MAX_MS", llm.backoff_ms.1)?.max(llm.backoff_ms.0);
    llm.breaker.failure_threshold =
        number(get, "DOCENT_LLM_BREAKER_FAILURES", llm.breaker.failure_threshold)?.max(1);
    llm.breaker.cool_down_ms =
        number(get, "DOCENT_LLM_BREAKER_COOL_DOWN_SECONDS", llm.breaker.cool_down_ms / 1000)?
            * 1000;
    llm.context.window_tokens =
        number(get, "DOCENT_LLM_CONTEXT_TOKENS", llm.context.window_tokens)?;
    llm.context.answer_tokens =
        number(get, "DOCENT_LLM_MAX_ANSWER_TOKENS", llm.context.answer_tokens)?;
    if llm.context.answer_tokens == 0 || llm.context.window_tokens < llm.context.answer_tokens + 512
    {
        return Err(ConfigError(
            "DOCENT_LLM_CONTEXT_TOKENS must exceed DOCENT_LLM_MAX_ANSWER_TOKENS by 512 or more"
                .into(),
        ));
    }
    llm.min_evidence = decimal("DOCENT_MIN_EVIDENCE", llm.min_evidence)?;
    if llm.min_evidence > 1.0 {
        return Err(ConfigError(
            "DOCENT_MIN_EVIDENCE is a share of the question's terms, from 0 to 1".into(),
        ));
    }
    llm.answer_cache_seconds =
        number(get, "DOCENT_ANSWER_CACHE_SECONDS", llm.answer_cache_seconds)?;
    if let Some(table) = get("DOCENT_LLM_PRICES") {
        llm.prices =
            parse_prices(&table).map_err(|e| ConfigError(format!("DOCENT_LLM_PRICES: {e}")))?;
    }
    Ok(llm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_safe() {
        let c = config(&[]).unwrap();
        assert_eq!(c.admin_key, None, "no admin key unless configured");
        assert!(!c.allow_private_hosts);
    }

    #[test]
    fn local_development_gets_the_documented_key() {
        let c = config(&[("DOCENT_ALLOW_PRIVATE_HOSTS", "true")]).unwrap();
        assert_eq!(c.admin_key.as_deref(), Some(DEV_ADMIN_KEY));
        let c = config(&[("DOCENT_ALLOW_PRIVATE_HOSTS", "true"), ("DOCENT_ADMIN_KEY", "s3cret")])
            .unwrap();
        assert_eq!(c.admin_key.as_deref(), Some("s3cret"));
    }

    #[test]
    fn bad_values_are_reported_by_name() {
        assert_eq!(
            config(&[("DOCENT_CRAWL_MAX_PAGES", "lots")]).unwrap_err().0,
            "DOCENT_CRAWL_MAX_PAGES must be a whole number, got `lots`"
        );
        assert!(config(&[("DOCENT_ALLOW_PRIVATE_HOSTS", "maybe")])
            .unwrap_err()
            .0
            .contains("true or false"));
        assert!(config(&[("DOCENT_CHUNK_TOKENS", "10")]).is_err());
        assert_eq!(config(&[("DOCENT_CHUNK_TOKENS", "500")]).unwrap().chunking.max_tokens, 500);
        assert!(config(&[("DOCENT_CRAWL_RATE", "-1")])
            .unwrap_err()
            .0
            .starts_with("DOCENT_CRAWL_RATE must be a number"));
        assert!(config(&[("DOCENT_CRAWL_GLOBAL_RATE", "fast")]).is_err());
        assert!(config(&[("DOCENT_EMBEDDINGS", "openai")])
            .unwrap_err()
            .0
            .contains("DOCENT_EMBEDDINGS_MODEL"));
        assert!(config(&[("DOCENT_SEARCH_MODE", "semantic")]).is_err());
        assert_eq!(config(&[]).unwrap().store, StoreBackend::Sqlite);
        assert_eq!(
            config(&[("DOCENT_STORE", "postgres"), ("DOCENT_DATABASE_URL", "postgres://h/db")])
                .unwrap()
                .store,
            StoreBackend::Postgres { url: Some("postgres://h/db".into()) }
        );
        assert!(config(&[("DOCENT_STORE", "mysql")]).unwrap_err().0.contains("sqlite or postgres"));
        let off = config(&[("DOCENT_EMBEDDINGS", "off")]).unwrap();
        assert_eq!(off.search_mode, SearchMode::Lexical, "no embeddings: lexical search");
        let workers = config(&[("DOCENT_EMBEDDINGS", "workers-ai")]).unwrap();
        assert_eq!(
            workers.embeddings,
            EmbeddingProvider::WorkersAi { model: "@cf/baai/bge-base-en-v1.5".into() }
        );
        assert_eq!(
            workers.search_mode,
            SearchMode::Hybrid,
            "a real embedding model: hybrid search"
        );
    }

    #[test]
    fn politeness_settings() {
        let c = config(&[]).unwrap();
        assert_eq!(
            (c.host_limits.rate_per_second, c.host_limits.burst, c.host_limits.concurrency),
            (3.0, 5, 3)
        );
        let c = config(&[
            ("DOCENT_CRAWL_RATE", "0.5"),
            ("DOCENT_CRAWL_CONCURRENCY", "0"),
            ("DOCENT_FETCH_TIMEOUT_SECONDS", "10"),
        ])
        .unwrap();
        assert_eq!(
            (c.host_limits.rate_per_second, c.host_limits.concurrency, c.host_limits.lease_ms),
            (0.5, 0, 40_000)
        );
    }

    #[test]
    fn llm_providers_in_fallback_order() {
        let c = config(&[]).unwrap();
        assert!(c.llm.providers.is_empty(), "no key, no provider: extractive answers");
        assert_eq!(c.llm.chain_id(), "extractive");
        let c = config(&[
            ("DOCENT_LLM_PROVIDERS", "primary, workers-ai"),
            ("DOCENT_LLM_PRIMARY_BASE_URL", "https://api.openai.com/v1/"),
            ("DOCENT_LLM_PRIMARY_MODEL", "gpt-4o-mini"),
            ("DOCENT_LLM_PRIMARY_API_KEY", "sk-test"),
            ("DOCENT_LLM_PRIMARY_RPM", "500"),
            ("DOCENT_LLM_PRICES", "gpt-4o-mini=0.15/0.6"),
        ])
        .unwrap();
        let [primary, workers] = c.llm.providers.as_slice() else { panic!("two providers") };
        assert_eq!(
            primary.kind,
            ProviderKind::OpenAi {
                base_url: "https://api.openai.com/v1".into(),
                api_key: Some("sk-test".into())
            }
        );
        assert_eq!(
            (primary.model.as_str(), primary.requests_per_minute, primary.tokens_per_minute),
            ("gpt-4o-mini", 500, 0)
        );
        assert_eq!(
            (workers.kind.clone(), workers.model.as_str()),
            (ProviderKind::WorkersAi, DEFAULT_WORKERS_AI_MODEL)
        );
        assert_eq!(c.llm.price("gpt-4o-mini").unwrap().output_per_million, 0.6);
        assert_eq!(
            c.llm.chain_id(),
            format!("primary=gpt-4o-mini,workers-ai={DEFAULT_WORKERS_AI_MODEL}")
        );
        let missing = config(&[("DOCENT_LLM_PROVIDERS", "local")]).unwrap_err().0;
        assert!(missing.contains("DOCENT_LLM_LOCAL_BASE_URL"), "{missing}");
        assert!(config(&[
            ("DOCENT_LLM_PROVIDERS", "a,a"),
            ("DOCENT_LLM_A_BASE_URL", "http://x"),
            ("DOCENT_LLM_A_MODEL", "m")
        ])
        .is_err());
        assert!(config(&[("DOCENT_MIN_EVIDENCE", "2")]).is_err());
        assert!(config(&[("DOCENT_LLM_PRICES", "m=free")])
            .unwrap_err()
            .0
            .starts_with("DOCENT_LLM_PRICES"));
    }

    #[test]
    fn spins_llm_interface_for_answers_and_embeddings() {
        let c = config(&[("DOCENT_LLM_PROVIDERS", "spin-llm")]).unwrap();
        let [spin] = c.llm.providers.as_slice() else { panic!("one provider") };
        assert_eq!(
            (spin.name.as_str(), &spin.kind, spin.model.as_str()),
            ("spin-llm", &ProviderKind::SpinLlm, DEFAULT_SPIN_LLM_MODEL)
        );
        assert_eq!(c.llm.chain_id(), "spin-llm=llama2-chat");
        // Its model and quota are set like any provider's; no base URL is needed.
        let c = config(&[
            ("DOCENT_LLM_PROVIDERS", "spin-llm,workers-ai"),
            ("DOCENT_LLM_SPIN_LLM_MODEL", "codellama-instruct"),
            ("DOCENT_LLM_SPIN_LLM_RPM", "30"),
        ])
        .unwrap();
        let [spin, workers] = c.llm.providers.as_slice() else { panic!("two providers") };
        assert_eq!((spin.model.as_str(), spin.requests_per_minute), ("codellama-instruct", 30));
        assert_eq!(workers.kind, ProviderKind::WorkersAi);
        let embeddings = config(&[("DOCENT_EMBEDDINGS", "spin-llm")]).unwrap();
        assert_eq!(
            embeddings.embeddings,
            EmbeddingProvider::SpinLlm { model: DEFAULT_SPIN_EMBEDDING_MODEL.into() }
        );
        assert_eq!(embeddings.search_mode, SearchMode::Hybrid);
        assert_eq!(
            embeddings.vector_feedback.0, 0,
            "feedback is measured only for the built-in embedder"
        );
        let named =
            config(&[("DOCENT_EMBEDDINGS", "spin-llm"), ("DOCENT_EMBEDDINGS_MODEL", "bge-small")])
                .unwrap();
        assert_eq!(named.embeddings, EmbeddingProvider::SpinLlm { model: "bge-small".into() });
        assert!(config(&[("DOCENT_EMBEDDINGS", "spin")]).unwrap_err().0.contains("spin-llm"));
    }

    #[test]
    fn the_vector_store_is_sql_unless_vectorize_is_asked_for_with_a_model() {
        assert_eq!(config(&[]).unwrap().vector_store, VectorStoreKind::Sql);
        assert_eq!(
            config(&[("DOCENT_VECTOR_STORE", "sql")]).unwrap().vector_store,
            VectorStoreKind::Sql
        );
        let vectorize =
            config(&[("DOCENT_VECTOR_STORE", "vectorize"), ("DOCENT_EMBEDDINGS", "workers-ai")])
                .unwrap();
        assert_eq!(vectorize.vector_store, VectorStoreKind::Vectorize);
        let unknown = config(&[("DOCENT_VECTOR_STORE", "pinecone")]).unwrap_err().0;
        assert_eq!(unknown, "DOCENT_VECTOR_STORE must be sql or vectorize, got `pinecone`");
        for embeddings in ["builtin", "off"] {
            let error =
                config(&[("DOCENT_VECTOR_STORE", "vectorize"), ("DOCENT_EMBEDDINGS", embeddings)])
                    .unwrap_err()
                    .0;
            assert!(
                error.contains("DOCENT_EMBEDDINGS to workers-ai or openai"),
                "{embeddings}: {error}"
            );
        }
        assert!(
            config(&[("DOCENT_VECTOR_STORE", "vectorize")]).is_err(),
            "the default embedder is the built-in one"
        );
        let on_postgres = config(&[
            ("DOCENT_VECTOR_STORE", "vectorize"),
            ("DOCENT_EMBEDDINGS", "workers-ai"),
            ("DOCENT_STORE", "postgres"),
        ]);
        assert!(on_postgres.unwrap_err().0.contains("pgvector"));
        assert_eq!(VectorStoreKind::Sql.require_sql("Spin"), Ok(()));
        assert!(VectorStoreKind::Vectorize
            .require_sql("Spin")
            .unwrap_err()
            .starts_with("DOCENT_VECTOR_STORE=vectorize needs Cloudflare Workers; Spin"));
    }

    #[test]
    fn the_reranker_is_off_unless_configured() {
        assert_eq!(config(&[]).unwrap().reranker, None);
        let workers = config(&[("DOCENT_RERANKER", "workers-ai")]).unwrap().reranker.unwrap();
        assert_eq!(
            (workers.kind, workers.model.as_str(), workers.candidates),
            (RerankerKind::WorkersAi, "@cf/baai/bge-reranker-base", 20)
        );
        let http = config(&[
            ("DOCENT_RERANKER", "http"),
            ("DOCENT_RERANKER_BASE_URL", "http://127.0.0.1:7997/v1/"),
            ("DOCENT_RERANKER_MODEL", "bge-reranker-v2-m3"),
        ])
        .unwrap();
        assert_eq!(
            http.reranker.unwrap().kind,
            RerankerKind::Http { base_url: "http://127.0.0.1:7997/v1".into(), api_key: None }
        );
        assert!(config(&[("DOCENT_RERANKER", "http")])
            .unwrap_err()
            .0
            .contains("DOCENT_RERANKER_BASE_URL"));
        assert!(config(&[("DOCENT_RERANKER", "cohere")]).is_err());
    }
}
