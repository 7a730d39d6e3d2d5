//! Building answers from retrieved sections.
//!
//! The extractive answerer is Docent's embedded default: with no language model configured (and
//! when every model fails) it still answers, by quoting the section that answers the question. A
//! quote is made of whole units: whole sentences, and whole code blocks, lists and tables (with the
//! sentence that introduces them), in page order. When no section carries the question's rarer
//! words, it says it found nothing and links the nearest pages instead of quoting noise.
//!
//! The same sections, whole, are the context a language model is given.

use serde::{Deserialize, Serialize};

use crate::content::chunk::{fence_of, split_sentences};
use crate::domain::PageSignals;
use crate::retrieval::pages::definitions::{
    compares, defines, lists_term, names_the_same_entry, opens_by_defining, titled_by_option,
};
use crate::retrieval::pages::in_release_notes;
use crate::retrieval::pages::query::{
    asks_about_releases, compared_subjects, defined_subject, determined_nouns, named_identifier,
    named_option, pasted_message, quotes_message, CodeName,
};
use crate::retrieval::search::{is_stopword, query_terms, SearchHit, WordForms};

mod blocks;

use blocks::{blocks_of, quotable, Block, BlockKind};

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

/// The answer when retrieval found nothing relevant; the nearest pages follow it when there are any.
pub const NOTHING_FOUND: &str = "I could not find an answer to this in the indexed pages.";

/// How many chunks there are and how many contain each of a question's terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TermCounts {
    pub chunks: u64,
    /// One count per term, in the order asked.
    pub per_term: Vec<u64>,
}

/// A question's content words, each weighed by how rare it is among the indexed chunks (BM25's
/// inverse document frequency): "index" says little in a database manual, "jsonb" a lot.
///
/// A word no chunk contains is one of two things. Written as a name ("Kubernetes", "iPhone"), it is
/// what the question is about, and the pages never mention it: nothing answers. An ordinary word
/// ("work", "besides") is only phrasing the pages do not use, and it says nothing about which
/// section answers: it is left out.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightedTerms {
    terms: Vec<(String, f64)>,
    /// Names in the question that no indexed chunk contains.
    unknown_names: Vec<String>,
    /// The command-line option the question asks about (`--eval`), whose entry is quoted first.
    option: Option<String>,
    /// The code name the question asks about (`Vec::push`), whose definition answers it.
    name: Option<CodeName>,
    /// What the question asks the meaning of ("What is a slug?"), or the two things it compares
    /// ("the difference between arguments and parameters"), whose glossary entries answer it.
    subjects: Vec<String>,
    /// Ordinary words were left out and every term left is in most chunks: what the question
    /// asks about specifically is in words the pages never use.
    nothing_specific_left: bool,
    /// The question asks about a release ([`asks_about_releases`]).
    asks_about_releases: bool,
    /// The error message the question is ([`pasted_message`]), which a section that quotes it
    /// answers.
    message: Option<Vec<String>>,
    /// The things the question names with an article ([`determined_nouns`]) that some chunk
    /// holds, as indexes into `terms`: a section that holds none of them is about something else.
    things: Vec<usize>,
}

/// A term in at least this share of the chunks tells no section from another (a product's name,
/// which every page title carries).
const UBIQUITOUS_SHARE: f64 = 0.5;

impl WeightedTerms {
    /// The terms of `question`, weighed by `counts` (from the store, for [`WeightedTerms::words`]).
    pub fn new(question: &str, counts: &TermCounts) -> Self {
        let n = counts.chunks as f64;
        let names = names_in(question);
        let mut terms = Vec::new();
        let mut unknown_names = Vec::new();
        let mut left_out = false;
        let mut specific = false;
        let words = query_terms(question);
        let asks_about_releases = asks_about_releases(question, &words);
        let things = determined_nouns(question);
        for (i, term) in words.into_iter().enumerate() {
            let df = counts.per_term.get(i).copied().unwrap_or(0);
            if df == 0 {
                if names.contains(&term) {
                    unknown_names.push(term);
                } else {
                    left_out = true;
                }
                continue;
            }
            let df = df as f64;
            specific |= df < UBIQUITOUS_SHARE * n;
            let weight = (1.0 + (n - df + 0.5).max(0.5) / (df + 0.5)).ln();
            terms.push((term, weight.max(f64::MIN_POSITIVE)));
        }
        let things = indexes_of(&things, &terms);
        WeightedTerms {
            terms,
            unknown_names,
            option: named_option(question),
            name: named_identifier(question),
            subjects: subjects_of(question),
            nothing_specific_left: left_out && !specific,
            asks_about_releases,
            message: pasted_message(question),
            things,
        }
    }

    /// The names in the question that no indexed page mentions.
    pub fn unknown_names(&self) -> &[String] {
        &self.unknown_names
    }

    /// True when the words that said what the question is about are in no chunk and those left
    /// are in most ("How do I cite Django?" over Django's manual): any quote would be noise.
    pub fn nothing_specific_left(&self) -> bool {
        self.nothing_specific_left
    }

    /// Every term weighing the same, when the counts could not be had.
    pub fn uniform(question: &str) -> Self {
        let words = query_terms(question);
        let asks_about_releases = asks_about_releases(question, &words);
        let terms: Vec<(String, f64)> = words.into_iter().map(|t| (t, 1.0)).collect();
        WeightedTerms {
            unknown_names: Vec::new(),
            option: named_option(question),
            name: named_identifier(question),
            subjects: subjects_of(question),
            nothing_specific_left: false,
            asks_about_releases,
            message: pasted_message(question),
            things: indexes_of(&determined_nouns(question), &terms),
            terms,
        }
    }

    /// The words to count in the store, in order.
    pub fn words(question: &str) -> Vec<String> {
        query_terms(question)
    }

