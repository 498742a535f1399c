"""Helpers for the start scripts in tests/peers (through lib.sh): free ports, waiting until a
server of ours listens or answers HTTP, and the JSON line. Standard library only.

    peerutil.py ports N                      N distinct free loopback ports, space-separated
    peerutil.py wait-listen PID SECS PORT... until every PORT is listened on by PID or one of
                                             its descendants (not by some other process)
    peerutil.py wait-http PID SECS URL       until URL answers 2xx (PID must stay alive)
    peerutil.py wait-scraped PID SECS URL    until the Prometheus at URL has scraped each of
                                             its targets once (whether up or down)
    peerutil.py json KEY VALUE...            one line of JSON, every value a string

The wait commands exit 0 when ready, 1 when PID has exited (or is a zombie), 2 on timeout, and
say why on stderr.
"""

import json
import os
import socket
import sys
import time
import urllib.error
import urllib.request


def ports(count):
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
            stat = f.read()
    except OSError:
        return False
    # "pid (comm) state ...": comm may hold spaces and parentheses.
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def descendants(root):
    """root and every process below it."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found


def listening_inodes(port):
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            # cols[1] local "ADDR:PORT" in hex, cols[3] state (0A = LISTEN), cols[9] inode
            if len(cols) > 9 and cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(cols[9])
    return inodes


def socket_inodes(pids):
    inodes = set()
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[len("socket:[") : -1])
    return inodes


def wait_listen(pid, secs, wanted):
    deadline = time.monotonic() + secs
    pending = list(wanted)
    while True:
        if not alive(pid):
            print(f"process {pid} exited before listening on port(s) {' '.join(map(str, pending))}", file=sys.stderr)
            return 1
        ours = socket_inodes(descendants(pid))
        pending = [p for p in wanted if not (listening_inodes(p) & ours)]
        if not pending:
            return 0
        if time.monotonic() > deadline:
            print(f"process {pid} did not listen on port(s) {' '.join(map(str, pending))} within {secs} s", file=sys.stderr)
            return 2
        time.sleep(0.05)


def wait_http(pid, secs, url):
    deadline = time.monotonic() + secs
    last = "no answer"
    while True:
        if not alive(pid):
            print(f"process {pid} exited before {url} answered ({last})", file=sys.stderr)
            return 1
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if 200 <= resp.status < 300:
                    return 0
                last = f"HTTP {resp.status}"
        except urllib.error.HTTPError as err:
            last = f"HTTP {err.code}"
        except (urllib.error.URLError, OSError) as err:
            last = str(getattr(err, "reason", err))
        if time.monotonic() > deadline:
            print(f"{url} did not answer 2xx within {secs} s (last: {last})", file=sys.stderr)
            return 2
        time.sleep(0.1)


def wait_scraped(pid, secs, url):
    deadline = time.monotonic() + secs
    last = "no answer"
    while True:
        if not alive(pid):
            print(f"process {pid} exited before its first scrape ({last})", file=sys.stderr)
            return 1
        try:
            with urllib.request.urlopen(f"{url}/api/v1/targets?state=active", timeout=5) as resp:
                targets = json.load(resp)["data"]["activeTargets"]
            pending = [t["scrapeUrl"] for t in targets if t["lastScrape"].startswith("0001-")]
            if targets and not pending:
                return 0
            last = f"not scraped yet: {' '.join(pending)}" if targets else "no targets yet"
        except (urllib.error.URLError, OSError, ValueError, KeyError) as err:
            last = str(getattr(err, "reason", err))
        if time.monotonic() > deadline:
            print(f"{url} did not scrape its targets within {secs} s ({last})", file=sys.stderr)
            return 2
        time.sleep(0.1)


def main(argv):
    if len(argv) >= 2 and argv[0] == "ports":
        print(" ".join(map(str, ports(int(argv[1])))))
        return 0
    if len(argv) >= 4 and argv[0] == "wait-listen":
        return wait_listen(int(argv[1]), float(argv[2]), [int(p) for p in argv[3:]])
    if len(argv) == 4 and argv[0] == "wait-http":
        return wait_http(int(argv[1]), float(argv[2]), argv[3])
    if len(argv) == 4 and argv[0] == "wait-scraped":
        return wait_scraped(int(argv[1]), float(argv[2]), argv[3])
    if len(argv) >= 1 and argv[0] == "json" and len(argv) % 2 == 1:
        print(json.dumps(dict(zip(argv[1::2], argv[2::2])), separators=(",", ":")))
        return 0
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
