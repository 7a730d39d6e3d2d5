//! What only the Postgres store does, on a real Postgres with pgvector (the pipeline and ticket
//! suites run on both stores): hybrid search fused inside the database, the HNSW index serving
//! vector queries, and the crawl task table claimed by concurrent drainers with `FOR UPDATE SKIP
//! LOCKED`.

mod common;

use std::collections::HashSet;

use common::{
    fresh_postgres_database, index_fixture_site, open, store, test_databases, Database,
    StoppedClock,
};
use docent_core::domain::{CrawlMessage, Priority};
use docent_core::ports::{CrawlQueue, Row, SqlDatabase, SqlDialect, Statement};
use docent_core::retrieval::embed::{builtin_embed, BUILTIN_MODEL};
use docent_core::retrieval::search::{query_terms, reciprocal_rank_fusion, SearchHit};
use docent_store::api::{DocumentStore, FusedQuery, VectorStore};
use docent_store::tasks::TaskQueue;
use docent_store::SqlStore;

/// The store with the fixture site indexed (built-in embeddings stored with every chunk).
fn indexed(location: &str) -> SqlStore<Database> {
    let store = store(location);
    index_fixture_site(&store);
    store
}

/// The fusion the retrieve function does when the store cannot: both rankings, then RRF in Rust.
async fn fused_in_rust(store: &SqlStore<Database>, query: &FusedQuery<'_>) -> Vec<SearchHit> {
    let lexical =
        store.lexical_search(query.terms, query.url_prefix, query.candidates).await.unwrap();
    let nearest =
        store.nearest(query.model, query.vector, query.url_prefix, query.candidates).await.unwrap();
    let ids: Vec<String> = nearest.iter().map(|(id, _)| id.clone()).collect();
    let vector = if lexical.is_empty() { vec![] } else { store.chunks_by_id(&ids).await.unwrap() };
    reciprocal_rank_fusion(vec![(lexical, query.weights.0), (vector, query.weights.1)])
}

/// (chunk id, score to 1e-9) in rank order, ties by id: both sides break ties the same way.
fn ranking(hits: &[SearchHit]) -> Vec<(String, i64)> {
    let mut ranked: Vec<(String, i64)> =
        hits.iter().map(|h| (h.chunk_id.clone(), (h.score * 1e9).round() as i64)).collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked
}

#[test]
fn postgres_fuses_hybrid_search_in_one_statement_exactly_as_the_functions_do() {
    for location in test_databases("fused") {
        let store = indexed(&location);
        let postgres = store.database().dialect() == SqlDialect::Postgres;
        pollster::block_on(async {
            for (question, prefix) in [
                ("database is locked error", None),
                ("how do I upgrade harbor", None),
                ("schedule jobs with timeouts", Some("file:///")),
                ("configure the data directory", None),
                ("zzzz qqqq", None),
            ] {
                let terms = query_terms(question);
                let vector = builtin_embed(question);
                let query = FusedQuery {
                    terms: &terms,
                    model: BUILTIN_MODEL,
                    vector: &vector,
                    url_prefix: prefix,
                    candidates: 9,
                    weights: (1.0, 0.7),
                };
                if !postgres {
                    assert!(!store.fuses_in_database(), "SQLite leaves fusion to the functions");
                    assert!(store.fused_search(&query).await.is_err());
                    continue;
                }
                assert!(store.fuses_in_database(), "Postgres fuses in the database");
                let in_store = store.fused_search(&query).await.unwrap();
                let expected = fused_in_rust(&store, &query).await;
                assert_eq!(ranking(&in_store), ranking(&expected), "{question}");
                if question.starts_with("zzzz") {
                    assert!(in_store.is_empty(), "no lexical footing, no hybrid results");
                } else {
                    assert!(in_store.len() > 3, "{question}: {in_store:?}");
                }
            }
        });
    }
}

