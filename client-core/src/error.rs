//! The client core's one error type: a small set of kinds an app can act on, each with
//! a message for a person. Every lower-level error is converted here, in one place.

use jieyue_protocol::problem::{Problem, ProblemType};
use jieyue_protocol::time::TimeError;

/// Why the library said no, as an app acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Refusal {
    /// Every copy is out: offer a hold (`place_hold`).
    NoCopyAvailable,
    /// The reader has as many loans as the rules allow: suggest returning one.
    LoanLimit,
    /// The reader has as many holds as the rules allow: suggest cancelling one.
    HoldLimit,
    /// The reader already has this title on loan: open it instead.
    AlreadyBorrowed,
    /// The reader's card is blocked: send them to the library.
    PatronBlocked,
    /// The reader's card has expired: send them to renew it.
    CardExpired,
    /// The loan has had every renewal the rules allow.
    RenewalLimit,
    /// The loan cannot be renewed because other readers are waiting for the title.
    OthersWaiting,
    /// The loan has ended (returned, expired or revoked): remove it from the shelf.
    LoanEnded,
    /// Any other refusal: show the message.
    Other,
}

/// What went wrong, as an app needs to know it.
///
/// Every variant carries `message`, an explanation for the reader (the Kotlin binding
/// calls it `detail`: Kotlin exceptions have a `message` of their own).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Error))]
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
    /// The library revoked the loan.
    #[error("the loan was returned or revoked: {message}")]
    Revoked {
        /// Details.
        message: String,
    },
    /// The reader returned the book (perhaps on another device); borrow it again to read.
    #[error("returned: {message}")]
    Returned {
        /// Details.
        message: String,
    },
    /// The licence on this device was altered or damaged and has been removed: sync
    /// (or fetch the licence) to read again. Not a storage failure.
    #[error("licence removed: {message}")]
    LicenceRemoved {
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
    /// The library card number or password is wrong: ask again.
    #[error("wrong card number or password: {message}")]
    WrongCredentials {
        /// Details.
        message: String,
    },
    /// Too many failed logins: the account is locked for a while.
    #[error("locked out for {retry_after_seconds} s: {message}")]
    LockedOut {
        /// When to try again, in seconds from now (0 if the server did not say).
        retry_after_seconds: u64,
        /// Details.
        message: String,
    },
    /// Not logged in, or the session has ended: log in again.
    #[error("not logged in: {message}")]
    SessionExpired {
        /// Details.
        message: String,
    },
    /// This installation has no device key yet: call `enrol_device`.
    #[error("this device is not enrolled: {message}")]
    NotEnrolled {
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
    /// The library refused; `reason` says why (on `NoCopyAvailable`, offer a hold) and
    /// `message` is the server's explanation, for the reader.
    #[error("refused ({reason:?}): {message}")]
    Refused {
        /// Why.
        reason: Refusal,
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
    /// The call was cancelled by the app (a media reader's `cancel`).
    #[error("cancelled: {message}")]
    Cancelled {
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

    pub(crate) fn session_expired(message: impl std::fmt::Display) -> Self {
        Self::SessionExpired {
            message: message.to_string(),
        }
    }

    pub(crate) fn not_enrolled(message: impl std::fmt::Display) -> Self {
        Self::NotEnrolled {
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
        let Some(kind) = problem.problem_type() else {
            return Self::Other {
                message: format!("{status}: {message}"),
            };
        };
        let refused = |reason| Self::Refused {
            reason,
            message: message.clone(),
        };
        // Every kind is named: a kind added to the protocol is mapped here on purpose
        // (the test checks this table against `ProblemType::ALL`).
        match kind {
            ProblemType::InvalidCredentials => Self::WrongCredentials { message },
            ProblemType::TooManyAttempts => Self::LockedOut {
                retry_after_seconds: problem.retry_after_seconds.unwrap_or(0),
                message,
            },
            ProblemType::Unauthenticated => Self::SessionExpired { message },
            ProblemType::NotFound => Self::NotFound { message },
            ProblemType::DeviceLimit => Self::DeviceLimit { message },
            ProblemType::NoCopyAvailable => refused(Refusal::NoCopyAvailable),
            ProblemType::LoanLimit => refused(Refusal::LoanLimit),
            ProblemType::HoldLimit => refused(Refusal::HoldLimit),
            ProblemType::AlreadyBorrowed => refused(Refusal::AlreadyBorrowed),
            ProblemType::PatronBlocked => refused(Refusal::PatronBlocked),
            ProblemType::CardExpired => refused(Refusal::CardExpired),
            ProblemType::RenewalLimit => refused(Refusal::RenewalLimit),
            ProblemType::RenewalRefused => refused(Refusal::OthersWaiting),
            ProblemType::LoanEnded => refused(Refusal::LoanEnded),
            ProblemType::Forbidden | ProblemType::Conflict | ProblemType::Validation => {
                refused(Refusal::Other)
            }
            ProblemType::Unavailable | ProblemType::Internal | ProblemType::InsufficientStorage => {
                Self::Network {
                    message: format!("the server failed ({status}): {message}"),
                }
            }
            ProblemType::MalformedRequest
            | ProblemType::PayloadTooLarge
            | ProblemType::MethodNotAllowed
            | ProblemType::AlreadyProtected => Self::Other {
                message: format!("{status}: {message}"),
            },
            // `ProblemType` is non-exhaustive: a kind from a newer protocol crate that
            // this table does not name yet. The test fails until it is named above.
            _ => Self::Other {
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
            PackageError::Cancelled => Self::Cancelled {
                message: "the read was cancelled".into(),
            },
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
    #![allow(clippy::panic)]

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

    /// What each problem kind becomes, for a problem with detail "detail" and status 409.
    /// One row per kind in `ProblemType::ALL`, each with the exact error expected.
    fn expected_errors() -> Vec<(ProblemType, ClientError)> {
        let message = || "detail".to_owned();
        let refused = |reason| ClientError::Refused {
            reason,
            message: message(),
        };
        let other = || ClientError::Other {
            message: "409: detail".into(),
        };
        let network = || ClientError::Network {
            message: "the server failed (409): detail".into(),
        };
        vec![
            (ProblemType::MalformedRequest, other()),
            (ProblemType::Validation, refused(Refusal::Other)),
            (ProblemType::PayloadTooLarge, other()),
            (ProblemType::MethodNotAllowed, other()),
            (
                ProblemType::Unauthenticated,
                ClientError::SessionExpired { message: message() },
            ),
            (
                ProblemType::InvalidCredentials,
                ClientError::WrongCredentials { message: message() },
            ),
            (
                ProblemType::TooManyAttempts,
                ClientError::LockedOut {
                    retry_after_seconds: 42,
                    message: message(),
                },
            ),
            (ProblemType::Forbidden, refused(Refusal::Other)),
            (
                ProblemType::NotFound,
                ClientError::NotFound { message: message() },
            ),
            (ProblemType::Conflict, refused(Refusal::Other)),
            (
                ProblemType::NoCopyAvailable,
                refused(Refusal::NoCopyAvailable),
            ),
            (ProblemType::LoanLimit, refused(Refusal::LoanLimit)),
            (
                ProblemType::AlreadyBorrowed,
                refused(Refusal::AlreadyBorrowed),
            ),
            (ProblemType::PatronBlocked, refused(Refusal::PatronBlocked)),
            (ProblemType::CardExpired, refused(Refusal::CardExpired)),
            (ProblemType::RenewalRefused, refused(Refusal::OthersWaiting)),
            (ProblemType::RenewalLimit, refused(Refusal::RenewalLimit)),
            (ProblemType::HoldLimit, refused(Refusal::HoldLimit)),
            (
                ProblemType::DeviceLimit,
                ClientError::DeviceLimit { message: message() },
            ),
            (ProblemType::LoanEnded, refused(Refusal::LoanEnded)),
            (ProblemType::Unavailable, network()),
            (ProblemType::Internal, network()),
            (ProblemType::InsufficientStorage, network()),
            (ProblemType::AlreadyProtected, other()),
        ]
    }

    #[test]
    fn every_problem_type_maps_to_its_expected_error() {
        let table = expected_errors();
        for kind in ProblemType::ALL {
            let Some((_, expected)) = table.iter().find(|(k, _)| *k == kind) else {
                panic!("{kind:?} has no expected error in the table: map it in from_problem");
            };
            let mut document = problem(kind);
            if kind == ProblemType::TooManyAttempts {
                document.retry_after_seconds = Some(42);
            }
            assert_eq!(
                &ClientError::from_problem(409, &document),
                expected,
                "{kind:?}"
            );
        }
        assert_eq!(
            table.len(),
            ProblemType::ALL.len(),
            "a row for a kind that is gone"
        );
    }

    #[test]
    fn an_unknown_problem_type_is_other() {
        let mut document = problem(ProblemType::Conflict);
        document.kind = "https://example.invalid/problems/new-kind".into();
        assert_eq!(
            ClientError::from_problem(409, &document),
            ClientError::Other {
                message: "409: detail".into()
            }
        );
    }

    #[test]
    fn a_lock_out_without_a_retry_time_says_zero() {
        assert_eq!(
            ClientError::from_problem(429, &problem(ProblemType::TooManyAttempts)),
            ClientError::LockedOut {
                retry_after_seconds: 0,
                message: "detail".into()
            }
        );
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
