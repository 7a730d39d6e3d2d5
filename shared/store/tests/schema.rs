//! The schema on both dialects: SQLite databases made before the migrations were files upgrade in
//! place, and SQLite and Postgres hold the same tables and columns apart from a stated list of
//! differences.

mod common;
mod legacy;

use std::collections::BTreeMap;

use common::{fresh_postgres_database, StoppedClock, TestDir};
use docent_core::domain::{sha256_hex, CrawlMessage, NewCrawlJob, Priority};
use docent_core::ports::{SqlDatabase, Statement};
use docent_postgres::blocking::Postgres;
use docent_sqlite::Sqlite;
use docent_store::api::CrawlStore;
use docent_store::sql_gate::SqlGate;
use docent_store::tasks::TaskQueue;
use docent_store::{
    split_script, SqlStore, MIGRATIONS_TABLE, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS,
};

/// A SQLite file in a fresh directory for the test `name`, with the directory (removed when
/// dropped).
fn sqlite_file(name: &str) -> (TestDir, Sqlite) {
    let dir = TestDir::new(&format!("schema-{name}"));
    let db = Sqlite::open(&dir.join("index.db")).unwrap();
    (dir, db)
}

async fn strings(db: &impl SqlDatabase, sql: &str, params: Vec<String>) -> Vec<Vec<String>> {
    let params = params.into_iter().map(Into::into).collect();
    let rows = db.query(&Statement::new(sql, params)).await.unwrap();
    rows.iter()
        .map(|row| {
            row.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)).collect()
        })
        .collect()
}

/// Every table, index and trigger of a SQLite database, with each table's columns as
/// `pragma table_info` describes them (the statements' text is left out: it keeps the layout it
/// was written with).
async fn sqlite_structure(db: &Sqlite) -> Vec<Vec<String>> {
    let mut structure = strings(
        db,
        "SELECT type, name, tbl_name FROM sqlite_master WHERE name <> 'sqlite_sequence' ORDER BY type, name",
        vec![],
    )
    .await;
    let tables: Vec<String> =
        structure.iter().filter(|item| item[0] == "table").map(|item| item[1].clone()).collect();
    for table in tables {
        structure.extend(
            strings(
                db,
                "SELECT ?1, name, type, \"notnull\", COALESCE(dflt_value, ''), pk FROM pragma_table_info(?1) ORDER BY cid",
                vec![table],
            )
            .await,
        );
    }
    structure
}

/// A crawl job with a queued URL and an indexed page, written as the code before the migration
/// files wrote them (only columns every version has).
async fn old_rows(db: &Sqlite) {
    db.batch(&[
        Statement::new(
            "INSERT INTO crawl_jobs (id, start_url, status, priority, max_pages, max_depth, include_globs, exclude_globs, created_at, started_at)
             VALUES ('old', 'https://d.test/', 'running', 'normal', 10, 2, '[]', '[]', 1, 1)",
            vec![],
        ),
        Statement::new(
            "INSERT INTO crawl_urls (job_id, url_key, url, depth, state, updated_at) VALUES ('old', 'k', 'https://d.test/', 0, 'queued', 1)",
            vec![],
        ),
        Statement::new(
            "INSERT INTO documents (url_key, url, title, content_hash, indexed_at) VALUES ('k', 'https://d.test/', 'Home', 'h', 1)",
            vec![],
        ),
    ])
    .await
    .unwrap();
}

#[test]
fn sqlite_databases_made_before_the_migration_files_upgrade_in_place() {
    pollster::block_on(async {
        let (_fresh_dir, fresh_db) = sqlite_file("fresh");
        let fresh = SqlStore::new(fresh_db);
        fresh.ensure_schema().await.unwrap();
        let expected = sqlite_structure(fresh.database()).await;
        for object in
            ["chunks_fts", "chunk_vectors_follow_chunks", "feedback", "crawl_urls_job_due"]
        {
            assert!(expected.iter().any(|item| item[1] == object), "{object} in {expected:?}");
        }
        let all = SQLITE_MIGRATIONS.len() as u64;
        for applied in 0..legacy::counted_changes() {
            let (_dir, db) = sqlite_file(&format!("legacy-{applied}"));
            legacy::create(&db, applied).await;
            old_rows(&db).await;
            let store = SqlStore::new(db);
            // 0001 and the changes counted after it.
            assert_eq!(store.schema_version().await.unwrap(), applied as u64 + 1);
            store.ensure_schema().await.unwrap();
            assert_eq!(store.schema_version().await.unwrap(), all, "from {applied}");
            let structure = sqlite_structure(store.database()).await;
            // The old count stays behind, unused.
            assert_eq!(
                strings(
                    store.database(),
                    "SELECT value FROM docent_meta WHERE key = 'schema_version'",
                    vec![]
                )
                .await,
                [[applied.to_string()]]
            );
            assert_eq!(
                structure, expected,
                "a database from {applied} migrations upgrades to the same schema"
            );
            let recorded = strings(
                store.database(),
                "SELECT version, name FROM docent_migrations ORDER BY version",
                vec![],
            )
            .await;
            let names: Vec<Vec<String>> = SQLITE_MIGRATIONS
                .iter()
                .enumerate()
                .map(|(i, m)| vec![(i + 1).to_string(), m.name.to_string()])
                .collect();
            assert_eq!(recorded, names);
            // The rows written before are read with the new columns' defaults.
            let job = store.job("old").await.unwrap().expect("the old job");
            assert_eq!(job.pages.discovered, 1);
            let stale = store.take_stale_queued(2, 10, 3).await.unwrap();
            assert_eq!(
                stale,
                vec![CrawlMessage::new("old", "https://d.test/", 0, Priority::Normal)]
            );
            // Nothing applies twice.
            store.ensure_schema().await.unwrap();
            assert_eq!(store.schema_version().await.unwrap(), all);
        }
    });
}

