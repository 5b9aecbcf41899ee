//! Building and running the server. Production (`jieyue serve`) and the tests take the
//! same path: [`Application::build`] binds the listener (port 0 picks a free port) and
//! [`Application::run_until_stopped`] serves until the shutdown signal.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use chrono::Duration;
use tokio::net::TcpListener;

use crate::clock::Clock;
use crate::config::Config;
use crate::domain::ThrottlePolicy;
use crate::http::{self, AppState};
use crate::service::passwords::PasswordHasher;
use crate::service::staff::Bootstrap;
use crate::service::{self, AuthSettings, Ctx};
use crate::store::Db;
use crate::telemetry;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The data directory could not be created.
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The database could not be opened or migrated.
    #[error("database {url}: {source}")]
    Database {
        /// The URL, without its password.
        url: String,
        /// Why.
        source: sea_orm::DbErr,
    },
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The key ring is missing or unusable.
    #[error(transparent)]
    Keys(#[from] crate::keys::KeysError),
    /// Setting up a service failed (e.g. invalid Argon2 parameters, bad bootstrap password).
    #[error(transparent)]
    Service(#[from] service::Error),
    /// A setting has a value the server cannot use.
    #[error("configuration: {0}")]
    Config(&'static str),
}

/// A server ready to run.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    max_body_bytes: usize,
    max_upload_bytes: usize,
    search_sync_interval: std::time::Duration,
    /// How often a member pulls from its hubs (`None`: never), and at what rate.
    distribution_pull: (Option<std::time::Duration>, Option<u64>),
    bootstrap: Option<Bootstrap>,
}

/// The URL with any password replaced, for error messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}://{}:***@{}", &url[..scheme_end], user, &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// Opens and migrates the database, loads the keys, opens the object store and search
/// index: everything a command needs short of the HTTP listener. It creates no account:
/// the first admin is made by the server ([`Application::build`]), which shows its
/// password, so loading books before the first start cannot lock anyone out.
pub async fn build_context(config: &Config, clock: Arc<dyn Clock>) -> Result<Ctx, StartupError> {
    {
        let url = config.effective_database_url();
        if url.starts_with("sqlite:") {
            std::fs::create_dir_all(&config.data_dir).map_err(|source| StartupError::DataDir {
                path: config.data_dir.display().to_string(),
                source,
            })?;
        }
        let database_error = |source| StartupError::Database {
            url: redact_url(&url),
            source,
        };
        let db = Db::connect(&url, config.database_max_connections)
            .await
            .map_err(database_error)?;
        db.migrate().await.map_err(database_error)?;

        let keys_dir = config.effective_keys_dir();
        if config.create_keys_if_missing && !crate::keys::ring_path(&keys_dir).exists() {
            crate::keys::generate(&keys_dir, chrono::Utc::now())?;
            tracing::info!(dir = %keys_dir.display(), "created a new key ring");
        }
        let keys = Arc::new(crate::keys::load(&keys_dir)?);
        tracing::info!(issuer = %keys.signing.key_id(), "keys loaded");

        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let hashing = config.password_hashing.clone();
        let passwords = tokio::task::spawn_blocking(move || PasswordHasher::new(&hashing, cores))
            .await
            .map_err(service::Error::from)??;
        let auth = AuthSettings {
            patron_session: Duration::days(i64::from(config.auth.patron_session_days)),
            staff_session: Duration::hours(i64::from(config.auth.staff_session_hours)),
            throttle: ThrottlePolicy {
                free_failures: config.auth.max_failed_logins.max(1),
                max_delay: Duration::minutes(i64::from(config.auth.lockout_minutes.max(1))),
                client_burst: config.auth.client_failure_burst.max(1),
                client_refill: Duration::seconds(i64::from(
                    config.auth.client_failure_refill_seconds.max(1),
                )),
            },
            trust_forwarded_for: config.auth.trust_forwarded_for,
        };
        let blobs = match &config.storage_url {
            Some(url) => crate::blobs::Blobs::from_url(url),
            None => crate::blobs::Blobs::local(&config.data_dir.join("objects")),
        }
        .map_err(service::Error::internal("opening the object store"))?;
        let index_dir = config.data_dir.join("index");
        let search =
            tokio::task::spawn_blocking(move || crate::search::SearchIndex::open(&index_dir))
                .await
                .map_err(service::Error::from)?
                .map_err(service::Error::internal("opening the search index"))?;
        let catalogue = service::catalogue::Catalogue::new(
            blobs,
            Arc::new(search),
            config.data_dir.join("work"),
        );
        let webhook = config
            .notification_webhook_url
            .as_deref()
            .map(service::webhooks::Webhook::new)
            .transpose()?;
        let calendar = crate::domain::Calendar::parse(&config.local_utc_offset).ok_or(
            StartupError::Config("local_utc_offset must be an offset such as +08:00"),
        )?;
        let ctx = Ctx {
            db,
            clock,
            calendar,
            passwords,
            auth,
            keys,
            catalogue,
            webhook,
            cache: Arc::default(),
            throttle: Arc::default(),
            copy_freed: Arc::new(service::holds::Queue),
        };
        service::catalogue::sync_search(&ctx).await?;
        Ok(ctx)
    }
}

impl Application {
    /// Builds the context ([`build_context`]) and binds the listener.
    pub async fn build(config: &Config, clock: Arc<dyn Clock>) -> Result<Self, StartupError> {
        let ctx = build_context(config, clock).await?;
        let bootstrap =
            service::staff::bootstrap_admin(&ctx, config.bootstrap_admin_password.as_ref()).await?;
        let listener =
            TcpListener::bind(config.bind)
                .await
                .map_err(|source| StartupError::Bind {
                    addr: config.bind,
                    source,
                })?;
        let state = AppState {
            ctx,
            prometheus: telemetry::prometheus(),
        };
        Ok(Self {
            listener,
            state,
            max_body_bytes: config.max_body_bytes,
            max_upload_bytes: config.max_upload_bytes,
            distribution_pull: (
                (config.distribution_pull_minutes > 0).then(|| {
                    std::time::Duration::from_secs(
                        config.distribution_pull_minutes.saturating_mul(60),
                    )
                }),
                (config.distribution_pull_rate > 0).then_some(config.distribution_pull_rate),
            ),
            search_sync_interval: std::time::Duration::from_millis(
                config.search_sync_interval_ms.max(10),
            ),
            bootstrap,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The port the server listens on (useful after binding port 0).
    pub fn port(&self) -> u16 {
        self.local_addr().map_or(0, |addr| addr.port())
    }

    /// The services' context (for seeding demo data and for tests).
    pub fn ctx(&self) -> &Ctx {
        &self.state.ctx
    }

    /// The first admin, if this start created it. Returned once.
    pub fn take_bootstrap(&mut self) -> Option<Bootstrap> {
        self.bootstrap.take()
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let db = self.state.ctx.db.clone();
        // Follow catalogue changes made by other replicas.
        let sync_ctx = self.state.ctx.clone();
        let interval = self.search_sync_interval;
        let sync = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_purge = std::time::Instant::now();
            // Leftovers of a crash (unfinished uploads, scratch files, unreferenced
            // objects) go at start and then hourly.
            let mut last_sweep: Option<std::time::Instant> = None;
            loop {
                ticker.tick().await;
                if last_sweep.is_none_or(|at| at.elapsed() >= std::time::Duration::from_secs(3600))
                {
                    last_sweep = Some(std::time::Instant::now());
                    match service::catalogue::remove_orphans(&sync_ctx, LEFTOVER_GRACE).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(removed = n, "swept leftovers of interrupted work"),
                        Err(err) => tracing::warn!(error = %err, "sweeping leftovers failed"),
                    }
                }
                if let Err(err) = service::catalogue::sync_search(&sync_ctx).await {
                    tracing::warn!(error = %err, "search index sync failed; retrying");
                }
                // Ready holds not collected in time pass to the next reader; free copies
                // go to whoever waits.
                if let Err(err) = service::holds::expire_lapsed(&sync_ctx).await {
                    tracing::warn!(error = %err, "expiring holds failed; retrying");
                }
                if let Err(err) = service::holds::promote_all(&sync_ctx).await {
                    tracing::warn!(error = %err, "promoting holds failed; retrying");
                }
                if let Err(err) = service::lots::retire_exhausted_lots(&sync_ctx).await {
                    tracing::warn!(error = %err, "retiring lots failed; retrying");
                }
                if let Err(err) = service::lending::remind_ending(&sync_ctx).await {
                    tracing::warn!(error = %err, "loan reminders failed; retrying");
                }
                if let Err(err) = service::webhooks::deliver_due(&sync_ctx).await {
                    tracing::warn!(error = %err, "webhook delivery failed; retrying");
                }
                // Loans end at their end, whether or not a client is there to see it.
                match service::lending::expire_due(&sync_ctx).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(expired = n, "loans expired"),
                    Err(err) => tracing::warn!(error = %err, "expiring loans failed; retrying"),
                }
                // Expired sessions no longer authenticate; drop their rows hourly.
                if last_purge.elapsed() >= std::time::Duration::from_secs(3600) {
                    last_purge = std::time::Instant::now();
                    if let Err(err) = service::auth::purge_expired_sessions(&sync_ctx).await {
                        tracing::warn!(error = %err, "purging expired sessions failed");
                    }
                }
            }
        });
        // A member pulls new collection versions from its hubs and sends usage back.
        let pull_ctx = self.state.ctx.clone();
        let (pull_every, pull_rate) = self.distribution_pull;
        let pull = tokio::spawn(async move {
            let Some(every) = pull_every else {
                return;
            };
            // Soon after start (a county server that is switched on for opening hours
            // only would otherwise rarely reach its first interval), then every interval.
            tokio::time::sleep(every.min(std::time::Duration::from_secs(60))).await;
            loop {
                service::distribution::scheduled_pull(&pull_ctx, pull_rate).await;
                tokio::time::sleep(every).await;
            }
        });
        // The jobs stop with the server, even when this future is dropped mid-way.
        let _jobs = (AbortOnDrop(sync), AbortOnDrop(pull));
        let router = http::router(self.state, self.max_body_bytes, self.max_upload_bytes);
        let result = axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        drop(_jobs);
        db.close().await;
        result
    }
}

/// How old an unreferenced object or scratch file must be before the server's sweep
/// deletes it: longer than any upload or ingest still running on another replica.
const LEFTOVER_GRACE: chrono::Duration = chrono::Duration::hours(1);

/// Aborts a background task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://jieyue:s3cret@127.0.0.1:5432/jieyue"),
            "postgres://jieyue:***@127.0.0.1:5432/jieyue"
        );
        assert_eq!(
            redact_url("sqlite://data/jieyue.db?mode=rwc"),
            "sqlite://data/jieyue.db?mode=rwc"
        );
    }
}
