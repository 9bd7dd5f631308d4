#!/usr/bin/env python3
"""Time `seeother fetch` against `curl -L` on loopback: a 10-hop same-origin 303 chain, and
one 303 after a POST. Prints the median of several runs for each and the ratio.

The redirecting server is nginx (`return 303` rules) when it is installed, otherwise a small
threaded Python HTTP/1.1 server. Both tools run as fresh processes each time, as a user runs
them, so process start-up is part of every figure.

Usage: bench/fetch/bench.py [--runs N] [--seeother PATH] [--server nginx|python]
"""

import argparse
import http.server
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HOPS = 10


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    sys.exit(f"bench: the server on port {port} did not start")


class Nginx:
    name = "nginx"

    def __init__(self, binary):
        self.dir = tempfile.mkdtemp(prefix="seeother-bench-nginx-")
        self.port = free_port()
        hops = "\n".join(
            f"        location = /hop/{i} {{ return 303 /hop/{i + 1}; }}" for i in range(1, HOPS)
        )
        d = self.dir
        conf = f"""
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{self.port};
        absolute_redirect off;
{hops}
        location = /hop/{HOPS} {{ return 200 "end\\n"; }}
        location = /post {{ return 303 /done; }}
        location = /done {{ return 200 "done\\n"; }}
    }}
}}
"""
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write(conf)
        self.proc = subprocess.Popen(
            [binary, "-p", d, "-c", os.path.join(d, "nginx.conf"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.port)

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Redirector(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def answer(self):
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        path = self.path
        if path.startswith("/hop/") and int(path[5:]) < HOPS:
            status, location, body = 303, f"/hop/{int(path[5:]) + 1}", b""
        elif path == "/post":
            status, location, body = 303, "/done", b""
        else:
            status, location, body = 200, None, b"end\n"
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_HEAD = answer


class PythonServer:
    name = "python http.server"

    def __init__(self):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirector)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()


def time_runs(cmd, runs):
    # One warm-up run, then `runs` timed ones.
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--seeother", help="the seeother binary (default: build it in release)")
    parser.add_argument("--server", choices=["nginx", "python"], help="default: nginx if installed")
    args = parser.parse_args()

    seeother = args.seeother
    if not seeother:
        subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "seeother"], cwd=root, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target"))
        seeother = os.path.join(target, "release", "seeother")
    curl = shutil.which("curl") or sys.exit("bench: curl is not installed")
    nginx = shutil.which("nginx") or (os.path.exists("/usr/sbin/nginx") and "/usr/sbin/nginx")
    if args.server == "nginx" and not nginx:
        sys.exit("bench: nginx is not installed")
    server = Nginx(nginx) if nginx and args.server != "python" else PythonServer()
    try:
        base = f"http://127.0.0.1:{server.port}"
        cases = [
            (f"{HOPS}-hop 303 chain (GET)", [f"{base}/hop/1"]),
            ("1 hop: POST -> 303 -> GET", ["-d", "a=1", f"{base}/post"]),
        ]
        print(f"server: {server.name}; {args.runs} runs each; median wall time per command")
        print(f"{'case':32} {'seeother':>12} {'curl -L':>12} {'ratio':>8}")
        for name, case_args in cases:
            ours = time_runs([seeother, "fetch", "-s", "-o", "/dev/null", *case_args], args.runs)
            theirs = time_runs([curl, "-sS", "-L", "-o", "/dev/null", *case_args], args.runs)
            print(f"{name:32} {ours:9.2f} ms {theirs:9.2f} ms {ours / theirs:7.2f}x")
        print("ratio = seeother / curl (below 1: seeother is faster)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
