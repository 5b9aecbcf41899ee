//! RFC 7807 problem documents: the one error format of the HTTP API.
//!
//! Every error the server returns is an `application/problem+json` body whose `type`
//! is one of the stable URIs below, so a client can act on the kind of failure
//! without parsing prose. The URIs are URNs: they name a kind of problem and never
//! change; `docs/api-errors.md` describes each.

use serde::{Deserialize, Serialize};

/// The media type of a problem document.
pub const CONTENT_TYPE: &str = "application/problem+json";

/// A stable problem kind. Its [`uri`](ProblemType::uri) is the document's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProblemType {
    /// The request body or query is not well-formed (bad JSON, wrong content type).
    MalformedRequest,
    /// The request was well-formed but a field failed validation; see `errors`.
    Validation,
    /// The body is larger than the server accepts.
    PayloadTooLarge,
    /// No (valid) credentials were presented for a route that needs them.
    Unauthenticated,
    /// The login credentials were wrong. Deliberately silent on which part.
    InvalidCredentials,
    /// Too many failed logins: the account is locked until `Retry-After`.
    TooManyAttempts,
    /// The caller is authenticated but may not do this.
    Forbidden,
    /// The resource does not exist, or is outside the caller's scope.
    NotFound,
    /// The request conflicts with existing state (e.g. a duplicate card number).
    Conflict,
    /// The HTTP method is not supported on this route.
    MethodNotAllowed,
    /// Every copy of the title the reader's library can lend is out (place a hold).
    NoCopyAvailable,
    /// The reader has as many loans as the rules allow.
    LoanLimit,
    /// The reader already has this title on loan.
    AlreadyBorrowed,
    /// The library has blocked the reader from borrowing.
    PatronBlocked,
    /// The reader's library card has expired.
    CardExpired,
    /// The loan cannot be renewed because other readers are waiting for the title.
    RenewalRefused,
    /// The loan has had every renewal the rules allow.
    RenewalLimit,
    /// The reader has as many holds as the rules allow.
    HoldLimit,
    /// The reader has enrolled as many devices as the rules allow.
    DeviceLimit,
    /// The loan has ended (returned, expired or revoked).
    LoanEnded,
    /// The uploaded book is protected already (a Jieyue package, Readium LCP, Adobe
    /// ADEPT): upload the unprotected EPUB.
    AlreadyProtected,
    /// The server's disk is full: nothing was changed; reads still work.
    InsufficientStorage,
    /// The server is not ready (e.g. the database is unreachable).
    Unavailable,
    /// Something failed inside the server; the cause is logged, never returned.
    Internal,
}

impl ProblemType {
    /// Every problem kind, for documentation and exhaustive tests.
    pub const ALL: [ProblemType; 24] = [
        ProblemType::MalformedRequest,
        ProblemType::Validation,
        ProblemType::PayloadTooLarge,
        ProblemType::Unauthenticated,
        ProblemType::InvalidCredentials,
        ProblemType::TooManyAttempts,
        ProblemType::Forbidden,
        ProblemType::NotFound,
        ProblemType::Conflict,
        ProblemType::MethodNotAllowed,
        ProblemType::NoCopyAvailable,
        ProblemType::LoanLimit,
        ProblemType::AlreadyBorrowed,
        ProblemType::PatronBlocked,
        ProblemType::CardExpired,
        ProblemType::RenewalRefused,
        ProblemType::RenewalLimit,
        ProblemType::HoldLimit,
        ProblemType::DeviceLimit,
        ProblemType::LoanEnded,
        ProblemType::AlreadyProtected,
        ProblemType::InsufficientStorage,
        ProblemType::Unavailable,
        ProblemType::Internal,
    ];

