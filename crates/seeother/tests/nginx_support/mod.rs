//! Debian's nginx (installed by `scripts/test-all`) on a free loopback port, with its own
//! prefix directory and a configuration given by the test; stopped when dropped.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

#[path = "../daemon_support/mod.rs"]
mod daemon_support;

pub use daemon_support::free_port;
use daemon_support::{Daemon, Stop};

pub struct Nginx {
    _daemon: Daemon,
    pub dir: PathBuf,
    pub port: u16,
}

impl Nginx {
    /// Start nginx on `port` with `server` (server blocks and maps) inside its `http` block.
    pub fn start(port: u16, server: &str) -> Nginx {
        let binary = ["nginx", "/usr/sbin/nginx"]
            .into_iter()
            .find(|b| Command::new(b).arg("-v").stderr(Stdio::null()).status().is_ok())
            .expect("nginx is not installed: run scripts/test-all (it installs it) or apt-get install nginx");
        let dir =
            std::env::temp_dir().join(format!("seeother-nginx-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let d = dir.display();
        let config = format!(
            r#"
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    root {d}/empty;
{server}
}}
"#
        );
        std::fs::write(dir.join("nginx.conf"), config).unwrap();
        let mut command = Command::new(binary);
        command
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .args(["-g", "daemon off;"]);
        // One process (`master_process off`): killing it leaves no orphaned worker behind.
        let daemon = Daemon::start(
            "nginx",
            command,
            dir.clone(),
            port,
            Duration::from_secs(10),
            Stop::Kill,
        );
        Nginx {
            _daemon: daemon,
            dir,
            port,
        }
    }
}
