//! Layered configuration: built-in defaults, then a TOML file (`--config`), then
//! `JIEYUE_*` environment variables (nested keys use `__`, e.g.
//! `JIEYUE_AUTH__MAX_FAILED_LOGINS=10`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use jieyue_protocol::api::SecretString;
use serde::{Deserialize, Serialize};

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(#[from] Box<figment::Error>);

/// The whole server configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address and port to listen on (`JIEYUE_BIND`).
    pub bind: SocketAddr,
    /// Directory for the SQLite database, keys, packages and the search index
    /// (`JIEYUE_DATA_DIR`).
    pub data_dir: PathBuf,
    /// Where the key ring lives (default `<data_dir>/keys`).
    pub keys_dir: Option<PathBuf>,
    /// Create a key ring at start if there is none (`jieyue demo` and tests do; a
    /// production server should have its keys made deliberately with `jieyue keys`).
    pub create_keys_if_missing: bool,
    /// Where packages and covers are stored: `file:///path` or `s3://bucket/prefix`
    /// (`JIEYUE_STORAGE_URL`). Default: `<data_dir>/objects`.
    pub storage_url: Option<String>,
    /// Database URL (`JIEYUE_DATABASE_URL`): `sqlite://...` or `postgres://...`.
    /// Default: `sqlite://<data_dir>/jieyue.db`.
    pub database_url: Option<String>,
    /// Size of the connection pool (readers on SQLite; SQLite always has one writer).
    pub database_max_connections: u32,
    /// Log output: `text` for people, `json` for log collectors.
    pub log_format: LogFormat,
    /// A `tracing` filter such as `info,jieyue_server=debug` (`RUST_LOG` wins if set).
    pub log_filter: String,
    /// Largest request body accepted, in bytes (uploads have their own limit).
    pub max_body_bytes: usize,
    /// How often this replica applies catalogue changes made by other replicas to its
    /// search index, in milliseconds.
    pub search_sync_interval_ms: u64,
    /// Where reader notifications are also POSTed as JSON (`http://` only: put a relay in
    /// front for TLS). Unset: notifications stay in the app's inbox only.
    pub notification_webhook_url: Option<String>,
    /// Largest EPUB upload accepted, in bytes.
    pub max_upload_bytes: usize,
    /// The libraries' civil time as an offset from UTC (`+08:00` in China, which has no
    /// daylight saving): what "today", "this month" and "valid through a date" mean on
    /// the pages and in reports.
    #[serde(default = "default_local_utc_offset")]
    pub local_utc_offset: String,
    /// On a member server: how often to pull new collection versions from its hubs and
    /// send usage back, in minutes (0: never; `jieyue collection pull` still works).
    #[serde(default = "default_distribution_pull_minutes")]
    pub distribution_pull_minutes: u64,
    /// Bytes per second the scheduled pull may use (0: no limit).
    #[serde(default)]
    pub distribution_pull_rate: u64,
    /// Login sessions and lock-out.
    pub auth: AuthConfig,
    /// Argon2id cost parameters for new password hashes.
    pub password_hashing: PasswordHashingConfig,
    /// Password for the first consortium admin, used only when the database has no
    /// staff at all (`JIEYUE_BOOTSTRAP_ADMIN_PASSWORD`). If unset, a random one is
    /// generated and printed once.
    #[serde(skip_serializing)]
    pub bootstrap_admin_password: Option<SecretString>,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Sessions and protection against password guessing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// How long a patron's login lasts (a phone stays logged in).
    pub patron_session_days: u32,
    /// How long a staff login lasts.
    pub staff_session_hours: u32,
    /// Consecutive wrong passwords for one account from one client before each next
    /// attempt must wait (one second, doubling).
    pub max_failed_logins: u32,
    /// The longest wait between attempts, in minutes.
    pub lockout_minutes: u32,
    /// Wrong passwords one client may send in a burst, over all accounts.
    #[serde(default = "default_client_failure_burst")]
    pub client_failure_burst: u32,
    /// A client earns one more wrong password this many seconds after its last.
    #[serde(default = "default_client_failure_refill_seconds")]
    pub client_failure_refill_seconds: u32,
    /// Behind a reverse proxy: take the client's address from the last hop of
    /// `X-Forwarded-For` (only if the proxy sets it; otherwise anyone can forge it).
    #[serde(default)]
    pub trust_forwarded_for: bool,
}

fn default_distribution_pull_minutes() -> u64 {
    360
}

fn default_local_utc_offset() -> String {
    "+08:00".to_owned()
}

fn default_client_failure_burst() -> u32 {
    20
}

fn default_client_failure_refill_seconds() -> u32 {
    3
}

