//! The `docent` command on the fixture site: extract, index a directory, search with --jsonl.

mod common;

use std::path::{Path, PathBuf};

use common::docent;
use docent_cli::testing::TestDir;

fn fixture_site() -> PathBuf {
    Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("../../tests/fixtures/site")
        .canonicalize()
        .unwrap()
}

/// A fresh directory for the test `name` (removed when dropped) and an index path in it.
fn temp_db(name: &str) -> (TestDir, PathBuf) {
    let dir = TestDir::new(&format!("cli-{name}"));
    let db = dir.join("index.db");
    (dir, db)
}

#[test]
fn extract_prints_the_main_content_as_markdown() {
    let page = fixture_site().join("configuration.html");
    let (ok, stdout, stderr) = docent(&["extract", page.to_str().unwrap()], "");
    assert!(ok, "{stderr}");
    assert!(stdout.starts_with("# Configuration reference\n"), "{stdout}");
    assert!(stdout.contains("## Listen address and port"));
    assert!(
        stdout.contains("| listen | 127.0.0.1:7410 | Dashboard address |"),
        "tables survive: {stdout}"
    );
    assert!(stdout.contains("`harbor.toml`"), "inline code survives: {stdout}");
    for boilerplate in ["Accept all cookies", "Privacy policy", "On this page", "window.analytics"]
    {
        assert!(!stdout.contains(boilerplate), "{boilerplate:?} leaked: {stdout}");
    }
}

#[test]
fn index_a_directory_then_search_with_jsonl() {
    let (_db_dir, db) = temp_db("index");
    let site = fixture_site();
    let (ok, _, stderr) =
        docent(&["index", site.to_str().unwrap(), "--db", db.to_str().unwrap()], "");
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("indexed 7 pages (0 unchanged, 0 skipped, 0 failed) of 7 discovered"),
        "{stderr}"
    );

    let queries = "{\"q\": \"database is locked\"}\n{\"q\": \"which port does the dashboard use\"}\n{\"q\": \"zzzz qqqq\"}\n";
    let (ok, stdout, stderr) =
        docent(&["search", "--db", db.to_str().unwrap(), "--k", "3", "--jsonl"], queries);
    assert!(ok, "{stderr}");
    let lines: Vec<serde_json::Value> =
        stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3, "one line per query, in order: {stdout}");
    let top = |i: usize| lines[i]["results"][0]["url"].as_str().unwrap_or_default().to_string();
    assert!(top(0).ends_with("/guides/troubleshooting.html#database-locked"), "{}", lines[0]);
    assert!(top(1).ends_with("/configuration.html#listen-port"), "{}", lines[1]);
    assert_eq!(lines[2]["results"], serde_json::json!([]));
    assert!(lines[0]["results"].as_array().unwrap().len() <= 3);
    let first = &lines[0]["results"][0];
    assert!(first["title"].as_str().unwrap().starts_with("Troubleshooting"));
    assert!(first["score"].as_f64().unwrap() > 0.0);

    // Indexing the same directory again changes nothing.
    let (ok, _, stderr) =
        docent(&["index", site.to_str().unwrap(), "--db", db.to_str().unwrap()], "");
    assert!(ok, "{stderr}");
    assert!(stderr.contains("indexed 0 pages (7 unchanged"), "{stderr}");
    assert!(stderr.contains("index: 7 documents"), "{stderr}");
}

