//! Parsing `PINLINE_DATABASE_URL` into where the data lives, once, so the rest of the code never
//! re-inspects URL strings.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::StoreError;

/// Where pinline's database is.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseLocation {
    /// A SQLite file (created when missing).
    Sqlite(PathBuf),
    /// A PostgreSQL server; the URL may carry a password, so it is never printed whole.
    Postgres(String),
}

impl DatabaseLocation {
    /// Parses `sqlite://PATH`, `sqlite:PATH` or `postgres://…` / `postgresql://…`.
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err(StoreError::InvalidUrl(
                    "sqlite URL has no file path (example: sqlite:///var/lib/pinline/pinline.db)"
                        .into(),
                ));
            }
            return Ok(DatabaseLocation::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseLocation::Postgres(url.to_owned()));
        }
        let scheme = url.split(':').next().unwrap_or_default();
        Err(StoreError::InvalidUrl(format!(
            "unsupported scheme `{scheme}`"
        )))
    }

    /// The default location: `pinline.db` inside the data dir.
    pub fn default_in(data_dir: &Path) -> Self {
        DatabaseLocation::Sqlite(data_dir.join("pinline.db"))
    }
}

impl fmt::Debug for DatabaseLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for DatabaseLocation {
    /// Shows the file path, or the PostgreSQL URL without its password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseLocation::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            DatabaseLocation::Postgres(url) => match url::Url::parse(url) {
                Ok(mut parsed) => {
                    if parsed.password().is_some() {
                        let _ = parsed.set_password(Some("****"));
                    }
                    write!(f, "{parsed}")
                }
                Err(_) => f.write_str("postgres://(unparseable URL)"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_schemes() {
        assert_eq!(
            DatabaseLocation::parse("sqlite:///tmp/p.db").ok(),
            Some(DatabaseLocation::Sqlite("/tmp/p.db".into()))
        );
        assert_eq!(
            DatabaseLocation::parse("sqlite:rel.db").ok(),
            Some(DatabaseLocation::Sqlite("rel.db".into()))
        );
        assert!(matches!(
            DatabaseLocation::parse("postgresql://u@h/db"),
            Ok(DatabaseLocation::Postgres(_))
        ));
        assert!(DatabaseLocation::parse("mysql://x").is_err());
        assert!(DatabaseLocation::parse("sqlite://").is_err());
    }

    #[test]
    fn display_hides_the_password() {
        let location =
            DatabaseLocation::parse("postgres://app:hunter2@db.local/pinline").expect("valid URL");
        let shown = location.to_string();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(format!("{location:?}").contains("db.local"));
    }
}
