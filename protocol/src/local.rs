//! Integrity of what a client keeps on its own disk (licence records, the trusted-time
//! anchor): HMAC-SHA256 under a key derived from the device key, so a record edited
//! outside the app, or copied from another device, is recognised.
//!
//! MAC key = HKDF-SHA256(salt = `"jieyue/local-store"`, IKM = device key,
//! info = `"jieyue/local-store-mac/v1"`); each record's MAC covers a context label
//! naming the record kind, then the record's bytes.

use ring::hmac;

use crate::crypto::{DeviceKey, kdf};

const SALT: &[u8] = b"jieyue/local-store";
const INFO: &[u8] = b"jieyue/local-store-mac/v1";

/// Signs and checks local records for one device.
pub struct LocalIntegrity {
    key: hmac::Key,
}

impl std::fmt::Debug for LocalIntegrity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalIntegrity(..)")
    }
}

impl LocalIntegrity {
    /// The MAC key of `device_key`'s local store.
    pub fn new(device_key: &DeviceKey) -> Self {
        let mut bytes = kdf::hkdf32(SALT, device_key.expose_secret(), &[INFO]);
        let key = hmac::Key::new(hmac::HMAC_SHA256, &bytes);
        zeroize::Zeroize::zeroize(&mut bytes);
        Self { key }
    }

    fn message(context: &str, record: &[u8]) -> Vec<u8> {
        let mut message = Vec::with_capacity(context.len() + 1 + record.len());
        message.extend_from_slice(context.as_bytes());
        message.push(0);
        message.extend_from_slice(record);
        message
    }

    /// The MAC of `record` of kind `context`.
    pub fn tag(&self, context: &str, record: &[u8]) -> Vec<u8> {
        hmac::sign(&self.key, &Self::message(context, record))
            .as_ref()
            .to_vec()
    }

    /// Whether `tag` is `record`'s MAC (constant time).
    pub fn check(&self, context: &str, record: &[u8], tag: &[u8]) -> bool {
        hmac::verify(&self.key, &Self::message(context, record), tag).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_record_context_or_device_fails() {
        let mine = LocalIntegrity::new(&DeviceKey::from_bytes([1; 32]));
        let other = LocalIntegrity::new(&DeviceKey::from_bytes([2; 32]));
        let tag = mine.tag("licence", b"record");
        assert!(mine.check("licence", b"record", &tag));
        assert!(!mine.check("licence", b"recorD", &tag));
        assert!(!mine.check("anchor", b"record", &tag));
        assert!(!other.check("licence", b"record", &tag));
        let mut flipped = tag.clone();
        flipped[0] ^= 1;
        assert!(!mine.check("licence", b"record", &flipped));
    }

    /// Known answer (computed with Python's `hmac` and `hashlib`), so another
    /// implementation of the client store can check itself.
    #[test]
    fn known_answer() {
        let mac = LocalIntegrity::new(&DeviceKey::from_bytes([0x42; 32]));
        assert_eq!(
            crate::encoding::hex(mac.tag("anchor", b"{}")),
            "87ec2800cdc0081a464dc624b7396a47cf55edf964e3a17a66de562e5975d67a"
        );
    }
}
