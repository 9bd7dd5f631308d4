#!/usr/bin/env python3
"""Admin benchmark: the rule list of `/-/admin/rules` in each order (id, most hits, last
changed), its first, next, last, previous and a typed middle page, reached by the links a
user follows (see `walks`), and the API's pages of rules and its top rules by hits, timed against a store of many rules (1,000,000 by default), SQLite and PostgreSQL.

For each store: the rules of bench/server's generator are imported by `seeother serve
--rules` into an empty store; wrk sends their requests for a few seconds (the hits, flushed
to the store within a second); some rules are changed through the API (the last changes);
then every page is asked for `--repeat` times on one kept-alive connection of a signed-in
admin, and the median and the fastest time to the last byte are printed, with the server's
CPU time per request (user + sys from /proc).

    python3 bench/admin/bench.py                               # 1,000,000 rules, both stores
    python3 bench/admin/bench.py --rules 100000 --store sqlite
    python3 bench/admin/bench.py --binary /tmp/seeother-old     # another build, for before/after

PostgreSQL is a private cluster (bench/fleet/cluster.py: initdb in a temporary directory, its
own port), stopped and removed at exit. Needs wrk. Builds the release binary unless
--no-build or --binary.
"""

import argparse
import atexit
import datetime
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "bench", "server"))
sys.path.insert(0, os.path.join(REPO, "bench", "fleet"))

import cluster  # noqa: E402
import contestants  # noqa: E402
import generate  # noqa: E402
import measure  # noqa: E402

PAGE = 50  # rules per page of the admin list


def recorded_args(args):
    """The arguments that change what is measured (not --workdir and its value)."""
    out, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--workdir":
            skip = True
        elif not arg.startswith("--workdir="):
            out.append(arg)
    return out


def build(a):
    if a.binary:
        return a.binary
    binary = os.path.join(os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target"),
                          "release", "seeother")
    if not a.no_build:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "seeother"], cwd=REPO,
                       check=True)
    if not os.path.exists(binary):
        sys.exit(f"{binary} is missing: run without --no-build")
    return binary


