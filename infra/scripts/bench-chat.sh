#!/usr/bin/env bash
# Chat latency on workerd: the overhead before the first token with a model that answers at once,
# cached answers from 200 users (open loop at several rates, and closed loop with wrk next to a handler
# that does no I/O, GET /v1/models, in the same run), and the seeds' mixed load test (search, cached
# and uncached chat, crawls). Prints a markdown report.
#
#   infra/scripts/bench-chat.sh        (needs wrk: apt-get install wrk)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
"$ROOT/infra/scripts/build-worker.sh" >/dev/null
cd "$ROOT"
WORK=$(mktemp -d)
SITE_PORT=$(free_port); MODEL_PORT=$(free_port); PORT=$(free_port)
cleanup() {
  [ -n "${DOCENT_PID:-}" ] && kill -TERM -- "-$DOCENT_PID" 2>/dev/null || true
  for pid in ${SITE_PID:-} ${MODEL_PID:-}; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
python3 -m http.server "$SITE_PORT" --bind 127.0.0.1 --directory tests/fixtures/site >/dev/null 2>&1 & SITE_PID=$!
python3 infra/scripts/bench-chat.py serve-model "$MODEL_PORT" & MODEL_PID=$!
env DOCENT_LLM_PROVIDERS=bench DOCENT_LLM_BENCH_BASE_URL="http://127.0.0.1:$MODEL_PORT/v1" DOCENT_LLM_BENCH_MODEL=bench \
  DOCENT_CHAT_RATE_LIMIT=0 DOCENT_SEARCH_RATE_LIMIT=0 \
  PORT=$PORT DOCENT_STATE_DIR="$WORK/state" DOCENT_SKIP_BUILD=1 setsid "$ROOT/infra/scripts/dev.sh" >"$WORK/docent.log" 2>&1 & DOCENT_PID=$!
BASE="http://127.0.0.1:$PORT"
wait_for_docent "$BASE" "$WORK/docent.log"
AUTH='Authorization: Bearer docent-dev-admin-key'
job=$(curl -sf -X POST "$BASE/api/crawls" -H "$AUTH" -H 'Content-Type: application/json' \
  -d "{\"url\": \"http://127.0.0.1:$SITE_PORT/index.html\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
for _ in $(seq 1 120); do
  status=$(curl -sf "$BASE/api/crawls/$job" -H "$AUTH" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
  [ "$status" = done ] && break; sleep 0.5
done
[ "$status" = done ] || die "the fixture crawl did not finish"

echo "## Chat on workerd ($(nproc) cores, wrk and workerd sharing them)"
echo
echo "### Overhead before the first token (model stand-in answers at once; 200 distinct questions, one at a time)"
python3 infra/scripts/bench-chat.py first-token "$BASE" 200
echo
cat > "$WORK/chat.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"message": "Does Harbor run on Windows?"}'
LUA
curl -sf -X POST "$BASE/api/chat" -H 'Content-Type: application/json' -d '{"message": "Does Harbor run on Windows?"}' >/dev/null
echo "### Cached answers, the seeds' scenario: 200 users, open loop (latency from when each request was due)"
echo
for rate in 500 2000 6000; do
  python3 infra/scripts/bench-chat.py load "$BASE" "$rate" 200 30
done
echo
echo "### The seeds' mixed scenario at 500 requests/min from 200 users for 60 s"
echo "(50 % search, 30 % cached and 15 % uncached questions, 5 % crawls of 10 pages)"
echo
python3 infra/scripts/bench-chat.py mix "$BASE" 500 200 60 "http://127.0.0.1:$SITE_PORT"
echo
echo "### Saturation: 200 concurrent clients in a closed loop (wrk), 20 s each"
echo
echo '```'
echo "no-op handler (GET /v1/models):"
wrk -t2 -c200 -d20s --latency "$BASE/v1/models" | grep -E "Latency|50%|90%|99%|Requests/sec|Non-2xx|Socket errors|requests in"
echo
echo "cached answer (POST /api/chat, the same question):"
wrk -t2 -c200 -d20s --latency -s "$WORK/chat.lua" "$BASE/api/chat" | grep -E "Latency|50%|90%|99%|Requests/sec|Non-2xx|Socket errors|requests in"
echo '```'
grep -c '"cached":true' "$WORK/docent.log" >/dev/null 2>&1 || true
