//! Chunk embeddings: quantised vectors scanned in place on SQLite, pgvector with a partial HNSW
//! index per model on Postgres, and hybrid search fused inside Postgres.

use serde_json::Value;

use crate::api::VectorStore;
use crate::rows::{decode, decode_scored, from_row, single_int, Columns, FromRow, Scored};
use crate::search::{postgres_bm25, scored_hits, PAGE_OF_CHUNK};
use crate::SqlStore;
use docent_core::domain::{ChunkVector, IndexedDocument};
use docent_core::ports::{PortError, PortResult, SqlDatabase, SqlDialect, Statement};
use docent_core::retrieval::embed::{hamming, sign_bits, QuantizedVector, BUILTIN_MODEL};
use docent_core::retrieval::search::{tsquery_words, SearchHit};

/// A stored vector's sign bits (`None` if unreadable) and its row, for the first pass.
struct SignBits {
    rowid: u64,
    bits: Option<Vec<u64>>,
}

impl FromRow for SignBits {
    const COLUMNS: &'static str = "v.rowid, v.bits";
    fn from_row(row: &Columns<'_>) -> PortResult<Self> {
        Ok(SignBits {
            rowid: row.int("rowid")?,
            bits: QuantizedVector::decode_bits(row.str("bits")?),
        })
    }
}

/// A stored vector's int8 encoding, for rescoring.
struct Int8Vector {
    chunk_id: String,
    int8: String,
}

from_row!(Int8Vector = "v.chunk_id, v.int8" { chunk_id, int8 });

/// The chunk of a stored vector (`v`), before its score.
struct ChunkId(String);

impl FromRow for ChunkId {
    const COLUMNS: &'static str = "v.chunk_id";
    fn from_row(row: &Columns<'_>) -> PortResult<Self> {
        row.text("chunk_id").map(ChunkId)
    }
}

/// A chunk of a page that has no vector of a model yet, with the text it is embedded from.
pub(crate) struct UnembeddedChunk {
    id: String,
    title: String,
    heading: String,
    text: String,
}

from_row!(UnembeddedChunk = "c.id, c.title, c.heading, c.text" { id, title, heading, text });

impl UnembeddedChunk {
    /// As `VectorStore::chunks_without_vectors` returns it: (chunk id, title, heading, text).
    pub(crate) fn into_tuple(self) -> (String, String, String, String) {
        (self.id, self.title, self.heading, self.text)
    }
}

/// Candidates kept from the sign-bit pass for every result asked of the vector search.
const RESCORE_FACTOR: usize = 8;

