//! Whether a chunk defines what a query asks about: a code name, as an API reference's entry or
//! a section titled by its signature ([`defines`]); a command-line option, as a command
//! reference's entry ([`defines_option`]); one word, as a table's entry for it
//! ([`defines_in_table`]); a term, as a definition list's ([`defines_in_list`]). The extractive
//! answer reads the same entries to quote them whole.

use super::query::CodeName;

/// The longest line that can name an option as its entry: the option, its argument and another
/// spelling (`-c command`, `-f, --force`, `` `--eval code` ``), not a sentence that mentions it.
const OPTION_ENTRY_WORDS: usize = 5;

/// The option a line is a command reference's entry for: a line that opens with an option (in
/// code or not) and goes on only with its argument or other spellings (`` `--eval code` ``,
/// `` `-c` <command> ``, `-f, --force`, `--command=command`), or a table row whose first cell
/// does. `None` for a sentence that mentions one.
pub(crate) fn option_entry(line: &str) -> Option<&str> {
    let line = line.trim();
    let (opening, whole_line) = match line.strip_prefix('|') {
        Some(row) => (row.split('|').next().unwrap_or(""), false),
        None => (line, true),
    };
    let opening = opening.trim_start().trim_start_matches('`');
    let dashes = if opening.starts_with("--") { 2 } else { usize::from(opening.starts_with('-')) };
    let name_length = opening[dashes..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .unwrap_or(opening.len() - dashes);
    let option = &opening[..dashes + name_length];
    let named = dashes > 0 && opening[dashes..].starts_with(|c: char| c.is_ascii_alphabetic());
    let entry = !whole_line
        || (line.split_whitespace().count() <= OPTION_ENTRY_WORDS
            && !line.ends_with(['.', '!', '?', ':']));
    (named && entry).then_some(option.trim_end_matches('-'))
}

/// Whether a section's own heading compares the two `subjects` a question compares (mypy's "Any
/// vs. object" for "What is the difference between Any and object?"): it names both, and
/// besides them only words that compare and one more at most (not pandas' "Methods `.loc[]`,
/// `.iloc[]`, `.ix[]`", nor "Sequence Types — list, tuple, range").
pub fn compares(subjects: &[String], heading: &str) -> bool {
    let section = heading.rsplit(" › ").next().unwrap_or("").to_lowercase();
    let words: Vec<&str> = section
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .filter(|w| !w.is_empty())
        .collect();
    let same = |word: &str, asked: &str| {
        word == asked
            || word.strip_suffix('s') == Some(asked)
            || word.strip_suffix("es") == Some(asked)
    };
    // Where each subject stands in the heading.
    let mut named = vec![false; words.len()];
    for subject in subjects {
        let asked: Vec<&str> = subject.split_whitespace().collect();
        let Some(at) = (0..(words.len() + 1).saturating_sub(asked.len()))
            .find(|&at| words[at..at + asked.len()].iter().zip(&asked).all(|(w, a)| same(w, a)))
        else {
            return false;
        };
        named[at..at + asked.len()].iter_mut().for_each(|n| *n = true);
    }
    const COMPARING: [&str; 14] = [
        "vs",
        "versus",
        "and",
        "or",
        "difference",
        "differences",
        "between",
        "compared",
        "comparison",
        "comparing",
        "to",
        "with",
        "the",
        "of",
    ];
    let others = words
        .iter()
        .zip(&named)
        .filter(|(word, named)| !**named && !COMPARING.contains(word))
        .count();
    subjects.len() == 2 && others <= 1
}

/// Whether a chunk is a command reference's entry for `option` ([`option_entry`]). A help
/// listing's entry ([`help_entry`]) is not counted here: tutorials print their example programs'
/// help (Python's `argparse` and `optparse` pages), which outranked Python's own options.
pub fn defines_option(option: &str, text: &str) -> bool {
    text.lines().any(|line| option_entry(line) == Some(option))
}

/// The fewest entries a code block holds to be a command's help listing (`pytest --help`,
/// `sqlite3 -help`), not an example that shows one option.
const HELP_LISTING_ENTRIES: usize = 3;

/// The options a line of a help listing gives an entry to: indented, it opens with the option's
/// spellings and maybe its argument (`-x, --exitfirst`, `--foo FOO`, `-init FILENAME`,
/// `--maxfail=num`) and, after two spaces or more, says what it does; or it holds the spellings
/// alone and the next line, indented further, says it.
fn help_line_options<'a>(line: &'a str, next: Option<&str>) -> Vec<&'a str> {
    let indent = line.len() - line.trim_start().len();
    let line = line.trim();
    let (spec, said) = match line.split_once("  ") {
        Some((spec, said)) => (spec, said.trim_start()),
        None => {
            let next = next.unwrap_or_default();
            let deeper = next.len() - next.trim_start().len() > indent + 2;
            (line, if deeper && !next.trim_start().starts_with('-') { next.trim() } else { "" })
        }
    };
    let tokens: Vec<&str> = spec.split([' ', ',']).filter(|t| !t.is_empty()).collect();
    let options: Vec<&str> = tokens.iter().filter_map(|token| option_entry(token)).collect();
    let described = said.split_whitespace().count() >= 2
        && said.starts_with(|c: char| c.is_alphabetic() || c == '`');
    // Each option may take one argument: more words are prose.
    let fits =
        tokens.len() <= 2 * options.len() && tokens.first().is_some_and(|t| t.starts_with('-'));
    if described && fits && indent <= 8 {
        options
    } else {
        Vec::new()
    }
}

