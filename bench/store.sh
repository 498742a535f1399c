#!/usr/bin/env bash
# The cost of keeping conversations: a two-agent round robin served as a workbench tool, called
# in process with no store, memory://, SQLite (WAL file) and a local PostgreSQL
# (tests/peers/postgres.sh), interleaved in the same run; then the store alone (lease + save).
# Usage: [PROFILE=release] bench/store.sh [CALLS_PER_ROUND] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
CALLS="${1:-200}"
ROUNDS="${2:-5}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/toolyard/target}"
PROFILE="${PROFILE:-release}"
cargo build --profile "$PROFILE" --example store_bench
BIN="$CARGO_TARGET_DIR/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")/examples"
coproc PG { exec bash tests/peers/postgres.sh; }
trap 'kill "$PG_PID" 2>/dev/null || true; wait "$PG_PID" 2>/dev/null || true' EXIT
read -r LINE <&"${PG[0]}"
URL="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["url"])' "$LINE")"
OUT="$(mktemp)"
"$BIN/store_bench" "$CALLS" "$ROUNDS" "$URL" >"$OUT"
python3 - "$OUT" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"{r['calls']} calls per store, state document {r['state_bytes']} bytes")
print("| store | served call p50 µs | p99 µs | added p50 µs |")
print("|---|---:|---:|---:|")
for row in r["served_call"]:
    print(f"| {row['store']} | {row['call_p50_us']:.0f} | {row['call_p99_us']:.0f} | {row['added_p50_us']:.0f} |")
print()
print("| store | lease + save p50 µs | p99 µs |")
print("|---|---:|---:|")
for row in r["store_alone"]:
    print(f"| {row['store']} | {row['lease_and_save_p50_us']:.0f} | {row['lease_and_save_p99_us']:.0f} |")
PY
rm -f "$OUT"
