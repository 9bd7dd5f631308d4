#!/usr/bin/env python3
"""Where `seeother serve` spends its time and memory under the benchmark's load.

Starts seeother from an existing store (e.g. the one a benchmark run left in its workdir),
pinned like the benchmark, drives it with wrk (or h2load over h2c: --h2-streams) over the
same request paths, samples it with
`perf record -e cpu-clock` (a software clock: works where hardware counters are not
exposed, as in most VMs) and prints the hottest functions, plus RSS at start, after a
warm-up and after the profiled run.

    python3 bench/server/profile.py --db WORKDIR/run-1000000-*/seeother.db \\
        --table WORKDIR/table-1000000 --binary TARGET/release/seeother

For call stacks, build with frame pointers and line tables:
`RUSTFLAGS="-C force-frame-pointers=yes" CARGO_PROFILE_RELEASE_DEBUG=line-tables-only
cargo build --release -p seeother`, then pass `--call-graph fp`.
"""

import argparse
import atexit
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import contestants  # noqa: E402
import measure  # noqa: E402
import report  # noqa: E402


def rss(server):
    pid = server.serving_pid()
    return f"VmRSS {contestants.vm(pid, 'VmRSS'):,.0f} MiB, VmHWM {contestants.vm(pid, 'VmHWM'):,.0f} MiB"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", required=True, help="a seeother store holding the benchmark's rules")
    ap.add_argument("--table", required=True, help="the table directory (for paths.txt)")
    ap.add_argument("--binary", required=True, help="the seeother binary to profile")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--server-cpu", default="0")
    ap.add_argument("--load-cpu", default="1")
    ap.add_argument("--call-graph", choices=["none", "fp", "dwarf"], default="none")
    ap.add_argument("--mix", default="GET:100", help="wrk method mix")
    ap.add_argument("--h2-streams", type=int, default=0, metavar="N",
                    help="drive it with h2load over h2c, N streams per connection, not wrk")
    ap.add_argument("--seeother-arg", dest="seeother_args", action="append", default=[],
                    metavar="ARG", help="extra argument to `seeother serve`; repeatable")
    ap.add_argument("--out", help="perf data file (default: a temporary directory)")
    a = ap.parse_args()

    atexit.register(contestants.stop_everything)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(130))
    work = tempfile.mkdtemp(prefix="seeother-profile-")
    data = a.out or os.path.join(work, "perf.data")
    paths = os.path.join(a.table, "paths.txt")
    probe = contestants.first_redirect(a.table)

    port = contestants.free_port()
    argv = [a.binary, "serve", "--listen", f"127.0.0.1:{port}", "--db", a.db, *a.seeother_args]
    env = dict(os.environ, SEEOTHER_ADMIN_TOKEN="profile-token-0123456789", RUST_LOG="warn")
    t0 = time.monotonic()
    proc, log = contestants.launch("seeother", argv, a.server_cpu,
                                   os.path.join(work, "seeother.log"), env)
    server = contestants.Server("seeother", port, proc, log)
    took = contestants.wait_first(server, probe, t0, "start from store")
    print(f"first 303 after {took:.3f} s; {rss(server)}", flush=True)

    def drive(seconds):
        if a.h2_streams:
            r = measure.h2load(a, server, a.table, streams=a.h2_streams, duration=seconds)
            return report.h2_line(r)
        return report.wrk_line(measure.wrk(a, server, paths, duration=seconds, mix=a.mix))

    print(f"warm-up:  {drive(a.warmup)}; {rss(server)}", flush=True)

    perf = ["perf", "record", "-q", "-e", "cpu-clock", "-F", "1999", "-p", str(proc.pid),
            "-o", data]
    if a.call_graph != "none":
        perf += ["--call-graph", a.call_graph]
    perf += ["--", "sleep", str(a.seconds)]
    result = {}
    load = threading.Thread(target=lambda: result.update(r=drive(a.seconds)))
    load.start()
    subprocess.run(perf, check=True, timeout=a.seconds + 60)
    load.join()
    print(f"profiled: {result['r']}; {rss(server)}", flush=True)
    contestants.stop(server)

    sort = ["--no-children", "--sort", "symbol", "--percent-limit", "0.7"]
    out = subprocess.run(["perf", "report", "--stdio", "-i", data, "-g", "none", *sort],
                         capture_output=True, text=True, timeout=300).stdout
    print("\nself time by function (cpu-clock samples):")
    print("\n".join(line for line in out.splitlines() if line and not line.startswith("#")))
    if a.call_graph != "none":
        out = subprocess.run(
            ["perf", "report", "--stdio", "-i", data, "--children", "-g", "none", "--sort",
             "symbol", "--percent-limit", "3"],
            capture_output=True, text=True, timeout=300).stdout
        print("\ninclusive time (callers included):")
        print("\n".join(line for line in out.splitlines() if line and not line.startswith("#")))
    print(f"\nperf data: {data}")


if __name__ == "__main__":
    main()
