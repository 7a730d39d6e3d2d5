//! A small, forgiving HTML tokenizer.
//!
//! Docent only needs tags, attributes and text in document order to pull out the main content and
//! the links; a full HTML5 tree builder (html5ever) would triple the Worker bundle for no gain
//! here. The tokenizer never fails: malformed markup degrades into text, as browsers do.

use crate::content::html_entities::NAMED;

/// One lexical item of an HTML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token<'a> {
    /// `<name attr=value ...>`; `self_closing` is true for `<br/>`-style tags.
    Start { name: String, attrs: Vec<(String, String)>, self_closing: bool },
    /// `</name>`
    End { name: String },
    /// Text with character references already decoded.
    Text(String),
    /// Text of a raw-text element (`<script>`, `<style>`, ...), not decoded.
    RawText(&'a str),
}

impl Token<'_> {
    /// The value of attribute `name` on a start tag.
    pub fn attr(&self, name: &str) -> Option<&str> {
        match self {
            Token::Start { attrs, .. } => {
                attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
            }
            _ => None,
        }
    }

    /// Whether the element's `rel` lists one of `types` (link types compare without regard to
    /// case: `rel="Next"`, `rel="nofollow noopener"`).
    pub fn has_rel(&self, types: &[&str]) -> bool {
        let rel = self.attr("rel").unwrap_or("");
        rel.split_ascii_whitespace().any(|r| types.iter().any(|t| t.eq_ignore_ascii_case(r)))
    }
}

const RAW_TEXT_ELEMENTS: [&str; 6] = ["script", "style", "textarea", "title", "xmp", "noscript"];

/// Splits `html` into tokens. Comments, doctypes and processing instructions are dropped.
pub fn tokenize(html: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let bytes = html.as_bytes();
    let mut pos = 0;
    let mut text_start = 0;
    while pos < bytes.len() {
        if bytes[pos] != b'<' {
            pos += 1;
            continue;
        }
        let rest = &html[pos..];
        // Comments and declarations.
        if let Some(comment) = rest.strip_prefix("<!--") {
            flush_text(html, text_start, pos, &mut tokens);
            let end = comment.find("-->").map(|i| pos + 4 + i + 3).unwrap_or(bytes.len());
            pos = end;
            text_start = pos;
            continue;
        }
        if rest.starts_with("<!") || rest.starts_with("<?") {
            flush_text(html, text_start, pos, &mut tokens);
            pos = rest.find('>').map(|i| pos + i + 1).unwrap_or(bytes.len());
            text_start = pos;
            continue;
        }
        let is_end = rest.starts_with("</");
        let name_start = pos + if is_end { 2 } else { 1 };
        if !bytes.get(name_start).is_some_and(|b| b.is_ascii_alphabetic()) {
            pos += 1; // a lone '<' is text
            continue;
        }
        flush_text(html, text_start, pos, &mut tokens);
        let (token, next) = parse_tag(html, name_start, is_end);
        pos = next;
        text_start = pos;
        if let Token::Start { name, self_closing: false, .. } = &token {
            if RAW_TEXT_ELEMENTS.contains(&name.as_str()) {
                let closing = format!("</{name}");
                let body_end = find_ascii_case_insensitive(&html[pos..], &closing)
                    .map(|i| pos + i)
                    .unwrap_or(bytes.len());
                let name = name.clone();
                tokens.push(token);
                let raw = &html[pos..body_end];
                if name == "title" || name == "textarea" {
                    tokens.push(Token::Text(decode_entities(raw)));
                } else {
                    tokens.push(Token::RawText(raw));
                }
                pos = html[body_end..].find('>').map(|i| body_end + i + 1).unwrap_or(bytes.len());
                text_start = pos;
                tokens.push(Token::End { name });
                continue;
            }
        }
        tokens.push(token);
    }
    flush_text(html, text_start, bytes.len(), &mut tokens);
    tokens
}

fn flush_text<'a>(html: &'a str, start: usize, end: usize, tokens: &mut Vec<Token<'a>>) {
    if end > start {
        tokens.push(Token::Text(decode_entities(&html[start..end])));
    }
}

