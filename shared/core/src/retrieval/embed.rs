//! Embeddings without a platform: the built-in embedder, vector maths and the compact encodings the
//! embedded vector store keeps.
//!
//! The built-in embedder needs no model file and no network. It hashes each word and the character
//! n-grams of each word into a fixed number of signed buckets (the "hashing trick" over
//! fastText-style subwords), with sublinear term frequency, and normalises the result. Two texts
//! are close when they share words or parts of words, so it matches what the lexical index misses:
//! compounds and their parts (`autovacuum` / `vacuum`, `pg_dump` / `dump`), identifiers split
//! differently (`max_connections` / `max connections`), inflections the stemmer does not fold, and
//! typos.

use std::collections::HashMap;

use crate::retrieval::search::is_stopword;

pub const BUILTIN_MODEL: &str = "docent-hash-v1";
pub const BUILTIN_DIMENSIONS: usize = 384;
/// Character n-gram lengths taken from each word (with `<` and `>` marking its ends).
const NGRAMS: std::ops::RangeInclusive<usize> = 3..=5;
/// How much a word counts through its n-grams relative to the whole word.
const SUBWORD_WEIGHT: f32 = 1.0;

fn fnv1a(bytes: &[u8], seed: u64) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325 ^ seed, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The words the built-in embedder sees: lower-cased runs of letters and digits; underscores and
/// other punctuation split, so `max_connections` is `max connections`.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| !is_stopword(w))
}

/// The built-in embedding of `text`: unit length, [`BUILTIN_DIMENSIONS`] values.
pub fn builtin_embed(text: &str) -> Vec<f32> {
    let mut features: HashMap<u64, f32> = HashMap::new();
    let mut add =
        |feature: &[u8], weight: f32| *features.entry(fnv1a(feature, 0)).or_insert(0.0) += weight;
    let mut previous: Option<String> = None;
    for word in words(text) {
        add(word.as_bytes(), 1.0);
        // Adjacent words together: `full vacuum` and `vacuum full` differ.
        if let Some(previous) = &previous {
            add(format!("{previous} {word}").as_bytes(), 0.5);
        }
        let marked: Vec<char> = format!("<{word}>").chars().collect();
        let grams: Vec<String> = NGRAMS
            .flat_map(|n| {
                marked.windows(n).map(|w| w.iter().collect::<String>()).collect::<Vec<_>>()
            })
            .filter(|g| g.chars().count() < marked.len())
            .collect();
        let each = SUBWORD_WEIGHT / grams.len().max(1) as f32;
        for gram in &grams {
            add(format!("#{gram}").as_bytes(), each);
        }
        previous = Some(word);
    }
    let mut vector = vec![0.0f32; BUILTIN_DIMENSIONS];
    for (hash, weight) in features {
        // Sublinear frequency: the tenth mention of a word matters less than the first.
        let value = 1.0 + weight.ln_1p();
        let sign = if hash >> 63 == 1 { -1.0 } else { 1.0 };
        vector[(hash % BUILTIN_DIMENSIONS as u64) as usize] += sign * value;
    }
    normalize(&mut vector);
    vector
}

pub fn normalize(vector: &mut [f32]) {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        vector.iter_mut().for_each(|x| *x /= norm);
    }
}

/// The query vector moved towards the passages lexical search ranked first (pseudo-relevance
/// feedback in embedding space): `query + weight × mean(passages)`, normalised. The vector half of
/// hybrid search then looks for chunks like the best lexical hits as well as like the words of the
/// question, which reaches pages that say the same thing in other words.
pub fn with_feedback(query: &[f32], passages: &[Vec<f32>], weight: f32) -> Vec<f32> {
    let mut out = query.to_vec();
    if passages.is_empty() {
        return out;
    }
    let share = weight / passages.len() as f32;
    for passage in passages {
        out.iter_mut().zip(passage).for_each(|(o, p)| *o += share * p);
    }
    normalize(&mut out);
    out
}

pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// A vector in the two forms the embedded store keeps: one bit per dimension (its sign) for a fast
/// first pass by Hamming distance, and int8 values with a scale for rescoring the best candidates.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantizedVector {
    pub bits: Vec<u64>,
    pub int8: Vec<i8>,
    pub scale: f32,
}

