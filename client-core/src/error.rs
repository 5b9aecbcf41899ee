//! The client core's one error type: a small set of kinds an app can act on, each with
//! a message for a person. Every lower-level error is converted here, in one place.

use jieyue_protocol::problem::{Problem, ProblemType};
use jieyue_protocol::time::TimeError;

/// What went wrong, as an app needs to know it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Error))]
#[cfg_attr(feature = "uniffi", uniffi(flat_error))]
pub enum ClientError {
    /// The loan has ended; the book's key is gone from this device.
    #[error("the loan has ended: {message}")]
    Expired {
        /// Details.
        message: String,
    },
    /// The loan has not started yet.
    #[error("the loan has not started yet: {message}")]
    NotYetValid {
        /// Details.
        message: String,
    },
    /// The book was returned or the library revoked the loan.
    #[error("the loan was returned or revoked: {message}")]
    Revoked {
        /// Details.
        message: String,
    },
    /// The device clock was turned back; go online and sync to read again.
    #[error("the device clock was turned back: {message}")]
    ClockRollback {
        /// Details.
        message: String,
    },
    /// The reader has enrolled as many devices as the library allows.
    #[error("device limit reached: {message}")]
    DeviceLimit {
        /// Details.
        message: String,
    },
    /// Not logged in, wrong credentials, locked out, or this device is not enrolled.
    #[error("authentication: {message}")]
    Auth {
        /// Details.
        message: String,
    },
    /// The server could not be reached or answered nonsense.
    #[error("network: {message}")]
    Network {
        /// Details.
        message: String,
    },
    /// No such title, loan, hold, book or resource.
    #[error("not found: {message}")]
    NotFound {
        /// Details.
        message: String,
    },
    /// The library refused: no copy free, a limit reached, already borrowed, a card
    /// problem. `message` is the server's explanation, for the reader.
    #[error("refused: {message}")]
    Refused {
        /// Details.
        message: String,
    },
    /// The package or a licence is damaged or does not belong to this device.
    #[error("corrupt package: {message}")]
    CorruptPackage {
        /// Details.
        message: String,
    },
    /// Local storage failed (disk full, file damaged, secure store unavailable).
    #[error("storage: {message}")]
    Storage {
        /// Details.
        message: String,
    },
    /// Anything else (a bug, an unexpected answer).
    #[error("{message}")]
    Other {
        /// Details.
        message: String,
    },
}

/// Shorthand for results in this crate.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

impl ClientError {
    pub(crate) fn storage(message: impl std::fmt::Display) -> Self {
        Self::Storage {
            message: message.to_string(),
        }
    }

    pub(crate) fn corrupt(message: impl std::fmt::Display) -> Self {
        Self::CorruptPackage {
            message: message.to_string(),
        }
    }

    pub(crate) fn not_found(message: impl std::fmt::Display) -> Self {
        Self::NotFound {
            message: message.to_string(),
        }
    }

    pub(crate) fn auth(message: impl std::fmt::Display) -> Self {
        Self::Auth {
            message: message.to_string(),
        }
    }

    pub(crate) fn network(message: impl std::fmt::Display) -> Self {
        Self::Network {
            message: message.to_string(),
        }
    }

    pub(crate) fn other(message: impl std::fmt::Display) -> Self {
        Self::Other {
            message: message.to_string(),
        }
    }

    /// A server's problem document, by its stable type.
    pub(crate) fn from_problem(status: u16, problem: &Problem) -> Self {
        let message = problem
            .detail
            .clone()
            .unwrap_or_else(|| problem.title.clone());
        match problem.problem_type() {
            Some(
                ProblemType::Unauthenticated
                | ProblemType::InvalidCredentials
                | ProblemType::TooManyAttempts
                | ProblemType::Forbidden,
            ) => Self::Auth { message },
            Some(ProblemType::NotFound) => Self::NotFound { message },
            Some(ProblemType::DeviceLimit) => Self::DeviceLimit { message },
            Some(ProblemType::LoanEnded) => Self::Revoked { message },
            Some(
                ProblemType::NoCopyAvailable
                | ProblemType::LoanLimit
                | ProblemType::AlreadyBorrowed
                | ProblemType::PatronBlocked
                | ProblemType::CardExpired
                | ProblemType::RenewalRefused
                | ProblemType::Conflict
                | ProblemType::Validation,
            ) => Self::Refused { message },
            Some(ProblemType::Unavailable | ProblemType::Internal) => Self::Network {
                message: format!("the server failed ({status}): {message}"),
            },
            Some(
                ProblemType::MalformedRequest
                | ProblemType::PayloadTooLarge
                | ProblemType::MethodNotAllowed,
            )
            | Some(_)
            | None => Self::Other {
                message: format!("{status}: {message}"),
            },
        }
    }
}

impl From<TimeError> for ClientError {
    fn from(e: TimeError) -> Self {
        let message = e.to_string();
        match e {
            TimeError::ClockRollback => Self::ClockRollback { message },
            TimeError::NotYetValid => Self::NotYetValid { message },
            TimeError::Expired => Self::Expired { message },
        }
    }
}

impl From<rusqlite::Error> for ClientError {
    fn from(e: rusqlite::Error) -> Self {
        Self::storage(format!("local database: {e}"))
    }
}

impl From<std::io::Error> for ClientError {
    fn from(e: std::io::Error) -> Self {
        Self::storage(e)
    }
}

impl From<reqwest::Error> for ClientError {
    fn from(e: reqwest::Error) -> Self {
        // reqwest's Display omits the cause chain; the cause says what failed.
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Self::Network { message }
    }
}

impl From<jieyue_protocol::package::PackageError> for ClientError {
    fn from(e: jieyue_protocol::package::PackageError) -> Self {
        use jieyue_protocol::package::PackageError;
        match e {
            PackageError::Io(io) => Self::storage(io),
            PackageError::Range { .. } | PackageError::NotFound(_) => Self::not_found(e),
            other => Self::corrupt(other),
        }
    }
}

impl From<jieyue_protocol::licence::LicenceError> for ClientError {
    fn from(e: jieyue_protocol::licence::LicenceError) -> Self {
        Self::corrupt(format!("licence refused: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(kind: ProblemType) -> Problem {
        Problem {
            kind: kind.uri(),
            title: kind.title().to_owned(),
            status: 409,
            detail: Some("detail".into()),
            request_id: None,
            errors: vec![],
            retry_after_seconds: None,
        }
    }

    #[test]
    fn every_problem_type_maps_to_an_actionable_kind() {
        for kind in ProblemType::ALL {
            let error = ClientError::from_problem(409, &problem(kind));
            let expected = match kind {
                ProblemType::DeviceLimit => matches!(error, ClientError::DeviceLimit { .. }),
                ProblemType::NotFound => matches!(error, ClientError::NotFound { .. }),
                ProblemType::NoCopyAvailable => matches!(error, ClientError::Refused { .. }),
                ProblemType::InvalidCredentials => matches!(error, ClientError::Auth { .. }),
                ProblemType::LoanEnded => matches!(error, ClientError::Revoked { .. }),
                _ => true,
            };
            assert!(expected, "{kind:?} -> {error:?}");
        }
    }

    #[test]
    fn time_errors_keep_their_kind() {
        assert!(matches!(
            ClientError::from(TimeError::ClockRollback),
            ClientError::ClockRollback { .. }
        ));
        assert!(matches!(
            ClientError::from(TimeError::Expired),
            ClientError::Expired { .. }
        ));
        assert!(matches!(
            ClientError::from(TimeError::NotYetValid),
            ClientError::NotYetValid { .. }
        ));
    }
}