class Client:
    """One kept-alive connection, signed in to the admin as a browser is (sign-in form's
    cookie and CSRF token, then the session cookie), also carrying the API token."""

    def __init__(self, port, token):
        self.port, self.token = port, token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        r, body = self.get("/-/admin/sign-in", auth=False)
        cookie = "; ".join(v.split(";")[0] for k, v in r.getheaders() if k.lower() == "set-cookie")
        csrf = re.search(r'name="csrf" value="([^"]+)"', body).group(1)
        form = urllib.parse.urlencode({"csrf": csrf, "token": token, "next": ""})
        self.conn.request("POST", "/-/admin/sign-in", body=form, headers={
            "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
        r = self.conn.getresponse()
        r.read()
        if r.status != 303:
            sys.exit(f"admin sign-in answered {r.status}")
        session = [v.split(";")[0] for k, v in r.getheaders()
                   if k.lower() == "set-cookie" and v.startswith("seeother_admin=")]
        self.cookie = session[0]

    def get(self, target, auth=True):
        headers = {}
        if auth:
            headers = {"Cookie": self.cookie} if "/-/admin/" in target else {
                "Authorization": f"Bearer {self.token}"}
        self.conn.request("GET", target, headers=headers)
        r = self.conn.getresponse()
        return r, r.read().decode("utf-8", "replace")

    def api(self, method, target, body):
        self.conn.request(method, target, body=json.dumps(body), headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        r = self.conn.getresponse()
        data = r.read()
        if r.status >= 300:
            sys.exit(f"{method} {target}: {r.status} {data[:300]!r}")
        return json.loads(data)


def start(a, binary, db, csv, run_dir, probe, name):
    port = contestants.free_port()
    token = secrets.token_hex(16)
    env = dict(os.environ, SEEOTHER_ADMIN_TOKEN=token, RUST_LOG="warn")
    argv = [binary, "serve", "--listen", f"127.0.0.1:{port}", "--db", db, "--rules", csv,
            "--flush-interval", "1"]
    t0 = time.monotonic()
    proc, log = contestants.launch("seeother", argv, a.server_cpu,
                                   os.path.join(run_dir, f"{name}.log"), env)
    server = contestants.Server("seeother", port, proc, log)
    server.token = token
    took = contestants.wait_first(server, probe, t0, f"{name}: import")
    print(f"  {name}: {a.rules:,} rules imported into an empty store, first 303 after "
          f"{took:.1f} s", flush=True)
    return server, took


def traffic(a, server, table):
    """wrk for `--traffic` seconds over the request paths: hits for many rules."""
    r = measure.wrk(a, server, os.path.join(table, "paths.txt"), duration=a.traffic)
    time.sleep(3)  # flushed every second
    return r["requests"]


def change(client, rng, n, count):
    """Change the target of `count` rules picked at random, through the API."""
    changed = []
    for i in range(count):
        rule_id = rng.randrange(1, n + 1)
        r, body = client.get(f"/-/api/rules/{rule_id}")
        if r.status != 200:
            continue
        rule = json.loads(body)
        new = {k: rule[k] for k in ("host", "path", "prefix", "pattern") if rule.get(k)}
        new["to"] = f"https://changed.example.org/{rule_id}/{i}"
        client.api("PUT", f"/-/api/rules/{rule_id}", new)
        changed.append(rule_id)
    return changed


def link(body, text):
    """The href of the page's link named `text` (`&amp;` decoded), or None."""
    m = re.search(r'<a href="([^"]+)"[^>]*>' + re.escape(text) + "</a>", body)
    return m.group(1).replace("&amp;", "&") if m else None


def walks(n):
    """Each order's pages, reached as a user reaches them: the first page (the list's own
    link), the next page (its "Next page" link), the last page (its "Last page" link), the
    page before the last (that page's "Previous page" link), a middle page typed by number
    (`page=N`, no cursor) and the page after it (its "Next page" link). Each step names the
    step it follows a link from."""
    last = max(1, -(-n // PAGE))
    middle = max(1, last // 2)
    out = []
    for sort in ("id", "hits", "changed"):
        first = f"admin sort={sort}, first page"
        out += [
            (first, f"/-/admin/rules?sort={sort}", None),
            (f"admin sort={sort}, next page (from the first)", "Next page", first),
            (f"admin sort={sort}, last page (from the first)", "Last page", first),
            (f"admin sort={sort}, previous page (from the last)", "Previous page",
             f"admin sort={sort}, last page (from the first)"),
            (f"admin sort={sort}, page {middle:,} typed", f"/-/admin/rules?sort={sort}&page={middle}",
             None),
            (f"admin sort={sort}, next page (from page {middle:,})", "Next page",
             f"admin sort={sort}, page {middle:,} typed"),
        ]
    out += [
        ("API rules, first page", f"/-/api/rules?limit={PAGE}", None),
        ("API rules, middle page (after=)", f"/-/api/rules?after={n // 2}&limit={PAGE}", None),
        ("API stats/rules (top by hits)", f"/-/api/stats/rules?limit={PAGE}", None),
    ]
    return out


def db_cpu(pg):
    """CPU seconds of the PostgreSQL cluster's processes so far (the postmaster and its
    children: the backends that run the queries), or 0 without one."""
    if pg is None:
        return 0.0
    with open(os.path.join(pg.data, "postmaster.pid")) as f:
        master = int(f.readline())
    return sum(measure.process_cpu(p) or 0.0 for p in [master, *contestants.children(master)])


def time_pages(a, client, server, n, pg):
    rows, bodies = [], {}
    for label, target, source in walks(n):
        if source is not None:
            target = link(bodies[source], target)
            if target is None:
                sys.exit(f"{label}: no such link on the page of {source}")
        times, cpu, dbs = [], [], []
        for _ in range(a.repeat):
            c0, d0 = measure.process_cpu(server.proc.pid), db_cpu(pg)
            t0 = time.perf_counter()
            r, body = client.get(target)
            times.append(time.perf_counter() - t0)
            cpu.append(measure.process_cpu(server.proc.pid) - c0)
            dbs.append(db_cpu(pg) - d0)
            if r.status != 200:
                sys.exit(f"{target}: {r.status} {body[:300]}")
        bodies[label] = body
        entries = body.count('<tr><td><a href="/-/admin/rules/') if "/-/admin/" in target else \
            len(json.loads(body).get("rules", json.loads(body).get("rows", [])))
        row = {"label": label, "target": target, "median_ms": statistics.median(times) * 1e3,
               "min_ms": min(times) * 1e3, "cpu_ms": statistics.median(cpu) * 1e3,
               "db_cpu_ms": statistics.median(dbs) * 1e3, "entries": entries}
        rows.append(row)
        print(f"    {label:52} median {row['median_ms']:9.1f} ms  fastest {row['min_ms']:9.1f} ms"
              f"  server CPU {row['cpu_ms']:7.1f} ms  database CPU {row['db_cpu_ms']:7.1f} ms  "
              f"({entries} rows)", flush=True)
    return rows


def run_store(a, binary, table, summary, kind, work, pg):
    run_dir = tempfile.mkdtemp(prefix=f"run-{kind}-", dir=work)
    if kind == "sqlite":
        db = os.path.join(run_dir, "seeother.db")
    else:
        db = pg.create_db(f"admin_{secrets.token_hex(4)}")
    probe = contestants.first_redirect(table)
    server, took = start(a, binary, db, os.path.join(table, "rules.csv"), run_dir, probe, kind)
    try:
        requests = traffic(a, server, table)
        client = Client(server.port, server.token)
        changed = change(client, random.Random(18), a.rules, a.changes)
        print(f"  {kind}: {requests:,} requests of wrk counted, {len(changed)} rules changed "
              "through the API", flush=True)
        rows = time_pages(a, client, server, a.rules, pg if kind == "postgres" else None)
    finally:
        contestants.stop(server)
        if kind == "sqlite":
            shutil.rmtree(run_dir, ignore_errors=True)
    return {"store": kind, "import_s": took, "requests": requests, "changed": len(changed),
            "rows": rows}


def markdown(env, results):
    out = [f"`{env['command']}` at commit `{env['commit']}`, {env['date']}, {env['cores']} "
           f"cores, load average {env['load_before'][0]:.2f} before and "
           f"{env['load_after'][0]:.2f} after; {env['rules']:,} rules, time to the last byte "
           f"of one signed-in client on a kept-alive connection, median of {env['repeat']}; "
           "beside it the CPU time (ms, /proc, 1/100 s ticks) of seeother and, on PostgreSQL, "
           "of the database's processes.", ""]
    stores = [r["store"] for r in results]
    out.append("| page | " + " | ".join(f"{s}: median (CPU)" for s in stores) + " |")
    out.append("|---|" + "---:|" * len(stores))

    def cell(row):
        cpu = f"{row['cpu_ms']:,.0f}"
        if row.get("db_cpu_ms"):
            cpu += f" + {row['db_cpu_ms']:,.0f}"
        return f"{row['median_ms']:,.1f} ms ({cpu})"

    for i, row in enumerate(results[0]["rows"]):
        cells = [cell(r["rows"][i]) for r in results]
        out.append(f"| {row['label']} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rules", type=int, default=1_000_000)
    ap.add_argument("--store", action="append", choices=["sqlite", "postgres"],
                    help="repeatable (default both)")
    ap.add_argument("--repeat", type=int, default=5, help="times each page is asked for")
    ap.add_argument("--traffic", type=int, default=5, help="seconds of wrk before timing")
    ap.add_argument("--changes", type=int, default=200, help="rules changed through the API")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--server-cpu", default="0", help="CPU list for the server (taskset)")
    ap.add_argument("--load-cpu", default="1", help="CPU list for wrk (taskset)")
    ap.add_argument("--binary", help="the seeother binary to time (default: build it)")
    ap.add_argument("--workdir", help="where the table goes (kept)")
    ap.add_argument("--no-build", action="store_true")
    a = ap.parse_args()
    a.store = a.store or ["sqlite", "postgres"]
    binary = build(a)
    work = a.workdir or tempfile.mkdtemp(prefix="seeother-admin-bench-")
    os.makedirs(work, exist_ok=True)
    if not a.workdir:
        atexit.register(shutil.rmtree, work, True)
    pg = None
    if "postgres" in a.store:
        pg = cluster.Cluster(work)
        atexit.register(pg.close)  # after the servers (registered later, run first)
        pg.start()
    atexit.register(contestants.stop_everything)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(130))
    table = os.path.join(work, f"table-{a.rules}")
    if os.path.exists(os.path.join(table, "summary.json")):
        with open(os.path.join(table, "summary.json")) as f:
            summary = json.load(f)
    else:
        print(f"generating {a.rules:,} rules", flush=True)
        summary = generate.generate(table, a.rules)
        with open(os.path.join(table, "summary.json"), "w") as f:
            json.dump(summary, f)
    env = {
        "cores": os.cpu_count(),
        "date": datetime.date.today().isoformat(),
        "load_before": os.getloadavg(),
        "command": "python3 bench/admin/bench.py "
        + " ".join(recorded_args(sys.argv[1:])),
        "commit": measure.version(["git", "-C", REPO, "rev-parse", "--short", "HEAD"]),
        "binary": binary,
        "rules": a.rules,
        "repeat": a.repeat,
    }
    print(f"{env['cores']} cores, load {env['load_before'][0]:.2f}; {binary}", flush=True)
    results = [run_store(a, binary, table, summary, kind, work, pg) for kind in a.store]
    env["load_after"] = os.getloadavg()
    text = markdown(env, results)
    print("\n" + text)
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump({"env": env, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
