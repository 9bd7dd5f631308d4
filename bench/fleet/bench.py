#!/usr/bin/env python3
"""Fleet benchmark: seeother nodes on one private PostgreSQL cluster, on loopback.

Prints, in one run on one table (bench/server's generator, 1,000,000 rules by default):

- start: a node loading every rule from PostgreSQL until its first 303, and the same node
  started from its local snapshot with PostgreSQL up (then caught up from it) and stopped
  (goals: 2 s and 0.5 s);
- serving speed: one node on PostgreSQL and one on SQLite holding the same rules, under the
  same wrk load in alternating rounds (goal: ratio of requests/s at least 0.98);
- instructions per request: each node under valgrind's callgrind, which counts the
  instructions of a fixed set of requests rather than timing them, so the figure is the same
  whatever else the machine is doing (requests/s swing by a third from round to round on a
  shared two-core machine; the ratio of instructions does not);
- propagation: three nodes, each under wrk load; changes made through node A's API, and for
  each the time from A's acknowledgement to the first answer from B and from C that reflects
  it, p50 and p99 (goals: 10 ms and 100 ms).

    python3 bench/fleet/bench.py                       # 1,000,000 rules, 1,000 changes
    python3 bench/fleet/bench.py --rules 100000 --changes 200 --rounds 2   # quicker

Servers are pinned to --server-cpu, wrk and the probing client to --load-cpu (taskset);
PostgreSQL runs unpinned. The cluster runs as an unprivileged user (initdb/pg_ctl, its own
port and socket directory), and it and every node are stopped on exit, also when interrupted
or when --max-minutes run out. Builds the release binary unless --no-build.
"""

import argparse
import atexit
import datetime
import glob
import http.client
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "bench", "server"))

import contestants  # noqa: E402
import generate  # noqa: E402
import measure  # noqa: E402

sys.path.insert(0, HERE)
from cluster import Cluster  # noqa: E402

TOKEN = "fleet-bench-" + os.urandom(12).hex()
ENV = dict(os.environ, SEEOTHER_ADMIN_TOKEN=TOKEN, RUST_LOG="warn")


def build(a):
    if a.binary:
        return a.binary
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
    binary = os.path.join(target, "release", "seeother")
    if not a.no_build:
        print("building seeother (release)", flush=True)
        subprocess.run(["cargo", "build", "--release", "--locked", "-p", "seeother"],
                       cwd=REPO, check=True)
    if not os.path.isfile(binary):
        raise SystemExit(f"no binary at {binary}; build it or drop --no-build")
    return binary


