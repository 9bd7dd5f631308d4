"""The three servers of the benchmark: how each is started on loopback, pinned to a core,
timed from start to its first answered redirect, measured (VmHWM) and stopped."""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
START_TIMEOUT = 900.0  # seconds; a 1,000,000-rule import into an empty store may be slow
_started = []  # every process group started, so that exit stops them all


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_redirect(table):
    """A path that every contestant must answer with 303."""
    with open(os.path.join(table, "requests.tsv")) as f:
        for line in f:
            path, status, _ = line.rstrip("\n").split("\t")
            if status == "303":
                return path
    raise SystemExit(f"no redirect among the requests of {table}")


def status_of(port, path, timeout=1.0):
    """The status code of GET path, or None when nothing answers yet."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".encode())
            head = s.recv(64)
            return int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else None
    except (OSError, ValueError, IndexError):
        return None


def counter(port, name, timeout=2.0):
    """A counter from the server's /-/metrics page (seeother only), or None."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"GET /-/metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            text = b""
            while chunk := s.recv(65536):
                text += chunk
    except OSError:
        return None
    for line in text.decode("utf-8", "replace").splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[1]))
    return None


def vm(pid, field):
    """A /proc/PID/status field in MiB (VmHWM, VmRSS), or None once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


class Server:
    """One running contestant."""

    def __init__(self, name, port, proc, log):
        self.name = name
        self.port = port
        self.proc = proc
        self.log = log
        self.start_times = {}
        self.token = None
        self.h2_port = port  # seeother and axum speak h2c on their one port; nginx has two
        self.start_rss = None  # VmHWM (MiB) when the first 303 was answered

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def h2_url(self):
        return f"http://127.0.0.1:{self.h2_port}"

    def serving_pid(self):
        """The process that answers requests (nginx: its worker)."""
        if self.name in ("nginx", "ceiling"):
            kids = children(self.proc.pid)
            return kids[0] if kids else self.proc.pid
        return self.proc.pid

    def cpu_pids(self):
        """The processes whose CPU time is the server's: the process itself (every thread
        of it), or nginx's workers (the master only accepts signals)."""
        if self.name in ("nginx", "ceiling"):
            return children(self.proc.pid) or [self.proc.pid]
        return [self.proc.pid]

    def peak_rss(self):
        pid = self.serving_pid()
        out = {"serving": vm(pid, "VmHWM"), "now": vm(pid, "VmRSS"), "at_start": self.start_rss}
        if self.name == "nginx":
            out["master"] = vm(self.proc.pid, "VmHWM")
        return out


def launch(name, argv, cpu, log_path, env=None):
    log = open(log_path, "ab")
    proc = subprocess.Popen(
        ["taskset", "-c", cpu, *argv],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        start_new_session=True,  # its own process group, stopped as one
    )
    _started.append(proc)
    return proc, log


def wait_first(server, path, t0, label):
    """Seconds from t0 until the server answers path with 303."""
    deadline = t0 + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise SystemExit(f"{server.name} exited with {server.proc.returncode} while starting "
                             f"({label}); see {server.log.name}")
        status = status_of(server.port, path, timeout=2.0)
        if status == 303:
            elapsed = time.monotonic() - t0
            server.start_rss = vm(server.serving_pid(), "VmHWM")
            return elapsed
        if status is not None:
            raise SystemExit(f"{server.name} answered {status} for {path}, not 303 ({label})")
        time.sleep(0.005)
    raise SystemExit(f"{server.name} did not answer within {START_TIMEOUT:.0f} s ({label})")


def stop(server, timeout=30.0):
    proc = server.proc
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    server.log.close()
    if proc in _started:
        _started.remove(proc)


def stop_all(servers):
    for s in servers:
        stop(s)


def stop_everything():
    for proc in list(_started):
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
    _started.clear()


def start_seeother(a, binary, table, run_dir, probe):
    """Three starts, each timed to its first 303: importing the CSV into an empty store,
    restarting with the same CSV (every rule unchanged), and restarting from the store alone.
    The last one stays up for the rounds."""
    db = os.path.join(run_dir, "seeother.db")
    token = secrets.token_hex(16)
    env = dict(os.environ, SEEOTHER_ADMIN_TOKEN=token, RUST_LOG="warn")
    csv = os.path.join(table, "rules.csv")
    times = {}
    server = None
    steps = [
        ("import into empty store", ["--rules", csv]),
        ("restart with --rules, unchanged", ["--rules", csv]),
        ("restart from store", []),
    ]
    for i, (label, extra) in enumerate(steps):
        port = free_port()
        argv = [binary, "serve", "--listen", f"127.0.0.1:{port}", "--db", db, *extra,
                *a.seeother_args]
        t0 = time.monotonic()
        proc, log = launch("seeother", argv, a.server_cpu, os.path.join(run_dir, "seeother.log"), env)
        server = Server("seeother", port, proc, log)
        times[label] = wait_first(server, probe, t0, label)
        times[label + " peak RSS MiB"] = server.start_rss
        print(f"  seeother {label}: first 303 after {times[label]:.3f} s", flush=True)
        if i < len(steps) - 1:
            stop(server)
    server.start_times = times
    server.token = token
    return server


