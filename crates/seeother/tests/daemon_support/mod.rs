//! A server program started by a test (nginx, Apache httpd) on a loopback port with a directory
//! of its own: waited for until it accepts connections, stopped and its directory removed when
//! dropped. Included by `nginx_support` and `apache_support`.
#![allow(dead_code)]

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How a [`Daemon`] is stopped.
pub enum Stop {
    /// SIGKILL at once (a single process).
    Kill,
    /// SIGTERM, up to 10 s for it to stop its children, then SIGKILL.
    Term,
}

/// A running server program.
pub struct Daemon {
    child: Child,
    dir: PathBuf,
    stop: Stop,
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Daemon {
    /// Spawn `command` (its output discarded) and wait up to `limit` until 127.0.0.1:`port`
    /// accepts connections; the test fails with `dir/error.log` when it does not.
    pub fn start(
        name: &str,
        mut command: Command,
        dir: PathBuf,
        port: u16,
        limit: Duration,
        stop: Stop,
    ) -> Daemon {
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Made before waiting, so that a failed start still stops the program.
        let daemon = Daemon { child, dir, stop };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < limit,
                "{name} did not start: {}",
                std::fs::read_to_string(daemon.dir.join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        daemon
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Stop::Term = self.stop {
            let _ = Command::new("kill")
                .arg(self.child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
