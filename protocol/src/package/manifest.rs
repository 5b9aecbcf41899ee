use serde::{Deserialize, Serialize};

use super::{ALGORITHM, PackageError, Result};

/// Where the manifest lives in the package.
pub const MANIFEST_PATH: &str = "META-INF/jieyue-encryption.json";

/// How a resource was compressed before encryption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Stored as is (images, audio, fonts): byte ranges decrypt independently.
    None,
    /// Raw DEFLATE (RFC 1951): text resources.
    Deflate,
}

impl Compression {
    pub(crate) fn code(self) -> u8 {
        match self {
            Compression::None => 0,
            Compression::Deflate => 1,
        }
    }
}

/// One encrypted resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptedResource {
    /// Path inside the ZIP (as in the original EPUB).
    pub path: String,
    /// Media type from the OPF manifest, if declared.
    #[serde(default)]
    pub media_type: Option<String>,
    /// Compression applied before encryption.
    pub compression: Compression,
    /// Length of the original resource.
    pub original_length: u64,
    /// Length of the encrypted entry (chunks and tags).
    pub encrypted_length: u64,
    /// The resource's 7-byte nonce prefix.
    #[serde(with = "crate::encoding::b64_array")]
    pub nonce_prefix: [u8; 7],
    /// Whether the source EPUB had obfuscated this font (it is stored de-obfuscated).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deobfuscated: bool,
}

/// `META-INF/jieyue-encryption.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Format version (1).
    pub version: u32,
    /// [`ALGORITHM`].
    pub algorithm: String,
    /// Plaintext bytes per chunk.
    pub chunk_size: u32,
    /// AES-GCM tag of the empty message under the content key with the reserved
    /// all-zero nonce: tells a wrong key from a damaged package.
    #[serde(with = "crate::encoding::b64_array")]
    pub key_check: [u8; 16],
    /// The encrypted resources.
    pub resources: Vec<EncryptedResource>,
}

impl Manifest {
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self> {
        let manifest: Manifest = serde_json::from_slice(bytes)
            .map_err(|e| PackageError::Corrupt(format!("unreadable encryption manifest: {e}")))?;
        if manifest.version != 1 || manifest.algorithm != ALGORITHM {
            return Err(PackageError::Corrupt(format!(
                "unsupported package format {} / {}",
                manifest.version, manifest.algorithm
            )));
        }
        if manifest.chunk_size != super::CHUNK_SIZE as u32 {
            return Err(PackageError::Corrupt(format!(
                "unsupported chunk size {}",
                manifest.chunk_size
            )));
        }
        Ok(manifest)
    }

    /// The entry for `path`, if it is encrypted.
    pub fn resource(&self, path: &str) -> Option<&EncryptedResource> {
        self.resources.iter().find(|r| r.path == path)
    }
}