#[test]
fn ask_answers_one_json_line_per_question_as_the_chat_does() {
    let (_db_dir, db) = temp_db("ask");
    let site = fixture_site();
    let (ok, _, stderr) =
        docent(&["index", site.to_str().unwrap(), "--db", db.to_str().unwrap()], "");
    assert!(ok, "{stderr}");
    let questions = "{\"q\": \"Does Harbor run on Windows?\"}\nnot json\n{\"q\": \"xylophone quantum marmalade\"}\n";
    let (ok, stdout, stderr) = docent(&["ask", "--db", db.to_str().unwrap(), "--jsonl"], questions);
    assert!(ok, "{stderr}");
    let lines: Vec<serde_json::Value> =
        stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3, "one line per input, in order: {stdout}");
    let answer = lines[0]["answer"].as_str().unwrap();
    assert!(answer.contains("extractive answer"), "labelled: {answer}");
    assert!(
        answer.contains(
            "> No. Harbor supports Linux and macOS only; on Windows, run it inside WSL2."
        ),
        "{answer}"
    );
    assert!(lines[0]["sources"][0]["url"].as_str().unwrap().ends_with("/faq.html#windows"));
    assert_eq!(lines[0]["mode"], "extractive");
    assert!(lines[1]["error"].as_str().unwrap().starts_with("line 2:"), "{}", lines[1]);
    assert_eq!(lines[2]["mode"], "no_evidence");
    assert!(lines[2]["answer"].as_str().unwrap().starts_with("I could not find"), "{}", lines[2]);

    // Without --jsonl: the answer, then its sources.
    let (ok, stdout, stderr) = docent(
        &["ask", "--db", db.to_str().unwrap(), "Does", "Harbor", "run", "on", "Windows?"],
        "",
    );
    assert!(ok, "{stderr}");
    assert!(stdout.contains("WSL2") && stdout.contains("[1] file://"), "{stdout}");
}

#[test]
fn exclude_globs_keep_pages_out() {
    let (_db_dir, db) = temp_db("exclude");
    let site = fixture_site();
    let (ok, _, stderr) = docent(
        &["index", site.to_str().unwrap(), "--db", db.to_str().unwrap(), "--exclude", "guides/"],
        "",
    );
    assert!(ok, "{stderr}");
    assert!(stderr.contains("indexed 5 pages"), "{stderr}");
    let (_, stdout, _) = docent(
        &["search", "--db", db.to_str().unwrap(), "--jsonl"],
        "{\"q\": \"database is locked\"}\n",
    );
    assert!(!stdout.contains("/guides/"), "{stdout}");
}

/// A small site laid out like the PostgreSQL manual: chapters in folders, and a back-of-book index
/// (`bookindex.html`) that names every term and would otherwise top many searches.
fn book_site(name: &str) -> (TestDir, PathBuf) {
    let dir = TestDir::new(&format!("cli-{name}-site"));
    let root = dir.join("book");
    let page = |title: &str, body: &str| {
        format!("<html><head><title>{title}</title></head><body><main><h1>{title}</h1>{body}</main></body></html>")
    };
    let files = [
        (
            "index.html",
            page(
                "PostgreSQL Documentation",
                r#"<p>The manual.</p><ul><li><a href="tutorial/start.html">Getting started</a></li>
                <li><a href="sql/select.html">SELECT</a></li><li><a href="back/bookindex.html">Index</a></li></ul>"#,
            ),
        ),
        (
            "tutorial/start.html",
            page("Getting Started", "<p>Creating a database cluster with initdb.</p>"),
        ),
        (
            "sql/select.html",
            page("SELECT", "<p>SELECT retrieves rows from zero or more tables.</p>"),
        ),
        (
            "back/bookindex.html",
            page(
                "Index",
                r#"<p>Symbols: vacuumdb, initdb, SELECT, zymurgy.</p><a href="../sql/select.html">SELECT</a>"#,
            ),
        ),
    ];
    for (path, html) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, html).unwrap();
    }
    (dir, root)
}

