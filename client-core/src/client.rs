//! The [`Client`]: account, catalogue, lending, licences, trusted time and sync.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use jieyue_protocol::api::{
    self, BorrowRequest, PatronLoginRequest, PatronLoginResponse, PlaceHoldRequest, SecretString,
    SuspendHoldRequest,
};
use jieyue_protocol::enrolment::ClientEnrolment;
use jieyue_protocol::licence::{self, Licence};
use jieyue_protocol::local::LocalIntegrity;
use jieyue_protocol::status::{self, LicenceStatus};
use jieyue_protocol::time::{self, DEFAULT_ROLLBACK_TOLERANCE, TimeAnchor};
use jieyue_protocol::{DeviceKey, KeySet};
use reqwest::Method;
use uuid::Uuid;

use crate::error::{ClientError, Result};
use crate::http::Api;
use crate::model::{
    Device, Hold, Loan, MemberLibrary, NotificationPage, Profile, SearchPage, SyncReport,
    TitleDetails, millis,
};
use crate::platform::{PlatformClock, SecureStore, reading};
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
    /// How far the wall clock may lag trusted time before it counts as turned back
    /// (seconds; 0 for the default of five minutes).
    pub rollback_tolerance_seconds: u64,
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
        let tolerance = match config.rollback_tolerance_seconds {
            0 => DEFAULT_ROLLBACK_TOLERANCE,
            s => Duration::from_secs(s),
        };
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

    /// The libraries of the consortium (to choose one at login).
    pub async fn libraries(&self) -> Result<Vec<MemberLibrary>> {
        let list: Vec<api::LibrarySummary> = self.inner.api.get("/api/v1/libraries", None).await?;
        Ok(list.into_iter().map(MemberLibrary::from).collect())
    }

    /// Logs in with a library card; the session token goes to the secure store.
    pub async fn login(
        &self,
        library_code: &str,
        card_number: &str,
        password: &str,
    ) -> Result<Profile> {
        let response: PatronLoginResponse = self
            .inner
            .api
            .post(
                "/api/v1/auth/login",
                None,
                &PatronLoginRequest {
                    library_code: library_code.to_owned(),
                    card_number: card_number.to_owned(),
                    password: SecretString::new(password),
                },
            )
            .await?;
        let token = response.session.token;
        self.inner
            .secure_put(SESSION_KEY, token.expose().as_bytes().to_vec())?;
        lock(&self.inner.state).session = Some(token);
        tracing::info!(library = library_code, "logged in");
        Ok(response.patron.into())
    }

    /// Logs out: ends the session on the server (if reachable) and forgets it here.
    /// Downloaded books and their licences stay readable until their loans end.
    pub async fn logout(&self) -> Result<()> {
        let token = lock(&self.inner.state).session.take();
        self.inner.secure_delete(SESSION_KEY)?;
        if let Some(token) = token {
            let request =
                self.inner
                    .api
                    .request(Method::POST, "/api/v1/auth/logout", Some(&token))?;
            // Offline logout still forgets the token locally.
            let _ = self.inner.api.send(request).await;
        }
        Ok(())
    }

    /// The reader's profile.
    pub async fn me(&self) -> Result<Profile> {
        let token = self.inner.session()?;
        let profile: api::PatronProfile = self.inner.api.get("/api/v1/me", Some(&token)).await?;
        Ok(profile.into())
    }

    /// Enrols this device (or re-enrols it, replacing its key): the device key is
    /// agreed with the server and kept in the secure store.
    pub async fn enrol_device(&self) -> Result<Device> {
        let token = self.inner.session()?;
        let device_id = match lock(&self.inner.state).device.as_ref() {
            Some((id, _)) => *id,
            None => Uuid::new_v4(),
        };
        let (enrolment, request) =
            ClientEnrolment::start(device_id, &self.inner.config.device_name)
                .map_err(ClientError::other)?;
        let response: api::EnrolmentResponse = self
            .inner
            .api
            .post("/api/v1/me/devices", Some(&token), &request)
            .await?;
        let (key, reply) = enrolment
            .finish(&response.reply, &self.inner.keys)
            .map_err(|e| ClientError::corrupt(format!("enrolment reply refused: {e}")))?;
        self.inner
            .secure_put(DEVICE_KEY, key.expose_secret().to_vec())?;
        self.inner
            .secure_put(DEVICE_ID, device_id.to_string().into_bytes())?;
        {
            let mut state = lock(&self.inner.state);
            state.device = Some((device_id, Arc::new(key)));
            state.anchor = None;
            state.anchor_saved = None;
        }
        // Licences wrapped for an earlier key of this device no longer open.
        let integrity = self.inner.integrity()?;
        {
            let store = lock(&self.inner.store);
            for publication in store.licence_publications()? {
                store.delete_licence(publication)?;
            }
        }
        self.inner
            .observe_server_time(&integrity, reply.issued_at)?;
        tracing::info!(device = %device_id, "device enrolled");
        Ok(response.device.into())
    }

    /// Searches the catalogue (`query` may be empty to browse).
    pub async fn search(
        &self,
        query: &str,
        language: Option<String>,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<SearchPage> {
        let mut params: Vec<(&str, String)> = Vec::new();
        if !query.trim().is_empty() {
            params.push(("q", query.to_owned()));
        }
        if let Some(language) = language {
            params.push(("language", language));
        }
        if let Some(cursor) = cursor {
            params.push(("cursor", cursor));
        }
        if limit > 0 {
            params.push(("limit", limit.to_string()));
        }
        let token = self.inner.session_opt();
        let request = self
            .inner
            .api
            .request(Method::GET, "/api/v1/catalog", token.as_ref())?
            .query(&params);
        let page: api::CatalogPage = self.inner.api.json(request).await?;
        Ok(SearchPage {
            items: page.items.into_iter().map(Into::into).collect(),
            total: page.total,
            next_cursor: page.next_cursor,
        })
    }

    /// A title's details, with availability at the reader's library when logged in.
    pub async fn title(&self, title_id: &str) -> Result<TitleDetails> {
        let id = parse_id(title_id, "title")?;
        let token = self.inner.session_opt();
        let details: api::TitleDetails = self
            .inner
            .api
            .get(&format!("/api/v1/catalog/{id}"), token.as_ref())
            .await?;
        Ok(details.into())
    }

    /// Borrows a title for `days` (0: the library's default) and fetches its licence
    /// for this device.
    pub async fn borrow(&self, title_id: &str, days: u32) -> Result<Loan> {
        let id = parse_id(title_id, "title")?;
        let token = self.inner.session()?;
        self.inner.device()?;
        let loan: api::LoanView = self
            .inner
            .api
            .post(
                "/api/v1/me/loans",
                Some(&token),
                &BorrowRequest {
                    title_id: id,
                    days: (days > 0).then_some(days),
                    request_id: Uuid::new_v4(),
                },
            )
            .await?;
        self.inner.fetch_licence(&token, &loan).await?;
        tracing::info!(title = %id, loan = %loan.id, "borrowed");
        self.inner.loan(loan)
    }

    /// The reader's active loans (all, including ended ones, with `include_ended`).
    pub async fn loans(&self, include_ended: bool) -> Result<Vec<Loan>> {
        let token = self.inner.session()?;
        let path = if include_ended {
            "/api/v1/me/loans?all=true"
        } else {
            "/api/v1/me/loans"
        };
        let loans: Vec<api::LoanView> = self.inner.api.get(path, Some(&token)).await?;
        loans.into_iter().map(|l| self.inner.loan(l)).collect()
    }

    /// Fetches (or refreshes) this device's licence for an active loan, e.g. for a
    /// loan borrowed on another device.
    pub async fn fetch_licence(&self, loan_id: &str) -> Result<Loan> {
        let id = parse_id(loan_id, "loan")?;
        let token = self.inner.session()?;
        let loans: Vec<api::LoanView> =
            self.inner.api.get("/api/v1/me/loans", Some(&token)).await?;
        let loan = loans
            .into_iter()
            .find(|l| l.id == id)
            .ok_or_else(|| ClientError::not_found(format!("no active loan {id}")))?;
        self.inner.fetch_licence(&token, &loan).await?;
        self.inner.loan(loan)
    }

    /// Renews a loan and replaces this device's licence with the renewed one.
    pub async fn renew(&self, loan_id: &str) -> Result<Loan> {
        let id = parse_id(loan_id, "loan")?;
        let token = self.inner.session()?;
        let request = self.inner.api.request(
            Method::POST,
            &format!("/api/v1/me/loans/{id}/renew"),
            Some(&token),
        )?;
        let loan: api::LoanView = self.inner.api.json(request).await?;
        self.inner.fetch_licence(&token, &loan).await?;
        self.inner.loan(loan)
    }

    /// Returns a loan early; its key and package are deleted from this device.
    pub async fn return_loan(&self, loan_id: &str) -> Result<Loan> {
        let id = parse_id(loan_id, "loan")?;
        let token = self.inner.session()?;
        let request = self.inner.api.request(
            Method::POST,
            &format!("/api/v1/me/loans/{id}/return"),
            Some(&token),
        )?;
        let loan: api::LoanView = self.inner.api.json(request).await?;
        self.inner.destroy(loan.title_id)?;
        self.inner.loan(loan)
    }

    /// The reader's holds.
    pub async fn holds(&self) -> Result<Vec<Hold>> {
        let token = self.inner.session()?;
        let holds: Vec<api::HoldView> =
            self.inner.api.get("/api/v1/me/holds", Some(&token)).await?;
        Ok(holds.into_iter().map(Hold::from).collect())
    }

    /// Places a hold; with `auto_borrow` the loan starts by itself when a copy is ready.
    pub async fn place_hold(&self, title_id: &str, auto_borrow: bool) -> Result<Hold> {
        let id = parse_id(title_id, "title")?;
        let token = self.inner.session()?;
        let hold: api::HoldView = self
            .inner
            .api
            .post(
                "/api/v1/me/holds",
                Some(&token),
                &PlaceHoldRequest {
                    title_id: id,
                    auto_borrow,
                },
            )
            .await?;
        Ok(hold.into())
    }

    /// Cancels a hold.
    pub async fn cancel_hold(&self, hold_id: &str) -> Result<()> {
        let id = parse_id(hold_id, "hold")?;
        let token = self.inner.session()?;
        let request = self.inner.api.request(
            Method::DELETE,
            &format!("/api/v1/me/holds/{id}"),
            Some(&token),
        )?;
        self.inner.api.send(request).await?;
        Ok(())
    }

    /// Suspends a hold until `until_ms` (it keeps its place), or resumes it with `None`.
    pub async fn suspend_hold(&self, hold_id: &str, until_ms: Option<i64>) -> Result<Hold> {
        let id = parse_id(hold_id, "hold")?;
        let token = self.inner.session()?;
        let until = match until_ms {
            Some(ms) => Some(
                DateTime::<Utc>::from_timestamp_millis(ms)
                    .ok_or_else(|| ClientError::other("suspension date out of range"))?,
            ),
            None => None,
        };
        let hold: api::HoldView = self
            .inner
            .api
            .post(
                &format!("/api/v1/me/holds/{id}/suspend"),
                Some(&token),
                &SuspendHoldRequest { until },
            )
            .await?;
        Ok(hold.into())
    }

    /// The reader's notifications after the cursor `after`.
    pub async fn notifications(&self, after: Option<String>) -> Result<NotificationPage> {
        let token = self.inner.session()?;
        let mut request =
            self.inner
                .api
                .request(Method::GET, "/api/v1/me/notifications", Some(&token))?;
        if let Some(after) = after {
            request = request.query(&[("after", after)]);
        }
        let page: api::NotificationPage = self.inner.api.json(request).await?;
        Ok(page.into())
    }

    /// Checks every licence on this device with the server: learns of returns,
    /// renewals and revocations, re-anchors trusted time (clearing a clock rollback),
    /// and sends unsent reading positions.
    pub async fn sync(&self) -> Result<SyncReport> {
        let mut report = SyncReport::default();
        let publications = lock(&self.inner.store).licence_publications()?;
        let integrity = self.inner.integrity()?;
        for publication in publications {
            let Some(stored) = self.inner.stored_licence(&integrity, publication)? else {
                continue;
            };
            let licence = licence::verify(&stored.token, &self.inner.keys)?;
            let token = self
                .inner
                .api
                .text(
                    self.inner
                        .api
                        .request(Method::GET, &licence.terms.links.status, None)?,
                )
                .await?;
            let document = status::verify(token.trim(), &self.inner.keys)
                .map_err(|e| ClientError::corrupt(format!("status document refused: {e}")))?;
            if document.licence_id != stored.licence_id {
                return Err(ClientError::corrupt(
                    "the status document is for another licence",
                ));
            }
            report.checked += 1;
            self.inner
                .observe_server_time(&integrity, document.server_time)?;
            match document.status {
                LicenceStatus::Active if document.end != licence.terms.rights.end => {
                    // Renewed (perhaps on another device): fetch the new licence.
                    if let Some(session) = self.inner.session_opt() {
                        let loans: Vec<api::LoanView> = self
                            .inner
                            .api
                            .get("/api/v1/me/loans", Some(&session))
                            .await?;
                        if let Some(loan) = loans.iter().find(|l| l.id == stored.loan_id) {
                            self.inner.fetch_licence(&session, loan).await?;
                            report.renewed += 1;
                            continue;
                        }
                    }
                    let mut updated = stored.clone();
                    updated.ends_at = document.end;
                    lock(&self.inner.store).put_licence(&integrity, &updated)?;
                }
                LicenceStatus::Active => {}
                _ended => {
                    self.inner.destroy(publication)?;
                    report.ended.push(publication.to_string());
                }
            }
        }
        report.positions_sent = self.inner.send_positions().await?;
        tracing::info!(
            checked = report.checked,
            renewed = report.renewed,
            ended = report.ended.len(),
            "synced"
        );
        Ok(report)
    }

    /// Deletes the expired licences whose end has passed by trusted time (their keys
    /// and packages go). Returns the publications removed. Needs no network.
    pub fn remove_ended(&self) -> Result<Vec<String>> {
        let integrity = self.inner.integrity()?;
        let publications = lock(&self.inner.store).licence_publications()?;
        let mut removed = Vec::new();
        for publication in publications {
            match self.inner.check_licence(&integrity, publication, None) {
                Err(ClientError::Expired { .. } | ClientError::Revoked { .. }) => {
                    removed.push(publication.to_string());
                }
                Err(ClientError::ClockRollback { .. }) => break,
                _ => {}
            }
        }
        Ok(removed)
    }

    /// The trusted time now (ms), or a clock-rollback error.
    pub fn trusted_now_ms(&self) -> Result<i64> {
        let integrity = self.inner.integrity()?;
        Ok(millis(self.inner.trusted_now(&integrity)?))
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
            .ok_or_else(|| ClientError::auth("not logged in"))
    }

    fn session_opt(&self) -> Option<SecretString> {
        lock(&self.state).session.clone()
    }

    pub(crate) fn device(&self) -> Result<(Uuid, Arc<DeviceKey>)> {
        lock(&self.state)
            .device
            .clone()
            .ok_or_else(|| ClientError::auth("this device is not enrolled"))
    }

    pub(crate) fn integrity(&self) -> Result<LocalIntegrity> {
        Ok(LocalIntegrity::new(&self.device()?.1))
    }

    pub(crate) fn with_store<T>(&self, f: impl FnOnce(&LocalStore) -> Result<T>) -> Result<T> {
        f(&lock(&self.store))
    }

    fn loan(&self, loan: api::LoanView) -> Result<Loan> {
        let licensed_here = match self.integrity() {
            Ok(integrity) => self.stored_licence(&integrity, loan.title_id)?.is_some(),
            Err(_) => false,
        };
        Ok(Loan {
            id: loan.id.to_string(),
            title_id: loan.title_id.to_string(),
            started_at_ms: millis(loan.started_at),
            ends_at_ms: millis(loan.ends_at),
            renewals: loan.renewals,
            state: loan.state,
            licensed_here,
            downloaded: self.package_path(loan.title_id).exists(),
        })
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

    /// Fetches and stores this device's licence for `loan`.
    async fn fetch_licence(&self, session: &SecretString, loan: &api::LoanView) -> Result<Licence> {
        let (device_id, device_key) = self.device()?;
        let request = self
            .api
            .request(Method::GET, &loan.licence, Some(session))?
            .query(&[("device", device_id.to_string())]);
        let token = self.api.text(request).await?;
        let token = token.trim().to_owned();
        let licence = licence::verify(&token, &self.keys)?;
        if licence.terms.device_id != device_id || licence.terms.publication_id != loan.title_id {
            return Err(ClientError::corrupt(
                "the licence is for another device or book",
            ));
        }
        // Prove now that it opens here, rather than when the reader is offline.
        licence.unwrap_content_key(&device_key)?;
        let integrity = LocalIntegrity::new(&device_key);
        self.observe_server_time(&integrity, licence.terms.server_time)?;
        lock(&self.store).put_licence(
            &integrity,
            &StoredLicence {
                publication_id: loan.title_id,
                licence_id: licence.terms.id,
                loan_id: loan.id,
                token,
                status: LicenceStatus::Active,
                ends_at: licence.terms.rights.end,
            },
        )?;
        Ok(licence)
    }

    /// Destroys what this device holds of a publication: the licence (with the wrapped
    /// key), the package and any partial download.
    pub(crate) fn destroy(&self, publication: Uuid) -> Result<()> {
        tracing::info!(%publication, "licence, key and package removed from the device");
        lock(&self.store).delete_licence(publication)?;
        self.remove_package(publication)
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

    /// Takes a signed server time just received online. A time older than the latest
    /// one seen is ignored (a replayed document must not wind trusted time back).
    fn observe_server_time(
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

    /// Whether `publication` may be read now; destroys its key when the loan is over.
    /// Returns the verified licence.
    ///
    /// `verified` is a licence this client verified earlier (an open book's): when the
    /// stored row is still that licence, its signature is not checked again. The row's
    /// MAC already proves it unchanged, and this runs on every resource read.
    pub(crate) fn check_licence(
        &self,
        integrity: &LocalIntegrity,
        publication: Uuid,
        verified: Option<&Licence>,
    ) -> Result<Licence> {
        let stored = self
            .stored_licence(integrity, publication)?
            .ok_or_else(|| ClientError::not_found("no licence for this book on this device"))?;
        match stored.status {
            LicenceStatus::Active => {}
            LicenceStatus::Returned | LicenceStatus::Revoked => {
                self.destroy(publication)?;
                return Err(ClientError::Revoked {
                    message: "the loan was returned or revoked".into(),
                });
            }
            LicenceStatus::Expired => {
                self.destroy(publication)?;
                return Err(ClientError::Expired {
                    message: "the loan has ended".into(),
                });
            }
        }
        let licence = match verified {
            Some(known) if known.terms.id == stored.licence_id => known.clone(),
            _ => licence::verify(&stored.token, &self.keys)?,
        };
        let (device_id, _) = self.device()?;
        if licence.terms.device_id != device_id {
            return Err(ClientError::corrupt(
                "the licence belongs to another device",
            ));
        }
        let now = self.trusted_now(integrity)?;
        let end = licence.terms.rights.end.min(stored.ends_at);
        match time::check_window(licence.terms.rights.start, end, now) {
            Ok(()) => Ok(licence),
            Err(time::TimeError::Expired) => {
                self.destroy(publication)?;
                Err(time::TimeError::Expired.into())
            }
            Err(e) => Err(e.into()),
        }
    }
}
