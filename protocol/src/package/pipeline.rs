//! Sealing an uncompressed resource's chunk stream in batches, on one or more threads.
//!
//! STREAM chunks are independent once their index is known, so a long resource can be
//! sealed by several workers at once. Each worker in turn takes the next batch of
//! plaintext from the source (reads are serialised and read straight into the batch's
//! chunk slots), seals the batch's chunks in place, and waits for its turn to write the
//! batch (writes go out in order, one contiguous write per batch). The copies in and
//! out are spread over the workers along with the cipher, so the ring seal is no longer
//! waiting on them. The caller's thread is always one of the workers; the source and
//! the output are only ever used by one thread at a time.
//!
//! Memory: one batch ([`BATCH_CHUNKS`] encrypted chunks) per worker.

use std::io::{self, Read, Write};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use ring::aead::{Aad, LessSafeKey};

use super::stream::{CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE, nonce};
use crate::crypto::aead::TAG_LEN;

/// Chunks per batch: 512 KiB of plaintext, which stays in a core's L2 cache between the
/// read, the seal and the write.
pub(crate) const BATCH_CHUNKS: usize = 8;
const BATCH_PLAIN: u64 = (BATCH_CHUNKS * CHUNK_SIZE) as u64;

/// Most workers the writer uses by default: beyond this the copies in and out, which
/// are serialised, bound the speed.
const MAX_DEFAULT_THREADS: usize = 4;

/// How the package writer uses the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncryptOptions {
    threads: NonZeroUsize,
    limits: super::check::Limits,
}

impl EncryptOptions {
    /// Seal large resources on up to `threads` threads (the caller's thread included).
    pub fn with_threads(threads: NonZeroUsize) -> Self {
        Self {
            threads,
            limits: super::check::Limits::default(),
        }
    }

    /// The same, with other bounds on what the EPUB may unpack to.
    pub fn with_limits(self, limits: super::check::Limits) -> Self {
        Self { limits, ..self }
    }

    /// The bounds on what the EPUB may unpack to.
    pub fn limits(&self) -> &super::check::Limits {
        &self.limits
    }

    /// Everything on the caller's thread.
    pub fn single_threaded() -> Self {
        Self::with_threads(NonZeroUsize::MIN)
    }

    /// The most threads a resource is sealed on.
    pub fn threads(&self) -> NonZeroUsize {
        self.threads
    }
}

impl Default for EncryptOptions {
    /// As many threads as the machine has cores, at most four.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        Self::with_threads(
            NonZeroUsize::new(cores.min(MAX_DEFAULT_THREADS)).unwrap_or(NonZeroUsize::MIN),
        )
    }
}

/// What sealing a stream did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sealed {
    /// Plaintext bytes read from the source.
    pub read: u64,
    /// Encrypted bytes written.
    pub written: u64,
}

struct Input<'a> {
    source: &'a mut (dyn Read + Send),
    next_batch: u64,
    done: bool,
}

struct Output<'a> {
    out: &'a mut (dyn Write + Send),
    next_batch: u64,
    written: u64,
    error: Option<io::Error>,
}

/// What every chunk of one stream is sealed with.
#[derive(Clone, Copy)]
pub(crate) struct StreamKey<'a> {
    pub key: &'a LessSafeKey,
    /// The resource's nonce prefix.
    pub prefix: [u8; 7],
    /// The resource's chunk AAD.
    pub aad: &'a [u8],
}

struct Shared<'a> {
    stream: StreamKey<'a>,
    /// Chunks per batch for this stream: [`BATCH_CHUNKS`], or fewer for a short
    /// resource (whose buffer need not be a whole batch). The same for every worker, as
    /// chunk counters are `batch index × batch_chunks + slot`.
    batch_chunks: usize,
    input: Mutex<Input<'a>>,
    output: Mutex<Output<'a>>,
    /// Signalled whenever a batch is written or the stream fails.
    turn: Condvar,
    /// Set on the first failure: no worker reads another batch.
    stop: AtomicBool,
    read: AtomicU64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A worker that panicked cannot leave the state half-changed in a way that matters
    // here: `Shared::fail` is how failures are reported, and the panic itself reaches the
    // caller when the scope joins.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Reads until `slot` is full or the source ends; returns the bytes read.
