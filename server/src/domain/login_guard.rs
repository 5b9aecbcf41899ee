use chrono::{DateTime, Duration, Utc};

/// When repeated wrong passwords lock an account, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Consecutive failures that lock the account.
    pub max_failures: u32,
    /// How long the lock lasts.
    pub lock_for: Duration,
}

/// An account's record of failed logins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoginGuard {
    /// Consecutive failed logins since the last success.
    pub failed_logins: u32,
    /// Locked until then, if locked.
    pub locked_until: Option<DateTime<Utc>>,
}

impl LoginGuard {
    /// If the account is locked at `now`, how long until it opens again.
    ///
    /// While locked, even the right password is refused, so guessing cannot go on
    /// behind the lock. A failure after the lock lapses locks it again at once (the
    /// count only resets on success).
    pub fn locked_for(&self, now: DateTime<Utc>) -> Option<Duration> {
        self.locked_until
            .filter(|until| *until > now)
            .map(|until| until - now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locked_only_until_the_deadline() {
        let now = Utc::now();
        let guard = LoginGuard {
            failed_logins: 5,
            locked_until: Some(now + Duration::minutes(15)),
        };
        assert_eq!(guard.locked_for(now), Some(Duration::minutes(15)));
        assert_eq!(guard.locked_for(now + Duration::minutes(15)), None);
        assert_eq!(LoginGuard::default().locked_for(now), None);
    }
}