#[test]
fn vector_queries_can_use_the_models_hnsw_index() {
    let Some(location) = fresh_postgres_database("hnsw") else { return };
    let store = indexed(&location);
    pollster::block_on(async {
        let db = store.database();
        // Written without it (a load keeps no index current); built when asked, once.
        let hnsw_indexes = || async {
            db.query(&Statement::new(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'chunk_vectors' AND indexname LIKE 'chunk_vectors_hnsw_%'",
                vec![],
            ))
            .await
            .unwrap()
            .len()
        };
        assert_eq!(hnsw_indexes().await, 0);
        store.index_vectors(BUILTIN_MODEL).await.unwrap();
        store.index_vectors(BUILTIN_MODEL).await.unwrap();
        assert_eq!(hnsw_indexes().await, 1);
        store.index_vectors("a-model-with-no-vectors").await.unwrap();
        assert_eq!(hnsw_indexes().await, 1, "no vectors, no dimension, no index");
        let vector = builtin_embed("database is locked");
        let literal =
            format!("[{}]", vector.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(","));
        // The fixture is tiny, so the planner would rather scan and sort; forbidding both shows
        // whether the index applies to the store's query shape (expression, operator and partial
        // predicate).
        db.batch(&[
            Statement::new("SET enable_seqscan = off", vec![]),
            Statement::new("SET enable_bitmapscan = off", vec![]),
            Statement::new("SET enable_sort = off", vec![]),
        ])
        .await
        .unwrap();
        let plan = db
            .query(&Statement::new(
                format!(
                    "EXPLAIN SELECT chunk_id FROM chunk_vectors WHERE model = '{BUILTIN_MODEL}'
                     ORDER BY embedding::vector({dims}) <#> '{literal}'::vector({dims}) LIMIT 5",
                    dims = vector.len()
                ),
                vec![],
            ))
            .await
            .unwrap();
        let plan: Vec<String> =
            plan.iter().filter_map(|row| row.first()?.as_str().map(str::to_string)).collect();
        assert!(
            plan.iter().any(|line| line.contains("Index Scan using chunk_vectors_hnsw_")),
            "{plan:#?}"
        );
        // Through the index, the store's own query finds what an exact comparison with every vector
        // finds.
        let nearest = store.nearest(BUILTIN_MODEL, &vector, None, 3).await.unwrap();
        let ids: Vec<String> = db
            .query(&Statement::new("SELECT chunk_id FROM chunk_vectors", vec![]))
            .await
            .unwrap()
            .iter()
            .map(|row| row[0].as_str().unwrap().to_string())
            .collect();
        let mut exact = store.similarities(BUILTIN_MODEL, &vector, &ids).await.unwrap();
        exact.sort_by(|a, b| b.1.total_cmp(&a.1));
        let top = |list: &[(String, f32)]| {
            list.iter().take(3).map(|(id, _)| id.clone()).collect::<Vec<_>>()
        };
        assert!(ids.len() > 10, "{ids:?}");
        assert_eq!(top(&nearest), top(&exact));
    });
}

#[test]
fn concurrent_drainers_on_postgres_never_claim_the_same_task() {
    let Some(location) = fresh_postgres_database("skip_locked") else { return };
    // The schema, then 300 tasks in all four tiers.
    drop(store(&location));
    let sender = TaskQueue::new(open(&location), StoppedClock);
    let messages: Vec<CrawlMessage> = (0..300)
        .map(|i| CrawlMessage::new("job", &format!("https://d.test/{i}"), 0, Priority::ALL[i % 4]))
        .collect();
    pollster::block_on(sender.send_batch(&messages)).unwrap();
    // Four drainers on their own connections claim small batches as fast as they can.
    let drainers: Vec<_> = (0..4)
        .map(|_| {
            let location = location.clone();
            std::thread::spawn(move || {
                let queue = TaskQueue::new(open(&location), StoppedClock);
                let mut claimed = Vec::new();
                pollster::block_on(async {
                    loop {
                        let tasks = queue.claim(3, 60_000).await.unwrap();
                        if tasks.is_empty() {
                            break;
                        }
                        for task in tasks {
                            claimed.push(task.message.url.clone());
                            assert!(queue.ack(&task).await.unwrap(), "the lease is ours");
                        }
                    }
                });
                claimed
            })
        })
        .collect();
    let claims: Vec<Vec<String>> = drainers.into_iter().map(|d| d.join().unwrap()).collect();
    let all: Vec<&String> = claims.iter().flatten().collect();
    let distinct: HashSet<&String> = all.iter().copied().collect();
    assert_eq!(
        all.len(),
        300,
        "every task delivered once: {:?}",
        claims.iter().map(Vec::len).collect::<Vec<_>>()
    );
    assert_eq!(distinct.len(), 300, "no task claimed twice");
    assert!(claims.iter().filter(|c| !c.is_empty()).count() >= 2, "the drainers ran side by side");
}

/// Per-client request counts are exact under concurrency: eight connections counting at once
/// (threads, each with its own connection, as isolates would) lose no increment.
#[test]
fn request_counts_lose_nothing_under_concurrency_and_expire() {
    use docent_store::api::RateStore;
    for location in test_databases("rate_counts") {
        let store = store(&location);
        let count = |counter: &str, window: u64| {
            pollster::block_on(store.count_request(counter, window, window + 60_000)).unwrap()
        };
        assert_eq!((count("search:1.2.3.4", 0), count("search:1.2.3.4", 0)), (1, 2), "{location}");
        assert_eq!(count("search:5.6.7.8", 0), 1, "another client, another budget");
        assert_eq!(count("chat:1.2.3.4", 0), 1, "another limit, another budget");
        assert_eq!(count("search:1.2.3.4", 60_000), 1, "a new window starts at one");
        let returned: Vec<u64> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        let own = common::store(&location);
                        (0..25)
                            .map(|_| {
                                pollster::block_on(own.count_request("busy", 0, 60_000)).unwrap()
                            })
                            .collect::<Vec<u64>>()
                    })
                })
                .collect();
            threads.into_iter().flat_map(|t| t.join().unwrap()).collect()
        });
        let mut sorted = returned.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (1..=200).collect::<Vec<u64>>(), "{location}: each count once");
        pollster::block_on(store.forget_expired_counts(60_001)).unwrap();
        assert_eq!(count("busy", 0), 1, "{location}: the expired window was forgotten");
        assert_eq!(count("search:1.2.3.4", 60_000), 2, "{location}: the live window was kept");
    }
}

