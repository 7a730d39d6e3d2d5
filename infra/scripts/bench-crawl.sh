#!/usr/bin/env bash
# Crawl throughput of a local static site through the Worker on workerd, and of the same site through
# the native `docent index`, plus the deployed bundle size. Prints a markdown report.
#
#   infra/scripts/bench-crawl.sh [SITE_DIR] [START_PAGE]
#   default: /usr/share/doc/postgresql-doc-15/html index.html (Debian package postgresql-doc-15)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SITE="${1:-/usr/share/doc/postgresql-doc-15/html}"
START_PAGE="${2:-index.html}"
[ -d "$SITE" ] || die "$SITE is missing (for the default: apt-get install postgresql-doc-15)"
"$ROOT/infra/scripts/build-worker.sh" >/dev/null
cd "$ROOT"
WORK=$(mktemp -d)
SITE_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() {
  [ -n "${DOCENT_PID:-}" ] && kill -TERM -- "-$DOCENT_PID" 2>/dev/null || true
  [ -n "${SITE_PID:-}" ] && kill "$SITE_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
python3 -m http.server "$SITE_PORT" --bind 127.0.0.1 --directory "$SITE" >/dev/null 2>&1 & SITE_PID=$!
PORT=$PORT DOCENT_STATE_DIR="$WORK/state" DOCENT_SKIP_BUILD=1 setsid "$ROOT/infra/scripts/dev.sh" >"$WORK/docent.log" 2>&1 & DOCENT_PID=$!
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.5; done
curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null || { cat "$WORK/docent.log"; die "Docent did not start"; }
files=$(find "$SITE" -name '*.html' | wc -l)

AUTH='Authorization: Bearer docent-dev-admin-key'
start=$(date +%s.%N)
id=$(curl -sf -X POST "http://127.0.0.1:$PORT/api/crawls" -H "$AUTH" -H 'Content-Type: application/json' \
  -d "{\"url\": \"http://127.0.0.1:$SITE_PORT/$START_PAGE\", \"max_pages\": 100000, \"max_depth\": 100}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
while :; do
  job=$(curl -sf "http://127.0.0.1:$PORT/api/crawls/$id" -H "$AUTH")
  status=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["status"])' "$job")
  [ "$status" = done ] || [ "$status" = failed ] && break
  sleep 1
done
end=$(date +%s.%N)
worker_seconds=$(python3 -c "print(round($end - $start, 1))")
worker_pages=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["pages"])' "$job")
fetched=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["pages"]["fetched"])' "$job")
index=$(curl -sf "http://127.0.0.1:$PORT/api/index" -H "$AUTH")

cargo build --release --locked -q -p docent-cli
native_log="$WORK/native.log"
native_start=$(date +%s.%N)
/usr/bin/time -f '%M' -o "$WORK/native.rss" "$CARGO_TARGET_DIR/release/docent" index "http://127.0.0.1:$SITE_PORT/$START_PAGE" --db "$WORK/native.db" 2>"$native_log"
native_end=$(date +%s.%N)
native_seconds=$(python3 -c "print(round($native_end - $native_start, 1))")

npx wrangler deploy --dry-run --outdir "$WORK/bundle" >/dev/null 2>&1
wasm=$(find "$WORK/bundle" -name '*.wasm' | head -1)
wasm_bytes=$(stat -c %s "$wasm")
bundle_gzip=$(cat "$WORK"/bundle/* 2>/dev/null | gzip -9 | wc -c)

cat <<REPORT
Site: $SITE ($files HTML files), served by python3 -m http.server on loopback; start page $START_PAGE.

| run | pages fetched | seconds | pages/s | result |
|---|---|---|---|---|
| Worker on workerd (wrangler dev --local, queue batch 10) | $fetched | $worker_seconds | $(python3 -c "print(round($fetched / $worker_seconds, 1))") | $worker_pages; index $index |
| native \`docent index\` (same URL, sequential) | $(grep -o 'of [0-9]* discovered' "$native_log" | grep -o '[0-9]*') | $native_seconds | $(python3 -c "print(round($fetched / $native_seconds, 1))") | $(tail -1 "$native_log"); peak RSS $(cat "$WORK/native.rss") KB |

Bundle (wrangler deploy --dry-run): wasm $((wasm_bytes / 1024)) KB, whole bundle gzip -9 $((bundle_gzip / 1024)) KB.
REPORT
