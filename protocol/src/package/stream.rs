//! The chunked AEAD stream (STREAM construction over AES-256-GCM).

use std::io::{self, Write};

use ring::aead::{Aad, LessSafeKey, NONCE_LEN, Nonce};

use super::manifest::Compression;
use super::{PackageError, Result};
use crate::crypto::aead::TAG_LEN;

/// Plaintext bytes per chunk.
pub const CHUNK_SIZE: usize = 64 * 1024;
/// Bytes per encrypted chunk (ciphertext and tag); only the last chunk may be shorter.
pub const ENCRYPTED_CHUNK_SIZE: usize = CHUNK_SIZE + TAG_LEN;

const FLAG_MORE: u8 = 0x01;
const FLAG_LAST: u8 = 0x02;

/// `prefix ‖ counter (big-endian) ‖ flag`. The flag is never zero, so no chunk nonce
/// equals the all-zero nonce reserved for the key check.
pub(crate) fn nonce(prefix: &[u8; 7], counter: u32, last: bool) -> Nonce {
    let mut bytes = [0u8; NONCE_LEN];
    bytes[..7].copy_from_slice(prefix);
    bytes[7..11].copy_from_slice(&counter.to_be_bytes());
    bytes[11] = if last { FLAG_LAST } else { FLAG_MORE };
    Nonce::assume_unique_for_key(bytes)
}

/// Binds every chunk to its resource: path, compression and original length.
pub(crate) fn chunk_aad(path: &str, compression: Compression, original_length: u64) -> Vec<u8> {
    let mut aad = Vec::with_capacity(32 + path.len());
    aad.extend_from_slice(b"jieyue/chunk/v1\0");
    aad.extend_from_slice(path.as_bytes());
    aad.push(0);
    aad.push(compression.code());
    aad.extend_from_slice(&original_length.to_be_bytes());
    aad
}

/// The manifest's key check: the tag of the empty message under the all-zero nonce.
pub(crate) fn key_check(key: &LessSafeKey) -> Result<[u8; 16]> {
    let mut empty = [0u8; 0];
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key([0; NONCE_LEN]),
            Aad::from(b"jieyue/key-check/v1"),
            &mut empty,
        )
        .map_err(|_| PackageError::Corrupt("key check".into()))?;
    let mut out = [0u8; 16];
    out.copy_from_slice(tag.as_ref());
    Ok(out)
}

/// How many chunks an encrypted entry of `encrypted_length` bytes holds.
pub(crate) fn chunk_count(encrypted_length: u64) -> Result<u64> {
    let full = ENCRYPTED_CHUNK_SIZE as u64;
    if encrypted_length < TAG_LEN as u64 {
        return Err(PackageError::Corrupt(
            "encrypted resource shorter than one tag".into(),
        ));
    }
    let count = encrypted_length.div_ceil(full);
    let last = encrypted_length - (count - 1) * full;
    if last < TAG_LEN as u64 {
        return Err(PackageError::Corrupt("truncated final chunk".into()));
    }
    Ok(count)
}

/// Length of the encrypted form of `plain_length` bytes: `plain_length / CHUNK_SIZE`
/// full chunks and a final chunk with the rest (possibly empty). Saturates at `u64::MAX`
/// (a length only a hostile manifest claims, and no stored entry has).
pub(crate) fn encrypted_length(plain_length: u64) -> u64 {
    let chunks = plain_length / CHUNK_SIZE as u64 + 1;
    plain_length.saturating_add(chunks * TAG_LEN as u64)
}

/// Decrypts chunk `index` (`data` holds its ciphertext and tag) in place and returns
/// the plaintext.
pub(crate) fn open_chunk<'a>(
    key: &LessSafeKey,
    prefix: &[u8; 7],
    index: u64,
    last: bool,
    aad: &[u8],
    data: &'a mut [u8],
) -> Result<&'a mut [u8]> {
    let counter =
        u32::try_from(index).map_err(|_| PackageError::Corrupt("too many chunks".into()))?;
    key.open_in_place(nonce(prefix, counter, last), Aad::from(aad), data)
        .map_err(|_| PackageError::Corrupt(format!("chunk {index} failed authentication")))
}

/// A `Write` that encrypts what passes through it into chunks, for streams produced
/// piecewise (the DEFLATE encoder's output). Memory: one chunk.
pub(crate) struct ChunkSealer<'k, W: Write> {
    key: &'k LessSafeKey,
    prefix: [u8; 7],
    aad: Vec<u8>,
    counter: u32,
    /// Always `ENCRYPTED_CHUNK_SIZE` long; `filled` bytes of plaintext are pending.
    buf: Box<[u8]>,
    filled: usize,
    out: W,
    written: u64,
}

impl<'k, W: Write> ChunkSealer<'k, W> {
    pub(crate) fn new(key: &'k LessSafeKey, prefix: [u8; 7], aad: Vec<u8>, out: W) -> Self {
        Self {
            key,
            prefix,
            aad,
            counter: 0,
            buf: vec![0u8; ENCRYPTED_CHUNK_SIZE].into_boxed_slice(),
            filled: 0,
            out,
            written: 0,
        }
    }