/// Metric deltas flushed by many instances at once add up exactly, histograms included, and the
/// crawl gauges count queued URLs by their job's priority.
#[test]
fn metric_flushes_add_up_under_concurrency() {
    use docent_core::ops::metrics::{
        exposition, MetricsBuffer, Totals, HTTP_DURATION, HTTP_REQUESTS,
    };
    use docent_store::api::{CrawlStore, MetricsStore};
    for location in test_databases("metrics") {
        let store = store(&location);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    let own = common::store(&location);
                    for _ in 0..20 {
                        let mut buffer = MetricsBuffer::default();
                        buffer.count(&HTTP_REQUESTS, &["/api/search", "GET", "200"], 1.0);
                        buffer.observe(&HTTP_DURATION, &["/api/search"], 0.02);
                        // Forty series: two statements in one batch.
                        for i in 0..40 {
                            buffer.count(&HTTP_REQUESTS, &[&format!("/r{i}"), "GET", "200"], 0.5);
                        }
                        pollster::block_on(own.add_metrics(&buffer.take())).unwrap();
                    }
                });
            }
        });
        let totals = Totals::from_rows(pollster::block_on(store.metric_totals()).unwrap());
        assert_eq!(
            totals.counter(&HTTP_REQUESTS, &["/api/search", "GET", "200"]),
            80.0,
            "{location}"
        );
        assert_eq!(totals.counter(&HTTP_REQUESTS, &["/r39", "GET", "200"]), 40.0, "{location}");
        let latency = totals.histogram_where(&HTTP_DURATION, |_, _| true);
        assert_eq!(latency.count(), 80.0, "{location}");
        assert!((latency.sum - 1.6).abs() < 1e-9, "{location}: {}", latency.sum);
        assert!(exposition(&totals, &[]).contains(
            "docent_http_request_duration_seconds_bucket{route=\"/api/search\",le=\"0.025\"} 80\n"
        ));

        let job = docent_core::domain::NewCrawlJob {
            id: "metrics-job".into(),
            start_url: "https://docs.example.com/".into(),
            max_pages: 5,
            max_depth: 1,
            include: vec![],
            exclude: vec![],
            priority: Priority::High,
        };
        let start =
            CrawlMessage::new("metrics-job", "https://docs.example.com/", 0, Priority::High);
        pollster::block_on(store.create_job(&job, &start, 0)).unwrap();
        let gauges = pollster::block_on(store.crawl_gauges()).unwrap();
        assert_eq!(gauges.backlog, vec![("high".to_string(), 1)], "{location}");
        assert_eq!(gauges.jobs, vec![("queued".to_string(), 1)], "{location}");
        assert_eq!(gauges.dead_letters, 0, "{location}");
    }
}

/// Declined questions are one row per question, however it is spaced or capitalised, most asked
/// first.
#[test]
fn declined_questions_are_counted_once_per_question() {
    use docent_store::api::AnswerStore;
    for location in test_databases("declined") {
        let store = store(&location);
        for (question, at) in [
            ("How do I run Harbor on  Kubernetes?", 1_000),
            ("Is there a Windows installer?", 2_000),
            ("how do I run harbor on kubernetes?", 3_000),
        ] {
            pollster::block_on(store.record_declined(question, at)).unwrap();
        }
        let gaps = pollster::block_on(store.declined_questions(10)).unwrap();
        let seen: Vec<(&str, u64)> = gaps.iter().map(|g| (g.question.as_str(), g.times)).collect();
        assert_eq!(
            seen,
            [("how do I run harbor on kubernetes?", 2), ("Is there a Windows installer?", 1)],
            "{location}"
        );
        assert_eq!(gaps[0].last_at, "1970-01-01T00:00:03.000Z", "{location}");
    }
}

/// The store counts what it sends its database: a query is one round trip and one statement, a
/// batch one round trip and each of its statements; taking the counts resets them.
#[test]
fn the_store_counts_round_trips_and_statements() {
    use docent_store::api::{CrawlStore, MetricsStore};
    for location in test_databases("sql_counts") {
        let store = store(&location);
        let _ = store.take_sql_counts();
        pollster::block_on(store.job("no-such-job")).unwrap();
        let one_query = store.take_sql_counts();
        assert_eq!((one_query.round_trips, one_query.statements), (1, 1), "{location}");
        // Forty series are two upserts in one batch.
        let mut buffer = docent_core::ops::metrics::MetricsBuffer::default();
        for i in 0..40 {
            let route = format!("/r{i}");
            buffer.count(&docent_core::ops::metrics::HTTP_REQUESTS, &[&route, "GET", "200"], 1.0);
        }
        pollster::block_on(store.add_metrics(&buffer.take())).unwrap();
        let batch = store.take_sql_counts();
        assert_eq!((batch.round_trips, batch.statements), (1, 2), "{location}");
        assert_eq!(store.take_sql_counts(), docent_store::SqlCounts::default());
    }
}

/// A page `key` of `chunks` sections of about `words` words each, every chunk with its built-in
/// embedding.
fn page_of(key: &str, chunks: usize, words: usize) -> docent_core::domain::IndexedDocument {
    use docent_core::domain::{ChunkVector, IndexedChunk};
    let url = format!("https://docs.example/{key}.html");
    let chunks = (0..chunks)
        .map(|i| {
            let text = format!("section {i} of {key}: ") + &"harbor keeps a log ".repeat(words / 4);
            IndexedChunk {
                id: format!("{key}-{i}"),
                ordinal: i,
                url: format!("{url}#s{i}"),
                heading: format!("Section {i}"),
                vector: Some(ChunkVector {
                    model: BUILTIN_MODEL.into(),
                    values: builtin_embed(&text),
                }),
                text,
            }
        })
        .collect();
    common::document(&url, &url, chunks)
}