impl<D: SqlDatabase> VectorStore for SqlStore<D> {
    /// A scan of every chunk's sign bits (Hamming distance to the query's), then the best
    /// candidates rescored with their int8 values. Nothing is kept between calls, so a Worker
    /// isolate needs no memory beyond one query's codes.
    async fn nearest(
        &self, model: &str, query: &[f32], url_prefix: Option<&str>, limit: u32,
    ) -> PortResult<Vec<(String, f32)>> {
        if self.db.dialect() == SqlDialect::Postgres {
            return self.nearest_pgvector(model, query, url_prefix, limit).await;
        }
        let centre = self.centre_of(model).await?;
        let query_bits = sign_bits(query, centre.as_deref());
        let rows = self
            .query(
                &format!(
                    "SELECT {} FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id
                     WHERE v.model = ?1 AND (?2 IS NULL OR substr(c.url, 1, length(?2)) = ?2)",
                    SignBits::COLUMNS
                ),
                vec![model.into(), url_prefix.into()],
            )
            .await?;
        let mut candidates: Vec<(u32, u64)> = decode::<SignBits>(&rows)?
            .into_iter()
            .filter_map(|SignBits { rowid, bits }| Some((hamming(&bits?, &query_bits), rowid)))
            .collect();
        let keep = (limit as usize * RESCORE_FACTOR).max(100);
        if candidates.len() > keep {
            candidates.select_nth_unstable(keep);
            candidates.truncate(keep);
        }
        let mut scored = Vec::with_capacity(candidates.len());
        let rowids: Vec<u64> = candidates.iter().map(|(_, rowid)| *rowid).collect();
        for group in rowids.chunks(90) {
            let marks = (1..=group.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
            let sql = format!(
                "SELECT {} FROM chunk_vectors v WHERE rowid IN ({marks})",
                Int8Vector::COLUMNS
            );
            let rows = self.query(&sql, group.iter().map(|r| (*r).into()).collect()).await?;
            for Int8Vector { chunk_id, int8 } in decode(&rows)? {
                if let Some(score) = QuantizedVector::dot_encoded(&int8, query) {
                    scored.push((chunk_id, score));
                }
            }
        }
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        scored.truncate(limit as usize);
        Ok(scored)
    }

    async fn similarities(
        &self, model: &str, query: &[f32], chunk_ids: &[String],
    ) -> PortResult<Vec<(String, f32)>> {
        if chunk_ids.is_empty() {
            return Ok(Vec::new());
        }
        // The ids travel as one JSON array, so any number of them is one statement.
        let ids = serde_json::to_string(chunk_ids).unwrap_or_default();
        if self.db.dialect() == SqlDialect::Postgres {
            // pgvector's <#> is the negated inner product; vectors are unit length, so this is
            // cosine.
            let sql = format!(
                "SELECT {}, (-(embedding <#> (?2::text)::vector))::float8 FROM chunk_vectors v
                 WHERE model = ?1 AND chunk_id IN (SELECT jsonb_array_elements_text((?3::text)::jsonb))",
                ChunkId::COLUMNS
            );
            let rows = self
                .query(&sql, vec![model.into(), pgvector_literal(query).into(), ids.into()])
                .await?;
            return Ok(decode_scored::<ChunkId>(&rows)?
                .into_iter()
                .filter_map(|Scored { item: ChunkId(id), score }| Some((id, score? as f32)))
                .collect());
        }
        // `+model`: without statistics SQLite takes the model's index for a list of more than a
        // few ids, reading every vector of the model (4 ms where the chunk ids' own index takes
        // 0.2 on the PostgreSQL manual).
        let sql = format!(
            "SELECT {} FROM chunk_vectors v
             WHERE chunk_id IN (SELECT value FROM json_each(?2)) AND +model = ?1",
            Int8Vector::COLUMNS
        );
        let rows = self.query(&sql, vec![model.into(), ids.into()]).await?;
        Ok(decode::<Int8Vector>(&rows)?
            .into_iter()
            .filter_map(|Int8Vector { chunk_id, int8 }| {
                Some((chunk_id, QuantizedVector::dot_encoded(&int8, query)?))
            })
            .collect())
    }

    async fn chunks_without_vectors(
        &self, url_key: &str, model: &str,
    ) -> PortResult<Vec<(String, String, String, String)>> {
        let rows = self
            .query(
                &format!(
                    "SELECT {} FROM chunks c
                     LEFT JOIN chunk_vectors v ON v.chunk_id = c.id AND v.model = ?2
                     WHERE c.url_key = ?1 AND v.chunk_id IS NULL ORDER BY c.ordinal",
                    UnembeddedChunk::COLUMNS
                ),
                vec![url_key.into(), model.into()],
            )
            .await?;
        Ok(decode(&rows)?.into_iter().map(UnembeddedChunk::into_tuple).collect())
    }

    async fn put_vectors(
        &self, url_key: &str, vectors: &[(String, docent_core::domain::ChunkVector)],
    ) -> PortResult<()> {
        // Only for a chunk that still exists: a concurrent rewrite of the page wins.
        let centres = self.centres_for(vectors.iter().map(|(_, vector)| vector)).await?;
        let vectors = vectors.iter().map(|(chunk_id, vector)| (chunk_id.as_str(), vector));
        let statements = vector_statements(self.db.dialect(), url_key, vectors, true, &centres);
        if !statements.is_empty() {
            self.db.batch(&statements).await?;
        }
        Ok(())
    }

    /// A model's centre is the mean of its first vectors stored. It reads every vector of the
    /// models it centres, once; finding none to centre takes a probe per model.
    async fn centre_vectors(&self) -> PortResult<Vec<(String, u64)>> {
        if self.db.dialect() == SqlDialect::Postgres {
            return Ok(Vec::new());
        }
        // The distinct models one index probe each (SQLite would otherwise read the whole index).
        let models = self
            .query(
                "WITH RECURSIVE models (model) AS (
                   SELECT min(model) FROM chunk_vectors
                   UNION ALL
                   SELECT (SELECT min(model) FROM chunk_vectors WHERE model > models.model) FROM models
                   WHERE models.model IS NOT NULL)
                 SELECT model FROM models WHERE model IS NOT NULL AND model <> ?1
                   AND model NOT IN (SELECT model FROM vector_centres)",
                vec![BUILTIN_MODEL.into()],
            )
            .await?;
        let models: Vec<String> =
            models.iter().filter_map(|r| Some(r.first()?.as_str()?.to_string())).collect();
        let mut centred = Vec::new();
        for model in models {
            // As for a first writer, the mean of the first vectors stored is the centre: any
            // handful of a model's vectors gives nearly the same one.
            let first = self
                .query(
                    "SELECT int8 FROM chunk_vectors WHERE model = ?1 ORDER BY rowid LIMIT ?2",
                    vec![model.as_str().into(), CENTRING_PAGE.into()],
                )
                .await?;
            let values: Vec<Vec<f32>> = first
                .iter()
                .filter_map(|row| QuantizedVector::decode_values(row.first()?.as_str()?))
                .collect();
            if values.is_empty() {
                continue;
            }
            let values: Vec<&[f32]> = values.iter().map(Vec::as_slice).collect();
            // Two ticks at once agree on the first centre stored.
            self.query(
                "INSERT OR IGNORE INTO vector_centres (model, centre) VALUES (?1, ?2)",
                vec![model.as_str().into(), encode_centre(&mean(&values)).into()],
            )
            .await?;
            let Some(centre) = self.centre_of(&model).await? else { continue };
            let mut count = 0u64;
            self.each_vector(&model, |rowid, values| {
                count += 1;
                let bits = QuantizedVector::centred(values, Some(&centre)).encode().0;
                Some(Statement::new(
                    "UPDATE chunk_vectors SET bits = ?2 WHERE rowid = ?1",
                    vec![rowid.into(), bits.into()],
                ))
            })
            .await?;
            centred.push((model, count));
        }
        Ok(centred)
    }

