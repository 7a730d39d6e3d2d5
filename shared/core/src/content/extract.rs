//! HTML → main content as markdown blocks, plus the page's links and metadata.
//!
//! What is content is decided in [`main_content`](crate::content::main_content) by evidence (text
//! and link density, semantic elements, the main heading); this module writes that part as
//! markdown blocks. Headings keep an anchor (their own id, an id inside them, or the id of the
//! wrapper that opened just before them) so that citations can deep-link to the section.

use crate::content::html::{tokenize, Token};
use crate::content::main_content::{self, has_class, ContentPlan, VOID};

/// The kind of a content block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    Heading(u8),
    Paragraph,
    ListItem,
    Code,
    TableRow,
}

/// One block of extracted content, already in markdown form (without the heading `#`s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub kind: BlockKind,
    pub text: String,
    /// For headings: the fragment identifier that links to this section.
    pub anchor: Option<String>,
}

/// Robots directives found in `<meta name="robots">` (or a header the caller merges in).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RobotsDirectives {
    pub noindex: bool,
    pub nofollow: bool,
}

impl RobotsDirectives {
    /// Parses a comma-separated directive list such as `noindex, nofollow` or `none`.
    pub fn parse(value: &str) -> Self {
        let mut directives = Self::default();
        for part in value.split(',').map(|p| p.trim().to_ascii_lowercase()) {
            match part.as_str() {
                "noindex" => directives.noindex = true,
                "nofollow" => directives.nofollow = true,
                "none" => {
                    directives.noindex = true;
                    directives.nofollow = true;
                }
                _ => {}
            }
        }
        directives
    }
}

/// What Docent keeps of a fetched HTML page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExtractedPage {
    pub title: String,
    pub lang: Option<String>,
    pub blocks: Vec<Block>,
    /// Raw `href` values of `<a>`/`<area>` elements, in document order (navigation included: it is
    /// how a crawler discovers pages, even though its text is not content), but `rel="nofollow"`.
    pub links: Vec<String>,
    pub canonical: Option<String>,
    /// The target of a `<meta http-equiv="refresh">` that sends the reader on at once (see
    /// [`refresh_target`]): the page is a redirect written in HTML, not content.
    pub refresh: Option<String>,
    pub base_href: Option<String>,
    pub robots: RobotsDirectives,
    /// Share of the content's text in link entries: short blocks holding a link, and link text
    /// in longer ones (near 1 for tables of contents, indexes and link lists).
    pub link_list_share: f64,
}

impl ExtractedPage {
    /// The content as a markdown document.
    pub fn markdown(&self) -> String {
        render_markdown(&self.blocks)
    }
}

/// The ranking signals of a page: `link_list_share` as extraction measured it (0 where the format has
/// no links), and the share of words in code blocks.
pub fn page_signals(blocks: &[Block], link_list_share: f64) -> crate::domain::PageSignals {
    let words = |b: &Block| b.text.split_whitespace().count();
    let total: usize = blocks.iter().map(words).sum();
    let code: usize = blocks.iter().filter(|b| b.kind == BlockKind::Code).map(words).sum();
    let percent = |share: f64| (share.clamp(0.0, 1.0) * 100.0).round() as u8;
    crate::domain::PageSignals {
        link_list_percent: percent(link_list_share),
        code_text_percent: percent(code as f64 / total.max(1) as f64),
        inlinks: 0,
    }
}

/// Renders blocks as markdown; consecutive list items and table rows stay on adjacent lines.
pub fn render_markdown(blocks: &[Block]) -> String {
    let mut out = String::new();
    let mut previous: Option<BlockKind> = None;
    for block in blocks {
        if let Some(prev) = previous {
            let tight = prev == block.kind
                && matches!(block.kind, BlockKind::ListItem | BlockKind::TableRow);
            out.push_str(if tight { "\n" } else { "\n\n" });
        }
        match block.kind {
            BlockKind::Heading(level) => {
                out.push_str(&"#".repeat(level as usize));
                out.push(' ');
                out.push_str(&block.text);
            }
            _ => out.push_str(&block.text),
        }
        previous = Some(block.kind);
    }
    out
}

/// A `<pre>`, or Doxygen's `<div class="fragment">` of code lines.
fn is_code_container(name: &str, token: &Token<'_>) -> bool {
    name == "pre" || (name == "div" && has_class(token, &["fragment"]))
}

