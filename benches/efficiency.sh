#!/usr/bin/env bash
# End-to-end efficiency (issue 20): the REAL daemon binary, `tiktwitch run`, with N bridges
# against the stand-ins (`scale fakes`, a process of its own). Per run it reports the daemon
# process' CPU per TikTok message (utime + stime of the whole process from /proc/PID/stat
# over the window, divided by the messages its pipelines received, read from /metrics),
# VmHWM and VmRSS from /proc/PID/status, and, on the same frames in the same run, the CPU
# per message of `tiktwitch decode` (the CLI as a user runs it: user + sys of the child)
# and of `decode_frame` alone (`scale decode-cost`, in-process), each as a ratio.
#
# CPU time per message (user + system) is the figure to compare: it does not grow when
# other jobs hold the cores, wall time does.
#
#   benches/efficiency.sh                          # idle 1 bridge, 1/100/1000 at 10/s, 10000 at 1/s
#   SECS=20 benches/efficiency.sh 100:10 1000:10   # chosen bridges:rate runs (rate 0 = idle)
#   TIKTWITCH_BIN=target/release/tiktwitch benches/efficiency.sh 1:10   # an already built binary
#   BIN=path/to/scale-<hash> ...                   # an already built scale bench
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${SECS:-20}"
# `tiktwitch decode` runs measured per run (after one warm run): a run over the 20,000
# frames lasts tens of ms, a few scheduler ticks, so several are summed.
DECODE_RUNS="${DECODE_RUNS:-5}"
RUNS=("$@")
[ "${#RUNS[@]}" -eq 0 ] && RUNS=(1:0 1:10 100:10 1000:10 10000:1)
# No LTO and 16 codegen units for the bench build (minutes instead of tens of minutes on a
# shared 2-core machine); the ratios are measured within one build, so they compare.
export CARGO_PROFILE_BENCH_LTO="${CARGO_PROFILE_BENCH_LTO:-off}"
export CARGO_PROFILE_BENCH_CODEGEN_UNITS="${CARGO_PROFILE_BENCH_CODEGEN_UNITS:-16}"
export CARGO_PROFILE_RELEASE_LTO="$CARGO_PROFILE_BENCH_LTO"
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS="$CARGO_PROFILE_BENCH_CODEGEN_UNITS"
# Symbols kept, so `perf record -p <pid of tiktwitch run>` names the functions.
export CARGO_PROFILE_BENCH_STRIP=false CARGO_PROFILE_RELEASE_STRIP=false
TARGET="${CARGO_TARGET_DIR:-target}"
if [ -z "${BIN:-}" ] || [ -z "${TIKTWITCH_BIN:-}" ]; then
  # One build: cargo builds the `tiktwitch` binary beside the bench (bench profile, the
  # settings above) because the bench target sits in the same package.
  cargo bench --bench scale --no-run 2>/dev/null
fi
if [ -z "${BIN:-}" ]; then
  BIN="$(ls -t "$TARGET"/release/deps/scale-* | grep -v '\.d$' | head -1)"
fi
TIKTWITCH_BIN="${TIKTWITCH_BIN:-$TARGET/release/tiktwitch}"
[ -x "$TIKTWITCH_BIN" ] || { echo "no tiktwitch binary at $TIKTWITCH_BIN" >&2; exit 1; }
DIR="$(mktemp -d)"
daemon=""
fakes=""
cleanup() {
  [ -n "$daemon" ] && kill -KILL "$daemon" 2>/dev/null || true
  [ -n "$fakes" ] && kill -TERM "$fakes" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT

# Sum of every sample of one metric on /metrics (all bridges, all labels).
cat > "$DIR/metric.py" <<'EOF'
import sys, urllib.request
url, name = sys.argv[1], sys.argv[2]
try:
    text = urllib.request.urlopen(url, timeout=30).read().decode()
except Exception:
    print(-1); sys.exit(0)
total = 0.0
for line in text.splitlines():
    if line.startswith(name + " ") or line.startswith(name + "{"):
        total += float(line.rsplit(" ", 1)[1])
print(int(total))
EOF

# The window: received counter and CPU ticks at t0 and t1 = t0 + SECS; the scrape of
# /metrics is outside the CPU window at both ends (scrape, cpu ... cpu, scrape).
cat > "$DIR/window.py" <<'EOF'
import json, os, sys, time, urllib.request
pid, url, secs = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
tick = os.sysconf("SC_CLK_TCK")
def received():
    text = urllib.request.urlopen(url, timeout=60).read().decode()
    return sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines()
               if l.startswith("tiktwitch_events_in_total") and l[25] in " {")
def cpu():
    stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(stat[11]) + int(stat[12])) / tick  # utime, stime (fields 14, 15)
def status(field):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith(field):
            return int(l.split()[1])
    return 0
r0 = received(); c0 = cpu(); w0 = time.monotonic()
time.sleep(secs)
c1 = cpu(); w1 = time.monotonic(); r1 = received()
wall, msgs, used = w1 - w0, r1 - r0, c1 - c0
print(json.dumps({"msgs": msgs, "cpu_s": used, "wall_s": wall,
                  "hwm_kib": status("VmHWM:"), "rss_kib": status("VmRSS:")}))
EOF

# `tiktwitch decode FILE > /dev/null`: user + sys of the children over DECODE_RUNS runs,
# per message in the file (one chat per record), after one warm run.
cat > "$DIR/decode_cli.py" <<'EOF'
import json, resource, struct, subprocess, sys
binary, frames, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(frames, "rb").read()
records, at = 0, 0
while at < len(data):
    (n,) = struct.unpack_from("<I", data, at); at += 4 + n; records += 1
