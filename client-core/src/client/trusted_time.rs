//! Trusted time: signed server times anchored to the platform's monotonic clock, a
//! high-water mark in the local store and mirrored in the secure store, so a clock
//! turned back, or a local database restored from an older copy, is caught.

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use jieyue_protocol::local::LocalIntegrity;
use jieyue_protocol::time::TimeAnchor;

use super::{Client, HIGH_WATER, Inner, State, lock};
use crate::error::{ClientError, Result};
use crate::platform::reading;

impl Client {
    /// The trusted time now, or a clock-rollback error.
    pub fn trusted_now(&self) -> Result<SystemTime> {
        let integrity = self.inner.integrity()?;
        Ok(self.inner.trusted_now(&integrity)?.into())
    }
}

impl Inner {
    /// Takes a signed server time just received online. A time older than the latest
    /// one seen is ignored (a replayed document must not wind trusted time back).
    pub(super) fn observe_server_time(
        &self,
        integrity: &LocalIntegrity,
        server_time: DateTime<Utc>,
    ) -> Result<()> {
        let reading = reading(self.clock.as_ref());
        let mut state = lock(&self.state);
        if state.anchor.is_none() {
            state.anchor = lock(&self.store).anchor(integrity).unwrap_or(None);
        }
        let anchor = match state.anchor.take() {
            Some(mut anchor) if server_time >= anchor.server_time => {
                anchor.sync(server_time, reading);
                anchor
            }
            Some(anchor) => anchor,
            None => TimeAnchor::new(server_time, reading),
        };
        lock(&self.store).put_anchor(integrity, &anchor)?;
        state.anchor_saved = Some(anchor.high_water);
        self.mirror_mark(&mut state, anchor.high_water)?;
        state.anchor = Some(anchor);
        Ok(())
    }

    fn mirror_mark(&self, state: &mut State, high_water: DateTime<Utc>) -> Result<()> {
        // The secure store is slow (Keystore, Keychain): write when the mark has moved
        // by an hour, or went down (a sync with a server behind a forward clock).
        let stale = state
            .secure_mark
            .is_none_or(|m| high_water > m + chrono::Duration::hours(1) || high_water < m);
        if stale {
            self.secure_put(HIGH_WATER, high_water.to_rfc3339().into_bytes())?;
            state.secure_mark = Some(high_water);
        }
        Ok(())
    }

    /// Trusted now. Fails with a clock rollback when the wall clock was turned back,
    /// when no signed server time has been seen yet, or when the local store was
    /// replaced by an older copy.
    pub(crate) fn trusted_now(&self, integrity: &LocalIntegrity) -> Result<DateTime<Utc>> {
        let reading = reading(self.clock.as_ref());
        let mut state = lock(&self.state);
        if state.anchor.is_none() {
            state.anchor = lock(&self.store).anchor(integrity)?;
            state.anchor_saved = state.anchor.as_ref().map(|a| a.high_water);
        }
        let tolerance = chrono::Duration::from_std(self.tolerance).unwrap_or_default();
        let secure_mark = state.secure_mark;
        let Some(anchor) = state.anchor.as_mut() else {
            return Err(ClientError::ClockRollback {
                message: "no trusted time on this device yet; connect to sync".into(),
            });
        };
        if let Some(mark) = secure_mark
            && anchor.high_water + tolerance < mark
        {
            // The database is older than what the secure store remembers.
            anchor.rollback_detected = true;
        }
        let result = anchor.now(reading, self.tolerance);
        if result.is_err() {
            tracing::warn!("clock rollback: books stay closed until the next sync");
        }
        let anchor = anchor.clone();
        // Persist when a rollback was seen, or the mark moved by a minute.
        let save = anchor.rollback_detected
            || state
                .anchor_saved
                .is_none_or(|s| anchor.high_water > s + chrono::Duration::minutes(1));
        if save {
            lock(&self.store).put_anchor(integrity, &anchor)?;
            state.anchor_saved = Some(anchor.high_water);
            self.mirror_mark(&mut state, anchor.high_water)?;
        }
        Ok(result?)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]

    use std::path::Path;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use jieyue_protocol::{KeySet, SigningKey};