const BLOCK_ELEMENTS: [&str; 19] = [
    "p",
    "div",
    "section",
    "article",
    "main",
    "blockquote",
    "dl",
    "dt",
    "dd",
    "figure",
    "figcaption",
    "table",
    "ul",
    "ol",
    "header",
    "details",
    "summary",
    "address",
    "caption",
];

/// Whether a code block is only the numbers of another's lines: gtk-doc and Pygments set them in
/// a column of their own beside the code (`<td class="listing_lines"><pre>1\n2\n3</pre>`), and
/// alone they say nothing. One number a line, from 1, three lines at least: a query's two rows
/// of results (PostgreSQL's `1` and `2`) or a heap drawn as a tree of numbers are content.
fn is_line_numbers(code: &str) -> bool {
    let numbers: Option<Vec<u64>> = code.lines().map(|n| n.trim().parse().ok()).collect();
    numbers.is_some_and(|numbers| {
        numbers.len() >= 3 && numbers.iter().zip(1..).all(|(&number, line)| number == line)
    })
}

/// Extracts the main content, links and metadata of an HTML page.
pub fn extract_html(html: &str) -> ExtractedPage {
    let tokens = tokenize(html);
    let mut page = ExtractedPage::default();
    let mut title_tag = String::new();
    let mut in_title = false;
    // The document's title is its first `<title>`; an SVG's (furo's icons, "Light mode", in
    // every page) titles that drawing.
    let mut title_read = false;
    let mut svg_depth = 0usize;
    // Metadata and links come from the whole document.
    for token in &tokens {
        match token {
            Token::Start { name, .. } => match name.as_str() {
                "html" => {
                    page.lang = token.attr("lang").map(str::to_string).filter(|l| !l.is_empty())
                }
                "title" => in_title = !title_read && svg_depth == 0,
                "svg" => svg_depth += 1,
                "a" | "area" => {
                    // A link the site asks crawlers not to follow (a page's source, a sign-in)
                    // is not a way to its pages.
                    let href = token.attr("href").map(str::trim).filter(|h| !h.is_empty());
                    if let Some(href) = href.filter(|_| !token.has_rel(&["nofollow"])) {
                        page.links.push(href.to_string());
                    }
                }
                "link" if token.has_rel(&["canonical"]) => {
                    page.canonical = token.attr("href").map(|h| h.trim().to_string());
                }
                "base" => {
                    page.base_href =
                        page.base_href.take().or(token.attr("href").map(str::to_string))
                }
                "meta" => {
                    let meta_name = token.attr("name").unwrap_or("").to_ascii_lowercase();
                    if meta_name == "robots" {
                        let found = RobotsDirectives::parse(token.attr("content").unwrap_or(""));
                        page.robots.noindex |= found.noindex;
                        page.robots.nofollow |= found.nofollow;
                    }
                    if token.attr("http-equiv").is_some_and(|v| v.eq_ignore_ascii_case("refresh")) {
                        page.refresh =
                            page.refresh.take().or(refresh_target(token.attr("content")));
                    }
                }
                _ => {}
            },
            Token::Text(text) if in_title => title_tag.push_str(text),
            Token::End { name } if name == "title" => {
                title_read |= in_title;
                in_title = false;
            }
            Token::End { name } if name == "svg" => svg_depth = svg_depth.saturating_sub(1),
            _ => {}
        }
    }
    let plan = main_content::plan(&tokens);
    page.link_list_share = plan.link_list_share;
    let pending_anchor =
        plan.anchor.clone().map(|id| PendingAnchor { id, source: AnchorSource::Root });
    let writer = BlockWriter { pending_anchor, ..BlockWriter::default() };
    // A root that is code (a page that is a source file's listing) is written from its own tag,
    // which says that it is code.
    let start = match plan.start.checked_sub(1).map(|at| &tokens[at]) {
        Some(root @ Token::Start { name, .. }) if is_code_container(name, root) => plan.start - 1,
        _ => plan.start,
    };
    page.blocks = writer.run(&tokens, start..plan.end, &plan);
    page.title = collapse_whitespace(&title_tag);
    if page.blocks.first().is_some_and(|first| names_only_the_site(first, &page.title)) {
        page.blocks.remove(0);
    }
    if page.title.is_empty() {
        page.title = page
            .blocks
            .iter()
            .find(|b| matches!(b.kind, BlockKind::Heading(_)))
            .map(|b| b.text.clone())
            .unwrap_or_default();
    }
    page
}

