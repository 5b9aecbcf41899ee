//! JWS compact serialisation with `alg: EdDSA` (RFC 7515, RFC 8037), for every signed
//! document: licences, status documents, enrolment replies.
//!
//! The header names the key (`kid`) and the document type (`typ`). Verification checks,
//! in order: the shape (three base64url parts, bounded size), the header (`alg` is
//! `EdDSA`, `typ` is the expected one, `kid` is pinned), the signature, then parses the
//! payload. Any failure is a typed [`JwsError`]; nothing is trusted before the
//! signature checks out.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::crypto::{KeySet, SigningKey};
use crate::encoding::{b64, unb64};

/// Longest token accepted; bounds the work an attacker can make a verifier do.
pub const MAX_TOKEN_LEN: usize = 64 * 1024;

/// Why a JWS was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    /// Not three base64url parts, or too long.
    #[error("not a compact JWS")]
    Malformed,
    /// The header is not valid JSON of the expected shape.
    #[error("invalid JWS header")]
    Header,
    /// `alg` is not `EdDSA`.
    #[error("unsupported algorithm {0:?}")]
    Algorithm(String),
    /// `typ` is not the document type expected here.
    #[error("wrong document type: expected {expected}, found {found:?}")]
    DocumentType {
        /// What the caller expected.
        expected: &'static str,
        /// What the header said.
        found: Option<String>,
    },
    /// `kid` names no pinned key.
    #[error("unknown signing key {0:?}")]
    UnknownKey(String),
    /// The signature does not verify.
    #[error("bad signature")]
    Signature,
    /// The signed payload is not the expected document.
    #[error("invalid payload: {0}")]
    Payload(String),
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    kid: String,
    #[serde(default)]
    typ: Option<String>,
}

/// Signs `payload` as a document of type `typ`.
pub fn sign<T: Serialize>(
    typ: &'static str,
    payload: &T,
    key: &SigningKey,
) -> Result<String, JwsError> {
    let header = Header {
        alg: "EdDSA".into(),
        kid: key.key_id().as_str().to_owned(),
        typ: Some(typ.to_owned()),
    };
    let header = serde_json::to_vec(&header).map_err(|e| JwsError::Payload(e.to_string()))?;
    let payload = serde_json::to_vec(payload).map_err(|e| JwsError::Payload(e.to_string()))?;
    let signing_input = format!("{}.{}", b64(header), b64(payload));
    let signature = key.sign(signing_input.as_bytes());
    Ok(format!("{signing_input}.{}", b64(signature)))
}

/// The key id a token claims to be signed with, without verifying anything. Only the
/// header is read (and it must be short), so this works on documents of any length.
pub fn peek_key_id(token: &str) -> Result<String, JwsError> {
    let header = token.split('.').next().unwrap_or_default();
    if header.is_empty() || header.len() > MAX_HEADER_LEN || header.len() == token.len() {
        return Err(JwsError::Malformed);
    }
    Ok(parse_header(header)?.kid)
}

/// Longest header accepted by [`peek_key_id`].
const MAX_HEADER_LEN: usize = 1024;

fn split(token: &str, max_len: usize) -> Result<(&str, &str, &str), JwsError> {
    if token.len() > max_len {
        return Err(JwsError::Malformed);
    }
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(s), None) if !h.is_empty() && !s.is_empty() => Ok((h, p, s)),
        _ => Err(JwsError::Malformed),
    }
}

fn parse_header(encoded: &str) -> Result<Header, JwsError> {
    let bytes = unb64(encoded).ok_or(JwsError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| JwsError::Header)
}

/// Verifies a token of type `typ` against the pinned `keys` and returns its payload.
pub fn verify<T: DeserializeOwned>(
    token: &str,
    typ: &'static str,
    keys: &KeySet,
) -> Result<T, JwsError> {
    verify_bounded(token, typ, keys, MAX_TOKEN_LEN)
}

