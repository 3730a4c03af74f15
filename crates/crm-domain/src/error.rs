use serde::Serialize;

/// One invalid field: the API renders these as problem+json `errors[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("validation failed")]
    Validation(Vec<FieldError>),
}

impl DomainError {
    pub fn field(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        DomainError::Validation(vec![FieldError::new(field, code, message)])
    }

    /// Prefix every field path, so nested values report `phones[1].number`.
    pub fn at(self, prefix: &str) -> Self {
        match self {
            DomainError::Validation(errors) => DomainError::Validation(
                errors
                    .into_iter()
                    .map(|mut e| {
                        e.field = if e.field.is_empty() {
                            prefix.to_string()
                        } else {
                            format!("{prefix}.{}", e.field)
                        };
                        e
                    })
                    .collect(),
            ),
        }
    }

    pub fn into_field_errors(self) -> Vec<FieldError> {
        match self {
            DomainError::Validation(errors) => errors,
        }
    }
}

/// Collects field errors so a client sees every problem of a request at once.
#[derive(Debug, Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the value of `result`, or records its errors under `field`.
    pub fn check<T>(&mut self, field: &str, result: Result<T, DomainError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(err) => {
                self.0.extend(err.at(field).into_field_errors());
                None
            }
        }
    }

    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    pub fn finish(self) -> Result<(), DomainError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Validation(self.0))
        }
    }
}
