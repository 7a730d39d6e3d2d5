//! The SQL store with its chunk vectors in a Vectorize index.
//!
//! Documents, chunks, crawl state, tickets and answers stay in the SQL database (D1); only the
//! vectors move to the index. Vectorize has no transactions and applies writes a few seconds later,
//! so the SQL database keeps a ledger, `vectorize_vectors`: one row per vector id that may exist in
//! the index, with its chunk, the content hash of the page it was made from and whether the upsert
//! was confirmed.
//!
//! - *Writes* record the ids first (`stored = 0`), upsert, then mark them stored, so a failure
//!   between the two leaves a row that says "maybe": the chunk still counts as lacking a vector and
//!   is embedded again by the crawl's backfill, and its id is still known for deletion.
//! - *The deletion hook*: every store call that can remove chunks (`upsert_document` of a rewritten
//!   page, `delete_document`, `prune_unseen`) is followed by a sweep of the page's ledger rows (or
//!   all rows, for a prune) whose chunk no longer exists: `deleteByIds`, then the rows. A sweep
//!   that fails leaves the rows for the next one; the Worker's cron runs
//!   [`VectorizeStore::delete_orphan_vectors`].
//! - *Search* maps the index's matches back through the ledger joined with `chunks`, so a vector
//!   whose chunk is gone (a delete not yet applied by Vectorize, or a sweep still pending) is
//!   dropped, and a URL prefix is checked exactly (the index filters on the first 64 bytes of a URL
//!   only).
//!
//! Without an index this is exactly the SQL store.

use crate::api::{DocumentStore, IndexCounts, VectorStore};
use crate::rows::{decode, from_row, single_int, Columns, FromRow};
use crate::vectorize::{
    self, IndexedVector, QueryPlan, MAX_DELETE_BATCH, MAX_GET_BATCH, MAX_UPSERT_BATCH,
};
use crate::vectors::UnembeddedChunk;
use crate::SqlStore;
use docent_core::domain::{ChunkVector, DocumentMeta, IndexedDocument};
use docent_core::ports::{PortError, PortResult, Row, SqlDatabase, Statement};
use docent_core::retrieval::answer::{PageChunks, TermCounts};
use docent_core::retrieval::search::SearchHit;

/// A Vectorize index, as the Worker's binding offers it. Every call is one request to the index.
pub trait VectorizeIndex {
    /// At most [`MAX_UPSERT_BATCH`] vectors.
    async fn upsert(&self, vectors: &[IndexedVector]) -> PortResult<()>;
    /// `(vector id, score)`, best first.
    async fn query(&self, vector: &[f32], plan: &QueryPlan) -> PortResult<Vec<(String, f32)>>;
    /// At most [`MAX_GET_BATCH`] ids; unknown ids are left out.
    async fn get_by_ids(&self, ids: &[String]) -> PortResult<Vec<(String, Vec<f32>)>>;
    /// At most [`MAX_DELETE_BATCH`] ids; unknown ids are ignored.
    async fn delete_by_ids(&self, ids: &[String]) -> PortResult<()>;
    /// The index's dimensions (`describe`).
    async fn dimensions(&self) -> PortResult<u32>;
}

/// The ledger, created idempotently next to the store's own schema.
pub const LEDGER_SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS vectorize_vectors (
        vector_id TEXT PRIMARY KEY,
        chunk_id TEXT NOT NULL,
        url_key TEXT NOT NULL,
        model TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        stored INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX IF NOT EXISTS vectorize_vectors_document ON vectorize_vectors (url_key)",
    "CREATE INDEX IF NOT EXISTS vectorize_vectors_chunk ON vectorize_vectors (chunk_id)",
];

/// Ids passed to one statement as a JSON array, one bound parameter read with `json_each`: D1 binds
/// at most 100 parameters, but a 1,000-id array is some 45 KB, well below its 1 MB value limit, and
/// every statement saved is a query saved from the invocation's budget (D1 limits).
const IDS_PER_STATEMENT: usize = MAX_DELETE_BATCH;
/// Ledger statements per D1 batch.
const STATEMENTS_PER_BATCH: usize = 50;
/// Orphans deleted per call of [`VectorizeStore::delete_orphan_vectors`] after a prune.
const ORPHANS_PER_PRUNE: usize = 10 * MAX_DELETE_BATCH;

/// A ledger row is an orphan once its chunk is gone (the page was rewritten with fewer chunks,
/// removed or pruned).
const ORPHAN: &str = "NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = vectorize_vectors.chunk_id)";

