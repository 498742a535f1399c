#!/usr/bin/env bash
# Starts a throwaway Redis server for a test: a free loopback port and a unix socket in a temp
# dir, no persistence (no RDB, no AOF). Prints one line of JSON once it listens:
#
#   {"url":"redis://127.0.0.1:PORT","host":"127.0.0.1","port":"PORT",
#    "socket":DIR/redis.sock,"dir":DIR,"log":DIR/server.log}
#
# and runs in the foreground until SIGTERM/SIGINT (or its parent's death): then it stops the
# server and removes the dir. No password. Binary: $TOOLYARD_REDIS_SERVER (.ci/setup), else
# redis-server on PATH. Extra arguments are passed to redis-server (e.g. --maxmemory 10mb).
# See lib.sh for the lifetime rules.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

redis="${TOOLYARD_REDIS_SERVER:-$(command -v redis-server || true)}"
[[ -n "$redis" && -x "$redis" ]] ||
    peer_die "no redis-server: run .ci/setup (TOOLYARD_REDIS_SERVER) or install redis-server"

peer_init
sock="$peer_dir/redis.sock"
port=""
for attempt in 1 2 3 4 5; do
    candidate="$(peer_ports 1)"
    peer_spawn TERM "$redis" --port "$candidate" --bind 127.0.0.1 --unixsocket "$sock" \
        --unixsocketperm 700 --dir "$peer_dir" --save "" --appendonly no --daemonize no \
        --logfile "" "$@"
    pid=$peer_last_pid
    rc=0
    peer_wait_listen "$pid" 30 "$candidate" || rc=$?
    if ((rc == 0)); then
        port="$candidate"
        break
    fi
    if ((rc == 1)) && peer_bind_failed; then
        peer_forget "$pid"
        echo "$peer_name: port $candidate was taken, retrying (attempt $attempt)" >&2
        continue
    fi
    peer_die "redis-server did not start" "$peer_log"
done
[[ -n "$port" ]] || peer_die "redis-server found no free port in 5 attempts" "$peer_log"

peer_ready url "redis://127.0.0.1:$port" host 127.0.0.1 port "$port" socket "$sock" \
    dir "$peer_dir" log "$peer_log"
peer_serve
