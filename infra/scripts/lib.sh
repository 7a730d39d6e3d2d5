# Shared by Docent's scripts: paths, the cargo target dir outside the clone, tool versions.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/docent/target}"
export PATH="$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false
WORKER_BUILD_VERSION=0.8.7
log() { printf '\033[1m[docent]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31m[docent] %s\033[0m\n' "$*" >&2; exit 1; }

# A loopback port nobody listens on.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Benchmarks: returns once Docent at the base URL $1 answers /healthz (a minute at most); otherwise
# shows its log $2 and stops.
wait_for_docent() {
  for _ in $(seq 1 120); do curl -sf "$1/healthz" >/dev/null && return; sleep 0.5; done
  curl -sf "$1/healthz" >/dev/null && return
  cat "$2"; die "Docent did not start"
}

# Benchmarks: writes to $1 a wrk script that asks /api/search for each PostgreSQL query in turn.
search_rotation_lua() {
  python3 - "$ROOT/tests/eval/postgres-queries.jsonl" > "$1" <<'PY'
import json, sys, urllib.parse
queries = [json.loads(line)["q"] for line in open(sys.argv[1]) if line.strip()]
paths = ",".join('"/api/search?q=%s"' % urllib.parse.quote_plus(q) for q in queries)
print("local paths = {%s}\nlocal i = 0\nrequest = function()\n  i = i %% #paths + 1\n  return wrk.format(\"GET\", paths[i])\nend" % paths)
PY
}

# Benchmarks: the requests per second in the wrk report on stdin.
wrk_rate() { sed -nE 's/^Requests\/sec: *([0-9.]+)/\1/p'; }

# Benchmarks: the PostgreSQL query set (clean and with typos) five times over, on stdout.
bench_queries() {
  for _ in 1 2 3 4 5; do cat "$ROOT/tests/eval/postgres-queries.jsonl" "$ROOT/tests/eval/postgres-queries-typos.jsonl"; done
}

# Benchmarks: indexes each site after the first argument into the database it names with
# `$DOCENT index`, then prints the last summary line and the indexing throughput.
bench_index_sites() {
  local db=$1 start end chunks log
  shift
  log=$(mktemp)
  start=$(date +%s.%N)
  for site in "$@"; do "$DOCENT" index "$site" --db "$db" 2>&1 | tail -1; done > "$log"
  end=$(date +%s.%N)
  tail -1 "$log"
  chunks=$(tail -1 "$log" | sed -E 's/.* ([0-9]+) chunks$/\1/')
  rm -f "$log"
  python3 -c "print(f'all sources: {$chunks} chunks in {$end - $start:.1f} s = {$chunks / ($end - $start):.0f} chunks/s')"
}
