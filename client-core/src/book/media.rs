//! The media reader a player streams from: one audio or video resource of an open
//! publication, read at any offset. Nothing is decrypted until asked for, only the
//! 64 KiB chunks covering a read are, the last of them is kept for the next read (a
//! player reads forward in small pieces), and no plaintext is ever written to disk.
//!
//! Opening checks the licence against trusted time (as every resource read of a
//! [`Book`] does); while the reader lives, reads check it again at most every
//! [`RECHECK_EVERY`] of the platform's monotonic clock (and after a reboot), so a loan
//! that ends during playback stops it.

use std::fs::File;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use jieyue_protocol::licence::Licence;
use jieyue_protocol::package::ResourceCursor;
use uuid::Uuid;

use super::{Book, xhtml};
use crate::client::Inner;
use crate::error::{ClientError, Result};

/// How often reads re-check the licence against trusted time.
pub const RECHECK_EVERY: Duration = Duration::from_secs(30);

/// The most bytes one `read_at` returns (a player asks for far less).
pub const MAX_READ: u64 = 16 << 20;

struct State {
    /// `None` once the licence was found ended: the reader reads no more.
    cursor: Option<ResourceCursor<File>>,
    licence: Licence,
    /// The platform's monotonic milliseconds at the last check.
    checked_at: u64,
}

/// Random access to one decrypted media resource, for a player's data source.
pub struct MediaReader {
    client: Arc<Inner>,
    publication: Uuid,
    href: String,
    media_type: String,
    length: u64,
    state: Mutex<State>,
    cancelled: AtomicBool,
}

impl std::fmt::Debug for MediaReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaReader")
            .field("href", &self.href)
            .field("length", &self.length)
            .finish_non_exhaustive()
    }
}

impl Book {
    /// Opens the resource at `href` (a track or video of the reading order, or any other
    /// stored resource) for a player. Checks the licence and trusted time; decrypts
    /// nothing. Text resources (stored compressed) cannot be read this way: use
    /// [`Book::resource`].
    pub fn open_media(&self, href: &str) -> Result<MediaReader> {
        let path = xhtml::resolve("", href);
        let package = self.client.package_path(self.publication);
        let cursor = self.with_reader(|reader| {
            let location = reader.locate(&path)?;
            let file = File::open(&package)?;
            Ok(reader.cursor(file, location)?)
        })?;
        let licence = self
            .licence
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(|| ClientError::other("the book has no verified licence"))?;
        Ok(MediaReader {
            client: Arc::clone(&self.client),
            publication: self.publication,
            media_type: self.media_type(&path),
            href: path,
            length: cursor.length(),
            state: Mutex::new(State {
                cursor: Some(cursor),
                licence,
                checked_at: self.client.since_boot_millis(),
            }),
            cancelled: AtomicBool::new(false),
        })
    }
}

impl MediaReader {
    /// The resource's path in the package.
    pub fn href(&self) -> String {
        self.href.clone()
    }

    /// Its decrypted length in bytes.
    pub fn length(&self) -> u64 {
        self.length
    }

    /// Its media type (`audio/mpeg`, `video/mp4`, …).
    pub fn media_type(&self) -> String {
        self.media_type.clone()
    }

    /// Up to `length` bytes (at most [`MAX_READ`]) at `offset`, decrypted; fewer at the
    /// end of the resource, none at or past it. Only the chunks covering the range are
    /// read and decrypted. Fails with `Cancelled` once [`MediaReader::cancel`] was
    /// called (also a read already under way), and with the licence's error when the
    /// loan has ended.
    pub fn read_at(&self, offset: u64, length: u64) -> Result<Vec<u8>> {
        self.check_cancelled()?;
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let now = self.client.since_boot_millis();
        let elapsed = Duration::from_millis(now.saturating_sub(state.checked_at));
        // A monotonic clock that went back means a reboot: check at once.
        if elapsed >= RECHECK_EVERY || now < state.checked_at {
            let integrity = self.client.integrity()?;
            match self
                .client
                .check_licence(&integrity, self.publication, Some(&state.licence))
            {
                Ok(licence) => {
                    state.licence = licence;
                    state.checked_at = now;
                }
                Err(e) => {
                    state.cursor = None;
                    return Err(e);
                }
            }
        }
        let cursor = state.cursor.as_mut().ok_or_else(|| ClientError::Expired {
            message: "the loan has ended".into(),
        })?;
        let wanted = length.min(MAX_READ).min(self.length.saturating_sub(offset));
        let mut buffer = vec![0u8; usize::try_from(wanted).unwrap_or(0)];
        let cancelled = || self.cancelled.load(Ordering::SeqCst);
        let n = cursor.read_at(offset, &mut buffer, &cancelled)?;
        buffer.truncate(n);
        Ok(buffer)
    }

    /// Cancels reads: one under way stops before its next chunk, and every later read
    /// fails with `Cancelled` (a player closing its data source calls this; open a new
    /// reader to play again).
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }

    /// Whether [`MediaReader::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    fn check_cancelled(&self) -> Result<()> {
        if self.is_cancelled() {
            return Err(ClientError::Cancelled {
                message: "the media reader was cancelled".into(),
            });
        }
        Ok(())
    }
}
