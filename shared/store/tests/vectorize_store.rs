//! The Vectorize store's bookkeeping on real SQLite, against an in-memory stand-in for the index.
//!
//! Vectorize has no local simulator, so `MemoryIndex` models only what its documentation states and
//! what these tests need: upserts replace by id, deletes by id, queries within a namespace, `$eq`
//! and `$gte`/`$lt` filters compared against the first 64 bytes of string metadata, cosine scores,
//! and the batch limits (asserted on every call). It says nothing about Vectorize's latency or
//! consistency beyond the one lag the tests switch on: deletes that have not been applied yet.

mod common;

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use common::TestDir;
use docent_core::domain::{
    ChunkVector, IndexedChunk, IndexedDocument, NewCrawlJob, Priority, UrlOutcome, UrlState,
};
use docent_core::ports::{PortError, PortResult, SqlDatabase, Statement};
use docent_sqlite::Sqlite;
use docent_store::api::{CrawlStore, DocumentStore, Findings, VectorStore};
use docent_store::vectorize::store::{VectorizeIndex, VectorizeStore};
use docent_store::vectorize::{
    IndexedVector, QueryPlan, INDEXED_STRING_BYTES, MAX_DELETE_BATCH, MAX_GET_BATCH, MAX_TOP_K,
    MAX_UPSERT_BATCH,
};
use docent_store::SqlStore;
use serde_json::Value;

const MODEL: &str = "@cf/baai/bge-base-en-v1.5";
const DIMENSIONS: u32 = 3;

#[derive(Default)]
struct MemoryIndex {
    vectors: RefCell<BTreeMap<String, IndexedVector>>,
    upsert_sizes: RefCell<Vec<usize>>,
    deleted: RefCell<Vec<String>>,
    fail_upserts: Cell<bool>,
    fail_deletes: Cell<bool>,
    /// Deletes are acknowledged but not applied (Vectorize applies mutations a few seconds later).
    lag_deletes: Cell<bool>,
    get_sizes: RefCell<Vec<usize>>,
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (norm(a) * norm(b))
}

