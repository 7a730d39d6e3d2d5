#!/usr/bin/env bash
# Search at about 20,000 chunks: index throughput and query latency natively (`docent index`,
# `docent search --timings`) and on workerd (crawl through the queues, then `wrk -c50` on /api/search),
# next to a handler that does no I/O (GET /v1/models) in the same run. Prints a markdown report.
#
#   infra/scripts/bench-search.sh      (needs postgresql-doc-15, rust-doc and wrk from Debian)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
PG=/usr/share/doc/postgresql-doc-15/html
RUST=/usr/share/doc/rust-doc/html
[ -d "$PG" ] && [ -d "$RUST" ] || die "needs the Debian packages postgresql-doc-15 and rust-doc"
# The corpus: the PostgreSQL manual and a part of the Rust documentation, about 22,000 chunks.
SITES=("$PG" "$RUST/book" "$RUST/reference" "$RUST/nomicon" "$RUST/edition-guide" "$RUST/embedded-book" "$RUST/rustc"
       "$RUST/rustdoc" "$RUST/unstable-book" "$RUST/rust-by-example" "$RUST/std/collections")
"$ROOT/infra/scripts/build-worker.sh" >/dev/null
cargo build --release --locked -q -p docent-cli
DOCENT="$CARGO_TARGET_DIR/release/docent"
cd "$ROOT"
WORK=$(mktemp -d)
cleanup() {
  [ -n "${DOCENT_PID:-}" ] && kill -TERM -- "-$DOCENT_PID" 2>/dev/null || true
  [ -n "${SITE_PID:-}" ] && kill "$SITE_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
bench_queries > "$WORK/queries.jsonl"

echo "## Search at ~20,000 chunks ($(nproc) cores)"
echo
echo "### Native (docent index / docent search --timings)"
echo '```'
bench_index_sites "$WORK/native.db" "${SITES[@]}"
for mode in lexical hybrid; do "$DOCENT" search --db "$WORK/native.db" --mode "$mode" --jsonl --timings < "$WORK/queries.jsonl" 2>&1 >/dev/null; done
echo '```'

# The same corpus through the Worker: one site server for all sources, one crawl job per source.
SITE_PORT=$(free_port); PORT=$(free_port)
python3 -m http.server "$SITE_PORT" --bind 127.0.0.1 --directory /usr/share/doc >/dev/null 2>&1 & SITE_PID=$!
env DOCENT_CRAWL_RATE=0 DOCENT_CRAWL_CONCURRENCY=0 DOCENT_CRAWL_GLOBAL_RATE=0 DOCENT_SEARCH_RATE_LIMIT=0 DOCENT_CRAWL_MAX_PAGES=5000 \
  DOCENT_SEARCH_CACHE_SECONDS="${SEARCH_CACHE_SECONDS:-0}" \
  PORT=$PORT DOCENT_STATE_DIR="$WORK/state" DOCENT_SKIP_BUILD=1 setsid "$ROOT/infra/scripts/dev.sh" >"$WORK/docent.log" 2>&1 & DOCENT_PID=$!
BASE="http://127.0.0.1:$PORT"
wait_for_docent "$BASE" "$WORK/docent.log"
AUTH='Authorization: Bearer docent-dev-admin-key'
start=$(date +%s.%N)
jobs=()
for site in "${SITES[@]}"; do
  path=${site#/usr/share/doc/}
  page=index.html; [ -f "$site/index.html" ] || page=$(ls "$site" | grep -m1 '\.html$')
  jobs+=("$(curl -sf -X POST "$BASE/api/crawls" -H "$AUTH" -H 'Content-Type: application/json' \
    -d "{\"url\": \"http://127.0.0.1:$SITE_PORT/$path/$page\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')")
done
for job in "${jobs[@]}"; do
  for _ in $(seq 1 1200); do
    status=$(curl -sf "$BASE/api/crawls/$job" -H "$AUTH" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
    case "$status" in done|failed|cancelled) break;; esac; sleep 1
  done
done
end=$(date +%s.%N)
index=$(curl -sf "$BASE/api/index" -H "$AUTH")
echo
echo "### workerd"
echo '```'
python3 -c "import json; i=json.loads('$index'); s=$end-$start; print(f'crawled and indexed through the queues: {i[\"documents\"]} documents, {i[\"chunks\"]} chunks in {s:.0f} s = {i[\"chunks\"]/s:.0f} chunks/s')"
cat > "$WORK/search.lua" <<LUA
local queries = {}
for line in io.lines("$WORK/queries.jsonl") do
  local q = line:match('"q": "([^"]*)"')
  if q then queries[#queries + 1] = q:gsub("[^%w]", function(c) return string.format("%%%02X", string.byte(c)) end) end
end
local i = 0
request = function()
  i = i % #queries + 1
  return wrk.format("GET", "/api/search?k=10&q=" .. queries[i])
end
LUA
for mode in lexical hybrid; do
  echo "GET /api/search (mode $mode, 600 queries in rotation, edge cache ${SEARCH_CACHE_SECONDS:-0} s), 50 connections, 20 s:"
  sed -i "s/&mode=[a-z]*//; s|/api/search?k=10|/api/search?k=10\&mode=$mode|" "$WORK/search.lua"
  wrk -t2 -c50 -d20s --latency -s "$WORK/search.lua" "$BASE" | grep -E "50%|90%|99%|Requests/sec|Non-2xx|Socket errors"
done
echo "no-op handler (GET /v1/models), 50 connections, 20 s:"
wrk -t2 -c50 -d20s --latency "$BASE/v1/models" | grep -E "50%|90%|99%|Requests/sec|Non-2xx|Socket errors"
echo '```'