/// A page is written in one round trip of the same few statements however many chunks it has
/// (its chunks and their vectors travel as JSON arrays, not a statement each: D1 counts every
/// statement against an invocation's limit), a page too large for one array takes a statement
/// more, and every chunk and vector arrives, in page order.
#[test]
fn a_pages_write_costs_statements_by_size_not_by_chunk_count() {
    use docent_store::api::MetricsStore;
    for location in test_databases("page_write") {
        let store = store(&location);
        let write = |doc: &docent_core::domain::IndexedDocument| {
            let _ = store.take_sql_counts();
            pollster::block_on(store.upsert_document(doc)).unwrap();
            store.take_sql_counts()
        };
        let small = write(&page_of("small", 3, 40));
        let many = write(&page_of("many", 200, 40));
        assert_eq!(small.round_trips, 1, "{location}");
        assert_eq!(many, small, "{location}");
        // About 800 KB of text: two arrays of chunks (and of vectors in Postgres's text form).
        let large = write(&page_of("large", 400, 400));
        assert_eq!(large.round_trips, 1, "{location}");
        assert!(
            (small.statements + 1..=small.statements + 2).contains(&large.statements),
            "{location}: {large:?}"
        );
        // Rewriting a page replaces its chunks.
        assert_eq!(write(&page_of("many", 200, 40)), small, "{location}");

        let counts = pollster::block_on(store.counts()).unwrap();
        assert_eq!((counts.documents, counts.chunks), (3, 603), "{location}");
        assert_eq!(pollster::block_on(store.vector_count(BUILTIN_MODEL)).unwrap(), 603);
        for (key, chunks) in [("many", 200), ("large", 400)] {
            let sections =
                pollster::block_on(store.page_chunks(&[format!("{key}-7")], 1_000)).unwrap();
            let ids: Vec<String> =
                sections[0].chunks.iter().map(|hit| hit.chunk_id.clone()).collect();
            let expected: Vec<String> = (0..chunks).map(|i| format!("{key}-{i}")).collect();
            assert_eq!(ids, expected, "{location}");
            assert_eq!(sections[0].resumes_at, None);
            let last = &sections[0].chunks[chunks - 1];
            assert!(last.text.starts_with(&format!("section {} of {key}: harbor", chunks - 1)));
        }
        // A chunk beyond the page's first `per_page`: those, then as many from half as many
        // before it, reading resuming after the ones left out.
        let sections = pollster::block_on(store.page_chunks(&["many-150".into()], 20)).unwrap();
        let ids: Vec<String> = sections[0].chunks.iter().map(|hit| hit.chunk_id.clone()).collect();
        let expected: Vec<String> = (0..20).chain(140..160).map(|i| format!("many-{i}")).collect();
        assert_eq!((ids, sections[0].resumes_at), (expected, Some(20)), "{location}");
        // Near enough to the first, it is read with them in one run.
        let sections = pollster::block_on(store.page_chunks(&["many-25".into()], 20)).unwrap();
        let ids: Vec<String> = sections[0].chunks.iter().map(|hit| hit.chunk_id.clone()).collect();
        let expected: Vec<String> = (0..35).map(|i| format!("many-{i}")).collect();
        assert_eq!((ids, sections[0].resumes_at), (expected, None), "{location}");
        // Each vector is its own chunk's.
        let last = &page_of("large", 400, 400).chunks[399];
        let query = last.vector.as_ref().unwrap().values.clone();
        let similar = pollster::block_on(store.similarities(
            BUILTIN_MODEL,
            &query,
            &["large-399".to_string(), "small-0".to_string()],
        ))
        .unwrap();
        let own = similar.iter().find(|(id, _)| id == "large-399").unwrap().1;
        assert!(own > 0.99, "{location}: {similar:?}");
    }
}

/// Without a URL prefix the full-text index ranks alone and only the best are joined to their
/// chunks; with one every match is. Both rank alike: a prefix that every page has changes nothing,
/// and one that only some pages have keeps exactly theirs, in the same order.
#[test]
fn lexical_search_ranks_alike_with_and_without_a_prefix() {
    for location in test_databases("lexical_prefix") {
        let store = indexed(&location);
        for query in ["database is locked", "upgrade harbor", "configure logs port"] {
            let terms = query_terms(query);
            let search = |prefix: Option<&str>, limit| {
                pollster::block_on(store.lexical_search(&terms, prefix, limit)).unwrap()
            };
            let all = search(None, 50);
            assert!(all.len() > 2, "{location}: {query}");
            let site = all[0].url.split("/site/").next().unwrap().to_string() + "/site/";
            assert_eq!(ranking(&search(Some(&site), 50)), ranking(&all), "{location}: {query}");
            assert_eq!(ranking(&search(None, 2)), ranking(&all[..2]), "{location}: {query}");
            let first_page = all[0].url.split('#').next().unwrap().to_string();
            let on_page: Vec<SearchHit> =
                all.iter().filter(|hit| hit.url.starts_with(&first_page)).cloned().collect();
            assert_eq!(ranking(&search(Some(&first_page), 50)), ranking(&on_page), "{location}");
        }
    }
}

