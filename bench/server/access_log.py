#!/usr/bin/env python3
"""What the access log costs: `seeother serve` without one, with `--access-log FILE` in the
combined format and with `--access-log-format json`, on one table and copies of one store,
side by side on loopback.

The three servers run at once, each pinned to the same core (idle but the one measured), and
wrk to another; rounds alternate them, the order turning each round (off/combined/json,
combined/json/off, ...). Printed per variant: requests/s, server CPU per request (user + sys
of the server process, every thread, the log's writer included, from /proc, over the
requests answered) and the ratios to "off" per round with their medians. At the end every
server is stopped (the log is flushed at exit) and each log's lines are counted against the
requests the server answered, so that a log that drops entries is seen.

    python3 bench/server/access_log.py                       # 10,000 rules, 6 rounds of 5 s
    python3 bench/server/access_log.py --rules 1000000
    python3 bench/server/access_log.py --rules 10000 --rules 1000000 --rounds 8

Needs wrk and taskset (apt-get install wrk util-linux). Builds the release binary unless
--no-build. The tables, stores and logs of a temporary workdir are removed at exit.
"""

import argparse
import atexit
import datetime
import json
import os
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

import bench  # noqa: E402
import contestants  # noqa: E402
import measure  # noqa: E402

VARIANTS = {
    "off": [],
    "combined": ["--access-log", "@LOG@"],
    "json": ["--access-log", "@LOG@", "--access-log-format", "json"],
}


def build(no_build):
    binary = os.path.join(bench.target_dir(), "release", "seeother")
    if not no_build:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "seeother"], cwd=bench.REPO,
                       check=True)
    if not os.path.exists(binary):
        sys.exit(f"{binary} is missing: run without --no-build")
    return binary


def one_store(a, binary, table, run_dir, probe):
    """Import the table into a store once; the seconds it took to the first 303."""
    store = os.path.join(run_dir, "store")
    os.makedirs(store)
    port = contestants.free_port()
    argv = [binary, "serve", "--listen", f"127.0.0.1:{port}", "--db",
            os.path.join(store, "seeother.db"), "--rules", os.path.join(table, "rules.csv")]
    env = dict(os.environ, RUST_LOG="warn", SEEOTHER_ADMIN_TOKEN=secrets.token_hex(16))
    t0 = time.monotonic()
    proc, log = contestants.launch("seeother", argv, a.server_cpu,
                                   os.path.join(run_dir, "import.log"), env)
    server = contestants.Server("seeother", port, proc, log)
    took = contestants.wait_first(server, probe, t0, "import")
    contestants.stop(server)
    return store, took


def start(a, binary, name, store, run_dir, probe):
    """A server for variant `name` on its own copy of the store."""
    d = os.path.join(run_dir, name)
    os.makedirs(d)
    for f in os.listdir(store):
        shutil.copy2(os.path.join(store, f), d)
    log_path = os.path.join(d, "access.log")
    port = contestants.free_port()
    extra = [x.replace("@LOG@", log_path) for x in VARIANTS[name]]
    argv = [binary, "serve", "--listen", f"127.0.0.1:{port}", "--db",
            os.path.join(d, "seeother.db"), *extra, *a.seeother_args]
    env = dict(os.environ, RUST_LOG="warn", SEEOTHER_ADMIN_TOKEN=secrets.token_hex(16))
    t0 = time.monotonic()
    proc, log = contestants.launch("seeother", argv, a.server_cpu,
                                   os.path.join(d, "server.log"), env)
    # Named "seeother" for the harness (its CPU is the process's); the variant beside it.
    server = contestants.Server("seeother", port, proc, log)
    server.variant = name
    server.access_log = log_path if extra else None
    server.answered = 0  # requests answered, as counted by the clients
    took = contestants.wait_first(server, probe, t0, name)
    server.answered += 1
    print(f"  {name:8} started from the store: first 303 after {took:.3f} s", flush=True)
    return server


