//! Persistence: sea-orm over SQLite (embedded default) or PostgreSQL.
//!
//! Functions here take `&impl ConnectionTrait`, so a service can run several of them in
//! one transaction, and they return domain types, never entity models.
//!
//! Writes go through [`Db::begin_write`]. On SQLite that is a single-connection pool
//! whose transactions start with `BEGIN IMMEDIATE`: SQLite allows one writer at a time,
//! and taking the write lock up front (instead of upgrading a read lock mid-way) is what
//! keeps concurrent writers from failing with `SQLITE_BUSY`. Reads use a separate pool.
//! On PostgreSQL both are the same pool, and invariants are kept by constraints and
//! row locks.

pub mod audit;
pub mod borrow;
mod convert;
pub mod copy_freed;
pub mod devices;
pub mod distribution;
pub mod entity;
pub mod holds;
pub mod libraries;
pub mod licences;
pub mod loans;
pub mod login_attempts;
pub mod lots;
pub mod notifications;
pub mod patrons;
pub mod positions;
pub mod rules;
pub mod sessions;
pub mod sqlite_writer;
pub mod staff;
pub mod titles;

use std::time::Duration;

use jieyue_migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, DbErr, SqlErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (e.g. a duplicate card number).
    #[error("duplicate value: {0}")]
    Duplicate(String),
    /// A stored row does not parse into its domain type.
    #[error("corrupt row in {table}: {reason}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// What did not parse.
        reason: String,
    },
    /// Any other database failure.
    #[error(transparent)]
    Db(DbErr),
    /// A failure on SQLite's writer thread.
    #[error(transparent)]
    Sqlite(rusqlite::Error),
    /// SQLite's writer thread is gone.
    #[error("the sqlite writer thread stopped")]
    WriterStopped,
}

impl From<DbErr> for StoreError {
    fn from(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(detail)) => StoreError::Duplicate(detail),
            _ => StoreError::Db(err),
        }
    }
}

/// Store result.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The database: a read pool and a write pool (the same pool on PostgreSQL), and on a
/// SQLite file the writer thread for the hot write transactions.
#[derive(Debug, Clone)]
pub struct Db {
    read: DatabaseConnection,
    write: DatabaseConnection,
    writer: Option<sqlite_writer::SqliteWriter>,
}

impl Db {
    /// Connects to `url` (`sqlite://...` or `postgres://...`) with up to
    /// `max_connections` pooled connections.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, DbErr> {
        if url.starts_with("sqlite:") {
            let read = Database::connect(sqlite_options(url, max_connections.max(1))).await?;
            let write = Database::connect(sqlite_options(url, 1)).await?;
            let writer = match sqlite_writer::sqlite_path(url) {
                Some(path) => Some(
                    sqlite_writer::SqliteWriter::open(&path)
                        .map_err(|e| DbErr::Custom(format!("sqlite writer: {e}")))?,
                ),
                None => None,
            };
            Ok(Self {
                read,
                write,
                writer,
            })
        } else {
            let mut options = ConnectOptions::new(url);
            options
                .max_connections(max_connections.max(2))
                .acquire_timeout(Duration::from_secs(10))
                .sqlx_logging(false);
            let pool = Database::connect(options).await?;
            Ok(Self {
                read: pool.clone(),
                write: pool,
                writer: None,
            })
        }
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> Result<(), DbErr> {
        Migrator::up(&self.write, None).await
    }

    /// The connection for reads outside a transaction.
    pub fn reader(&self) -> &DatabaseConnection {
        &self.read
    }

    /// SQLite's writer thread, when the database is a SQLite file.
    pub fn sqlite_writer(&self) -> Option<&sqlite_writer::SqliteWriter> {
        self.writer.as_ref()
    }

    /// Which database this is.
    pub fn backend(&self) -> DatabaseBackend {
        self.write.get_database_backend()
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE` on SQLite).
    pub async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
        let mut options = TransactionOptions::default();
        if self.backend() == DatabaseBackend::Sqlite {
            options.sqlite_transaction_mode = Some(SqliteTransactionMode::Immediate);
        }
        self.write.begin_with_options(options).await
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.read.ping().await
    }

    /// Closes both pools.
    pub async fn close(self) {
        // Errors on close leave nothing to do: the process is stopping.
        let _ = self.read.close().await;
        let _ = self.write.close().await;
    }
}

fn sqlite_options(url: &str, max_connections: u32) -> ConnectOptions {
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
                .create_if_missing(true)
        });
    options
}

/// Whether a conn is SQLite (some statements differ, e.g. `FOR UPDATE`).
pub fn is_sqlite(conn: &impl ConnectionTrait) -> bool {
    conn.get_database_backend() == DatabaseBackend::Sqlite
}
