use diesel::result::{DatabaseErrorKind, Error as DieselError};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write; `constraint` names it where
    /// the backend tells.
    #[error("duplicate")]
    Duplicate { constraint: Option<String> },
    /// The row changed since the caller read it (optimistic locking).
    #[error("version conflict")]
    VersionConflict,
    #[error("database error: {0}")]
    Database(DieselError),
    #[error("connection pool: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("stored data is not readable: {0}")]
    Corrupt(String),
    /// The caller rolled the transaction back for a reason of its own.
    #[error("rolled back by the caller")]
    RolledBack,
    #[error("connection failed: {0}")]
    Connection(#[from] diesel::ConnectionError),
}

impl From<DieselError> for StorageError {
    fn from(err: DieselError) -> Self {
        match err {
            DieselError::NotFound => StorageError::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                StorageError::Duplicate {
                    constraint: info.constraint_name().map(str::to_string),
                }
            }
            other => StorageError::Database(other),
        }
    }
}

impl From<serde_json::Error> for StorageError {
    fn from(err: serde_json::Error) -> Self {
        StorageError::Corrupt(err.to_string())
    }
}

pub type StorageResult<T> = Result<T, StorageError>;
