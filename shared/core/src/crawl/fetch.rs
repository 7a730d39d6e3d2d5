//! The requests a crawl makes (pages, sitemaps, robots.txt) and what a robots.txt answer means.

use url::Url;

use crate::content::chunk::ChunkingOptions;
use crate::crawl::outbound::OutboundPolicy;
use crate::crawl::robots::{Robots, MAX_ROBOTS_BYTES};
use crate::domain::DocumentMeta;
use crate::ports::{FetchRequest, FetchResponse};

/// Settings of the deployment that shape every crawl.
#[derive(Debug, Clone)]
pub struct CrawlSettings {
    pub user_agent: String,
    pub max_page_bytes: usize,
    pub outbound: OutboundPolicy,
    pub chunking: ChunkingOptions,
}

/// The request for a URL, conditional when a previous version is indexed.
pub fn page_request(
    url: &str, previous: Option<&DocumentMeta>, settings: &CrawlSettings,
) -> FetchRequest {
    let mut headers = vec![
        ("User-Agent".to_string(), settings.user_agent.clone()),
        (
            "Accept".to_string(),
            "text/html,application/xhtml+xml,text/markdown;q=0.9,text/plain;q=0.8,*/*;q=0.1"
                .to_string(),
        ),
    ];
    if let Some(meta) = previous {
        if let Some(etag) = &meta.etag {
            headers.push(("If-None-Match".to_string(), etag.clone()));
        }
        if let Some(modified) = &meta.last_modified {
            headers.push(("If-Modified-Since".to_string(), modified.clone()));
        }
    }
    FetchRequest {
        method: "GET".into(),
        url: url.to_string(),
        headers,
        body: None,
        max_body_bytes: settings.max_page_bytes,
    }
}

/// The request for a sitemap, which may move around like robots.txt does.
pub fn sitemap_request(url: &str, settings: &CrawlSettings) -> FetchRequest {
    FetchRequest {
        max_body_bytes: crate::crawl::sitemap::MAX_SITEMAP_BYTES,
        ..page_request(url, None, settings)
    }
}

/// How long a host's robots.txt is trusted before it is fetched again.
pub const ROBOTS_TTL_SECONDS: u64 = 3600;

/// What a host's robots.txt allows, as cached per origin.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum RobotsPolicy {
    /// robots.txt answered 4xx: no restrictions (RFC 9309 §2.3.1.3).
    AllowAll,
    Rules(Robots),
}

impl RobotsPolicy {
    pub fn allows(&self, user_agent: &str, url: &Url) -> bool {
        match self {
            RobotsPolicy::AllowAll => true,
            RobotsPolicy::Rules(robots) => robots
                .is_allowed(user_agent, &url[url::Position::BeforePath..url::Position::AfterQuery]),
        }
    }
}

/// The origin whose robots.txt governs `url`, or `None` for URLs without one (`file:`).
pub fn robots_origin(url: &Url) -> Option<String> {
    matches!(url.scheme(), "http" | "https").then(|| url.origin().ascii_serialization())
}

/// The request for an origin's robots.txt.
pub fn robots_request(origin: &str, settings: &CrawlSettings) -> FetchRequest {
    FetchRequest {
        method: "GET".into(),
        url: format!("{origin}/robots.txt"),
        headers: vec![
            ("User-Agent".into(), settings.user_agent.clone()),
            ("Accept".into(), "text/plain".into()),
        ],
        body: None,
        max_body_bytes: MAX_ROBOTS_BYTES,
    }
}

/// The policy a robots.txt response implies, or why the host must not be crawled for now: a 5xx
/// answer means "assume complete disallow" (RFC 9309 §2.3.1.4), so the crawler waits and retries.
pub fn robots_policy(response: &FetchResponse) -> Result<RobotsPolicy, String> {
    match response.status {
        200..=299 => {
            Ok(RobotsPolicy::Rules(Robots::parse(&String::from_utf8_lossy(&response.body))))
        }
        // A 3xx here means the redirects ran out (or looped): "unavailable", like a 4xx (§2.3.1.2).
        300..=499 => Ok(RobotsPolicy::AllowAll),
        status => Err(format!("robots.txt answered HTTP {status}")),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn settings() -> CrawlSettings {
        CrawlSettings {
            user_agent: "DocentBot/test".into(),
            max_page_bytes: 1 << 20,
            outbound: OutboundPolicy { allow_private_hosts: true, allow_file_urls: true },
            chunking: ChunkingOptions::default(),
        }
    }

    #[test]
    fn conditional_requests_use_stored_validators() {
        let meta = DocumentMeta {
            content_hash: "h".into(),
            etag: Some("\"abc\"".into()),
            last_modified: Some("Mon, 02 Nov 2026 10:00:00 GMT".into()),
            job_id: None,
            links: vec![],
            indexed_at_ms: 0,
            links_capped: false,
        };
        let request = page_request("http://x.test/", Some(&meta), &settings());
        assert!(request.headers.contains(&("If-None-Match".into(), "\"abc\"".into())));
        assert!(request
            .headers
            .contains(&("If-Modified-Since".into(), "Mon, 02 Nov 2026 10:00:00 GMT".into())));
        assert!(!page_request("http://x.test/", None, &settings())
            .headers
            .iter()
            .any(|(k, _)| k.starts_with("If-")));
    }

    #[test]
    fn robots_responses_map_to_policies() {
        let response = |status: u16, body: &str| FetchResponse {
            status,
            url: String::new(),
            headers: vec![],
            body: body.into(),
            truncated: false,
        };
        let url = |s: &str| Url::parse(s).unwrap();
        let rules = robots_policy(&response(200, "User-agent: *\nDisallow: /private\n")).unwrap();
        assert!(!rules.allows("DocentBot/0.1", &url("https://d.test/private/a?b=1")));
        assert!(rules.allows("DocentBot/0.1", &url("https://d.test/public")));
        assert_eq!(robots_policy(&response(404, "")), Ok(RobotsPolicy::AllowAll));
        assert_eq!(robots_policy(&response(403, "")), Ok(RobotsPolicy::AllowAll));
        assert_eq!(
            robots_policy(&response(301, "")),
            Ok(RobotsPolicy::AllowAll),
            "redirects ran out: unavailable"
        );
        assert!(robots_policy(&response(503, "")).is_err(), "5xx: fail closed");
        assert_eq!(
            robots_origin(&url("https://d.test:8443/x/y")).as_deref(),
            Some("https://d.test:8443")
        );
        assert_eq!(robots_origin(&url("file:///tmp/x.html")), None);
        let policy = serde_json::to_string(&rules).unwrap();
        assert_eq!(
            serde_json::from_str::<RobotsPolicy>(&policy).unwrap(),
            rules,
            "policies round-trip through the KV cache"
        );
    }
}
