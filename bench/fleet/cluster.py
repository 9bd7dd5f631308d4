"""A private PostgreSQL cluster for the fleet benchmark: ``initdb`` and ``pg_ctl`` in a
temporary directory, on a port and a socket directory of its own, as an unprivileged user
(``nobody`` when run as root: PostgreSQL refuses to run as root), never the system's service.
Stopped (``pg_ctl stop -m fast``) and removed by ``close``, which the harness calls at exit.

The binaries are looked for in ``SEEOTHER_PG_BIN``, then ``PATH``, then
``/usr/lib/postgresql/*/bin`` (Debian's ``postgresql``).
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess

USER = "seeother"


def bin_dir():
    if os.environ.get("SEEOTHER_PG_BIN"):
        return os.environ["SEEOTHER_PG_BIN"]
    found = lambda d: all(os.path.isfile(os.path.join(d, p)) for p in ("initdb", "pg_ctl"))  # noqa: E731
    initdb = shutil.which("initdb")
    if initdb and found(os.path.dirname(os.path.realpath(initdb))):
        return os.path.dirname(os.path.realpath(initdb))
    dirs = sorted(d for d in glob.glob("/usr/lib/postgresql/*/bin") if found(d))
    if not dirs:
        raise SystemExit("PostgreSQL's initdb and pg_ctl were not found (SEEOTHER_PG_BIN, PATH, "
                         "/usr/lib/postgresql/*/bin): apt-get install postgresql")
    return dirs[-1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A running private cluster (``start`` it first)."""

    def __init__(self, parent):
        self.dir = os.path.join(parent, "pg")
        os.makedirs(self.dir, exist_ok=True)
        self.bin = bin_dir()
        self.port = free_port()
        self.running = False
        self.run_as = None
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            self.run_as = (nobody.pw_uid, nobody.pw_gid)
            os.chown(self.dir, *self.run_as)
            os.chmod(parent, 0o711)  # a temporary directory is the owner's only
        self._run("initdb", "-D", self.data, "-U", USER, "--auth=trust", "-E", "UTF8",
                  "--locale=C")

    @property
    def data(self):
        return os.path.join(self.dir, "data")

    def _run(self, program, *args, timeout=120):
        kw = {}
        if self.run_as:
            kw = {"user": self.run_as[0], "group": self.run_as[1],
                  "env": dict(os.environ, HOME=self.dir)}
        r = subprocess.run([os.path.join(self.bin, program), *args], cwd=self.dir,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout, **kw)
        if r.returncode != 0:
            raise SystemExit(f"{program} failed ({r.returncode}): {r.stdout}{r.stderr}")
        return r.stdout

    def start(self):
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                   "-c max_connections=100 -c shared_buffers=256MB")
        self._run("pg_ctl", "start", "-w", "-t", "60", "-D", self.data,
                  "-l", os.path.join(self.dir, "log"), "-o", options)
        self.running = True

    def stop(self):
        if self.running:
            self._run("pg_ctl", "stop", "-w", "-t", "60", "-m", "fast", "-D", self.data)
            self.running = False

    def url(self, db):
        return f"postgres://{USER}@127.0.0.1:{self.port}/{db}"

    def create_db(self, name):
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, name)
        return self.url(name)

    def settings(self):
        """The settings that matter for the figures."""
        names = ["server_version", "fsync", "synchronous_commit", "shared_buffers", "wal_level"]
        out = self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, "-At",
                        "-d", "postgres", "-c",
                        "SELECT name || '=' || setting FROM pg_settings WHERE name IN ("
                        + ", ".join(f"'{n}'" for n in names) + ") ORDER BY name")
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def close(self):
        try:
            self.stop()
        except (SystemExit, subprocess.TimeoutExpired) as e:
            print(f"stopping PostgreSQL: {e}")
        shutil.rmtree(self.dir, ignore_errors=True)
