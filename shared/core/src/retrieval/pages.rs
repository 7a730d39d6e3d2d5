//! From ranked chunks to ranked pages. A search result is a page: its best section, with the other
//! sections that matched folded under it. Before pages are formed, each chunk's score is weighed by
//! what kind of page it is on ([`page_prior`]): tables of contents, indexes and source listings
//! repeat the words of many queries without answering any; and by how well its headings name
//! what was asked ([`heading_match`]): `ALTER USER` is the page headed "ALTER USER", not "ALTER
//! USER MAPPING"; and by whether it defines the code name asked about ([`defines`]):
//! `User.get_full_name` is the reference entry, not the release notes that mention it; or cites
//! the document the query cites by number (`PEP 292`: [`query::Reference`]); or, asked
//! one word, has the table entry for it ([`defines_in_table`]): `bigint` is the numeric types;
//! or a definition list's ([`defines_in_list`]): "generic view" is the glossary; and by whether it
//! is on release notes ([`is_release_notes`]) when the query is not about a release: "How do I
//! delete a file?" is the reference, not the release that added a way to; and by how many of the
//! site's pages link to its page ([`centrality`]): of two pages about as good, the one the site's
//! authors point to most.
//!
//! Reading the query is in [`query`] ([`PageQuery`]); recognising what a chunk defines, in
//! [`definitions`].

use crate::domain::PageSignals;
use crate::retrieval::search::{SearchHit, SectionLink};

pub mod definitions;
pub mod query;

use definitions::{
    compares, defines, defines_in_list, defines_in_table, defines_option, opens_by_defining,
    titled_by_option,
};
use query::{is_version, quotes_message, CodeName, PageQuery};

/// Chunks every ranking is asked for, whatever the number of results: fixed, so that the first
/// `k` results do not depend on `k` (and more than the most results a search returns, `MAX_K` 50,
/// so pages with several matching sections still fill a list).
pub const CANDIDATES: u32 = 100;

/// Above this share of link text a page points elsewhere more than it says anything itself.
const LINK_TEXT_FREE_PERCENT: f64 = 50.0;
/// Above this share of code a page is turning into a listing: a command's reference page, mostly
/// its synopsis, has 77 % (`ALTER USER`), a module's source 86–100 %.
const CODE_TEXT_FREE_PERCENT: f64 = 75.0;

/// The weight of a page's chunks in a ranking, from 1 (prose) down towards 0: the share of link
/// text beyond half takes its part of the other half, squared, so that a page just over the line
/// loses little and a table of contents or an index, all links, loses nearly all it would
/// otherwise take from the pages it points to (at a quarter of its weight, an index still came
/// third to fifth for the names it lists, docs/BENCHMARKS.md); the share of code beyond three
/// quarters takes the weight down in a straight line, to a tenth for a page that is all code.
pub fn page_prior(signals: PageSignals) -> f64 {
    let links = 1.0
        - (f64::from(signals.link_list_percent) - LINK_TEXT_FREE_PERCENT).max(0.0)
            / (100.0 - LINK_TEXT_FREE_PERCENT);
    let code_excess = (f64::from(signals.code_text_percent) - CODE_TEXT_FREE_PERCENT).max(0.0);
    let code = 1.0 - 0.9 * code_excess / (100.0 - CODE_TEXT_FREE_PERCENT);
    // A hundredth stays, so that among pages of links alone the better match still comes first.
    links.powi(2).max(0.01) * code
}

/// How much a page linked from [`CENTRAL_INLINKS`] or more other pages gains (on the evaluation's
/// dev and wide splits 0.25 / 0.5 / 0.75 raised the FAQ questions of two manuals most at 0.5–0.75
/// and lowered PostgreSQL's questions from 0.25 on, most at 0.75, docs/BENCHMARKS.md).
const INLINK_WEIGHT: f64 = 0.5;

/// The number of links from other pages at which a page counts as wholly central to its site.
const CENTRAL_INLINKS: f64 = 1000.0;

/// How central a page is to its site, as a weight from 1 (no page links to it) up to
/// 1 + [`INLINK_WEIGHT`]: growing with the logarithm of the links from other pages, so that the
/// pages a site's authors point to most (a built-in functions reference, a glossary) win near
/// ties, and the first few links count most.
pub fn centrality(signals: PageSignals) -> f64 {
    let share = (1.0 + f64::from(signals.inlinks)).ln() / (1.0 + CENTRAL_INLINKS).ln();
    1.0 + INLINK_WEIGHT * share.min(1.0)
}

/// What a chunk's page weighs in ranking, whatever the query: what kind of page it is
/// ([`page_prior`]) and how central to its site ([`centrality`]).
fn page_weight(signals: PageSignals) -> f64 {
    page_prior(signals) * centrality(signals)
}

/// What a chunk's page weighs for a query ([`page_weight`]), but for a chunk that opens by saying
/// what the subject asked about is (`opens_by_defining`): a site's front page is mostly its table
/// of contents, and its first paragraph is what the project is ("Peewee is a simple and small
/// ORM."), however many links follow it.
fn page_weight_for(signals: PageSignals, opens_by_defining: bool) -> f64 {
    if opens_by_defining {
        centrality(signals)
    } else {
        page_weight(signals)
    }
}

/// What a page gains when its title opens with the owner of the name asked about (`u128 - Rust`
/// for `u128::checked_pow`, `StringUtils (… API)` for `StringUtils.abbreviate`): the page of the
/// type itself, not another that documents the same method for it (`Saturating<u128>`); or with
/// the name itself when it has no owner (`SDL_Keysym Struct Reference`, not the header file's page
/// that declares it), or with the one word asked (`Sub in std::ops - Rust` for "Sub").
const OWNER_TITLE_WEIGHT: f64 = 0.25;

/// Whether a page's title is about the name's owner (its last qualifier; `os.path` for
/// `os.path.join`), or about the name itself when it has none (`SDL_Keysym`): see [`title_names`].
fn title_names_owner(name: &CodeName, title: &str) -> bool {
    title_names(name.qualifiers.last().unwrap_or(&name.last), title)
}

