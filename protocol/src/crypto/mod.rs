//! Keys and the symmetric primitives built on ring.
//!
//! - [`SigningKey`]/[`PublicKey`]/[`KeySet`]: the issuer's Ed25519 keys. A key id is
//!   the hex of the first 8 bytes of SHA-256(public key).
//! - [`MasterKey`]/[`MasterKeyRing`]: the server's AES-256-GCM key for envelope
//!   encryption of content keys and device keys at rest ([`SealedKey`]).
//! - [`ContentKey`], [`DeviceKey`]: 256-bit secrets, zeroized on drop, compared in
//!   constant time, never printed, never serialised.
//!
//! `aead` and `kdf` are crate-private: they are easy to misuse, so only the documents
//! built in this crate call them.

pub(crate) mod aead;
pub(crate) mod kdf;
mod master;
mod secret;
mod signing;

pub use master::{MasterKey, MasterKeyRing, SealedKey};
pub use secret::{ContentKey, DeviceKey, PeerKey};
pub use signing::{KeyId, KeySet, PublicKey, SigningKey};

/// Why a key could not be made, read or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The system random generator failed.
    #[error("the system random generator failed")]
    Random,
    /// Key bytes are malformed (wrong length, not PKCS#8, not a valid point).
    #[error("malformed key: {0}")]
    Malformed(&'static str),
    /// No key with this id is known.
    #[error("unknown key id {0}")]
    UnknownKey(String),
    /// Sealed data failed authentication: wrong key, or it was altered.
    #[error("sealed data failed to open (wrong key or tampered)")]
    Unsealing,
}
