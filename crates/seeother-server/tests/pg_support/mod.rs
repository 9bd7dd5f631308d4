//! A private PostgreSQL cluster for tests: `initdb` and `pg_ctl` in a temporary directory, on
//! a port and a socket directory of its own, as an unprivileged user (`nobody` when the tests
//! run as root: PostgreSQL refuses to run as root), never the system's service. The cluster
//! is stopped and its directory removed when the [`Cluster`] is dropped, also when a test
//! panics.
//!
//! The binaries are looked for in `SEEOTHER_PG_BIN`, then `PATH`, then
//! `/usr/lib/postgresql/*/bin` (Debian's `postgresql`; `scripts/test-all` installs it). A
//! test that needs PostgreSQL fails when none is found: it is never skipped.
#![allow(dead_code)]

use std::net::TcpListener;
use std::os::unix::fs::chown;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The database user the cluster is created with (trusted on loopback).
pub const USER: &str = "seeother";

/// A running private cluster.
#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    /// The user the server runs as (uid, gid), when the tests run as root.
    run_as: Option<(u32, u32)>,
}

/// The directory holding `initdb` and `pg_ctl`.
fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SEEOTHER_PG_BIN") {
        return PathBuf::from(dir);
    }
    let found = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            // A link on PATH (e.g. /usr/local/bin/initdb) leads to the other binaries.
            if let Ok(initdb) = std::fs::canonicalize(dir.join("initdb"))
                && let Some(dir) = initdb.parent()
                && found(dir)
            {
                return dir.to_owned();
            }
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|d| found(d))
        .collect();
    versions.sort();
    versions.pop().unwrap_or_else(|| {
        panic!(
            "PostgreSQL's initdb and pg_ctl were not found (SEEOTHER_PG_BIN, PATH, \
             /usr/lib/postgresql/*/bin): install Debian's postgresql (scripts/test-all does)"
        )
    })
}

/// The uid and gid of `nobody`, when running as root (else `None`: run as ourselves).
fn unprivileged() -> Option<(u32, u32)> {
    // SAFETY: plain system calls; getpwnam's result is read at once, on this thread.
    unsafe {
        if libc::geteuid() != 0 {
            return None;
        }
        let pw = libc::getpwnam(c"nobody".as_ptr());
        assert!(
            !pw.is_null(),
            "running as root, and there is no user `nobody` to run PostgreSQL as"
        );
        Some(((*pw).pw_uid, (*pw).pw_gid))
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl Cluster {
    /// Create and start a new cluster.
    pub fn start() -> Cluster {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "seeother-pg-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let run_as = unprivileged();
        if let Some((uid, gid)) = run_as {
            chown(&dir, Some(uid), Some(gid)).expect("chown the cluster's directory");
        }
        let cluster = Cluster {
            dir,
            bin: bin_dir(),
            port: free_port(),
            run_as,
        };
        let data = cluster.data();
        let init = cluster.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                USER,
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        );
        assert!(init.status.success(), "initdb failed: {}", text(&init));
        cluster.start_again();
        cluster
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        let mut cmd = Command::new(self.bin.join(program));
        cmd.args(args)
            .current_dir(&self.dir)
            .env_remove("PGDATA")
            .stdin(Stdio::null());
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid).gid(gid).env("HOME", &self.dir);
        }
        cmd.output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
    }

    /// Start the cluster again after [`Cluster::stop`] (same port, same data).
    pub fn start_again(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("log");
        let out = self.run(
            "pg_ctl",
            &[
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                self.data().to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-o",
                &options,
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}\n{}",
            text(&out),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// Stop the cluster at once (connections are cut, as in a crash of the database).
    pub fn stop(&self) {
        let out = self.run(
            "pg_ctl",
            &[
                "stop",
                "-w",
                "-m",
                "immediate",
                "-D",
                self.data().to_str().unwrap(),
            ],
        );
        assert!(out.status.success(), "pg_ctl stop failed: {}", text(&out));
    }

    /// The TCP port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `db` (`postgres` exists from the start).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{db}", self.port)
    }

    /// Create database `name` (a plain identifier) and return its URL.
    pub fn create_db(&self, name: &str) -> String {
        let mut client = postgres::Client::connect(&self.url("postgres"), postgres::NoTls)
            .expect("connect to the private cluster");
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create a database");
        self.url(name)
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.run(
            "pg_ctl",
            &[
                "stop",
                "-w",
                "-m",
                "immediate",
                "-D",
                self.data().to_str().unwrap_or_default(),
            ],
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
