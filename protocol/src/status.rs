//! The licence status document: what the server says of a licence now. Clients fetch
//! it to learn of returns, renewals and revocations, and as a trusted-time sample.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::crypto::{KeySet, SigningKey};
use crate::jws::{self, JwsError};

/// The JWS `typ` of a status document.
pub const STATUS_TYPE: &str = "jieyue-status+jws";

/// A loan's state, as the status document reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LicenceStatus {
    /// The loan runs; the licence opens until `end`.
    Active,
    /// The reader returned the book.
    Returned,
    /// The loan ended.
    Expired,
    /// The library revoked the loan.
    Revoked,
}

impl LicenceStatus {
    /// Whether a book under this status may still be opened (within its dates).
    pub fn may_open(self) -> bool {
        self == LicenceStatus::Active
    }
}

/// The signed payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusDocument {
    /// The licence.
    pub licence_id: Uuid,
    /// Its loan.
    pub loan_id: Uuid,
    /// The state now.
    pub status: LicenceStatus,
    /// The loan's current end (moves on renewal).
    pub end: DateTime<Utc>,
    /// When the state last changed.
    pub updated: DateTime<Utc>,
    /// Server time when this document was made.
    pub server_time: DateTime<Utc>,
}

/// Signs a status document.
pub fn sign(document: &StatusDocument, issuer: &SigningKey) -> Result<String, JwsError> {
    jws::sign(STATUS_TYPE, document, issuer)
}

/// Verifies a status document against the pinned issuer keys.
pub fn verify(token: &str, issuer_keys: &KeySet) -> Result<StatusDocument, JwsError> {
    jws::verify(token, STATUS_TYPE, issuer_keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_is_not_accepted_as_a_licence() {
        let issuer = SigningKey::from_seed(&[2; 32]).expect("key");
        let keys = KeySet::new([issuer.public_key().clone()]);
        let now = Utc::now();
        let doc = StatusDocument {
            licence_id: Uuid::from_u128(1),
            loan_id: Uuid::from_u128(2),
            status: LicenceStatus::Revoked,
            end: now,
            updated: now,
            server_time: now,
        };
        let token = sign(&doc, &issuer).expect("sign");
        assert_eq!(verify(&token, &keys).expect("verify"), doc);
        assert!(matches!(
            crate::licence::verify(&token, &keys),
            Err(crate::licence::LicenceError::Jws(
                JwsError::DocumentType { .. }
            ))
        ));
        assert!(!LicenceStatus::Revoked.may_open() && LicenceStatus::Active.may_open());
    }
}
