//! Which part of a page is its content, decided by evidence rather than by names.
//!
//! The page becomes a tree of elements (token ranges) with the visible text each holds and how much
//! of it is link text (`tree.rs`). Every text block (the innermost block element around a run of
//! text) weighs for or against being content: prose and code count for it, link-dense runs against
//! it (`measure.rs`). The content root is the element whose blocks weigh most, so it holds the
//! prose and as little furniture as possible; a semantic `<main>`/`<article>` close to that weight
//! is preferred, and the one around the page's title is searched alone when the heaviest text lies
//! outside it (`root.rs`). Inside the root, furniture (navigation, asides, footers, elements whose
//! class names page furniture) is removed only when it is small and link-dense, and never when it
//! holds the main heading or much of the root's text (here). So a section about cookies, or a
//! layout class such as `content-with-sidebar`, costs nothing.
//!
//! Its tests go through `extract_html` (`content/extract/tests.rs`).

mod measure;
mod root;
mod tree;

use std::collections::{HashMap, HashSet};

use crate::content::html::Token;
use measure::measure;
use root::{choose_root, RootChoice};
use tree::{
    build_tree, first_title, is_heading, is_inside, name_of, start_name, Element, Furniture,
};
pub(crate) use tree::{has_class, VOID};

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
