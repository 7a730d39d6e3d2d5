#!/usr/bin/env bash
# Runs every test: unit tests of the core and functions, the native CLI tests, and the end-to-end test
# that builds the Worker, starts it under wrangler dev and crawls a fixture site on loopback.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$ROOT/infra/scripts/setup.sh"
cd "$ROOT"
# Everything the tests write to a temporary directory (databases, fixture sites, wrangler's output)
# goes under one directory of this run, removed when it ends, so reruns do not fill /tmp.
run_tmp=$(mktemp -d "${TMPDIR:-/tmp}/docent-tests.XXXXXX")
pg_dir=
cleanup() {
  if [ -n "$pg_dir" ]; then "$ROOT/infra/scripts/postgres.sh" stop "$pg_dir"; rm -rf "$pg_dir"; fi
  rm -rf "$run_tmp"
}
trap cleanup EXIT
export TMPDIR="$run_tmp"
log "checking formatting (cargo fmt --check)"
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt clippy
cargo fmt --all --check || die "the tree is not rustfmt-clean: run cargo fmt --all"
log "linting (cargo clippy -D warnings: natively, the Worker for wasm32, the Spin component for wasip2)"
cargo clippy --locked --workspace --all-targets -- -D warnings
cargo clippy --locked -p docent-cloudflare --target wasm32-unknown-unknown -- -D warnings
cargo clippy --locked -p docent-spin --target wasm32-wasip2 -- -D warnings
"$ROOT/infra/scripts/build-worker.sh"
log "checking the deployed environments (wrangler deploy --dry-run)"
for env in dev production; do
  bindings=$(wrangler deploy --dry-run --env "$env" --outdir "$run_tmp/wrangler-$env" 2>&1) || die "wrangler deploy --dry-run --env $env failed: $bindings"
  # Environments inherit no bindings: each must declare every one the Worker opens.
  for binding in DOCENT_KV DOCENT_DB HYPERDRIVE CRAWL_GATE CRAWL_QUEUE_CRITICAL CRAWL_QUEUE_HIGH CRAWL_QUEUE_NORMAL CRAWL_QUEUE_LOW AI; do
    grep -q "env\.$binding\b" <<<"$bindings" || die "wrangler.toml [env.$env] lacks the $binding binding"
  done
  # Vectorize has no local simulator; only production declares it (used with DOCENT_VECTOR_STORE=vectorize).
  if [[ $env == production ]]; then
    grep -q "env\.VECTORIZE\b" <<<"$bindings" || die "wrangler.toml [env.production] lacks the VECTORIZE binding"
    grep -q "env\.DOCENT_ANALYTICS\b" <<<"$bindings" || die "wrangler.toml [env.production] lacks the DOCENT_ANALYTICS binding"
  fi
done
# Postgres 16 with pgvector for the store suites that run on both SQLite and Postgres; a fresh cluster
# per run, stopped on exit. DOCENT_TEST_DATABASE_URL, if already set, names a server to use instead.
if [ -z "${DOCENT_TEST_DATABASE_URL:-}" ]; then
  pg_dir=$(mktemp -d /tmp/docent-pg.XXXXXX)
  log "starting Postgres with pgvector for the store tests"
  DOCENT_TEST_DATABASE_URL=$("$ROOT/infra/scripts/postgres.sh" start "$pg_dir" "${DOCENT_TEST_PG_PORT:-55439}")
  export DOCENT_TEST_DATABASE_URL
fi
# The PostgreSQL 15 manual as Debian packages it, for the answer test over a real manual
# (functions/native/tests/postgres_manual.rs); fetched once into the cache.
manual_dir="${XDG_CACHE_HOME:-$HOME/.cache}/docent/manuals"
if [ ! -f "$manual_dir/usr/share/doc/postgresql-doc-15/html/index.html" ]; then
  log "fetching the PostgreSQL 15 manual (Debian postgresql-doc-15, about 2 MB)"
  mkdir -p "$manual_dir"
  ( cd "$manual_dir" && { apt-get download postgresql-doc-15 2>/dev/null || { apt-get update -qq && apt-get download postgresql-doc-15; }; } ) \
    || die "could not download postgresql-doc-15 (apt-get download postgresql-doc-15)"
  dpkg -x "$manual_dir"/postgresql-doc-15_*.deb "$manual_dir"
fi
export DOCENT_TEST_POSTGRES_MANUAL="$manual_dir/usr/share/doc/postgresql-doc-15/html"
promtool=$(command -v promtool || echo "$HOME/.cache/docent/prometheus/usr/bin/promtool")
log "checking the Prometheus alert rules (promtool check rules, promtool test rules)"
"$promtool" check rules infra/prometheus/docent-rules.yml || die "infra/prometheus/docent-rules.yml does not load in Prometheus"
( cd infra/prometheus && "$promtool" test rules docent-rules.test.yml ) || die "the alert rules do not fire as infra/prometheus/docent-rules.test.yml expects"
log "running the test suite"
cargo test --locked --workspace "$@"
