//! Collecting every field error of a request at once, so a form can show them all.

/// One field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field as named in the request.
    pub field: &'static str,
    /// What is wrong, for a person.
    pub message: String,
}

impl FieldError {
    /// An error on `field`.
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// Input that failed validation, with every failing field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid input: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
pub struct Invalid(pub Vec<FieldError>);

impl From<FieldError> for Invalid {
    fn from(error: FieldError) -> Self {
        Self(vec![error])
    }
}

/// Parses fields one by one and remembers every failure.
#[derive(Debug, Default)]
pub struct Validator(Vec<FieldError>);

impl Validator {
    /// An empty validator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the error of `result`, if any, and returns its value.
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.0.push(error);
                None
            }
        }
    }

    /// Like [`check`](Self::check) for an optional field.
    pub fn check_opt<T>(&mut self, result: Option<Result<T, FieldError>>) -> Option<Option<T>> {
        match result {
            None => Some(None),
            Some(result) => self.check(result).map(Some),
        }
    }

    /// `Ok(())` if nothing failed so far.
    pub fn finish(self) -> Result<(), Invalid> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Invalid(self.0))
        }
    }

    /// Finishes, then returns `value` (which must be `Some` when nothing failed).
    pub fn build<T>(self, value: impl FnOnce() -> Option<T>) -> Result<T, Invalid> {
        self.finish()?;
        value().ok_or_else(|| Invalid(vec![FieldError::new("request", "incomplete input")]))
    }
}

/// Trims `raw` and checks its length in characters (not bytes: names are Chinese).
pub(crate) fn trimmed(
    field: &'static str,
    raw: &str,
    min: usize,
    max: usize,
) -> Result<String, FieldError> {
    let value = raw.trim();
    let chars = value.chars().count();
    if chars < min {
        return Err(if min == 1 {
            FieldError::new(field, "must not be empty")
        } else {
            FieldError::new(field, format!("must be at least {min} characters"))
        });
    }
    if chars > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(value.to_owned())
}

/// The longest reason staff may give for a revocation or a block.
pub const REASON_MAX_CHARS: usize = 500;

/// A reason staff give for an action: trimmed; empty is no reason; at most
/// [`REASON_MAX_CHARS`] characters.
pub fn staff_reason(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(reason) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    if reason.chars().count() > REASON_MAX_CHARS {
        return Err(FieldError::new(
            "reason",
            format!("must be at most {REASON_MAX_CHARS} characters"),
        ));
    }
    Ok(Some(reason.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validator_collects_every_error() {
        let mut v = Validator::new();
        let a = v.check(trimmed("a", "  ", 1, 10));
        let b = v.check(trimmed("b", "ok", 1, 10));
        let c = v.check(trimmed("c", "太长了太长了", 1, 3));
        assert_eq!((a, b.as_deref(), c), (None, Some("ok"), None));
        let err = v.finish().expect_err("two fields failed");
        assert_eq!(
            err.0.iter().map(|e| e.field).collect::<Vec<_>>(),
            ["a", "c"]
        );
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        assert_eq!(
            trimmed("name", "杭州市图书馆", 1, 6).as_deref(),
            Ok("杭州市图书馆")
        );
        assert!(trimmed("name", "杭州市图书馆", 1, 5).is_err());
        assert!(trimmed("name", "a\u{0}b", 1, 5).is_err());
    }
}
