#!/usr/bin/env bash
# Gateway overhead: echo straight to the demo upstream vs through toolyard, stdio and HTTP,
# sequential p50/p99 and calls/s at concurrency 1 and 32, with the through/direct ratio.
# Usage: bash bench/gateway.sh [CALLS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin toolyard --example demo_server --example gateway_bench --example stdio_relay
target="${CARGO_TARGET_DIR:-target}/release"
"$target/examples/gateway_bench" --toolyard "$target/toolyard" --demo "$target/examples/demo_server" --relay "$target/examples/stdio_relay" --calls "${1:-2000}"
