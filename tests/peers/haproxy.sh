#!/usr/bin/env bash
# Starts HAProxy in front of BACKEND_ADDR... for a test: HTTP mode, round robin per request, no
# stickiness (no cookie, no stick table, no preference for the last server), timeouts of an hour
# so SSE streams and long calls are not cut, on a free loopback port. Prints one line of JSON once
# it listens:
#
#   {"url":"http://127.0.0.1:PORT","stats":"http://127.0.0.1:PORT2/stats","dir":DIR,
#    "log":DIR/server.log}
#
# and runs in the foreground until SIGTERM/SIGINT (or its parent's death), then stops and
# removes its dir. BACKEND_ADDR is HOST:PORT or a URL (http://HOST:PORT/..., only HOST:PORT is
# used; the request path is passed through unchanged). Backends get a TCP health check every
# 500 ms (down after 2 failures, up after 1 success) and a refused connection is retried on
# another backend; with HAPROXY_CHECKS=off there are neither, so every request goes to the next
# backend in turn, dead or alive. The stats page (add ";csv" for CSV) shows per-backend counts
# and states; the log has one line per request with the backend that served it.
# Binary: $TOOLYARD_HAPROXY (.ci/setup), else haproxy on PATH or in /usr/sbin.
# See lib.sh for the lifetime rules.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

(($# > 0)) || peer_die "usage: haproxy.sh BACKEND_ADDR... (HOST:PORT or http://HOST:PORT/...)"
haproxy="${TOOLYARD_HAPROXY:-$(command -v haproxy || echo /usr/sbin/haproxy)}"
[[ -x "$haproxy" ]] || peer_die "no haproxy: run .ci/setup (TOOLYARD_HAPROXY) or install haproxy"
case "${HAPROXY_CHECKS:-on}" in
    on) check=" check inter 500ms fall 2 rise 1" redispatch="option redispatch" ;;
    off) check="" redispatch="" ;;
    *) peer_die "HAPROXY_CHECKS must be on or off, not '${HAPROXY_CHECKS}'" ;;
esac

servers=""
n=0
for arg in "$@"; do
    addr="${arg#http://}"
    addr="${addr%%/*}"
    [[ "$addr" =~ ^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9._-]+):([0-9]{1,5})$ ]] ||
        peer_die "bad backend '$arg': expected HOST:PORT or http://HOST:PORT/..."
    n=$((n + 1))
    servers+="    server b$n $addr$check"$'\n'
done

peer_init
cfg="$peer_dir/haproxy.cfg"
port=""
for attempt in 1 2 3 4 5; do
    read -r candidate stats_port <<<"$(peer_ports 2)"
    cat >"$cfg" <<CFG
global
    log stdout format raw local0
    maxconn 4096

defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h
    timeout http-request 30s
    timeout http-keep-alive 1m
    retries 2
    $redispatch

frontend toolyard_in
    bind 127.0.0.1:$candidate
    default_backend toolyard_backends

backend toolyard_backends
    balance roundrobin
$servers
frontend toolyard_stats
    bind 127.0.0.1:$stats_port
    stats enable
    stats uri /stats
    stats refresh 0
CFG
    "$haproxy" -c -q -f "$cfg" >>"$peer_log" 2>&1 || peer_die "haproxy rejects its configuration" "$peer_log"
    peer_spawn TERM "$haproxy" -db -f "$cfg"
    pid=$peer_last_pid
    rc=0
    peer_wait_listen "$pid" 30 "$candidate" "$stats_port" || rc=$?
    if ((rc == 0)); then
        port="$candidate"
        break
    fi
    if ((rc == 1)) && peer_bind_failed; then
        peer_forget "$pid"
        echo "$peer_name: port $candidate or $stats_port was taken, retrying (attempt $attempt)" >&2
        continue
    fi
    peer_die "haproxy did not start" "$peer_log"
done
[[ -n "$port" ]] || peer_die "haproxy found no free ports in 5 attempts" "$peer_log"
peer_wait_http "$pid" 30 "http://127.0.0.1:$stats_port/stats" || peer_die "haproxy's stats page does not answer" "$peer_log"

peer_ready url "http://127.0.0.1:$port" stats "http://127.0.0.1:$stats_port/stats" \
    dir "$peer_dir" log "$peer_log"
peer_serve
