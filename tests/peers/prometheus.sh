#!/usr/bin/env bash
# Starts Prometheus scraping TARGET... every second, for a test, on a free loopback port with its
# TSDB in a temp dir. Prints one line of JSON once it is ready and has scraped every target once
# (a target that is down counts: its `up` is 0), which takes up to ~5 s after start:
#
#   {"url":"http://127.0.0.1:PORT","job":"toolyard","dir":DIR,"log":DIR/server.log}
#
# and runs in the foreground until SIGTERM/SIGINT (or its parent's death), then stops and
# removes its dir. TARGET is HOST:PORT (scraped at /metrics) or a URL http://HOST:PORT/PATH
# (scraped at PATH); several targets must share scheme and path. All are in one job,
# `toolyard`: query e.g. `$url/api/v1/query?query=up{job="toolyard"}` or the target list at
# `$url/api/v1/targets`. Binary: $TOOLYARD_PROMETHEUS (.ci/setup), else prometheus on PATH.
# See lib.sh for the lifetime rules.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

(($# > 0)) || peer_die "usage: prometheus.sh TARGET... (HOST:PORT or http://HOST:PORT/PATH)"
prometheus="${TOOLYARD_PROMETHEUS:-$(command -v prometheus || true)}"
[[ -n "$prometheus" && -x "$prometheus" ]] ||
    peer_die "no prometheus: run .ci/setup (TOOLYARD_PROMETHEUS) or install prometheus"

scheme="" path="" targets=""
for arg in "$@"; do
    s=http p=/metrics rest="$arg"
    if [[ "$rest" =~ ^(https?)://(.*)$ ]]; then
        s="${BASH_REMATCH[1]}"
        rest="${BASH_REMATCH[2]}"
        if [[ "$rest" == */* ]]; then
            p="/${rest#*/}"
            rest="${rest%%/*}"
        fi
    fi
    [[ "$rest" =~ ^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9._-]+):[0-9]{1,5}$ ]] ||
        peer_die "bad target '$arg': expected HOST:PORT or http://HOST:PORT/PATH"
    if [[ -n "$scheme" && ( "$s" != "$scheme" || "$p" != "$path" ) ]]; then
        peer_die "targets must share scheme and path: '$arg' differs from $scheme://...$path"
    fi
    scheme="$s" path="$p"
    targets+="${targets:+, }'$rest'"
done

peer_init
cfg="$peer_dir/prometheus.yml"
cat >"$cfg" <<CFG
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: toolyard
    scheme: $scheme
    metrics_path: '$path'
    static_configs:
      - targets: [$targets]
CFG

port=""
for attempt in 1 2 3 4 5; do
    candidate="$(peer_ports 1)"
    peer_spawn TERM "$prometheus" --config.file="$cfg" --storage.tsdb.path="$peer_dir/data" \
        --web.listen-address="127.0.0.1:$candidate" --storage.tsdb.retention.time=1d \
        --log.level=info
    pid=$peer_last_pid
    rc=0
    peer_wait_listen "$pid" 60 "$candidate" || rc=$?
    if ((rc == 0)); then
        port="$candidate"
        break
    fi
    if ((rc == 1)) && peer_bind_failed; then
        peer_forget "$pid"
        echo "$peer_name: port $candidate was taken, retrying (attempt $attempt)" >&2
        continue
    fi
    peer_die "prometheus did not start" "$peer_log"
done
[[ -n "$port" ]] || peer_die "prometheus found no free port in 5 attempts" "$peer_log"
peer_wait_http "$pid" 60 "http://127.0.0.1:$port/-/ready" || peer_die "prometheus did not get ready" "$peer_log"
# Prometheus hands its targets to the scrape loop up to 5 s after start: wait for one scrape of
# each (up or down), so a test's queries see data from the moment it has the URL.
"$peer_python" "$peer_util" wait-scraped "$pid" 60 "http://127.0.0.1:$port" ||
    peer_die "prometheus did not scrape its targets" "$peer_log"

peer_ready url "http://127.0.0.1:$port" job toolyard dir "$peer_dir" log "$peer_log"
peer_serve