fn find_ascii_case_insensitive(haystack: &str, needle: &str) -> Option<usize> {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    if n.len() > h.len() {
        return None;
    }
    (0..=h.len() - n.len()).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

/// Parses a tag whose name starts at `name_start`; returns the token and the position after `>`.
fn parse_tag(html: &str, name_start: usize, is_end: bool) -> (Token<'static>, usize) {
    let bytes = html.as_bytes();
    let mut pos = name_start;
    while pos < bytes.len()
        && !bytes[pos].is_ascii_whitespace()
        && bytes[pos] != b'>'
        && bytes[pos] != b'/'
    {
        pos += 1;
    }
    let name = html[name_start..pos].to_ascii_lowercase();
    let mut attrs = Vec::new();
    let mut self_closing = false;
    loop {
        while pos < bytes.len()
            && (bytes[pos].is_ascii_whitespace() || (bytes[pos] == b'/' && !at_tag_end(bytes, pos)))
        {
            pos += 1;
        }
        if pos >= bytes.len() {
            break;
        }
        if bytes[pos] == b'>' {
            pos += 1;
            break;
        }
        if bytes[pos] == b'/' {
            self_closing = true;
            pos += 2;
            break;
        }
        let key_start = pos;
        while pos < bytes.len()
            && !bytes[pos].is_ascii_whitespace()
            && !matches!(bytes[pos], b'=' | b'>' | b'/')
        {
            pos += 1;
        }
        let key = html[key_start..pos].to_ascii_lowercase();
        while pos < bytes.len() && bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        let mut value = String::new();
        if bytes.get(pos) == Some(&b'=') {
            pos += 1;
            while pos < bytes.len() && bytes[pos].is_ascii_whitespace() {
                pos += 1;
            }
            match bytes.get(pos) {
                Some(&q @ (b'"' | b'\'')) => {
                    let end =
                        html[pos + 1..].find(q as char).map(|i| pos + 1 + i).unwrap_or(bytes.len());
                    value = decode_entities(&html[pos + 1..end]);
                    pos = (end + 1).min(bytes.len());
                }
                _ => {
                    let start = pos;
                    while pos < bytes.len()
                        && !bytes[pos].is_ascii_whitespace()
                        && bytes[pos] != b'>'
                    {
                        pos += 1;
                    }
                    value = decode_entities(&html[start..pos]);
                }
            }
        }
        if !key.is_empty() && !attrs.iter().any(|(k, _)| *k == key) {
            attrs.push((key, value));
        }
    }
    let token =
        if is_end { Token::End { name } } else { Token::Start { name, attrs, self_closing } };
    (token, pos)
}

fn at_tag_end(bytes: &[u8], pos: usize) -> bool {
    bytes.get(pos + 1) == Some(&b'>')
}

/// Decodes character references (`&amp;`, `&#233;`, `&#xE9;`, `&rArr;`).
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest[1..].find(|c: char| !c.is_ascii_alphanumeric() && c != '#').map(|j| j + 1);
        let (name, consumed) = match end {
            Some(j) if rest.as_bytes()[j] == b';' => (&rest[1..j], j + 1),
            Some(j) => (&rest[1..j], j),
            None => (&rest[1..], rest.len()),
        };
        match decode_reference(name) {
            Some(text) => {
                out.push_str(&text);
                rest = &rest[consumed..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The text a character reference stands for: a number, or one of HTML's named references (in
/// any of its 2,125 names: texinfo writes `&rArr;` for a result, French names need `&eacute;`).
fn decode_reference(name: &str) -> Option<std::borrow::Cow<'static, str>> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        let c = char::from_u32(code).filter(|&c| c != '\0').unwrap_or('\u{FFFD}');
        return Some(c.to_string().into());
    }
    let found = NAMED.binary_search_by(|(named, _)| named.cmp(&name)).ok()?;
    Some(NAMED[found].1.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(name: &str, attrs: &[(&str, &str)]) -> Token<'static> {
        Token::Start {
            name: name.into(),
            attrs: attrs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            self_closing: false,
        }
    }

    #[test]
    fn tags_attributes_and_text() {
        let tokens = tokenize(r#"<P CLASS="a b" id=x data-q='1 > 0'>Hi &amp; bye<br/></p>"#);
        assert_eq!(
            tokens,
            vec![
                start("p", &[("class", "a b"), ("id", "x"), ("data-q", "1 > 0")]),
                Token::Text("Hi & bye".into()),
                Token::Start { name: "br".into(), attrs: vec![], self_closing: true },
                Token::End { name: "p".into() },
            ]
        );
    }

    #[test]
    fn raw_text_elements_do_not_produce_tags() {
        let tokens = tokenize("<script>if (a<b) { x = '</p>'; }</SCRIPT><p>ok</p>");
        assert_eq!(tokens[1], Token::RawText("if (a<b) { x = '</p>'; }"));
        assert_eq!(tokens[2], Token::End { name: "script".into() });
        assert_eq!(tokens[4], Token::Text("ok".into()));
    }

    #[test]
    fn comments_doctype_and_stray_angle_brackets() {
        let tokens = tokenize("<!DOCTYPE html><!-- <p>hidden</p> -->a < b<p>c</p>");
        assert_eq!(tokens[0], Token::Text("a < b".into()));
        assert_eq!(tokens[2], Token::Text("c".into()));
        assert!(!tokens.iter().any(|t| matches!(t, Token::Text(s) if s.contains("hidden"))));
    }

    #[test]
    fn entities() {
        assert_eq!(
            decode_entities("&lt;a&gt; &#233;&#xE9; &nbsp;&copy; &bogus; & x"),
            "<a> éé \u{a0}© &bogus; & x"
        );
        assert_eq!(decode_entities("AT&T"), "AT&T");
        assert_eq!(decode_entities("&#0;"), "\u{FFFD}");
        // Every name HTML defines, one of them two characters long; a name must be whole.
        assert_eq!(
            decode_entities(
                "foo &rArr;Hello Fran&ccedil;ois &NotEqualTilde; &alpha;&Alpha; &zwnj;"
            ),
            "foo ⇒Hello François \u{2242}\u{338} αΑ \u{200c}"
        );
        assert_eq!(decode_entities("?a=1&notify=2 &copy2026"), "?a=1&notify=2 &copy2026");
    }

    #[test]
    fn title_is_decoded_text() {
        let tokens = tokenize("<title>A &amp; B</title>");
        assert_eq!(tokens[1], Token::Text("A & B".into()));
    }

    #[test]
    fn unterminated_input_never_panics() {
        for s in ["<", "<a", "<a href=\"x", "<!--", "</", "<script>", "&#x", "&", "<a b=c"] {
            let _ = tokenize(s);
        }
    }
}
