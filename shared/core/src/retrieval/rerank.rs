//! Rerankers without I/O: the request and answer formats of a cross-encoder reranker, and the
//! reordering of search hits by its scores. Two formats are spoken: the `/rerank` API that Cohere,
//! Jina, vLLM, llama.cpp server and Infinity share, and Workers AI's `@cf/baai/bge-reranker-base`.

use crate::retrieval::search::SearchHit;

/// Text of a hit as the reranker reads it: where it is, then what it says (cut to keep requests
/// small).
pub fn document_text(hit: &SearchHit) -> String {
    const MAX_CHARS: usize = 2_000;
    let text: String = hit.text.chars().take(MAX_CHARS).collect();
    format!("{} — {}\n{}", hit.title, hit.heading, text)
}

/// The body of `POST {base_url}/rerank`.
pub fn rerank_body(model: &str, query: &str, documents: &[String]) -> serde_json::Value {
    serde_json::json!({"model": model, "query": query, "documents": documents, "top_n": documents.len(), "return_documents": false})
}

/// `(index into the documents, relevance)` pairs from a `/rerank` answer.
pub fn parse_rerank(body: &[u8]) -> Result<Vec<(usize, f64)>, String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("malformed rerank answer ({e})"))?;
    let results =
        value.get("results").and_then(|r| r.as_array()).ok_or("rerank answer without results")?;
    results
        .iter()
        .map(|r| {
            let index =
                r.get("index").and_then(|i| i.as_u64()).ok_or("rerank result without index")?;
            let score = r
                .get("relevance_score")
                .or_else(|| r.get("score"))
                .and_then(|s| s.as_f64())
                .ok_or("rerank result without a score")?;
            Ok((index as usize, score))
        })
        .collect()
}

/// `(index, score)` pairs from Workers AI's reranker: `{"response": [{"id", "score"}]}`.
pub fn parse_workers_ai_rerank(value: &serde_json::Value) -> Result<Vec<(usize, f64)>, String> {
    let results =
        value.get("response").and_then(|r| r.as_array()).ok_or("rerank answer without response")?;
    results
        .iter()
        .map(|r| {
            let id = r.get("id").and_then(|i| i.as_u64()).ok_or("rerank result without id")?;
            let score =
                r.get("score").and_then(|s| s.as_f64()).ok_or("rerank result without score")?;
            Ok((id as usize, score))
        })
        .collect()
}

/// Orders `hits` by the reranker's scores, best first; a hit it did not score (or an index it made
/// up) keeps its place after the scored ones, so a partial answer never loses results.
pub fn reorder(hits: Vec<SearchHit>, scores: &[(usize, f64)]) -> Vec<SearchHit> {
    let mut scored: Vec<(f64, SearchHit)> = Vec::new();
    let mut unscored = Vec::new();
    for (index, mut hit) in hits.into_iter().enumerate() {
        match scores.iter().find(|(i, _)| *i == index) {
            Some((_, score)) if score.is_finite() => {
                hit.score = *score;
                scored.push((*score, hit));
            }
            _ => unscored.push(hit),
        }
    }
    // A stable sort keeps the fused order between equal scores.
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().map(|(_, hit)| hit).chain(unscored).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(id: &str) -> SearchHit {
        SearchHit {
            chunk_id: id.into(),
            url: format!("https://d/{id}"),
            title: id.into(),
            heading: "h".into(),
            text: "t".into(),
            score: 0.1,
            page: Default::default(),
            more: Vec::new(),
        }
    }

    #[test]
    fn hits_follow_the_rerankers_scores() {
        let hits = vec![hit("a"), hit("b"), hit("c"), hit("d")];
        let scores = parse_rerank(br#"{"results": [{"index": 2, "relevance_score": 0.9}, {"index": 0, "relevance_score": 0.4}, {"index": 9, "relevance_score": 1.0}]}"#).unwrap();
        let order: Vec<String> = reorder(hits, &scores).into_iter().map(|h| h.chunk_id).collect();
        assert_eq!(
            order,
            ["c", "a", "b", "d"],
            "scored first by score, then the rest in their order; index 9 ignored"
        );
        assert!(parse_rerank(br#"{"results": [{"index": 0}]}"#).is_err());
        assert!(parse_rerank(b"nope").is_err());
        let workers =
            serde_json::json!({"response": [{"id": 1, "score": 0.7}, {"id": 0, "score": 0.2}]});
        assert_eq!(parse_workers_ai_rerank(&workers).unwrap(), vec![(1, 0.7), (0, 0.2)]);
        let body = rerank_body("m", "q", &["x".into(), "y".into()]);
        assert_eq!((body["top_n"].as_u64(), body["documents"][1].as_str()), (Some(2), Some("y")));
    }
}
