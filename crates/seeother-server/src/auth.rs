//! The admin token: where it comes from, and the constant-time check of `Authorization`.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use http::HeaderMap;
use http::header::AUTHORIZATION;
use subtle::ConstantTimeEq;

/// The environment variable that may hold the admin token.
pub const TOKEN_ENV: &str = "SEEOTHER_ADMIN_TOKEN";

/// The shortest admin token accepted. With failed tokens limited to about one a second per
/// address (`crate::throttle`), 16 random characters are far beyond guessing; a short or
/// memorable one is not.
// OWASP authentication cheat sheet: secrets must resist guessing; NIST SP 800-63B §5.1.1.2
// sets a floor on length rather than rules on composition.
pub const MIN_TOKEN_LEN: usize = 16;

/// The bearer token that the admin API requires. Never printed, never logged.
#[derive(Clone)]
pub struct AdminToken(Box<[u8]>);

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminToken(…)")
    }
}

/// Where the token came from (for the start-up message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenSource {
    /// The `SEEOTHER_ADMIN_TOKEN` environment variable.
    Environment,
    /// A file given with `--admin-token-file`.
    File(PathBuf),
    /// Generated now and written to this file (mode 0600).
    Generated(PathBuf),
    /// Generated at an earlier start and read back from this file.
    Stored(PathBuf),
}

impl fmt::Display for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::Environment => write!(f, "from the {TOKEN_ENV} environment variable"),
            TokenSource::File(p) => write!(f, "read from {}", p.display()),
            TokenSource::Generated(p) => {
                write!(f, "generated and stored in {} (mode 0600)", p.display())
            }
            TokenSource::Stored(p) => write!(
                f,
                "read from {} (generated at an earlier start)",
                p.display()
            ),
        }
    }
}

/// Why no token could be had.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The token file could not be read or written.
    #[error("admin token file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The token is empty or has characters that cannot be sent in a header.
    #[error(
        "the admin token {0} is empty or holds spaces or control characters; use 16 or more visible ASCII characters, e.g. from `head -c 32 /dev/urandom | base64`"
    )]
    Invalid(String),
    /// The token is too short to resist guessing.
    #[error(
        "the admin token {origin} is {len} characters long; it must have at least {MIN_TOKEN_LEN}. \
         Make a good one with `head -c 32 /dev/urandom | base64`, or remove it to have the \
         server generate one beside the database"
    )]
    TooShort {
        /// Where it came from (`in FILE`, `in SEEOTHER_ADMIN_TOKEN`).
        origin: String,
        /// Its length in characters.
        len: usize,
    },
    /// There is no file beside the database to keep a generated token in (PostgreSQL), and
    /// none was given.
    #[error(
        "with a PostgreSQL store the admin token must be given, the same on every node: put it in a file named by --admin-token-file, or in SEEOTHER_ADMIN_TOKEN (make one with `head -c 32 /dev/urandom | base64`)"
    )]
    Required,
}

impl AdminToken {
    /// A token from its text (surrounding white space removed).
    pub fn new(text: &str, origin: &str) -> Result<Self, TokenError> {
        let t = text.trim();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TokenError::Invalid(origin.to_owned()));
        }
        if t.len() < MIN_TOKEN_LEN {
            return Err(TokenError::TooShort {
                origin: origin.to_owned(),
                len: t.len(),
            });
        }
        Ok(AdminToken(t.as_bytes().into()))
    }

    /// The token file kept beside the database `db`.
    pub fn default_file(db: &Path) -> PathBuf {
        let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        name.push(".admin-token");
        db.with_file_name(name)
    }

    /// The token: from `file` when given, else from the environment, else the one stored
    /// beside the SQLite database `db` (generated and stored with mode 0600 the first time;
    /// with no `db`, [`TokenError::Required`]).
    pub fn obtain(
        file: Option<&Path>,
        db: Option<&Path>,
    ) -> Result<(Self, TokenSource), TokenError> {
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| TokenError::Io {
                path: path.to_owned(),
                source,
            })?;
            let origin = format!("in {}", path.display());
            return Ok((
                Self::new(&text, &origin)?,
                TokenSource::File(path.to_owned()),
            ));
        }
        if let Ok(text) = std::env::var(TOKEN_ENV) {
            let origin = format!("in {TOKEN_ENV}");
            return Ok((Self::new(&text, &origin)?, TokenSource::Environment));
        }
        let path = Self::default_file(db.ok_or(TokenError::Required)?);
        let io = |source| TokenError::Io {
            path: path.clone(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let origin = format!("in {}", path.display());
                Ok((Self::new(&text, &origin)?, TokenSource::Stored(path)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                getrandom::fill(&mut bytes)
                    .map_err(|e| io(std::io::Error::other(e.to_string())))?;
                let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut f = options.open(&path).map_err(io)?;
                f.write_all(text.as_bytes())
                    .and_then(|_| f.sync_all())
                    .map_err(io)?;
                Ok((
                    AdminToken(text.into_bytes().into()),
                    TokenSource::Generated(path),
                ))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// Whether `headers` carry `Authorization: Bearer <this token>`. The comparison takes the
    /// same time wherever the first difference is.
    pub fn verify(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers.get(AUTHORIZATION) else {
            return false;
        };
        let value = value.as_bytes();
        // RFC 9110 §11.1: the scheme is case-insensitive; RFC 6750 §2.1: `Bearer` credentials.
        if value.len() < 7 || !value[..7].eq_ignore_ascii_case(b"bearer ") {
            return false;
        }
        let given = value[7..].trim_ascii();
        given.ct_eq(&self.0).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_shorter_than_16_characters_are_refused() {
        let e = AdminToken::new("short-token", "in X").unwrap_err();
        let text = e.to_string();
        assert!(text.contains("in X is 11 characters long"), "{text}");
        assert!(text.contains("head -c 32 /dev/urandom | base64"), "{text}");
        assert!(AdminToken::new(" 0123456789abcdef \n", "in X").is_ok());
        assert!(AdminToken::new("0123456789abcde", "in X").is_err());
        assert!(matches!(
            AdminToken::new("with space 0123456789", "in X"),
            Err(TokenError::Invalid(_))
        ));
    }
}
