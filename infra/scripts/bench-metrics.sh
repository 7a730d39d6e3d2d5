#!/usr/bin/env bash
# What keeping metrics costs: uncached search and cached chat throughput on workerd with metrics on
# and off (DOCENT_METRICS), over one index of the PostgreSQL manual, in three rounds that alternate
# which goes first (on/off, off/on, on/off) so drift shows and cancels. wrk -t2 -c50 for 15 s per
# measurement. Prints a markdown table and the on/off ratio of the medians.
#
#   infra/scripts/bench-metrics.sh     (needs wrk; the manual comes from the test command's cache)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
MANUAL="${DOCENT_TEST_POSTGRES_MANUAL:-$HOME/.cache/docent/manuals/usr/share/doc/postgresql-doc-15/html}"
[ -f "$MANUAL/index.html" ] || die "no PostgreSQL manual at $MANUAL: run the test command once (it fetches postgresql-doc-15)"
"$ROOT/infra/scripts/build-worker.sh" >/dev/null
cd "$ROOT"
WORK=$(mktemp -d)
stop_docent() { [ -n "${DOCENT_PID:-}" ] && { kill -TERM -- "-$DOCENT_PID" 2>/dev/null || true; wait "$DOCENT_PID" 2>/dev/null || true; DOCENT_PID=; }; }
cleanup() { stop_docent; [ -n "${SITE_PID:-}" ] && kill "$SITE_PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
AUTH='Authorization: Bearer docent-dev-admin-key'
SITE_PORT=$(free_port)
python3 -m http.server "$SITE_PORT" --bind 127.0.0.1 --directory "$MANUAL" >/dev/null 2>&1 & SITE_PID=$!

# start_docent <state dir> <metrics on|off>
start_docent() {
  PORT=$(free_port)
  env DOCENT_METRICS="$2" DOCENT_CRAWL_RATE=0 DOCENT_CRAWL_CONCURRENCY=0 DOCENT_CRAWL_GLOBAL_RATE=0 \
    DOCENT_SEARCH_RATE_LIMIT=0 DOCENT_CHAT_RATE_LIMIT=0 DOCENT_SEARCH_CACHE_SECONDS=0 DOCENT_CRAWL_MAX_PAGES=5000 \
    PORT=$PORT DOCENT_STATE_DIR="$1" DOCENT_SKIP_BUILD=1 setsid "$ROOT/infra/scripts/dev.sh" >"$WORK/docent-$2.log" 2>&1 & DOCENT_PID=$!
  BASE="http://127.0.0.1:$PORT"
  wait_for_docent "$BASE" "$WORK/docent-$2.log"
}

# The index, built once and copied for every measurement.
start_docent "$WORK/index" on
job=$(curl -sf -X POST "$BASE/api/crawls" -H "$AUTH" -H 'Content-Type: application/json' \
  -d "{\"url\": \"http://127.0.0.1:$SITE_PORT/index.html\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
for _ in $(seq 1 900); do
  status=$(curl -sf "$BASE/api/crawls/$job" -H "$AUTH" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
  case "$status" in done|failed|cancelled) break;; esac; sleep 1
done
pages=$(curl -sf "$BASE/api/index" -H "$AUTH" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["documents"], "pages,", d["chunks"], "chunks")')
stop_docent

# Uncached searches rotate through the PostgreSQL query set; cached chat asks one question.
search_rotation_lua "$WORK/search.lua"
cat > "$WORK/chat.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"message": "How do I create a partial index?"}'
LUA

echo "## What metrics cost on workerd ($(nproc) cores; $pages; wrk -t2 -c50 -d15s)"
echo
echo "| round | metrics | uncached search (req/s) | cached chat (req/s) |"
echo "|---|---|---|---|"
declare -A search chat
orders=("on off" "off on" "on off")
for round in 1 2 3; do
  for metrics in ${orders[$((round - 1))]}; do
    rm -rf "$WORK/run"; cp -r "$WORK/index" "$WORK/run"
    start_docent "$WORK/run" "$metrics"
    curl -sf -X POST "$BASE/api/chat" -H 'Content-Type: application/json' -d '{"message": "How do I create a partial index?"}' >/dev/null
    wrk -t2 -c50 -d3s -s "$WORK/search.lua" "$BASE" >/dev/null
    s=$(wrk -t2 -c50 -d15s -s "$WORK/search.lua" "$BASE" | wrk_rate)
    c=$(wrk -t2 -c50 -d15s -s "$WORK/chat.lua" "$BASE/api/chat" | wrk_rate)
    search[$round$metrics]=$s; chat[$round$metrics]=$c
    echo "| $round | $metrics | $s | $c |"
    stop_docent
  done
done
echo
python3 - "${search[1on]}" "${search[2on]}" "${search[3on]}" "${search[1off]}" "${search[2off]}" "${search[3off]}" \
  "${chat[1on]}" "${chat[2on]}" "${chat[3on]}" "${chat[1off]}" "${chat[2off]}" "${chat[3off]}" <<'PY'
import statistics, sys
v = [float(x) for x in sys.argv[1:]]
median = lambda xs: statistics.median(xs)
print(f"medians on/off: uncached search {median(v[0:3]):.1f}/{median(v[3:6]):.1f} = {median(v[0:3]) / median(v[3:6]):.3f}; "
      f"cached chat {median(v[6:9]):.1f}/{median(v[9:12]):.1f} = {median(v[6:9]) / median(v[9:12]):.3f}")
PY
