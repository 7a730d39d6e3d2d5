//! Cloudflare Vectorize without I/O: vector ids, namespaces, metadata, the JSON of upserts and
//! queries, and the parsing of what the binding answers. The Worker shell only passes these strings
//! through the binding, so everything that can be wrong about a request is tested here.
//!
//! Limits (developers.cloudflare.com/vectorize/platform/limits, metadata-filtering): ids and
//! namespace names at most 64 bytes; at most 1,000 vectors per upsert from a Worker; `topK` at most
//! 100 without values or metadata; a filter's compact JSON under 2,048 bytes; string metadata
//! indexes hold the first 64 bytes of a value.

mod passthrough;
pub mod store;

use serde::Serialize;
use serde_json::{json, Value};

use docent_core::domain::sha256_hex;

pub const MAX_ID_BYTES: usize = 64;
pub const MAX_NAMESPACE_BYTES: usize = 64;
/// Vectors per `upsert` call from a Worker (the HTTP API allows 5,000).
pub const MAX_UPSERT_BATCH: usize = 1000;
/// Ids per `deleteByIds` call: the documented batch size of mutations.
pub const MAX_DELETE_BATCH: usize = 1000;
/// Ids per `getByIds` call. Not documented for the binding; kept at the `topK` limit for queries
/// that return values, which is the documented cap on vectors returned with their values.
pub const MAX_GET_BATCH: usize = 20;
/// `topK` of a query that returns neither values nor metadata.
pub const MAX_TOP_K: u32 = 100;
/// A filter's compact JSON must be shorter than this.
pub const MAX_FILTER_BYTES: usize = 2048;
/// How much of a string metadata value its metadata index holds.
pub const INDEXED_STRING_BYTES: usize = 64;

/// Metadata properties that queries filter on. Each needs a metadata index created before the first
/// vector is written (`wrangler vectorize create-metadata-index`); vectors written earlier are not
/// filterable on it.
pub const MODEL_PROPERTY: &str = "model";
pub const URL_PROPERTY: &str = "url";

/// The Vectorize id of a chunk: the chunk id itself (`<32 hex>-<ordinal>`, about 40 bytes), or,
/// should one ever exceed the limit, `~` and 63 hex digits of its SHA-256 (the `~` keeps it apart
/// from chunk ids).
pub fn vector_id(chunk_id: &str) -> String {
    if chunk_id.len() <= MAX_ID_BYTES {
        chunk_id.to_string()
    } else {
        format!("~{}", &sha256_hex(chunk_id.as_bytes())[..MAX_ID_BYTES - 1])
    }
}

/// A name within `max` bytes: `name` itself if it fits, else `~` and hex of its SHA-256.
fn within_bytes(name: &str, max: usize) -> String {
    if name.len() <= max {
        name.to_string()
    } else {
        format!("~{}", &sha256_hex(name.as_bytes())[..max - 1])
    }
}

/// The namespace of a chunk: the host (and port, if any) of its URL, so that a search within one
/// site looks only at that site's vectors before any metadata filter. `None` for URLs without a
/// host.
pub fn namespace_for_url(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed.host_str()?;
    let authority = match parsed.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    Some(within_bytes(&authority, MAX_NAMESPACE_BYTES))
}

/// The namespace a search within `url_prefix` can be confined to: only when the prefix names a
/// whole host (`https://docs.example.com/…`); `https://docs.example.co` is also a prefix of
/// `https://docs.example.com/`, so a prefix that stops inside the authority gets no namespace.
pub fn namespace_for_prefix(url_prefix: &str) -> Option<String> {
    let rest = url_prefix.split_once("://")?.1;
    if !rest.contains('/') {
        return None;
    }
    namespace_for_url(url_prefix)
}

/// The value of the `model` metadata property: the model name, hashed if longer than a string index
/// holds (an `$eq` on a longer value would compare against its cut-off copy).
pub fn model_tag(model: &str) -> String {
    within_bytes(model, INDEXED_STRING_BYTES)
}

/// `s` cut to at most `max` bytes on a character boundary.
fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The smallest string greater than every string that starts with `prefix`, if there is one: the
/// prefix with its last character incremented (characters that cannot be are dropped first).
fn prefix_successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = last as u32 + 1;
        // Surrogates are not characters.
        if (0xD800..=0xDFFF).contains(&next) {
            next = 0xE000;
        }
        if let Some(c) = char::from_u32(next) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// The `url` range `[lower, upper)` that holds every URL starting with `url_prefix`, as far as a