/// Whether `block` is a page's top heading that only repeats the site's name its title ends with
/// ("Node.js v18.20.4 documentation" above every page titled "HTTP | Node.js v18.20.4
/// Documentation"): a banner, not the page's heading, which would head every section's path.
fn names_only_the_site(block: &Block, title: &str) -> bool {
    if block.kind != BlockKind::Heading(1) {
        return false;
    }
    let site = [" | ", " — ", " – ", " - ", " :: "]
        .iter()
        .filter_map(|separator| title.rsplit_once(separator))
        .map(|(_, site)| site.trim())
        .min_by_key(|site| site.len());
    site.is_some_and(|site| !site.is_empty() && site.eq_ignore_ascii_case(block.text.trim()))
}

/// A refresh this soon is a redirect ("this page has moved"); a later one is a page that reloads or
/// signs its reader out after a while, and is content.
const REDIRECT_REFRESH_SECONDS: f64 = 5.0;

/// The URL of a refresh's `content` (`0; url=Other.html`, `0;URL='Other.html'`) when it sends the
/// reader there within [`REDIRECT_REFRESH_SECONDS`].
fn refresh_target(content: Option<&str>) -> Option<String> {
    let (delay, rest) = content?.trim().split_once([';', ','])?;
    let delay: f64 = delay.trim().parse().ok()?;
    if !(0.0..=REDIRECT_REFRESH_SECONDS).contains(&delay) {
        return None;
    }
    let rest = rest.trim_start();
    // `url=` may be written in any case and with spaces around the `=`.
    let url = match rest.get(..3) {
        Some(word) if word.eq_ignore_ascii_case("url") => {
            rest[3..].trim_start().strip_prefix('=').unwrap_or(rest)
        }
        _ => rest,
    };
    let url = url.trim().trim_matches(['\'', '"']).trim();
    (!url.is_empty()).then(|| url.to_string())
}

