//! Undoing EPUB font obfuscation, so fonts survive being moved into our encryption.
//! Obfuscation is not security: the key is the publication's identifier.

use std::io::{self, Read};

use ring::digest::{SHA1_FOR_LEGACY_USE_ONLY, digest};

use super::epub::{ADOBE_OBFUSCATION, IDPF_OBFUSCATION};
use super::{PackageError, Result};

/// How a font was obfuscated, with its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Obfuscation {
    key: Vec<u8>,
    length: usize,
}

impl Obfuscation {
    /// The obfuscation `algorithm` keyed by the publication's unique identifier.
    pub(crate) fn new(algorithm: &str, unique_identifier: &str) -> Result<Self> {
        match algorithm {
            IDPF_OBFUSCATION => {
                // EPUB OCF 3.0 §4.3: SHA-1 of the identifier with all XML whitespace removed.
                let stripped: String = unique_identifier
                    .chars()
                    .filter(|c| !matches!(c, ' ' | '\t' | '\r' | '\n'))
                    .collect();
                Ok(Self {
                    key: digest(&SHA1_FOR_LEGACY_USE_ONLY, stripped.as_bytes())
                        .as_ref()
                        .to_vec(),
                    length: 1040,
                })
            }
            ADOBE_OBFUSCATION => {
                // Adobe: the 16 bytes of the UUID in the identifier.
                let hex: String = unique_identifier
                    .trim()
                    .trim_start_matches("urn:uuid:")
                    .chars()
                    .filter(|c| *c != '-')
                    .collect();
                let key = (0..hex.len())
                    .step_by(2)
                    .map(|i| {
                        hex.get(i..i + 2)
                            .and_then(|h| u8::from_str_radix(h, 16).ok())
                    })
                    .collect::<Option<Vec<u8>>>()
                    .filter(|k| k.len() == 16)
                    .ok_or_else(|| {
                        PackageError::InvalidEpub(
                            "Adobe-obfuscated font but the identifier is not a UUID".into(),
                        )
                    })?;
                Ok(Self { key, length: 1024 })
            }
            other => Err(PackageError::InvalidEpub(format!(
                "resource encrypted with {other:?}; books under another DRM cannot be lent"
            ))),
        }
    }

    /// XORs the obfuscated head of a resource; `offset` is where `data` starts.
    fn apply(&self, offset: usize, data: &mut [u8]) {
        for (i, byte) in data.iter_mut().enumerate() {
            let position = offset + i;
            if position >= self.length {
                break;
            }
            *byte ^= self.key[position % self.key.len()];
        }
    }
}

/// A reader that undoes obfuscation as bytes pass through.
pub(crate) struct Deobfuscate<R> {
    inner: R,
    obfuscation: Option<Obfuscation>,
    position: usize,
}

impl<R: Read> Deobfuscate<R> {
    pub(crate) fn new(inner: R, obfuscation: Option<Obfuscation>) -> Self {
        Self {
            inner,
            obfuscation,
            position: 0,
        }
    }
}

impl<R: Read> Read for Deobfuscate<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(obfuscation) = &self.obfuscation {
            obfuscation.apply(self.position, &mut buf[..n]);
        }
        self.position = self.position.saturating_add(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idpf_obfuscation_is_its_own_inverse_over_1040_bytes() {
        let font: Vec<u8> = (0..2000u32).map(|i| (i % 256) as u8).collect();
        let ob = Obfuscation::new(IDPF_OBFUSCATION, " urn:uuid:abc \n").expect("idpf");
        let mut scrambled = font.clone();
        ob.apply(0, &mut scrambled);
        assert_ne!(scrambled[..1040], font[..1040]);
        assert_eq!(scrambled[1040..], font[1040..]);
        let mut restored = Vec::new();
        Deobfuscate::new(&scrambled[..], Some(ob))
            .read_to_end(&mut restored)
            .expect("read");
        assert_eq!(restored, font);
    }

    #[test]
    fn adobe_needs_a_uuid_and_other_drm_is_refused() {
        assert!(
            Obfuscation::new(
                ADOBE_OBFUSCATION,
                "urn:uuid:12345678-1234-1234-1234-123456789abc"
            )
            .is_ok()
        );
        assert!(Obfuscation::new(ADOBE_OBFUSCATION, "isbn:9787000000000").is_err());
        assert!(Obfuscation::new("http://www.w3.org/2001/04/xmlenc#aes128-cbc", "x").is_err());
    }
}
