//! What ranking pages reads from a query ([`PageQuery`]): the code name it asks about
//! ([`named_identifier`]: `User.get_full_name`), the command-line option ([`named_option`]:
//! `--eval`), the document it cites by number ([`named_reference`]: `PEP 292`), the one word a
//! table may define (`bigint`), the term a glossary may list ("generic view"), what it asks the
//! meaning of ([`defined_subject`]: "What is a slug?") or the two things it compares
//! ([`compared_subjects`]: "json vs jsonb"), and whether it asks about a release; and the
//! searches for the entry it asks about that the lexical ranking cannot reach ([`EntrySearch`]).

use crate::retrieval::search::is_stopword;

/// What ranking pages reads from the query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageQuery {
    /// Its content words ([`query_terms`](crate::retrieval::search::query_terms)).
    pub terms: Vec<String>,
    /// The code name it asks about, if any ([`named_identifier`]).
    pub name: Option<CodeName>,
    /// The command-line option it asks about, as written (`--eval`, `-x`; [`named_option`]).
    pub option: Option<String>,
    /// The document it cites by number (`PEP 292`, `RFC 2047`; [`named_reference`]).
    pub reference: Option<Reference>,
    /// The word a query of one plain word asks about (`bigint`, `max`), which a table may define.
    pub word: Option<String>,
    /// A short query of plain words (three at most), lower-cased, as a glossary would list it
    /// (`generic view`).
    pub term: Option<String>,
    /// The query asks about a release: it names a version or the words of release notes.
    pub asks_about_releases: bool,
    /// What the query asks the meaning of ([`defined_subject`], also its `term`), or the two
    /// things it compares ([`compared_subjects`]), lower-cased: a glossary's entries for them are
    /// their definitions.
    pub subjects: Vec<String>,
    /// The lines a glossary's entry for each of `subjects` would open with: as the query writes
    /// it if that has capitals (an acronym, `WAL`), then lower-case; else lower-case, then
    /// capitalised (`slug`, `Slug`).
    pub subject_lines: Vec<Vec<String>>,
    /// The words of the error message the query is, if it is one ([`pasted_message`]).
    pub message: Option<Vec<String>>,
}

/// A name written as code: its last part, and the parts before it that say whose it is, all
/// lower-cased (`User.get_full_name`: `get_full_name` of `user`), and the whole name as the query
/// writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeName {
    pub last: String,
    pub qualifiers: Vec<String>,
    pub written: String,
}

/// What may stand between a citation's acronym and its number: a space, a hyphen, a no-break
/// space or nothing (`PEP 292`, `PEP-292`, `PEP292`), nothing last.
const CITATION_SEPARATORS: [&str; 4] = [" ", "-", "\u{a0}", ""];

/// A document cited by an acronym and a number (`PEP 292`, `RFC 2047`, `SQLSTATE 23505`), the
/// acronym lower-cased.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reference {
    pub series: String,
    pub number: String,
}

impl Reference {
    /// Whether `text` cites it: the acronym in any case, then the number after one of the
    /// [`CITATION_SEPARATORS`] (`PEP 292`, `pep-292`, `RFC2047`), neither run on into a longer
    /// word or number (`PEP 2920`, `SPEP 292`).
    pub fn is_cited_in(&self, text: &str) -> bool {
        let lower = text.to_lowercase();
        lower.match_indices(self.series.as_str()).any(|(at, series)| {
            let before = lower[..at].chars().next_back();
            let rest = &lower[at + series.len()..];
            let rest = CITATION_SEPARATORS
                .iter()
                .find_map(|between| rest.strip_prefix(between))
                .unwrap_or(rest);
            !before.is_some_and(char::is_alphanumeric)
                && rest
                    .strip_prefix(self.number.as_str())
                    .is_some_and(|after| !after.starts_with(|c: char| c.is_alphanumeric()))
        })
    }
}

/// Chunks the name a query asks about finds alone, added to the lexical candidates when the query
/// has other words too: the entry that defines `maintenance_work_mem` never says "configuration
/// parameter", and a hundred passages that mention the name with those words rank above it.
pub const NAME_CANDIDATES: u32 = 20;

/// Chunks read for the entry a query asks about ([`PageQuery::entry_search`]): more than a manual
/// has programs with an option of that letter.
pub const ENTRY_CANDIDATES: u32 = 50;

/// One search for the entry a query asks about that the lexical ranking cannot reach: the words
/// the full-text index ranks candidates by, and the texts (spellings of one thing) of which a
/// candidate chunk must hold one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntrySearch {
    pub words: Vec<String>,
    pub texts: Vec<String>,
}

