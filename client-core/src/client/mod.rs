//! The [`Client`]: the reader's engine. Its methods are split by concern:
//! [`account`] (login, device), [`catalogue`], [`lending`] (loans), [`licences`]
//! (this device's licences), [`holds`] (holds and notifications), [`sync`] and
//! [`trusted_time`]. This module holds the state they share.

mod account;
mod catalogue;
mod holds;
mod lending;
mod licences;
mod sync;
mod trusted_time;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use jieyue_protocol::api::SecretString;
use jieyue_protocol::local::LocalIntegrity;
use jieyue_protocol::status::LicenceStatus;
use jieyue_protocol::time::{DEFAULT_ROLLBACK_TOLERANCE, TimeAnchor};
use jieyue_protocol::{DeviceKey, KeySet};
use uuid::Uuid;

use crate::api::Api;
use crate::error::{ClientError, Result};
use crate::platform::{PlatformClock, SecureStore};
use crate::store::{LocalStore, StoredLicence};

const SESSION_KEY: &str = "jieyue.session";
const DEVICE_KEY: &str = "jieyue.device_key";
const DEVICE_ID: &str = "jieyue.device_id";
const HIGH_WATER: &str = "jieyue.time_high_water";

/// How the client is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ClientConfig {
    /// The lending server, e.g. `https://read.library.example`.
    pub server_url: String,
    /// A directory the app owns (the local database and downloaded packages).
    pub data_dir: String,
    /// The issuer's public keys (the JWK Set served at `/.well-known/jieyue/keys`),
    /// pinned in the app at build time.
    pub issuer_keys_json: String,
    /// This device's name as the reader sees it in their device list.
    pub device_name: String,
    /// How far the wall clock may lag trusted time before it counts as turned back,
    /// in seconds (`None`: the default of five minutes).
    pub rollback_tolerance_seconds: Option<u64>,
}

/// The reader's engine. Cheap to share: clone the `Arc` it is made in.
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("server_url", &self.inner.config.server_url)
            .finish_non_exhaustive()
    }
}

/// Session, device and trusted-time state in memory.
#[derive(Default)]
struct State {
    session: Option<SecretString>,
    device: Option<(Uuid, Arc<DeviceKey>)>,
    anchor: Option<TimeAnchor>,
    /// The anchor's high-water mark as last written to the local store.
    anchor_saved: Option<DateTime<Utc>>,
    /// The mark mirrored in the secure store (survives a restored database).
    secure_mark: Option<DateTime<Utc>>,
}

pub(crate) struct Inner {
    pub(crate) config: ClientConfig,
    pub(crate) api: Api,
    pub(crate) keys: KeySet,
    secure: Arc<dyn SecureStore>,
    clock: Arc<dyn PlatformClock>,
    store: Mutex<LocalStore>,
    state: Mutex<State>,
    pub(crate) paused: Mutex<HashSet<Uuid>>,
    tolerance: Duration,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave these values half-written in a way
    // that matters more than losing them; keep going.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(crate) fn parse_id(id: &str, what: &str) -> Result<Uuid> {
    id.parse()
        .map_err(|_| ClientError::not_found(format!("{what} {id:?} is not a valid id")))
}

impl Client {
    /// Opens (or creates) the client's local state in `config.data_dir`.
    pub fn new(
        config: ClientConfig,
        secure_store: Arc<dyn SecureStore>,
        clock: Arc<dyn PlatformClock>,
    ) -> Result<Self> {
        let keys: KeySet = serde_json::from_str(&config.issuer_keys_json)
            .map_err(|e| ClientError::other(format!("issuer keys: {e}")))?;
        if keys.keys.is_empty() {
            return Err(ClientError::other("no issuer keys pinned"));
        }
        let data_dir = PathBuf::from(&config.data_dir);
        std::fs::create_dir_all(data_dir.join("packages"))?;
        let store = LocalStore::open(&data_dir.join("jieyue.db"))?;
        let tolerance = config
            .rollback_tolerance_seconds
            .map_or(DEFAULT_ROLLBACK_TOLERANCE, Duration::from_secs);
        let inner = Inner {
            api: Api::new(&config.server_url)?,
            config,
            keys,
            secure: secure_store,
            clock,
            store: Mutex::new(store),
            state: Mutex::new(State::default()),
            paused: Mutex::new(HashSet::new()),
            tolerance,
        };
        inner.load_secrets()?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Whether a session token is held.
    pub fn is_logged_in(&self) -> bool {
        lock(&self.inner.state).session.is_some()
    }

    /// This installation's device id, once enrolled.
    pub fn device_id(&self) -> Option<String> {
        lock(&self.inner.state)
            .device
            .as_ref()
            .map(|(id, _)| id.to_string())
    }
}

impl Inner {
    fn secure_put(&self, key: &str, value: Vec<u8>) -> Result<()> {
        self.secure
            .put(key.to_owned(), value)
            .map_err(ClientError::storage)
    }

