//! How much visible text each element holds, how much of it is links, and what each text block
//! weighs for or against being content.

use crate::content::html::Token;

use super::tree::{block_of, is_heading, is_link, is_outward_link, name_of, Element, Furniture};

/// The longest block that counts whole as a link entry when it holds a link: a table of contents
/// line or an index entry with its page titles, not a paragraph.
const SHORT_LINK_ENTRY_CHARS: usize = 120;

/// Whether a block or list entry of `chars` visible characters, `links` of them link text, is a link
/// entry: short, and at least a quarter links ("initdb, Creating a Database Cluster"), unlike a
/// sentence that links one word.
fn is_link_entry(chars: usize, links: usize) -> bool {
    chars <= SHORT_LINK_ENTRY_CHARS && links * 4 >= chars && links > 0
}

/// Letters outside links from which a short block with punctuation is a sentence that links a
/// few of its words ("Definition at line 68 of file SDL_messagebox.h.", Doxygen's line under
/// every field), not a link entry: an index entry's own words are a name ("initdb,"), a table of
/// contents line has none.
const SENTENCE_OWN_LETTERS: usize = 16;

/// Whether a block with `unlinked_letters` letters outside its links and `punctuation` marks reads
/// as a sentence of its own.
fn is_sentence(unlinked_letters: usize, punctuation: usize) -> bool {
    unlinked_letters >= SENTENCE_OWN_LETTERS && punctuation > 0
}

/// The least words of a teaser's headline: a title, not a name (Doxygen's tooltips are a linked
/// name over its declaration).
const TEASER_HEADLINE_WORDS: usize = 3;
/// The most visible characters of a teaser's summary: a line or two.
const TEASER_SUMMARY_CHARS: usize = 300;

/// Visible text counted by the element that directly holds it, or by the block it is in.
#[derive(Debug, Clone, Copy, Default)]
struct TextCount {
    /// Characters other than whitespace, and those inside links.
    chars: usize,
    links: usize,
    /// Letters and digits, and those inside links.
    letters: usize,
    link_letters: usize,
    /// Sentence and clause marks.
    punctuation: usize,
    words: usize,
}

impl TextCount {
    fn add(&mut self, other: &TextCount) {
        self.chars += other.chars;
        self.links += other.links;
        self.letters += other.letters;
        self.link_letters += other.link_letters;
        self.punctuation += other.punctuation;
        self.words += other.words;
    }

    /// Whether this much text reads as a sentence of its own.
    fn is_sentence(&self) -> bool {
        is_sentence(self.letters - self.link_letters, self.punctuation)
    }
}

