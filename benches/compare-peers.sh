#!/usr/bin/env bash
# Decode throughput, side by side, in one run on one machine: tiktwitch, the TikTokLive Python
# peer and the tiktok-live-connector Node peer, all on ../shared/corpus. Prints messages/s and
# ratios against each peer, and our full decode against the gunzip-only floor.
#
#   bash benches/compare-peers.sh            # installs the peers once into target/peers
#   RUNS=3 bash benches/compare-peers.sh     # 3 interleaved rounds, median per configuration
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${SHARED:-../shared}"
CORPUS="$SHARED/corpus"
PEERS_DIR="${PEERS_DIR:-target/peers}"
RUNS="${RUNS:-3}"

if [ ! -x "$PEERS_DIR/venv/bin/python" ] || [ ! -d "$PEERS_DIR/node_modules/tiktok-live-connector" ]; then
    PEERS_DIR="$PEERS_DIR" bash "$SHARED/peers/setup_peers.sh" >&2
fi
cargo bench --bench decode_throughput --no-run >&2

median() { python3 -c 'import sys,json,statistics; rs=[json.loads(l) for l in sys.stdin if l.startswith("{")]; print(json.dumps({k:statistics.median(r[k] for r in rs) for k in rs[0] if isinstance(rs[0][k],(int,float))}))'; }
# The configurations take turns, round after round, so a change in the machine's speed
# during the run (a shared VM drifts by 20%) hits every one of them alike.
results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT
echo "running $RUNS rounds of every configuration ..." >&2
for round in $(seq "$RUNS"); do
    echo "  round $round" >&2
    cargo bench -q --bench decode_throughput -- --json --passes 5 --corpus "$CORPUS" | tail -1 >> "$results/ours"
    "$PEERS_DIR/venv/bin/python" "$SHARED/peers/bench_tiktoklive.py" "$CORPUS" --mode decode --passes 2 --json | tail -1 >> "$results/py"
    node "$SHARED/peers/bench_connector.mjs" "$CORPUS" --mode async --passes 5 --json --peers "$PEERS_DIR" | tail -1 >> "$results/node_async"
    node "$SHARED/peers/bench_connector.mjs" "$CORPUS" --mode sync --passes 5 --json --peers "$PEERS_DIR" | tail -1 >> "$results/node_sync"
done
ours=$(median < "$results/ours")
py=$(median < "$results/py")
node_async=$(median < "$results/node_async")
node_sync=$(median < "$results/node_sync")

python3 - "$ours" "$py" "$node_async" "$node_sync" <<'PY'
import json, os, sys
ours, py, na, ns = (json.loads(a) for a in sys.argv[1:5])
rows = [("tiktwitch (Rust, full decode)", ours), ("TikTokLive 7.0.1 (Python, decode)", py),
        ("tiktok-live-connector 2.5.0 (Node, async)", na), ("tiktok-live-connector 2.5.0 (Node, sync)", ns)]
print(f"machine: {os.cpu_count()} cores; corpus: 45,705 messages in 5,000 frames; medians of fresh processes")
print(f"{'decoder':44} {'messages/s':>14} {'ours is':>10}")
for name, r in rows:
    ratio = ours["messages_per_s"] / r["messages_per_s"]
    print(f"{name:44} {r['messages_per_s']:>14,.0f} {ratio:>9.1f}x")
print(f"{'gunzip only (same inflater, the floor)':44} {ours['gunzip_only_messages_per_s']:>14,.0f}")
print(f"full decode / gunzip only: {ours['full_over_gunzip']:.2f}x  (target <= 1.5x)")
print(f"targets: >= 300x Python -> {ours['messages_per_s']/py['messages_per_s']:.0f}x; "
      f">= 5x Node sync -> {ours['messages_per_s']/ns['messages_per_s']:.1f}x")
PY
