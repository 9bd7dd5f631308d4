#!/usr/bin/env python3
"""Server benchmark: `seeother serve` against nginx (`map` + `return 303`) and a minimal axum
redirector, side by side on one machine, on loopback.

Each server is pinned to one core and wrk to another (taskset); rounds alternate the
contestants (A/B/C, A/B/C, ...). Printed per contestant: requests/s, p50 and p99 latency,
server CPU time per request and requests per server-CPU-second (from /proc accounting, read
before and after every run: what a server would reach if its own core were the only limit),
the load generator's CPU time, peak RSS (VmHWM), time from start to the first answered
request, and the ratios seeother/nginx and seeother/axum per round with their medians.
Also: POST mixes (wrk), HEAD against GET over HTTP/2 (h2load; wrk cannot time HEAD), HTTP/2
with 10 streams for seeother, and a rule change through the admin API until a request sees
it. Tables and stores of a temporary workdir are removed at exit, also when interrupted.

    python3 bench/server/bench.py --quick            # 10,000 rules, 5 s rounds
    python3 bench/server/bench.py                    # 10,000 and 1,000,000 rules, 6 rounds of 5 s
    python3 bench/server/bench.py --write-doc        # also record the "Server" section

Installs nginx, wrk and nghttp2-client with apt-get when absent (needs root). Builds the
release binaries unless --no-build. Everything started is stopped on exit.
"""

import argparse
import atexit
import datetime
import gzip
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import contestants  # noqa: E402
import generate  # noqa: E402
import measure  # noqa: E402
import report  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
TOOLS = {"nginx": "nginx", "wrk": "wrk", "h2load": "nghttp2-client", "taskset": "util-linux"}


def ensure_tools():
    missing = [pkg for tool, pkg in TOOLS.items() if shutil.which(tool) is None]
    if not missing:
        return
    if os.geteuid() != 0:
        sys.exit(f"missing {', '.join(missing)}: install them (apt-get install {' '.join(missing)})")
    print(f"installing {' '.join(missing)} from Debian", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)


def recorded_args(args):
    """The command-line arguments that change what is measured (not --workdir)."""
    out, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--workdir":
            skip = True
        elif not arg.startswith("--workdir="):
            out.append(arg)
    return out


def target_dir():
    return os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target")


def build(no_build):
    seeother = os.path.join(target_dir(), "release", "seeother")
    axum = os.path.join(target_dir(), "release", "baseline-axum")
    if not no_build:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "seeother"], cwd=REPO, check=True)
        manifest = os.path.join(REPO, "bench", "baseline-axum", "Cargo.toml")
        subprocess.run(
            ["cargo", "build", "--release", "-q", "--manifest-path", manifest],
            cwd=REPO,
            check=True,
            env=dict(os.environ, CARGO_TARGET_DIR=target_dir()),
        )
    for b in (seeother, axum):
        if not os.path.exists(b):
            sys.exit(f"{b} is missing: run without --no-build")
    return seeother, axum


def tables(workdir, n):
    """Generate (or reuse) the tables for n rules."""
    d = os.path.join(workdir, f"table-{n}")
    stamp = os.path.join(d, "summary.json")
    if os.path.exists(stamp):
        with open(stamp) as f:
            return d, json.load(f)
    print(f"generating {n:,} rules in {d}", flush=True)
    summary = generate.generate(d, n)
    with open(stamp, "w") as f:
        json.dump(summary, f)
    return d, summary


def irq_time_accounting():
    """Whether this kernel accounts interrupt and softirq time apart from the task they
    interrupt (CONFIG_IRQ_TIME_ACCOUNTING); None when its configuration cannot be read."""
    for path, opener in (("/proc/config.gz", gzip.open),
                         (f"/boot/config-{platform.release()}", open)):
        try:
            with opener(path, "rt") as f:
                return any(line.strip() == "CONFIG_IRQ_TIME_ACCOUNTING=y" for line in f)
        except OSError:
            continue
    return None


