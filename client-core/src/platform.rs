//! What the app provides: a store for small secrets and the platform's clocks.
//!
//! Apps implement [`SecureStore`] with the Android Keystore or the iOS Keychain and
//! [`PlatformClock`] with the system's wall clock and its monotonic clock since boot
//! (`SystemClock.elapsedRealtime()`, `clock_gettime(CLOCK_MONOTONIC_RAW)` /
//! `ProcessInfo.systemUptime` ... whichever does not stop in deep sleep on the platform).
//! [`FileSecureStore`] and [`SystemClock`] are for tests and desktop tools.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};
use jieyue_protocol::time::ClockReading;

/// Why the secure store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Error))]
pub enum SecureStoreError {
    /// The platform store refused or failed (locked device, no keystore).
    #[error("secure store: {detail}")]
    Failed {
        /// What the platform said. (Not `message`: Kotlin exceptions have one already.)
        detail: String,
    },
}

/// A small key → secret store backed by the platform's keystore. Values are at most a
/// few hundred bytes (the device key, the session token, the trusted-time mark).
#[cfg_attr(feature = "uniffi", uniffi::export(foreign))]
pub trait SecureStore: Send + Sync {
    /// Stores `value` under `key`, replacing any earlier value.
    fn put(&self, key: String, value: Vec<u8>) -> Result<(), SecureStoreError>;
    /// The value under `key`, if any.
    fn get(&self, key: String) -> Result<Option<Vec<u8>>, SecureStoreError>;
    /// Removes `key` (no error if absent).
    fn delete(&self, key: String) -> Result<(), SecureStoreError>;
}

/// The platform's clocks.
#[cfg_attr(feature = "uniffi", uniffi::export(foreign))]
pub trait PlatformClock: Send + Sync {
    /// Wall-clock time now (the user can change it).
    fn wall_time(&self) -> SystemTime;
    /// Milliseconds since boot on a monotonic clock that keeps counting in sleep and
    /// cannot be set.
    fn since_boot_millis(&self) -> u64;
}

pub(crate) fn reading(clock: &dyn PlatformClock) -> ClockReading {
    ClockReading {
        wall: DateTime::<Utc>::from(clock.wall_time()),
        since_boot: Duration::from_millis(clock.since_boot_millis()),
    }
}

/// The host's clocks: `SystemTime` and an `Instant` taken when this value was made.
#[derive(Debug)]
pub struct SystemClock {
    start: Instant,
}

impl SystemClock {
    /// The clocks of this process.
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl PlatformClock for SystemClock {
    fn wall_time(&self) -> SystemTime {
        SystemTime::now()
    }

    fn since_boot_millis(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// A [`SecureStore`] in a directory, one file per key, written atomically. It is *not*
/// secure: for tests and desktop tools only.
#[derive(Debug)]
pub struct FileSecureStore {
    dir: PathBuf,
}

impl FileSecureStore {
    /// A store in `dir` (created if missing).
    pub fn new(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    fn path(&self, key: &str) -> PathBuf {
        // Keys are ours ("jieyue.device_key"); keep the file name tame anyway.
        let name: String = key
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        self.dir.join(name)
    }
}

fn failed(e: std::io::Error) -> SecureStoreError {
    SecureStoreError::Failed {
        detail: e.to_string(),
    }
}

impl SecureStore for FileSecureStore {
    fn put(&self, key: String, value: Vec<u8>) -> Result<(), SecureStoreError> {
        let path = self.path(&key);
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, value).map_err(failed)?;
        std::fs::rename(&tmp, &path).map_err(failed)
    }

    fn get(&self, key: String) -> Result<Option<Vec<u8>>, SecureStoreError> {
        match std::fs::read(self.path(&key)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(failed(e)),
        }
    }

    fn delete(&self, key: String) -> Result<(), SecureStoreError> {
        match std::fs::remove_file(self.path(&key)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(failed(e)),
            _ => Ok(()),
        }
    }
}

#[cfg(feature = "uniffi")]
impl From<uniffi::UnexpectedUniFFICallbackError> for SecureStoreError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Failed { detail: e.reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_store_round_trips_and_deletes() {
        let dir = tempfile::tempdir().expect("dir");
        let store = FileSecureStore::new(dir.path()).expect("store");
        assert_eq!(store.get("a.b".into()).expect("get"), None);
        store.put("a.b".into(), vec![1, 2, 3]).expect("put");
        store.put("a.b".into(), vec![4]).expect("replace");
        assert_eq!(store.get("a.b".into()).expect("get"), Some(vec![4]));
        store.delete("a.b".into()).expect("delete");
        store.delete("a.b".into()).expect("delete again");
        assert_eq!(store.get("a.b".into()).expect("get"), None);
    }
}
