#!/usr/bin/env python3
"""Time `seeother check` against lychee on the same 10,000 targets, and compare their verdicts.

The targets are spread over 20 loopback addresses (127.0.0.1 … 127.0.0.20), each served by an
asyncio HTTP/1.1 server (keep-alive) in this process that adds 0–50 ms to every answer (fixed
per URL, so both tools meet the same latencies). Most targets answer 200; every tenth-and-two
redirects permanently (301) and every tenth-and-three temporarily (302) to a 200 on the same
host, every twentieth is a 404 and every fiftieth-and-one a 500. Both tools get one run each on
the same list, with the same per-host concurrency and the same total concurrency, no retries
and no delay between requests (both GET every URL, keep connections open, follow up to 10
redirects and allow 20 s per request):

  seeother check --rules rules.toml --json --per-host N --max-requests M --timeout 20 --retries 0
  lychee --host-concurrency N --max-concurrency M --host-request-interval 0s --max-retries 0
         --timeout 20 --max-redirects 10 --format json urls.txt

(lychee's own defaults are 10 per host, 128 in all, 50 ms between requests to a host and 3
retries; seeother's 2 per host, 64 in all, no delay and 2 retries after a 429.)

Prints the floor (the busiest host's latencies, N at a time: no tool can be faster), then for
each tool its wall time, CPU time, its verdicts against the expected ones, and what the servers
saw (requests, connections, the most requests any one host served at once: proof that neither
went over N); then how often the two agree (ok / client error / server error / timeout /
unreachable, and the status code), and the load average when it started.

Usage: bench/check/bench.py [--targets 10000] [--per-host 4] [--max-requests 80]
                            [--seeother PATH] [--lychee PATH] [--rounds 1]
"""

import argparse
import asyncio
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zlib

HOSTS = 20
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def expected(k):
    """The status path /t/K answers with, and the verdict it should get."""
    if k % 20 == 0:
        return 404, "client_error"
    if k % 50 == 1:
        return 500, "server_error"
    if k % 10 == 2:
        return 301, "ok"
    if k % 10 == 3:
        return 302, "ok"
    return 200, "ok"


def latency(path):
    """0–50 ms, fixed per path."""
    return (zlib.crc32(path.encode()) % 51) / 1000.0


REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 404: "Not Found", 500: "Internal Server Error"}


