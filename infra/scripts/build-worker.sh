#!/usr/bin/env bash
# Builds the Cloudflare Worker (release wasm + JS shim) into functions/cloudflare/build.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$ROOT/infra/scripts/setup.sh"
cd "$ROOT/functions/cloudflare"
export WASM_BINDGEN_BIN="$(command -v wasm-bindgen)"
export WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt"
export ESBUILD_BIN="$ROOT/node_modules/.bin/esbuild"
log "building the Worker"
worker-build --release
# Smaller upload, same stack traces: function names keep their paths but lose the linker's hash suffix.
python3 "$ROOT/infra/scripts/trim-wasm-names.py" "$ROOT/functions/cloudflare/build/index_bg.wasm"
