//! What an answer reads besides search, on SQLite and on Postgres: whole pages of chunks (to quote
//! a section whole) and how many chunks hold each of a question's words (to weigh the evidence).

mod common;

use common::{index_fixture_site, store, test_databases};
use docent_core::retrieval::search::query_terms;
use docent_store::api::DocumentStore;

#[test]
fn page_chunks_are_the_whole_page_in_order() {
    for location in test_databases("page_chunks") {
        let store = store(&location);
        index_fixture_site(&store);
        pollster::block_on(async {
            let hits = store.lexical_search(&query_terms("upgrade harbor"), None, 5).await.unwrap();
            assert!(hits.len() >= 2, "{location}: {hits:?}");
            let ids: Vec<String> = hits.iter().map(|h| h.chunk_id.clone()).collect();
            let mut asked = ids.clone();
            asked.push("no-such-chunk".into());
            let pages = store.page_chunks(&asked, 1000).await.unwrap();
            assert_eq!(pages.len(), asked.len());
            assert!(pages.last().unwrap().chunks.is_empty(), "an unknown id has no page");
            for (hit, page) in hits.iter().zip(&pages) {
                let page_url = hit.url.split('#').next().unwrap();
                assert!(
                    page.chunks.iter().any(|c| c.chunk_id == hit.chunk_id),
                    "{location}: {hit:?}"
                );
                assert!(page.chunks.iter().all(|c| c.url.split('#').next() == Some(page_url)));
                // In page order: the page's first chunk is ordinal 0 (ids end in their ordinal).
                let ordinals: Vec<u64> = page
                    .chunks
                    .iter()
                    .map(|c| c.chunk_id.rsplit(['#', '-', ':']).next().unwrap().parse().unwrap())
                    .collect();
                let mut sorted = ordinals.clone();
                sorted.sort();
                assert_eq!(ordinals, sorted, "{location}");
                let first = store.page_chunks(&ids[..1], 1).await.unwrap();
                assert_eq!(first[0].chunks.len(), 1, "the limit holds");
            }
        });
    }
}

#[test]
fn term_counts_say_how_many_chunks_hold_each_word() {
    for location in test_databases("term_counts") {
        let store = store(&location);
        index_fixture_site(&store);
        pollster::block_on(async {
            let total = store.counts().await.unwrap().chunks;
            let terms: Vec<String> =
                ["harbor", "upgrade", "zzqxj", "\"\""].iter().map(|t| t.to_string()).collect();
            let counts = store.term_counts(&terms).await.unwrap();
            assert_eq!(counts.chunks, total, "{location}");
            assert_eq!(counts.per_term.len(), terms.len());
            // Every chunk lexical search finds for a word is counted, and no more than exist.
            for (i, term) in terms.iter().enumerate().take(2) {
                let found = store.lexical_search(std::slice::from_ref(term), None, 1000).await;
                let found = found.unwrap().len() as u64;
                assert!(found > 0, "{location}: the fixture mentions {term}");
                assert_eq!(counts.per_term[i], found, "{location}: {term}");
            }
            assert_eq!(counts.per_term[2], 0, "a word no page holds");
            assert_eq!(counts.per_term[3], 0, "nothing searchable");
            assert_eq!(store.term_counts(&[]).await.unwrap().per_term, Vec::<u64>::new());
        });
    }
}