/// In a help listing (a code block of [`HELP_LISTING_ENTRIES`] option lines or more), the entry
/// for `option`: its line and the lines that go on describing it.
pub(crate) fn help_entry(code: &str, option: &str) -> Option<String> {
    let lines: Vec<&str> = code.lines().collect();
    let options: Vec<Vec<&str>> = (0..lines.len())
        .map(|at| help_line_options(lines[at], lines.get(at + 1).copied()))
        .collect();
    if options.iter().filter(|listed| !listed.is_empty()).count() < HELP_LISTING_ENTRIES {
        return None;
    }
    let at = options.iter().position(|listed| listed.contains(&option))?;
    let indent = |line: &str| line.len() - line.trim_start().len();
    let goes_on = lines[at + 1..]
        .iter()
        .take_while(|line| {
            !line.trim().is_empty()
                && indent(line) > indent(lines[at])
                && !line.trim_start().starts_with('-')
        })
        .count();
    Some(lines[at..=at + goes_on].join("\n"))
}

/// Whether a section is titled by `option` as a command reference's entry ([`option_entry`]):
/// Node.js heads each option's entry with it (`… › Options › `--inspect[=[host:]port]``).
pub fn titled_by_option(option: &str, heading: &str) -> bool {
    option_entry(heading.rsplit(" › ").next().unwrap_or("")) == Some(option)
}

/// Whether a chunk defines `name`: its section is titled by the name, or one of its lines is a
/// definition of it (an API reference's entry: the name as code alone on its line, maybe after a
/// keyword such as `class` and before its signature; a function table's row that opens with the
/// name and its arguments), and the chunk names its qualifiers (`User` for `User.get_full_name`).
pub fn defines(name: &CodeName, heading: &str, text: &str) -> bool {
    // A section titled by the name as code (a setting's entry, `… › `DEFAULT_AUTO_FIELD``).
    let section = heading.rsplit(" › ").next().unwrap_or("").trim();
    let signature_titled = is_signature_heading(section, name);
    // Node.js marks a signature as code whole, its arguments inside the mark:
    // `` `util.promisify(original)` ``.
    let code_titled = section.starts_with('`')
        && is_code_for(section.replace('`', "").split('(').next().unwrap_or_default(), name);
    // A heading that is the name written plainly, maybe with the value it is set to (SQLite's
    // compile-time options, `SQLITE_DEFAULT_CACHE_SIZE=<N>`).
    let plain = section.split('=').next().unwrap_or_default().trim();
    // C's `SDL_VERSION` macro is not the `SDL_version` struct: a name asked with capitals is
    // matched as written.
    let as_written = |last: &str| {
        let written = name.written.rsplit(['.', ':']).next().unwrap_or_default();
        !written.contains(char::is_uppercase) || last == written
    };
    let plain_titled = plain.contains(['_', '.'])
        && plain.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | ':'))
        && is_code_for(plain, name)
        && as_written(plain.rsplit(['.', ':']).next().unwrap_or_default());
    let titled = code_titled || signature_titled || plain_titled;
    // Lines of a code block are examples: a call on a line of its own there is no signature.
    let mut in_code = false;
    let defined = titled
        || text.lines().any(|line| {
            let line = line.trim();
            if line.starts_with("```") {
                in_code = !in_code;
                return false;
            }
            if let Some(row) = line.strip_prefix('|') {
                return defines_in_row(&name.last, row);
            }
            let Some(at) = line.find('`') else {
                return !in_code && is_plain_signature(line, name);
            };
            let keyword = &line[..at];
            if keyword.len() > 24 || !keyword.chars().all(|c| c.is_ascii_lowercase() || c == ' ') {
                return false;
            }
            let Some((code, rest)) = line[at + 1..].split_once('`') else { return false };
            let rest = rest.trim_start();
            (rest.is_empty() || rest.starts_with('(') || rest.starts_with('='))
                && is_code_for(code, name)
        });
    // Whose name it is: for an entry titled by its signature, the headings above it say so as
    // well as its text, in whole words (rustdoc's "Primitive Type u128 › … › pub const fn
    // checked_pow(…)", not "impl NonZeroU128 › …"); otherwise only the section's text (a page
    // "Builders" does not own every `builder` it lists, nor "django.urls utility functions" the
    // `reverse()` that `functions.Reverse` asks about).
    if !defined {
        return false;
    }
    if signature_titled {
        let owners = format!("{heading}\n{text}").to_lowercase();
        let words: std::collections::HashSet<&str> =
            owners.split(|c: char| !(c.is_alphanumeric() || c == '_')).collect();
        return name.qualifiers.iter().all(|q| words.contains(q.as_str()));
    }
    let lower = text.to_lowercase();
    name.qualifiers.iter().all(|q| lower.contains(q.as_str()))
}

