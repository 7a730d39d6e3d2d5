//! Query analysis, lexical query building, snippets and result types for retrieval.

use serde::{Deserialize, Serialize};

use crate::domain::PageSignals;

/// Words that carry no retrieval signal in questions ("how do I ...", "json vs jsonb").
/// "Happen" asks for what something does ("What happens when I don't set a timeout?"), which
/// pages say without the word, and "another" only says which one ("redirect to another URL"):
/// rare in the pages, each outweighed the thing asked about.
const STOPWORDS: [&str; 67] = [
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "do", "does", "for", "from",
    "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "of", "on", "or", "our",
    "should", "so", "that", "the", "their", "them", "then", "there", "these", "they", "this", "to",
    "use", "using", "was", "we", "what", "when", "where", "which", "who", "why", "will", "with",
    "would", "you", "your", "about", "tell", "please", "explain", "get", "whats", "vs", "versus",
    "happen", "happens", "happened", "another",
];

/// Whether `word` (lower-case) is a stopword, which carries no retrieval signal.
pub fn is_stopword(word: &str) -> bool {
    STOPWORDS.contains(&word)
}

/// Phrases that only say "now" ("which queries are running right now"), read as the word
/// documentation uses for it, "currently", not as their words: "right" is a join's side and
/// `now()` a function in a database manual, and pages about them are not what was asked.
const NOW_PHRASES: [&[&str]; 4] =
    [&["right", "now"], &["at", "the", "moment"], &["at", "present"], &["as", "of", "now"]];

/// A user logs in where pages write "login": read as its words, "log" meets every page on
/// logging ("How do I log in to a website before scraping?" found Scrapy's logging settings).
const LOG_PHRASES: [(&[&str], &str); 3] =
    [(&["log", "in"], "login"), (&["log", "into"], "login"), (&["log", "out"], "logout")];

/// The distinct, lower-cased content words of a query, in order. A stopword written in capitals
/// is a keyword and stays (`CREATE TABLE AS`, `ON CONFLICT`, `IS NULL`). Contractions are phrasing
/// and a possessive is its noun (see [`without_clitic`]), however the apostrophe is typed.
pub fn query_terms(query: &str) -> Vec<String> {
    let query = without_digit_grouping(&query.replace(['\u{2019}', '\u{2018}'], "'"));
    let query = without_bound_prefixes(&query);
    let mut keywords: Vec<String> = Vec::new();
    let mut words: Vec<String> = query
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '\''))
        .filter_map(|word| {
            let word = without_clitic(word.trim_matches('\''))?;
            let lower = word.to_lowercase();
            if word.len() >= 2 && word.bytes().all(|b| b.is_ascii_uppercase()) {
                keywords.push(lower.clone());
            }
            Some(lower)
        })
        .filter(|word| !word.is_empty())
        .collect();
    let read_as = NOW_PHRASES.iter().map(|phrase| (*phrase, "currently")).chain(LOG_PHRASES);
    for (phrase, word) in read_as {
        while let Some(at) = words.windows(phrase.len()).position(|w| w == phrase) {
            words.splice(at..at + phrase.len(), [word.to_string()]);
        }
    }
    let mut terms: Vec<String> = Vec::new();
    for word in words {
        let stopword = STOPWORDS.contains(&word.as_str()) && !keywords.contains(&word);
        if stopword || terms.contains(&word) {
            continue;
        }
        terms.push(word);
    }
    if terms.is_empty() {
        // A query made only of stopwords ("what is it") still deserves a lexical attempt.
        for word in query.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
            let word = word.to_lowercase();
            if !terms.contains(&word) {
                terms.push(word);
            }
        }
    }
    terms.truncate(32);
    terms
}

