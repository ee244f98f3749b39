#!/usr/bin/env bash
# End-to-end efficiency (issue 20): N bridges in ONE process (daemon::run, production
# pacing, only the signer budget raised), the stand-ins in a second process. Per run it
# reports the daemon process' CPU per TikTok message (utime + stime from /proc/self/stat over
# the window, divided by the messages the pipelines received), VmHWM and VmRSS, and the CPU
# per message of `decode_frame` alone over the same frames, measured in the same process
# right after the window (this thread's schedstat time), and the ratio of the two.
#
# CPU time per message (user + system) is the figure to compare: it does not grow when
# other jobs hold the cores, wall time does.
#
#   benches/efficiency.sh                       # idle 1 bridge, 1/100/1000 at 10/s, 10000 at 1/s
#   SECS=20 benches/efficiency.sh 100:10 1000:10  # chosen bridges:rate runs (rate 0 = idle)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${SECS:-20}"
RUNS=("$@")
[ "${#RUNS[@]}" -eq 0 ] && RUNS=(1:0 1:10 100:10 1000:10 10000:1)
# No LTO and 16 codegen units for the bench build (minutes instead of tens of minutes on a
# shared 2-core machine); the ratios are measured within one build, so they compare.
export CARGO_PROFILE_BENCH_LTO="${CARGO_PROFILE_BENCH_LTO:-off}"
export CARGO_PROFILE_BENCH_CODEGEN_UNITS="${CARGO_PROFILE_BENCH_CODEGEN_UNITS:-16}"
export CARGO_PROFILE_RELEASE_LTO="$CARGO_PROFILE_BENCH_LTO"
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS="$CARGO_PROFILE_BENCH_CODEGEN_UNITS"
# Symbols kept, so `perf record -p <pid of "scale bridges">` names the functions.
export CARGO_PROFILE_BENCH_STRIP=false CARGO_PROFILE_RELEASE_STRIP=false
# BIN=path/to/scale-<hash> runs an already built bench binary as it is.
if [ -z "${BIN:-}" ]; then
  cargo bench --bench scale --no-run 2>/dev/null
  TARGET="${CARGO_TARGET_DIR:-target}"
  BIN="$(ls -t "$TARGET"/release/deps/scale-* | grep -v '\.d$' | head -1)"
fi
DIR="$(mktemp -d)"
trap 'rm -rf "$DIR"' EXIT
results=()
for run in "${RUNS[@]}"; do
  n="${run%%:*}"
  rate="${run##*:}"
  rm -f "$DIR/config.toml"
  "$BIN" fakes --bridges "$n" --rate "$rate" --dir "$DIR" --secs "$SECS" > "$DIR/fakes.out" 2> "$DIR/fakes.err" &
  fakes=$!
  for _ in $(seq 1 1200); do grep -q ready "$DIR/fakes.out" 2>/dev/null && break; sleep 0.1; done
  line="$("$BIN" bridges --bridges "$n" --rate "$rate" --dir "$DIR" --secs "$SECS" | tail -1)"
  kill -TERM "$fakes" 2>/dev/null || true
  wait "$fakes" 2>/dev/null || true
  echo "$line"
  echo "   $(tail -1 "$DIR/fakes.err")"
  results+=("$line")
done
echo
printf '%8s %5s %6s %9s %10s %10s %8s %9s %9s %10s\n' \
  bridges rate live msgs/s cpu_share us/msg decode_us ratio hwm_MiB rss_MiB
for line in "${results[@]}"; do
  python3 -c '
import json, sys
r = json.loads(sys.argv[1])
print("%8d %5d %6d %9.0f %10.3f %10.2f %8.3f %9.1f %9.1f %10.1f" % (r["bridges"], r["rate"], r["live"], r["events_per_s"], r["cpu_share"], r["cpu_us_per_msg"], r["decode_us_per_msg"], r["ratio"], r["vmhwm_mib"], r["rss_mib"]))
' "$line"
done