pub struct VectorizeStore<D, I> {
    sql: SqlStore<D>,
    index: Option<I>,
}

impl<D: SqlDatabase, I: VectorizeIndex> VectorizeStore<D, I> {
    /// The SQL store alone (`index: None`) or with its vectors in `index`.
    pub fn new(sql: SqlStore<D>, index: Option<I>) -> Self {
        VectorizeStore { sql, index }
    }

    pub fn sql(&self) -> &SqlStore<D> {
        &self.sql
    }

    pub fn index(&self) -> Option<&I> {
        self.index.as_ref()
    }

    /// The store's schema and, with an index, the ledger.
    pub async fn ensure_schema(&self) -> PortResult<()> {
        self.sql.ensure_schema().await?;
        if self.index.is_some() {
            let statements: Vec<Statement> =
                LEDGER_SCHEMA.iter().map(|sql| Statement::new(*sql, vec![])).collect();
            self.sql.database().batch(&statements).await?;
        }
        Ok(())
    }

    /// The SQL store's database, counted with the store's own statements.
    fn db(&self) -> &impl SqlDatabase {
        &self.sql.db
    }

    /// Writes the vectors of chunks of `url_key` made from the page version `content_hash`: ledger
    /// rows first (only for chunks that still exist in that version), then the index, then the
    /// confirmation.
    async fn write_vectors(
        &self, index: &I, url_key: &str, content_hash: &str, chunks: &[(&str, &str, &ChunkVector)],
    ) -> PortResult<()> {
        if chunks.is_empty() {
            return Ok(());
        }
        let dimensions = index.dimensions().await?;
        for (_, _, vector) in chunks {
            vectorize::check_dimensions(dimensions, vector.values.len(), &vector.model)
                .map_err(PortError::permanent)?;
        }
        let vectors: Vec<IndexedVector> = chunks
            .iter()
            .map(|(chunk_id, url, vector)| {
                IndexedVector::for_chunk(
                    chunk_id,
                    url_key,
                    url,
                    &vector.model,
                    vector.values.clone(),
                )
            })
            .collect();
        let intents: Vec<Statement> = chunks
            .iter()
            .zip(&vectors)
            .map(|((chunk_id, _, vector), indexed)| {
                Statement::new(
                    "INSERT OR REPLACE INTO vectorize_vectors (vector_id, chunk_id, url_key, model, content_hash, stored)
                     SELECT ?1, ?2, ?3, ?4, ?5, 0
                     WHERE EXISTS (SELECT 1 FROM chunks WHERE id = ?2)
                       AND EXISTS (SELECT 1 FROM documents WHERE url_key = ?3 AND content_hash = ?5)",
                    vec![
                        indexed.id.as_str().into(),
                        (*chunk_id).into(),
                        url_key.into(),
                        vector.model.as_str().into(),
                        content_hash.into(),
                    ],
                )
            })
            .collect();
        let mut recorded = Vec::with_capacity(intents.len());
        for group in intents.chunks(STATEMENTS_PER_BATCH) {
            recorded.extend(self.db().batch(group).await?);
        }
        // A chunk that is gone (a newer version of the page was written meanwhile) gets no vector.
        let vectors: Vec<IndexedVector> = vectors
            .into_iter()
            .zip(recorded)
            .filter(|(_, changed)| *changed > 0)
            .map(|(v, _)| v)
            .collect();
        for group in vectors.chunks(MAX_UPSERT_BATCH) {
            index.upsert(group).await?;
        }
        let ids: Vec<String> = vectors.iter().map(|v| v.id.clone()).collect();
        let confirmations: Vec<Statement> = ids
            .chunks(IDS_PER_STATEMENT)
            .map(|group| {
                Statement::new(
                    "UPDATE vectorize_vectors SET stored = 1
                     WHERE content_hash = ?1 AND vector_id IN (SELECT value FROM json_each(?2))",
                    vec![
                        content_hash.into(),
                        serde_json::to_string(group).unwrap_or_default().into(),
                    ],
                )
            })
            .collect();
        for group in confirmations.chunks(STATEMENTS_PER_BATCH) {
            self.db().batch(group).await?;
        }
        Ok(())
    }

    /// Deletes from the index the vectors of `url_key` whose chunks are gone, then their ledger
    /// rows.
    async fn delete_document_orphans(&self, index: &I, url_key: &str) -> PortResult<u64> {
        let rows = self
            .db()
            .query(&Statement::new(
                format!("SELECT vector_id FROM vectorize_vectors WHERE url_key = ?1 AND {ORPHAN}"),
                vec![url_key.into()],
            ))
            .await?;
        self.delete_vectors(index, &vector_ids(&rows)?).await
    }

