#!/usr/bin/env python3
"""Compare seeother with Apache httpd 2.4 on a tree of .htaccess files.

Runs Debian's apache2 as a private instance over the tree (its own config in a temporary
directory, its own port on 127.0.0.1, AllowOverride All, ServerName https://w3id.org,
UseCanonicalName On), imports the same tree with `seeother import --from apache`, serves it
with `seeother serve`, sends both the same requests (derived from every RewriteRule and
RedirectMatch pattern, with each Accept and with and without a browser User-Agent) and prints
their agreement on status, Location (resolved against the request URL) and the header fields
the tree sets with `Header`, listing every disagreement.

Requests Apache answers from the file system (403 or 404 where seeother has no rule) are out
of scope and counted apart; so are Apache's 500s for files it cannot parse.

    bench/apache/compare.py TREE [--limit N] [--dirs N] [--seeother PATH] [--timeout S]

Python 3 standard library only; installs nothing. Stops by itself within --timeout seconds.
"""

import argparse
import collections
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import derive  # noqa: E402

APACHE = "/usr/sbin/apache2"
MODULES = "/usr/lib/apache2/modules"
NEEDED_MODULES = [
    ("mpm_event", "mod_mpm_event.so"),
    ("authz_core", "mod_authz_core.so"),
    ("rewrite", "mod_rewrite.so"),
    ("alias", "mod_alias.so"),
    ("headers", "mod_headers.so"),
    ("setenvif", "mod_setenvif.so"),
    ("dir", "mod_dir.so"),
    ("mime", "mod_mime.so"),
]
BASE = "https://w3id.org"
ACCEPTS = [None, "text/html", "text/turtle", "application/ld+json", "application/rdf+xml", "*/*"]
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
AGENTS = [None, BROWSER]

APACHE_CONF = """\
ServerRoot "{root}"
DefaultRuntimeDir "{root}"
PidFile "{root}/apache2.pid"
Mutex file:{root} default
Listen 127.0.0.1:{port}
{modules}
User {user}
Group {group}
ServerName https://w3id.org
UseCanonicalName On
ErrorLog "{root}/error.log"
LogLevel warn
StartServers 2
ServerLimit 4
ThreadsPerChild 16
MaxRequestWorkers 64
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
DocumentRoot "{tree}"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory "{tree}">
    Options FollowSymLinks
    AllowOverride All
    Require all granted
</Directory>
<Files ".ht*">
    Require all denied
</Files>
AccessFileName .htaccess
DirectoryIndex index.html
TypesConfig /etc/mime.types
"""


def die(message, code=2):
    print(f"compare.py: {message}", file=sys.stderr)
    sys.exit(code)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, deadline, what):
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    die(f"{what} did not start listening on 127.0.0.1:{port} in time")


def check_apache():
    missing = []
    if not os.access(APACHE, os.X_OK):
        missing.append(APACHE)
    for _, so in NEEDED_MODULES:
        if not os.path.exists(os.path.join(MODULES, so)):
            missing.append(os.path.join(MODULES, so))
    if missing:
        die("Apache httpd is missing (" + ", ".join(missing) + "); install it with "
            "`apt-get install apache2` (nothing is installed by this script)")


def start_apache(root, tree, port):
    modules = "\n".join(f"LoadModule {name}_module {MODULES}/{so}" for name, so in NEEDED_MODULES)
    user = group = "www-data" if os.geteuid() == 0 else "#" + str(os.getuid())
    if os.geteuid() != 0:
        group = "#" + str(os.getgid())
    conf = os.path.join(root, "apache2.conf")
    with open(conf, "w") as f:
        f.write(APACHE_CONF.format(root=root, port=port, modules=modules, tree=tree,
                                   user=user, group=group))
    proc = subprocess.Popen([APACHE, "-f", conf, "-DFOREGROUND"], stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(root, "stderr.log"), "w"),
                            start_new_session=True)
    if not wait_port(port, proc, time.monotonic() + 15, "apache2"):
        log = open(os.path.join(root, "stderr.log")).read()
        die(f"apache2 exited at start:\n{log}")
    return proc


