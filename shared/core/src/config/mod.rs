//! Configuration from `DOCENT_*` variables, read through a lookup function so that every platform
//! (Worker vars and secrets, Spin variables, process environment) feeds the same parser.

pub mod llm;

use self::llm::{llm_config, LlmConfig};
use crate::content::chunk::ChunkingOptions;
use crate::crawl::breaker::BreakerPolicy;
use crate::crawl::politeness::HostLimits;
use crate::crawl::ratelimit::RateLimit;
use crate::crawl::retry::Backoff;

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
    /// Origins (`https://docs.example.com`) whose pages may call Docent from a browser, besides
    /// Docent's own (`DOCENT_ALLOWED_ORIGINS`, comma-separated; `*` admits any origin).
    pub allowed_origins: Vec<String>,
    /// Questions the chat page and the widget offer to ask (`DOCENT_EXAMPLE_QUESTIONS`, separated
    /// by `|`; at most [`MAX_EXAMPLE_QUESTIONS`]).
    pub example_questions: Vec<String>,
    /// On Spin behind a proxy: the header in which that proxy (and only it) writes the client's
    /// address (`DOCENT_TRUSTED_CLIENT_HEADER`, e.g. `x-forwarded-for`), for per-client limits.
    /// Unset, the peer address counts.
    pub trusted_client_header: Option<String>,
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
    /// Words an extractive answer quotes (`DOCENT_ANSWER_WORDS`).
    pub answer_words: usize,
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
    /// How queries and chunks are told apart for a model trained with prefixes (e5, bge).
    pub embedding_inputs: EmbeddingInputs,
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
    /// Metrics, alert rules and where alerts are sent.
    pub ops: OpsConfig,
}

/// The operators' settings: metrics and alerts.
#[derive(Debug, Clone, PartialEq)]
pub struct OpsConfig {
    /// Metrics are kept unless `DOCENT_METRICS=off` (for measuring what keeping them costs).
    pub metrics: bool,
    /// A key that reads `/metrics` only (`DOCENT_METRICS_KEY`), for a scraper that should not hold
    /// the admin key.
    pub metrics_key: Option<String>,
    /// The alert rules with their levels (`DOCENT_ALERT_RULES` overrides the defaults).
    pub alert_rules: Vec<crate::ops::alerts::Rule>,
    /// Where alert notifications are POSTed (`DOCENT_ALERT_WEBHOOK_URL`), signed as Standard
    /// Webhooks with `DOCENT_ALERT_WEBHOOK_SECRET` (`whsec_…`).
    pub alert_webhook: Option<AlertWebhook>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlertWebhook {
    pub url: String,
    pub secret: String,
}

impl Default for OpsConfig {
    fn default() -> Self {
        OpsConfig {
            metrics: true,
            metrics_key: None,
            alert_rules: crate::ops::alerts::default_rules(),
            alert_webhook: None,
        }
    }
}

fn ops_config(vars: &Vars) -> Result<OpsConfig, ConfigError> {
    let metrics = match vars.get("DOCENT_METRICS").as_deref() {
        None | Some("on" | "1" | "true" | "yes") => true,
        Some("off" | "0" | "false" | "no") => false,
        Some(other) => {
            return Err(ConfigError(format!("DOCENT_METRICS must be on or off, got `{other}`")))
        }
    };
    let mut alert_rules = crate::ops::alerts::default_rules();
    if let Some(rules) = vars.get("DOCENT_ALERT_RULES") {
        crate::ops::alerts::apply_overrides(&mut alert_rules, &rules)
            .map_err(|e| ConfigError(format!("DOCENT_ALERT_RULES: {e}")))?;
    }
    let alert_webhook = match (
        vars.get("DOCENT_ALERT_WEBHOOK_URL"),
        vars.get("DOCENT_ALERT_WEBHOOK_SECRET"),
    ) {
        (None, None) => None,
        (Some(url), Some(secret)) => {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(ConfigError(format!(
                    "DOCENT_ALERT_WEBHOOK_URL must be an http(s) URL, got `{url}`"
                )));
            }
            if crate::escalation::signature::sign_standard_webhook(&secret, "check", 0, b"")
                .is_err()
            {
                return Err(ConfigError(
                    "DOCENT_ALERT_WEBHOOK_SECRET must be a Standard Webhooks secret: whsec_ followed by base64".into(),
                ));
            }
            Some(AlertWebhook { url, secret })
        }
        (Some(_), None) => return Err(ConfigError(
            "DOCENT_ALERT_WEBHOOK_URL needs DOCENT_ALERT_WEBHOOK_SECRET (alerts are always signed)"
                .into(),
        )),
        (None, Some(_)) => {
            return Err(ConfigError(
                "DOCENT_ALERT_WEBHOOK_SECRET is set without DOCENT_ALERT_WEBHOOK_URL".into(),
            ))
        }
    };
    Ok(OpsConfig {
        metrics,
        metrics_key: vars.get("DOCENT_METRICS_KEY"),
        alert_rules,
        alert_webhook,
    })
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

/// The default embedding model of Spin's LLM interface.
pub const DEFAULT_SPIN_EMBEDDING_MODEL: &str = "all-minilm-l6-v2";

/// How texts are presented to an embedding model that tells queries from documents, as e5
/// (`query: ` / `passage: `) and bge were trained to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmbeddingInputs {
    /// Put, with a space, before every query (`DOCENT_EMBEDDINGS_QUERY_PREFIX`, e.g. `query:`).
    pub query_prefix: String,
    /// Put, with a space, before every chunk (`DOCENT_EMBEDDINGS_DOCUMENT_PREFIX`, e.g. `passage:`).
    pub document_prefix: String,
    /// Sends `input_type` (`query` or `document`) with each OpenAI-format request, for servers that
    /// add the model's prefixes themselves (`DOCENT_EMBEDDINGS_INPUT_TYPE`).
    pub input_type: bool,
}

