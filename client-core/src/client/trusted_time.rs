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