/// [`verify`] for documents that may be longer than [`MAX_TOKEN_LEN`] (a collection's
/// manifest lists thousands of objects): the caller names the bound.
pub fn verify_bounded<T: DeserializeOwned>(
    token: &str,
    typ: &'static str,
    keys: &KeySet,
    max_len: usize,
) -> Result<T, JwsError> {
    let (header_b64, payload_b64, signature_b64) = split(token, max_len)?;
    let header = parse_header(header_b64)?;
    if header.alg != "EdDSA" {
        return Err(JwsError::Algorithm(header.alg));
    }
    if header.typ.as_deref() != Some(typ) {
        return Err(JwsError::DocumentType {
            expected: typ,
            found: header.typ,
        });
    }
    let key = keys
        .get(&header.kid)
        .ok_or(JwsError::UnknownKey(header.kid))?;
    let signature = unb64(signature_b64).ok_or(JwsError::Malformed)?;
    let signing_input_len = header_b64.len() + 1 + payload_b64.len();
    if !key.verify(&token.as_bytes()[..signing_input_len], &signature) {
        return Err(JwsError::Signature);
    }
    let payload = unb64(payload_b64).ok_or(JwsError::Malformed)?;
    serde_json::from_slice(&payload).map_err(|e| JwsError::Payload(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn key() -> SigningKey {
        SigningKey::from_seed(&[42; 32]).expect("key")
    }

    #[test]
    fn the_key_id_of_a_long_document_is_read_from_its_header() {
        let key = key();
        let long = "长".repeat(MAX_TOKEN_LEN);
        let token = sign("test+jws", &json!({ "text": long }), &key).expect("sign");
        assert!(token.len() > MAX_TOKEN_LEN);
        assert_eq!(peek_key_id(&token).as_deref(), Ok(key.key_id().as_str()));
        assert_eq!(peek_key_id("no-dots-at-all"), Err(JwsError::Malformed));
        assert_eq!(
            peek_key_id(&format!("{}.x.y", "A".repeat(2000))),
            Err(JwsError::Malformed)
        );
    }

    #[test]
    fn round_trip() {
        let key = key();
        let token = sign("test+jws", &json!({ "hello": "世界" }), &key).expect("sign");
        let keys = KeySet::new([key.public_key().clone()]);
        let value: Value = verify(&token, "test+jws", &keys).expect("verify");
        assert_eq!(value["hello"], "世界");
        assert_eq!(peek_key_id(&token).expect("kid"), key.key_id().as_str());
    }

    #[test]
    fn a_correctly_signed_token_over_the_size_bound_is_refused_unread() {
        let key = key();
        let keys = KeySet::new([key.public_key().clone()]);
        // Just under the bound verifies; just over it is malformed, signature or not.
        let fits =
            |n: usize| sign("test+jws", &json!({ "pad": "x".repeat(n) }), &key).expect("sign");
        let mut n = MAX_TOKEN_LEN / 4 * 3 - 200;
        while fits(n + 1).len() <= MAX_TOKEN_LEN {
            n += 1;
        }
        let largest = fits(n);
        assert!(verify::<Value>(&largest, "test+jws", &keys).is_ok());
        let too_long = fits(n + 1);
        assert!(too_long.len() > MAX_TOKEN_LEN);
        assert_eq!(
            verify::<Value>(&too_long, "test+jws", &keys),
            Err(JwsError::Malformed)
        );
        // Naming the key reads the (short) header only; verifying still refuses.
        assert_eq!(peek_key_id(&too_long).as_deref(), Ok(key.key_id().as_str()));
    }

    #[test]
    fn every_kind_of_tampering_is_named() {
        let key = key();
        let keys = KeySet::new([key.public_key().clone()]);
        let token = sign("test+jws", &json!({ "n": 1 }), &key).expect("sign");
        let (h, p, s) = split(&token, MAX_TOKEN_LEN).expect("parts");

        let other = SigningKey::from_seed(&[43; 32]).expect("key");
        let forged = sign("test+jws", &json!({ "n": 1 }), &other).expect("sign");
        assert!(matches!(
            verify::<Value>(&forged, "test+jws", &keys),
            Err(JwsError::UnknownKey(_))
        ));

        let none_alg = format!(
            "{}.{p}.{s}",
            b64(br#"{"alg":"none","kid":"x","typ":"test+jws"}"#)
        );
        assert_eq!(
            verify::<Value>(&none_alg, "test+jws", &keys),
            Err(JwsError::Algorithm("none".into()))
        );

        let wrong_type = verify::<Value>(&token, "other+jws", &keys);
        assert!(matches!(wrong_type, Err(JwsError::DocumentType { .. })));

        let swapped_payload = format!("{h}.{}.{s}", b64(br#"{"n":2}"#));
        assert_eq!(
            verify::<Value>(&swapped_payload, "test+jws", &keys),
            Err(JwsError::Signature)
        );

        // A signature from the right key over other content.
        let (_, _, other_sig) = split(&forged, MAX_TOKEN_LEN).expect("parts");
        let swapped_signature = format!("{h}.{p}.{other_sig}");
        assert_eq!(
            verify::<Value>(&swapped_signature, "test+jws", &keys),
            Err(JwsError::Signature)
        );

        for bad in [
            "",
            "a.b",
            "a.b.c.d",
            "!!.!!.!!",
            &"a".repeat(MAX_TOKEN_LEN + 1),
        ] {
            assert!(
                verify::<Value>(bad, "test+jws", &keys).is_err(),
                "{bad:.20}"
            );
        }
        assert_eq!(
            verify::<Value>(&format!("e30.{p}.{s}"), "test+jws", &keys),
            Err(JwsError::Header)
        );
    }

    #[test]
    fn a_valid_signature_over_the_wrong_shape_is_a_payload_error() {
        let key = key();
        let keys = KeySet::new([key.public_key().clone()]);
        let token = sign("test+jws", &json!([1, 2, 3]), &key).expect("sign");
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Doc {
            n: u32,
        }
        assert!(matches!(
            verify::<Doc>(&token, "test+jws", &keys),
            Err(JwsError::Payload(_))
        ));
    }
}
