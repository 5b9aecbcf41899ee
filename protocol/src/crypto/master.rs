use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::{KeyError, aead};
use crate::encoding::{b64, unb64};

/// The server's master key: AES-256-GCM for sealing content keys and device keys at
/// rest (envelope encryption). It has a short id so a sealed value names the key that
/// opens it, and the key can rotate.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MasterKey {
    #[zeroize(skip)]
    id: String,
    bytes: [u8; 32],
}

impl MasterKey {
    /// A fresh random key with the given id (1-32 ASCII letters, digits, `-`).
    pub fn generate(id: &str) -> Result<Self, KeyError> {
        let mut bytes = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
            .map_err(|_| KeyError::Random)?;
        Self::from_bytes(id, bytes)
    }

    /// A key from its id and bytes.
    pub fn from_bytes(id: &str, bytes: [u8; 32]) -> Result<Self, KeyError> {
        let valid = (1..=32).contains(&id.len())
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !valid {
            return Err(KeyError::Malformed("master key id"));
        }
        Ok(Self {
            id: id.to_owned(),
            bytes,
        })
    }

    /// The id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key bytes, to store the key. Never log them.
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// Seals `secret`, bound to `context` (e.g. the publication id), so a sealed value
    /// copied to another row does not open there.
    pub fn seal(&self, secret: &[u8], context: &[u8]) -> Result<SealedKey, KeyError> {
        self.seal_with(secret, context, &ring::rand::SystemRandom::new())
    }

    pub(crate) fn seal_with(
        &self,
        secret: &[u8],
        context: &[u8],
        rng: &dyn ring::rand::SecureRandom,
    ) -> Result<SealedKey, KeyError> {
        let sealed = aead::seal_random_nonce(&self.bytes, &aad(&self.id, context), secret, rng)?;
        Ok(SealedKey {
            key_id: self.id.clone(),
            sealed,
        })
    }

    /// Opens a value this key sealed in `context`.
    pub fn open(
        &self,
        sealed: &SealedKey,
        context: &[u8],
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, KeyError> {
        if sealed.key_id != self.id {
            return Err(KeyError::UnknownKey(sealed.key_id.clone()));
        }
        aead::open(&self.bytes, &aad(&self.id, context), &sealed.sealed)
            .map(zeroize::Zeroizing::new)
    }
}

fn aad(key_id: &str, context: &[u8]) -> Vec<u8> {
    let mut aad = b"jieyue/sealed-key/v1\0".to_vec();
    aad.extend_from_slice(key_id.as_bytes());
    aad.push(0);
    aad.extend_from_slice(context);
    aad
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({}, ..)", self.id)
    }
}

/// A secret sealed under a master key. Stored as text: `v1.<key id>.<base64url>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedKey {
    key_id: String,
    sealed: Vec<u8>,
}

impl SealedKey {
    /// The id of the master key that opens it.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The stored text form.
    pub fn to_text(&self) -> String {
        format!("v1.{}.{}", self.key_id, b64(&self.sealed))
    }

    /// Parses the stored text form.
    pub fn from_text(text: &str) -> Result<Self, KeyError> {
        let mut parts = text.split('.');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("v1"), Some(key_id), Some(body), None) if !key_id.is_empty() => Ok(Self {
                key_id: key_id.to_owned(),
                sealed: unb64(body).ok_or(KeyError::Malformed("sealed key body"))?,
            }),
            _ => Err(KeyError::Malformed("sealed key text")),
        }
    }
}

impl Serialize for SealedKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_text())
    }
}

impl<'de> Deserialize<'de> for SealedKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::from_text(&text).map_err(serde::de::Error::custom)
    }
}

/// Every master key the server can open with, and the one it seals with now.
#[derive(Debug, Clone)]
pub struct MasterKeyRing {
    current: MasterKey,
    older: Vec<MasterKey>,
}

impl MasterKeyRing {
    /// A ring sealing with `current` and still opening with `older`.
    pub fn new(current: MasterKey, older: Vec<MasterKey>) -> Self {
        Self { current, older }
    }

    /// The key new values are sealed with.
    pub fn current(&self) -> &MasterKey {
        &self.current
    }

    /// Seals with the current key.
    pub fn seal(&self, secret: &[u8], context: &[u8]) -> Result<SealedKey, KeyError> {
        self.current.seal(secret, context)
    }

    /// Opens with whichever key sealed it.
    pub fn open(
        &self,
        sealed: &SealedKey,
        context: &[u8],
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, KeyError> {
        std::iter::once(&self.current)
            .chain(&self.older)
            .find(|k| k.id == sealed.key_id)
            .ok_or_else(|| KeyError::UnknownKey(sealed.key_id.clone()))?
            .open(sealed, context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_with_their_key_and_context() {
        let old = MasterKey::from_bytes("mk-2025", [1; 32]).expect("key");
        let new = MasterKey::from_bytes("mk-2026", [2; 32]).expect("key");
        let sealed = old.seal(&[9; 32], b"publication-1").expect("seal");
        let text = sealed.to_text();
        assert!(text.starts_with("v1.mk-2025."));
        let parsed = SealedKey::from_text(&text).expect("parse");

        let ring = MasterKeyRing::new(new.clone(), vec![old.clone()]);
        assert_eq!(
            ring.open(&parsed, b"publication-1")
                .expect("opens")
                .as_slice(),
            &[9; 32]
        );
        assert_eq!(
            ring.open(&parsed, b"publication-2"),
            Err(KeyError::Unsealing)
        );
        assert_eq!(ring.seal(b"x", b"c").expect("seal").key_id(), "mk-2026");
        assert!(matches!(
            MasterKeyRing::new(new, vec![]).open(&parsed, b"publication-1"),
            Err(KeyError::UnknownKey(_))
        ));
        assert!(format!("{old:?}").starts_with("MasterKey(mk-2025"));
    }

    #[test]
    fn malformed_sealed_text_is_refused() {
        for bad in [
            "",
            "v1",
            "v2.k.AAAA",
            "v1..AAAA",
            "v1.k.@@@",
            "v1.k.AA.extra",
        ] {
            assert!(SealedKey::from_text(bad).is_err(), "{bad}");
        }
        assert!(MasterKey::from_bytes("bad id!", [0; 32]).is_err());
    }
}