impl PageQuery {
    /// How to find the entry for the option the query names, or else for the document it cites,
    /// or else the glossary's entry for what it asks the meaning of and a table's for the word it
    /// asks alone.
    ///
    /// An option's entry: the query's terms with the option's words, in chunks where the option
    /// opens a code span (`` `-x ``). A letter is in hundreds of chunks (`x` in 881 of the Python
    /// manual's 9,730), and the lexical ranking puts the entry that defines `-m` there 141st,
    /// Octave's `-x` 724th.
    ///
    /// A cited document's entry: a chunk that writes its acronym and number together (`PEP 292`,
    /// `PEP-292`, `PEP292`). "Python Enhancement Proposals PEP 292" has a hundred passages with
    /// its first three words and the one that cites PEP 292 none of them; `11` of "PEP 11" is in
    /// every chunk of the manual for Python 3.11.
    ///
    /// A glossary's entry: the subject's words, in chunks where the subject is a line of its own,
    /// as asked or capitalised (`slug`, `Slug`). A common word is in thousands of chunks ("method"
    /// in the Python manual), and the glossary's one chunk of many entries says it once.
    ///
    /// A section's opening that says what the one subject asked about is ([`opens_by_defining`]):
    /// the subject's words, in chunks that hold "Python is a", "A converter is an" and the like.
    /// A product's name is in every chunk of its manual (`python` in all 9,730), and the tutorial
    /// that opens "Python is an easy to learn, powerful programming language" is 35th by BM25,
    /// below passages that only name it.
    ///
    /// A table's entry for a word asked alone ([`defines_in_table`]): the word, in chunks where a
    /// row's first cell opens with it or lists it among other spellings. `max` is in 216 of
    /// PostgreSQL's chunks, and the aggregate functions' table, which says it once among thirty
    /// entries, is the 151st of them by BM25.
    ///
    /// [`defines_in_table`]: super::definitions::defines_in_table
    /// [`opens_by_defining`]: super::definitions::opens_by_defining
    pub fn entry_search(&self) -> Vec<EntrySearch> {
        if let Some(option) = &self.option {
            let mut words = self.terms.clone();
            for word in option.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
                let word = word.to_lowercase();
                if !words.contains(&word) {
                    words.push(word);
                }
            }
            return vec![EntrySearch { words, texts: vec![format!("`{option}")] }];
        }
        if let Some(reference) = &self.reference {
            // Its own words only: the passage that cites it need say none of the others.
            let series = reference.series.to_uppercase();
            let texts = CITATION_SEPARATORS
                .iter()
                .map(|between| format!("{series}{between}{}", reference.number))
                .collect();
            let words = vec![reference.series.clone(), reference.number.clone()];
            return vec![EntrySearch { words, texts }];
        }
        // Each subject by its own words: one compared subject's entry need not name the other.
        let mut searches = Vec::new();
        for (subject, lines) in self.subjects.iter().zip(&self.subject_lines) {
            let words = crate::retrieval::search::query_terms(subject);
            if !words.is_empty() {
                // The line alone, or with the sense a glossary adds in brackets ("Analyze
                // (operation)": [`lists_term`]).
                let texts = ["\n", " ("]
                    .iter()
                    .flat_map(|end| lines.iter().map(move |line| format!("\n{line}{end}")))
                    .collect();
                searches.push(EntrySearch { words, texts });
            }
        }
        // The sentence a section opens with to say what the one subject asked about is: as
        // asked, or after the article a noun takes.
        if let ([subject], [lines]) = (self.subjects.as_slice(), self.subject_lines.as_slice()) {
            let words = crate::retrieval::search::query_terms(subject);
            let article = if subject.starts_with(['a', 'e', 'i', 'o', 'u']) { "An" } else { "A" };
            let openings = lines
                .iter()
                .cloned()
                .chain([article, "The"].into_iter().map(|article| format!("{article} {subject}")));
            let texts = openings
                .flat_map(|opening| {
                    ["a", "an", "the"].map(|article| format!("{opening} is {article} "))
                })
                .collect();
            if !words.is_empty() {
                searches.push(EntrySearch { words, texts });
            }
        }
        if let Some(word) = &self.word {
            // The cell's opening, or a spelling after a comma, with the argument list, arrow or
            // cell's end after it, or as code. Each chunk holding the word is read for each (a
            // common word is in 1,500 of PostgreSQL's chunks), and a text as short as ", word"
            // would also take in prose.
            let texts =
                ["| {} (", "| {}(", "| {} |", "| {} →", "| `{}`", ", {}(", ", {} |", ", `{}`"]
                    .into_iter()
                    .map(|pattern| pattern.replace("{}", word))
                    .collect();
            searches.push(EntrySearch { words: vec![word.clone()], texts });
        }
        searches
    }

    /// The name as the query writes it when the name has an owner and the query has other words
    /// too (`user.name` of "What should I put in `user.name`?"): the chunks that write it whole
    /// are searched beside the name's words, whose own ranking may not reach them when the words
    /// are common (git's manual says "user" and "name" in a thousand passages).
    pub fn written_name(&self) -> Option<&str> {
        let name = self.name.as_ref().filter(|name| !name.qualifiers.is_empty())?;
        self.name_terms().map(|_| name.written.as_str())
    }

    /// The name's own terms when the query has other words too (for a lexical search of the name
    /// alone, [`NAME_CANDIDATES`] long), else `None`.
    pub fn name_terms(&self) -> Option<Vec<String>> {
        let name = self.name.as_ref()?;
        let mut terms = name.qualifiers.clone();
        terms.push(name.last.clone());
        terms.retain(|t| self.terms.contains(t));
        (!terms.is_empty() && terms.len() < self.terms.len()).then_some(terms)
    }

    pub fn new(query: &str) -> PageQuery {
        let terms = crate::retrieval::search::query_terms(query);
        let name = named_identifier(query);
        let option = named_option(query);
        let reference = named_reference(query);
        let words: Vec<&str> = query.split_whitespace().collect();
        let one_word = name.is_none() && terms.len() == 1 && words.len() == 1;
        let word =
            one_word.then(|| terms[0].clone()).filter(|w| w.chars().any(char::is_alphabetic));
        let plain = words.iter().all(|w| w.chars().all(|c| c.is_alphabetic() || c == '-'));
        let term = (name.is_none() && plain && (1..=3).contains(&words.len()))
            .then(|| words.join(" ").to_lowercase());
        // "What is a slug?" asks for what a glossary lists under "slug", a table under `bigint`.
        let subject = defined_subject(query);
        let word = word.or_else(|| subject.clone().filter(|s| !s.contains(' ')));
        let subjects = match compared_subjects(query) {
            Some((first, second)) => vec![first, second],
            None => subject.iter().cloned().collect(),
        };
        let subject_lines = subjects.iter().map(|subject| subject_lines(query, subject)).collect();
        let term = term.or(subject);
        let asks_about_releases = asks_about_releases(query, &terms);
        PageQuery {
            terms,
            name,
            option,
            reference,
            word,
            term,
            asks_about_releases,
            subjects,
            subject_lines,
            message: pasted_message(query),
        }
    }
}