def cli(binary, *args, timeout=1800):
    t0 = time.monotonic()
    r = subprocess.run([binary, *args], env=ENV, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise SystemExit(f"seeother {' '.join(args)} failed: {r.stdout}{r.stderr}")
    return time.monotonic() - t0


def start_node(a, binary, run, name, db, *extra, probe):
    """Start `seeother serve` and wait for its first 303; (server, seconds to it)."""
    port = contestants.free_port()
    argv = [binary, "serve", "--listen", f"127.0.0.1:{port}", "--db", db, *extra]
    t0 = time.monotonic()
    proc, log = contestants.launch(name, argv, a.server_cpu, os.path.join(run, f"{name}.log"),
                                   ENV)
    server = contestants.Server(name, port, proc, log)
    server.token = TOKEN
    took = contestants.wait_first(server, probe, t0, name)
    return server, took


def start_up(a, binary, run, pg, url, probe):
    """Starts loading every rule from PostgreSQL (no snapshot); then, once a node wrote its
    snapshot, starts from it with PostgreSQL up (read, then caught up through the change
    log) and with PostgreSQL stopped."""
    snapshot = os.path.join(run, "node.snapshot")
    if os.path.exists(snapshot):
        os.remove(snapshot)

    def timed(label, key, name, *extra):
        times = []
        for i in range(a.starts):
            server, took = start_node(a, binary, run, name, url, *extra, probe=probe)
            times.append(took)
            print(f"  {label} {i + 1}: first 303 after {took:.3f} s", flush=True)
            contestants.stop(server)
        return {key: times}

    out = timed("start from PostgreSQL", "from_postgres_s", "start-pg")
    server, _ = start_node(a, binary, run, "write-snapshot", url, "--snapshot", snapshot,
                           probe=probe)
    deadline = time.monotonic() + 120
    while not os.path.isfile(snapshot) and time.monotonic() < deadline:
        time.sleep(0.1)
    contestants.stop(server)
    if not os.path.isfile(snapshot):
        raise SystemExit("the node wrote no snapshot within 120 s")
    out["snapshot_bytes"] = os.path.getsize(snapshot)
    out.update(timed("start from the snapshot, PostgreSQL up", "from_snapshot_up_s",
                     "start-snapshot-up", "--snapshot", snapshot))
    pg.stop()
    try:
        out.update(timed("start from the snapshot, PostgreSQL stopped", "from_snapshot_s",
                         "start-snapshot", "--snapshot", snapshot))
    finally:
        pg.start()
    return out


def serving_speed(a, binary, run, url, sqlite_db, paths, probe):
    """The same wrk load on a node on PostgreSQL and one on SQLite, in alternating rounds."""
    on_pg, _ = start_node(a, binary, run, "serve-pg", url, probe=probe)
    on_sqlite, _ = start_node(a, binary, run, "serve-sqlite", sqlite_db, probe=probe)
    rounds = {"postgres": [], "sqlite": []}
    try:
        for s in (on_pg, on_sqlite):
            measure.wrk(a, s, paths, a.warmup)
        for r in range(a.rounds):
            order = [("postgres", on_pg), ("sqlite", on_sqlite)]
            if r % 2:
                order.reverse()
            for name, s in order:
                res = measure.wrk(a, s, paths, a.duration)
                rounds[name].append(res)
                print(f"  round {r + 1} {name}: {res['rps']:,.0f} requests/s, "
                      f"p99 {res['p99_us'] / 1e3:.2f} ms, "
                      f"{res['cpu']['us_per_request']:.1f} µs server CPU per request",
                      flush=True)
    finally:
        contestants.stop(on_pg)
        contestants.stop(on_sqlite)
    med = lambda name, f: statistics.median(f(x) for x in rounds[name])  # noqa: E731
    rps = {n: med(n, lambda x: x["rps"]) for n in rounds}
    cpu = {n: med(n, lambda x: x["cpu"]["us_per_request"]) for n in rounds}
    # Each round runs the two nodes back to back (the order alternating), so a round's ratio
    # compares the two under the same conditions; the rounds' geometric mean and its 95 %
    # interval say how well the run settles the ratio.
    per_round = [p["rps"] / s["rps"] for p, s in zip(rounds["postgres"], rounds["sqlite"])]
    per_round_cpu = [s["cpu"]["us_per_request"] / p["cpu"]["us_per_request"]
                     for p, s in zip(rounds["postgres"], rounds["sqlite"])]
    return {"rps": rps, "us_per_request": cpu, "ratio": rps["postgres"] / rps["sqlite"],
            "ratio_per_round": per_round, "ratio_mean": geometric(per_round),
            "cpu_ratio_per_round": per_round_cpu, "cpu_ratio_mean": geometric(per_round_cpu),
            "errors": {n: sum(errors(x) for x in rounds[n]) for n in rounds}}


def geometric(ratios):
    """The geometric mean of `ratios` and its 95 % confidence interval (Student's t on the
    logarithms; the interval is None for fewer than two)."""
    import math
    logs = [math.log(r) for r in ratios]
    mean = statistics.fmean(logs)
    if len(logs) < 2:
        return {"mean": math.exp(mean), "low": None, "high": None}
    # Two-sided 97.5 % quantiles of Student's t for 1..30 degrees of freedom, then 1.96.
    t = [12.71, 4.30, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23, 2.20, 2.18, 2.16, 2.14,
         2.13, 2.12, 2.11, 2.10, 2.09, 2.09, 2.08, 2.07, 2.07, 2.06, 2.06, 2.06, 2.05, 2.05,
         2.05, 2.04]
    df = len(logs) - 1
    half = (t[df - 1] if df <= len(t) else 1.96) * statistics.stdev(logs) / math.sqrt(len(logs))
    return {"mean": math.exp(mean), "low": math.exp(mean - half), "high": math.exp(mean + half)}


def instructions(a, binary, run, url, sqlite_db, paths, probe):
    """Instructions per request of a node on PostgreSQL and one on SQLite (callgrind).

    Each node runs under `valgrind --tool=callgrind` with instrumentation off while it loads its
    rules; then instrumentation is switched on, `--instr-requests` GETs of the benchmark's paths
    are sent one after another on one keep-alive connection, and it is switched off and the
    counts dumped. Counters are not written to the store meanwhile (`--flush-interval 3600`):
    what is counted is serving alone, the same code on both stores (what each store costs
    for writing counters is in the CPU-per-request figures of the speed rounds)."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("  valgrind not found (apt-get install valgrind): skipped", flush=True)
        return None
    with open(paths) as f:
        sample = [line.strip() for line, _ in zip(f, range(a.instr_requests))]
    out = {}
    for name, db in (("postgres", url), ("sqlite", sqlite_db)):
        port = contestants.free_port()
        dump = os.path.join(run, f"callgrind.{name}.out")
        argv = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                f"--callgrind-out-file={dump}", binary, "serve", "--listen",
                f"127.0.0.1:{port}", "--db", db, "--flush-interval", "3600"]
        t0 = time.monotonic()
        proc, log = contestants.launch(f"callgrind-{name}", argv, a.server_cpu,
                                       os.path.join(run, f"callgrind-{name}.log"), ENV)
        server = contestants.Server(f"callgrind-{name}", port, proc, log)
        try:
            contestants.START_TIMEOUT = max(contestants.START_TIMEOUT, 1800)
            contestants.wait_first(server, probe, t0, name)
            control = lambda *args: subprocess.run(  # noqa: E731
                ["callgrind_control", *args, str(proc.pid)], check=True,
                capture_output=True, text=True)
            control("--zero")
            control("--instr=on")
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            statuses = {}
            for path in sample:
                conn.request("GET", path)
                r = conn.getresponse()
                r.read()
                statuses[r.status] = statuses.get(r.status, 0) + 1
            conn.close()
            control("--instr=off")
            control("--dump")
        finally:
            contestants.stop(server, timeout=120)
        # The dump asked for holds the requests' counts (`totals:`); the file written at exit
        # holds nothing, instrumentation being off by then.
        total = 0
        for f in glob.glob(dump + "*"):
            with open(f) as fh:
                for line in fh:
                    if line.startswith("totals:"):
                        total = max(total, int(line.split()[1]))
        if total == 0:
            raise SystemExit(f"callgrind counted no instructions for {name}; see {dump}*")
        out[name] = {"requests": len(sample), "statuses": statuses, "instructions": total,
                     "per_request": total / len(sample)}
        print(f"  {name}: {total / len(sample):,.0f} instructions per request "
              f"({len(sample):,} requests, statuses {statuses})", flush=True)
    out["ratio"] = out["sqlite"]["per_request"] / out["postgres"]["per_request"]
    return out


def errors(r):
    """Failed requests of a wrk summary (connect, read, write, timeouts; `status` counts
    answers other than 2xx and 3xx: the table's 404s)."""
    return sum(r.get(k, 0) for k in ("connect", "read", "write", "timeout"))


class Probe:
    """A kept-alive connection to one node, asking for one path."""

    def __init__(self, server):
        self.server = server
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)

    def answer(self, path):
        self.conn.request("GET", path, headers={"Host": "bench"})
        r = self.conn.getresponse()
        r.read()
        return r.status, r.getheader("Location")


def api(server, method, path, body):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request(method, path, body=json.dumps(body),
                 headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    if r.status >= 300:
        raise SystemExit(f"{method} {path} on {server.name}: {r.status} {data[:300]!r}")
    return json.loads(data)


def background_wrk(a, server, paths, seconds):
    """wrk on `server` until stopped with SIGINT (then it prints its summary)."""
    argv = ["taskset", "-c", a.load_cpu, "wrk", "-t1", f"-c{a.fleet_connections}",
            f"-d{seconds}s", "--timeout", "5s", "--latency",
            "-s", os.path.join(REPO, "bench", "server", "requests.lua"), server.url, "--", paths]
    out = tempfile.TemporaryFile()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    return proc, out


def wrk_summary(proc, out):
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    out.seek(0)
    text = out.read().decode(errors="replace")
    m = re.search(r"^BENCH (\{.*\})$", text, re.M)
    if not m:
        return {"failed": text[-2000:]}
    r = json.loads(m.group(1))
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    return r


def propagation(a, binary, run, url, paths, probe):
    """Changes through A's API; time from each acknowledgement to B's and C's first answer
    reflecting it, every node under wrk load meanwhile."""
    nodes = [start_node(a, binary, run, f"node-{n}", url, probe=probe)[0] for n in "abc"]
    node_a, others = nodes[0], nodes[1:]
    loads = [background_wrk(a, n, paths, a.max_minutes * 60) for n in nodes]
    probes = [Probe(n) for n in others]
    time.sleep(1)
    stamp = int(time.time())
    seen = {n.name: [] for n in others}
    ids = []
    deadline_per_change = 10.0
    try:
        for i in range(a.changes):
            if i < a.changes // 2:
                path = f"/id/fleet-bench/{stamp}-{i}"
                to = f"https://catalogue.example.org/fleet/{stamp}-{i}"
                t_sent = time.monotonic()
                rule = api(node_a, "POST", "/-/api/rules", {"path": path, "to": to})
                ids.append((rule["id"], path))
            else:
                rule_id, path = ids[i - a.changes // 2]
                to = f"https://catalogue.example.org/fleet-changed/{rule_id}"
                t_sent = time.monotonic()
                api(node_a, "PUT", f"/-/api/rules/{rule_id}", {"path": path, "to": to})
            acked = time.monotonic()
            waiting = list(probes)
            while waiting:
                for p in list(waiting):
                    status, location = p.answer(path)
                    if status == 303 and location == to:
                        seen[p.server.name].append(time.monotonic() - acked)
                        waiting.remove(p)
                if time.monotonic() - t_sent > deadline_per_change:
                    raise SystemExit(f"change {i} did not reach "
                                     f"{[p.server.name for p in waiting]} in "
                                     f"{deadline_per_change:.0f} s")
            if (i + 1) % 100 == 0:
                print(f"  {i + 1} changes", flush=True)
    finally:
        summaries = [wrk_summary(*lw) for lw in loads]
        contestants.stop_all(nodes)
    pct = lambda xs, q: sorted(xs)[min(len(xs) - 1, int(q * len(xs)))] * 1e3  # noqa: E731
    out = {}
    for name, xs in seen.items():
        out[name] = {"p50_ms": pct(xs, 0.50), "p99_ms": pct(xs, 0.99), "max_ms": max(xs) * 1e3}
    both = seen[others[0].name] + seen[others[1].name]
    out["all"] = {"p50_ms": pct(both, 0.50), "p99_ms": pct(both, 0.99),
                  "max_ms": max(both) * 1e3}
    out["changes"] = a.changes
    out["load"] = {n.name: {"rps": s["rps"], "failed": errors(s)} if "rps" in s else s
                   for n, s in zip(nodes, summaries)}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", type=int, default=1_000_000)
    ap.add_argument("--changes", type=int, default=1000, help="changes timed (half creations, "
                    "half updates)")
    ap.add_argument("--starts", type=int, default=3, help="starts timed each way")
    ap.add_argument("--rounds", type=int, default=12, help="serving-speed rounds (each runs "
                    "both nodes once)")
    ap.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--instr-requests", type=int, default=20000,
                    help="requests counted under callgrind on each node")
    ap.add_argument("--connections", type=int, default=64, help="wrk connections (speed)")
    ap.add_argument("--fleet-connections", type=int, default=8,
                    help="wrk connections per node during propagation")
    ap.add_argument("--server-cpu", default="0")
    ap.add_argument("--load-cpu", default="1")
    ap.add_argument("--max-minutes", type=int, default=30, help="abort (cleanly) after this")
    ap.add_argument("--skip", action="append", default=[],
                    choices=["start", "speed", "instructions", "propagation"])
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--binary", help="the seeother binary to run (then nothing is built)")
    ap.add_argument("--workdir", help="kept; default a temporary directory removed at exit")
    a = ap.parse_args()
    workdir = contestants.prepare_run(a, "seeother-fleet-bench-")

    binary = build(a)
    table = os.path.join(workdir, "table")
    run = os.path.join(workdir, "run")
    os.makedirs(run, exist_ok=True)
    summary = generate.generate(table, a.rules)
    csv = os.path.join(table, "rules.csv")
    paths = os.path.join(table, "paths.txt")
    probe = contestants.first_redirect(table)
    print(f"{a.rules:,} rules; workdir {workdir}", flush=True)

    pg = Cluster(workdir)
    atexit.register(pg.close)
    pg.start()
    url = pg.create_db("fleet")
    sqlite_db = os.path.join(run, "seeother.db")
    results = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "cores": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "load_average_at_start": os.getloadavg(),
        "postgres": pg.settings(),
        "table": summary,
    }
    # The rules go into SQLite, then to PostgreSQL with `migrate` (COPY): the same rules and
    # ids on both.
    results["load_s"] = {"sqlite import": cli(binary, "import", "--db", sqlite_db, csv),
                         "migrate to postgres": cli(binary, "migrate", "--from",
                                                    f"sqlite:{sqlite_db}", "--to", url)}
    print("  " + ", ".join(f"{k} {v:.1f} s" for k, v in results["load_s"].items()), flush=True)
    if "start" not in a.skip:
        print("start-up", flush=True)
        results["start"] = start_up(a, binary, run, pg, url, probe)
    if "speed" not in a.skip:
        print("serving speed, PostgreSQL against SQLite", flush=True)
        results["speed"] = serving_speed(a, binary, run, url, sqlite_db, paths, probe)
    if "instructions" not in a.skip:
        print("instructions per request, PostgreSQL against SQLite (callgrind)", flush=True)
        results["instructions"] = instructions(a, binary, run, url, sqlite_db, paths, probe)
    if "propagation" not in a.skip:
        print(f"propagation of {a.changes} changes", flush=True)
        results["propagation"] = propagation(a, binary, run, url, paths, probe)
    results["load_average_at_end"] = os.getloadavg()
    print(json.dumps(results, indent=2))
    with open(os.path.join(run, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    report(results)


def report(r):
    print("\nsummary")
    if "start" in r:
        s = r["start"]
        print(f"  start from PostgreSQL: median {statistics.median(s['from_postgres_s']):.3f} s "
              f"(goal 2 s); from the snapshot: median "
              f"{statistics.median(s['from_snapshot_up_s']):.3f} s with PostgreSQL up, "
              f"{statistics.median(s['from_snapshot_s']):.3f} s with it stopped (goal 0.5 s); "
              f"snapshot {s['snapshot_bytes'] / 2**20:.0f} MiB")
    if "speed" in r:
        s = r["speed"]
        print(f"  serving: PostgreSQL {s['rps']['postgres']:,.0f} requests/s, SQLite "
              f"{s['rps']['sqlite']:,.0f} (medians): ratio {s['ratio']:.3f} (goal 0.98)")
        for key, what in (("ratio_mean", "requests/s"), ("cpu_ratio_mean", "requests per CPU-s")):
            g = s.get(key)
            if g and g["low"] is not None:
                print(f"    {what}, PostgreSQL / SQLite, geometric mean of "
                      f"{len(s['ratio_per_round'])} rounds: {g['mean']:.3f} "
                      f"(95 % interval {g['low']:.3f} to {g['high']:.3f})")
    if r.get("instructions"):
        i = r["instructions"]
        print(f"  instructions per request: PostgreSQL {i['postgres']['per_request']:,.0f}, "
              f"SQLite {i['sqlite']['per_request']:,.0f}: SQLite / PostgreSQL {i['ratio']:.3f}")
    if "propagation" in r:
        p = r["propagation"]["all"]
        print(f"  propagation: p50 {p['p50_ms']:.1f} ms (goal 10), p99 {p['p99_ms']:.1f} ms "
              f"(goal 100), max {p['max_ms']:.1f} ms")


if __name__ == "__main__":
    main()
