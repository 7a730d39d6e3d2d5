//! Indexed documents and their chunks, with lexical search: FTS5's BM25 on SQLite, the same BM25
//! computed over a stored `tsvector` on Postgres.

use crate::api::{DocumentStore, IndexCounts, SAME_TEXT_LIMIT};
use crate::rows::{
    decode, decode_first, decode_tagged_numbered, from_row, row_of_counts, single_int, Columns,
    FromRow,
};
use crate::search::{any_held, postgres_bm25, scored_hits, BM25_WEIGHTS, PAGE_OF_CHUNK};
use crate::vectors::chunk_statements;
use crate::SqlStore;
use docent_core::domain::{DocumentMeta, IndexedDocument};
use docent_core::ports::{PortError, PortResult, SqlDatabase, SqlDialect, SqlValue, Statement};
use docent_core::retrieval::answer::{PageChunks, TermCounts};
use docent_core::retrieval::search::{fts5_match_expression, tsquery_words, SearchHit};

/// Links from at least this share of the indexed pages are a site template's (counted as nothing
/// in `inlinks`): on the Python manual the home, index, copyright and bug-report pages are linked
/// from 93–100 % of pages, the most linked content page (`library/exceptions.html`) from 52 %. The
/// share is of the whole index: where it holds several sites, one site's template links count as
/// ordinary links.
const SITE_TEMPLATE_LINK_PERCENT: u8 = 80;
/// Below this many pages every link counts: too few to tell a template from a hub.
const SITE_TEMPLATE_MIN_PAGES: u8 = 10;