    /// Postgres: the vectors are in the database (pgvector), next to the `tsvector`.
    fn fuses_in_database(&self) -> bool {
        self.db.dialect() == SqlDialect::Postgres
    }

    async fn fused_search(&self, query: &crate::api::FusedQuery<'_>) -> PortResult<Vec<SearchHit>> {
        if !self.fuses_in_database() {
            return Err(PortError::permanent("SQLite does not fuse rankings in the database"));
        }
        let Some(words) = tsquery_words(query.terms) else { return Ok(Vec::new()) };
        let (dimensions, model_literal) = (query.vector.len(), model_literal(query.model));
        let k = docent_core::retrieval::search::RRF_K;
        let columns = SearchHit::COLUMNS;
        // Ranks count from 1 here, so weight / (k + rank) is the Rust fusion's
        // weight / (k + index + 1).
        let bm25 = postgres_bm25(&[]);
        let sql = format!(
            "WITH {bm25},
             lexical AS (SELECT id, row_number() OVER (ORDER BY score DESC, id) AS rank FROM scored ORDER BY rank LIMIT ?2),
             vector AS (
                SELECT nearest.chunk_id AS id, row_number() OVER (ORDER BY nearest.distance, nearest.chunk_id) AS rank
                FROM (SELECT v.chunk_id, v.embedding::vector({dimensions}) <#> (?4::text)::vector({dimensions}) AS distance
                      FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id
                      WHERE v.model = {model_literal} AND (?3::text IS NULL OR substr(c.url, 1, length(?3)) = ?3)
                      ORDER BY v.embedding::vector({dimensions}) <#> (?4::text)::vector({dimensions}) LIMIT ?2) AS nearest
                WHERE EXISTS (SELECT 1 FROM lexical)),
             fused AS (
                SELECT id, SUM(credit) AS score FROM (
                    SELECT id, ?5::float8 / ({k} + rank) AS credit FROM lexical
                    UNION ALL
                    SELECT id, ?6::float8 / ({k} + rank) AS credit FROM vector) AS credits
                GROUP BY id)
             SELECT {columns}, fused.score::float8 FROM fused JOIN chunks c ON c.id = fused.id {PAGE_OF_CHUNK}
             ORDER BY fused.score DESC, c.id"
        );
        let rows = self
            .query(
                &sql,
                vec![
                    words.into(),
                    u64::from(query.candidates).into(),
                    query.url_prefix.into(),
                    pgvector_literal(query.vector).into(),
                    query.weights.0.into(),
                    query.weights.1.into(),
                ],
            )
            .await?;
        scored_hits(&rows, 1.0)
    }

    async fn index_vectors(&self, model: &str) -> PortResult<()> {
        if self.db.dialect() != SqlDialect::Postgres {
            return Ok(());
        }
        let rows = self
            .query(
                "SELECT vector_dims(embedding) FROM chunk_vectors WHERE model = ?1 LIMIT 1",
                vec![model.into()],
            )
            .await?;
        if rows.is_empty() {
            return Ok(());
        }
        let dimensions = single_int(&rows)? as usize;
        self.db.batch(&[hnsw_index_statement(model, dimensions)]).await?;
        Ok(())
    }

    async fn vector_count(&self, model: &str) -> PortResult<u64> {
        let rows = self
            .query("SELECT COUNT(*) FROM chunk_vectors WHERE model = ?1", vec![model.into()])
            .await?;
        single_int(&rows)
    }
}

/// The sign-bit centre of each model that has one, by model.
pub(crate) type Centres = std::collections::HashMap<String, Vec<f32>>;

/// Vectors read at a time while centring an index's stored vectors.
const CENTRING_PAGE: u64 = 500;

impl<D: SqlDatabase> SqlStore<D> {
    /// Whether `model`'s sign bits are taken about a centre: not on Postgres (no sign bits), nor
    /// for the built-in embedder (centred by construction).
    fn takes_centre(&self, model: &str) -> bool {
        model != BUILTIN_MODEL && self.db.dialect() != SqlDialect::Postgres
    }