/// A page of one chunk, `https://docs.example/{key}.html`, its chunk `{key}-0`.
fn one_chunk_page(key: &str, heading: &str, text: &str) -> docent_core::domain::IndexedDocument {
    let url = format!("https://docs.example/{key}.html");
    let chunk = docent_core::domain::IndexedChunk {
        id: format!("{key}-0"),
        ordinal: 0,
        url: url.clone(),
        heading: heading.into(),
        vector: None,
        text: text.into(),
    };
    common::document(&url, &url, vec![chunk])
}

/// A name written with underscores is searched as its words side by side on both stores (FTS5
/// reads it as a quoted phrase; Postgres's parser splits it into lexemes, which then count only
/// where they stand together): a page that has `work` and `mem` apart does not match `work_mem`.
#[test]
fn a_snake_case_name_matches_only_where_its_words_stand_together() {
    for location in test_databases("phrase") {
        let store = store(&location);
        let page = |key: &str, text: &str| one_chunk_page(key, "Memory", text);
        let named = page("named", "Raise `work_mem` when sorts spill to disk.");
        let apart = page(
            "apart",
            "Mem is short for memory; work is what the workers do, and work waits on mem.",
        );
        for document in [named, apart] {
            pollster::block_on(store.upsert_document(&document)).unwrap();
        }
        let hits =
            pollster::block_on(store.lexical_search(&query_terms("work_mem"), None, 10)).unwrap();
        let found: Vec<&str> = hits.iter().map(|hit| hit.chunk_id.as_str()).collect();
        assert_eq!(found, ["named-0"], "{location}");
        // The words asked apart still find both.
        let hits =
            pollster::block_on(store.lexical_search(&query_terms("work mem"), None, 10)).unwrap();
        assert_eq!(hits.len(), 2, "{location}");
    }
}

/// A dotted name in a page's text is its words on both stores: Postgres's parser read
/// `sqlalchemy.orm.synonym_for` as one host name, and `orm.synonym_for` never found its definition.
#[test]
fn a_dotted_name_in_the_text_is_found_by_its_words() {
    for location in test_databases("dotted") {
        let store = store(&location);
        let page = one_chunk_page(
            "mapping",
            "Class Mapping API",
            "function `sqlalchemy.orm.synonym_for`(name, map_column=False): a decorator that \
             produces a synonym attribute, see /usr/share/doc/README or version 1.4.2.",
        );
        pollster::block_on(store.upsert_document(&page)).unwrap();
        for query in ["orm.synonym_for", "usr share doc", "version 1.4.2"] {
            let hits =
                pollster::block_on(store.lexical_search(&query_terms(query), None, 10)).unwrap();
            let found: Vec<&str> = hits.iter().map(|hit| hit.chunk_id.as_str()).collect();
            assert_eq!(found, ["mapping-0"], "{query} on {location}");
        }
    }
}

/// A chunk that holds the rare word asked about is ranked above chunks whose page titles repeat a
/// common one on both stores: Postgres picks its candidates for the exact BM25 by `ts_rank`, whose
/// own field weights (title ten times the body) filled them with SQLAlchemy's "ORM …" pages.
#[test]
fn a_rare_word_in_the_body_outranks_a_common_word_in_many_titles() {
    for location in test_databases("rare_body") {
        let store = store(&location);
        // More pages titled with the word than Postgres's 300 candidates, and others without it
        // (a word in every chunk has no weight at all).
        for i in 0..720 {
            let heading = if i < 320 { "ORM sessions" } else { "Sessions" };
            let mut page = one_chunk_page(
                &format!("page{i}"),
                heading,
                "How sessions keep track of the objects loaded through them.",
            );
            if i < 320 {
                page.title = format!("ORM guide: the ORM, part {i}");
            }
            pollster::block_on(store.upsert_document(&page)).unwrap();
        }
        let defining = one_chunk_page(
            "mapping",
            "Class Mapping API",
            "The synonym_for decorator produces a synonym for a mapped attribute of the orm.",
        );
        pollster::block_on(store.upsert_document(&defining)).unwrap();
        let hits =
            pollster::block_on(store.lexical_search(&query_terms("orm synonym_for"), None, 10))
                .unwrap();
        assert_eq!(hits.first().map(|hit| hit.chunk_id.as_str()), Some("mapping-0"), "{location}");
    }
}

/// BM25 reads a chunk's length as its text's, on both stores: Postgres counted the distinct
/// lexemes of its `tsvector`, so a chunk that repeats a few words hundreds of times was as short as
/// a line, and outranked the line that says the word asked about.
#[test]
fn a_chunk_that_repeats_its_words_is_long() {
    for location in test_databases("repeats") {
        let store = store(&location);
        let repeated = format!("The kernel {}", "data rows ".repeat(200));
        let long = one_chunk_page("long", "Listing", &repeated);
        let short = one_chunk_page(
            "short",
            "Overview",
            "The kernel schedules every process and answers each system call it is given.",
        );
        for document in [long, short] {
            pollster::block_on(store.upsert_document(&document)).unwrap();
        }
        let hits =
            pollster::block_on(store.lexical_search(&query_terms("kernel"), None, 10)).unwrap();
        let found: Vec<&str> = hits.iter().map(|hit| hit.chunk_id.as_str()).collect();
        assert_eq!(found, ["short-0", "long-0"], "{location}");
    }
}

