//! The decision for one fetched URL, without I/O: what a response means for the index and the
//! frontier. The crawl function performs the I/O this decides on, in the style of a sans-IO
//! protocol.

use url::Url;

use crate::content::chunk::chunk_blocks;
use crate::content::extract::{extract_html, Block, BlockKind, RobotsDirectives};
use crate::content::markdown::{markdown_blocks, plain_text_blocks};
use crate::crawl::fetch::CrawlSettings;
use crate::crawl::globs::GlobMatches;
use crate::crawl::outbound::OutboundPolicy;
use crate::crawl::urls::{parse_crawl_url, resolve_link, Scope, UrlFilter};
use crate::domain::{
    sha256_hex, url_key, CrawlJob, CrawlMessage, DocumentMeta, IndexedChunk, IndexedDocument,
    PageSignals, UrlOutcome, UrlState, MAX_REDIRECTS,
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
    Retry { reason: String, retry_after: Option<u32> },
    Finished {
        outcome: UrlOutcome,
        change: IndexChange,
        discovered: Vec<CrawlMessage>,
        /// The job's globs that matched a URL considered here (kept or filtered out), for the
        /// report of globs that matched nothing.
        glob_matches: GlobMatches,
    },
}

/// URLs that belong to the crawl, and the job's globs the candidates matched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    pub messages: Vec<CrawlMessage>,
    pub glob_matches: GlobMatches,
}

fn finished(state: UrlState, fetched: bool, detail: impl Into<Option<String>>) -> PageDecision {
    finished_with(state, fetched, detail, Discovery::default())
}

