#!/usr/bin/env python3
"""Writes against reads: the redirect latency of `seeother serve` under wrk load with and
without a steady stream of admin API writes, and how soon each write is visible.

    python3 bench/server/writes.py --binary target/release/seeother          # 1,000,000 rules
    python3 bench/server/writes.py --rules 100000 --rounds 2 --duration 5     # quicker

One table (bench/server's generator), imported into an empty SQLite store, one server pinned
to --server-cpu, wrk (64 connections, the table's paths in a shuffled cycle) and this script's
writer pinned to --load-cpu. Rounds alternate "reads" (wrk alone) and "reads + writes" (wrk,
and meanwhile --rate writes per second through the API: half creations of new rules, half
updates of rules created before, each followed on its own keep-alive connection by GETs until
it answers with the new `Location`). Printed per round and as medians: requests/s, p50, p99,
server CPU per request; the ratio of the p99s (goal: with writes at most 1.2 × without); and
per write, the time from sending it to its acknowledgement and to the first GET that shows it
(goal: visible within 10 ms).

With --bulk N, one more pair of rounds: during the second, `seeother import` adds N new rules
to the store beside the running server (a separate process, as an operator's import would),
enough to make the server pack its table again (4,096 + 1/32 of the packed rules waiting).

Everything started is stopped on exit; the work directory is removed unless --workdir.
"""

import argparse
import datetime
import http.client
import json
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import contestants  # noqa: E402
import generate  # noqa: E402
import measure  # noqa: E402