impl QuantizedVector {
    pub fn new(vector: &[f32]) -> QuantizedVector {
        let mut bits = vec![0u64; vector.len().div_ceil(64)];
        for (i, x) in vector.iter().enumerate() {
            if *x > 0.0 {
                bits[i / 64] |= 1 << (i % 64);
            }
        }
        let max = vector.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        let int8 = vector.iter().map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8).collect();
        QuantizedVector { bits, int8, scale }
    }

    /// Approximate dot product with a full-precision query.
    pub fn dot(&self, query: &[f32]) -> f32 {
        int8_dot(&self.int8, self.scale, query)
    }

    /// [`QuantizedVector::dot`] straight from the encoded int8 column, for rescoring without the
    /// bits.
    pub fn dot_encoded(int8: &str, query: &[f32]) -> Option<f32> {
        let (values, scale) = Self::decode_int8(int8)?;
        Some(int8_dot(&values, scale, query))
    }

    /// The bits as hex, the int8 values with their scale as base64 (SQL text columns).
    pub fn encode(&self) -> (String, String) {
        let bits = self.bits.iter().map(|w| format!("{w:016x}")).collect();
        let mut bytes = self.scale.to_le_bytes().to_vec();
        bytes.extend(self.int8.iter().map(|v| *v as u8));
        (bits, base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes))
    }

    pub fn decode_bits(hex: &str) -> Option<Vec<u64>> {
        (0..hex.len())
            .step_by(16)
            .map(|i| hex.get(i..i + 16).and_then(|w| u64::from_str_radix(w, 16).ok()))
            .collect()
    }

    fn decode_int8(encoded: &str) -> Option<(Vec<i8>, f32)> {
        let bytes =
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, encoded).ok()?;
        let scale = f32::from_le_bytes(bytes.get(..4)?.try_into().ok()?);
        Some((bytes[4..].iter().map(|b| *b as i8).collect(), scale))
    }

    pub fn decode(bits: &str, int8: &str) -> Option<QuantizedVector> {
        let (int8, scale) = Self::decode_int8(int8)?;
        Some(QuantizedVector { bits: Self::decode_bits(bits)?, int8, scale })
    }
}

fn int8_dot(values: &[i8], scale: f32, query: &[f32]) -> f32 {
    values.iter().zip(query).map(|(q, x)| f32::from(*q) * x).sum::<f32>() * scale
}

/// Hamming distance between two bit codes of the same length.
pub fn hamming(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn similarity(a: &str, b: &str) -> f32 {
        dot(&builtin_embed(a), &builtin_embed(b))
    }

    #[test]
    fn builtin_vectors_are_unit_length_and_deterministic() {
        let v = builtin_embed("How do I reclaim disk space after deleting rows?");
        assert_eq!(v.len(), BUILTIN_DIMENSIONS);
        assert!((dot(&v, &v) - 1.0).abs() < 1e-5);
        assert_eq!(v, builtin_embed("How do I reclaim disk space after deleting rows?"));
        assert!(builtin_embed("").iter().all(|x| *x == 0.0), "no words, no direction");
    }

    #[test]
    fn shared_words_and_word_parts_make_texts_close() {
        let text = "The autovacuum daemon runs VACUUM and ANALYZE automatically.";
        // Word parts: "vacuum" inside "autovacuum"; identifiers written two ways.
        assert!(similarity("vacuum daemon", text) > similarity("replication slot", text) + 0.2);
        assert!(similarity("max_connections", "the max connections setting") > 0.5);
        // A typo still lands near the word it misspells, far from an unrelated one.
        assert!(
            similarity("conection pooling", "connection pooling")
                > similarity("conection pooling", "table partitioning") + 0.3
        );
        // Stopwords carry nothing.
        assert!((similarity("how do I vacuum", "vacuum") - 1.0).abs() < 1e-5);
    }

    #[test]
    fn quantized_vectors_keep_the_ranking() {
        let query = builtin_embed("restore a backup with pg_restore");
        let docs = [
            "pg_restore restores a database from an archive created by pg_dump",
            "CREATE INDEX builds an index",
            "backup and restore",
        ];
        let exact: Vec<f32> = docs.iter().map(|d| dot(&query, &builtin_embed(d))).collect();
        for (doc, exact) in docs.iter().zip(&exact) {
            let quantized = QuantizedVector::new(&builtin_embed(doc));
            assert!(
                (quantized.dot(&query) - exact).abs() < 0.02,
                "{doc}: {} vs {exact}",
                quantized.dot(&query)
            );
            let (bits, int8) = quantized.encode();
            assert_eq!(QuantizedVector::dot_encoded(&int8, &query), Some(quantized.dot(&query)));
            assert_eq!(QuantizedVector::decode(&bits, &int8), Some(quantized));
        }
        let codes: Vec<Vec<u64>> =
            docs.iter().map(|d| QuantizedVector::new(&builtin_embed(d)).bits).collect();
        let query_bits = QuantizedVector::new(&query).bits;
        assert!(
            hamming(&query_bits, &codes[0]) < hamming(&query_bits, &codes[1]),
            "the sign bits already rank the match first"
        );
        assert_eq!(hamming(&codes[1], &codes[1]), 0);
    }

    #[test]
    fn feedback_moves_the_query_towards_the_best_passages() {
        let query = builtin_embed("make each customer only see their own rows");
        let passage = builtin_embed("row security policies restrict which rows a role can see");
        let unrelated = builtin_embed("the checkpoint interval of the write-ahead log");
        let moved = with_feedback(&query, std::slice::from_ref(&passage), 1.0);
        assert!(dot(&moved, &passage) > dot(&query, &passage) + 0.1);
        assert!((dot(&moved, &moved) - 1.0).abs() < 1e-4, "normalised");
        assert!(dot(&moved, &unrelated) < dot(&moved, &passage));
        assert_eq!(with_feedback(&query, &[], 1.0), query, "no passages: the query as it was");
    }
}