/// string index sees: both bounds come from the prefix's first 64 bytes, so a longer prefix selects
/// a superset that the caller narrows exactly. `None` when there is no upper bound to give.
pub fn prefix_range(url_prefix: &str) -> Option<(String, String)> {
    let lower = truncate_utf8(url_prefix, INDEXED_STRING_BYTES);
    let upper = prefix_successor(lower)?;
    Some((lower.to_string(), upper))
}

/// A vector as Vectorize stores it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexedVector {
    pub id: String,
    pub values: Vec<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub metadata: VectorMetadata,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VectorMetadata {
    pub url_key: String,
    /// The chunk's URL (page URL and `#anchor`), which a URL-prefix search filters on.
    pub url: String,
    /// [`model_tag`] of the model that made the vector.
    pub model: String,
}

impl IndexedVector {
    pub fn for_chunk(
        chunk_id: &str, url_key: &str, url: &str, model: &str, values: Vec<f32>,
    ) -> IndexedVector {
        IndexedVector {
            id: vector_id(chunk_id),
            values,
            namespace: namespace_for_url(url),
            metadata: VectorMetadata {
                url_key: url_key.to_string(),
                url: url.to_string(),
                model: model_tag(model),
            },
        }
    }
}

/// The argument of `upsert`: a JSON array of vectors (at most [`MAX_UPSERT_BATCH`] per call).
pub fn upsert_json(vectors: &[IndexedVector]) -> String {
    serde_json::to_string(vectors).unwrap_or_else(|_| "[]".into())
}

/// The argument of `getByIds` and `deleteByIds`.
pub fn ids_json(ids: &[String]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
}

/// A query vector as the binding takes it: a JSON array of numbers.
pub fn vector_json(values: &[f32]) -> String {
    serde_json::to_string(values).unwrap_or_else(|_| "[]".into())
}

/// What to ask Vectorize for one nearest-neighbour search.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryPlan {
    pub top_k: u32,
    pub namespace: Option<String>,
    pub filter: Value,
}

impl QueryPlan {
    /// The `limit` nearest vectors of `model`, within `url_prefix` if given. With a prefix, `topK`
    /// asks for twice `limit` (up to the cap): the index filters on the first 64 bytes of URLs, so
    /// hits the caller's exact prefix check drops must not leave the result short.
    pub fn new(model: &str, url_prefix: Option<&str>, limit: u32) -> Result<QueryPlan, String> {
        let mut filter = json!({ MODEL_PROPERTY: { "$eq": model_tag(model) } });
        let mut namespace = None;
        let mut top_k = limit;
        if let Some(prefix) = url_prefix.filter(|p| !p.is_empty()) {
            namespace = namespace_for_prefix(prefix);
            top_k = limit.saturating_mul(2);
            // A prefix that is the whole site (`https://host/`) is what the namespace already
            // selects; only a narrower one needs the `url` range (and its metadata index).
            let whole_site = namespace.is_some()
                && prefix
                    .split_once("://")
                    .is_some_and(|(_, rest)| rest.find('/') == Some(rest.len() - 1));
            if !whole_site {
                if let Some((lower, upper)) = prefix_range(prefix) {
                    filter[URL_PROPERTY] = json!({ "$gte": lower, "$lt": upper });
                }
            }
        }
        let compact = filter.to_string();
        if compact.len() >= MAX_FILTER_BYTES {
            return Err(format!("a Vectorize filter must be under {MAX_FILTER_BYTES} bytes of JSON; this one has {}", compact.len()));
        }
        Ok(QueryPlan { top_k: top_k.clamp(1, MAX_TOP_K), namespace, filter })
    }

    /// The options argument of `query`: ids and scores only, which allows the largest `topK`.
    pub fn options_json(&self) -> String {
        let mut options = json!({ "topK": self.top_k, "returnValues": false, "returnMetadata": "none", "filter": self.filter });
        if let Some(namespace) = &self.namespace {
            options["namespace"] = json!(namespace);
        }
        options.to_string()
    }
}

