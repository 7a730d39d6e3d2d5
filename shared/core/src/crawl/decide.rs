//! The decision for one fetched URL, without I/O: what a response means for the index and the
//! frontier. The crawl function performs the I/O this decides on, in the style of a sans-IO
//! protocol.

use url::Url;

use crate::content::chunk::chunk_blocks;
use crate::content::extract::{extract_html, Block, BlockKind, RobotsDirectives};
use crate::content::markdown::{markdown_blocks, plain_text_blocks};
use crate::crawl::fetch::CrawlSettings;
use crate::crawl::urls::{is_private_host, parse_crawl_url, resolve_link, Scope, UrlFilter};
use crate::domain::{
    sha256_hex, url_key, CrawlJob, CrawlMessage, DocumentMeta, IndexedChunk, IndexedDocument,
    UrlOutcome, UrlState, MAX_REDIRECTS,
};
use crate::ports::FetchResponse;

/// Out-links kept per document, for discovery when the page later answers 304 Not Modified. A page
/// with more (an index of thousands of API items) is still crawled through, but such a crawl is not
/// complete.
const MAX_STORED_LINKS: usize = 10_000;
const MAX_STORED_LINK_BYTES: usize = 1_000_000;

/// What the index should do with the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexChange {
    /// Nothing to write (unchanged, skipped or failed).
    None,
    Upsert(Box<IndexedDocument>),
    /// The page is gone (404/410): remove it.
    Delete {
        url_key: String,
    },
}

/// The decision for one fetched URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageDecision {
    /// A transient failure: let the queue deliver the message again, not before `retry_after`
    /// seconds if the server said so.
    Retry {
        reason: String,
        retry_after: Option<u32>,
    },
    Finished {
        outcome: UrlOutcome,
        change: IndexChange,
        discovered: Vec<CrawlMessage>,
    },
}

fn finished(state: UrlState, fetched: bool, detail: impl Into<Option<String>>) -> PageDecision {
    PageDecision::Finished {
        outcome: UrlOutcome { state, fetched, detail: detail.into() },
        change: IndexChange::None,
        discovered: Vec::new(),
    }
}

/// Whether a page listed in a sitemap can be left unfetched: its `<lastmod>` is no later than when
/// the indexed version was written.
pub fn unchanged_since_lastmod(message: &CrawlMessage, previous: Option<&DocumentMeta>) -> bool {
    matches!((message.lastmod_ms, previous), (Some(lastmod), Some(previous)) if lastmod <= previous.indexed_at_ms)
}

/// A page known to be unchanged (304 Not Modified, or an older sitemap `<lastmod>`): nothing is
/// written, and discovery goes on through the links stored with it.
pub fn not_modified(
    job: &CrawlJob,
    message: &CrawlMessage,
    previous: Option<&DocumentMeta>,
    settings: &CrawlSettings,
    fetched: bool,
) -> PageDecision {
    let discovered = match (previous, parse_crawl_url(&message.url), parse_crawl_url(&job.url)) {
        (Some(previous), Ok(base), Ok(start)) if message.depth < job.max_depth => discover(
            job,
            message,
            &Scope::of(&start),
            &base,
            &previous.links,
            settings.allow_private_hosts,
        ),
        _ => Vec::new(),
    };
    // As with an unchanged hash: a redelivery to the job that wrote the page still counts as
    // indexed.
    let state = if previous.and_then(|p| p.job_id.as_deref()) == Some(job.id.as_str()) {
        UrlState::Indexed
    } else {
        UrlState::Unchanged
    };
    PageDecision::Finished {
        outcome: UrlOutcome { state, fetched, detail: None },
        change: IndexChange::None,
        discovered,
    }
}