/// The URLs `docent search` finds for `query` in `db`, in order.
fn found(db: &Path, query: &str) -> Vec<String> {
    let (_, stdout, _) = docent(
        &["search", "--db", db.to_str().unwrap(), "--jsonl", "--k", "20"],
        &format!("{}\n", serde_json::json!({ "q": query })),
    );
    let results: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    results["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["url"].as_str().unwrap().into())
        .collect()
}

#[test]
fn a_built_site_is_its_html_pages_and_a_folder_of_notes_its_text() {
    // Sphinx keeps a copy of every page's source beside the pages; a site has a robots.txt; a text
    // file a page links is part of the site.
    let site_dir = TestDir::new("cli-built-site");
    let site = site_dir.join("built");
    let files = [
        (
            "index.html",
            r#"<html><head><title>Guide</title></head><body><main><h1>Guide</h1>
            <p>Tuning the quokka cache for large deployments.</p><a href="notes/limits.txt">Limits</a>
            </main></body></html>"#,
        ),
        (
            "_sources/index.rst.txt",
            "Guide\n=====\n\nTuning the quokka cache for large deployments.\n",
        ),
        ("robots.txt", "User-agent: *\nDisallow: /quokka-private/\n"),
        ("notes/limits.txt", "Limits\n\nThe quokka cache holds at most a million entries.\n"),
    ];
    for (path, body) in files {
        let path = site.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
    let (_db_dir, db) = temp_db("built-site-db");
    let (ok, stderr) = index(&site, &db, &[]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("indexed 2 pages"), "the page and the text it links: {stderr}");
    let urls = found(&db, "quokka");
    assert!(urls.iter().any(|u| u.ends_with("/built/index.html")), "{urls:?}");
    assert!(urls.iter().any(|u| u.ends_with("/notes/limits.txt")), "{urls:?}");
    assert!(!urls.iter().any(|u| u.contains("_sources") || u.ends_with("robots.txt")), "{urls:?}");

    // With no HTML at all, the markdown and text files are the pages.
    let notes_dir = TestDir::new("cli-notes");
    let notes = notes_dir.join("notes");
    std::fs::create_dir_all(notes.join("ops")).unwrap();
    std::fs::write(notes.join("setup.md"), "# Setup\n\nInstall the wombat agent first.\n").unwrap();
    std::fs::write(notes.join("ops/runbook.txt"), "Runbook\n\nRestart the wombat agent.\n")
        .unwrap();
    let (_db_dir, db) = temp_db("notes-db");
    let (ok, stderr) = index(&notes, &db, &[]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("indexed 2 pages"), "{stderr}");
    assert_eq!(found(&db, "wombat").len(), 2);
}

/// `docent index SITE --db DB ARGS...`: whether it succeeded, and its stderr.
fn index(site: &Path, db: &Path, args: &[&str]) -> (bool, String) {
    let mut all = vec!["index", site.to_str().unwrap(), "--db", db.to_str().unwrap()];
    all.extend_from_slice(args);
    let (ok, _, stderr) = docent(&all, "");
    (ok, stderr)
}

#[test]
fn a_file_name_glob_keeps_the_book_index_out_at_any_depth() {
    let (_site_dir, site) = book_site("book-all");
    let (_db_dir, db) = temp_db("book-all");
    let (ok, _, stderr) =
        docent(&["index", site.to_str().unwrap(), "--db", db.to_str().unwrap()], "");
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("indexed 4 pages"),
        "without the glob the index page is crawled: {stderr}"
    );

    let (_db_dir, db) = temp_db("book-exclude");
    let (ok, stderr) = index(&site, &db, &["--exclude", "bookindex.html"]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("indexed 3 pages"), "{stderr}");
    assert!(!stderr.contains("warning"), "the glob matched, so nothing is reported: {stderr}");
    let (_, stdout, _) =
        docent(&["search", "--db", db.to_str().unwrap(), "--jsonl"], "{\"q\": \"zymurgy\"}\n");
    let results: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(results["results"], serde_json::json!([]), "{stdout}");
}

#[test]
fn a_glob_that_matched_nothing_is_reported_as_a_warning() {
    let (_site_dir, site) = book_site("book-typo");
    let (_db_dir, db) = temp_db("book-typo");
    let globs = ["--exclude", "bookindex.htm", "--exclude", "tutorial/"];
    let (ok, stderr) = index(
        &site,
        &db,
        &[&globs[..], &["--include", "sql/**", "--include", "reference/**"]].concat(),
    );
    assert!(ok, "a warning is not an error: {stderr}");
    // The start page, and sql/select.html; the back-of-book index is kept out by the includes.
    assert!(stderr.contains("indexed 2 pages"), "{stderr}");
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.starts_with("warning:")).collect();
    assert_eq!(
        warnings,
        [
            "warning: include glob 'reference/**' matched no URL",
            "warning: exclude glob 'bookindex.htm' matched no URL"
        ],
        "{stderr}"
    );
}

