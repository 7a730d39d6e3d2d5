//! URL normalisation, crawl scope and include/exclude filters.

use url::Url;

use crate::crawl::globs::{Glob, GlobMatches, GlobTarget};

/// Query parameters that only track clicks; dropping them stops one page from being indexed many
/// times.
const TRACKING_PARAMS: [&str; 6] = ["fbclid", "gclid", "msclkid", "mc_cid", "mc_eid", "_ga"];

/// Parses an absolute crawl URL (http, https or file) and normalises it.
pub fn parse_crawl_url(input: &str) -> Result<Url, String> {
    let url = Url::parse(input.trim()).map_err(|e| format!("not an absolute URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https" | "file") {
        return Err(format!("unsupported scheme `{}`: use http or https", url.scheme()));
    }
    if url.scheme() != "file" && url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    Ok(normalize(url))
}

/// Resolves `href` against `base` and normalises it; `None` for links a crawler cannot follow.
pub fn resolve_link(base: &Url, href: &str) -> Option<Url> {
    let href = href.trim();
    let lowered = href.to_ascii_lowercase();
    if href.starts_with('#')
        || ["javascript:", "mailto:", "tel:", "data:"].iter().any(|p| lowered.starts_with(p))
    {
        return None;
    }
    let url = base.join(meant_absolute(href).unwrap_or(href)).ok()?;
    if !matches!(url.scheme(), "http" | "https" | "file") {
        return None;
    }
    Some(normalize(url))
}

/// An absolute URL behind a site's relative prefix (`../../https://example.org/page/`): a
/// generator made every link relative, an absolute one too. Resolved as written it names a page
/// that does not exist (and a canonical link written so would hide the page that carries it).
fn meant_absolute(href: &str) -> Option<&str> {
    let mut rest = href;
    while let Some(after) = rest.strip_prefix("../").or_else(|| rest.strip_prefix("./")) {
        rest = after;
    }
    let lowered = rest.get(..8)?.to_ascii_lowercase();
    (rest.len() < href.len() && (lowered.starts_with("http://") || lowered == "https://"))
        .then_some(rest)
}

/// The canonical form used as a page's identity: no fragment, no tracking parameters, sorted query,
/// lower-case scheme and host, no default port, dot segments resolved (the last three by `url`).
pub fn normalize(mut url: Url) -> Url {
    url.set_fragment(None);
    if url.query().is_some() {
        let mut pairs: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| !k.starts_with("utm_") && !TRACKING_PARAMS.contains(&k.as_ref()))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        pairs.sort();
        if pairs.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
    }
    url
}

/// Among `others`, pages whose text is the same as `url`'s, an address of the same page: one in
/// the same directory (git's `index.html` and `git.html`), or the directory's own address
/// (`guide`, `guide/` and `guide/index.html`). The same text in another directory is another page
/// (a release's unchanged copy in `/v2/`), kept so that a search within that directory finds it.
pub fn same_page_at<'a>(url: &str, others: &'a [String]) -> Option<&'a String> {
    let address = |u: &str| {
        let u = parse_crawl_url(u).ok()?;
        let directory = Scope::url_prefix(&u);
        let page = u[..url::Position::AfterPath].to_string();
        let page = ["index.html", "index.htm"]
            .iter()
            .find_map(|index| page.strip_suffix(index))
            .unwrap_or(&page)
            .trim_end_matches('/')
            .to_string();
        Some((directory, page))
    };
    let (directory, page) = address(url)?;
    others.iter().find(|other| address(other).is_some_and(|(d, p)| d == directory || p == page))
}

/// The crawl scope of a start URL: same scheme, host and port, under the start URL's directory.
#[derive(Debug, Clone)]
pub struct Scope {
    origin: (String, Option<String>, Option<u16>),
    path_prefix: String,
}

impl Scope {
    pub fn of(start: &Url) -> Self {
        let path = start.path();
        let prefix = &path[..path.rfind('/').map(|i| i + 1).unwrap_or(0)];
        Scope { origin: origin_of(start), path_prefix: prefix.to_string() }
    }

    /// The URL prefix every in-scope URL starts with (`https://d.test/docs/`).
    pub fn url_prefix(start: &Url) -> String {
        let path = start.path();
        let directory = &path[..path.rfind('/').map(|i| i + 1).unwrap_or(0)];
        format!("{}{directory}", &start[..url::Position::BeforePath])
    }