class Load:
    """What the servers saw during one tool's run: connections accepted, requests served, and
    the most requests any one host was serving at once."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.connections = 0
        self.requests = 0
        self.in_flight = [0] * (HOSTS + 1)
        self.most = 0


LOAD = Load()
# (the tool's CPU seconds, the servers' CPU seconds) of each run, in order.
CPU = []


async def serve_connection(reader, writer, host):
    LOAD.connections += 1
    try:
        while True:
            line = await reader.readline()
            if not line:
                return
            parts = line.decode("latin-1").split()
            if len(parts) < 2:
                return
            method, target = parts[0], parts[1]
            while True:
                h = await reader.readline()
                if not h or h in (b"\r\n", b"\n"):
                    break
            LOAD.requests += 1
            LOAD.in_flight[host] += 1
            LOAD.most = max(LOAD.most, LOAD.in_flight[host])
            try:
                await asyncio.sleep(latency(target))
            finally:
                LOAD.in_flight[host] -= 1
            status, location = 200, None
            if target.startswith("/t/"):
                k = int(target[3:])
                status = expected(k)[0]
                if status in (301, 302):
                    location = f"/final/{k}"
            body = b"" if method == "HEAD" else f"{status} {target}\n".encode()
            head = f"HTTP/1.1 {status} {REASONS[status]}\r\ncontent-type: text/plain\r\n"
            if location:
                head += f"location: {location}\r\n"
            head += f"content-length: {len(body)}\r\n\r\n"
            writer.write(head.encode() + body)
            await writer.drain()
    except (ConnectionError, ValueError):
        pass
    finally:
        writer.close()


def start_servers():
    """20 servers, one per loopback address; returns their (address, port) list."""
    loop = asyncio.new_event_loop()
    addrs = []
    ready = threading.Event()

    async def main():
        for i in range(1, HOSTS + 1):
            ip = f"127.0.0.{i}"
            server = await asyncio.start_server(
                lambda r, w, host=i: serve_connection(r, w, host), ip, 0, backlog=1024)
            addrs.append((ip, server.sockets[0].getsockname()[1]))
        ready.set()
        await asyncio.Event().wait()

    threading.Thread(target=lambda: loop.run_until_complete(main()), daemon=True).start()
    ready.wait(10)
    return addrs


def seeother_binary(given):
    if given:
        return given
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
    subprocess.run(["cargo", "build", "--release", "-p", "seeother"], cwd=REPO, check=True)
    return os.path.join(target, "release", "seeother")


def lychee_binary(given, tmp):
    if given:
        return given
    found = shutil.which("lychee") or os.path.expanduser("~/.cargo/bin/lychee")
    if os.path.exists(found):
        return found
    root = os.path.join(tmp, "lychee")
    print(f"bench: installing lychee into {root} (cargo install)", file=sys.stderr)
    subprocess.run(["cargo", "install", "lychee", "--locked", "--root", root], check=True)
    return os.path.join(root, "bin", "lychee")


def coarse(state, status):
    if state in ("ok", "permanent_redirect", "temporary_redirect"):
        return "ok"
    return state


def seeother_verdicts(doc):
    out = {}
    for t in doc["targets"]:
        out[t["url"]] = (coarse(t["state"], t["status"]), t["status"])
    return out


def lychee_verdicts(doc):
    """url → (verdict, status) from lychee's JSON: every map of responses it writes."""
    out = {}
    for key, value in doc.items():
        if not key.endswith("_map") or not isinstance(value, dict):
            continue
        for responses in value.values():
            for r in responses:
                url = r.get("url")
                status = r.get("status") or {}
                code = status.get("code") if isinstance(status, dict) else None
                text = (status.get("text", "") if isinstance(status, dict) else str(status)).lower()
                if key in ("success_map", "redirect_map") or (code and 200 <= code < 400):
                    verdict = "ok"
                elif code and 400 <= code < 500:
                    verdict = "client_error"
                elif code and code >= 500:
                    verdict = "server_error"
                elif "timeout" in text or "timed out" in text:
                    verdict = "timeout"
                else:
                    verdict = "unreachable"
                out.setdefault(url, (verdict, code))
    return out


