//! Building answers from retrieved passages.
//!
//! The extractive answerer is Docent's embedded default: with no language model configured it still
//! answers, by quoting the sentences of the best passages that match the question, each cited, and
//! it says plainly that this is what it did.

use serde::{Deserialize, Serialize};

use crate::content::chunk::split_sentences;
use crate::retrieval::search::{distinct_term_hits, query_terms, SearchHit};

/// A passage shown to the user as a numbered source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Source {
    /// The citation number used in the answer text (`[1]`).
    pub number: usize,
    /// The page URL, with the `#fragment` of the section when known.
    pub url: String,
    pub title: String,
    pub heading: String,
    pub snippet: String,
}

/// The label that opens every extractive answer.
pub const EXTRACTIVE_NOTICE: &str =
    "_No language model is configured, so this is an extractive answer: the passages below are quoted from the indexed pages._";

/// The answer when retrieval found nothing relevant.
pub const NOTHING_FOUND: &str = "I could not find anything about this in the indexed pages.";

/// Quotes the best-matching sentences of up to `max_quotes` passages, citing each as `[n]` where
/// `n` is the passage's position in `hits` (1-based), so citations line up with the `sources`
/// event.
pub fn extractive_answer(question: &str, hits: &[SearchHit], max_quotes: usize) -> String {
    let terms = query_terms(question);
    let mut quotes = Vec::new();
    for (index, hit) in hits.iter().enumerate() {
        if quotes.len() == max_quotes {
            break;
        }
        if let Some(quote) = best_sentences(&hit.text, &terms, 60) {
            quotes.push(format!("> {quote} [{}]", index + 1));
        }
    }
    if quotes.is_empty() {
        return NOTHING_FOUND.to_string();
    }
    format!("{EXTRACTIVE_NOTICE}\n\n{}", quotes.join("\n\n"))
}

/// The contiguous run of up to three sentences with the most query terms (at most ~`max_words`
/// words), or `None` if no sentence mentions any term.
fn best_sentences(text: &str, terms: &[String], max_words: usize) -> Option<String> {
    // Quote prose, not code fences or table rules.
    let prose: Vec<&str> = split_sentences(text)
        .into_iter()
        .filter(|s| !s.starts_with("```") && !s.starts_with("~~~") && !s.starts_with("| ---"))
        .collect();
    let mut best: Option<(usize, usize, usize)> = None; // (hits, start, len)
    for start in 0..prose.len() {
        for len in 1..=3.min(prose.len() - start) {
            let window = prose[start..start + len].join(" ");
            if window.split_whitespace().count() > max_words && len > 1 {
                break;
            }
            let hits = distinct_term_hits(&window, terms);
            // Prefer more terms, then fewer sentences.
            if hits > 0 && best.is_none_or(|(h, _, l)| hits > h || (hits == h && len < l)) {
                best = Some((hits, start, len));
            }
        }
    }
    let (_, start, len) = best?;
    let quote = prose[start..start + len].join(" ");
    let words: Vec<&str> = quote.split_whitespace().collect();
    let quote = if words.len() > max_words {
        format!("{} …", words[..max_words].join(" "))
    } else {
        words.join(" ")
    };
    // A quote must not open new markdown blocks inside the blockquote.
    Some(quote.trim_start_matches(['#', '>', '-', '*', ' ']).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(url: &str, text: &str) -> SearchHit {
        SearchHit {
            chunk_id: url.into(),
            url: url.into(),
            title: "T".into(),
            heading: String::new(),
            text: text.into(),
            score: 1.0,
            page: Default::default(),
            more: Vec::new(),
        }
    }

    #[test]
    fn quotes_matching_sentences_with_citations() {
        let hits = vec![
            hit("a", "Intro. The server listens on port 8080 by default. Unrelated tail."),
            hit("b", "Nothing relevant here."),
            hit("c", "You can change the port with the --port flag."),
        ];
        let answer = extractive_answer("Which port does the server listen on?", &hits, 3);
        assert!(answer.starts_with(EXTRACTIVE_NOTICE));
        assert!(answer.contains("> The server listens on port 8080 by default. [1]"), "{answer}");
        assert!(answer.contains("> You can change the port with the --port flag. [3]"), "{answer}");
        assert!(!answer.contains("[2]"));
        assert!(!answer.contains("Unrelated"));
    }

    #[test]
    fn says_so_when_nothing_matches() {
        assert_eq!(
            extractive_answer("quantum chromodynamics", &[hit("a", "Install with cargo.")], 3),
            NOTHING_FOUND
        );
        assert_eq!(extractive_answer("anything", &[], 3), NOTHING_FOUND);
    }

    #[test]
    fn long_sentences_are_cut() {
        let long = format!("The keyword appears here {}.", "and more words ".repeat(50));
        let answer = extractive_answer("keyword", &[hit("a", &long)], 1);
        assert!(answer.ends_with("… [1]"), "{answer}");
    }
}