class Writer(threading.Thread):
    """`rate` API writes per second until stopped, each timed to its acknowledgement and to
    the first GET (on another connection) that shows it."""

    def __init__(self, server, rate, tag):
        super().__init__(daemon=True)
        self.server, self.rate, self.tag = server, rate, tag
        self.halt = threading.Event()
        self.acked, self.visible, self.late = [], [], 0
        self.created = []  # (id, path) of rules made, updated in turn
        self.error = None

    def run(self):
        try:
            self._run()
        except Exception as e:  # reported by the main thread
            self.error = e

    def _run(self):
        api = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        probe = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        headers = {"Authorization": f"Bearer {self.server.token}",
                   "Content-Type": "application/json"}
        start, i = time.monotonic(), 0
        while not self.halt.is_set():
            due = start + i / self.rate
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            if i % 2 == 0 or not self.created:
                path = f"/id/bench-writes/{self.tag}-{i}"
                to = f"https://catalogue.example.org/made/{self.tag}-{i}"
                method, target, body = "POST", "/-/api/rules", {"path": path, "to": to}
            else:
                rule_id, path = self.created[(i // 2) % len(self.created)]
                to = f"https://catalogue.example.org/changed/{self.tag}-{i}"
                method, target, body = "PUT", f"/-/api/rules/{rule_id}", {"path": path, "to": to}
            t0 = time.monotonic()
            api.request(method, target, body=json.dumps(body), headers=headers)
            r = api.getresponse()
            data = r.read()
            t_ack = time.monotonic()
            if r.status >= 300:
                raise RuntimeError(f"{method} {target}: {r.status} {data[:300]!r}")
            if method == "POST":
                self.created.append((json.loads(data)["id"], path))
            while True:
                probe.request("GET", path)
                g = probe.getresponse()
                g.read()
                if g.status == 303 and g.getheader("Location") == to:
                    break
                if time.monotonic() - t0 > 10:
                    raise RuntimeError(f"{path} not visible after 10 s")
            t_seen = time.monotonic()
            self.acked.append(t_ack - t0)
            self.visible.append(t_seen - t0)
            i += 1
            if time.monotonic() > start + i / self.rate + 1:
                self.late += 1  # fell more than a second behind its schedule
        api.close()
        probe.close()


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else float("nan")


def summary_ms(xs):
    return {"count": len(xs), "p50_ms": percentile(xs, 50) * 1e3,
            "p99_ms": percentile(xs, 99) * 1e3, "max_ms": max(xs) * 1e3 if xs else float("nan")}


def show(label, r):
    print(f"  {label}: {r['rps']:,.0f} requests/s, p50 {r['p50_us'] / 1e3:.2f} ms, "
          f"p99 {r['p99_us'] / 1e3:.2f} ms, {r['cpu']['us_per_request']:.1f} µs server CPU "
          f"per request", flush=True)


def bulk_file(workdir, n):
    path = os.path.join(workdir, "bulk.csv")
    with open(path, "w") as f:
        f.write("path,to\n")
        for i in range(n):
            f.write(f"/id/bench-bulk/{i},https://catalogue.example.org/bulk/{i}\n")
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", type=int, default=1_000_000)
    ap.add_argument("--rate", type=float, default=50, help="API writes per second")
    ap.add_argument("--rounds", type=int, default=4, help="pairs of rounds")
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--bulk", type=int, default=0,
                    help="also time a round with an import of this many rules beside it")
    ap.add_argument("--server-cpu", default="0")
    ap.add_argument("--load-cpu", default="1")
    ap.add_argument("--binary", required=True, help="the seeother binary (release build)")
    ap.add_argument("--workdir", help="kept; default a temporary directory removed at exit")
    ap.add_argument("--max-minutes", type=int, default=30)
    a = ap.parse_args()
    workdir = contestants.prepare_run(a, "seeother-writes-bench-")
    # The writer shares the load generator's core, in both kinds of round.
    os.sched_setaffinity(0, measure.cpu_list(a.load_cpu))

    table = os.path.join(workdir, "table")
    summary = generate.generate(table, a.rules)
    paths = os.path.join(table, "paths.txt")
    probe = contestants.first_redirect(table)
    db = os.path.join(workdir, "seeother.db")
    token = secrets.token_hex(16)
    env = dict(os.environ, SEEOTHER_ADMIN_TOKEN=token, RUST_LOG="warn")
    t0 = time.monotonic()
    subprocess.run([a.binary, "import", "--db", db, os.path.join(table, "rules.csv")],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    print(f"{a.rules:,} rules imported in {time.monotonic() - t0:.1f} s", flush=True)

    port = contestants.free_port()
    proc, log = contestants.launch(
        "seeother", [a.binary, "serve", "--listen", f"127.0.0.1:{port}", "--db", db],
        a.server_cpu, os.path.join(workdir, "seeother.log"), env)
    server = contestants.Server("seeother", port, proc, log)
    server.token = token
    contestants.wait_first(server, probe, time.monotonic(), "start")
    results = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv), "cores": os.cpu_count(),
        "load_average_at_start": os.getloadavg(), "table": summary, "rounds": [],
    }
    try:
        measure.wrk(a, server, paths, a.warmup)
        writes = {"acked": [], "visible": [], "late": 0, "count": 0}
        for r in range(a.rounds):
            order = [False, True] if r % 2 == 0 else [True, False]
            for with_writes in order:
                writer = None
                if with_writes:
                    writer = Writer(server, a.rate, f"{os.getpid()}-{r}")
                    writer.start()
                res = measure.wrk(a, server, paths, a.duration)
                if writer:
                    writer.halt.set()
                    writer.join(15)
                    if writer.error:
                        raise SystemExit(f"the writer failed: {writer.error}")
                    writes["acked"] += writer.acked
                    writes["visible"] += writer.visible
                    writes["late"] += writer.late
                    res["writes"] = len(writer.visible)
                res["with_writes"] = with_writes
                results["rounds"].append(res)
                show(f"round {r + 1} {'reads + writes' if with_writes else 'reads'}"
                     + (f" ({res['writes']} writes)" if with_writes else ""), res)
        if a.bulk:
            csv = bulk_file(workdir, a.bulk)
            res = measure.wrk(a, server, paths, a.duration)
            results["bulk_before"] = res
            show("bulk pair: reads", res)
            timer = {}

            def bulk_import():
                time.sleep(1)
                t = time.monotonic()
                subprocess.run([a.binary, "import", "--db", db, csv], env=env, check=True,
                               stdout=subprocess.DEVNULL)
                timer["import_s"] = time.monotonic() - t
            th = threading.Thread(target=bulk_import)
            th.start()
            res = measure.wrk(a, server, paths, a.duration)
            th.join()
            res["import_s"] = timer.get("import_s")
            results["bulk_during"] = res
            show(f"bulk pair: reads while {a.bulk:,} rules are imported "
                 f"({res['import_s']:.2f} s)", res)
    finally:
        contestants.stop(server)
    results["load_average_at_end"] = os.getloadavg()
    results["writes"] = {"count": len(writes["visible"]), "late": writes["late"],
                         "ack": summary_ms(writes["acked"]),
                         "visible": summary_ms(writes["visible"])}
    with open(os.path.join(workdir, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    report(results, a)


def report(r, a):
    rounds = r["rounds"]
    med = lambda key, w: statistics.median(  # noqa: E731
        x[key] for x in rounds if x["with_writes"] == w)
    cpu = lambda w: statistics.median(  # noqa: E731
        x["cpu"]["us_per_request"] for x in rounds if x["with_writes"] == w)
    pairs = [(rounds[i], rounds[i + 1]) for i in range(0, len(rounds) - 1, 2)]
    ratios = [(b if b["with_writes"] else a_)["p99_us"] / (a_ if b["with_writes"] else b)["p99_us"]
              for a_, b in pairs]
    w = r["writes"]
    print("\nsummary")
    for label, flag in (("reads", False), ("reads + writes", True)):
        print(f"  {label}: median {med('rps', flag):,.0f} requests/s, p99 "
              f"{med('p99_us', flag) / 1e3:.2f} ms, {cpu(flag):.1f} µs server CPU per request")
    print(f"  p99 with writes / without: {med('p99_us', True) / med('p99_us', False):.2f} "
          f"(medians; per pair {', '.join(f'{x:.2f}' for x in ratios)}; goal ≤ 1.2)")
    print(f"  {w['count']} writes at {a.rate:g}/s ({w['late']} fell behind): acknowledged "
          f"p50 {w['ack']['p50_ms']:.1f} ms, p99 {w['ack']['p99_ms']:.1f} ms; visible from "
          f"sending p50 {w['visible']['p50_ms']:.1f} ms, p99 {w['visible']['p99_ms']:.1f} ms, "
          f"max {w['visible']['max_ms']:.1f} ms (goal ≤ 10 ms)")
    if "bulk_during" in r:
        b0, b1 = r["bulk_before"], r["bulk_during"]
        print(f"  bulk import beside the server: p99 {b1['p99_us'] / 1e3:.2f} ms against "
              f"{b0['p99_us'] / 1e3:.2f} ms without ({b1['p99_us'] / b0['p99_us']:.2f}×), "
              f"{b1['rps']:,.0f} against {b0['rps']:,.0f} requests/s")


if __name__ == "__main__":
    main()
