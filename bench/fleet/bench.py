#!/usr/bin/env python3
"""Fleet benchmark: seeother nodes on one private PostgreSQL cluster, on loopback.

Prints, in one run on one table (bench/server's generator, 1,000,000 rules by default):

- start: a node loading every rule from PostgreSQL until its first 303, and the same node
  started from its local snapshot with PostgreSQL up (then caught up from it) and stopped
  (goals: 2 s and 0.5 s);
- serving speed: one node on PostgreSQL and one on SQLite holding the same rules, under the
  same wrk load in alternating rounds (goal: ratio of requests/s at least 0.98);
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
    per_round = [p["rps"] / s["rps"] for p, s in zip(rounds["postgres"], rounds["sqlite"])]
    return {"rps": rps, "us_per_request": cpu, "ratio": rps["postgres"] / rps["sqlite"],
            "ratio_per_round": per_round,
            "errors": {n: sum(errors(x) for x in rounds[n]) for n in rounds}}


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
    ap.add_argument("--rounds", type=int, default=3, help="serving-speed rounds")
    ap.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--connections", type=int, default=64, help="wrk connections (speed)")
    ap.add_argument("--fleet-connections", type=int, default=8,
                    help="wrk connections per node during propagation")
    ap.add_argument("--server-cpu", default="0")
    ap.add_argument("--load-cpu", default="1")
    ap.add_argument("--max-minutes", type=int, default=30, help="abort (cleanly) after this")
    ap.add_argument("--skip", action="append", default=[],
                    choices=["start", "speed", "propagation"])
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--binary", help="the seeother binary to run (then nothing is built)")
    ap.add_argument("--workdir", help="kept; default a temporary directory removed at exit")
    a = ap.parse_args()
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed (apt-get install wrk util-linux)")

    workdir = a.workdir or tempfile.mkdtemp(prefix="seeother-fleet-bench-")
    if not a.workdir:
        atexit.register(shutil.rmtree, workdir, True)
    atexit.register(contestants.stop_everything)

    def out_of_time(*_):
        raise SystemExit(f"stopped after --max-minutes {a.max_minutes}")
    signal.signal(signal.SIGALRM, out_of_time)
    signal.signal(signal.SIGTERM, out_of_time)
    signal.alarm(a.max_minutes * 60)

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
              f"{s['rps']['sqlite']:,.0f}: ratio {s['ratio']:.3f} (goal 0.98)")
    if "propagation" in r:
        p = r["propagation"]["all"]
        print(f"  propagation: p50 {p['p50_ms']:.1f} ms (goal 10), p99 {p['p99_ms']:.1f} ms "
              f"(goal 100), max {p['max_ms']:.1f} ms")


if __name__ == "__main__":
    main()
