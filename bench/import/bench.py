#!/usr/bin/env python3
"""Import and start-up benchmark: `seeother import` of generated rule files in CSV, TOML and
JSON into an empty SQLite store (time and peak RSS per size, with the curve's linearity),
the re-import of the unchanged file, and the time from exec of `seeother serve` to its first
303 over a socket, from the store alone.

    python3 bench/import/bench.py --binary target/release/seeother [--sizes 10000,100000,1000000]

Rules are those of the server benchmark (bench/server/generate.py: exact identifiers with
catalogue targets, 2 % prefixes), written in each notation.
"""

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "server"))
import generate  # noqa: E402
from contestants import free_port, status_of  # noqa: E402

FORMATS = ("csv", "toml", "json")


def rules(n, seed=303):
    """The server benchmark's `n` rules: (kind, matcher, target), kind `path` or `prefix`."""
    import random

    rng = random.Random(seed)
    n_prefix = max(1, int(n * generate.PREFIX_SHARE))
    out, seen = [], set()
    while len(out) < n - n_prefix:
        kind = rng.choice(generate.KINDS)
        ident = generate._ident(rng, 12)
        path = f"/id/{kind}/{ident}"
        if path not in seen:
            seen.add(path)
            out.append(("path", path, generate._exact_target(rng, kind, ident)))
    for i in range(n_prefix):
        key = f"{generate._ident(rng, 6)}{i}"
        out.append(("prefix", f"/c/{key}/", f"{rng.choice(generate.HOSTS)}/collections/{key}/"))
    return out


def write(table, fmt, path):
    with open(path, "w") as f:
        if fmt == "csv":
            f.write("path,prefix,to\n")
            for kind, m, to in table:
                f.write(f"{m},,{to}\n" if kind == "path" else f",{m},{to}\n")
        elif fmt == "toml":
            for kind, m, to in table:
                f.write(f'[[rules]]\n{kind} = {json.dumps(m)}\nto = {json.dumps(to)}\n\n')
        else:
            f.write('{"rules": [\n')
            f.write(",\n".join(json.dumps({kind: m, "to": to}) for kind, m, to in table))
            f.write("\n]}\n")


def timed(argv, env=None):
    """Wall seconds, peak RSS (KiB), output and CPU seconds (user + system) of running argv,
    from /usr/bin/time -v."""
    p = subprocess.run(["/usr/bin/time", "-v", *argv], capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", p.stderr)
    h, m, s = wall.groups()
    secs = int(h or 0) * 3600 + int(m) * 60 + float(s)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    cpu = sum(float(re.search(rf"{k} time \(seconds\): ([\d.]+)", p.stderr).group(1))
              for k in ("User", "System"))
    return secs, rss, p.stdout.strip(), cpu


def first_303(binary, db, probe, env, extra=()):
    """Seconds from exec of `seeother serve` to its first 303 for probe over a socket."""
    port = free_port()
    argv = [binary, "serve", "--listen", f"127.0.0.1:{port}", "--db", db, *extra]
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, env=env)
    try:
        while time.monotonic() - t0 < 120:
            if proc.poll() is not None:
                raise SystemExit(f"seeother serve exited with {proc.returncode} while starting")
            status = status_of(port, probe, timeout=2.0)
            if status == 303:
                return time.monotonic() - t0
            if status is not None:
                raise SystemExit(f"seeother answered {status} for {probe}, not 303")
            time.sleep(0.002)
        raise SystemExit("seeother did not answer within 120 s")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def write_snapshot(binary, db, env):
    """Run `seeother serve` on the store until it has written its snapshot (DB.snapshot)."""
    snapshot = db + ".snapshot"
    if os.path.exists(snapshot):
        os.remove(snapshot)
    port = free_port()
    proc = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}", "--db", db,
                             "--flush-interval", "0.2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 300
        while not os.path.exists(snapshot):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("seeother serve wrote no snapshot")
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default="target/release/seeother")
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--formats", default=",".join(FORMATS))
    ap.add_argument("--starts", type=int, default=3, help="timed starts per size (median)")
    ap.add_argument("--workdir", help="keep files here (default: a temporary directory)")
    a = ap.parse_args()
    binary = os.path.abspath(a.binary)
    sizes = [int(s) for s in a.sizes.split(",")]
    formats = a.formats.split(",")
    work = a.workdir or tempfile.mkdtemp(prefix="seeother-import-")
    os.makedirs(work, exist_ok=True)
    env = dict(os.environ, SEEOTHER_ADMIN_TOKEN=secrets.token_hex(16), RUST_LOG="warn")
    print(f"binary {binary}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    results = {}
    try:
        for n in sizes:
            table = rules(n)
            probe = table[0][1]
            for fmt in formats:
                path = os.path.join(work, f"rules-{n}.{fmt}")
                write(table, fmt, path)
                size = os.path.getsize(path)
                db = os.path.join(work, f"store-{n}-{fmt}.db")
                for suffix in ("", "-wal", "-shm"):
                    if os.path.exists(db + suffix):
                        os.remove(db + suffix)
                secs, rss, _, cpu = timed([binary, "import", path, "--db", db], env)
                again, again_rss, said, _ = timed([binary, "import", path, "--db", db], env)
                results[(n, fmt)] = (secs, rss, again, size, cpu)
                print(f"  {fmt:4} {n:>9,} rules  {size / 2**20:7.1f} MiB  import {secs:6.2f} s "
                      f"(CPU {cpu:6.2f} s)  load {os.getloadavg()[0]:4.1f}  "
                      f"peak RSS {rss / 1024:7.1f} MiB ({rss * 1024 / size:4.2f}x file)  "
                      f"re-import {again:5.2f} s ({said.splitlines()[-1] if said else ''})",
                      flush=True)
            db = os.path.join(work, f"store-{n}-{formats[0]}.db")
            # Every rule loaded from the store, then (once a start wrote it) from the
            # snapshot beside the store.
            for how, extra in (("from the store", ["--no-snapshot"]), ("from the snapshot", [])):
                if extra == []:
                    write_snapshot(binary, db, env)
                starts = sorted(first_303(binary, db, probe, env, extra)
                                for _ in range(a.starts))
                print(f"  start {n:>9,} rules {how}: first 303 after "
                      f"{starts[len(starts) // 2]:.3f} s (median of {a.starts}: "
                      f"{', '.join(f'{s:.3f}' for s in starts)})", flush=True)
        if len(sizes) > 1:
            print("linearity (seconds per 1,000 rules; flat means linear):")
            for fmt in formats:
                per = [results[(n, fmt)][0] / n * 1000 for n in sizes]
                print(f"  {fmt:4} " + "  ".join(f"{n:>9,}: {p:.4f}" for n, p in zip(sizes, per))
                      + f"  ratio largest/smallest {per[-1] / per[0]:.2f}")
            print("linearity in CPU time (user + system seconds per 1,000 rules):")
            for fmt in formats:
                per = [results[(n, fmt)][4] / n * 1000 for n in sizes]
                print(f"  {fmt:4} " + "  ".join(f"{n:>9,}: {p:.4f}" for n, p in zip(sizes, per))
                      + f"  ratio largest/smallest {per[-1] / per[0]:.2f}")
    finally:
        if not a.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