/// Collapses runs of whitespace (including no-break spaces) into one space and trims.
pub fn collapse_whitespace(s: &str) -> String {
    s.split(|c: char| c.is_whitespace()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

#[derive(Default)]
struct BlockWriter {
    blocks: Vec<Block>,
    text: String,
    heading: Option<(u8, Option<String>)>,
    list_counters: Vec<Option<u32>>,
    list_item_prefix: Option<String>,
    pre: Option<String>,
    code_language: Option<String>,
    row: Option<Vec<String>>,
    row_is_header: bool,
    cell: Option<String>,
    /// An id seen on a wrapper since the last emitted block; a heading that follows inherits it.
    pending_anchor: Option<PendingAnchor>,
    /// Where the open link's text starts, and in which text.
    link_start: Option<(Written, usize)>,
    /// Inside an API reference's signature (Sphinx's `<dt class="sig …">`): where its name is.
    signature: Option<Signature>,
    /// How many `<code>` elements are open: a code span inside another (PostgreSQL's
    /// `\lo_export loid filename`, its arguments marked as code within the command) is part of
    /// the outer span, not a span of its own.
    code_depth: usize,
    /// Inside Doxygen's code (`<div class="fragment">` of `<div class="line">`s, a source file's
    /// listing or an example): how many `<div>`s are open in it, the fragment's own counted.
    fragment_divs: usize,
    /// Inside a code line's number (Doxygen's `<span class="lineno">`), which is not code.
    in_line_number: bool,
    /// How many `<b>`/`<strong>` elements are open, and how many of the paragraph's letters
    /// (not spaces) were written inside one.
    bold_depth: usize,
    bold_chars: usize,
    /// The level of the last heading written as one (`<h1>`…`<h6>`).
    heading_level: Option<u8>,
    /// The depth of the list whose items a bold line titles (see `titled_by_place_mark`).
    titled_list: Option<usize>,
    /// Whether the text being written is a `<p>`'s.
    in_p: bool,
}

/// An id that a heading still to come would take as its anchor (see `BlockWriter::open`).
#[derive(Debug, Clone)]
struct PendingAnchor {
    id: String,
    source: AnchorSource,
}

/// What carries a pending anchor's id.
#[derive(Debug, Clone)]
enum AnchorSource {
    /// The content root: every heading in it is inside it.
    Root,
    /// An element still open, which a heading inside it takes the id of: `depth` elements of its
    /// name are open (its own counted), and `holds_more` once anything was written or opened in
    /// it (SQLite's search form in every header, whose id marks the form, not what follows it).
    Open { name: String, depth: usize, holds_more: bool },
    /// An empty element that has closed (`<a name="max_column"></a>`): it marks the place after
    /// it, where a heading, or a bold line that titles a section, takes its id.
    PlaceMark,
}

/// The text being written: a paragraph's (or heading's), a table cell's, or a code block's.
#[derive(Debug, Clone, Copy)]
enum Written {
    Text,
    Cell,
    Code,
}

impl BlockWriter {
    /// Writes the tokens in `range` as the plan says: jumping over each skipped element (its start
    /// tag → the first token after it), writing the headings that title a box as lines and the
    /// rows and cells of layout tables as block boundaries.
    fn run(
        mut self, tokens: &[Token<'_>], range: std::ops::Range<usize>, plan: &ContentPlan,
    ) -> Vec<Block> {
        let mut i = range.start;
        while i < range.end {
            if let Some(&after) = plan.skip.get(&i) {
                i = after.max(i + 1);
                continue;
            }
            let token = &tokens[i];
            match token {
                Token::Start { .. } if plan.layout_cells.contains(&i) => self.flush_paragraph(),
                Token::Start { name, .. } => self.open(name, token, plan.box_titles.contains(&i)),
                Token::End { name } => self.close(name),
                Token::Text(text) => self.push_text(text),
                Token::RawText(_) => {}
            }
            i += 1;
        }
        // Elements left open at the end of the page (broken markup) end there, keeping their text.
        if self.pre.is_some() {
            self.close("pre");
        }
        if let Some((level, _)) = self.heading {
            self.close(&format!("h{level}"));
        }
        self.finish_row();
        self.flush_paragraph();
        self.blocks
    }

    /// Opens an element; `box_title` when it is a heading that titles a box (`ContentPlan`).
    fn open(&mut self, name: &str, token: &Token<'_>, box_title: bool) {
        if matches!(name, "b" | "strong") {
            self.bold_depth += 1;
        }
        if let Some(PendingAnchor {
            source: AnchorSource::Open { name: holder, depth, holds_more },
            ..
        }) = &mut self.pending_anchor
        {
            *holds_more = true;
            *depth += usize::from(holder == name);
        }
        if let Some(id) = token.attr("id").or(if name == "a" { token.attr("name") } else { None }) {
            // A void element (SQLite's `<input id="searchbox">`) holds nothing to link to.
            if !id.is_empty() && !VOID.contains(&name) {
                match &mut self.heading {
                    Some((_, anchor @ None)) => *anchor = Some(id.to_string()),
                    Some(_) => {}
                    None if self.text.trim().is_empty() => {
                        self.pending_anchor = Some(PendingAnchor {
                            id: id.to_string(),
                            source: AnchorSource::Open {
                                name: name.to_string(),
                                depth: 1,
                                holds_more: false,
                            },
                        })
                    }
                    None => {}
                }
            }
        }
        if name == "a" {
            let written = match (&self.pre, &self.cell) {
                (Some(_), _) => Written::Code,
                (None, Some(_)) => Written::Cell,
                (None, None) => Written::Text,
            };
            self.link_start = self.written(written).map(|text| (written, text.len()));
        }
        if self.fragment_divs > 0 {
            self.fragment_divs += usize::from(name == "div");
            self.in_line_number |= name == "span" && has_class(token, &["lineno"]);
        }
        if let Some(pre) = &mut self.pre {
            // Inside <pre> only line breaks matter.
            if name == "br" {
                pre.push('\n');
            }
            if name == "code" && self.code_language.is_none() {
                self.code_language = language_of(token);
            }
            return;
        }
        // A term's classifier (numpydoc's parameter type, `<strong>right</strong><span
        // class="classifier">DataFrame</span>`) is set apart by a style sheet's " : ", without
        // which the two read as one word ("rightDataFrame").
        if has_class(token, &["classifier"]) {
            self.push_text(" : ");
        }
        match name {
            // A box's title is a line of the section it stands in.
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" if box_title => self.flush_paragraph(),
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                self.flush_paragraph();
                let level = name.as_bytes()[1] - b'0';
                let own_id = token.attr("id").filter(|id| !id.is_empty()).map(str::to_string);
                let pending = self.pending_anchor.take().map(|pending| pending.id);
                self.heading = Some((level, own_id.or(pending)));
            }
            "pre" => {
                self.flush_paragraph();
                self.pre = Some(String::new());
                self.code_language = language_of(token);
            }
            "div" if is_code_container(name, token) => {
                self.flush_paragraph();
                self.pre = Some(String::new());
                self.code_language = None;
                self.fragment_divs = 1;
            }
            "ul" => {
                self.flush_paragraph();
                self.list_counters.push(None);
            }
            "ol" => {
                self.flush_paragraph();
                let start = token.attr("start").and_then(|s| s.parse().ok()).unwrap_or(1);
                self.list_counters.push(Some(start));
            }
            "li" => {
                self.flush_paragraph();
                let depth = self.list_counters.len().saturating_sub(1);
                let marker = match self.list_counters.last_mut() {
                    Some(Some(n)) => {
                        *n += 1;
                        format!("{}.", *n - 1)
                    }
                    _ => "-".to_string(),
                };
                self.list_item_prefix = Some(format!("{}{} ", "  ".repeat(depth), marker));
            }
            "tr" => {
                // A row left open ends where the next one starts.
                self.finish_row();
                self.flush_paragraph();
                self.row = Some(Vec::new());
                self.row_is_header = true;
            }
            // A cell outside any row: the content root is a row or a cell of a layout table.
            "td" | "th" if self.row.is_none() => self.flush_paragraph(),
            "td" | "th" => {
                self.finish_cell();
                if name == "td" {
                    self.row_is_header = false;
                }
                self.cell = Some(String::new());
            }
            // A table row is one line: a line break inside a cell is a space between its words.
            "br" => match &mut self.cell {
                Some(cell) => cell.push(' '),
                None => self.text.push('\n'),
            },
            "dt" => {
                self.flush_paragraph();
                self.signature = has_class(token, &["sig"]).then(Signature::default);
            }
            _ if self.signature.is_some() => {
                let signature = self.signature.as_mut().expect("checked");
                if signature.open(name, token) {
                    self.text.push('`');
                }
            }
            "code" if self.cell.is_none() => {
                if self.code_depth == 0 {
                    self.text.push('`');
                }
                self.code_depth += 1;
            }
            _ if BLOCK_ELEMENTS.contains(&name) => {
                self.flush_paragraph();
                self.in_p = name == "p";
            }
            _ => {}
        }
    }

    fn close(&mut self, name: &str) {
        if matches!(name, "b" | "strong") {
            self.bold_depth = self.bold_depth.saturating_sub(1);
        }
        if let Some(pending) = &mut self.pending_anchor {
            if let AnchorSource::Open { name: holder, depth, holds_more } = &mut pending.source {
                if holder == name {
                    *depth -= 1;
                    // An empty place mark stays pending; a wrapper that held more ended here.
                    match (*depth, *holds_more) {
                        (0, true) => self.pending_anchor = None,
                        (0, false) => pending.source = AnchorSource::PlaceMark,
                        _ => {}
                    }
                }
            }
        }
        if name == "a" {
            self.drop_link_chrome();
        }
        if self.fragment_divs > 0 {
            match name {
                "span" => self.in_line_number = false,
                "div" => {
                    self.fragment_divs -= 1;
                    match (self.fragment_divs, &mut self.pre) {
                        (0, _) => return self.close("pre"),
                        // A line ends (the space Doxygen writes after a blank line's number
                        // with it).
                        (_, Some(pre)) => {
                            pre.truncate(pre.trim_end_matches(' ').len());
                            pre.push('\n');
                        }
                        (_, None) => {}
                    }
                }
                _ => {}
            }
        }
        if self.pre.is_some() {
            if name == "pre" {
                let code = self.pre.take().unwrap_or_default();
                let code = code.trim_matches('\n').trim_end();
                if !code.trim().is_empty() && !is_line_numbers(code) {
                    let fence = if code.contains("```") { "~~~~" } else { "```" };
                    let language = self.code_language.take().unwrap_or_default();
                    self.emit(BlockKind::Code, format!("{fence}{language}\n{code}\n{fence}"), None);
                }
            }
            return;
        }
        match name {
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => match self.heading.take() {
                Some((level, anchor)) => {
                    let text = collapse_whitespace(&std::mem::take(&mut self.text));
                    if !text.is_empty() {
                        self.heading_level = Some(level);
                        self.emit(BlockKind::Heading(level), text, anchor);
                    }
                }
                None => self.flush_paragraph(),
            },
            "ul" | "ol" => {
                self.flush_paragraph();
                if self.titled_list == Some(self.list_counters.len()) {
                    self.titled_list = None;
                }
                self.list_counters.pop();
            }
            "li" => self.flush_paragraph(),
            "td" | "th" if self.row.is_none() => self.flush_paragraph(),
            "td" | "th" => self.finish_cell(),
            "tr" => self.finish_row(),
            "table" => {
                self.finish_row();
                self.flush_paragraph();
            }
            "dt" => {
                if self.signature.take().is_some_and(|s| s.marking) {
                    self.text.push('`');
                }
                self.flush_paragraph();
            }
            _ if self.signature.is_some() => {
                let signature = self.signature.as_mut().expect("checked");
                if signature.close(name) {
                    self.text.push('`');
                }
            }
            "code" if self.cell.is_none() => {
                self.code_depth = self.code_depth.saturating_sub(1);
                if self.code_depth == 0 {
                    self.text.push('`');
                }
            }
            _ if BLOCK_ELEMENTS.contains(&name) => {
                self.flush_paragraph();
                self.in_p = false;
            }
            _ => {}
        }
    }

    /// A link whose whole text is one bracketed word (Sphinx's `[source]` beside every signature
    /// and `[docs]` in its source listings, a wiki's `[edit]`) is the page's controls, not its
    /// text: it is taken out again. Numbered notes (`[1]`) and one-letter types (`[T]`) stay.
    fn drop_link_chrome(&mut self) {
        let Some((into, start)) = self.link_start.take() else { return };
        let Some(written) = self.written(into) else { return };
        let Some(label) = written.get(start..) else { return };
        let is_chrome = label
            .trim()
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
            .is_some_and(|word| {
                // `[T]`, one letter, is a type (rustdoc's slices), not a control.
                (2..=12).contains(&word.chars().count()) && word.chars().all(char::is_alphabetic)
            });
        if is_chrome {
            written.truncate(start);
        }
    }

    fn written(&mut self, into: Written) -> Option<&mut String> {
        match into {
            Written::Text => Some(&mut self.text),
            Written::Cell => self.cell.as_mut(),
            Written::Code => self.pre.as_mut(),
        }
    }

    fn push_text(&mut self, text: &str) {
        if let Some(PendingAnchor { source: AnchorSource::Open { holds_more, .. }, .. }) =
            &mut self.pending_anchor
        {
            *holds_more |= !text.trim().is_empty();
        }
        // In Doxygen's code, the line breaks between its lines' elements are not code (each line
        // ends with its element), nor are the lines' numbers.
        if self.in_line_number || self.fragment_divs == 1 {
            return;
        }
        if let Some(pre) = &mut self.pre {
            pre.push_str(text);
        } else if let Some(cell) = &mut self.cell {
            cell.push_str(text);
        } else {
            if self.bold_depth > 0 {
                self.bold_chars += text.chars().filter(|c| !c.is_whitespace()).count();
            }
            // A line break in the source is a space: only `<br>` breaks a line outside `<pre>`.
            self.text.extend(text.chars().map(|c| if c == '\n' || c == '\r' { ' ' } else { c }));
        }
    }

    fn finish_cell(&mut self) {
        if let (Some(cell), Some(row)) = (self.cell.take(), &mut self.row) {
            row.push(collapse_whitespace(&cell).replace('|', "\\|"));
        }
    }

    fn finish_row(&mut self) {
        self.finish_cell();
        if let Some(row) = self.row.take() {
            if row.iter().any(|c| !c.is_empty()) {
                let is_header = self.row_is_header;
                let line = format!("| {} |", row.join(" | "));
                let cells = row.len();
                self.emit(BlockKind::TableRow, line, None);
                if is_header {
                    self.emit(BlockKind::TableRow, format!("|{}", " --- |".repeat(cells)), None);
                }
            }
        }
    }

    fn flush_paragraph(&mut self) {
        if self.heading.is_some() {
            // Block elements inside a heading (rare) must not split it, but do separate words.
            self.text.push(' ');
            return;
        }
        let raw = std::mem::take(&mut self.text);
        let text = raw
            .split('\n')
            .map(collapse_whitespace)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        let text = text.replace("``", "");
        let bold_chars = std::mem::take(&mut self.bold_chars);
        if self.titled_by_place_mark(&text, bold_chars) {
            if self.list_item_prefix.take().is_some() {
                self.titled_list = Some(self.list_counters.len());
            }
            // One below the section it stands in, as its siblings.
            let level = self.heading_level.map_or(2, |level| (level + 1).min(6));
            let anchor = self.pending_anchor.take().map(|pending| pending.id);
            return self.emit(BlockKind::Heading(level), text, anchor);
        }
        let prefix = self.list_item_prefix.take();
        if text.is_empty() || text == "`" {
            // An empty item keeps its marker for the text that follows (e.g.
            // `<li><p>text</p></li>`).
            if prefix.is_some() {
                self.list_item_prefix = prefix;
            }
            return;
        }
        match prefix {
            Some(prefix) => self.emit(BlockKind::ListItem, format!("{prefix}{text}"), None),
            None => self.emit(BlockKind::Paragraph, text, None),
        }
    }

    /// Whether a paragraph is a title: all of it bold, one short line, right after an empty place
    /// mark (SQLite's `<a name="max_column"></a><li><p><b>Maximum Number Of Columns</b></p>`, its
    /// compile-time options' `<a name="fdatasync"></a><p><b>HAVE_FDATASYNC</b></p>`), or opening
    /// an item of a list whose other items are so titled (SQLite left four of fifteen limits
    /// unmarked). The mark says the author links to it as a place; without one, a bold line
    /// ("Class signature", "Default:") is a line of its section; nor is a term that is a place
    /// mark's (Sphinx's `<dt><span id="index-0"></span><strong>PEP 235</strong></dt>`) a title.
    fn titled_by_place_mark(&self, text: &str, bold_chars: usize) -> bool {
        let letters = text.chars().filter(|c| !c.is_whitespace() && *c != '`').count();
        let marked = self
            .pending_anchor
            .as_ref()
            .is_some_and(|pending| matches!(pending.source, AnchorSource::PlaceMark));
        let titled_item = self.list_item_prefix.is_some()
            && self.titled_list.is_some_and(|depth| depth == self.list_counters.len());
        self.in_p
            && (marked || titled_item)
            && bold_chars > 0
            && bold_chars == letters
            && text.chars().count() <= 100
            && !text.contains('\n')
            && !text.ends_with([':', '.'])
    }

    fn emit(&mut self, kind: BlockKind, text: String, anchor: Option<String>) {
        self.pending_anchor = None;
        // A link that spans blocks is no bracketed word.
        self.link_start = None;
        self.blocks.push(Block { kind, text, anchor });
    }
}

/// The classes Sphinx gives a signature's name, and the names qualifying it.
const NAME_CLASSES: [&str; 2] = ["sig-name", "descname"];
const QUALIFIER_CLASSES: [&str; 2] = ["sig-prename", "descclassname"];

/// An API reference's signature being written: its name, qualified, is set as one code span
/// whatever code elements the theme put in it (Django's `` class `models.User` ``, Python's
/// `` `fileinput.filename`() `` and `` `itemsize` ``, SQLAlchemy's
/// `` method `sqlalchemy.orm.Session.merge`(instance) ``, where the theme set only the
/// qualifying names as code). The span opens at the first qualifying or name element (or code
/// element: SQLAlchemy's qualifying names have no class of their own) and closes after the name,
/// so a keyword before it (`class`, a C function's return type) and the parameters after it stay
/// outside.
#[derive(Debug, Default)]
struct Signature {
    /// The open elements inside the signature: whether each is the name's.
    open: Vec<bool>,
    marking: bool,
    written: bool,
}

impl Signature {
    /// An element opens; true when the name's code span starts here.
    fn open(&mut self, name: &str, token: &Token<'_>) -> bool {
        if VOID.contains(&name) {
            return false;
        }
        let is_name = has_class(token, &NAME_CLASSES);
        self.open.push(is_name);
        let starts = !self.written
            && !self.marking
            && (name == "code" || is_name || has_class(token, &QUALIFIER_CLASSES));
        self.marking |= starts;
        starts
    }

    /// An element closes; true when the name's code span ends here.
    fn close(&mut self, name: &str) -> bool {
        if VOID.contains(&name) || self.open.pop() != Some(true) || !self.marking {
            return false;
        }
        self.marking = false;
        self.written = true;
        true
    }
}

fn language_of(token: &Token<'_>) -> Option<String> {
    token.attr("class")?.split_ascii_whitespace().find_map(|c| {
        c.strip_prefix("language-").or_else(|| c.strip_prefix("lang-")).map(str::to_string)
    })
}

#[cfg(test)]
mod tests;
