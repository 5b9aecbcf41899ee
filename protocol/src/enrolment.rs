//! Device enrolment: the server and a device agree on a 256-bit device key.
//!
//! 1. The device makes an ephemeral X25519 key pair and sends its public half with its
//!    device id ([`EnrolmentRequest`]).
//! 2. The server makes its own ephemeral pair, derives the device key, and answers
//!    with its public half in a signed [`EnrolmentReply`] (JWS, `typ`
//!    [`ENROLMENT_REPLY_TYPE`]) that also echoes the device's public key and id.
//! 3. The device verifies the signature against its pinned issuer keys, checks the
//!    echo, and derives the same key.
//!
//! Device key = HKDF-SHA256(salt = the device id's 16 bytes, IKM = the X25519 shared
//! secret, info = `"jieyue/device-key/v1"` ‖ client public key ‖ server public key).
//! A man in the middle cannot substitute the server's half (it is signed) nor the
//! device's (it is echoed inside the signature).

use chrono::{DateTime, Utc};
use ring::agreement::{self, EphemeralPrivateKey, UnparsedPublicKey, X25519};
use ring::rand::SecureRandom;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::crypto::{DeviceKey, KeyError, KeySet, SigningKey, kdf};
use crate::jws::{self, JwsError};

/// The JWS `typ` of an enrolment reply.
pub const ENROLMENT_REPLY_TYPE: &str = "jieyue-enrolment+jws";

/// The HKDF info label of device keys (versioned: a new derivation gets a new label).
pub const DEVICE_KEY_INFO: &[u8] = b"jieyue/device-key/v1";

/// Why enrolment failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrolmentError {
    /// A key operation failed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The reply is not a valid signed reply.
    #[error("enrolment reply: {0}")]
    Reply(#[from] JwsError),
    /// The reply is for another device or another request.
    #[error("the enrolment reply does not answer this request")]
    Mismatch,
    /// A public key is not a valid X25519 point.
    #[error("invalid public key")]
    PublicKey,
}

/// What a device sends to enrol (`POST /api/v1/me/devices`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EnrolmentRequest {
    /// The device's id, chosen by the app once per installation.
    pub device_id: Uuid,
    /// A name the reader recognises ("王小明的 Pixel 8").
    pub name: String,
    /// The device's ephemeral X25519 public key.
    #[serde(with = "crate::encoding::b64_array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Byte))]
    pub client_public_key: [u8; 32],
}

/// The signed payload of the server's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolmentReply {
    /// The device enrolled.
    pub device_id: Uuid,
    /// The device's public key, echoed.
    #[serde(with = "crate::encoding::b64_array")]
    pub client_public_key: [u8; 32],
    /// The server's ephemeral X25519 public key.
    #[serde(with = "crate::encoding::b64_array")]
    pub server_public_key: [u8; 32],
    /// Server time at enrolment (also a first trusted-time sample).
    pub issued_at: DateTime<Utc>,
}

/// The device's half of an enrolment in progress.
pub struct ClientEnrolment {
    private: EphemeralPrivateKey,
    request: EnrolmentRequest,
}

impl std::fmt::Debug for ClientEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientEnrolment")
            .field("device_id", &self.request.device_id)
            .finish_non_exhaustive()
    }
}

pub(crate) fn public_of(private: &EphemeralPrivateKey) -> Result<[u8; 32], EnrolmentError> {
    private
        .compute_public_key()
        .map_err(|_| EnrolmentError::PublicKey)?
        .as_ref()
        .try_into()
        .map_err(|_| EnrolmentError::PublicKey)
}

fn derive(
    private: EphemeralPrivateKey,
    peer: &[u8; 32],
    device_id: Uuid,
    client_public: &[u8; 32],
    server_public: &[u8; 32],
) -> Result<DeviceKey, EnrolmentError> {
    agreement::agree_ephemeral(private, &UnparsedPublicKey::new(&X25519, peer), |shared| {
        DeviceKey::from_bytes(kdf::hkdf32(
            device_id.as_bytes(),
            shared,
            &[DEVICE_KEY_INFO, client_public, server_public],
        ))
    })
    .map_err(|_| EnrolmentError::PublicKey)
}

impl ClientEnrolment {
    /// Starts enrolling `device_id`; send the request to the server.
    pub fn start(device_id: Uuid, name: &str) -> Result<(Self, EnrolmentRequest), EnrolmentError> {
        Self::start_with(device_id, name, &ring::rand::SystemRandom::new())
    }

