//! Encrypting and decrypting one resource as a chunk stream, independent of the ZIP
//! container around it.

use std::io::{self, Read, Seek, SeekFrom, Write};

use flate2::write::{DeflateDecoder, DeflateEncoder};
use ring::aead::LessSafeKey;
use ring::rand::SecureRandom;

use super::manifest::{Compression, EncryptedResource};
use super::pipeline::{self, EncryptOptions, StreamKey};
use super::stream::{self, CHUNK_SIZE, ChunkSealer, ENCRYPTED_CHUNK_SIZE};
use super::{PackageError, Result};
use crate::crypto::{ContentKey, KeyError, aead};

/// Encrypts `original_length` bytes from `source` as the resource at `path`, writing the
/// chunk stream to `out`; `progress` hears the bytes read so far. An uncompressed
/// resource is sealed on up to `options.threads()` threads; memory is one batch of
/// chunks per thread (plus the DEFLATE state for text).
#[allow(clippy::too_many_arguments)]
pub fn encrypt_resource(
    content_key: &ContentKey,
    path: &str,
    compression: Compression,
    original_length: u64,
    source: &mut (dyn Read + Send),
    out: &mut (dyn Write + Send),
    options: &EncryptOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<EncryptedResource> {
    let key = aead::key(content_key.expose_secret())?;
    let mut prefix = [0u8; 7];
    ring::rand::SystemRandom::new()
        .fill(&mut prefix)
        .map_err(|_| KeyError::Random)?;
    let spec = ResourceSpec {
        path,
        compression,
        original_length,
        prefix,
    };
    encrypt_with(&key, &spec, source, out, options, progress)
}

/// What is encrypted and how: the parts of a resource bound into every chunk.
pub(crate) struct ResourceSpec<'a> {
    pub path: &'a str,
    pub compression: Compression,
    pub original_length: u64,
    pub prefix: [u8; 7],
}