    /// Deletes up to `max` vectors whose chunks are gone, whichever page they belonged to; returns
    /// how many. The cron sweep: it catches deletions whose first attempt failed.
    pub async fn delete_orphan_vectors(&self, max: usize) -> PortResult<u64> {
        let Some(index) = &self.index else { return Ok(0) };
        let mut deleted = 0;
        while (deleted as usize) < max {
            let batch = MAX_DELETE_BATCH.min(max - deleted as usize);
            let rows = self
                .db()
                .query(&Statement::new(
                    format!("SELECT vector_id FROM vectorize_vectors WHERE {ORPHAN} LIMIT ?1"),
                    vec![(batch as u64).into()],
                ))
                .await?;
            let found = rows.len();
            deleted += self.delete_vectors(index, &vector_ids(&rows)?).await?;
            if found < batch {
                break;
            }
        }
        Ok(deleted)
    }

    /// `deleteByIds`, then the ledger rows, which are kept if their chunk came back meanwhile (the
    /// page was written again with the same chunk ids).
    async fn delete_vectors(&self, index: &I, ids: &[String]) -> PortResult<u64> {
        for group in ids.chunks(MAX_DELETE_BATCH) {
            index.delete_by_ids(group).await?;
            for part in group.chunks(IDS_PER_STATEMENT) {
                self.db()
                    .batch(&[Statement::new(
                        format!("DELETE FROM vectorize_vectors WHERE vector_id IN (SELECT value FROM json_each(?1)) AND {ORPHAN}"),
                        vec![serde_json::to_string(part).unwrap_or_default().into()],
                    )])
                    .await?;
            }
        }
        Ok(ids.len() as u64)
    }

    /// The chunks behind vector ids that still exist, as `vector id → (chunk id, chunk URL)`.
    async fn live_chunks(
        &self, vector_ids: &[String],
    ) -> PortResult<Vec<(String, String, String)>> {
        let mut live = Vec::with_capacity(vector_ids.len());
        for group in vector_ids.chunks(IDS_PER_STATEMENT) {
            let rows = self
                .db()
                .query(&Statement::new(
                    format!(
                        "SELECT {} FROM vectorize_vectors v JOIN chunks c ON c.id = v.chunk_id
                         WHERE v.vector_id IN (SELECT value FROM json_each(?1))",
                        LiveChunk::COLUMNS
                    ),
                    vec![serde_json::to_string(group).unwrap_or_default().into()],
                ))
                .await?;
            live.extend(
                decode(&rows)?
                    .into_iter()
                    .map(|LiveChunk { vector_id, chunk_id, url }| (vector_id, chunk_id, url)),
            );
        }
        Ok(live)
    }
}

impl<D: SqlDatabase, I: VectorizeIndex> VectorStore for VectorizeStore<D, I> {
    async fn nearest(
        &self, model: &str, query: &[f32], url_prefix: Option<&str>, limit: u32,
    ) -> PortResult<Vec<(String, f32)>> {
        let Some(index) = &self.index else {
            return self.sql.nearest(model, query, url_prefix, limit).await;
        };
        let plan = QueryPlan::new(model, url_prefix, limit).map_err(PortError::permanent)?;
        let matches = index.query(query, &plan).await?;
        let ids: Vec<String> = matches.iter().map(|(id, _)| id.clone()).collect();
        let live = self.live_chunks(&ids).await?;
        let mut nearest: Vec<(String, f32)> = matches
            .into_iter()
            .filter_map(|(vector_id, score)| {
                let (_, chunk_id, url) = live.iter().find(|(id, ..)| *id == vector_id)?;
                url_prefix
                    .is_none_or(|prefix| url.starts_with(prefix))
                    .then(|| (chunk_id.clone(), score))
            })
            .collect();
        nearest.truncate(limit as usize);
        Ok(nearest)
    }

    /// Fusion in the database needs the vectors there: only without an index.
    fn fuses_in_database(&self) -> bool {
        self.index.is_none() && self.sql.fuses_in_database()
    }

    async fn fused_search(&self, query: &crate::api::FusedQuery<'_>) -> PortResult<Vec<SearchHit>> {
        match &self.index {
            None => self.sql.fused_search(query).await,
            Some(_) => {
                Err(PortError::permanent("the vectors are in Vectorize: fuse in the function"))
            }
        }
    }