    pub(crate) fn start_with(
        device_id: Uuid,
        name: &str,
        rng: &dyn SecureRandom,
    ) -> Result<(Self, EnrolmentRequest), EnrolmentError> {
        let private = EphemeralPrivateKey::generate(&X25519, rng).map_err(|_| KeyError::Random)?;
        let request = EnrolmentRequest {
            device_id,
            name: name.to_owned(),
            client_public_key: public_of(&private)?,
        };
        Ok((
            Self {
                private,
                request: request.clone(),
            },
            request,
        ))
    }

    /// Checks the server's signed reply and derives the device key.
    pub fn finish(
        self,
        reply_token: &str,
        issuer_keys: &KeySet,
    ) -> Result<(DeviceKey, EnrolmentReply), EnrolmentError> {
        let reply: EnrolmentReply = jws::verify(reply_token, ENROLMENT_REPLY_TYPE, issuer_keys)?;
        if reply.device_id != self.request.device_id
            || reply.client_public_key != self.request.client_public_key
        {
            return Err(EnrolmentError::Mismatch);
        }
        let key = derive(
            self.private,
            &reply.server_public_key,
            reply.device_id,
            &reply.client_public_key,
            &reply.server_public_key,
        )?;
        Ok((key, reply))
    }
}

/// The server's half: answers `request` with a signed reply and the derived device key
/// (which the server keeps sealed under its master key).
pub fn respond(
    request: &EnrolmentRequest,
    issuer: &SigningKey,
    issued_at: DateTime<Utc>,
) -> Result<(String, DeviceKey), EnrolmentError> {
    respond_with(request, issuer, issued_at, &ring::rand::SystemRandom::new())
}

pub(crate) fn respond_with(
    request: &EnrolmentRequest,
    issuer: &SigningKey,
    issued_at: DateTime<Utc>,
    rng: &dyn SecureRandom,
) -> Result<(String, DeviceKey), EnrolmentError> {
    let private = EphemeralPrivateKey::generate(&X25519, rng).map_err(|_| KeyError::Random)?;
    let server_public = public_of(&private)?;
    let key = derive(
        private,
        &request.client_public_key,
        request.device_id,
        &request.client_public_key,
        &server_public,
    )?;
    let reply = EnrolmentReply {
        device_id: request.device_id,
        client_public_key: request.client_public_key,
        server_public_key: server_public,
        issued_at,
    };
    let token = jws::sign(ENROLMENT_REPLY_TYPE, &reply, issuer)?;
    Ok((token, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> SigningKey {
        SigningKey::from_seed(&[7; 32]).expect("key")
    }

    #[test]
    fn both_ends_derive_the_same_key() {
        let issuer = issuer();
        let keys = KeySet::new([issuer.public_key().clone()]);
        let (client, request) = ClientEnrolment::start(Uuid::now_v7(), "phone").expect("start");
        let (reply, server_key) = respond(&request, &issuer, Utc::now()).expect("respond");
        let (client_key, _) = client.finish(&reply, &keys).expect("finish");
        assert_eq!(client_key, server_key);
    }

    #[test]
    fn a_reply_for_another_request_is_refused() {
        let issuer = issuer();
        let keys = KeySet::new([issuer.public_key().clone()]);
        let (client, _) = ClientEnrolment::start(Uuid::now_v7(), "phone").expect("start");
        let (_, other_request) = ClientEnrolment::start(Uuid::now_v7(), "other").expect("start");
        let (reply, _) = respond(&other_request, &issuer, Utc::now()).expect("respond");
        assert_eq!(
            client.finish(&reply, &keys).err(),
            Some(EnrolmentError::Mismatch)
        );
    }

    #[test]
    fn a_reply_signed_by_an_unpinned_key_is_refused() {
        let (client, request) = ClientEnrolment::start(Uuid::now_v7(), "phone").expect("start");
        let rogue = SigningKey::from_seed(&[8; 32]).expect("key");
        let (reply, _) = respond(&request, &rogue, Utc::now()).expect("respond");
        let pinned = KeySet::new([issuer().public_key().clone()]);
        assert!(matches!(
            client.finish(&reply, &pinned),
            Err(EnrolmentError::Reply(JwsError::UnknownKey(_)))
        ));
    }

    #[test]
    fn the_all_zero_point_is_refused() {
        let request = EnrolmentRequest {
            device_id: Uuid::nil(),
            name: "x".into(),
            client_public_key: [0; 32],
        };
        assert_eq!(
            respond(&request, &issuer(), Utc::now()).err(),
            Some(EnrolmentError::PublicKey)
        );
    }
}
