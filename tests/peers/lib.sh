# Sourced by the start scripts in tests/peers (postgres.sh, redis.sh, haproxy.sh, prometheus.sh,
# phoenix.sh): a private temp dir, free ports, waiting for a server of ours, the JSON line, and a
# cleanup that leaves no process and no file behind however the script ends.
#
# A start script prints one line of JSON on stdout once its server is ready (everything else goes
# to stderr or to the server log in its temp dir), then stays in the foreground. It stops its
# server(s) (their stop signal, SIGKILL after $PEER_STOP_GRACE s, default 10), removes its temp
# dir and exits:
#   - on SIGTERM, SIGINT or SIGHUP, sent to it or to its process group: status 0;
#   - when a server exits by itself, or cannot start: status 1, the log's tail on stderr;
#   - when its parent process is gone (a test binary that died without stopping it): status 0
#     (PEER_WATCH_PARENT=0 turns this off, for a shell that starts it in the background and exits);
#   - when it is SIGKILLed (Rust's Child::kill), alone or with its process group: a guard process
#     in a session of its own sees it die and does the same cleanup.
#
# Executed rather than sourced (`bash lib.sh --guard DIR`), this file is that guard.

set -euo pipefail

peer_lib="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
peer_util="$(dirname "$peer_lib")/peerutil.py"
peer_python="${PEER_PYTHON:-python3}"
peer_grace="${PEER_STOP_GRACE:-10}"
peer_name="$(basename "$0" .sh)"
peer_dir=""        # the temp dir, removed at the end
peer_log=""        # the server log in it
peer_pids=()       # server processes, stopped at the end ...
peer_sigs=()       # ... with these signals
peer_guard_fd=""   # write end of the guard's pipe: "pid PID SIG" lines, then "done"
peer_guard_pid=""
peer_watch_pid=""  # `tail --pid=$PPID`: ends when the parent process does

# peer_alive PID: true while PID runs (a zombie does not count).
peer_alive() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [[ "${stat%% *}" != [ZX] ]]
}