/// A 3xx answer: the target is queued as a URL of its own (at the same depth), so every document is
/// keyed by the URL that serves it, filters and robots rules apply to the target, and loops end
/// because a URL is crawled once per job. A page that moved for good (301, 308) leaves the index.
fn redirected(
    job: &CrawlJob,
    message: &CrawlMessage,
    response: &FetchResponse,
    previous: Option<&DocumentMeta>,
    settings: &CrawlSettings,
) -> PageDecision {
    let status = response.status;
    let Ok(requested) = parse_crawl_url(&message.url) else {
        return finished(UrlState::Failed, false, "invalid URL".to_string());
    };
    let Some(target) =
        response.header("location").and_then(|location| resolve_link(&requested, location))
    else {
        return finished(
            UrlState::Failed,
            true,
            format!("HTTP {status} without a usable Location"),
        );
    };
    let mut decision = if message.redirects >= MAX_REDIRECTS {
        finished(UrlState::Failed, true, format!("more than {MAX_REDIRECTS} redirects in a row"))
    } else if target == requested {
        finished(UrlState::Failed, true, "redirects to itself".to_string())
    } else {
        let scope = Scope::of(&parse_crawl_url(&job.url).unwrap_or_else(|_| requested.clone()));
        let filter = UrlFilter { include: job.include.clone(), exclude: job.exclude.clone() };
        if !scope.contains(&target) || (!settings.allow_private_hosts && is_private_host(&target)) {
            finished(UrlState::Skipped, true, format!("redirected out of scope to {target}"))
        } else if !filter.allows(&scope, &target) {
            finished(
                UrlState::Skipped,
                true,
                format!("redirected to {target}, which the crawl's filters exclude"),
            )
        } else {
            let mut next = CrawlMessage::new(&job.id, target.as_str(), message.depth, job.priority);
            next.redirects = message.redirects + 1;
            PageDecision::Finished {
                outcome: UrlOutcome {
                    state: UrlState::Skipped,
                    fetched: true,
                    detail: Some(format!("redirected to {target}")),
                },
                change: IndexChange::None,
                discovered: vec![next],
            }
        }
    };
    // Only a permanent move takes the page out: a temporary redirect (a maintenance or login page)
    // must not empty the index.
    if let (PageDecision::Finished { change, .. }, Some(_), 301 | 308) =
        (&mut decision, previous, status)
    {
        *change = IndexChange::Delete { url_key: message.url_key() };
    }
    decision
}