/// Whether a section's heading is a signature of `name`, as rustdoc and Doxygen title a member's
/// entry: maybe a few lower-case keywords, the name, maybe its generic parameters, then its
/// arguments (`pub const fn checked_pow(self, exp: u32) -> Option<u128>`, `fn collect<B>(self) -> B`,
/// `SDL_CreateWindow()`).
fn is_signature_heading(section: &str, name: &CodeName) -> bool {
    let Some((before, _)) = section.split_once('(') else { return false };
    let before = before.split_once('<').map_or(before, |(bare, _)| bare);
    let mut words = before.split_whitespace().rev();
    let Some(code) = words.next() else { return false };
    let keywords: Vec<&str> = words.collect();
    keywords.len() <= 4
        && keywords.iter().all(|k| k.chars().all(|c| c.is_ascii_lowercase()))
        && code.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == ':')
        && is_code_for(code, name)
}

/// Whether a line without code marks is an API reference's signature of `last`, as newer
/// documentation generators write it in plain text: maybe a keyword (`class`, `coroutine`), then
/// the name, alone or with its argument list closing the line, maybe before its result
/// (`loop.create_task(coro, *, name=None)`, `object.__repr__(self)`, `os.O_APPEND`).
fn is_plain_signature(line: &str, name: &CodeName) -> bool {
    // The name starts after the last space before its argument list (spaces inside it do not
    // count).
    let arguments = line.find('(').unwrap_or(line.len());
    let start = line[..arguments].rfind(' ').map_or(0, |space| space + 1);
    // One or two keywords at most: "see also os.O_APPEND" on a line of its own is prose.
    let keyword = &line[..start];
    if keyword.split_whitespace().count() > 2
        || !keyword.chars().all(|c| c.is_ascii_lowercase() || c == ' ')
    {
        return false;
    }
    let (code, rest) = (&line[start..arguments], &line[arguments..]);
    let arguments_close = rest.is_empty()
        || rest.ends_with(')')
        || rest.rsplit_once(')').is_some_and(|(_, result)| result.trim_start().starts_with('→'));
    // A word alone on its line (a term, a column's header) is no signature: the name is
    // qualified (`os.O_APPEND`) or has its arguments (`len(s)`).
    (code.contains('.') || !rest.is_empty())
        && code.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.')
        && arguments_close
        && is_code_for(code, name)
}

/// Whether `code` (`models.User.get_full_name()`) writes `name`: its last part, and, where the
/// code says whose it is, the owner the query names (`sqlalchemy.sql.expression.exists` is a
/// definition of `exists`, not of `Table.exists`).
fn is_code_for(code: &str, name: &CodeName) -> bool {
    // A reStructuredText directive or option as its manual writes it (`.. py:method::`, `:align:`).
    let code = code.trim_start_matches(".. ").trim_end_matches("::").trim_matches(':');
    let code = code.replace("::", ".").replace(':', ".");
    let mut parts = code.trim_end_matches("()").rsplit('.');
    let last = parts.next().is_some_and(|n| n.eq_ignore_ascii_case(&name.last));
    let owner = match (parts.next(), name.qualifiers.last()) {
        (Some(owner), Some(asked)) if !owner.is_empty() => owner.eq_ignore_ascii_case(asked),
        _ => true,
    };
    last && owner
}

/// Whether a table row (after its first `|`) is a function reference's entry for `name`: its
/// first cell opens with the name and its argument list (`| pg_promote ( wait boolean ) → boolean
/// Promotes …`) or, for a function called without one, the arrow to its result (`| current_user →
/// name …`), where a view's column of the same name would be followed by its type.
fn defines_in_row(name: &str, row: &str) -> bool {
    let cell = row.split('|').next().unwrap_or("").trim_start().replace('`', "");
    cell.get(..name.len()).is_some_and(|start| start.eq_ignore_ascii_case(name))
        && cell[name.len()..].trim_start().starts_with(['(', '→'])
}

