//! Embeddings without a platform: the built-in embedder, vector maths and the compact encodings the
//! embedded vector store keeps.
//!
//! The built-in embedder needs no model file and no network: it is a static word-vector table
//! distilled from multilingual-e5-small (`infra/scripts/distill-embedder.py`, the model2vec recipe:
//! each of 40,000 frequent English words embedded alone by the model, reduced to 128 principal
//! components, product-quantised to 32 bytes). A text's vector is the sum of its known words'
//! vectors, each weighted by how rare the word is, normalised. Words the model put near each other
//! (`running` / `active`, `shrink` / `reclaim`) make texts close without sharing a word, which is
//! what lexical search cannot do; words outside the table (identifiers) are left to it.

use std::sync::OnceLock;

use crate::retrieval::search::is_stopword;

pub const BUILTIN_MODEL: &str = "docent-static-v1";
pub const BUILTIN_DIMENSIONS: usize = 128;

/// The distilled table. Layout (little-endian): `DSE1`; u32 dimensions, sub-vectors, centroids per
/// sub-vector, words; the codebook (sub-vectors × centroids × dimensions/sub-vectors f32); one
/// weight byte per word; one centroid byte per sub-vector per word; words + 1 u32 offsets into the
/// words' UTF-8 text, sorted by bytes.
static TABLE_BYTES: &[u8] = include_bytes!("../../data/docent-static-v1.bin");

struct WordTable {
    subspaces: usize,
    width: usize,
    centroids: usize,
    codebook: Vec<f32>,
    weights: &'static [u8],
    codes: &'static [u8],
    offsets: &'static [u8],
    text: &'static [u8],
    words: usize,
}

impl WordTable {
    fn parse(bytes: &'static [u8]) -> Option<WordTable> {
        let u32_at = |at: usize| -> Option<usize> {
            Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize)
        };
        if bytes.get(..4)? != b"DSE1" {
            return None;
        }
        let (dimensions, subspaces, centroids, words) =
            (u32_at(4)?, u32_at(8)?, u32_at(12)?, u32_at(16)?);
        if dimensions != BUILTIN_DIMENSIONS || subspaces == 0 || dimensions % subspaces != 0 {
            return None;
        }
        let mut at = 20;
        let mut take = |len: usize| -> Option<&'static [u8]> {
            let slice = bytes.get(at..at + len)?;
            at += len;
            Some(slice)
        };
        let codebook = take(subspaces * centroids * (dimensions / subspaces) * 4)?
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let weights = take(words)?;
        let codes = take(words * subspaces)?;
        let offsets = take((words + 1) * 4)?;
        let text = bytes.get(at..)?;
        Some(WordTable {
            subspaces,
            width: dimensions / subspaces,
            centroids,
            codebook,
            weights,
            codes,
            offsets,
            text,
            words,
        })
    }

    fn word(&self, index: usize) -> &'static [u8] {
        let offset = |i: usize| {
            u32::from_le_bytes(self.offsets[i * 4..i * 4 + 4].try_into().expect("4 bytes")) as usize
        };
        &self.text[offset(index)..offset(index + 1)]
    }

    fn find(&self, word: &str) -> Option<usize> {
        let (mut low, mut high) = (0, self.words);
        while low < high {
            let middle = (low + high) / 2;
            match self.word(middle).cmp(word.as_bytes()) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Some(middle),
            }
        }
        None
    }

    /// Adds word `index`'s vector, times its weight, to `out`.
    fn add(&self, index: usize, out: &mut [f32]) {
        let weight = f32::from(self.weights[index]) / 255.0;
        let codes = &self.codes[index * self.subspaces..(index + 1) * self.subspaces];
        for (subspace, code) in codes.iter().enumerate() {
            let centroid = (subspace * self.centroids + usize::from(*code)) * self.width;
            let values = &self.codebook[centroid..centroid + self.width];
            let target = &mut out[subspace * self.width..(subspace + 1) * self.width];
            target.iter_mut().zip(values).for_each(|(o, v)| *o += weight * v);
        }
    }
}

fn table() -> &'static WordTable {
    static TABLE: OnceLock<WordTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        WordTable::parse(TABLE_BYTES).expect("the built-in word table is well formed")
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