/// The `(vector id, score)` matches of a `query` answer (`{"count": n, "matches": [{"id",
/// "score"}]}`), best first as Vectorize ranks them (for a cosine index the score is the cosine
/// similarity).
pub fn parse_query_response(json: &str) -> Result<Vec<(String, f32)>, String> {
    let answer: Value = serde_json::from_str(json)
        .map_err(|e| format!("Vectorize query answer is not JSON: {e}"))?;
    let matches = answer
        .get("matches")
        .and_then(Value::as_array)
        .ok_or("Vectorize query answer has no `matches` array")?;
    matches
        .iter()
        .map(|m| {
            let id = m.get("id").and_then(Value::as_str).ok_or("a Vectorize match has no `id`")?;
            let score =
                m.get("score").and_then(Value::as_f64).ok_or("a Vectorize match has no `score`")?;
            Ok((id.to_string(), score as f32))
        })
        .collect()
}

/// The `(id, values)` of a `getByIds` answer. Values may come as an array or, when the binding
/// hands back a `Float32Array` that went through `JSON.stringify`, as an object keyed by index.
pub fn parse_vectors_response(json: &str) -> Result<Vec<(String, Vec<f32>)>, String> {
    let answer: Value = serde_json::from_str(json)
        .map_err(|e| format!("Vectorize getByIds answer is not JSON: {e}"))?;
    let vectors = answer.as_array().ok_or("Vectorize getByIds answer is not an array")?;
    vectors
        .iter()
        .map(|v| {
            let id = v.get("id").and_then(Value::as_str).ok_or("a Vectorize vector has no `id`")?;
            let values = match v.get("values") {
                Some(Value::Array(items)) => {
                    items.iter().map(|x| x.as_f64().map(|x| x as f32)).collect::<Option<Vec<f32>>>()
                }
                Some(Value::Object(by_index)) => {
                    let mut values = vec![0.0; by_index.len()];
                    let mut complete = true;
                    for (key, x) in by_index {
                        match (key.parse::<usize>().ok().filter(|i| *i < values.len()), x.as_f64())
                        {
                            (Some(i), Some(x)) => values[i] = x as f32,
                            _ => complete = false,
                        }
                    }
                    complete.then_some(values)
                }
                _ => None,
            };
            Ok((
                id.to_string(),
                values.ok_or_else(|| format!("Vectorize vector {id} has no readable `values`"))?,
            ))
        })
        .collect()
}

/// The dimensions of the index from a `describe` answer (`{"dimensions": n, ...}`; older indexes
/// answer `{"config": {"dimensions": n}}`).
pub fn parse_dimensions(json: &str) -> Result<u32, String> {
    let answer: Value = serde_json::from_str(json)
        .map_err(|e| format!("Vectorize describe answer is not JSON: {e}"))?;
    answer
        .get("dimensions")
        .or_else(|| answer.get("config").and_then(|c| c.get("dimensions")))
        .and_then(Value::as_u64)
        .map(|d| d as u32)
        .ok_or_else(|| "Vectorize describe answer has no `dimensions`".into())
}

/// Checks that vectors of `model` fit the index before writing them, naming the fix.
pub fn check_dimensions(
    index_dimensions: u32, vector_len: usize, model: &str,
) -> Result<(), String> {
    if index_dimensions as usize == vector_len {
        return Ok(());
    }
    Err(format!(
        "the Vectorize index has {index_dimensions} dimensions but {model} makes vectors of {vector_len}; create an index for it \
         (wrangler vectorize create <name> --dimensions={vector_len} --metric=cosine) and bind that one"
    ))
}