    /// The share (0 to 1) of the question's weight carried by the terms that `text` contains.
    pub fn coverage(&self, text: &str) -> f64 {
        self.share_of(&self.met(&words_of(text)))
    }

    /// The share of the question's weight carried by the terms `met` marks.
    fn share_of(&self, met: &[bool]) -> f64 {
        let total: f64 = self.terms.iter().map(|(_, w)| w).sum();
        if total == 0.0 {
            return 0.0;
        }
        self.weight_of(met) / total
    }

    /// The weight of the terms `met` marks.
    fn weight_of(&self, met: &[bool]) -> f64 {
        self.terms.iter().zip(met).filter(|(_, met)| **met).map(|((_, weight), _)| weight).sum()
    }

    /// Whether `met` marks one of the things the question names (true when it names none).
    fn holds_a_named_thing(&self, met: &[bool]) -> bool {
        self.things.is_empty() || self.things.iter().any(|&at| met[at])
    }

    /// Whether `text` quotes the error message the question is ([`quotes_message`]).
    fn quotes_message(&self, text: &str) -> bool {
        self.message.as_ref().is_some_and(|message| quotes_message(message, text))
    }

    /// Whether `section` is, or has, an entry for the command-line option the question asks about.
    fn has_entry_for_option(&self, section: &Section) -> bool {
        self.option.as_ref().is_some_and(|option| {
            titled_by_option(option, &section.heading)
                || blocks_of(&section.text)
                    .iter()
                    .any(|b| b.is_entry_of(option) || b.help_entry(option).is_some())
        })
    }

    /// Whether `section` opens by saying what the one thing the question asks the meaning of is
    /// ("Python is an easy to learn, powerful programming language."; [`opens_by_defining`]).
    fn opens_by_defining(&self, section: &Section) -> bool {
        matches!(self.subjects.as_slice(), [subject] if opens_by_defining(subject, &section.text))
    }

    /// Where the glossary entries for what the question asks about begin among `blocks` (at their
    /// first terms; `terms` are [`list_terms`]'), in the question's order.
    fn subject_entries(&self, blocks: &[Block], terms: &[usize]) -> Vec<usize> {
        // An entry may only point to another ("Relation: See Table."): short, but an entry.
        let pointer =
            |at: usize| blocks.get(at + 1).is_some_and(|next| pointed_entry(&next.text).is_some());
        self.subjects
            .iter()
            .filter_map(|subject| {
                entry_listing(blocks, terms, subject).or_else(|| {
                    (0..blocks.len()).find(|&at| lists_term_at(blocks, at, subject) && pointer(at))
                })
            })
            .collect()
    }

    fn matched_weight(&self, words: &[String]) -> f64 {
        self.weight_of(&self.met(words))
    }

    /// Which of the question's terms `words` hold, in the terms' order.
    fn met(&self, words: &[String]) -> Vec<bool> {
        let terms: Vec<WordForms> =
            self.terms.iter().map(|(term, _)| WordForms::of(term)).collect();
        let mut matched = vec![false; terms.len()];
        for word in words {
            // Two forms of a word open alike (a stem keeps three letters at least): a word that
            // opens as no term does is passed over without working out its forms.
            let head = &word.as_bytes()[..word.len().min(3)];
            let may_meet = self.terms.iter().any(|(term, _)| {
                let term = term.as_bytes();
                term.starts_with(head) || head.starts_with(term)
            });
            if !may_meet {
                continue;
            }
            let forms = WordForms::of(word);
            for (met, term) in matched.iter_mut().zip(&terms) {
                *met = *met || forms.meet(term);
            }
        }
        matched
    }
}

/// What a question asks the meaning of, or the two things it compares.
fn subjects_of(question: &str) -> Vec<String> {
    match compared_subjects(question) {
        Some((first, second)) => vec![first, second],
        None => defined_subject(question).into_iter().collect(),
    }
}

/// The lower-cased words of `question` written as names: with a capital after their first letter
/// ("iPhone", "NoSQL"), capitalised where a sentence does not begin ("… a Kubernetes cluster"), or
/// a product's name that a tool's is made from ("django-admin").
fn names_in(question: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut sentence_start = true;
    for word in question.split_whitespace() {
        let bare = word.trim_matches(|c: char| !c.is_alphanumeric());
        let mut chars = bare.chars();
        if let Some(first) = chars.next() {
            let inner_capital = chars.any(char::is_uppercase);
            if inner_capital || (first.is_uppercase() && !sentence_start) {
                names.extend(query_terms(bare).into_iter().filter(|t| !is_stopword(t)));
            } else if let Some((product, _)) = bare.split_once('-') {
                // A tool or a list named after its product ("django-admin", "django-users"). Only
                // the first part: the last is an ordinary word ("one-liners"), and an affix
                // ("pre-", "non-") is too short to be a product.
                if product.len() >= 4 && product.chars().all(char::is_alphabetic) {
                    names.push(product.to_lowercase());
                }
            }
        }
        sentence_start = word.ends_with(['.', '?', '!', ':']);
    }
    names
}

/// The lower-cased words of `text`; an identifier like `AUTO_INCREMENT` counts as itself and as
/// its parts, and one written with underscores around it (`__slots__`, as a question writes it
/// too) as itself and without them.
fn words_of(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    for written in text.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
        let word = written.trim_matches('_').to_lowercase();
        if word.is_empty() {
            continue;
        }
        if word.len() < written.len() {
            words.push(written.to_lowercase());
        }
        if word.contains('_') {
            words.extend(word.split('_').filter(|p| !p.is_empty()).map(str::to_string));
        }
        words.push(word);
    }
    words
}

