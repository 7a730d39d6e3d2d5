#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser that takes outside bytes (tests/fuzz: robots, sitemap,
# html, chunker, sse, webhook, cron, url, json_bodies, mcp) with AFL++ through cargo-afl, on stable
# Rust. Each target runs for BUDGET, two at a time, from the seeds in tests/fuzz/corpus/<target>/:
# a number of executions (default 1,000,000) or a time (`90s`, `10m`, `1h`). Prints one line per target (executions, speed, corpus, crashes);
# inputs that crash or hang are left in $OUT/<target>/default/{crashes,hangs}: fix the parser, then
# copy the input into tests/fuzz/corpus/<target>/ so the test command keeps checking it.
#   infra/scripts/fuzz.sh [BUDGET] [TARGET...]
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BUDGET="${1:-1000000}"
shift || true
case "$BUDGET" in
  *[0-9]s) STOP=(-V "${BUDGET%s}") ;;
  *[0-9]m) STOP=(-V "$((${BUDGET%m} * 60))") ;;
  *[0-9]h) STOP=(-V "$((${BUDGET%h} * 3600))") ;;
  *[!0-9]* | "") die "BUDGET is a number of executions or a time such as 90s, 10m or 1h, not '$BUDGET'" ;;
  *) STOP=(-E "$BUDGET") ;;
esac
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  TARGETS=(robots sitemap html chunker sse webhook cron url json_bodies mcp)
fi
OUT="${DOCENT_FUZZ_OUT:-$HOME/.cache/docent/fuzz}"
if ! cargo afl --version >/dev/null 2>&1; then
  log "installing cargo-afl (it builds AFL++ for this toolchain)"
  cargo install cargo-afl --locked --version 0.18.2
fi
cargo afl config --build >/dev/null 2>&1 || true # already built: nothing to do
log "building the fuzz driver (tests/fuzz/afl)"
export CARGO_TARGET_DIR="$HOME/.cache/docent/target-afl"
( cd "$ROOT/tests/fuzz/afl" && cargo afl build --release --quiet )
DRIVER="$CARGO_TARGET_DIR/release/docent-fuzz-afl"
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1
run() {
  local target=$1
  rm -rf "${OUT:?}/$target"
  mkdir -p "$OUT/$target"
  cargo afl fuzz -i "$ROOT/tests/fuzz/corpus/$target" -o "$OUT/$target" "${STOP[@]}" \
    -- "$DRIVER" "$target" >"$OUT/$target.log" 2>&1
}
report() {
  local target=$1 stats="$OUT/$1/default/fuzzer_stats"
  field() { sed -n "s/^$1 *: *//p" "$stats"; }
  [ -f "$stats" ] || die "$target: no fuzzer_stats (see $OUT/$target.log)"
  printf '%-12s %10s execs  %8s/s  corpus %5s  crashes %s  hangs %s\n' "$target" \
    "$(field execs_done)" "$(field execs_per_sec)" "$(field corpus_count)" \
    "$(field saved_crashes)" "$(field saved_hangs)"
}
log "fuzzing ${#TARGETS[@]} targets, $BUDGET each, two at a time (findings in $OUT)"
for ((i = 0; i < ${#TARGETS[@]}; i += 2)); do
  run "${TARGETS[i]}" &
  if [ -n "${TARGETS[i + 1]:-}" ]; then run "${TARGETS[i + 1]}" & fi
  wait
done
for target in "${TARGETS[@]}"; do report "$target"; done
