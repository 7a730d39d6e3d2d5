//! What the lexical search (`documents.rs`) and the hybrid search fused in Postgres (`vectors.rs`)
//! share: BM25 in SQL, and chunks read back as search hits with their pages' ranking signals.

use crate::rows::{decode_scored, Columns, FromRow, Scored};
use docent_core::domain::PageSignals;
use docent_core::ports::{PortResult, Row};
use docent_core::retrieval::search::SearchHit;

/// BM25 column weights for (title, heading, text): a match in a page title or section heading says
/// more about what the chunk is about than one in its body.
pub(crate) const BM25_WEIGHTS: (f64, f64, f64) = (4.0, 2.5, 1.0);

/// Postgres lexical search: BM25 as the SQLite store's FTS5 computes it, over the stored
/// `tsvector`. Postgres has no BM25, and `ts_rank` (no IDF, no saturation relative to the average
/// length) ranked far worse on the evaluation set (docs/BENCHMARKS.md). The CTEs, ending in `scored
/// (id, score)`:
/// - `words`, `lexemes`: the query's words (`?1`, from
///   [`tsquery_words`](docent_core::retrieval::search::tsquery_words)) as the index stores them,
///   each with the phrase of the word it came from: `maintenance_work_mem` is three lexemes that
///   count only where they stand together, as FTS5 reads a quoted phrase (apart, `work` and `mem`
///   match half the manual);
/// - `stats`: the chunk count (planner statistics, or exact while under 1,000 or never analysed)
///   and the average chunk length, from a sample of 250 chunks (reading 1,000 chunks' text cost a
///   sixth of a search). A chunk's length is its characters (title, heading and text), in
///   proportion to the tokens FTS5 counts; the `tsvector`'s length, its distinct lexemes, made a
///   chunk that repeats a few words short;
/// - `terms`: each lexeme's IDF from its phrase's document frequency (counted through the GIN
///   index), shared among the phrase's lexemes so that a phrase weighs as one word;
/// - `candidates`: the 300 best chunks that hold a phrase (twice the longest list asked for), by
///   IDF-weighted `ts_rank` with the fields weighed in the BM25's proportions (`ts_rank`'s own,
///   10 : 4 : 1, filled the list with chunks of pages titled with a common word, SQLAlchemy's
///   "ORM …", before the chunk that defines the rare name asked about), with the URL prefix (`?3`)
///   applied, and with `containing`, the parameters of texts each must hold one of verbatim, so the
///   exact scoring below reads a bounded number of tsvectors however common a word is;
/// - `scored`: BM25 (k1 = 1.2, b = 0.75) with the term frequency weighted by field as FTS5's column
///   weights do (title 4, heading 2.5, body 1: the tsvector's weights A, B and D).
pub(crate) fn postgres_bm25(containing: &[String]) -> String {
    let containing = any_held(containing, "strpos");
    // `ts_rank`'s weights for D, C, B and A: the BM25 column weights relative to the title's.
    let (title, heading, body) = BM25_WEIGHTS;
    let field_weights = format!("'{{{}, 0, {}, 1}}'", body / title, heading / title);
    format!(
        "words AS (SELECT w.term, u.lexeme, count(*) OVER (PARTITION BY w.term) AS parts
               FROM regexp_split_to_table(?1, ' ') AS w(term) CROSS JOIN LATERAL unnest(to_tsvector('docent', w.term)) AS u),
     lexemes AS (SELECT DISTINCT ON (lexeme) lexeme, parts, phraseto_tsquery('docent', term) AS phrase
                 FROM words ORDER BY lexeme, parts),
     stats AS (SELECT CASE WHEN reltuples < 1000 THEN (SELECT count(*) FROM chunks)::float8 ELSE reltuples::float8 END AS n,
                      (SELECT greatest(avg(length(title) + length(heading) + length(text)), 1)::float8 FROM (SELECT title, heading, text FROM chunks LIMIT 250) AS sample) AS avgdl
               FROM pg_class WHERE oid = 'chunks'::regclass),
     terms AS (SELECT l.lexeme, l.phrase, quote_literal(l.lexeme)::tsquery AS q,
                      ln(1 + (greatest(stats.n, d.df) - d.df + 0.5) / (d.df + 0.5)) / l.parts AS idf
               FROM lexemes l CROSS JOIN stats
               CROSS JOIN LATERAL (SELECT count(*)::float8 AS df FROM chunks WHERE search @@ l.phrase) AS d),
     candidates AS (SELECT c.id FROM chunks c JOIN terms ON c.search @@ terms.phrase
                    WHERE (?3::text IS NULL OR substr(c.url, 1, length(?3)) = ?3){containing}
                    GROUP BY c.id ORDER BY SUM(terms.idf * ts_rank({field_weights}, c.search, terms.q)) DESC, c.id LIMIT 300),
     scored AS (SELECT c.id, SUM(t.idf * f.tf * 2.2 / (f.tf + 1.2 * (0.25 + 0.75 * (length(c.title) + length(c.heading) + length(c.text)) / stats.avgdl)))::float8 AS score
                FROM candidates k JOIN chunks c ON c.id = k.id CROSS JOIN stats
                CROSS JOIN LATERAL unnest(c.search) AS u
                JOIN terms t ON t.lexeme = u.lexeme AND c.search @@ t.phrase
                CROSS JOIN LATERAL (SELECT SUM(CASE w WHEN 'A' THEN 4.0 WHEN 'B' THEN 2.5 ELSE 1.0 END) AS tf FROM unnest(u.weights) AS w) AS f
                GROUP BY c.id)"
    )
}

