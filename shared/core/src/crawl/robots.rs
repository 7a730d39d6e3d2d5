//! robots.txt per RFC 9309 (Robots Exclusion Protocol).
//!
//! - Groups start with one or more `user-agent` lines; groups naming the same agent are merged. The
//!   crawler obeys the group matching its product token (case-insensitively), else the `*` group,
//!   else nothing restricts it.
//! - The rule with the longest matching path wins; on a tie `allow` wins (the least restrictive).
//! - `*` matches any run of characters and a final `$` anchors the end of the path.
//! - Paths are compared after percent-encoding normalisation: non-ASCII and reserved octets
//!   encoded, encoded unreserved characters decoded, hex digits upper-case.
//! - `/robots.txt` itself is always allowed. Files are parsed up to 500 KiB.
//!
//! How a fetch of robots.txt maps to a policy (4xx: allow all; 5xx or unreachable: disallow all) is
//! decided by the crawler; this module only parses and matches.

use serde::{Deserialize, Serialize};

/// Bytes of a robots.txt file that are parsed (RFC 9309 §2.5 asks for at least 500 KiB).
pub const MAX_ROBOTS_BYTES: usize = 500 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Rule {
    allow: bool,
    /// Normalised pattern.
    pattern: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Group {
    /// Lower-cased product tokens (`*` included).
    agents: Vec<String>,
    rules: Vec<Rule>,
    crawl_delay: Option<f64>,
}

/// A parsed robots.txt.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Robots {
    groups: Vec<Group>,
    /// `Sitemap:` URLs, in file order.
    pub sitemaps: Vec<String>,
}

impl Robots {
    pub fn parse(text: &str) -> Robots {
        let text = if text.len() > MAX_ROBOTS_BYTES {
            let mut end = MAX_ROBOTS_BYTES;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            &text[..end]
        } else {
            text
        };
        let mut robots = Robots::default();
        let mut current: Option<Group> = None;
        // True while consecutive user-agent lines are adding to the same group.
        let mut collecting_agents = false;
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            let Some((key, value)) = directive(line) else { continue };
            match key.as_str() {
                "user-agent" => {
                    if !collecting_agents {
                        if let Some(group) = current.take() {
                            robots.groups.push(group);
                        }
                        current = Some(Group::default());
                    }
                    collecting_agents = true;
                    // The product token ends at the first character that is not part of a token.
                    let token: String = value
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '*'))
                        .collect();
                    if let Some(group) = current.as_mut() {
                        group.agents.push(token.to_ascii_lowercase());
                    }
                }
                "allow" | "disallow" => {
                    collecting_agents = false;
                    // Rules before any user-agent line belong to no group and are ignored.
                    if let Some(group) = current.as_mut() {
                        if !value.is_empty() {
                            group
                                .rules
                                .push(Rule { allow: key == "allow", pattern: normalize(value) });
                        }
                    }
                }
                "crawl-delay" => {
                    collecting_agents = false;
                    if let (Some(group), Ok(delay)) = (current.as_mut(), value.parse::<f64>()) {
                        if delay.is_finite() && delay >= 0.0 {
                            group.crawl_delay = Some(delay);
                        }
                    }
                }
                // Sitemap lines are global and do not end a group.
                "sitemap" if !value.is_empty() => robots.sitemaps.push(value.to_string()),
                _ => {}
            }
        }
        if let Some(group) = current {
            robots.groups.push(group);
        }
        robots
    }

    /// The groups that apply to `agent` (a product token such as `DocentBot`, or a full user
    /// agent).
    fn groups_for(&self, agent: &str) -> Vec<&Group> {
        let token = product_token(agent);
        let named: Vec<&Group> = self.groups.iter().filter(|g| g.agents.contains(&token)).collect();
        if !named.is_empty() {
            return named;
        }
        self.groups.iter().filter(|g| g.agents.iter().any(|a| a == "*")).collect()
    }

    /// Whether `agent` may fetch `path_and_query` (the URL's path, plus `?query` if any).
    pub fn is_allowed(&self, agent: &str, path_and_query: &str) -> bool {
        let path = normalize(if path_and_query.is_empty() { "/" } else { path_and_query });
        if path == "/robots.txt" {
            return true;
        }
        let mut best: Option<(usize, bool)> = None;
        for group in self.groups_for(agent) {
            for rule in &group.rules {
                if pattern_matches(&rule.pattern, &path) {
                    let length = rule.pattern.len();
                    let better = match best {
                        None => true,
                        Some((l, allow)) => length > l || (length == l && rule.allow && !allow),
                    };
                    if better {
                        best = Some((length, rule.allow));
                    }
                }
            }
        }
        best.is_none_or(|(_, allow)| allow)
    }

    /// The `Crawl-delay` (seconds) of the group that applies to `agent`, if it sets one.
    pub fn crawl_delay(&self, agent: &str) -> Option<f64> {
        self.groups_for(agent).iter().find_map(|g| g.crawl_delay)
    }
}