    async fn similarities(
        &self, model: &str, query: &[f32], chunk_ids: &[String],
    ) -> PortResult<Vec<(String, f32)>> {
        let Some(index) = &self.index else {
            return self.sql.similarities(model, query, chunk_ids).await;
        };
        let mut stored: Vec<(String, String)> = Vec::with_capacity(chunk_ids.len());
        for group in chunk_ids.chunks(IDS_PER_STATEMENT) {
            let rows = self
                .db()
                .query(&Statement::new(
                    format!(
                        "SELECT {} FROM vectorize_vectors
                         WHERE model = ?1 AND stored = 1 AND chunk_id IN (SELECT value FROM json_each(?2))",
                        LedgerVector::COLUMNS
                    ),
                    vec![model.into(), serde_json::to_string(group).unwrap_or_default().into()],
                ))
                .await?;
            stored.extend(
                decode(&rows)?
                    .into_iter()
                    .map(|LedgerVector { vector_id, chunk_id }| (vector_id, chunk_id)),
            );
        }
        let vector_ids: Vec<String> = stored.iter().map(|(id, _)| id.clone()).collect();
        let mut scored = Vec::with_capacity(stored.len());
        for group in vector_ids.chunks(MAX_GET_BATCH) {
            for (vector_id, values) in index.get_by_ids(group).await? {
                if let Some((_, chunk_id)) = stored.iter().find(|(id, _)| *id == vector_id) {
                    scored.push((chunk_id.clone(), vectorize::cosine(query, &values)));
                }
            }
        }
        Ok(scored)
    }

    async fn centre_vectors(&self) -> PortResult<Vec<(String, u64)>> {
        match &self.index {
            None => self.sql.centre_vectors().await,
            // The index keeps the vectors themselves; the SQL store has none to centre.
            Some(_) => Ok(Vec::new()),
        }
    }

    async fn vector_count(&self, model: &str) -> PortResult<u64> {
        if self.index.is_none() {
            return self.sql.vector_count(model).await;
        }
        let rows = self
            .db()
            .query(&Statement::new(
                "SELECT COUNT(*) FROM vectorize_vectors v
                 JOIN chunks c ON c.id = v.chunk_id
                 JOIN documents d ON d.url_key = c.url_key AND d.content_hash = v.content_hash
                 WHERE v.model = ?1 AND v.stored = 1",
                vec![model.into()],
            ))
            .await?;
        single_int(&rows)
    }

    async fn chunks_without_vectors(
        &self, url_key: &str, model: &str,
    ) -> PortResult<Vec<(String, String, String, String)>> {
        if self.index.is_none() {
            return self.sql.chunks_without_vectors(url_key, model).await;
        }
        // A vector made from an older version of the page (same chunk id, other content) does not
        // count.
        let rows = self
            .db()
            .query(&Statement::new(
                format!(
                    "SELECT {} FROM chunks c
                     JOIN documents d ON d.url_key = c.url_key
                     LEFT JOIN vectorize_vectors v
                       ON v.chunk_id = c.id AND v.model = ?2 AND v.content_hash = d.content_hash AND v.stored = 1
                     WHERE c.url_key = ?1 AND v.chunk_id IS NULL ORDER BY c.ordinal",
                    UnembeddedChunk::COLUMNS
                ),
                vec![url_key.into(), model.into()],
            ))
            .await?;
        Ok(decode(&rows)?.into_iter().map(UnembeddedChunk::into_tuple).collect())
    }

    async fn put_vectors(
        &self, url_key: &str, vectors: &[(String, ChunkVector)],
    ) -> PortResult<()> {
        let Some(index) = &self.index else { return self.sql.put_vectors(url_key, vectors).await };
        let Some(document) = self.sql.document_meta(url_key).await? else { return Ok(()) };
        let rows = self
            .db()
            .query(&Statement::new(
                format!("SELECT {} FROM chunks c WHERE c.url_key = ?1", ChunkUrl::COLUMNS),
                vec![url_key.into()],
            ))
            .await?;
        let urls: Vec<(String, String)> =
            decode(&rows)?.into_iter().map(|ChunkUrl { id, url }| (id, url)).collect();
        let chunks: Vec<(&str, &str, &ChunkVector)> = vectors
            .iter()
            .filter_map(|(chunk_id, vector)| {
                let (_, url) = urls.iter().find(|(id, _)| id == chunk_id)?;
                Some((chunk_id.as_str(), url.as_str(), vector))
            })
            .collect();
        self.write_vectors(index, url_key, &document.content_hash, &chunks).await
    }
}

