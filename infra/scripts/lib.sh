# Shared by Docent's scripts: paths, the cargo target dir outside the clone, tool versions.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/docent/target}"
export PATH="$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false
WORKER_BUILD_VERSION=0.8.7
log() { printf '\033[1m[docent]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31m[docent] %s\033[0m\n' "$*" >&2; exit 1; }
