#!/usr/bin/env bash
# AssistantAgent: toolyard vs AutoGen 0.7.5 on the same scripted model server (release build).
# Scenarios: single text reply; one tool round trip without and with reflection; streaming.
# Usage: bench/agents.sh [RUNS] [WARMUP]   (AutoGen python: $AUTOGEN_PYTHON, default the venv)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-200}"
WARMUP="${2:-20}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target}"
PY="${AUTOGEN_PYTHON:-${TOOLYARD_AUTOGEN_PYTHON:-/work/cache/venv-autogen/bin/python}}"
cargo build --release --example agents_bench --example scripted_model_server
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$CARGO_TARGET_DIR/release/examples/scripted_model_server" --script bench/agents_script.json \
  --listen "127.0.0.1:$PORT" >/dev/null &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 50); do (echo >"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
URL="http://127.0.0.1:$PORT/v1"
TY="$("$CARGO_TARGET_DIR/release/examples/agents_bench" "$URL" "$RUNS" "$WARMUP")"
AG="$("$PY" bench/agents_autogen.py "$URL" "$RUNS" "$WARMUP")"
python3 - "$TY" "$AG" "$RUNS" <<'PY'
import json, sys
ty, ag, runs = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
print(f"runs per scenario: {runs}")
print(f"| scenario | toolyard ms/run | AutoGen 0.7.5 ms/run | AutoGen / toolyard |")
print(f"|---|---:|---:|---:|")
for k in ty:
    print(f"| {k} | {ty[k]:.3f} | {ag[k]:.3f} | {ag[k]/ty[k]:.1f}x |")
PY