/// Counts visible text into the elements and weighs each text block.
pub(super) fn measure(tokens: &[Token<'_>], elements: &mut [Element]) {
    let (own, opens_with_link) = own_text(tokens, elements);
    // Weigh each block by the text whose innermost block it is, then sum up the tree (children
    // come after their parents).
    let block_of: Vec<usize> =
        (0..elements.len()).map(|index| block_of(tokens, elements, index)).collect();
    let mut blocks = vec![TextCount::default(); elements.len()];
    for (index, text) in own.iter().enumerate() {
        blocks[block_of[index]].add(text);
    }
    for summary in teaser_summaries(elements, &block_of, &blocks, &opens_with_link) {
        blocks[summary].links = blocks[summary].chars;
    }
    for index in (0..elements.len()).rev() {
        let (text, block) = (&own[index], &blocks[index]);
        // A parent comes before its children: it is in `before`.
        let (before, rest) = elements.split_at_mut(index);
        let element = &mut rest[0];
        element.chars += text.chars;
        element.link_chars += text.links;
        element.letters += text.letters;
        element.link_letters += text.link_letters;
        let name = name_of(tokens, index, element);
        // A heading names its section: its links (a self-anchor, the types in an API
        // signature) do not make it an entry of a list of links.
        element.link_list_chars += if is_heading(name) {
            0
        } else if !block.is_sentence() && is_link_entry(block.chars, block.links) {
            block.chars
        } else {
            block.links
        };
        // An entry of a list or table (a module index row: the linked name in one cell, a line
        // of description in the next) is one link entry when short, whatever its blocks, if a
        // quarter of it is links or it opens with a link to another page (`pdb`, then "The
        // Python debugger for interactive interpreters.").
        let short = element.chars <= SHORT_LINK_ENTRY_CHARS;
        if matches!(name, "li" | "dt" | "dd" | "tr")
            && (is_link_entry(element.chars, element.link_chars)
                || short && opens_with_link[index] == Some(true))
        {
            element.link_list_chars = element.chars;
        }
        element.weight += block_weight(name, block.chars, block.links, block.punctuation);
        // Prose inside furniture (reader comments, an "about" box) is the furniture's own: it
        // counts for the element itself but only a little for the elements around it, so that
        // a long comment thread does not pull the root out of the article. Not for the page's
        // outer elements, whose class names say little (`<body class="no-sidebar">`).
        let carried = if element.signal != Furniture::None
            && element.weight > 0.0
            && !matches!(name, "html" | "body" | "main" | "article")
        {
            element.weight * 0.2
        } else {
            element.weight
        };
        if let Some(parent) = element.parent {
            before[parent].add_child(element, carried);
        }
    }
}

/// The visible text each element holds directly (not inside a child element), and whether its
/// first visible text (its own or a descendant's) is the text of a link to another page.
fn own_text(tokens: &[Token<'_>], elements: &[Element]) -> (Vec<TextCount>, Vec<Option<bool>>) {
    let mut own = vec![TextCount::default(); elements.len()];
    let mut opens_with_link: Vec<Option<bool>> = vec![None; elements.len()];
    let mut open: Vec<usize> = vec![0];
    let (mut links_open, mut outward_links_open) = (0usize, 0usize);
    let mut next = 1usize;
    for (i, token) in tokens.iter().enumerate() {
        while open.len() > 1 && open.last().is_some_and(|&e| elements[e].end <= i) {
            let closed = open.pop().unwrap();
            if is_link(&tokens[elements[closed].start]) {
                links_open = links_open.saturating_sub(1);
                if is_outward_link(&tokens[elements[closed].start]) {
                    outward_links_open = outward_links_open.saturating_sub(1);
                }
            }
        }
        match token {
            Token::Start { .. } if next < elements.len() && elements[next].start == i => {
                if elements[next].after > i + 1 {
                    open.push(next);
                    if is_link(token) {
                        links_open += 1;
                        outward_links_open += usize::from(is_outward_link(token));
                    }
                }
                next += 1;
            }
            Token::Text(text) => {
                let Some(&holder) = open.last() else { continue };
                if elements[holder].invisible {
                    continue;
                }
                let chars = text.chars().filter(|c| !c.is_whitespace()).count();
                let letters = text.chars().filter(|c| c.is_alphanumeric()).count();
                let linked = links_open > 0;
                own[holder].add(&TextCount {
                    chars,
                    links: if linked { chars } else { 0 },
                    letters,
                    link_letters: if linked { letters } else { 0 },
                    punctuation: text.matches(['.', '!', '?', ';', ':', ',', '。']).count(),
                    words: text.split_whitespace().count(),
                });
                // The elements this is the first text of (an element's first text is also the
                // first of every element around it that had none yet).
                if chars > 0 {
                    let mut at = Some(holder);
                    while let Some(index) = at.filter(|&index| opens_with_link[index].is_none()) {
                        opens_with_link[index] = Some(outward_links_open > 0);
                        at = elements[index].parent;
                    }
                }
            }
            _ => {}
        }
    }
    (own, opens_with_link)
}

/// The blocks that are teasers' summaries. A teaser is a headline that is all a link to another
/// page, then a line or two about that page (a newspaper's "B.C. Headlines", each a linked title
/// over its summary): the summary speaks for the link, so its words weigh as link text. It is the
/// headline's next sibling, or the text of the block that opens with the headline (`<div><h2><a>…
/// </a></h2> The summary…</div>`).
///
/// `block_of` is each element's innermost block (itself when it is one).
fn teaser_summaries(
    elements: &[Element], block_of: &[usize], blocks: &[TextCount],
    opens_with_link: &[Option<bool>],
) -> Vec<usize> {
    let is_headline = |at: usize| {
        blocks[at].words >= TEASER_HEADLINE_WORDS
            && blocks[at].links == blocks[at].chars
            && opens_with_link[at] == Some(true)
    };
    let is_summary = |at: usize| {
        blocks[at].chars <= TEASER_SUMMARY_CHARS
            && blocks[at].links * 4 < blocks[at].chars
            && blocks[at].is_sentence()
    };
    let mut summaries = Vec::new();
    // Each parent's last child so far: an element's previous sibling when it is reached.
    let mut last_child: Vec<Option<usize>> = vec![None; elements.len()];
    for index in 1..elements.len() {
        let Some(parent) = elements[index].parent else { continue };
        if let Some(headline) = last_child[parent].replace(index) {
            if is_headline(headline) && is_summary(index) {
                summaries.push(index);
            }
        }
        let holder = block_of[parent];
        if block_of[index] == index
            && is_headline(index)
            && opens_with_link[holder] == Some(true)
            && is_summary(holder)
        {
            summaries.push(holder);
        }
    }
    summaries
}

/// The evidence of one text block: prose and code count for content, link lists against it, and
/// short fragments without punctuation (labels, dates, bylines) only a little for it.
fn block_weight(name: &str, chars: usize, links: usize, punctuation: usize) -> f64 {
    if chars == 0 {
        return 0.0;
    }
    let chars_f = chars as f64;
    let density = links as f64 / chars_f;
    // A heading with words of its own around its links counts whole: the links are the types in
    // an API signature (rustdoc's `impl Add<&i128> for i128`, hundreds on a trait's page). One
    // that is all link is a teaser's headline, pointing elsewhere.
    if name == "pre" || is_heading(name) && density <= 0.75 {
        return chars_f;
    }
    if density > 0.5 {
        return -chars_f * density;
    }
    if chars < 40 && punctuation == 0 {
        return 0.25 * chars_f;
    }
    chars_f * (1.0 - 1.5 * density)
}
