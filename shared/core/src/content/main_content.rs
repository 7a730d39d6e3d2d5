//! Which part of a page is its content, decided by evidence rather than by names.
//!
//! The page becomes a tree of elements (token ranges) with the visible text each holds and how much
//! of it is link text. Every text block (the innermost block element around a run of text) weighs
//! for or against being content: prose and code count for it, link-dense runs against it. The
//! content root is the element whose blocks weigh most, so it holds the prose and as little
//! furniture as possible; a semantic `<main>`/`<article>` close to that weight is preferred, and
//! the one around the page's title is searched alone when the heaviest text lies outside it. Inside
//! the root, furniture (navigation, asides, footers, elements whose class names page furniture) is
//! removed only when it is small and link-dense, and never when it holds the main heading or much
//! of the root's text. So a section about cookies, or a layout class such as
//! `content-with-sidebar`, costs nothing.
//!
//! Over the core's ~600-line guide on purpose: the tree, the weights and the furniture rules are one
//! decision and read best together. Its tests go through `extract_html` (`content/extract/tests.rs`).

use std::collections::{HashMap, HashSet};

use crate::content::html::Token;

/// Elements whose content is never visible text.
const INVISIBLE: [&str; 14] = [
    "script", "style", "noscript", "template", "svg", "head", "iframe", "object", "canvas",
    "button", "select", "textarea", "dialog", "math",
];
/// Elements without an end tag.
pub(crate) const VOID: [&str; 15] = [
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr", "param", "keygen",
];
/// Elements that start a text block of their own.
const BLOCKS: [&str; 32] = [
    "body",
    "main",
    "article",
    "section",
    "div",
    "p",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "dl",
    "dt",
    "dd",
    "table",
    "tr",
    "td",
    "th",
    "caption",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "footer",
    "nav",
    "aside",
    "figure",
    "figcaption",
    "details",
];
/// Words in a class name that name page furniture (`navheader`/`navfooter`: DocBook's page links;
/// `headerlink`, `copiable-anchor`, `permalink`: the ¶ or ◆ that Sphinx, texinfo and Doxygen put
/// beside a heading or definition).
const FURNITURE_WORDS: [&str; 34] = [
    "nav",
    "navbar",
    "navigation",
    "menu",
    "sidebar",
    "breadcrumb",
    "breadcrumbs",
    "footer",
    "cookie",
    "cookies",
    "consent",
    "banner",
    "share",
    "sharing",
    "social",
    "related",
    "comments",
    "comment",
    "ad",
    "ads",
    "advert",
    "advertisement",
    "promo",
    "newsletter",
    "subscribe",
    "popup",
    "masthead",
    "pagination",
    "pager",
    "headerlink",
    "copiable",
    "permalink",
    "navheader",
    "navfooter",
];
/// Whole ids that name page furniture (ids are usually slugs of headings, so words inside one say
/// nothing: `id="module-http.cookies"` is a page about cookies).
const FURNITURE_IDS: [&str; 14] = [
    "nav",
    "navbar",
    "navigation",
    "menu",
    "sidebar",
    "footer",
    "header",
    "masthead",
    "breadcrumbs",
    "breadcrumb",
    "cookie-banner",
    "cookie-notice",
    "comments",
    "toc",
];
/// Whole class names of a documentation generator's controls: rustdoc's source links, version
/// badges and collapse toggles (`rightside`, `out-of-band`, `srclink`), the "Run" button under
/// each example (`test-arrow`) and its "Expand description" labels (`hideme`).
const CONTROL_CLASSES: [&str; 5] = ["rightside", "out-of-band", "srclink", "test-arrow", "hideme"];

/// Class words for text meant for screen readers only.
const SCREEN_READER_ONLY: [&str; 4] =
    ["sr-only", "visually-hidden", "screen-reader-text", "hidden"];

/// One element: the tokens it spans and what it holds.
#[derive(Debug, Clone)]
struct Element {
    /// Token index of the start tag.
    start: usize,
    /// The first token after its content: its end tag, or where it was closed implicitly.
    end: usize,
    /// The first token after the element (past its own end tag).
    after: usize,
    parent: Option<usize>,
    /// Visible characters inside, and those inside links.
    chars: usize,
    link_chars: usize,
    /// Letters and digits inside, and those inside links: what a link bar says apart from its
    /// brackets and separators (`[ << ] [ >> ] [Top] [Contents]`).
    letters: usize,
    link_letters: usize,
    /// Visible characters in link entries: whole short blocks that hold a link (a table of
    /// contents line, an index entry "term, Page"), and link text in longer ones.
    link_list_chars: usize,
    /// The evidence of the text blocks inside (see [`block_weight`]).
    weight: f64,
    invisible: bool,
    signal: Furniture,
    semantic_root: bool,
    /// Whether the root's first `<h1>` is inside; such an element is never furniture.
    holds_main_heading: bool,
    /// Visible `<h1>` elements inside.
    h1s: usize,
    /// `<a>` elements, itself included, and those that name the page they lead to by its place
    /// in the site (`rel="next"`, `prev`, `up`, `contents`, `index`).
    link_count: usize,
    pager_links: usize,
    /// `<a>` elements that lead to this page in another language (`hreflang`).
    language_links: usize,
}

/// How an element says it is page furniture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Furniture {
    None,
    /// `<nav>`, `<aside>`, `<footer>`, `<menu>` or a landmark role other than main.
    Landmark,
    /// A class word or a whole id.
    Name,
    /// A control's class ([`CONTROL_CLASSES`]): a button or a label, whatever its links.
    Control,
}

/// What to write of a page: the content root's tokens, and the elements inside it to skip (the
/// token index of their start tag, and of the first token after them).
#[derive(Debug, Clone, Default)]
pub struct ContentPlan {
    pub start: usize,
    pub end: usize,
    pub skip: HashMap<usize, usize>,
    /// The root's id: the first heading's anchor when it has none closer.
    pub anchor: Option<String>,
    /// Share of the root's visible text in link entries (see `Element::link_list_chars`): near 1
    /// for tables of contents, indexes and link lists.
    pub link_list_share: f64,
    /// The start tags of headings that title a box inside a section, not a section (see
    /// [`box_titles`]).
    pub box_titles: HashSet<usize>,
    /// The start tags of the rows and cells of layout tables (see [`layout_cells`]): block
    /// boundaries, not a table's.
    pub layout_cells: HashSet<usize>,
}

