//! Which element is the content root: the one whose blocks weigh most, with the rules for pages
//! where the heaviest text is not the content (a footer, a comment thread, a chapter's contents).

use crate::content::html::Token;

use super::tree::{
    first_title, is_inside, is_main_region, name_of, start_name, Element, Furniture,
};

/// The content root, and the long link lists inside it that are left out (see
/// [`widen_past_link_list`]).
pub(super) struct RootChoice {
    pub(super) root: usize,
    pub(super) lists: Vec<usize>,
}

/// The element whose blocks weigh most; a semantic root (`<main>`, `<article>`, `role=main`) that
/// holds almost as much is taken instead, as it usually also holds the title.
///
/// A page of links (a table of contents, an index) has no heavy block: the heaviest is its
/// heading. Its content is then the semantic root around that heading, or else the outermost
/// container under `<body>` that holds it.
pub(super) fn choose_root(tokens: &[Token<'_>], elements: &[Element]) -> RootChoice {
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
