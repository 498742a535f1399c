#!/usr/bin/env bash
# Runs the official MCP conformance suites (server mode) against an MCP server URL:
#
#     bash tests/conformance/run.sh URL NAME
#
#   2025-11-25: @modelcontextprotocol/conformance 0.1.16, --suite all --spec-version 2025-11-25
#   2026-07-28: @modelcontextprotocol/conformance 0.2.0-alpha.12, --suite all --spec-version 2026-07-28
#
# Both run with TOOLYARD_NODE22 from the pinned npm tools (.ci/setup; evaluated here if unset).
# Results go to $TOOLYARD_CACHE/conformance/NAME/<suite>/ (the suite's own log and checks.json per
# scenario). Prints one line per suite, `NAME conformance <suite>: P passed, F failed` (scenarios),
# then the failed scenario names. Exits non-zero only when a scenario fails that is not listed in
# the run's expected-failures list: tests/conformance/expected-failures-<NAME>-<suite>.txt when
# that file exists, else tests/conformance/expected-failures-<suite>.txt (one `scenario  reason`
# per line; # comments). A listed scenario that passes gets a note to remove it, unless its reason
# says `intermittent`.
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 URL NAME" >&2
    exit 2
fi
url="$1"
name="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

if [[ -z "${TOOLYARD_NODE22:-}" || -z "${TOOLYARD_NODE_MODULES:-}" || -z "${TOOLYARD_CACHE:-}" ]]; then
    eval "$(bash "$repo/.ci/setup")"
fi

# suite id, npm alias, extra arguments
suites=(
    "2025-11-25 conformance-2025 --suite all --spec-version 2025-11-25"
    "2026-07-28 conformance-2026 --suite all --spec-version 2026-07-28"
)

unexpected_total=0
for entry in "${suites[@]}"; do
    read -r suite package args <<<"$entry"
    out="$TOOLYARD_CACHE/conformance/$name/$suite"
    rm -rf "$out"
    mkdir -p "$out"
    cli="$TOOLYARD_NODE_MODULES/$package/dist/index.js"
    [[ -f "$cli" ]] || { echo "$name conformance $suite: $cli is missing (run .ci/setup)" >&2; exit 1; }
    # The suite's own exit code is ignored: the expected-failures list below decides.
    # shellcheck disable=SC2086 # $args is a word list on purpose
    "$TOOLYARD_NODE22" "$cli" server --url "$url" $args -o "$out/results" >"$out/log.txt" 2>&1 || true

    expected="$here/expected-failures-$name-$suite.txt"
    [[ -f "$expected" ]] || expected="$here/expected-failures-$suite.txt"
    # Summarize checks.json per scenario: scenario passes when none of its checks is a FAILURE.
    set +e
    "$TOOLYARD_NODE22" - "$out/results" "$expected" "$name" "$suite" "$out/log.txt" <<'JS'
const fs = require("fs");
const path = require("path");
const [resultsDir, expectedFile, name, suite, logFile] = process.argv.slice(2);
const expected = new Map();
if (fs.existsSync(expectedFile)) {
  for (const raw of fs.readFileSync(expectedFile, "utf8").split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const [scenario, ...reason] = line.split(/\s+/);
    expected.set(scenario, reason.join(" "));
  }
}
const dirs = fs.existsSync(resultsDir) ? fs.readdirSync(resultsDir).sort() : [];
if (dirs.length === 0) {
  console.log(`${name} conformance ${suite}: no results (see ${logFile})`);
  process.exit(1);
}
const passed = [];
const failed = new Map();
for (const dir of dirs) {
  // server-<scenario>-<ISO timestamp>
  const scenario = dir.replace(/^server-/, "").replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, "");
  let checks = [];
  try {
    checks = JSON.parse(fs.readFileSync(path.join(resultsDir, dir, "checks.json"), "utf8"));
  } catch (e) {
    failed.set(scenario, [`no checks.json (${e.message})`]);
    continue;
  }
  const bad = checks.filter((c) => c.status === "FAILURE").map((c) => c.id);
  if (bad.length) failed.set(scenario, bad);
  else passed.push(scenario);
}
console.log(`${name} conformance ${suite}: ${passed.length} passed, ${failed.size} failed`);
let unexpected = 0;
for (const [scenario, checks] of failed) {
  const known = expected.has(scenario);
  if (!known) unexpected++;
  const tag = known ? `expected: ${expected.get(scenario)}` : "UNEXPECTED";
  console.log(`  failed ${scenario} [${checks.join(", ")}] (${tag})`);
}
for (const [scenario, reason] of expected) {
  if (!passed.includes(scenario)) continue;
  if (/\bintermittent\b/i.test(reason)) {
    console.log(`  note: ${scenario} (listed as intermittent) passed this run`);
  } else {
    console.log(`  note: ${scenario} is listed in ${path.basename(expectedFile)} but passed; remove it`);
  }
}
process.exit(unexpected ? 3 : 0);
JS
    status=$?
    set -e
    if [[ $status -eq 3 ]]; then
        unexpected_total=$((unexpected_total + 1))
    elif [[ $status -ne 0 ]]; then
        echo "$name conformance $suite: could not be summarized; last lines of $out/log.txt:" >&2
        tail -n 20 "$out/log.txt" >&2
        unexpected_total=$((unexpected_total + 1))
    fi
done

if [[ $unexpected_total -ne 0 ]]; then
    echo "$name conformance: unexpected failures (details under $TOOLYARD_CACHE/conformance/$name/)"
    exit 1
fi
