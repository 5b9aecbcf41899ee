//! Encrypting and decrypting one resource as a chunk stream, independent of the ZIP
//! container around it.

use std::io::{self, Read, Seek, SeekFrom, Write};

use flate2::write::{DeflateDecoder, DeflateEncoder};
use ring::aead::LessSafeKey;
use ring::rand::SecureRandom;

use super::manifest::{Compression, EncryptedResource};
use super::stream::{self, CHUNK_SIZE, ChunkSealer, ENCRYPTED_CHUNK_SIZE};
use super::{PackageError, Result};
use crate::crypto::{ContentKey, KeyError, aead};

/// Encrypts `original_length` bytes from `source` as the resource at `path`, writing the
/// chunk stream to `out`; `progress` hears the bytes read so far. Memory: one chunk
/// (plus the DEFLATE state for text).
#[allow(clippy::too_many_arguments)]
pub fn encrypt_resource(
    content_key: &ContentKey,
    path: &str,
    compression: Compression,
    original_length: u64,
    source: &mut dyn Read,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> Result<EncryptedResource> {
    let key = aead::key(content_key.expose_secret())?;
    let mut prefix = [0u8; 7];
    ring::rand::SystemRandom::new()
        .fill(&mut prefix)
        .map_err(|_| KeyError::Random)?;
    encrypt_with(
        &key,
        prefix,
        path,
        compression,
        original_length,
        source,
        out,
        progress,
    )
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn encrypt_with(
    key: &LessSafeKey,
    prefix: [u8; 7],
    path: &str,
    compression: Compression,
    original_length: u64,
    source: &mut dyn Read,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> Result<EncryptedResource> {
    let sealer = ChunkSealer::new(
        key,
        prefix,
        stream::chunk_aad(path, compression, original_length),
        out,
    );
    let read_error =
        |e: io::Error| PackageError::InvalidEpub(format!("{path} cannot be read: {e}"));
    let mut read_total = 0u64;
    let encrypted_length = match compression {
        Compression::None => {
            // Read straight into the chunk buffer: no intermediate copy.
            let mut sealer = sealer;
            loop {
                let n = sealer.fill_from(source).map_err(read_error)?;
                if n == 0 {
                    break;
                }
                read_total += n as u64;
                progress(read_total);
            }
            sealer.finish()?.1
        }
        Compression::Deflate => {
            let mut encoder = DeflateEncoder::new(sealer, flate2::Compression::default());
            let mut buffer = vec![0u8; CHUNK_SIZE];
            loop {
                let n = source.read(&mut buffer).map_err(read_error)?;
                if n == 0 {
                    break;
                }
                encoder.write_all(&buffer[..n])?;
                read_total += n as u64;
                progress(read_total);
            }
            encoder.finish()?.finish()?.1
        }
    };
    if read_total != original_length {
        return Err(PackageError::InvalidEpub(format!(
            "{path} holds {read_total} bytes but the archive says {original_length}"
        )));
    }
    Ok(EncryptedResource {
        path: path.to_owned(),
        media_type: None,
        compression,
        original_length,
        encrypted_length,
        nonce_prefix: prefix,
        deobfuscated: false,
    })
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

/// Copies `[start, end)` of `source` (a plain entry) to `out`.
pub(crate) fn copy_plain_range(
    source: &mut dyn Read,
    start: u64,
    end: u64,
    out: &mut dyn Write,
) -> Result<()> {
    let mut sink = RangeSink {
        start,
        end,
        position: 0,
        out,
    };
    io::copy(&mut source.take(end), &mut sink)?;
    Ok(())
}

/// Decrypts bytes `[start, end)` of `resource` from its chunk stream `encrypted` to
/// `out`. For an uncompressed resource only the chunks covering the range are read;
/// a compressed one is decrypted and inflated from its start (text is small).
pub fn decrypt_resource_range(
    content_key: &ContentKey,
    resource: &EncryptedResource,
    encrypted: &mut (impl Read + Seek),
    start: u64,
    end: u64,
    out: &mut dyn Write,
) -> Result<()> {
    decrypt_with(
        &aead::key(content_key.expose_secret())?,
        resource,
        encrypted,
        start,
        end,
        out,
    )
}

pub(crate) fn decrypt_with(
    key: &LessSafeKey,
    resource: &EncryptedResource,
    encrypted: &mut (impl Read + Seek),
    start: u64,
    end: u64,
    out: &mut dyn Write,
) -> Result<()> {
    let path = &resource.path;
    let length = resource.original_length;
    if start > end || end > length {
        return Err(PackageError::Range { start, end, length });
    }
    let chunks = stream::chunk_count(resource.encrypted_length)?;
    if resource.compression == Compression::None
        && resource.encrypted_length != stream::encrypted_length(length)
    {
        return Err(PackageError::Corrupt(format!(
            "{path}: lengths in the manifest disagree"
        )));
    }
    let stored_length = encrypted.seek(SeekFrom::End(0))?;
    if stored_length != resource.encrypted_length {
        return Err(PackageError::Corrupt(format!(
            "{path}: {stored_length} bytes stored, manifest says {}",
            resource.encrypted_length
        )));
    }
    if start == end && resource.compression == Compression::None {
        return Ok(());
    }
    let aad = stream::chunk_aad(path, resource.compression, length);
    let mut buffer = vec![0u8; ENCRYPTED_CHUNK_SIZE];
    let mut open = |index: u64, buffer: &mut [u8]| -> Result<usize> {
        let offset = index * ENCRYPTED_CHUNK_SIZE as u64;
        let len = (resource.encrypted_length - offset).min(ENCRYPTED_CHUNK_SIZE as u64) as usize;
        encrypted.seek(SeekFrom::Start(offset))?;
        encrypted
            .read_exact(&mut buffer[..len])
            .map_err(|_| PackageError::Corrupt(format!("{path}: truncated")))?;
        let plain = stream::open_chunk(
            key,
            &resource.nonce_prefix,
            index,
            index + 1 == chunks,
            &aad,
            &mut buffer[..len],
        )?;
        Ok(plain.len())
    };

    match resource.compression {
        Compression::None => {
            let chunk = CHUNK_SIZE as u64;
            let (first, last) = (start / chunk, (end - 1) / chunk);
            for index in first..=last {
                let plain_len = open(index, &mut buffer)? as u64;
                let base = index * chunk;
                let lo = (start.max(base) - base) as usize;
                let hi = (end.min(base + plain_len) - base) as usize;
                out.write_all(&buffer[lo..hi])?;
            }
        }
        Compression::Deflate => {
            let mut sink = RangeSink {
                start,
                end,
                position: 0,
                out,
            };
            let bad =
                |e: io::Error| PackageError::Corrupt(format!("{path}: bad compressed data: {e}"));
            let mut decoder = DeflateDecoder::new(&mut sink);
            for index in 0..chunks {
                let plain_len = open(index, &mut buffer)?;
                decoder.write_all(&buffer[..plain_len]).map_err(bad)?;
            }
            decoder.try_finish().map_err(bad)?;
            drop(decoder);
            if sink.position != length {
                return Err(PackageError::Corrupt(format!(
                    "{path}: decompressed to {} bytes, manifest says {length}",
                    sink.position
                )));
            }
        }
    }
    Ok(())
}