/// ` AND (f(c.text, p1) > 0 OR …)` for the parameters `texts` (none: nothing), `f` SQLite's `instr`
/// or Postgres's `strpos`.
pub(crate) fn any_held(texts: &[String], f: &str) -> String {
    if texts.is_empty() {
        return String::new();
    }
    let held: Vec<String> = texts.iter().map(|p| format!("{f}(c.text, {p}) > 0")).collect();
    format!(" AND ({})", held.join(" OR "))
}

/// The join that [`SearchHit::COLUMNS`] needs after the chunks table `c`: its page, `d`.
pub(crate) const PAGE_OF_CHUNK: &str = "JOIN documents d ON d.url_key = c.url_key";

/// A chunk as search returns it, with its page's ranking signals (see [`PAGE_OF_CHUNK`]), with a
/// score of 0.
impl FromRow for SearchHit {
    const COLUMNS: &'static str =
        "c.id, c.url, c.title, c.heading, c.text, d.link_list_percent, d.code_text_percent, d.inlinks";
    fn from_row(row: &Columns<'_>) -> PortResult<Self> {
        let percent = |name| row.int(name).map(|p| p.min(100) as u8);
        Ok(SearchHit {
            chunk_id: row.text("id")?,
            url: row.text("url")?,
            title: row.text("title")?,
            heading: row.text("heading")?,
            text: row.text("text")?,
            score: 0.0,
            page: PageSignals {
                link_list_percent: percent("link_list_percent")?,
                code_text_percent: percent("code_text_percent")?,
                inlinks: u32::try_from(row.int("inlinks")?).unwrap_or(u32::MAX),
            },
            more: Vec::new(),
        })
    }
}

/// Hits from rows of [`SearchHit::COLUMNS`] and a score, the score times `sign` (-1 where the
/// database's lower is better).
pub(crate) fn scored_hits(rows: &[Row], sign: f64) -> PortResult<Vec<SearchHit>> {
    Ok(decode_scored::<SearchHit>(rows)?
        .into_iter()
        .map(|Scored { item, score }| SearchHit { score: sign * score.unwrap_or(0.0), ..item })
        .collect())
}
