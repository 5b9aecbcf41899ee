//! SQLite's one writer as a thread of its own: a write transaction handed to it runs
//! start to finish on that thread, through rusqlite on the same libsqlite3 as sqlx,
//! with no hop between an async task and a connection thread per statement (ADR 0013).
//!
//! The hot write paths (a borrow) use it; everything else writes through sea-orm's
//! single-connection write pool. The two connections take SQLite's write lock in turn
//! (`BEGIN IMMEDIATE`); this one waits for the lock in short, bounded steps.

use std::sync::mpsc;
use std::time::Duration;

use tokio::sync::oneshot;

/// Why the writer could not run a job.
#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    /// Opening or setting up the connection failed.
    #[error("sqlite writer: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The writer thread is gone, or the job panicked.
    #[error("the sqlite writer thread stopped")]
    Stopped,
}

type Job = Box<dyn FnOnce(&mut rusqlite::Connection) + Send>;

/// The writer thread's handle. Cheap to clone; the thread ends when the last handle
/// is dropped.
#[derive(Debug, Clone)]
pub struct SqliteWriter {
    jobs: mpsc::Sender<Job>,
}

/// Retries a busy write lock for up to about five seconds, in 50 µs steps (the other
/// writer holds it for a transaction, well under a millisecond).
fn busy(attempt: i32) -> bool {
    if attempt < 100_000 {
        std::thread::sleep(Duration::from_micros(50));
        true
    } else {
        false
    }
}

impl SqliteWriter {
    /// Opens the database file at `path` (already created and migrated) on a new thread.
    pub fn open(path: &std::path::Path) -> Result<Self, WriterError> {
        let conn = rusqlite::Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "wal")?;
        conn.pragma_update(None, "synchronous", "normal")?;
        conn.pragma_update(None, "foreign_keys", "on")?;
        conn.busy_handler(Some(busy))?;
        conn.set_prepared_statement_cache_capacity(64);
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                let mut conn = conn;
                while let Ok(job) = queue.recv() {
                    // A panicking job drops its reply channel (its caller sees
                    // `Stopped`); the writer goes on with the next.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        job(&mut conn);
                    }));
                }
            })
            .map_err(|_| WriterError::Stopped)?;
        Ok(Self { jobs })
    }

    /// Runs `job` on the writer thread and waits for its result.
    pub async fn run<R, F>(&self, job: F) -> Result<R, WriterError>
    where
        R: Send + 'static,
        F: FnOnce(&mut rusqlite::Connection) -> R + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Box::new(move |conn| {
                let _ = reply.send(job(conn));
            }))
            .map_err(|_| WriterError::Stopped)?;
        answer.await.map_err(|_| WriterError::Stopped)
    }
}

/// The file of a `sqlite://PATH?options` URL (`None` for an in-memory database).
pub fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| std::path::PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_come_from_sqlite_urls_only() {
        assert_eq!(
            sqlite_path("sqlite:///data/jieyue.db?mode=rwc"),
            Some("/data/jieyue.db".into())
        );
        assert_eq!(sqlite_path("sqlite://data/j.db"), Some("data/j.db".into()));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://x/y"), None);
    }

    #[tokio::test]
    async fn jobs_run_in_order_and_a_panic_stops_only_its_own_job() {
        let dir = tempfile::tempdir().expect("dir");
        let writer = SqliteWriter::open(&dir.path().join("w.db")).expect("open");
        writer
            .run(|c| c.execute_batch("CREATE TABLE t (n INTEGER)"))
            .await
            .expect("run")
            .expect("create");
        let panicked = writer
            .run(|_| -> usize { panic!("a job that panics") })
            .await;
        assert!(matches!(panicked, Err(WriterError::Stopped)));
        let n = writer
            .run(|c| c.execute("INSERT INTO t VALUES (1)", []))
            .await
            .expect("still running")
            .expect("insert");
        assert_eq!(n, 1);
    }
}
