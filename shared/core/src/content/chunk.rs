//! Heading-aware chunking of extracted content within a token budget.
//!
//! Each heading starts a section; a chunk never spans two sections, so its heading path and anchor
//! are exact. Blocks (paragraphs, code blocks, table rows) are kept whole unless one alone exceeds
//! the budget. A short tail of the previous chunk is repeated at the start of the next (overlap) so
//! that a sentence cut at a chunk boundary is still found with its context.

use crate::content::extract::{Block, BlockKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkingOptions {
    /// Target size of a chunk, in estimated tokens.
    pub max_tokens: usize,
    /// Tokens of the previous chunk repeated at the start of the next one within a section.
    pub overlap_tokens: usize,
}

impl Default for ChunkingOptions {
    fn default() -> Self {
        ChunkingOptions { max_tokens: 350, overlap_tokens: 40 }
    }
}

/// A piece of a page that is indexed and cited on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Position of the chunk within its page.
    pub ordinal: usize,
    /// Headings from the page's top to this section, e.g. `["Install", "From source"]`.
    pub heading_path: Vec<String>,
    /// Fragment of the section's heading, for deep links.
    pub anchor: Option<String>,
    /// Markdown text of the chunk.
    pub text: String,
}

impl Chunk {
    pub fn heading(&self) -> String {
        self.heading_path.join(" › ")
    }
}

/// Estimates tokens the way BPE tokenizers behave on English prose: about 4 characters or 0.75
/// words a token; the larger of the two estimates keeps code and long words from being
/// undercounted.
pub fn estimate_tokens(text: &str) -> usize {
    let words = text.split_whitespace().count();
    let chars = text.chars().count();
    (words * 4).div_ceil(3).max(chars.div_ceil(4))
}

/// Splits a page's blocks into chunks.
pub fn chunk_blocks(blocks: &[Block], options: ChunkingOptions) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut path: Vec<(u8, String)> = Vec::new();
    let mut anchor: Option<String> = None;
    let mut section: Vec<&Block> = Vec::new();
    for block in blocks {
        if let BlockKind::Heading(level) = block.kind {
            emit_section(&section, &path, &anchor, options, &mut chunks);
            section.clear();
            path.retain(|(l, _)| *l < level);
            path.push((level, block.text.clone()));
            anchor = block.anchor.clone();
        } else {
            section.push(block);
        }
    }
    emit_section(&section, &path, &anchor, options, &mut chunks);
    chunks
}

fn emit_section(
    blocks: &[&Block], path: &[(u8, String)], anchor: &Option<String>, options: ChunkingOptions,
    chunks: &mut Vec<Chunk>,
) {
    if blocks.is_empty() {
        return;
    }
    let heading_path: Vec<String> = path.iter().map(|(_, t)| t.clone()).collect();
    let mut pieces: Vec<(BlockKind, String)> = Vec::new();
    for block in blocks {
        if estimate_tokens(&block.text) <= options.max_tokens {
            pieces.push((block.kind, block.text.clone()));
        } else {
            let parts = match block.kind {
                BlockKind::Code => split_code(&block.text, options.max_tokens),
                _ => split_oversized(&block.text, options.max_tokens),
            };
            pieces.extend(parts.into_iter().map(|t| (block.kind, t)));
        }
    }
    let mut current: Vec<(BlockKind, String)> = Vec::new();
    let mut current_tokens = 0;
    let mut fresh = 0; // pieces in `current` that are not overlap
    for (kind, text) in pieces {
        let tokens = estimate_tokens(&text);
        if fresh > 0 && current_tokens + tokens > options.max_tokens {
            let overlap = overlap_tail(&current, options.overlap_tokens);
            chunks.push(make_chunk(chunks.len(), &heading_path, anchor, &current));
            // The overlap is kept only if it leaves room for the next piece.
            current = overlap
                .filter(|(_, o)| estimate_tokens(o) + tokens <= options.max_tokens)
                .map(|o| vec![o])
                .unwrap_or_default();
            current_tokens = current.iter().map(|(_, t)| estimate_tokens(t)).sum();
            fresh = 0;
        }
        current_tokens += tokens;
        current.push((kind, text));
        fresh += 1;
    }
    if fresh > 0 {
        chunks.push(make_chunk(chunks.len(), &heading_path, anchor, &current));
    }
}

fn make_chunk(
    ordinal: usize, path: &[String], anchor: &Option<String>, pieces: &[(BlockKind, String)],
) -> Chunk {
    let mut text = String::new();
    for (i, (kind, piece)) in pieces.iter().enumerate() {
        if i > 0 {
            let tight = pieces[i - 1].0 == *kind
                && matches!(kind, BlockKind::ListItem | BlockKind::TableRow);
            text.push_str(if tight { "\n" } else { "\n\n" });
        }
        text.push_str(piece);
    }
    Chunk { ordinal, heading_path: path.to_vec(), anchor: anchor.clone(), text }
}

