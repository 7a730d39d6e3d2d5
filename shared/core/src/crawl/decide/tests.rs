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
        exclude: vec!["private/".into()],
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

/// What the store keeps of a page indexed (content hash "h", no job) at `indexed_at_ms`.
fn stored(links: &[&str], indexed_at_ms: u64) -> DocumentMeta {
    DocumentMeta {
        content_hash: "h".into(),
        etag: None,
        last_modified: None,
        job_id: None,
        links: links.iter().map(|l| l.to_string()).collect(),
        indexed_at_ms,
        links_capped: false,
    }
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

/// The decision for `url`, found at `depth`, answering `(status, body)` as HTML.
fn decide_html(
    url: &str, depth: u32, (status, body): (u16, &str), previous: Option<&DocumentMeta>,
    now_ms: u64,
) -> PageDecision {
    decide(
        &job(),
        &message(url, depth),
        &html_response(url, status, body),
        previous,
        &settings(),
        now_ms,
    )
}

const PAGE: &str = r#"<html><head><title>Guide</title></head><body>
    <nav><a href="/docs/a.html">A</a> <a href="/blog/">Blog</a> <a href="private/x.html">X</a>
    <a href="https://elsewhere.test/">Out</a> <a href="a.html#frag">A again</a> <a href="index.html">Self</a></nav>
    <main><h1 id="top">Guide</h1><p>Docent answers questions from your docs.</p></main></body></html>"#;

#[test]
fn indexes_a_page_and_discovers_in_scope_links_once() {
    let url = "http://127.0.0.1:9000/docs/index.html";
    let decision = decide_html(url, 0, (200, PAGE), None, 42);
    let PageDecision::Finished { outcome, change, discovered, .. } = decision else {
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
fn a_pages_markup_source_and_nofollow_links_are_not_crawled() {
    // Sphinx's themes link each page's reST ("Show Source", "View this page"), some with
    // rel=nofollow (alabaster, Read the Docs) and some without (furo, pydata).
    let url = "http://127.0.0.1:9000/docs/usage/config.html";
    let page = r#"<main><h1>Configuration</h1><p>The configuration directory holds conf.py.</p>
        <a href="../_sources/usage/config.rst.txt">View this page</a>
        <a href="../_sources/usage/config.rst.txt" rel="nofollow">Page source</a>
        <a href="/docs/login.html" rel="nofollow noopener">Sign in</a>
        <a href="builders.html">Builders</a> <a href="../_sources/notes.html">Notes</a></main>"#;
    let PageDecision::Finished { discovered, .. } = decide_html(url, 0, (200, page), None, 0)
    else {
        panic!()
    };
    let urls: Vec<&str> = discovered.iter().map(|m| m.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "http://127.0.0.1:9000/docs/usage/builders.html",
            "http://127.0.0.1:9000/docs/_sources/notes.html"
        ]
    );
}

#[test]
fn stored_links_say_when_they_were_cut_short() {
    let url = "http://127.0.0.1:9000/docs/index.html";
    let links =
        |n: usize| (0..n).map(|i| format!(r#"<a href="p{i}.html">p</a>"#)).collect::<String>();
    for (n, capped) in [(10, false), (MAX_STORED_LINKS, false), (MAX_STORED_LINKS + 1, true)] {
        let body = format!("<main><h1>Index</h1><p>Links.</p>{}</main>", links(n));
        let decision = decide_html(url, 0, (200, &body), None, 0);
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
    let first = decide_html(url, 0, (200, PAGE), None, 1);
    let PageDecision::Finished { change: IndexChange::Upsert(doc), .. } = first else { panic!() };
    let mut previous = DocumentMeta {
        content_hash: doc.content_hash.clone(),
        etag: None,
        last_modified: None,
        job_id: Some("old".into()),
        links: vec![],
        indexed_at_ms: 1,
        links_capped: false,
    };
    let again = decide_html(url, 0, (200, PAGE), Some(&previous), 2);
    assert!(
        matches!(again, PageDecision::Finished { ref outcome, change: IndexChange::None, .. } if outcome.state == UrlState::Unchanged)
    );
    previous.job_id = Some("job1".into());
    let redelivered = decide_html(url, 0, (200, PAGE), Some(&previous), 3);
    assert!(
        matches!(redelivered, PageDecision::Finished { ref outcome, change: IndexChange::None, .. } if outcome.state == UrlState::Indexed)
    );
}

#[test]
fn status_codes() {
    let url = "http://127.0.0.1:9000/docs/x.html";
    let meta = stored(&["http://127.0.0.1:9000/docs/y.html"], 0);
    let decide_status =
        |status, previous: Option<&DocumentMeta>| decide_html(url, 0, (status, ""), previous, 0);
    assert!(matches!(decide_status(503, None), PageDecision::Retry { retry_after: None, .. }));
    let mut limited = html_response(url, 429, "");
    limited.headers.push(("Retry-After".into(), "7".into()));
    let decision = decide(&job(), &message(url, 0), &limited, None, &settings(), 0);
    assert_eq!(decision, PageDecision::Retry { reason: "HTTP 429".into(), retry_after: Some(7) });
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
        let PageDecision::Finished { outcome, change, discovered, .. } =
            decide(&job(), &message(url, 0), &response, None, &settings(), 0)
        else {
            panic!()
        };
        assert_eq!((outcome.state, outcome.detail.as_deref()), (UrlState::Skipped, Some(detail)));
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
        let PageDecision::Finished { outcome, change, discovered, .. } = decide(
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
    let meta = stored(&[], 0);
    let change_after = |status: u16, location: &str| {
        let response = redirect(url, status, Some(location));
        match decide(&job(), &message(url, 0), &response, Some(&meta), &settings(), 0) {
            PageDecision::Finished { change, .. } => change,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(change_after(301, "/docs/new.html"), IndexChange::Delete { url_key: url_key(url) });
    // A temporary redirect (maintenance, login) keeps the indexed page.
    assert_eq!(change_after(302, "/docs/login.html"), IndexChange::None);
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
        detail(&message(url, 0), &redirect(url, 301, Some("https://elsewhere.test/docs/a.html"))),
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
    let meta = stored(&["http://127.0.0.1:9000/docs/y.html"], 5_000);
    let mut listed = message("http://127.0.0.1:9000/docs/x.html", 1);
    assert!(!unchanged_since_lastmod(&listed, Some(&meta)), "no lastmod: fetch");
    listed.lastmod_ms = Some(5_000);
    assert!(unchanged_since_lastmod(&listed, Some(&meta)));
    assert!(!unchanged_since_lastmod(&listed, None), "never indexed: fetch");
    listed.lastmod_ms = Some(5_001);
    assert!(!unchanged_since_lastmod(&listed, Some(&meta)), "changed since it was indexed: fetch");
    let PageDecision::Finished { outcome, change, discovered, .. } =
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
    let page =
        r#"<link rel="canonical" href="/docs/index.html"><main><h1>Guide</h1><p>Text.</p></main>"#;
    let PageDecision::Finished { outcome, change, discovered, .. } =
        decide_html(url, 2, (200, page), None, 0)
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
    let PageDecision::Finished { discovered, .. } = decide_html(url, 0, (200, excluded), None, 0)
    else {
        panic!()
    };
    assert!(discovered.is_empty(), "an excluded canonical is not crawled: {discovered:?}");
    // The canonical page itself, and pages whose canonical is off-site, are indexed.
    let own = r#"<link rel="canonical" href="http://127.0.0.1:9000/docs/index.html"><p>Text.</p>"#;
    let url = "http://127.0.0.1:9000/docs/index.html";
    assert!(matches!(
        decide_html(url, 0, (200, own), None, 0),
        PageDecision::Finished { change: IndexChange::Upsert(_), .. }
    ));
    let mirror =
        r#"<link rel="canonical" href="https://upstream.test/docs/index.html"><p>Text.</p>"#;
    assert!(matches!(
        decide_html(url, 0, (200, mirror), None, 0),
        PageDecision::Finished { change: IndexChange::Upsert(_), .. }
    ));
    // A generator's relative prefix in front of the origin's address still names the origin.
    let prefixed = r#"<link rel="canonical" href="./https://upstream.test/docs/"><p>Text.</p>"#;
    assert!(matches!(
        decide_html(url, 0, (200, prefixed), None, 0),
        PageDecision::Finished { change: IndexChange::Upsert(_), .. }
    ));
}

#[test]
fn a_page_that_refreshes_at_once_is_a_redirect_to_its_target() {
    // Texinfo writes one such stub per cross-reference: 2,324 of Octave's manual's 2,863 pages.
    let url = "http://127.0.0.1:9000/docs/XREFindex.html";
    let stub = r#"<meta http-equiv="Refresh" content="0; url=Strings.html#XREFindex">
        <p>The node you are looking for is at <a href="Strings.html#XREFindex">XREFindex</a>.</p>"#;
    let PageDecision::Finished { outcome, change, discovered, .. } =
        decide_html(url, 2, (200, stub), None, 0)
    else {
        panic!()
    };
    assert_eq!(
        (outcome.state, outcome.detail.as_deref()),
        (
            UrlState::Skipped,
            Some("redirects to http://127.0.0.1:9000/docs/Strings.html (meta refresh)")
        )
    );
    assert_eq!(change, IndexChange::None, "the stub is not indexed");
    assert_eq!(discovered, vec![message("http://127.0.0.1:9000/docs/Strings.html", 3)]);
    // A refresh much later (a page that signs its reader out) or to the page itself is content.
    for refresh in [r#"1800; url=/logout"#, r#"0; url=XREFindex.html"#, "30"] {
        let page = format!(
            r#"<meta http-equiv="refresh" content="{refresh}"><main><h1>Strings</h1><p>Text.</p></main>"#
        );
        assert!(
            matches!(
                decide_html(url, 2, (200, &page), None, 0),
                PageDecision::Finished { change: IndexChange::Upsert(_), .. }
            ),
            "{refresh}"
        );
    }
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
    let found = discover_listed(&job(), &start, &listed, &settings().outbound);
    assert_eq!(found.messages, vec![expected]);
    assert!(found.glob_matches.contains(0), "the exclude glob kept private/x.html out");
    let single_page = CrawlJob { max_depth: 0, ..job() };
    assert_eq!(
        discover_listed(&single_page, &start, &listed, &settings().outbound),
        Discovery::default(),
        "depth 0 reads no sitemap pages"
    );
}

#[test]
fn depth_limit_stops_discovery() {
    let url = "http://127.0.0.1:9000/docs/index.html";
    let PageDecision::Finished { discovered, .. } = decide_html(url, 3, (200, PAGE), None, 0)
    else {
        panic!()
    };
    assert!(discovered.is_empty());
}

#[test]
fn decisions_report_the_globs_their_urls_matched() {
    let glob_matches = |decision: PageDecision| match decision {
        PageDecision::Finished { glob_matches, .. } => glob_matches,
        PageDecision::Retry { .. } => panic!("a retry"),
    };
    let url = "http://127.0.0.1:9000/docs/index.html";
    // PAGE links to private/x.html, which the job's one exclude glob (index 0) keeps out.
    assert!(glob_matches(decide_html(url, 0, (200, PAGE), None, 0)).contains(0));
    let plain = r#"<main><h1>Guide</h1><p>Text.</p><a href="a.html">A</a></main>"#;
    assert!(glob_matches(decide_html(url, 0, (200, plain), None, 0)).is_empty());
    // A redirect to an excluded target counts as a match too.
    let old = "http://127.0.0.1:9000/docs/old.html";
    let excluded = decide(
        &job(),
        &message(old, 0),
        &redirect(old, 302, Some("private/a.html")),
        None,
        &settings(),
        0,
    );
    assert!(glob_matches(excluded).contains(0));
    // Include globs (indices before the excludes) are recorded when a link matches them.
    let guides = CrawlJob { include: vec!["guides/**".into(), "*.pdf".into()], ..job() };
    let page = r#"<main><h1>Guide</h1><p>Text.</p><a href="guides/a.html">A</a></main>"#;
    let matched = glob_matches(decide(
        &guides,
        &message(url, 0),
        &html_response(url, 200, page),
        None,
        &settings(),
        0,
    ));
    assert_eq!(
        (matched.contains(0), matched.contains(1), matched.contains(2)),
        (true, false, false)
    );
}