/// The words a program's message opens with to say how bad it is.
const MESSAGE_LEVELS: [&str; 4] = ["error", "fatal", "warning", "panic"];

/// The fewest words of a message a passage must write in a row to quote it.
const MESSAGE_RUN: usize = 4;

/// The words of an error message pasted as a query, lower-cased: the name of what was raised,
/// written as code (`RuntimeWarning`, `django.core.exceptions.ImproperlyConfigured`), a colon,
/// then the message, of [`MESSAGE_RUN`] words or more ("RuntimeWarning: DateTimeField received
/// a naive datetime while time zone support is active"). A manual that quotes the message
/// (a troubleshooting section) answers it better than the reference entry of a name in it.
pub fn pasted_message(query: &str) -> Option<Vec<String>> {
    quoted_message(query).or_else(|| named_message(query))
}

/// What a question quotes between double quotes or backticks, of [`MESSAGE_RUN`] words or more:
/// the message it got ("Why do I get “CSRF verification failed. Request aborted.” on my form?").
fn quoted_message(query: &str) -> Option<Vec<String>> {
    [('"', '"'), ('“', '”'), ('`', '`')].iter().find_map(|&(open, close)| {
        let (_, rest) = query.split_once(open)?;
        let (quoted, _) = rest.split_once(close)?;
        Some(lower_words(quoted)).filter(|words| words.len() >= MESSAGE_RUN)
    })
}

/// A query that is a message after the name of what was raised or a level word.
fn named_message(query: &str) -> Option<Vec<String>> {
    let (name, message) = query.trim().split_once(": ")?;
    let last = name.rsplit('.').next()?;
    let code_like = last.chars().all(|c| c.is_alphanumeric() || c == '_')
        && last.starts_with(char::is_uppercase)
        && last.chars().skip(1).any(char::is_uppercase)
        && !name.contains(' ');
    // Or a level a program writes before its message (git's "fatal: not a git repository").
    let level = MESSAGE_LEVELS.contains(&name.to_lowercase().as_str());
    // A question after a product's name ("PostgreSQL: how do I create an index?") is no message.
    let asks = message.trim_end().ends_with('?');
    let words = lower_words(message);
    ((code_like || level) && !asks && words.len() >= MESSAGE_RUN).then_some(words)
}