/// The last sentence(s) of the chunk being closed, if they fit the overlap budget. Code is never
/// repeated: half a code block as context misleads more than it helps.
fn overlap_tail(pieces: &[(BlockKind, String)], budget: usize) -> Option<(BlockKind, String)> {
    let (kind, last) = pieces.last()?;
    if budget == 0 || *kind == BlockKind::Code {
        return None;
    }
    let mut tail = String::new();
    for sentence in split_sentences(last).into_iter().rev() {
        let candidate =
            if tail.is_empty() { sentence.to_string() } else { format!("{sentence} {tail}") };
        if estimate_tokens(&candidate) > budget {
            break;
        }
        tail = candidate;
    }
    (!tail.is_empty()).then_some((BlockKind::Paragraph, tail))
}

/// Splits an oversized code block by lines into code blocks of its own fences and language: each
/// part is shown, quoted and given to a model on its own, and a part whose fence opened in another
/// chunk would read as prose ending in a fence that opens.
fn split_code(text: &str, max_tokens: usize) -> Vec<String> {
    let Some((open, body, close)) = code_fences(text) else {
        return split_oversized(text, max_tokens);
    };
    // The fences' lines and the two line breaks around the body, with a token to spare for the
    // estimate's rounding.
    let fences = estimate_tokens(open) + estimate_tokens(close) + 2;
    let budget = max_tokens.saturating_sub(fences).max(1);
    split_oversized(body, budget)
        .into_iter()
        .map(|part| format!("{open}\n{part}\n{close}"))
        .collect()
}

/// A fenced code block's opening line (the fence and its language), body and closing fence.
pub(crate) fn code_fences(text: &str) -> Option<(&str, &str, &str)> {
    let (open, rest) = text.split_once('\n')?;
    let (body, close) = rest.rsplit_once('\n')?;
    let fence = fence_of(open)?;
    (close.trim_end() == fence).then_some((open, body, close))
}

/// The fence a code block's opening line starts with (three or more backticks or tildes), which
/// closes it alone on a line.
pub fn fence_of(open: &str) -> Option<&str> {
    let fence = &open[..open.len() - open.trim_start_matches(['`', '~']).len()];
    (fence.len() >= 3).then_some(fence)
}

