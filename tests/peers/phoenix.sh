#!/usr/bin/env bash
# Starts Arize Phoenix (an OpenTelemetry trace collector with a UI and a GraphQL/REST API) for a
# test, on free loopback ports, with its SQLite database in a temp dir (PHOENIX_WORKING_DIR), no
# telemetry and no requests to the internet. Prints one line of JSON once it answers HTTP:
#
#   {"http":"http://127.0.0.1:PORT","otlp_http":"http://127.0.0.1:PORT/v1/traces",
#    "otlp_grpc":"http://127.0.0.1:PORT2","dir":DIR,"log":DIR/server.log}
#
# `otlp_http` is the full OTLP/HTTP traces URL (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT; the base for
# OTEL_EXPORTER_OTLP_ENDPOINT is `http`), `otlp_grpc` the OTLP/gRPC endpoint. Spans can be read
# back with the REST API (`$http/v1/projects/default/spans`) or GraphQL (`$http/graphql`).
# Runs in the foreground until SIGTERM/SIGINT (or its parent's death), then stops and removes
# its dir. Start-up takes a few seconds (migrations on a fresh database). Binary:
# $TOOLYARD_PHOENIX (.ci/setup). See lib.sh for the lifetime rules.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

phoenix="${TOOLYARD_PHOENIX:-}"
[[ -n "$phoenix" && -x "$phoenix" ]] ||
    peer_die "no phoenix executable in TOOLYARD_PHOENIX='${phoenix}': run .ci/setup"

peer_init
http="" grpc=""
for attempt in 1 2 3 4 5; do
    read -r candidate candidate_grpc <<<"$(peer_ports 2)"
    peer_spawn TERM env PHOENIX_HOST=127.0.0.1 PHOENIX_PORT="$candidate" \
        PHOENIX_GRPC_PORT="$candidate_grpc" PHOENIX_WORKING_DIR="$peer_dir/phoenix" \
        PHOENIX_TELEMETRY_ENABLED=false PHOENIX_ALLOW_EXTERNAL_RESOURCES=false \
        "$phoenix" serve
    pid=$peer_last_pid
    rc=0
    peer_wait_listen "$pid" 180 "$candidate" "$candidate_grpc" || rc=$?
    if ((rc == 0)); then
        http="$candidate" grpc="$candidate_grpc"
        break
    fi
    if ((rc == 1)) && peer_bind_failed; then
        peer_forget "$pid"
        echo "$peer_name: port $candidate or $candidate_grpc was taken, retrying (attempt $attempt)" >&2
        continue
    fi
    peer_die "phoenix did not start" "$peer_log"
done
[[ -n "$http" ]] || peer_die "phoenix found no free ports in 5 attempts" "$peer_log"
peer_wait_http "$pid" 180 "http://127.0.0.1:$http/readyz" || peer_die "phoenix did not get ready" "$peer_log"

peer_ready http "http://127.0.0.1:$http" otlp_http "http://127.0.0.1:$http/v1/traces" \
    otlp_grpc "http://127.0.0.1:$grpc" dir "$peer_dir" log "$peer_log"
peer_serve