    pub fn contains(&self, url: &Url) -> bool {
        origin_of(url) == self.origin && url.path().starts_with(&self.path_prefix)
    }

    /// The path of `url` after the start directory (`guides/a.html`, no query), which path globs
    /// are matched against; `None` for a URL outside the scope.
    pub fn path_from_start<'a>(&self, url: &'a Url) -> Option<&'a str> {
        if !self.contains(url) {
            return None;
        }
        url.path().get(self.path_prefix.len()..)
    }
}

fn origin_of(url: &Url) -> (String, Option<String>, Option<u16>) {
    (url.scheme().to_string(), url.host_str().map(str::to_string), url.port_or_known_default())
}

/// Include/exclude filters, with globs as [`crate::crawl::globs`] reads them. A URL passes when it
/// matches no exclude glob (exclude wins) and, if any include globs are given, at least one of
/// them.
#[derive(Debug, Clone, Default)]
pub struct UrlFilter {
    include: Vec<Glob>,
    exclude: Vec<Glob>,
}

impl UrlFilter {
    pub fn new(include: &[String], exclude: &[String]) -> Self {
        let parse = |globs: &[String]| globs.iter().map(|g| Glob::parse(g)).collect();
        UrlFilter { include: parse(include), exclude: parse(exclude) }
    }

    pub fn allows(&self, scope: &Scope, url: &Url) -> bool {
        self.admits(scope, url, &mut GlobMatches::default())
    }

    /// Whether `url` passes, adding to `matched` the globs it matches (indexed as
    /// [`GlobMatches`] says), so a crawl can report the globs that never matched.
    pub fn admits(&self, scope: &Scope, url: &Url, matched: &mut GlobMatches) -> bool {
        let target = GlobTarget::new(url.as_str(), scope.path_from_start(url));
        let excluded = any_match(&self.exclude, self.include.len(), &target, matched);
        let included = any_match(&self.include, 0, &target, matched) || self.include.is_empty();
        included && !excluded
    }
}