def lines(path):
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            n += chunk.count(b"\n")
    return n


def line(name, r):
    c = r["cpu"]
    return (f"{name:8} {r['rps']:>10,.0f} req/s  server CPU {c['us_per_request']:6.2f} µs/req "
            f"(busy {c['server_busy'] * 100:.0f} %)  p99 {r['p99_us'] / 1000:.2f} ms  "
            f"404s {r['status']}")


def run_size(a, binary, n, workdir):
    table, summary = bench.tables(workdir, n)
    print(f"\n== {n:,} rules ({summary['exact']:,} exact, {summary['prefix']:,} prefix); "
          f"{summary['requests']:,} request paths ==", flush=True)
    run_dir = tempfile.mkdtemp(prefix=f"run-{n}-", dir=workdir)
    probe = contestants.first_redirect(table)
    store, import_s = one_store(a, binary, table, run_dir, probe)
    print(f"  imported into one store: first 303 after {import_s:.3f} s", flush=True)
    servers = []
    result = {"rules": n, "summary": summary, "rounds": [], "logs": {}}
    try:
        for name in VARIANTS:
            servers.append(start(a, binary, name, store, run_dir, probe))
        measure.verify(servers, table, samples=a.verify)
        paths = os.path.join(table, "paths.txt")
        for s in servers:
            s.answered += a.verify
            s.answered += measure.wrk(a, s, paths, duration=a.warmup)["requests"]
        for r in range(a.rounds):
            row = {}
            for s in servers[r % 3:] + servers[:r % 3]:
                row[s.variant] = measure.wrk(a, s, paths, duration=a.duration)
                s.answered += row[s.variant]["requests"]
                print(f"  round {r + 1} {line(s.variant, row[s.variant])}", flush=True)
            result["rounds"].append(row)
        result["rss_mib"] = {s.variant: contestants.vm(s.proc.pid, "VmHWM") for s in servers}
    finally:
        contestants.stop_all(servers)  # SIGTERM: each log is flushed before the exit
    for s in servers:
        if s.access_log is None:
            continue
        with open(s.log.name, errors="replace") as f:
            dropped = [x.strip() for x in f if "dropped" in x]
        result["logs"][s.variant] = {
            "lines": lines(s.access_log),
            "bytes": os.path.getsize(s.access_log),
            "answered": s.answered,
            "dropped_messages": dropped,
        }
        lg = result["logs"][s.variant]
        print(f"  {s.variant:8} log: {lg['lines']:,} lines ({lg['bytes'] / 2**20:,.0f} MiB) for "
              f"{lg['answered']:,} requests the clients saw answered"
              + (f"; {'; '.join(dropped)}" if dropped else ""), flush=True)
    return result


def remove_bulk(workdir):
    """Remove the tables, stores and access logs of a temporary workdir, keeping the servers'
    own logs and results.json. Runs at exit, also when the run is interrupted."""
    for entry in os.listdir(workdir):
        path = os.path.join(workdir, entry)
        if entry.startswith("table-"):
            shutil.rmtree(path, ignore_errors=True)
        elif entry.startswith("run-"):
            for d, _, files in os.walk(path):
                for f in files:
                    if f.startswith("seeother.db") or f == "access.log":
                        os.remove(os.path.join(d, f))
    print(f"results and logs in {workdir} (tables, stores and access logs removed)")


def ratios(rounds, name, key):
    """Per round, variant `name` against "off", then the median."""
    out = []
    for row in rounds:
        get = (lambda r: r["rps"]) if key == "rps" else (lambda r: r["cpu"]["us_per_request"])
        out.append(get(row[name]) / get(row["off"]))
    return out


