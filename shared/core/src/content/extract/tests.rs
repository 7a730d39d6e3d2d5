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
fn links_that_are_one_bracketed_word_are_page_controls() {
    let page = extract_html(
        r##"<main><h1>Sending email</h1><dl><dt><code>send_mail</code>(subject, message)<a href="../_modules/mail.html#send_mail"><span>[source]</span></a></dt>
<dd><p>Sends a message. See <a href="#notes">[1]</a> and <a href="smtp.html">the SMTP backend</a>.</p></dd></dl>
<h2>History <a href="?action=edit">[edit]</a></h2><p>It began in 2005.</p>
<pre><a href="mail.html">[docs]</a>def send_mail(subject, message):</pre>
<p>Implements <code>Deref&lt;Target = <a href="primitive.slice.html">[T]</a>&gt;</code>.</p></main>"##,
    );
    // A type written as one bracketed letter (rustdoc's slice `[T]`) is text.
    assert_eq!(
        page.markdown(),
        "# Sending email\n\n`send_mail`(subject, message)\n\n\
         Sends a message. See [1] and the SMTP backend.\n\n## History\n\nIt began in 2005.\n\n\
         ```\ndef send_mail(subject, message):\n```\n\nImplements `Deref<Target = [T]>`."
    );
}

#[test]
fn an_api_signature_sets_its_whole_name_as_code() {
    // SQLAlchemy's theme sets the qualifying names as code and the name itself not, Django's each
    // part, Python's none; a keyword or C return type before the name and the parameters after it
    // are not code; code in a definition term that is not a signature stays code.
    let page = extract_html(
        r##"<main><h1>Session API</h1><dl class="py method"><dt class="sig sig-object py" id="sqlalchemy.orm.Session.merge"><em class="property"><span class="pre">method</span> </em><a class="reference internal" href="#sqlalchemy.orm.Session"><code class="docutils literal notranslate"><span class="pre">sqlalchemy.orm.Session.</span></code></a><span class="sig-name descname"><span class="pre">merge</span></span><span class="sig-paren">(</span><em class="sig-param"><span class="n"><span class="pre">instance</span></span></em><span class="sig-paren">)</span></dt>
<dd><p>Copy the state of a given instance into this <code>Session</code>.</p></dd></dl>
<dl class="py function"><dt class="sig sig-object py" id="django.core.mail.send_mail"><em class="property">function </em><code class="sig-prename descclassname">mail.</code><code class="sig-name descname"><span class="pre">send_mail</span></code>(<em>subject</em>)</dt><dd></dd></dl>
<dl class="py attribute"><dt class="sig sig-object py" id="array.array.itemsize"><span class="sig-name descname"><span class="pre">itemsize</span></span></dt><dd></dd></dl>
<dl class="c function"><dt class="sig sig-object c" id="c.Py_Initialize"><span class="kt"><span class="pre">void</span></span><span class="w"> </span><span class="sig-name descname"><span class="n"><span class="pre">Py_Initialize</span></span></span><span class="sig-paren">(</span><span class="kt"><span class="pre">void</span></span><span class="sig-paren">)</span><br></dt><dd></dd></dl>
<dl><dt><code>autoflush</code></dt><dd><p>Flush before queries.</p></dd></dl></main>"##,
    );
    assert_eq!(
        page.markdown(),
        "# Session API\n\nmethod `sqlalchemy.orm.Session.merge`(instance)\n\n\
         Copy the state of a given instance into this `Session`.\n\nfunction `mail.send_mail`(subject)\n\n\
         `itemsize`\n\nvoid `Py_Initialize`(void)\n\n`autoflush`\n\nFlush before queries."
    );
}

#[test]
fn code_inside_code_is_one_span() {
    // DocBook marks a command's arguments as code within the command (PostgreSQL's psql).
    let page = extract_html(
        r#"<main><h1>psql</h1><dl><dt><code class="literal">\lo_export <em class="replaceable"><code>loid</code></em> <em class="replaceable"><code>filename</code></em></code></dt>
<dd><p>Reads the large object with OID <em class="replaceable"><code>loid</code></em>.</p></dd></dl></main>"#,
    );
    assert_eq!(
        page.markdown(),
        "# psql\n\n`\\lo_export loid filename`\n\nReads the large object with OID `loid`."
    );
}

