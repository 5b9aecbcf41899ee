#![doc = include_str!("../README.md")]

pub mod api;
pub mod crypto;
pub mod distribution;
pub mod encoding;
pub mod enrolment;
pub mod jws;
pub mod licence;
pub mod local;
pub mod package;
pub mod problem;
pub mod status;
pub mod time;
pub mod webpub;

#[cfg(test)]
mod tamper_tests;
#[cfg(test)]
mod vectors;

pub use crypto::{
    ContentKey, DeviceKey, KeyError, KeyId, KeySet, MasterKey, MasterKeyRing, PeerKey, PublicKey,
    SealedKey, SigningKey,
};
