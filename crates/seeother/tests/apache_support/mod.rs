//! Debian's Apache httpd 2.4 (installed by `scripts/test-all`) as a private instance over a
//! tree of `.htaccess` files: its own configuration and run directory, a free loopback port,
//! `AllowOverride All`, `ServerName https://w3id.org`, `UseCanonicalName On`, the modules the
//! importer translates; stopped when dropped.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Apache {
    child: Child,
    dir: PathBuf,
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
        let child = Command::new(binary)
            .arg("-f")
            .arg(dir.join("apache2.conf"))
            .arg("-DFOREGROUND")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let apache = Apache { child, dir, port };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "apache2 did not start: {}",
                std::fs::read_to_string(apache.dir.join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        apache
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Apache {
    fn drop(&mut self) {
        // SIGTERM to the parent stops its children too (apache2 -DFOREGROUND).
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
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
