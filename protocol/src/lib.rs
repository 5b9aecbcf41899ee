#![doc = include_str!("../README.md")]

pub mod api;
pub mod crypto;
pub mod encoding;
pub mod enrolment;
pub mod jws;
pub mod licence;
pub mod package;
pub mod problem;
pub mod status;
pub mod time;

pub use crypto::{
    ContentKey, DeviceKey, KeyError, KeyId, KeySet, MasterKey, MasterKeyRing, PublicKey, SealedKey,
    SigningKey,
};
