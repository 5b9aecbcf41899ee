//! The one mapping from errors to HTTP responses: RFC 7807 problem documents.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jieyue_protocol::problem::{CONTENT_TYPE, FieldError, Problem, ProblemType};

use super::request_context;
use crate::service::Error as ServiceError;

/// An error on its way out as a problem document.
#[derive(Debug)]
pub struct ApiError {
    kind: ProblemType,
    status: StatusCode,
    detail: Option<String>,
    errors: Vec<FieldError>,
    retry_after_seconds: Option<u64>,
}

impl ApiError {
    /// A problem of `kind` with HTTP `status` and a human-readable `detail`.
    pub fn new(kind: ProblemType, status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            kind,
            status,
            detail: Some(detail.into()),
            errors: Vec::new(),
            retry_after_seconds: None,
        }
    }

    /// 404 for a route that does not exist.
    pub fn no_route() -> Self {
        Self::new(
            ProblemType::NotFound,
            StatusCode::NOT_FOUND,
            "no such route",
        )
    }

    /// 405 for a route that exists with other methods.
    pub fn method_not_allowed() -> Self {
        Self::new(
            ProblemType::MethodNotAllowed,
            StatusCode::METHOD_NOT_ALLOWED,
            "this route does not support that method",
        )
    }

    /// 500 whose cause has already been logged.
    pub fn internal() -> Self {
        Self::new(
            ProblemType::Internal,
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server failed to handle the request; it has been logged",
        )
    }

    /// The problem document this error becomes.
    pub fn to_problem(&self) -> Problem {
        Problem {
            kind: self.kind.uri(),
            title: self.kind.title().to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            request_id: request_context::current_request_id(),
            errors: self.errors.clone(),
            retry_after_seconds: self.retry_after_seconds,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = self.to_problem();
        let mut response = (self.status, Json(problem)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        if let Some(seconds) = self.retry_after_seconds {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Invalid(invalid) => Self {
                kind: ProblemType::Validation,
                status: StatusCode::UNPROCESSABLE_ENTITY,
                detail: Some("some fields are invalid".to_owned()),
                errors: invalid
                    .0
                    .into_iter()
                    .map(|e| FieldError {
                        field: e.field.to_owned(),
                        message: e.message,
                    })
                    .collect(),
                retry_after_seconds: None,
            },
            ServiceError::InvalidCredentials => Self::new(
                ProblemType::InvalidCredentials,
                StatusCode::UNAUTHORIZED,
                "the credentials are not valid",
            ),
            ServiceError::LockedOut { retry_after } => {
                // Whole seconds, rounded up: "retry after 0 seconds" would invite a retry
                // that fails.
                let millis = u64::try_from(retry_after.num_milliseconds()).unwrap_or(0);
                let seconds = millis.div_ceil(1000).max(1);
                Self {
                    retry_after_seconds: Some(seconds),
                    ..Self::new(
                        ProblemType::TooManyAttempts,
                        StatusCode::TOO_MANY_REQUESTS,
                        "too many wrong passwords; please wait a moment before trying again",
                    )
                }
            }
            ServiceError::Unauthenticated => Self::new(
                ProblemType::Unauthenticated,
                StatusCode::UNAUTHORIZED,
                "a valid bearer token is required",
            ),
            ServiceError::Forbidden(why) => {
                Self::new(ProblemType::Forbidden, StatusCode::FORBIDDEN, why)
            }
            ServiceError::NotFound(what) => Self::new(
                ProblemType::NotFound,
                StatusCode::NOT_FOUND,
                format!("{what} not found"),
            ),
            ServiceError::Conflict(detail) => {
                Self::new(ProblemType::Conflict, StatusCode::CONFLICT, detail)
            }
            ServiceError::Refused(refusal) => {
                use crate::service::Refusal as R;
                let (kind, status, detail) = match refusal {
                    R::NoCopyAvailable => (
                        ProblemType::NoCopyAvailable,
                        StatusCode::CONFLICT,
                        "every copy is on loan; place a hold to join the queue",
                    ),
                    R::LoanLimit => (
                        ProblemType::LoanLimit,
                        StatusCode::FORBIDDEN,
                        "you have as many loans as your library allows; return one first",
                    ),
                    R::AlreadyBorrowed => (
                        ProblemType::AlreadyBorrowed,
                        StatusCode::CONFLICT,
                        "you already have this title on loan",
                    ),
                    R::PatronBlocked => (
                        ProblemType::PatronBlocked,
                        StatusCode::FORBIDDEN,
                        "your library has blocked borrowing on this card; please contact the library",
                    ),
                    R::CardExpired => (
                        ProblemType::CardExpired,
                        StatusCode::FORBIDDEN,
                        "your library card has expired; please renew it at the library",
                    ),
                    R::OthersWaiting => (
                        ProblemType::RenewalRefused,
                        StatusCode::CONFLICT,
                        "other readers are waiting for this title, so the loan cannot be renewed",
                    ),
                    R::RenewalLimit => (
                        ProblemType::RenewalLimit,
                        StatusCode::CONFLICT,
                        "this loan has had every renewal your library allows",
                    ),
                    R::HoldLimit => (
                        ProblemType::HoldLimit,
                        StatusCode::FORBIDDEN,
                        "you have as many holds as your library allows; cancel one first",
                    ),
                    R::DeviceLimit => (
                        ProblemType::DeviceLimit,
                        StatusCode::FORBIDDEN,
                        "you have enrolled as many devices as allowed; remove one first",
                    ),
                    R::LoanEnded => (
                        ProblemType::LoanEnded,
                        StatusCode::GONE,
                        "this loan has ended",
                    ),
                };
                Self::new(kind, status, detail)
            }
            ServiceError::Store(crate::store::StoreError::Duplicate(detail)) => {
                // A unique constraint the use case did not expect: say what kind of
                // problem it is, not what the database said.
                tracing::info!(%detail, "write refused by a unique constraint");
                Self::new(
                    ProblemType::Conflict,
                    StatusCode::CONFLICT,
                    "the change conflicts with existing data",
                )
            }
            // A full disk (or quota) anywhere below: the request changed nothing, the
            // server still serves reads, and the operator must free space.
            full if disk_full(&full) => {
                tracing::error!(error = %ErrorChain(&full), "storage is full");
                Self::new(
                    ProblemType::InsufficientStorage,
                    StatusCode::INSUFFICIENT_STORAGE,
                    "the server's storage is full; nothing was changed; please tell the administrator",
                )
            }
            ServiceError::Blob(blob) => {
                // The object store failed or refused (an S3 outage, a bucket that denies
                // writes, an object gone missing): the operator reads the log; the caller
                // learns that storage, not the request, is at fault.
                tracing::error!(error = %ErrorChain(&blob), "object storage failed");
                Self::new(
                    ProblemType::Unavailable,
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the book storage is not available right now; please try again later",
                )
            }
            internal @ (ServiceError::Store(_)
            | ServiceError::Task(_)
            | ServiceError::Io(_)
            | ServiceError::Search(_)
            | ServiceError::Internal { .. }
            | ServiceError::Bug(_)) => {
                // The one place the cause is logged, with its whole chain.
                tracing::error!(error = %ErrorChain(&internal), "internal error");
                Self::internal()
            }
        }
    }
}

/// Whether `err` or any of its causes is a full disk or an exceeded quota.
fn disk_full(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
            )
        {
            return true;
        }
        current = e.source();
    }
    false
}