/// Whether one of a chunk's tables has an entry for `word`: a function reference's row for it
/// ([`defines_in_row`]: the aggregate functions' table defines `max`), or a row whose first cell
/// is the word, alone or among its other spellings (`| character varying(n), varchar(n) |
/// variable-length with limit |`), and whose other cells describe it in words (three different
/// ones at least), in a table whose rows describe different things (as many different words as
/// rows: a table of keywords, each "reserved" or "non-reserved", lists them without describing any).
pub fn defines_in_table(word: &str, text: &str) -> bool {
    let mut rows: Vec<&str> = Vec::new();
    for line in text.lines().chain(std::iter::once("")) {
        match line.trim().strip_prefix('|') {
            Some(row) if defines_in_row(word, row) => return true,
            // The separator under a header: the row above it names the columns, not an entry.
            Some(row) if row.trim_start().starts_with("---") => {
                rows.pop();
            }
            Some(row) => rows.push(row),
            None => {
                if table_defines(word, &rows) {
                    return true;
                }
                rows.clear();
            }
        }
    }
    false
}

/// The spellings a table's first cell lists, split at its commas outside brackets: `character(n),
/// char(n)` is two, `delete(table[, whereclause, returning])` one call with its arguments.
fn spellings(cell: &str) -> impl Iterator<Item = &str> {
    let mut depth = 0i32;
    cell.split(move |c: char| {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            _ => {}
        }
        c == ',' && depth <= 0
    })
}

fn table_defines(word: &str, rows: &[&str]) -> bool {
    let description = |row: &str| -> Vec<String> {
        let rest = row.split_once('|').map_or("", |(_, rest)| rest);
        let mut words: Vec<String> = rest
            .split(|c: char| !c.is_alphabetic())
            .filter(|w| w.chars().nth(1).is_some())
            .map(str::to_lowercase)
            .collect();
        words.sort_unstable();
        words.dedup();
        words
    };
    let entry = rows.iter().any(|row| {
        let first = row.split('|').next().unwrap_or("").replace('`', "");
        let named = spellings(&first).any(|spelling| {
            let spelling = spelling.trim();
            let bare = spelling.split_once('(').map_or(spelling, |(bare, _)| bare);
            bare.trim_end().to_lowercase() == word
        });
        named && description(row).len() >= 3
    });
    entry && {
        let mut vocabulary: Vec<String> = rows.iter().flat_map(|row| description(row)).collect();
        vocabulary.sort_unstable();
        vocabulary.dedup();
        vocabulary.len() >= rows.len()
    }
}

/// Whether a chunk is a definition list's entry for `term` (lower-case): a line that is the term
/// alone, followed by a sentence that describes it (a glossary's "field" and "An attribute on a
/// model; …"). A callout's title above its text ("Note") reads the same: a query of that one word
/// finds callouts. Other names for the entry may come between, each on its own line (SQLAlchemy's
/// "relationship", "relationships").
pub fn defines_in_list(term: &str, text: &str) -> bool {
    // A code block's lines are not a list's (`printf ("%d\n", n)` is no entry for `printf`): each
    // block stands as its fences, which neither name nor describe a term.
    let mut in_code = false;
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .filter(|line| {
            let fence = line.starts_with("```");
            in_code ^= fence;
            fence || !in_code
        })
        .collect();
    lines.iter().enumerate().any(|(at, line)| {
        lists_term(line, term) && {
            let mut after =
                lines[at + 1..].iter().skip_while(|next| names_the_same_entry(line, next));
            after.next().is_some_and(|next| describes_a_term(next))
        }
    })
}

/// Paragraphs this short before a section's first sentence are a banner or a label ("Release
/// v2.28.1. (Installation)" above Requests' opening), not what the section opens by saying.
const BANNER_WORDS: usize = 6;

/// Whether `text` opens by saying what `subject` (lower-case) is: its first paragraph (after any
/// banner, [`BANNER_WORDS`]) has the subject, alone or after an article, as its first words, then
/// "is" and an article ("Python is an easy to learn, powerful programming language.", "Git is a
/// fast, scalable, distributed revision control system", "A converter is a callable"); not a
/// trademark notice ("SQLAlchemy is a trademark of Michael Bayer.").
pub fn opens_by_defining(subject: &str, text: &str) -> bool {
    let says_what_it_is = |paragraph: &str| {
        let lower = paragraph.to_lowercase();
        let said = ["", "a ", "an ", "the "].iter().find_map(|article| {
            lower.strip_prefix(article)?.strip_prefix(subject)?.strip_prefix(" is ")
        });
        said.is_some_and(|said| {
            ["a ", "an ", "the "].iter().any(|article| said.starts_with(article))
                && !["a trademark", "a registered trademark"].iter().any(|t| said.starts_with(t))
        })
    };
    for paragraph in text.split("\n\n").map(str::trim) {
        if says_what_it_is(paragraph) {
            return true;
        }
        if paragraph.split_whitespace().count() > BANNER_WORDS {
            return false;
        }
    }
    false
}

