#!/usr/bin/env bash
# Crawl throughput of a local static site through the Worker on workerd and through the native
# `docent index`, next to `wget -r` fetching the same site (no processing), with peak memory and the
# deployed bundle size, and the database requests the Worker's crawl made per page (its own
# `docent_sql_*` counters in /metrics). Prints a markdown report.
#
#   infra/scripts/bench-crawl.sh [SITE_DIR] [START_PAGE]
#   default: /usr/share/doc/postgresql-doc-15/html index.html (Debian package postgresql-doc-15)
#
# Politeness is lifted (no per-host or global rate, no concurrency cap) so the figures are the
# pipeline's own speed. With BENCH_RATE=<requests/s> the Worker run keeps the per-host limit at that
# rate instead, and the report gives the politeness efficiency (achieved / configured rate).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SITE="${1:-/usr/share/doc/postgresql-doc-15/html}"
START_PAGE="${2:-index.html}"
[ -d "$SITE" ] || die "$SITE is missing (for the default: apt-get install postgresql-doc-15)"
command -v wget >/dev/null || die "wget is missing (apt-get install wget)"
"$ROOT/infra/scripts/build-worker.sh" >/dev/null
cargo build --release --locked -q -p docent-cli
cd "$ROOT"
WORK=$(mktemp -d)
SITE_PORT=$(free_port)
PORT=$(free_port)
cleanup() {
  [ -n "${DOCENT_PID:-}" ] && kill -TERM -- "-$DOCENT_PID" 2>/dev/null || true
  [ -n "${SITE_PID:-}" ] && kill "$SITE_PID" 2>/dev/null || true
  [ -n "${SAMPLER_PID:-}" ] && kill "$SAMPLER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
python3 -m http.server "$SITE_PORT" --bind 127.0.0.1 --directory "$SITE" >/dev/null 2>&1 & SITE_PID=$!
for _ in $(seq 1 50); do curl -sf -o /dev/null "http://127.0.0.1:$SITE_PORT/" && break; sleep 0.2; done
files=$(find "$SITE" -name '*.html' | wc -l)

# 1. wget -r: fetching alone, one connection at a time, robots.txt honoured like Docent does.
wget_start=$(date +%s.%N)
wget -r -l inf -np -q -P "$WORK/wget" --reject '*.png,*.svg,*.js,*.css,*.woff,*.woff2,*.ttf,*.ico,*.json,*.txt' \
  "http://127.0.0.1:$SITE_PORT/$START_PAGE" || true
wget_end=$(date +%s.%N)
wget_seconds=$(python3 -c "print(round($wget_end - $wget_start, 1))")
wget_pages=$(find "$WORK/wget" -name '*.html' | wc -l)

# 2. The Worker on workerd, through POST /api/crawls and the queues.
if [ -n "${BENCH_RATE:-}" ]; then
  limits=(DOCENT_CRAWL_RATE="$BENCH_RATE" DOCENT_CRAWL_BURST=1 DOCENT_CRAWL_CONCURRENCY=10 DOCENT_CRAWL_GLOBAL_RATE=0)
else
  limits=(DOCENT_CRAWL_RATE=0 DOCENT_CRAWL_CONCURRENCY=0 DOCENT_CRAWL_GLOBAL_RATE=0)
fi
env "${limits[@]}" PORT=$PORT DOCENT_STATE_DIR="$WORK/state" DOCENT_SKIP_BUILD=1 setsid "$ROOT/infra/scripts/dev.sh" >"$WORK/docent.log" 2>&1 & DOCENT_PID=$!
wait_for_docent "http://127.0.0.1:$PORT" "$WORK/docent.log"
# Peak resident memory of the whole local runtime (wrangler, workerd and its helpers), sampled.
( peak=0; while kill -0 "$DOCENT_PID" 2>/dev/null; do
    rss=$(ps -o rss= -g "$DOCENT_PID" 2>/dev/null | awk '{s+=$1} END {print s+0}')
    [ "$rss" -gt "$peak" ] && peak=$rss && echo "$peak" > "$WORK/worker.rss"
    sleep 0.5
  done ) & SAMPLER_PID=$!

AUTH='Authorization: Bearer docent-dev-admin-key'
# A counter's total in /metrics (0 before its first increment).
metric() { curl -sf "http://127.0.0.1:$PORT/metrics" -H "$AUTH" | awk -v name="$1" '$1 == name {print $2; found=1} END {if (!found) print 0}'; }
sql_before=("$(metric docent_sql_round_trips_total)" "$(metric docent_sql_statements_total)")
start=$(date +%s.%N)
id=$(curl -sf -X POST "http://127.0.0.1:$PORT/api/crawls" -H "$AUTH" -H 'Content-Type: application/json' \
  -d "{\"url\": \"http://127.0.0.1:$SITE_PORT/$START_PAGE\", \"max_pages\": 100000, \"max_depth\": 100}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
while :; do
  job=$(curl -sf "http://127.0.0.1:$PORT/api/crawls/$id" -H "$AUTH")
  status=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["status"])' "$job")
  [ "$status" = done ] || [ "$status" = failed ] && break
  # Polled often: the wait between polls is part of the measured seconds.
  sleep 0.2
done
end=$(date +%s.%N)
worker_seconds=$(python3 -c "print(round($end - $start, 1))")
# The job's own record of its duration, from creation (the request above) to its last page.
job_seconds=$(python3 -c 'import json,sys
from datetime import datetime
job = json.loads(sys.argv[1])
at = lambda key: datetime.fromisoformat(job[key].replace("Z", "+00:00")).timestamp()
print(round(at("finished_at") - at("created_at"), 2))' "$job")
worker_pages=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["pages"])' "$job")
fetched=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["pages"]["fetched"])' "$job")
index=$(curl -sf "http://127.0.0.1:$PORT/api/index" -H "$AUTH")
# Instances flush their metric deltas once a second.
sleep 3
sql_after=("$(metric docent_sql_round_trips_total)" "$(metric docent_sql_statements_total)")
per_page() { python3 -c "print(round(($2 - $1) / $fetched, 1))"; }
worker_rss=$(cat "$WORK/worker.rss" 2>/dev/null || echo 0)
kill "$SAMPLER_PID" 2>/dev/null || true

