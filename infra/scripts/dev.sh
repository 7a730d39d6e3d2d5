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
# The variables go to wrangler in a file only this user can read (--env-file), not as command-line
# arguments, which any local user could read in the process list.
env_dir=$(mktemp -d)
trap 'rm -rf "$env_dir"' EXIT
env_file="$env_dir/docent.env"
( umask 077; : > "$env_file" )
while IFS= read -r -d '' entry; do
  name=${entry%%=*}
  value=${entry#*=}
  # dotenv quoting: single quotes keep the value literal; values holding one use backticks.
  if [[ $value != *"'"* ]]; then
    printf "%s='%s'\n" "$name" "$value" >> "$env_file"
  elif [[ $value != *'`'* ]]; then
    printf '%s=`%s`\n' "$name" "$value" >> "$env_file"
  else
    die "$name holds both ' and \`, which a .env file cannot carry"
  fi
done < <(env -0 | grep -zE '^DOCENT_[A-Z0-9_]+=' | grep -zEv '^DOCENT_(STATE_DIR|SKIP_BUILD|TEST_DATABASE_URL)=')
log "serving on http://127.0.0.1:$PORT/ (state in $STATE_DIR)"
wrangler dev --local --ip 127.0.0.1 --port "$PORT" --persist-to "$STATE_DIR" --show-interactive-dev-session=false --env-file "$env_file" "$@" &
wrangler_pid=$!
# (Errors are ignored in the trap: under `set -e` a failing `wait` would skip the clean-up.)
trap 'rm -rf "$env_dir"; kill "$wrangler_pid" 2>/dev/null || true; wait "$wrangler_pid" || true' EXIT INT TERM
wait "$wrangler_pid"
