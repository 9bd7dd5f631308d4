#!/usr/bin/env python3
"""Attacks on a running `seeother serve` over loopback, with figures: how normal clients fare
while one client trickles request bodies into every connection it may open, or holds
thousands of connections open without sending anything.

    cargo build --release
    bench/attack/attack.py                       # every scenario, default flags
    bench/attack/attack.py --scenario silent --server-args='--max-connections-per-client 0'

The attacker connects from 127.0.0.2, the normal client from 127.0.0.1 (all of 127/8 is this
machine). Every loop is bounded in count and time; the server is stopped at the end.
"""

import argparse
import os
import re
import resource
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOKEN = "attack-token-0123456789abcdef"
RULES = '[[rules]]\npattern = "/id/{name}"\nto = "https://example.org/page/{name}"\n'


def start(binary, args, workdir):
    rules = os.path.join(workdir, "rules.toml")
    with open(rules, "w") as f:
        f.write(RULES)
    cmd = [binary, "serve", "--listen", "127.0.0.1:0", "--db", os.path.join(workdir, "a.db"),
           "--rules", rules, *args]
    env = dict(os.environ, SEEOTHER_ADMIN_TOKEN=TOKEN, RUST_LOG="error")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True)
    for line in proc.stdout:
        m = re.match(r"seeother serve: listening on http://(\S+)", line)
        if m:
            host, port = m.group(1).rsplit(":", 1)
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return proc, (host, int(port))
    raise SystemExit("seeother serve did not start")


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def connect(addr, source, timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((source, 0))
    s.settimeout(timeout)
    s.connect(addr)
    return s


def normal_gets(addr, seconds, every, results, stop):
    """A GET every `every` seconds from 127.0.0.1, each with a 10 s limit."""
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end and not stop.is_set():
        t0 = time.monotonic()
        try:
            s = connect(addr, "127.0.0.1", timeout=10)
            s.sendall(f"GET /id/{n} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n".encode())
            data = s.recv(64)
            s.close()
            ok = data.startswith(b"HTTP/1.1 303")
        except OSError:
            ok = False
        results.append((ok, time.monotonic() - t0))
        n += 1
        time.sleep(max(0.0, every - (time.monotonic() - t0)))


def sign_in_cookie(addr):
    """The signed sign-in form cookie and CSRF token any visitor gets."""
    s = connect(addr, "127.0.0.3")
    s.sendall(b"GET /-/admin/sign-in HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    raw = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        raw += chunk
    text = raw.decode("utf-8", "replace")
    cookie = re.search(r"(?im)^set-cookie:\s*([^;\r\n]+)", text)
    csrf = re.search(r'name="csrf" value="([^"]+)"', text)
    return (cookie.group(1) if cookie else ""), (csrf.group(1) if csrf else "")


def report(name, results, peak_rss, extra=""):
    ok = [t for good, t in results if good]
    failed = len(results) - len(ok)
    p50 = statistics.median(ok) * 1000 if ok else float("nan")
    worst = max(ok) * 1000 if ok else float("nan")
    print(f"{name}: normal GETs {len(ok)} ok / {failed} failed, p50 {p50:.1f} ms, "
          f"max {worst:.1f} ms; server RSS peak {peak_rss:.0f} MiB{extra}")


def watch_rss(pid, stop, peak):
    while not stop.is_set():
        peak[0] = max(peak[0], rss_mib(pid))
        time.sleep(0.2)


def slow_bodies(binary, a):
    """`--max-connections 500`; 500 connections POST the sign-in form (with the cookie anyone
    gets) at one body byte every 5 s."""
    with tempfile.TemporaryDirectory() as d:
        proc, addr = start(binary, ["--max-connections", "500", *a.server_args.split()], d)
        try:
            cookie, csrf = sign_in_cookie(addr)
            head = (f"POST /-/admin/sign-in HTTP/1.1\r\nHost: h\r\nCookie: {cookie}\r\n"
                    "Content-Type: application/x-www-form-urlencoded\r\n"
                    f"Content-Length: 60000\r\n\r\ncsrf={csrf}&token=").encode()
            slow = []
            for _ in range(a.slow):
                try:
                    s = connect(addr, "127.0.0.2")
                    s.sendall(head)
                    s.setblocking(False)
                    slow.append(s)
                except OSError:
                    pass
            stop, peak, results = threading.Event(), [0.0], []
            threading.Thread(target=watch_rss, args=(proc.pid, stop, peak), daemon=True).start()
            getter = threading.Thread(target=normal_gets,
                                      args=(addr, a.seconds, 0.5, results, stop))
            getter.start()
            end = time.monotonic() + a.seconds
            answered = 0
            while time.monotonic() < end and slow:
                for s in list(slow):
                    try:
                        s.send(b"x")
                    except OSError:
                        slow.remove(s)
                        answered += 1
                readable, _, _ = select.select(slow, [], [], 5.0) if slow else ([], [], [])
                # Readable: the server answered (408) or closed; either way it ended it.
                for s in readable:
                    slow.remove(s)
                    answered += 1
                    s.close()
            getter.join()
            stop.set()
            report(f"slow bodies ({a.slow} connections, 1 byte / 5 s)", results, peak[0],
                   f"; slow connections ended by the server: {answered}, still open: {len(slow)}")
        finally:
            proc.terminate()
            proc.wait()


def silent(binary, a):
    """Thousands of connections that send nothing."""
    with tempfile.TemporaryDirectory() as d:
        proc, addr = start(binary, a.server_args.split(), d)
        try:
            stop, peak, results = threading.Event(), [0.0], []
            threading.Thread(target=watch_rss, args=(proc.pid, stop, peak), daemon=True).start()
            base = rss_mib(proc.pid)
            held = []
            t0 = time.monotonic()
            for _ in range(a.silent):
                try:
                    held.append(connect(addr, "127.0.0.2", timeout=2))
                except OSError:
                    break
            opened = time.monotonic() - t0
            getter = threading.Thread(target=normal_gets,
                                      args=(addr, a.seconds, 0.5, results, stop))
            getter.start()
            getter.join()
            closed = 0
            for s in held:
                s.setblocking(False)
                try:
                    if s.recv(1) == b"":
                        closed += 1
                except BlockingIOError:
                    pass
                except OSError:
                    closed += 1
            stop.set()
            report(f"silent ({len(held)} connections opened in {opened:.1f} s)", results,
                   peak[0], f" (at start {base:.0f} MiB); closed by the server: {closed}")
            for s in held:
                s.close()
        finally:
            proc.terminate()
            proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.path.join(ROOT, "target/release/seeother"))
    ap.add_argument("--scenario", choices=["slow-body", "silent", "all"], default="all")
    ap.add_argument("--server-args", default="", help="extra flags for seeother serve")
    ap.add_argument("--seconds", type=float, default=30.0, help="how long normal GETs run")
    ap.add_argument("--slow", type=int, default=500)
    ap.add_argument("--silent", type=int, default=10_000)
    a = ap.parse_args()
    want = a.silent + 2048
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(want, soft), max(want, hard)))
    if a.scenario in ("slow-body", "all"):
        slow_bodies(a.binary, a)
    if a.scenario in ("silent", "all"):
        silent(a.binary, a)


if __name__ == "__main__":
    sys.exit(main())
