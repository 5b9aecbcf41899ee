//! Random-access reading of an encrypted package.

use std::collections::HashMap;
use std::io::{self, Read, Seek, SeekFrom, Write};

use flate2::write::DeflateDecoder;
use ring::aead::LessSafeKey;
use subtle::ConstantTimeEq;
use zip::ZipArchive;

use super::manifest::{Compression, EncryptedResource, MANIFEST_PATH, Manifest};
use super::stream::{self, ENCRYPTED_CHUNK_SIZE};
use super::{PackageError, Result};
use crate::crypto::{ContentKey, aead};

/// Largest clear entry returned whole (the OPF and navigation documents are far smaller).
const MAX_CLEAR_ENTRY: u64 = 64 << 20;

/// Reads resources of an encrypted package, decrypting on demand with bounded memory.
pub struct PackageReader<R: Read + Seek> {
    archive: ZipArchive<R>,
    manifest: Manifest,
    index: HashMap<String, usize>,
    key: LessSafeKey,
}

impl<R: Read + Seek> std::fmt::Debug for PackageReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackageReader")
            .field("resources", &self.manifest.resources.len())
            .finish_non_exhaustive()
    }
}

/// Collects the bytes of `[start, end)` of a stream written through it.
struct RangeSink<'a> {
    start: u64,
    end: u64,
    position: u64,
    out: &'a mut dyn Write,
}

