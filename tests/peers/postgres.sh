#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for a test: a fresh cluster (initdb) in a temp dir, on a
# free loopback port and a unix socket in that dir, with a database `toolyard` owned by the
# password role `toolyard`. Prints one line of JSON once it accepts connections:
#
#   {"url":"postgres://toolyard:toolyard@127.0.0.1:PORT/toolyard",
#    "admin_url":"postgres://postgres:postgres@127.0.0.1:PORT/postgres",
#    "host":"127.0.0.1","port":"PORT","socket_dir":DIR,"dir":DIR,"log":DIR/server.log}
#
# and runs in the foreground until SIGTERM/SIGINT (or its parent's death): then it stops the
# server (fast shutdown: open sessions are cut) and removes the dir. TCP logins use
# scram-sha-256 passwords; the unix socket trusts any local user. As root the cluster runs as
# the `postgres` user (Debian's package creates it). Binaries: $TOOLYARD_PG_BIN (.ci/setup),
# else the newest /usr/lib/postgresql/*/bin. See lib.sh for the lifetime rules.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

pg_bin="${TOOLYARD_PG_BIN:-}"
if [[ -z "$pg_bin" ]]; then
    pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
fi
for tool in initdb postgres pg_isready psql; do
    [[ -x "$pg_bin/$tool" ]] ||
        peer_die "no $tool in '$pg_bin': run .ci/setup (TOOLYARD_PG_BIN) or install postgresql"
done

run_as=()
if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 ||
        peer_die "running as root, but there is no 'postgres' user to run the server as"
    run_as=(setpriv --reuid=postgres --regid=postgres --init-groups --)
fi

peer_init
[[ ${#run_as[@]} -eq 0 ]] || chown postgres: "$peer_dir" "$peer_log"
data="$peer_dir/data"
printf 'postgres\n' >"$peer_dir/pwfile"
[[ ${#run_as[@]} -eq 0 ]] || chown postgres: "$peer_dir/pwfile"

(cd "$peer_dir" && "${run_as[@]}" "$pg_bin/initdb" -D "$data" -U postgres --pwfile="$peer_dir/pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-locale --no-sync \
    --no-instructions) >>"$peer_log" 2>&1 || peer_die "initdb failed" "$peer_log"
rm -f "$peer_dir/pwfile"

port=""
for attempt in 1 2 3 4 5; do
    candidate="$(peer_ports 1)"
    # fsync and friends off: a test cluster is thrown away, durability buys nothing.
    peer_spawn INT "${run_as[@]}" "$pg_bin/postgres" -D "$data" -p "$candidate" -k "$peer_dir" \
        -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
        -c full_page_writes=off -c max_connections=200
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
    peer_die "postgres did not start" "$peer_log"
done
[[ -n "$port" ]] || peer_die "postgres found no free port in 5 attempts" "$peer_log"

# Listening is not accepting yet (startup, recovery): wait for pg_isready's 0.
for ((i = 0; i < 600; i++)); do
    "$pg_bin/pg_isready" -q -h "$peer_dir" -p "$port" && break
    peer_alive "$pid" || peer_die "postgres exited during startup" "$peer_log"
    sleep 0.1
done
"$pg_bin/pg_isready" -q -h "$peer_dir" -p "$port" ||
    peer_die "postgres did not accept connections within 60 s" "$peer_log"

"$pg_bin/psql" -X -q -h "$peer_dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE toolyard LOGIN CREATEDB PASSWORD 'toolyard'" \
    -c "CREATE DATABASE toolyard OWNER toolyard" >>"$peer_log" 2>&1 ||
    peer_die "could not create the toolyard role and database" "$peer_log"

peer_ready \
    url "postgres://toolyard:toolyard@127.0.0.1:$port/toolyard" \
    admin_url "postgres://postgres:postgres@127.0.0.1:$port/postgres" \
    host 127.0.0.1 port "$port" socket_dir "$peer_dir" dir "$peer_dir" log "$peer_log"
peer_serve