def start_nginx(a, table, run_dir, probe, n):
    port, h2_port = free_port(), free_port()
    with open(os.path.join(HERE, "nginx.conf.in")) as f:
        conf = f.read()
    hash_max = 1 << max(10, (2 * n - 1).bit_length())
    conf = (conf.replace("@WORK@", run_dir).replace("@PORT@", str(port))
            .replace("@H2PORT@", str(h2_port))
            .replace("@TABLE@", table).replace("@HASH_MAX@", str(hash_max)))
    path = os.path.join(run_dir, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    t0 = time.monotonic()
    proc, log = launch("nginx", ["nginx", "-c", path, "-p", run_dir], a.server_cpu,
                       os.path.join(run_dir, "nginx.log"))
    server = Server("nginx", port, proc, log)
    server.h2_port = h2_port
    server.start_times = {"start": wait_first(server, probe, t0, "start")}
    print(f"  nginx start: first 303 after {server.start_times['start']:.3f} s", flush=True)
    return server


def start_ceiling(a, run_dir):
    """nginx with one fixed 303 and no table (nginx-ceiling.conf.in), for the ceiling run."""
    port = free_port()
    with open(os.path.join(HERE, "nginx-ceiling.conf.in")) as f:
        conf = f.read().replace("@WORK@", run_dir).replace("@PORT@", str(port))
    path = os.path.join(run_dir, "nginx-ceiling.conf")
    with open(path, "w") as f:
        f.write(conf)
    t0 = time.monotonic()
    proc, log = launch("ceiling", ["nginx", "-c", path, "-p", run_dir], a.server_cpu,
                       os.path.join(run_dir, "nginx-ceiling.log"))
    server = Server("ceiling", port, proc, log)
    wait_first(server, "/any", t0, "start")
    return server


def start_axum(a, binary, table, run_dir, probe):
    port = free_port()
    argv = [binary, f"127.0.0.1:{port}", os.path.join(table, "rules.csv")]
    t0 = time.monotonic()
    proc, log = launch("axum", argv, a.server_cpu, os.path.join(run_dir, "axum.log"))
    server = Server("axum", port, proc, log)
    server.start_times = {"start": wait_first(server, probe, t0, "start")}
    print(f"  axum start: first 303 after {server.start_times['start']:.3f} s", flush=True)
    return server


def start_all(a, bins, table, run_dir):
    """Start the contestants one after another (so that no start competes with another)."""
    seeother_bin, axum_bin = bins
    probe = first_redirect(table)
    with open(os.path.join(table, "summary.json")) as f:
        import json

        n = json.load(f)["rules"]
    servers = []
    try:
        servers.append(start_seeother(a, seeother_bin, table, run_dir, probe))
        if "nginx" not in a.skip:
            servers.append(start_nginx(a, table, run_dir, probe, n))
        if "axum" not in a.skip:
            servers.append(start_axum(a, axum_bin, table, run_dir, probe))
    except BaseException:
        stop_all(servers)
        raise
    sys.stdout.flush()
    return servers


def prepare_run(a, prefix, tools=("wrk", "taskset")):
    """What a harness does before anything else: check that `tools` are there, make the work
    directory (`a.workdir`, kept; else a temporary one removed at exit), stop every program
    it starts at exit, and end the run (cleanly) after `a.max_minutes`. Returns the work
    directory."""
    import atexit
    import shutil
    import tempfile
    for tool in tools:
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed (apt-get install wrk util-linux)")
    workdir = a.workdir or tempfile.mkdtemp(prefix=prefix)
    if not a.workdir:
        atexit.register(shutil.rmtree, workdir, True)
    atexit.register(stop_everything)

    def out_of_time(*_):
        raise SystemExit(f"stopped after --max-minutes {a.max_minutes}")
    signal.signal(signal.SIGALRM, out_of_time)
    signal.signal(signal.SIGTERM, out_of_time)
    signal.alarm(a.max_minutes * 60)
    return workdir