/// A search among the chunks that write a text verbatim reaches the one a common word's ranking
/// leaves far down (an option's letter, `x`, is in every page about coordinates), on both stores,
/// with and without a URL prefix; case counts (`-X` is another option).
#[test]
fn a_search_containing_a_text_reaches_past_a_common_words_ranking() {
    for location in test_databases("containing") {
        let store = store(&location);
        let page = |key: &str, text: &str| one_chunk_page(key, "Reference", text);
        let mut pages: Vec<_> = (0..12)
            .map(|i| page(&format!("plot{i}"), "Plot x against y: x is the axis, x the data."))
            .collect();
        pages.push(page(
            "options",
            "The command line options of the program, and what each of them is for when it \
             starts, are listed here in full.\n\n`-x`\n\nEcho commands as they are executed.",
        ));
        pages.push(page("upper", "`-X` selects the experimental mode of the program."));
        for document in &pages {
            pollster::block_on(store.upsert_document(document)).unwrap();
        }
        let terms = vec!["x".to_string()];
        let ids = |hits: Vec<SearchHit>| -> Vec<String> {
            hits.into_iter().map(|hit| hit.chunk_id).collect()
        };
        let ranked = pollster::block_on(store.lexical_search(&terms, None, 5)).unwrap();
        assert!(!ids(ranked).contains(&"options-0".to_string()), "{location}");
        let option = ["`-x".to_string()];
        for prefix in [None, Some("https://docs.example/"), Some("https://docs.example/options")] {
            let found =
                pollster::block_on(store.lexical_search_containing(&terms, &option, prefix, 5));
            assert_eq!(ids(found.unwrap()), ["options-0"], "{location} {prefix:?}");
        }
        // Any one of several spellings will do; each text is held verbatim or not at all.
        let spellings = ["`-x`,".to_string(), "`-x`\n".to_string()];
        for prefix in [None, Some("https://docs.example/")] {
            let found =
                pollster::block_on(store.lexical_search_containing(&terms, &spellings, prefix, 5));
            assert_eq!(ids(found.unwrap()), ["options-0"], "{location} {prefix:?}");
        }
        let absent = ["`-x`,".to_string(), "`-x` ".to_string()];
        let found = pollster::block_on(store.lexical_search_containing(&terms, &absent, None, 5));
        assert!(found.unwrap().is_empty(), "{location}");
        // With other words too, a chunk scores as the whole query's ranking scores it.
        let terms = vec!["x".to_string(), "commands".to_string()];
        let ranked = pollster::block_on(store.lexical_search(&terms, None, 50)).unwrap();
        let found =
            pollster::block_on(store.lexical_search_containing(&terms, &option, None, 5)).unwrap();
        assert_eq!(ids(found.clone()), ["options-0"], "{location}");
        let same = ranked.iter().find(|hit| hit.chunk_id == "options-0").unwrap();
        assert!((same.score - found[0].score).abs() < 1e-9, "{location}: {same:?} {found:?}");
        let elsewhere = Some("https://docs.example/plot");
        let found =
            pollster::block_on(store.lexical_search_containing(&terms, &option, elsewhere, 5));
        assert!(found.unwrap().is_empty(), "{location}");
    }
}

/// Texts of several words that end where a word does are found as phrases first (a manual's name
/// is in every chunk, with "is" and "a"): the chunks that hold one verbatim, on both stores, and
/// each scored as the query's words alone score it.
#[test]
fn a_search_containing_a_sentences_opening_finds_the_chunks_that_hold_it() {
    for location in test_databases("phrases") {
        let store = store(&location);
        let page = |key: &str, text: &str| one_chunk_page(key, "Manual", text);
        let mut pages: Vec<_> = (0..12)
            .map(|i| page(&format!("api{i}"), "Python is used here, and this is a function."))
            .collect();
        pages.push(page("tutorial", "Python is an easy to learn, powerful language."));
        pages.push(page("embedding", "CPython is an interpreter written in C."));
        pages.push(page("compare", "Python is the language; a snake is not."));
        for document in &pages {
            pollster::block_on(store.upsert_document(document)).unwrap();
        }
        let terms = vec!["python".to_string()];
        let texts: Vec<String> =
            ["a", "an", "the"].iter().map(|article| format!("Python is {article} ")).collect();
        let found =
            pollster::block_on(store.lexical_search_containing(&terms, &texts, None, 10)).unwrap();
        let mut ids: Vec<String> = found.iter().map(|hit| hit.chunk_id.clone()).collect();
        ids.sort();
        assert_eq!(ids, ["compare-0", "tutorial-0"], "{location}");
        let ranked = pollster::block_on(store.lexical_search(&terms, None, 50)).unwrap();
        for hit in &found {
            let same = ranked.iter().find(|r| r.chunk_id == hit.chunk_id).unwrap();
            assert!((same.score - hit.score).abs() < 1e-9, "{location}: {same:?} {hit:?}");
        }
    }
}

