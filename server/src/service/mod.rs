//! Application services: each public function is one use case (log in, register a
//! patron, block a patron, ...). They check permissions with the domain rules, run the
//! store functions in one transaction, and write the audit trail. No HTTP here.

pub mod audit;
pub mod auth;
pub mod cache;
pub mod catalogue;
pub mod devices;
pub mod distribution;
pub mod holds;
pub mod ingest;
pub mod lending;
pub mod libraries;
pub mod lots;
pub mod notifications;
pub mod passwords;
pub mod patrons;
pub mod positions;
pub mod reading;
pub mod reports;
pub mod rules;
pub mod staff;
pub mod throttle;
pub mod thumbnail;
pub mod webhooks;

use std::sync::Arc;

/// Who did something (for the audit trail), as use cases take it.
pub use crate::store::audit::Actor;

use chrono::Duration;
use futures_util::future::BoxFuture;

use crate::clock::Clock;
use crate::domain::{Invalid, ThrottlePolicy};
use crate::store::{Db, StoreError};
use passwords::PasswordHasher;

/// Everything a use case needs: the database, the clock, the password hasher and the
/// session settings. Cheap to clone.
#[derive(Clone)]
pub struct Ctx {
    /// The database.
    pub db: Db,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
    /// What "today" and a date mean at the libraries.
    pub calendar: crate::domain::Calendar,
    /// Argon2id hashing behind a concurrency limit.
    pub passwords: PasswordHasher,
    /// Session lifetimes and lock-out.
    pub auth: AuthSettings,
    /// Issuer and master keys.
    pub keys: Arc<crate::keys::ServerKeys>,
    /// Object store and search index.
    pub catalogue: catalogue::Catalogue,
    /// Where notifications are POSTed, if configured.
    pub webhook: Option<webhooks::Webhook>,
    /// Rules, titles, lots and device keys the borrow path reads on every loan.
    pub cache: Arc<cache::LendingCache>,
    /// Who must wait before their next password is checked.
    pub throttle: Arc<throttle::LoginThrottle>,
    /// Told after a transaction that freed copies commits (the holds queue).
    pub copy_freed: Arc<dyn CopyFreedListener>,
}

/// Who hands freed copies on once the transaction that freed them has committed. The
/// holds queue implements it; lending only knows this trait, so the two services do not
/// import each other.
pub trait CopyFreedListener: Send + Sync {
    /// Serves the queues of titles whose copies were freed; returns holds made ready.
    fn copies_freed<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Result<usize>>;
}

impl Ctx {
    /// Tells the listener that copies were freed. A failure is logged, not returned:
    /// the freeing change has committed, and its `copy_freed` event stays recorded
    /// for the periodic job to hand on.
    pub async fn copies_freed(&self) {
        if let Err(err) = self.copy_freed.copies_freed(self).await {
            tracing::warn!(error = %err, "serving the holds queue failed; the job will retry");
        }
    }
}

/// Session lifetimes and the lock-out policy.
#[derive(Debug, Clone, Copy)]
pub struct AuthSettings {
    /// How long a patron session lasts.
    pub patron_session: Duration,
    /// How long a staff session lasts.
    pub staff_session: Duration,
    /// How wrong passwords are slowed down.
    pub throttle: ThrottlePolicy,
    /// Take the client's address from the last `X-Forwarded-For` hop (behind a proxy).
    pub trust_forwarded_for: bool,
}

/// Why a use case failed. The HTTP layer maps each case to one problem type.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input failed validation.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// Login credentials were wrong (which part is not said).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The account is locked after too many failed logins.
    #[error("account locked for {} more seconds", retry_after.num_seconds())]
    LockedOut {
        /// How long until it opens.
        retry_after: Duration,
    },
    /// No valid session.
    #[error("not authenticated")]
    Unauthenticated,
    /// Authenticated, but not allowed.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// No such thing, or not inside the caller's scope.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Conflicts with existing data.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A lending rule refuses the request.
    #[error("refused: {0:?}")]
    Refused(Refusal),
    /// The database failed (a unique constraint the use case did not expect becomes a
    /// conflict whose detail says nothing of the database).
    #[error("database: {0}")]
    Store(#[from] StoreError),
    /// A blocking task failed (panicked or was cancelled).
    #[error("blocking task failed")]
    Task(#[from] tokio::task::JoinError),
    /// A file operation failed.
    #[error("file operation failed")]
    Io(#[from] std::io::Error),
    /// The search index failed.
    #[error("search index")]
    Search(#[from] crate::search::SearchError),
    /// The object store failed.
    #[error("object store")]
    Blob(#[from] crate::blobs::BlobError),
    /// Something else inside the server failed; `context` says what was being done and
    /// `source` keeps the cause (logged where the problem document is made, never sent).
    #[error("{context}")]
    Internal {
        /// What was being done.
        context: &'static str,
        /// Why it failed.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A state the server should never be in (a broken invariant).
    #[error("{0}")]
    Bug(&'static str),
}

impl Error {
    /// A mapper for `map_err`: an internal failure while doing `context`, keeping the
    /// cause.
    pub fn internal<E>(context: &'static str) -> impl FnOnce(E) -> Error
    where
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        move |source| Error::Internal {
            context,
            source: source.into(),
        }
    }
}

impl From<crate::domain::FieldError> for Error {
    fn from(err: crate::domain::FieldError) -> Self {
        Error::Invalid(Invalid::from(err))
    }
}

impl From<sea_orm::DbErr> for Error {
    fn from(err: sea_orm::DbErr) -> Self {
        Error::from(StoreError::from(err))
    }
}

/// Why lending refused a request; each has its own problem type so apps can act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No copy is free at the reader's library.
    NoCopyAvailable,
    /// The reader has as many loans as allowed.
    LoanLimit,
    /// The reader already has the title on loan.
    AlreadyBorrowed,
    /// The reader is blocked from borrowing.
    PatronBlocked,
    /// The reader's card has expired.
    CardExpired,
    /// The loan has had every renewal the rules allow.
    RenewalLimit,
    /// The loan cannot be renewed while other readers wait for the title.
    OthersWaiting,
    /// The reader has as many holds as allowed.
    HoldLimit,
    /// The reader has enrolled as many devices as allowed.
    DeviceLimit,
    /// The loan has ended.
    LoanEnded,
}

/// Service result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
