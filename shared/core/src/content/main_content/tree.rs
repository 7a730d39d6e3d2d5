//! The element tree of a page: which tokens each element spans, what kind of element it is
//! (a block, a link, furniture by its name or landmark, a semantic root), and how elements nest.

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
pub(super) struct Element {
    /// Token index of the start tag.
    pub(super) start: usize,
    /// The first token after its content: its end tag, or where it was closed implicitly.
    pub(super) end: usize,
    /// The first token after the element (past its own end tag).
    pub(super) after: usize,
    pub(super) parent: Option<usize>,
    /// Visible characters inside, and those inside links.
    pub(super) chars: usize,
    pub(super) link_chars: usize,
    /// Letters and digits inside, and those inside links: what a link bar says apart from its
    /// brackets and separators (`[ << ] [ >> ] [Top] [Contents]`).
    pub(super) letters: usize,
    pub(super) link_letters: usize,
    /// Visible characters in link entries: whole short blocks that hold a link (a table of
    /// contents line, an index entry "term, Page"), and link text in longer ones.
    pub(super) link_list_chars: usize,
    /// The evidence of the text blocks inside (see [`block_weight`](super::measure)).
    pub(super) weight: f64,
    pub(super) invisible: bool,
    pub(super) signal: Furniture,
    pub(super) semantic_root: bool,
    /// Whether the root's first `<h1>` is inside; such an element is never furniture.
    pub(super) holds_main_heading: bool,
    /// Visible `<h1>` elements inside.
    pub(super) h1s: usize,
    /// `<a>` elements, itself included, and those that name the page they lead to by its place
    /// in the site (`rel="next"`, `prev`, `up`, `contents`, `index`).
    pub(super) link_count: usize,
    pub(super) pager_links: usize,
    /// `<a>` elements that lead to this page in another language (`hreflang`).
    pub(super) language_links: usize,
}

/// How an element says it is page furniture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Furniture {
    None,
    /// `<nav>`, `<aside>`, `<footer>`, `<menu>` or a landmark role other than main.
    Landmark,
    /// A class word or a whole id.
    Name,
    /// A control's class ([`CONTROL_CLASSES`]): a button or a label, whatever its links.
    Control,
}

impl Element {
    /// An element over tokens `start..end` (and nothing after its end), with nothing counted yet.
    fn spanning(start: usize, end: usize, parent: Option<usize>) -> Element {
        Element {
            start,
            end,
            after: end,
            parent,
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
        }
    }

    /// Counts a measured child's text, links and headings into this element, and `weight` of its
    /// weight (less than all of it for prose in furniture).
    pub(super) fn add_child(&mut self, child: &Element, weight: f64) {
        self.chars += child.chars;
        self.link_chars += child.link_chars;
        self.letters += child.letters;
        self.link_letters += child.link_letters;
        self.link_list_chars += child.link_list_chars;
        self.weight += weight;
        self.h1s += child.h1s;
        self.link_count += child.link_count;
        self.pager_links += child.pager_links;
        self.language_links += child.language_links;
    }
}

/// The element tree in document order (a parent before its children).
pub(super) fn build_tree(tokens: &[Token<'_>]) -> Vec<Element> {
    // Element 0 is the document itself, so that a fragment without a common container (or text
    // outside every element) still has one root.
    let mut elements = vec![Element::spanning(0, tokens.len(), None)];
    let mut open: Vec<(usize, &str)> = vec![(0, "")];
    for (i, token) in tokens.iter().enumerate() {
        match token {
            Token::Start { name, self_closing, .. } => {
                close_implied(&mut elements, &mut open, name, i);
                let parent = open.last().map(|(index, _)| *index);
                let invisible =
                    parent.is_some_and(|p| elements[p].invisible) || is_invisible(token, name);
                elements.push(Element {
                    invisible,
                    signal: furniture_signal(token, name),
                    semantic_root: is_semantic_root(token, name),
                    h1s: usize::from(name == "h1" && !invisible),
                    link_count: usize::from(name == "a"),
                    pager_links: usize::from(name == "a" && is_pager_link(token)),
                    language_links: usize::from(name == "a" && token.attr("hreflang").is_some()),
                    ..Element::spanning(i, i + 1, parent)
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
pub(super) fn name_of<'t>(tokens: &'t [Token<'_>], index: usize, element: &Element) -> &'t str {
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
pub(super) fn is_main_region(token: &Token<'_>, name: &str) -> bool {
    name == "main" || token.attr("role") == Some("main")
}

/// The innermost block element at or around `index`.
pub(super) fn block_of(tokens: &[Token<'_>], elements: &[Element], index: usize) -> usize {
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

pub(super) fn start_name<'t>(token: &'t Token<'_>) -> &'t str {
    match token {
        Token::Start { name, .. } => name,
        _ => "",
    }
}

/// A link: an `<a>`, unless it only names a place (`<a name="threadtop">`, no `href`): a page that
/// never closes one does not make the rest of its text link text. (One with neither is a script's
/// button, `<a onclick="…">`.)
pub(super) fn is_link(token: &Token<'_>) -> bool {
    start_name(token) == "a" && (token.attr("href").is_some() || token.attr("name").is_none())
}

/// A link to another page, not to a place on this one (`#section`).
pub(super) fn is_outward_link(token: &Token<'_>) -> bool {
    is_link(token)
        && token.attr("href").is_some_and(|h| !h.trim().is_empty() && !h.trim().starts_with('#'))
}

/// Whether `name` is a heading's tag (`h1` … `h6`).
pub(super) fn is_heading(name: &str) -> bool {
    matches!(name, "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
}

/// Whether element `inner` lies inside element `outer` (or is it).
pub(super) fn is_inside(elements: &[Element], inner: usize, outer: usize) -> bool {
    let mut at = Some(inner);
    while let Some(index) = at {
        if index == outer {
            return true;
        }
        at = elements[index].parent;
    }
    false
}

/// The first visible `<h1>` inside element `within` (the whole page for 0).
pub(super) fn first_title(
    tokens: &[Token<'_>], elements: &[Element], within: usize,
) -> Option<usize> {
    let end = elements[within].end;
    (within..elements.len()).take_while(|&i| elements[i].start < end).find(|&i| {
        i > 0 && start_name(&tokens[elements[i].start]) == "h1" && !elements[i].invisible
    })
}