/// The words of `text` as the full-text index reads them: letters and digits, lower-cased.
fn words_of(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The FTS5 expression for chunks that may hold `text`: a chunk that holds it holds its words, so
/// they are required, and at least one of the other `terms`. The full-text index then reads only
/// chunks with the text's words (an option's letter is in hundreds of chunks, a query's other words
/// in thousands), and BM25, which counts each phrase of the expression once whatever joins it,
/// ranks them as the query's terms alone would. A chunk with the text's words and none of the
/// other terms is left out (it would rank on the text's words alone, below every other; Postgres,
/// whose candidates are bounded by their own ranking, keeps it last).
fn fts5_containing(terms: &[String], text: &str) -> Option<String> {
    let words = words_of(text);
    // Letters and digits only: nothing to escape inside the quotes.
    let required = words.iter().map(|word| format!("\"{word}\"")).collect::<Vec<_>>().join(" AND ");
    let others: Vec<String> = terms.iter().filter(|term| !words.contains(term)).cloned().collect();
    match fts5_match_expression(&others) {
        Some(others) if !required.is_empty() => Some(format!("{required} AND ({others})")),
        Some(others) => Some(others),
        None => (!required.is_empty()).then_some(required),
    }
}

/// The FTS5 expression for chunks that hold one of `texts` as a phrase (its words in a row), when
/// one of them has two words or more: the full-text index finds those few chunks at once, where
/// `instr` would read every chunk with the words ("Python is a ": every chunk of Python's manual
/// has "python", "is" and "a"). Only for texts that end where a word does (`instr` finds "is a"
/// in "is an", a phrase does not); the phrase's first word is whole ("Python is a " is not looked
/// for in "CPython is a "). `None` otherwise.
fn fts5_phrases(texts: &[String]) -> Option<String> {
    let phrases: Vec<Vec<String>> = texts.iter().map(|text| words_of(text)).collect();
    let whole = texts.iter().all(|text| text.ends_with(|c: char| !c.is_alphanumeric()));
    if !whole || phrases.iter().any(Vec::is_empty) || phrases.iter().all(|words| words.len() < 2) {
        return None;
    }
    let mut quoted: Vec<String> = Vec::new();
    for words in phrases {
        let phrase = format!("\"{}\"", words.join(" "));
        if !quoted.contains(&phrase) {
            quoted.push(phrase);
        }
    }
    Some(quoted.join(" OR "))
}

impl<D: SqlDatabase> SqlStore<D> {
    /// Chunks matching any of `terms`, best BM25 first; with `containing`, only those whose text
    /// holds one of its texts verbatim (case-sensitive), however far down the ranking they are.
    async fn ranked_matches(
        &self, terms: &[String], url_prefix: Option<&str>, containing: &[String], limit: u32,
    ) -> PortResult<Vec<SearchHit>> {
        // Parameters: the expression, the limit, the prefix (Postgres binds it even when absent),
        // then the texts.
        let binds_prefix = url_prefix.is_some() || self.db.dialect() == SqlDialect::Postgres;
        let first_text = if binds_prefix { 4 } else { 3 };
        let text_params: Vec<String> =
            (0..containing.len()).map(|i| format!("?{}", first_text + i)).collect();
        // In SQLite, the texts' phrases bound the chunks read (their own parameter, after the
        // texts'): in a subquery, so that they do not count in the outer ranking's BM25.
        let phrases = match self.db.dialect() {
            SqlDialect::Sqlite => fts5_phrases(containing),
            SqlDialect::Postgres => None,
        };
        let columns = SearchHit::COLUMNS;
        let (sql, expression, sign) = match self.db.dialect() {
            SqlDialect::Sqlite => {
                let (t, h, b) = BM25_WEIGHTS;
                let rank = format!("bm25(chunks_fts, {t:.1}, {h:.1}, {b:.1})");
                // Without a filter the full-text index ranks alone and only the best `limit` are
                // joined to their chunks and pages; a prefix or a text needs each match's chunk.
                // (D1 bills every row a query reads: a common word matches thousands of chunks.)
                let sql = if url_prefix.is_none() && containing.is_empty() {
                    format!(
                        "SELECT {columns}, best.rank FROM (
                           SELECT rowid, {rank} AS rank FROM chunks_fts WHERE chunks_fts MATCH ?1 ORDER BY rank LIMIT ?2
                         ) AS best JOIN chunks c ON c.rowid = best.rowid {PAGE_OF_CHUNK}
                         ORDER BY best.rank"
                    )
                } else {
                    // SQLite refuses a parameter its statement does not use: the prefix is ?3
                    // when given, the texts the next ones.
                    let mut filters = String::new();
                    if url_prefix.is_some() {
                        filters.push_str(" AND substr(c.url, 1, length(?3)) = ?3");
                    }
                    if phrases.is_some() {
                        let phrases = first_text + containing.len();
                        filters.push_str(&format!(
                            " AND chunks_fts.rowid IN
                               (SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ?{phrases})"
                        ));
                    }
                    filters.push_str(&any_held(&text_params, "instr"));
                    format!(
                        "SELECT {columns}, {rank} AS rank
                         FROM chunks_fts JOIN chunks c ON c.rowid = chunks_fts.rowid {PAGE_OF_CHUNK}
                         WHERE chunks_fts MATCH ?1{filters} ORDER BY rank LIMIT ?2"
                    )
                };
                // FTS5's bm25() is lower-is-better; flip it so higher is better everywhere.
                (
                    sql,
                    // The phrases, when there are, bound the chunks in their subquery, and the
                    // query's terms alone rank them.
                    match (containing.first(), &phrases) {
                        (Some(text), None) => fts5_containing(terms, text),
                        _ => fts5_match_expression(terms),
                    },
                    -1.0,
                )
            }
            SqlDialect::Postgres => {
                let bm25 = postgres_bm25(&text_params);
                let sql = format!(
                    "WITH {bm25}
                     SELECT {columns}, scored.score FROM scored JOIN chunks c ON c.id = scored.id {PAGE_OF_CHUNK}
                     ORDER BY scored.score DESC, c.id LIMIT ?2"
                );
                (sql, tsquery_words(terms), 1.0)
            }
        };
        let Some(expression) = expression else { return Ok(Vec::new()) };
        let mut params = vec![expression.into(), u64::from(limit).into()];
        if binds_prefix {
            params.push(url_prefix.into());
        }
        params.extend(containing.iter().map(|text| text.as_str().into()));
        params.extend(phrases.map(SqlValue::from));
        let rows = self.query(&sql, params).await?;
        scored_hits(&rows, sign)
    }
}

impl<D: SqlDatabase> DocumentStore for SqlStore<D> {
    async fn document_meta(&self, url_key: &str) -> PortResult<Option<DocumentMeta>> {
        let rows = self
            .query(
                &format!("SELECT {} FROM documents WHERE url_key = ?1", DocumentMeta::COLUMNS),
                vec![url_key.into()],
            )
            .await?;
        decode_first(&rows)
    }