    fn seal(&mut self, last: bool) -> io::Result<()> {
        let filled = self.filled;
        let tag = self
            .key
            .seal_in_place_separate_tag(
                nonce(&self.prefix, self.counter, last),
                Aad::from(&self.aad),
                &mut self.buf[..filled],
            )
            .map_err(|_| io::Error::other("chunk encryption failed"))?;
        self.buf[filled..filled + TAG_LEN].copy_from_slice(tag.as_ref());
        self.out.write_all(&self.buf[..filled + TAG_LEN])?;
        self.written += (filled + TAG_LEN) as u64;
        self.filled = 0;
        self.counter = self
            .counter
            .checked_add(1)
            .ok_or_else(|| io::Error::other("resource too large for one stream"))?;
        Ok(())
    }

    /// Seals a chunk as soon as it is full. `finish` then seals the remainder, which
    /// may be empty, as the last chunk: a stream of `n` bytes always has
    /// `n / CHUNK_SIZE + 1` chunks.
    fn seal_if_full(&mut self) -> io::Result<()> {
        if self.filled == CHUNK_SIZE {
            self.seal(false)?;
        }
        Ok(())
    }

    /// Seals the last chunk; returns the output and the bytes written.
    pub(crate) fn finish(mut self) -> io::Result<(W, u64)> {
        self.seal(true)?;
        self.out.flush()?;
        Ok((self.out, self.written))
    }
}

impl<W: Write> Write for ChunkSealer<'_, W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        let take = (CHUNK_SIZE - self.filled).min(data.len());
        self.buf[self.filled..self.filled + take].copy_from_slice(&data[..take]);
        self.filled += take;
        self.seal_if_full()?;
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::aead;

    fn key() -> LessSafeKey {
        aead::key(&[9u8; 32]).expect("key")
    }

    fn seal_all(plain: &[u8]) -> Vec<u8> {
        let key = key();
        let mut sealer = ChunkSealer::new(&key, [1; 7], b"aad".to_vec(), Vec::new());
        sealer.write_all(plain).expect("write");
        sealer.finish().expect("finish").0
    }

    fn open_all(sealed: &[u8]) -> Result<Vec<u8>> {
        let key = key();
        let count = chunk_count(sealed.len() as u64)?;
        let mut out = Vec::new();
        for (i, chunk) in sealed.chunks(ENCRYPTED_CHUNK_SIZE).enumerate() {
            let mut data = chunk.to_vec();
            let i = i as u64;
            out.extend_from_slice(open_chunk(
                &key,
                &[1; 7],
                i,
                i + 1 == count,
                b"aad",
                &mut data,
            )?);
        }
        Ok(out)
    }

    #[test]
    fn lengths_at_chunk_boundaries_round_trip() {
        for len in [
            0,
            1,
            CHUNK_SIZE - 1,
            CHUNK_SIZE,
            CHUNK_SIZE + 1,
            3 * CHUNK_SIZE,
        ] {
            let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let sealed = seal_all(&plain);
            assert_eq!(
                sealed.len() as u64,
                encrypted_length(len as u64),
                "length {len}"
            );
            assert_eq!(open_all(&sealed).expect("opens"), plain, "length {len}");
        }
    }

    #[test]
    fn truncation_at_a_chunk_boundary_is_detected() {
        let plain = vec![7u8; 2 * CHUNK_SIZE + 10];
        let sealed = seal_all(&plain);
        // Dropping the final chunk leaves a stream whose new last chunk was sealed as "more".
        let truncated = &sealed[..2 * ENCRYPTED_CHUNK_SIZE];
        assert!(open_all(truncated).is_err());
        // An exact multiple of the chunk size ends with an empty final chunk; dropping
        // it is truncation too.
        let exact = seal_all(&vec![1u8; CHUNK_SIZE * 2]);
        assert_eq!(exact.len(), 2 * ENCRYPTED_CHUNK_SIZE + 16);
        assert!(open_all(&exact[..2 * ENCRYPTED_CHUNK_SIZE]).is_err());
    }

    #[test]
    fn reordered_chunks_are_detected() {
        let plain: Vec<u8> = (0..3 * CHUNK_SIZE).map(|i| (i % 13) as u8).collect();
        let sealed = seal_all(&plain);
        let mut swapped = sealed.clone();
        swapped[..ENCRYPTED_CHUNK_SIZE]
            .copy_from_slice(&sealed[ENCRYPTED_CHUNK_SIZE..2 * ENCRYPTED_CHUNK_SIZE]);
        swapped[ENCRYPTED_CHUNK_SIZE..2 * ENCRYPTED_CHUNK_SIZE]
            .copy_from_slice(&sealed[..ENCRYPTED_CHUNK_SIZE]);
        assert!(open_all(&swapped).is_err());
    }

    #[test]
    fn chunk_count_rejects_impossible_lengths() {
        assert!(chunk_count(0).is_err());
        assert!(chunk_count(15).is_err());
        assert_eq!(chunk_count(16).expect("one empty chunk"), 1);
        assert!(chunk_count(ENCRYPTED_CHUNK_SIZE as u64 + 5).is_err());
        assert_eq!(
            chunk_count(ENCRYPTED_CHUNK_SIZE as u64 + 16).expect("two"),
            2
        );
    }
}
