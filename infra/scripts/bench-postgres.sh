#!/usr/bin/env bash
# The Postgres store next to the SQLite one, natively on the same corpus: retrieval quality on the
# evaluation set (tests/eval, PostgreSQL 15 docs), then index throughput and query latency at about
# 22,000 chunks (the corpus of bench-search.sh). Starts its own Postgres 16 + pgvector. Prints markdown.
#
#   infra/scripts/bench-postgres.sh      (needs postgresql-doc-15 and rust-doc from Debian)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PG_DOCS=/usr/share/doc/postgresql-doc-15/html
RUST=/usr/share/doc/rust-doc/html
[ -d "$PG_DOCS" ] && [ -d "$RUST" ] || die "needs the Debian packages postgresql-doc-15 and rust-doc"
SITES=("$PG_DOCS" "$RUST/book" "$RUST/reference" "$RUST/nomicon" "$RUST/edition-guide" "$RUST/embedded-book" "$RUST/rustc"
       "$RUST/rustdoc" "$RUST/unstable-book" "$RUST/rust-by-example" "$RUST/std/collections")
cargo build --release --locked -q -p docent-cli
DOCENT="$CARGO_TARGET_DIR/release/docent"
cd "$ROOT"
WORK=$(mktemp -d /tmp/docent-bench-pg.XXXXXX)
PG_DIR=$(mktemp -d /tmp/docent-bench-pgdata.XXXXXX)
trap '"$ROOT/infra/scripts/postgres.sh" stop "$PG_DIR"; rm -rf "$WORK" "$PG_DIR"' EXIT
SERVER=$("$ROOT/infra/scripts/postgres.sh" start "$PG_DIR" "${BENCH_PG_PORT:-55449}")
database() { psql -q "$SERVER" -c "CREATE DATABASE $1" >/dev/null; echo "${SERVER%/postgres}/$1"; }

echo "## The Postgres store next to SQLite ($(nproc) cores, $("$ROOT/infra/scripts/postgres.sh" install >/dev/null; psql -Atc 'SHOW server_version' "$SERVER"), pgvector $(psql -Atc "SELECT default_version FROM pg_available_extensions WHERE name = 'vector'" "$SERVER"))"
echo
echo "### Retrieval quality (tests/eval, 60 queries, built-in embedder)"
echo
echo "| store | mode | clean hit@5 | clean MRR@10 | typos hit@5 | typos MRR@10 |"
echo "|---|---|---|---|---|---|"
EVAL_PG=$(database eval)
for store in sqlite postgres; do
  db="$WORK/eval.db"; [ "$store" = postgres ] && db=$EVAL_PG
  "$DOCENT" index "$PG_DOCS" --db "$db" >/dev/null 2>&1
  for mode in lexical hybrid; do
    row="| $store | $mode"
    for set in postgres-queries postgres-queries-typos; do
      "$DOCENT" search --db "$db" --mode "$mode" --jsonl < "tests/eval/$set.jsonl" > "$WORK/results.jsonl"
      row+=$(python3 tests/eval/evaluate.py --queries "tests/eval/$set.jsonl" --results "$WORK/results.jsonl" --json \
        | python3 -c 'import json,sys; r=json.load(sys.stdin); print(" | %.3f | %.3f" % (r["hit@5"], r["mrr@10"]), end="")')
    done
    echo "$row |"
  done
done

echo
echo "### ~22,000 chunks: index throughput and query latency (docent index / docent search --timings)"
bench_queries > "$WORK/queries.jsonl"
BIG_PG=$(database big)
for store in sqlite postgres; do
  db="$WORK/big.db"; [ "$store" = postgres ] && db=$BIG_PG
  echo
  echo "#### $store"
  echo '```'
  bench_index_sites "$db" "${SITES[@]}"
  [ "$store" = postgres ] && psql -q "$db" -c "ANALYZE" >/dev/null
  for mode in lexical hybrid; do "$DOCENT" search --db "$db" --mode "$mode" --jsonl --timings < "$WORK/queries.jsonl" 2>&1 >/dev/null; done
  echo '```'
done
