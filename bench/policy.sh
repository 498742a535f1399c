#!/usr/bin/env bash
# Policy cost: one decision with ten CEL rules, and a demo__echo call through the gateway with
# and without [policy] + rate limit + [audit], in one process (p50/p99).
# Usage: bash bench/policy.sh [CALLS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --example demo_server --example policy_bench
target="${CARGO_TARGET_DIR:-target}/release"
"$target/examples/policy_bench" --demo "$target/examples/demo_server" --calls "${1:-5000}"