/// The scores of a search's candidates are one statement however many there are, and each
/// known chunk gets its own vector's score (unknown ids are left out).
#[test]
fn candidate_similarities_are_one_statement() {
    use docent_store::api::MetricsStore;
    for location in test_databases("similarities") {
        let store = store(&location);
        pollster::block_on(store.upsert_document(&page_of("many", 150, 8))).unwrap();
        let query = builtin_embed("section 120 of many");
        let mut ids: Vec<String> = (0..150).map(|i| format!("many-{i}")).collect();
        ids.push("no-such-chunk".into());
        let _ = store.take_sql_counts();
        let scored = pollster::block_on(store.similarities(BUILTIN_MODEL, &query, &ids)).unwrap();
        assert_eq!(store.take_sql_counts().statements, 1, "{location}");
        assert_eq!(scored.len(), 150, "{location}");
        for (id, score) in &scored {
            let one = pollster::block_on(store.similarities(
                BUILTIN_MODEL,
                &query,
                std::slice::from_ref(id),
            ));
            assert_eq!(one.unwrap(), vec![(id.clone(), *score)], "{location}");
        }
        let other_model = pollster::block_on(store.similarities("another-model", &query, &ids));
        assert!(other_model.unwrap().is_empty(), "{location}");
    }
}

/// What SQLite plans for each statement the store sends it, recorded as the statement runs.
struct PlanRecorder {
    db: Database,
    plans: std::cell::RefCell<Vec<(String, String)>>,
}

impl SqlDatabase for PlanRecorder {
    async fn query(&self, statement: &Statement) -> docent_core::ports::PortResult<Vec<Row>> {
        let explain = Statement::new(
            format!("EXPLAIN QUERY PLAN {}", statement.sql),
            statement.params.clone(),
        );
        let plan: Vec<String> = self
            .db
            .query(&explain)
            .await?
            .iter()
            .filter_map(|row| row.last()?.as_str().map(str::to_string))
            .collect();
        self.plans.borrow_mut().push((statement.sql.clone(), plan.join("; ")));
        self.db.query(statement).await
    }
    async fn batch(&self, statements: &[Statement]) -> docent_core::ports::PortResult<Vec<u64>> {
        self.db.batch(statements).await
    }
}

/// SQLite keeps no statistics here, so its planner guesses from the statement's shape: given a
/// hundred chunk ids and a model, it took the model's index and read every vector (4 ms a hybrid
/// search on the PostgreSQL manual, where the ids' own index takes 0.2). The statements a search
/// sends with a list of ids look each one up.
#[test]
fn search_statements_on_sqlite_look_chunks_up_by_id() {
    let mut databases = test_databases("plans");
    let location = databases.next().unwrap();
    let writer = store(&location);
    pollster::block_on(writer.upsert_document(&page_of("many", 300, 8))).unwrap();
    let store = SqlStore::new(PlanRecorder { db: open(&location), plans: Default::default() });
    let ids: Vec<String> = (0..100).map(|i| format!("many-{}", i * 3)).collect();
    let query = builtin_embed("harbor keeps a log");
    pollster::block_on(async {
        store.similarities(BUILTIN_MODEL, &query, &ids).await.unwrap();
        store.chunks_by_id(&ids[..90]).await.unwrap();
        store.page_chunks(&ids[..90], 120).await.unwrap();
    });
    let plans = store.database().plans.borrow();
    assert_eq!(plans.len(), 3);
    for (sql, plan) in plans.iter() {
        assert!(!plan.contains("chunk_vectors_model"), "{sql}\n{plan}");
        // A scan is of the list of ids alone.
        let scans = plan.split("; ").filter(|step| step.starts_with("SCAN"));
        assert!(scans.clone().all(|step| step.starts_with("SCAN json_each")), "{sql}\n{plan}");
    }
}