/// The first 64 bytes of a string, as a string metadata index holds it.
fn indexed(value: &str) -> &str {
    let mut end = value.len().min(INDEXED_STRING_BYTES);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

fn matches_filter(vector: &IndexedVector, filter: &Value) -> bool {
    let metadata = serde_json::to_value(&vector.metadata).unwrap();
    filter.as_object().unwrap().iter().all(|(property, condition)| {
        let Some(value) = metadata.get(property).and_then(Value::as_str).map(indexed) else {
            return false;
        };
        condition.as_object().unwrap().iter().all(|(op, bound)| {
            let bound = bound.as_str().unwrap();
            match op.as_str() {
                "$eq" => value == bound,
                "$gte" => value >= bound,
                "$lt" => value < bound,
                other => panic!("operator {other} not modelled"),
            }
        })
    })
}

impl VectorizeIndex for MemoryIndex {
    async fn upsert(&self, vectors: &[IndexedVector]) -> PortResult<()> {
        assert!(
            !vectors.is_empty() && vectors.len() <= MAX_UPSERT_BATCH,
            "upsert of {}",
            vectors.len()
        );
        if self.fail_upserts.get() {
            return Err(PortError::transient("upsert failed"));
        }
        self.upsert_sizes.borrow_mut().push(vectors.len());
        for vector in vectors {
            assert!(
                vector.id.len() <= 64 && vector.namespace.as_ref().is_none_or(|n| n.len() <= 64)
            );
            self.vectors.borrow_mut().insert(vector.id.clone(), vector.clone());
        }
        Ok(())
    }

    async fn query(&self, vector: &[f32], plan: &QueryPlan) -> PortResult<Vec<(String, f32)>> {
        assert!(plan.top_k >= 1 && plan.top_k <= MAX_TOP_K);
        let mut scored: Vec<(String, f32)> = self
            .vectors
            .borrow()
            .values()
            .filter(|v| plan.namespace.is_none() || v.namespace == plan.namespace)
            .filter(|v| matches_filter(v, &plan.filter))
            .map(|v| (v.id.clone(), cosine(vector, &v.values)))
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        scored.truncate(plan.top_k as usize);
        Ok(scored)
    }

    async fn get_by_ids(&self, ids: &[String]) -> PortResult<Vec<(String, Vec<f32>)>> {
        assert!(ids.len() <= MAX_GET_BATCH);
        self.get_sizes.borrow_mut().push(ids.len());
        let vectors = self.vectors.borrow();
        Ok(ids
            .iter()
            .filter_map(|id| vectors.get(id).map(|v| (id.clone(), v.values.clone())))
            .collect())
    }

    async fn delete_by_ids(&self, ids: &[String]) -> PortResult<()> {
        assert!(ids.len() <= MAX_DELETE_BATCH);
        if self.fail_deletes.get() {
            return Err(PortError::transient("deleteByIds failed"));
        }
        self.deleted.borrow_mut().extend(ids.iter().cloned());
        if !self.lag_deletes.get() {
            for id in ids {
                self.vectors.borrow_mut().remove(id);
            }
        }
        Ok(())
    }

    async fn dimensions(&self) -> PortResult<u32> {
        Ok(DIMENSIONS)
    }
}

impl MemoryIndex {
    fn ids(&self) -> Vec<String> {
        self.vectors.borrow().keys().cloned().collect()
    }
    fn values(&self, id: &str) -> Vec<f32> {
        self.vectors.borrow()[id].values.clone()
    }
}

/// A store on a fresh SQLite file for the test `name`, with its directory (removed when dropped).
fn open(name: &str, index: Option<MemoryIndex>) -> (TestDir, VectorizeStore<Sqlite, MemoryIndex>) {
    let dir = TestDir::new(&format!("vectorize-{name}"));
    let store =
        VectorizeStore::new(SqlStore::new(Sqlite::open(&dir.join("index.db")).unwrap()), index);
    pollster::block_on(store.ensure_schema()).unwrap();
    (dir, store)
}

fn index_of(store: &VectorizeStore<Sqlite, MemoryIndex>) -> &MemoryIndex {
    store.index().expect("opened with an index")
}

/// A page at `url` (key `key`) of `content` version, with one chunk per vector.
fn page(key: &str, url: &str, content: &str, vectors: &[[f32; 3]]) -> IndexedDocument {
    let chunks = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| IndexedChunk {
            id: format!("{key}-{i}"),
            ordinal: i,
            url: format!("{url}#s{i}"),
            heading: format!("Section {i}"),
            text: format!("{content} text {i}"),
            vector: Some(ChunkVector { model: MODEL.into(), values: v.to_vec() }),
        })
        .collect();
    IndexedDocument {
        content_hash: format!("hash-{content}"),
        ..common::document(key, url, chunks)
    }
}

async fn ledger_rows(store: &VectorizeStore<Sqlite, MemoryIndex>) -> Vec<(String, i64)> {
    let rows = store
        .sql()
        .database()
        .query(&Statement::new(
            "SELECT vector_id, stored FROM vectorize_vectors ORDER BY vector_id",
            vec![],
        ))
        .await
        .unwrap();
    rows.iter().map(|r| (r[0].as_str().unwrap().to_string(), r[1].as_i64().unwrap())).collect()
}

fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