/// The cosine similarity of two vectors (0 when either is all zeros), for scores computed from
/// values read back with `getByIds`.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut aa, mut bb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa == 0.0 || bb == 0.0 {
        0.0
    } else {
        dot / (aa.sqrt() * bb.sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_ids_are_vector_ids_and_long_ids_are_hashed_within_the_limit() {
        let chunk = format!("{}-12", "a".repeat(32));
        assert_eq!(vector_id(&chunk), chunk);
        let long = "x".repeat(65);
        let id = vector_id(&long);
        assert_eq!(id.len(), MAX_ID_BYTES);
        assert!(id.starts_with('~'));
        assert_eq!(id, vector_id(&long), "stable");
        assert_ne!(id, vector_id(&"x".repeat(66)));
        assert_eq!(vector_id(&"y".repeat(64)), "y".repeat(64), "exactly 64 bytes fits");
    }

    #[test]
    fn namespaces_are_hosts_with_their_port() {
        assert_eq!(
            namespace_for_url("https://docs.example.com/guide/#install").as_deref(),
            Some("docs.example.com")
        );
        assert_eq!(namespace_for_url("http://127.0.0.1:8080/a").as_deref(), Some("127.0.0.1:8080"));
        assert_eq!(
            namespace_for_url("https://Docs.Example.COM:443/").as_deref(),
            Some("docs.example.com"),
            "default port dropped, lower case"
        );
        assert_eq!(namespace_for_url("file:///tmp/site/index.html"), None);
        let long_host = format!("https://{}.example.com/", "a".repeat(60));
        let ns = namespace_for_url(&long_host).unwrap();
        assert!(ns.len() <= MAX_NAMESPACE_BYTES && ns.starts_with('~'), "{ns}");
    }

    #[test]
    fn a_prefix_gets_a_namespace_only_when_it_names_a_whole_host() {
        assert_eq!(
            namespace_for_prefix("https://docs.example.com/guide/").as_deref(),
            Some("docs.example.com")
        );
        assert_eq!(
            namespace_for_prefix("https://docs.example.com/").as_deref(),
            Some("docs.example.com")
        );
        assert_eq!(
            namespace_for_prefix("https://docs.example.co"),
            None,
            "also a prefix of docs.example.com"
        );
        assert_eq!(namespace_for_prefix("https://docs.example.com"), None);
    }

    #[test]
    fn prefix_ranges_hold_exactly_the_urls_that_start_with_the_prefix() {
        let (lower, upper) = prefix_range("https://a.com/guide/").unwrap();
        assert_eq!(
            (lower.as_str(), upper.as_str()),
            ("https://a.com/guide/", "https://a.com/guide0")
        );
        let inside = |url: &str| url >= lower.as_str() && url < upper.as_str();
        assert!(inside("https://a.com/guide/"));
        assert!(inside("https://a.com/guide/install#linux"));
        assert!(inside("https://a.com/guide/~tilde"));
        assert!(!inside("https://a.com/guide"));
        assert!(!inside("https://a.com/guides/"));
        assert!(!inside("https://a.com/guide0"));
        // Longer than a string index holds: both bounds from the first 64 bytes, a superset.
        let long = format!("https://a.com/{}/", "p".repeat(80));
        let (lower, upper) = prefix_range(&long).unwrap();
        assert_eq!(lower.len(), INDEXED_STRING_BYTES);
        assert!(long.starts_with(&lower) && upper.as_str() > long.as_str());
        // Cut on a character boundary, and the successor of a multi-byte character.
        let (lower, upper) = prefix_range(&format!("https://a.com/{}", "é".repeat(40))).unwrap();
        assert!(lower.len() <= INDEXED_STRING_BYTES && lower.ends_with('é'));
        assert!(upper.ends_with('ê'));
        assert_eq!(prefix_successor("a\u{D7FF}").as_deref(), Some("a\u{E000}"), "skips surrogates");
        assert_eq!(prefix_successor("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_successor(""), None);
    }

    #[test]
    fn query_plans_filter_on_the_model_and_narrow_prefixes_by_namespace_and_range() {
        let plain = QueryPlan::new("@cf/baai/bge-base-en-v1.5", None, 30).unwrap();
        assert_eq!(plain.top_k, 30);
        assert_eq!(plain.namespace, None);
        assert_eq!(plain.filter, json!({"model": {"$eq": "@cf/baai/bge-base-en-v1.5"}}));
        let options: Value = serde_json::from_str(&plain.options_json()).unwrap();
        assert_eq!(
            options,
            json!({"topK": 30, "returnValues": false, "returnMetadata": "none", "filter": {"model": {"$eq": "@cf/baai/bge-base-en-v1.5"}}})
        );

        let section = QueryPlan::new("m", Some("https://docs.example.com/guide/"), 30).unwrap();
        assert_eq!((section.top_k, section.namespace.as_deref()), (60, Some("docs.example.com")));
        assert_eq!(
            section.filter["url"],
            json!({"$gte": "https://docs.example.com/guide/", "$lt": "https://docs.example.com/guide0"})
        );
        let options: Value = serde_json::from_str(&section.options_json()).unwrap();
        assert_eq!(options["namespace"], "docs.example.com");

        let site = QueryPlan::new("m", Some("https://docs.example.com/"), 10).unwrap();
        assert_eq!(site.namespace.as_deref(), Some("docs.example.com"));
        assert!(
            site.filter.get("url").is_none(),
            "the namespace is the whole site: no range, no url index needed"
        );

        let partial_host = QueryPlan::new("m", Some("https://docs.example"), 10).unwrap();
        assert_eq!(partial_host.namespace, None);
        assert_eq!(partial_host.filter["url"]["$gte"], "https://docs.example");

        assert_eq!(
            QueryPlan::new("m", None, 500).unwrap().top_k,
            MAX_TOP_K,
            "topK cap without values"
        );
        assert_eq!(QueryPlan::new("m", Some("https://a.com/x/"), 80).unwrap().top_k, MAX_TOP_K);
        assert_eq!(QueryPlan::new("m", None, 0).unwrap().top_k, 1);
    }

    #[test]
    fn filters_stay_under_the_size_limit_whatever_the_prefix_and_model() {
        let prefix = format!("https://a.com/{}", "x".repeat(1900));
        let model = "m".repeat(1900);
        let plan = QueryPlan::new(&model, Some(&prefix), 10).unwrap();
        assert!(plan.filter.to_string().len() < MAX_FILTER_BYTES, "{}", plan.filter);
        assert_eq!(
            plan.filter["model"]["$eq"].as_str().unwrap().len(),
            INDEXED_STRING_BYTES,
            "long model names are hashed"
        );
    }

    #[test]
    fn upserts_carry_id_namespace_and_metadata() {
        let vector = IndexedVector::for_chunk(
            "k-0",
            "k",
            "https://docs.example.com/a#b",
            "model-x",
            vec![0.5, -0.25],
        );
        let body: Value = serde_json::from_str(&upsert_json(&[vector])).unwrap();
        assert_eq!(
            body,
            json!([{"id": "k-0", "values": [0.5, -0.25], "namespace": "docs.example.com",
                    "metadata": {"url_key": "k", "url": "https://docs.example.com/a#b", "model": "model-x"}}])
        );
        let hostless = IndexedVector::for_chunk("k-1", "k", "file:///tmp/a.html", "m", vec![1.0]);
        let body: Value = serde_json::from_str(&upsert_json(&[hostless])).unwrap();
        assert!(body[0].get("namespace").is_none(), "no namespace rather than an empty one");
        assert_eq!(ids_json(&["a".into(), "b\"c".into()]), r#"["a","b\"c"]"#);
        assert_eq!(vector_json(&[1.0, 0.5]), "[1.0,0.5]");
    }

    #[test]
    fn answers_are_parsed_or_rejected_with_a_reason() {
        let matches = parse_query_response(r#"{"count": 2, "matches": [{"id": "k-1", "score": 0.91}, {"id": "k-0", "score": 0.5}]}"#).unwrap();
        assert_eq!(matches, vec![("k-1".to_string(), 0.91), ("k-0".to_string(), 0.5)]);
        assert_eq!(parse_query_response(r#"{"count": 0, "matches": []}"#).unwrap(), vec![]);
        assert!(parse_query_response(r#"{"count": 1}"#).unwrap_err().contains("matches"));
        assert!(parse_query_response(r#"{"matches": [{"score": 1}]}"#).unwrap_err().contains("id"));
        assert!(parse_query_response("not json").is_err());

        let vectors = parse_vectors_response(
            r#"[{"id": "a", "values": [1, 0.5]}, {"id": "b", "values": {"1": 2, "0": 3}}]"#,
        )
        .unwrap();
        assert_eq!(
            vectors,
            vec![("a".to_string(), vec![1.0, 0.5]), ("b".to_string(), vec![3.0, 2.0])]
        );
        assert!(
            parse_vectors_response(r#"[{"id": "a", "values": {"0": 1, "5": 2}}]"#).is_err(),
            "a gap in the indexes"
        );
        assert!(parse_vectors_response(r#"[{"id": "a"}]"#).is_err());

        assert_eq!(parse_dimensions(r#"{"dimensions": 768, "vectorCount": 10}"#), Ok(768));
        assert_eq!(
            parse_dimensions(r#"{"config": {"dimensions": 384, "metric": "cosine"}}"#),
            Ok(384)
        );
        assert!(parse_dimensions("{}").is_err());
    }

    #[test]
    fn dimension_mismatches_name_the_fix() {
        assert!(check_dimensions(768, 768, "m").is_ok());
        let error = check_dimensions(768, 1536, "text-embedding-3-small").unwrap_err();
        assert!(
            error.contains("--dimensions=1536") && error.contains("text-embedding-3-small"),
            "{error}"
        );
    }

    #[test]
    fn cosine_similarity() {
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-6);
        assert!(cosine(&[1.0, 0.0], &[0.0, 3.0]).abs() < 1e-6);
        assert!((cosine(&[1.0, 1.0], &[-1.0, -1.0]) + 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
    }
}
