use super::llm::*;
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
    let c =
        config(&[("DOCENT_ALLOW_PRIVATE_HOSTS", "true"), ("DOCENT_ADMIN_KEY", "s3cret")]).unwrap();
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
    assert_eq!(
        config(&[]).unwrap().search_mode,
        SearchMode::Auto,
        "the built-in embedder: hybrid for questions only"
    );
    let off = config(&[("DOCENT_EMBEDDINGS", "off")]).unwrap();
    assert_eq!(off.search_mode, SearchMode::Lexical, "no embeddings: lexical search");
    let workers = config(&[("DOCENT_EMBEDDINGS", "workers-ai")]).unwrap();
    assert_eq!(
        workers.embeddings,
        EmbeddingProvider::WorkersAi { model: "@cf/baai/bge-base-en-v1.5".into() }
    );
    assert_eq!(
        workers.search_mode,
        SearchMode::Auto,
        "a real embedding model: auto, as the figures say"
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
    assert_eq!(embeddings.search_mode, SearchMode::Auto);
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

#[test]
fn embedding_inputs_are_configured_for_prefix_trained_models() {
    let plain = config(&[]).unwrap().embedding_inputs;
    assert_eq!(plain, EmbeddingInputs::default());
    let e5 = config(&[
        ("DOCENT_EMBEDDINGS_QUERY_PREFIX", "query:"),
        ("DOCENT_EMBEDDINGS_DOCUMENT_PREFIX", "passage: "),
        ("DOCENT_EMBEDDINGS_INPUT_TYPE", "true"),
    ])
    .unwrap()
    .embedding_inputs;
    assert_eq!((e5.query_prefix.as_str(), e5.document_prefix.as_str()), ("query:", "passage:"));
    assert!(e5.input_type);
    let error = config(&[("DOCENT_EMBEDDINGS_INPUT_TYPE", "maybe")]).unwrap_err();
    assert!(error.0.contains("DOCENT_EMBEDDINGS_INPUT_TYPE"), "{error:?}");
}

#[test]
fn allowed_origins_are_bare_origins() {
    let origins =
        |value: &str| config(&[("DOCENT_ALLOWED_ORIGINS", value)]).map(|c| c.allowed_origins);
    assert_eq!(
        origins("https://Docs.Example.com/, http://localhost:3000").unwrap(),
        ["https://docs.example.com", "http://localhost:3000"]
    );
    assert_eq!(origins("*").unwrap(), ["*"]);
    for bad in ["docs.example.com", "https://docs.example.com/guide", "ftp://x.example", "null"] {
        let error = origins(bad).unwrap_err().0;
        assert!(error.contains("DOCENT_ALLOWED_ORIGINS"), "{bad}: {error}");
    }
    assert!(config(&[]).unwrap().allowed_origins.is_empty());
}

#[test]
fn example_questions_are_separated_by_bars_and_bounded() {
    let questions =
        |value: &str| config(&[("DOCENT_EXAMPLE_QUESTIONS", value)]).map(|c| c.example_questions);
    assert_eq!(
        questions(" How do I install it? | |Where is the cache?").unwrap(),
        ["How do I install it?", "Where is the cache?"]
    );
    assert!(questions("a|b|c|d|e|f|g").unwrap_err().0.contains("at most 6"));
    assert!(questions(&"x".repeat(201)).unwrap_err().0.contains("longer than 200"));
    assert!(config(&[]).unwrap().example_questions.is_empty());
}

#[test]
fn ops_settings_are_checked() {
    let ops = |vars: &[(&str, &str)]| config(vars).map(|c| c.ops);
    let defaults = ops(&[]).unwrap();
    assert!(defaults.metrics && defaults.metrics_key.is_none() && defaults.alert_webhook.is_none());
    assert_eq!(defaults.alert_rules.len(), 6);
    assert!(!ops(&[("DOCENT_METRICS", "off")]).unwrap().metrics);
    assert!(ops(&[("DOCENT_METRICS", "maybe")]).is_err());
    let tuned = ops(&[("DOCENT_ALERT_RULES", "crawl_backlog=off")]).unwrap();
    assert_eq!(tuned.alert_rules.len(), 5);
    let error = ops(&[("DOCENT_ALERT_RULES", "latency=1")]).unwrap_err();
    assert!(error.0.contains("no alert rule `latency`"), "{}", error.0);
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let hook = ops(&[
        ("DOCENT_ALERT_WEBHOOK_URL", "https://alerts.example.com/in"),
        ("DOCENT_ALERT_WEBHOOK_SECRET", secret),
    ])
    .unwrap()
    .alert_webhook
    .unwrap();
    assert_eq!(hook.url, "https://alerts.example.com/in");
    assert!(ops(&[("DOCENT_ALERT_WEBHOOK_URL", "https://alerts.example.com/in")]).is_err());
    assert!(ops(&[
        ("DOCENT_ALERT_WEBHOOK_URL", "ftp://alerts.example.com"),
        ("DOCENT_ALERT_WEBHOOK_SECRET", secret)
    ])
    .is_err());
    assert!(ops(&[
        ("DOCENT_ALERT_WEBHOOK_URL", "https://alerts.example.com/in"),
        ("DOCENT_ALERT_WEBHOOK_SECRET", "whsec_not base64!")
    ])
    .is_err());
}
