//! Where the store is: `--db` and `SEEOTHER_DB`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Where the store is: a SQLite file (`PATH` or `sqlite:PATH`) or a PostgreSQL database
/// (`postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME`, or `postgresql://…`).
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite database file (created on first start).
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

/// Why a `--db` value was refused.
#[derive(Debug, thiserror::Error)]
#[error(
    "{given:?} is not a PostgreSQL URL ({reason}); write postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME, or a path (sqlite:PATH) for SQLite"
)]
pub struct LocationError {
    /// The value, its password hidden.
    given: String,
    /// What the URL parser said.
    reason: String,
}

impl FromStr for Location {
    type Err = LocationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.get(..13).unwrap_or(s).to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            let config = ::postgres::Config::from_str(s).map_err(|e| LocationError {
                given: redact(s),
                reason: e.to_string(),
            })?;
            if config.get_user().is_none() || config.get_dbname().is_none() {
                return Err(LocationError {
                    given: redact(s),
                    reason: "it names no user or no database".into(),
                });
            }
            return Ok(Location::Postgres(s.to_owned()));
        }
        let path = s.strip_prefix("sqlite:").unwrap_or(s);
        Ok(Location::Sqlite(PathBuf::from(path)))
    }
}

/// `url` with its password, if any, replaced by `***`.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    // The user information ends at the last `@` before the path.
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    match rest[..at].split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***{}", &rest[at..]),
        None => url.to_owned(),
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "{}", path.display()),
            Location::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

/// Never shows a password.
impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Location::Postgres(_) => f.debug_tuple("Postgres").field(&self.to_string()).finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_urls() {
        let at = |s: &str| s.parse::<Location>().unwrap();
        assert_eq!(at("seeother.db"), Location::Sqlite("seeother.db".into()));
        assert_eq!(at("sqlite:/var/s.db"), Location::Sqlite("/var/s.db".into()));
        let url = "postgres://app:s3cret@db.example:5433/seeother";
        assert_eq!(at(url), Location::Postgres(url.into()));
        assert_eq!(
            at(url).to_string(),
            "postgres://app:***@db.example:5433/seeother"
        );
        assert!(!format!("{:?}", at(url)).contains("s3cret"));
        assert!(matches!(at("postgresql://app@h/db"), Location::Postgres(_)));
        let err = "postgres://app:pw@h:notaport/db"
            .parse::<Location>()
            .unwrap_err();
        assert!(!err.to_string().contains("pw@"), "{err}");
        assert!(err.to_string().contains("postgres://USER"), "{err}");
        assert!("postgres://h".parse::<Location>().is_err());
    }
}