/// Splits one oversized block: by lines first (keeps code lines intact), then by words.
fn split_oversized(text: &str, max_tokens: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let units: Vec<String> = text
        .lines()
        .flat_map(|line| {
            if estimate_tokens(line) <= max_tokens {
                vec![line.to_string()]
            } else {
                split_words(line, max_tokens)
            }
        })
        .collect();
    for unit in units {
        let candidate_len = estimate_tokens(&current) + estimate_tokens(&unit);
        if !current.is_empty() && candidate_len > max_tokens {
            parts.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(&unit);
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

fn split_words(line: &str, max_tokens: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    for word in line.split_whitespace() {
        if !current.is_empty() && estimate_tokens(&current) + estimate_tokens(word) > max_tokens {
            parts.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        // A single "word" longer than the budget (minified text) is cut by characters.
        if estimate_tokens(word) > max_tokens {
            let chars: Vec<char> = word.chars().collect();
            for piece in chars.chunks(max_tokens * 4) {
                parts.push(piece.iter().collect());
            }
            continue;
        }
        current.push_str(word);
    }
    if !current.trim().is_empty() {
        parts.push(current);
    }
    parts
}

/// Splits text into sentences at `.`, `!` or `?` followed by whitespace, and at line breaks.
pub fn split_sentences(text: &str) -> Vec<&str> {
    let mut sentences = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (i, &(pos, c)) in chars.iter().enumerate() {
        let next_is_space = chars.get(i + 1).is_none_or(|(_, n)| n.is_whitespace());
        let boundary = c == '\n' || (matches!(c, '.' | '!' | '?') && next_is_space);
        if boundary {
            let end = pos + c.len_utf8();
            let sentence = text[start..end].trim();
            if !sentence.is_empty() {
                sentences.push(sentence);
            }
            start = end;
        }
    }
    let rest = text[start..].trim();
    if !rest.is_empty() {
        sentences.push(rest);
    }
    sentences
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(kind: BlockKind, text: &str) -> Block {
        Block { kind, text: text.into(), anchor: None }
    }

    fn heading(level: u8, text: &str, anchor: &str) -> Block {
        Block { kind: BlockKind::Heading(level), text: text.into(), anchor: Some(anchor.into()) }
    }

    #[test]
    fn sections_become_chunks_with_heading_paths() {
        let blocks = vec![
            block(BlockKind::Paragraph, "Intro before any heading."),
            heading(1, "Guide", "guide"),
            block(BlockKind::Paragraph, "Guide text."),
            heading(2, "Install", "install"),
            block(BlockKind::Paragraph, "Install text."),
            heading(2, "Configure", "configure"),
            block(BlockKind::ListItem, "- a"),
            block(BlockKind::ListItem, "- b"),
            heading(3, "Empty section", "empty"),
        ];
        let chunks = chunk_blocks(&blocks, ChunkingOptions::default());
        let summary: Vec<_> =
            chunks.iter().map(|c| (c.heading(), c.anchor.clone(), c.text.clone())).collect();
        assert_eq!(
            summary,
            vec![
                (String::new(), None, "Intro before any heading.".into()),
                ("Guide".into(), Some("guide".into()), "Guide text.".into()),
                ("Guide › Install".into(), Some("install".into()), "Install text.".into()),
                ("Guide › Configure".into(), Some("configure".into()), "- a\n- b".into()),
            ]
        );
        assert_eq!(chunks.iter().map(|c| c.ordinal).collect::<Vec<_>>(), vec![0, 1, 2, 3]);
    }

    #[test]
    fn long_sections_split_within_budget_with_overlap() {
        let paragraph =
            |n: usize| format!("Paragraph {n} talks about topic {n}. It ends with sentence {n}.");
        let blocks: Vec<Block> =
            (0..40).map(|n| block(BlockKind::Paragraph, &paragraph(n))).collect();
        let options = ChunkingOptions { max_tokens: 60, overlap_tokens: 10 };
        let chunks = chunk_blocks(&blocks, options);
        assert!(chunks.len() > 5);
        for chunk in &chunks {
            assert!(
                estimate_tokens(&chunk.text) <= options.max_tokens,
                "{} tokens",
                estimate_tokens(&chunk.text)
            );
        }
        // Every paragraph survives, and each chunk after the first starts with the previous one's
        // last sentence.
        let all: String = chunks.iter().map(|c| c.text.as_str()).collect::<Vec<_>>().join("\n");
        for n in 0..40 {
            assert!(all.contains(&paragraph(n)), "paragraph {n} lost");
        }
        for pair in chunks.windows(2) {
            let last_sentence = *split_sentences(&pair[0].text).last().unwrap();
            assert!(
                pair[1].text.starts_with(last_sentence),
                "no overlap between {:?} and {:?}",
                pair[0].text,
                pair[1].text
            );
        }
    }

    #[test]
    fn overlap_never_pushes_a_chunk_over_budget() {
        // A piece that exactly fills the budget leaves no room for the previous chunk's tail.
        let options = ChunkingOptions { max_tokens: 40, overlap_tokens: 10 };
        let full = "word ".repeat(30).trim().to_string(); // 40 tokens
        let blocks = vec![
            block(BlockKind::Paragraph, "Short lead sentence here."),
            block(BlockKind::Paragraph, &full),
        ];
        for chunk in chunk_blocks(&blocks, options) {
            assert!(
                estimate_tokens(&chunk.text) <= options.max_tokens,
                "{} tokens: {:?}",
                estimate_tokens(&chunk.text),
                chunk.text
            );
        }
    }

    #[test]
    fn code_blocks_stay_whole_when_they_fit() {
        let code = format!(
            "```\n{}\n```",
            (0..10).map(|i| format!("let x{i} = {i};")).collect::<Vec<_>>().join("\n")
        );
        let blocks = vec![
            block(BlockKind::Paragraph, &"word ".repeat(30)),
            block(BlockKind::Code, &code),
            block(BlockKind::Paragraph, "after"),
        ];
        let chunks = chunk_blocks(&blocks, ChunkingOptions { max_tokens: 80, overlap_tokens: 0 });
        assert!(chunks.iter().any(|c| c.text.contains(&code)), "code block was split: {chunks:#?}");
    }

    #[test]
    fn an_oversized_code_block_is_split_into_code_blocks_of_its_own_fences() {
        let lines: Vec<String> = (0..60).map(|i| format!("    let x{i} = f({i});")).collect();
        let body = lines.join("\n");
        for fence in ["```", "~~~~"] {
            let code = format!("{fence}rust\n{body}\n{fence}");
            let options = ChunkingOptions { max_tokens: 80, overlap_tokens: 10 };
            let chunks = chunk_blocks(&[block(BlockKind::Code, &code)], options);
            assert!(chunks.len() > 2, "{chunks:#?}");
            let mut seen = Vec::new();
            for chunk in &chunks {
                assert!(estimate_tokens(&chunk.text) <= options.max_tokens, "{:?}", chunk.text);
                let inner = chunk.text.strip_prefix(&format!("{fence}rust\n"));
                let inner = inner.and_then(|rest| rest.strip_suffix(&format!("\n{fence}")));
                let inner =
                    inner.unwrap_or_else(|| panic!("not one fenced block: {:?}", chunk.text));
                seen.extend(inner.lines().map(str::to_string));
            }
            assert_eq!(seen, lines, "every line once, in order");
        }
    }

    #[test]
    fn oversized_blocks_are_split_by_lines_then_words() {
        let huge = "x".repeat(5000);
        let chunks = chunk_blocks(
            &[block(BlockKind::Paragraph, &huge)],
            ChunkingOptions { max_tokens: 100, overlap_tokens: 0 },
        );
        assert!(chunks.len() >= 12);
        assert_eq!(chunks.iter().map(|c| c.text.len()).sum::<usize>(), 5000);
    }

    #[test]
    fn sentences() {
        assert_eq!(
            split_sentences("One. Two? Three!\nFour 3.5 five"),
            vec!["One.", "Two?", "Three!", "Four 3.5 five"]
        );
    }
}