/// Whether any of `globs` matches `target`, recording each match as glob `first + i`. Once one
/// matched, the rest are still tried if they have not matched yet: the report needs them, and
/// the globs already seen to match cost nothing more.
fn any_match(
    globs: &[Glob], first: usize, target: &GlobTarget<'_>, matched: &mut GlobMatches,
) -> bool {
    let mut any = false;
    for (i, glob) in globs.iter().enumerate() {
        if !(any && matched.contains(first + i)) && glob.matches(target) {
            any = true;
            matched.insert(first + i);
        }
    }
    any
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        parse_crawl_url(s).unwrap()
    }

    #[test]
    fn normalisation() {
        assert_eq!(
            url("HTTP://Example.COM:80/a/./b/../c?utm_source=x&b=2&a=1#frag").as_str(),
            "http://example.com/a/c?a=1&b=2"
        );
        assert_eq!(url("https://example.com/?utm_medium=y").as_str(), "https://example.com/");
        assert_eq!(url("https://example.com").as_str(), "https://example.com/");
        assert!(parse_crawl_url("ftp://example.com/").unwrap_err().contains("unsupported scheme"));
        assert!(parse_crawl_url("/relative").is_err());
    }

    #[test]
    fn links_resolve_against_the_page() {
        let base = url("http://127.0.0.1:8000/docs/guide/intro.html");
        let resolve = |h| resolve_link(&base, h).map(|u| u.to_string());
        assert_eq!(
            resolve("setup.html#step-2").as_deref(),
            Some("http://127.0.0.1:8000/docs/guide/setup.html")
        );
        assert_eq!(resolve("../api/").as_deref(), Some("http://127.0.0.1:8000/docs/api/"));
        assert_eq!(resolve("//other.test/x").as_deref(), Some("http://other.test/x"));
        assert_eq!(resolve("#top"), None);
        assert_eq!(resolve("mailto:a@b.c"), None);
        assert_eq!(resolve("JavaScript:void(0)"), None);
        // Django REST framework's packaged manual writes its canonical links so.
        assert_eq!(
            resolve("../../https://www.example.org/api-guide/").as_deref(),
            Some("https://www.example.org/api-guide/")
        );
        assert_eq!(resolve("./http://x.test/a").as_deref(), Some("http://x.test/a"));
        assert_eq!(
            resolve("../https-notes/").as_deref(),
            Some("http://127.0.0.1:8000/docs/https-notes/")
        );
    }

    #[test]
    fn the_addresses_of_one_page_share_its_directory_or_are_it() {
        let others = |list: &[&str]| list.iter().map(|u| u.to_string()).collect::<Vec<_>>();
        let same = |url, list: &[&str]| same_page_at(url, &others(list)).cloned();
        assert_eq!(
            same("https://d.test/api/auth/index.html", &["https://d.test/api/auth/"]).as_deref(),
            Some("https://d.test/api/auth/")
        );
        assert_eq!(
            same("https://d.test/git.html", &["https://d.test/v2/git.html", "https://d.test/"])
                .as_deref(),
            Some("https://d.test/")
        );
        assert_eq!(
            same("https://d.test/api/views", &["https://d.test/api/views/index.html"]).as_deref(),
            Some("https://d.test/api/views/index.html")
        );
        assert_eq!(same("https://d.test/v2/a.html", &["https://d.test/v1/a.html"]), None);
        assert_eq!(same("https://d.test/v2/", &["https://d.test/v1/"]), None);
        assert_eq!(same("https://d.test/a.html", &["https://e.test/a.html"]), None);
    }

    #[test]
    fn scope_is_origin_and_directory() {
        let scope = Scope::of(&url("https://docs.test/v2/index.html"));
        assert!(scope.contains(&url("https://docs.test/v2/guide/a.html")));
        assert!(!scope.contains(&url("https://docs.test/v1/a.html")));
        assert!(!scope.contains(&url("http://docs.test/v2/a.html")));
        assert!(!scope.contains(&url("https://docs.test:8443/v2/a.html")));
        assert_eq!(
            scope.path_from_start(&url("https://docs.test/v2/guide/a.html?x=1")),
            Some("guide/a.html")
        );
        assert_eq!(scope.path_from_start(&url("https://docs.test/v2/")), Some(""));
        assert_eq!(scope.path_from_start(&url("https://docs.test/v1/a.html")), None);
        assert_eq!(
            Scope::url_prefix(&url("https://docs.test:8443/v2/index.html")),
            "https://docs.test:8443/v2/"
        );
    }

    #[test]
    fn filters_read_globs_from_the_start_directory_and_exclude_wins() {
        let scope = Scope::of(&url("https://d.test/docs/index.html"));
        let filter = UrlFilter::new(
            &["guides/**".into(), "*.md".into()],
            &["internal/".into(), "https://d.test/docs/guides/old-*".into()],
        );
        assert!(filter.allows(&scope, &url("https://d.test/docs/guides/a.html")));
        assert!(filter.allows(&scope, &url("https://d.test/docs/notes/todo.md")));
        assert!(!filter.allows(&scope, &url("https://d.test/docs/guides/internal/a.html")));
        assert!(!filter.allows(&scope, &url("https://d.test/docs/guides/old-setup.html")));
        assert!(!filter.allows(&scope, &url("https://d.test/docs/blog/a.html")));
        assert!(UrlFilter::default().allows(&scope, &url("https://d.test/docs/anything")));
    }

    #[test]
    fn filters_record_every_glob_a_url_matches() {
        let scope = Scope::of(&url("https://d.test/docs/"));
        let filter = UrlFilter::new(
            &["guides/**".into(), "*.html".into(), "never/**".into()],
            &["bookindex.html".into(), "*.html".into(), "nothing-here".into()],
        );
        let mut matched = GlobMatches::default();
        // Excluded by the first exclude glob; the rest are still tried for the report.
        assert!(!filter.admits(
            &scope,
            &url("https://d.test/docs/guides/bookindex.html"),
            &mut matched
        ));
        assert_eq!(matched.bits(), 0b01_1011);
        // A URL matching only what already matched adds nothing.
        assert!(!filter.admits(&scope, &url("https://d.test/docs/guides/a.html"), &mut matched));
        assert_eq!(matched.bits(), 0b01_1011);
        // Glob indices: the includes, then the excludes.
        let warnings = crate::crawl::globs::unmatched_glob_warnings(
            &["guides/**".into(), "*.html".into(), "never/**".into()],
            &["bookindex.html".into(), "*.html".into(), "nothing-here".into()],
            matched,
        );
        assert_eq!(
            warnings,
            [
                "include glob 'never/**' matched no URL",
                "exclude glob 'nothing-here' matched no URL"
            ]
        );
    }
}
