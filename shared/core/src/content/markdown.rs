//! Markdown and plain-text pages as blocks, the same shape HTML extraction produces.

use crate::content::extract::{Block, BlockKind};

/// Splits markdown into heading, code and paragraph blocks (enough structure for chunking).
pub fn markdown_blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut paragraph: Vec<&str> = Vec::new();
    let mut code: Option<Vec<&str>> = None;
    let flush = |paragraph: &mut Vec<&str>, blocks: &mut Vec<Block>| {
        if !paragraph.is_empty() {
            blocks.push(Block {
                kind: BlockKind::Paragraph,
                text: paragraph.join("\n"),
                anchor: None,
            });
            paragraph.clear();
        }
    };
    for line in text.lines() {
        let trimmed = line.trim_end();
        if let Some(lines) = &mut code {
            lines.push(trimmed);
            if trimmed.starts_with("```") && lines.len() > 1 {
                blocks.push(Block { kind: BlockKind::Code, text: lines.join("\n"), anchor: None });
                code = None;
            }
            continue;
        }
        if trimmed.starts_with("```") {
            flush(&mut paragraph, &mut blocks);
            code = Some(vec![trimmed]);
        } else if let Some(level) = heading_level(trimmed) {
            flush(&mut paragraph, &mut blocks);
            let text = trimmed[level as usize..].trim().trim_end_matches('#').trim().to_string();
            let anchor = slug(&text);
            blocks.push(Block { kind: BlockKind::Heading(level), text, anchor: Some(anchor) });
        } else if trimmed.trim().is_empty() {
            flush(&mut paragraph, &mut blocks);
        } else {
            paragraph.push(trimmed);
        }
    }
    if let Some(lines) = code {
        blocks.push(Block { kind: BlockKind::Code, text: lines.join("\n"), anchor: None });
    }
    flush(&mut paragraph, &mut blocks);
    blocks
}

fn heading_level(line: &str) -> Option<u8> {
    let hashes = line.bytes().take_while(|&b| b == b'#').count();
    ((1..=6).contains(&hashes) && line.as_bytes().get(hashes) == Some(&b' '))
        .then_some(hashes as u8)
}

/// GitHub-style heading slug, the anchor most markdown renderers generate.
fn slug(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .filter_map(|c| match c {
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            ' ' => Some('-'),
            _ => None,
        })
        .collect()
}

/// Plain text: paragraphs separated by blank lines.
pub fn plain_text_blocks(text: &str) -> Vec<Block> {
    text.split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| Block { kind: BlockKind::Paragraph, text: p.to_string(), anchor: None })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_and_plain_text() {
        let blocks = markdown_blocks(
            "# Title\n\nIntro line\nsecond line\n\n## Install It\n\n```sh\n# not a heading\n```\n",
        );
        let kinds: Vec<_> =
            blocks.iter().map(|b| (b.kind, b.text.as_str(), b.anchor.as_deref())).collect();
        assert_eq!(
            kinds,
            vec![
                (BlockKind::Heading(1), "Title", Some("title")),
                (BlockKind::Paragraph, "Intro line\nsecond line", None),
                (BlockKind::Heading(2), "Install It", Some("install-it")),
                (BlockKind::Code, "```sh\n# not a heading\n```", None),
            ]
        );
        assert_eq!(plain_text_blocks("a\n\n\n b \n\n").len(), 2);
    }
}