/// A page that changes nothing in the index, with what was discovered through it.
fn finished_with(
    state: UrlState, fetched: bool, detail: impl Into<Option<String>>, discovery: Discovery,
) -> PageDecision {
    PageDecision::Finished {
        outcome: UrlOutcome { state, fetched, detail: detail.into() },
        change: IndexChange::None,
        discovered: discovery.messages,
        glob_matches: discovery.glob_matches,
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
    job: &CrawlJob, message: &CrawlMessage, previous: Option<&DocumentMeta>,
    settings: &CrawlSettings, fetched: bool,
) -> PageDecision {
    let discovered = match (previous, parse_crawl_url(&message.url), parse_crawl_url(&job.url)) {
        (Some(previous), Ok(base), Ok(start)) if message.depth < job.max_depth => {
            discover(job, message, &Scope::of(&start), &base, &previous.links, &settings.outbound)
        }
        _ => Discovery::default(),
    };
    // As with an unchanged hash: a redelivery to the job that wrote the page still counts as
    // indexed.
    let state = if previous.and_then(|p| p.job_id.as_deref()) == Some(job.id.as_str()) {
        UrlState::Indexed
    } else {
        UrlState::Unchanged
    };
    finished_with(state, fetched, None, discovered)
}

/// A 3xx answer: the target is queued as a URL of its own (at the same depth), so every document is
/// keyed by the URL that serves it, filters and robots rules apply to the target, and loops end
/// because a URL is crawled once per job. A page that moved for good (301, 308) leaves the index.
fn redirected(
    job: &CrawlJob, message: &CrawlMessage, response: &FetchResponse,
    previous: Option<&DocumentMeta>, settings: &CrawlSettings,
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
        let filter = UrlFilter::new(&job.include, &job.exclude);
        let mut glob_matches = GlobMatches::default();
        if let Err(refused) = settings.outbound.check(&target) {
            finished(UrlState::Skipped, true, format!("redirect refused: {refused}"))
        } else if !scope.contains(&target) {
            finished(UrlState::Skipped, true, format!("redirected out of scope to {target}"))
        } else if !filter.admits(&scope, &target, &mut glob_matches) {
            finished_with(
                UrlState::Skipped,
                true,
                format!("redirected to {target}, which the crawl's filters exclude"),
                Discovery { messages: Vec::new(), glob_matches },
            )
        } else {
            let mut next = CrawlMessage::new(&job.id, target.as_str(), message.depth, job.priority);
            next.redirects = message.redirects + 1;
            finished_with(
                UrlState::Skipped,
                true,
                format!("redirected to {target}"),
                Discovery { messages: vec![next], glob_matches },
            )
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
    job: &CrawlJob, message: &CrawlMessage, response: &FetchResponse,
    previous: Option<&DocumentMeta>, settings: &CrawlSettings, now_ms: u64,
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
    let (mut canonical, mut refresh) = (None, None);
    let (title, lang, blocks, links, base, link_list_share) = match mime.as_str() {
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
            refresh = page.refresh.as_deref().and_then(|r| resolve_link(&base, r));
            (page.title, page.lang, page.blocks, page.links, base, page.link_list_share)
        }
        "text/markdown" | "text/x-markdown" => {
            let blocks = markdown_blocks(&body);
            let title = first_heading(&blocks).unwrap_or_else(|| final_url.to_string());
            (title, None, blocks, Vec::new(), final_url.clone(), 0.0)
        }
        "text/plain" => {
            let blocks = plain_text_blocks(&body);
            (final_url.to_string(), None, blocks, Vec::new(), final_url.clone(), 0.0)
        }
        other => {
            return finished(
                UrlState::Skipped,
                true,
                format!("content type {other} is not indexed"),
            )
        }
    };

    let mut discovery = if robots.nofollow || message.depth >= job.max_depth {
        Discovery::default()
    } else {
        discover(job, message, &scope, &base, &links, &settings.outbound)
    };
    // A refresh that sends the reader on at once is a redirect written in HTML (texinfo's
    // cross-reference stubs, a "this page has moved" notice): its target is crawled instead, as
    // for a 3xx, and the notice is not content.
    let refresh = refresh
        .filter(|target| *target != final_url)
        .map(|target| (format!("redirects to {target} (meta refresh)"), target));
    // rel=canonical names the URL under which this content belongs. An in-scope canonical elsewhere
    // makes this copy a duplicate: the canonical is crawled (and indexed) instead. Off-site
    // canonicals (mirrors pointing at the origin site) are ignored, or a mirror could never be
    // indexed.
    let canonical = canonical
        .filter(|c| *c != final_url && scope.contains(c))
        .map(|canonical| (format!("duplicate of {canonical}"), canonical));
    if let Some((reason, target)) = refresh.or(canonical) {
        // The target passes the same filters as a link (an excluded or off-site one is simply
        // not crawled).
        let listed =
            discover(job, message, &scope, &base, &[target.to_string()], &settings.outbound);
        discovery.glob_matches = discovery.glob_matches.union(listed.glob_matches);
        for listed in listed.messages {
            if !discovery.messages.iter().any(|m| m.url == listed.url) {
                discovery.messages.push(listed);
            }
        }
        return finished_with(UrlState::Skipped, true, reason, discovery);
    }
    if robots.noindex {
        return finished_with(UrlState::Skipped, true, "noindex".to_string(), discovery);
    }
    let chunks = chunk_blocks(&blocks, settings.chunking);
    if chunks.is_empty() {
        return finished_with(UrlState::Skipped, true, "no text content".to_string(), discovery);
    }
    let page_url = final_url.to_string();
    let page_key = url_key(&page_url);
    let markdown = crate::content::extract::render_markdown(&blocks);
    let signals = crate::content::extract::page_signals(&blocks, link_list_share);
    // The signals are in the hash so that a page measured anew (a better extractor) is stored
    // anew, though its text is the same.
    let PageSignals { link_list_percent, code_text_percent, .. } = signals;
    let content_hash = sha256_hex(
        format!("{title}\n{markdown}\n{link_list_percent} {code_text_percent}").as_bytes(),
    );
    if let Some(previous) = previous.filter(|p| p.content_hash == content_hash) {
        // Unchanged text costs no rewrite. A redelivered message of the job that indexed it still
        // counts as indexed, so counts stay exact under at-least-once delivery.
        let state = if previous.job_id.as_deref() == Some(job.id.as_str()) {
            UrlState::Indexed
        } else {
            UrlState::Unchanged
        };
        return finished_with(state, true, None, discovery);
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
        signals,
        chunks,
    };
    PageDecision::Finished {
        outcome: UrlOutcome { state: UrlState::Indexed, fetched: true, detail: None },
        change: IndexChange::Upsert(Box::new(document)),
        discovered: discovery.messages,
        glob_matches: discovery.glob_matches,
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
    job: &CrawlJob, start: &CrawlMessage, pages: &[ListedPage], outbound: &OutboundPolicy,
) -> Discovery {
    let Ok(base) = parse_crawl_url(&job.url) else { return Discovery::default() };
    if start.depth >= job.max_depth {
        return Discovery::default();
    }
    let scope = Scope::of(&base);
    let filter = UrlFilter::new(&job.include, &job.exclude);
    let mut seen = std::collections::HashSet::new();
    let mut found = Discovery::default();
    for page in pages {
        let listed = discover_filtered(
            job,
            start,
            &scope,
            &filter,
            &base,
            std::slice::from_ref(&page.url),
            outbound,
        );
        found.glob_matches = found.glob_matches.union(listed.glob_matches);
        for mut message in listed.messages {
            if seen.insert(message.url.clone()) {
                message.lastmod_ms = page.lastmod_ms;
                found.messages.push(message);
            }
        }
    }
    found
}

/// Whether `url` is the markup a Sphinx build copies beside each page for its "Show Source" link
/// (`_sources/usage/configuration.rst.txt`): the page itself is indexed, and its source would be
/// every page again, as reST.
fn is_markup_source(url: &Url) -> bool {
    let path = url.path();
    path.contains("/_sources/") && path.ends_with(".txt")
}

/// Links that belong to the crawl: in scope, allowed by the job's filters, not private (unless the
/// deployment allows it), not a page's markup source, each once.
fn discover(
    job: &CrawlJob, message: &CrawlMessage, scope: &Scope, base: &Url, links: &[String],
    outbound: &OutboundPolicy,
) -> Discovery {
    let filter = UrlFilter::new(&job.include, &job.exclude);
    discover_filtered(job, message, scope, &filter, base, links, outbound)
}

fn discover_filtered(
    job: &CrawlJob, message: &CrawlMessage, scope: &Scope, filter: &UrlFilter, base: &Url,
    links: &[String], outbound: &OutboundPolicy,
) -> Discovery {
    let mut seen = std::collections::HashSet::new();
    let mut found = Discovery::default();
    for href in links {
        let Some(url) = resolve_link(base, href) else { continue };
        if is_markup_source(&url)
            || !scope.contains(&url)
            || !filter.admits(scope, &url, &mut found.glob_matches)
            || outbound.check(&url).is_err()
        {
            continue;
        }
        if url.as_str() != message.url && seen.insert(url.to_string()) {
            found.messages.push(CrawlMessage::new(
                &job.id,
                url.as_str(),
                message.depth + 1,
                job.priority,
            ));
        }
    }
    found
}

fn first_heading(blocks: &[Block]) -> Option<String> {
    blocks.iter().find(|b| matches!(b.kind, BlockKind::Heading(_))).map(|b| b.text.clone())
}

#[cfg(test)]
mod tests;
