#!/usr/bin/env python3
"""HTTP/2 against HTTP/1.1: server CPU per GET over h2c (1 and 10 streams per connection)
beside the direct HTTP/1.1 path, for the direct HTTP/2 path and for hyper's
(`--no-fast-path-h2`), in the same run.

One store is imported once and copied, so the two servers (one per HTTP/2 path, the same
binary) run at once from identical stores, pinned to the same core; each round measures
wrk GET, h2load -m1 and h2load -m10 against one, then the other (A/B, A/B, ...). CPU per
request is the server process's user + system time (/proc/PID/stat) over the requests
answered; printed per round, then the medians with each HTTP/2 figure's ratio to the same
server's HTTP/1.1 GET (the median of the per-round ratios: runs seconds apart, steadier
on a busy machine). `--also NAME=BINARY` adds another build (e.g. an older commit).

    python3 bench/server/h2.py --rules 1000000 --rounds 3
"""

import argparse
import atexit
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bench  # noqa: E402
import contestants  # noqa: E402
import measure  # noqa: E402

RUNS = [("h1 GET", None), ("h2c ×1", 1), ("h2c ×10", 10)]


def start(a, name, binary, extra, db, table, run_dir):
    probe = contestants.first_redirect(table)
    port = contestants.free_port()
    argv = [binary, "serve", "--listen", f"127.0.0.1:{port}", "--db", db, *extra]
    env = dict(os.environ, RUST_LOG="warn")
    proc, log = contestants.launch(name, argv, a.server_cpu,
                                   os.path.join(run_dir, f"{name}.log"), env)
    server = contestants.Server("seeother", port, proc, log)
    server.label = name
    contestants.wait_first(server, probe, time.monotonic(), "start")
    return server


def run_one(a, server, table, streams):
    """One timed run: requests/s and server CPU µs per request."""
    paths = os.path.join(table, "paths.txt")
    if streams is None:
        r = measure.wrk(a, server, paths, duration=a.duration)
        out = {"rps": r["rps"], "us": r["cpu"]["us_per_request"], "bad": r["status"],
               "n": r["requests"]}
    else:
        h = measure.h2load(a, server, table, streams=streams)
        out = {"rps": h["rps"], "us": h["cpu"]["us_per_request"], "bad": h["errored"],
               "n": h["done"]}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rules", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--server-cpu", default="0")
    ap.add_argument("--load-cpu", default="1")
    ap.add_argument("--binary", default=os.path.join(bench.target_dir(), "release", "seeother"))
    ap.add_argument("--also", action="append", default=[], metavar="NAME=BINARY",
                    help="one more server, another build (e.g. an older commit); repeatable")
    ap.add_argument("--workdir", help="where the table and stores go (kept; default temporary)")
    ap.add_argument("--json", help="write the figures here")
    a = ap.parse_args()
    bench.ensure_tools()
    workdir = a.workdir or tempfile.mkdtemp(prefix="seeother-h2-")
    if not a.workdir:
        atexit.register(shutil.rmtree, workdir, True)
    atexit.register(contestants.stop_everything)
    table, _ = bench.tables(workdir, a.rules)
    run_dir = tempfile.mkdtemp(prefix="run-", dir=workdir)
    db = os.path.join(run_dir, "seeother.db")
    print(f"importing {a.rules:,} rules", flush=True)
    s = start(a, "import", a.binary, ["--rules", os.path.join(table, "rules.csv")], db, table,
              run_dir)
    contestants.stop(s)
    variants = [("direct", a.binary, []), ("hyper", a.binary, ["--no-fast-path-h2"])]
    variants += [(*spec.split("=", 1), []) for spec in a.also]
    servers = []
    for name, binary, extra in variants:
        copy = os.path.join(run_dir, f"{name}.db")
        shutil.copyfile(db, copy)
        servers.append(start(a, name, binary, extra, copy, table, run_dir))
    os.remove(db)
    for s in servers:
        for _, streams in RUNS:
            run_one(argparse.Namespace(**{**vars(a), "duration": a.warmup}), s, table, streams)
    results = {s.label: {r: [] for r, _ in RUNS} for s in servers}
    for i in range(a.rounds):
        for s in servers:
            for run, streams in RUNS:
                m = run_one(a, s, table, streams)
                results[s.label][run].append(m)
                print(f"  round {i + 1} {s.label:6} {run:8} {m['rps']:>9,.0f} req/s "
                      f"{m['us']:6.2f} µs server CPU/request  ({m['bad']} 404s/errors)",
                      flush=True)
    for s in servers:
        direct = contestants.counter(s.port, "seeother_http2_direct_total")
        print(f"  {s.label}: seeother_http2_direct_total {direct}")
    contestants.stop_all(servers)
    print(f"\nmedians over {a.rounds} rounds, {a.connections} connections, "
          f"load average {os.getloadavg()[0]:.2f}:")
    summary = {}
    for label, runs in results.items():
        h1 = statistics.median(m["us"] for m in runs["h1 GET"])
        summary[label] = {}
        for run, _ in RUNS:
            us = statistics.median(m["us"] for m in runs[run])
            rps = statistics.median(m["rps"] for m in runs[run])
            # The ratio in each round (runs seconds apart), then its median: steadier than
            # the ratio of the medians on a busy machine.
            ratios = [m["us"] / h["us"] for m, h in zip(runs[run], runs["h1 GET"])]
            ratio = statistics.median(ratios)
            summary[label][run] = {"us": us, "rps": rps, "ratio": ratio,
                                   "ratio_of_medians": us / h1}
            print(f"  {label:6} {run:8} {rps:>9,.0f} req/s {us:6.2f} µs/request  "
                  f"{ratio:.2f}× its HTTP/1.1 GET (per round: "
                  f"{', '.join(f'{x:.2f}' for x in ratios)})")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"args": vars(a), "rounds": results, "medians": summary}, f, indent=1)


if __name__ == "__main__":
    main()
