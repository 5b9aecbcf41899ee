//! Random access to one stored (uncompressed) resource for a media player: reads at any
//! offset decrypt only the chunks that cover them, with the last chunk kept decrypted
//! (a player reads forward in small pieces, mostly inside one chunk).

use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use ring::aead::LessSafeKey;

use super::manifest::{Compression, EncryptedResource};
use super::stream::{self, CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE};
use super::{PackageError, Result};

/// Where a stored resource's chunk stream starts in the package file.
#[derive(Debug, Clone)]
pub struct ResourceLocation {
    /// The resource as the encryption manifest lists it.
    pub resource: EncryptedResource,
    /// Offset of its first encrypted byte in the package file.
    pub data_start: u64,
}

/// Reads a stored resource at any offset. Memory: one encrypted chunk (64 KiB + 16).
pub struct ResourceCursor<R: Read + Seek> {
    source: R,
    key: Arc<LessSafeKey>,
    location: ResourceLocation,
    aad: Vec<u8>,
    count: u64,
    /// The chunk whose plaintext is in `buffer[..cached_len]`.
    cached: Option<u64>,
    cached_len: usize,
    buffer: Box<[u8]>,
}

impl<R: Read + Seek> std::fmt::Debug for ResourceCursor<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceCursor")
            .field("path", &self.location.resource.path)
            .field("length", &self.location.resource.original_length)
            .finish_non_exhaustive()
    }
}

impl<R: Read + Seek> ResourceCursor<R> {
    pub(crate) fn new(
        source: R,
        key: Arc<LessSafeKey>,
        location: ResourceLocation,
    ) -> Result<Self> {
        let resource = &location.resource;
        if resource.compression != Compression::None {
            return Err(PackageError::Corrupt(format!(
                "{} is compressed: it can only be read whole",
                resource.path
            )));
        }
        if resource.encrypted_length != stream::encrypted_length(resource.original_length) {
            return Err(PackageError::Corrupt(format!(
                "{}: lengths in the manifest disagree",
                resource.path
            )));
        }
        let count = stream::chunk_count(resource.encrypted_length)?;
        let aad = stream::chunk_aad(
            &resource.path,
            resource.compression,
            resource.original_length,
        );
        Ok(Self {
            source,
            key,
            location,
            aad,
            count,
            cached: None,
            cached_len: 0,
            buffer: vec![0u8; ENCRYPTED_CHUNK_SIZE].into_boxed_slice(),
        })
    }

    /// The resource's plaintext length.
    pub fn length(&self) -> u64 {
        self.location.resource.original_length
    }

    /// The resource's path in the package.
    pub fn path(&self) -> &str {
        &self.location.resource.path
    }

    /// Reads up to `out.len()` bytes at `offset` into `out`; returns how many (0 at or
    /// past the end). `cancelled` is asked before each chunk is decrypted: when it
    /// answers true the read stops with [`PackageError::Cancelled`].
    pub fn read_at(
        &mut self,
        offset: u64,
        out: &mut [u8],
        cancelled: &dyn Fn() -> bool,
    ) -> Result<usize> {
        let length = self.length();
        if offset >= length || out.is_empty() {
            return Ok(0);
        }
        let wanted = out
            .len()
            .min(usize::try_from(length - offset).unwrap_or(usize::MAX));
        let mut done = 0usize;
        while done < wanted {
            let position = offset + done as u64;
            let index = position / CHUNK_SIZE as u64;
            if self.cached != Some(index) {
                if cancelled() {
                    return Err(PackageError::Cancelled);
                }
                self.load(index)?;
            }
            let within = (position - index * CHUNK_SIZE as u64) as usize;
            let available = self.cached_len.saturating_sub(within);
            if available == 0 {
                // A chunk shorter than the manifest's length says: damaged.
                return Err(PackageError::Corrupt(format!(
                    "{}: chunk {index} is short",
                    self.path()
                )));
            }
            let n = available.min(wanted - done);
            out[done..done + n].copy_from_slice(&self.buffer[within..within + n]);
            done += n;
        }
        Ok(done)
    }

    /// Decrypts chunk `index` into the buffer (the cache).
    fn load(&mut self, index: u64) -> Result<()> {
        self.cached = None;
        let full = ENCRYPTED_CHUNK_SIZE as u64;
        let resource = &self.location.resource;
        let stored = (resource.encrypted_length - index * full).min(full) as usize;
        let at = self
            .location
            .data_start
            .checked_add(index * full)
            .ok_or_else(|| PackageError::Corrupt("offset overflow".into()))?;
        self.source.seek(SeekFrom::Start(at))?;
        self.source
            .read_exact(&mut self.buffer[..stored])
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::UnexpectedEof => {
                    PackageError::Corrupt(format!("{}: truncated", resource.path))
                }
                _ => PackageError::Io(e),
            })?;
        let plain = stream::open_chunk(
            &self.key,
            &resource.nonce_prefix,
            index,
            index + 1 == self.count,
            &self.aad,
            &mut self.buffer[..stored],
        )
        .map_err(|_| {
            PackageError::Corrupt(format!(
                "{}: chunk {index} failed authentication",
                resource.path
            ))
        })?;
        self.cached_len = plain.len();
        self.cached = Some(index);
        Ok(())
    }
}