pub(crate) fn encrypt_with(
    key: &LessSafeKey,
    spec: &ResourceSpec<'_>,
    source: &mut (dyn Read + Send),
    out: &mut (dyn Write + Send),
    options: &EncryptOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<EncryptedResource> {
    let &ResourceSpec {
        path,
        compression,
        original_length,
        prefix,
    } = spec;
    let aad = stream::chunk_aad(path, compression, original_length);
    let read_error =
        |e: io::Error| PackageError::InvalidEpub(format!("{path} cannot be read: {e}"));
    let (read_total, encrypted_length) = match compression {
        Compression::None => {
            let sealed = pipeline::seal_stream(
                StreamKey {
                    key,
                    prefix,
                    aad: &aad,
                },
                &mut MarkSourceErrors(source),
                out,
                original_length,
                options.threads(),
                progress,
            )
            .map_err(|e| {
                if SourceError::is(&e) {
                    read_error(e)
                } else {
                    PackageError::Io(e)
                }
            })?;
            (sealed.read, sealed.written)
        }
        Compression::Deflate => {
            let sealer = ChunkSealer::new(key, prefix, aad, out);
            let mut encoder = DeflateEncoder::new(sealer, flate2::Compression::default());
            let mut buffer = vec![0u8; CHUNK_SIZE];
            let mut read_total = 0u64;
            loop {
                let n = source.read(&mut buffer).map_err(read_error)?;
                if n == 0 {
                    break;
                }
                encoder.write_all(&buffer[..n])?;
                read_total += n as u64;
                progress(read_total);
            }
            (read_total, encoder.finish()?.finish()?.1)
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

/// An error from the source (a bad EPUB), told apart from one from the output (a full
/// disk) once both have passed through the sealing workers.
#[derive(Debug)]
struct SourceError(io::Error);

impl SourceError {
    fn is(error: &io::Error) -> bool {
        error
            .get_ref()
            .is_some_and(|inner| inner.downcast_ref::<SourceError>().is_some())
    }
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SourceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

struct MarkSourceErrors<'a>(&'a mut (dyn Read + Send));

impl Read for MarkSourceErrors<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|e| match e.kind() {
            io::ErrorKind::Interrupted => e,
            kind => io::Error::new(kind, SourceError(e)),
        })
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

/// The chunks `[first, last]` covering plaintext `[start, end)` of an uncompressed
/// resource, with `start < end`.
fn covering(start: u64, end: u64) -> std::ops::RangeInclusive<u64> {
    let chunk = CHUNK_SIZE as u64;
    start / chunk..=(end - 1) / chunk
}

/// The chunk stream of one resource, positioned by chunk.
struct Chunks<'a, R: Read + Seek> {
    key: &'a LessSafeKey,
    resource: &'a EncryptedResource,
    encrypted: &'a mut R,
    aad: Vec<u8>,
    count: u64,
    /// Where the stream is, to skip seeks between consecutive chunks.
    position: Option<u64>,
}

impl<'a, R: Read + Seek> Chunks<'a, R> {
    /// Checks a request for `[start, end)` against the manifest entry and the stored
    /// length.
    fn new(
        key: &'a LessSafeKey,
        resource: &'a EncryptedResource,
        encrypted: &'a mut R,
        start: u64,
        end: u64,
    ) -> Result<Self> {
        let path = &resource.path;
        let length = resource.original_length;
        if start > end || end > length {
            return Err(PackageError::Range { start, end, length });
        }
        let count = stream::chunk_count(resource.encrypted_length)?;
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
        Ok(Self {
            key,
            resource,
            encrypted,
            aad: stream::chunk_aad(path, resource.compression, length),
            count,
            position: None,
        })
    }

    /// The encrypted length of chunk `index`.
    fn stored_len(&self, index: u64) -> usize {
        let offset = index * ENCRYPTED_CHUNK_SIZE as u64;
        (self.resource.encrypted_length - offset).min(ENCRYPTED_CHUNK_SIZE as u64) as usize
    }

    /// Reads chunk `index` into the front of `buffer` (at least [`Self::stored_len`]
    /// bytes long) and decrypts it in place; returns the plaintext length.
    fn open(&mut self, index: u64, buffer: &mut [u8]) -> Result<usize> {
        let buffer = &mut buffer[..self.stored_len(index)];
        let path = &self.resource.path;
        let offset = index * ENCRYPTED_CHUNK_SIZE as u64;
        if self.position != Some(offset) {
            self.encrypted.seek(SeekFrom::Start(offset))?;
        }
        self.position = None;
        self.encrypted
            .read_exact(buffer)
            .map_err(|_| PackageError::Corrupt(format!("{path}: truncated")))?;
        self.position = Some(offset + buffer.len() as u64);
        let plain = stream::open_chunk(
            self.key,
            &self.resource.nonce_prefix,
            index,
            index + 1 == self.count,
            &self.aad,
            buffer,
        )?;
        Ok(plain.len())
    }

    /// [`Self::open`], then where the part of the chunk inside plaintext `[start, end)`
    /// of an uncompressed resource lies in `buffer`.
    fn open_part(
        &mut self,
        index: u64,
        buffer: &mut [u8],
        start: u64,
        end: u64,
    ) -> Result<std::ops::Range<usize>> {
        let plain_len = self.open(index, buffer)? as u64;
        let base = index * CHUNK_SIZE as u64;
        let lo = start.max(base) - base;
        let hi = end.min(base + plain_len) - base;
        Ok(lo as usize..hi as usize)
    }

    /// Decrypts and inflates a compressed resource from its start, passing
    /// `[start, end)` of the text to `out`.
    fn inflate_to(&mut self, start: u64, end: u64, out: &mut dyn Write) -> Result<()> {
        let path = self.resource.path.clone();
        let length = self.resource.original_length;
        let mut sink = RangeSink {
            start,
            end,
            position: 0,
            out,
        };
        let bad = |e: io::Error| PackageError::Corrupt(format!("{path}: bad compressed data: {e}"));
        let mut buffer = vec![0u8; ENCRYPTED_CHUNK_SIZE];
        let mut decoder = DeflateDecoder::new(&mut sink);
        for index in 0..self.count {
            let plain_len = self.open(index, &mut buffer)?;
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
        Ok(())
    }
}

pub(crate) fn decrypt_with(
    key: &LessSafeKey,
    resource: &EncryptedResource,
    encrypted: &mut (impl Read + Seek),
    start: u64,
    end: u64,
    out: &mut dyn Write,
) -> Result<()> {
    let mut chunks = Chunks::new(key, resource, encrypted, start, end)?;
    match resource.compression {
        Compression::None if start == end => Ok(()),
        Compression::None => {
            let mut buffer = vec![0u8; ENCRYPTED_CHUNK_SIZE];
            for index in covering(start, end) {
                let part = chunks.open_part(index, &mut buffer, start, end)?;
                out.write_all(&buffer[part])?;
            }
            Ok(())
        }
        Compression::Deflate => chunks.inflate_to(start, end, out),
    }
}

/// Decrypts bytes `[start, end)` of `resource` into a new vector. An uncompressed
/// resource's chunks are read straight into the vector and opened there, so each byte
/// is copied once.
pub(crate) fn decrypt_to_vec(
    key: &LessSafeKey,
    resource: &EncryptedResource,
    encrypted: &mut (impl Read + Seek),
    start: u64,
    end: u64,
) -> Result<Vec<u8>> {
    let mut chunks = Chunks::new(key, resource, encrypted, start, end)?;
    let wanted = usize::try_from(end - start).map_err(|_| PackageError::Range {
        start,
        end,
        length: resource.original_length,
    })?;
    match resource.compression {
        Compression::None if start == end => Ok(Vec::new()),
        Compression::None => {
            // Each chunk is read whole after what is kept so far, so the vector never
            // holds more than the range and one encrypted chunk.
            let mut out = Vec::with_capacity(wanted + ENCRYPTED_CHUNK_SIZE);
            for index in covering(start, end) {
                let pos = out.len();
                out.resize(pos + chunks.stored_len(index), 0);
                let part = chunks.open_part(index, &mut out[pos..], start, end)?;
                let kept = part.len();
                if part.start > 0 {
                    // Only the first chunk of a range can start inside it.
                    out.copy_within(pos + part.start..pos + part.end, pos);
                }
                out.truncate(pos + kept);
            }
            Ok(out)
        }
        Compression::Deflate => {
            // The manifest's length is not bounded by the stored bytes here (text
            // compresses), so the vector grows as the text inflates.
            let mut out = Vec::with_capacity(wanted.min(MAX_PREALLOCATION));
            chunks.inflate_to(start, end, &mut out)?;
            Ok(out)
        }
    }
}

/// Most bytes reserved ahead for text whose length only the manifest states.
const MAX_PREALLOCATION: usize = 16 << 20;