/// The built-in embedding of `text`: unit length, [`BUILTIN_DIMENSIONS`] values; all zero when no
/// word of it is in the table.
pub fn builtin_embed(text: &str) -> Vec<f32> {
    embed_words(text, |word| table().find(word))
}

/// The built-in embedding of a query: as [`builtin_embed`], except that a word the table lacks is
/// read as the most frequent word one edit away from it (a letter deleted, inserted, replaced, or
/// two swapped), if there is one. People misspell questions; pages are taken as written.
pub fn builtin_embed_query(text: &str) -> Vec<f32> {
    embed_words(text, |word| table().find(word).or_else(|| nearest_spelling(word)))
}

fn embed_words(text: &str, mut lookup: impl FnMut(&str) -> Option<usize>) -> Vec<f32> {
    let table = table();
    let mut vector = vec![0.0f32; BUILTIN_DIMENSIONS];
    for word in words(text) {
        if let Some(index) = lookup(&word) {
            table.add(index, &mut vector);
        }
    }
    normalize(&mut vector);
    vector
}

/// The table's most frequent word one edit from `word` (by the weight bytes: rare words share the
/// top weight, and the first found of them wins). Only words of four or more ASCII letters are
/// corrected: shorter ones have too many neighbours, and digits mark identifiers.
fn nearest_spelling(word: &str) -> Option<usize> {
    if word.len() < 4 || !word.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    let table = table();
    let letters = word.as_bytes();
    let mut best: Option<usize> = None;
    let mut consider = |candidate: &[u8]| {
        let found = std::str::from_utf8(candidate).ok().and_then(|c| table.find(c));
        if let Some(index) = found {
            // A lower weight is a more frequent word.
            if best.is_none_or(|b| table.weights[index] < table.weights[b]) {
                best = Some(index);
            }
        }
    };
    let mut candidate = Vec::with_capacity(letters.len() + 1);
    for i in 0..=letters.len() {
        for letter in b'a'..=b'z' {
            candidate.clear();
            candidate.extend_from_slice(&letters[..i]);
            candidate.push(letter);
            candidate.extend_from_slice(&letters[i..]);
            consider(&candidate);
            if i < letters.len() && letters[i] != letter {
                candidate.remove(i + 1);
                candidate[i] = letter;
                consider(&candidate);
            }
        }
        if i < letters.len() {
            candidate.clear();
            candidate.extend_from_slice(&letters[..i]);
            candidate.extend_from_slice(&letters[i + 1..]);
            consider(&candidate);
        }
        if i + 1 < letters.len() {
            candidate.clear();
            candidate.extend_from_slice(letters);
            candidate.swap(i, i + 1);
            consider(&candidate);
        }
    }
    best
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

/// A vector in the two forms the embedded store keeps: one bit per dimension (the sign of the
/// vector less its model's centre, [`sign_bits`]) for a fast first pass by Hamming distance, and
/// int8 values with a scale for rescoring the best candidates.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantizedVector {
    pub bits: Vec<u64>,
    pub int8: Vec<i8>,
    pub scale: f32,
}

/// One bit per dimension: whether the vector is above `centre` there (above 0 without one). A
/// model's embeddings share a common direction, so their raw signs barely differ (e5-small's chunks
/// of the PostgreSQL manual: 297 of 384 dimensions have one sign in nine chunks of ten or more);
/// less the centre, the bits split the vectors and Hamming distance follows the angle between them.
pub fn sign_bits(vector: &[f32], centre: Option<&[f32]>) -> Vec<u64> {
    let mut bits = vec![0u64; vector.len().div_ceil(64)];
    for (i, x) in vector.iter().enumerate() {
        let centre = centre.and_then(|c| c.get(i)).copied().unwrap_or(0.0);
        if *x > centre {
            bits[i / 64] |= 1 << (i % 64);
        }
    }
    bits
}

impl QuantizedVector {
    /// Sign bits about 0: the built-in embedder's vectors are centred by construction.
    pub fn new(vector: &[f32]) -> QuantizedVector {
        Self::centred(vector, None)
    }