    fn secure_get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.secure
            .get(key.to_owned())
            .map_err(ClientError::storage)
    }

    fn secure_delete(&self, key: &str) -> Result<()> {
        self.secure
            .delete(key.to_owned())
            .map_err(ClientError::storage)
    }

    fn load_secrets(&self) -> Result<()> {
        let mut state = lock(&self.state);
        if let Some(token) = self.secure_get(SESSION_KEY)? {
            state.session = String::from_utf8(token).ok().map(SecretString::new);
        }
        let key = self.secure_get(DEVICE_KEY)?;
        let id = self.secure_get(DEVICE_ID)?;
        if let (Some(key), Some(id)) = (key, id) {
            let id = String::from_utf8(id)
                .ok()
                .and_then(|id| id.parse().ok())
                .ok_or_else(|| ClientError::storage("the stored device id is unreadable"))?;
            let key = DeviceKey::from_slice(&key)
                .map_err(|_| ClientError::storage("the stored device key is unreadable"))?;
            state.device = Some((id, Arc::new(key)));
        }
        if let Some(mark) = self.secure_get(HIGH_WATER)? {
            state.secure_mark = String::from_utf8(mark)
                .ok()
                .and_then(|m| DateTime::parse_from_rfc3339(&m).ok())
                .map(|m| m.with_timezone(&Utc));
        }
        Ok(())
    }

    pub(crate) fn session(&self) -> Result<SecretString> {
        self.session_opt()
            .ok_or_else(|| ClientError::session_expired("not logged in"))
    }

    pub(crate) fn session_opt(&self) -> Option<SecretString> {
        lock(&self.state).session.clone()
    }

    pub(crate) fn device(&self) -> Result<(Uuid, Arc<DeviceKey>)> {
        lock(&self.state)
            .device
            .clone()
            .ok_or_else(|| ClientError::not_enrolled("enrol this device first"))
    }

    pub(crate) fn integrity(&self) -> Result<LocalIntegrity> {
        Ok(LocalIntegrity::new(&self.device()?.1))
    }

    pub(crate) fn with_store<T>(&self, f: impl FnOnce(&LocalStore) -> Result<T>) -> Result<T> {
        f(&lock(&self.store))
    }

    /// The platform's monotonic clock, in milliseconds since boot.
    pub(crate) fn since_boot_millis(&self) -> u64 {
        self.clock.since_boot_millis()
    }

    pub(crate) fn package_path(&self, publication: Uuid) -> PathBuf {
        PathBuf::from(&self.config.data_dir)
            .join("packages")
            .join(format!("{publication}.epub"))
    }

    pub(crate) fn stored_licence(
        &self,
        integrity: &LocalIntegrity,
        publication: Uuid,
    ) -> Result<Option<StoredLicence>> {
        lock(&self.store).licence(integrity, publication)
    }

    /// Destroys what this device holds of a publication: the licence (with the wrapped
    /// key), the package and any partial download.
    pub(crate) fn destroy(&self, publication: Uuid) -> Result<()> {
        tracing::info!(%publication, "licence, key and package removed from the device");
        lock(&self.store).delete_licence(publication)?;
        self.remove_package(publication)
    }

    /// Like [`Client::destroy`], remembering how the loan ended so that opening the
    /// book later says so ([`ClientError::Returned`], `Revoked`, `Expired`).
    pub(crate) fn destroy_ended(&self, publication: Uuid, how: LicenceStatus) -> Result<()> {
        lock(&self.store).record_ended(publication, how)?;
        self.destroy(publication)
    }

    /// Deletes the package of `publication` and any partial download of it.
    pub(crate) fn remove_package(&self, publication: Uuid) -> Result<()> {
        let path = self.package_path(publication);
        for file in [path.clone(), path.with_extension("part")] {
            match std::fs::remove_file(&file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        Ok(())
    }
}
