use super::*;

const PAGE: &str = r##"<!doctype html>
<html lang="en"><head><title>Install Guide &mdash; Acme Docs</title>
<link rel="canonical" href="https://docs.acme.test/install/">
<meta name="robots" content="index, follow"><style>p{}</style><script>var x = "<p>no</p>";</script></head>
<body>
<header class="site-header"><a href="/">Acme</a> <a href="/pricing">Pricing</a></header>
<nav><ul><li><a href="/install/">Install</a></li><li><a href="/config/">Configure</a></li></ul></nav>
<div id="cookie-banner">We use cookies. <button>Accept</button></div>
<main>
<section id="install"><h1>Installing Acme</h1>
<p>Acme runs on   Linux and macOS.<br>It needs 2 GB of RAM.</p>
<h2 id="from-source">From source <a class="headerlink" href="#from-source">¶</a></h2>
<p>Build with <code>cargo build --release</code>:</p>
<pre><code class="language-sh">cargo build --release
./target/release/acme --help</code></pre>
<ol><li>Clone</li><li><p>Build</p></li></ol>
<table><tr><th>Option</th><th>Default</th></tr><tr><td>port</td><td>8080</td></tr></table>
</section>
</main>
<footer>© 2026 Acme · <a href="/privacy">Privacy</a></footer>
</body></html>"##;

#[test]
fn extracts_main_content_as_markdown() {
    let page = extract_html(PAGE);
    assert_eq!(page.title, "Install Guide — Acme Docs");
    assert_eq!(page.lang.as_deref(), Some("en"));
    assert_eq!(page.canonical.as_deref(), Some("https://docs.acme.test/install/"));
    assert_eq!(
        page.markdown(),
        "# Installing Acme\n\n\
         Acme runs on Linux and macOS.\nIt needs 2 GB of RAM.\n\n\
         ## From source\n\n\
         Build with `cargo build --release`:\n\n\
         ```sh\ncargo build --release\n./target/release/acme --help\n```\n\n\
         1. Clone\n2. Build\n\n\
         | Option | Default |\n| --- | --- |\n| port | 8080 |"
    );
}

#[test]
fn headings_carry_section_anchors() {
    let page = extract_html(PAGE);
    let anchors: Vec<_> = page
        .blocks
        .iter()
        .filter(|b| matches!(b.kind, BlockKind::Heading(_)))
        .map(|b| (b.text.as_str(), b.anchor.as_deref()))
        .collect();
    assert_eq!(
        anchors,
        vec![("Installing Acme", Some("install")), ("From source", Some("from-source"))]
    );
}

#[test]
fn links_include_navigation_but_content_does_not() {
    let page = extract_html(PAGE);
    assert_eq!(
        page.links,
        vec!["/", "/pricing", "/install/", "/config/", "#from-source", "/privacy"]
    );
    let md = page.markdown();
    for boilerplate in ["Pricing", "cookies", "Privacy", "no</p>", "¶"] {
        assert!(!md.contains(boilerplate), "{boilerplate:?} leaked into {md:?}");
    }
}

#[test]
fn without_main_the_body_minus_furniture_is_content() {
    let html = r#"<body><div class="navheader"><a href="a.html">Prev</a></div>
        <div class="sect1" id="TUTORIAL-CONCEPTS"><div class="titlepage"><h2 class="title">2.2. Concepts</h2></div>
        <p>PostgreSQL is a relational database management system.</p></div>
        <div class="navfooter"><a href="b.html">Next</a></div></body>"#;
    let page = extract_html(html);
    assert_eq!(
        page.markdown(),
        "## 2.2. Concepts\n\nPostgreSQL is a relational database management system."
    );
    assert_eq!(page.blocks[0].anchor.as_deref(), Some("TUTORIAL-CONCEPTS"));
    assert_eq!(page.title, "2.2. Concepts");
}

#[test]
fn robots_meta() {
    let page = extract_html(r#"<meta name="ROBOTS" content="NoIndex, nofollow"><p>x</p>"#);
    assert_eq!(page.robots, RobotsDirectives { noindex: true, nofollow: true });
    assert_eq!(RobotsDirectives::parse("none"), RobotsDirectives { noindex: true, nofollow: true });
}

#[test]
fn hidden_elements_and_unclosed_paragraphs() {
    let page =
        extract_html("<p>one<p>two<div hidden>secret</div><p aria-hidden=true>also secret</p>");
    assert_eq!(page.markdown(), "one\n\ntwo");
}

#[test]
fn elements_left_open_at_the_end_keep_their_text() {
    let page = extract_html("<main><h1>Broken <b>markup<p>Still readable text");
    assert_eq!(page.markdown(), "# Broken markup Still readable text");
    let page = extract_html("<p>Intro</p><pre><code>let x = 1;");
    assert_eq!(page.markdown(), "Intro\n\n```\nlet x = 1;\n```");
    let page = extract_html("<table><tr><th>Name<th>Value<tr><td>a<td>1");
    assert_eq!(page.markdown(), "| Name | Value |\n| --- | --- |\n| a | 1 |");
}