/// The product token of a user agent: `DocentBot/1.0 (+https://…)` → `docentbot`.
pub fn product_token(agent: &str) -> String {
    agent
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect::<String>()
        .to_ascii_lowercase()
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// Percent-encoding normalisation so that equivalent paths compare equal: `%7E` → `~`, `é` →
/// `%C3%A9`, `%2f` → `%2F` (an encoded reserved character stays encoded: `/a%2Fb` is not `/a/b`).
pub fn normalize(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        let escape =
            bytes.get(i + 1..i + 3).filter(|h| byte == b'%' && h.iter().all(u8::is_ascii_hexdigit));
        if let Some(hex) = escape {
            let hex = std::str::from_utf8(hex).unwrap_or("00");
            if let Ok(decoded) = u8::from_str_radix(hex, 16) {
                if is_unreserved(decoded) {
                    out.push(decoded as char);
                } else {
                    out.push('%');
                    out.push_str(&hex.to_ascii_uppercase());
                }
                i += 3;
                continue;
            }
        }
        if byte.is_ascii() && !byte.is_ascii_control() && byte != b' ' {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
        i += 1;
    }
    out
}

/// Matches a normalised pattern against a normalised path: a prefix match, `*` for any run, a final
/// `$` anchoring the end.
fn pattern_matches(pattern: &str, path: &str) -> bool {
    let (pattern, anchored) = match pattern.strip_suffix('$') {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut position = 0;
    for (index, part) in parts.iter().enumerate() {
        if index == 0 {
            if !path.starts_with(part) {
                return false;
            }
            position = part.len();
            continue;
        }
        let last = index == parts.len() - 1;
        if last && anchored {
            // The final piece must end the path, after the current position.
            return path.len() >= position + part.len() && path.ends_with(part);
        }
        match path[position..].find(part) {
            Some(found) => position += found + part.len(),
            None => return false,
        }
    }
    !anchored || position == path.len()
}

/// A line's directive name (lower-cased) and value. The colon is optional for the directives this
/// parser knows, as in Google's parser: `disallow /private` means what it plainly says, and a
/// polite crawler honours it.
fn directive(line: &str) -> Option<(String, &str)> {
    const KNOWN: [&str; 5] = ["user-agent", "allow", "disallow", "crawl-delay", "sitemap"];
    let name_end =
        line.find(|c: char| !(c.is_ascii_alphabetic() || c == '-')).unwrap_or(line.len());
    let (name, rest) = line.split_at(name_end);
    if name.is_empty() {
        return None;
    }
    let name = name.to_ascii_lowercase();
    let value = match rest.trim_start().strip_prefix(':') {
        Some(value) => value,
        None if rest.starts_with(char::is_whitespace) && KNOWN.contains(&name.as_str()) => rest,
        None => return None,
    };
    Some((name, value.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example file of RFC 9309 §5.1.
    const RFC_EXAMPLE: &str = "User-Agent: *
Disallow: *.gif$
Disallow: /example/
Allow: /publications/

User-Agent: foobot
Disallow:/
Allow:/example/page.html
Allow:/example/allowed.gif

User-Agent: barbot
User-Agent: bazbot
Disallow: /example/page.html

User-Agent: quxbot

EOF";

    #[test]
    fn rfc_example_groups() {
        let robots = Robots::parse(RFC_EXAMPLE);
        // foobot: everything disallowed except the two allowed files.
        assert!(!robots.is_allowed("foobot", "/"));
        assert!(!robots.is_allowed("FooBot/2.1", "/example/other.html"));
        assert!(robots.is_allowed("foobot", "/example/page.html"));
        assert!(robots.is_allowed("foobot", "/example/allowed.gif"));
        // barbot and bazbot share a group.
        assert!(!robots.is_allowed("barbot", "/example/page.html"));
        assert!(!robots.is_allowed("bazbot", "/example/page.html"));
        assert!(
            robots.is_allowed("barbot", "/example/other.html"),
            "barbot is not bound by the * group"
        );
        // quxbot's group is empty: everything allowed.
        assert!(robots.is_allowed("quxbot", "/example/page.html"));
        assert!(robots.is_allowed("quxbot", "/a.gif"));
        // Anyone else follows *.
        assert!(!robots.is_allowed("DocentBot", "/images/a.gif"));
        assert!(robots.is_allowed("DocentBot", "/images/a.gif?size=2"), "$ anchors the end");
        assert!(!robots.is_allowed("DocentBot", "/example/"));
        assert!(robots.is_allowed("DocentBot", "/publications/x.html"));
        assert!(robots.is_allowed("DocentBot", "/"));
    }

    #[test]
    fn a_directive_without_its_colon_still_means_what_it_says() {
        let robots = Robots::parse(
            "User-agent *\ndisallow /private\nAllow   /private/open.html\nCrawl-delay 2\nSitemap https://d.test/s.xml\n",
        );
        assert!(!robots.is_allowed("DocentBot", "/private/x.html"));
        assert!(robots.is_allowed("DocentBot", "/private/open.html"));
        assert!(robots.is_allowed("DocentBot", "/public.html"));
        assert_eq!(robots.crawl_delay("DocentBot"), Some(2.0));
        assert_eq!(robots.sitemaps, ["https://d.test/s.xml"]);
        // Only known directives, and only with a space before the value: these are noise.
        let noise = Robots::parse("user-agent: *\ndisallow/private\nnoindex /x\nuser agent: y\n");
        assert!(noise.is_allowed("DocentBot", "/private/x.html"));
        assert!(noise.is_allowed("DocentBot", "/x"));
    }

    #[test]
    fn longest_match_wins_and_allow_wins_ties() {
        // RFC 9309 §2.2.2.
        let robots = Robots::parse(
            "user-agent: *\nallow: /example/page/\ndisallow: /example/page/disallowed.gif\n",
        );
        assert!(robots.is_allowed("x", "/example/page/"));
        assert!(robots.is_allowed("x", "/example/page/other.gif"));
        assert!(!robots.is_allowed("x", "/example/page/disallowed.gif"));
        let tie = Robots::parse("user-agent: *\ndisallow: /folder\nallow: /folder\n");
        assert!(tie.is_allowed("x", "/folder/page"));
    }

    #[test]
    fn special_characters() {
        // RFC 9309 §2.2.3 examples.
        let robots = Robots::parse("User-agent: *\nDisallow: /path/file-with-a-*.html\nDisallow: /path/foo-$\nDisallow: /*.php$\n");
        assert!(!robots.is_allowed("x", "/path/file-with-a-wildcard.html"));
        assert!(!robots.is_allowed("x", "/path/file-with-a-.html"));
        assert!(robots.is_allowed("x", "/path/file-with-a.html"));
        assert!(!robots.is_allowed("x", "/path/foo-"));
        assert!(robots.is_allowed("x", "/path/foo-bar"));
        assert!(!robots.is_allowed("x", "/index.php"));
        assert!(robots.is_allowed("x", "/index.php5"));
    }

    #[test]
    fn percent_encoding_is_normalised() {
        // RFC 9309 §2.2.2 table: encoded and unencoded forms are equivalent, reserved characters
        // are not.
        let robots = Robots::parse("User-agent: *\nDisallow: /foo/bar?baz=quz\nDisallow: /foo/bar/%E3%83%84\nDisallow: /%7Ejoe/\nDisallow: /a%2Fb\n");
        assert!(!robots.is_allowed("x", "/foo/bar?baz=quz"));
        assert!(!robots.is_allowed("x", "/foo/bar/ツ"));
        assert!(!robots.is_allowed("x", "/foo/bar/%e3%83%84"));
        assert!(!robots.is_allowed("x", "/~joe/index.html"));
        assert!(!robots.is_allowed("x", "/a%2fb"));
        assert!(robots.is_allowed("x", "/a/b"), "an encoded slash is not a path separator");
        assert_eq!(normalize("/%7ejoe/ü"), "/~joe/%C3%BC");
    }

    #[test]
    fn case_rules() {
        // Keys and agent names are case-insensitive; paths are not.
        let robots = Robots::parse("USER-AGENT: DocentBot\nDISALLOW: /Private\n");
        assert!(!robots.is_allowed("docentbot/1.0 (+https://example.com)", "/Private/x"));
        assert!(robots.is_allowed("DocentBot", "/private/x"));
    }

    #[test]
    fn robots_txt_itself_empty_rules_and_junk() {
        let robots = Robots::parse("user-agent: *\ndisallow: /\n");
        assert!(robots.is_allowed("x", "/robots.txt"));
        assert!(!robots.is_allowed("x", "/index.html"));
        let empty = Robots::parse("user-agent: *\ndisallow:\n");
        assert!(empty.is_allowed("x", "/anything"));
        let junk = Robots::parse("<html>not robots</html>\ndisallow: /orphan\n\u{0}\u{ffff}");
        assert_eq!(normalize("/%é%4"), "/%%C3%A9%4", "stray percent signs pass through");
        assert!(junk.is_allowed("x", "/orphan"), "rules outside any group are ignored");
        assert!(Robots::parse("").is_allowed("x", "/"));
    }

    #[test]
    fn groups_for_the_same_agent_merge_and_extras_are_read() {
        let robots = Robots::parse(
            "Sitemap: https://d.test/sitemap.xml\nUser-agent: a\nDisallow: /one\nCrawl-delay: 2.5\n\nUser-agent: b\nDisallow: /x\n\nUser-agent: a\nDisallow: /two # comment\n",
        );
        assert!(!robots.is_allowed("a", "/one"));
        assert!(!robots.is_allowed("a", "/two"));
        assert!(robots.is_allowed("a", "/x"));
        assert_eq!(robots.crawl_delay("a"), Some(2.5));
        assert_eq!(robots.crawl_delay("b"), None);
        assert_eq!(robots.sitemaps, vec!["https://d.test/sitemap.xml"]);
    }

    #[test]
    fn oversized_files_are_cut_not_rejected() {
        let big = format!(
            "user-agent: *\ndisallow: /early\n{}\ndisallow: /late\n",
            "# padding\n".repeat(60_000)
        );
        let robots = Robots::parse(&big);
        assert!(!robots.is_allowed("x", "/early"));
        assert!(robots.is_allowed("x", "/late"), "rules past 500 KiB are not read");
    }
}