    async fn upsert_document(&self, doc: &IndexedDocument) -> PortResult<()> {
        let mut statements = vec![
            Statement::new("DELETE FROM chunks WHERE url_key = ?1", vec![doc.url_key.as_str().into()]),
            Statement::new(
                "INSERT INTO documents (url_key, url, title, lang, content_hash, etag, last_modified, job_id, indexed_at, links, links_capped, link_list_percent, code_text_percent)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
                 ON CONFLICT (url_key) DO UPDATE SET url = excluded.url, title = excluded.title, lang = excluded.lang,
                   content_hash = excluded.content_hash, etag = excluded.etag, last_modified = excluded.last_modified,
                   job_id = excluded.job_id, indexed_at = excluded.indexed_at, links = excluded.links,
                   links_capped = excluded.links_capped, link_list_percent = excluded.link_list_percent,
                   code_text_percent = excluded.code_text_percent",
                vec![
                    doc.url_key.as_str().into(),
                    doc.url.as_str().into(),
                    doc.title.as_str().into(),
                    doc.lang.clone().into(),
                    doc.content_hash.as_str().into(),
                    doc.etag.clone().into(),
                    doc.last_modified.clone().into(),
                    doc.job_id.as_str().into(),
                    doc.indexed_at_ms.into(),
                    serde_json::to_string(&doc.links).unwrap_or_else(|_| "[]".into()).into(),
                    u64::from(doc.links_capped).into(),
                    u64::from(doc.signals.link_list_percent).into(),
                    u64::from(doc.signals.code_text_percent).into(),
                ],
            ),
        ];
        let centres = self.centres_for(doc.chunks.iter().filter_map(|c| c.vector.as_ref())).await?;
        statements.extend(chunk_statements(self.db.dialect(), doc, &centres));
        statements.push(Statement::new(
            "UPDATE docent_meta SET value = value + 1 WHERE key = 'index_version'",
            vec![],
        ));
        // One batch is one transaction: readers see the old page or the new one, never a mix.
        self.db.batch(&statements).await.map(|_| ())
    }

    async fn urls_with_text(&self, content_hash: &str, url_key: &str) -> PortResult<Vec<String>> {
        let rows = self
            .query(
                "SELECT url FROM documents WHERE content_hash = ?1 AND url_key <> ?2 ORDER BY url LIMIT ?3",
                vec![content_hash.into(), url_key.into(), u64::from(SAME_TEXT_LIMIT).into()],
            )
            .await?;
        Ok(rows.iter().filter_map(|row| row.first()?.as_str().map(str::to_string)).collect())
    }

    async fn delete_document(&self, url_key: &str) -> PortResult<bool> {
        let changes = self
            .db
            .batch(&[
                Statement::new("DELETE FROM chunks WHERE url_key = ?1", vec![url_key.into()]),
                Statement::new("DELETE FROM documents WHERE url_key = ?1", vec![url_key.into()]),
                Statement::new(
                    "UPDATE docent_meta SET value = value + 1 WHERE key = 'index_version'",
                    vec![],
                ),
            ])
            .await?;
        Ok(changes.get(1).copied().unwrap_or(0) > 0)
    }

    async fn count_inlinks(&self) -> PortResult<u64> {
        // Every stored link as (target URL, linking page), a page's links to itself left out.
        let links = match self.db.dialect() {
            SqlDialect::Sqlite => {
                "SELECT j.value AS target, s.url_key AS source FROM documents s, json_each(s.links) j
                 WHERE j.value <> s.url"
            }
            SqlDialect::Postgres => {
                "SELECT l.value AS target, s.url_key AS source
                 FROM documents s CROSS JOIN LATERAL jsonb_array_elements_text(s.links::jsonb) AS l(value)
                 WHERE l.value <> s.url"
            }
        };
        // A link from (nearly) every page is the site's template (a home, copyright or bug-report
        // link), not a page pointing readers somewhere: it counts nothing, once there are pages
        // enough to tell.
        let counted =
            "CASE WHEN COUNT(DISTINCT source) * 100 >= ?1 * (SELECT COUNT(*) FROM documents)
                            AND (SELECT COUNT(*) FROM documents) >= ?2
                       THEN 0 ELSE COUNT(DISTINCT source) END";
        let template = vec![
            SqlValue::from(u64::from(SITE_TEMPLATE_LINK_PERCENT)),
            SqlValue::from(u64::from(SITE_TEMPLATE_MIN_PAGES)),
        ];
        // Only counts that change are written (D1 bills every row written); one transaction, so a
        // search never sees the counts half done.
        let changes = self
            .db
            .batch(&[
                Statement::new(
                    format!(
                        "UPDATE documents SET inlinks = 0
                         WHERE inlinks <> 0 AND url NOT IN (SELECT target FROM ({links}) AS l)"
                    ),
                    vec![],
                ),
                Statement::new(
                    format!(
                        "UPDATE documents SET inlinks = t.n
                         FROM (SELECT target, {counted} AS n FROM ({links}) AS l GROUP BY target) AS t
                         WHERE documents.url = t.target AND documents.inlinks <> t.n"
                    ),
                    template,
                ),
            ])
            .await?;
        Ok(changes.iter().sum())
    }

