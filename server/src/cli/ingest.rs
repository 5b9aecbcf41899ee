//! `jieyue ingest PATH...`: bulk ingest with a progress bar.

use std::collections::{BTreeMap, BTreeSet};
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
    Ok(find_sources(paths)?
        .into_iter()
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("epub"))
        })
        .collect())
}

/// Every publication under `paths`, sorted: `.epub` files, ZIP/CBZ archives, audio and
/// video files, and *publication folders*: a folder holding a `metadata.toml`, or page
/// images, tracks or videos (and no EPUB) is one publication; any other folder is
/// searched. A folder named on the command line in which nothing is found is taken as
/// a publication itself, so that an empty or unreadable one gets its own error.
pub fn find_sources(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    fn is_publication_folder(path: &Path) -> std::io::Result<bool> {
        let mut media = false;
        for entry in std::fs::read_dir(path)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().to_ascii_lowercase();
            if name == ingest::media::METADATA_FILE {
                return Ok(true);
            }
            if !entry.file_type()?.is_file() {
                continue;
            }
            match name.rsplit_once('.').map(|(_, e)| e) {
                Some("epub") => return Ok(false),
                Some(
                    "jpg" | "jpeg" | "png" | "webp" | "gif" | "mp3" | "m4a" | "m4b" | "ogg" | "oga"
                    | "flac" | "mp4" | "m4v" | "mov",
                ) => media = true,
                _ => {}
            }
        }
        Ok(media)
    }
    fn walk(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        let meta = std::fs::metadata(path)?;
        if meta.is_dir() {
            if is_publication_folder(path)? {
                out.push(path.to_owned());
                return Ok(());
            }
            for entry in std::fs::read_dir(path)? {
                walk(&entry?.path(), out)?;
            }
        } else {
            let ext = path
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
                .unwrap_or_default();
            if matches!(
                ext.as_str(),
                "epub"
                    | "zip"
                    | "cbz"
                    | "mp3"
                    | "m4a"
                    | "m4b"
                    | "ogg"
                    | "oga"
                    | "flac"
                    | "mp4"
                    | "m4v"
                    | "mov"
            ) {
                out.push(path.to_owned());
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for path in paths {
        let before = out.len();
        walk(path, &mut out)?;
        if out.len() == before && path.is_dir() {
            out.push(path.clone());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Bytes under `path` (a file's length, or a folder's files').
fn source_size(path: &Path) -> u64 {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::read_dir(path)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| source_size(&e.path()))
                    .sum()
            })
            .unwrap_or(0),
        Ok(meta) => meta.len(),
        Err(_) => 0,
    }
}

/// A file's EPUB identifier and content hash, or why they could not be read.
type Identity = Result<(String, String), ingest::IngestError>;

/// Ingests `files` on all cores, showing progress unless `quiet`.
pub async fn ingest_all(ctx: &Ctx, files: Vec<PathBuf>, quiet: bool) -> Summary {
    let sizes: Vec<u64> = files.iter().map(|f| source_size(f)).collect();
    let total_bytes: u64 = sizes.iter().sum();
    // The bar counts bytes (a 2 GB video moves it as it is checked and sealed); the
    // message counts titles.
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total_bytes.max(1))
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:36.cyan/blue} {bytes}/{total_bytes}  {msg}  [{elapsed_precise}, ~{eta} left]",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let titles_total = files.len();
    let mut titles_done = 0usize;
    let started = Instant::now();
    let done_bytes = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let workers = std::thread::available_parallelism().map_or(2, usize::from);
    let mut summary = Summary::default();

    // Two different files that claim to be one book (the same EPUB identifier) would
    // race to be its version: which one readers get would depend on timing. Both are
    // refused, naming each other, and a re-run refuses them again and changes nothing.
    bar.set_message("reading identifiers");
    let identities: Vec<(PathBuf, Identity)> = futures_util::stream::iter(files.iter().cloned())
        .map(|file| async move {
            let identity = ingest::identify(&file).await;
            (file, identity)
        })
        .buffer_unordered(workers)
        .collect()
        .await;
    let mut by_identifier: BTreeMap<&str, Vec<(&Path, &str)>> = BTreeMap::new();
    for (file, identity) in &identities {
        if let Ok((identifier, hash)) = identity {
            by_identifier
                .entry(identifier)
                .or_default()
                .push((file, hash));
        }
    }
    let mut refused: BTreeMap<PathBuf, String> = BTreeMap::new();
    for (identifier, claimants) in &by_identifier {
        let hashes: BTreeSet<&str> = claimants.iter().map(|(_, hash)| *hash).collect();
        if hashes.len() < 2 {
            continue;
        }
        let mut names: Vec<String> = claimants
            .iter()
            .map(|(f, _)| f.display().to_string())
            .collect();
        names.sort();
        for (file, _) in claimants {
            refused.insert(
                file.to_path_buf(),
                format!(
                    "{} different files claim to be the book {identifier:?} ({}): ingest one of them",
                    hashes.len(),
                    names.join(", ")
                ),
            );
        }
    }
    drop(by_identifier);
    let mut to_ingest = Vec::with_capacity(files.len());
    for (file, size) in files.into_iter().zip(sizes) {
        match refused.remove(&file) {
            Some(reason) => {
                bar.println(format!("failed: {}: {reason}", file.display()));
                titles_done += 1;
                done_bytes.fetch_add(size, std::sync::atomic::Ordering::Relaxed);
                bar.set_position(done_bytes.load(std::sync::atomic::Ordering::Relaxed));
                summary.failures.push((file, reason));
            }
            None => to_ingest.push((file, size)),
        }
    }

    let mut results = futures_util::stream::iter(to_ingest)
        .map(|(file, size)| {
            let ctx = ctx.clone();
            // This title's share of the bar: what it reported so far, added to the
            // bytes of the titles finished.
            let seen = Arc::new(std::sync::atomic::AtomicU64::new(0));
            let (bar, done_bytes) = (bar.clone(), Arc::clone(&done_bytes));
            let observer: ingest::Observer = {
                let seen = Arc::clone(&seen);
                Arc::new(move |now: u64| {
                    let now = now.min(size);
                    let before = seen.fetch_max(now, std::sync::atomic::Ordering::Relaxed);
                    if now > before {
                        let moved = done_bytes
                            .fetch_add(now - before, std::sync::atomic::Ordering::Relaxed);
                        bar.set_position(moved + now - before);
                    }
                })
            };
            async move {
                let outcome =
                    ingest::ingest_file_observed(&ctx, &file, Actor::System, observer).await;
                (
                    file,
                    size,
                    seen.load(std::sync::atomic::Ordering::Relaxed),
                    outcome,
                )
            }
        })
        .buffer_unordered(workers);

    while let Some((file, size, reported, outcome)) = results.next().await {
        let rest = size.saturating_sub(reported);
        let bytes = done_bytes.fetch_add(rest, std::sync::atomic::Ordering::Relaxed) + rest;
        bar.set_position(bytes);
        titles_done += 1;
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
        bar.set_message(format!(
            "{titles_done}/{titles_total} titles, {:.1} titles/s, {:.1} MB/s",
            titles_done as f64 / seconds,
            bytes as f64 / 1e6 / seconds,
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
