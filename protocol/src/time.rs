//! Trusted time offline: how a client knows "now" without believing the device clock.
//!
//! A [`TimeAnchor`] remembers the latest signed server time, the device's wall clock and
//! monotonic clock (time since boot) at that moment, and a high-water mark of every time
//! it has trusted. Then:
//!
//! - within the same boot (the monotonic clock has not gone backwards), now is the
//!   server time plus the monotonic time elapsed: changing the wall clock changes
//!   nothing;
//! - after a reboot (monotonic clock reset), now is the wall clock, and
//! - in every case a wall clock more than the tolerance behind the high-water mark is a
//!   **clock rollback**: books stay closed until the next online sync re-anchors time.
//!
//! Trusted now never goes below the high-water mark, and the mark moves up with every
//! reading, so winding the clock back by less than the tolerance gains at most the
//! tolerance, once. A licence opens only while `start <= now < end`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How far the wall clock may lag the high-water mark before it counts as rolled back
/// (clock drift and NTP corrections stay well inside this).
pub const DEFAULT_ROLLBACK_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// What the platform's clocks say now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockReading {
    /// The wall clock (may be wrong or manipulated).
    pub wall: DateTime<Utc>,
    /// Monotonic time since boot (cannot be set by the user; resets at reboot).
    pub since_boot: Duration,
}

/// Why time cannot be trusted, or a licence does not open now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// The wall clock was set back beyond the tolerance; sync online to re-anchor.
    #[error("the device clock was turned back; connect to the internet to continue")]
    ClockRollback,
    /// The licence's start is still ahead.
    #[error("the loan has not started yet")]
    NotYetValid,
    /// The licence's end has passed.
    #[error("the loan has ended")]
    Expired,
}

/// The client's memory of trusted time. Persist it (sealed with the device key) after
/// every change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeAnchor {
    /// The latest signed server time.
    pub server_time: DateTime<Utc>,
    /// The wall clock when it was received.
    pub wall_at_anchor: DateTime<Utc>,
    /// Monotonic time since boot when it was received.
    pub since_boot_at_anchor: Duration,
    /// The highest time trusted so far.
    pub high_water: DateTime<Utc>,
    /// Set when a rollback was seen; cleared only by a sync.
    pub rollback_detected: bool,
}

impl TimeAnchor {
    /// A first anchor from a signed server time received at `reading`.
    pub fn new(server_time: DateTime<Utc>, reading: ClockReading) -> Self {
        Self {
            server_time,
            wall_at_anchor: reading.wall,
            since_boot_at_anchor: reading.since_boot,
            high_water: server_time,
            rollback_detected: false,
        }
    }

    /// Re-anchors on a fresh signed server time (an online sync). Clears a rollback.
    /// The server is the authority: a high-water mark pushed up by a wall clock set
    /// forward is brought back to the server's time.
    pub fn sync(&mut self, server_time: DateTime<Utc>, reading: ClockReading) {
        *self = Self::new(server_time, reading);
    }

    /// The trusted time now, updating the high-water mark. Fails with
    /// [`TimeError::ClockRollback`] if the wall clock was turned back past `tolerance`
    /// (and keeps failing until [`sync`](Self::sync)).
    pub fn now(
        &mut self,
        reading: ClockReading,
        tolerance: Duration,
    ) -> Result<DateTime<Utc>, TimeError> {
        if self.rollback_detected {
            return Err(TimeError::ClockRollback);
        }
        if reading.wall + tolerance_chrono(tolerance) < self.high_water {
            self.rollback_detected = true;
            return Err(TimeError::ClockRollback);
        }
        let estimate = match reading.since_boot.checked_sub(self.since_boot_at_anchor) {
            // Same boot: server time plus elapsed monotonic time.
            Some(elapsed) => {
                self.server_time
                    + chrono::Duration::from_std(elapsed).unwrap_or(chrono::TimeDelta::MAX)
            }
            // Rebooted since the anchor: only the wall clock is left, checked above.
            None => reading.wall,
        };
        let now = estimate.max(self.high_water);
        self.high_water = now;
        Ok(now)
    }
}

fn tolerance_chrono(tolerance: Duration) -> chrono::Duration {
    chrono::Duration::from_std(tolerance).unwrap_or(chrono::TimeDelta::MAX)
}

/// The licence rule: opens only while `start <= now < end`.
pub fn check_window(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), TimeError> {
    if now < start {
        Err(TimeError::NotYetValid)
    } else if now >= end {
        Err(TimeError::Expired)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const TOL: Duration = DEFAULT_ROLLBACK_TOLERANCE;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 9, 1, h, m, 0)
            .single()
            .expect("time")
    }

    fn read(wall: DateTime<Utc>, boot_secs: u64) -> ClockReading {
        ClockReading {
            wall,
            since_boot: Duration::from_secs(boot_secs),
        }
    }

    #[test]
    fn same_boot_ignores_the_wall_clock() {
        let mut anchor = TimeAnchor::new(t(10, 0), read(t(10, 0), 1000));
        // An hour passes on the monotonic clock; the wall clock was moved forward a day.
        let now = anchor
            .now(read(t(10, 0) + chrono::Duration::days(1), 4600), TOL)
            .expect("trusted");
        assert_eq!(now, t(11, 0));
    }

    #[test]
    fn turning_the_clock_back_is_a_rollback_until_sync() {
        let mut anchor = TimeAnchor::new(t(10, 0), read(t(10, 0), 1000));
        assert_eq!(anchor.now(read(t(12, 0), 1000 + 7200), TOL), Ok(t(12, 0)));
        // Back a day (after a reboot, so the monotonic clock cannot help).
        let back = read(t(12, 0) - chrono::Duration::days(1), 60);
        assert_eq!(anchor.now(back, TOL), Err(TimeError::ClockRollback));
        // Setting it right again does not help: the rollback sticks until a sync.
        assert_eq!(
            anchor.now(read(t(12, 5), 400), TOL),
            Err(TimeError::ClockRollback)
        );
        anchor.sync(t(12, 6), read(t(12, 6), 500));
        assert_eq!(anchor.now(read(t(12, 6), 500), TOL), Ok(t(12, 6)));
    }

    #[test]
    fn small_drift_is_tolerated_but_never_moves_time_back() {
        let mut anchor = TimeAnchor::new(t(10, 0), read(t(10, 0), 1000));
        // Rebooted, wall clock 3 minutes behind the mark: within tolerance.
        let now = anchor
            .now(read(t(9, 57), 10), TOL)
            .expect("within tolerance");
        assert_eq!(now, t(10, 0), "trusted time does not go below the mark");
    }

    #[test]
    fn after_a_reboot_the_wall_clock_is_used_forward() {
        let mut anchor = TimeAnchor::new(t(10, 0), read(t(10, 0), 1000));
        assert_eq!(anchor.now(read(t(15, 0), 30), TOL), Ok(t(15, 0)));
        assert_eq!(anchor.high_water, t(15, 0));
    }

    #[test]
    fn window_is_half_open() {
        assert_eq!(
            check_window(t(10, 0), t(11, 0), t(9, 59)),
            Err(TimeError::NotYetValid)
        );
        assert_eq!(check_window(t(10, 0), t(11, 0), t(10, 0)), Ok(()));
        assert_eq!(
            check_window(t(10, 0), t(11, 0), t(11, 0)),
            Err(TimeError::Expired)
        );
    }
}