    /// The short, stable name used in the URI.
    pub const fn slug(self) -> &'static str {
        match self {
            ProblemType::MalformedRequest => "malformed-request",
            ProblemType::Validation => "validation",
            ProblemType::PayloadTooLarge => "payload-too-large",
            ProblemType::Unauthenticated => "unauthenticated",
            ProblemType::InvalidCredentials => "invalid-credentials",
            ProblemType::TooManyAttempts => "too-many-attempts",
            ProblemType::Forbidden => "forbidden",
            ProblemType::NotFound => "not-found",
            ProblemType::Conflict => "conflict",
            ProblemType::MethodNotAllowed => "method-not-allowed",
            ProblemType::NoCopyAvailable => "no-copy-available",
            ProblemType::LoanLimit => "loan-limit",
            ProblemType::AlreadyBorrowed => "already-borrowed",
            ProblemType::PatronBlocked => "patron-blocked",
            ProblemType::CardExpired => "card-expired",
            ProblemType::RenewalRefused => "renewal-refused",
            ProblemType::RenewalLimit => "renewal-limit",
            ProblemType::HoldLimit => "hold-limit",
            ProblemType::DeviceLimit => "device-limit",
            ProblemType::LoanEnded => "loan-ended",
            ProblemType::AlreadyProtected => "already-protected",
            ProblemType::InsufficientStorage => "insufficient-storage",
            ProblemType::Unavailable => "unavailable",
            ProblemType::Internal => "internal",
        }
    }

    /// The `type` URI of problem documents of this kind.
    pub fn uri(self) -> String {
        format!("urn:jieyue:problem:{}", self.slug())
    }

    /// The problem kind named by a `type` URI, if it is one of ours.
    pub fn from_uri(uri: &str) -> Option<Self> {
        let slug = uri.strip_prefix("urn:jieyue:problem:")?;
        Self::ALL.into_iter().find(|kind| kind.slug() == slug)
    }

    /// A short human-readable summary, used as the document's `title`.
    pub const fn title(self) -> &'static str {
        match self {
            ProblemType::MalformedRequest => "Malformed request",
            ProblemType::Validation => "Invalid input",
            ProblemType::PayloadTooLarge => "Request body too large",
            ProblemType::Unauthenticated => "Authentication required",
            ProblemType::InvalidCredentials => "Invalid credentials",
            ProblemType::TooManyAttempts => "Too many failed attempts",
            ProblemType::Forbidden => "Not allowed",
            ProblemType::NotFound => "Not found",
            ProblemType::Conflict => "Conflict",
            ProblemType::MethodNotAllowed => "Method not allowed",
            ProblemType::NoCopyAvailable => "No copy available",
            ProblemType::LoanLimit => "Loan limit reached",
            ProblemType::AlreadyBorrowed => "Already on loan to you",
            ProblemType::PatronBlocked => "Borrowing blocked",
            ProblemType::CardExpired => "Library card expired",
            ProblemType::RenewalRefused => "Renewal refused: others are waiting",
            ProblemType::RenewalLimit => "No renewals left",
            ProblemType::HoldLimit => "Hold limit reached",
            ProblemType::DeviceLimit => "Device limit reached",
            ProblemType::LoanEnded => "Loan ended",
            ProblemType::AlreadyProtected => "Already protected",
            ProblemType::InsufficientStorage => "Insufficient storage",
            ProblemType::Unavailable => "Service unavailable",
            ProblemType::Internal => "Internal error",
        }
    }
}

/// One field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// The field's name as it appears in the request (`card_number`).
    pub field: String,
    /// What is wrong with it, for a person.
    pub message: String,
}

/// An RFC 7807 problem document as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// A stable URI naming the kind of problem (`urn:jieyue:problem:not-found`).
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this occurrence, for a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request id (also in the `x-request-id` header), for support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Fields that failed validation (only for `validation` problems).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Seconds until a retry may succeed (only for `too-many-attempts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
}

impl Problem {
    /// The problem kind, if the document's `type` is one of ours.
    pub fn problem_type(&self) -> Option<ProblemType> {
        ProblemType::from_uri(&self.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_type_round_trips_through_its_uri() {
        for kind in ProblemType::ALL {
            assert_eq!(ProblemType::from_uri(&kind.uri()), Some(kind));
        }
        assert_eq!(ProblemType::from_uri("urn:jieyue:problem:nope"), None);
        assert_eq!(ProblemType::from_uri("about:blank"), None);
    }

    #[test]
    fn slugs_are_unique() {
        let mut slugs: Vec<_> = ProblemType::ALL.iter().map(|k| k.slug()).collect();
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(slugs.len(), ProblemType::ALL.len());
    }

    #[test]
    fn problem_serialises_type_and_omits_empty_extensions() {
        let problem = Problem {
            kind: ProblemType::NotFound.uri(),
            title: ProblemType::NotFound.title().to_owned(),
            status: 404,
            detail: None,
            request_id: None,
            errors: vec![],
            retry_after_seconds: None,
        };
        let json = serde_json::to_value(&problem).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({
                "type": "urn:jieyue:problem:not-found",
                "title": "Not found",
                "status": 404
            })
        );
    }
}
