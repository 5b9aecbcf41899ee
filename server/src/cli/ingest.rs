//! `jieyue ingest PATH...`: bulk ingest with a progress bar.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

use crate::service::Ctx;
use crate::service::ingest::{self, IngestStatus};
use crate::store::audit::Actor;

/// What a bulk ingest did.
#[derive(Debug, Default)]
pub struct Summary {
    /// New titles.
    pub created: usize,
    /// New versions of existing titles.
    pub updated: usize,
    /// Files already ingested.
    pub unchanged: usize,
    /// Files that failed, with the reason.
    pub failures: Vec<(PathBuf, String)>,
    /// Bytes of EPUB read.
    pub bytes: u64,
    /// Wall time.
    pub seconds: f64,
}

/// Every `.epub` file under `paths` (files or directories), sorted.
pub fn find_epubs(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    fn walk(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        let meta = std::fs::metadata(path)?;
        if meta.is_dir() {
            for entry in std::fs::read_dir(path)? {
                walk(&entry?.path(), out)?;
            }
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("epub"))
        {
            out.push(path.to_owned());
        }
        Ok(())
    }
    let mut out = Vec::new();
    for path in paths {
        walk(path, &mut out)?;
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Ingests `files` on all cores, showing progress unless `quiet`.
pub async fn ingest_all(ctx: &Ctx, files: Vec<PathBuf>, quiet: bool) -> Summary {
    let sizes: Vec<u64> = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .collect();
    let total_bytes: u64 = sizes.iter().sum();
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(files.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:36.cyan/blue} {pos}/{len} books  {msg}  [{elapsed_precise}, ~{eta} left]",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let done_bytes = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let workers = std::thread::available_parallelism().map_or(2, usize::from);
    let mut results = futures_util::stream::iter(files.into_iter().zip(sizes))
        .map(|(file, size)| {
            let ctx = ctx.clone();
            async move {
                let outcome = ingest::ingest_file_deferred(&ctx, &file, Actor::System).await;
                (file, size, outcome)
            }
        })
        .buffer_unordered(workers);

    let mut summary = Summary::default();
    while let Some((file, size, outcome)) = results.next().await {
        let bytes = done_bytes.fetch_add(size, std::sync::atomic::Ordering::Relaxed) + size;
        match outcome {
            Ok(ingested) => match ingested.status {
                IngestStatus::Created => summary.created += 1,
                IngestStatus::Updated => summary.updated += 1,
                IngestStatus::Unchanged => summary.unchanged += 1,
            },
            Err(err) => {
                bar.println(format!("failed: {}: {err}", file.display()));
                summary.failures.push((file, err.to_string()));
            }
        }
        let seconds = started.elapsed().as_secs_f64().max(1e-6);
        bar.inc(1);
        bar.set_message(format!(
            "{:.1} books/s, {:.1} MB/s ({} of {} MB)",
            bar.position() as f64 / seconds,
            bytes as f64 / 1e6 / seconds,
            bytes / 1_000_000,
            total_bytes / 1_000_000
        ));
    }
    if let Err(err) = crate::service::catalogue::sync_search(ctx).await {
        bar.println(format!(
            "search index not updated yet ({err}); the server catches up from the change log"
        ));
    }
    bar.finish();
    summary.bytes = total_bytes;
    summary.seconds = started.elapsed().as_secs_f64();
    summary
}