impl<D: SqlDatabase, I: VectorizeIndex> DocumentStore for VectorizeStore<D, I> {
    async fn upsert_document(&self, document: &IndexedDocument) -> PortResult<()> {
        let Some(index) = &self.index else { return self.sql.upsert_document(document).await };
        // The page and its chunks go to SQL without vectors (they live in the index), in one
        // transaction.
        let mut bare = document.clone();
        bare.chunks.iter_mut().for_each(|chunk| chunk.vector = None);
        self.sql.upsert_document(&bare).await?;
        let chunks: Vec<(&str, &str, &ChunkVector)> = document
            .chunks
            .iter()
            .filter_map(|c| Some((c.id.as_str(), c.url.as_str(), c.vector.as_ref()?)))
            .collect();
        self.write_vectors(index, &document.url_key, &document.content_hash, &chunks).await?;
        // A rewritten page with fewer chunks leaves vectors behind.
        self.delete_document_orphans(index, &document.url_key).await.map(|_| ())
    }

    async fn delete_document(&self, url_key: &str) -> PortResult<bool> {
        let removed = self.sql.delete_document(url_key).await?;
        if let Some(index) = &self.index {
            // Also when nothing was removed now: a retried delete finishes the sweep that failed
            // before.
            self.delete_document_orphans(index, url_key).await?;
        }
        Ok(removed)
    }

    async fn prune_unseen(&self, job_id: &str, url_prefix: &str) -> PortResult<u64> {
        let removed = self.sql.prune_unseen(job_id, url_prefix).await?;
        if removed > 0 {
            self.delete_orphan_vectors(ORPHANS_PER_PRUNE).await?;
        }
        Ok(removed)
    }

    async fn document_meta(&self, url_key: &str) -> PortResult<Option<DocumentMeta>> {
        self.sql.document_meta(url_key).await
    }
    async fn urls_with_text(&self, content_hash: &str, url_key: &str) -> PortResult<Vec<String>> {
        self.sql.urls_with_text(content_hash, url_key).await
    }
    async fn forget_sightings(&self, job_id: &str) -> PortResult<()> {
        self.sql.forget_sightings(job_id).await
    }
    async fn count_inlinks(&self) -> PortResult<u64> {
        self.sql.count_inlinks().await
    }
    async fn lexical_search(
        &self, terms: &[String], url_prefix: Option<&str>, limit: u32,
    ) -> PortResult<Vec<SearchHit>> {
        self.sql.lexical_search(terms, url_prefix, limit).await
    }
    async fn lexical_search_containing(
        &self, terms: &[String], texts: &[String], url_prefix: Option<&str>, limit: u32,
    ) -> PortResult<Vec<SearchHit>> {
        self.sql.lexical_search_containing(terms, texts, url_prefix, limit).await
    }
    async fn chunks_by_id(&self, ids: &[String]) -> PortResult<Vec<SearchHit>> {
        self.sql.chunks_by_id(ids).await
    }
    async fn page_chunks(
        &self, chunk_ids: &[String], per_page: u32,
    ) -> PortResult<Vec<PageChunks>> {
        self.sql.page_chunks(chunk_ids, per_page).await
    }
    async fn term_counts(&self, terms: &[String]) -> PortResult<TermCounts> {
        self.sql.term_counts(terms).await
    }
    async fn index_version(&self) -> PortResult<u64> {
        self.sql.index_version().await
    }
    async fn counts(&self) -> PortResult<IndexCounts> {
        self.sql.counts().await
    }
}

/// A ledger row's vector id.
struct VectorId(String);

impl FromRow for VectorId {
    const COLUMNS: &'static str = "vector_id";
    fn from_row(row: &Columns<'_>) -> PortResult<Self> {
        row.text("vector_id").map(VectorId)
    }
}

fn vector_ids(rows: &[Row]) -> PortResult<Vec<String>> {
    Ok(decode(rows)?.into_iter().map(|VectorId(id)| id).collect())
}

/// A vector id whose chunk still exists, with the chunk and its URL.
struct LiveChunk {
    vector_id: String,
    chunk_id: String,
    url: String,
}

from_row!(LiveChunk = "v.vector_id, c.id AS chunk_id, c.url" { vector_id, chunk_id, url });

/// A confirmed vector of the ledger and its chunk.
struct LedgerVector {
    vector_id: String,
    chunk_id: String,
}

from_row!(LedgerVector = "vector_id, chunk_id" { vector_id, chunk_id });

/// A chunk (`c`) and its URL.
struct ChunkUrl {
    id: String,
    url: String,
}

from_row!(ChunkUrl = "c.id, c.url" { id, url });