/// Displays an error with its causes (`a: b: c`).
struct ErrorChain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// An ingest failure (an upload through the API or the console).
pub fn ingest_error(err: crate::service::ingest::IngestError) -> ApiError {
    use crate::service::ingest::IngestError;
    match err {
        IngestError::Invalid(reason) => {
            crate::domain::Invalid::from(crate::domain::FieldError::new("file", reason)).into()
        }
        IngestError::AlreadyProtected(by) => ApiError::new(
            ProblemType::AlreadyProtected,
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("the book is protected already: {by}; upload the unprotected EPUB"),
        ),
        IngestError::Storage(e) => ServiceError::from(e).into(),
        IngestError::Service(e) => e.into(),
    }
}

/// A broken or oversized multipart body.
pub fn multipart_error(err: axum::extract::multipart::MultipartError) -> ApiError {
    let status = err.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            ProblemType::PayloadTooLarge,
            status,
            "the upload is larger than the server accepts",
        )
    } else {
        ApiError::new(
            ProblemType::MalformedRequest,
            StatusCode::BAD_REQUEST,
            err.body_text(),
        )
    }
}

impl From<crate::domain::Invalid> for ApiError {
    fn from(invalid: crate::domain::Invalid) -> Self {
        ServiceError::Invalid(invalid).into()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let detail = rejection.body_text();
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Self::new(
                ProblemType::MalformedRequest,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "expected a body with Content-Type: application/json",
            ),
            JsonRejection::JsonSyntaxError(_) => Self::new(
                ProblemType::MalformedRequest,
                StatusCode::BAD_REQUEST,
                detail,
            ),
            JsonRejection::JsonDataError(_) => Self::new(
                ProblemType::MalformedRequest,
                StatusCode::UNPROCESSABLE_ENTITY,
                detail,
            ),
            JsonRejection::BytesRejection(_)
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Self::new(
                    ProblemType::PayloadTooLarge,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "the request body is too large",
                )
            }
            other => Self::new(ProblemType::MalformedRequest, other.status(), detail),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::new(
            ProblemType::MalformedRequest,
            StatusCode::BAD_REQUEST,
            rejection.body_text(),
        )
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        // A malformed id in the path names nothing that exists.
        Self::new(
            ProblemType::NotFound,
            StatusCode::NOT_FOUND,
            rejection.body_text(),
        )
    }
}

/// Fallback for unknown routes.
pub async fn not_found() -> ApiError {
    ApiError::no_route()
}

/// Fallback for known routes with an unsupported method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}