/// Where embeddings come from (`DOCENT_EMBEDDINGS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmbeddingProvider {
    Off,
    /// The built-in embedder (a distilled word-vector table): no model download, no network.
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
/// lexical alone (full-text BM25), vector alone (nearest embeddings), or `auto`: lexical for
/// keyword queries, hybrid for questions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename_all = "lowercase"))]
pub enum SearchMode {
    Auto,
    Hybrid,
    Lexical,
    Vector,
}

/// The most content words a query has and still counts as keywords (`ALTER USER`, `Model.save`,
/// `log_error_verbosity configuration parameter`) for `auto`.
pub const KEYWORD_QUERY_TERMS: usize = 4;

impl SearchMode {
    pub fn parse(text: &str) -> Option<SearchMode> {
        match text {
            "auto" => Some(SearchMode::Auto),
            "hybrid" => Some(SearchMode::Hybrid),
            "lexical" => Some(SearchMode::Lexical),
            "vector" => Some(SearchMode::Vector),
            _ => None,
        }
    }

    /// The mode a query of `terms` content words is searched in. With the built-in embedder,
    /// hybrid ranks questions better than lexical and keyword queries worse (docs/BENCHMARKS.md,
    /// "Ranking by pages"), so `auto` is lexical up to [`KEYWORD_QUERY_TERMS`] words.
    pub fn for_query(self, terms: usize) -> SearchMode {
        match self {
            SearchMode::Auto if terms > KEYWORD_QUERY_TERMS => SearchMode::Hybrid,
            SearchMode::Auto => SearchMode::Lexical,
            mode => mode,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            admin_key: None,
            allow_private_hosts: false,
            allow_file_urls: false,
            allowed_origins: Vec::new(),
            example_questions: Vec::new(),
            trusted_client_header: None,
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
            answer_words: 150,
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
            embedding_inputs: EmbeddingInputs::default(),
            search_mode: SearchMode::Auto,
            store: StoreBackend::Sqlite,
            rrf_weights: (1.0, 1.0),
            vector_feedback: (4, 1.0),
            llm: LlmConfig::default(),
            reranker: None,
            vector_store: VectorStoreKind::Sql,
            ops: OpsConfig::default(),
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

/// The `DOCENT_*` variables as the platform gives them: trimmed, and empty counts as unset.
pub(crate) struct Vars<'a>(pub(crate) &'a dyn Fn(&str) -> Option<String>);

/// How many example questions a deployment may offer, and how long each may be.
pub const MAX_EXAMPLE_QUESTIONS: usize = 6;
pub const MAX_EXAMPLE_QUESTION_CHARS: usize = 200;

fn parse_example_questions(value: &str) -> Result<Vec<String>, ConfigError> {
    let questions: Vec<String> =
        value.split('|').map(str::trim).filter(|q| !q.is_empty()).map(str::to_string).collect();
    if questions.len() > MAX_EXAMPLE_QUESTIONS {
        return Err(ConfigError(format!(
            "DOCENT_EXAMPLE_QUESTIONS: {} questions; at most {MAX_EXAMPLE_QUESTIONS}",
            questions.len()
        )));
    }
    if let Some(long) = questions.iter().find(|q| q.chars().count() > MAX_EXAMPLE_QUESTION_CHARS) {
        return Err(ConfigError(format!(
            "DOCENT_EXAMPLE_QUESTIONS: `{long}` is longer than {MAX_EXAMPLE_QUESTION_CHARS} characters"
        )));
    }
    Ok(questions)
}

/// `DOCENT_ALLOWED_ORIGINS`: each entry a bare origin (scheme, host, optional port) or `*`.
fn parse_origins(value: &str) -> Result<Vec<String>, ConfigError> {
    value
        .split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|origin| {
            let origin = origin.trim_end_matches('/').to_ascii_lowercase();
            let bare = url::Url::parse(&origin).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host().is_some()
                    && u.origin().ascii_serialization() == origin
            });
            if origin == "*" || bare {
                Ok(origin)
            } else {
                Err(ConfigError(format!(
                    "DOCENT_ALLOWED_ORIGINS: `{origin}` is not an origin like https://docs.example.com (scheme, host and port only) or *"
                )))
            }
        })
        .collect()
}