/// Argon2id parameters (see RFC 9106 and the OWASP password storage guidance).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordHashingConfig {
    /// Memory cost in KiB.
    pub memory_kib: u32,
    /// Number of passes.
    pub iterations: u32,
    /// Degree of parallelism.
    pub parallelism: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            keys_dir: None,
            create_keys_if_missing: false,
            storage_url: None,
            database_url: None,
            database_max_connections: 8,
            log_format: LogFormat::Text,
            log_filter: "info,sqlx=warn,sea_orm=warn".to_owned(),
            max_body_bytes: 64 * 1024,
            max_upload_bytes: 1024 * 1024 * 1024,
            search_sync_interval_ms: 5000,
            notification_webhook_url: None,
            local_utc_offset: default_local_utc_offset(),
            distribution_pull_minutes: default_distribution_pull_minutes(),
            distribution_pull_rate: 0,
            auth: AuthConfig {
                patron_session_days: 30,
                staff_session_hours: 12,
                max_failed_logins: 5,
                lockout_minutes: 15,
                client_failure_burst: default_client_failure_burst(),
                client_failure_refill_seconds: default_client_failure_refill_seconds(),
                trust_forwarded_for: false,
            },
            // OWASP's first recommended Argon2id setting: 19 MiB, 2 passes, 1 lane.
            password_hashing: PasswordHashingConfig {
                memory_kib: 19 * 1024,
                iterations: 2,
                parallelism: 1,
            },
            bootstrap_admin_password: None,
        }
    }
}

impl Config {
    /// Loads defaults, then `file` if given, then the `JIEYUE_*` environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        // Only variables naming a configuration key are read: others, such as
        // `JIEYUE_CONFIG` or the test suite's `JIEYUE_TEST_*`, are not configuration.
        let keys = Self::top_level_keys();
        let env = Env::prefixed("JIEYUE_").split("__").filter(move |key| {
            let top = key.as_str().split('.').next().unwrap_or_default();
            keys.iter().any(|known| known.eq_ignore_ascii_case(top))
        });
        figment
            .merge(env)
            .extract()
            .map_err(|e| ConfigError(Box::new(e)))
    }

    /// The names of the top-level configuration keys.
    fn top_level_keys() -> Vec<String> {
        let mut keys: Vec<String> = match serde_json::to_value(Config::default()) {
            Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
            _ => Vec::new(),
        };
        // Secrets are never serialised, but are configuration all the same.
        keys.push("bootstrap_admin_password".to_owned());
        keys
    }

    /// The key ring directory in force.
    pub fn effective_keys_dir(&self) -> PathBuf {
        self.keys_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("keys"))
    }

    /// The database URL in force: the configured one, or SQLite in the data directory.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("jieyue.db").display()
            ),
        }
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment::Error.
mod tests {
    use super::*;

    #[test]
    fn file_then_environment_override_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "jieyue.toml",
                r#"
                bind = "0.0.0.0:9000"
                data_dir = "/srv/jieyue"
                [auth]
                patron_session_days = 7
                staff_session_hours = 8
                max_failed_logins = 3
                lockout_minutes = 5
                "#,
            )?;
            jail.set_env("JIEYUE_BIND", "127.0.0.1:9100");
            jail.set_env("JIEYUE_AUTH__MAX_FAILED_LOGINS", "9");
            jail.set_env("JIEYUE_BOOTSTRAP_ADMIN_PASSWORD", "from-the-environment");
            // Variables that are not configuration keys are left alone.
            jail.set_env("JIEYUE_CONFIG", "jieyue.toml");
            jail.set_env("JIEYUE_TEST_POSTGRES_URL", "postgres://elsewhere");

            let config = Config::load(Some(Path::new("jieyue.toml"))).map_err(|e| e.to_string())?;

            assert_eq!(config.bind, SocketAddr::from(([127, 0, 0, 1], 9100)));
            assert_eq!(config.data_dir, PathBuf::from("/srv/jieyue"));
            assert_eq!(config.auth.patron_session_days, 7);
            assert_eq!(config.auth.max_failed_logins, 9);
            assert_eq!(
                config.bootstrap_admin_password.as_ref().map(|p| p.expose()),
                Some("from-the-environment")
            );
            assert_eq!(
                config.effective_database_url(),
                "sqlite:///srv/jieyue/jieyue.db?mode=rwc"
            );
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_an_error() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("jieyue.toml", "bnid = \"0.0.0.0:9000\"\n")?;
            let err = Config::load(Some(Path::new("jieyue.toml")));
            assert!(err.is_err());
            Ok(())
        });
    }

    #[test]
    fn debug_does_not_print_the_bootstrap_password() {
        let config = Config {
            bootstrap_admin_password: Some(SecretString::new("s3cret-value")),
            ..Config::default()
        };
        assert!(!format!("{config:?}").contains("s3cret-value"));
    }
}