#[test]
fn a_new_sqlite_database_records_every_migration_once() {
    pollster::block_on(async {
        let store = SqlStore::new(Sqlite::in_memory().unwrap());
        assert_eq!(store.schema_version().await.unwrap(), 0);
        store.ensure_schema().await.unwrap();
        store.ensure_schema().await.unwrap();
        assert_eq!(store.schema_version().await.unwrap(), SQLITE_MIGRATIONS.len() as u64);
        let job = NewCrawlJob {
            id: "j".into(),
            start_url: "https://d.test/".into(),
            max_pages: 5,
            max_depth: 1,
            include: vec![],
            exclude: vec![],
            priority: Priority::High,
        };
        let start = CrawlMessage::new("j", "https://d.test/", 0, Priority::High);
        store.create_job(&job, &start, 1).await.unwrap();
        assert_eq!(store.job("j").await.unwrap().unwrap().priority, Priority::High);
    });
}

/// A column as both dialects can describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    kind: &'static str,
    nullable: bool,
}

type Tables = BTreeMap<String, BTreeMap<String, Column>>;

/// The kind of a declared or reported column type: what the store's statements rely on.
fn kind(declared: &str) -> &'static str {
    let upper = declared.to_ascii_uppercase();
    if upper.contains("INT") {
        "integer"
    } else if upper.contains("TEXT") || upper.contains("CHAR") {
        "text"
    } else if upper.contains("REAL") || upper.contains("DOUBLE") || upper.contains("FLOAT") {
        "real"
    } else {
        "other"
    }
}

/// Where the dialects differ on purpose: lexical search (an FTS5 table and its shadow tables on
/// SQLite; a generated `tsvector` column on Postgres) and vector storage (sign bits and int8 codes
/// on SQLite; a pgvector column on Postgres). SQLite's own bookkeeping (`sqlite_sequence`) is not
/// Docent's.
const SQLITE_ONLY_TABLES: &[&str] = &["chunks_fts", "sqlite_sequence", "vector_centres"];
const SQLITE_ONLY_COLUMNS: &[(&str, &str)] =
    &[("chunk_vectors", "bits"), ("chunk_vectors", "int8")];
const POSTGRES_ONLY_COLUMNS: &[(&str, &str)] =
    &[("chunks", "search"), ("chunk_vectors", "embedding")];

fn without(mut tables: Tables, tables_only: &[&str], columns_only: &[(&str, &str)]) -> Tables {
    tables.retain(|table, _| !tables_only.iter().any(|only| table.starts_with(only)));
    for (table, column) in columns_only {
        let removed = tables.get_mut(*table).and_then(|columns| columns.remove(*column));
        assert!(removed.is_some(), "the allowed difference {table}.{column} no longer exists");
    }
    tables
}

/// The store's schema on SQLite with the task table and the politeness gates (which their own
/// components create on SQLite, and which Postgres has too).
async fn sqlite_tables() -> Tables {
    let dir = TestDir::new("schema-dialects");
    let path = dir.join("index.db");
    let open = || Sqlite::open(&path).unwrap();
    SqlStore::new(open()).ensure_schema().await.unwrap();
    TaskQueue::new(open(), StoppedClock).ensure_schema().await.unwrap();
    SqlGate::new(open(), StoppedClock).ensure_schema().await.unwrap();
    let db = open();
    let mut tables = Tables::new();
    let names = strings(&db, "SELECT name FROM sqlite_master WHERE type = 'table'", vec![]).await;
    for [name] in names.iter().map(|row| <[String; 1]>::try_from(row.clone()).unwrap()) {
        let columns = strings(
            &db,
            "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1)",
            vec![name.clone()],
        )
        .await;
        let columns = columns
            .into_iter()
            .map(|c| {
                // A key column is never null on Postgres; SQLite reports it nullable unless
                // declared NOT NULL (a quirk for keys that are not the rowid).
                let nullable = c[2] == "0" && c[3] == "0";
                (c[0].clone(), Column { kind: kind(&c[1]), nullable })
            })
            .collect();
        tables.insert(name, columns);
    }
    tables
}

