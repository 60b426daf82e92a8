//! The one error type of the store.

/// What can go wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is not one pinline understands.
    #[error("invalid database URL: {0} (use sqlite://PATH or postgres://USER@HOST/DB)")]
    InvalidUrl(String),
    /// The database could not be reached or opened.
    #[error("cannot open the database: {0}")]
    Connect(#[source] sqlx::Error),
    /// Applying the schema migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
    /// The row the operation needs does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A refresh lease was taken over by another claimant before this one finished.
    #[error("the refresh lease was lost to another claimant")]
    LeaseLost,
    /// A stored value could not be decoded.
    #[error("stored value is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// True when retrying the same operation later may succeed (lost connection, pool timeout,
    /// lock contention), as opposed to a bug or bad data.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Connect(_) => true,
            StoreError::Query(error) => match error {
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => true,
                sqlx::Error::Database(error) => error
                    .code()
                    .is_some_and(|code| transient_database_code(&code)),
                _ => false,
            },
            _ => false,
        }
    }

    /// True when the database refused a write because it conflicts with a row that exists (a
    /// unique or primary key already taken): the caller's request raced another, or repeats one.
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            StoreError::Query(sqlx::Error::Database(error))
                if error.kind() == sqlx::error::ErrorKind::UniqueViolation
        )
    }
}

/// Database error codes that mean "try again": PostgreSQL's serialization failures and
/// deadlocks (class 40), lost connections (class 08), an administrator's shutdown and too many
/// connections (57P01–57P03, 53300); SQLite's busy and locked (5, 6) and their extended forms.
fn transient_database_code(code: &str) -> bool {
    code.starts_with("40")
        || code.starts_with("08")
        || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
        || code
            .parse::<i32>()
            .is_ok_and(|sqlite| matches!(sqlite & 0xff, 5 | 6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_database_codes_are_transient_and_the_rest_are_not() {
        for code in [
            "40001", "40P01", "08006", "08001", "57P01", "53300", "5", "6", "517",
        ] {
            assert!(transient_database_code(code), "{code} is worth retrying");
        }
        for code in ["23505", "23503", "42P01", "42601", "19", "1", "2067"] {
            assert!(
                !transient_database_code(code),
                "{code} will not pass by itself"
            );
        }
        assert!(StoreError::Query(sqlx::Error::PoolClosed).is_transient());
        assert!(StoreError::Query(sqlx::Error::PoolTimedOut).is_transient());
        assert!(!StoreError::Query(sqlx::Error::RowNotFound).is_transient());
        assert!(!StoreError::Corrupt("x".into()).is_transient());
    }
}
