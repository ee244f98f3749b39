#!/usr/bin/env bash
# Short fuzz run (CI calls it from .ci/run): every cargo-fuzz target for ~20 s on STABLE
# with `-s none` (no sanitizer: the ASan default needs nightly; panics, overflows in
# debug-assertion builds, timeouts and OOMs are still caught). Seeds the corpora from
# ../shared first when it is there.
#
#   ci/fuzz-smoke.sh                 # every target, 20 s each
#   FUZZ_SECONDS=600 ci/fuzz-smoke.sh sanitize template
#
# Exits non-zero on the first crash; the reproducer is in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${FUZZ_SECONDS:-20}"
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --version 0.13.2 --locked
fi
if [ -d "${SHARED:-../shared}" ]; then
  SHARED="$(cd "${SHARED:-../shared}" && pwd)" bash fuzz/seed-corpus.sh
fi
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  mapfile -t targets < <(cargo +stable fuzz list)
fi
mkdir -p fuzz/logs
for target in "${targets[@]}"; do
  echo "== fuzz $target for ${SECONDS_PER_TARGET}s (log: fuzz/logs/$target.log)"
  mkdir -p "fuzz/corpus/$target"
  # -rss_limit_mb: a decompression bomb must be refused by our caps, not eat the runner.
  # libFuzzer prints a line per new input: keep that in the log, show the outcome here.
  if ! cargo +stable fuzz run -s none "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    > "fuzz/logs/$target.log" 2>&1; then
    tail -n 60 "fuzz/logs/$target.log"
    echo "fuzz smoke: $target FAILED; reproducer in fuzz/artifacts/$target/" >&2
    exit 1
  fi
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|Done)" "fuzz/logs/$target.log" || true
done
echo "fuzz smoke: ${#targets[@]} targets, no crash"