lines = subprocess.run([binary, "decode", frames], check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.count(b"\n")
before = resource.getrusage(resource.RUSAGE_CHILDREN)
for _ in range(runs):
    subprocess.run([binary, "decode", frames], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
after = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
print(json.dumps({"records": records, "events": lines, "us_per_msg": cpu * 1e6 / (runs * records)}))
EOF

results=()
for run in "${RUNS[@]}"; do
  n="${run%%:*}"
  rate="${run##*:}"
  rm -rf "$DIR/run"
  mkdir -p "$DIR/run"
  D="$DIR/run"
  "$BIN" fakes --bridges "$n" --rate "$rate" --dir "$D" --secs "$SECS" > "$D/fakes.out" 2> "$D/fakes.err" &
  fakes=$!
  for _ in $(seq 1 1200); do grep -q ready "$D/fakes.out" 2>/dev/null && break; sleep 0.1; done
  url="$(cat "$D/metrics_url")"
  started=$(date +%s.%N)
  (
    # shellcheck disable=SC1091
    . "$D/env"
    exec "$TIKTWITCH_BIN" run --config "$D/config.toml"
  ) > "$D/daemon.log" 2>&1 &
  daemon=$!
  # Every bridge live (its TikTok socket open), or the same limit the in-process run had.
  limit=$((120 + n / 25))
  live=0
  while :; do
    sleep 0.5
    kill -0 "$daemon" 2>/dev/null || { echo "the daemon exited early:" >&2; tail -20 "$D/daemon.log" >&2; exit 1; }
    live="$(python3 "$DIR/metric.py" "$url" tiktwitch_bridge_connected)"
    [ "$live" -ge "$n" ] && break
    python3 -c "import sys, time; sys.exit(time.time() - $started < $limit)" && break
  done
  startup="$(python3 -c "import time; print('%.1f' % (time.time() - $started))")"
  sleep 2 # settle: the last bridges' first frames and JOINs
  window="$(python3 "$DIR/window.py" "$daemon" "$url" "$SECS")"
  live="$(python3 "$DIR/metric.py" "$url" tiktwitch_bridge_connected)"
  # Stop as systemd would and check the daemon exits on its own (grace 1 s in the config).
  kill -TERM "$daemon"
  exited=killed
  for _ in $(seq 1 300); do
    kill -0 "$daemon" 2>/dev/null || { exited=ok; break; }
    sleep 0.1
  done
  if [ "$exited" = ok ]; then
    status=0
    wait "$daemon" || status=$?
    exited="exit $status"
  else
    kill -KILL "$daemon" 2>/dev/null || true
    wait "$daemon" 2>/dev/null || true
  fi
  daemon=""
  kill -TERM "$fakes" 2>/dev/null || true
  wait "$fakes" 2>/dev/null || true
  fakes=""
  # Decode prices, with the daemon and the fakes stopped (the cores to themselves).
  cli="$(python3 "$DIR/decode_cli.py" "$TIKTWITCH_BIN" "$D/frames.bin" "$DECODE_RUNS")"
  frame_us="$("$BIN" decode-cost --dir "$D")"
  line="$(python3 -c '
import json, sys
w, c = json.loads(sys.argv[1]), json.loads(sys.argv[2])
n, rate, live, startup, frame_us, exited = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7]), sys.argv[8]
us = w["cpu_s"] * 1e6 / w["msgs"] if w["msgs"] > 0 else 0.0
print(json.dumps({"bench": "efficiency", "bridges": n, "rate": rate, "live": live,
    "startup_s": startup, "window_s": round(w["wall_s"], 2), "msgs": int(w["msgs"]),
    "msgs_per_s": w["msgs"] / w["wall_s"], "cpu_s": w["cpu_s"], "cpu_share": w["cpu_s"] / w["wall_s"],
    "us_per_msg": us, "decode_cli_us": c["us_per_msg"], "decode_cli_events": c["events"],
    "decode_records": c["records"], "decode_frame_us": frame_us,
    "ratio_cli": us / c["us_per_msg"] if us else 0.0, "ratio_frame": us / frame_us if us else 0.0,
    "hwm_mib": w["hwm_kib"] / 1024, "rss_mib": w["rss_kib"] / 1024,
    "rss_per_bridge_kib": w["rss_kib"] / n, "stopped": exited}))
' "$window" "$cli" "$n" "$rate" "$live" "$startup" "$frame_us" "$exited")"
  echo "$line"
  echo "   $(tail -1 "$D/fakes.err")"
  echo "   daemon log: $(grep -ciE 'error|panic' "$D/daemon.log" || true) error lines, $(wc -l < "$D/daemon.log") lines; stopped: $exited"
  # The run's directory goes with the run: what went wrong is shown while it is here.
  [ "$exited" = "exit 0" ] || { echo "   the daemon's last lines:"; tail -5 "$D/daemon.log" | cut -c1-400 | sed 's/^/     /'; }
  results+=("$line")
done
echo
printf '%8s %5s %6s %9s %10s %9s %13s %9s %15s %11s %8s %8s %13s\n' \
  bridges rate live msgs/s cpu_share us/msg decode_cli_us ratio_cli decode_frame_us ratio_frame \
  hwm_MiB rss_MiB rss/bridge_KiB
for line in "${results[@]}"; do
  python3 -c '
import json, sys
r = json.loads(sys.argv[1])
print("%8d %5d %6d %9.0f %10.3f %9.2f %13.3f %9.1f %15.3f %11.1f %8.1f %8.1f %13.1f" % (r["bridges"], r["rate"], r["live"], r["msgs_per_s"], r["cpu_share"], r["us_per_msg"], r["decode_cli_us"], r["ratio_cli"], r["decode_frame_us"], r["ratio_frame"], r["hwm_mib"], r["rss_mib"], r["rss_per_bridge_kib"]))
' "$line"
done