/// Where each of `things` is among `terms` (those that are not left out).
fn indexes_of(things: &[String], terms: &[(String, f64)]) -> Vec<usize> {
    things.iter().filter_map(|thing| terms.iter().position(|(term, _)| term == thing)).collect()
}

/// One section of a page, whole: the unit an answer quotes and a model reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub chunk_id: String,
    pub url: String,
    pub title: String,
    pub heading: String,
    /// Markdown, blocks separated by blank lines.
    pub text: String,
    pub page: PageSignals,
    /// The retrieval rank of the section's page (0 is the best page).
    pub page_rank: usize,
    /// Whether retrieval chose this section for its page (its best chunk is in it).
    pub retrieved: bool,
    /// Whether this is the page's opening section, where a page says what its subject is and how
    /// it differs from its neighbours.
    pub lead: bool,
}

/// Headings that name a part of an API entry rather than a subject of their own: gtk-doc heads
/// each function's parameters and result ("g_get_current_time () › Parameters"), a struct's or
/// enum's members, in sections of their own, which alone quote a table without its function.
const ENTRY_PARTS: [&str; 5] = ["parameters", "returns", "return value", "arguments", "members"];

/// The label of the part of the entry headed `parent` that `heading` heads, if it is one
/// ([`ENTRY_PARTS`]).
fn entry_part<'a>(parent: &str, heading: &'a str) -> Option<&'a str> {
    let (above, label) = heading.rsplit_once(" › ")?;
    (above == parent && ENTRY_PARTS.contains(&label.to_lowercase().as_str())).then_some(label)
}

/// Chunks of one page in page order, as the store reads them for an answer: the page's first, and,
/// when the chunk asked about lies beyond them (git's `user.name`, the 215th of `git-config`'s
/// 222), those around it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageChunks {
    pub chunks: Vec<SearchHit>,
    /// Where in `chunks` reading resumes after chunks left out.
    pub resumes_at: Option<usize>,
}

impl Section {
    /// The sections of one page from its chunks in page order (as the store's `page_chunks` gives
    /// them), each without the overlap that chunking repeats at the start of a chunk; a section
    /// read in two parts is two. `hit`, the page's best chunk, marks its section as retrieved, and
    /// stands alone when it is not among the chunks (the store could not read the page).
    pub fn of_page(page: &PageChunks, hit: &SearchHit, page_rank: usize) -> Vec<Section> {
        let mut sections: Vec<Section> = Vec::new();
        let mut previous: Option<&SearchHit> = None;
        for (at, chunk) in page.chunks.iter().enumerate() {
            // A chunk goes on with the one before it (its section, or its entry's part) unless
            // reading resumes at it after chunks left out.
            let same = page.resumes_at != Some(at)
                && previous.is_some_and(|p| p.url == chunk.url && p.heading == chunk.heading);
            let part = sections
                .last()
                .filter(|_| !same && page.resumes_at != Some(at))
                .and_then(|s| entry_part(&s.heading, &chunk.heading));
            previous = Some(chunk);
            match (part, sections.last_mut()) {
                // The first chunk of an entry's part: its label, then what it says.
                (Some(label), Some(section)) => {
                    section.append(&format!("{label}\n\n{}", chunk.text))
                }
                (None, Some(section)) if same => section.append(&chunk.text),
                _ => {
                    let mut section = Section::start(chunk, page_rank);
                    // The store gives a page from its first chunk on.
                    section.lead = sections.is_empty();
                    sections.push(section);
                }
            }
            if chunk.chunk_id == hit.chunk_id {
                if let Some(section) = sections.last_mut() {
                    section.retrieved = true;
                }
            }
        }
        if !sections.iter().any(|s| s.retrieved) {
            let mut alone = Section::start(hit, page_rank);
            alone.retrieved = true;
            sections.insert(0, alone);
        }
        sections
    }

    fn start(chunk: &SearchHit, page_rank: usize) -> Section {
        Section {
            chunk_id: chunk.chunk_id.clone(),
            url: chunk.url.clone(),
            title: chunk.title.clone(),
            heading: chunk.heading.clone(),
            text: chunk.text.clone(),
            page: chunk.page,
            page_rank,
            retrieved: false,
            lead: false,
        }
    }

    fn append(&mut self, next: &str) {
        let mut rest = next;
        // The overlap is the leading paragraph, repeating the end of the previous chunk.
        if let Some((lead, after)) = rest.split_once("\n\n") {
            if self.text.ends_with(lead) {
                rest = after;
            }
        }
        // A code block split between chunks is one block again: each part carries its fences.
        if let Some(after) = reopened_code(&self.text, rest) {
            let closing = self.text.lines().last().unwrap_or_default().len();
            self.text.truncate(self.text.len() - closing);
            self.text.push_str(after);
            return;
        }
        // A paragraph split between chunks continues on the same line, a table on the next one.
        let continues = !self.text.ends_with(['.', '!', '?', ':', '`', '|'])
            && rest.starts_with(|c: char| c.is_lowercase());
        let last_line = self.text.lines().last().unwrap_or_default();
        let same_table = last_line.starts_with('|') && rest.starts_with('|');
        self.text.push_str(match (continues, same_table) {
            (true, _) => " ",
            (false, true) => "\n",
            (false, false) => "\n\n",
        });
        self.text.push_str(rest);
    }

    /// The section's name as a reader sees it: the page title, then the heading unless the
    /// heading repeats the title.
    pub fn name(&self) -> String {
        // A heading path that opens with the page's own title (or its first part: "Install" of
        // "Install — Harbor documentation", also when the heading sets a name as code) does not
        // repeat it.
        let mut heading = self.heading.as_str();
        if let Some((first, rest)) = heading.split_once(" › ").or(Some((heading, ""))) {
            let first = first.replace('`', "");
            if !first.is_empty()
                && (self.title == first || self.title.starts_with(&format!("{first} ")))
            {
                heading = rest;
            }
        }
        let heading = heading.trim_start_matches([' ', '›']);
        if heading.is_empty() {
            self.title.clone()
        } else {
            format!("{} › {heading}", self.title)
        }
    }