/// The Postgres schema as the server reports it.
async fn postgres_tables(url: &str) -> Tables {
    let open = || Postgres::connect(url).unwrap();
    SqlStore::new(open()).ensure_schema().await.unwrap();
    TaskQueue::new(open(), StoppedClock).ensure_schema().await.unwrap();
    SqlGate::new(open(), StoppedClock).ensure_schema().await.unwrap();
    let db = open();
    let rows = strings(
        &db,
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text FROM information_schema.columns
         WHERE table_schema = current_schema()",
        vec![],
    )
    .await;
    let mut tables = Tables::new();
    for row in rows {
        let column = Column { kind: kind(&row[2]), nullable: row[3] == "YES" };
        tables.entry(row[0].clone()).or_default().insert(row[1].clone(), column);
    }
    tables
}

/// The Postgres schema as its migration files (and the tables the store's components create on
/// any dialect) declare it, for when no server is at hand.
fn declared_postgres_tables() -> Tables {
    let mut statements: Vec<String> =
        POSTGRES_MIGRATIONS.iter().flat_map(|m| split_script(m.script)).collect();
    statements.push(MIGRATIONS_TABLE.to_string());
    statements.extend(docent_store::sql_gate::SCHEMA.iter().map(|s| s.to_string()));
    let mut tables = Tables::new();
    for statement in statements {
        let words: Vec<&str> = statement.split_whitespace().collect();
        if let ["ALTER", "TABLE", table, "ADD", "COLUMN", name, declared, ..] = words[..] {
            let nullable = !statement.to_ascii_uppercase().contains("NOT NULL");
            let column = Column { kind: kind(declared), nullable };
            tables.get_mut(table).expect("ALTER of a declared table").insert(name.into(), column);
            continue;
        }
        if let ["ALTER", "TABLE", table, "DROP", "COLUMN", name] = words[..] {
            tables.get_mut(table).expect("ALTER of a declared table").remove(name);
            continue;
        }
        if !matches!(words[..], ["CREATE", "TABLE", ..]) {
            assert!(
                !statement.to_ascii_uppercase().starts_with("ALTER TABLE"),
                "teach this parser this ALTER TABLE: {statement}"
            );
            continue;
        }
        let name = words[2..].iter().find(|w| !["IF", "NOT", "EXISTS"].contains(w)).unwrap();
        let name = name.split('(').next().unwrap().to_string();
        let body = &statement[statement.find('(').unwrap() + 1..statement.rfind(')').unwrap()];
        let mut columns = BTreeMap::new();
        for item in top_level_items(body) {
            let words: Vec<&str> = item.split_whitespace().collect();
            let upper = item.to_ascii_uppercase();
            if ["PRIMARY", "UNIQUE", "FOREIGN", "CHECK", "CONSTRAINT"].contains(&words[0]) {
                continue;
            }
            let nullable = !upper.contains("NOT NULL") && !upper.contains("PRIMARY KEY");
            columns.insert(words[0].to_string(), Column { kind: kind(words[1]), nullable });
        }
        tables.insert(name, columns);
    }
    tables
}