/// Decides what a response means. `previous` is the indexed version of this URL, if any, and
/// `previous_links` its stored out-links (used when the server answers 304 Not Modified).
pub fn decide(
    job: &CrawlJob,
    message: &CrawlMessage,
    response: &FetchResponse,
    previous: Option<&DocumentMeta>,
    settings: &CrawlSettings,
    now_ms: u64,
) -> PageDecision {
    let status = response.status;
    if status == 429 || status >= 500 {
        let retry_after = response
            .header("retry-after")
            .and_then(|v| crate::crawl::retry::parse_retry_after(v, now_ms));
        return PageDecision::Retry { reason: format!("HTTP {status}"), retry_after };
    }
    if status == 304 {
        return not_modified(job, message, previous, settings, true);
    }
    if (300..400).contains(&status) {
        return redirected(job, message, response, previous, settings);
    }
    if status == 404 || status == 410 {
        let mut decision = finished(UrlState::Failed, true, format!("HTTP {status}: page is gone"));
        if let PageDecision::Finished { change, .. } = &mut decision {
            if previous.is_some() {
                *change = IndexChange::Delete { url_key: message.url_key() };
            }
        }
        return decision;
    }
    if !(200..300).contains(&status) {
        return finished(UrlState::Failed, true, format!("HTTP {status}"));
    }
    let Ok(requested) = parse_crawl_url(&message.url) else {
        return finished(UrlState::Failed, false, "invalid URL".to_string());
    };
    // Page requests do not follow redirects (see `redirected`), so the page is the URL requested.
    let final_url = requested.clone();
    let scope = Scope::of(&parse_crawl_url(&job.url).unwrap_or_else(|_| requested.clone()));
    if response.truncated {
        return finished(
            UrlState::Skipped,
            true,
            format!("page is larger than {} bytes", settings.max_page_bytes),
        );
    }
    let content_type = response.header("content-type").unwrap_or("text/html").to_ascii_lowercase();
    let mime = content_type.split(';').next().unwrap_or("").trim().to_string();
    let body = String::from_utf8_lossy(&response.body);
    let mut robots =
        response.header("x-robots-tag").map(RobotsDirectives::parse).unwrap_or_default();
    let mut canonical = None;
    let (title, lang, blocks, links, base) = match mime.as_str() {
        "text/html" | "application/xhtml+xml" | "" => {
            let page = extract_html(&body);
            robots.noindex |= page.robots.noindex;
            robots.nofollow |= page.robots.nofollow;
            let base = page
                .base_href
                .as_deref()
                .and_then(|b| final_url.join(b).ok())
                .unwrap_or_else(|| final_url.clone());
            canonical = page.canonical.as_deref().and_then(|c| resolve_link(&base, c));
            (page.title, page.lang, page.blocks, page.links, base)
        }
        "text/markdown" | "text/x-markdown" => {
            let blocks = markdown_blocks(&body);
            let title = first_heading(&blocks).unwrap_or_else(|| final_url.to_string());
            (title, None, blocks, Vec::new(), final_url.clone())
        }
        "text/plain" => {
            let blocks = plain_text_blocks(&body);
            (final_url.to_string(), None, blocks, Vec::new(), final_url.clone())
        }
        other => {
            return finished(
                UrlState::Skipped,
                true,
                format!("content type {other} is not indexed"),
            )
        }
    };

    let discovered = if robots.nofollow || message.depth >= job.max_depth {
        Vec::new()
    } else {
        discover(job, message, &scope, &base, &links, settings.allow_private_hosts)
    };
    // rel=canonical names the URL under which this content belongs. An in-scope canonical elsewhere
    // makes this copy a duplicate: the canonical is crawled (and indexed) instead. Off-site
    // canonicals (mirrors pointing at the origin site) are ignored, or a mirror could never be
    // indexed.
    if let Some(canonical) = canonical.filter(|c| *c != final_url && scope.contains(c)) {
        let mut discovered = discovered;
        // The canonical passes the same filters as a link (an excluded canonical is simply not
        // crawled).
        for listed in discover(
            job,
            message,
            &scope,
            &base,
            &[canonical.to_string()],
            settings.allow_private_hosts,
        ) {
            if !discovered.iter().any(|m| m.url == listed.url) {
                discovered.push(listed);
            }
        }
        return PageDecision::Finished {
            outcome: UrlOutcome {
                state: UrlState::Skipped,
                fetched: true,
                detail: Some(format!("duplicate of {canonical}")),
            },
            change: IndexChange::None,
            discovered,
        };
    }
    if robots.noindex {
        return PageDecision::Finished {
            outcome: UrlOutcome {
                state: UrlState::Skipped,
                fetched: true,
                detail: Some("noindex".into()),
            },
            change: IndexChange::None,
            discovered,
        };
    }
    let chunks = chunk_blocks(&blocks, settings.chunking);
    if chunks.is_empty() {
        return PageDecision::Finished {
            outcome: UrlOutcome {
                state: UrlState::Skipped,
                fetched: true,
                detail: Some("no text content".into()),
            },
            change: IndexChange::None,
            discovered,
        };
    }
    let page_url = final_url.to_string();
    let page_key = url_key(&page_url);
    let markdown = crate::content::extract::render_markdown(&blocks);
    let content_hash = sha256_hex(format!("{title}\n{markdown}").as_bytes());
    if let Some(previous) = previous.filter(|p| p.content_hash == content_hash) {
        // Unchanged text costs no rewrite. A redelivered message of the job that indexed it still
        // counts as indexed, so counts stay exact under at-least-once delivery.
        let state = if previous.job_id.as_deref() == Some(job.id.as_str()) {
            UrlState::Indexed
        } else {
            UrlState::Unchanged
        };
        return PageDecision::Finished {
            outcome: UrlOutcome { state, fetched: true, detail: None },
            change: IndexChange::None,
            discovered,
        };
    }
    let out_links = links.iter().filter_map(|href| resolve_link(&base, href)).map(String::from);
    let mut stored_links: Vec<String> = Vec::new();
    let mut seen_links = std::collections::HashSet::new();
    let mut stored_bytes = 0;
    let mut links_capped = false;
    for link in out_links {
        // A count and a size cap: a D1 row holds at most 2 MB.
        if stored_links.len() == MAX_STORED_LINKS
            || stored_bytes + link.len() > MAX_STORED_LINK_BYTES
        {
            links_capped = true;
            break;
        }
        if seen_links.insert(link.clone()) {
            stored_bytes += link.len() + 3;
            stored_links.push(link);
        }
    }
    let chunks = chunks
        .into_iter()
        .map(|chunk| IndexedChunk {
            id: format!("{page_key}-{}", chunk.ordinal),
            ordinal: chunk.ordinal,
            url: match &chunk.anchor {
                Some(anchor) => format!("{page_url}#{anchor}"),
                None => page_url.clone(),
            },
            heading: chunk.heading(),
            text: chunk.text,
            vector: None,
        })
        .collect();
    let document = IndexedDocument {
        url_key: page_key,
        url: page_url,
        title,
        lang,
        content_hash,
        etag: response.header("etag").map(str::to_string),
        last_modified: response.header("last-modified").map(str::to_string),
        job_id: job.id.clone(),
        indexed_at_ms: now_ms,
        links: stored_links,
        links_capped,
        chunks,
    };
    PageDecision::Finished {
        outcome: UrlOutcome { state: UrlState::Indexed, fetched: true, detail: None },
        change: IndexChange::Upsert(Box::new(document)),
        discovered,
    }
}