# 3. The native CLI: the same functions over rusqlite, one consumer.
native_log="$WORK/native.log"
native_start=$(date +%s.%N)
env "${limits[@]}" /usr/bin/time -f '%M' -o "$WORK/native.rss" "$CARGO_TARGET_DIR/release/docent" index "http://127.0.0.1:$SITE_PORT/$START_PAGE" --db "$WORK/native.db" --max-pages 100000 2>"$native_log"
native_end=$(date +%s.%N)
native_seconds=$(python3 -c "print(round($native_end - $native_start, 1))")
native_fetched=$(grep -o 'of [0-9]* discovered' "$native_log" | grep -o '[0-9]*')

npx wrangler deploy --dry-run --outdir "$WORK/bundle" >/dev/null 2>&1
wasm=$(find "$WORK/bundle" -name '*.wasm' | head -1)
wasm_bytes=$(stat -c %s "$wasm")
bundle_gzip=$(cat "$WORK"/bundle/* 2>/dev/null | gzip -9 | wc -c)

rate() { python3 -c "print(round($1 / $2, 1))"; }
cat <<REPORT
Site: $SITE ($files HTML files), served by python3 -m http.server on loopback; start page $START_PAGE.
Limits for the Docent runs: ${limits[*]}

| run | pages | seconds | pages/s | result | peak memory |
|---|---|---|---|---|---|
| \`wget -r\` (fetch only, sequential) | $wget_pages | $wget_seconds | $(rate "$wget_pages" "$wget_seconds") | HTML files saved | — |
| Worker on workerd (wrangler dev --local) | $fetched | $worker_seconds | $(rate "$fetched" "$worker_seconds") | $worker_pages; index $index | $((worker_rss / 1024)) MB (wrangler + workerd) |
| native \`docent index\` (one consumer) | $native_fetched | $native_seconds | $(rate "$native_fetched" "$native_seconds") | $(tail -1 "$native_log") | $(( $(cat "$WORK/native.rss") / 1024 )) MB |

Database requests of the Worker's crawl (docent_sql_*_total; its status polls and these scrapes included): $(per_page "${sql_before[0]}" "${sql_after[0]}") round trips and $(per_page "${sql_before[1]}" "${sql_after[1]}") statements per fetched page.

Bundle (wrangler deploy --dry-run): wasm $((wasm_bytes / 1024)) KB, whole bundle gzip -9 $((bundle_gzip / 1024)) KB.
REPORT
if [ -n "${BENCH_RATE:-}" ]; then
  echo "Politeness efficiency (Worker run): $(rate "$fetched" "$worker_seconds") pages/s achieved of $BENCH_RATE configured = $(python3 -c "print(round(100 * $fetched / $worker_seconds / $BENCH_RATE, 1))")% by this script's clock ($worker_seconds s, its status polls included); $(python3 -c "print(round(100 * $fetched / $job_seconds / $BENCH_RATE, 1))")% by the job's own record ($job_seconds s from created_at to finished_at)."
fi