def remove_bulk(workdir):
    """Remove the tables and stores of a temporary workdir (about 700 MB for 1,000,000
    rules), keeping logs and results. Runs at exit, after the servers are stopped, also when
    the run is interrupted."""
    if not os.path.isdir(workdir):
        return
    for entry in os.listdir(workdir):
        path = os.path.join(workdir, entry)
        if entry.startswith("table-"):
            shutil.rmtree(path, ignore_errors=True)
        elif entry.startswith("run-"):
            for f in os.listdir(path):
                if f.startswith("seeother.db"):
                    os.remove(os.path.join(path, f))
    print(f"results and logs in {workdir} (tables and stores removed; --keep keeps them)")


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def run_size(a, n, bins, workdir):
    table, summary = tables(workdir, n)
    print(f"\n== {n:,} rules ({summary['exact']:,} exact, {summary['prefix']:,} prefix); "
          f"{summary['requests']:,} request paths ==", flush=True)
    run_dir = tempfile.mkdtemp(prefix=f"run-{n}-", dir=workdir)
    servers = contestants.start_all(a, bins, table, run_dir)
    result = {"rules": n, "summary": summary, "start": {}, "rounds": [], "mixes": [], "rss": {}}
    for s in servers:
        result["start"][s.name] = s.start_times
    try:
        measure.verify(servers, table, samples=a.verify)
        paths = os.path.join(table, "paths.txt")
        for s in servers:
            measure.wrk(a, s, paths, duration=a.warmup)  # warm-up, not recorded
        seeother = next(s for s in servers if s.name == "seeother")
        direct_before = contestants.counter(seeother.port, "seeother_http1_direct_total")
        for r in range(a.rounds):
            row = {}
            for s in servers:
                row[s.name] = measure.wrk(a, s, paths, duration=a.duration)
                print(f"  round {r + 1} {s.name:8} {report.wrk_line(row[s.name])}", flush=True)
            result["rounds"].append(row)
        direct_after = contestants.counter(seeother.port, "seeother_http1_direct_total")
        if direct_before is not None and direct_after is not None:
            # Which of seeother's two HTTP/1.1 paths the timed rounds measured.
            result["direct"] = {
                "answered": direct_after - direct_before,
                "completed": sum(row["seeother"]["requests"] for row in result["rounds"]),
            }
            print(f"  seeother's direct HTTP/1.1 path answered {result['direct']['answered']:,} "
                  f"requests in the rounds, wrk completed {result['direct']['completed']:,}",
                  flush=True)
        for mix in a.mixes:
            row = {"mix": mix}
            for s in servers:
                row[s.name] = measure.wrk(a, s, paths, duration=a.duration, mix=mix)
                print(f"  mix {mix:18} {s.name:8} {report.wrk_line(row[s.name])}", flush=True)
            result["mixes"].append(row)
        if a.pipeline > 1:
            row = {"mix": f"GET, pipelined ×{a.pipeline}"}
            for s in servers:
                row[s.name] = measure.wrk(a, s, paths, duration=a.duration, depth=a.pipeline)
                print(f"  pipelined ×{a.pipeline:<8} {s.name:8} {report.wrk_line(row[s.name])}",
                      flush=True)
            result["mixes"].append(row)
        if a.ceiling:
            ceiling = contestants.start_ceiling(a, run_dir)
            try:
                result["ceiling"] = measure.wrk(a, ceiling, paths, duration=a.duration)
            finally:
                contestants.stop(ceiling)
            print(f"  ceiling (nginx, one fixed 303, no table) "
                  f"{report.wrk_line(result['ceiling'])}", flush=True)
        if a.admin:
            result["admin"] = measure.admin_latency(seeother, count=a.admin)
            print(f"  admin change → visible: {report.admin_line(result['admin'])}", flush=True)
        if a.h2:
            # HTTP/2 for seeother, with 1 and 10 streams per connection; then GET against HEAD
            # for every contestant (wrk cannot time HEAD), one stream per connection.
            runs = [(seeother, "GET", 10)]
            runs += [(s, m, 1) for m in ("GET", "HEAD") for s in servers]
            result["h2"] = []
            for s, method, streams in runs:
                h = measure.h2load(a, s, table, streams=streams, method=method)
                result["h2"].append(h)
                print(f"  h2load {s.name:8} {report.h2_line(h)}", flush=True)
        for s in servers:
            result["rss"][s.name] = s.peak_rss()
    finally:
        contestants.stop_all(servers)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="10,000 rules, 5 s rounds, 2 rounds")
    ap.add_argument("--rules", type=int, action="append", help="table size; repeatable")
    ap.add_argument("--duration", type=int, help="seconds per wrk run (default 5)")
    ap.add_argument("--warmup", type=int, default=2, help="seconds of unrecorded warm-up")
    ap.add_argument("--rounds", type=int, help="A/B/C rounds (default 6, quick 2)")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--server-cpu", default="0", help="CPU list for the servers (taskset)")
    ap.add_argument("--load-cpu", default="1", help="CPU list for wrk and h2load (taskset)")
    ap.add_argument("--mix", dest="mixes", action="append",
                    help="wrk method mixes besides GET (default GET:50,POST:50 and POST:100)")
    ap.add_argument("--pipeline", type=int, default=16,
                    help="one extra GET run with this HTTP/1.1 pipelining depth (1: skip)")
    ap.add_argument("--no-ceiling", dest="ceiling", action="store_false",
                    help="skip the ceiling run (nginx answering one fixed 303, no table)")
    ap.add_argument("--admin", type=int, default=20, help="admin changes to time (0: skip)")
    ap.add_argument("--no-h2", dest="h2", action="store_false", help="skip h2load")
    ap.add_argument("--verify", type=int, default=300, help="request paths checked first")
    ap.add_argument("--skip", action="append", default=[], choices=["nginx", "axum"],
                    help="leave a contestant out")
    ap.add_argument("--seeother-arg", dest="seeother_args", action="append", default=[],
                    metavar="ARG", help="extra argument to `seeother serve` (e.g. "
                    "--seeother-arg=--flush-interval=3600); repeatable; shown in the results")
    ap.add_argument("--workdir", help="where tables, databases and logs go (kept)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the tables and stores of a temporary workdir (for profile.py)")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--no-install", action="store_true")
    ap.add_argument("--write-doc", action="store_true",
                    help="write the results into the Server section of docs/benchmarks.md")
    a = ap.parse_args()
    a.rules = a.rules or ([10_000] if a.quick else [10_000, 1_000_000])
    # Many short rounds rather than a few long ones: the contestants interleave more finely,
    # so a drift in the machine's speed falls on all of them alike.
    a.duration = a.duration or 5
    a.rounds = a.rounds or (2 if a.quick else 6)
    a.mixes = a.mixes or ["GET:50,POST:50", "POST:100"]

    if not a.no_install:
        ensure_tools()
    bins = build(a.no_build)
    workdir = a.workdir or tempfile.mkdtemp(prefix="seeother-bench-")
    os.makedirs(workdir, exist_ok=True)
    if not (a.workdir or a.keep):
        atexit.register(remove_bulk, workdir)  # registered first: runs after the next one
    atexit.register(contestants.stop_everything)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(130))

    env = {
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "date": datetime.date.today().isoformat(),
        "load_before": os.getloadavg(),
        "nginx": measure.version(["nginx", "-v"]),
        "wrk": measure.version(["wrk", "-v"]),
        "h2load": measure.version(["h2load", "--version"]),
        # Where the files went is not part of the experiment: leave --workdir out.
        "command": "python3 bench/server/bench.py " + " ".join(recorded_args(sys.argv[1:])),
        "commit": measure.version(["git", "-C", REPO, "rev-parse", "--short", "HEAD"]),
        "connections": a.connections,
        "duration": a.duration,
        "rounds": a.rounds,
        "server_cpu": a.server_cpu,
        "load_cpu": a.load_cpu,
        "clk_tck": measure.CLK_TCK,
        "irq_time_accounting": irq_time_accounting(),
    }
    print(f"{env['cores']} cores, load {env['load_before'][0]:.2f}; servers on CPU "
          f"{a.server_cpu}, load generator on CPU {a.load_cpu}; workdir {workdir}", flush=True)
    results = [run_size(a, n, bins, workdir) for n in a.rules]
    env["load_after"] = os.getloadavg()
    with open(os.path.join(workdir, "results.json"), "w") as f:
        json.dump({"env": env, "results": results}, f, indent=1)
    text = report.markdown(env, results)
    print("\n" + text)
    if a.write_doc:
        report.write_doc(os.path.join(REPO, "docs", "benchmarks.md"), text)
        print("wrote the Server section of docs/benchmarks.md")
    if a.workdir or a.keep:
        print(f"kept {workdir} (tables, stores, logs, results.json)")


if __name__ == "__main__":
    main()
