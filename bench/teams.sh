#!/usr/bin/env bash
# Teams: toolyard vs AutoGen 0.7.5 on the same scripted model server, the same team configs
# (dumped by AutoGen, loaded by toolyard), each scenario in a fresh process of each side.
# Scenarios: RoundRobin 2 agents to 50 messages, Selector 3 agents to 30, Swarm 2 agents handing
# off for 20, GraphFlow fan-out to 4 and join (when both sides have GraphFlow).
# Usage: [PROFILE=release] bench/teams.sh [RUNS] [WARMUP]   (AutoGen python: $TOOLYARD_AUTOGEN_PYTHON)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-20}"
WARMUP="${2:-2}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/toolyard/target}"
PY="${AUTOGEN_PYTHON:-${TOOLYARD_AUTOGEN_PYTHON:-$(ls -d "$HOME"/.cache/toolyard/venv-autogen-*/bin/python | head -1)}}"
PROFILE="${PROFILE:-release}"   # PROFILE=debug only to check the script itself
cargo build --profile "$PROFILE" --example teams_bench --example scripted_model_server
BIN="$CARGO_TARGET_DIR/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")/examples"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$BIN/scripted_model_server" --script bench/teams_script.json \
  --listen "127.0.0.1:$PORT" >/dev/null &
SERVER=$!
DIR="$(mktemp -d)"
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$DIR"' EXIT
for _ in $(seq 50); do (echo >"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
URL="http://127.0.0.1:$PORT/v1"
"$PY" bench/teams_autogen.py dump "$URL" "$DIR"
ROWS=()
for f in "$DIR"/*.json; do
  name="$(basename "$f" .json)"
  if ! TY="$("$BIN/teams_bench" "$f" "$RUNS" "$WARMUP")"; then
    echo "skipping $name: toolyard cannot run it (see the error above)" >&2
    continue
  fi
  AG="$("$PY" bench/teams_autogen.py run "$name" "$URL" "$DIR" "$RUNS" "$WARMUP")"
  ROWS+=("$name|$TY|$AG")
done
python3 - "$RUNS" "${ROWS[@]}" <<'PY'
import json, sys
print(f"runs per scenario: {sys.argv[1]} (each side in its own process; peak RSS of that process)")
print("| scenario | messages/run | toolyard ms/msg | AutoGen ms/msg | AutoGen / toolyard | toolyard peak RSS MiB | AutoGen peak RSS MiB |")
print("|---|---:|---:|---:|---:|---:|---:|")
for row in sys.argv[2:]:
    name, ty, ag = row.split("|")
    ty, ag = json.loads(ty), json.loads(ag)
    assert ty["messages"] == ag["messages"], (name, ty, ag)
    print(f"| {name} | {ty['messages']} | {ty['ms_per_message']:.3f} | {ag['ms_per_message']:.3f} | "
          f"{ag['ms_per_message']/ty['ms_per_message']:.1f}x | {ty['peak_rss_mb']:.1f} | {ag['peak_rss_mb']:.1f} |")
PY