/// A page a sitemap lists, with its `<lastmod>` if it gave one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedPage {
    pub url: String,
    pub lastmod_ms: Option<u64>,
}

/// Pages listed by the site's sitemaps, as crawl work: the same scope, filter and private-address
/// rules as links, one level below the start page.
pub fn discover_listed(
    job: &CrawlJob,
    start: &CrawlMessage,
    pages: &[ListedPage],
    allow_private: bool,
) -> Vec<CrawlMessage> {
    let Ok(base) = parse_crawl_url(&job.url) else { return Vec::new() };
    if start.depth >= job.max_depth {
        return Vec::new();
    }
    let scope = Scope::of(&base);
    let mut seen = std::collections::HashSet::new();
    let mut found: Vec<CrawlMessage> = Vec::new();
    for page in pages {
        for mut message in
            discover(job, start, &scope, &base, std::slice::from_ref(&page.url), allow_private)
        {
            if seen.insert(message.url.clone()) {
                message.lastmod_ms = page.lastmod_ms;
                found.push(message);
            }
        }
    }
    found
}

/// Links that belong to the crawl: in scope, allowed by the job's filters, not private (unless the
/// deployment allows it), each once.
fn discover(
    job: &CrawlJob,
    message: &CrawlMessage,
    scope: &Scope,
    base: &Url,
    links: &[String],
    allow_private: bool,
) -> Vec<CrawlMessage> {
    let filter = UrlFilter { include: job.include.clone(), exclude: job.exclude.clone() };
    let mut seen = std::collections::HashSet::new();
    let mut found = Vec::new();
    for href in links {
        let Some(url) = resolve_link(base, href) else { continue };
        if !scope.contains(&url)
            || !filter.allows(scope, &url)
            || (!allow_private && is_private_host(&url))
        {
            continue;
        }
        if url.as_str() != message.url && seen.insert(url.to_string()) {
            found.push(CrawlMessage::new(&job.id, url.as_str(), message.depth + 1, job.priority));
        }
    }
    found
}

