//! Answers over a real manual: the PostgreSQL 15 documentation as Debian packages it
//! (`postgresql-doc-15`, which the test command fetches and names in
//! `DOCENT_TEST_POSTGRES_MANUAL`), indexed and asked with the `docent` command, with no model.

mod common;

use std::path::PathBuf;

use docent_cli::testing::TestDir;

/// The command's stdout; it must succeed.
fn docent(args: &[&str], stdin: &str) -> String {
    let (ok, stdout, stderr) = common::docent(args, stdin);
    assert!(ok, "{stderr}");
    stdout
}

/// The quoted prose passages of an answer (code blocks and tables left out: a table is quoted by
/// whole rows).
fn quoted_prose(answer: &str) -> Vec<String> {
    let mut passages = Vec::new();
    let (mut current, mut fence) = (Vec::new(), false);
    for line in answer.lines().chain([""]) {
        if let Some(body) = line.strip_prefix('>') {
            let body = body.trim_start();
            if body.starts_with("```") {
                fence = !fence;
                continue;
            }
            if !fence && !body.is_empty() && !body.starts_with('|') {
                current.push(body.to_string());
                continue;
            }
            if fence {
                continue;
            }
        }
        if !current.is_empty() {
            passages.push(current.join(" "));
            current.clear();
        }
    }
    passages
}

#[test]
fn the_postgresql_manual_answers_with_whole_sections_and_declines_what_it_does_not_cover() {
    let Some(manual) = std::env::var_os("DOCENT_TEST_POSTGRES_MANUAL").map(PathBuf::from) else {
        eprintln!("skipped: DOCENT_TEST_POSTGRES_MANUAL is not set (the test command sets it)");
        return;
    };
    let dir = TestDir::new("pg-manual");
    let db = dir.join("manual.db");
    let db = db.to_str().unwrap();
    docent(&["index", manual.to_str().unwrap(), "--db", db], "");

    let questions = [
        "How do I create a partial index?",
        "How can I make a column auto-increment?",
        "What is the difference between json and jsonb?",
        "How do I configure a Kubernetes ingress controller?",
        "How do I see which queries are running right now?",
    ];
    let input: String =
        questions.iter().map(|q| format!("{}\n", serde_json::json!({ "q": q }))).collect();
    let replies: Vec<serde_json::Value> = docent(&["ask", "--db", db, "--jsonl"], &input)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(replies.len(), questions.len());
    let answer = |i: usize| replies[i]["answer"].as_str().unwrap_or_default().to_string();
    let first_source =
        |i: usize| replies[i]["sources"][0]["url"].as_str().unwrap_or_default().to_string();

    // The section on partial indexes, with the command its sentence introduces.
    assert!(first_source(0).contains("/indexes-partial.html"), "{}", replies[0]);
    assert!(answer(0).contains("> CREATE INDEX") && answer(0).contains("WHERE"), "{}", answer(0));
    // Serial types (and the identity columns the section points to).
    let auto = answer(1).to_lowercase();
    assert!(auto.contains("serial") && auto.contains("identity"), "{}", answer(1));
    // The section that compares the two types, not a table of functions.
    assert!(first_source(2).contains("/datatype-json.html"), "{}", replies[2]);
    assert!(
        answer(2).contains("The major practical difference is one of efficiency."),
        "{}",
        answer(2)
    );
    // Another product: declined, with the nearest pages.
    assert_eq!(replies[3]["mode"], "no_evidence", "{}", replies[3]);
    assert!(answer(3).starts_with("I could not find"), "{}", answer(3));
    // The statistics views, the table's first row the one that shows each session's query.
    assert!(first_source(4).contains("/monitoring-stats.html"), "{}", replies[4]);
    assert!(answer(4).contains("| pg_stat_activity | One row per server process"), "{}", answer(4));

    for (i, reply) in replies.iter().enumerate().filter(|(i, _)| *i != 3) {
        assert_eq!(reply["mode"], "extractive");
        for passage in quoted_prose(&answer(i)) {
            let end = passage.trim_end().chars().last().unwrap();
            assert!(".!?:)\"'”’`".contains(end), "a quote cut mid-sentence: {passage}");
        }
        let sources = reply["sources"].as_array().unwrap();
        assert!(
            sources.iter().all(|s| !s["url"].as_str().unwrap().contains("/bookindex.html")),
            "the back-of-book index is never a source: {reply}"
        );
    }
}
