//! Argon2id password hashing, off the async runtime and behind a semaphore.
//!
//! One hash costs tens of milliseconds of CPU by design. Run on the runtime's threads it
//! would stall every other request, and unbounded it would let a burst of logins take
//! every core; so hashing runs in `spawn_blocking` with at most one job per core.

use std::sync::Arc;

use argon2::password_hash::phc::PasswordHash as PhcHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use jieyue_protocol::api::SecretString;
use tokio::sync::Semaphore;

use super::{Error, Result};
use crate::config::PasswordHashingConfig;
use crate::domain::{Password, PasswordHash};

/// Hashes and verifies passwords.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
    /// A hash of a random password, verified when the account does not exist so that a
    /// login for an unknown card takes as long as one with a wrong password.
    dummy: Arc<PasswordHash>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// A hasher with the configured cost, running at most `concurrency` hashes at once.
    pub fn new(config: &PasswordHashingConfig, concurrency: usize) -> Result<Self> {
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            None,
        )
        .map_err(|e| Error::internal("invalid Argon2 parameters")(e.to_string()))?;
        let dummy_password =
            Password::candidate(&SecretString::new(uuid::Uuid::new_v4().to_string()))
                .ok_or(Error::Bug("dummy password refused"))?;
        let dummy = hash_with(&params, &dummy_password)?;
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy: Arc::new(dummy),
        })
    }

    /// Hashes a new password with a fresh random salt.
    pub async fn hash(&self, password: Password) -> Result<PasswordHash> {
        let params = self.params.clone();
        self.run(move || hash_with(&params, &password)).await?
    }

    /// Whether `password` matches `hash`. With no hash (unknown account) it verifies
    /// against a dummy hash and answers `false`, taking the same time.
    pub async fn verify(&self, password: Password, hash: Option<PasswordHash>) -> Result<bool> {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| (*self.dummy).clone());
        let matches = self
            .run(move || -> Result<bool> {
                let parsed = PhcHash::new(&hash.0).map_err(|e| {
                    Error::internal("stored password hash unreadable")(e.to_string())
                })?;
                Ok(Argon2::default()
                    .verify_password(password.expose(), &parsed)
                    .is_ok())
            })
            .await??;
        Ok(known && matches)
    }

    async fn run<T: Send + 'static>(&self, job: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(Error::internal("password hasher closed"))?;
        Ok(tokio::task::spawn_blocking(job).await?)
    }
}

fn hash_with(params: &Params, password: &Password) -> Result<PasswordHash> {
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    argon
        .hash_password(password.expose())
        .map(|hash| PasswordHash(hash.to_string()))
        .map_err(|e| Error::internal("password hashing")(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> PasswordHashingConfig {
        PasswordHashingConfig {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        }
    }

    fn password(s: &str) -> Password {
        Password::parse_new("password", &SecretString::new(s)).expect("valid password")
    }

    #[tokio::test]
    async fn verifies_the_right_password_only() {
        let hasher = PasswordHasher::new(&cheap(), 2).expect("hasher");
        let hash = hasher.hash(password("correct horse")).await.expect("hash");
        assert!(
            hash.0.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"),
            "{}",
            hash.0
        );
        assert!(
            hasher
                .verify(password("correct horse"), Some(hash.clone()))
                .await
                .expect("verify")
        );
        assert!(
            !hasher
                .verify(password("correct horsE"), Some(hash))
                .await
                .expect("verify")
        );
    }

    #[tokio::test]
    async fn unknown_account_never_verifies() {
        let hasher = PasswordHasher::new(&cheap(), 1).expect("hasher");
        assert!(
            !hasher
                .verify(password("anything at all"), None)
                .await
                .expect("verify")
        );
    }

    #[tokio::test]
    async fn an_unknown_account_is_checked_against_the_dummy_hash() {
        // Timing must not tell which cards exist, so an unknown account runs Argon2
        // against the dummy hash: a dummy that cannot be read shows it is really used.
        let mut hasher = PasswordHasher::new(&cheap(), 1).expect("hasher");
        hasher.dummy = Arc::new(PasswordHash("not-a-phc-string".into()));
        let result = hasher.verify(password("anything at all"), None).await;
        assert!(matches!(result, Err(Error::Internal { .. })), "{result:?}");
    }

    #[tokio::test]
    async fn same_password_gets_a_different_salt_each_time() {
        let hasher = PasswordHasher::new(&cheap(), 1).expect("hasher");
        let a = hasher.hash(password("same password")).await.expect("hash");
        let b = hasher.hash(password("same password")).await.expect("hash");
        assert_ne!(a.0, b.0);
    }

    #[tokio::test]
    async fn a_corrupt_stored_hash_is_an_error_not_a_match() {
        let hasher = PasswordHasher::new(&cheap(), 1).expect("hasher");
        let result = hasher
            .verify(
                password("whatever123"),
                Some(PasswordHash("not-a-phc-string".into())),
            )
            .await;
        assert!(matches!(result, Err(Error::Internal { .. })));
    }
}
