#!/usr/bin/env bash
# Uncached search against a handler that does no I/O, on workerd, over the PostgreSQL manual the
# test command caches: the Worker crawls it (politeness, per-client limits and the search cache
# off), then `wrk -t2 -c50 -d15s` on `GET /v1/models` and on `/api/search` rotating through the 60
# PostgreSQL queries, two rounds. Prints each round's requests per second and their ratio.
#
#   infra/scripts/bench-search-noop.sh     (needs wrk: apt-get install wrk)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
SITE="${DOCENT_TEST_POSTGRES_MANUAL:-$HOME/.cache/docent/manuals/usr/share/doc/postgresql-doc-15/html}"
[ -d "$SITE" ] || die "$SITE is missing (infra/scripts/test.sh caches the PostgreSQL manual)"
"$ROOT/infra/scripts/build-worker.sh" >/dev/null
cd "$ROOT"
WORK=$(mktemp -d)
SITE_PORT=$(free_port)
PORT=$(free_port)
cleanup() {
  [ -n "${DOCENT_PID:-}" ] && kill -TERM -- "-$DOCENT_PID" 2>/dev/null || true
  [ -n "${SITE_PID:-}" ] && kill "$SITE_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
python3 -m http.server "$SITE_PORT" --bind 127.0.0.1 --directory "$SITE" >/dev/null 2>&1 & SITE_PID=$!
env DOCENT_CRAWL_RATE=0 DOCENT_CRAWL_CONCURRENCY=0 DOCENT_CRAWL_GLOBAL_RATE=0 DOCENT_SEARCH_RATE_LIMIT=0 \
  DOCENT_CHAT_RATE_LIMIT=0 DOCENT_SEARCH_CACHE_SECONDS=0 PORT=$PORT DOCENT_STATE_DIR="$WORK/state" \
  DOCENT_SKIP_BUILD=1 setsid "$ROOT/infra/scripts/dev.sh" >"$WORK/docent.log" 2>&1 & DOCENT_PID=$!
BASE="http://127.0.0.1:$PORT"
AUTH='Authorization: Bearer docent-dev-admin-key'
wait_for_docent "$BASE" "$WORK/docent.log"
id=$(curl -sf -X POST "$BASE/api/crawls" -H "$AUTH" -H 'Content-Type: application/json' \
  -d "{\"url\": \"http://127.0.0.1:$SITE_PORT/index.html\", \"max_pages\": 100000}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
while :; do
  status=$(curl -sf "$BASE/api/crawls/$id" -H "$AUTH" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
  case "$status" in done|failed|cancelled) break;; esac
  sleep 1
done
search_rotation_lua "$WORK/search.lua"
sleep 2
for round in 1 2; do
  noop=$(wrk -t2 -c50 -d15s "$BASE/v1/models" | wrk_rate)
  search=$(wrk -t2 -c50 -d15s -s "$WORK/search.lua" "$BASE" | wrk_rate)
  echo "round $round: no-op $noop req/s, uncached search $search req/s, ratio $(python3 -c "print(round($search / $noop, 3))")"
done
