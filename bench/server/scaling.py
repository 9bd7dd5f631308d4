#!/usr/bin/env python3
"""Scaling on the cores there are: `seeother serve` with one server thread against two, the
load generator sharing a core with the second, and each thread's CPU time.

    python3 bench/server/scaling.py --binary target/release/seeother           # 1,000,000 rules
    python3 bench/server/scaling.py --binary target/release/seeother --rules 100000 --rounds 2

On a two-core machine the second server thread has to share its core with wrk, so this does
not show how far seeother scales; it shows whether a second thread adds work of its own
(handing connections between threads, contended counters, the index shared by both) and how
evenly the threads share the requests. Rounds alternate `--threads 1` on core 0 and
`--threads 2` on cores 0-1, wrk on core 1 in both; printed per round: requests/s, p99, the
server's CPU per request, and every thread's CPU seconds (from /proc/PID/task).
docs/benchmarks.md ("Scaling") says what limits scaling to 16 and 64 cores.
"""

import argparse
import atexit
import os
import secrets
import shutil
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


def threads_cpu(pid):
    """{thread name: CPU seconds} of every thread of `pid` (names repeat: summed)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[f"{name}:{tid}"] = (int(fields[11]) + int(fields[12])) / measure.CLK_TCK
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=4, help="pairs of rounds")
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--load-cpu", default="1")
    ap.add_argument("--binary", required=True)
    ap.add_argument("--workdir")
    a = ap.parse_args()
    workdir = a.workdir or tempfile.mkdtemp(prefix="seeother-scaling-bench-")
    if not a.workdir:
        atexit.register(shutil.rmtree, workdir, True)
    atexit.register(contestants.stop_everything)
    table = os.path.join(workdir, "table")
    generate.generate(table, a.rules)
    paths = os.path.join(table, "paths.txt")
    probe = contestants.first_redirect(table)
    db = os.path.join(workdir, "seeother.db")
    env = dict(os.environ, SEEOTHER_ADMIN_TOKEN=secrets.token_hex(16), RUST_LOG="warn")
    subprocess.run([a.binary, "import", "--db", db, os.path.join(table, "rules.csv")],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    print(f"{a.rules:,} rules imported", flush=True)

    variants = {"1 thread": ("0", "1"), "2 threads": ("0-1", "2")}
    results = {k: [] for k in variants}
    for r in range(a.rounds):
        order = list(variants) if r % 2 == 0 else list(reversed(variants))
        for label in order:
            cpus, threads = variants[label]
            port = contestants.free_port()
            proc, log = contestants.launch(
                "seeother", [a.binary, "serve", "--listen", f"127.0.0.1:{port}", "--db", db,
                             "--threads", threads], cpus,
                os.path.join(workdir, "seeother.log"), env)
            server = contestants.Server("seeother", port, proc, log)
            contestants.wait_first(server, probe, time.monotonic(), label)
            a.server_cpu = cpus
            measure.wrk(a, server, paths, 2)  # warm-up
            before = threads_cpu(proc.pid)
            res = measure.wrk(a, server, paths, a.duration)
            after = threads_cpu(proc.pid)
            contestants.stop(server)
            per_thread = {t: after[t] - before.get(t, 0) for t in after
                          if after[t] - before.get(t, 0) >= 0.05}
            res["threads"] = per_thread
            results[label].append(res)
            busy = ", ".join(f"{t.split(':')[0]} {s:.2f} s" for t, s in
                             sorted(per_thread.items(), key=lambda x: -x[1]))
            print(f"  round {r + 1} {label}: {res['rps']:,.0f} requests/s, p99 "
                  f"{res['p99_us'] / 1e3:.2f} ms, {res['cpu']['us_per_request']:.1f} µs server "
                  f"CPU per request; threads: {busy}", flush=True)
    print("\nsummary")
    for label, rs in results.items():
        print(f"  {label}: median {statistics.median(x['rps'] for x in rs):,.0f} requests/s, "
              f"{statistics.median(x['cpu']['us_per_request'] for x in rs):.1f} µs server CPU "
              f"per request, p99 {statistics.median(x['p99_us'] for x in rs) / 1e3:.2f} ms")


if __name__ == "__main__":
    main()