def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(cmd, out_path=None):
    """Run one tool: its wall time, CPU time, the servers' CPU time meanwhile, and output."""
    started, cpu, served = time.monotonic(), cpu_children(), time.process_time()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    took = time.monotonic() - started
    CPU.append((cpu_children() - cpu, time.process_time() - served))
    text = proc.stdout
    if out_path:
        with open(out_path, "rb") as f:
            text = f.read()
    return took, proc, text


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=10_000)
    parser.add_argument("--per-host", type=int, default=4)
    parser.add_argument("--max-requests", type=int, default=80)
    parser.add_argument("--timeout", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seeother", help="the seeother binary (default: build it in release)")
    parser.add_argument("--lychee", help="the lychee binary (default: PATH, ~/.cargo/bin, else cargo install)")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="seeother-bench-check-")
    seeother = seeother_binary(args.seeother)
    lychee = lychee_binary(args.lychee, tmp)
    addrs = start_servers()

    urls, want = [], {}
    rules = []
    for k in range(args.targets):
        ip, port = addrs[k % HOSTS]
        url = f"http://{ip}:{port}/t/{k}"
        urls.append(url)
        want[url] = expected(k)[1]
        rules.append(f'[[rules]]\npath = "/r/{k}"\nto = "{url}"\n')
    rules_path = os.path.join(tmp, "rules.toml")
    urls_path = os.path.join(tmp, "urls.txt")
    with open(rules_path, "w") as f:
        f.write("\n".join(rules))
    with open(urls_path, "w") as f:
        f.write("\n".join(urls) + "\n")

    lychee_out = os.path.join(tmp, "lychee.json")
    seeother_cmd = [seeother, "check", "--rules", rules_path, "--json",
                    "--per-host", str(args.per_host), "--max-requests", str(args.max_requests),
                    "--timeout", str(args.timeout), "--retries", "0"]
    lychee_cmd = [lychee, "--no-progress", "--format", "json", "--output", lychee_out,
                  "--host-concurrency", str(args.per_host),
                  "--max-concurrency", str(args.max_requests),
                  "--host-request-interval", "0s",
                  "--max-retries", "0", "--timeout", str(args.timeout), "--max-redirects", "10",
                  "--verbose", urls_path]

    # The servers' latency alone: each host's requests back to back, per_host at a time.
    busy = [0.0] * HOSTS
    for k in range(args.targets):
        paths = [f"/t/{k}"] + ([f"/final/{k}"] if expected(k)[0] in (301, 302) else [])
        busy[k % HOSTS] += sum(latency(p) for p in paths)
    floor = max(busy) / args.per_host

    load_avg = " ".join(f"{x:.2f}" for x in os.getloadavg())
    version = subprocess.run([lychee, "--version"], stdout=subprocess.PIPE, text=True).stdout.strip()
    print(f"{args.targets} targets over {HOSTS} loopback hosts, 0–50 ms each, "
          f"{args.per_host} per host, {args.max_requests} at once; {version}; "
          f"load average {load_avg}, {os.cpu_count()} CPUs")
    print(f"floor: {floor:.2f} s (the busiest host's latencies, {args.per_host} at a time)")
    times = {"seeother": [], "lychee": []}
    verdicts = {}
    load = {}
    for _ in range(args.rounds):
        LOAD.reset()
        took, proc, text = run(seeother_cmd)
        if proc.returncode not in (0, 1):
            sys.exit(f"bench: seeother check failed: {proc.stderr.decode()[-2000:]}")
        times["seeother"].append(took)
        verdicts["seeother"] = seeother_verdicts(json.loads(text))
        load["seeother"] = (LOAD.connections, LOAD.requests, LOAD.most, CPU[-1])

        LOAD.reset()
        took, proc, text = run(lychee_cmd, lychee_out)
        if proc.returncode not in (0, 2):
            sys.exit(f"bench: lychee failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
        times["lychee"].append(took)
        verdicts["lychee"] = lychee_verdicts(json.loads(text))
        load["lychee"] = (LOAD.connections, LOAD.requests, LOAD.most, CPU[-1])

    for tool in ("seeother", "lychee"):
        got = verdicts[tool]
        right = sum(1 for u in urls if got.get(u, ("missing",))[0] == want[u])
        missing = sum(1 for u in urls if u not in got)
        best = min(times[tool])
        connections, requests, most, (cpu, served) = load[tool]
        print(f"{tool:9} {best:7.2f} s  {args.targets / best:7.0f} targets/s  "
              f"right {right}/{args.targets}  missing {missing}")
        print(f"{'':9} CPU {cpu:.2f} s (the servers {served:.2f} s); the servers saw {requests} "
              f"requests on {connections} connections, at most {most} at once on a host")
    s, l = verdicts["seeother"], verdicts["lychee"]
    agree = sum(1 for u in urls if u in s and u in l and s[u][0] == l[u][0])
    agree_code = sum(1 for u in urls if u in s and u in l and s[u] == l[u])
    print(f"agreement: {agree}/{args.targets} verdicts, {agree_code}/{args.targets} verdicts and statuses")
    print(f"ratio: seeother takes {min(times['seeother']) / min(times['lychee']):.2f}× lychee's time")
    differ = [u for u in urls if s.get(u) != l.get(u)][:5]
    for u in differ:
        print(f"  differs: {u}: seeother {s.get(u)}, lychee {l.get(u)}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
