//! The encrypted package: an EPUB ZIP in which the container files, the OPF and the
//! navigation documents stay clear and every other resource is encrypted.
//!
//! Each protected resource is deflated first when it is text or a font, then encrypted with
//! AES-256-GCM in fixed 64 KiB chunks using the STREAM construction (Hoang, Reyhanitabar,
//! Rogaway, Vizár 2015): nonce = a random 7-byte prefix per resource ‖ 32-bit chunk
//! counter ‖ a last-chunk flag byte, and the AAD binds each chunk to its resource
//! (path, compression, original length). A resource of `n` bytes has `n / 65536` full
//! chunks and a last chunk with the rest, possibly empty. So any byte range of an uncompressed resource
//! decrypts by reading only the chunks that cover it, and truncating, reordering, or
//! moving chunks between resources fails authentication.
//!
//! `META-INF/jieyue-encryption.json` (the [`Manifest`]) lists each encrypted resource.
//! Fonts obfuscated by the source EPUB (IDPF or Adobe algorithm, declared in
//! `META-INF/encryption.xml`) are de-obfuscated before encryption, so the decrypted
//! font is a plain font; their entries leave `encryption.xml`.
//!
//! The writer and reader work on any `Read + Seek` / `Write + Seek` and keep memory
//! bounded (a few chunk buffers), whatever the size of a resource.

mod check;
mod cursor;
mod epub;
mod manifest;
mod obfuscation;
mod pipeline;
mod publication;
mod reader;
mod resource;
mod stream;
mod writer;

pub use check::{
    ArchiveFacts, Limits, MAX_CONTAINER_BYTES, MAX_ENCRYPTION_XML_BYTES, MAX_OPF_BYTES, check_epub,
};
pub use cursor::{ResourceCursor, ResourceLocation};
pub use manifest::{Compression, EncryptedResource, MANIFEST_PATH, Manifest};
pub use pipeline::EncryptOptions;
pub use publication::{SourceResource, encrypt_publication};
pub use reader::PackageReader;
pub use resource::{decrypt_resource_range, encrypt_resource};
pub use stream::{CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE};
pub use writer::{PackageSummary, Progress, encrypt_epub, encrypt_epub_with_options};

/// The encryption algorithm named in the manifest.
pub const ALGORITHM: &str = "urn:jieyue:enc:a256gcm-stream-64k:v1";

/// Why a package could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// The input is not a usable EPUB; the message says what is wrong.
    #[error("invalid EPUB: {0}")]
    InvalidEpub(String),
    /// The book is protected already (a Jieyue package, Readium LCP, Adobe ADEPT, or
    /// another encryption): the message says by what. Ingest the unprotected EPUB.
    #[error("already protected: {0}")]
    AlreadyProtected(String),
    /// A ZIP entry name escapes the container (`../`, absolute paths).
    #[error("unsafe path in the archive: {0:?}")]
    UnsafePath(String),
    /// The package is damaged or was tampered with: a chunk failed authentication, a
    /// length does not match, or the manifest is unreadable.
    #[error("corrupt package: {0}")]
    Corrupt(String),
    /// The content key is not this package's key.
    #[error("the content key does not match this package")]
    WrongKey,
    /// No such resource in the package.
    #[error("no resource {0:?} in the package")]
    NotFound(String),
    /// A requested byte range lies outside the resource.
    #[error("range {start}..{end} is outside the resource ({length} bytes)")]
    Range {
        /// Start of the request.
        start: u64,
        /// End of the request.
        end: u64,
        /// Resource length.
        length: u64,
    },
    /// The input is not a usable publication (page images, audio, video); the message
    /// says what is wrong.
    #[error("invalid publication: {0}")]
    InvalidPublication(String),
    /// A read was cancelled by its caller.
    #[error("cancelled")]
    Cancelled,
    /// A key operation failed.
    #[error(transparent)]
    Key(#[from] crate::crypto::KeyError),
    /// Reading or writing failed (including a full disk).
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

impl From<zip::result::ZipError> for PackageError {
    fn from(err: zip::result::ZipError) -> Self {
        match err {
            zip::result::ZipError::Io(io) => PackageError::Io(io),
            zip::result::ZipError::FileNotFound => PackageError::NotFound(String::new()),
            other => PackageError::Corrupt(other.to_string()),
        }
    }
}

/// Package result.
pub type Result<T, E = PackageError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests;

#[cfg(test)]
pub(crate) use stream::chunk_aad as stream_aad_for_vectors;

#[cfg(test)]
pub(crate) fn seal_for_vectors(
    key: &ring::aead::LessSafeKey,
    prefix: [u8; 7],
    aad: Vec<u8>,
    plain: &[u8],
) -> Vec<u8> {
    use std::io::Write;
    let mut sealer = stream::ChunkSealer::new(key, prefix, aad, Vec::new());
    sealer.write_all(plain).expect("seal");
    sealer.finish().expect("finish").0
}

#[cfg(test)]
pub(crate) fn key_check_for_vectors(key: &ring::aead::LessSafeKey) -> [u8; 16] {
    stream::key_check(key).expect("key check")
}
