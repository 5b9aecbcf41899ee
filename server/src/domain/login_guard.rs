use chrono::{DateTime, Duration, Utc};

/// How wrong passwords are slowed down. Failures are counted per account *name* and
/// client address, whether or not the account exists (so the answers do not tell which
/// cards exist), and per client address across all names (so one client cannot make the
/// server hash passwords without limit). Nothing locks an account outright: someone
/// else's guesses at an account, from another address, never keep its owner out.
/// Readers behind one address (a branch's NAT; a proxy without `trust_forwarded_for`)
/// share that address's budget of failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Consecutive failures of one account from one client before any wait.
    pub free_failures: u32,
    /// The longest wait between attempts (the wait doubles from one second).
    pub max_delay: Duration,
    /// Failures a client may make in a burst, over all accounts.
    pub client_burst: u32,
    /// A client earns one more failure this often.
    pub client_refill: Duration,
}

impl ThrottlePolicy {
    /// The wait after the `failures`-th consecutive failure of one account from one
    /// client before the next attempt is heard: none for the first `free_failures`,
    /// then one second, doubling each time, at most `max_delay`.
    pub fn delay_after(&self, failures: u32) -> Duration {
        let Some(excess) = failures
            .checked_sub(self.free_failures)
            .filter(|_| failures > 0)
        else {
            return Duration::zero();
        };
        let seconds = 1_i64.checked_shl(excess.min(30)).unwrap_or(i64::MAX);
        Duration::seconds(seconds).min(self.max_delay)
    }
}

/// An account's record of failed logins (kept in the database for staff to see).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoginGuard {
    /// Consecutive failed logins since the last success.
    pub failed_logins: u32,
    /// Not used since failures are throttled rather than locked (kept for old rows).
    pub locked_until: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_after_the_free_failures_and_stop_growing() {
        let policy = ThrottlePolicy {
            free_failures: 5,
            max_delay: Duration::minutes(15),
            client_burst: 20,
            client_refill: Duration::seconds(3),
        };
        let waits: Vec<i64> = (0..=16)
            .map(|n| policy.delay_after(n).num_seconds())
            .collect();
        assert_eq!(&waits[..9], &[0, 0, 0, 0, 0, 1, 2, 4, 8]);
        assert_eq!(waits[14], 512);
        assert_eq!(waits[15], 900, "at most the policy's maximum");
        assert_eq!(policy.delay_after(u32::MAX), Duration::minutes(15));
    }
}