    /// The section as a search hit with its whole text (what a model is given).
    pub fn as_hit(&self, score: f64) -> SearchHit {
        SearchHit {
            chunk_id: self.chunk_id.clone(),
            url: self.url.clone(),
            title: self.title.clone(),
            heading: self.heading.clone(),
            text: self.text.clone(),
            score,
            page: self.page,
            more: Vec::new(),
        }
    }
}

/// Pages that are mostly link entries (tables of contents, back-of-book indexes) are never quoted.
const NAVIGATION_PAGE_PERCENT: u8 = 50;

/// How an extractive answer is built.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnswerOptions {
    /// Words quoted in all (a code block or table introduced by a quoted sentence may take up to
    /// twice this).
    pub words: usize,
    /// Sections quoted at most.
    pub sections: usize,
    /// Below this [`WeightedTerms::coverage`] of the best section, Docent says it found nothing.
    pub min_evidence: f64,
}

impl Default for AnswerOptions {
    fn default() -> Self {
        AnswerOptions { words: 150, sections: 2, min_evidence: 0.5 }
    }
}

/// A section chosen to answer, with the blocks quoted from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Quote {
    /// Index of the section among those given to [`choose_quotes`].
    pub section: usize,
    /// Markdown blocks, in page order.
    pub blocks: Vec<String>,
}

/// The sections that answer a question, or the finding that none does.
#[derive(Debug, Clone, PartialEq)]
pub enum Choice {
    Quotes(Vec<Quote>),
    /// No section carried enough of the question; `evidence` is the best coverage seen.
    NotFound {
        evidence: f64,
    },
}

/// What a section that defines the code name or has the entry for the option asked about adds to
/// its score: "What does `Vec::push` do?" is answered by `push`'s entry, not by an example that
/// calls it. More than an example gains by holding every word of the question in one block (up
/// to 1).
const DEFINITION_BONUS: f64 = 1.5;

/// What a section's score is worth when it holds none of the things the question names.
const OFF_TOPIC: f64 = 0.5;

/// How well each section answers: the weighted share of the question it contains (the evidence),
/// how much of it one of its paragraphs holds together, a bonus for naming the question in its
/// heading, and a little for its page's retrieval rank, for being the section retrieval chose and
/// for opening its page.
fn section_score(terms: &WeightedTerms, section: &Section) -> (f64, f64) {
    let met =
        terms.met(&words_of(&format!("{} {} {}", section.title, section.heading, section.text)));
    let evidence = terms.share_of(&met);
    let blocks = blocks_of(&section.text);
    let together = blocks.iter().map(|block| terms.coverage(&block.text)).fold(0.0, f64::max);
    let named = terms.coverage(&format!("{} {}", section.title, section.heading));
    let chosen = if section.retrieved { 0.1 } else { 0.0 };
    let lead = if section.lead { 0.2 } else { 0.0 };
    let rank = 0.5 / (1.0 + section.page_rank as f64);
    let defines_name =
        terms.name.as_ref().is_some_and(|name| defines(name, &section.heading, &section.text));
    // The entry for the name asked about, or the section that compares the two things asked
    // about, is evidence enough, whatever the question's other words ("put" of "What should I
    // put in `user.name`?", which `user.name`'s entry need not say).
    let compares_subjects = compares(&terms.subjects, &section.heading);
    let quotes_error = terms.quotes_message(&section.text);
    let evidence = if defines_name || compares_subjects || quotes_error { 1.0 } else { evidence };
    let definition = defines_name
        || compares_subjects
        || quotes_error
        || terms.has_entry_for_option(section)
        || terms.opens_by_defining(section)
        || !terms.subject_entries(&blocks, &list_terms(&blocks)).is_empty();
    let definition = if definition { DEFINITION_BONUS } else { 0.0 };
    let score = evidence + together + 0.25 * named + rank + chosen + lead + definition;
    // A section that holds none of the things the question names is about something else,
    // however many of its other words it has ("share" and "test files" in a section on skip
    // markers, for "How do I share a fixture between test files?").
    let score = if terms.holds_a_named_thing(&met) { score } else { OFF_TOPIC * score };
    (score, evidence)
}

/// What is quoted from a page of links: its opening paragraphs, up to the first list, table or
/// code (the links that follow say where to read on, not what was asked).
fn opening_only(blocks: Vec<String>) -> Vec<String> {
    let prose = |quoted: &String| blocks_of(quoted).iter().all(|b| b.kind == BlockKind::Prose);
    let mut blocks: Vec<String> = blocks.into_iter().take_while(prose).collect();
    // A sentence that introduced what was left out goes too.
    while blocks.last().is_some_and(|b| b.trim_end().ends_with(':')) {
        blocks.pop();
    }
    blocks
}

/// The share of the question's weight a section's own heading holds for the section to be quoted
/// from its start when the passage that carries most of the question lies within two thirds of
/// the budget (answer sets within 0.002 of quoting from that passage, docs/BENCHMARKS.md).
const HEADING_NAMES_QUESTION: f64 = 0.6;

/// The share of the evidence an answer needs that one section it quotes needs: once some section
/// holds enough of the question to answer, the best-scored one may hold less of it, as when one
/// rare word of the question ("a fresh database") is in no section that answers it and outweighs
/// the rest (answer sets, docs/BENCHMARKS.md, session 38).
const SECTION_EVIDENCE_SHARE: f64 = 0.7;