fn first_heading(blocks: &[Block]) -> Option<String> {
    blocks.iter().find(|b| matches!(b.kind, BlockKind::Heading(_))).map(|b| b.text.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crawl::fetch::tests::settings;
    use crate::domain::{JobStatus, PageCounts, Priority};

    fn job() -> CrawlJob {
        CrawlJob {
            id: "job1".into(),
            url: "http://127.0.0.1:9000/docs/".into(),
            status: JobStatus::Running,
            priority: Priority::Normal,
            max_pages: 100,
            max_depth: 3,
            include: vec![],
            exclude: vec!["*/private/*".into()],
            pages: PageCounts::default(),
            blocked_by_robots: 0,
            created_at: String::new(),
            started_at: None,
            finished_at: None,
        }
    }

    fn message(url: &str, depth: u32) -> CrawlMessage {
        CrawlMessage::new("job1", url, depth, Priority::Normal)
    }

    fn html_response(url: &str, status: u16, body: &str) -> FetchResponse {
        FetchResponse {
            status,
            url: url.into(),
            headers: vec![
                ("Content-Type".into(), "text/html; charset=utf-8".into()),
                ("ETag".into(), "\"v1\"".into()),
            ],
            body: body.as_bytes().to_vec(),
            truncated: false,
        }
    }

    const PAGE: &str = r#"<html><head><title>Guide</title></head><body>
        <nav><a href="/docs/a.html">A</a> <a href="/blog/">Blog</a> <a href="private/x.html">X</a>
        <a href="https://elsewhere.test/">Out</a> <a href="a.html#frag">A again</a> <a href="index.html">Self</a></nav>
        <main><h1 id="top">Guide</h1><p>Docent answers questions from your docs.</p></main></body></html>"#;

    #[test]
    fn indexes_a_page_and_discovers_in_scope_links_once() {
        let url = "http://127.0.0.1:9000/docs/index.html";
        let decision =
            decide(&job(), &message(url, 0), &html_response(url, 200, PAGE), None, &settings(), 42);
        let PageDecision::Finished { outcome, change, discovered } = decision else {
            panic!("{decision:?}")
        };
        assert_eq!(outcome.state, UrlState::Indexed);
        assert_eq!(discovered, vec![message("http://127.0.0.1:9000/docs/a.html", 1)]);
        let IndexChange::Upsert(doc) = change else { panic!("{change:?}") };
        assert_eq!(doc.title, "Guide");
        assert_eq!(doc.etag.as_deref(), Some("\"v1\""));
        assert_eq!(doc.chunks.len(), 1);
        assert_eq!(doc.chunks[0].url, format!("{url}#top"));
        assert_eq!(doc.chunks[0].text, "Docent answers questions from your docs.");
        assert_eq!(doc.chunks[0].id, format!("{}-0", url_key(url)));
    }

    #[test]
    fn stored_links_say_when_they_were_cut_short() {
        let url = "http://127.0.0.1:9000/docs/index.html";
        let links =
            |n: usize| (0..n).map(|i| format!(r#"<a href="p{i}.html">p</a>"#)).collect::<String>();
        for (n, capped) in [(10, false), (MAX_STORED_LINKS, false), (MAX_STORED_LINKS + 1, true)] {
            let body = format!("<main><h1>Index</h1><p>Links.</p>{}</main>", links(n));
            let decision = decide(
                &job(),
                &message(url, 0),
                &html_response(url, 200, &body),
                None,
                &settings(),
                0,
            );
            let PageDecision::Finished { change: IndexChange::Upsert(doc), .. } = decision else {
                panic!()
            };
            assert_eq!(
                (doc.links.len(), doc.links_capped),
                (n.min(MAX_STORED_LINKS), capped),
                "{n} links"
            );
        }
    }

    #[test]
    fn same_content_is_unchanged_or_indexed_on_redelivery() {
        let url = "http://127.0.0.1:9000/docs/index.html";
        let first =
            decide(&job(), &message(url, 0), &html_response(url, 200, PAGE), None, &settings(), 1);
        let PageDecision::Finished { change: IndexChange::Upsert(doc), .. } = first else {
            panic!()
        };
        let mut previous = DocumentMeta {
            content_hash: doc.content_hash.clone(),
            etag: None,
            last_modified: None,
            job_id: Some("old".into()),
            links: vec![],
            indexed_at_ms: 1,
            links_capped: false,
        };
        let again = decide(
            &job(),
            &message(url, 0),
            &html_response(url, 200, PAGE),
            Some(&previous),
            &settings(),
            2,
        );
        assert!(
            matches!(again, PageDecision::Finished { ref outcome, change: IndexChange::None, .. } if outcome.state == UrlState::Unchanged)
        );
        previous.job_id = Some("job1".into());
        let redelivered = decide(
            &job(),
            &message(url, 0),
            &html_response(url, 200, PAGE),
            Some(&previous),
            &settings(),
            3,
        );
        assert!(
            matches!(redelivered, PageDecision::Finished { ref outcome, change: IndexChange::None, .. } if outcome.state == UrlState::Indexed)
        );
    }

    #[test]
    fn status_codes() {
        let url = "http://127.0.0.1:9000/docs/x.html";
        let meta = DocumentMeta {
            content_hash: "h".into(),
            etag: None,
            last_modified: None,
            job_id: None,
            links: vec!["http://127.0.0.1:9000/docs/y.html".into()],
            indexed_at_ms: 0,
            links_capped: false,
        };
        let decide_status = |status, previous: Option<&DocumentMeta>| {
            decide(
                &job(),
                &message(url, 0),
                &html_response(url, status, ""),
                previous,
                &settings(),
                0,
            )
        };
        assert!(matches!(decide_status(503, None), PageDecision::Retry { retry_after: None, .. }));
        let mut limited = html_response(url, 429, "");
        limited.headers.push(("Retry-After".into(), "7".into()));
        let decision = decide(&job(), &message(url, 0), &limited, None, &settings(), 0);
        assert_eq!(
            decision,
            PageDecision::Retry { reason: "HTTP 429".into(), retry_after: Some(7) }
        );
        assert!(matches!(decide_status(429, None), PageDecision::Retry { .. }));
        let mine = DocumentMeta { job_id: Some("job1".into()), ..meta.clone() };
        assert!(
            matches!(decide_status(304, Some(&mine)), PageDecision::Finished { ref outcome, .. } if outcome.state == UrlState::Indexed),
            "a 304 on redelivery to the job that wrote the page counts as indexed"
        );
        let not_modified = decide_status(304, Some(&meta));
        assert!(matches!(not_modified, PageDecision::Finished { ref outcome, ref discovered, .. }
            if outcome.state == UrlState::Unchanged && *discovered == vec![message("http://127.0.0.1:9000/docs/y.html", 1)]));
        assert!(matches!(
            decide_status(404, Some(&meta)),
            PageDecision::Finished { change: IndexChange::Delete { .. }, .. }
        ));
        assert!(
            matches!(decide_status(410, None), PageDecision::Finished { change: IndexChange::None, ref outcome, .. } if outcome.state == UrlState::Failed)
        );
        assert!(
            matches!(decide_status(403, None), PageDecision::Finished { ref outcome, .. } if outcome.detail.as_deref() == Some("HTTP 403"))
        );
    }

    #[test]
    fn skips_what_it_must_not_index() {
        let url = "http://127.0.0.1:9000/docs/x";
        let mut pdf = html_response(url, 200, "%PDF");
        pdf.headers[0].1 = "application/pdf".into();
        let noindex = html_response(
            url,
            200,
            r#"<meta name="robots" content="noindex"><p>secret</p><a href="y">y</a>"#,
        );
        for (response, detail) in
            [(pdf, "content type application/pdf is not indexed"), (noindex, "noindex")]
        {
            let PageDecision::Finished { outcome, change, discovered } =
                decide(&job(), &message(url, 0), &response, None, &settings(), 0)
            else {
                panic!()
            };
            assert_eq!(
                (outcome.state, outcome.detail.as_deref()),
                (UrlState::Skipped, Some(detail))
            );
            assert_eq!(change, IndexChange::None);
            if detail == "noindex" {
                assert_eq!(discovered.len(), 1, "noindex pages are still followed");
            }
        }
    }

    fn redirect(url: &str, status: u16, location: Option<&str>) -> FetchResponse {
        let mut response = html_response(url, status, "");
        response.headers =
            location.map(|l| vec![("Location".to_string(), l.to_string())]).unwrap_or_default();
        response
    }

    #[test]
    fn redirect_targets_are_crawled_as_urls_of_their_own() {
        let url = "http://127.0.0.1:9000/docs/old.html";
        for status in [301, 302, 303, 307, 308] {
            let PageDecision::Finished { outcome, change, discovered } = decide(
                &job(),
                &message(url, 2),
                &redirect(url, status, Some("new.html#x")),
                None,
                &settings(),
                0,
            ) else {
                panic!()
            };
            assert_eq!(
                (outcome.state, outcome.detail.as_deref()),
                (UrlState::Skipped, Some("redirected to http://127.0.0.1:9000/docs/new.html"))
            );
            assert_eq!(change, IndexChange::None);
            let mut target = message("http://127.0.0.1:9000/docs/new.html", 2);
            target.redirects = 1;
            assert_eq!(discovered, vec![target], "same depth, one hop more");
        }
        // A page that now redirects leaves the index (its content lives at the target).
        let meta = DocumentMeta {
            content_hash: "h".into(),
            etag: None,
            last_modified: None,
            job_id: None,
            links: vec![],
            indexed_at_ms: 0,
            links_capped: false,
        };
        let PageDecision::Finished { change, .. } = decide(
            &job(),
            &message(url, 0),
            &redirect(url, 301, Some("/docs/new.html")),
            Some(&meta),
            &settings(),
            0,
        ) else {
            panic!()
        };
        assert_eq!(change, IndexChange::Delete { url_key: url_key(url) });
        // A temporary redirect (maintenance, login) keeps the indexed page.
        let PageDecision::Finished { change, .. } = decide(
            &job(),
            &message(url, 0),
            &redirect(url, 302, Some("/docs/login.html")),
            Some(&meta),
            &settings(),
            0,
        ) else {
            panic!()
        };
        assert_eq!(change, IndexChange::None);
    }

    #[test]
    fn redirects_that_lead_nowhere_end() {
        let url = "http://127.0.0.1:9000/docs/a.html";
        let detail = |message: &CrawlMessage, response: &FetchResponse| match decide(
            &job(),
            message,
            response,
            None,
            &settings(),
            0,
        ) {
            PageDecision::Finished { outcome, discovered, .. } => {
                (outcome.state, outcome.detail.unwrap_or_default(), discovered.len())
            }
            other => panic!("{other:?}"),
        };
        let mut tired = message(url, 0);
        tired.redirects = MAX_REDIRECTS;
        assert_eq!(
            detail(&tired, &redirect(url, 302, Some("b.html"))),
            (UrlState::Failed, "more than 5 redirects in a row".into(), 0)
        );
        assert_eq!(
            detail(&message(url, 0), &redirect(url, 302, Some(url))),
            (UrlState::Failed, "redirects to itself".into(), 0)
        );
        assert_eq!(
            detail(&message(url, 0), &redirect(url, 302, None)),
            (UrlState::Failed, "HTTP 302 without a usable Location".into(), 0)
        );
        assert_eq!(
            detail(
                &message(url, 0),
                &redirect(url, 301, Some("https://elsewhere.test/docs/a.html"))
            ),
            (
                UrlState::Skipped,
                "redirected out of scope to https://elsewhere.test/docs/a.html".into(),
                0
            )
        );
        assert_eq!(
            detail(&message(url, 0), &redirect(url, 301, Some("/docs/private/a.html"))),
            (UrlState::Skipped, "redirected to http://127.0.0.1:9000/docs/private/a.html, which the crawl's filters exclude".into(), 0)
        );
    }

    #[test]
    fn a_sitemap_lastmod_older_than_the_index_skips_the_fetch() {
        let meta = DocumentMeta {
            content_hash: "h".into(),
            etag: None,
            last_modified: None,
            job_id: None,
            links: vec!["http://127.0.0.1:9000/docs/y.html".into()],
            indexed_at_ms: 5_000,
            links_capped: false,
        };
        let mut listed = message("http://127.0.0.1:9000/docs/x.html", 1);
        assert!(!unchanged_since_lastmod(&listed, Some(&meta)), "no lastmod: fetch");
        listed.lastmod_ms = Some(5_000);
        assert!(unchanged_since_lastmod(&listed, Some(&meta)));
        assert!(!unchanged_since_lastmod(&listed, None), "never indexed: fetch");
        listed.lastmod_ms = Some(5_001);
        assert!(
            !unchanged_since_lastmod(&listed, Some(&meta)),
            "changed since it was indexed: fetch"
        );
        let PageDecision::Finished { outcome, change, discovered } =
            not_modified(&job(), &listed, Some(&meta), &settings(), false)
        else {
            panic!()
        };
        assert_eq!((outcome.state, outcome.fetched), (UrlState::Unchanged, false));
        assert_eq!(change, IndexChange::None);
        assert_eq!(
            discovered,
            vec![message("http://127.0.0.1:9000/docs/y.html", 2)],
            "its stored links are still followed"
        );
    }

    #[test]
    fn canonical_duplicates_defer_to_the_canonical_url() {
        let url = "http://127.0.0.1:9000/docs/index.html?ref=nav";
        let page = r#"<link rel="canonical" href="/docs/index.html"><main><h1>Guide</h1><p>Text.</p></main>"#;
        let PageDecision::Finished { outcome, change, discovered } =
            decide(&job(), &message(url, 2), &html_response(url, 200, page), None, &settings(), 0)
        else {
            panic!()
        };
        assert_eq!(
            (outcome.state, outcome.detail.as_deref()),
            (UrlState::Skipped, Some("duplicate of http://127.0.0.1:9000/docs/index.html"))
        );
        assert_eq!(change, IndexChange::None);
        assert_eq!(discovered, vec![message("http://127.0.0.1:9000/docs/index.html", 3)]);
        let excluded = r#"<link rel="canonical" href="/docs/private/copy.html"><p>Text.</p>"#;
        let PageDecision::Finished { discovered, .. } = decide(
            &job(),
            &message(url, 0),
            &html_response(url, 200, excluded),
            None,
            &settings(),
            0,
        ) else {
            panic!()
        };
        assert!(discovered.is_empty(), "an excluded canonical is not crawled: {discovered:?}");
        // The canonical page itself, and pages whose canonical is off-site, are indexed.
        let own =
            r#"<link rel="canonical" href="http://127.0.0.1:9000/docs/index.html"><p>Text.</p>"#;
        let url = "http://127.0.0.1:9000/docs/index.html";
        assert!(matches!(
            decide(&job(), &message(url, 0), &html_response(url, 200, own), None, &settings(), 0),
            PageDecision::Finished { change: IndexChange::Upsert(_), .. }
        ));
        let mirror =
            r#"<link rel="canonical" href="https://upstream.test/docs/index.html"><p>Text.</p>"#;
        assert!(matches!(
            decide(
                &job(),
                &message(url, 0),
                &html_response(url, 200, mirror),
                None,
                &settings(),
                0
            ),
            PageDecision::Finished { change: IndexChange::Upsert(_), .. }
        ));
    }

    #[test]
    fn sitemap_pages_follow_the_link_rules() {
        let start = message("http://127.0.0.1:9000/docs/", 0);
        let listed = [
            "http://127.0.0.1:9000/docs/a.html",
            "http://127.0.0.1:9000/docs/private/x.html",
            "http://127.0.0.1:9000/blog/",
            "https://other.test/docs/b.html",
            "http://127.0.0.1:9000/docs/a.html#again",
        ]
        .map(|url| ListedPage { url: url.into(), lastmod_ms: Some(7) });
        let mut expected = message("http://127.0.0.1:9000/docs/a.html", 1);
        expected.lastmod_ms = Some(7);
        assert_eq!(discover_listed(&job(), &start, &listed, true), vec![expected]);
        let single_page = CrawlJob { max_depth: 0, ..job() };
        assert!(
            discover_listed(&single_page, &start, &listed, true).is_empty(),
            "depth 0 reads no sitemap pages"
        );
    }

    #[test]
    fn depth_limit_stops_discovery() {
        let url = "http://127.0.0.1:9000/docs/index.html";
        let PageDecision::Finished { discovered, .. } =
            decide(&job(), &message(url, 3), &html_response(url, 200, PAGE), None, &settings(), 0)
        else {
            panic!()
        };
        assert!(discovered.is_empty());
    }
}
