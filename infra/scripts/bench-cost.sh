#!/usr/bin/env bash
# What a crawl, a search and an answer cost on Cloudflare: the Worker on workerd (local D1, KV,
# Queues and Durable Objects) crawls a static site, answers uncached searches, then questions with
# no model; /metrics is read between the phases. Prints, per page, per search and per question, the
# D1 round trips, statements and rows read and written (D1's own `meta`), KV, queue and Durable
# Object operations and outbound requests, and the dollars per 1,000 at the Workers Paid prices
# below. Prints a markdown report.
#
#   infra/scripts/bench-cost.sh [SITE_DIR] [START_PAGE]
#   default: the PostgreSQL manual the test command caches (Debian postgresql-doc-15), index.html
#
# The per-host rate is lifted so the crawl is quick; its concurrency cap (3) and the global rate
# (50/s) stay, so every fetch still asks the politeness gates as a deployed crawl does. The
# per-client limits stay on (each search and question counts itself in D1); the search cache is
# off, and every question is new, so nothing is served from a cache.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SITE="${1:-${DOCENT_TEST_POSTGRES_MANUAL:-$HOME/.cache/docent/manuals/usr/share/doc/postgresql-doc-15/html}}"
START_PAGE="${2:-index.html}"
SEARCHES=50
QUESTIONS=20
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
for _ in $(seq 1 50); do curl -sf -o /dev/null "http://127.0.0.1:$SITE_PORT/" && break; sleep 0.2; done

env DOCENT_CRAWL_RATE=0 DOCENT_SEARCH_CACHE_SECONDS=0 DOCENT_CRAWL_MAX_PAGES=100000 \
  PORT=$PORT DOCENT_STATE_DIR="$WORK/state" DOCENT_SKIP_BUILD=1 setsid "$ROOT/infra/scripts/dev.sh" >"$WORK/docent.log" 2>&1 & DOCENT_PID=$!
BASE="http://127.0.0.1:$PORT"
wait_for_docent "$BASE" "$WORK/docent.log"
AUTH='Authorization: Bearer docent-dev-admin-key'

# Reads /metrics into $WORK/$1.prom once the isolate's deltas (written once a second) are in: two
# reads 1.5 s apart that agree on the crawl and request counters (scrapes themselves excluded: each
# runs statements and reads the alerts from KV).
scrape() {
  local first second
  for _ in $(seq 1 40); do
    first=$(curl -sf "$BASE/metrics" -H "$AUTH" | grep -E '^docent_(crawl_pages|http_requests)_total' | grep -v 'route="/metrics"' || true)
    sleep 1.5
    second=$(curl -sf "$BASE/metrics" -H "$AUTH" | grep -E '^docent_(crawl_pages|http_requests)_total' | grep -v 'route="/metrics"' || true)
    [ "$first" = "$second" ] && break
  done
  curl -sf "$BASE/metrics" -H "$AUTH" > "$WORK/$1.prom"
}