/// Chooses the sections to quote (best first) and what to quote of each, within the word budget.
pub fn choose_quotes(
    terms: &WeightedTerms, sections: &[Section], options: &AnswerOptions,
) -> Choice {
    if !terms.unknown_names().is_empty() || terms.nothing_specific_left() {
        return Choice::NotFound { evidence: 0.0 };
    }
    // Release notes say when something changed, which only a question about releases asks: one
    // that holds the question's words is quoted only when no other section is there to quote.
    // Each section's kind read once: (readable, on release notes not asked about).
    let kinds: Vec<(bool, bool)> = sections
        .iter()
        .map(|s| {
            // A front page's opening paragraph says what the project is, however many links
            // follow it (only that opening is quoted from it: `opening_only`).
            let readable =
                s.page.link_list_percent < NAVIGATION_PAGE_PERCENT || terms.opens_by_defining(s);
            (readable, !terms.asks_about_releases && in_release_notes(&s.title, &s.heading))
        })
        .collect();
    let beside_notes = kinds.iter().any(|&(readable, notes)| readable && !notes);
    let mut scored: Vec<(usize, f64, f64)> = sections
        .iter()
        .enumerate()
        .filter(|&(i, _)| kinds[i].0 && !(beside_notes && kinds[i].1))
        .map(|(i, s)| {
            let (score, evidence) = section_score(terms, s);
            (i, score, evidence)
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let best_evidence = scored.iter().map(|s| s.2).fold(0.0, f64::max);
    if best_evidence < options.min_evidence {
        return Choice::NotFound { evidence: best_evidence };
    }
    let mut quotes: Vec<Quote> = Vec::new();
    let mut budget = options.words;
    // Once an option's entry is quoted, a section that has no entry for it says nothing of it.
    let mut quoted_entry = false;
    for (index, _, evidence) in scored {
        // A further section only when it is nearly as good as the best and there is room for it.
        if quotes.len() == options.sections
            || evidence < SECTION_EVIDENCE_SHARE * options.min_evidence
            || (!quotes.is_empty() && (evidence < 0.8 * best_evidence || budget < 40))
            || (quoted_entry && !terms.has_entry_for_option(&sections[index]))
        {
            continue;
        }
        quoted_entry |= terms.has_entry_for_option(&sections[index]);
        // The section that compares what the question compares, or opens by saying what it
        // asks about is, is read from its opening. So is a section whose own heading names most
        // of the question ("Make a Request" for "How do I make a GET request?"): all of it is
        // about what was asked, as long as its opening leaves room for the passage that carries
        // most of the question (PostgreSQL's "Partial Indexes" opens with two paragraphs of why,
        // and its `CREATE INDEX … WHERE` comes after).
        let own_heading = sections[index].heading.rsplit(" › ").next().unwrap_or("");
        let lead = if compares(&terms.subjects, &sections[index].heading)
            || terms.opens_by_defining(&sections[index])
        {
            usize::MAX
        } else if terms.coverage(own_heading) >= HEADING_NAMES_QUESTION {
            budget * 2 / 3
        } else {
            budget / 3
        };
        let quoted = quote_section(terms, &sections[index].text, budget, lead);
        let quoted = if sections[index].page.link_list_percent < NAVIGATION_PAGE_PERCENT {
            quoted
        } else {
            quoted.map(opening_only)
        };
        // A site that serves one page under two addresses (git's `index.html` and `git.html`)
        // has its passages twice: quoted once.
        let repeated =
            quoted.as_ref().is_some_and(|blocks| quotes.iter().any(|q| q.blocks == *blocks));
        if let Some(blocks) = quoted.filter(|_| !repeated) {
            budget =
                budget.saturating_sub(blocks.iter().map(|b| b.split_whitespace().count()).sum());
            quotes.push(Quote { section: index, blocks });
        }
    }
    if quotes.is_empty() {
        return Choice::NotFound { evidence: best_evidence };
    }
    Choice::Quotes(quotes)
}

/// A section whose terms head at least a quarter of its blocks, and at least this many, is a
/// definition list (a glossary): a quote from it keeps to one entry, under its term. Elsewhere a
/// short line before a paragraph is as often a callout's title ("Note", "Warning"), which a quote
/// reads on past (keeping every quote to such "entries" lowered the Python FAQ answers' recall
/// from 0.154 to 0.142 and began quotes at callouts, docs/BENCHMARKS.md).
const LIST_MIN_TERMS: usize = 5;

/// The blocks of `text` to quote within `budget` words: the glossary entries for what the question
/// asks the meaning of or compares, or in a glossary the entry that carries most of the question; else from
/// the section's start when the block that carries most of the question's words comes within
/// `lead` words of it (a section usually opens with what it is about), otherwise from that block;
/// then onwards in page order, whole sentences and whole blocks.
fn quote_section(
    terms: &WeightedTerms, text: &str, budget: usize, lead: usize,
) -> Option<Vec<String>> {
    let all = blocks_of(text);
    let heads = list_terms(&all);
    // Each entry asked about, within its share of the budget.
    let mut asked: Vec<usize> = Vec::new();
    for head in terms.subject_entries(&all, &heads) {
        let head = referred_entry(&all, &heads, head);
        // Two names for one entry ("WAL vs write-ahead log") quote it once.
        if !asked.contains(&head) {
            asked.push(head);
        }
    }
    let share = budget / asked.len().max(1);
    let entries: Vec<String> =
        asked.iter().filter_map(|&head| quote_entry(&all, &heads, head, share)).flatten().collect();
    if !entries.is_empty() {
        return Some(entries);
    }
    if heads.len() >= LIST_MIN_TERMS && heads.len() * 4 >= all.len() {
        let weights: Vec<f64> = all
            .iter()
            .map(|b| if quotable(b) { terms.matched_weight(&words_of(&b.text)) } else { 0.0 })
            .collect();
        let best = weights.iter().copied().fold(0.0, f64::max);
        let target = weights.iter().position(|w| best > 0.0 && *w >= 0.9 * best);
        let head = target.and_then(|target| heads.iter().rev().find(|&&h| h <= target));
        if let Some(quoted) = head.and_then(|&head| quote_entry(&all, &heads, head, budget)) {
            return Some(quoted);
        }
    }
    // A version history says when something changed, which only a question about releases asks.
    let history = |b: &Block| b.is_version_history() && !terms.asks_about_releases;
    let blocks: Vec<Block> = all.into_iter().filter(|b| quotable(b) && !history(b)).collect();
    let blocks = without_epigraph(blocks);
    if blocks.is_empty() {
        return None;
    }
    let weights: Vec<f64> =
        blocks.iter().map(|b| terms.matched_weight(&words_of(&b.text))).collect();
    // The entry of the option or the code name asked about, else the first block that carries
    // (nearly) as much of the question as any. In a long list of entries the question's other
    // words ("put" of "What should I put in `user.name`?") are in other entries.
    let best = weights.iter().copied().fold(0.0, f64::max);
    let entry = match (&terms.option, &terms.name) {
        (Some(option), _) => {
            let entry = blocks.iter().position(|b| b.is_entry_of(option));
            // Only a command's help listing has an entry for it: that entry's lines, as code.
            if entry.is_none() {
                if let Some(listed) = blocks.iter().find_map(|b| b.help_entry(option)) {
                    return Some(vec![format!("```\n{listed}\n```")]);
                }
            }
            entry
        }
        (None, Some(name)) => {
            blocks.iter().position(|b| b.is_signature() && defines(name, "", &b.text))
        }
        (None, None) => None,
    };
    // The place the error message asked about is quoted (and what follows it) comes before the
    // entry of a name the message holds.
    let entry = blocks.iter().position(|b| terms.quotes_message(&b.text)).or(entry);
    let target = entry.or(weights.iter().position(|w| *w >= 0.9 * best)).unwrap_or(0);
    let words_before: usize = blocks[..target].iter().map(Block::words).sum();
    let mut start = if entry.is_none() && words_before <= lead { 0 } else { target };
    // A command, list or table is quoted with the sentence that introduces it, and a description
    // with the signature it describes.
    if start > 0
        && ((blocks[start].kind != BlockKind::Prose && blocks[start - 1].introduces())
            || blocks[start - 1].is_signature())
    {
        start -= 1;
    }
    // A quote from the section's start does not open with the short notes that head a page
    // ("New in version 3.2.", "Source code: Lib/argparse.py") when they say nothing asked.
    while start < target && is_aside(&blocks[start], weights[start]) {
        start += 1;
    }
    quote_blocks(&blocks, start, target, budget)
}

/// The most words of an epigraph's attribution ("— Russell Keith-Magee, Django users group").
const ATTRIBUTION_WORDS: usize = 12;

/// `blocks` without the epigraph that opens them: a quotation and the line that attributes it
/// ("— Malcom Tredinnick, Django developers group"), which Django REST framework's pages open
/// with. It is someone's remark on the subject, not what the section says about it.
fn without_epigraph(mut blocks: Vec<Block>) -> Vec<Block> {
    let attribution = blocks.iter().take(3).position(|b| {
        b.kind == BlockKind::Prose
            && b.text.starts_with(['—', '―'])
            && b.words() <= ATTRIBUTION_WORDS
            && !b.introduces()
    });
    if let Some(at) = attribution.filter(|&at| at > 0 && at + 1 < blocks.len()) {
        blocks.drain(..=at);
    }
    blocks
}

/// The most names a definition list gives one entry on lines of their own before describing it
/// (SQLAlchemy's "bound parameter", "bound parameters", "bind parameter", "bind parameters").
const ENTRY_NAMES: usize = 4;

/// The most words of a note that heads a section without being about the question.
const ASIDE_WORDS: usize = 8;

/// A short line of prose that holds none of the question (`weight` is its matched weight) and
/// introduces nothing after it. A warning that what follows is deprecated or gone is no aside:
/// it changes the answer.
fn is_aside(block: &Block, weight: f64) -> bool {
    let lower = block.text.to_lowercase();
    let warns = ["deprecat", "removed", "obsolete"].iter().any(|w| lower.contains(w));
    block.kind == BlockKind::Prose
        && weight == 0.0
        && block.words() <= ASIDE_WORDS
        && !block.introduces()
        && !block.is_signature()
        && !warns
}

/// Where `blocks` hold a definition list's entries, at their first terms, in order: a short line
/// of its own ([`Block::is_term_shaped`]), maybe other names for it each on its own line, then
/// what describes it.
fn list_terms(blocks: &[Block]) -> Vec<usize> {
    let mut heads = Vec::new();
    let mut at = 0;
    while at < blocks.len() {
        let names = entry_names(blocks, at);
        let described = blocks.get(names.end).is_some_and(Block::describes_a_term);
        if !names.is_empty() && names.len() <= ENTRY_NAMES && described {
            heads.push(at);
            at = names.end;
        } else {
            at += 1;
        }
    }
    heads
}

/// The names of the entry whose first term is at `head`: that line when it is term-shaped, and
/// the lines after it that name the same entry ([`names_the_same_entry`]); empty otherwise.
fn entry_names(blocks: &[Block], head: usize) -> std::ops::Range<usize> {
    if !blocks.get(head).is_some_and(Block::is_term_shaped) {
        return head..head;
    }
    let same = |at: &usize| {
        blocks[*at].kind == BlockKind::Prose
            && names_the_same_entry(&blocks[head].text, &blocks[*at].text)
    };
    let end = (head + 1..blocks.len()).find(|at| !same(at)).unwrap_or(blocks.len());
    head..end
}

/// The entry among `terms` ([`list_terms`]') that lists `term` (lower-case) among its names.
fn entry_listing(blocks: &[Block], terms: &[usize], term: &str) -> Option<usize> {
    terms
        .iter()
        .copied()
        .find(|&head| entry_names(blocks, head).any(|at| lists_term_at(blocks, at, term)))
}

/// Whether `blocks[at]` is a term-shaped line that lists `term`; any term when `term` is empty.
fn lists_term_at(blocks: &[Block], at: usize, term: &str) -> bool {
    blocks.get(at).is_some_and(|block| {
        block.is_term_shaped() && (term.is_empty() || lists_term(block.text.trim(), term))
    })
}

/// The entry a glossary's cross-reference points to when the entry at `head` says nothing else
/// (PostgreSQL's "WAL" is "See Write-ahead log."), else `head`; `terms` are [`list_terms`]'.
fn referred_entry(blocks: &[Block], terms: &[usize], head: usize) -> usize {
    let alone = head + 2 >= blocks.len() || terms.contains(&(head + 2));
    let referred = blocks.get(head + 1).and_then(|body| pointed_entry(&body.text));
    referred.filter(|_| alone).and_then(|name| entry_listing(blocks, terms, &name)).unwrap_or(head)
}

/// The term, lower-cased, that a glossary's pointer names ("See Write-ahead log."); not "See also".
fn pointed_entry(text: &str) -> Option<String> {
    let name = text.trim().strip_prefix("See ")?.strip_suffix('.')?;
    (!name.starts_with("also ")).then(|| name.to_lowercase())
}

/// The definition list's entry whose term is `blocks[head]`, up to the next of `terms`
/// ([`list_terms`]'), quoted within `budget` words: the term (too short to be quotable alone) heads
/// what describes it. `None` when nothing but the term fits.
fn quote_entry(
    blocks: &[Block], terms: &[usize], head: usize, budget: usize,
) -> Option<Vec<String>> {
    let end = terms.iter().copied().find(|&at| at > head).unwrap_or(blocks.len());
    let entry: Vec<Block> = std::iter::once(blocks[head].clone())
        .chain(blocks[head + 1..end].iter().filter(|b| quotable(b)).cloned())
        .collect();
    quote_blocks(&entry, 0, 0, budget).filter(|quoted| quoted.len() > 1)
}

/// Quotes `blocks` from `start` within `budget` words; `target` is the block the quote is for.
fn quote_blocks(
    blocks: &[Block], start: usize, target: usize, budget: usize,
) -> Option<Vec<String>> {
    let mut quoted: Vec<Block> = Vec::new();
    let mut used = 0;
    for (at, block) in blocks.iter().enumerate().skip(start) {
        // A quote that opens with an entry (an option's spellings, an API's signature) ends where
        // the next entry begins: the methods listed after `str.join` say nothing about it.
        // Signatures one after another (a function's overloads) open one entry, and a quote that
        // opens with a module's introduction goes on into its functions.
        let next_entry = at > target
            && block.is_signature()
            && quoted.first().is_some_and(Block::is_signature)
            && quoted.last().is_some_and(|last| !last.is_signature());
        // So does one that opens with a FAQ's question, at its next question.
        let next_question = at > start
            && quoted.first().is_some_and(|first| {
                is_question(first) && (is_question(block) || numbered_alike(first, block))
            });
        if used >= budget || next_entry || next_question {
            break;
        }
        let words = block.words();
        // What a sentence introduces may take the budget twice over (a signature's description
        // gets no more room than any other block).
        let introduced = quoted.last().is_some_and(Block::introduces);
        let room = if introduced {
            (budget * 2).saturating_sub(used)
        } else {
            budget.saturating_sub(used)
        };
        if words <= room {
            used += words;
            quoted.push(block.clone());
            continue;
        }
        // Too long to quote whole: the part that fits, cut only between sentences or items.
        if let Some(part) = leading_part(block, room, quoted.is_empty()) {
            quoted.push(part);
        }
        break;
    }
    // Never end on a sentence or a signature that introduces something left out.
    while let Some(last) = quoted.last_mut() {
        if !last.introduces() && !last.is_signature() {
            break;
        }
        let sentences = split_sentences(&last.text);
        if sentences.len() <= 1 {
            quoted.pop();
        } else {
            last.text = sentences[..sentences.len() - 1].join(" ");
        }
    }
    (!quoted.is_empty()).then(|| {
        quoted
            .into_iter()
            .map(|b| match b.kind {
                BlockKind::Code => b.text,
                _ if b.is_signature() => signature_as_code(b.text.trim()),
                _ => without_note_marks(&b.text),
            })
            .collect()
    })
}

/// The most words of a FAQ's question.
const QUESTION_WORDS: usize = 40;

/// Whether `block` is a question as a FAQ asks it: one short line ending with "?" (maybe
/// numbered: "2. I see lots of … – is that bad?").
fn is_question(block: &Block) -> bool {
    block.kind != BlockKind::Code
        && !block.text.contains('\n')
        && block.text.trim_end().ends_with('?')
        && block.words() <= QUESTION_WORDS
}

/// Whether `block` is one short numbered line as `first` is, and no sentence: the next of a FAQ's
/// numbered entries, which need not end with "?" ("3. `now.date()` is yesterday! (or
/// tomorrow)"), not a step ("2. Restart the server.").
fn numbered_alike(first: &Block, block: &Block) -> bool {
    let numbered =
        |b: &Block| b.kind == BlockKind::List && b.text.starts_with(|c: char| c.is_ascii_digit());
    numbered(first)
        && numbered(block)
        && !block.text.contains('\n')
        && !block.text.trim_end().ends_with('.')
        && block.words() <= QUESTION_WORDS
}

/// A signature set as code the way its page shows it: a plain one whole (`str.join(iterable)`),
/// and a name marked as code with its parameters (`` `fileinput.filename`() `` reads
/// `` `fileinput.filename()` ``); other marks (`` `IN ROLE` role_name ``) stay as they are.
fn signature_as_code(line: &str) -> String {
    let Some(open) = line.find('`') else { return format!("`{line}`") };
    let Some(close) = line[open + 1..].find('`').map(|at| open + 1 + at) else {
        return line.to_string();
    };
    let parameters = &line[close + 1..];
    if parameters.starts_with('(') && parameters.ends_with(')') && !parameters.contains('`') {
        format!("{}{parameters}`", &line[..close])
    } else {
        line.to_string()
    }
}

/// The page's footnote marks (`[7]`) removed: in an answer they would read as citations.
fn without_note_marks(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && after[digits..].starts_with(']') && !after[digits + 1..].starts_with('(') {
            rest = &after[digits + 1..];
            // "value. [7] Next" keeps one space.
            if out.ends_with(' ') && rest.starts_with(' ') {
                rest = &rest[1..];
            }
        } else {
            out.push('[');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The leading whole sentences (prose) or items (lists, tables) of `block` within `room` words; the
/// first one regardless when `must` (a quote has at least one whole sentence). Code is never cut.
fn leading_part(block: &Block, room: usize, must: bool) -> Option<Block> {
    let units: Vec<String> = match block.kind {
        BlockKind::Code => return None,
        BlockKind::Prose => split_sentences(&block.text).into_iter().map(str::to_string).collect(),
        BlockKind::List | BlockKind::Table => block.text.lines().map(str::to_string).collect(),
    };
    let separator = if block.kind == BlockKind::Prose { " " } else { "\n" };
    // A table keeps its header and rule rows.
    let keep = if block.kind == BlockKind::Table { 2.min(units.len()) } else { 0 };
    let mut taken: Vec<String> = units[..keep].to_vec();
    let mut used: usize = taken.iter().map(|u| u.split_whitespace().count()).sum();
    for unit in &units[keep..] {
        let words = unit.split_whitespace().count();
        if used + words > room && !(must && taken.len() == keep) {
            break;
        }
        used += words;
        taken.push(unit.clone());
    }
    (taken.len() > keep).then(|| Block { kind: block.kind, text: taken.join(separator) })
}

/// The sections to show, numbered from 1 in this order: one or more per retrieved page, in the
/// pages' retrieval order (the ranking's judgement of the pages stands), each page by its quoted
/// sections (in quote order) or else by the section retrieval chose; with the quotes renumbered to
/// match.
pub fn shown_sections(sections: Vec<Section>, quotes: Vec<Quote>) -> (Vec<Section>, Vec<Quote>) {
    let pages = sections.iter().map(|s| s.page_rank).max().map_or(0, |r| r + 1);
    let mut order: Vec<usize> = Vec::new();
    for page in 0..pages {
        let quoted: Vec<usize> =
            quotes.iter().map(|q| q.section).filter(|&i| sections[i].page_rank == page).collect();
        if quoted.is_empty() {
            order.extend(sections.iter().position(|s| s.page_rank == page && s.retrieved));
        } else {
            order.extend(quoted);
        }
    }
    let quotes = quotes
        .into_iter()
        .map(|q| Quote { section: order.iter().position(|&i| i == q.section).unwrap_or(0), ..q })
        .collect();
    (order.into_iter().map(|i| sections[i].clone()).collect(), quotes)
}

/// The extractive answer's text: the notice, then each quote under its section's name, cited by
/// the section's number (its position in `sections`, from 1).
pub fn render_quotes(notice: &str, sections: &[Section], quotes: &[Quote]) -> String {
    let mut text = notice.to_string();
    for quote in quotes {
        let number = quote.section + 1;
        let name = sections[quote.section].name();
        text.push_str(&format!("\n\n**{}** [{number}]\n", name.replace(['*', '\n'], " ")));
        for (i, block) in quote.blocks.iter().enumerate() {
            if i > 0 {
                text.push_str(">\n");
            }
            for line in block.lines() {
                text.push_str("> ");
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    text.trim_end().to_string()
}

/// The answer when nothing answers: the finding, and the nearest pages as links.
pub fn render_not_found(sections: &[Section]) -> String {
    let mut text = NOTHING_FOUND.to_string();
    let nearest: Vec<&Section> = sections
        .iter()
        .filter(|s| s.retrieved && s.page.link_list_percent < NAVIGATION_PAGE_PERCENT)
        .take(3)
        .collect();
    if !nearest.is_empty() {
        text.push_str(" The nearest pages are:\n");
        for section in nearest {
            text.push_str(&format!(
                "\n- [{}]({})",
                section.name().replace(['[', ']'], ""),
                section.url
            ));
        }
    }
    text
}

/// What follows the opening line of `next` when `next` opens the code block `text` closes with,
/// fence and language alike (the chunker splits a long code block into blocks of its own fences).
fn reopened_code<'a>(text: &str, next: &'a str) -> Option<&'a str> {
    let (open, after) = next.split_once('\n')?;
    let fence = fence_of(open)?;
    let mut lines = text.lines().rev();
    let closes = lines.next() == Some(fence);
    // The block's opening line: the nearest line above the closing fence that starts with it.
    (closes && lines.find(|line| line.starts_with(fence)) == Some(open)).then_some(after)
}

#[cfg(test)]
mod tests;
