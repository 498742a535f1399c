#!/usr/bin/env bash
# Tracing overhead: echo calls through `toolyard serve --stdio` with nothing configured vs every
# span exported over OTLP/HTTP to a local receiver (and, with BEFORE=path/to/older/toolyard,
# nothing configured on that older binary too), in alternating rounds; p50/p99 and ratios.
# Usage: [BEFORE=PATH] bash bench/telemetry.sh [CALLS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin toolyard --example demo_server --example telemetry_bench
target="${CARGO_TARGET_DIR:-target}/release"
"$target/examples/telemetry_bench" --toolyard "$target/toolyard" --demo "$target/examples/demo_server" \
  ${BEFORE:+--before "$BEFORE"} --calls "${1:-3000}"