scrape start
id=$(curl -sf -X POST "$BASE/api/crawls" -H "$AUTH" -H 'Content-Type: application/json' \
  -d "{\"url\": \"http://127.0.0.1:$SITE_PORT/$START_PAGE\", \"max_pages\": 100000, \"max_depth\": 100}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
while :; do
  status=$(curl -sf "$BASE/api/crawls/$id" -H "$AUTH" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
  case "$status" in done|failed|cancelled) break;; esac
  sleep 2
done
scrape crawled
python3 - "$ROOT/tests/eval/postgres-queries.jsonl" "$SEARCHES" > "$WORK/searches" <<'PY'
import json, sys, urllib.parse
queries = [json.loads(line)["q"] for line in open(sys.argv[1]) if line.strip()][: int(sys.argv[2])]
print("\n".join(urllib.parse.quote_plus(q) for q in queries))
PY
while read -r q; do curl -sf -o /dev/null "$BASE/api/search?q=$q"; done < "$WORK/searches"
scrape searched
python3 - "$ROOT/tests/eval/postgres-queries.jsonl" "$QUESTIONS" > "$WORK/questions" <<'PY'
import json, sys
queries = [json.loads(line)["q"] for line in open(sys.argv[1]) if line.strip()][: int(sys.argv[2])]
print("\n".join(json.dumps({"message": f"How do I use {q}?"}) for q in queries))
PY
while read -r body; do
  curl -sf -o /dev/null -X POST "$BASE/api/chat" -H 'Content-Type: application/json' -d "$body"
done < "$WORK/questions"
scrape asked

python3 - "$WORK" "$SITE" <<'PY'
import re, sys
work, site = sys.argv[1], sys.argv[2]

def read(name):
    totals = {}
    for line in open(f"{work}/{name}.prom"):
        m = re.match(r'^(docent_[a-z_]+_total)(\{[^}]*\})? ([0-9.e+-]+)$', line.strip())
        if m:
            totals[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return totals

def value(totals, name, **labels):
    want = [f'{k}="{v}"' for k, v in labels.items()]
    return sum(v for (n, l), v in totals.items() if n == name and all(w in l for w in want))

scrapes = {name: read(name) for name in ["start", "crawled", "searched", "asked"]}
def rose(before, after, name, **labels):
    return value(scrapes[after], name, **labels) - value(scrapes[before], name, **labels)

# Workers Paid prices beyond the monthly inclusions, as developers.cloudflare.com lists them
# (D1, KV, Queues, Durable Objects pricing pages), read 2026-12-05.
PRICES = {
    "rows_read": 0.001 / 1e6,
    "rows_written": 1.00 / 1e6,
    "kv_read": 0.50 / 1e6,
    "kv_write": 5.00 / 1e6,  # writes and deletes
    "queue_op": 0.40 / 1e6,  # a message is written, read and deleted: three operations
    "do_request": 0.15 / 1e6,
    "worker_request": 0.30 / 1e6,
}
phases = [
    ("crawl", "page", "start", "crawled", rose("start", "crawled", "docent_crawl_pages_total", outcome="indexed")),
    ("search", "search", "crawled", "searched", rose("crawled", "searched", "docent_http_requests_total", route="/api/search", status="200")),
    ("chat", "question", "searched", "asked", rose("searched", "asked", "docent_http_requests_total", route="/api/chat", status="200")),
]
rows = []
for phase, unit, before, after, units in phases:
    r = lambda name, **labels: rose(before, after, name, **labels)
    op = lambda service, operation: r("docent_platform_operations_total", service=service, operation=operation)
    c = {
        "round_trips": r("docent_sql_round_trips_total"),
        "statements": r("docent_sql_statements_total"),
        "rows_read": r("docent_sql_rows_read_total"),
        "rows_written": r("docent_sql_rows_written_total"),
        "kv_read": op("kv", "read"),
        "kv_write": op("kv", "write") + op("kv", "delete"),
        "queue_op": op("queue", "sent") + 2 * op("queue", "received"),
        "do_request": op("gate", "acquire") + op("gate", "release"),
        "fetch": op("fetch", "request"),
        "worker_request": r("docent_http_requests_total", route="/api/search") + r("docent_http_requests_total", route="/api/chat"),
    }
    dollars = {k: c[k] * PRICES[k] / units * 1000 for k in PRICES}
    rows.append((phase, unit, units, c, dollars))

print(f"Site: {site}; the Worker on workerd (wrangler dev --local), D1 for the store.\n")
print("| per unit | units | D1 round trips | D1 statements | D1 rows read | D1 rows written | KV reads | KV writes | queue operations | Durable Object requests | outbound requests |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for phase, unit, units, c, _ in rows:
    per = lambda k: f"{c[k] / units:.1f}"
    print(f"| {unit} ({phase}) | {units:.0f} | {per('round_trips')} | {per('statements')} | {per('rows_read')} | {per('rows_written')} | {per('kv_read')} | {per('kv_write')} | {per('queue_op')} | {per('do_request')} | {per('fetch')} |")
print()
print("| dollars per 1,000 | D1 rows read | D1 rows written | KV | Queues | Durable Objects | Workers requests | total |")
print("|---|---|---|---|---|---|---|---|")
for phase, unit, units, c, d in rows:
    kv = d["kv_read"] + d["kv_write"]
    total = sum(d.values())
    print(f"| {unit}s ({phase}) | ${d['rows_read']:.5f} | ${d['rows_written']:.5f} | ${kv:.5f} | ${d['queue_op']:.5f} | ${d['do_request']:.5f} | ${d['worker_request']:.5f} | **${total:.4f}** |")
print()
print("Prices (Workers Paid, beyond the monthly inclusions, read 2026-12-05): D1 $0.001 per million rows read, $1.00 per million rows written; KV $0.50 per million reads, $5.00 per million writes or deletes; Queues $0.40 per million operations (a message is written, read and deleted); Durable Objects $0.15 per million requests; Workers $0.30 per million requests.")
print("Not counted: CPU time ($0.02 per million CPU-ms), Durable Object duration, queue consumer invocations (requests), storage; each /metrics read adds a few statements to the phase after it.")
PY
