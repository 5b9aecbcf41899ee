//! The login throttle: who must wait before their next password is even checked.
//!
//! In memory, per server process (each replica throttles what it sees): an attempt is
//! refused before any password is hashed (Argon2) when (a) this client has used up
//! its failures across all accounts (a token bucket), or (b) this account name has
//! failed from this client often enough that a wait is due ([`ThrottlePolicy`]). A
//! correct password after the wait clears the record, so the owner always gets in.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::domain::ThrottlePolicy;

/// Records kept at most: past this the older half is dropped, so a flood of made-up
/// names or addresses cannot grow the maps without limit.
const MAX_RECORDS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: DateTime<Utc>,
}

/// The throttle's state.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    accounts: Mutex<HashMap<(String, Option<IpAddr>), Failures>>,
    clients: Mutex<HashMap<IpAddr, Bucket>>,
}

impl LoginThrottle {
    /// `Err(wait)` if an attempt for `account` from `client` must not be heard yet.
    /// An attempt that is heard is counted at once, as a failure, before its password
    /// is checked (so a thousand guesses sent at the same moment are counted as a
    /// thousand, not let through); [`LoginThrottle::succeeded`] takes it back.
    pub fn admit(
        &self,
        policy: &ThrottlePolicy,
        account: &str,
        client: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<(), Duration> {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        let tokens = client
            .and_then(|ip| clients.get(&ip))
            .map_or(f64::from(policy.client_burst), |bucket| {
                refilled(policy, *bucket, now)
            });
        if tokens < 1.0 {
            let per_token = policy.client_refill.num_milliseconds().max(1) as f64;
            let wait_ms = ((1.0 - tokens) * per_token).ceil() as i64;
            return Err(Duration::milliseconds(wait_ms.max(1)));
        }
        let key = (account.to_owned(), client);
        if let Some(failures) = accounts.get(&key) {
            let open_at = failures.last + policy.delay_after(failures.count);
            if open_at > now {
                return Err(open_at - now);
            }
        }
        // Heard: charge the attempt now.
        if accounts.len() >= MAX_RECORDS {
            keep_newest_half(&mut accounts, |f| f.last);
        }
        let entry = accounts.entry(key).or_insert(Failures {
            count: 0,
            last: now,
        });
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
        if let Some(ip) = client {
            if clients.len() >= MAX_RECORDS {
                keep_newest_half(&mut clients, |b| b.at);
            }
            clients.insert(
                ip,
                Bucket {
                    tokens: tokens - 1.0,
                    at: now,
                },
            );
        }
        Ok(())
    }

    /// A correct password: the attempt [`LoginThrottle::admit`] charged is taken back
    /// and the account's record from this client goes.
    pub fn succeeded(
        &self,
        policy: &ThrottlePolicy,
        account: &str,
        client: Option<IpAddr>,
        now: DateTime<Utc>,
    ) {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        accounts.remove(&(account.to_owned(), client));
        if let Some(bucket) = client.and_then(|ip| clients.get_mut(&ip)) {
            let tokens = refilled(policy, *bucket, now);
            *bucket = Bucket {
                tokens: (tokens + 1.0).min(f64::from(policy.client_burst)),
                at: now,
            };
        }
    }
}

/// Drops the older half of `records` (by `when`), so the maps stay bounded whatever is
/// thrown at them; it runs once per `MAX_RECORDS / 2` new records.
fn keep_newest_half<K, V>(records: &mut HashMap<K, V>, when: impl Fn(&V) -> DateTime<Utc>) {
    let mut times: Vec<DateTime<Utc>> = records.values().map(&when).collect();
    let middle = times.len() / 2;
    if middle == 0 {
        return;
    }
    let (_, median, _) = times.select_nth_unstable(middle);
    let median = *median;
    records.retain(|_, v| when(v) > median);
}

/// A bucket's tokens at `now`.
fn refilled(policy: &ThrottlePolicy, bucket: Bucket, now: DateTime<Utc>) -> f64 {
    let per_token = policy.client_refill.num_milliseconds().max(1) as f64;
    let earned = (now - bucket.at).num_milliseconds().max(0) as f64 / per_token;
    (bucket.tokens + earned).min(f64::from(policy.client_burst))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ThrottlePolicy {
        ThrottlePolicy {
            free_failures: 2,
            max_delay: Duration::minutes(15),
            client_burst: 4,
            client_refill: Duration::seconds(10),
        }
    }

    #[test]
    fn an_account_waits_after_its_free_failures_and_only_from_that_client() {
        let (throttle, policy, now) = (LoginThrottle::default(), policy(), Utc::now());
        let attacker = Some("10.0.0.1".parse().expect("ip"));
        let owner = Some("10.0.0.2".parse().expect("ip"));
        for _ in 0..2 {
            assert!(throttle.admit(&policy, "card", attacker, now).is_ok());
        }
        assert_eq!(
            throttle.admit(&policy, "card", attacker, now),
            Err(Duration::seconds(1))
        );
        assert!(
            throttle.admit(&policy, "card", owner, now).is_ok(),
            "the owner is not kept out"
        );
        let later = now + Duration::seconds(1);
        assert!(throttle.admit(&policy, "card", attacker, later).is_ok());
        throttle.succeeded(&policy, "card", attacker, later);
        assert!(throttle.admit(&policy, "card", attacker, later).is_ok());
    }

    #[test]
    fn a_client_runs_out_of_failures_across_accounts_and_earns_them_back() {
        let (throttle, policy, now) = (LoginThrottle::default(), policy(), Utc::now());
        let client = Some("10.0.0.9".parse().expect("ip"));
        for n in 0..4 {
            let name = format!("card-{n}");
            assert!(throttle.admit(&policy, &name, client, now).is_ok());
        }
        assert_eq!(
            throttle.admit(&policy, "card-new", client, now),
            Err(Duration::seconds(10))
        );
        assert!(
            throttle
                .admit(&policy, "card-new", client, now + Duration::seconds(10))
                .is_ok()
        );
    }

    #[test]
    fn many_attempts_at_once_are_each_counted() {
        let (throttle, policy, now) = (LoginThrottle::default(), policy(), Utc::now());
        let client = Some("10.0.0.7".parse().expect("ip"));
        let heard = (0..100)
            .filter(|_| throttle.admit(&policy, "card", client, now).is_ok())
            .count();
        assert_eq!(
            heard, 2,
            "only the free failures are heard before any is checked"
        );
    }

    #[test]
    fn the_maps_stay_bounded() {
        let (throttle, policy, now) = (LoginThrottle::default(), policy(), Utc::now());
        for n in 0..(MAX_RECORDS as u32 + 10) {
            let at = now + Duration::milliseconds(i64::from(n));
            let _ = throttle.admit(&policy, &format!("name-{n}"), None, at);
        }
        let size = throttle.accounts.lock().expect("lock").len();
        assert!(size <= MAX_RECORDS, "{size}");
    }
}
