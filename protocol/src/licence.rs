//! The licence: a signed document, per loan and device, that carries the publication's
//! content key wrapped for that one device.
//!
//! Wrapping: KEK = HKDF-SHA256(salt = licence id, IKM = device key,
//! info = `"jieyue/licence-key-wrap/v1"`); the content key is sealed with AES-256-GCM
//! under the KEK with a random nonce and AAD = `"jieyue/licence/v1"` ‖ licence id ‖
//! publication id ‖ device id. So the key opens only on the device that enrolled, only
//! for this licence, and a wrapped key moved into another licence does not open.

use chrono::{DateTime, Utc};
use ring::rand::SecureRandom;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::crypto::{ContentKey, DeviceKey, KeyError, KeySet, SigningKey, aead, kdf};
use crate::jws::{self, JwsError};

/// The JWS `typ` of a licence.
pub const LICENCE_TYPE: &str = "jieyue-licence+jws";
/// The key-wrapping algorithm named in licences.
pub const WRAP_ALGORITHM: &str = "urn:jieyue:wrap:hkdf-sha256-a256gcm:v1";
const WRAP_INFO: &[u8] = b"jieyue/licence-key-wrap/v1";

/// Why a licence was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LicenceError {
    /// The token is not a valid licence signed by a pinned key.
    #[error("licence: {0}")]
    Jws(#[from] JwsError),
    /// The wrapped key does not open with this device key (another device, or tampered).
    #[error("the content key does not unwrap on this device")]
    Unwrap,
    /// The licence names an algorithm this client does not know.
    #[error("unsupported key-wrapping algorithm {0:?}")]
    Algorithm(String),
    /// A key operation failed.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// What the reader may do, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rights {
    /// The licence opens from this time...
    pub start: DateTime<Utc>,
    /// ...until just before this time (the loan end).
    pub end: DateTime<Utc>,
    /// Pages that may be printed (none if absent).
    #[serde(default)]
    pub print: Option<u32>,
    /// Characters that may be copied (none if absent).
    #[serde(default)]
    pub copy: Option<u32>,
}

/// Where the client goes next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Links {
    /// The licence status document.
    pub status: String,
    /// Renew the loan.
    pub renew: String,
    /// Return the loan.
    #[serde(rename = "return")]
    pub return_: String,
    /// The encrypted package.
    pub package: String,
}

/// Everything in a licence but the wrapped key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenceTerms {
    /// Licence id.
    pub id: Uuid,
    /// The loan it belongs to.
    pub loan_id: Uuid,
    /// The publication.
    pub publication_id: Uuid,
    /// The patron, as an opaque id.
    pub patron: String,
    /// The device it is bound to.
    pub device_id: Uuid,
    /// When it was issued.
    pub issued: DateTime<Utc>,
    /// Server time at issue (a trusted-time sample for the client).
    pub server_time: DateTime<Utc>,
    /// Rights.
    pub rights: Rights,
    /// Links.
    pub links: Links,
    /// SHA-256 (hex) of the encrypted package, to check a download.
    #[serde(default)]
    pub package_sha256: Option<String>,
}

/// The content key, wrapped for one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedKey {
    /// [`WRAP_ALGORITHM`].
    pub algorithm: String,
    /// `nonce ‖ ciphertext ‖ tag`.
    #[serde(with = "crate::encoding::b64_vec")]
    pub value: Vec<u8>,
}

/// A verified licence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Licence {
    /// The terms.
    #[serde(flatten)]
    pub terms: LicenceTerms,
    /// The wrapped content key.
    pub content_key: WrappedKey,
}

fn kek(device_key: &DeviceKey, licence_id: Uuid) -> [u8; 32] {
    kdf::hkdf32(
        licence_id.as_bytes(),
        device_key.expose_secret(),
        &[WRAP_INFO],
    )
}

fn wrap_aad(terms: &LicenceTerms) -> Vec<u8> {
    let mut aad = b"jieyue/licence/v1".to_vec();
    aad.extend_from_slice(terms.id.as_bytes());
    aad.extend_from_slice(terms.publication_id.as_bytes());
    aad.extend_from_slice(terms.device_id.as_bytes());
    aad
}

/// Issues a signed licence: wraps `content_key` for `device_key` and signs.
pub fn issue(
    terms: LicenceTerms,
    content_key: &ContentKey,
    device_key: &DeviceKey,
    issuer: &SigningKey,
) -> Result<String, LicenceError> {
    issue_with(
        terms,
        content_key,
        device_key,
        issuer,
        &ring::rand::SystemRandom::new(),
    )
}