#[test]
fn pages_left_out_are_listed_with_their_reasons() {
    let site_dir = TestDir::new("cli-left-out-site");
    let site = site_dir.join("left-out");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(
        site.join("index.html"),
        r#"<html><body><main><h1>Start</h1><p>Two pages are linked from here.</p>
        <a href="picture.html">Picture</a> <a href="private.html">Private</a></main></body></html>"#,
    )
    .unwrap();
    std::fs::write(site.join("picture.html"), r#"<html><body><img src="a.png"></body></html>"#)
        .unwrap();
    std::fs::write(
        site.join("private.html"),
        r#"<html><head><meta name="robots" content="noindex"></head><body><p>Hidden words.</p>
        </body></html>"#,
    )
    .unwrap();
    let (_db_dir, db) = temp_db("left-out");
    let (ok, _, stderr) =
        docent(&["index", site.to_str().unwrap(), "--db", db.to_str().unwrap()], "");
    assert!(ok, "{stderr}");
    assert!(stderr.contains("indexed 1 pages (0 unchanged, 2 skipped, 0 failed)"), "{stderr}");
    let listed: Vec<&str> = stderr.lines().filter(|l| l.starts_with("skipped: ")).collect();
    assert_eq!(listed.len(), 2, "{stderr}");
    assert!(listed[0].ends_with("/picture.html (no text content)"), "{stderr}");
    assert!(listed[1].contains("/private.html ("), "{stderr}");
    assert!(listed[1].contains("noindex"), "{stderr}");
}

#[test]
fn usage_errors_are_clear() {
    let (ok, _, stderr) = docent(&["index"], "");
    assert!(!ok);
    assert!(stderr.contains("index takes one directory or URL"), "{stderr}");
    let (ok, _, stderr) = docent(&["search", "--db", "/nonexistent/x.db", "--jsonl"], "");
    assert!(!ok);
    assert!(stderr.contains("does not exist"), "{stderr}");
    let (ok, _, stderr) = docent(&["index", ".", "--db", "x.db", "--max-pages", "lots"], "");
    assert!(!ok);
    assert!(stderr.contains("--max-pages must be a whole number"), "{stderr}");
}

#[test]
fn robots_check_answers_one_line_per_input_in_order() {
    let robots = "User-agent: *\nDisallow: /private/\nAllow: /private/public.html\n\nUser-agent: DocentBot\nDisallow: /bots-only-no/\n";
    let line = |agent: &str, url: &str| {
        serde_json::json!({"robots": robots, "agent": agent, "url": url}).to_string()
    };
    let input = [
        line("OtherBot", "https://d.test/private/x.html"),
        line("OtherBot", "https://d.test/private/public.html"),
        line("DocentBot/0.1", "https://d.test/private/x.html"),
        line("DocentBot", "https://d.test/bots-only-no/page?q=1"),
        line("OtherBot", "https://d.test/robots.txt"),
    ]
    .join("\n");
    let (ok, stdout, stderr) = docent(&["robots", "check", "--jsonl"], &input);
    assert!(ok, "{stderr}");
    let decisions: Vec<bool> = stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["allowed"].as_bool().unwrap()
        })
        .collect();
    assert_eq!(decisions, [false, true, true, false, true]);
    // A line it cannot use gets an error of its own, and the lines after it are still answered.
    let input = [
        "{\"robots\": \"\"}".to_string(),
        line("OtherBot", ""),
        "not json".to_string(),
        line("OtherBot", "https://d.test/private/x.html"),
    ]
    .join("\n");
    let (ok, stdout, stderr) = docent(&["robots", "check", "--jsonl"], &input);
    assert!(ok, "{stderr}");
    let replies: Vec<serde_json::Value> =
        stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(replies.len(), 4, "{stdout}");
    assert!(replies[0]["error"].as_str().unwrap().contains("`agent`"), "{stdout}");
    assert!(replies[1]["error"].as_str().unwrap().contains("url"), "{stdout}");
    assert!(replies[2]["error"].as_str().unwrap().starts_with("line 3"), "{stdout}");
    assert_eq!(replies[3], serde_json::json!({"allowed": false}));
}