fn top_level_items(body: &str) -> Vec<&str> {
    let (mut items, mut depth, mut start) = (Vec::new(), 0usize, 0);
    for (i, c) in body.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                items.push(body[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(body[start..].trim());
    items
}

#[test]
fn both_dialects_have_the_same_tables_and_columns() {
    pollster::block_on(async {
        let sqlite = without(sqlite_tables().await, SQLITE_ONLY_TABLES, SQLITE_ONLY_COLUMNS);
        let declared = without(declared_postgres_tables(), &[], POSTGRES_ONLY_COLUMNS);
        assert_eq!(sqlite.len(), 22, "{:?}", sqlite.keys());
        assert_eq!(sqlite["crawl_urls"].len(), 12);
        assert_eq!(sqlite, declared, "SQLite against the Postgres migration files");
        if let Some(url) = fresh_postgres_database("schema_dialects") {
            let postgres = without(postgres_tables(&url).await, &[], POSTGRES_ONLY_COLUMNS);
            assert_eq!(sqlite, postgres, "SQLite against a Postgres database");
        }
    });
}

/// Deployed databases have run these statements: an applied migration is never edited (a change is
/// a new file), or databases made before and after the edit would differ. Comments may change; the
/// statements may not.
#[test]
fn applied_migrations_never_change() {
    let applied = [
        ("sqlite/0001_init", "aaceefabb5ab7b1ba36a0f05a497f2b58f5cc0642f0160755ee7eff2859fe39e"),
        (
            "sqlite/0002_crawl_url_lastmod_and_sweep",
            "1973c1d6e81fcb79662e0bddff82502f763b4a6f7bb101efe773f3ce9248fe1e",
        ),
        (
            "sqlite/0003_chunk_vectors",
            "dea3748afe1f26e46d107a6a1c2e1e33911daed8152d534aaf1b450b9c149d1c",
        ),
        (
            "sqlite/0004_crawl_url_due_at",
            "176c5bc41dd12a32223ea0383edc2a6214c4a322d5678f8fe21f90d560c99845",
        ),
        (
            "sqlite/0005_document_links_capped",
            "00493ad8791007e76bee74e46fb47a7d9b796a674d6dc7514443be4796e364fd",
        ),
        (
            "sqlite/0006_feedback_and_usage",
            "edc1d63983f393071db73313339b5a811ddbcb41382271bbca9f482d67586292",
        ),
        (
            "sqlite/0007_document_page_signals",
            "4d0f4b4584fcd15e6a66e6ffb6252cd697b5e6be038f0b2e2f6868636a9598e4",
        ),
        (
            "sqlite/0008_rate_counters",
            "fdca5fc069cb0c973a2789ada7ee3744f6c3eda5dd2fc878a6e048d6c3385fa1",
        ),
        ("sqlite/0009_metrics", "210be979b4df4b961a0424651d1c0fd3028c3f42ecdd488c0d0bbfc6f1bd7d32"),
        (
            "sqlite/0010_crawl_left_out",
            "465ddd3e6abc4e804cb77a747c7c0895a6e39e2a2d61209306d703d50e273962",
        ),
        (
            "sqlite/0011_declined_questions",
            "34c098cc46e9e85c330763bf5277e77828613104a88137fff12d1a72f494eeda",
        ),
        (
            "sqlite/0012_vector_centres",
            "63f59d5902651a563f4b272ecadb8f4bfb730f84bb9dccf9b406fed03073d15e",
        ),
        (
            "sqlite/0013_document_inlinks",
            "665ffd98e88830b1a5563ea84951e555b65c108cbe53d664a200cbc5dcdbbacf",
        ),
        (
            "sqlite/0014_document_content_hash",
            "313a6ecd07c983a1351530e58098e29da5954a6a80ac19dadb1c7aed73f9b773",
        ),
        ("postgres/0001_init", "05c322476ce776f05208611adaf5f6b8fd13d80e865b2ab1f1514983aae8c18b"),
        (
            "postgres/0002_document_page_signals",
            "4d0f4b4584fcd15e6a66e6ffb6252cd697b5e6be038f0b2e2f6868636a9598e4",
        ),
        (
            "postgres/0003_rate_counters",
            "fdca5fc069cb0c973a2789ada7ee3744f6c3eda5dd2fc878a6e048d6c3385fa1",
        ),
        (
            "postgres/0004_metrics",
            "210be979b4df4b961a0424651d1c0fd3028c3f42ecdd488c0d0bbfc6f1bd7d32",
        ),
        (
            "postgres/0005_crawl_left_out",
            "465ddd3e6abc4e804cb77a747c7c0895a6e39e2a2d61209306d703d50e273962",
        ),
        (
            "postgres/0006_declined_questions",
            "34c098cc46e9e85c330763bf5277e77828613104a88137fff12d1a72f494eeda",
        ),
        (
            "postgres/0007_document_inlinks",
            "665ffd98e88830b1a5563ea84951e555b65c108cbe53d664a200cbc5dcdbbacf",
        ),
        (
            "postgres/0008_search_splits_dotted_names",
            "2dc95288bfe860ac6ae57d53ff02f98596c20a9369de56c0438b43642076c455",
        ),
        (
            "postgres/0009_document_content_hash",
            "313a6ecd07c983a1351530e58098e29da5954a6a80ac19dadb1c7aed73f9b773",
        ),
    ];
    let files = SQLITE_MIGRATIONS
        .iter()
        .map(|m| ("sqlite", m))
        .chain(POSTGRES_MIGRATIONS.iter().map(|m| ("postgres", m)));
    let actual: Vec<(String, String)> = files
        .map(|(dialect, m)| {
            let digest = sha256_hex(split_script(m.script).join("\n").as_bytes());
            (format!("{dialect}/{}", m.name), digest)
        })
        .collect();
    let edited: Vec<String> = actual
        .iter()
        .zip(applied)
        .filter(|((name, digest), frozen)| (name.as_str(), digest.as_str()) != *frozen)
        .map(|((name, digest), _)| format!("{name} now {digest}"))
        .collect();
    assert!(edited.is_empty(), "applied migrations were edited: {edited:#?}");
    assert_eq!(actual.len(), applied.len(), "a new migration: record its digest here {actual:?}");
}
