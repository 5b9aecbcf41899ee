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

/// Records kept before old ones are dropped (a flood of made-up names cannot grow the
/// maps without limit).
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
    pub fn admit(
        &self,
        policy: &ThrottlePolicy,
        account: &str,
        client: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<(), Duration> {
        if let Some(ip) = client {
            let clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(bucket) = clients.get(&ip) {
                let tokens = refilled(policy, *bucket, now);
                if tokens < 1.0 {
                    let per_token = policy.client_refill.num_milliseconds().max(1) as f64;
                    let wait_ms = ((1.0 - tokens) * per_token).ceil() as i64;
                    return Err(Duration::milliseconds(wait_ms.max(1)));
                }
            }
        }
        let accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(failures) = accounts.get(&(account.to_owned(), client)) {
            let open_at = failures.last + policy.delay_after(failures.count);
            if open_at > now {
                return Err(open_at - now);
            }
        }
        Ok(())
    }

    /// Counts a wrong password for `account` from `client`.
    pub fn failed(
        &self,
        policy: &ThrottlePolicy,
        account: &str,
        client: Option<IpAddr>,
        now: DateTime<Utc>,
    ) {
        {
            let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
            if accounts.len() >= MAX_RECORDS {
                let horizon = now - policy.max_delay * 2;
                accounts.retain(|_, f| f.last > horizon);
            }
            let entry = accounts
                .entry((account.to_owned(), client))
                .or_insert(Failures {
                    count: 0,
                    last: now,
                });
            entry.count = entry.count.saturating_add(1);
            entry.last = now;
        }
        if let Some(ip) = client {
            let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
            if clients.len() >= MAX_RECORDS {
                clients.retain(|_, b| refilled(policy, *b, now) < f64::from(policy.client_burst));
            }
            let full = Bucket {
                tokens: f64::from(policy.client_burst),
                at: now,
            };
            let bucket = clients.entry(ip).or_insert(full);
            let tokens = refilled(policy, *bucket, now);
            *bucket = Bucket {
                tokens: (tokens - 1.0).max(0.0),
                at: now,
            };
        }
    }

    /// A correct password: the account's record from this client goes.
    pub fn succeeded(&self, account: &str, client: Option<IpAddr>) {
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        accounts.remove(&(account.to_owned(), client));
    }
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
            throttle.failed(&policy, "card", attacker, now);
        }
        assert_eq!(
            throttle.admit(&policy, "card", attacker, now),
            Err(Duration::seconds(1))
        );
        assert!(
            throttle.admit(&policy, "card", owner, now).is_ok(),
            "the owner is not kept out"
        );
        assert!(
            throttle
                .admit(&policy, "card", attacker, now + Duration::seconds(1))
                .is_ok()
        );
        throttle.succeeded("card", attacker);
        assert!(throttle.admit(&policy, "card", attacker, now).is_ok());
    }

    #[test]
    fn a_client_runs_out_of_failures_across_accounts_and_earns_them_back() {
        let (throttle, policy, now) = (LoginThrottle::default(), policy(), Utc::now());
        let client = Some("10.0.0.9".parse().expect("ip"));
        for n in 0..4 {
            let name = format!("card-{n}");
            assert!(throttle.admit(&policy, &name, client, now).is_ok());
            throttle.failed(&policy, &name, client, now);
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
}