    /// The centre `model`'s sign bits are taken about ([`sign_bits`]), if it has one. Kept once
    /// read, since a centre never changes; a model without one is asked again (a writer may store
    /// it meanwhile).
    async fn centre_of(&self, model: &str) -> PortResult<Option<Vec<f32>>> {
        if !self.takes_centre(model) {
            return Ok(None);
        }
        if let Some(known) = self.centres.borrow().get(model) {
            return Ok(known.clone());
        }
        let rows = self
            .query("SELECT centre FROM vector_centres WHERE model = ?1", vec![model.into()])
            .await?;
        let centre = rows.first().and_then(|row| row.first()?.as_str().map(parse_centre));
        let centre = centre.flatten();
        if centre.is_some() {
            self.centres.borrow_mut().insert(model.to_string(), centre.clone());
        }
        Ok(centre)
    }

    /// The centres the vectors about to be written take. A model with none yet and no stored
    /// vectors gets the mean of these (the first writer's wins; any handful of a model's vectors
    /// gives nearly the same centre). One whose vectors were stored before centres existed keeps
    /// signs about 0, matching them, until `centre_vectors` centres it.
    pub(crate) async fn centres_for(
        &self, vectors: impl Iterator<Item = &ChunkVector>,
    ) -> PortResult<Centres> {
        let mut by_model: std::collections::BTreeMap<&str, Vec<&[f32]>> = Default::default();
        for vector in vectors {
            by_model.entry(vector.model.as_str()).or_default().push(&vector.values);
        }
        let mut centres = Centres::new();
        for (model, values) in by_model {
            if !self.takes_centre(model) {
                continue;
            }
            if let Some(known) = self.centres.borrow().get(model) {
                if let Some(centre) = known {
                    centres.insert(model.to_string(), centre.clone());
                }
                continue;
            }
            let rows = self
                .query(
                    "SELECT (SELECT centre FROM vector_centres WHERE model = ?1) AS centre,
                            EXISTS (SELECT 1 FROM chunk_vectors WHERE model = ?1) AS has_vectors",
                    vec![model.into()],
                )
                .await?;
            let row = rows.first();
            let stored = row.and_then(|r| r.first()?.as_str().and_then(parse_centre));
            let has_vectors = row.and_then(|r| r.get(1)?.as_i64()).unwrap_or(0) != 0;
            let centre = match stored {
                Some(centre) => Some(centre),
                None if has_vectors => None,
                None => {
                    self.query(
                        "INSERT OR IGNORE INTO vector_centres (model, centre) VALUES (?1, ?2)",
                        vec![model.into(), encode_centre(&mean(&values)).into()],
                    )
                    .await?;
                    self.centre_of(model).await?
                }
            };
            self.centres.borrow_mut().insert(model.to_string(), centre.clone());
            if let Some(centre) = centre {
                centres.insert(model.to_string(), centre);
            }
        }
        Ok(centres)
    }