    async fn prune_unseen(&self, job_id: &str, url_prefix: &str) -> PortResult<u64> {
        // substr, not LIKE: URLs contain `_` and `%`, which LIKE treats as wildcards.
        const UNSEEN: &str = "SELECT d.url_key FROM documents d
             WHERE substr(d.url, 1, length(?2)) = ?2
               AND d.indexed_at < (SELECT started_at FROM crawl_jobs WHERE id = ?1)
               AND NOT EXISTS (SELECT 1 FROM page_sightings s WHERE s.job_id = ?1 AND s.url_key = d.url_key)";
        let params = || vec![SqlValue::from(job_id), SqlValue::from(url_prefix)];
        let changes = self
            .db
            .batch(&[
                Statement::new(format!("DELETE FROM chunks WHERE url_key IN ({UNSEEN})"), params()),
                Statement::new(
                    format!("DELETE FROM documents WHERE url_key IN ({UNSEEN})"),
                    params(),
                ),
            ])
            .await?;
        let removed = changes.get(1).copied().unwrap_or(0);
        if removed > 0 {
            self.db
                .batch(&[Statement::new(
                    "UPDATE docent_meta SET value = value + 1 WHERE key = 'index_version'",
                    vec![],
                )])
                .await?;
        }
        Ok(removed)
    }

    async fn forget_sightings(&self, job_id: &str) -> PortResult<()> {
        self.db
            .batch(&[
                Statement::new("DELETE FROM page_sightings WHERE job_id = ?1", vec![job_id.into()]),
                Statement::new(
                    "DELETE FROM crawl_truncated WHERE job_id = ?1",
                    vec![job_id.into()],
                ),
            ])
            .await
            .map(|_| ())
    }

    async fn lexical_search(
        &self, terms: &[String], url_prefix: Option<&str>, limit: u32,
    ) -> PortResult<Vec<SearchHit>> {
        self.ranked_matches(terms, url_prefix, &[], limit).await
    }

    async fn lexical_search_containing(
        &self, terms: &[String], texts: &[String], url_prefix: Option<&str>, limit: u32,
    ) -> PortResult<Vec<SearchHit>> {
        self.ranked_matches(terms, url_prefix, texts, limit).await
    }