impl Vars<'_> {
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    }

    /// A whole number, or `default` when unset.
    pub(crate) fn number<T: std::str::FromStr>(
        &self, name: &str, default: T,
    ) -> Result<T, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| ConfigError(format!("{name} must be a whole number, got `{v}`"))),
        }
    }

    /// A finite number, 0 or more, or `default` when unset.
    pub(crate) fn decimal(&self, name: &str, default: f64) -> Result<f64, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => {
                v.parse().ok().filter(|x: &f64| x.is_finite() && *x >= 0.0).ok_or_else(|| {
                    ConfigError(format!("{name} must be a number, 0 or more, got `{v}`"))
                })
            }
        }
    }
}

impl Config {
    /// Reads every `DOCENT_*` setting through `lookup`; unset variables keep their defaults.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        let vars = Vars(&lookup);
        let get = |name: &str| vars.get(name);
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
        if let Some(origins) = get("DOCENT_ALLOWED_ORIGINS") {
            config.allowed_origins = parse_origins(&origins)?;
        }
        if let Some(questions) = get("DOCENT_EXAMPLE_QUESTIONS") {
            config.example_questions = parse_example_questions(&questions)?;
        }
        if let Some(header) = get("DOCENT_TRUSTED_CLIENT_HEADER") {
            let header = header.to_ascii_lowercase();
            if !header.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                return Err(ConfigError(format!(
                    "DOCENT_TRUSTED_CLIENT_HEADER must be a header name like x-forwarded-for, got `{header}`"
                )));
            }
            config.trusted_client_header = Some(header);
        }
        if let Some(agent) = get("DOCENT_USER_AGENT") {
            config.user_agent = agent;
        }
        config.max_request_bytes =
            vars.number("DOCENT_MAX_REQUEST_BYTES", config.max_request_bytes)?;
        config.max_page_bytes = vars.number("DOCENT_MAX_PAGE_BYTES", config.max_page_bytes)?;
        config.default_max_pages =
            vars.number("DOCENT_CRAWL_MAX_PAGES", config.default_max_pages)?;
        config.default_max_depth =
            vars.number("DOCENT_CRAWL_MAX_DEPTH", config.default_max_depth)?;
        config.chunking.max_tokens =
            vars.number("DOCENT_CHUNK_TOKENS", config.chunking.max_tokens)?;
        config.chunking.overlap_tokens =
            vars.number("DOCENT_CHUNK_OVERLAP_TOKENS", config.chunking.overlap_tokens)?;
        if config.chunking.max_tokens < 32
            || config.chunking.overlap_tokens * 2 > config.chunking.max_tokens
        {
            return Err(ConfigError(
                "DOCENT_CHUNK_TOKENS must be at least 32 and more than twice DOCENT_CHUNK_OVERLAP_TOKENS".into(),
            ));
        }
        config.chat_passages = vars.number("DOCENT_CHAT_PASSAGES", config.chat_passages)?;
        config.answer_words =
            vars.number("DOCENT_ANSWER_WORDS", config.answer_words)?.clamp(20, 2_000);
        config.session_ttl_seconds =
            vars.number("DOCENT_SESSION_TTL_SECONDS", config.session_ttl_seconds)?.max(60);
        config.search_cache_seconds =
            vars.number("DOCENT_SEARCH_CACHE_SECONDS", config.search_cache_seconds)?;
        config.ticket_rate_limit.requests =
            vars.number("DOCENT_TICKET_RATE_LIMIT", config.ticket_rate_limit.requests)?;
        config.chat_rate_limit.requests =
            vars.number("DOCENT_CHAT_RATE_LIMIT", config.chat_rate_limit.requests)?;
        config.search_rate_limit.requests =
            vars.number("DOCENT_SEARCH_RATE_LIMIT", config.search_rate_limit.requests)?;
        config.retry_backoff.base_seconds =
            vars.number("DOCENT_RETRY_BASE_SECONDS", config.retry_backoff.base_seconds)?;
        config.retry_backoff.cap_seconds =
            vars.number("DOCENT_RETRY_MAX_SECONDS", config.retry_backoff.cap_seconds)?;
        config.breaker.failure_threshold =
            vars.number("DOCENT_BREAKER_FAILURES", config.breaker.failure_threshold)?;
        config.breaker.cool_down_ms = vars
            .number("DOCENT_BREAKER_COOL_DOWN_SECONDS", config.breaker.cool_down_ms / 1000)?
            * 1000;
        config.stale_after_seconds =
            vars.number("DOCENT_STALE_AFTER_SECONDS", config.stale_after_seconds)?;
        config.host_limits.rate_per_second =
            vars.decimal("DOCENT_CRAWL_RATE", config.host_limits.rate_per_second)?;
        config.host_limits.burst =
            vars.number("DOCENT_CRAWL_BURST", config.host_limits.burst)?.max(1);
        config.host_limits.concurrency =
            vars.number("DOCENT_CRAWL_CONCURRENCY", config.host_limits.concurrency)?;
        config.global_rate_per_second =
            vars.decimal("DOCENT_CRAWL_GLOBAL_RATE", config.global_rate_per_second)?;
        config.fetch_timeout_seconds = vars
            .number("DOCENT_FETCH_TIMEOUT_SECONDS", config.fetch_timeout_seconds)?
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
        config.embedding_inputs = EmbeddingInputs {
            query_prefix: get("DOCENT_EMBEDDINGS_QUERY_PREFIX").unwrap_or_default(),
            document_prefix: get("DOCENT_EMBEDDINGS_DOCUMENT_PREFIX").unwrap_or_default(),
            input_type: match get("DOCENT_EMBEDDINGS_INPUT_TYPE").as_deref() {
                None | Some("0" | "false" | "no") => false,
                Some("1" | "true" | "yes") => true,
                Some(other) => {
                    return Err(ConfigError(format!(
                        "DOCENT_EMBEDDINGS_INPUT_TYPE must be true or false, got `{other}`"
                    )))
                }
            },
        };
        config.search_mode = match get("DOCENT_SEARCH_MODE") {
            // Hybrid beats lexical on questions and loses on keyword queries, with the built-in
            // embedder and with e5-small alike (tests/eval/ranking.py, docs/BENCHMARKS.md).
            None => SearchMode::Auto,
            Some(mode) => SearchMode::parse(&mode).ok_or_else(|| {
                ConfigError(format!(
                    "DOCENT_SEARCH_MODE must be auto, hybrid, lexical or vector, got `{mode}`"
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
            vars.decimal("DOCENT_RRF_LEXICAL_WEIGHT", config.rrf_weights.0)?,
            vars.decimal("DOCENT_RRF_VECTOR_WEIGHT", config.rrf_weights.1)?,
        );
        config.llm = llm_config(&vars)?;
        config.ops = ops_config(&vars)?;
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
                    candidates: vars.number("DOCENT_RERANK_CANDIDATES", 20)?.clamp(2, 100),
                    timeout_ms: vars.number("DOCENT_RERANK_TIMEOUT_MS", 3_000)?.max(1),
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
            vars.number("DOCENT_VECTOR_FEEDBACK_PASSAGES", default_feedback)?.min(10),
            vars.decimal("DOCENT_VECTOR_FEEDBACK_WEIGHT", f64::from(config.vector_feedback.1))?
                as f32,
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

#[cfg(test)]
mod tests;