# peer_stop_all PID SIG PID SIG ...: signals each PID, waits up to $peer_grace s for all of them to
# end, then SIGKILLs what is left.
peer_stop_all() {
    local pids=() i left pid
    while (($# >= 2)); do
        kill -"$2" "$1" 2>/dev/null || true
        pids+=("$1")
        shift 2
    done
    for ((i = 0; i < peer_grace * 10; i++)); do
        left=0
        for pid in "${pids[@]}"; do
            peer_alive "$pid" && left=1
        done
        ((left)) || return 0
        sleep 0.1
    done
    for pid in "${pids[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
    done
}

if [[ "${1:-}" == --guard ]]; then
    # The guard: reads "pid PID SIG" lines until "done" (the script cleaned up itself) or EOF
    # (the script died without doing so: stop its servers, remove its dir).
    dir="$2"
    pairs=()
    while IFS=' ' read -r word pid sig; do
        case "$word" in
            pid) pairs+=("$pid" "$sig") ;;
            done) exit 0 ;;
        esac
    done
    ((${#pairs[@]} == 0)) || peer_stop_all "${pairs[@]}"
    rm -rf "$dir"
    exit 0
fi

# peer_die MESSAGE [LOG]: MESSAGE (and LOG's last lines) on stderr, then exit 1 (cleanup runs).
peer_die() {
    echo "$peer_name: $1" >&2
    if [[ -n "${2:-}" && -s "$2" ]]; then
        echo "--- last lines of $2 ---" >&2
        tail -n 30 "$2" >&2
    fi
    exit 1
}

peer_cleanup() {
    local status=$? i pairs=()
    trap '' TERM INT HUP
    for ((i = 0; i < ${#peer_pids[@]}; i++)); do
        pairs+=("${peer_pids[i]}" "${peer_sigs[i]}")
    done
    ((${#pairs[@]} == 0)) || peer_stop_all "${pairs[@]}"
    # (No `wait` on a child here: bash 5.2 can block in it for a job it has already reaped.)
    [[ -z "$peer_watch_pid" ]] || kill "$peer_watch_pid" 2>/dev/null || true
    [[ -z "$peer_dir" ]] || rm -rf "$peer_dir"
    if [[ -n "$peer_guard_fd" ]]; then
        echo done >&"$peer_guard_fd" 2>/dev/null || true
        exec {peer_guard_fd}>&-
        for ((i = 0; i < 50; i++)); do
            peer_alive "$peer_guard_pid" || break
            sleep 0.02
        done
    fi
    exit "$status"
}

# peer_init: traps, the temp dir ($peer_dir, $peer_log), the guard and the parent watcher.
peer_init() {
    trap peer_cleanup EXIT
    trap 'exit 0' TERM INT HUP
    command -v "$peer_python" >/dev/null || peer_die "no $peer_python on PATH (Python 3 is needed)"
    peer_dir="$(mktemp -d "${TMPDIR:-/tmp}/toolyard-$peer_name.XXXXXX")"
    peer_log="$peer_dir/server.log"
    : >"$peer_log"
    exec {peer_guard_fd}> >(exec setsid bash "$peer_lib" --guard "$peer_dir" >/dev/null 2>&1)
    peer_guard_pid=$!
    if [[ "${PEER_WATCH_PARENT:-1}" == 0 ]]; then
        # (a shell that starts it and exits at once: keep running until signalled)
        tail -f /dev/null </dev/null >/dev/null 2>&1 {peer_guard_fd}>&- &
    else
        tail --pid="$PPID" -f /dev/null </dev/null >/dev/null 2>&1 {peer_guard_fd}>&- &
    fi
    peer_watch_pid=$!
}

# peer_spawn SIG CMD...: starts CMD in the background (this process group, stdin /dev/null, output
# appended to $peer_log); it is stopped with SIG at the end. Sets peer_last_pid.
peer_spawn() {
    local sig="$1"
    shift
    "$@" </dev/null >>"$peer_log" 2>&1 {peer_guard_fd}>&- &
    peer_last_pid=$!
    peer_pids+=("$peer_last_pid")
    peer_sigs+=("$sig")
    echo "pid $peer_last_pid $sig" >&"$peer_guard_fd"
}

# peer_forget PID: PID has exited (a failed start); do not stop it at the end.
peer_forget() {
    local i
    for ((i = 0; i < ${#peer_pids[@]}; i++)); do
        if [[ "${peer_pids[i]}" == "$1" ]]; then
            peer_pids=("${peer_pids[@]:0:i}" "${peer_pids[@]:i+1}")
            peer_sigs=("${peer_sigs[@]:0:i}" "${peer_sigs[@]:i+1}")
            break
        fi
    done
}

# peer_ports N: N distinct free loopback ports, space-separated.
peer_ports() {
    "$peer_python" "$peer_util" ports "$1"
}

# peer_wait_listen PID SECS PORT...: 0 once PID (or a child) listens on every PORT, 1 if PID
# exited, 2 on timeout (the reason on stderr).
peer_wait_listen() {
    "$peer_python" "$peer_util" wait-listen "$@"
}

# peer_wait_http PID SECS URL: 0 once URL answers 2xx, 1 if PID exited, 2 on timeout.
peer_wait_http() {
    "$peer_python" "$peer_util" wait-http "$@"
}

# peer_bind_failed: true when the server log says a port was taken (another process got it
# between our pick and the server's bind): the caller retries with new ports.
peer_bind_failed() {
    grep -qiE 'address already in use|could not bind|cannot bind|could not create any TCP/IP sockets' "$peer_log"
}

# peer_ready KEY VALUE...: prints the JSON line.
peer_ready() {
    "$peer_python" "$peer_util" json "$@"
}

# peer_serve: waits until a server exits (then fails with its log) or the parent goes away;
# the signal traps end the wait early.
peer_serve() {
    local status=0
    wait -n "${peer_pids[@]}" "$peer_watch_pid" 2>/dev/null || status=$?
    if ! peer_alive "$peer_watch_pid"; then
        echo "$peer_name: parent process gone, stopping" >&2
        exit 0
    fi
    peer_die "the server exited (status $status)" "$peer_log"
}