def find_seeother(given):
    if given:
        return given
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(repo, "target"))
    for profile in ("release", "debug"):
        path = os.path.join(target, profile, "seeother")
        if os.access(path, os.X_OK):
            return path
    die("no seeother binary found; build it with `cargo build --release -p seeother` or "
        "give --seeother PATH")


def subset_tree(root, tree, files):
    """A copy of `files` and their ancestors' .htaccess files, for importing a part quickly."""
    sub = os.path.join(root, "subset")
    wanted = set(files)
    for f in files:
        d = os.path.dirname(f)
        while d.startswith(tree):
            a = os.path.join(d, ".htaccess")
            if os.path.exists(a):
                wanted.add(a)
            if d == tree:
                break
            d = os.path.dirname(d)
    for f in wanted:
        dest = os.path.join(sub, os.path.relpath(f, tree))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copyfile(f, dest)
    return sub


def start_seeother(binary, root, tree, port, report_path):
    db = os.path.join(root, "seeother.db")
    started = time.monotonic()
    imp = subprocess.run([binary, "import", "--from", "apache", tree, "--db", db],
                         capture_output=True, text=True, timeout=1200)
    import_seconds = time.monotonic() - started
    with open(report_path, "w") as f:
        f.write(imp.stdout)
        f.write(imp.stderr)
    if imp.returncode != 0:
        tail = (imp.stderr or imp.stdout).strip().splitlines()[-5:]
        die("seeother import --from apache failed (report in " + report_path + "):\n  "
            + "\n  ".join(tail))
    token = os.path.join(root, "token")
    with open(token, "w") as f:
        f.write("compare-" + os.urandom(16).hex() + "\n")
    os.chmod(token, 0o600)
    proc = subprocess.Popen([binary, "serve", "--db", db, "--listen", f"127.0.0.1:{port}",
                             "--admin-token-file", token],
                            stdout=open(os.path.join(root, "seeother.out"), "w"),
                            stderr=open(os.path.join(root, "seeother.log"), "w"),
                            start_new_session=True)
    started = time.monotonic()
    if not wait_port(port, proc, time.monotonic() + 30, "seeother serve"):
        die("seeother serve exited at start:\n" + open(os.path.join(root, "seeother.log")).read())
    return proc, import_seconds, time.monotonic() - started


def load_seconds(root):
    """The rules' load time `seeother serve` prints ("rules:  N (store …; loaded in 12ms)")."""
    text = open(os.path.join(root, "seeother.out")).read()
    m = re.search(r"rules:\s+([0-9]+) \(.*loaded in ([0-9.]+)(ns|µs|us|ms|s)\)", text)
    if not m:
        return None, None
    scale = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}[m.group(3)]
    return int(m.group(1)), float(m.group(2)) * scale