#[test]
fn doxygens_code_fragments_are_code_blocks_without_line_numbers() {
    // A header's source listing, and an example in a function's documentation.
    let page = extract_html(
        r##"<body><div class="contents"><a href="close__code_8h.html">Go to the documentation of this file.</a><div class="fragment"><div class="line"><a id="l00001" name="l00001"></a><span class="lineno">    1</span><span class="comment">/* Reset structure packing */</span></div>
<div class="line"><a id="l00002" name="l00002"></a><span class="lineno">    2</span><span class="preprocessor">#undef _begin_code_h</span></div>
<div class="line"><a id="l00003" name="l00003"></a><span class="lineno">    3</span> </div>
<div class="line"><a id="l00004" name="l00004"></a><span class="lineno">    4</span><span class="preprocessor">#pragma pack(pop)</span></div>
</div><p>Create a window:</p><div class="fragment"><div class="line">SDL_Window *w = <a class="code" href="#a1">SDL_CreateWindow</a>(<span class="stringliteral">&quot;A&quot;</span>, 0, 0, 640, 480, 0);</div>
</div><p>Check the result.</p></div></body>"##,
    );
    assert_eq!(
        page.markdown(),
        "Go to the documentation of this file.\n\n\
         ```\n/* Reset structure packing */\n#undef _begin_code_h\n\n#pragma pack(pop)\n```\n\n\
         Create a window:\n\n```\nSDL_Window *w = SDL_CreateWindow(\"A\", 0, 0, 640, 480, 0);\n```\n\n\
         Check the result."
    );
    // A source file's page is its listing: the listing is the page's content, and code.
    let lines: String = (1..=40)
        .map(|n| format!(r#"<div class="line"><a id="l{n:05}"></a><span class="lineno">{n:5}</span><span class="keyword">int</span> field_{n} = {n}; <span class="comment">/* the field number {n} of the structure */</span></div>"#) + "\n")
        .collect();
    let listing = format!(
        r#"<body><div class="header"><div class="title">SDL_rect.h</div></div><div class="contents"><a href="rect.html">Go to the documentation of this file.</a><div class="fragment">{lines}</div></div></body>"#
    );
    let blocks = extract_html(&listing).blocks;
    let code: Vec<_> = blocks.iter().filter(|b| b.kind == BlockKind::Code).collect();
    assert_eq!(code.len(), 1, "{blocks:?}");
    assert!(code[0]
        .text
        .contains("\nint field_2 = 2; /* the field number 2 of the structure */\n"));
    assert!(!code[0].text.contains("    2int"), "{}", code[0].text);
}

#[test]
fn a_traits_page_is_whole_though_its_implementors_headings_are_mostly_links() {
    // rustdoc: a short description, then one heading a type, its words the linked types, with a
    // linked "source" beside each; the page is the trait's, not its description alone.
    let types = ["bool", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "usize"];
    let implementors: String = types
        .iter()
        .cycle()
        .take(20)
        .map(|t| format!(r#"<section class="impl"><span class="rightside"><span class="since">const: <a href="/i/90080">unstable</a></span> · <a class="srclink" href="../src/bit.rs.html">source</a></span><a href="" class="anchor"></a><h3 class="code-header">impl <a class="trait" href="trait.BitOrAssign.html">BitOrAssign</a>&lt;<a class="primitive" href="../primitive.{t}.html">{t}</a>&gt; for <a class="primitive" href="../primitive.{t}.html">{t}</a></h3></section>"#))
        .collect();
    let page = format!(
        r##"<body><nav class="sidebar"><a href="index.html">ops</a></nav><main><section id="main-content"><div class="main-heading"><h1>Trait <a href="../index.html">std</a>::<a href="index.html">ops</a>::<a href="">BitOrAssign</a></h1></div>
<details class="toggle top-doc" open><summary class="hideme"><span>Expand description</span></summary><div class="docblock"><p>The bitwise OR assignment operator <code>|=</code>.</p><h2>Examples</h2><pre>#[derive(Debug, PartialEq)]
struct Preferences {{ likes_cats: bool, likes_dogs: bool }}

impl BitOrAssign for Preferences {{
    fn bitor_assign(&amp;mut self, rhs: Self) {{
        self.likes_cats |= rhs.likes_cats;
        self.likes_dogs |= rhs.likes_dogs;
    }}
}}

let mut prefs = Preferences {{ likes_cats: true, likes_dogs: false }};
prefs |= Preferences {{ likes_cats: false, likes_dogs: true }};
assert_eq!(prefs, Preferences {{ likes_cats: true, likes_dogs: true }});</pre></div></details>
<h2 id="required-methods">Required Methods</h2><h3 class="code-header">fn <a href="#tymethod.bitor_assign">bitor_assign</a>(&amp;mut self, rhs: Rhs)</h3><div class="docblock"><p>Performs the <code>|=</code> operation.</p></div>
<h2 id="implementors">Implementors</h2><div class="item-list">{implementors}</div></section></main></body>"##
    );
    let md = extract_html(&page).markdown();
    assert!(md.starts_with("# Trait std::ops::BitOrAssign\n\nThe bitwise OR"), "{md}");
    assert!(md.contains("## Required Methods"), "{md}");
    assert!(md.contains("Performs the `|=` operation."), "{md}");
    // A teaser's headline, all link, is still no content.
    let teasers = r#"<body><article><h1>Rates rise</h1><p>The central bank raised its rate by a quarter point on Tuesday, the third rise this year, citing prices.</p></article>
<aside><h3><a href="/a">Markets fall after the decision</a></h3><h3><a href="/b">What the rise means for your mortgage</a></h3></aside></body>"#;
    assert!(!extract_html(teasers).markdown().contains("Markets fall"));
}

/// A page's headings: level, text and anchor.
fn headings(page: &ExtractedPage) -> Vec<(u8, &str, Option<&str>)> {
    page.blocks
        .iter()
        .filter_map(|b| match b.kind {
            BlockKind::Heading(level) => Some((level, b.text.as_str(), b.anchor.as_deref())),
            _ => None,
        })
        .collect()
}

#[test]
fn headings_carry_section_anchors() {
    assert_eq!(
        headings(&extract_html(PAGE)),
        [(1, "Installing Acme", Some("install")), (2, "From source", Some("from-source"))]
    );
}

#[test]
fn an_id_on_what_ends_before_a_heading_is_not_its_anchor_unless_it_marks_a_place() {
    // SQLite's pages: a search form in the header, then a title with no id of its own.
    let html = r#"<body><div class="searchmenu" id="searchmenu"><form method="GET" action="search">
        <select name="s" id="searchtype"><option value="d">Search Documentation</option></select>
        <input type="text" name="q" id="searchbox" value=""><button id="go">Go</button></form></div>
        <h1 align="center">Limits In SQLite</h1><p>Limits are sizes or quantities that can not be exceeded.</p>
        <a name="max_column"></a><h2>Maximum Number Of Columns</h2><p>The default is 2000.</p>
        <span id="length-limit"></span><h2>Maximum Length</h2><p>A billion bytes.</p>
        <div id="depth"><div class="title"><h2>Maximum Depth</h2></div><p>1000.</p></div></body>"#;
    assert_eq!(
        headings(&extract_html(html)),
        [
            (1, "Limits In SQLite", None),
            (2, "Maximum Number Of Columns", Some("max_column")),
            (2, "Maximum Length", Some("length-limit")),
            (2, "Maximum Depth", Some("depth")),
        ]
    );
}

#[test]
fn a_bold_line_after_a_place_mark_titles_a_section() {
    // SQLite's limits and compile-time options: each item is linked to by name and titled in bold.
    let html = r#"<body><h1>Limits In SQLite</h1><p>Sizes that can not be exceeded.</p><ol>
        <a name="max_length"></a><li><p><b>Maximum length of a string or BLOB</b></p>
        <p>The default is 1 billion bytes.</p></li>
        <a name="max_column"></a><li><p><b>Maximum Number Of Columns</b></p><p>The default is 2000.</p></li>
        <li><p><b>Maximum Number Of Tables In A Join</b></p><p>64 tables.</p></li></ol>
        <a name="fdatasync"></a><p><b>HAVE_FDATASYNC</b></p><blockquote><p>Uses fdatasync().</p></blockquote>
        <p><b>Class signature</b></p><p>A bold line with no mark before it stays a line.</p>
        <a name="note"></a><p><b>Note:</b></p><p>Nor is a label a title.</p>
        <dl><dt><span id="index-0"></span><strong>PEP 235</strong></dt><dd>Import on case-insensitive platforms.</dd></dl></body>"#;
    let page = extract_html(html);
    assert_eq!(
        headings(&page),
        [
            (1, "Limits In SQLite", None),
            (2, "Maximum length of a string or BLOB", Some("max_length")),
            (2, "Maximum Number Of Columns", Some("max_column")),
            (2, "Maximum Number Of Tables In A Join", None),
            (2, "HAVE_FDATASYNC", Some("fdatasync")),
        ]
    );
    let md = page.markdown();
    assert!(md.contains("The default is 2000."), "{md}");
    assert!(md.contains("Class signature\n\nA bold line"), "{md}");
    assert!(md.contains("PEP 235\n\nImport on"), "{md}");
}

#[test]
fn the_title_is_the_documents_not_its_icons() {
    // furo's pages: the head's title, then SVG icons titled in the body.
    let html = r#"<html><head><title>Running mypy - mypy 1.0.1 documentation</title></head><body>
        <svg><symbol id="svg-toc"><title>Contents</title><path d="M0"/></symbol></svg>
        <svg><title>Light mode</title></svg><h1>Running mypy</h1><p>Run it on your code.</p></body></html>"#;
    assert_eq!(extract_html(html).title, "Running mypy - mypy 1.0.1 documentation");
    // Without a title of its own, a page is not titled by a drawing.
    let untitled =
        r#"<body><svg><title>Menu</title></svg><h1>Running mypy</h1><p>Run it.</p></body>"#;
    assert_eq!(extract_html(untitled).title, "Running mypy");
}

#[test]
fn a_column_of_line_numbers_beside_code_is_not_code() {
    // gtk-doc's listings (GLib's manual): the numbers in a cell of their own, the code beside.
    let html = r#"<body><h1>Spawning Processes</h1><p>An example of using g_spawn_async():</p>
        <div class="informalexample"><table class="listing_frame"><tbody><tr>
        <td class="listing_lines" align="right"><pre>1
2
3</pre></td>
        <td class="listing_code"><pre class="programlisting">GPid pid;
g_spawn_async (NULL, argv, NULL, 0, NULL, NULL, &amp;pid, &amp;error);
g_child_watch_add (pid, on_exit, NULL);</pre></td></tr></tbody></table></div>
        <p>A block that counts down is code:</p><pre>3
2
1</pre><p>So are two rows of a result:</p><pre>1
2</pre></body>"#;
    let page = extract_html(html);
    let code: Vec<_> =
        page.blocks.iter().filter(|b| b.kind == BlockKind::Code).map(|b| b.text.as_str()).collect();
    assert_eq!(code.len(), 3, "{code:?}");
    assert!(code[0].contains("g_spawn_async (NULL"), "{code:?}");
    assert_eq!(code[1], "```\n3\n2\n1\n```");
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

#[test]
fn sections_about_cookies_and_banners_are_content() {
    // Django's deployment checklist and request/response reference: ids and names that mention
    // cookies are headings' slugs and API names, not cookie banners.
    let html = r#"<body><div class="sphinxsidebar" role="navigation"><ul><li><a href="/a">A</a></li>
        <li><a href="/b">B</a></li></ul></div>
        <div class="body" role="main"><h1>Deployment checklist</h1>
        <section id="session-cookie-secure"><h3>SESSION_COOKIE_SECURE</h3>
        <p>Set this to True to avoid transmitting the session cookie over HTTP accidentally.</p></section>
        <dl class="py method"><dt class="sig sig-object py" id="django.http.HttpResponse.set_cookie">
        <span class="sig-name">set_cookie</span>(key, value='', max_age=None)</dt>
        <dd><p>Sets a cookie.</p></dd></dl>
        <div class="cookie-banner-docs"><p>Banners, sidebars and footers can be documented too, at
        length, with sentences.</p></div></div></body>"#;
    let md = extract_html(html).markdown();
    for kept in [
        "# Deployment checklist",
        "### SESSION_COOKIE_SECURE",
        "session cookie over HTTP",
        "`set_cookie`(key, value='', max_age=None)",
        "Sets a cookie.",
        "Banners, sidebars and footers",
    ] {
        assert!(md.contains(kept), "{kept:?} missing from {md:?}");
    }
    assert!(!md.contains("[A]") && !md.contains("\nA\n"), "the sidebar leaked: {md:?}");
}

#[test]
fn layout_class_names_do_not_drop_the_article() {
    let html = r#"<body class="no_sidebar_border"><div class="content-with-sidebar-wrp">
        <article class="url-breadcrumb"><h1>Rivers rise</h1><p>Heavy rain upstream raised the river
        by two metres overnight, and the town closed its bridges.</p><p>Officials expect the water to
        fall by Friday.</p></article>
        <div class="l-sidebar-fixed"><a href="/1">Most read</a> <a href="/2">Weather</a></div></div>
        </body>"#;
    let md = extract_html(html).markdown();
    assert!(md.starts_with("# Rivers rise\n\nHeavy rain upstream"), "{md:?}");
    assert!(md.contains("fall by Friday."), "{md:?}");
    assert!(!md.contains("Most read"), "{md:?}");
}

#[test]
fn a_comment_thread_longer_than_its_column_is_not_the_content() {
    // A 2008 newspaper blog: the column in a plain <div>, then a thread three times its length.
    let comment = |n: usize| {
        format!(
            r#"<div class="individualcomment"><span class="byline">reader{n}</span><p>I read this
            column twice and still disagree with most of it, since free range and organic are not
            the same thing, and the prices in my local shop say so every single week.</p>
            <a href="/report/{n}">Report this comment</a></div>"#
        )
    };
    let thread: String = (0..12).map(comment).collect();
    let html = format!(
        r#"<body><div id="page"><div id="headline"><h1>Battery power</h1></div>
        <div id="column"><p>He is such a great cook and such a brilliant publicist that the two parts
        of his life are now blended into one, and tonight he sets out to change his home town.</p>
        <p>Obviously, this is a good thing, if you are going to eat meat at all.</p>
        <p>However, keeping the national flock in such conditions would be very expensive, and
        most of us would have to pay a great deal more for our food than we do now.</p>
        <p>Supermarkets say shoppers choose on price, and farmers say they cannot change how they
        rear their birds until shoppers do, so each waits for the other to move first.</p>
        <p>So the question is who pays, and the column ends without an answer to it.</p></div>
        <div id="comments"><h2>Comments</h2>{thread}</div></div></body>"#
    );
    let md = extract_html(&html).markdown();
    assert!(md.contains("He is such a great cook"), "{md:?}");
    assert!(md.contains("ends without an answer"), "{md:?}");
    assert!(!md.contains("I read this column twice"), "{md:?}");
    // An article's class that mentions its comments says nothing about the article.
    let in_article = html
        .replace(r#"<div id="column">"#, r#"<article class="post has-comments">"#)
        .replace("without an answer to it.</p></div>", "without an answer to it.</p></article>");
    let md = extract_html(&in_article).markdown();
    assert!(md.contains("He is such a great cook"), "{md:?}");
    assert!(!md.contains("I read this column twice"), "{md:?}");
    // The same thread on a page whose title is inside it (a forum's thread page) is the content.
    let forum = format!(
        r#"<body><div id="comments"><h1>Free range or organic?</h1>{thread}</div>
        <div id="about"><p>{}</p></div></body>"#,
        "This forum is for readers. ".repeat(30)
    );
    let md = extract_html(&forum).markdown();
    assert!(md.contains("I read this column twice"), "{md:?}");
}

#[test]
fn teasers_beside_the_story_are_not_the_story() {
    // A newspaper's story with a column of other stories beside it: each a linked headline over
    // its summary, together as long as the story.
    let teaser = |n: usize| {
        format!(
            r#"<dt><a href="/news/{n}">Hops shortage spurs microbreweries to reinvent beers</a></dt>
            <dd>A worldwide shortage of hops is forcing some microbreweries in the province to
            rewrite their recipes for trademark beers, with hopes of matching popular flavours.</dd>"#
        )
    };
    let teasers: String = (0..8).map(teaser).collect();
    let html = format!(
        r#"<body><div id="story"><div id="well"><h1>Coyotes break up home dominance</h1>
        <p>The Coyotes scored two power-play goals in the final seconds of the second period to
        pick up a rare victory in Vancouver, four to three over the Canucks on Friday night.</p>
        <p>The key sequence began late in the second, when a forward took exception to a hit and
        tried to lure the defenceman into a fight, and was penalised twice for it.</p>
        <p>The defenceman moved swiftly to capitalize on the advantage, firing a wrist shot past the
        goalie with thirteen seconds remaining in the period.</p></div>
        <div id="beside"><h3>Headlines</h3><dl>{teasers}</dl></div></div></body>"#
    );
    let md = extract_html(&html).markdown();
    assert!(md.starts_with("# Coyotes break up home dominance\n\nThe Coyotes scored"), "{md:?}");
    assert!(md.contains("thirteen seconds remaining"), "{md:?}");
    assert!(!md.contains("shortage of hops"), "{md:?}");
}

#[test]
fn teasers_whose_summary_is_their_box_own_text_are_not_the_story() {
    // A news site's "Other news" box under the story, in the same column: each entry a thumbnail
    // and a linked headline, then the summary as the entry's own text, not a paragraph.
    let teaser = |n: usize| {
        format!(
            r#"<div class="entry"><a href="/news/{n}.html"><img src="/thumb/{n}.jpg" alt=""></a>
            <h2><a href="/news/{n}.html">High-altitude telescope will begin operation shortly</a></h2>
            The airborne observatory, a joint project of two space agencies, nears its operational
            phase and has allowed limited visiting... </div><br>"#
        )
    };
    let teasers: String = (0..6).map(teaser).collect();
    let html = format!(
        r#"<body><table><tr><td><h1>Probe prepares for Mercury flyby</h1>
        <p>The probe launched in 2004 is scheduled to fly over Mercury, the first visit in almost
        thirty-three years, and will photograph the side of the planet never seen before.</p>
        <p>Its cameras will map the surface while other instruments measure the thin exosphere and
        the magnetic field, which surprised scientists when it was first found.</p></td></tr>
        <tr><td><h1>Other news in science</h1>{teasers}</td></tr></table></body>"#
    );
    let md = extract_html(&html).markdown();
    assert!(md.contains("the magnetic field, which surprised"), "{md:?}");
    assert!(!md.contains("airborne observatory"), "{md:?}");
}

#[test]
fn an_unclosed_place_name_does_not_make_the_page_link_text() {
    // A forum's thread: `<a name="threadtop">` is never closed, and every post comes after it.
    let post = |n: usize| {
        format!(
            r#"<table class="outer"><tr><td>Posts: {n}</td><td><div class="comText">Thank you so
            much! I am at a loss for a title too, and those generators will give me something to
            build on this week.</div></td></tr></table>"#
        )
    };
    let posts: String = (0..3).map(post).collect();
    let html = format!(
        r#"<body><div id="content"><h1><a href="/t/1">Title generator?</a></h1>
        <a name="threadtop">{posts}<a name="threadbottom"></a></div>
        <div id="foot"><a href="/">Home</a> :: <a href="/about">About</a> :: <a href="/faq">FAQs</a>
        <p>Copyright 2006 The Office of Letters and Light.</p></div></body>"#
    );
    let md = extract_html(&html).markdown();
    assert!(md.contains("Thank you so much!"), "{md:?}");
}

#[test]
fn the_main_element_with_the_text_is_the_content_root() {
    // An ad slot in a first <main>, a schema.org wrapper of <meta> tags in a first <article>.
    let html = r#"<body><main class="ad-slot"><a href="/ad">Advertisement</a></main>
        <article itemscope><meta itemprop="author" content="A. Writer"></article>
        <main><h1>The story</h1><p>This is the story, told in whole sentences, with commas, at some
        length so that it is clearly the text of the page.</p></main></body>"#;
    let md = extract_html(html).markdown();
    assert!(md.starts_with("# The story\n\nThis is the story, told in whole sentences"), "{md:?}");
    assert!(!md.contains("Advertisement"), "{md:?}");
}

#[test]
fn link_lists_beside_the_text_go_and_pages_of_links_stay() {
    let article = r#"<body><nav><a href="/">Home</a> <a href="/news">News</a></nav><div>
        <h1>Release 2.0</h1><p>Version 2.0 adds streaming answers, a new ranking model, and faster
        crawls; upgrading needs no migration.</p><ul class="tags"><li><a href="/t/a">release</a></li>
        <li><a href="/t/b">ranking</a></li><li><a href="/t/c">crawl</a></li></ul></div>
        <footer><p>Copyright 2026 Acme. All rights reserved.</p></footer></body>"#;
    let page = extract_html(article);
    let md = page.markdown();
    assert!(md.starts_with("# Release 2.0\n\nVersion 2.0 adds"), "{md:?}");
    for furniture in ["Home", "release\n", "ranking\n- crawl", "Copyright"] {
        assert!(!md.contains(furniture), "{furniture:?} leaked into {md:?}");
    }
    assert!(page.link_list_share < 0.2, "{}", page.link_list_share);

    let contents = r#"<body><div class="toctree-wrapper"><h1>Contents</h1><ul>
        <li><a href="intro.html">Introduction</a></li><li><a href="install.html">Installation</a></li>
        <li><a href="faq.html">Frequently asked questions</a></li></ul></div></body>"#;
    let page = extract_html(contents);
    assert!(page.markdown().contains("- Frequently asked questions"), "{:?}", page.markdown());
    assert!(page.link_list_share > 0.7, "{}", page.link_list_share);
}

#[test]
fn indexes_count_as_link_lists_though_their_terms_are_not_links() {
    // A back-of-book index: each entry is a term, then links to the pages about it.
    let terms = ["initdb", "INSERT", "integer", "interval", "isolation level", "inheritance"];
    let entries: String = terms
        .iter()
        .map(|t| format!(r#"<dt>{t}, <a href="{t}.html">Creating a Thing</a></dt>"#))
        .collect();
    let index = format!("<body><h1>Index</h1><dl>{entries}</dl></body>");
    let page = extract_html(&index);
    assert!(page.link_list_share > 0.8, "{}", page.link_list_share);
    // A module index: the linked name in one cell, a line about it in the next.
    let rows: String = terms
        .iter()
        .map(|t| format!(r#"<tr><td><a href="{t}.html">{t}</a></td><td>All about {t}.</td></tr>"#))
        .collect();
    let modules = format!("<body><h1>Module index</h1><table>{rows}</table></body>");
    let page = extract_html(&modules);
    assert!(page.link_list_share > 0.8, "{}", page.link_list_share);
    // Short names against a longer line each (`pdb`: "The Python debugger …"): a row that opens
    // with a link to another page is an entry all the same.
    let rows: String = ["pdb", "os", "re", "io", "ssl", "csv"]
        .iter()
        .map(|m| format!(r#"<tr><td><a href="library/{m}.html"><code>{m}</code></a></td><td>Tools that the {m} module provides for programs.</td></tr>"#))
        .collect();
    let page = extract_html(&format!("<body><h1>Module index</h1><table>{rows}</table></body>"));
    assert!(page.link_list_share > 0.8, "{}", page.link_list_share);
    // A reference page's summary table opens its rows with links to its own entries: content.
    let rows: String = ["count", "cycle", "repeat", "chain", "islice", "tee"]
        .iter()
        .map(|f| format!(r##"<tr><td><a href="#{f}">{f}()</a></td><td>start, step</td><td>Makes an iterator that returns values for {f}.</td></tr>"##))
        .collect();
    let page = extract_html(&format!("<body><h1>Iterators</h1><table>{rows}</table></body>"));
    assert!(page.link_list_share < 0.2, "{}", page.link_list_share);
    // Prose whose sentences link a word each is not a link list.
    let sentences: String = terms
        .iter()
        .map(|t| format!(r#"<p>The <a href="{t}.html">{t}</a> command is explained at length on its own page, with examples of every option it takes and of the errors it reports.</p>"#))
        .collect();
    let prose = format!("<body><h1>Guide</h1>{sentences}</body>");
    let page = extract_html(&prose);
    assert!(page.link_list_share < 0.2, "{}", page.link_list_share);
    // An API reference whose every entry is headed by its signature, the name and the types in
    // it linked (rustdoc's `pub const fn count_ones(self) -> u32`): headings, not a link list.
    let methods: String = ["count_ones", "count_zeros", "leading_zeros", "trailing_zeros"]
        .iter()
        .map(|m| format!(r##"<section id="method.{m}"><h4>pub const fn <a href="#method.{m}">{m}</a>(self) -&gt; <a href="primitive.u32.html">u32</a></h4></section><div class="docblock"><p>Returns the number of bits.</p></div>"##))
        .collect();
    let page = extract_html(&format!("<body><h1>Primitive Type u32</h1>{methods}</body>"));
    assert!(page.link_list_share < 0.2, "{}", page.link_list_share);
    // A struct's reference whose every field ends in a short sentence linking the line and file
    // that define it (Doxygen's "Definition at line 70 of file SDL_messagebox.h."): sentences.
    let fields: String = ["r", "g", "b"]
        .iter()
        .map(|f| format!(r##"<h2>{f}</h2><table class="memname"><tr><td>Uint8 SDL_MessageBoxColor::{f}</td></tr></table><p>Definition at line <a href="messagebox_8h_source.html#l00070">70</a> of file <a href="messagebox_8h.html">SDL_messagebox.h</a>.</p>"##))
        .collect();
    let html = format!("<body><h1>SDL_MessageBoxColor Struct Reference</h1><p>RGB value used in a message box color scheme.</p>{fields}</body>");
    let page = extract_html(&html);
    assert!(page.link_list_share < 0.2, "{}", page.link_list_share);
}

#[test]
fn a_table_cell_that_is_one_link_is_the_subject_of_its_row() {
    // Sphinx's API summaries and C API tables set each name as a paragraph holding one link.
    let html = r##"<main><h1>Class Mapping API</h1><p>The functions that map classes to tables, and
        what each does; the entries below describe them in full.</p><table>
        <tr><th>Object Name</th><th>Description</th></tr>
        <tr><td><p><a href="#as_declarative"><span class="sig-name descname">as_declarative</span></a>(**kw)</p></td><td><p>Class decorator.</p></td></tr>
        <tr><td><p><a href="#clear_mappers"><span class="sig-name descname">clear_mappers</span></a>()</p></td><td><p>Remove all mappers from all classes.</p></td></tr>
        <tr><td><p><a href="#Queue"><code>Queue</code></a></p></td><td><p>A FIFO queue.</p></td></tr>
        </table><p>Each of them is importable from the package itself.</p>
        <table><tr><td><p><a href="/">Home</a></p></td><td><p><a href="/api">API</a></p></td></tr></table>
        </main>"##;
    assert_eq!(
        extract_html(html).markdown(),
        "# Class Mapping API\n\nThe functions that map classes to tables, and what each does; the \
         entries below describe them in full.\n\n| Object Name | Description |\n| --- | --- |\n\
         | as_declarative(**kw) | Class decorator. |\n\
         | clear_mappers() | Remove all mappers from all classes. |\n| Queue | A FIFO queue. |\n\n\
         Each of them is importable from the package itself."
    );
}

#[test]
fn a_page_of_one_line_is_that_line_not_its_footer() {
    // Python's and SQLAlchemy's stub pages: a line in the main region, a longer footer outside it.
    let html = r#"<body><div id="header"><p>Release: 1.4.46 | Release Date: January 3, 2023</p></div>
        <div role="main"><p>Moved! <a href="mapping_styles.html">Imperative Mapping</a></p></div>
        <div class="docs-navigation-links"><div id="docs-copyright">&copy; <a href="copyright.html">Copyright</a>
        2007-2023, the SQLAlchemy authors and contributors. <p><b>flambé!</b> the dragon and
        <b><i>The Alchemist</i></b> image designs created and generously donated by
        <a href="https://github.com/vmalloc">Rotem Yaari</a>.</p> Created using Sphinx 5.3.0.</div></div></body>"#;
    assert_eq!(extract_html(html).markdown(), "Moved! Imperative Mapping");
}

#[test]
fn a_page_inside_a_form_is_still_a_page() {
    let html = r#"<body><form id="aspnetForm" action="/page.aspx"><div><h1>Opening hours</h1>
        <p>The library opens at nine on weekdays, and at ten on Saturdays.</p>
        <input type="hidden" name="__VIEWSTATE" value="x"><button>Search</button></div></form></body>"#;
    let md = extract_html(html).markdown();
    assert_eq!(
        md,
        "# Opening hours\n\nThe library opens at nine on weekdays, and at ten on Saturdays."
    );
}

#[test]
fn an_article_in_a_layout_table_cell() {
    let html = r#"<body><table><tr><td class="menu"><a href="/a">News</a><br><a href="/b">Sport</a>
        </td><td><h1>Council votes</h1><p>The council voted on Tuesday to keep the library open,
        after a long debate.</p><p>The decision takes effect in March.</p></td></tr></table></body>"#;
    let md = extract_html(html).markdown();
    assert_eq!(
        md,
        "# Council votes\n\nThe council voted on Tuesday to keep the library open, after a long \
         debate.\n\nThe decision takes effect in March."
    );
}

#[test]
fn a_line_break_inside_a_table_cell_keeps_the_words_apart() {
    let html = r#"<body><h1>Modes</h1><p>Each mode, with what it checks, in the table below.</p>
        <table><tr><th>Mode</th><th>Checks</th></tr><tr><td>strict</td><td>The certificate.<br>The
        client's name.<br/>The protocol.</td></tr></table></body>"#;
    let md = extract_html(html).markdown();
    assert!(
        md.contains("| strict | The certificate. The client's name. The protocol. |"),
        "{md:?}"
    );
}

#[test]
fn a_head_left_open_ends_where_the_body_starts() {
    let html = "<html><head><title>T</title><style>p{}</style><body><p>Body text, visible.</p>";
    assert_eq!(extract_html(html).markdown(), "Body text, visible.");
}

/// A chapter's opening page as DocBook writes it: page links, the title, the contents (longer than
/// the introduction), then the introduction.
fn chapter_page(introduction: &str) -> String {
    let sections: String = [
        "Standard Unix Tools",
        "The Cumulative Statistics System",
        "Statistics Collection Configuration",
        "Viewing Statistics",
        "Viewing Locks",
        "Progress Reporting",
        "Dynamic Tracing",
        "Compiling for Dynamic Tracing",
    ]
    .iter()
    .enumerate()
    .map(|(i, s)| format!(r#"<dt><a href="s{i}.html">28.{i}. {s}</a></dt>"#))
    .collect();
    format!(
        r#"<body><div class="navheader"><a href="prev.html">Prev</a> <a href="up.html">Up</a></div>
        <div class="chapter" id="MONITORING"><div class="titlepage"><h2 class="title">Chapter 28.
        Monitoring Database Activity</h2></div><div class="toc"><p><strong>Table of Contents</strong>
        </p><dl class="toc">{sections}</dl></div>{introduction}</div>
        <div class="navfooter"><a href="next.html">Next</a></div></body>"#
    )
}

#[test]
fn a_chapter_keeps_its_whole_introduction_beside_a_longer_table_of_contents() {
    let page = extract_html(&chapter_page(
        r#"<p>A database administrator frequently wonders, "What is the system doing right
        now?" This chapter discusses how to find that out.</p><p>Several tools are available for
        monitoring database activity and analyzing performance; most of this chapter describes the
        cumulative statistics system, but the usual Unix monitoring programs help too.</p>"#,
    ));
    let md = page.markdown();
    assert!(md.starts_with("## Chapter 28. Monitoring Database Activity\n\nA database"), "{md:?}");
    assert!(md.contains("doing right now?\" This chapter") && md.contains("Unix monitoring"));
    for furniture in ["Table of Contents", "Viewing Locks", "Prev", "Next"] {
        assert!(!md.contains(furniture), "{furniture:?} leaked into {md:?}");
    }
    assert!(page.link_list_share < 0.1, "{}", page.link_list_share);

    // With no introduction to speak of, the page is its contents, and says so.
    let page = extract_html(&chapter_page("<p>See below.</p>"));
    assert!(page.markdown().contains("28.4. Viewing Locks"), "{:?}", page.markdown());
    assert!(page.link_list_share > 0.7, "{}", page.link_list_share);
}

#[test]
fn paragraphs_before_trailing_contents_are_kept_and_a_line_after_more_headlines_is_not() {
    let contents: String = (1..=8)
        .map(|i| {
            format!(r#"<dt><a href="c{i}.html">Chapter {i}. Server Configuration Topic</a></dt>"#)
        })
        .collect();
    // A part's opening page: its introduction, then the contents.
    let part = format!(
        r#"<body><div class="part"><h1>Part III. Server Administration</h1><div class="partintro">
        <p>This part covers topics that are of interest to a database administrator, such as
        installing the software, setting up and configuring the server, managing users and
        databases, and monitoring the server's activity and performance.</p><p>The rest of this part is about
        tuning and management, and assumes that the reader knows the database system well.</p>
        <div class="toc"><dl>{contents}</dl></div></div></div></body>"#
    );
    let md = extract_html(&part).markdown();
    assert!(md.contains("This part covers") && md.contains("The rest of this part"), "{md:?}");
    assert!(!md.contains("Chapter 3."), "{md:?}");

    // A story, more headlines under it, then the publisher's line: the line is not the story's.
    let headlines: String = (1..=8)
        .map(|i| {
            format!(r#"<li><a href="/s{i}">Headline number {i} of the day's other news</a></li>"#)
        })
        .collect();
    let news = format!(
        r#"<body><div class="page"><div class="story"><h1>Council votes</h1><p>The council voted
        on Tuesday to keep the library open, after a long debate about its budget.</p><p>The
        decision takes effect in March, and the opening hours stay as they are.</p></div>
        <div class="more"><ul>{headlines}</ul></div><p>Copyright 2008 Associated Press. All
        rights reserved. This material may not be published or redistributed.</p></div></body>"#
    );
    let md = extract_html(&news).markdown();
    assert!(md.starts_with("# Council votes") && md.contains("opening hours"), "{md:?}");
    assert!(!md.contains("Copyright") && !md.contains("Headline number"), "{md:?}");
}

#[test]
fn a_chapter_inside_the_main_region_wins_over_a_longer_footer_outside_it() {
    // Sphinx's chapter pages: the title and a short introduction in `role=main`, a deep table of
    // contents under them, and after the main region a footer of licence boilerplate that holds
    // more prose than the introduction.
    let entries: String = (1..=40)
        .map(|i| {
            format!(
                r#"<li><a href="m{i}.html"><code>module{i}</code> — Tools for task {i}</a></li>"#
            )
        })
        .collect();
    let page = format!(
        r#"<body><div class="document"><div class="body" role="main"><section id="data-types">
        <h1>Data Types</h1><p>The modules described in this chapter provide a variety of
        specialized data types such as dates and times, fixed-type arrays and heap queues.</p>
        <p>The language also provides some built-in data types, in particular dictionaries, lists,
        sets and tuples. The string class holds Unicode text, and the bytes and bytearray classes
        hold binary data; the next chapter describes all of them.</p>
        <p>The following modules are documented in this chapter:</p>
        <div class="toctree-wrapper"><ul>{entries}</ul></div></section></div></div>
        <div class="sphinxsidebar" role="navigation"><h3>Previous topic</h3><p><a href="a.html">Text
        Processing</a></p></div>
        <div class="footer">© Copyright 2001-2026, the Foundation. This page is licensed under the
        Foundation's License Version 2. Examples, recipes, and other code in the documentation are
        additionally licensed under the Zero Clause BSD License. See <a href="l.html">History and
        License</a> for more information. The Foundation is a non-profit corporation. Last updated
        on October 07, 2026. Found a bug? Created using a documentation generator.</div></body>"#
    );
    let md = extract_html(&page).markdown();
    assert!(md.starts_with("# Data Types\n\nThe modules described"), "{md:?}");
    assert!(
        md.contains("hold binary data") && md.contains("documented in this chapter:"),
        "{md:?}"
    );
    assert!(!md.contains("Copyright") && !md.contains("module7"), "{md:?}");
}

#[test]
fn a_refresh_that_sends_the_reader_on_at_once_names_its_target() {
    let target = |content: &str| {
        extract_html(&format!(r#"<meta http-equiv="REFRESH" content="{content}"><p>Moved.</p>"#))
            .refresh
    };
    assert_eq!(target("0; url=Strings.html#XREFindex").as_deref(), Some("Strings.html#XREFindex"));
    assert_eq!(target("0;URL='/new/place.html'").as_deref(), Some("/new/place.html"));
    assert_eq!(target("3, url = other.html").as_deref(), Some("other.html"));
    assert_eq!(target("0; urls/page.html").as_deref(), Some("urls/page.html"));
    // A reload, a refresh long after, and nonsense are no redirect.
    for content in ["30", "0", "1800; url=/logout", "soon; url=x.html", "0; url="] {
        assert_eq!(target(content), None, "{content}");
    }
}

#[test]
fn bars_of_links_to_the_pages_around_are_left_out_and_sentences_of_links_kept() {
    // Texinfo 6 (makeinfo) heads every node with its neighbours, texi2html with a table of
    // bracketed arrows; both are mostly punctuation and labels, so their links are under 80 %.
    // Texinfo's ¶ after a heading or definition is its link to itself (Doxygen's ◆ the same).
    let texinfo = r##"<body><div class="section" id="Define"><div class="header"><p>
        Next: <a href="Arguments.html" accesskey="n" rel="next">Arguments to macros</a>,
        Up: <a href="Definitions.html" accesskey="u" rel="up">How to define new macros</a> &nbsp;
        [<a href="index.html#SEC_Contents" rel="contents">Contents</a>][<a href="Indices.html" rel="index">Index</a>]</p>
        </div><hr><h3>5.1 Defining a macro<a class="copiable-anchor" href="#Define"> &para;</a></h3>
        <p>The normal way to define or redefine macros is to use the builtin <code>define</code>.
        Same as <a href="Pushdef.html">pushdef</a>, except that it replaces the definition.</p>
        <p>See <a href="Dnl.html">dnl</a>, <a href="Divert.html">divert</a> and
        <a href="Undivert.html">undivert</a>.</p>
        <ul><li><a href="Len.html">len</a> (the length of a string)</li>
        <li><a href="Index.html">index</a> (where a substring starts)</li>
        <li><a href="Regexp.html">regexp</a> (a search by regular expression)</li></ul>
        <p>The first argument to <code>define</code> should be quoted; otherwise, if the macro is
        already defined, you will be defining a different macro.</p></div></body>"##;
    assert_eq!(
        extract_html(texinfo).markdown(),
        "### 5.1 Defining a macro\n\n\
         The normal way to define or redefine macros is to use the builtin `define`. Same as \
         pushdef, except that it replaces the definition.\n\n\
         See dnl, divert and undivert.\n\n\
         - len (the length of a string)\n- index (where a substring starts)\n\
         - regexp (a search by regular expression)\n\n\
         The first argument to `define` should be quoted; otherwise, if the macro is already \
         defined, you will be defining a different macro."
    );
    // Short titles leave a fifth of the letters to the labels; a chapter's page may be its menu
    // alone, so the bar is more than a quarter of the page.
    let short_titles = r##"<body><div class="chapter" id="Plotting"><div class="header"><p>
        Next: <a href="Matrices.html" accesskey="n" rel="next">Matrices</a>,
        Previous: <a href="IO.html" accesskey="p" rel="prev">I/O</a>,
        Up: <a href="index.html" accesskey="u" rel="up">Top</a> &nbsp;
        [<a href="index.html#SEC_Contents" rel="contents">Contents</a>][<a href="Concept-Index.html" rel="index">Index</a>]</p>
        </div><hr><h2>15 Plotting</h2><ul class="menu"><li><a href="Intro.html">Introduction to Plotting</a></li>
        <li><a href="High.html">High-Level Plotting</a></li></ul></div></body>"##;
    assert_eq!(
        extract_html(short_titles).markdown(),
        "## 15 Plotting\n\n- Introduction to Plotting\n- High-Level Plotting"
    );
    let texi2html = r#"<body><table><tr><td>[<a href="g_1.html" title="Previous chapter"> &lt;&lt; </a>]</td>
        <td>[<a href="g_3.html" title="Next chapter"> &gt;&gt; </a>]</td><td> &nbsp; </td>
        <td>[<a href="g.html#Top">Top</a>]</td><td>[<a href="g_toc.html">Contents</a>]</td>
        <td>[<a href="g_36.html">Index</a>]</td><td>[<a href="g_abt.html"> ? </a>]</td></tr></table>
        <h1>2. The User's View</h1><p>Nowadays, when users log into a computer, they usually find
        that all their programs show messages in their native language.</p></body>"#;
    assert_eq!(
        extract_html(texi2html).markdown(),
        "# 2. The User's View\n\nNowadays, when users log into a computer, they usually find \
         that all their programs show messages in their native language."
    );
}

#[test]
fn a_generators_controls_are_not_text() {
    // rustdoc: the version and source link beside the title, the collapse toggle, "Expand
    // description", and "Run" under every example.
    let html = r##"<body><main><h1 class="fqn"><span class="in-band">Struct <a href="../index.html">std</a>::<a href="index.html">vec</a>::<a href="#">Vec</a></span><span class="out-of-band"><span class="since">1.0.0</span> · <a class="srclink" href="../../src/alloc/vec/mod.rs.html#400">source</a> · <a id="toggle-all-docs" href="javascript:void(0)">[<span class="inner">&#x2212;</span>]</a></span></h1>
        <details class="rustdoc-toggle top-doc" open><summary class="hideme"><span>Expand description</span></summary>
        <div class="docblock"><p>A contiguous growable array type, written as <code>Vec&lt;T&gt;</code>, short for ‘vector’.</p>
        <div class="example-wrap"><pre class="rust rust-example-rendered"><code>let mut vec = Vec::new();
vec.push(1);</code></pre><a class="test-arrow" href="https://play.rust-lang.org/?code=x">Run</a></div></div></details>
        <section id="method.push" class="method has-srclink"><span class="rightside"><a class="srclink" href="../../src/alloc/vec/mod.rs.html#1760">source</a></span><h4 class="code-header">pub fn <a href="#method.push" class="fnname">push</a>(&amp;mut self, value: T)</h4></section>
        <div class="docblock"><p>Appends an element to the back of a collection.</p></div></main></body>"##;
    assert_eq!(
        extract_html(html).markdown(),
        "# Struct std::vec::Vec\n\n\
         A contiguous growable array type, written as `Vec<T>`, short for ‘vector’.\n\n\
         ```\nlet mut vec = Vec::new();\nvec.push(1);\n```\n\n\
         #### pub fn push(&mut self, value: T)\n\n\
         Appends an element to the back of a collection."
    );
}

#[test]
fn doxygen_marks_a_members_heading_with_a_link_to_itself() {
    let html = r##"<body><div class="contents"><h2 class="memtitle"><span class="permalink"><a href="#a1">&#9670;&nbsp;</a></span>SDL_CreateWindow()</h2>
        <div class="memdoc"><p>Create a window with the specified position, dimensions, and flags.</p></div></div></body>"##;
    assert_eq!(
        extract_html(html).markdown(),
        "## SDL_CreateWindow()\n\nCreate a window with the specified position, dimensions, and flags."
    );
}

#[test]
fn a_top_heading_that_repeats_the_sites_name_from_the_title_is_a_banner() {
    let page = |title: &str| {
        format!(
            r#"<html><head><title>{title}</title></head><body><div id="content">
            <h1>Node.js v18.20.4 documentation</h1><div id="apicontent"><h2>HTTP</h2>
            <p>To use the HTTP server and client one must require the node:http module.</p></div></div></body></html>"#
        )
    };
    let banner = extract_html(&page("HTTP | Node.js v18.20.4 Documentation"));
    assert_eq!(
        banner.markdown(),
        "## HTTP\n\nTo use the HTTP server and client one must require the node:http module."
    );
    // A page whose title is its heading keeps it.
    let own = extract_html(&page("Node.js v18.20.4 documentation"));
    assert!(own.markdown().starts_with("# Node.js v18.20.4 documentation\n"), "{}", own.markdown());
}

#[test]
fn a_bar_of_the_page_in_other_languages_is_furniture() {
    // Apache's bar: its link to the page itself has no `hreflang`, the others do.
    let html = r#"<body><div id="page-content"><h1>Authentication and Authorization</h1>
        <div class="toplang"><p><span>Available Languages: </span><a href="../en/howto/auth.html" title="English">&nbsp;en&nbsp;</a> |
        <a href="../fr/howto/auth.html" hreflang="fr" rel="alternate" title="Français">&nbsp;fr&nbsp;</a></p></div>
        <p>Authentication is any process by which you verify that someone is who they claim they are.</p>
        <p>This guide is also <a href="../ja/howto/auth.html" hreflang="ja">translated into Japanese</a> by volunteers who keep it up to date with each release.</p>
        </div></body>"#;
    assert_eq!(
        extract_html(html).markdown(),
        "# Authentication and Authorization\n\n\
         Authentication is any process by which you verify that someone is who they claim they are.\n\n\
         This guide is also translated into Japanese by volunteers who keep it up to date with each release."
    );
}

#[test]
fn a_heading_in_a_layout_tables_cell_is_a_heading_and_a_caption_row_of_data_is_not_layout() {
    // gtk-doc: the page's title and purpose in one row of a table, beside an empty cell.
    let html = r#"<body><div class="refentry"><div class="refnamediv"><table width="100%"><tr><td valign="top">
        <h2><span class="refentrytitle">Hash Tables</span></h2>
        <p>Hash Tables — associations between keys and values so that given a key the value can be found quickly</p>
        </td><td class="gallery_image" valign="top" align="right"></td></tr></table></div>
        <div class="refsect1"><h2>Description</h2><p>A GHashTable provides associations between keys and values.</p></div>
        <table class="memberdecls"><tr class="heading"><td colspan="2"><h2 class="groupheader">Macros</h2></td></tr>
        <tr><td>#define</td><td>SDL_SwapLE16(X) (X)</td></tr><tr><td>#define</td><td>SDL_SwapLE32(X) (X)</td></tr></table>
        </div></body>"#;
    let markdown = extract_html(html).markdown();
    assert!(
        markdown.starts_with(
            "## Hash Tables\n\nHash Tables — associations between keys and values so that given a \
             key the value can be found quickly\n\n## Description\n\n"
        ),
        "{markdown}"
    );
    assert!(markdown.contains("| #define | SDL_SwapLE16(X) (X) |"), "{markdown}");
}

#[test]
fn a_parameters_classifier_is_set_apart_from_its_name() {
    let html = r#"<body><main><h1>pandas.DataFrame.merge</h1><p>Merge DataFrame or named Series objects with a database-style join.</p>
        <dl class="field-list"><dt>Parameters:</dt><dd><dl>
        <dt><strong>right</strong><span class="classifier">DataFrame or named Series</span></dt><dd><p>Object to merge with.</p></dd>
        </dl></dd></dl></main></body>"#;
    let markdown = extract_html(html).markdown();
    assert!(markdown.contains("\n\nright : DataFrame or named Series\n\n"), "{markdown}");
}

#[test]
fn a_notice_before_the_titles_section_is_left_out_and_a_readmes_opening_line_kept() {
    let celery = r#"<body><div class="body" role="main"><div class="deck"><p>This document describes the current
        stable version of Celery (5.2). For development docs, <a href="http://docs.celeryproject.org/en/master/">go here</a>.</p></div>
        <section id="tasks"><h1>Tasks</h1><p>Tasks are the building blocks of Celery applications, run by workers.</p></section>
        </div></body>"#;
    assert_eq!(
        extract_html(celery).markdown(),
        "# Tasks\n\nTasks are the building blocks of Celery applications, run by workers."
    );
    // Doxygen's README page: the line before the title is in the title's own container.
    let readme = r#"<body><div class="contents"><div class="textblock"><p>SDL2 port for Symbian with a main focus on
        the Nokia N-Gage by <a href="https://github.com/mupfdev">Michael Fitzmayer</a>.</p>
        <h1>Compiling</h1><p>SDL is part of the N-Gage SDK, a cross-compiler for the platform.</p></div></div></body>"#;
    assert!(extract_html(readme).markdown().starts_with("SDL2 port for Symbian"));
}

#[test]
fn a_sign_that_links_to_its_own_heading_is_no_text_and_one_that_links_elsewhere_is() {
    // Node.js marks each heading with a `#` linking to it (its own id); a changelog's `*` and an
    // index's `_` link to other places and are the text's own.
    let html = r##"<body><div id="apicontent"><h1>HTTP</h1>
        <section><h2>Class: <code>http.Agent</code><span><a class="mark" href="#class-httpagent" id="class-httpagent">#</a></span></h2>
        <p>An Agent is responsible for managing connection persistence and reuse for HTTP clients.</p></section>
        <section id="ready"><h3>Event: ready<a class="x" href="#ready">§</a></h3>
        <p>Fixed a regression where "import <a href="#star">*</a>" would not work, see <a href="#_">_</a>.</p></section></div></body>"##;
    assert_eq!(
        extract_html(html).markdown(),
        "# HTTP\n\n## Class: `http.Agent`\n\n\
         An Agent is responsible for managing connection persistence and reuse for HTTP clients.\n\n\
         ### Event: ready\n\n\
         Fixed a regression where \"import *\" would not work, see _."
    );
}

#[test]
fn a_box_ending_a_list_entry_or_saying_little_is_part_of_its_section() {
    // Apache's NoProxy: an example of two words, and a note ending a term's description with the
    // list's next terms after it; the next terms had been filed under "Note".
    let html = r#"<body><div id="page-content"><h1>Apache Module mod_proxy</h1>
        <div class="directive-section"><h2>NoProxy Directive</h2>
        <p>This directive is only useful for Apache httpd proxy servers within intranets.</p>
        <dl><dt>Domain</dt><dd><p>A Domain is a partially qualified DNS domain name, preceded by a period.</p>
        <div class="example"><h3>Examples</h3><p><code>.com .example.org.</code></p></div>
        <p>Domains are always written with a leading period.</p>
        <div class="note"><h3>Note</h3><p>Domain name comparisons are done without regard to the case.</p></div></dd>
        <dt>SubNet</dt><dd><p>A SubNet is a partially qualified internet address in numeric form.</p></dd></dl>
        </div><div class="directive-section"><h2>ProxyPass Directive</h2><p>This directive maps remote servers into the local server.</p></div>
        </div></body>"#;
    let markdown = extract_html(html).markdown();
    assert_eq!(
        markdown.lines().filter(|line| line.starts_with('#')).collect::<Vec<_>>(),
        ["# Apache Module mod_proxy", "## NoProxy Directive", "## ProxyPass Directive"],
        "{markdown}"
    );
    for line in ["Examples", "Note", "SubNet"] {
        assert!(markdown.lines().any(|l| l == line), "{line:?} not a line of {markdown:?}");
    }
}

#[test]
fn a_box_ending_its_section_is_part_of_it_when_its_heading_outranks_the_sections() {
    // PostgreSQL's notes are `<h3>` whatever the depth: one ending a section headed `<h4>`, and two
    // ending another, had become the parent of the sections after them. One ending a section headed
    // `<h3>` is a section of its own, which the next `<h3>` ends.
    let html = r#"<body><div class="sect1"><div class="titlepage"><h2>17.4. Installation Procedure</h2></div>
        <p>The installation procedure has several steps that are described in this section.</p>
        <div class="sect2"><div class="titlepage"><h3>17.4.1. configure Options</h3></div>
        <p>The options of configure are grouped below by what they are about.</p>
        <div class="sect3"><div class="titlepage"><h4>17.4.1.1. Installation Locations</h4></div>
        <p>These options control where make install will put the files.</p>
        <div class="note"><h3>Note</h3><p>Care has been taken to make it possible to install into shared places.</p></div></div>
        <div class="sect3"><div class="titlepage"><h4>17.4.1.2. PostgreSQL Features</h4></div>
        <p>The options described in this section enable building of optional features.</p>
        <div class="note"><h3>Note</h3><p>A first note at the end of the section about features.</p></div>
        <div class="tip"><h3>Tip</h3><p>A second box at the end of the section about features.</p></div></div></div>
        <div class="sect2"><div class="titlepage"><h3>17.4.2. Environment Variables</h3></div>
        <p>The variables below are read by configure when it runs.</p>
        <div class="warning"><h3>Warning</h3><p>Setting them wrongly can break the build in odd ways.</p></div></div>
        </div></body>"#;
    let markdown = extract_html(html).markdown();
    assert_eq!(
        markdown,
        "## 17.4. Installation Procedure\n\n\
         The installation procedure has several steps that are described in this section.\n\n\
         ### 17.4.1. configure Options\n\n\
         The options of configure are grouped below by what they are about.\n\n\
         #### 17.4.1.1. Installation Locations\n\n\
         These options control where make install will put the files.\n\n\
         Note\n\nCare has been taken to make it possible to install into shared places.\n\n\
         #### 17.4.1.2. PostgreSQL Features\n\n\
         The options described in this section enable building of optional features.\n\n\
         Note\n\nA first note at the end of the section about features.\n\n\
         Tip\n\nA second box at the end of the section about features.\n\n\
         ### 17.4.2. Environment Variables\n\n\
         The variables below are read by configure when it runs.\n\n\
         ### Warning\n\nSetting them wrongly can break the build in odd ways."
    );
}

#[test]
fn a_box_titled_inside_a_section_is_part_of_it_and_a_section_wrapper_is_not_a_box() {
    // The Apache manual's notes: the section goes on after them, so their titles are lines of it.
    let html = r#"<body><div id="page-content"><h1>Name-based Virtual Host Support</h1>
        <div class="section"><h2>Using Name-based Virtual Hosts</h2>
        <p>The first step is to create a block for each different host that you would like to serve.</p>
        <div class="note"><h3>Main host goes away</h3><p>Any request that does not match an existing host is handled by the global server configuration.</p></div>
        <div class="example"><h3>Example</h3><pre>ServerName www.example.com</pre></div>
        <p>You can alternatively specify an explicit IP address in place of the star in the directives.</p></div>
        <div class="section"><h2>Host selection</h2><p>The server selects the host whose name matches the request best.</p></div>
        </div></body>"#;
    assert_eq!(
        extract_html(html).markdown(),
        "# Name-based Virtual Host Support\n\n## Using Name-based Virtual Hosts\n\n\
         The first step is to create a block for each different host that you would like to serve.\n\n\
         Main host goes away\n\n\
         Any request that does not match an existing host is handled by the global server configuration.\n\n\
         Example\n\n```\nServerName www.example.com\n```\n\n\
         You can alternatively specify an explicit IP address in place of the star in the directives.\n\n\
         ## Host selection\n\nThe server selects the host whose name matches the request best."
    );
    // Sections in wrappers of their own, one with sections inside and text after them at the
    // page's end: each heading still opens a section.
    let html = r#"<body><main><h1>Help</h1>
        <div class="sub-title"><h2>Navigation</h2><p>Start from the overview page and follow the links.</p>
        <section><h3>Search</h3><p>You can search for definitions of modules, packages and types.</p></section></div>
        <div class="sect2"><div class="titlepage"><div><h2>Kinds of Pages</h2></div></div>
        <p>The following sections describe the different kinds of pages in this collection.</p></div>
        <p>This help file applies to the documentation generated by the standard tool.</p></main></body>"#;
    let markdown = extract_html(html).markdown();
    for heading in ["## Navigation", "### Search", "## Kinds of Pages"] {
        assert!(markdown.contains(&format!("{heading}\n")), "{heading:?} lost in {markdown:?}");
    }
}