    async fn chunks_by_id(&self, ids: &[String]) -> PortResult<Vec<SearchHit>> {
        let mut hits = Vec::with_capacity(ids.len());
        // D1 binds at most 100 parameters per statement.
        for group in ids.chunks(90) {
            let marks = (1..=group.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
            let sql = format!(
                "SELECT {} FROM chunks c {PAGE_OF_CHUNK} WHERE c.id IN ({marks})",
                SearchHit::COLUMNS
            );
            let rows =
                self.query(&sql, group.iter().map(|id| id.as_str().into()).collect()).await?;
            hits.extend(decode::<SearchHit>(&rows)?);
        }
        // In the order asked for.
        hits.sort_by_key(|hit| ids.iter().position(|id| *id == hit.chunk_id));
        Ok(hits)
    }

    async fn page_chunks(
        &self, chunk_ids: &[String], per_page: u32,
    ) -> PortResult<Vec<PageChunks>> {
        let mut pages = vec![PageChunks::default(); chunk_ids.len()];
        // One statement for all the pages (D1 binds at most 100 parameters per statement). A page's
        // chunks are numbered from 0, so its first `per_page` are those below `per_page`. The chunk
        // asked about has its own column name: D1 keys a row by name, and a second `id` replaced
        // the first, so no chunk found its page and every answer on Workers quoted the retrieved
        // chunk alone.
        for group in chunk_ids.chunks(90) {
            let marks =
                (2..group.len() + 2).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
            let sql = format!(
                "SELECT {}, s.id AS asked_id, c.ordinal AS chunk_ordinal
                 FROM chunks s JOIN chunks c ON c.url_key = s.url_key {PAGE_OF_CHUNK}
                 WHERE s.id IN ({marks}) AND (c.ordinal < ?1 OR (s.ordinal >= ?1
                   AND c.ordinal >= s.ordinal - ?1 / 2 AND c.ordinal < s.ordinal + ?1 / 2))
                 ORDER BY s.id, c.ordinal",
                SearchHit::COLUMNS
            );
            let mut params = vec![SqlValue::from(u64::from(per_page))];
            params.extend(group.iter().map(|id| SqlValue::from(id.as_str())));
            let rows = self.query(&sql, params).await?;
            for (chunk, asked, ordinal) in decode_tagged_numbered::<SearchHit>(&rows)? {
                for (page, id) in pages.iter_mut().zip(chunk_ids) {
                    if *id == asked {
                        // The first chunk after those left out: reading resumes there.
                        if ordinal > page.chunks.len() as u64 && page.resumes_at.is_none() {
                            page.resumes_at = Some(page.chunks.len());
                        }
                        page.chunks.push(chunk.clone());
                    }
                }
            }
        }
        Ok(pages)
    }

    async fn term_counts(&self, terms: &[String]) -> PortResult<TermCounts> {
        let mut counts = vec!["(SELECT COUNT(*) FROM chunks)".to_string()];
        let mut params = Vec::new();
        for term in terms {
            let single = std::slice::from_ref(term);
            let (word, count): (_, fn(usize) -> String) = match self.db.dialect() {
                SqlDialect::Sqlite => (fts5_match_expression(single), |n| {
                    format!("(SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH ?{n})")
                }),
                SqlDialect::Postgres => (tsquery_words(single), |n| {
                    format!("(SELECT count(*) FROM chunks WHERE search @@ plainto_tsquery('docent', ?{n}))")
                }),
            };
            match word {
                Some(word) => {
                    params.push(SqlValue::from(word));
                    counts.push(count(params.len()));
                }
                // Nothing searchable in it: no chunk can contain it.
                None => counts.push("0".into()),
            }
        }
        // Each column named, so that a result keyed by column name (D1's) keeps their order: an
        // unnamed `0` would be keyed "0", and a JavaScript object lists such keys first.
        let columns: Vec<String> =
            counts.iter().enumerate().map(|(i, count)| format!("{count} AS n{i}")).collect();
        let rows = self.query(&format!("SELECT {}", columns.join(", ")), params).await?;
        let row =
            rows.first().ok_or_else(|| PortError::permanent("count query returned no row"))?;
        let counts = row_of_counts(row)?;
        Ok(TermCounts { chunks: counts[0], per_term: counts[1..].to_vec() })
    }

    async fn index_version(&self) -> PortResult<u64> {
        let rows =
            self.query("SELECT value FROM docent_meta WHERE key = 'index_version'", vec![]).await?;
        single_int(&rows)
    }

    async fn counts(&self) -> PortResult<IndexCounts> {
        let rows = self.query(&format!("SELECT {}", IndexCounts::COLUMNS), vec![]).await?;
        decode_first(&rows)?.ok_or_else(|| PortError::permanent("count query returned no row"))
    }
}

/// The columns of a document's row that [`DocumentMeta`] reads, shared with the row types that
/// join one.
macro_rules! document_columns {
    () => {
        "content_hash, etag, last_modified, job_id, links, indexed_at, links_capped"
    };
}
pub(crate) use document_columns;

impl FromRow for DocumentMeta {
    const COLUMNS: &'static str = document_columns!();
    fn from_row(row: &Columns<'_>) -> PortResult<Self> {
        Ok(DocumentMeta {
            content_hash: row.text("content_hash")?,
            etag: row.opt_text("etag")?,
            last_modified: row.opt_text("last_modified")?,
            job_id: row.opt_text("job_id")?,
            // Stored links serve discovery only: unreadable ones are none.
            links: row
                .opt_text("links")?
                .and_then(|l| serde_json::from_str(&l).ok())
                .unwrap_or_default(),
            indexed_at_ms: row.int("indexed_at")?,
            links_capped: row.int("links_capped")? != 0,
        })
    }
}

from_row!(IndexCounts =
    "(SELECT COUNT(*) FROM documents) AS documents, (SELECT COUNT(*) FROM chunks) AS chunks"
    { documents, chunks });
