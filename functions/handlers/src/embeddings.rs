//! Embeddings for indexing and for queries, from the provider the configuration names: the built-in
//! embedder (the default; no network), or any OpenAI-compatible `/v1/embeddings` endpoint reached
//! through the platform's fetch. Provider results are cached in KV by hash(model, text), so
//! unchanged text is never embedded twice.

use docent_core::config::{EmbeddingInputs, EmbeddingProvider};
use docent_core::domain::{ChunkVector, IndexedDocument};
use docent_core::ops::metrics::CACHE_LOOKUPS;
use docent_core::ports::{FetchRequest, Fetcher, ModelRuntime, PortError, PortResult};
use docent_core::retrieval::embed::{builtin_embed, builtin_embed_query};
use docent_store::api::VectorStore;

use crate::kv_state::{EmbeddingKey, KvState};
use crate::Platform;

/// Texts sent to a provider per request.
const BATCH: usize = 32;
/// Largest embeddings response read (32 texts of 3,072 floats as JSON, with room to spare).
const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// The model whose vectors the index holds and queries use; `None` when embeddings are off.
pub fn model(provider: &EmbeddingProvider) -> Option<&str> {
    match provider {
        EmbeddingProvider::Off => None,
        EmbeddingProvider::Builtin => Some(docent_core::retrieval::embed::BUILTIN_MODEL),
        EmbeddingProvider::OpenAi { model, .. }
        | EmbeddingProvider::WorkersAi { model }
        | EmbeddingProvider::SpinLlm { model } => Some(model),
    }
}

/// What a chunk is embedded as: its page title and section heading give the text its context.
pub(crate) fn chunk_text(title: &str, heading: &str, text: &str) -> String {
    if heading.is_empty() || heading == title {
        format!("{title}\n{text}")
    } else {
        format!("{title} — {heading}\n{text}")
    }
}

/// Embeds every chunk of a document about to be written.
pub async fn attach_vectors<P: Platform>(
    platform: &P, document: &mut IndexedDocument,
) -> PortResult<()> {
    let provider = &platform.config().embeddings;
    let Some(model) = model(provider).map(str::to_string) else { return Ok(()) };
    let texts: Vec<String> =
        document.chunks.iter().map(|c| chunk_text(&document.title, &c.heading, &c.text)).collect();
    let vectors = embed(platform, &texts, Input::Document).await?;
    for (chunk, values) in document.chunks.iter_mut().zip(vectors) {
        chunk.vector = Some(ChunkVector { model: model.clone(), values });
    }
    Ok(())
}

/// Embeds the chunks of an indexed, unchanged page that have no vector of the current model (pages
/// indexed before embeddings were on, or under another model), so switching models needs no
/// rewrite.
pub async fn backfill<P: Platform>(platform: &P, url_key: &str) -> PortResult<()> {
    let Some(model) = model(&platform.config().embeddings).map(str::to_string) else {
        return Ok(());
    };
    let missing = platform.store().chunks_without_vectors(url_key, &model).await?;
    if missing.is_empty() {
        return Ok(());
    }
    let texts: Vec<String> =
        missing.iter().map(|(_, title, heading, text)| chunk_text(title, heading, text)).collect();
    let vectors = embed(platform, &texts, Input::Document).await?;
    let pairs: Vec<(String, ChunkVector)> = missing
        .into_iter()
        .zip(vectors)
        .map(|((id, ..), values)| (id, ChunkVector { model: model.clone(), values }))
        .collect();
    platform.store().put_vectors(url_key, &pairs).await
}

/// Embeds a search query; `None` when embeddings are off.
pub async fn embed_query<P: Platform>(platform: &P, query: &str) -> PortResult<Option<Vec<f32>>> {
    if model(&platform.config().embeddings).is_none() {
        return Ok(None);
    }
    Ok(embed(platform, &[query.to_string()], Input::Query).await?.pop())
}

/// What a text is to the model: a question, or a passage that may answer one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Query,
    Document,
}