/// Decides the content root and what inside it is furniture.
pub fn plan(tokens: &[Token<'_>]) -> ContentPlan {
    let mut elements = build_tree(tokens);
    measure(tokens, &mut elements);
    let RootChoice { root, lists } = choose_root(tokens, &elements);
    mark_main_heading(tokens, &mut elements, root);
    let root_element = &elements[root];
    // The lists left out of a widened root count neither as its text nor as its links.
    let (list_chars, list_link_chars) = lists.iter().fold((0, 0), |(chars, links), &list| {
        (chars + elements[list].chars, links + elements[list].link_list_chars)
    });
    let mut plan = ContentPlan {
        start: if root == 0 { 0 } else { root_element.start + 1 },
        end: root_element.end,
        anchor: if root == 0 {
            None
        } else {
            tokens[root_element.start].attr("id").filter(|id| !id.is_empty()).map(str::to_string)
        },
        skip: lists.iter().map(|&list| (elements[list].start, elements[list].after)).collect(),
        link_list_share: ratio(
            root_element.link_list_chars.saturating_sub(list_link_chars),
            root_element.chars.saturating_sub(list_chars),
        ),
        box_titles: HashSet::new(),
        layout_cells: HashSet::new(),
    };
    let mut skipped_until = 0;
    // A paragraph in a table's row is judged with its row: a cell that is one link (an API
    // summary's `clear_mappers()` beside its description) is the row's subject, not a link list.
    // Lists in a cell are still judged alone (an index's entries set out in a table).
    let mut in_row_until = 0;
    let title = first_title(tokens, &elements, root).map(|title| &elements[title]);
    for (index, candidate) in elements.iter().enumerate().skip(root + 1) {
        if candidate.start >= root_element.end {
            break;
        }
        if candidate.start < skipped_until {
            continue;
        }
        if let Some(&after) = plan.skip.get(&candidate.start) {
            skipped_until = after;
            continue;
        }
        let name = name_of(tokens, index, candidate);
        let in_row = candidate.start < in_row_until;
        let judged_with_row = in_row && name == "p";
        // Before the section the title opens, not before the title in its own section (a
        // README's opening line).
        let notice = title
            .is_some_and(|title| candidate.end <= title.start && candidate.parent != title.parent)
            && candidate.parent.is_some_and(|parent| elements[parent].holds_main_heading)
            && is_notice(tokens, candidate);
        if candidate.invisible
            || notice
            || is_place_mark(tokens, &elements, name, candidate)
            || (!judged_with_row && is_furniture(name, candidate, root_element))
        {
            plan.skip.insert(candidate.start, candidate.after);
            skipped_until = candidate.end;
        } else if name == "tr" && !in_row && is_row_of_text(candidate, root_element) {
            in_row_until = candidate.end;
        }
    }
    plan.box_titles = box_titles(tokens, &elements, root, &plan.skip);
    plan.layout_cells = layout_cells(tokens, &elements, root);
    plan
}

/// The most rows of a table that lays out a page.
const LAYOUT_TABLE_ROWS: usize = 2;

/// The rows and cells of the tables inside `root` of a row or two that hold a heading: tables
/// that lay out a page (gtk-doc sets each page's title and purpose in a table's cell, beside an
/// empty one), whose cells are not data. Written as a table, the heading was a cell's text:
/// "| Hash Tables Hash Tables — associations between keys and values … |".
fn layout_cells(tokens: &[Token<'_>], elements: &[Element], root: usize) -> HashSet<usize> {
    let end = elements[root].end;
    let inside = || (root + 1..elements.len()).take_while(|&i| elements[i].start < end);
    let nearest_table = |mut index: usize| {
        while let Some(parent) = elements[index].parent {
            if name_of(tokens, parent, &elements[parent]) == "table" {
                return Some(parent);
            }
            index = parent;
        }
        None
    };
    let mut holding_headings: HashSet<usize> = inside()
        .filter(|&i| !elements[i].invisible && is_heading(name_of(tokens, i, &elements[i])))
        .filter_map(nearest_table)
        .collect();
    // Most pages set no heading in a table: their rows are not looked at again.
    if holding_headings.is_empty() {
        return HashSet::new();
    }
    let mut rows: HashMap<usize, usize> =
        holding_headings.iter().map(|&table| (table, 0)).collect();
    for row in inside().filter(|&i| name_of(tokens, i, &elements[i]) == "tr") {
        if let Some(count) = nearest_table(row).and_then(|table| rows.get_mut(&table)) {
            *count += 1;
        }
    }
    // A table of many rows with a heading in one is data under a caption (Doxygen's summary of
    // a header's macros and functions, `<tr class="heading"><td><h2>Macros</h2>`).
    holding_headings.retain(|table| rows[table] <= LAYOUT_TABLE_ROWS);
    inside()
        .filter(|&i| matches!(name_of(tokens, i, &elements[i]), "tr" | "td" | "th"))
        .filter(|&i| nearest_table(i).is_some_and(|table| holding_headings.contains(&table)))
        .map(|i| elements[i].start)
        .collect()
}

/// The most characters of a notice about a page.
const NOTICE_CHARS: usize = 300;

/// Whether an element before the page's title is a notice about the page, not its text: short, a
/// sentence with a link in it ("This document describes the current stable version of Celery
/// (5.2). For development docs, go here.", "This page is part of the SQLAlchemy 1.4 / 2.0
/// Tutorial. Previous: … | Next: …"). A line that only names (Javadoc's "Package
/// org.apache.commons.lang3", Doxygen's page title) stays.
fn is_notice(tokens: &[Token<'_>], element: &Element) -> bool {
    if element.chars >= NOTICE_CHARS || element.link_count == 0 {
        return false;
    }
    let text: String = tokens[element.start..element.end]
        .iter()
        .filter_map(|token| match token {
            Token::Text(text) => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let text = text.trim_end();
    text.ends_with('.') || text.contains(". ") || text.contains(".\n")
}

/// Letters of text after a box, before the next heading, from which its section goes on past it.
const SECTION_GOES_ON_LETTERS: usize = 20;

/// The headings that title a box inside a section (a note, a warning, an example: the Apache
/// manual's `<div class="note"><h3>Main host goes away</h3><p>…</p></div>`, a Bootstrap alert's
/// `<h4 class="alert-heading">`), known by their place: the first text of a container that says
/// more than its heading, after which the section's own text goes on (past any boxes that follow)
/// before any other heading. Read as sections, they took the rest of the section they stand in: its
/// later paragraphs were filed under "Example" or "Note". A section's own wrapper (`<section>`,
/// DocBook's `<div class="sect2">`) is followed by the next section's heading or by the end of
/// its parent. A box at a section's end is known instead by its heading's rank: one that ranks
/// above the heading of the section it stands in cannot open a subsection of it (PostgreSQL's
/// `<div class="note"><h3>Note</h3>` as the last thing in a `sect3` headed by an `<h4>`, whose
/// "Note" had become the parent of the sections after it). Of equal rank it may be one (Texinfo
/// heads a subsection and the subsubsections inside it with `<h4>` alike).
fn box_titles(
    tokens: &[Token<'_>], elements: &[Element], root: usize, skip: &HashMap<usize, usize>,
) -> HashSet<usize> {
    // Each heading that is the first text of a container saying more, with the container.
    let mut shaped: Vec<(usize, usize)> = Vec::new();
    for (index, heading) in elements.iter().enumerate().skip(root + 1) {
        let name = name_of(tokens, index, heading);
        // A page's title is never a box's.
        if heading.invisible || !is_heading(name) || name == "h1" || heading.holds_main_heading {
            continue;
        }
        let Some(container) = heading.parent.filter(|&p| p != root && is_inside(elements, p, root))
        else {
            continue;
        };
        let boxed = &elements[container];
        // A box has no sections of its own: a container with headings under its first is a
        // section (Javadoc's `<div class="sub-title"><h2>` around `<section><h3>`s).
        let headings_inside = elements[container + 1..]
            .iter()
            .take_while(|inner| inner.start < boxed.end)
            .filter(|inner| is_heading(start_name(&tokens[inner.start])))
            .count();
        let box_shaped = headings_inside == 1
            && !matches!(start_name(&tokens[boxed.start]), "section" | "article")
            && boxed.letters > heading.letters
            && text_before_heading(tokens, boxed.start + 1..heading.start, skip, &HashMap::new())
                == 0;
        if box_shaped {
            shaped.push((index, container));
        }
    }
    let is_shaped = |index: usize| shaped.iter().any(|&(heading, _)| heading == index);
    // Each box title's start tag, and the first token after its box. Read from the last heading
    // back, so the boxes after a box are known when it is judged. A box ending a list's entry
    // looks on in the element its section's heading opens (an Apache note at the end of a `<dd>`,
    // the list's next terms after it).
    let mut boxes: HashMap<usize, usize> = HashMap::new();
    for &(index, container) in shaped.iter().rev() {
        let boxed = &elements[container];
        let Some(outer) = boxed.parent else { continue };
        let in_entry = matches!(start_name(&tokens[elements[outer].start]), "li" | "dd");
        // Before the boxes are known, any box-shaped heading may be a box's.
        let section = heading_before(tokens, elements, root, index, is_shaped)
            .filter(|_| in_entry)
            .and_then(|heading| section_of(tokens, elements, heading))
            .filter(|&section| section != root && is_inside(elements, container, section));
        let end = elements[section.unwrap_or(outer)].end;
        if text_before_heading(tokens, boxed.after..end, skip, &boxes) >= SECTION_GOES_ON_LETTERS {
            boxes.insert(elements[index].start, boxed.after);
        }
    }
    // Forward, so that of two boxes ending a section the second still finds the section's heading.
    for &(index, container) in &shaped {
        let heading = &elements[index];
        if boxes.contains_key(&heading.start) {
            continue;
        }
        let is_box = |i: usize| boxes.contains_key(&elements[i].start);
        let Some(section_heading) = heading_before(tokens, elements, root, index, is_box) else {
            continue;
        };
        let in_section = section_of(tokens, elements, section_heading)
            .is_some_and(|section| is_inside(elements, container, section));
        if in_section
            && heading_rank(tokens, elements, index)
                < heading_rank(tokens, elements, section_heading)
        {
            boxes.insert(heading.start, elements[container].after);
        }
    }
    boxes.into_keys().collect()
}

/// The heading of the section that the heading `index` stands in: the nearest visible one before
/// it inside `root` that is not a box's (`is_box`).
fn heading_before(
    tokens: &[Token<'_>], elements: &[Element], root: usize, index: usize,
    is_box: impl Fn(usize) -> bool,
) -> Option<usize> {
    (root + 1..index).rev().find(|&i| {
        !elements[i].invisible && is_heading(name_of(tokens, i, &elements[i])) && !is_box(i)
    })
}

/// The level of a heading element, 1 for `<h1>` to 6 for `<h6>`.
fn heading_rank(tokens: &[Token<'_>], elements: &[Element], index: usize) -> u8 {
    name_of(tokens, index, &elements[index]).as_bytes().get(1).map_or(7, |digit| digit - b'0')
}

/// The element that `heading` opens a section of: the smallest around it that holds more than its
/// title (a `sect3` around its titled `<h4>`, not the `titlepage` between them), if the heading is
/// its first. Sections side by side are each in their own element; in a page of headings one after
/// another, only the first heads the rest.
fn section_of(tokens: &[Token<'_>], elements: &[Element], heading: usize) -> Option<usize> {
    let mut section = elements[heading].parent;
    while let Some(index) = section.filter(|&i| elements[i].letters <= elements[heading].letters) {
        section = elements[index].parent;
    }
    let section = section?;
    let end = elements[section].end;
    let first_heading = (section + 1..elements.len())
        .take_while(|&i| elements[i].start < end)
        .find(|&i| !elements[i].invisible && is_heading(name_of(tokens, i, &elements[i])));
    (first_heading == Some(heading)).then_some(section)
}

/// The letters of visible text outside links in `range` before its first heading, counted up to
/// [`SECTION_GOES_ON_LETTERS`]; the `boxes` found so far (a box title's start tag, the first
/// token after its box) are passed over whole.
fn text_before_heading(
    tokens: &[Token<'_>], range: std::ops::Range<usize>, skip: &HashMap<usize, usize>,
    boxes: &HashMap<usize, usize>,
) -> usize {
    let (mut letters, mut links) = (0usize, 0usize);
    let mut i = range.start;
    while i < range.end && letters < SECTION_GOES_ON_LETTERS {
        if let Some(&after) = skip.get(&i).or(boxes.get(&i)) {
            i = after.max(i + 1);
            continue;
        }
        match &tokens[i] {
            Token::Start { name, .. } if is_heading(name) => break,
            Token::Start { name, self_closing: false, .. } if name == "a" => links += 1,
            Token::End { name } if name == "a" => links = links.saturating_sub(1),
            Token::Text(text) if links == 0 => {
                letters += text.chars().filter(|c| c.is_alphanumeric()).count()
            }
            _ => {}
        }
        i += 1;
    }
    letters
}

/// The most letters outside the links of a bar of languages: a label ("Available Languages",
/// "Línguas Disponíveis"), no sentence.
const LANGUAGE_BAR_LABEL_LETTERS: usize = 24;

/// Whether an element is a link to itself or to what it stands in that says nothing but a sign
/// (`#`, `¶`, `§`): the mark beside a heading or a definition that links to it (Node.js wrote
/// every heading as "HTTP#"), whatever its class is called. A sign that links elsewhere is text
/// (an index's `_`, a changelog's `import *`).
fn is_place_mark(
    tokens: &[Token<'_>], elements: &[Element], name: &str, element: &Element,
) -> bool {
    if name != "a" || element.letters > 0 || !(1..=3).contains(&element.chars) {
        return false;
    }
    let Some(target) = tokens[element.start].attr("href").and_then(|h| h.strip_prefix('#')) else {
        return false;
    };
    let names_target = |at: &Element| tokens[at.start].attr("id") == Some(target);
    let mut at = Some(element);
    while let Some(current) = at {
        if names_target(current) {
            return !target.is_empty();
        }
        at = current.parent.map(|parent| &elements[parent]);
    }
    false
}

/// Whether a table row is one of data: small beside the page (a layout table's row holds a column
/// of the page) and not all links (a bar of page links set as a table).
fn is_row_of_text(row: &Element, root: &Element) -> bool {
    row.chars * 4 <= root.chars && ratio(row.link_chars, row.chars) < 0.8
}

/// Marks the root's first visible `<h1>` and the elements around it.
fn mark_main_heading(tokens: &[Token<'_>], elements: &mut [Element], root: usize) {
    let mut at = first_title(tokens, elements, root);
    while let Some(index) = at {
        elements[index].holds_main_heading = true;
        at = elements[index].parent;
    }
}

/// The first visible `<h1>` inside element `within` (the whole page for 0).
fn first_title(tokens: &[Token<'_>], elements: &[Element], within: usize) -> Option<usize> {
    let end = elements[within].end;
    (within..elements.len()).take_while(|&i| elements[i].start < end).find(|&i| {
        i > 0 && start_name(&tokens[elements[i].start]) == "h1" && !elements[i].invisible
    })
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Furniture inside the root: said so by its element, role or class, and small and link-dense
/// enough that removing it cannot remove content.
fn is_furniture(name: &str, element: &Element, root: &Element) -> bool {
    const LINK_BLOCKS: [&str; 7] = ["ul", "ol", "dl", "table", "div", "section", "p"];
    if element.holds_main_heading {
        return false;
    }
    // A bar whose every link leads to a page around this one, with labels between them
    // (texinfo's "Previous: Recursion, Up: Calling Functions [Contents][Index]", where the labels
    // can take a third of the letters): furniture however short the page (a chapter's menu).
    let pager_bar = element.pager_links >= 2
        && element.link_count == element.pager_links
        && ratio(element.link_letters, element.letters) >= 0.6;
    if pager_bar && LINK_BLOCKS.contains(&name) {
        return true;
    }
    // A bar of the page in other languages, its links said so by `hreflang` (Apache's "Available
    // Languages: en | fr | ja", whose link to the page itself has none): codes and a label.
    let language_bar = element.link_count >= 2
        && element.language_links * 2 >= element.link_count
        && element.letters - element.link_letters <= LANGUAGE_BAR_LABEL_LETTERS;
    if language_bar && LINK_BLOCKS.contains(&name) {
        return true;
    }
    if element.chars * 4 > root.chars {
        return false;
    }
    let density = ratio(element.link_chars, element.chars);
    let link_dense = density >= 0.3;
    match element.signal {
        // Unnamed: only a block that is all links (tags, "related" beside an article), also when
        // brackets outweigh the words (texi2html's "[ << ] [ >> ] [Top] [Contents]"), or a bar of
        // links to the pages around this one among others, with labels between them.
        Furniture::None => {
            let words_all_linked = element.link_count >= 3
                && element.letters > 0
                && element.link_letters == element.letters;
            let pager =
                element.pager_links >= 2 && ratio(element.link_letters, element.letters) >= 0.8;
            (density >= 0.8 || words_all_linked || pager) && LINK_BLOCKS.contains(&name)
        }
        Furniture::Landmark => link_dense || element.chars < 60,
        // A short bar of page links with a title in it (DocBook's navheader) is not dense.
        Furniture::Name => link_dense || (density >= 0.1 && element.chars < 200),
        Furniture::Control => element.chars < 200,
    }
}

/// The element tree in document order (a parent before its children).
fn build_tree(tokens: &[Token<'_>]) -> Vec<Element> {
    // Element 0 is the document itself, so that a fragment without a common container (or text
    // outside every element) still has one root.
    let mut elements = vec![Element {
        start: 0,
        end: tokens.len(),
        after: tokens.len(),
        parent: None,
        chars: 0,
        link_chars: 0,
        letters: 0,
        link_letters: 0,
        link_list_chars: 0,
        weight: 0.0,
        invisible: false,
        signal: Furniture::None,
        semantic_root: false,
        holds_main_heading: false,
        h1s: 0,
        link_count: 0,
        pager_links: 0,
        language_links: 0,
    }];
    let mut open: Vec<(usize, &str)> = vec![(0, "")];
    for (i, token) in tokens.iter().enumerate() {
        match token {
            Token::Start { name, self_closing, .. } => {
                close_implied(&mut elements, &mut open, name, i);
                let parent = open.last().map(|(index, _)| *index);
                let invisible =
                    parent.is_some_and(|p| elements[p].invisible) || is_invisible(token, name);
                elements.push(Element {
                    start: i,
                    end: i + 1,
                    after: i + 1,
                    parent,
                    chars: 0,
                    link_chars: 0,
                    letters: 0,
                    link_letters: 0,
                    link_list_chars: 0,
                    weight: 0.0,
                    invisible,
                    signal: furniture_signal(token, name),
                    semantic_root: is_semantic_root(token, name),
                    holds_main_heading: false,
                    h1s: usize::from(name == "h1" && !invisible),
                    link_count: usize::from(name == "a"),
                    pager_links: usize::from(name == "a" && is_pager_link(token)),
                    language_links: usize::from(name == "a" && token.attr("hreflang").is_some()),
                });
                if !*self_closing && !VOID.contains(&name.as_str()) {
                    open.push((elements.len() - 1, name.as_str()));
                }
            }
            Token::End { name } => {
                if let Some(depth) =
                    open.iter().skip(1).rposition(|(_, n)| n == name).map(|d| d + 1)
                {
                    let named = open[depth].0;
                    // Elements left open inside end here too, before this end tag.
                    for (index, _) in open.drain(depth..) {
                        elements[index].end = i;
                        elements[index].after = i;
                    }
                    elements[named].after = i + 1;
                }
            }
            _ => {}
        }
    }
    for (index, _) in open {
        elements[index].end = tokens.len();
        elements[index].after = tokens.len();
    }
    elements
}

/// The tag name of element `index` ("" for the document).
fn name_of<'t>(tokens: &'t [Token<'_>], index: usize, element: &Element) -> &'t str {
    if index == 0 {
        ""
    } else {
        start_name(&tokens[element.start])
    }
}

/// Closes what a start tag ends without an end tag of its own (`<p>` before a block, `<li>` before
/// the next item, table cells and rows).
fn close_implied(elements: &mut [Element], open: &mut Vec<(usize, &str)>, name: &str, at: usize) {
    // Whatever belongs to the body ends an unclosed <head> (and all left open in it), as in a
    // browser; otherwise a page missing `</head>` would be all invisible.
    const HEAD_CONTENT: [&str; 8] =
        ["title", "meta", "link", "script", "style", "base", "noscript", "template"];
    if !HEAD_CONTENT.contains(&name) {
        if let Some(depth) = open.iter().position(|(_, n)| *n == "head") {
            for (index, _) in open.drain(depth..) {
                elements[index].end = at;
                elements[index].after = at;
            }
        }
    }
    let closes: &[&str] = match name {
        "li" => &["li"],
        "dt" | "dd" => &["dt", "dd"],
        "tr" => &["tr", "td", "th"],
        "td" | "th" => &["td", "th"],
        "p" | "div" | "ul" | "ol" | "dl" | "pre" | "table" | "blockquote" | "section" | "h1"
        | "h2" | "h3" | "h4" | "h5" | "h6" | "header" | "footer" | "nav" | "aside" => &["p"],
        _ => return,
    };
    // Only the innermost open element is closed implicitly, and a list item only by a sibling.
    while let Some(&(index, open_name)) = open.last() {
        if !closes.contains(&open_name) {
            break;
        }
        elements[index].end = at;
        elements[index].after = at;
        open.pop();
    }
}

/// Whether a class of the element has a word (split at anything but letters and digits) in
/// `words`, compared without regard to case.
fn has_class_word(token: &Token<'_>, words: &[&str]) -> bool {
    let classes = token.attr("class").unwrap_or("").split_ascii_whitespace();
    classes.flat_map(|class| class.split(|c: char| !c.is_ascii_alphanumeric())).any(|word| {
        !word.is_empty() && words.iter().any(|listed| listed.eq_ignore_ascii_case(word))
    })
}

/// Whether the element has one of `classes`, compared without regard to case.
pub(crate) fn has_class(token: &Token<'_>, classes: &[&str]) -> bool {
    let mut own = token.attr("class").unwrap_or("").split_ascii_whitespace();
    own.any(|class| classes.iter().any(|listed| listed.eq_ignore_ascii_case(class)))
}

fn attr_is_one_of(token: &Token<'_>, attr: &str, values: &[&str]) -> bool {
    token.attr(attr).is_some_and(|v| values.iter().any(|listed| listed.eq_ignore_ascii_case(v)))
}

fn is_invisible(token: &Token<'_>, name: &str) -> bool {
    INVISIBLE.contains(&name)
        || token.attr("hidden").is_some()
        || token.attr("aria-hidden") == Some("true")
        || token
            .attr("style")
            .is_some_and(|s| s.replace(' ', "").to_ascii_lowercase().contains("display:none"))
        || has_class(token, &SCREEN_READER_ONLY)
}

fn furniture_signal(token: &Token<'_>, name: &str) -> Furniture {
    const LANDMARK_ROLES: [&str; 7] =
        ["navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar"];
    if matches!(name, "nav" | "aside" | "footer" | "menu")
        || attr_is_one_of(token, "role", &LANDMARK_ROLES)
    {
        return Furniture::Landmark;
    }
    if attr_is_one_of(token, "id", &FURNITURE_IDS) || has_class_word(token, &FURNITURE_WORDS) {
        return Furniture::Name;
    }
    if has_class(token, &CONTROL_CLASSES) {
        return Furniture::Control;
    }
    Furniture::None
}

/// A link that says where its page stands to this one (HTML's `next` and `prev`, and the `up`,
/// `contents`, `index` and `start` of older pages and texinfo).
fn is_pager_link(token: &Token<'_>) -> bool {
    const PAGER: [&str; 9] =
        ["next", "prev", "previous", "up", "contents", "index", "start", "first", "last"];
    token.has_rel(&PAGER)
}

fn is_semantic_root(token: &Token<'_>, name: &str) -> bool {
    is_main_region(token, name)
        || name == "article"
        || token.attr("itemprop").is_some_and(|p| p.eq_ignore_ascii_case("articleBody"))
}

/// A `<main>` or `role=main` element: the page's own mark for where its content is.
fn is_main_region(token: &Token<'_>, name: &str) -> bool {
    name == "main" || token.attr("role") == Some("main")
}

/// Counts visible text into the elements and weighs each text block.
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

fn measure(tokens: &[Token<'_>], elements: &mut [Element]) {
    // Text runs by the element that directly holds them.
    let mut own_chars = vec![0usize; elements.len()];
    let mut own_links = vec![0usize; elements.len()];
    let mut own_letters = vec![0usize; elements.len()];
    let mut own_link_letters = vec![0usize; elements.len()];
    let mut own_punctuation = vec![0usize; elements.len()];
    let mut own_words = vec![0usize; elements.len()];
    // Whether an element's first visible text is the text of a link to another page.
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
            Token::Start { name, .. } if next < elements.len() && elements[next].start == i => {
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
                own_chars[holder] += chars;
                let letters = text.chars().filter(|c| c.is_alphanumeric()).count();
                own_letters[holder] += letters;
                if links_open > 0 {
                    own_links[holder] += chars;
                    own_link_letters[holder] += letters;
                }
                // The elements this is the first text of (an element's first text is also the
                // first of every element around it that had none yet).
                if chars > 0 {
                    let mut at = Some(holder);
                    while let Some(index) = at.filter(|&index| opens_with_link[index].is_none()) {
                        opens_with_link[index] = Some(outward_links_open > 0);
                        at = elements[index].parent;
                    }
                }
                own_punctuation[holder] +=
                    text.matches(['.', '!', '?', ';', ':', ',', '。']).count();
                own_words[holder] += text.split_whitespace().count();
            }
            _ => {}
        }
    }
    // Weigh each block by the text whose innermost block it is, then sum up the tree (children
    // come after their parents).
    let mut block_chars = vec![0usize; elements.len()];
    let mut block_links = vec![0usize; elements.len()];
    let mut block_punctuation = vec![0usize; elements.len()];
    let mut block_unlinked_letters = vec![0usize; elements.len()];
    let mut block_words = vec![0usize; elements.len()];
    for index in 0..elements.len() {
        let block = block_of(tokens, elements, index);
        block_chars[block] += own_chars[index];
        block_links[block] += own_links[index];
        block_punctuation[block] += own_punctuation[index];
        block_unlinked_letters[block] += own_letters[index] - own_link_letters[index];
        block_words[block] += own_words[index];
    }
    // A teaser: a headline that is all a link to another page, then a line or two about that
    // page (a newspaper's "B.C. Headlines", each a linked title over its summary). The summary
    // speaks for the link, so its words weigh as link text.
    // The summary is the headline's next sibling, or the text of the block that opens with the
    // headline (`<div><h2><a>…</a></h2> The summary…</div>`).
    let is_headline = |at: usize| {
        block_words[at] >= TEASER_HEADLINE_WORDS
            && block_links[at] == block_chars[at]
            && opens_with_link[at] == Some(true)
    };
    let is_summary = |at: usize| {
        block_chars[at] <= TEASER_SUMMARY_CHARS
            && block_links[at] * 4 < block_chars[at]
            && is_sentence(block_unlinked_letters[at], block_punctuation[at])
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
        let holder = block_of(tokens, elements, parent);
        if block_of(tokens, elements, index) == index
            && is_headline(index)
            && opens_with_link[holder] == Some(true)
            && is_summary(holder)
        {
            summaries.push(holder);
        }
    }
    for index in summaries {
        block_links[index] = block_chars[index];
    }
    for index in (0..elements.len()).rev() {
        let element = &mut elements[index];
        element.chars += own_chars[index];
        element.link_chars += own_links[index];
        element.letters += own_letters[index];
        element.link_letters += own_link_letters[index];
        let name = name_of(tokens, index, element);
        // A heading names its section: its links (a self-anchor, the types in an API
        // signature) do not make it an entry of a list of links.
        let sentence = is_sentence(block_unlinked_letters[index], block_punctuation[index]);
        element.link_list_chars += if is_heading(name) {
            0
        } else if !sentence && is_link_entry(block_chars[index], block_links[index]) {
            block_chars[index]
        } else {
            block_links[index]
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
        let weight =
            block_weight(name, block_chars[index], block_links[index], block_punctuation[index]);
        element.weight += weight;
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
            let (chars, links, h1s) = (element.chars, element.link_chars, element.h1s);
            let (letters, link_letters) = (element.letters, element.link_letters);
            let (link_count, pager_links) = (element.link_count, element.pager_links);
            let language_links = element.language_links;
            let link_list = element.link_list_chars;
            let parent = &mut elements[parent];
            parent.chars += chars;
            parent.link_chars += links;
            parent.letters += letters;
            parent.link_letters += link_letters;
            parent.link_list_chars += link_list;
            parent.weight += carried;
            parent.h1s += h1s;
            parent.link_count += link_count;
            parent.pager_links += pager_links;
            parent.language_links += language_links;
        }
    }
}

/// The innermost block element at or around `index`.
fn block_of(tokens: &[Token<'_>], elements: &[Element], index: usize) -> usize {
    let mut at = index;
    loop {
        if at == 0 || BLOCKS.contains(&name_of(tokens, at, &elements[at])) {
            return at;
        }
        match elements[at].parent {
            Some(parent) => at = parent,
            None => return at,
        }
    }
}

fn start_name<'t>(token: &'t Token<'_>) -> &'t str {
    match token {
        Token::Start { name, .. } => name,
        _ => "",
    }
}

/// A link: an `<a>`, unless it only names a place (`<a name="threadtop">`, no `href`): a page that
/// never closes one does not make the rest of its text link text. (One with neither is a script's
/// button, `<a onclick="…">`.)
fn is_link(token: &Token<'_>) -> bool {
    start_name(token) == "a" && (token.attr("href").is_some() || token.attr("name").is_none())
}

/// A link to another page, not to a place on this one (`#section`).
fn is_outward_link(token: &Token<'_>) -> bool {
    is_link(token)
        && token.attr("href").is_some_and(|h| !h.trim().is_empty() && !h.trim().starts_with('#'))
}

/// Whether `name` is a heading's tag (`h1` … `h6`).
fn is_heading(name: &str) -> bool {
    matches!(name, "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
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

/// The content root, and the long link lists inside it that are left out (see
/// [`widen_past_link_list`]).
struct RootChoice {
    root: usize,
    lists: Vec<usize>,
}

/// The element whose blocks weigh most; a semantic root (`<main>`, `<article>`, `role=main`) that
/// holds almost as much is taken instead, as it usually also holds the title.
///
/// A page of links (a table of contents, an index) has no heavy block: the heaviest is its
/// heading. Its content is then the semantic root around that heading, or else the outermost
/// container under `<body>` that holds it.
fn choose_root(tokens: &[Token<'_>], elements: &[Element]) -> RootChoice {
    let root = heaviest_root(tokens, elements);
    widen_past_link_list(tokens, elements, root).unwrap_or(RootChoice { root, lists: Vec::new() })
}

fn heaviest_root(tokens: &[Token<'_>], elements: &[Element]) -> usize {
    let mut best = heaviest_within(elements, 0);
    // The page says where its content is (a `<main>`, `role=main` or `<article>` around its
    // title) and the heaviest text lies outside: a footer's boilerplate outweighs a chapter page
    // whose introduction sits beside a long table of contents. The content is in the main region.
    if let Some(main) = main_region_of_title(tokens, elements) {
        if !is_inside(elements, best, main) {
            best = heaviest_within(elements, main);
        }
    }
    // The heaviest text is a few lines of the page's furniture (a footer's copyright outweighs a
    // stub page's "Moved!" line) and the page marks one main region: the content is there,
    // however short.
    if elements[best].chars < FURNITURE_OUTWEIGHS_CHARS && is_in_furniture(elements, best) {
        if let Some(main) = only_main_region(tokens, elements) {
            if !is_inside(elements, best, main) {
                best = main;
            }
        }
    }
    // Reader comments (or a sidebar's prose) outweigh the article they follow: a long thread under
    // a short column. When the heaviest text is in furniture that does not hold the page's title,
    // and there are paragraphs of prose outside it, the content is the heaviest of those.
    let prose_outside = outermost_furniture(tokens, elements, best)
        .filter(|&furniture| elements[furniture].h1s == 0)
        .and_then(|furniture| heaviest_outside(tokens, elements, furniture))
        .filter(|&outside| elements[outside].weight >= PROSE_OUTSIDE_FURNITURE_WEIGHT);
    if let Some(outside) = prose_outside {
        best = outside;
    }
    let best_weight = elements[best].weight;
    let page_of_links = best_weight < 150.0 && elements[best].chars * 4 < elements[0].chars;
    if page_of_links {
        let mut at = best;
        let mut outermost = best;
        while let Some(parent) = elements[at].parent {
            if elements[at].semantic_root {
                return at;
            }
            if !matches!(name_of(tokens, parent, &elements[parent]), "" | "html" | "body") {
                outermost = parent;
            }
            at = parent;
        }
        return outermost;
    }
    // The title often sits just outside the body text's container: take the container around
    // both when it adds little else.
    let mut at = best;
    for _ in 0..2 {
        let Some(parent) = elements[at].parent else { break };
        let around = &elements[parent];
        if elements[best].h1s == 0
            && around.h1s > 0
            && around.weight >= 0.85 * best_weight
            && around.chars * 2 <= elements[best].chars * 3
        {
            best = parent;
            break;
        }
        at = parent;
    }
    let best_weight = elements[best].weight.max(best_weight * 0.85);
    let semantic = elements
        .iter()
        .enumerate()
        .filter(|(index, e)| {
            e.semantic_root
                && !e.invisible
                && e.weight >= 0.8 * best_weight
                && (is_inside(elements, *index, best) || is_inside(elements, best, *index))
        })
        .max_by(|(_, a), (_, b)| a.weight.total_cmp(&b.weight));
    semantic.map_or(best, |(index, _)| index)
}

/// The element inside `within` (or it) whose blocks weigh most; of equal weights, the innermost.
fn heaviest_within(elements: &[Element], within: usize) -> usize {
    let end = elements[within].end;
    let mut best = within;
    for (index, element) in elements.iter().enumerate().skip(within) {
        if index > within && element.start >= end {
            break;
        }
        if element.invisible {
            continue;
        }
        if outweighs(elements, index, best) {
            best = index;
        }
    }
    best
}

/// Whether element `index` weighs more than `best`, or as much and is inside it (of equal weights,
/// the innermost holds the text with least around it).
fn outweighs(elements: &[Element], index: usize, best: usize) -> bool {
    let (weight, current) = (elements[index].weight, elements[best].weight);
    weight > current + 1e-9 || (weight >= current - 1e-9 && is_inside(elements, index, best))
}

/// The most text that a page's furniture outweighing its main region can have: a footer's lines,
/// not an article that a class name happens to call a sidebar.
const FURNITURE_OUTWEIGHS_CHARS: usize = 400;

/// The least weight of the prose outside furniture that is taken for the content when furniture
/// outweighs it: a few paragraphs, not a footer's lines.
const PROSE_OUTSIDE_FURNITURE_WEIGHT: f64 = 500.0;

/// Whether element `index` says it is page furniture, other than the page's outer elements and
/// its semantic roots, whose class names say little (`<body class="no-sidebar">`, `<article
/// class="has-comments">`).
fn says_furniture(tokens: &[Token<'_>], elements: &[Element], index: usize) -> bool {
    let outer = matches!(name_of(tokens, index, &elements[index]), "" | "html" | "body");
    elements[index].signal != Furniture::None && !outer && !elements[index].semantic_root
}

/// The outermost element at or around `index` that [`says_furniture`].
fn outermost_furniture(tokens: &[Token<'_>], elements: &[Element], index: usize) -> Option<usize> {
    let mut at = Some(index);
    let mut outermost = None;
    while let Some(i) = at {
        if says_furniture(tokens, elements, i) {
            outermost = Some(i);
        }
        at = elements[i].parent;
    }
    outermost
}

/// The heaviest visible element that is neither around `furniture` nor in an element that
/// [`says_furniture`]; of equal weights, the innermost.
fn heaviest_outside(tokens: &[Token<'_>], elements: &[Element], furniture: usize) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (index, element) in elements.iter().enumerate() {
        if element.invisible
            || is_inside(elements, furniture, index)
            || outermost_furniture(tokens, elements, index).is_some()
        {
            continue;
        }
        if best.is_none_or(|best| outweighs(elements, index, best)) {
            best = Some(index);
        }
    }
    best
}

/// Whether element `index` or one around it says it is page furniture.
fn is_in_furniture(elements: &[Element], index: usize) -> bool {
    let mut at = Some(index);
    while let Some(i) = at {
        if elements[i].signal != Furniture::None {
            return true;
        }
        at = elements[i].parent;
    }
    false
}

/// The page's one visible `<main>` or `role=main` element, if it has exactly one.
fn only_main_region(tokens: &[Token<'_>], elements: &[Element]) -> Option<usize> {
    let mut mains = elements.iter().enumerate().skip(1).filter(|(_, e)| {
        let token = &tokens[e.start];
        !e.invisible && is_main_region(token, start_name(token))
    });
    let (first, _) = mains.next()?;
    mains.next().is_none().then_some(first)
}

/// The nearest semantic root around the page's first visible `<h1>`, if there is one.
fn main_region_of_title(tokens: &[Token<'_>], elements: &[Element]) -> Option<usize> {
    let mut at = Some(first_title(tokens, elements, 0)?);
    while let Some(index) = at {
        if elements[index].semantic_root && !elements[index].invisible {
            return Some(index);
        }
        at = elements[index].parent;
    }
    None
}

/// The least visible characters of a link list that is left out of a root widened past it.
const LONG_LINK_LIST_CHARS: usize = 100;
/// The least weight of prose a widened root must gain: about a sentence.
const GAINED_PROSE_WEIGHT: f64 = 60.0;
/// How far up a root is widened: a described entry of the contents sits five or six elements below
/// the chapter; the bound keeps a page nested thousands deep from costing a scan per level.
const WIDEN_LEVELS: usize = 8;

/// A chapter's opening page in a manual holds its title, a table of contents and the chapter's
/// introduction side by side. The contents, longer than the introduction and weighing against it,
/// keep their container from being the root, so the heaviest block (one paragraph, or a part of
/// the contents that has descriptions) is chosen and the rest of the introduction lost. The
/// nearest container of `root` below `<body>` that has a long link list among its children and
/// gains paragraphs from its other children becomes the root instead, without the lists.
///
/// Paragraphs after a list that follows the root are not gained: below an article, "more
/// headlines" and then a copyright line are a page's furniture, not a chapter's. Nor is a layout
/// wrapper's other content, which is in containers (a sidebar, a footer), not paragraphs.
fn widen_past_link_list(
    tokens: &[Token<'_>], elements: &[Element], root: usize,
) -> Option<RootChoice> {
    const PROSE: [&str; 3] = ["p", "pre", "blockquote"];
    let mut below = root;
    let mut at = elements[root].parent;
    for _ in 0..WIDEN_LEVELS {
        let container = at?;
        if matches!(name_of(tokens, container, &elements[container]), "" | "html" | "body") {
            return None;
        }
        let children = elements
            .iter()
            .enumerate()
            .skip(container + 1)
            .take_while(|(_, e)| e.start < elements[container].end)
            .filter(|(_, e)| e.parent == Some(container) && !e.invisible);
        let (mut lists, mut gained, mut past_root, mut list_after_root) =
            (Vec::new(), 0.0, false, false);
        for (index, child) in children {
            let is_list = child.chars >= LONG_LINK_LIST_CHARS
                && child.link_list_chars * 10 >= child.chars * 8;
            if is_list {
                lists.push(index);
            }
            if index == below {
                // A root inside the contents (an entry with a description) gains what follows.
                past_root = true;
            } else if is_list {
                list_after_root |= past_root;
            } else if !list_after_root
                && child.signal == Furniture::None
                && child.weight > 0.0
                && PROSE.contains(&name_of(tokens, index, child))
            {
                gained += child.weight;
            }
        }
        if !lists.is_empty() && gained >= GAINED_PROSE_WEIGHT {
            return Some(RootChoice { root: container, lists });
        }
        below = container;
        at = elements[container].parent;
    }
    None
}

/// Whether element `inner` lies inside element `outer` (or is it).
fn is_inside(elements: &[Element], inner: usize, outer: usize) -> bool {
    let mut at = Some(inner);
    while let Some(index) = at {
        if index == outer {
            return true;
        }
        at = elements[index].parent;
    }
    false
}