/// Whether a page's title is about `subject`: the title opens with it, alone or before a separator,
/// `in` or a parenthesis (`os.path — Common pathname manipulations`, `Vec in std::vec - Rust`), or
/// before the kind of thing it is and "Reference" (Doxygen's `SDL_Keysym Struct Reference`, after
/// the project's name and a colon), not as the first word of a phrase (`ORM Examples`, `Column
/// Elements and Expressions`).
fn title_names(subject: &str, title: &str) -> bool {
    let mut words: Vec<&str> = title.split_whitespace().collect();
    if words.len() > 2 && words[0].ends_with(':') {
        words.remove(0);
    }
    let Some((first, rest)) = words.split_first() else { return false };
    let about = match rest {
        [] => true,
        [second, ..] if matches!(*second, "—" | "–" | "-" | ":" | "in") => true,
        [second, ..] if second.starts_with('(') => true,
        // "Struct Reference", "Class Template Reference".
        [kinds @ .., "Reference"] => {
            kinds.len() <= 2 && kinds.iter().all(|k| k.starts_with(char::is_uppercase))
        }
        _ => false,
    };
    if !about {
        return false;
    }
    let first =
        first.trim_matches(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.' || c == ':'));
    let last_part = first.replace("::", ".").rsplit('.').next().unwrap_or("").to_lowercase();
    last_part == *subject
}

/// How much a chunk whose heading is exactly the query gains over one whose heading shares no word
/// with it (chosen on the evaluation's dev half, docs/BENCHMARKS.md).
const HEADING_MATCH_WEIGHT: f64 = 0.25;

/// How much a chunk that defines the code name the query asks about gains (an API reference's
/// entry for `User.get_full_name` over release notes that mention it; chosen on the evaluation's
/// dev half once tables and titled sections counted as definitions: 0.5, 1 and 2 gave
/// postgres-index MRR 0.826, 0.851 and 0.851, docs/BENCHMARKS.md).
const DEFINITION_WEIGHT: f64 = 1.0;

/// How much a definition list's entry for the words asked about gains (a glossary's "generic
/// view"): less than a reference's definition, since a glossary's line is short where the page the
/// words name says more (on the evaluation's dev and wide splits 0.25 / 0.5 / 1 raised 7 / 8 / 8
/// Django concepts and lowered 0 / 2 / 6 PostgreSQL index terms, docs/BENCHMARKS.md).
const LIST_DEFINITION_WEIGHT: f64 = 0.5;

/// The weight of release notes' chunks when the query is not about a release: they mention every
/// feature in passing, in the words of its reference page, and answer no question about using it
/// (on the evaluation's dev and wide splits 0.75 and 0.5 raised the FAQ questions and index terms
/// of three manuals and lowered none; 0.5 a little more, docs/BENCHMARKS.md).
const RELEASE_NOTES_WEIGHT: f64 = 0.5;

/// What a page's further matching chunks add to its best one's score: a tenth of the second's, a
/// hundredth of the third's, and so on, so that of two pages whose best sections score alike the
/// one that says more about the question comes first, while no number of weak matches outweighs a
/// section a ninth better (on the evaluation's dev and wide splits 0.05 / 0.1 / 0.15 / 0.2 / 0.25
/// raised the FAQ questions most at 0.2–0.25 and lowered PostgreSQL's from 0.15, docs/BENCHMARKS.md).
const FURTHER_MATCH_WEIGHT: f64 = 0.1;

// Choosing the entry a query asks about among the chunks found weighs them as ranking weighs
// pages ([`page_weight`]), so it is here; the rest of `PageQuery` is in `query`.
impl PageQuery {
    /// The best entry among `found` ([`PageQuery::entry_search`]'s) for the option, the cited
    /// document or the glossary term asked about, or else a table's row for the word asked alone,
    /// by its score for the query's terms weighed by its page as [`rank_pages`] weighs it
    /// ([`page_weight`], and [`PageQuery::release_weight`]: "PEP 292" is cited by the reference
    /// and by the release notes whose heading names it), scored at least `best`, the best score
    /// of the query's own ranking: the entry that defines what a query asks about is as strong a
    /// match as any, whatever its words' rank. Only one: of several programs' `-c`, the query's
    /// other words say which is asked about ("tarfile -c"), and the others' entries are not
    /// lifted above it. Ranking pages then weighs it as a definition. Of two things compared,
    /// when only one's entry is found it keeps its own score: one definition cannot say how they
    /// differ ("truncate vs delete", where PostgreSQL's glossary lists only "Delete"). `None` when
    /// no chunk is such an entry.
    pub fn entry_hit(&self, found: Vec<SearchHit>, best: f64) -> Option<SearchHit> {
        let is_entry = |text: &str| match (&self.option, &self.reference) {
            (Some(option), _) => defines_option(option, text),
            (None, Some(reference)) => reference.is_cited_in(text),
            (None, None) => self.lists_a_subject(text),
        };
        // A table's row for the word asked alone is its entry when no glossary lists it: asked
        // what a tuple is, the glossary's line, not a table of the types that hold one.
        let in_table = |text: &str| {
            self.option.is_none()
                && self.word.as_ref().is_some_and(|word| defines_in_table(word, text))
        };
        let entry_found = found.iter().any(|hit| is_entry(&hit.text));
        // Else a section that opens by saying what the one subject asked about is.
        let opening = |text: &str| {
            self.option.is_none() && self.reference.is_none() && self.opens_by_defining(text)
        };
        let opening_found = !entry_found && found.iter().any(|hit| opening(&hit.text));
        let unlisted =
            |subject: &String| !found.iter().any(|hit| defines_in_list(subject, &hit.text));
        let one_of_two =
            self.option.is_none() && self.subjects.len() > 1 && self.subjects.iter().any(unlisted);
        let weighed = |hit: &SearchHit| {
            let page = page_weight_for(hit.page, self.opens_by_defining(&hit.text));
            hit.score * page * self.release_weight(hit)
        };
        let first = found
            .into_iter()
            .filter(|hit| match (entry_found, opening_found) {
                (true, _) => is_entry(&hit.text),
                (false, true) => opening(&hit.text),
                (false, false) => in_table(&hit.text),
            })
            .max_by(|a, b| weighed(a).total_cmp(&weighed(b)))?;
        let score = if one_of_two { first.score } else { first.score.max(best) };
        Some(SearchHit { score, ..first })
    }

    /// Raises the first chunk of `named` (the search for the code name asked about alone, best
    /// first) that defines the name to at least `best`, the best score of the query's own ranking,
    /// and puts it first: the entry for `user.name` is as strong a match for "What should I put in
    /// `user.name`?" as any passage with the question's other words ("put"), which an entry need
    /// not say. Only one, as [`PageQuery::entry_hit`] lifts one.
    pub fn lift_name_definition(&self, named: &mut Vec<SearchHit>, best: f64) {
        let Some(name) = &self.name else { return };
        if let Some(at) = named.iter().position(|hit| defines(name, &hit.heading, &hit.text)) {
            let mut entry = named.remove(at);
            entry.score = entry.score.max(best);
            named.insert(0, entry);
        }
    }

    /// What a chunk weighs for this query: [`RELEASE_NOTES_WEIGHT`] on release notes
    /// ([`in_release_notes`]) unless the query asks about a release.
    fn release_weight(&self, hit: &SearchHit) -> f64 {
        if !self.asks_about_releases && in_release_notes(&hit.title, &hit.heading) {
            RELEASE_NOTES_WEIGHT
        } else {
            1.0
        }
    }

    /// Whether `text` is a definition list's entry for one of the `subjects` asked about.
    fn lists_a_subject(&self, text: &str) -> bool {
        self.subjects.iter().any(|subject| defines_in_list(subject, text))
    }

    /// Whether `text` opens by saying what the one subject the query asks the meaning of is
    /// ([`opens_by_defining`]); never for two compared subjects, which one's definition cannot
    /// tell apart.
    fn opens_by_defining(&self, text: &str) -> bool {
        matches!(self.subjects.as_slice(), [subject] if opens_by_defining(subject, text))
    }

    /// Whether `text` is a definition list's entry for the query's `term` or one of its
    /// `subjects`, each read once (the term is often the subject: "What is a slug?").
    fn lists_term_or_subject(&self, text: &str) -> bool {
        let subjects = self.subjects.iter().filter(|subject| self.term.as_ref() != Some(*subject));
        self.term.iter().chain(subjects).any(|term| defines_in_list(term, text))
    }
}

/// How well a heading names the query, from 0 to 1: the share of the heading's words that are
/// query terms (each word as often as it is written) times the share of query terms in the
/// heading, so 1 only when they are the same words. `heading` is the chunk's heading path
/// (`Page › Section`).
pub fn heading_match(terms: &[String], heading: &str) -> f64 {
    // A section's number ("23.6.") is no word of its name, nor is the label numbering it
    // ("Chapter 7.", "Appendix F.", "Part II.").
    let mut words = Vec::new();
    for part in heading.split('›') {
        let tokens = part.split(|c: char| !(c.is_alphanumeric() || c == '_'));
        let tokens =
            tokens.filter(|w| !w.is_empty()).skip(if numbering_label(part) { 2 } else { 0 });
        words.extend(
            tokens.filter(|w| !w.chars().all(|c| c.is_ascii_digit())).map(str::to_lowercase),
        );
    }
    if words.is_empty() || terms.is_empty() {
        return 0.0;
    }
    let same =
        |word: &str, term: &str| word == term || plural_of(word, term) || plural_of(term, word);
    let shared = terms.iter().filter(|t| words.iter().any(|w| same(w, t))).count() as f64;
    (shared / words.len() as f64) * (shared / terms.len() as f64)
}

/// Whether `plural` is `singular` with `s` or `es` after it ("tablespaces", "indexes"), or with
/// its `y` written `ies` ("queries").
fn plural_of(plural: &str, singular: &str) -> bool {
    singular.chars().count() >= 3
        && (["s", "es"].iter().any(|ending| plural.strip_suffix(ending) == Some(singular))
            || plural
                .strip_suffix("ies")
                .zip(singular.strip_suffix('y'))
                .is_some_and(|(a, b)| a == b))
}

/// Whether a heading opens with a label and its number or letter ("Chapter 7. Queries",
/// "Appendix F. Additional Supplied Modules", "Part II. The SQL Language").
fn numbering_label(heading: &str) -> bool {
    let mut words = heading.split_whitespace();
    let label = words.next().unwrap_or("");
    let number = words.next().unwrap_or("").trim_end_matches(['.', ':']);
    let numbered = !number.is_empty()
        && (number.chars().all(|c| c.is_ascii_digit() || c == '.')
            || number.chars().all(|c| "IVXLC".contains(c))
            || (number.len() == 1 && number.chars().all(|c| c.is_ascii_uppercase())));
    numbered && ["Chapter", "Part", "Appendix", "Section"].contains(&label)
}

/// Ranked chunks (best first) as ranked pages: each score weighed by [`page_prior`], by
/// [`heading_match`] with the query's terms, by whether the chunk [`defines`] the name the query
/// asks about (or has a table's or a definition list's entry for its words), by whether it is on
/// release notes that the query does not ask about, and by its page's [`centrality`]; then one
/// result per page (its best chunk), the page's other matching sections in `more`, best first,
/// and the page's score raised a little by its further matching chunks ([`FURTHER_MATCH_WEIGHT`]).
/// Scores at or below 0 (a similarity can be negative) are left as they are: weighing them down
/// would lift them.
pub fn rank_pages(hits: Vec<SearchHit>, query: &PageQuery) -> Vec<SearchHit> {
    let mut weighed: Vec<SearchHit> = hits
        .into_iter()
        .map(|mut hit| {
            if hit.score > 0.0 {
                // A page's opening text, before its first heading, is under its title.
                let named_by = if hit.heading.is_empty() { &hit.title } else { &hit.heading };
                let heading = 1.0 + HEADING_MATCH_WEIGHT * heading_match(&query.terms, named_by);
                let defined =
                    query.name.as_ref().is_some_and(|name| defines(name, &hit.heading, &hit.text))
                        || query.option.as_ref().is_some_and(|option| {
                            defines_option(option, &hit.text)
                                || titled_by_option(option, &hit.heading)
                        })
                        || query.reference.as_ref().is_some_and(|reference| {
                            reference.is_cited_in(&hit.heading) || reference.is_cited_in(&hit.text)
                        })
                        || compares(&query.subjects, named_by);
                let in_table =
                    query.word.as_ref().is_some_and(|word| defines_in_table(word, &hit.text));
                let opens_by_defining = query.opens_by_defining(&hit.text);
                let listed =
                    !defined && (query.lists_term_or_subject(&hit.text) || opens_by_defining);
                // Asked what it means, the glossary's entry is what defines it, and a table's row
                // (a view's column "Lock", a wait event's) describes it less.
                let asked_meaning = !query.subjects.is_empty();
                let definition = if defined || listed && asked_meaning || in_table && !asked_meaning
                {
                    1.0 + DEFINITION_WEIGHT
                } else if listed || in_table {
                    1.0 + LIST_DEFINITION_WEIGHT
                } else {
                    1.0
                };
                let release = query.release_weight(&hit);
                // The page of the name asked about, or of the word asked alone.
                let owner =
                    if query.name.as_ref().is_some_and(|name| title_names_owner(name, &hit.title))
                        || query.word.as_ref().is_some_and(|word| title_names(word, &hit.title))
                    {
                        1.0 + OWNER_TITLE_WEIGHT
                    } else {
                        1.0
                    };
                // A passage that quotes the error message asked about is its entry, above the
                // reference of a name the message holds (`DateTimeField` in "RuntimeWarning:
                // DateTimeField received a naive datetime …").
                let quoted = match &query.message {
                    Some(message) if quotes_message(message, &hit.text) => 1.0 + DEFINITION_WEIGHT,
                    _ => 1.0,
                };
                hit.score *= page_weight_for(hit.page, opens_by_defining)
                    * heading
                    * definition
                    * release
                    * owner
                    * quoted;
            }
            hit
        })
        .collect();
    // Stable: equal scores keep the ranking's order.
    weighed.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut pages: Vec<SearchHit> = Vec::new();
    // Per page, the weight of its next matching chunk and what its further chunks added.
    let mut further: Vec<(f64, f64)> = Vec::new();
    for hit in weighed {
        let page = page_of(&hit.url);
        match pages.iter().position(|p| page_of(&p.url) == page) {
            Some(i) => {
                let (weight, added) = &mut further[i];
                if hit.score > 0.0 {
                    *weight *= FURTHER_MATCH_WEIGHT;
                    *added += *weight * hit.score;
                }
                let best = &mut pages[i];
                let known = best.url == hit.url || best.more.iter().any(|m| m.url == hit.url);
                if !known {
                    best.more.push(SectionLink { url: hit.url, heading: hit.heading });
                }
            }
            None => {
                pages.push(hit);
                further.push((1.0, 0.0));
            }
        }
    }
    for (page, (_, added)) in pages.iter_mut().zip(further) {
        page.score += added;
    }
    pages.sort_by(|a, b| b.score.total_cmp(&a.score));
    pages
}

/// Whether a chunk titled `title` under `heading` is release notes: its page's title says so
/// ([`is_release_notes`]), or its section is under a top heading that does ("Release History" on
/// Requests' "Community Updates" page).
pub fn in_release_notes(title: &str, heading: &str) -> bool {
    let top = heading.split(" › ").next().unwrap_or_default();
    is_release_notes(title) || is_release_notes(top)
}

/// Words that, beside a version number, say a page's title is release notes.
const RELEASE_WORDS: &[&str] = &["release", "releases", "changelog", "changes", "new", "notes"];

/// Whether a page's title (its own part, before the site's name) names a release: a version
/// number beside a word of release notes ("Django 1.4 release notes", "What's New In Python
/// 3.10", "E.2. Release 15.19", "Change history for Celery 1.0"), or is a changelog.
pub fn is_release_notes(title: &str) -> bool {
    let end = [" — ", " | ", " – ", " - "].iter().filter_map(|s| title.find(s)).min();
    let own = title[..end.unwrap_or(title.len())].to_lowercase();
    // Other names of a changelog, opening its title ("Change history for Celery 1.0").
    let own = ["change history", "change log", "version history"]
        .iter()
        .find_map(|name| own.strip_prefix(name).map(|rest| format!("changelog{rest}")))
        .unwrap_or(own);
    let words: Vec<String> = own
        .split(|c: char| c.is_whitespace() || c == ':' || c == ',')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    // The words without the punctuation around them ("Notes)", "“News”").
    let bare: Vec<&str> =
        words.iter().map(|w| w.trim_matches(|c: char| !c.is_alphanumeric())).collect();
    let release_word = bare.iter().any(|w| RELEASE_WORDS.contains(w));
    // "Changelog", "Django changelog", or one for a project named after it ("Change history for
    // coverage.py", where the project's name is no version).
    let for_a_project = matches!(
        words.as_slice(),
        [first, of, _] if first == "changelog" && (of == "for" || of == "of")
    );
    let changelog = (words.len() <= 2 && words.iter().any(|w| w == "changelog")) || for_a_project;
    // A title of release words alone is the notes of every release on one page (Scrapy's "Release
    // notes", "News") or their index.
    let only_release_words = !bare.is_empty()
        && bare.iter().all(|w| {
            RELEASE_WORDS.contains(w) || matches!(*w, "news" | "history" | "what's" | "whats")
        });
    // A project's history under its name ("Release History Of SQLite", "Recent SQLite News"):
    // words of releases and of time, two or more, and one other word at most ("notes" is not one:
    // "Writing release notes" is a guide).
    let (historic, others): (Vec<&str>, Vec<&str>) = bare
        .iter()
        .copied()
        .filter(|w| !matches!(*w, "of" | "for" | "in" | "the" | "and" | ""))
        .partition(|w| {
            matches!(
                *w,
                "release"
                    | "releases"
                    | "changelog"
                    | "news"
                    | "history"
                    | "recent"
                    | "older"
                    | "old"
                    | "latest"
            )
        });
    let named_history = historic.len() >= 2
        && others.len() <= 1
        && historic.iter().any(|w| matches!(*w, "release" | "releases" | "news" | "changelog"));
    // A release's announcement: a name and its version, then a colon and what the release brings
    // ("pytest-2.4.0: new fixture features", "py.test 2.0.1: bug fixes"), or a package's name and
    // version alone ("pytest-7.1.2").
    let announced = {
        let written: Vec<&str> = own.split_whitespace().collect();
        let versioned = |name_and_version: &str| {
            name_and_version.rsplit_once('-').is_some_and(|(_, version)| is_version(version))
        };
        match written.as_slice() {
            [only] => versioned(only),
            [first, ..] if first.ends_with(':') && versioned(first) => true,
            // Not a numbered part of a book ("Chapter 3.2: Indexes").
            [first, second, ..] => {
                second.ends_with(':')
                    && is_version(second)
                    && !matches!(
                        *first,
                        "chapter" | "section" | "part" | "step" | "appendix" | "lesson" | "example"
                    )
            }
            _ => false,
        }
    };
    // An announcement of a version ("3.0 Announcement", "Announcing Django 3.0").
    let announcement = bare.iter().any(|w| matches!(*w, "announcement" | "announcing"))
        && words.iter().any(|w| is_version(w));
    // A major release is a bare number after the word ("E.21. Release 15").
    let numbered = words
        .windows(2)
        .any(|pair| pair[0] == "release" && pair[1].chars().all(|c| c.is_ascii_digit()));
    changelog
        || announced
        || announcement
        || only_release_words
        || named_history
        || numbered
        || (release_word && words.iter().skip(1).any(|w| is_version(w)))
}

/// A result URL without its section fragment.
fn page_of(url: &str) -> &str {
    url.split_once('#').map_or(url, |(page, _)| page)
}

#[cfg(test)]
mod tests {
    use super::query::{compared_subjects, defined_subject, named_identifier};
    use super::*;
    use crate::retrieval::search::query_terms;

    #[test]
    fn a_heading_that_is_the_query_matches_whole_and_a_longer_one_less() {
        let terms = query_terms("ALTER USER");
        assert_eq!(heading_match(&terms, "ALTER USER"), 1.0);
        let longer = heading_match(&terms, "ALTER USER MAPPING");
        assert!((longer - 2.0 / 3.0).abs() < 1e-9, "{longer}");
        assert_eq!(heading_match(&terms, "CREATE TABLE"), 0.0);
        assert_eq!(heading_match(&terms, ""), 0.0);
        // Each word of the heading counts, a repeated one too: a man page's last section, "GIT",
        // names the page's title again and is no better a match than its "NAME".
        let cherry = query_terms("cherry-pick");
        assert_eq!(
            heading_match(&cherry, "git-cherry-pick(1) Manual Page › GIT"),
            heading_match(&cherry, "git-cherry-pick(1) Manual Page › NAME")
        );
        let identifier = query_terms("get_internal_type");
        assert_eq!(heading_match(&identifier, "Field › get_internal_type()"), 0.5);
        // A section's number is not part of its name, and a word matches its plural.
        let tablespace = query_terms("What is a tablespace?");
        assert_eq!(heading_match(&tablespace, "23.6. Tablespaces"), 1.0);
        assert_eq!(heading_match(&query_terms("indexes"), "11. Index"), 1.0);
        assert_eq!(heading_match(&query_terms("tables"), "Tablespaces"), 0.0);
        // A chapter's label and number are not words of its name; "queries" is "query"'s plural.
        assert_eq!(heading_match(&query_terms("query"), "Chapter 7. Queries"), 1.0);
        assert_eq!(heading_match(&query_terms("modules"), "Appendix F. Modules"), 1.0);
        assert_eq!(heading_match(&query_terms("sql"), "Part II. SQL Language"), 0.5);
        assert_eq!(heading_match(&query_terms("chapter"), "Chapter Seven"), 0.5);
    }

    #[test]
    fn the_page_headed_as_asked_rises_above_a_near_namesake() {
        let mut exact = hit("https://d/sql-alteruser", 9.5, 0, 0);
        exact.heading = "ALTER USER".into();
        let mut namesake = hit("https://d/sql-alterusermapping", 10.0, 0, 0);
        namesake.heading = "ALTER USER MAPPING".into();
        let pages = rank_pages(vec![namesake, exact], &PageQuery::new("alter user"));
        assert_eq!(pages[0].url, "https://d/sql-alteruser");
    }

    #[test]
    fn an_option_is_defined_by_a_line_that_opens_with_it_and_says_nothing_more() {
        // Octave's, Python's, psql's and git's option lists, and a table's first cell.
        for (option, entry) in [
            ("--eval", "`--eval code`"),
            ("-c", "`-c` <command>"),
            ("-f", "-f, --force"),
            ("--eval", "--eval"),
            ("--eval", "| `--eval` | Run code. |"),
        ] {
            let text = format!("Options\n\n{entry}\n\nParse and run.");
            assert!(defines_option(option, &text), "{option} in {entry}");
        }
        // Mentioned in a sentence, or a longer option that begins the same.
        for (option, text) in [
            ("-I", "`-I` option can be used to run the script in isolated mode."),
            ("--eval", "Run it with --eval to evaluate code."),
            ("--eval", "`--evaluate-all`"),
            ("-c", "`-cc` <file>"),
        ] {
            assert!(!defines_option(option, text), "{option} in {text}");
        }
        let mut listed = hit("https://d/cmdline", 5.0, 0, 0);
        listed.text = "Command line options\n\n`--eval code`\n\nParse and run code.".into();
        let mut mentioned = hit("https://d/eval", 6.0, 0, 0);
        mentioned.text = "The `eval` function evaluates code; see also --eval.".into();
        let pages = rank_pages(vec![mentioned, listed], &PageQuery::new("--eval"));
        assert_eq!(pages[0].url, "https://d/cmdline");
        // Node.js heads each option's entry with it, its argument inside the code mark.
        let query = PageQuery::new("What does the --inspect flag do?");
        let mut titled = hit("https://d/cli#inspect", 5.0, 0, 0);
        titled.heading = "Command-line API › Options › `--inspect[=[host:]port]`".into();
        titled.text = "Activate inspector on `host:port`.".into();
        let mut mentioned = hit("https://d/process#flags", 6.0, 0, 0);
        mentioned.text = "Flags such as --inspect pass through to the process.".into();
        let pages = rank_pages(vec![mentioned, titled], &query);
        assert_eq!(pages[0].url, "https://d/cli#inspect");
        assert!(!titled_by_option("--inspect", "Options › `--inspect-brk[=[host:]port]`"));
    }

    #[test]
    fn the_page_about_a_names_owner_comes_before_another_that_documents_it_too() {
        let owns =
            |query: &str, title: &str| title_names_owner(&named_identifier(query).unwrap(), title);
        assert!(owns("u128::count_ones", "u128 - Rust"));
        assert!(owns("Vec::push", "Vec in std::vec - Rust"));
        assert!(owns("os.path.join", "os.path — Common pathname manipulations"));
        assert!(owns("StringUtils.abbreviate", "StringUtils (Apache Commons Lang 3.12.0 API)"));
        // A title that opens a phrase with the word, or names another type, is not about it.
        assert!(!owns("orm.join", "ORM Examples — SQLAlchemy 1.4 Documentation"));
        assert!(!owns("Column.cast", "Column Elements and Expressions"));
        assert!(!owns("u128::count_ones", "Saturating in std::num - Rust"));
        // A name without an owner: the page titled by it (Doxygen's, after the project's name),
        // not the header file's that declares it.
        assert!(owns("SDL_Keysym", "SDL: SDL_Keysym Struct Reference"));
        assert!(owns("SDL_HapticEffect", "SDL: SDL_HapticEffect Union Reference"));
        assert!(owns("from_utf8", "from_utf8 in std::str - Rust"));
        assert!(!owns("SDL_Keysym", "SDL: SDL_keyboard.h File Reference"));
        assert!(!owns("SDL_Keysym", "SDL: SDL_Keysym and the keyboard's Reference"));
        let entry = "pub const fn count_ones(self) -> u32";
        let mut wrapper =
            hit("https://d/std/num/struct.Saturating.html#method.count_ones", 5.0, 0, 0);
        (wrapper.title, wrapper.heading) =
            ("Saturating in std::num - Rust".into(), format!("impl Saturating<u128> › {entry}"));
        let mut primitive = hit("https://d/std/primitive.u128.html#method.count_ones", 4.5, 0, 0);
        (primitive.title, primitive.heading) =
            ("u128 - Rust".into(), format!("Primitive Type u128 › impl u128 › {entry}"));
        let pages = rank_pages(vec![wrapper, primitive], &PageQuery::new("u128::count_ones"));
        assert_eq!(pages[0].url, "https://d/std/primitive.u128.html#method.count_ones");
        // A word asked alone (`Sub`, no code name) is about the page its title names too, not
        // the hundred pages that implement it.
        let mut implementor = hit("https://d/std/primitive.usize.html#impl-Sub", 5.0, 0, 0);
        (implementor.title, implementor.heading) =
            ("usize - Rust".into(), "Primitive Type usize › impl Sub for usize".into());
        let mut own = hit("https://d/std/ops/trait.Sub.html#main-content", 4.5, 0, 0);
        (own.title, own.heading) = ("Sub in std::ops - Rust".into(), "Trait std::ops::Sub".into());
        let pages = rank_pages(vec![implementor, own], &PageQuery::new("Sub"));
        assert_eq!(pages[0].url, "https://d/std/ops/trait.Sub.html#main-content");
    }

    #[test]
    fn a_one_word_query_credits_the_table_that_defines_its_word() {
        let mut mention = hit("https://d/sql-createcast", 10.0, 0, 0);
        mention.text = "CREATE CAST (bigint AS int4) WITH FUNCTION int4(bigint);".into();
        let mut table = hit("https://d/datatype-numeric", 6.0, 0, 0);
        table.text =
            "| Name | Size | Description |\n| bigint | 8 bytes | large-range integer |".into();
        let pages = rank_pages(vec![mention.clone(), table.clone()], &PageQuery::new("bigint"));
        assert_eq!(pages[0].url, "https://d/datatype-numeric");
        // A longer question is not asking for a table's entry.
        let pages = rank_pages(vec![mention, table], &PageQuery::new("cast a bigint"));
        assert_eq!(pages[0].url, "https://d/sql-createcast");
    }

    #[test]
    fn a_question_what_something_is_asks_for_its_entry() {
        for (question, subject) in [
            ("What is a slug?", "slug"),
            ("what are generic views", "generic view"),
            ("What are middleware?", "middleware"),
            ("What are the class attributes?", "class attribute"),
            ("What\u{2019}s the GIL?", "gil"),
            ("What does CSRF mean?", "csrf"),
            ("Define middleware.", "middleware"),
        ] {
            assert_eq!(defined_subject(question).as_deref(), Some(subject), "{question}");
        }
        for question in [
            "What is the difference between arguments and parameters?",
            "What is `str.join`?",
            "What does this error mean when I run migrate?",
            "How do I define a model?",
            "What is",
        ] {
            assert_eq!(defined_subject(question), None, "{question}");
        }
        assert_eq!(
            compared_subjects("What is the difference between arguments and parameters?"),
            Some(("argument".into(), "parameter".into()))
        );
        assert_eq!(compared_subjects("json vs jsonb"), Some(("json".into(), "jsonb".into())));
        assert_eq!(compared_subjects("What is a slug?"), None);
        assert_eq!(compared_subjects("difference between `a.b` and c"), None);
        // Ranking reads it as the glossary's term, and a word as a table's entry.
        let slug = PageQuery::new("What is a slug?");
        assert_eq!((slug.word.as_deref(), slug.term.as_deref()), (Some("slug"), Some("slug")));
        let view = PageQuery::new("What is a generic view?");
        assert_eq!((view.word, view.term.as_deref()), (None, Some("generic view")));
        // The glossary's entry weighs as a definition then, more than for the term alone.
        let glossary = SearchHit {
            text: "slug\n\nA short label for something, used in URLs.".into(),
            ..hit("https://d/glossary", 10.0, 0, 0)
        };
        let usage = SearchHit {
            text: "Validators check that a slug holds only letters and hyphens.".into(),
            ..hit("https://d/validators", 15.0, 0, 0)
        };
        let ranked = |query: &str| {
            let ranked = rank_pages(vec![usage.clone(), glossary.clone()], &PageQuery::new(query));
            ranked.iter().map(|h| h.url.clone()).collect::<Vec<_>>()
        };
        assert_eq!(ranked("What is a slug?"), ["https://d/glossary", "https://d/validators"]);
        assert_eq!(ranked("slug"), ["https://d/validators", "https://d/glossary"]);
    }

    #[test]
    fn the_page_that_defines_a_name_rises_above_one_that_mentions_it() {
        let mut notes = hit("https://d/releases/1.3", 10.0, 0, 0);
        notes.text = "`User.get_full_name()` strips whitespace now (the user's name).".into();
        let mut reference = hit("https://d/ref/auth#methods", 8.0, 0, 0);
        reference.text = "class `models.User`\n\n`get_full_name`()\n\nReturns a name.".into();
        let pages = rank_pages(vec![notes, reference], &PageQuery::new("User.get_full_name"));
        assert_eq!(pages[0].url, "https://d/ref/auth#methods");
        // A query that names no code keeps the ranking's order.
        let mut notes = hit("https://d/releases/1.3", 10.0, 0, 0);
        notes.text = "Users get a full name.".into();
        let mut reference = hit("https://d/ref/auth#methods", 8.0, 0, 0);
        reference.text = "class `models.User`\n\n`get_full_name`()".into();
        let pages = rank_pages(vec![notes, reference], &PageQuery::new("user full name"));
        assert_eq!(pages[0].url, "https://d/releases/1.3");
    }

    #[test]
    fn the_first_chunk_the_name_alone_finds_that_defines_it_scores_as_the_best_and_comes_first() {
        let query = PageQuery::new("What should I put in `user.name`?");
        let mut mention = hit("https://d/commit", 4.0, 0, 0);
        mention.text = "The author is taken from `user.name`.".into();
        let mut entry = hit("https://d/config#variables", 3.0, 0, 0);
        entry.text = "user.name\n\nuser.email\n\nThe identity recorded in commits.".into();
        let mut later = hit("https://d/old-config#variables", 2.0, 0, 0);
        later.text = "user.name\n\nThe name recorded in commits.".into();
        let mut named = vec![mention, entry, later];
        query.lift_name_definition(&mut named, 12.0);
        let ranked: Vec<(&str, f64)> = named.iter().map(|h| (h.url.as_str(), h.score)).collect();
        assert_eq!(
            ranked,
            [
                ("https://d/config#variables", 12.0),
                ("https://d/commit", 4.0),
                ("https://d/old-config#variables", 2.0)
            ]
        );
        // A query that names no code lifts nothing.
        let mut named = vec![hit("https://d/commit", 4.0, 0, 0)];
        PageQuery::new("user name").lift_name_definition(&mut named, 12.0);
        assert_eq!(named[0].score, 4.0);
    }

    #[test]
    fn the_passage_that_cites_the_document_asked_about_rises_above_the_querys_other_words() {
        let query = PageQuery::new("Python Enhancement Proposals PEP 292");
        let mut csv = hit("https://d/library/csv", 10.0, 0, 0);
        csv.text = "PEP 305 - CSV File API: the Python Enhancement Proposal for it.".into();
        let mut string = hit("https://d/library/string#template-strings", 6.0, 0, 0);
        string.text = "Template strings provide simpler substitutions (see PEP 292).".into();
        let pages = rank_pages(vec![csv.clone(), string.clone()], &query);
        assert_eq!(pages[0].url, "https://d/library/string#template-strings");
        // Another PEP's number is no citation of it.
        string.text = "Template strings (see PEP 2920).".into();
        let pages = rank_pages(vec![csv, string], &query);
        assert_eq!(pages[0].url, "https://d/library/csv");
    }

    #[test]
    fn a_page_many_others_link_to_wins_a_near_tie_but_not_a_clear_loss() {
        let central = |inlinks| PageSignals { inlinks, ..PageSignals::default() };
        assert_eq!(centrality(central(0)), 1.0);
        assert!(centrality(central(10)) > centrality(central(1)));
        assert!(centrality(central(200)) > centrality(central(10)));
        assert_eq!(centrality(central(5_000)), 1.0 + INLINK_WEIGHT);
        // The first links count most: 0 → 10 gains more than 100 → 1,000.
        let gain = |from, to| centrality(central(to)) - centrality(central(from));
        assert!(gain(0, 10) > gain(100, 1_000));

        let query = PageQuery::new("concatenate strings");
        let mut reference = hit("https://d/library/stdtypes", 9.0, 0, 0);
        reference.page.inlinks = 192;
        let aside = hit("https://d/whatsnew/itertools-recipes", 10.0, 0, 0);
        let urls = |hits: Vec<SearchHit>| -> Vec<String> {
            rank_pages(hits, &query).into_iter().map(|h| h.url).collect()
        };
        assert_eq!(
            urls(vec![aside.clone(), reference.clone()]),
            ["https://d/library/stdtypes", "https://d/whatsnew/itertools-recipes"]
        );
        let mut far_better = aside;
        far_better.score = 20.0;
        assert_eq!(urls(vec![far_better, reference])[0], "https://d/whatsnew/itertools-recipes");
    }

    #[test]
    fn a_section_under_a_top_heading_of_release_notes_is_release_notes() {
        let updates = "Community Updates — Requests 2.28.1 documentation";
        assert!(in_release_notes(updates, "Release History › 2.6.0 (2015-03-14)"));
        assert!(!in_release_notes(updates, "Community Updates › Mailing List"));
        assert!(in_release_notes("Changelog", "Changelog › 1.0"));
        assert!(!in_release_notes("Quickstart — Requests", ""));
    }

    #[test]
    fn release_notes_are_known_by_a_version_in_their_own_title() {
        for title in [
            "Django 1.4 release notes — Django 3.2.25 documentation",
            "What’s New In Python 3.10 — Python 3.11.2 documentation",
            "E.2. Release 15.19",
            "E.21. Release 15",
            "Changelog",
            "Release notes: v2.3.0 | Harbor",
            "Change history for Celery 1.0 — Celery 5.2.6 documentation",
            "Change history — Celery 5.2.6 documentation",
            "Change history for coverage.py — Coverage.py 6.5.0 documentation",
            // A release's announcement.
            "pytest-2.4.0: new fixture features/hooks and bug fixes — pytest documentation",
            "py.test 2.0.1: bug fixes — pytest documentation",
            "pytest-7.1.2 — pytest documentation",
            "3.0 Announcement - Django REST framework",
            // MkDocs' titles: the page's own, a hyphen, the site's name.
            "Release Notes - Django REST framework",
            "Version History",
            "Release notes — Scrapy 2.8.0 documentation",
            "News",
            // A project's history under its name.
            "Release History Of SQLite",
            "History Of SQLite Releases",
            "Recent SQLite News",
            "SQLite Older News",
        ] {
            assert!(is_release_notes(title), "{title}");
        }
        for title in [
            // The version is the site's, after its own title.
            "Django’s release process — Django 3.2.25 documentation",
            "Writing release notes — Django 3.2.25 documentation",
            "RELEASE SAVEPOINT",
            "Release Guide — h5py 3.7.0 documentation",
            "SQLite Copyright Release Template",
            // A section number is not a version.
            "9.4. New Functions",
            "Installing 2.0 on Linux",
            "How to change history tables in 2.0",
            "Chapter 3.2: Indexes",
            "Versioning - Django REST framework 3.14",
            "Announcements - Django REST framework",
            "Step 2: Install",
            "",
        ] {
            assert!(!is_release_notes(title), "{title}");
        }
    }

    #[test]
    fn release_notes_rank_below_the_reference_unless_a_release_is_asked_about() {
        let mut notes = hit("https://d/releases/1.4", 10.0, 0, 0);
        notes.title = "Django 1.4 release notes".into();
        let reference = hit("https://d/ref/files", 7.0, 0, 0);
        let ranked = |query: &str| -> Vec<String> {
            rank_pages(vec![notes.clone(), reference.clone()], &PageQuery::new(query))
                .into_iter()
                .map(|h| h.url)
                .collect()
        };
        for not_about_a_release in
            ["How do I delete a file?", "If I make changes to a file, how do I keep a new copy?"]
        {
            assert_eq!(
                ranked(not_about_a_release),
                ["https://d/ref/files", "https://d/releases/1.4"],
                "{not_about_a_release}"
            );
        }
        for about_a_release in
            ["file storage in 1.4", "deprecated file storage", "which version added files"]
        {
            assert_eq!(
                ranked(about_a_release),
                ["https://d/releases/1.4", "https://d/ref/files"],
                "{about_a_release}"
            );
        }
    }

    #[test]
    fn a_page_that_matches_in_more_sections_wins_a_near_tie_but_not_a_clear_loss() {
        let query = PageQuery::new("delete file");
        let urls = |hits: Vec<SearchHit>| -> Vec<String> {
            rank_pages(hits, &query).into_iter().map(|h| h.url).collect()
        };
        let single = hit("https://d/tempfile", 10.0, 0, 0);
        let near =
            vec![hit("https://d/os#remove", 9.5, 0, 0), hit("https://d/os#unlink", 8.0, 0, 0)];
        let mut hits = vec![single.clone()];
        hits.extend(near);
        assert_eq!(urls(hits), ["https://d/os#remove", "https://d/tempfile"]);

        let mut weak: Vec<SearchHit> =
            (0..20).map(|i| hit(&format!("https://d/os#s{i}"), 8.0, 0, 0)).collect();
        weak.push(single);
        let ranked = rank_pages(weak, &query);
        assert_eq!(ranked[0].url, "https://d/tempfile");
        assert_eq!(ranked[1].more.len(), 19, "the other sections are still folded under the page");
        assert!(ranked[1].score <= 8.0 / 0.9 + 1e-9, "{}", ranked[1].score);
    }

    fn hit(url: &str, score: f64, links: u8, code: u8) -> SearchHit {
        SearchHit {
            chunk_id: format!("{url}@{score}"),
            url: url.into(),
            title: String::new(),
            heading: format!("h {url}"),
            text: String::new(),
            score,
            page: PageSignals { link_list_percent: links, code_text_percent: code, inlinks: 0 },
            more: Vec::new(),
        }
    }

    #[test]
    fn a_passage_that_quotes_the_error_message_asked_about_ranks_first() {
        let mut reference = hit("https://d/ref/fields.html", 1.0, 0, 0);
        reference.heading = "Field types › DateTimeField".into();
        reference.text = "class DateTimeField(auto_now=False) A date and time.".into();
        let mut faq = hit("https://d/topics/timezones.html", 0.6, 0, 0);
        faq.text = "I see lots of RuntimeWarning: DateTimeField received a naive datetime \
                    (YYYY-MM-DD) while time zone support is active – is that bad?"
            .into();
        let query = PageQuery::new(
            "RuntimeWarning: DateTimeField received a naive datetime while time zone support is \
             active",
        );
        let ranked = rank_pages(vec![reference, faq], &query);
        assert_eq!(ranked[0].url, "https://d/topics/timezones.html");
    }

    #[test]
    fn a_front_page_of_links_ranks_for_the_opening_that_says_what_the_project_is() {
        let mut front = hit("https://d/index.html", 1.0, 87, 0);
        front.text = "Peewee is a simple and small ORM.\n\n- Quickstart\n- Example app".into();
        let mut guide = hit("https://d/guide.html", 1.0, 0, 0);
        guide.text = "Peewee comes with numerous extension modules.".into();
        let first = |query: &str| {
            let ranked = rank_pages(vec![guide.clone(), front.clone()], &PageQuery::new(query));
            ranked[0].url.clone()
        };
        assert_eq!(first("What is peewee?"), "https://d/index.html");
        assert_eq!(first("peewee extension modules"), "https://d/guide.html");
    }

    #[test]
    fn prose_keeps_its_weight_and_link_lists_and_listings_lose_most_of_theirs() {
        let prior = |links, code| {
            page_prior(PageSignals {
                link_list_percent: links,
                code_text_percent: code,
                inlinks: 0,
            })
        };
        assert_eq!(prior(0, 0), 1.0);
        assert_eq!(prior(45, 35), 1.0, "a reference page with links and examples");
        assert!(prior(55, 0) > 0.8, "just over the line loses little: {}", prior(55, 0));
        assert!(prior(98, 0) < 0.02, "a table of contents: {}", prior(98, 0));
        assert!(prior(0, 98) < 0.25, "a source listing: {}", prior(0, 98));
        assert!(prior(0, 77) > 0.9, "a command's synopsis: {}", prior(0, 77));
        assert!(prior(100, 100) > 0.0);
    }

    #[test]
    fn one_result_per_page_with_its_other_sections_folded_under_it() {
        let pages = rank_pages(
            vec![
                hit("https://d/a#one", 9.0, 0, 0),
                hit("https://d/b", 8.0, 0, 0),
                hit("https://d/a#two", 7.0, 0, 0),
                hit("https://d/a#one", 6.0, 0, 0),
                hit("https://d/a", 5.0, 0, 0),
            ],
            &PageQuery::default(),
        );
        let urls: Vec<&str> = pages.iter().map(|p| p.url.as_str()).collect();
        assert_eq!(urls, ["https://d/a#one", "https://d/b"]);
        let more: Vec<&str> = pages[0].more.iter().map(|m| m.url.as_str()).collect();
        assert_eq!(more, ["https://d/a#two", "https://d/a"], "each section once, best first");
        assert_eq!(pages[0].more[0].heading, "h https://d/a#two");
    }

    #[test]
    fn a_table_of_contents_falls_below_the_page_it_points_to() {
        let pages = rank_pages(
            vec![
                hit("https://d/contents", 10.0, 97, 0),
                hit("https://d/source/models", 9.5, 2, 95),
                hit("https://d/ref/models", 6.0, 20, 30),
                hit("https://d/old", -0.5, 97, 0),
            ],
            &PageQuery::default(),
        );
        let urls: Vec<&str> = pages.iter().map(|p| p.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "https://d/ref/models",
                "https://d/source/models",
                "https://d/contents",
                "https://d/old"
            ]
        );
        assert_eq!(pages[3].score, -0.5, "a negative score is not lifted");
    }

    #[test]
    fn the_entry_lifted_for_an_option_is_the_one_ranking_would_weigh_highest() {
        let entry = |url: &str, score: f64, inlinks: u32, text: &str| SearchHit {
            text: text.into(),
            page: PageSignals { inlinks, ..PageSignals::default() },
            ..hit(url, score, 0, 0)
        };
        let found = vec![
            // Writes the option, but in a sentence: no entry.
            entry("https://d/howto", 9.0, 0, "Run it with `-c` to compile it first."),
            // `unittest`'s own `-c`, a little higher by the letter and "option".
            entry("https://d/unittest", 5.0, 10, "`-c`, `--catch`\n\nControl-C waits."),
            // The interpreter's, the page the whole manual links to.
            entry("https://d/cmdline", 4.5, 900, "`-c` <command>\n\nExecute the code."),
        ];
        let asked = |query: &str| PageQuery::new(query);
        let lifted = asked("-c").entry_hit(found.clone(), 20.0).unwrap();
        assert_eq!((lifted.url.as_str(), lifted.score), ("https://d/cmdline", 20.0));
        // Its own score when that is higher; nothing when no chunk is an entry for the option.
        assert_eq!(asked("-c").entry_hit(found.clone(), 1.0).unwrap().score, 4.5);
        assert_eq!(asked("-x").entry_hit(found, 20.0), None);
    }

    #[test]
    fn the_entry_for_a_meaning_asked_is_a_glossary_term_on_its_own_line() {
        let texts = |query: &str| -> Vec<Vec<String>> {
            PageQuery::new(query).entry_search().into_iter().map(|search| search.texts).collect()
        };
        let search = PageQuery::new("What is a slug?").entry_search();
        // The glossary's entry, a section's opening sentence (below), then a table's (the word
        // asked alone, below).
        assert_eq!(search.len(), 3);
        assert_eq!(search[0].words, ["slug"]);
        // The term alone on its line, or with a sense in brackets.
        assert_eq!(texts("What is a slug?")[0], ["\nslug\n", "\nSlug\n", "\nslug (", "\nSlug ("]);
        assert_eq!(
            texts("What are generic views?")[0][..2],
            ["\ngeneric view\n", "\nGeneric view\n"]
        );
        // An acronym as written, then lower-case.
        assert_eq!(texts("What does WAL mean?")[0][..2], ["\nWAL\n", "\nwal\n"]);
        assert_eq!(texts("What is a Slug?")[0][..2], ["\nSlug\n", "\nslug\n"]);
        // Two things compared: each entry is looked for by its own words ("vs" is no word to
        // search).
        let search = PageQuery::new("method vs function").entry_search();
        let words: Vec<&[String]> = search.iter().map(|search| search.words.as_slice()).collect();
        assert_eq!(words, [["method"], ["function"]]);
        assert_eq!(texts("method vs function")[1][..2], ["\nfunction\n", "\nFunction\n"]);
        // Not asked for a meaning, nor one word alone: no entry to look for.
        assert_eq!(PageQuery::new("How do I make a slug?").entry_search(), []);
        let entry = |url: &str, score: f64, text: &str| SearchHit {
            text: text.into(),
            ..hit(url, score, 0, 0)
        };
        let found = vec![
            // The word on a line of its own, in code: no entry.
            entry("https://d/views", 9.0, "```\nslug\n```"),
            entry(
                "https://d/glossary",
                2.0,
                "project\n\nA package of settings.\n\nslug\n\nA short label for something.",
            ),
        ];
        let asked = PageQuery::new("What is a slug?");
        let lifted = asked.entry_hit(found.clone(), 12.0).unwrap();
        assert_eq!((lifted.url.as_str(), lifted.score), ("https://d/glossary", 12.0));
        assert_eq!(
            PageQuery::new("What is a project?").entry_hit(found.clone(), 12.0).unwrap().url,
            "https://d/glossary"
        );
        assert_eq!(PageQuery::new("What is a view?").entry_hit(found.clone(), 12.0), None);
        // Two compared: lifted when both have entries; when one has, as its own words score it.
        let compared = PageQuery::new("What is the difference between a slug and a project?");
        let lifted = compared.entry_hit(found.clone(), 12.0).unwrap();
        assert_eq!((lifted.url.as_str(), lifted.score), ("https://d/glossary", 12.0));
        let compared = PageQuery::new("What is the difference between a slug and a view?");
        let one = compared.entry_hit(found.clone(), 12.0).unwrap();
        assert_eq!((one.url.as_str(), one.score), ("https://d/glossary", 2.0));
        assert_eq!(PageQuery::new("slug").entry_hit(found, 12.0), None, "not asked what it means");
    }

    #[test]
    fn asked_what_something_is_a_section_that_opens_by_saying_it_is_its_entry() {
        let search = PageQuery::new("What is Python?").entry_search();
        let opening = &search[1];
        assert_eq!(opening.words, ["python"]);
        assert_eq!(opening.texts[..3], ["Python is a ", "Python is an ", "Python is the "]);
        assert!(opening.texts.contains(&"A python is a ".to_string()));
        let texts = &PageQuery::new("What is an index?").entry_search()[1].texts;
        assert!(texts.contains(&"An index is an ".to_string()), "{texts:?}");
        let chunk = |url: &str, score: f64, inlinks: u32, text: &str| {
            let mut hit = SearchHit { text: text.into(), ..hit(url, score, 0, 0) };
            hit.page.inlinks = inlinks;
            hit
        };
        let found = vec![
            // Mid-sentence, and a trademark notice: neither says what it is.
            chunk("https://d/c-api", 9.0, 50, "The embedded Python is a shared library."),
            chunk("https://d/copyright", 8.0, 900, "Python is a trademark of the PSF."),
            chunk("https://d/bugs", 3.0, 0, "Python is a mature programming language."),
            chunk(
                "https://d/tutorial",
                3.0,
                20,
                "Release 3.11\n\nPython is an easy to learn, powerful programming language.",
            ),
        ];
        // Of two openings that say it, the one on the page the site points to more.
        let lifted = PageQuery::new("What is Python?").entry_hit(found.clone(), 12.0).unwrap();
        assert_eq!((lifted.url.as_str(), lifted.score), ("https://d/tutorial", 12.0));
        // A glossary's entry comes first; two things compared are not told apart by one opening.
        let mut with_glossary = found.clone();
        with_glossary.push(chunk(
            "https://d/glossary",
            1.0,
            0,
            "Python\n\nThe language this manual is about.",
        ));
        let asked = PageQuery::new("What is Python?");
        assert_eq!(asked.entry_hit(with_glossary, 12.0).unwrap().url, "https://d/glossary");
        let compared = PageQuery::new("What is the difference between Python and C?");
        assert_eq!(compared.entry_hit(found.clone(), 12.0), None);
        // In a ranking, the opening that says it is weighed as a definition.
        let even = found.into_iter().map(|hit| SearchHit { score: 5.0, ..hit }).collect();
        let ranked = rank_pages(even, &PageQuery::new("What is Python?"));
        assert_eq!(ranked[0].url, "https://d/tutorial");
    }

    #[test]
    fn asked_what_a_word_means_its_glossary_entry_outranks_a_tables_row_for_it() {
        let chunk = |url: &str, text: &str| SearchHit { text: text.into(), ..hit(url, 10.0, 0, 0) };
        let glossary = chunk(
            "https://d/glossary",
            "Lock\n\nA mechanism that allows a process to limit or prevent simultaneous access to a resource.",
        );
        let waits = chunk(
            "https://d/monitoring",
            "| Lock | The backend is waiting for a heavyweight lock. |\n\
             | LWLock | The backend is waiting for a lightweight lock held by another. |\n\
             | IO | The backend is waiting for an input or output operation to complete. |",
        );
        let first = |query: &str| {
            let chunks = vec![waits.clone(), glossary.clone()];
            rank_pages(chunks, &PageQuery::new(query))[0].url.clone()
        };
        assert_eq!(first("What is Lock?"), "https://d/glossary");
        // Asked the word alone, the table's row defines it.
        assert_eq!(first("lock"), "https://d/monitoring");
    }

    #[test]
    fn the_entry_for_a_word_asked_alone_is_a_tables_row_for_it_unless_a_glossary_lists_it() {
        let search = PageQuery::new("max").entry_search();
        assert_eq!(search.len(), 1);
        assert_eq!(search[0].words, ["max"]);
        for opening in ["| max (", "| max |", "| `max`", ", max("] {
            assert!(search[0].texts.iter().any(|t| t == opening), "{opening:?}: {search:?}");
        }
        let entry = |url: &str, score: f64, text: &str| SearchHit {
            text: text.into(),
            ..hit(url, score, 0, 0)
        };
        let aggregates = entry(
            "https://d/functions-aggregate",
            1.5,
            "| max ( see text ) → same as input type Computes the maximum of the non-null input values. |",
        );
        let settings =
            entry("https://d/config", 6.0, "| max_connections | 100 | the most connections |");
        let found = vec![settings.clone(), aggregates.clone()];
        let lifted = PageQuery::new("max").entry_hit(found.clone(), 9.0).unwrap();
        assert_eq!((lifted.url.as_str(), lifted.score), ("https://d/functions-aggregate", 9.0));
        assert_eq!(PageQuery::new("min").entry_hit(found, 9.0), None);
        // Asked what it means, a glossary's line comes before a table's row.
        let glossary = entry("https://d/glossary", 1.0, "max\n\nThe largest of a set of values.");
        let asked = PageQuery::new("What is max?");
        let lifted = asked.entry_hit(vec![aggregates.clone(), glossary], 9.0).unwrap();
        assert_eq!(lifted.url, "https://d/glossary");
        assert_eq!(
            asked.entry_hit(vec![aggregates], 9.0).unwrap().url,
            "https://d/functions-aggregate"
        );
    }
}
