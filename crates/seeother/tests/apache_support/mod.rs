//! Debian's Apache httpd 2.4 (installed by `scripts/test-all`) as a private instance over a
//! tree of `.htaccess` files: its own configuration and run directory, a free loopback port,
//! `AllowOverride All`, `ServerName https://w3id.org`, `UseCanonicalName On`, the modules the
//! importer translates; stopped when dropped.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[path = "../daemon_support/mod.rs"]
mod daemon_support;

pub use daemon_support::free_port;
use daemon_support::{Daemon, Stop};

pub struct Apache {
    _daemon: Daemon,
    pub port: u16,
}

const MODULES: &[(&str, &str)] = &[
    ("mpm_event", "mod_mpm_event.so"),
    ("authz_core", "mod_authz_core.so"),
    ("rewrite", "mod_rewrite.so"),
    ("alias", "mod_alias.so"),
    ("headers", "mod_headers.so"),
    ("setenvif", "mod_setenvif.so"),
    ("dir", "mod_dir.so"),
    ("mime", "mod_mime.so"),
];

impl Apache {
    /// Start Apache on `port` with `tree` as its document root.
    pub fn start(port: u16, tree: &Path) -> Apache {
        let binary = "/usr/sbin/apache2";
        assert!(
            Path::new(binary).exists(),
            "Apache httpd is not installed: run scripts/test-all (it installs it) or apt-get install apache2"
        );
        let dir =
            std::env::temp_dir().join(format!("seeother-apache-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let root = unsafe { libc::geteuid() } == 0;
        let (user, group) = if root {
            ("www-data".to_owned(), "www-data".to_owned())
        } else {
            (
                format!("#{}", unsafe { libc::getuid() }),
                format!("#{}", unsafe { libc::getgid() }),
            )
        };
        if root {
            // The children run as www-data and keep their mutex and logs here.
            let _ = Command::new("chown")
                .args(["www-data:www-data"])
                .arg(&dir)
                .status();
        }
        let modules: String = MODULES
            .iter()
            .map(|(name, so)| format!("LoadModule {name}_module /usr/lib/apache2/modules/{so}\n"))
            .collect();
        let d = dir.display();
        let t = tree.display();
        let config = format!(
            r#"ServerRoot "{d}"
DefaultRuntimeDir "{d}"
PidFile "{d}/apache2.pid"
Mutex file:{d} default
Listen 127.0.0.1:{port}
{modules}User {user}
Group {group}
ServerName https://w3id.org
UseCanonicalName On
ErrorLog "{d}/error.log"
LogLevel warn
StartServers 1
ServerLimit 1
ThreadsPerChild 8
MaxRequestWorkers 8
DocumentRoot "{t}"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory "{t}">
    Options FollowSymLinks
    AllowOverride All
    Require all granted
</Directory>
<Files ".ht*">
    Require all denied
</Files>
AccessFileName .htaccess
DirectoryIndex index.html
TypesConfig /etc/mime.types
"#
        );
        std::fs::write(dir.join("apache2.conf"), config).unwrap();
        let mut command = Command::new(binary);
        command
            .arg("-f")
            .arg(dir.join("apache2.conf"))
            .arg("-DFOREGROUND");
        // SIGTERM to the parent stops its children too (apache2 -DFOREGROUND).
        let daemon = Daemon::start(
            "apache2",
            command,
            dir,
            port,
            Duration::from_secs(15),
            Stop::Term,
        );
        Apache {
            _daemon: daemon,
            port,
        }
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}
