//! A fresh directory under the system's temporary directory for a test, removed when dropped.

use std::path::{Path, PathBuf};

/// A fresh directory, named for the test binary, the process and `name`; removed when
/// dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "seeother-{}-{}-{name}",
            env!("CARGO_CRATE_NAME"),
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// The directory.
    #[allow(dead_code)]
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The store's path inside it.
    #[allow(dead_code)]
    pub fn db(&self) -> PathBuf {
        self.0.join("s.db")
    }

    /// A path inside it.
    #[allow(dead_code)]
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
