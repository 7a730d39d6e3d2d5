//! Include/exclude globs, read the way `.gitignore` and rsync users read them.
//!
//! - A pattern without `/` (`bookindex.html`, `*.pdf`) matches the last path segment at any depth.
//! - A pattern with `/` (`guides/*.html`, `api/**`) matches the URL path from the crawl's start
//!   directory, anchored there. A leading `/` only anchors: `/index.html` is the start directory's
//!   own index page, not every `index.html`.
//! - A trailing `/` names a folder: `internal/` matches that folder (at any depth, as a pattern
//!   without another `/` does) and everything in it.
//! - `*` and `?` stay within a segment; `**` as a whole segment spans zero or more folders.
//! - A pattern that starts with a scheme (`https://d.test/blog/*`, `*://*/print/*`) is the older
//!   full-URL form and matches the whole URL, where `*` crosses `/`, exactly as before.
//!
//! Path patterns see the path only, never the query. They are tried on the path as written in the
//! URL and, when it has percent escapes, on its decoded form too, so `my notes.html` matches
//! `my%20notes.html`.

/// One compiled include or exclude pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    form: Form,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Form {
    /// The older form: the pattern against the full URL.
    FullUrl(String),
    /// Path segments from the start directory; `**` entries span folders.
    Path(Vec<String>),
}

const ANY_FOLDERS: &str = "**";

impl Glob {
    pub fn parse(pattern: &str) -> Glob {
        if starts_with_scheme(pattern) {
            return Glob { form: Form::FullUrl(pattern.to_string()) };
        }
        let (leading_slash, rest) = match pattern.strip_prefix('/') {
            Some(rest) => (true, rest),
            None => (false, pattern),
        };
        let (folder, rest) = match rest.strip_suffix('/') {
            Some(stripped) if !stripped.is_empty() => (true, stripped),
            _ => (false, rest),
        };
        let anchored = leading_slash || rest.contains('/');
        let mut segments = Vec::new();
        if !anchored {
            segments.push(ANY_FOLDERS.to_string());
        }
        segments.extend(rest.split('/').map(str::to_string));
        if folder {
            segments.push(ANY_FOLDERS.to_string());
        }
        Glob { form: Form::Path(segments) }
    }

    pub fn matches(&self, target: &GlobTarget<'_>) -> bool {
        match &self.form {
            Form::FullUrl(pattern) => wildcard_match(pattern, target.url),
            Form::Path(pattern) => {
                target.segments.as_ref().is_some_and(|s| segments_match(pattern, s))
                    || target.decoded.as_ref().is_some_and(|s| segments_match(pattern, s))
            }
        }
    }
}

/// A URL as globs see it.
#[derive(Debug, Clone)]
pub struct GlobTarget<'a> {
    url: &'a str,
    /// The path's segments from the start directory; `None` for a URL outside it.
    segments: Option<Vec<&'a str>>,
    /// The same segments percent-decoded, when any of them had an escape.
    decoded: Option<Vec<String>>,
}

impl<'a> GlobTarget<'a> {
    /// `path_from_start` is the URL's path after the start directory (`guides/a.html`), or `None`
    /// when the URL lies outside it (then only full-URL patterns can match).
    pub fn new(url: &'a str, path_from_start: Option<&'a str>) -> Self {
        let segments: Option<Vec<&str>> = path_from_start.map(|p| p.split('/').collect());
        let decoded = segments
            .as_ref()
            .filter(|s| s.iter().any(|segment| segment.contains('%')))
            .map(|s| s.iter().map(|segment| percent_decode(segment)).collect());
        GlobTarget { url, segments, decoded }
    }
}

/// A scheme is letters first, then letters, digits, `+`, `-` or `.`; a `*` or `?` may stand in
/// for any of them (`*://`).
fn starts_with_scheme(pattern: &str) -> bool {
    let Some(end) = pattern.find("://") else { return false };
    let scheme = &pattern[..end];
    !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.*?".contains(c))
}

/// `*` matches any run of characters and `?` one character, over the whole text. Iterative with
/// single-star backtracking, so linear in practice.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    sequence_match(&p, &t, |unit| *unit == '*', |unit, c| *unit == '?' || unit == c)
}

/// Pattern segments against path segments, `**` spanning any number of them.
fn segments_match<S: AsRef<str>>(pattern: &[String], path: &[S]) -> bool {
    sequence_match(
        pattern,
        path,
        |unit| unit == ANY_FOLDERS,
        |unit, segment| wildcard_match(unit, segment.as_ref()),
    )
}

