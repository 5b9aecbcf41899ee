use ring::digest::{SHA256, digest};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::KeyError;
use crate::encoding::{b64, hex, unb64_array};

/// A key id: the hex of the first 8 bytes of SHA-256 of the Ed25519 public key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyId(String);

impl KeyId {
    /// The id of `public_key`.
    pub fn of(public_key: &[u8; 32]) -> Self {
        Self(hex(&digest(&SHA256, public_key).as_ref()[..8]))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// RFC 8410 PKCS#8 v1 prefix for an Ed25519 private key; the 32-byte seed follows.
const PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// The issuer's Ed25519 signing key. The PKCS#8 bytes are zeroized on drop and never
/// printed.
pub struct SigningKey {
    pkcs8: Zeroizing<Vec<u8>>,
    pair: Ed25519KeyPair,
    public: PublicKey,
}

impl SigningKey {
    /// A fresh random key.
    pub fn generate() -> Result<Self, KeyError> {
        let rng = ring::rand::SystemRandom::new();
        let document = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| KeyError::Random)?;
        Self::from_pkcs8(document.as_ref())
    }

    /// Loads a key from PKCS#8 DER (v1 or v2, as RFC 8410 and ring write them).
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, KeyError> {
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map_err(|_| KeyError::Malformed("not an Ed25519 PKCS#8 key"))?;
        let public_bytes: [u8; 32] = pair
            .public_key()
            .as_ref()
            .try_into()
            .map_err(|_| KeyError::Malformed("Ed25519 public key length"))?;
        Ok(Self {
            pkcs8: Zeroizing::new(der.to_vec()),
            pair,
            public: PublicKey::from_bytes(public_bytes),
        })
    }

    /// A key from its 32-byte seed (RFC 8032 private key), for test vectors.
    pub fn from_seed(seed: &[u8; 32]) -> Result<Self, KeyError> {
        let mut der = Zeroizing::new(Vec::with_capacity(48));
        der.extend_from_slice(&PKCS8_V1_PREFIX);
        der.extend_from_slice(seed);
        Self::from_pkcs8(&der)
    }

    /// The PKCS#8 DER, to store the key. Never log it.
    pub fn to_pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The public half.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The key id.
    pub fn key_id(&self) -> &KeyId {
        &self.public.kid
    }

    /// An Ed25519 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        let mut out = [0u8; 64];
        out.copy_from_slice(self.pair.sign(message).as_ref());
        out
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({}, ..)", self.public.kid)
    }
}

/// An Ed25519 public key with its id. Serialised as a JWK (RFC 8037):
/// `{"kty":"OKP","crv":"Ed25519","x":…,"kid":…,"alg":"EdDSA","use":"sig"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    bytes: [u8; 32],
    kid: KeyId,
}

impl PublicKey {
    /// Wraps 32 public-key bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self {
            kid: KeyId::of(&bytes),
            bytes,
        }
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// The key id.
    pub fn key_id(&self) -> &KeyId {
        &self.kid
    }

    /// Whether `signature` is this key's signature of `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.bytes)
            .verify(message, signature)
            .is_ok()
    }
}

#[derive(Serialize, Deserialize)]
struct Jwk {
    kty: String,
    crv: String,
    x: String,
    kid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    alg: Option<String>,
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    use_: Option<String>,
}

impl Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: b64(self.bytes),
            kid: self.kid.0.clone(),
            alg: Some("EdDSA".into()),
            use_: Some("sig".into()),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let jwk = Jwk::deserialize(d)?;
        if jwk.kty != "OKP" || jwk.crv != "Ed25519" {
            return Err(D::Error::custom("only OKP Ed25519 keys are supported"));
        }
        let bytes = unb64_array::<32>(&jwk.x)
            .ok_or_else(|| D::Error::custom("x must be 32 bytes of base64url"))?;
        let key = PublicKey::from_bytes(bytes);
        if key.kid.0 != jwk.kid {
            return Err(D::Error::custom("kid does not match the key"));
        }
        Ok(key)
    }
}

/// The issuer public keys a client trusts (a JWK Set): several during a rotation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySet {
    /// The keys.
    pub keys: Vec<PublicKey>,
}

impl KeySet {
    /// A set of the given keys.
    pub fn new(keys: impl IntoIterator<Item = PublicKey>) -> Self {
        Self {
            keys: keys.into_iter().collect(),
        }
    }

    /// The key with id `kid`, if trusted.
    pub fn get(&self, kid: &str) -> Option<&PublicKey> {
        self.keys.iter().find(|k| k.kid.0 == kid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8032 §7.1, TEST 1: the empty message.
    #[test]
    fn rfc8032_test_1() {
        let seed = hex32("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        let key = SigningKey::from_seed(&seed).expect("key");
        assert_eq!(
            hex(key.public_key().as_bytes()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        let signature = key.sign(b"");
        assert_eq!(
            hex(signature),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
        assert!(key.public_key().verify(b"", &signature));
        assert!(!key.public_key().verify(b"x", &signature));
    }

    #[test]
    fn pkcs8_round_trips_and_debug_hides_it() {
        let key = SigningKey::generate().expect("key");
        let again = SigningKey::from_pkcs8(key.to_pkcs8_der()).expect("reload");
        assert_eq!(again.public_key(), key.public_key());
        assert_eq!(key.key_id().as_str().len(), 16);
        let shown = format!("{key:?}");
        assert!(shown.contains(key.key_id().as_str()) && !shown.contains(&hex(key.to_pkcs8_der())));
        assert!(SigningKey::from_pkcs8(b"not a key").is_err());
    }

    #[test]
    fn jwk_round_trips_and_rejects_a_wrong_kid() {
        let key = SigningKey::from_seed(&[3; 32]).expect("key");
        let set = KeySet::new([key.public_key().clone()]);
        let json = serde_json::to_string(&set).expect("json");
        let back: KeySet = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, set);
        assert!(back.get(key.key_id().as_str()).is_some());
        let tampered = json.replace(key.key_id().as_str(), "0000000000000000");
        assert!(serde_json::from_str::<KeySet>(&tampered).is_err());
    }

    fn hex32(s: &str) -> [u8; 32] {
        let v: Vec<u8> = (0..64)
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect();
        v.try_into().expect("32")
    }
}