/// `text`'s words, lower-cased, split at what is not a letter, a digit or an underscore (as a
/// message is compared with a passage).
fn lower_words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Whether `text` quotes `message` ([`pasted_message`]'s words): it writes half of them in a row
/// ([`MESSAGE_RUN`] at least), as the message does. A message is often quoted with its variable
/// parts filled in ("DateTimeField Entry.pub_date received a naive datetime (2012-01-01 00:00:00)
/// while time zone support is active"), so a run, not the whole; and a run of four ordinary words
/// is often just prose ("will fail if the current transaction is aborted"), so half.
pub fn quotes_message(message: &[String], text: &str) -> bool {
    let run = MESSAGE_RUN.max(message.len().div_ceil(2));
    let words = lower_words(text);
    words.iter().enumerate().any(|(at, word)| {
        message.iter().enumerate().any(|(from, first)| {
            first == word
                && message.len() - from >= run
                && words.len() - at >= run
                && words[at..].iter().zip(&message[from..]).take(run).all(|(a, b)| a == b)
        })
    })
}

/// The code name a query asks about, if it names one: its last word written as code (dotted,
/// snake_case or CamelCase: `User.get_full_name`, `select_related`, `RegexField`; or any word
/// written as a call: "the result of id()"). Plain words are not names: "version" is asked about in
/// prose as often as it is defined; nor are the words around a name its qualifiers
/// ("`log_min_duration` configuration parameter").
pub fn named_identifier(query: &str) -> Option<CodeName> {
    if let Some(name) = indexed_name(query).or_else(|| kind_named(query)) {
        return Some(name);
    }
    query.split_whitespace().rev().find_map(|in_query| {
        let written = in_query.trim_matches(|c: char| !(c.is_alphanumeric() || c == '_'));
        let called = in_query
            .trim_end_matches(|c: char| c.is_ascii_punctuation() && c != ')')
            .ends_with("()");
        // A path's `::` (Rust's `Vec::push`, C++'s `std::sort`) separates its parts as `.` does.
        let word = written.replace("::", ".");
        let inner = |c: char| word.chars().skip(1).any(|w| w == c);
        let camel = word
            .chars()
            .zip(word.chars().skip(1))
            .any(|(a, b)| a.is_lowercase() && b.is_uppercase());
        if !(inner('_') || inner('.') || camel || called) {
            return None;
        }
        let mut parts: Vec<String> =
            word.split('.').filter(|p| !p.is_empty()).map(str::to_lowercase).collect();
        let last = parts.pop()?;
        // Not "e.g." or a version number.
        (last.len() > 1 && last.chars().any(char::is_alphabetic)).then(|| CodeName {
            last,
            qualifiers: parts,
            written: written.to_string(),
        })
    })
}

/// Kinds of named things that a question puts after the name ("What does the default filter
/// do?", "the url tag", "the TIME_ZONE setting"); not "class", "module", "type" or "operator",
/// which questions put after plain words as often ("the base class", "the current module").
const NAME_KINDS: [&str; 12] = [
    "filter",
    "tag",
    "setting",
    "fixture",
    "decorator",
    "signal",
    "directive",
    "hook",
    "macro",
    "pragma",
    "middleware",
    "lookup",
];

/// The name a question writes as a plain word before its kind, after "the" ([`NAME_KINDS`]):
/// Jinja's `default` filter, Django's `safe` filter.
fn kind_named(query: &str) -> Option<CodeName> {
    let words: Vec<&str> = query
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !(c.is_alphanumeric() || c == '_')))
        .collect();
    words.windows(3).find_map(|run| {
        let (article, word, kind) = (run[0], run[1], run[2].to_lowercase());
        let kind = kind.strip_suffix('s').filter(|k| NAME_KINDS.contains(k)).unwrap_or(&kind);
        let lower = word.to_lowercase();
        // Words that say which of the kind, not its name.
        let describes = matches!(
            lower.as_str(),
            "custom"
                | "new"
                | "own"
                | "same"
                | "following"
                | "above"
                | "other"
                | "given"
                | "template"
                | "built"
                | "builtin"
                | "first"
                | "last"
                | "next"
        ) || NAME_KINDS.contains(&lower.as_str())
            || is_stopword(&lower);
        (article.eq_ignore_ascii_case("the")
            && NAME_KINDS.contains(&kind)
            && word.len() > 1
            && word.chars().all(|c| c.is_alphanumeric() || c == '_')
            && !describes)
            .then(|| CodeName { last: lower, qualifiers: Vec::new(), written: word.to_string() })
    })
}

/// The name an index entry of one word and its kind in brackets asks about, as Sphinx's general
/// index lists what it documents ("pagename (built-in variable)", "todolist (directive)",
/// "`:align:` (directive option)", "py:method (directive)"): a name, however plain its word, with
/// its reStructuredText markers taken off and a domain before a colon as its owner.
fn indexed_name(query: &str) -> Option<CodeName> {
    let (word, kind) = query.trim().split_once(' ')?;
    let kind = kind.strip_prefix('(')?.strip_suffix(')')?;
    let kind_words = kind.split_whitespace().count();
    if !(1..=3).contains(&kind_words) || kind.contains(['(', ')']) {
        return None;
    }
    let word = word.trim_matches('`').trim_start_matches("..").trim_end_matches("::");
    let word = word.trim_end_matches("()");
    let word = word.trim_matches(':');
    let mut parts: Vec<String> =
        word.split([':', '.']).filter(|p| !p.is_empty()).map(str::to_lowercase).collect();
    let last = parts.pop()?;
    let valid = |p: &String| p.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    (last.chars().any(char::is_alphabetic) && valid(&last) && parts.iter().all(valid))
        .then(|| CodeName { last, qualifiers: parts, written: word.to_string() })
}

/// The document a query cites by number: an acronym (two to eight capitals, digits after the
/// first: `PEP`, `RFC`, `ISO`, `SQLSTATE`) and then a number of digits alone, ending the query
/// ("Python Enhancement Proposals PEP 292", "Which module implements RFC 2047?"). Before another
/// word a citation only says which kind of thing is asked about ("custom HTTP 500 error view" asks
/// for an error view, "an RFC 2822 date" for a date). Not a capitalised word ("Python 3"), nor a
/// number with more after it (`5424#section-6`), nor words run together ("UTF-8").
pub fn named_reference(query: &str) -> Option<Reference> {
    let words: Vec<&str> = query.split_whitespace().collect();
    let [.., series, number] = words.as_slice() else { return None };
    let series = series.trim_start_matches(['(', '"', '\'', '‘', '“', '`']);
    let number =
        number.trim_end_matches(['?', '.', ',', ';', ':', '!', ')', '"', '\'', '’', '”', '`']);
    let acronym = (2..=8).contains(&series.len())
        && series.starts_with(|c: char| c.is_ascii_uppercase())
        && series.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    let digits = (1..=6).contains(&number.len()) && number.chars().all(|c| c.is_ascii_digit());
    (acronym && digits)
        .then(|| Reference { series: series.to_lowercase(), number: number.to_string() })
}