impl Write for RangeSink<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let from = self.position;
        let to = from + data.len() as u64;
        let lo = self.start.max(from);
        let hi = self.end.min(to);
        if lo < hi {
            self.out
                .write_all(&data[(lo - from) as usize..(hi - from) as usize])?;
        }
        self.position = to;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl<R: Read + Seek> PackageReader<R> {
    /// Opens a package. Fails with [`PackageError::WrongKey`] if `content_key` is not
    /// its key, [`PackageError::Corrupt`] if the manifest is unreadable.
    pub fn open(reader: R, content_key: &ContentKey) -> Result<Self> {
        let mut archive = ZipArchive::new(reader)
            .map_err(|e| PackageError::Corrupt(format!("not a ZIP archive: {e}")))?;
        let mut bytes = Vec::new();
        archive
            .by_name(MANIFEST_PATH)
            .map_err(|_| PackageError::Corrupt("no encryption manifest".into()))?
            .take(MAX_CLEAR_ENTRY)
            .read_to_end(&mut bytes)?;
        let manifest = Manifest::parse(&bytes)?;
        let key = aead::key(content_key.expose_secret()).map_err(|_| PackageError::WrongKey)?;
        let check = stream::key_check(&key)?;
        if !bool::from(check.ct_eq(&manifest.key_check)) {
            return Err(PackageError::WrongKey);
        }
        let index = manifest
            .resources
            .iter()
            .enumerate()
            .map(|(i, r)| (r.path.clone(), i))
            .collect();
        Ok(Self {
            archive,
            manifest,
            index,
            key,
        })
    }

    /// The encryption manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Every file in the package (clear and encrypted).
    pub fn paths(&self) -> Vec<String> {
        self.archive
            .file_names()
            .filter_map(|name| name.ok())
            .filter(|name| !name.ends_with('/'))
            .map(|name| name.into_owned())
            .collect()
    }

    /// Whether `path` is encrypted.
    pub fn is_encrypted(&self, path: &str) -> bool {
        self.index.contains_key(path)
    }

    /// The length of the resource at `path` once decrypted.
    pub fn length(&mut self, path: &str) -> Result<u64> {
        match self.resource(path) {
            Some(resource) => Ok(resource.original_length),
            None => Ok(self.clear_entry_size(path)?),
        }
    }

    /// The whole resource at `path`, decrypted.
    pub fn read(&mut self, path: &str) -> Result<Vec<u8>> {
        let length = self.length(path)?;
        let mut out = Vec::with_capacity(usize::try_from(length.min(MAX_CLEAR_ENTRY)).unwrap_or(0));
        self.copy_range_to(path, 0, length, &mut out)?;
        Ok(out)
    }

    /// Bytes `start..end` of the resource at `path`, decrypted. For an uncompressed
    /// resource only the chunks covering the range are read.
    pub fn read_range(&mut self, path: &str, start: u64, end: u64) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(usize::try_from(end.saturating_sub(start)).unwrap_or(0));
        self.copy_range_to(path, start, end, &mut out)?;
        Ok(out)
    }

    /// Streams the whole decrypted resource to `out` (bounded memory, any size).
    pub fn copy_to(&mut self, path: &str, out: &mut dyn Write) -> Result<u64> {
        let length = self.length(path)?;
        self.copy_range_to(path, 0, length, out)?;
        Ok(length)
    }

    /// Gives back the underlying reader.
    pub fn into_inner(self) -> R {
        self.archive.into_inner()
    }

    fn resource(&self, path: &str) -> Option<EncryptedResource> {
        self.index
            .get(path)
            .map(|i| self.manifest.resources[*i].clone())
    }

    fn clear_entry_size(&mut self, path: &str) -> Result<u64> {
        match self.archive.by_name(path) {
            Ok(entry) if entry.is_file() => Ok(entry.size()),
            _ => Err(PackageError::NotFound(path.to_owned())),
        }
    }

    fn copy_range_to(
        &mut self,
        path: &str,
        start: u64,
        end: u64,
        out: &mut dyn Write,
    ) -> Result<()> {
        let length = self.length(path)?;
        if start > end || end > length {
            return Err(PackageError::Range { start, end, length });
        }
        let Some(resource) = self.resource(path) else {
            let entry = self
                .archive
                .by_name(path)
                .map_err(|_| PackageError::NotFound(path.to_owned()))?;
            let mut sink = RangeSink {
                start,
                end,
                position: 0,
                out,
            };
            io::copy(&mut entry.take(end), &mut sink)?;
            return Ok(());
        };
        if start == end && resource.compression == Compression::None {
            return Ok(());
        }
        let chunks = stream::chunk_count(resource.encrypted_length)?;
        let consistent = match resource.compression {
            Compression::None => {
                resource.encrypted_length == stream::encrypted_length(resource.original_length)
            }
            Compression::Deflate => true,
        };
        if !consistent {
            return Err(PackageError::Corrupt(format!(
                "{path}: lengths in the manifest disagree"
            )));
        }
        let aad = stream::chunk_aad(
            &resource.path,
            resource.compression,
            resource.original_length,
        );
        let key = &self.key;
        let mut entry = self
            .archive
            .by_name_seek(path)
            .map_err(|e| PackageError::Corrupt(format!("{path}: {e}")))?;
        let stored_length = entry.seek(SeekFrom::End(0))?;
        if stored_length != resource.encrypted_length {
            return Err(PackageError::Corrupt(format!(
                "{path}: {stored_length} bytes stored, manifest says {}",
                resource.encrypted_length
            )));
        }

        let mut buffer = vec![0u8; ENCRYPTED_CHUNK_SIZE];
        let source = ChunkSource {
            key,
            resource: &resource,
            aad: &aad,
            chunks,
        };
        match resource.compression {
            Compression::None => {
                let chunk = stream::CHUNK_SIZE as u64;
                let (first, last) = (start / chunk, (end - 1) / chunk);
                for index in first..=last {
                    let plain = source.open(index, &mut entry, &mut buffer)?;
                    let base = index * chunk;
                    let lo = (start.max(base) - base) as usize;
                    let hi = (end.min(base + plain.len() as u64) - base) as usize;
                    out.write_all(&plain[lo..hi])?;
                }
            }
            Compression::Deflate => {
                let mut sink = RangeSink {
                    start,
                    end,
                    position: 0,
                    out,
                };
                let mut decoder = DeflateDecoder::new(&mut sink);
                for index in 0..chunks {
                    let plain = source.open(index, &mut entry, &mut buffer)?;
                    decoder.write_all(&plain).map_err(|e| {
                        PackageError::Corrupt(format!("{path}: bad compressed data: {e}"))
                    })?;
                }
                decoder.try_finish().map_err(|e| {
                    PackageError::Corrupt(format!("{path}: bad compressed data: {e}"))
                })?;
                drop(decoder);
                if sink.position != resource.original_length {
                    return Err(PackageError::Corrupt(format!(
                        "{path}: decompressed to {} bytes, manifest says {}",
                        sink.position, resource.original_length
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Reads and authenticates single chunks of one resource.
struct ChunkSource<'a> {
    key: &'a LessSafeKey,
    resource: &'a EncryptedResource,
    aad: &'a [u8],
    chunks: u64,
}

impl ChunkSource<'_> {
    /// Decrypts chunk `index` into `buffer` and returns its plaintext.
    fn open<'b>(&self, index: u64, entry: &mut (impl Read + Seek), buffer: &'b mut [u8]) -> Result<&'b mut [u8]> {
        let offset = index * ENCRYPTED_CHUNK_SIZE as u64;
        let len = (self.resource.encrypted_length - offset).min(ENCRYPTED_CHUNK_SIZE as u64) as usize;
        entry.seek(SeekFrom::Start(offset))?;
        entry
            .read_exact(&mut buffer[..len])
            .map_err(|_| PackageError::Corrupt(format!("{}: truncated", self.resource.path)))?;
        stream::open_chunk(
            self.key,
            &self.resource.nonce_prefix,
            index,
            index + 1 == self.chunks,
            self.aad,
            &mut buffer[..len],
        )
    }
}
