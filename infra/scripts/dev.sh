#!/usr/bin/env bash
# Runs Docent locally on the Cloudflare runtime (workerd via wrangler dev, local mode) at
# http://127.0.0.1:${PORT:-8787}/, with KV, Queues and D1 kept in .wrangler/state between runs.
# DOCENT_* variables set in the environment are passed to the Worker. Local runs may crawl loopback
# and private hosts, and use the development admin key `docent-dev-admin-key` unless DOCENT_ADMIN_KEY is set.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# DOCENT_SKIP_BUILD=1 reuses the last build (the test suite builds once, then starts Docent many times).
if [ "${DOCENT_SKIP_BUILD:-}" != 1 ] || [ ! -f "$ROOT/functions/cloudflare/build/worker/shim.mjs" ]; then
  "$ROOT/infra/scripts/build-worker.sh"
fi
cd "$ROOT"
PORT="${PORT:-8787}"
STATE_DIR="${DOCENT_STATE_DIR:-$ROOT/.wrangler/state}"
export DOCENT_ALLOW_PRIVATE_HOSTS="${DOCENT_ALLOW_PRIVATE_HOSTS:-true}"
vars=()
while IFS='=' read -r name value; do
  vars+=(--var "$name:$value")
done < <(env | grep -E '^DOCENT_[A-Z0-9_]+=' | grep -Ev '^DOCENT_(STATE_DIR|SKIP_BUILD|TEST_DATABASE_URL)=')
log "serving on http://127.0.0.1:$PORT/ (state in $STATE_DIR)"
exec wrangler dev --local --ip 127.0.0.1 --port "$PORT" --persist-to "$STATE_DIR" --show-interactive-dev-session=false "${vars[@]}" "$@"