/// The lines a glossary's entry for `subject` (lower-case) would open with
/// ([`PageQuery::subject_lines`]).
fn subject_lines(query: &str, subject: &str) -> Vec<String> {
    let written = written_as(query, subject).unwrap_or_else(|| subject.to_string());
    let other = if written != subject {
        subject.to_string()
    } else {
        let mut letters = subject.chars();
        letters.next().map(|c| c.to_uppercase().chain(letters).collect()).unwrap_or_default()
    };
    if other == written {
        vec![written]
    } else {
        vec![written, other]
    }
}

/// `lower` (lower-case) as `query` writes it, when it is there letter for letter ("What is WAL?"
/// has `WAL`); `None` when the query changed it (a plural made singular).
fn written_as(query: &str, lower: &str) -> Option<String> {
    let at = query.to_lowercase().find(lower)?;
    query
        .get(at..at + lower.len())
        .filter(|written| written.to_lowercase() == lower)
        .map(String::from)
}

/// What a question asks the meaning of ("What is a slug?", "What are generic views?", "What's a
/// generator?", "What does CSRF mean?", "Define slug"), lower-cased, as a glossary would list it
/// ("generic view"); `None` for other questions and for a subject of more than three plain words.
pub fn defined_subject(query: &str) -> Option<String> {
    let question = plain_question(query);
    let subject = match question.strip_prefix("what does ") {
        Some(rest) => rest.strip_suffix(" mean")?,
        None => ["what is ", "what are ", "what's ", "define "]
            .iter()
            .find_map(|frame| question.strip_prefix(frame))?,
    };
    glossary_term(subject, question.starts_with("what are "))
}

/// The two things a question compares ("What is the difference between arguments and
/// parameters?", "json vs jsonb"), as a glossary would list them ("argument", "parameter").
pub fn compared_subjects(query: &str) -> Option<(String, String)> {
    let question = plain_question(query);
    let (first, second) = match question.split_once("difference between ") {
        Some((_, pair)) => pair.split_once(" and ")?,
        None => question.split_once(" vs ").or_else(|| question.split_once(" versus "))?,
    };
    let plural = first.ends_with('s') && second.ends_with('s');
    Some((glossary_term(first, plural)?, glossary_term(second, plural)?))
}

/// A question lower-cased, without its closing mark, with a typeset apostrophe as typed.
fn plain_question(query: &str) -> String {
    query.trim().trim_end_matches(['?', '.', '!']).to_lowercase().replace('\u{2019}', "'")
}

/// `subject` as a glossary would list it: one to three plain words after an article, lower-cased,
/// the last in the singular when the question has them in the plural ("generic views").
fn glossary_term(subject: &str, plural: bool) -> Option<String> {
    let subject =
        ["a ", "an ", "the "].iter().find_map(|a| subject.strip_prefix(a)).unwrap_or(subject);
    let mut words: Vec<&str> = subject.split_whitespace().collect();
    let plain = words.iter().all(|w| w.chars().all(|c| c.is_alphabetic() || c == '-'));
    if let Some(last) = words.last_mut().filter(|_| plural) {
        if last.len() > 3 && !last.ends_with("ss") {
            *last = last.strip_suffix('s').unwrap_or(last);
        }
    }
    ((1..=3).contains(&words.len()) && plain).then(|| words.join(" "))
}

/// Words that open a noun phrase: what follows names a thing.
const DETERMINERS: [&str; 15] = [
    "a", "an", "another", "the", "my", "our", "your", "their", "its", "this", "these", "those",
    "each", "every", "some",
];

/// Words that end a noun phrase ("a fixture between test files", "a timeout so that …").
const PHRASE_ENDS: [&str; 24] = [
    "after", "against", "among", "across", "around", "before", "between", "during", "except",
    "inside", "instead", "like", "not", "outside", "over", "per", "than", "through", "under",
    "until", "upon", "via", "while", "without",
];

/// Nouns that name what kind of question it is, not what it is about: "an error about
/// importing X" asks about X, "a way to do Y" about Y.
const KINDS_OF_QUESTION: [&str; 11] = [
    "error", "warning", "problem", "issue", "question", "way", "thing", "lot", "bit", "kind",
    "sort",
];