def cpu_seconds(pid):
    """CPU time the process `pid` has used, all its threads (/proc/PID/task/*/schedstat: ns)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total / 1e9


def cpu_per_request(pid, port, candidates, repeat, deadline):
    """Server CPU per request for each of `candidates`, each sent `repeat` times in turn on one
    keep-alive connection: (µs, path, headers), the dearest first."""
    client = Client(port)
    out = []
    for path, headers in candidates:
        if time.monotonic() > deadline:
            break
        client.get(path, headers, deadline)
        before = cpu_seconds(pid)
        for _ in range(repeat):
            client.get(path, headers, deadline)
        out.append(((cpu_seconds(pid) - before) / repeat * 1e6, path, headers))
    return sorted(out, key=lambda t: -t[0])


def stop(proc):
    if proc and proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class Client:
    """One keep-alive connection per thread to a server."""

    def __init__(self, port):
        self.port = port
        self.local = threading.local()

    def get(self, path, headers, deadline):
        for attempt in range(2):
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                self.local.conn = conn
            try:
                conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
                conn.putheader("Host", "w3id.org")
                for k, v in headers.items():
                    conn.putheader(k, v)
                conn.endheaders()
                resp = conn.getresponse()
                resp.read()
                fields = {k.lower(): v for k, v in resp.getheaders()}
                if resp.getheader("connection", "").lower() == "close":
                    conn.close()
                    self.local.conn = None
                return resp.status, fields
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                self.local.conn = None
                if attempt == 1 or time.monotonic() > deadline:
                    return None, {"error": str(e)}
        return None, {}


def run_all(client, requests, workers, deadline):
    def one(req):
        if time.monotonic() > deadline:
            return None, {"error": "time limit reached"}
        t = time.monotonic()
        status, fields = client.get(req[0], req[1], deadline)
        fields["_seconds"] = time.monotonic() - t
        return status, fields

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        answers = list(pool.map(one, requests))
    return answers, time.monotonic() - started


def remove_dot_segments(path):
    """RFC 3986 §5.2.4."""
    out = []
    segments = path.split("/")
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == ".":
            if last:
                out.append("")
        elif seg == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(seg)
    return "/".join(out)


def resolve(path, location):
    """`location` resolved against the request URL; an empty http(s) path is `/` (RFC 3986
    §6.2.3: the same URL)."""
    if location is None:
        return None
    url = urllib.parse.urlsplit(urllib.parse.urljoin(BASE + path, location))
    # RFC 3986 §5.2.2: a reference with a scheme has its dot segments removed too (urljoin
    # leaves an absolute one as it is).
    url = url._replace(path=remove_dot_segments(url.path))
    if url.scheme in ("http", "https") and url.path == "":
        url = url._replace(path="/")
    # RFC 3986 §6.2.2.1: scheme and host are case-insensitive, and so are the hexadecimal
    # digits of a percent-encoding.
    url = url._replace(netloc=url.netloc.lower())
    # RFC 3986 §6.2.3: an empty port is the same as none ("https://h:/x" is "https://h/x").
    if url.netloc.endswith(":"):
        url = url._replace(netloc=url.netloc[:-1])
    return re.sub(r"%[0-9a-fA-F]{2}", lambda m: m.group(0).upper(), urllib.parse.urlunsplit(url))


def wrk_rate(port, requests_file, seconds):
    """Requests per second wrk gets from 127.0.0.1:`port` (2 threads, 32 connections)."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mixed.lua")
    out = subprocess.run(["wrk", "-t2", "-c32", f"-d{seconds:g}s", "-s", script,
                          f"http://127.0.0.1:{port}"], capture_output=True, text=True,
                         timeout=seconds + 60, env={**os.environ, "REQUESTS": requests_file})
    m = re.search(r"Requests/sec:\s+([0-9.]+)", out.stdout)
    return float(m.group(1)) if m else 0.0


def load_both(root, requests, a_port, s_port, seconds):
    if shutil.which("wrk") is None:
        print("compare.py: --speed needs wrk (apt-get install wrk); skipped", file=sys.stderr)
        return None
    path = os.path.join(root, "requests.tsv")
    with open(path, "w") as f:
        for p, h in requests:
            f.write("\t".join([p] + [f"{k}: {v}" for k, v in h.items()]) + "\n")
    return wrk_rate(a_port, path, seconds), wrk_rate(s_port, path, seconds)