pub(crate) fn issue_with(
    terms: LicenceTerms,
    content_key: &ContentKey,
    device_key: &DeviceKey,
    issuer: &SigningKey,
    rng: &dyn SecureRandom,
) -> Result<String, LicenceError> {
    let kek = zeroize::Zeroizing::new(kek(device_key, terms.id));
    let value = aead::seal_random_nonce(&kek, &wrap_aad(&terms), content_key.expose_secret(), rng)?;
    let licence = Licence {
        terms,
        content_key: WrappedKey {
            algorithm: WRAP_ALGORITHM.to_owned(),
            value,
        },
    };
    Ok(jws::sign(LICENCE_TYPE, &licence, issuer)?)
}

/// Verifies a licence token against the pinned issuer keys.
pub fn verify(token: &str, issuer_keys: &KeySet) -> Result<Licence, LicenceError> {
    Ok(jws::verify(token, LICENCE_TYPE, issuer_keys)?)
}

impl Licence {
    /// Unwraps the content key with this device's key.
    pub fn unwrap_content_key(&self, device_key: &DeviceKey) -> Result<ContentKey, LicenceError> {
        if self.content_key.algorithm != WRAP_ALGORITHM {
            return Err(LicenceError::Algorithm(self.content_key.algorithm.clone()));
        }
        let kek = zeroize::Zeroizing::new(kek(device_key, self.terms.id));
        let plain = aead::open(&kek, &wrap_aad(&self.terms), &self.content_key.value)
            .map(zeroize::Zeroizing::new)
            .map_err(|_| LicenceError::Unwrap)?;
        ContentKey::from_slice(&plain).map_err(|_| LicenceError::Unwrap)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::TimeZone;

    pub(crate) fn terms() -> LicenceTerms {
        let at = Utc
            .with_ymd_and_hms(2026, 9, 1, 8, 0, 0)
            .single()
            .expect("time");
        LicenceTerms {
            id: Uuid::from_u128(0x0199_0000_0000_7000_8000_0000_0000_0001),
            loan_id: Uuid::from_u128(2),
            publication_id: Uuid::from_u128(3),
            patron: "p-42".into(),
            device_id: Uuid::from_u128(4),
            issued: at,
            server_time: at,
            rights: Rights {
                start: at,
                end: at + chrono::Duration::days(14),
                print: Some(10),
                copy: None,
            },
            links: Links {
                status: "https://lib.example/api/v1/licences/1/status".into(),
                renew: "https://lib.example/api/v1/me/loans/2/renew".into(),
                return_: "https://lib.example/api/v1/me/loans/2/return".into(),
                package: "https://lib.example/api/v1/catalog/3/package".into(),
            },
            package_sha256: None,
        }
    }

    #[test]
    fn the_content_key_unwraps_only_on_its_device() {
        let issuer = SigningKey::from_seed(&[1; 32]).expect("key");
        let keys = KeySet::new([issuer.public_key().clone()]);
        let content = ContentKey::from_bytes([5; 32]);
        let device = DeviceKey::from_bytes([6; 32]);
        let token = issue(terms(), &content, &device, &issuer).expect("issue");
        let licence = verify(&token, &keys).expect("verify");
        assert_eq!(licence.terms, terms());
        assert_eq!(
            licence.unwrap_content_key(&device).expect("unwrap"),
            content
        );
        assert_eq!(
            licence.unwrap_content_key(&DeviceKey::from_bytes([7; 32])),
            Err(LicenceError::Unwrap)
        );
    }

    #[test]
    fn a_wrapped_key_moved_to_another_licence_does_not_open() {
        let issuer = SigningKey::from_seed(&[1; 32]).expect("key");
        let keys = KeySet::new([issuer.public_key().clone()]);
        let device = DeviceKey::from_bytes([6; 32]);
        let first = verify(
            &issue(terms(), &ContentKey::from_bytes([5; 32]), &device, &issuer).expect("issue"),
            &keys,
        )
        .expect("verify");
        let mut other_terms = terms();
        other_terms.id = Uuid::from_u128(99);
        other_terms.publication_id = Uuid::from_u128(98);
        let mut second = verify(
            &issue(
                other_terms,
                &ContentKey::from_bytes([9; 32]),
                &device,
                &issuer,
            )
            .expect("issue"),
            &keys,
        )
        .expect("verify");
        second.content_key = first.content_key.clone();
        assert_eq!(
            second.unwrap_content_key(&device),
            Err(LicenceError::Unwrap)
        );
    }
}