/// The things a question names with an article or a possessive, lower-cased: the last word of
/// each such phrase, its head ("How do I share a fixture between test files?" names a fixture,
/// "What happens when I don't set a timeout?" a timeout). What the question is about, where its
/// other words ("share", "test files") may be held by a passage about something else.
pub fn determined_nouns(query: &str) -> Vec<String> {
    let words: Vec<&str> = query.split_whitespace().collect();
    let bare =
        |word: &str| word.trim_matches(|c: char| !(c.is_alphanumeric() || c == '_')).to_lowercase();
    // Punctuation after a word closes its phrase ("a timeout?", "a session, and").
    let closes =
        |written: &str| written.ends_with(|c: char| !(c.is_alphanumeric() || c == '_' || c == '`'));
    let mut heads: Vec<String> = Vec::new();
    let mut at = 0;
    while at < words.len() {
        let opens = DETERMINERS.contains(&bare(words[at]).as_str())
            && !words[at].ends_with(|c: char| !c.is_alphanumeric());
        at += 1;
        if !opens {
            continue;
        }
        let mut head = None;
        // A phrase that holds a name written as code or an option names that ("the --inspect
        // flag", "the `user.name` setting").
        let mut code = None;
        while let Some(written) = words.get(at) {
            let word = bare(written);
            // A participle after a noun, with what completes it, says more of the noun ("a test
            // expected to fail", "the objects returned by a query"); before a noun it says what
            // kind ("the generated SQL"), and last it may be the noun ("the default encoding").
            let completed = words.get(at + 1).is_some_and(|next| {
                let next = bare(next);
                is_stopword(&next) || PHRASE_ENDS.contains(&next.as_str())
            });
            let participle = head.is_some()
                && (word.ends_with("ed") || word.ends_with("ing"))
                && completed
                && !closes(written);
            if word.is_empty()
                || is_stopword(&word)
                || PHRASE_ENDS.contains(&word.as_str())
                || participle
            {
                break;
            }
            if written.starts_with(['-', '`']) || written.contains(['_', '.', '(']) {
                code = code.or(Some(word.clone()));
            }
            head = Some(word);
            at += 1;
            if closes(written) {
                break;
            }
        }
        let head = code.or(head).filter(|h| {
            let singular = h.strip_suffix('s').unwrap_or(h);
            !heads.contains(h) && !KINDS_OF_QUESTION.contains(&singular)
        });
        if let Some(head) = head {
            heads.push(head);
        }
    }
    heads
}

/// The command-line option a query asks about, as written: a word of one dash and a letter or of
/// two dashes and a name (`-x`, `--eval`, `--no-window-system`), in or out of quotes; or of one
/// dash and a name that the query calls an option (SQLite's "the -nullvalue option").
pub fn named_option(query: &str) -> Option<String> {
    let words: Vec<&str> = query.split_whitespace().collect();
    words.iter().enumerate().find_map(|(at, written)| {
        let called_an_option = words.get(at + 1).is_some_and(|next| {
            let next = next.trim_end_matches(['?', '.', ',', ';', ':', '!']).to_lowercase();
            matches!(next.as_str(), "option" | "flag" | "switch")
        });
        let word = written
            .trim_matches(|c: char| {
                matches!(c, '`' | '"' | '\'' | '‘' | '’' | '“' | '”' | '(' | ')')
            })
            .trim_end_matches(['?', '.', ',', ';', ':', '!']);
        let name = word.strip_prefix("--").or_else(|| word.strip_prefix('-'))?;
        let long = word.starts_with("--");
        let well_formed = name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !name.ends_with('-');
        // One dash with several letters is a word joined to nothing ("-based"), unless it is
        // written as code.
        let short = !long && (name.len() == 1 || written.starts_with('`') || called_an_option);
        (well_formed && (long || short)).then(|| word.to_string())
    })
}

/// Words that say a query is about releases ("What Python version should I use?"); not "new",
/// "changes" or "upgrade", which ask for other things ("How do I add a new user?", "If I make
/// changes to a model, …", "upgrade from 14 to 15": the upgrade procedure).
const RELEASE_QUERY_WORDS: &[&str] =
    &["release", "releases", "changelog", "deprecated", "deprecation", "version", "versions"];

/// Whether a query (its content words `terms`, from
/// [`query_terms`](crate::retrieval::search::query_terms)) asks about a release: it names a
/// version (`3.2`) or says a word of release notes ("deprecated", "version").
pub fn asks_about_releases(query: &str, terms: &[String]) -> bool {
    query.split_whitespace().any(is_version)
        || terms.iter().any(|t| {
            RELEASE_QUERY_WORDS.contains(&t.as_str())
                && !(t == "version" && versioning(query))
                && !only_in_options(query, t)
        })
}

/// Whether every word of `query` that holds `term` is a command-line option: "How do I add a
/// --version option?" asks how to write one, not about a release.
fn only_in_options(query: &str, term: &str) -> bool {
    query
        .split_whitespace()
        .filter(|word| word.to_lowercase().contains(term))
        .all(|word| word.trim_start_matches(['`', '"', '\'', '(']).starts_with('-'))
}

/// Whether a query uses "version" as a verb, after "I", "we", "you" or "to" ("How do I version
/// my API?"): it asks how to version something, not about a release.
fn versioning(query: &str) -> bool {
    lower_words(query)
        .windows(2)
        .any(|pair| matches!(pair[0].as_str(), "i" | "we" | "you" | "to") && pair[1] == "version")
}

