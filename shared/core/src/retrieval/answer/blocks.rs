//! Quote units: a section's markdown split into prose, code, lists and tables.

use crate::content::chunk::code_fences;
use crate::retrieval::pages::definitions::{
    defines_option, describes_a_term, help_entry, option_entry,
};
use crate::retrieval::pages::query::is_version;

/// What kind of markdown block a unit of a quote is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BlockKind {
    Prose,
    Code,
    List,
    Table,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Block {
    pub(super) kind: BlockKind,
    pub(super) text: String,
}

impl Block {
    pub(super) fn words(&self) -> usize {
        self.text.split_whitespace().count()
    }
    /// A sentence ending in `:` introduces what follows (a command, a list, a table).
    pub(super) fn introduces(&self) -> bool {
        self.kind == BlockKind::Prose && self.text.trim_end().ends_with(':')
    }

    /// A table of versions and what each changed (Node.js's "History" under each entry: `| v15.7.0,
    /// v14.18.0 | Introduced base64url encoding. |`): every row after the header opens with a
    /// version.
    pub(super) fn is_version_history(&self) -> bool {
        let rows: Vec<&str> = self.text.lines().skip(2).collect();
        self.kind == BlockKind::Table
            && !rows.is_empty()
            && rows.iter().all(|row| {
                let first = row.trim_start_matches('|').split('|').next().unwrap_or("");
                first.split([',', ' ']).any(is_version)
            })
    }

    /// A command reference's entry for an option: each line an option with its argument or another
    /// spelling (`` `--eval code` ``, `` `-c` <command> ``, `-f, --force`; psql's `` `-c command` ``
    /// over `` `--command=command` ``), whose description is the block after it.
    pub(super) fn is_option_entry(&self) -> bool {
        self.kind == BlockKind::Prose && self.text.lines().all(|line| option_entry(line).is_some())
    }

    /// The entry for `option` in a code block that is a command's help listing (`pytest --help`).
    pub(super) fn help_entry(&self, option: &str) -> Option<String> {
        let (_, code, _) = code_fences(&self.text).filter(|_| self.kind == BlockKind::Code)?;
        help_entry(code, option)
    }

    /// An option's entry that names `option` among its spellings.
    pub(super) fn is_entry_of(&self, option: &str) -> bool {
        self.is_option_entry() && defines_option(option, &self.text)
    }

    /// A definition list's term: a short line of its own (a glossary's "slug", "generic view"),
    /// not a signature. A callout's title ("Note") reads the same.
    pub(super) fn is_term_shaped(&self) -> bool {
        let line = self.text.trim();
        self.kind == BlockKind::Prose
            && !line.contains('\n')
            && !line.ends_with(['.', ',', ';', ':', '!', '?'])
            && (1..=5).contains(&self.words())
            && !self.is_signature()
    }

    /// The sentence that describes a definition list's term, after it.
    pub(super) fn describes_a_term(&self) -> bool {
        self.kind == BlockKind::Prose && describes_a_term(&self.text)
    }

