//! AES-256-GCM through ring, with the nonce handling in one place.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::SecureRandom;

use super::KeyError;

/// The GCM tag length.
pub(crate) const TAG_LEN: usize = 16;

pub(crate) fn key(bytes: &[u8; 32]) -> Result<LessSafeKey, KeyError> {
    UnboundKey::new(&AES_256_GCM, bytes)
        .map(LessSafeKey::new)
        .map_err(|_| KeyError::Malformed("AES-256 key"))
}

/// Seals `plaintext` under `key` with a random nonce: `nonce || ciphertext || tag`.
pub(crate) fn seal_random_nonce(
    key: &[u8; 32],
    aad: &[u8],
    plaintext: &[u8],
    rng: &dyn SecureRandom,
) -> Result<Vec<u8>, KeyError> {
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill(&mut nonce).map_err(|_| KeyError::Random)?;
    seal_with_nonce(key, nonce, aad, plaintext)
}

/// Seals with a given nonce (the caller guarantees it is never reused under `key`).
pub(crate) fn seal_with_nonce(
    key: &[u8; 32],
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, KeyError> {
    let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = self::key(key)?
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut out[NONCE_LEN..],
        )
        // ring refuses only inputs over ~64 GiB.
        .map_err(|_| KeyError::Malformed("plaintext too long"))?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// Opens `nonce || ciphertext || tag`.
pub(crate) fn open(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, KeyError> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(KeyError::Unsealing);
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| KeyError::Unsealing)?;
    let mut buf = body.to_vec();
    let plain_len = self::key(key)?
        .open_in_place(nonce, Aad::from(aad), &mut buf)
        .map_err(|_| KeyError::Unsealing)?
        .len();
    buf.truncate(plain_len);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::hex;

    /// McGrew & Viega GCM spec, Test Case 16 (AES-256, 60-byte plaintext, 20-byte AAD).
    #[test]
    fn gcm_spec_test_case_16() {
        let key: [u8; 32] =
            from_hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
        let nonce: [u8; 12] = from_hex("cafebabefacedbaddecaf888");
        let plaintext = from_hex_vec(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        );
        let aad = from_hex_vec("feedfacedeadbeeffeedfacedeadbeefabaddad2");
        let sealed = seal_with_nonce(&key, nonce, &aad, &plaintext).expect("seals");
        assert_eq!(
            hex(&sealed[12..]),
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662\
             76fc6ece0f4e1768cddf8853bb2d551b"
        );
        assert_eq!(open(&key, &aad, &sealed).expect("opens"), plaintext);
    }

    #[test]
    fn any_change_fails_to_open() {
        let key = [7u8; 32];
        let sealed = seal_with_nonce(&key, [1; 12], b"aad", b"secret").expect("seals");
        assert!(open(&[8u8; 32], b"aad", &sealed).is_err());
        assert!(open(&key, b"aaD", &sealed).is_err());
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert_eq!(
                open(&key, b"aad", &bad),
                Err(KeyError::Unsealing),
                "byte {i}"
            );
        }
        assert!(open(&key, b"aad", &sealed[..27]).is_err());
    }

    fn from_hex_vec(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    fn from_hex<const N: usize>(s: &str) -> [u8; N] {
        from_hex_vec(s).try_into().expect("length")
    }
}