/// Whether `line`, after a definition list's term `term_line`, reads as another name for the same
/// entry: a few plain words of its own (`bound parameters`, `2.0 style`), neither a sentence
/// ([`describes_a_term`]) nor code (a message format's `Byte1('C')` under its field's name), that
/// shares a word with the term. Without that, a callout's title left at the end of one entry ("See
/// also") would read as the next entry's first name.
pub fn names_the_same_entry(term_line: &str, line: &str) -> bool {
    let line = line.trim();
    let words = |text: &str| -> Vec<String> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() >= 3)
            .map(str::to_lowercase)
            .collect()
    };
    // One word in two forms ("constraint", "constrained"; "isolated", "isolation"): the same
    // first five letters, or the whole of a shorter word.
    let related = |a: &String, b: &String| {
        let same = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
        same >= 5 || same == a.chars().count().min(b.chars().count())
    };
    let term_words = words(term_line);
    line.starts_with(|c: char| c.is_alphanumeric())
        && line.chars().all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '.' | '_' | '/'))
        && !line.ends_with('.')
        && line.split_whitespace().count() <= 5
        && !describes_a_term(line)
        && words(line).iter().any(|w| term_words.iter().any(|t| related(w, t)))
}

/// Whether `text`, after a definition list's term, reads as what describes it: a sentence (it
/// opens with a word or a quote, and has three words or more), not a value or another label.
pub fn describes_a_term(text: &str) -> bool {
    text.starts_with(|c: char| c.is_alphabetic() || c == '“' || c == '"')
        && text.split_whitespace().count() >= 3
}

