#!/usr/bin/env bash
# Team tools over MCP: a one-turn team served as a tool by `toolyard serve` (a workbench file)
# next to the same team built with AutoGen 0.7.5 and served by a Python MCP server (FastMCP);
# both called by AutoGen's McpWorkbench over streamable HTTP, same scripted model server, same run.
# Prints per-call latency and calls/s (one call at a time), the time for CONCURRENT runs at once,
# and the peak RSS of each server process.
# Usage: [PROFILE=release] bench/team_tools.sh [CALLS] [CONCURRENT]   (AutoGen python with mcp<2:
# $TOOLYARD_AUTOGEN_PYTHON)
set -euo pipefail
cd "$(dirname "$0")/.."
CALLS="${1:-200}"
CONCURRENT="${2:-100}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/toolyard/target}"
PY="${AUTOGEN_PYTHON:-${TOOLYARD_AUTOGEN_PYTHON:?run eval \"\$(bash .ci/setup)\" first}}"
PROFILE="${PROFILE:-release}"
cargo build --profile "$PROFILE" --bin toolyard --example scripted_model_server
BIN="$CARGO_TARGET_DIR/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }
peak_mb() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
DIR="$(mktemp -d)"
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$DIR"' EXIT

MPORT="$(port)"
"$BIN/examples/scripted_model_server" --script bench/team_tools_script.json --listen "127.0.0.1:$MPORT" >/dev/null &
PIDS+=($!)
wait_port "$MPORT"
MODEL_URL="http://127.0.0.1:$MPORT/v1"

mkdir -p "$DIR/wb"
cat >"$DIR/servers.toml" <<TOML
[models.bench]
provider = "openai"
model = "gpt-4o"
base_url = "$MODEL_URL"
api_key_env = "BENCH_KEY"
max_retries = 0
TOML
cat >"$DIR/wb/ask.toml" <<'TOML'
provider = "RoundRobinGroupChat"
[toolyard]
name = "ask"
description = "Runs a one-turn toolyard team on the task."
return_value_as_last_message = true
[config]
[[config.participants]]
provider = "AssistantAgent"
config = { name = "assistant", system_message = "bench-tool-agent", model_client = "bench" }
[config.termination_condition]
provider = "MaxMessageTermination"
config = { max_messages = 2 }
TOML
TPORT="$(port)"
BENCH_KEY=sk-bench RUST_LOG=warn "$BIN/toolyard" serve --config "$DIR/servers.toml" --workbenches "$DIR/wb" \
  --listen "127.0.0.1:$TPORT" 2>"$DIR/toolyard.log" &
TY_PID=$!
PIDS+=($TY_PID)
wait_port "$TPORT"

APORT="$(port)"
"$PY" bench/team_tool_server.py "$MODEL_URL" "$APORT" 2>"$DIR/autogen.log" &
AG_PID=$!
PIDS+=($AG_PID)
wait_port "$APORT"

TY="$("$PY" bench/team_tool_client.py "http://127.0.0.1:$TPORT/mcp" ask "$CALLS" "$CONCURRENT" 2>>"$DIR/client.log")"
TY_RSS="$(peak_mb $TY_PID)"
AG="$("$PY" bench/team_tool_client.py "http://127.0.0.1:$APORT/mcp" ask "$CALLS" "$CONCURRENT" 2>>"$DIR/client.log")"
AG_RSS="$(peak_mb $AG_PID)"
python3 - "$TY" "$AG" "$TY_RSS" "$AG_RSS" "$CALLS" <<'PY'
import json, sys
ty, ag = json.loads(sys.argv[1]), json.loads(sys.argv[2])
ty_rss, ag_rss, calls = float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
print(f"{calls} sequential calls, then {ty['concurrent']} concurrent runs; client: AutoGen McpWorkbench over streamable HTTP")
print(f"| server | p50 ms | p99 ms | calls/s | {ty['concurrent']} concurrent runs, s | server peak RSS MiB |")
print("|---|---:|---:|---:|---:|---:|")
for name, r, rss in (("toolyard serve (workbench team tool)", ty, ty_rss), ("Python MCP server + AutoGen team", ag, ag_rss)):
    print(f"| {name} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['calls_per_s']:.0f} | {r['concurrent_s']:.2f} | {rss:.1f} |")
print(f"AutoGen / toolyard: p50 {ag['p50_ms']/ty['p50_ms']:.1f}x, concurrent {ag['concurrent_s']/ty['concurrent_s']:.1f}x, RSS {ag_rss/ty_rss:.1f}x")
PY
