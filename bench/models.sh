#!/usr/bin/env bash
# Benchmarks the OpenAI-compatible client against the scripted model server (release build).
# Usage: bench/models.sh [--sequential N] [--requests N] [--concurrency C]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target}"
cargo build --release --example models_bench
"$CARGO_TARGET_DIR/release/examples/models_bench" "$@"