    /// Calls `visit` with each stored vector of `model` (its row and values), a page at a time,
    /// and runs the statements it returns for the page in one batch.
    async fn each_vector(
        &self, model: &str, mut visit: impl FnMut(u64, &[f32]) -> Option<Statement>,
    ) -> PortResult<()> {
        let mut after = 0u64;
        loop {
            let rows = self
                .query(
                    "SELECT rowid, int8 FROM chunk_vectors WHERE model = ?1 AND rowid > ?2
                     ORDER BY rowid LIMIT ?3",
                    vec![model.into(), after.into(), CENTRING_PAGE.into()],
                )
                .await?;
            let mut statements = Vec::new();
            for row in &rows {
                let (Some(rowid), Some(int8)) = (row.first().and_then(|v| v.as_u64()), row.get(1))
                else {
                    continue;
                };
                after = rowid;
                if let Some(values) = int8.as_str().and_then(QuantizedVector::decode_values) {
                    statements.extend(visit(rowid, &values));
                }
            }
            if !statements.is_empty() {
                self.db.batch(&statements).await?;
            }
            if (rows.len() as u64) < CENTRING_PAGE {
                return Ok(());
            }
        }
    }

    /// Nearest neighbours through the model's HNSW index ([`hnsw_index_statement`]); the query
    /// repeats the index's expression and predicate literally so the planner can use it.
    async fn nearest_pgvector(
        &self, model: &str, query: &[f32], url_prefix: Option<&str>, limit: u32,
    ) -> PortResult<Vec<(String, f32)>> {
        let (dimensions, model_literal) = (query.len(), model_literal(model));
        let rows = self
            .query(
                &format!(
                    "SELECT {}, (-(v.embedding::vector({dimensions}) <#> (?1::text)::vector({dimensions})))::float8
                     FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id
                     WHERE v.model = {model_literal} AND (?3::text IS NULL OR substr(c.url, 1, length(?3)) = ?3)
                     ORDER BY v.embedding::vector({dimensions}) <#> (?1::text)::vector({dimensions}), v.chunk_id LIMIT ?2",
                    ChunkId::COLUMNS
                ),
                vec![pgvector_literal(query).into(), u64::from(limit).into(), url_prefix.into()],
            )
            .await?;
        Ok(decode_scored::<ChunkId>(&rows)?
            .into_iter()
            .map(|Scored { item: ChunkId(id), score }| (id, score.unwrap_or(0.0) as f32))
            .collect())
    }
}

/// A chunk has one vector: a new one replaces the old (Postgres's form of SQLite's `INSERT OR
/// REPLACE`).
const PG_REPLACE_VECTOR: &str =
    "ON CONFLICT (chunk_id) DO UPDATE SET url_key = excluded.url_key, model = excluded.model, embedding = excluded.embedding";

/// A model name as a SQL string literal. pgvector's partial HNSW index is defined for one model,
/// and the planner uses it only when a query states the same predicate literally.
fn model_literal(model: &str) -> String {
    format!("'{}'", model.replace('\'', "''"))
}

/// Creates the partial HNSW index of a model's vectors on the column cast to their dimension (a
/// table may hold several models); a no-op once it exists.
pub(crate) fn hnsw_index_statement(model: &str, dimensions: usize) -> Statement {
    let index = format!(
        "chunk_vectors_hnsw_{}",
        &docent_core::domain::sha256_hex(format!("{model}/{dimensions}").as_bytes())[..16]
    );
    Statement::new(
        format!(
            "CREATE INDEX IF NOT EXISTS {index} ON chunk_vectors USING hnsw ((embedding::vector({dimensions})) vector_ip_ops) WHERE model = {}",
            model_literal(model)
        ),
        vec![],
    )
}

/// Bytes of JSON one statement carries at most: a page's chunks (or vectors) travel as a JSON
/// array in one parameter, well under D1's 2 MB limit on a string.
const JSON_BYTES_PER_STATEMENT: usize = 500_000;

/// `items` as JSON arrays of at most [`JSON_BYTES_PER_STATEMENT`] bytes each (an item larger than
/// that alone), in order.
fn json_arrays(items: impl IntoIterator<Item = Value>) -> Vec<String> {
    let mut arrays = Vec::new();
    let mut current = String::from("[");
    for item in items {
        let item = item.to_string();
        if current.len() > 1 && current.len() + item.len() + 1 > JSON_BYTES_PER_STATEMENT {
            arrays.push(std::mem::replace(&mut current, String::from("[")) + "]");
        }
        if current.len() > 1 {
            current.push(',');
        }
        current.push_str(&item);
    }
    if current.len() > 1 {
        arrays.push(current + "]");
    }
    arrays
}

/// A page's chunks, then their vectors, as one INSERT each per [`JSON_BYTES_PER_STATEMENT`] of
/// JSON, not one per chunk: D1 counts every statement against a Worker invocation's limit (50 on
/// the free plan), and a Postgres statement is a round trip to a server. Nothing for a page
/// without chunks.
pub(crate) fn chunk_statements(
    dialect: SqlDialect, doc: &IndexedDocument, centres: &Centres,
) -> Vec<Statement> {
    let sql = match dialect {
        SqlDialect::Sqlite => {
            "INSERT INTO chunks (id, url_key, ordinal, url, title, heading, text)
             SELECT json_extract(value, '$[0]'), ?1, json_extract(value, '$[1]'), json_extract(value, '$[2]'), ?2,
                    json_extract(value, '$[3]'), json_extract(value, '$[4]')
             FROM json_each(?3)"
        }
        SqlDialect::Postgres => {
            "INSERT INTO chunks (id, url_key, ordinal, url, title, heading, text)
             SELECT e->>0, ?1, (e->>1)::integer, e->>2, ?2, e->>3, e->>4 FROM jsonb_array_elements((?3::text)::jsonb) AS e"
        }
    };
    let chunks =
        doc.chunks.iter().map(|c| serde_json::json!([c.id, c.ordinal, c.url, c.heading, c.text]));
    let mut statements: Vec<Statement> = json_arrays(chunks)
        .into_iter()
        .map(|chunks| {
            Statement::new(
                sql,
                vec![doc.url_key.as_str().into(), doc.title.as_str().into(), chunks.into()],
            )
        })
        .collect();
    let vectors = doc.chunks.iter().filter_map(|c| Some((c.id.as_str(), c.vector.as_ref()?)));
    statements.extend(vector_statements(dialect, &doc.url_key, vectors, false, centres));
    statements
}

/// Statements that store these chunks' vectors, replacing any others, grouped as
/// [`chunk_statements`] groups chunks. `if_chunk_exists` guards writes made after the chunk's own
/// transaction.
fn vector_statements<'a>(
    dialect: SqlDialect, url_key: &str,
    vectors: impl IntoIterator<Item = (&'a str, &'a ChunkVector)>, if_chunk_exists: bool,
    centres: &Centres,
) -> Vec<Statement> {
    let (rows, sql): (Vec<Value>, String) = match dialect {
        SqlDialect::Sqlite => {
            let rows = vectors.into_iter().map(|(chunk_id, vector)| {
                let centre = centres.get(&vector.model).map(Vec::as_slice);
                let (bits, int8) = QuantizedVector::centred(&vector.values, centre).encode();
                serde_json::json!([chunk_id, vector.model, bits, int8])
            });
            let guard = if if_chunk_exists {
                "WHERE EXISTS (SELECT 1 FROM chunks WHERE id = json_extract(value, '$[0]'))"
            } else {
                ""
            };
            (
                rows.collect(),
                format!(
                    "INSERT OR REPLACE INTO chunk_vectors (chunk_id, url_key, model, bits, int8)
                     SELECT json_extract(value, '$[0]'), ?1, json_extract(value, '$[1]'), json_extract(value, '$[2]'),
                            json_extract(value, '$[3]')
                     FROM json_each(?2) {guard}"
                ),
            )
        }
        SqlDialect::Postgres => {
            let rows = vectors.into_iter().map(|(chunk_id, vector)| {
                serde_json::json!([chunk_id, vector.model, pgvector_literal(&vector.values)])
            });
            let guard = if if_chunk_exists {
                "WHERE EXISTS (SELECT 1 FROM chunks WHERE id = e->>0)"
            } else {
                ""
            };
            (
                rows.collect(),
                format!(
                    "INSERT INTO chunk_vectors (chunk_id, url_key, model, embedding)
                     SELECT e->>0, ?1, e->>1, (e->>2)::vector FROM jsonb_array_elements((?2::text)::jsonb) AS e
                     {guard} {PG_REPLACE_VECTOR}"
                ),
            )
        }
    };
    json_arrays(rows)
        .into_iter()
        .map(|vectors| Statement::new(sql.clone(), vec![url_key.into(), vectors.into()]))
        .collect()
}

/// A vector in pgvector's text form, `[0.1,0.2,...]`.
fn pgvector_literal(values: &[f32]) -> String {
    let parts: Vec<String> = values
        .iter()
        .map(|v| if v.is_finite() { v.to_string() } else { "0".to_string() })
        .collect();
    format!("[{}]", parts.join(","))
}

/// The mean of equally long vectors.
fn mean(vectors: &[&[f32]]) -> Vec<f32> {
    let dimensions = vectors.iter().map(|v| v.len()).max().unwrap_or(0);
    let mut sum = vec![0.0f32; dimensions];
    for vector in vectors {
        sum.iter_mut().zip(vector.iter()).for_each(|(s, v)| *s += v);
    }
    sum.iter().map(|s| s / vectors.len().max(1) as f32).collect()
}

fn encode_centre(centre: &[f32]) -> String {
    serde_json::to_string(centre).unwrap_or_else(|_| "[]".into())
}

fn parse_centre(text: &str) -> Option<Vec<f32>> {
    serde_json::from_str(text).ok()
}