#[test]
fn vectors_go_to_the_index_and_the_ledger_not_to_sql() {
    pollster::block_on(async {
        let (_dir, store) = open("write", Some(MemoryIndex::default()));
        store
            .upsert_document(&page(
                "k",
                "https://docs.example.com/guide/a",
                "v1",
                &[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
            ))
            .await
            .unwrap();
        assert_eq!(index_of(&store).ids(), strings(&["k-0", "k-1"]));
        assert_eq!(
            ledger_rows(&store).await,
            vec![("k-0".into(), 1), ("k-1".into(), 1)],
            "recorded and confirmed"
        );
        assert_eq!(store.vector_count(MODEL).await.unwrap(), 2);
        assert_eq!(store.sql().vector_count(MODEL).await.unwrap(), 0, "no quantised copy in SQL");
        assert!(store.chunks_without_vectors("k", MODEL).await.unwrap().is_empty());
        let stored = index_of(&store).vectors.borrow()["k-1"].clone();
        assert_eq!(stored.namespace.as_deref(), Some("docs.example.com"));
        assert_eq!(
            (
                stored.metadata.url_key.as_str(),
                stored.metadata.url.as_str(),
                stored.metadata.model.as_str()
            ),
            ("k", "https://docs.example.com/guide/a#s1", MODEL)
        );
        // Another model's vectors do not count for this one.
        assert_eq!(store.chunks_without_vectors("k", "other-model").await.unwrap().len(), 2);
    });
}

#[test]
fn rewriting_a_page_with_fewer_chunks_deletes_the_vectors_it_lost() {
    pollster::block_on(async {
        let (_dir, store) = open("rewrite", Some(MemoryIndex::default()));
        store
            .upsert_document(&page(
                "k",
                "https://a.com/p",
                "v1",
                &[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            ))
            .await
            .unwrap();
        store
            .upsert_document(&page("k", "https://a.com/p", "v2", &[[0.5, 0.5, 0.0]]))
            .await
            .unwrap();
        let index = index_of(&store);
        assert_eq!(index.ids(), strings(&["k-0"]));
        assert_eq!(
            index.values("k-0"),
            vec![0.5, 0.5, 0.0],
            "the surviving id holds the new content's vector"
        );
        assert_eq!(*index.deleted.borrow(), strings(&["k-1", "k-2"]));
        assert_eq!(ledger_rows(&store).await, vec![("k-0".into(), 1)]);
        assert_eq!(store.vector_count(MODEL).await.unwrap(), 1);
    });
}

#[test]
fn deleting_a_page_deletes_its_vectors_and_a_failed_delete_is_swept_later() {
    pollster::block_on(async {
        let (_dir, store) = open("delete", Some(MemoryIndex::default()));
        store
            .upsert_document(&page(
                "a",
                "https://a.com/a",
                "v1",
                &[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
            ))
            .await
            .unwrap();
        store
            .upsert_document(&page("b", "https://a.com/b", "v1", &[[0.0, 0.0, 1.0]]))
            .await
            .unwrap();
        assert!(store.delete_document("a").await.unwrap());
        assert_eq!(index_of(&store).ids(), strings(&["b-0"]));
        assert_eq!(ledger_rows(&store).await, vec![("b-0".into(), 1)]);

        // Vectorize is unreachable when the page goes: the page is gone from SQL, the error is
        // reported, and the ledger still names the vector.
        index_of(&store).fail_deletes.set(true);
        assert!(store.delete_document("b").await.unwrap_err().transient);
        assert!(store.sql().document_meta("b").await.unwrap().is_none());
        assert_eq!(index_of(&store).ids(), strings(&["b-0"]));
        assert_eq!(ledger_rows(&store).await, vec![("b-0".into(), 1)]);
        // The queue's retry deletes nothing more from SQL but finishes the sweep...
        index_of(&store).fail_deletes.set(false);
        assert!(!store.delete_document("b").await.unwrap());
        assert!(index_of(&store).ids().is_empty());
        assert!(ledger_rows(&store).await.is_empty());
        // ...and the cron sweep finds nothing left.
        assert_eq!(store.delete_orphan_vectors(1_000).await.unwrap(), 0);
    });
}

#[test]
fn the_cron_sweep_deletes_orphans_in_batches_up_to_its_budget() {
    pollster::block_on(async {
        let (_dir, store) = open("sweep", Some(MemoryIndex::default()));
        let vectors = vec![[1.0, 0.0, 0.0]; 1_200];
        store.upsert_document(&page("k", "https://a.com/p", "v1", &vectors)).await.unwrap();
        assert_eq!(*index_of(&store).upsert_sizes.borrow(), vec![1_000, 200]);
        index_of(&store).fail_deletes.set(true);
        assert!(store.delete_document("k").await.is_err());
        index_of(&store).fail_deletes.set(false);
        assert_eq!(store.delete_orphan_vectors(1_100).await.unwrap(), 1_100, "stops at the budget");
        assert_eq!(index_of(&store).ids().len(), 100);
        assert_eq!(store.delete_orphan_vectors(1_000).await.unwrap(), 100);
        assert!(index_of(&store).ids().is_empty() && ledger_rows(&store).await.is_empty());
    });
}

#[test]
fn upserts_are_split_into_batches_the_binding_accepts() {
    pollster::block_on(async {
        let (_dir, store) = open("batches", Some(MemoryIndex::default()));
        let vectors = vec![[0.0, 1.0, 0.0]; 2_500];
        store.upsert_document(&page("k", "https://a.com/p", "v1", &vectors)).await.unwrap();
        assert_eq!(*index_of(&store).upsert_sizes.borrow(), vec![1_000, 1_000, 500]);
        assert_eq!(store.vector_count(MODEL).await.unwrap(), 2_500);
    });
}

#[test]
fn pruning_unseen_pages_deletes_their_vectors() {
    pollster::block_on(async {
        let (_dir, store) = open("prune", Some(MemoryIndex::default()));
        store
            .upsert_document(&page("seen", "https://a.com/docs/seen", "v1", &[[1.0, 0.0, 0.0]]))
            .await
            .unwrap();
        store
            .upsert_document(&page(
                "gone",
                "https://a.com/docs/gone",
                "v1",
                &[[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            ))
            .await
            .unwrap();
        let job = NewCrawlJob {
            id: "recrawl".into(),
            start_url: "https://a.com/docs/".into(),
            priority: Priority::default(),
            max_pages: 100,
            max_depth: 5,
            include: vec![],
            exclude: vec![],
        };
        let start = docent_core::domain::CrawlMessage::new(
            "recrawl",
            "https://a.com/docs/",
            0,
            Priority::default(),
        );
        store.create_job(&job, &start, 2_000).await.unwrap();
        store.mark_job_running("recrawl", 2_000).await.unwrap();
        let outcome = UrlOutcome { state: UrlState::Indexed, fetched: true, detail: None };
        let findings = Findings { seen_document: Some("seen"), truncated: false };
        store.finish_url(&start, &outcome, findings, 2_000).await.unwrap();
        assert_eq!(store.prune_unseen("recrawl", "https://a.com/docs/").await.unwrap(), 1);
        assert_eq!(index_of(&store).ids(), strings(&["seen-0"]));
        assert_eq!(ledger_rows(&store).await, vec![("seen-0".into(), 1)]);
    });
}

#[test]
fn a_failed_upsert_leaves_the_chunks_for_the_backfill() {
    pollster::block_on(async {
        let (_dir, store) = open("backfill", Some(MemoryIndex::default()));
        index_of(&store).fail_upserts.set(true);
        let document = page("k", "https://a.com/p", "v1", &[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]);
        assert!(store.upsert_document(&document).await.unwrap_err().transient);
        // The page is in SQL; its vectors are recorded as unconfirmed, so they do not count.
        assert_eq!(store.counts().await.unwrap().chunks, 2);
        assert_eq!(ledger_rows(&store).await, vec![("k-0".into(), 0), ("k-1".into(), 0)]);
        assert_eq!(store.vector_count(MODEL).await.unwrap(), 0);
        let missing = store.chunks_without_vectors("k", MODEL).await.unwrap();
        assert_eq!(missing.iter().map(|m| m.0.as_str()).collect::<Vec<_>>(), ["k-0", "k-1"]);
        // The retried message finds the page unchanged and backfills what is missing.
        index_of(&store).fail_upserts.set(false);
        let vectors: Vec<(String, ChunkVector)> =
            document.chunks.iter().map(|c| (c.id.clone(), c.vector.clone().unwrap())).collect();
        store.put_vectors("k", &vectors).await.unwrap();
        assert_eq!(ledger_rows(&store).await, vec![("k-0".into(), 1), ("k-1".into(), 1)]);
        assert_eq!(store.vector_count(MODEL).await.unwrap(), 2);
        assert!(store.chunks_without_vectors("k", MODEL).await.unwrap().is_empty());
    });
}

#[test]
fn vectors_of_an_older_version_of_a_page_count_as_missing() {
    pollster::block_on(async {
        let (_dir, store) = open("stale", Some(MemoryIndex::default()));
        store
            .upsert_document(&page("k", "https://a.com/p", "v1", &[[1.0, 0.0, 0.0]]))
            .await
            .unwrap();
        // The new version is written but its vectors never reach the index.
        index_of(&store).fail_upserts.set(true);
        assert!(store
            .upsert_document(&page("k", "https://a.com/p", "v2", &[[0.0, 1.0, 0.0]]))
            .await
            .is_err());
        assert_eq!(
            store.chunks_without_vectors("k", MODEL).await.unwrap().len(),
            1,
            "k-0 still holds v1's vector"
        );
        assert_eq!(store.vector_count(MODEL).await.unwrap(), 0);
        // The retried message's backfill writes the new version's vector over the old one.
        index_of(&store).fail_upserts.set(false);
        let vectors = vec![(
            "k-0".to_string(),
            ChunkVector { model: MODEL.into(), values: vec![0.0, 1.0, 0.0] },
        )];
        store.put_vectors("k", &vectors).await.unwrap();
        assert_eq!(index_of(&store).values("k-0"), vec![0.0, 1.0, 0.0]);
        assert_eq!(store.vector_count(MODEL).await.unwrap(), 1);
    });
}

#[test]
fn vectors_for_chunks_that_are_gone_are_not_written() {
    pollster::block_on(async {
        let (_dir, store) = open("gone", Some(MemoryIndex::default()));
        store
            .upsert_document(&page("k", "https://a.com/p", "v1", &[[1.0, 0.0, 0.0]]))
            .await
            .unwrap();
        // A backfill computed for a chunk the page no longer has (it was rewritten meanwhile).
        let late = vec![(
            "k-7".to_string(),
            ChunkVector { model: MODEL.into(), values: vec![0.0, 1.0, 0.0] },
        )];
        store.put_vectors("k", &late).await.unwrap();
        assert_eq!(index_of(&store).ids(), strings(&["k-0"]));
        store.put_vectors("nowhere", &late).await.unwrap();
        assert_eq!(index_of(&store).ids(), strings(&["k-0"]));
    });
}

#[test]
fn search_drops_hits_whose_chunk_is_gone_and_checks_prefixes_exactly() {
    pollster::block_on(async {
        let (_dir, store) = open("search", Some(MemoryIndex::default()));
        let long_dir = format!("https://a.com/{}/", "d".repeat(70));
        store
            .upsert_document(&page("in", &format!("{long_dir}in"), "v1", &[[1.0, 0.0, 0.0]]))
            .await
            .unwrap();
        // Shares the first 64 bytes with the prefix below, so the index's filter lets it through.
        store
            .upsert_document(&page(
                "near",
                &format!("https://a.com/{}x/near", "d".repeat(70)),
                "v1",
                &[[0.9, 0.1, 0.0]],
            ))
            .await
            .unwrap();
        store
            .upsert_document(&page("other", "https://b.com/docs/other", "v1", &[[0.8, 0.2, 0.0]]))
            .await
            .unwrap();
        store
            .upsert_document(&page("old", "https://a.com/old", "v1", &[[0.95, 0.05, 0.0]]))
            .await
            .unwrap();
        // Vectorize has not applied the delete yet: the index still answers with the old page's
        // vector.
        index_of(&store).lag_deletes.set(true);
        store.delete_document("old").await.unwrap();
        assert!(index_of(&store).ids().contains(&"old-0".to_string()));

        let query = [1.0, 0.0, 0.0];
        let everything: Vec<String> = store
            .nearest(MODEL, &query, None, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(
            everything,
            ["in-0", "near-0", "other-0"],
            "the deleted page's vector is dropped"
        );
        let within: Vec<String> = store
            .nearest(MODEL, &query, Some(&long_dir), 10)
            .await
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(within, ["in-0"], "exact prefix, past the 64 bytes the index filters on");
        let site: Vec<String> = store
            .nearest(MODEL, &query, Some("https://b.com/"), 10)
            .await
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(site, ["other-0"], "the host's namespace");
        assert_eq!(store.nearest(MODEL, &query, None, 1).await.unwrap().len(), 1);
        assert!(
            store.nearest("other-model", &query, None, 10).await.unwrap().is_empty(),
            "the model filter"
        );
        let (_, score) = store.nearest(MODEL, &query, None, 1).await.unwrap()[0].clone();
        assert!((score - 1.0).abs() < 1e-6);
    });
}

#[test]
fn similarities_read_stored_vectors_back_in_batches() {
    pollster::block_on(async {
        let (_dir, store) = open("similarities", Some(MemoryIndex::default()));
        store
            .upsert_document(&page("k", "https://a.com/p", "v1", &vec![[0.0, 1.0, 0.0]; 45]))
            .await
            .unwrap();
        let mut ids: Vec<String> = (0..45).map(|i| format!("k-{i}")).collect();
        ids.push("unknown".into());
        let scored = store.similarities(MODEL, &[0.0, 2.0, 0.0], &ids).await.unwrap();
        assert_eq!(scored.len(), 45, "unknown chunks are left out");
        assert!(scored.iter().all(|(_, s)| (s - 1.0).abs() < 1e-6));
        assert_eq!(*index_of(&store).get_sizes.borrow(), vec![20, 20, 5]);
    });
}

#[test]
fn a_model_that_does_not_fit_the_index_is_refused_before_anything_is_written() {
    pollster::block_on(async {
        let (_dir, store) = open("dimensions", Some(MemoryIndex::default()));
        let mut document = page("k", "https://a.com/p", "v1", &[[1.0, 0.0, 0.0]]);
        document.chunks[0].vector.as_mut().unwrap().values = vec![1.0; 5];
        let error = store.upsert_document(&document).await.unwrap_err();
        assert!(!error.transient && error.message.contains("--dimensions=5"), "{error:?}");
        assert!(index_of(&store).ids().is_empty() && ledger_rows(&store).await.is_empty());
    });
}

#[test]
fn without_an_index_it_is_the_sql_store() {
    pollster::block_on(async {
        let (_dir, store) = open("sql", None);
        store
            .upsert_document(&page(
                "k",
                "https://a.com/p",
                "v1",
                &[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
            ))
            .await
            .unwrap();
        assert_eq!(store.vector_count(MODEL).await.unwrap(), 2);
        assert_eq!(store.sql().vector_count(MODEL).await.unwrap(), 2);
        let nearest = store.nearest(MODEL, &[1.0, 0.0, 0.0], None, 1).await.unwrap();
        assert_eq!(nearest[0].0, "k-0");
        let ledger = store
            .sql()
            .database()
            .query(&Statement::new(
                "SELECT name FROM sqlite_master WHERE name = 'vectorize_vectors'",
                vec![],
            ))
            .await
            .unwrap();
        assert!(ledger.is_empty(), "no ledger without an index");
        assert_eq!(store.delete_orphan_vectors(100).await.unwrap(), 0);
    });
}