def compare(requests, apache, seeother, header_names, tree):
    """Sort each request into agree, disagree (with reasons) or out of scope."""
    tally = collections.Counter()
    by_reason = collections.Counter()
    disagreements = []
    for (path, headers), (a_status, a), (s_status, s) in zip(requests, apache, seeother):
        if a_status is None or s_status is None:
            tally["no answer"] += 1
            disagreements.append((path, headers, "no answer", a.get("error") or s.get("error")))
            by_reason["no answer"] += 1
            continue
        if a_status == 500:
            tally["apache 500 (not copied)"] += 1
            continue
        if tree in (a.get("location") or ""):
            # A relative target without RewriteBase: Apache puts its file-system path in the
            # Location; the importer reports it and redirects below the directory instead.
            tally["apache path leak (not copied)"] += 1
            continue
        last = path.rsplit("/", 1)[-1]
        if a_status == 403 and last.startswith(".ht"):
            # The server configuration's <Files ".ht*"> refuses these before any rule runs.
            tally["out of scope (file system)"] += 1
            continue
        if a_status in (200, 403, 404) and s_status == 404 and "location" not in a:
            # Apache answered from the file system (or a rule refused; both say "nothing").
            tally["out of scope (file system)"] += 1
            continue
        reasons = []
        if a_status != s_status:
            reasons.append(("status", f"{a_status} vs {s_status}"))
        la, ls = resolve(path, a.get("location")), resolve(path, s.get("location"))
        if la != ls:
            reasons.append(("location", f"{la} vs {ls}"))
        for name in header_names:
            if a.get(name) != s.get(name):
                reasons.append((f"header {name}", f"{a.get(name)!r} vs {s.get(name)!r}"))
        if reasons:
            tally["disagree"] += 1
            for kind, _ in reasons:
                by_reason[kind] += 1
            disagreements.append((path, headers, "; ".join(f"{k}: {d}" for k, d in reasons),
                                  None))
        else:
            tally["agree"] += 1
    return tally, by_reason, disagreements


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tree", help="the directory tree of .htaccess files (the site root)")
    parser.add_argument("--seeother", help="the seeother binary (default: target/release or "
                        "target/debug)")
    parser.add_argument("--dirs", type=int, help="only requests for the first N directories")
    parser.add_argument("--limit", type=int, help="at most N requests (a spread sample)")
    parser.add_argument("--workers", type=int, default=8, help="concurrent connections")
    parser.add_argument("--timeout", type=float, default=900, help="stop after S seconds")
    parser.add_argument("--show", type=int, default=200,
                        help="list at most N disagreements (all go to --out)")
    parser.add_argument("--out", help="write every disagreement and the figures as JSON here")
    parser.add_argument("--cpu", type=int, default=0, metavar="N",
                        help="also measure seeother's CPU per request: the N slowest requests "
                        "of the run and N of the directory with the most rules, each sent "
                        "--repeat times")
    parser.add_argument("--repeat", type=int, default=2000, help="repeats per --cpu request")
    parser.add_argument("--speed", type=float, default=0, metavar="SECONDS",
                        help="also load both servers with wrk for SECONDS each, on the same "
                        "requests (needs wrk)")
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout
    signal.signal(signal.SIGALRM, lambda *_: die("time limit reached", 3))
    signal.alarm(int(args.timeout) + 60)

    tree = os.path.abspath(args.tree)
    if not os.path.isfile(os.path.join(tree, ".htaccess")) and not os.path.isdir(tree):
        die(f"{tree} is not a directory of .htaccess files")
    check_apache()
    binary = find_seeother(args.seeother)

    plan = derive.plan(tree, dirs=args.dirs)
    paths = plan.paths
    requests = []
    for path in paths:
        for accept in ACCEPTS:
            for agent in AGENTS:
                headers = {}
                if accept:
                    headers["Accept"] = accept
                if agent:
                    headers["User-Agent"] = agent
                requests.append((path, headers))
    if args.limit and len(requests) > args.limit:
        step = len(requests) / args.limit
        requests = [requests[int(i * step)] for i in range(args.limit)]
    header_names = sorted(plan.header_names)

    root = tempfile.mkdtemp(prefix="seeother-apache-")
    if os.geteuid() == 0:
        shutil.chown(root, "www-data", "www-data")
    apache = seeother = None
    try:
        a_port, s_port = free_port(), free_port()
        apache = start_apache(root, tree, a_port)
        source = subset_tree(root, tree, plan.files) if args.dirs is not None else tree
        seeother, import_s, start_s = start_seeother(binary, root, source, s_port,
                                                     os.path.join(root, "import-report.txt"))
        print(f"{len(plan.files)} files, {plan.rules} rules, {len(paths)} paths, "
              f"{len(requests)} requests; import {import_s:.2f} s, serve up {start_s:.2f} s")
        a_answers, a_secs = run_all(Client(a_port), requests, args.workers, deadline)
        s_answers, s_secs = run_all(Client(s_port), requests, args.workers, deadline)
        import_report = open(os.path.join(root, "import-report.txt")).read()
        rule_count, load_s = load_seconds(root)
        cpu = None
        if args.cpu > 0:
            slowest = sorted(range(len(requests)), key=lambda i: -s_answers[i][1]["_seconds"])
            biggest = max(plan.rules_by_dir.items(), key=lambda kv: kv[1], default=("/", 0))[0]
            mine = [r for r in requests if r[0].startswith(biggest)]
            picked = [requests[i] for i in slowest[: args.cpu]]
            picked += mine[:: max(1, len(mine) // args.cpu)][: args.cpu]
            cpu = (biggest, plan.rules_by_dir.get(biggest, 0),
                   cpu_per_request(seeother.pid, s_port, picked, args.repeat, deadline))
        speed = None
        if args.speed > 0:
            speed = load_both(root, requests, a_port, s_port, args.speed)
    finally:
        stop(seeother)
        stop(apache)
    tally, by_reason, disagreements = compare(requests, a_answers, s_answers, header_names,
                                              tree)
    in_scope = tally["agree"] + tally["disagree"] + tally["no answer"]
    share = 100.0 * tally["agree"] / in_scope if in_scope else 0.0
    for path, headers, why, err in disagreements[: args.show]:
        h = " ".join(f"{k}={v!r}" for k, v in headers.items()) or "(no Accept, no User-Agent)"
        print(f"DIFF {path}  {h}\n     {why}{'  ' + err if err else ''}")
    if len(disagreements) > args.show:
        print(f"... {len(disagreements) - args.show} more disagreements (--show, --out)")
    print("\nanswers:")
    for k in ("agree", "disagree", "no answer", "out of scope (file system)",
              "apache 500 (not copied)", "apache path leak (not copied)"):
        print(f"  {k:28} {tally[k]}")
    print("disagreements by field:")
    for k, n in by_reason.most_common():
        print(f"  {k:28} {n}")
    by_dir = collections.Counter("/" + p.lstrip("/").split("/", 1)[0] for p, _, _, _ in
                                 disagreements)
    if by_dir:
        print("disagreements by directory (the first 20):")
        for k, n in by_dir.most_common(20):
            print(f"  {k:28} {n}")
    a_rate = len(requests) / a_secs if a_secs else 0
    s_rate = len(requests) / s_secs if s_secs else 0
    print(f"speed: apache {a_rate:.0f} req/s, seeother {s_rate:.0f} req/s "
          f"({s_rate / a_rate if a_rate else 0:.1f}x), {args.workers} connections")
    if speed:
        print(f"speed under wrk (2 threads, 32 connections): apache {speed[0]:.0f} req/s, "
              f"seeother {speed[1]:.0f} req/s ({speed[1] / speed[0] if speed[0] else 0:.1f}x)")
    if load_s is not None:
        print(f"load: {rule_count} rules loaded by seeother serve in {load_s:.3f} s "
              f"(goal 0.5 s)")
    if cpu:
        biggest, n, rows = cpu
        print(f"server CPU per request ({len(rows)} requests, {args.repeat} times each; "
              f"largest scope {biggest} with {n} rules; goal 100 µs):")
        for us, path, headers in rows[:10]:
            h = " ".join(f"{k}={v!r}" for k, v in headers.items())
            print(f"  {us:7.1f} µs  {path}  {h}")
        if rows:
            print(f"  worst {rows[0][0]:.1f} µs, median {rows[len(rows) // 2][0]:.1f} µs")
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"agreement on answers from rules: {tally['agree']}/{in_scope} = {share:.2f} %")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"tally": tally, "by_reason": by_reason, "agreement": share,
                       "apache_rps": a_rate, "seeother_rps": s_rate,
                       "import_seconds": import_s, "load_seconds": load_s,
                       "cpu_per_request": cpu and [
                           {"us": us, "path": p, "headers": h} for us, p, h in cpu[2]],
                       "speed_wrk": speed,
                       "import_report": import_report,
                       "disagreements": [
                           {"path": p, "headers": h, "why": w, "error": e}
                           for p, h, w, e in disagreements]}, f, indent=1)
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