/// A real model's vectors share a direction, so their signs about 0 barely differ; the first
/// pass of a vector search, by sign bits, must still keep each query's nearest neighbour. Vectors
/// stored before centres existed are found once `centre_vectors` has centred them.
#[test]
fn nearest_keeps_the_closest_of_vectors_that_share_a_direction() {
    use docent_core::domain::{ChunkVector, IndexedChunk};
    use docent_core::retrieval::embed::QuantizedVector;
    const MODEL: &str = "a-real-model";
    // 600 vectors of 32 dimensions: a common part ten times their own.
    let mut seed = 20261205u64;
    let mut noise = move || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((seed >> 33) as f32 / (1u64 << 31) as f32) - 0.5
    };
    let vectors: Vec<Vec<f32>> = (0..600)
        .map(|_| {
            let v: Vec<f32> = (0..32).map(|_| 1.0 + 0.2 * noise()).collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter().map(|x| x / norm).collect()
        })
        .collect();
    let mut databases = test_databases("centres");
    let location = databases.next().unwrap();
    let writer = store(&location);
    for page in 0..12 {
        let url = format!("https://docs.example/{page}.html");
        let chunks = (0..50)
            .map(|i| IndexedChunk {
                id: format!("{page}-{i}"),
                ordinal: i,
                url: format!("{url}#{i}"),
                heading: String::new(),
                text: format!("chunk {i}"),
                vector: Some(ChunkVector {
                    model: MODEL.into(),
                    values: vectors[page * 50 + i].clone(),
                }),
            })
            .collect();
        pollster::block_on(writer.upsert_document(&common::document(&url, &url, chunks))).unwrap();
    }
    // Each query is one stored vector, slightly moved; the search keeps 100 of the 600 by bits.
    let finds_its_own = |store: &SqlStore<Database>| {
        (0..40)
            .filter(|q| {
                let query: Vec<f32> = vectors[q * 15].iter().map(|x| x + 0.001).collect();
                let nearest = pollster::block_on(store.nearest(MODEL, &query, None, 1)).unwrap();
                nearest.first().map(|(id, _)| id.as_str())
                    == Some(&format!("{}-{}", q * 15 / 50, q * 15 % 50))
            })
            .count()
    };
    assert_eq!(finds_its_own(&writer), 40);

    // The same index as a store before centres wrote it: signs about 0, no centre.
    let db = writer.database();
    let rows = pollster::block_on(
        db.query(&Statement::new("SELECT rowid, int8 FROM chunk_vectors", vec![])),
    )
    .unwrap();
    let raw: Vec<Statement> = rows
        .iter()
        .map(|row| {
            let values = QuantizedVector::decode_values(row[1].as_str().unwrap()).unwrap();
            let bits = QuantizedVector::new(&values).encode().0;
            Statement::new(
                "UPDATE chunk_vectors SET bits = ?2 WHERE rowid = ?1",
                vec![row[0].as_u64().unwrap().into(), bits.into()],
            )
        })
        .collect();
    pollster::block_on(db.batch(&raw)).unwrap();
    pollster::block_on(db.query(&Statement::new("DELETE FROM vector_centres", vec![]))).unwrap();
    let legacy = store(&location);
    assert!(finds_its_own(&legacy) < 20, "signs about 0 lose most neighbours");
    assert_eq!(
        pollster::block_on(legacy.centre_vectors()).unwrap(),
        vec![(MODEL.to_string(), 600)]
    );
    assert_eq!(finds_its_own(&store(&location)), 40);
    assert!(pollster::block_on(legacy.centre_vectors()).unwrap().is_empty(), "once");
    // Writes after that take the stored centre.
    pollster::block_on(legacy.put_vectors(
        "https://docs.example/0.html",
        &[("0-0".into(), ChunkVector { model: MODEL.into(), values: vectors[0].clone() })],
    ))
    .unwrap();
    assert_eq!(finds_its_own(&store(&location)), 40);
}

/// Each page counts the other pages whose links point to it: once however often one page links it,
/// never its own links, and a link to a page not indexed counts nowhere. Counting again changes
/// nothing; after pages are written with other links the counts follow, and searches read them.
/// Once there are ten pages, a link from 80 % of them or more is the site's template: it counts
/// nothing.
#[test]
fn each_page_counts_the_other_pages_that_link_to_it() {
    for location in test_databases("inlinks") {
        let store = store(&location);
        let url = |key: &str| format!("https://docs.example/{key}.html");
        let write = |key: &str, targets: &[&str]| {
            let mut page = page_of(key, 1, 8);
            page.links = targets.iter().map(|t| url(t)).collect();
            pollster::block_on(store.upsert_document(&page)).unwrap();
        };
        let count = || pollster::block_on(store.count_inlinks()).unwrap();
        let inlinks = || -> Vec<(String, u32)> {
            let hits =
                pollster::block_on(store.lexical_search(&query_terms("harbor"), None, 50)).unwrap();
            let mut counts: Vec<(String, u32)> =
                hits.into_iter().map(|h| (h.chunk_id, h.page.inlinks)).collect();
            counts.sort();
            counts
        };
        let expect = |pairs: &[(&str, u32)]| -> Vec<(String, u32)> {
            pairs.iter().map(|(k, n)| (format!("{k}-0"), *n)).collect()
        };
        write("a", &["hub", "hub", "a", "missing"]);
        write("b", &["hub", "a"]);
        write("hub", &["a"]);
        assert_eq!(count(), 2, "{location}: a and hub");
        assert_eq!(inlinks(), expect(&[("a", 2), ("b", 0), ("hub", 2)]), "{location}");
        assert_eq!(count(), 0, "{location}: nothing changed");

        write("a", &["b"]);
        write("b", &[]);
        assert_eq!(
            inlinks(),
            expect(&[("a", 2), ("b", 0), ("hub", 2)]),
            "{location}: until counted"
        );
        assert_eq!(count(), 3, "{location}");
        assert_eq!(inlinks(), expect(&[("a", 1), ("b", 1), ("hub", 0)]), "{location}");

        // Ten pages more, each linking the hub and two of them b: the hub is on 10 of 13 pages
        // (77 %), then on 11 of 14 (79 %), then 12 of 15 (80 %): the template's from there.
        for i in 0..10 {
            write(&format!("p{i}"), if i < 2 { &["hub", "b"] } else { &["hub"] });
        }
        count();
        let of =
            |key: &str| inlinks().into_iter().find(|(id, _)| *id == format!("{key}-0")).unwrap().1;
        assert_eq!((of("hub"), of("b")), (10, 3), "{location}");
        write("p10", &["hub"]);
        count();
        assert_eq!(of("hub"), 11, "{location}");
        write("p11", &["hub"]);
        count();
        assert_eq!((of("hub"), of("b")), (0, 3), "{location}: a template link");
    }
}