fn fill(source: &mut dyn Read, slot: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < slot.len() {
        match source.read(&mut slot[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// A batch read from the source: its index and how many bytes of it to write once sealed.
struct Batch {
    index: u64,
    /// Plaintext length of each chunk read; only the last may be short.
    lengths: [usize; BATCH_CHUNKS],
    chunks: usize,
    /// Whether the batch holds the stream's last chunk.
    last: bool,
}

impl Shared<'_> {
    fn fail(&self, error: io::Error) {
        self.stop.store(true, Ordering::SeqCst);
        let mut output = lock(&self.output);
        if output.error.is_none() {
            output.error = Some(error);
        }
        drop(output);
        self.turn.notify_all();
    }

    /// Takes the next batch from the source into `buffer`, or `None` at the end.
    fn read_batch(&self, buffer: &mut [u8]) -> Option<Batch> {
        let mut input = lock(&self.input);
        if input.done || self.stop.load(Ordering::SeqCst) {
            return None;
        }
        let mut batch = Batch {
            index: input.next_batch,
            lengths: [0; BATCH_CHUNKS],
            chunks: 0,
            last: false,
        };
        input.next_batch += 1;
        let mut read = 0u64;
        for (j, length) in batch.lengths[..self.batch_chunks].iter_mut().enumerate() {
            let start = j * ENCRYPTED_CHUNK_SIZE;
            match fill(input.source, &mut buffer[start..start + CHUNK_SIZE]) {
                Ok(n) => {
                    *length = n;
                    batch.chunks += 1;
                    read += n as u64;
                    if n < CHUNK_SIZE {
                        // Only the last chunk is short (possibly empty).
                        batch.last = true;
                        input.done = true;
                        break;
                    }
                }
                Err(e) => {
                    input.done = true;
                    drop(input);
                    self.fail(e);
                    return None;
                }
            }
        }
        self.read.fetch_add(read, Ordering::SeqCst);
        Some(batch)
    }

    /// Seals the batch's chunks in place; returns the encrypted length.
    fn seal_batch(&self, batch: &Batch, buffer: &mut [u8]) -> io::Result<usize> {
        let mut end = 0;
        for (j, &length) in batch.lengths[..batch.chunks].iter().enumerate() {
            let counter = batch
                .index
                .checked_mul(self.batch_chunks as u64)
                .and_then(|first| first.checked_add(j as u64))
                .and_then(|counter| u32::try_from(counter).ok())
                .ok_or_else(|| io::Error::other("resource too large for one stream"))?;
            let last = batch.last && j + 1 == batch.chunks;
            let start = j * ENCRYPTED_CHUNK_SIZE;
            let tag = self
                .stream
                .key
                .seal_in_place_separate_tag(
                    nonce(&self.stream.prefix, counter, last),
                    Aad::from(self.stream.aad),
                    &mut buffer[start..start + length],
                )
                .map_err(|_| io::Error::other("chunk encryption failed"))?;
            buffer[start + length..start + length + TAG_LEN].copy_from_slice(tag.as_ref());
            end = start + length + TAG_LEN;
        }
        Ok(end)
    }

    /// Waits for the batch's turn and writes it. False if the stream failed.
    fn write_batch(&self, index: u64, bytes: &[u8]) -> bool {
        let mut output = lock(&self.output);
        while output.next_batch != index && output.error.is_none() {
            output = self
                .turn
                .wait(output)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if output.error.is_some() {
            return false;
        }
        let result = output.out.write_all(bytes);
        match result {
            Ok(()) => {
                output.written += bytes.len() as u64;
                output.next_batch += 1;
                drop(output);
                self.turn.notify_all();
                true
            }
            Err(e) => {
                drop(output);
                self.fail(e);
                false
            }
        }
    }

    /// One worker: read, seal, write, until the stream ends or fails. `after_batch`
    /// hears the bytes read so far after each of this worker's batches.
    fn work(&self, after_batch: &mut dyn FnMut(u64)) {
        // If the source or the output panics, the other workers must not wait for this
        // worker's turn forever: the guard fails the stream as the panic unwinds.
        struct FailOnUnwind<'s, 'a>(&'s Shared<'a>);
        impl Drop for FailOnUnwind<'_, '_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    self.0.fail(io::Error::other("a sealing worker panicked"));
                }
            }
        }
        let _guard = FailOnUnwind(self);

        let mut buffer = vec![0u8; self.batch_chunks * ENCRYPTED_CHUNK_SIZE];
        while let Some(batch) = self.read_batch(&mut buffer) {
            let end = match self.seal_batch(&batch, &mut buffer) {
                Ok(end) => end,
                Err(e) => {
                    self.fail(e);
                    return;
                }
            };
            if !self.write_batch(batch.index, &buffer[..end]) {
                return;
            }
            after_batch(self.read.load(Ordering::SeqCst));
        }
    }
}

/// Seals everything `source` yields as one chunk stream written to `out`, on up to
/// `threads` threads. `expected_length` (the source's declared length) only decides how
/// many threads are worth starting. `progress` hears the bytes read so far, on the
/// caller's thread.
pub(crate) fn seal_stream(
    stream: StreamKey<'_>,
    source: &mut (dyn Read + Send),
    out: &mut (dyn Write + Send),
    expected_length: u64,
    threads: NonZeroUsize,
    progress: &mut dyn FnMut(u64),
) -> io::Result<Sealed> {
    let batches = expected_length / BATCH_PLAIN + 1;
    let workers = usize::try_from(batches).map_or(threads.get(), |b| b.min(threads.get()));
    let chunks = expected_length / CHUNK_SIZE as u64 + 1;
    let batch_chunks = usize::try_from(chunks).map_or(BATCH_CHUNKS, |c| c.min(BATCH_CHUNKS));
    let shared = Shared {
        stream,
        batch_chunks,
        input: Mutex::new(Input {
            source,
            next_batch: 0,
            done: false,
        }),
        output: Mutex::new(Output {
            out,
            next_batch: 0,
            written: 0,
            error: None,
        }),
        turn: Condvar::new(),
        stop: AtomicBool::new(false),
        read: AtomicU64::new(0),
    };
    if workers > 1 {
        std::thread::scope(|scope| {
            for _ in 1..workers {
                let spawned = std::thread::Builder::new()
                    .name("jieyue-seal".into())
                    .spawn_scoped(scope, || shared.work(&mut |_| {}));
                if spawned.is_err() {
                    // The system will not start another thread: fewer workers.
                    break;
                }
            }
            shared.work(progress);
        });
    } else {
        shared.work(progress);
    }
    let read = shared.read.load(Ordering::SeqCst);
    // The last batch may have been another worker's: say where the stream ended.
    progress(read);
    let output = shared
        .output
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(error) = output.error {
        return Err(error);
    }
    output.out.flush()?;
    Ok(Sealed {
        read,
        written: output.written,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::aead;
    use crate::package::stream::{ChunkSealer, encrypted_length};

    fn key() -> LessSafeKey {
        aead::key(&[5u8; 32]).expect("key")
    }

    fn sequential(plain: &[u8]) -> Vec<u8> {
        let key = key();
        let mut sealer = ChunkSealer::new(&key, [3; 7], b"aad".to_vec(), Vec::new());
        sealer.write_all(plain).expect("write");
        sealer.finish().expect("finish").0
    }

    /// A reader that hands out at most `step` bytes per call, to exercise short reads.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn any_thread_count_writes_the_same_stream_as_the_sequential_sealer() {
        let key = key();
        let batch = BATCH_CHUNKS * CHUNK_SIZE;
        for len in [
            0,
            1,
            CHUNK_SIZE,
            batch - 1,
            batch,
            batch + 1,
            3 * batch + CHUNK_SIZE,
            5 * batch,
        ] {
            let plain: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
            let expected = sequential(&plain);
            for threads in [1, 2, 3, 8] {
                for step in [usize::MAX, 10_000] {
                    let mut out = Vec::new();
                    let mut heard = Vec::new();
                    let sealed = seal_stream(
                        StreamKey {
                            key: &key,
                            prefix: [3; 7],
                            aad: b"aad",
                        },
                        &mut Trickle { data: &plain, step },
                        &mut out,
                        len as u64,
                        NonZeroUsize::new(threads).expect("non-zero"),
                        &mut |n| heard.push(n),
                    )
                    .expect("seals");
                    assert_eq!(sealed.read, len as u64, "len {len} threads {threads}");
                    assert_eq!(sealed.written, encrypted_length(len as u64));
                    assert!(out == expected, "len {len} threads {threads} step {step}");
                    assert!(heard.windows(2).all(|w| w[0] <= w[1]), "progress goes up");
                    assert!(heard.iter().all(|&n| n <= len as u64));
                    assert_eq!(heard.last(), Some(&(len as u64)), "the end is heard");
                }
            }
        }
    }

    #[test]
    fn a_source_longer_than_declared_still_seals_a_correct_stream() {
        // The batch size follows the declared length; a source that yields more (which
        // the resource writer then refuses) must not break the chunk counters.
        let key = key();
        let plain: Vec<u8> = (0..5 * CHUNK_SIZE + 3).map(|i| (i % 249) as u8).collect();
        let expected = sequential(&plain);
        for declared in [0, 1, CHUNK_SIZE as u64, 2 * CHUNK_SIZE as u64] {
            for threads in [1, 2] {
                let mut out = Vec::new();
                let sealed = seal_stream(
                    StreamKey {
                        key: &key,
                        prefix: [3; 7],
                        aad: b"aad",
                    },
                    &mut &plain[..],
                    &mut out,
                    declared,
                    NonZeroUsize::new(threads).expect("non-zero"),
                    &mut |_| {},
                )
                .expect("seals");
                assert_eq!(sealed.read, plain.len() as u64);
                assert!(out == expected, "declared {declared} threads {threads}");
            }
        }
    }

    struct FailingReader {
        left: usize,
    }

    impl Read for FailingReader {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.left == 0 {
                return Err(io::Error::other("disk gone"));
            }
            let n = self.left.min(buf.len());
            buf[..n].fill(1);
            self.left -= n;
            Ok(n)
        }
    }

    struct FailingWriter {
        accepted: usize,
        limit: usize,
    }

    impl Write for FailingWriter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.accepted + buf.len() > self.limit {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
            }
            self.accepted += buf.len();
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_read_error_ends_every_worker_and_is_returned() {
        let key = key();
        for threads in [1, 2, 4] {
            let error = seal_stream(
                StreamKey {
                    key: &key,
                    prefix: [3; 7],
                    aad: b"aad",
                },
                &mut FailingReader {
                    left: 5 * BATCH_CHUNKS * CHUNK_SIZE + 77,
                },
                &mut Vec::new(),
                10 * BATCH_PLAIN,
                NonZeroUsize::new(threads).expect("non-zero"),
                &mut |_| {},
            )
            .expect_err("fails");
            assert_eq!(error.to_string(), "disk gone", "threads {threads}");
        }
    }

    #[test]
    fn a_write_error_ends_every_worker_and_is_returned() {
        let key = key();
        let plain = vec![9u8; 6 * BATCH_CHUNKS * CHUNK_SIZE];
        for threads in [1, 2, 4] {
            let error = seal_stream(
                StreamKey {
                    key: &key,
                    prefix: [3; 7],
                    aad: b"aad",
                },
                &mut &plain[..],
                &mut FailingWriter {
                    accepted: 0,
                    limit: 2 * BATCH_CHUNKS * ENCRYPTED_CHUNK_SIZE,
                },
                plain.len() as u64,
                NonZeroUsize::new(threads).expect("non-zero"),
                &mut |_| {},
            )
            .expect_err("fails");
            assert_eq!(
                error.kind(),
                io::ErrorKind::StorageFull,
                "threads {threads}"
            );
        }
    }
}