impl Input {
    /// The text as the model is given it, with the configured prefix.
    fn text(self, inputs: &EmbeddingInputs, text: &str) -> String {
        let prefix = match self {
            Input::Query => &inputs.query_prefix,
            Input::Document => &inputs.document_prefix,
        };
        if prefix.is_empty() {
            text.to_string()
        } else {
            format!("{prefix} {text}")
        }
    }

    /// The `input_type` of an OpenAI-format request, when the configuration sends one.
    fn input_type(self, inputs: &EmbeddingInputs) -> Option<&'static str> {
        inputs.input_type.then_some(match self {
            Input::Query => "query",
            Input::Document => "document",
        })
    }
}

/// Embeds `texts` in order with the configured provider, as `input`.
pub async fn embed<P: Platform>(
    platform: &P, texts: &[String], input: Input,
) -> PortResult<Vec<Vec<f32>>> {
    let model = match &platform.config().embeddings {
        EmbeddingProvider::Off => return Err(PortError::permanent("embeddings are off")),
        // Computing is cheaper than a KV round trip.
        EmbeddingProvider::Builtin => {
            let embed = if input == Input::Query { builtin_embed_query } else { builtin_embed };
            return Ok(texts.iter().map(|t| embed(t)).collect());
        }
        EmbeddingProvider::OpenAi { model, .. }
        | EmbeddingProvider::WorkersAi { model }
        | EmbeddingProvider::SpinLlm { model } => model,
    };
    let inputs = &platform.config().embedding_inputs;
    let input_type = input.input_type(inputs);
    let texts: Vec<String> = texts.iter().map(|t| input.text(inputs, t)).collect();
    // The cache tells a text embedded as a query from the same text embedded as a document.
    let keys: Vec<String> = match input_type {
        Some(kind) => texts.iter().map(|t| format!("{kind}\n{t}")).collect(),
        None => texts.clone(),
    };
    let kv = KvState::of(platform);
    let mut vectors: Vec<Option<Vec<f32>>> = Vec::with_capacity(texts.len());
    for key in &keys {
        vectors.push(kv.load(&EmbeddingKey { model, text: key }).await?);
    }
    let missing: Vec<usize> = (0..texts.len()).filter(|i| vectors[*i].is_none()).collect();
    let hits = (texts.len() - missing.len()) as f64;
    crate::ops::record(platform, |m| {
        m.count(&CACHE_LOOKUPS, &["embedding", "hit"], hits);
        m.count(&CACHE_LOOKUPS, &["embedding", "miss"], missing.len() as f64);
    });
    for group in missing.chunks(BATCH) {
        let inputs: Vec<&str> = group.iter().map(|i| texts[*i].as_str()).collect();
        let embedded = match &platform.config().embeddings {
            EmbeddingProvider::OpenAi { base_url, api_key, .. } => {
                let request =
                    openai_request(base_url, api_key.as_deref(), model, &inputs, input_type);
                let response = crate::metered::fetcher(platform).fetch(request).await?;
                parse_openai_response(response.status, &response.body, inputs.len())?
            }
            _ => {
                let owned: Vec<String> = inputs.iter().map(|t| t.to_string()).collect();
                let vectors = platform.models().embed(model, &owned).await?;
                if vectors.len() != inputs.len() {
                    return Err(PortError::permanent(format!(
                        "{model} returned {} vectors for {} texts",
                        vectors.len(),
                        inputs.len()
                    )));
                }
                vectors
                    .into_iter()
                    .map(|mut v| {
                        docent_core::retrieval::embed::normalize(&mut v);
                        v
                    })
                    .collect()
            }
        };
        for (i, vector) in group.iter().zip(embedded) {
            kv.save(&EmbeddingKey { model, text: &keys[*i] }, &vector).await?;
            vectors[*i] = Some(vector);
        }
    }
    Ok(vectors.into_iter().map(Option::unwrap_or_default).collect())
}