    /// Sign bits about `centre` (see [`sign_bits`]); the int8 values are of the vector itself.
    pub fn centred(vector: &[f32], centre: Option<&[f32]>) -> QuantizedVector {
        let bits = sign_bits(vector, centre);
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

    /// The values an encoded int8 column stands for.
    pub fn decode_values(int8: &str) -> Option<Vec<f32>> {
        let (values, scale) = Self::decode_int8(int8)?;
        Some(values.iter().map(|v| f32::from(*v) * scale).collect())
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
        assert!(
            builtin_embed("zzqx_vvkq qqpxw").iter().all(|x| *x == 0.0),
            "words outside the table add nothing"
        );
    }

    #[test]
    fn the_table_holds_its_vocabulary_sorted() {
        let table = table();
        assert_eq!(table.words, 40_000);
        assert!((1..table.words).all(|i| table.word(i - 1) < table.word(i)), "sorted, no repeats");
        for word in ["database", "query", "running", "the"] {
            assert_eq!(table.find(word).map(|i| table.word(i)), Some(word.as_bytes()));
        }
        assert_eq!(table.find("pg_stat_activity"), None);
        // Rare words weigh more than common ones.
        let weight = |w: &str| table.weights[table.find(w).unwrap()];
        assert!(weight("vacuum") > weight("table") && weight("table") > weight("the"));
    }

    #[test]
    fn a_misspelled_query_word_reads_as_the_word_one_edit_away() {
        let table = table();
        let spelled = |w: &str| nearest_spelling(w).map(|i| table.word(i));
        assert_eq!(spelled("databse"), Some(&b"database"[..]), "a letter left out");
        assert_eq!(spelled("lokced"), Some(&b"locked"[..]), "two letters swapped");
        assert_eq!(spelled("conection"), Some(&b"connection"[..]));
        assert_eq!(spelled("replicaton"), Some(&b"replication"[..]));
        assert_eq!(spelled("pg_dump"), None, "identifiers are not spelled");
        assert_eq!(spelled("xqzv"), None, "nothing near");
        let query = builtin_embed_query("databse lokced");
        assert_eq!(query, builtin_embed("database locked"));
        assert!(builtin_embed("databse lokced").iter().all(|x| *x == 0.0), "pages as written");
    }

    #[test]
    fn texts_that_say_the_same_in_other_words_are_close() {
        // No content word in common, yet each pair is closer than texts about something else.
        let pairs = [
            (
                "which queries are running right now",
                "the currently active statements of each session",
            ),
            (
                "shrink the table file after deleting rows",
                "reclaim disk space occupied by dead tuples",
            ),
            ("make a column auto increment", "automatically generated sequential identifiers"),
        ];
        for (query, paraphrase) in pairs {
            let unrelated = "photographs of mountain villages in winter";
            assert!(
                similarity(query, paraphrase) > similarity(query, unrelated) + 0.05,
                "{query} / {paraphrase}"
            );
        }
        assert!(similarity("max_connections", "the max connections setting") > 0.7);
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
    fn sign_bits_about_the_centre_split_vectors_that_share_a_direction() {
        // Three vectors along one common direction, apart only in small parts: their raw signs are
        // all the same; less their centre, the query's bits are nearest its own neighbour's.
        let shared = |x: f32, y: f32| vec![1.0, 1.0, 1.0, 1.0 + x, 1.0 - x, 1.0 + y, 1.0 - y];
        let (near, far, query) = (shared(0.1, 0.1), shared(-0.1, -0.1), shared(0.2, 0.1));
        assert_eq!(sign_bits(&near, None), sign_bits(&far, None));
        let centre = shared(0.0, 0.0);
        let bits = |v: &[f32]| sign_bits(v, Some(&centre));
        assert!(hamming(&bits(&query), &bits(&near)) < hamming(&bits(&query), &bits(&far)));
        // The int8 values are of the vector itself, whatever the centre.
        let centred = QuantizedVector::centred(&near, Some(&centre));
        assert_eq!(centred.int8, QuantizedVector::new(&near).int8);
        let (_, int8) = centred.encode();
        let values = QuantizedVector::decode_values(&int8).unwrap();
        assert!(values.iter().zip(&near).all(|(a, b)| (a - b).abs() < 0.01), "{values:?}");
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