    /// A line that names a code object on its own: an API reference's entry, whose description is
    /// the block after it (`str.join(iterable)`, `sys.argv`, `class dict(**kwargs)`,
    /// `` `send_mail`(subject, message, …) ``). Without it, "Return a list of the words…" does not
    /// say what returns it.
    pub(super) fn is_signature(&self) -> bool {
        let line = self.text.trim();
        if self.is_option_entry() {
            return true;
        }
        if self.kind != BlockKind::Prose
            || line.contains('\n')
            || line.ends_with(['.', '!', '?', ':'])
        {
            return false;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(first) = words.first() else { return false };
        // A declaration's keyword (`class`, `exception`) may come before the name.
        is_code_name(first)
            || (first.chars().all(|c| c.is_ascii_lowercase())
                && words.get(1).is_some_and(|second| is_code_name(second)))
            || is_c_declaration(&words)
    }
}

/// Whether `words` declare a C function: a return type of a few words, then the function's name
/// marked as code and its parameters, which end the line (`PyInterpreterState
/// *`PyInterpreterState_New`()`, `const char *`PyUnicode_AsUTF8`(PyObject *unicode)`).
fn is_c_declaration(words: &[&str]) -> bool {
    if !words.last().is_some_and(|last| last.ends_with(')')) {
        return false;
    }
    let type_word = |word: &str| {
        let word = word.trim_matches('*');
        !word.is_empty() && word.chars().all(|c| c.is_alphanumeric() || c == '_')
    };
    (1..words.len().min(4)).any(|at| {
        let marked = words[at].trim_start_matches('*');
        let called = marked.strip_prefix('`').and_then(|rest| rest.split_once('`')).is_some_and(
            |(name, after)| !name.is_empty() && !name.contains(' ') && after.starts_with('('),
        );
        called && words[..at].iter().all(|word| type_word(word))
    })
}

/// Whether `word` starts with a name written as code: called (`filename(`), qualified
/// (`sys.argv`), joined by underscores (`get_object_or_404`) or marked as code (`` `send_mail` ``).
fn is_code_name(word: &str) -> bool {
    let bare = word.trim_start_matches('`');
    let end =
        bare.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.')).unwrap_or(bare.len());
    let (name, rest) = bare.split_at(end);
    let name = name.trim_end_matches('.');
    if name.is_empty() || !name.starts_with(|c: char| c.is_alphabetic() || c == '_') {
        return false;
    }
    let rest = rest.trim_start_matches('`');
    rest.starts_with('(')
        || word.starts_with('`')
        || (name.contains('.') && name.split('.').all(|part| !part.is_empty()))
        || (name.contains('_') && rest.is_empty())
}

/// Splits markdown into blocks at blank lines, keeping fenced code whole.
pub(super) fn blocks_of(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut fence: Option<&str> = None;
    let flush = |lines: &mut Vec<&str>, blocks: &mut Vec<Block>| {
        if lines.is_empty() {
            return;
        }
        let text = lines.join("\n");
        lines.clear();
        let kind = if text.starts_with("```") || text.starts_with("~~~") {
            BlockKind::Code
        } else if text.starts_with('|') {
            BlockKind::Table
        } else if text.lines().all(is_list_item) {
            BlockKind::List
        } else {
            BlockKind::Prose
        };
        blocks.push(Block { kind, text });
    };
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(open) = fence {
            current.push(line);
            if trimmed.starts_with(open) && trimmed.trim_start_matches(['`', '~']).trim().is_empty()
            {
                fence = None;
                flush(&mut current, &mut blocks);
            }
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            flush(&mut current, &mut blocks);
            fence = Some(&trimmed[..3]);
            current.push(line);
            continue;
        }
        if trimmed.is_empty() {
            flush(&mut current, &mut blocks);
        } else {
            current.push(line);
        }
    }
    if fence.is_some() {
        // An unclosed fence (the page's code ran past a chunk) is closed so the quote renders.
        current.push("```");
    }
    flush(&mut current, &mut blocks);
    blocks
}

fn is_list_item(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with("- ")
        || line.starts_with("* ")
        || line
            .split_once(". ")
            .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The share of a block's visible text that is link text: a block that is mostly links is
/// navigation (a table of contents, "see also"), not an answer.
pub(super) fn link_share(text: &str) -> f64 {
    let (mut linked, mut visible) = (0usize, 0usize);
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        visible += rest[..open].chars().filter(|c| !c.is_whitespace()).count();
        let after = &rest[open + 1..];
        match after
            .find("](")
            .and_then(|close| after[close + 2..].find(')').map(|end| (close, close + 2 + end + 1)))
        {
            Some((close, end)) => {
                let label = after[..close].chars().filter(|c| !c.is_whitespace()).count();
                linked += label;
                visible += label;
                rest = &after[end..];
            }
            None => {
                rest = after;
            }
        }
    }
    visible += rest.chars().filter(|c| !c.is_whitespace()).count();
    if visible == 0 {
        0.0
    } else {
        linked as f64 / visible as f64
    }
}

/// Blocks worth quoting: not navigation, and prose that says something or names what the next
/// block says something about.
pub(super) fn quotable(block: &Block) -> bool {
    match block.kind {
        BlockKind::Code => true,
        _ => link_share(&block.text) < 0.5 && (block.words() >= 3 || block.is_signature()),
    }
}