    use super::super::{Client, ClientConfig, DEVICE_ID, DEVICE_KEY};
    use crate::error::ClientError;
    use crate::platform::{FileSecureStore, PlatformClock, SecureStore};

    /// 2030-01-01T00:00:00Z, in seconds.
    const T0: u64 = 1_893_456_000;

    /// Clocks the test sets: wall time and time since boot, in seconds.
    struct TestClock {
        wall: AtomicU64,
        boot: AtomicU64,
    }

    impl TestClock {
        fn at(wall: u64, boot: u64) -> Arc<Self> {
            Arc::new(Self {
                wall: AtomicU64::new(wall),
                boot: AtomicU64::new(boot),
            })
        }
    }

    impl PlatformClock for TestClock {
        fn wall_time(&self) -> SystemTime {
            UNIX_EPOCH + Duration::from_secs(self.wall.load(Ordering::SeqCst))
        }

        fn since_boot_millis(&self) -> u64 {
            self.boot.load(Ordering::SeqCst) * 1000
        }
    }

    fn time(seconds: u64) -> chrono::DateTime<chrono::Utc> {
        (UNIX_EPOCH + Duration::from_secs(seconds)).into()
    }

    /// A client over `dir` whose device is already enrolled (its key and id in the
    /// secure store), as after `enrol_device`.
    fn client(dir: &Path, clock: Arc<TestClock>) -> Client {
        let secure = FileSecureStore::new(dir.join("secure")).expect("secure store");
        if secure.get(DEVICE_KEY.into()).expect("get").is_none() {
            secure.put(DEVICE_KEY.into(), vec![7; 32]).expect("key");
            secure
                .put(DEVICE_ID.into(), uuid::Uuid::new_v4().to_string().into())
                .expect("id");
        }
        let issuer = SigningKey::generate().expect("issuer key");
        let keys =
            serde_json::to_string(&KeySet::new([issuer.public_key().clone()])).expect("keys");
        Client::new(
            ClientConfig {
                server_url: "http://127.0.0.1:9".into(),
                data_dir: dir.join("data").display().to_string(),
                issuer_keys_json: keys,
                device_name: "test".into(),
                rollback_tolerance_seconds: None,
            },
            Arc::new(secure),
            clock,
        )
        .expect("client")
    }

    /// A signed server time arrives (as in a licence or a status document).
    fn sync_at(dir: &Path, clock: Arc<TestClock>, server_time: u64) {
        let client = client(dir, clock);
        let integrity = client.inner.integrity().expect("integrity");
        client
            .inner
            .observe_server_time(&integrity, time(server_time))
            .expect("observe");
    }

    /// The database as it was at `T0`, then three hours of syncs after it.
    fn database_copied_then_synced(dir: &Path) -> std::path::PathBuf {
        sync_at(dir, TestClock::at(T0, 60), T0);
        let copy = dir.join("jieyue.db.old");
        std::fs::copy(dir.join("data/jieyue.db"), &copy).expect("copy the database");
        sync_at(
            dir,
            TestClock::at(T0 + 3 * 3600, 60 + 3 * 3600),
            T0 + 3 * 3600,
        );
        copy
    }

    #[test]
    fn a_restored_older_database_is_caught_as_a_clock_rollback() {
        let dir = tempfile::tempdir().expect("dir");
        let copy = database_copied_then_synced(dir.path());
        // The old database is put back, and the wall clock set to just after its time
        // (after a reboot), so the database alone sees nothing wrong.
        std::fs::copy(&copy, dir.path().join("data/jieyue.db")).expect("restore");
        let client = client(dir.path(), TestClock::at(T0 + 60, 5));

        let now = client.trusted_now();

        assert!(
            matches!(now, Err(ClientError::ClockRollback { .. })),
            "{now:?}"
        );
    }

    #[test]
    fn the_same_database_not_restored_reads_the_time() {
        let dir = tempfile::tempdir().expect("dir");
        database_copied_then_synced(dir.path());
        let client = client(dir.path(), TestClock::at(T0 + 3 * 3600 + 60, 5));

        let now = client.trusted_now().expect("trusted time");

        assert_eq!(now, UNIX_EPOCH + Duration::from_secs(T0 + 3 * 3600 + 60));
    }
}