/// `word` without the clitic an apostrophe joins to it: `None` for a contraction ("doesn't",
/// "I'm", "they're", "we've"), which is a pronoun or an auxiliary verb, and a possessive's noun
/// ("Django's" is "Django"). Smart punctuation (a phone's keyboard, a manual's typesetting) writes
/// the apostrophe as `\u{2019}`; read as a separator it left one-letter terms ("can't" gave "t").
fn without_clitic(word: &str) -> Option<&str> {
    let lower = word.to_ascii_lowercase();
    if ["n't", "'m", "'re", "'ve", "'d", "'ll"].iter().any(|clitic| lower.ends_with(clitic)) {
        return None;
    }
    Some(if lower.ends_with("'s") { &word[..word.len() - 2] } else { word })
}

/// Prefixes that are no word of their own, written before a hyphen: "pre-existing", "non-ASCII",
/// "re-run". Searched alone they match what code splits at an underscore (`pre_save`,
/// `pre_add`), which is not what was asked.
const BOUND_PREFIXES: [&str; 10] =
    ["pre", "non", "re", "un", "multi", "semi", "anti", "sub", "inter", "intra"];

/// `query` with each [`BOUND_PREFIXES`] prefix and its hyphen taken off the word it starts
/// ("pre-existing database" is "existing database"); not in a command-line option
/// (`--non-interactive`) or a name that goes on before it.
fn without_bound_prefixes(query: &str) -> String {
    let mut out = String::with_capacity(query.len());
    let mut rest = query;
    let mut before: Option<char> = None;
    while let Some(c) = rest.chars().next() {
        let word_starts =
            before.is_none_or(|b| !(b.is_alphanumeric() || matches!(b, '-' | '_' | '.' | '\'')));
        let prefix = BOUND_PREFIXES.iter().filter(|_| word_starts).find(|p| {
            rest.get(..p.len()).is_some_and(|head| head.eq_ignore_ascii_case(p))
                && rest[p.len()..].starts_with('-')
                && rest[p.len() + 1..].starts_with(char::is_alphanumeric)
        });
        if let Some(prefix) = prefix {
            rest = &rest[prefix.len() + 1..];
            before = Some('-');
            continue;
        }
        out.push(c);
        before = Some(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// `query` with the thousands separators of its numbers taken out: "400,000 rows" is one quantity,
/// not the terms "400" and "000".
fn without_digit_grouping(query: &str) -> String {
    let chars: Vec<char> = query.chars().collect();
    let mut out = String::with_capacity(query.len());
    for (i, &c) in chars.iter().enumerate() {
        let grouping = c == ','
            && i > 0
            && chars[i - 1].is_ascii_digit()
            && chars.len() > i + 3
            && chars[i + 1..i + 4].iter().all(char::is_ascii_digit)
            && !chars.get(i + 4).is_some_and(char::is_ascii_digit);
        if !grouping {
            out.push(c);
        }
    }
    out
}

/// An FTS5 MATCH expression: every term quoted (so no user input is parsed as FTS syntax), OR-ed so
/// BM25 ranks pages matching more of the terms higher. `None` when there are no terms.
pub fn fts5_match_expression(terms: &[String]) -> Option<String> {
    let quoted: Vec<String> = terms
        .iter()
        .map(|t| t.replace('"', ""))
        .filter(|t| !t.is_empty())
        .map(|t| format!("\"{t}\""))
        .collect();
    (!quoted.is_empty()).then(|| quoted.join(" OR "))
}

/// The terms for Postgres full-text search, space-separated, each reduced to letters, digits and
/// `_` so that no user input is parsed as tsquery syntax (each word becomes its own `to_tsquery`).
/// `None` when nothing searchable is left.
pub fn tsquery_words(terms: &[String]) -> Option<String> {
    let words: Vec<String> = terms
        .iter()
        .map(|t| t.chars().filter(|c| c.is_alphanumeric() || *c == '_').collect::<String>())
        .filter(|t| !t.is_empty())
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// True when `word` (lower-case) matches `term` closely enough for highlighting: same word, the
/// same [`short_stem`] ("flag" / "flags", "share" / "sharing", "log" / "logging", shorter than a
/// stem), or a shared stem of at least five characters ("configure" / "configuration"). A name
/// written with underscores matches only whole: its first letters are its family's
/// (`sqlite_use_alloca` is not `sqlite_default_cache_size`).
pub fn term_matches(word: &str, term: &str) -> bool {
    WordForms::of(word).meet(&WordForms::of(term))
}

/// Words manuals shorten, read as the word: "iterate over dicts" is about dictionaries. Not
/// "app" or "env", which code names its variables ("an application" met `run_wsgi_app(app, …)`).
const SHORT_FORMS: [(&str, &str); 3] =
    [("auth", "authentication"), ("dict", "dictionary"), ("repo", "repository")];

/// The forms of one word that [`term_matches`] compares, worked out once: a passage's words are
/// each compared with every term of a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WordForms<'a> {
    word: &'a str,
    /// `None` for a name written with underscores, which matches only whole.
    stem: Option<&'a str>,
    /// The first five characters, for a word of five or more.
    prefix: Option<&'a str>,
}

impl<'a> WordForms<'a> {
    const PREFIX: usize = 5;

    pub fn of(word: &'a str) -> Self {
        if word.contains('_') {
            return WordForms { word, stem: None, prefix: None };
        }
        let stem = short_stem(word);
        if let Some((_, long)) = SHORT_FORMS.iter().find(|(short, _)| *short == stem) {
            return WordForms::of(long);
        }
        let prefix = match word.char_indices().nth(Self::PREFIX) {
            Some((end, _)) => Some(&word[..end]),
            None if word.chars().count() == Self::PREFIX => Some(word),
            None => None,
        };
        WordForms { word, stem: Some(stem), prefix }
    }

    /// Whether the two are forms of one word ([`term_matches`]).
    pub fn meet(&self, other: &WordForms) -> bool {
        self.word == other.word
            || self.stem.is_some() && self.stem == other.stem
            || self.prefix.is_some() && self.prefix == other.prefix
    }
}

/// A word without the ending of a plural, a past or a gerund, then without a final `e` or the
/// second of a doubled last letter, so that a short word's forms meet ("files" and "file" are
/// "fil"; "sharing", "shared" and "share" are "shar"; "logging" and "log" are "log"). What is left
/// keeps three letters ("string" stays, "boxes" is "box"), four before "ing" unless they end
/// doubled ("adding"), and a word ending in a double "s" keeps it ("class", "classes").
fn short_stem(word: &str) -> &str {
    let letters = |s: &str| s.chars().count();
    let mut stem = word;
    let doubled = |s: &str| {
        let mut last_two = s.chars().rev().take(2);
        let (last, before) = (last_two.next(), last_two.next());
        last == before && last.is_some_and(|c| !"aeiouls".contains(c))
    };
    for (end, keep) in [("ing", 4), ("ed", 3), ("es", 3), ("s", 3)] {
        if let Some(rest) = stem.strip_suffix(end) {
            // "adding": three letters before "ing" when they end doubled.
            let long_enough = letters(rest) >= keep || end == "ing" && doubled(rest);
            if long_enough && !(end == "s" && rest.ends_with('s')) {
                stem = rest;
                break;
            }
        }
    }
    if let Some(rest) = stem.strip_suffix('e').filter(|rest| letters(rest) >= 3) {
        stem = rest;
    }
    if letters(stem) >= 4 && doubled(stem) {
        stem = &stem[..stem.len() - stem.chars().next_back().map_or(0, char::len_utf8)];
    }
    stem
}

fn words_with_offsets(text: &str) -> Vec<(usize, &str)> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let is_word = c.is_alphanumeric() || c == '_';
        match (is_word, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                words.push((s, &text[s..i]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push((s, &text[s..]));
    }
    words
}

/// A window of about `max_words` words of `text` around the densest cluster of query terms, with
/// ellipses where it was cut. Markdown markers are stripped so snippets read as plain text.
pub fn snippet(text: &str, terms: &[String], max_words: usize) -> String {
    let plain: String = text.replace("```", " ").replace('`', "").replace(['#', '|'], " ");
    let words = words_with_offsets(&plain);
    if words.len() <= max_words {
        return crate::content::extract::collapse_whitespace(&plain);
    }
    let terms: Vec<WordForms> = terms.iter().map(|t| WordForms::of(t)).collect();
    let hits: Vec<bool> = words
        .iter()
        .map(|(_, w)| {
            let word = w.to_lowercase();
            let forms = WordForms::of(&word);
            terms.iter().any(|t| forms.meet(t))
        })
        .collect();
    let mut best = (0, 0usize);
    let mut window_hits: usize = hits[..max_words].iter().filter(|&&h| h).count();
    best.1 = window_hits;
    for start in 1..=words.len() - max_words {
        window_hits = window_hits + hits[start + max_words - 1] as usize - hits[start - 1] as usize;
        if window_hits > best.1 {
            best = (start, window_hits);
        }
    }
    // Start a little before the first hit in the window so it reads in context.
    let first_hit = (best.0..best.0 + max_words).find(|&i| hits[i]).unwrap_or(best.0);
    let start = first_hit.saturating_sub(max_words / 5).min(words.len() - max_words);
    let from = words[start].0;
    let to = words.get(start + max_words).map(|(o, _)| *o).unwrap_or(plain.len());
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.push_str(&crate::content::extract::collapse_whitespace(&plain[from..to]));
    if start + max_words < words.len() {
        out.push('…');
    }
    out
}

/// The `k` of reciprocal rank fusion: how quickly the credit for a rank falls off.
pub const RRF_K: f64 = 60.0;

/// Fuses ranked lists by weighted reciprocal rank fusion: a chunk scores the sum over lists of
/// `weight / (RRF_K + rank)`, so chunks ranked well by both lexical and vector search rise, and
/// neither list's raw scores (BM25, cosine) need to be comparable.
pub fn reciprocal_rank_fusion(lists: Vec<(Vec<SearchHit>, f64)>) -> Vec<SearchHit> {
    let mut fused: Vec<SearchHit> = Vec::new();
    for (hits, weight) in lists {
        for (rank, hit) in hits.into_iter().enumerate() {
            let credit = weight / (RRF_K + rank as f64 + 1.0);
            match fused.iter_mut().find(|f| f.chunk_id == hit.chunk_id) {
                Some(existing) => existing.score += credit,
                None => fused.push(SearchHit { score: credit, ..hit }),
            }
        }
    }
    fused.sort_by(|a, b| b.score.total_cmp(&a.score));
    fused
}

/// One lexical ranking with the chunks of another added: a chunk in both keeps its better score,
/// then all best first. (A chunk's BM25 for part of a query is at most its BM25 for the whole, so
/// chunks the first ranking lacked rank after it, unless the page ranking lifts them.)
pub fn merge_by_score(mut ranked: Vec<SearchHit>, more: Vec<SearchHit>) -> Vec<SearchHit> {
    for hit in more {
        match ranked.iter_mut().find(|r| r.chunk_id == hit.chunk_id) {
            Some(known) => known.score = known.score.max(hit.score),
            None => ranked.push(hit),
        }
    }
    // Stable: equal scores keep the first ranking's order.
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score));
    ranked
}

/// One retrieved chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    pub chunk_id: String,
    /// The page URL with the section fragment, if the section has one.
    pub url: String,
    pub title: String,
    pub heading: String,
    pub text: String,
    /// Higher is better; comparable only within one result list.
    pub score: f64,
    /// What kind of page the chunk is on (for ranking; not part of a result).
    #[serde(skip)]
    pub page: PageSignals,
    /// The page's other sections that matched, best first (see `retrieval::pages`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more: Vec<SectionLink>,
}

/// A section of a result's page that matched too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SectionLink {
    /// The page URL with the section's fragment.
    pub url: String,
    pub heading: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_rankings_keep_each_chunk_once_with_its_better_score_best_first() {
        let hit = |id: &str, score: f64| SearchHit {
            chunk_id: id.into(),
            url: format!("https://d/{id}"),
            title: String::new(),
            heading: String::new(),
            text: String::new(),
            score,
            page: Default::default(),
            more: Vec::new(),
        };
        let merged =
            merge_by_score(vec![hit("a", 9.0), hit("b", 5.0)], vec![hit("c", 6.0), hit("b", 4.0)]);
        let order: Vec<(&str, f64)> =
            merged.iter().map(|h| (h.chunk_id.as_str(), h.score)).collect();
        assert_eq!(order, [("a", 9.0), ("c", 6.0), ("b", 5.0)]);
    }

    #[test]
    fn terms_drop_stopwords_and_duplicates() {
        assert_eq!(query_terms("How do I configure the Port? port!"), vec!["configure", "port"]);
        assert_eq!(query_terms("what is it"), vec!["what", "is", "it"]);
        assert!(query_terms("  ?? ").is_empty());
    }

    #[test]
    fn a_prefix_before_a_hyphen_is_no_term() {
        assert_eq!(
            query_terms("Can I use Django with a pre-existing database?"),
            ["django", "existing", "database"]
        );
        assert_eq!(query_terms("Non-ASCII file names, re-run"), ["ascii", "file", "names", "run"]);
        // Words that go on past the prefix, options and names keep it.
        assert_eq!(query_terms("prefetch the preview"), ["prefetch", "preview"]);
        assert_eq!(query_terms("--non-interactive"), ["non", "interactive"]);
        assert_eq!(query_terms("cherry-pick x.re-split"), ["cherry", "pick", "x", "re", "split"]);
    }

    #[test]
    fn a_stopword_written_in_capitals_is_a_keyword() {
        assert_eq!(query_terms("CREATE TABLE AS"), ["create", "table", "as"]);
        assert_eq!(query_terms("How do I use ON CONFLICT?"), ["on", "conflict"]);
        assert_eq!(query_terms("create a table as a copy"), ["create", "table", "copy"]);
        // "I" is a word, not a keyword.
        assert_eq!(query_terms("I want IS NULL"), ["want", "is", "null"]);
    }

    #[test]
    fn contractions_are_phrasing_however_the_apostrophe_is_typed() {
        let expected = ["login"];
        assert_eq!(query_terms("I can't log in"), expected);
        assert_eq!(query_terms("I can\u{2019}t log in"), expected);
        assert_eq!(
            query_terms("Why doesn\u{2019}t list.sort() return the sorted list?"),
            ["list", "sort", "return", "sorted"]
        );
        assert_eq!(
            query_terms("I\u{2019}m re-loading data but it isn\u{2019}t seeing changes"),
            ["loading", "data", "seeing", "changes"]
        );
        assert_eq!(
            query_terms("They\u{2019}re not displaying; we've tried"),
            ["not", "displaying", "tried"]
        );
        // A possessive is its noun; quotes around a name are not apostrophes of it.
        assert_eq!(
            query_terms("set a field\u{2019}s value to C\u{2019}s onexit()"),
            ["set", "field", "value", "c", "onexit"]
        );
        assert_eq!(query_terms("__import__(\u{2018}x.y.z\u{2019})"), ["__import__", "x", "y", "z"]);
        assert_eq!(query_terms("O'Reilly"), ["o'reilly"]);
    }

    #[test]
    fn a_number_written_with_thousands_separators_is_one_term() {
        assert_eq!(query_terms("inserting 400,000 rows"), ["inserting", "400000", "rows"]);
        assert_eq!(query_terms("1,000,000 rows"), ["1000000", "rows"]);
        // A list of numbers is not one number.
        assert_eq!(query_terms("columns 1,2 and 10,20"), ["columns", "1", "2", "10", "20"]);
        assert_eq!(query_terms("1,0000"), ["1", "0000"]);
    }

    #[test]
    fn a_phrase_that_says_now_is_read_as_currently() {
        let currently = ["queries", "running", "currently"];
        assert_eq!(
            query_terms("How do I see which queries are running right now?")[1..],
            currently
        );
        assert_eq!(query_terms("queries running at the moment"), currently);
        assert_eq!(query_terms("Queries running at present, as of now"), currently);
        // Each word on its own keeps its meaning.
        assert_eq!(query_terms("right join"), ["right", "join"]);
        assert_eq!(query_terms("now() in a default"), ["now", "default"]);
    }

    #[test]
    fn logging_in_is_a_login_not_logging() {
        assert_eq!(query_terms("How do I log in to a website?"), ["login", "website"]);
        assert_eq!(
            query_terms("Log out users after an hour"),
            ["logout", "users", "after", "hour"]
        );
        assert_eq!(query_terms("Where do I log errors?"), ["log", "errors"]);
    }

    #[test]
    fn fts_expression_quotes_user_input() {
        assert_eq!(
            fts5_match_expression(&query_terms("NEAR(a b) OR \"x\"")).as_deref(),
            Some("\"near\" OR \"b\" OR \"or\" OR \"x\"")
        );
        assert_eq!(fts5_match_expression(&query_terms("!!!")), None);
    }

    #[test]
    fn tsquery_words_keep_only_word_characters() {
        let terms = query_terms("O'Reilly NEAR(a b) & !x | y:*");
        assert_eq!(tsquery_words(&terms).as_deref(), Some("oreilly near b x y"));
        assert_eq!(tsquery_words(&["'&|".to_string()]), None);
    }

    #[test]
    fn stems_match_loosely_but_not_short_words() {
        assert!(term_matches("configuration", "configure"));
        assert!(term_matches("port", "port"));
        assert!(term_matches("flags", "flag") && term_matches("flag", "flags"));
        assert!(term_matches("boxes", "box") && !term_matches("as", "a"));
        assert!(term_matches("sharing", "share") && term_matches("shared", "share"));
        assert!(term_matches("logging", "log") && term_matches("setting", "set"));
        assert!(term_matches("adding", "add") && term_matches("added", "add"));
        assert!(term_matches("files", "file") && term_matches("classes", "class"));
        assert!(!term_matches("string", "str") && !term_matches("class", "clas"));
        assert!(term_matches("dicts", "dictionary") && term_matches("dictionaries", "dict"));
        assert!(!term_matches("app", "application"));
        assert!(!term_matches("portal", "port"));
        assert!(!term_matches("con", "configure"));
        assert!(!term_matches("sqlite_use_alloca", "sqlite_default_cache_size"));
        assert!(term_matches("sqlite_use_alloca", "sqlite_use_alloca"));
    }

    #[test]
    fn snippet_centres_on_the_matches() {
        let text = format!(
            "{} The vacuum command reclaims storage. {}",
            "filler ".repeat(100),
            "tail ".repeat(100)
        );
        let s = snippet(&text, &["vacuum".into(), "storage".into()], 20);
        assert!(s.contains("vacuum command reclaims storage"), "{s}");
        assert!(s.starts_with('…') && s.ends_with('…'));
        assert_eq!(snippet("Short text.", &[], 20), "Short text.");
    }

    fn hit(id: &str) -> SearchHit {
        SearchHit {
            chunk_id: id.into(),
            url: format!("https://d.test/{id}"),
            title: String::new(),
            heading: String::new(),
            text: String::new(),
            score: 9.0,
            page: Default::default(),
            more: Vec::new(),
        }
    }

    #[test]
    fn fusion_rewards_agreement_and_respects_weights() {
        let lexical = vec![hit("a"), hit("b"), hit("c")];
        let vector = vec![hit("c"), hit("d"), hit("b")];
        let fused: Vec<String> =
            reciprocal_rank_fusion(vec![(lexical.clone(), 1.0), (vector.clone(), 1.0)])
                .into_iter()
                .map(|h| h.chunk_id)
                .collect();
        // b and c appear in both lists and overtake a, which only one list liked (if most).
        assert_eq!(fused, ["c", "b", "a", "d"]);
        let lexical_only: Vec<String> = reciprocal_rank_fusion(vec![(lexical, 1.0), (vector, 0.0)])
            .into_iter()
            .map(|h| h.chunk_id)
            .collect();
        assert_eq!(&lexical_only[..3], ["a", "b", "c"]);
    }
}
