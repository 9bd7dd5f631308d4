"""What the benchmark measures: answers checked before timing, wrk runs, the admin API's
change-to-visible latency and h2load runs; around each wrk and h2load run, the CPU time the
server and the load generator used (/proc accounting)."""

import http.client
import json
import os
import re
import statistics
import subprocess
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WRK_SLACK = 30  # seconds beyond -d before a wrk or h2load run is killed
CLK_TCK = os.sysconf("SC_CLK_TCK")  # the unit of /proc/PID/stat and /proc/stat times


def version(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "absent"
    text = (p.stdout + p.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def verify(servers, table, samples):
    """Every contestant answers the first `samples` request paths with the expected status
    and Location; a disagreement stops the benchmark (its figures would mean nothing)."""
    expected = []
    with open(os.path.join(table, "requests.tsv")) as f:
        for line in f:
            path, status, to = line.rstrip("\n").split("\t")
            expected.append((path, int(status), to))
            if len(expected) >= samples:
                break
    for s in servers:
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
        bad = []
        for path, status, to in expected:
            conn.request("GET", path)
            r = conn.getresponse()
            r.read()
            location = r.getheader("Location") or ""
            if r.status != status or (status == 303 and location != to):
                bad.append(f"{path}: {r.status} {location!r}, expected {status} {to!r}")
        conn.close()
        if bad:
            raise SystemExit(f"{s.name} answers differently from the table "
                             f"({len(bad)} of {len(expected)}):\n  " + "\n  ".join(bad[:5]))
    print(f"  checked {len(expected)} answers on {', '.join(s.name for s in servers)}", flush=True)


def process_cpu(pid):
    """CPU seconds (utime + stime, every thread of the process) of `pid` so far, from
    /proc/PID/stat; None once the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            # After the command name in parentheses: field 3 (state) onwards; utime and
            # stime are fields 14 and 15, counted in clock ticks.
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def cpu_list(spec):
    """The CPUs of a taskset list such as "0", "0-1" or "0,2"."""
    cpus = set()
    for part in spec.split(","):
        lo, _, hi = part.strip().partition("-")
        cpus.update(range(int(lo), int(hi or lo) + 1))
    return cpus


def core_ticks(cpus):
    """(busy, total) clock ticks of `cpus` so far, from /proc/stat. Busy is user, nice,
    system, irq and softirq time of every task; idle, iowait and steal are not busy."""
    busy = total = 0
    with open("/proc/stat") as f:
        for line in f:
            name, *values = line.split()
            if not (name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus):
                continue
            v = [int(x) for x in values[:8]]
            total += sum(v)
            busy += v[0] + v[1] + v[2] + v[5] + v[6]
    return busy, total


class CpuWindow:
    """CPU time used by a server between `__init__` and `close`: its own (every thread; for
    nginx its workers) and its core's as a whole (every task on it, softirq included)."""

    def __init__(self, a, server):
        self.server = server
        self.pids = server.cpu_pids()
        self.server_cpus = cpu_list(a.server_cpu)
        self.load_cpus = cpu_list(a.load_cpu)
        self.before = self._sample()

    def _sample(self):
        times = [process_cpu(p) for p in self.pids]
        if None in times:
            raise SystemExit(f"{self.server.name} exited during a run; see {self.server.log.name}")
        return (sum(times), core_ticks(self.server_cpus), core_ticks(self.load_cpus),
                time.monotonic())

    def close(self, requests, load_cpu_s):
        """The figures for `requests` answered in the window, the load generator having used
        `load_cpu_s` CPU seconds."""
        (s0, (sb0, st0), (lb0, lt0), t0) = self.before
        (s1, (sb1, st1), (lb1, lt1), t1) = self._sample()
        server_s, wall_s = s1 - s0, t1 - t0
        per = lambda x: x / requests * 1e6 if requests else float("nan")  # noqa: E731
        return {
            "server_s": server_s,
            "wall_s": wall_s,
            "us_per_request": per(server_s),
            "requests_per_cpu_s": requests / server_s if server_s > 0 else float("nan"),
            "server_busy": server_s / wall_s,
            "server_core_busy": (sb1 - sb0) / (st1 - st0) if st1 > st0 else float("nan"),
            "load_s": load_cpu_s,
            "load_us_per_request": per(load_cpu_s),
            "load_busy": load_cpu_s / wall_s,
            "load_core_busy": (lb1 - lb0) / (lt1 - lt0) if lt1 > lt0 else float("nan"),
        }


def run_load(argv, timeout):
    """Run a load generator to its end (killed after `timeout` s, or when this process is
    interrupted); (exit code, stdout, stderr, its CPU seconds: user + system from wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        text = lambda f: f.read().decode(errors="replace")  # noqa: E731
        return proc.returncode, text(out), text(err), usage.ru_utime + usage.ru_stime


def wrk(a, server, paths, duration, mix="GET:100", depth=1):
    argv = [
        "taskset", "-c", a.load_cpu, "wrk", "-t1", f"-c{a.connections}", f"-d{duration}s",
        "--timeout", "5s", "--latency", "-s", os.path.join(HERE, "requests.lua"),
        server.url, "--", paths, mix, str(depth),
    ]
    window = CpuWindow(a, server)
    code, out, err, load_s = run_load(argv, timeout=duration + WRK_SLACK)
    m = re.search(r"^BENCH (\{.*\})$", out, re.M)
    if code != 0 or not m:
        raise SystemExit(f"wrk failed against {server.name} (exit {code}):\n{out}\n{err}")
    r = json.loads(m.group(1))
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    r["mix"] = mix
    r["depth"] = depth
    r["cpu"] = window.close(r["requests"], load_s)
    return r


def _api(server, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"}
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers=headers)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    if r.status >= 300:
        raise SystemExit(f"admin API {method} {path}: {r.status} {data[:300]!r}")
    return json.loads(data) if data else None


def _until_visible(conn, path, to, deadline):
    """Poll GET path on a kept-alive connection until it redirects to `to`; seconds waited."""
    polls = 0
    while time.monotonic() < deadline:
        conn.request("GET", path)
        r = conn.getresponse()
        r.read()
        polls += 1
        if r.status == 303 and r.getheader("Location") == to:
            return polls
    raise SystemExit(f"{path} did not redirect to {to} within the deadline")


def admin_latency(server, count):
    """Create `count` rules, then change each one's target, through the admin API; time from
    sending the request until a GET on another connection sees the change."""
    probe = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    created, updated, acked = [], [], []
    stamp = int(time.time())
    ids = []
    for i in range(count):
        path = f"/id/bench-admin/{stamp}-{i}"
        to = f"https://catalogue.example.org/admin-made/{stamp}-{i}"
        t0 = time.monotonic()
        rule = _api(server, "POST", "/-/api/rules", {"path": path, "to": to})
        acked.append(time.monotonic() - t0)
        _until_visible(probe, path, to, t0 + 10)
        created.append(time.monotonic() - t0)
        ids.append((rule["id"], path))
    for rule_id, path in ids:
        to = f"https://catalogue.example.org/admin-changed/{rule_id}"
        t0 = time.monotonic()
        _api(server, "PUT", f"/-/api/rules/{rule_id}", {"path": path, "to": to})
        _until_visible(probe, path, to, t0 + 10)
        updated.append(time.monotonic() - t0)
    probe.close()
    ms = lambda xs: {  # noqa: E731
        "median_ms": statistics.median(xs) * 1e3,
        "max_ms": max(xs) * 1e3,
    }
    return {"count": count, "create": ms(created), "update": ms(updated), "ack": ms(acked)}


def h2load(a, server, table, streams, method="GET", duration=None):
    """HTTP/2 over cleartext with prior knowledge, the request paths cycled from a URI list.
    `method` HEAD overrides the `:method` pseudo-header (h2load sends GET otherwise)."""
    duration = duration or a.duration
    uris = os.path.join(table, f"uris-{server.h2_port}.txt")
    with open(os.path.join(table, "paths.txt")) as src, open(uris, "w") as dst:
        for path in src:
            dst.write(server.h2_url + path)
    argv = [
        "taskset", "-c", a.load_cpu, "h2load", "-t1", f"-c{a.connections}", f"-m{streams}",
        f"-D{duration}", "-i", uris,
    ]
    if method != "GET":
        argv += ["-H", f":method: {method}"]
    window = CpuWindow(a, server)
    code, out, err, load_s = run_load(argv, timeout=duration + WRK_SLACK)
    rps = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out)
    status = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    req = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                    r"(\d+) failed, (\d+) errored, (\d+) timeout", out)
    lat = re.search(r"time for request:\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", out)
    if code != 0 or not (rps and status and req and lat):
        raise SystemExit(f"h2load failed against {server.name} (exit {code}):\n{out}\n{err}")
    return {
        "server": server.name,
        "method": method,
        "streams": streams,
        "connections": a.connections,
        "rps": float(rps.group(1)),
        "done": int(req.group(3)),
        "errored": int(req.group(6)) + int(req.group(7)),
        "status_3xx": int(status.group(2)),
        "status_4xx": int(status.group(3)),
        "status_5xx": int(status.group(4)),
        "mean": lat.group(3),
        "max": lat.group(2),
        "cpu": window.close(int(req.group(3)), load_s),
    }
