#!/usr/bin/env bash
# Scale benchmark: 1, 10, 100 and 1,000 bridges in ONE process (daemon::run) at 10 chat
# messages/s per room, the stand-ins in a second process. Prints one JSON line per count
# (peak RSS = VmHWM, CPU share = (user+sys CPU time) / wall time over the window; 1.0 is
# one core) and a table. Usage:
#
#   benches/scale.sh                  # 1 10 100 1000 bridges, 20 s windows
#   SECS=60 benches/scale.sh 1 100    # chosen counts and window
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${SECS:-20}"
COUNTS=("$@")
[ "${#COUNTS[@]}" -eq 0 ] && COUNTS=(1 10 100 1000)
cargo bench --bench scale --no-run 2>/dev/null
BIN="$(ls -t target/release/deps/scale-* | grep -v '\.d$' | head -1)"
DIR="$(mktemp -d)"
trap 'rm -rf "$DIR"' EXIT
results=()
for n in "${COUNTS[@]}"; do
  rm -f "$DIR/config.toml"
  "$BIN" fakes --bridges "$n" --dir "$DIR" --secs "$SECS" > "$DIR/fakes.out" 2> "$DIR/fakes.err" &
  fakes=$!
  for _ in $(seq 1 600); do grep -q ready "$DIR/fakes.out" 2>/dev/null && break; sleep 0.1; done
  line="$("$BIN" bridges --bridges "$n" --dir "$DIR" --secs "$SECS" | tail -1)"
  kill -TERM "$fakes" 2>/dev/null || true
  wait "$fakes" 2>/dev/null || true
  echo "$line"
  echo "   $(cat "$DIR/fakes.err" | tail -1)"
  results+=("$line")
done
echo
printf '%8s %6s %10s %10s %10s %12s\n' bridges live events/s cpu_share peak_MiB MiB/bridge
for line in "${results[@]}"; do
  python3 -c '
import json, sys
r = json.loads(sys.argv[1])
print("%8d %6d %10.0f %10.3f %10.1f %12.2f" % (r["bridges"], r["live"], r["events_per_s"], r["cpu_share"], r["vmhwm_mib"], r["vmhwm_mib"] / r["bridges"]))
' "$line"
done