/// A version number: digits with at least one dot between digits (`3.2`, `v1.4.22`, `15.20`).
pub(crate) fn is_version(word: &str) -> bool {
    let word = word.trim_matches(|c: char| !c.is_alphanumeric()).trim_start_matches(['v', 'V']);
    let mut parts = word.split('.');
    let all_digits = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit());
    word.contains('.') && parts.all(all_digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_as_a_verb_asks_about_no_release() {
        let asks = |q: &str| asks_about_releases(q, &crate::retrieval::search::query_terms(q));
        assert!(!asks("How do I version my API?"));
        assert!(!asks("What is the best way to version an API?"));
        assert!(asks("Which version added the walrus operator?"));
        assert!(asks("What changed in version 2.0?"));
        // An option that prints the version is not a release.
        assert!(!asks("How do I add a --version option?"));
        assert!(asks("Which version added the `--version` option?"));
    }

    #[test]
    fn a_pasted_error_message_is_quoted_by_a_run_of_its_words() {
        let message = pasted_message(
            "RuntimeWarning: DateTimeField received a naive datetime while time zone support is \
             active",
        )
        .unwrap();
        assert_eq!(message[..3], ["datetimefield", "received", "a"]);
        // Quoted with its variable parts filled in.
        let faq = "I see lots of RuntimeWarning: DateTimeField Entry.pub_date received a naive \
                   datetime (2012-01-01 00:00:00) while time zone support is active.";
        assert!(quotes_message(&message, faq));
        assert!(!quotes_message(&message, "A naive datetime has no time zone."));
        let aborted = pasted_message(
            "ERROR: current transaction is aborted, commands ignored until end of transaction block",
        )
        .unwrap();
        assert!(!quotes_message(&aborted, "It will fail if the current transaction is aborted."));
        let dotted = "django.core.exceptions.ImproperlyConfigured: Requested setting \
                      INSTALLED_APPS, but settings are not configured";
        assert!(pasted_message(dotted).is_some());
        assert!(pasted_message("fatal: not a git repository (or any parent)").is_some());
        assert_eq!(
            pasted_message("Why do I get “CSRF verification failed. Request aborted.” here?")
                .unwrap(),
            ["csrf", "verification", "failed", "request", "aborted"]
        );
        assert_eq!(pasted_message("What does `git add` do?"), None);
        // Not a message: prose before the colon, or too few words after it.
        assert_eq!(pasted_message("Note: how do I set a cookie on a response?"), None);
        assert_eq!(pasted_message("My setup: Django and PostgreSQL on a server"), None);
        assert_eq!(pasted_message("KeyError: 'name'"), None);
        assert_eq!(pasted_message("PostgreSQL: how do I create an index?"), None);
    }

    #[test]
    fn a_name_is_a_word_written_as_code_and_plain_words_are_not() {
        let last = |q: &str| named_identifier(q).map(|n| n.last);
        assert_eq!(last("User.get_full_name").as_deref(), Some("get_full_name"));
        assert_eq!(last("forms.RegexField").as_deref(), Some("regexfield"));
        assert_eq!(last("how do I use select_related()?").as_deref(), Some("select_related"));
        assert_eq!(last("HttpResponse").as_deref(), Some("httpresponse"));
        assert_eq!(last("max_connections setting").as_deref(), Some("max_connections"));
        assert_eq!(last("Why is the result of id() not unique?").as_deref(), Some("id"));
        assert_eq!(last("Is there a scanf() or sscanf() equivalent?").as_deref(), Some("sscanf"));
        assert_eq!(last("But why does flush() insist?").as_deref(), Some("flush"));
        // What only looks like code further on does not hide the name.
        assert_eq!(last("select_related() e.g. here").as_deref(), Some("select_related"));
        for plain in
            ["version", "ALTER USER", "PGDATABASE", "what is a model?", "e.g. this", "3.2.25", ""]
        {
            assert_eq!(last(plain), None, "{plain:?}");
        }
        // Whose name it is comes from the name itself, not from the words around it.
        let name = named_identifier("contrib.auth.User.get_full_name").unwrap();
        assert_eq!(name.qualifiers, ["contrib", "auth", "user"]);
        let name = named_identifier("log_min_duration_statement configuration parameter").unwrap();
        assert_eq!((name.last.as_str(), name.qualifiers.len()), ("log_min_duration_statement", 0));
    }

    #[test]
    fn a_plain_word_before_the_kind_of_thing_it_names_is_a_name() {
        let last = |q: &str| named_identifier(q).map(|n| n.last);
        assert_eq!(last("What does the default filter do?").as_deref(), Some("default"));
        assert_eq!(last("How do I use the url tag?").as_deref(), Some("url"));
        assert_eq!(last("What is the safe filter for").as_deref(), Some("safe"));
        // A word that describes the kind is not its name, nor is a kind of thing left unnamed.
        for plain in [
            "How do I write a custom filter?",
            "How do I write the custom template tag?",
            "How can I organize my code to make it easier to change the base class?",
            "Why don't generators support the with statement?",
            "What does the filter do?",
        ] {
            assert_eq!(last(plain), None, "{plain:?}");
        }
    }

    #[test]
    fn an_index_entry_of_a_word_and_its_kind_names_the_word() {
        let name = |q: &str| named_identifier(q).map(|n| (n.last, n.qualifiers));
        let plain = |last: &str| Some((last.to_string(), Vec::<String>::new()));
        assert_eq!(name("pagename (built-in variable)"), plain("pagename"));
        assert_eq!(name("todolist (directive)"), plain("todolist"));
        assert_eq!(name(":align: (directive option)"), plain("align"));
        assert_eq!(name("__deepcopy__() (copy protocol)"), plain("__deepcopy__"));
        assert_eq!(name("py:method (directive)"), Some(("method".into(), vec!["py".into()])));
        // Not an entry and its kind: a symbol, brackets inside the words, a long aside.
        for other in [
            "| (vertical bar) operator",
            "- (minus) in doctests",
            "(widgets)",
            "ticket (in the tracker, opened by anyone at all)",
            "pagename",
        ] {
            assert_eq!(name(other), None, "{other:?}");
        }
    }

    #[test]
    fn an_option_is_a_word_of_one_dash_and_a_letter_or_two_dashes_and_a_name() {
        assert_eq!(named_option("What does the --eval option do?").as_deref(), Some("--eval"));
        assert_eq!(named_option("-I command line option").as_deref(), Some("-I"));
        assert_eq!(
            named_option("is `--no-window-system` needed").as_deref(),
            Some("--no-window-system")
        );
        assert_eq!(named_option("python `-Xdev`").as_deref(), Some("-Xdev"));
        let called = named_option("What does the -nullvalue option do?");
        assert_eq!(called.as_deref(), Some("-nullvalue"));
        for plain in
            ["- (minus) in doctests", "x -1 y", "a -based approach", "-- comment", "--", "e-mail"]
        {
            assert_eq!(named_option(plain), None, "{plain:?}");
        }
    }

    #[test]
    fn a_reference_is_an_acronym_and_a_number() {
        let cited = |q: &str| named_reference(q).map(|r| format!("{} {}", r.series, r.number));
        assert_eq!(cited("Python Enhancement Proposals PEP 292").as_deref(), Some("pep 292"));
        assert_eq!(cited("Which module implements RFC 2047?").as_deref(), Some("rfc 2047"));
        assert_eq!(cited("error (SQLSTATE 23505)").as_deref(), Some("sqlstate 23505"));
        for plain in [
            "Python 3",
            "UTF-8 text",
            "RFC RFC 5424#section-6",
            "pep 8",
            "A 1",
            "PEP",
            // A citation before a noun says what kind of thing the noun is.
            "custom HTTP 500 error view",
            "How do I parse an RFC 2822 date?",
        ] {
            assert_eq!(cited(plain), None, "{plain:?}");
        }
        let pep = named_reference("PEP 292").unwrap();
        for text in ["See PEP 292.", "(pep-292)", "PEP292 proposed", "PEP\u{a0}292"] {
            assert!(pep.is_cited_in(text), "{text:?}");
        }
        for text in ["PEP 2920", "SPEP 292", "PEP 29", "PEP 8 and 292", "PEP 292a"] {
            assert!(!pep.is_cited_in(text), "{text:?}");
        }
    }

    #[test]
    fn a_name_with_other_words_is_also_searched_alone() {
        let terms = PageQuery::new("maintenance_work_mem configuration parameter").name_terms();
        assert_eq!(terms, Some(vec!["maintenance_work_mem".to_string()]));
        let dotted = PageQuery::new("User.get_full_name method").name_terms();
        assert_eq!(dotted, Some(vec!["user".to_string(), "get_full_name".to_string()]));
        // The name is the whole query, or there is none: nothing more to search.
        assert_eq!(PageQuery::new("User.get_full_name").name_terms(), None);
        assert_eq!(PageQuery::new("configuration parameter").name_terms(), None);
    }

    #[test]
    fn a_name_with_an_owner_and_other_words_is_also_searched_as_written() {
        let written = |q: &str| PageQuery::new(q).written_name().map(str::to_string);
        assert_eq!(written("What should I put in `user.name`?").as_deref(), Some("user.name"));
        assert_eq!(written("How do I call Vec::push?").as_deref(), Some("Vec::push"));
        // No owner, or nothing but the name: its words' ranking is the search.
        assert_eq!(written("maintenance_work_mem configuration parameter"), None);
        assert_eq!(written("user.name"), None);
    }

    #[test]
    fn determined_nouns_are_the_heads_of_phrases_an_article_opens() {
        let heads = |q: &str| determined_nouns(q);
        assert_eq!(heads("How do I share a fixture between test files?"), ["fixture"]);
        assert_eq!(heads("What happens when I don't set a timeout?"), ["timeout"]);
        assert_eq!(heads("How do I use a session to keep cookies?"), ["session"]);
        assert_eq!(heads("How do I get the result of a task?"), ["result", "task"]);
        assert_eq!(heads("How do I set a custom user agent?"), ["agent"]);
        assert_eq!(heads("How do I mark a test expected to fail?"), ["test"]);
        assert_eq!(heads("How do I change the default encoding?"), ["encoding"]);
        assert_eq!(
            heads("What is the download speed, and the default string?"),
            ["speed", "string"]
        );
        assert_eq!(heads("Can I use the generated SQL, and the ORM?"), ["sql", "orm"]);
        assert_eq!(heads("What does the --inspect flag do?"), ["inspect"]);
        // No article, no named thing: every word of the question weighs as its rarity says.
        assert!(heads("How do I disable SSL certificate verification?").is_empty());
        assert!(heads("How many worker processes should I run?").is_empty());
        // An error or a way is what kind of question it is, not what it is about.
        assert!(heads("Why do I get an error about importing DJANGO_SETTINGS_MODULE?").is_empty());
        assert_eq!(heads("Is there a way to chain the tasks?"), ["tasks"]);
        // An article ending a clause opens nothing ("… is the"), nor does one before a stopword.
        assert!(heads("Which is the? Or a").is_empty());
    }
}