/// Whether a definition list's term `line` is `term` (lower-case), with or without the sense in
/// brackets after it that a glossary may add (PostgreSQL's "Backend (process)").
pub fn lists_term(line: &str, term: &str) -> bool {
    let line = line.to_lowercase();
    let bare = line
        .strip_suffix(')')
        .and_then(|open| open.rsplit_once(" ("))
        .map_or(line.as_str(), |(bare, _)| bare);
    line == term || bare == term
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retrieval::pages::query::{named_identifier, PageQuery};

    #[test]
    fn a_section_opens_by_defining_its_subject_when_its_first_sentence_says_what_it_is() {
        let defines = |subject: &str, text: &str| opens_by_defining(subject, text);
        assert!(defines("python", "Python is an easy to learn, powerful programming language."));
        assert!(defines("converter", "A converter is a callable that is given the value."));
        assert!(defines("git", "Git is the stupid content tracker.\n\nMore."));
        // After a banner of a few words.
        assert!(defines(
            "requests",
            "Release v2.28.1. (Installation)\n\nRequests is an elegant and simple HTTP library."
        ));
        // Not later, not mid-sentence, not what it is not or who owns it.
        assert!(!defines(
            "python",
            "It runs on every platform there is.\n\nPython is a language of many uses."
        ));
        assert!(!defines("python", "The embedded Python is a shared library on most systems."));
        assert!(!defines("python", "Python is not a compiled language, as a rule, or so."));
        assert!(!defines(
            "sqlalchemy",
            "SQLAlchemy is a trademark of Michael Bayer, who wrote it."
        ));
        assert!(!defines("py", "Python is an easy to learn, powerful programming language."));
    }

    #[test]
    fn a_path_names_its_owner_and_a_signature_heading_defines_it() {
        // Rust's (and C++'s) `::` separates a path's parts as `.` does.
        let name = named_identifier("How do I use Vec::push?").unwrap();
        assert_eq!(
            (name.last.as_str(), name.qualifiers.as_slice()),
            ("push", &["vec".to_string()][..])
        );
        let name = named_identifier("std::collections::HashMap::entry").unwrap();
        assert_eq!(name.qualifiers, ["std", "collections", "hashmap"]);
        // rustdoc titles each method's entry with its signature; the headings above say whose.
        let name = named_identifier("u128::checked_pow").unwrap();
        let heading = "Primitive Type u128 › Implementations › impl u128 › \
            pub const fn checked_pow(self, exp: u32) -> Option<u128>";
        assert!(defines(&name, heading, "Checked exponentiation. Returns None on overflow."));
        let call = named_identifier("SDL_CreateWindow()").unwrap();
        assert!(defines(
            &call,
            "SDL_video.h File Reference › SDL_CreateWindow()",
            "Create a window."
        ));
        let generic = named_identifier("Iterator::collect").unwrap();
        assert!(defines(
            &generic,
            "Trait Iterator › Provided Methods › fn collect<B>(self) -> B",
            "Transforms an iterator into a collection."
        ));
        // Node.js marks a signature as code whole, arguments and all.
        let promisify = named_identifier("What does util.promisify do?").unwrap();
        assert!(defines(
            &promisify,
            "Util › `util.promisify(original)`",
            "Takes a function following the common error-first callback style.\n\n\
             ```js\nconst util = require('node:util');\n```"
        ));
        // Another type's method of the same name, whose headings name the owner only inside a
        // longer word, is not u128's.
        let other = "Struct std::num::NonZeroU128 › impl NonZeroU128 › \
            pub const fn checked_pow(self, other: u32) -> Option<NonZeroU128>";
        assert!(!defines(&name, other, "Raise non-zero value to an integer power."));
        // A heading that is prose, or the signature of another name, is no definition.
        assert!(!defines(
            &name,
            "Primitive Type u128 › Overflow (checked_pow)",
            "Checked exponentiation."
        ));
        assert!(!defines(
            &name,
            "Primitive Type u128 › pub const fn checked_add(self, rhs: u128)",
            "Checked addition."
        ));
        // A line's owner is said by its section's text, not by a page title above it: a page
        // "Builders" does not own every `builder` key it lists.
        let database_function = named_identifier("functions.Reverse").unwrap();
        let url_function = "django.urls utility functions › `reverse()`";
        assert!(!defines(&database_function, url_function, "Resolves a URL path."));
        let builder = named_identifier("builders.Builder").unwrap();
        assert!(!defines(
            &builder,
            "Builders › Serialization builder details",
            "`builder`\n\nName of the used builder."
        ));
    }

    #[test]
    fn a_definition_is_the_name_alone_on_its_line_in_a_chunk_that_names_its_owner() {
        let name = named_identifier("User.get_full_name").unwrap();
        let defines = |text: &str| defines(&name, "Users", text);
        let reference = "class `models.User`\n\n`get_full_name`()\n\nReturns the first_name plus the last_name.";
        assert!(defines(reference));
        assert!(defines("class `models.User`\n\n`User.get_full_name` = None"));
        // Mentioned in prose, or defined on another class the chunk never names: no definition.
        let note =
            "`User.get_full_name()` now returns the full name.\n\nSee `get_full_name` below.";
        assert!(!defines(note));
        assert!(!defines("class `models.Author`\n\n`get_full_name`()"));
        assert!(!defines("Plain text, `get_full_name`."));
    }

    #[test]
    fn an_index_entrys_name_is_defined_as_its_manual_writes_it() {
        let directive = named_identifier("todolist (directive)").unwrap();
        assert!(defines(&directive, "Todo", "`.. todolist::`\n\nLists every todo."));
        assert!(!defines(&directive, "Todo", "Add a `todolist` where they should be listed."));
        let variable = named_identifier("pagename (built-in variable)").unwrap();
        assert!(defines(&variable, "Global Variables", "`pagename`\n\nThe page's name."));
        let domain = named_identifier("py:method (directive)").unwrap();
        assert!(defines(&domain, "The Python Domain", "`.. py:method::`\n\nDescribes a method."));
        assert!(!defines(&domain, "The Python Domain", "`.. js:method::`\n\nA JavaScript one."));
    }

    #[test]
    fn a_signature_that_names_its_owner_defines_the_name_of_that_owner_only() {
        let method = named_identifier("Table.exists").unwrap();
        let defines = |text: &str| defines(&method, "API", text);
        assert!(defines("method sqlalchemy.schema.Table.exists(bind=None)\n\nTrue if it exists."));
        // The module function of the same name, on a page that mentions tables everywhere.
        let function = "function sqlalchemy.sql.expression.exists(*args)\n\nAn EXISTS on a table.";
        assert!(!defines(function));
        assert!(super::defines(&named_identifier("expression.exists").unwrap(), "API", function));
        // A signature without its owner is judged by the owner its chunk names.
        assert!(defines("class `Table`\n\n`exists`(bind=None)"));
    }

    #[test]
    fn a_signature_in_plain_text_is_a_definition_and_a_sentence_that_opens_with_it_is_not() {
        // Newer Sphinx writes signatures without code marks.
        let method = named_identifier("loop.create_task").unwrap();
        let defines = |text: &str| defines(&method, "Event Loop", text);
        assert!(defines("loop.create_task(coro, *, name=None, context=None)\n\nSchedule a task."));
        assert!(defines("coroutine loop.create_task(coro) → Task\n\nSchedule it."));
        let attribute = named_identifier("os.O_APPEND").unwrap();
        assert!(super::defines(&attribute, "os", "os.O_RDONLY\nos.O_APPEND\n\nFlags for open()."));
        let class = named_identifier("typing.TypeVar").unwrap();
        assert!(super::defines(&class, "typing", "class typing.TypeVar(name, *constraints)"));
        // Prose that opens with the call, or names another function: not a definition.
        assert!(!defines("loop.create_task(coro) schedules the coroutine on this loop."));
        assert!(!defines("Use loop.create_task(coro) to schedule it."));
        assert!(!defines("see also the method loop.create_task"));
        // An example's call in a code block; a column header or a term alone on its line.
        assert!(!defines("Run it:\n\n```\nloop.create_task(main())\n```"));
        let function = named_identifier("array_cat").unwrap();
        assert!(!super::defines(&function, "Arrays", " array_cat\n-----------\n {1,2,3,4}"));
        assert!(super::defines(&function, "Arrays", "array_cat(left, right)\n\nJoins arrays."));
        assert!(!defines("loop.create_future()\n\nCreate a future attached to the loop."));
    }

    #[test]
    fn a_help_listing_in_a_code_block_has_an_entry_for_each_option() {
        let listing = "usage: pytest [options] [file_or_dir]\n\n  -k EXPRESSION         Only run tests which match the expression.\n  -x, --exitfirst       Exit instantly on first error or failed test.\n  --fixtures, --funcargs\n                        Show available fixtures, sorted by plugin\n                        appearance.\n  --maxfail=num         Exit after first num failures or errors.";
        let entry = |option: &str| help_entry(listing, option);
        let first = "  -x, --exitfirst       Exit instantly on first error or failed test.";
        assert_eq!(
            (entry("-x").as_deref(), entry("--exitfirst").as_deref()),
            (Some(first), Some(first))
        );
        assert_eq!(
            entry("--funcargs").as_deref(),
            Some("  --fixtures, --funcargs\n                        Show available fixtures, sorted by plugin\n                        appearance.")
        );
        assert!(entry("--maxfail").is_some() && entry("-q").is_none());
        // One option shown in an example is no listing; nor is a command that uses options.
        let example = "$ pytest -x\n  -x, --exitfirst       Exit instantly on first error.";
        assert_eq!(help_entry(example, "-x"), None);
        let commands = "pytest -x tests/  # stop at the first failure\npytest -k fast  # run the fast ones\npytest -q  # quietly";
        assert_eq!(help_entry(commands, "-x"), None);
        // Listed, the option is no definition for ranking: tutorials print their examples' help.
        assert!(!defines_option("-x", &format!("```\n{listing}\n```")));
    }

    #[test]
    fn a_heading_that_names_both_subjects_compares_them() {
        let subjects = |a: &str, b: &str| vec![a.to_string(), b.to_string()];
        assert!(compares(&subjects("any", "object"), "Dynamically typed code › Any vs. object"));
        assert!(compares(
            &subjects("argument", "parameter"),
            "Glossary › Arguments and parameters"
        ));
        assert!(compares(&subjects("generic view", "mixin"), "Generic views versus mixins"));
        // One of them, or both in a long heading, is not the comparison.
        assert!(!compares(&subjects("any", "object"), "Class basics › Object types"));
        let long = "Using the object type and the Any type in function signatures and classes";
        assert!(!compares(&subjects("any", "object"), long));
        assert!(!compares(&subjects("json", "jsonb"), "JSON Types"));
        assert!(compares(&subjects("json", "jsonb"), "Differences between json and jsonb"));
        assert!(!compares(&subjects("loc", "iloc"), "Methods `.loc[]`, `.iloc[]`, `.ix[]`"));
        assert!(!compares(&subjects("list", "tuple"), "Sequence Types — list, tuple, range"));
    }

    #[test]
    fn settings_sections_and_function_table_rows_are_definitions_too() {
        let setting = named_identifier("log_error_verbosity configuration parameter").unwrap();
        // The words around the name need not be in the entry that defines it.
        assert!(defines(
            &setting,
            "Error Reporting",
            "`log_error_verbosity` (`enum`)\n\nControls…"
        ));
        let titled = named_identifier("setting DEFAULT_AUTO_FIELD").unwrap();
        assert!(defines(&titled, "Settings › Core Settings › `DEFAULT_AUTO_FIELD`", "Default: x."));
        // Titled plainly, with the value it is set to (SQLite's compile-time options); another
        // option of the same family is not it.
        let option = named_identifier("SQLITE_DEFAULT_CACHE_SIZE").unwrap();
        let entry = "Options › SQLITE_DEFAULT_CACHE_SIZE=<N>";
        assert!(defines(&option, entry, "This macro sets the default size of the page-cache."));
        assert!(!defines(
            &option,
            "Options › SQLITE_DEFAULT_PAGE_SIZE=<bytes>",
            "Sets the page size."
        ));
        assert!(!defines(&option, "Options › Cache size", "The cache."));
        let lower = named_identifier("sqlite_default_cache_size").unwrap();
        assert!(defines(&lower, entry, "This macro sets the default size of the page-cache."));
        let structure = named_identifier("SDL_version").unwrap();
        assert!(!defines(&structure, "SDL_VERSION", "Value: (x)->major = SDL_MAJOR_VERSION;"));
        // A section titled by the word in prose is about it, not its definition.
        let engine = named_identifier("template.Engine").unwrap();
        assert!(!defines(&engine, "Templates › Engine", "A template engine renders."));

        let function = named_identifier("pg_promote").unwrap();
        let row =
            "| pg_promote ( wait boolean DEFAULT true ) → boolean Promotes a standby server. |";
        assert!(defines(&function, "Functions", row));
        assert!(defines(&function, "Functions", "| `pg_promote`( wait boolean ) → boolean |"));
        let bare = named_identifier("current_user").unwrap();
        assert!(defines(&bare, "Functions", "| current_user → name Returns the user name. |"));
        // A view's column of the same name, or a row that mentions the function, is not.
        let column = named_identifier("last_value").unwrap();
        assert!(!defines(&column, "pg_sequences", "| last_value int8 The last value written. |"));
        assert!(!defines(&function, "Failover", "| see pg_promote ( ) | the standby |"));
        assert!(!defines(&function, "Functions", "| pg_promote_all ( ) → void |"));
    }

    #[test]
    fn a_table_that_describes_its_entries_defines_them_and_a_list_of_keywords_does_not() {
        let types = "Table 8.2. Numeric Types\n\n| Name | Storage Size | Description |\n| --- | --- | --- |\n\
                     | smallint | 2 bytes | small-range integer |\n| bigint | 8 bytes | large-range integer |";
        assert!(defines_in_table("bigint", types));
        assert!(!defines_in_table("integer", types), "named in a description, not an entry");
        assert!(!defines_in_table("name", types), "the header names the columns");
        let spellings = "| Name | Description |\n| --- | --- |\n\
                         | character varying(n), varchar(n) | variable-length with limit |\n\
                         | text | variable unlimited length |";
        assert!(defines_in_table("varchar", spellings));
        // A call's arguments are not other spellings of it.
        let calls = "| Object Name | Description |\n| --- | --- |\n\
                     | delete(table[, whereclause, bind, returning, ...], **kw) | Construct Delete object. |\n\
                     | insert(table[, values, inline, bind, ...], **kw) | Construct an Insert object. |";
        assert!(defines_in_table("delete", calls));
        assert!(!defines_in_table("returning", calls), "an argument, not an entry");
        let keywords = "| LIKE | reserved (can be function or type) | reserved |\n\
                        | LIMIT | non-reserved | reserved |\n| LISTEN | non-reserved | |\n\
                        | LOAD | non-reserved | |\n| LOCAL | non-reserved | reserved |\n\
                        | LOCK | non-reserved | |\n| LOCKED | non-reserved | |\n\
                        | LOGGED | non-reserved | |\n| MAPPING | non-reserved | |\n\
                        | MATCH | non-reserved | reserved |";
        assert!(!defines_in_table("like", keywords));
        // Two tables in one chunk are judged apart.
        assert!(defines_in_table("bigint", &format!("{keywords}\n\nText.\n\n{types}")));
        assert!(!defines_in_table("bigint", "The `bigint` type | is large."));
        let aggregates =
            "| max ( see text ) → see text Computes the maximum of the non-null input values. |";
        assert!(defines_in_table("max", aggregates));
        assert!(!defines_in_table("max", "| max_connections | 100 | the most connections |"));
    }

    #[test]
    fn a_glossary_entry_is_the_term_alone_on_its_line_before_a_sentence_about_it() {
        let glossary = "concrete model\n\nA non-abstract (`abstract=False`) model.\n\n\
                        field\n\nAn attribute on a model; a given field maps to a column.";
        assert!(defines_in_list("field", glossary));
        assert!(defines_in_list("concrete model", glossary));
        assert!(!defines_in_list("model", glossary), "only in others' lines");
        assert!(!defines_in_list("field", "field\n\n`x`"), "no sentence after it");
        assert!(!defines_in_list("field", "field"));
        let accented = "Élan\n\nA quality of style.\n\nfield\n\nAn attribute on a model.";
        assert!(defines_in_list("élan", accented));
        // The sense a glossary adds in brackets is not part of the term.
        let senses =
            "Backend (process)\n\nProcess of an instance which acts on behalf of a client.";
        assert!(defines_in_list("backend", senses) && defines_in_list("backend (process)", senses));
        assert!(!defines_in_list("process", senses));
        // Other names for the entry, each on its line, between the term and its description.
        let names = "bound parameter\n\nbound parameters\n\nbind parameter\n\n\
                     A value sent to the database alongside a statement.";
        // A callout's title left at the end of the entry before is not another name.
        let callout = "See also\n\nbidirectional relationship\n\nAn extension to relationships.";
        assert!(!defines_in_list("see also", callout));
        assert!(defines_in_list("bidirectional relationship", callout));
        for name in ["bound parameter", "bound parameters", "bind parameter"] {
            assert!(defines_in_list(name, names), "{name}");
        }
        let forms = "constraint\n\nconstrained\n\nRules that ensure the validity of data.";
        assert!(defines_in_list("constraint", forms));
        // A field's name over a line of code is no entry, nor a line of code in a block.
        let format = "Commit\n\nByte1('C')\n\nIdentifies the message as a commit message.";
        assert!(!defines_in_list("commit", format));
        let code = "```\nprintf (\"%d\", n)\nelse\nprintf (\"prime\\n\", n);\n```";
        assert!(!defines_in_list("printf", code));
        let query = PageQuery::new("Generic View");
        assert_eq!(query.term.as_deref(), Some("generic view"));
        assert_eq!(PageQuery::new("how do I write a generic view").term, None);
        assert_eq!(PageQuery::new("User.get_full_name").term, None);
    }
}