/// `POST {base_url}/embeddings` in the OpenAI format.
pub fn openai_request(
    base_url: &str, api_key: Option<&str>, model: &str, inputs: &[&str], input_type: Option<&str>,
) -> FetchRequest {
    let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
    if let Some(key) = api_key {
        headers.push(("Authorization".to_string(), format!("Bearer {key}")));
    }
    let mut body = serde_json::json!({"model": model, "input": inputs});
    if let Some(kind) = input_type {
        body["input_type"] = kind.into();
    }
    FetchRequest {
        method: "POST".into(),
        url: format!("{}/embeddings", base_url.trim_end_matches('/')),
        headers,
        body: Some(body.to_string().into_bytes()),
        max_body_bytes: MAX_RESPONSE_BYTES,
    }
}

/// The vectors of an OpenAI-format embeddings response, in input order and normalised.
pub fn parse_openai_response(
    status: u16, body: &[u8], expected: usize,
) -> PortResult<Vec<Vec<f32>>> {
    if status == 429 || status >= 500 {
        return Err(PortError::transient(format!("embeddings endpoint answered HTTP {status}")));
    }
    if !(200..300).contains(&status) {
        let detail = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        return Err(PortError::permanent(format!(
            "embeddings endpoint answered HTTP {status}: {detail}"
        )));
    }
    #[derive(serde::Deserialize)]
    struct Item {
        index: usize,
        embedding: Vec<f32>,
    }
    #[derive(serde::Deserialize)]
    struct Reply {
        data: Vec<Item>,
    }
    let reply: Reply = serde_json::from_slice(body)
        .map_err(|e| PortError::transient(format!("embeddings response: {e}")))?;
    let mut vectors = vec![Vec::new(); expected];
    for item in reply.data {
        if let Some(slot) = vectors.get_mut(item.index) {
            let mut values = item.embedding;
            docent_core::retrieval::embed::normalize(&mut values);
            *slot = values;
        }
    }
    if vectors.iter().any(Vec::is_empty) {
        return Err(PortError::transient(format!(
            "embeddings response did not cover all {expected} inputs"
        )));
    }
    Ok(vectors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_and_documents_get_their_prefix_and_input_type() {
        let inputs = EmbeddingInputs {
            query_prefix: "query:".into(),
            document_prefix: "passage:".into(),
            input_type: true,
        };
        assert_eq!(Input::Query.text(&inputs, "partial index"), "query: partial index");
        assert_eq!(Input::Document.text(&inputs, "A partial index"), "passage: A partial index");
        assert_eq!(Input::Query.input_type(&inputs), Some("query"));
        assert_eq!(Input::Document.input_type(&inputs), Some("document"));
        let plain = EmbeddingInputs::default();
        assert_eq!(Input::Query.text(&plain, "partial index"), "partial index");
        assert_eq!(Input::Document.input_type(&plain), None);
        let request = openai_request("http://127.0.0.1:1/v1", None, "e5", &["x"], Some("query"));
        let body: serde_json::Value =
            serde_json::from_slice(request.body.as_deref().unwrap()).unwrap();
        assert_eq!(body, serde_json::json!({"model": "e5", "input": ["x"], "input_type": "query"}));
    }

    #[test]
    fn openai_format_round_trip() {
        let request = openai_request(
            "https://api.example.com/v1/",
            Some("sk-test"),
            "text-embedding-3-small",
            &["a", "b"],
            None,
        );
        assert_eq!(request.url, "https://api.example.com/v1/embeddings");
        assert!(request.headers.contains(&("Authorization".into(), "Bearer sk-test".into())));
        let body: serde_json::Value =
            serde_json::from_slice(request.body.as_deref().unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"model": "text-embedding-3-small", "input": ["a", "b"]})
        );
        // Out of order, unnormalised: put back in input order at unit length.
        let reply = br#"{"data": [{"index": 1, "embedding": [0, 2]}, {"index": 0, "embedding": [3, 4]}], "model": "m"}"#;
        assert_eq!(
            parse_openai_response(200, reply, 2).unwrap(),
            vec![vec![0.6, 0.8], vec![0.0, 1.0]]
        );
        assert!(
            parse_openai_response(200, br#"{"data": [{"index": 0, "embedding": [1]}]}"#, 2)
                .unwrap_err()
                .transient
        );
        assert!(parse_openai_response(429, b"", 1).unwrap_err().transient);
        assert!(!parse_openai_response(401, b"bad key", 1).unwrap_err().transient);
    }
}