/// The classic star matcher over any units: `is_star` units match any run of items, every other
/// unit exactly one item that `unit_matches`. Retrying only from the last star is enough because
/// each non-star unit takes exactly one item.
fn sequence_match<P, T>(
    pattern: &[P], items: &[T], is_star: impl Fn(&P) -> bool, unit_matches: impl Fn(&P, &T) -> bool,
) -> bool {
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < items.len() {
        if pi < pattern.len() && is_star(&pattern[pi]) {
            backtrack = Some((pi, ti));
            pi += 1;
        } else if pi < pattern.len() && unit_matches(&pattern[pi], &items[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((star, taken)) = backtrack {
            pi = star + 1;
            ti = taken + 1;
            backtrack = Some((star, taken + 1));
        } else {
            return false;
        }
    }
    pattern[pi..].iter().all(is_star)
}

fn percent_decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

/// Which of a job's globs matched at least one URL: bit `i` for `include[i]`, then the excludes
/// after the includes. A set, so recording the same match twice (a redelivered message) changes
/// nothing and sets from concurrent consumers merge by union.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GlobMatches(u64);

impl GlobMatches {
    /// Globs tracked per job; 63 so the set fits a signed 64-bit SQL integer. A job has at most
    /// 50 globs, so none goes untracked.
    pub const TRACKED: usize = 63;

    pub fn from_bits(bits: u64) -> Self {
        GlobMatches(bits & ((1 << Self::TRACKED) - 1))
    }

    pub fn bits(self) -> u64 {
        self.0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn contains(self, index: usize) -> bool {
        index < Self::TRACKED && self.0 & (1 << index) != 0
    }

    pub fn insert(&mut self, index: usize) {
        if index < Self::TRACKED {
            self.0 |= 1 << index;
        }
    }

    pub fn union(self, other: GlobMatches) -> GlobMatches {
        GlobMatches(self.0 | other.0)
    }
}

/// One warning per tracked glob that matched no URL, includes first.
pub fn unmatched_glob_warnings(
    include: &[String], exclude: &[String], matched: GlobMatches,
) -> Vec<String> {
    let kinds =
        include.iter().map(|g| ("include", g)).chain(exclude.iter().map(|g| ("exclude", g)));
    kinds
        .enumerate()
        .filter(|(index, _)| *index < GlobMatches::TRACKED && !matched.contains(*index))
        .map(|(_, (kind, glob))| format!("{kind} glob '{glob}' matched no URL"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crawl::urls::Scope;
    use url::Url;

    /// Whether `pattern` matches `url`, crawled from the start directory `https://d.test/docs/`.
    fn matches(pattern: &str, url: &str) -> bool {
        let scope = Scope::of(&Url::parse("https://d.test/docs/").unwrap());
        let url = Url::parse(url).unwrap();
        Glob::parse(pattern).matches(&GlobTarget::new(url.as_str(), scope.path_from_start(&url)))
    }

    #[test]
    fn a_pattern_without_a_slash_matches_the_last_segment_at_any_depth() {
        assert!(matches("bookindex.html", "https://d.test/docs/bookindex.html"));
        assert!(matches("bookindex.html", "https://d.test/docs/16/a/bookindex.html"));
        assert!(!matches("bookindex.html", "https://d.test/docs/bookindex.html/more"));
        assert!(!matches("bookindex.html", "https://d.test/docs/old-bookindex.html"));
        assert!(matches("*.pdf", "https://d.test/docs/a/b/manual.pdf"));
        assert!(!matches("*.pdf", "https://d.test/docs/manual.pdf/index.html"));
        assert!(matches("page-?.html", "https://d.test/docs/x/page-2.html"));
        assert!(!matches("page-?.html", "https://d.test/docs/x/page-10.html"));
    }

    #[test]
    fn a_pattern_with_a_slash_is_anchored_at_the_start_directory() {
        assert!(matches("guides/*.html", "https://d.test/docs/guides/setup.html"));
        assert!(!matches("guides/*.html", "https://d.test/docs/v2/guides/setup.html"));
        // `*` and `?` stay within one segment.
        assert!(!matches("guides/*.html", "https://d.test/docs/guides/deep/setup.html"));
        assert!(!matches("guides?setup.html", "https://d.test/docs/guides/setup.html"));
        // A leading slash anchors a pattern that has no other slash.
        assert!(matches("/index.html", "https://d.test/docs/index.html"));
        assert!(!matches("/index.html", "https://d.test/docs/guides/index.html"));
        assert!(matches("index.html", "https://d.test/docs/guides/index.html"));
        // Anchored at the start directory, not at the host's root.
        assert!(!matches("/docs/guides/*", "https://d.test/docs/guides/setup.html"));
        // A URL outside the start directory has no path from it.
        assert!(!matches("*.html", "https://d.test/blog/a.html"));
    }

    #[test]
    fn double_star_spans_folders() {
        assert!(matches("api/**", "https://d.test/docs/api/v1/types/a.html"));
        assert!(!matches("api/**", "https://d.test/docs/guide/api/a.html"));
        assert!(matches("**/api/*.html", "https://d.test/docs/guide/api/a.html"));
        assert!(matches("**/api/*.html", "https://d.test/docs/api/a.html"));
        assert!(matches("a/**/b.html", "https://d.test/docs/a/b.html"));
        assert!(matches("a/**/b.html", "https://d.test/docs/a/x/y/b.html"));
        assert!(!matches("a/**/b.html", "https://d.test/docs/a/x/y/c.html"));
        assert!(matches("**/*.html", "https://d.test/docs/top.html"));
    }

    #[test]
    fn a_trailing_slash_names_a_folder_and_everything_in_it() {
        assert!(matches("internal/", "https://d.test/docs/internal/"));
        assert!(matches("internal/", "https://d.test/docs/a/internal/deep/x.html"));
        assert!(!matches("internal/", "https://d.test/docs/internal.html"));
        assert!(matches("v1/api/", "https://d.test/docs/v1/api/x.html"));
        assert!(!matches("v1/api/", "https://d.test/docs/v2/v1/api/x.html"));
    }

    #[test]
    fn path_patterns_ignore_the_query_and_see_decoded_segments() {
        assert!(matches("*.html", "https://d.test/docs/a.html?page=2"));
        assert!(!matches("*page=2", "https://d.test/docs/a.html?page=2"));
        assert!(matches("my notes.html", "https://d.test/docs/my%20notes.html"));
        assert!(matches("my%20notes.html", "https://d.test/docs/my%20notes.html"));
        // An escaped slash stays inside its segment.
        assert!(matches("a%2Fb.html", "https://d.test/docs/x/a%2Fb.html"));
        assert!(!matches("a/b.html", "https://d.test/docs/x/a%2Fb.html"));
    }

    #[test]
    fn a_pattern_with_a_scheme_matches_the_whole_url_as_before() {
        assert!(matches("https://d.test/docs/blog/*", "https://d.test/docs/blog/2024/a.html"));
        assert!(!matches("https://d.test/docs/blog/*", "http://d.test/docs/blog/a.html"));
        assert!(matches("*://*/print/*", "https://d.test/docs/x/print/a.html"));
        assert!(matches("https://d.test/docs/*?page=*", "https://d.test/docs/a.html?page=2"));
        assert!(matches("http?://d.test/*", "https://d.test/anything"));
        // The full-URL form still reaches outside the start directory.
        assert!(matches("https://d.test/blog/*", "https://d.test/blog/a.html"));
        assert!(!starts_with_scheme("docs/a://b"));
        assert!(!starts_with_scheme("://x"));
    }

    #[test]
    fn matches_are_a_set_that_names_the_unmatched_globs() {
        let include = vec!["guides/**".to_string(), "*.md".to_string()];
        let exclude = vec!["bookindex.html".to_string()];
        let mut matched = GlobMatches::default();
        matched.insert(0);
        matched.insert(0);
        assert_eq!(
            unmatched_glob_warnings(&include, &exclude, matched),
            ["include glob '*.md' matched no URL", "exclude glob 'bookindex.html' matched no URL"]
        );
        let mut other = GlobMatches::default();
        other.insert(1);
        other.insert(2);
        let all = matched.union(other);
        assert!(unmatched_glob_warnings(&include, &exclude, all).is_empty());
        assert_eq!(GlobMatches::from_bits(all.bits()), all);
        // Indices past what a SQL integer holds are neither recorded nor reported.
        let mut beyond = GlobMatches::default();
        beyond.insert(GlobMatches::TRACKED);
        assert!(beyond.is_empty());
        let many: Vec<String> = (0..=GlobMatches::TRACKED).map(|i| format!("g{i}")).collect();
        assert_eq!(unmatched_glob_warnings(&many, &[], GlobMatches::default()).len(), 63);
    }
}
