#!/usr/bin/env python3
"""The direct path on io_uring against the same build on epoll (`--no-io-uring`), with nginx
and the fixed-answer ceiling (nginx answering one constant 303) in the same run.

    python3 bench/server/uring.py --binary target/release/seeother            # 1,000,000 rules
    python3 bench/server/uring.py --binary target/release/seeother --rules 10000 --rounds 1

Every contestant runs pinned like bench.py's (servers on --server-cpu, wrk on --load-cpu);
the rounds go through the four in turn, in an order that alternates. Printed per round:
requests/s, p99, server CPU per request (utime + stime from /proc/PID/stat over requests
answered); then medians, each against nginx and the ceiling. With --strace, one more short
run per contestant under `strace -c -f` gives the system calls per request (strace slows
the server down: its rates are not the benchmark's).
"""

import argparse
import atexit
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import contestants  # noqa: E402
import generate  # noqa: E402
import measure  # noqa: E402

VARIANTS = ("io_uring", "epoll", "nginx", "ceiling")


def start_seeother(a, db, label, extra, workdir, probe, env):
    port = contestants.free_port()
    argv = [a.binary, "serve", "--listen", f"127.0.0.1:{port}", "--db", db, *extra]
    proc, log = contestants.launch("seeother", argv, a.server_cpu,
                                   os.path.join(workdir, f"seeother-{label}.log"), env)
    server = contestants.Server("seeother", port, proc, log)
    contestants.wait_first(server, probe, time.monotonic(), label)
    return server


def syscalls(a, server, paths):
    """System calls per request of `server` under a short wrk run, from `strace -c -f`."""
    pids = server.cpu_pids()
    out = tempfile.NamedTemporaryFile(suffix=".strace", delete=False).name
    argv = ["strace", "-c", "-f", "-o", out]
    for p in pids:
        argv += ["-p", str(p)]
    tracer = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    r = measure.wrk(a, server, paths, a.strace_seconds)
    tracer.send_signal(signal.SIGINT)
    tracer.wait(timeout=30)
    with open(out) as f:
        text = f.read()
    os.unlink(out)
    calls = {}
    for line in text.splitlines():
        m = re.match(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$", line)
        if m and m.group(2) != "total":
            calls[m.group(2)] = int(m.group(1))
    return r["requests"], calls


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", required=True, help="the seeother release binary")
    ap.add_argument("--rules", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--server-cpu", default="0")
    ap.add_argument("--load-cpu", default="1")
    ap.add_argument("--strace", action="store_true", help="also count system calls per request")
    ap.add_argument("--strace-seconds", type=int, default=3)
    ap.add_argument("--workdir")
    a = ap.parse_args()
    a.skip = []
    workdir = a.workdir or tempfile.mkdtemp(prefix="seeother-uring-bench-")
    if not a.workdir:
        atexit.register(shutil.rmtree, workdir, True)
    atexit.register(contestants.stop_everything)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(130))

    table = os.path.join(workdir, "table")
    if not os.path.exists(os.path.join(table, "summary.json")):
        summary = generate.generate(table, a.rules)
        with open(os.path.join(table, "summary.json"), "w") as f:
            json.dump(summary, f)
    paths = os.path.join(table, "paths.txt")
    probe = contestants.first_redirect(table)
    env = dict(os.environ, SEEOTHER_ADMIN_TOKEN=secrets.token_hex(16), RUST_LOG="info")
    # One store per seeother, so that neither waits on the other's writes.
    dbs = {}
    for label in ("io_uring", "epoll"):
        d = os.path.join(workdir, label)
        os.makedirs(d, exist_ok=True)
        dbs[label] = os.path.join(d, "seeother.db")
        if not os.path.exists(dbs[label]):
            subprocess.run([a.binary, "import", "--db", dbs[label],
                            os.path.join(table, "rules.csv")],
                           env=env, check=True, stdout=subprocess.DEVNULL)
    print(f"{a.rules:,} rules; servers on CPU {a.server_cpu}, wrk on CPU {a.load_cpu}, "
          f"{a.connections} connections; load average {os.getloadavg()[0]:.2f}", flush=True)

    servers = {
        "io_uring": start_seeother(a, dbs["io_uring"], "io_uring", [], workdir, probe, env),
        "epoll": start_seeother(a, dbs["epoll"], "epoll", ["--no-io-uring"], workdir, probe,
                                env),
        "nginx": contestants.start_nginx(a, table, workdir, probe, a.rules),
        "ceiling": contestants.start_ceiling(a, workdir),
    }
    for label in ("io_uring", "epoll"):
        with open(os.path.join(workdir, f"seeother-{label}.log")) as f:
            said = [line.strip() for line in f if "direct HTTP/1.1 path" in line]
        print(f"  {label}: {said[-1] if said else 'no path logged'}", flush=True)
    measure.verify([servers["io_uring"], servers["epoll"], servers["nginx"]], table, 300)

    results = {k: [] for k in VARIANTS}
    for r in range(a.rounds):
        order = list(VARIANTS) if r % 2 == 0 else list(reversed(VARIANTS))
        for label in order:
            server = servers[label]
            if a.warmup:
                measure.wrk(a, server, paths, a.warmup)
            res = measure.wrk(a, server, paths, a.duration)
            results[label].append(res)
            print(f"  round {r + 1} {label:8}: {res['rps']:>9,.0f} requests/s, p99 "
                  f"{res['p99_us'] / 1e3:.2f} ms, {res['cpu']['us_per_request']:.2f} µs server "
                  f"CPU per request (server {res['cpu']['server_busy'] * 100:.0f} % busy, wrk "
                  f"{res['cpu']['load_busy'] * 100:.0f} %)", flush=True)

    med = {k: {"rps": statistics.median(x["rps"] for x in v),
               "cpu": statistics.median(x["cpu"]["us_per_request"] for x in v),
               "p99": statistics.median(x["p99_us"] for x in v)}
           for k, v in results.items()}
    print(f"\nmedians of {a.rounds} rounds of {a.duration} s; load average "
          f"{os.getloadavg()[0]:.2f} at the end")
    print("| | requests/s | p99 | server CPU per request | CPU vs nginx | requests/s vs "
          "ceiling |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for k in VARIANTS:
        m = med[k]
        print(f"| {k} | {m['rps']:,.0f} | {m['p99'] / 1e3:.2f} ms | {m['cpu']:.2f} µs | "
              f"{m['cpu'] / med['nginx']['cpu']:.2f}× | "
              f"{m['rps'] / med['ceiling']['rps']:.3f} |")

    if a.strace:
        print(f"\nsystem calls per request (strace -c -f, {a.strace_seconds} s of wrk each)")
        for k in VARIANTS:
            requests, calls = syscalls(a, servers[k], paths)
            top = sorted(calls.items(), key=lambda kv: -kv[1])[:6]
            total = sum(calls.values())
            print(f"  {k}: {total / requests:.3f} in all over {requests:,} requests; " +
                  ", ".join(f"{name} {n / requests:.3f}" for name, n in top), flush=True)
    contestants.stop_all(servers.values())


if __name__ == "__main__":
    main()