def markdown(env, results):
    out = [
        f"`{env['command']}` at commit `{env['commit']}`, {env['date']}, {env['cores']} cores "
        f"(servers on CPU {env['server_cpu']}, wrk on CPU {env['load_cpu']}), load average "
        f"{env['load_before'][0]:.2f} before and {env['load_after'][0]:.2f} after; "
        f"{env['rounds']} rounds of {env['duration']} s per variant, {env['connections']} "
        f"connections, the order turning each round.",
        "",
    ]
    for res in results:
        rounds = res["rounds"]
        out += [
            f"**{res['rules']:,} rules** (medians over the rounds; ratio: per round to "
            "\"off\", then the median)",
            "",
            "| access log | requests/s | server CPU per request | requests/s ÷ off "
            "| CPU per request ÷ off | log lines / requests answered |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name in VARIANTS:
            rps = statistics.median(r[name]["rps"] for r in rounds)
            cpu = statistics.median(r[name]["cpu"]["us_per_request"] for r in rounds)
            if name == "off":
                rr = cr = "1"
                logged = "—"
            else:
                rr = f"{statistics.median(ratios(rounds, name, 'rps')):.3f}"
                cr = f"{statistics.median(ratios(rounds, name, 'cpu')):.3f}"
                lg = res["logs"][name]
                logged = f"{lg['lines']:,} / {lg['answered']:,}"
            label = {"off": "off", "combined": "`--access-log FILE` (combined)",
                     "json": "`--access-log FILE --access-log-format json`"}[name]
            out.append(f"| {label} | {rps:,.0f} | {cpu:.2f} µs | {rr} | {cr} | {logged} |")
        out.append("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rules", type=int, action="append", help="table size; repeatable")
    ap.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    ap.add_argument("--warmup", type=int, default=2, help="seconds of unrecorded warm-up")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--server-cpu", default="0", help="CPU list for the servers (taskset)")
    ap.add_argument("--load-cpu", default="1", help="CPU list for wrk (taskset)")
    ap.add_argument("--verify", type=int, default=300, help="request paths checked first")
    ap.add_argument("--seeother-arg", dest="seeother_args", action="append", default=[],
                    metavar="ARG", help="extra argument to every `seeother serve`; repeatable")
    ap.add_argument("--workdir", help="where tables, stores and logs go (kept)")
    ap.add_argument("--keep", action="store_true", help="keep the tables and access logs")
    ap.add_argument("--no-build", action="store_true")
    a = ap.parse_args()
    a.rules = a.rules or [10_000]
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is missing: apt-get install {bench.TOOLS.get(tool, tool)}")
    binary = build(a.no_build)
    workdir = a.workdir or tempfile.mkdtemp(prefix="seeother-access-log-")
    os.makedirs(workdir, exist_ok=True)
    if not (a.workdir or a.keep):
        atexit.register(remove_bulk, workdir)  # registered first: runs last
    atexit.register(contestants.stop_everything)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(130))
    env = {
        "cores": os.cpu_count(),
        "date": datetime.date.today().isoformat(),
        "load_before": os.getloadavg(),
        "command": "python3 bench/server/access_log.py "
        + " ".join(bench.recorded_args(sys.argv[1:])),
        "commit": measure.version(["git", "-C", bench.REPO, "rev-parse", "--short", "HEAD"]),
        "connections": a.connections,
        "duration": a.duration,
        "rounds": a.rounds,
        "server_cpu": a.server_cpu,
        "load_cpu": a.load_cpu,
        "wrk": measure.version(["wrk", "-v"]),
    }
    print(f"{env['cores']} cores, load {env['load_before'][0]:.2f}; servers on CPU "
          f"{a.server_cpu}, wrk on CPU {a.load_cpu}; workdir {workdir}", flush=True)
    results = [run_size(a, binary, n, workdir) for n in a.rules]
    env["load_after"] = os.getloadavg()
    with open(os.path.join(workdir, "results.json"), "w") as f:
        json.dump({"env": env, "results": results}, f, indent=1)
    print("\n" + markdown(env, results))
    if a.workdir or a.keep:
        print(f"kept {workdir}")


if __name__ == "__main__":
    main()
