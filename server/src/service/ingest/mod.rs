//! Ingest: an EPUB file becomes a catalogued title with an encrypted package.
//!
//! 1. hash the file; read and check its metadata (rbook);
//! 2. if a title with the same EPUB identifier exists: the same file is a no-op, a
//!    different file is a new *version* that keeps the title's content key (so licences
//!    already issued open the new package too);
//! 3. encrypt into a package (a temporary file), store package, cover and thumbnail in
//!    the object store under new keys;
//! 4. only then insert or update the row, in one transaction with the audit entry and
//!    the catalogue change-log entry. A crash before step 4 leaves objects no row
//!    refers to, which [`super::catalogue::remove_orphans`] deletes on the next run; no
//!    half-ingested title is ever visible.

pub mod media;
pub mod metadata;

use std::io::{BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jieyue_protocol::package::{
    EncryptOptions, Limits, PackageError, check_epub, encrypt_epub, encrypt_publication,
};
use jieyue_protocol::{ContentKey, SealedKey};
use ring::digest::{Context, SHA256};
use serde_json::json;

use super::{Ctx, Error};
use crate::blobs::BlobError;
use crate::domain::{MediaFacts, Title, TitleId, TitleMetadata};
use crate::store::audit::{self, Actor, AuditEntry};
use crate::store::{StoreError, titles};

/// Why a file could not be ingested.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file is not an acceptable EPUB; the reason says why.
    #[error("{0}")]
    Invalid(String),
    /// The book is protected already; the reason says by what.
    #[error("already protected: {0}")]
    AlreadyProtected(String),
    /// Storing objects failed.
    #[error(transparent)]
    Storage(#[from] BlobError),
    /// Anything else.
    #[error(transparent)]
    Service(#[from] Error),
}

impl From<StoreError> for IngestError {
    fn from(err: StoreError) -> Self {
        IngestError::Service(err.into())
    }
}

impl From<sea_orm::DbErr> for IngestError {
    fn from(err: sea_orm::DbErr) -> Self {
        IngestError::Service(err.into())
    }
}

/// Why the package writer (or the archive check) refused: the book's fault, or ours.
fn package_refusal(err: PackageError) -> IngestError {
    match err {
        PackageError::Io(io) => internal("reading the book or writing the package")(io),
        PackageError::AlreadyProtected(by) => IngestError::AlreadyProtected(by),
        other => IngestError::Invalid(other.to_string()),
    }
}

/// A mapper for `map_err`: an internal failure while doing `context`, keeping the cause.
fn internal<E>(context: &'static str) -> impl FnOnce(E) -> IngestError
where
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    move |source| IngestError::Service(Error::internal(context)(source))
}

/// Where an upload is saved before it is ingested; only staff who may edit the
/// catalogue may upload.
pub async fn upload_path(
    ctx: &Ctx,
    actor: &crate::domain::Staff,
    original_name: Option<&str>,
) -> Result<std::path::PathBuf, Error> {
    if !super::catalogue::may_edit_catalogue(actor) {
        return Err(Error::Forbidden(
            "only consortium admins and library managers add titles",
        ));
    }
    // A folder per upload: the file keeps its name (a single track's or a ZIP's name is
    // the publication's title when its metadata gives none).
    let folder = ctx
        .catalogue
        .work_dir
        .join(format!("upload-{}", uuid::Uuid::new_v4()));
    tokio::fs::create_dir_all(&folder).await?;
    Ok(folder.join(upload_name(original_name)))
}

/// The name an upload is saved under: the uploaded file's own name without any folder,
/// with an extension ingest takes (`.epub` unless it is a ZIP, a track or a video).
pub fn upload_name(original_name: Option<&str>) -> String {
    let base = original_name
        .and_then(|n| n.rsplit(['/', '\\']).next())
        .map(|n| {
            n.chars()
                .filter(|c| {
                    !c.is_control() && !matches!(c, ':' | '*' | '?' | '"' | '<' | '>' | '|')
                })
                .take(120)
                .collect::<String>()
        })
        .filter(|n| !n.trim().is_empty() && !n.starts_with('.'))
        .unwrap_or_else(|| "upload".to_owned());
    let ext = upload_extension(Some(&base));
    let has_it = base
        .rsplit_once('.')
        .is_some_and(|(_, e)| e.eq_ignore_ascii_case(ext));
    if has_it {
        base
    } else {
        format!("{base}.{ext}")
    }
}

/// Removes an upload and its folder.
pub async fn discard_upload(path: &Path) {
    let _ = tokio::fs::remove_file(path).await;
    if let Some(folder) = path.parent() {
        let _ = tokio::fs::remove_dir(folder).await;
    }
}

/// The extension an upload is saved under: the uploaded name's when it is one ingest
/// takes (a ZIP of page images, an MP3, an MP4, …), else `epub`.
fn upload_extension(original_name: Option<&str>) -> &'static str {
    const TAKEN: [&str; 12] = [
        "epub", "zip", "cbz", "mp3", "m4a", "m4b", "ogg", "oga", "flac", "mp4", "m4v", "mov",
    ];
    let ext = original_name
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    TAKEN.into_iter().find(|t| *t == ext).unwrap_or("epub")
}

/// What a source is: an EPUB, or a folder/ZIP/media file of another kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// An EPUB file.
    Epub,
    /// Page images, images, audio or video ([`media`]).
    Media,
}

/// Tells an EPUB from other sources: a folder or a media file is media; a ZIP is an EPUB
/// when it holds `META-INF/container.xml` or its `mimetype` says so, whatever its name.
pub fn source_kind(path: &Path) -> SourceKind {
    if path.is_dir() {
        return SourceKind::Media;
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if matches!(ext.as_str(), "zip" | "cbz" | "epub") {
        let is_epub = std::fs::File::open(path)
            .ok()
            .and_then(|f| zip::ZipArchive::new(BufReader::new(f)).ok())
            .is_some_and(|a| {
                a.index_for_name("META-INF/container.xml").is_some()
                    || a.index_for_name("mimetype").is_some()
            });
        // A damaged .epub gets the EPUB ingest's own error.
        return if is_epub || (ext == "epub") {
            SourceKind::Epub
        } else {
            SourceKind::Media
        };
    }
    if media::is_media_source(path) {
        SourceKind::Media
    } else {
        SourceKind::Epub
    }
}

/// What ingesting a file did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestStatus {
    /// A new title.
    Created,
    /// A new version of an existing title.
    Updated,
    /// The same file was already ingested.
    Unchanged,
}

/// The outcome of one ingest.
#[derive(Debug, Clone)]
pub struct Ingested {
    /// The title as stored.
    pub title: Title,
    /// What happened.
    pub status: IngestStatus,
}

/// Which book a file is (its EPUB identifier) and its content hash, read as ingest
/// reads them (the archive check first). For a batch to tell apart two different files
/// that claim to be the same book.
pub async fn identify(path: &Path) -> Result<(String, String), IngestError> {
    if source_kind(path) == SourceKind::Media {
        let source = path.to_owned();
        return blocking(move || media::identify(&source))
            .await?
            .map_err(IngestError::Invalid);
    }
    let source = path.to_owned();
    blocking(move || -> Result<(String, String), IngestError> {
        let (hash, _) = sha256_file(&source)
            .map_err(|e| IngestError::Invalid(format!("cannot read the file: {e}")))?;
        let file = BufReader::new(
            std::fs::File::open(&source)
                .map_err(|e| IngestError::Invalid(format!("cannot read the file: {e}")))?,
        );
        let facts = check_epub(file, &Limits::default()).map_err(package_refusal)?;
        let extracted = metadata::extract(&source, &hash, &facts).map_err(IngestError::Invalid)?;
        Ok((extracted.metadata.identifier, hash))
    })
    .await?
}

fn sha256_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut file = BufReader::new(std::fs::File::open(path)?);
    let mut context = Context::new(&SHA256);
    let mut buffer = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        context.update(&buffer[..n]);
        size += n as u64;
    }
    Ok((jieyue_protocol::encoding::hex(context.finish()), size))
}

async fn blocking<T: Send + 'static>(
    job: impl FnOnce() -> T + Send + 'static,
) -> Result<T, IngestError> {
    tokio::task::spawn_blocking(job)
        .await
        .map_err(internal("ingest task"))
}

/// A temporary file removed when dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Ingests the EPUB at `path`, acting as `actor`, and updates the search index.
pub async fn ingest_file(ctx: &Ctx, path: &Path, actor: Actor) -> Result<Ingested, IngestError> {
    let ingested = ingest_file_deferred(ctx, path, actor).await?;
    if let Err(err) = super::catalogue::sync_search(ctx).await {
        tracing::warn!(error = %err, "search index update deferred");
    }
    Ok(ingested)
}

/// Like [`ingest_file`], but leaves the search index to the caller (bulk ingest
/// updates it once at the end: an index commit per book would cost more than the book).
pub async fn ingest_file_deferred(
    ctx: &Ctx,
    path: &Path,
    actor: Actor,
) -> Result<Ingested, IngestError> {
    ingest_file_observed(ctx, path, actor, Arc::new(|_| {})).await
}

/// Hears how far an ingest has got, in bytes of the source (0 up to its size): for a
/// publication that is not an EPUB, the files checked count for the first half and the
/// bytes sealed for the second; for an EPUB, the bytes sealed.
pub type Observer = Arc<dyn Fn(u64) + Send + Sync>;

/// [`ingest_file_deferred`], telling `observer` how far it has got (a progress bar).
pub async fn ingest_file_observed(
    ctx: &Ctx,
    path: &Path,
    actor: Actor,
    observer: Observer,
) -> Result<Ingested, IngestError> {
    match source_kind(path) {
        SourceKind::Epub => ingest_epub(ctx, path, actor, observer).await,
        SourceKind::Media => ingest_media(ctx, path, actor, observer).await,
    }
}

/// `done` of `total` as a share of `size`, after `offset`.
fn scaled(done: u64, total: u64, size: u64, offset: u64) -> u64 {
    if total == 0 {
        return offset + size;
    }
    offset + (u128::from(done.min(total)) * u128::from(size) / u128::from(total)) as u64
}

/// A folder removed with what it holds when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What to seal, and how.
enum Body {
    Epub(PathBuf),
    Media(Box<media::Prepared>, TempDir),
}

/// A source checked and read, ready to become a title.
struct Inspected {
    metadata: TitleMetadata,
    cover: Option<(Vec<u8>, String)>,
    content_hash: String,
    source_size: u64,
    media: MediaFacts,
    body: Body,
}

async fn ingest_media(
    ctx: &Ctx,
    path: &Path,
    actor: Actor,
    observer: Observer,
) -> Result<Ingested, IngestError> {
    std::fs::create_dir_all(&ctx.catalogue.work_dir).map_err(internal("work directory"))?;
    let scratch = TempDir(
        ctx.catalogue
            .work_dir
            .join(format!("media-{}", uuid::Uuid::new_v4())),
    );
    std::fs::create_dir_all(&scratch.0).map_err(internal("work directory"))?;
    let (source, folder) = (path.to_owned(), scratch.0.clone());
    let checking = Arc::clone(&observer);
    let prepared = blocking(move || {
        media::prepare(&source, &folder, &mut |done, total| {
            checking(scaled(done, total, total / 2, 0));
        })
    })
    .await?
    .map_err(IngestError::Invalid)?;
    let inspected = Inspected {
        metadata: prepared.metadata.clone(),
        cover: prepared.cover.clone(),
        content_hash: prepared.content_hash.clone(),
        source_size: prepared.source_size,
        media: prepared.facts,
        body: Body::Media(Box::new(prepared), scratch),
    };
    catalogue_inspected(ctx, inspected, actor, observer).await
}

async fn ingest_epub(
    ctx: &Ctx,
    path: &Path,
    actor: Actor,
    observer: Observer,
) -> Result<Ingested, IngestError> {
    let source = path.to_owned();
    let (content_hash, source_size) = blocking(move || sha256_file(&source))
        .await?
        .map_err(|e| IngestError::Invalid(format!("cannot read the file: {e}")))?;

    // The archive's central directory first: nothing is decompressed (not even the OPF
    // that rbook reads next) from a zip bomb, a protected book or an archive that names
    // an entry twice.
    let source = path.to_owned();
    let facts = blocking(move || {
        let file = BufReader::new(std::fs::File::open(&source)?);
        check_epub(file, &Limits::default())
    })
    .await?
    .map_err(package_refusal)?;

    let source = path.to_owned();
    let hash = content_hash.clone();
    let extracted = blocking(move || metadata::extract(&source, &hash, &facts))
        .await?
        .map_err(IngestError::Invalid)?;
    let inspected = Inspected {
        metadata: extracted.metadata,
        cover: extracted.cover,
        content_hash,
        source_size,
        media: MediaFacts::EPUB,
        body: Body::Epub(path.to_owned()),
    };
    catalogue_inspected(ctx, inspected, actor, observer).await
}

/// Seals, stores and catalogues a checked source (a new title, a new version, or
/// nothing when the same source was ingested before).
async fn catalogue_inspected(
    ctx: &Ctx,
    inspected: Inspected,
    actor: Actor,
    observer: Observer,
) -> Result<Ingested, IngestError> {
    let Inspected {
        metadata,
        cover: source_cover,
        content_hash,
        source_size,
        media,
        body,
    } = inspected;
    let existing = titles::get_by_identifier(ctx.db.reader(), &metadata.identifier).await?;
    if let Some(existing) = &existing
        && existing.content_hash == content_hash
    {
        return Ok(Ingested {
            title: existing.clone(),
            status: IngestStatus::Unchanged,
        });
    }
    let (id, version, content_key, sealed) = match &existing {
        Some(existing) => {
            let sealed = SealedKey::from_text(&existing.content_key_sealed)
                .map_err(internal("stored content key unreadable"))?;
            let opened = ctx
                .keys
                .master
                .open(&sealed, existing.id.0.as_bytes())
                .map_err(internal("content key does not open"))?;
            let key = ContentKey::from_slice(&opened).map_err(internal("content key"))?;
            (
                existing.id,
                existing.version + 1,
                key,
                existing.content_key_sealed.clone(),
            )
        }
        None => {
            let id = TitleId::new();
            let key = ContentKey::generate().map_err(internal("content key"))?;
            let sealed = ctx
                .keys
                .master
                .seal(key.expose_secret(), id.0.as_bytes())
                .map_err(internal("sealing the content key"))?
                .to_text();
            (id, 1, key, sealed)
        }
    };

    // Encrypt into a temporary file next to the data, then hash it.
    std::fs::create_dir_all(&ctx.catalogue.work_dir).map_err(internal("work directory"))?;
    let temp = TempFile(
        ctx.catalogue
            .work_dir
            .join(format!("{id}-v{version}-{}.tmp", uuid::Uuid::new_v4())),
    );
    let output = temp.0.clone();
    let _scratch = blocking(move || -> Result<Option<TempDir>, PackageError> {
        let writer = BufWriter::with_capacity(1 << 20, std::fs::File::create(&output)?);
        let (mut writer, scratch) = match body {
            Body::Epub(input) => {
                let reader = BufReader::new(std::fs::File::open(&input)?);
                (
                    encrypt_epub(reader, writer, &content_key, &mut |p| {
                        observer(scaled(p.bytes_done, p.bytes_total, source_size, 0));
                    })?
                    .0,
                    None,
                )
            }
            Body::Media(prepared, scratch) => {
                let sources = prepared.sources();
                let (writer, _) = encrypt_publication(
                    &prepared.manifest,
                    sources,
                    writer,
                    &content_key,
                    &EncryptOptions::default(),
                    &mut |p| {
                        let half = source_size / 2;
                        observer(scaled(
                            p.bytes_done,
                            p.bytes_total,
                            source_size - half,
                            half,
                        ));
                    },
                )?;
                (writer, Some(scratch))
            }
        };
        std::io::Write::flush(&mut writer)?;
        writer.get_ref().sync_all()?;
        Ok(scratch)
    })
    .await?
    .map_err(package_refusal)?;
    let package_path = temp.0.clone();
    let (package_sha256, package_size) = blocking(move || sha256_file(&package_path))
        .await?
        .map_err(internal("reading the package back"))?;

    let package_key = format!("packages/{id}/v{version}-{}.epub", &package_sha256[..16]);
    ctx.catalogue.blobs.put_file(&package_key, &temp.0).await?;
    drop(temp);

    let mut cover = None;
    let mut thumbnail_key = None;
    if let Some((bytes, media_type)) = source_cover {
        let extension = media_type
            .rsplit('/')
            .next()
            .unwrap_or("img")
            .replace("svg+xml", "svg");
        let key = format!("covers/{id}/v{version}.{extension}");
        let thumb = blocking({
            let bytes = bytes.clone();
            move || super::thumbnail::make(&bytes)
        })
        .await?;
        // A cover we cannot even measure safely (absurd dimensions, damaged) is left
        // out: readers' devices would have to decode it. One we merely do not decode
        // (SVG) is served as it is, without a thumbnail.
        let thumb = match thumb {
            Ok(thumb) => Some(Some(thumb)),
            Err(super::thumbnail::ThumbnailError::Unsupported) => Some(None),
            Err(why) => {
                tracing::warn!(%id, error = %why, "cover left out");
                None
            }
        };
        if let Some(thumb) = thumb {
            ctx.catalogue.blobs.put_bytes(&key, bytes).await?;
            cover = Some((key, media_type));
            if let Some(thumb) = thumb {
                let key = format!("covers/{id}/v{version}-thumb.jpg");
                ctx.catalogue.blobs.put_bytes(&key, thumb).await?;
                thumbnail_key = Some(key);
            }
        }
    }

    let now = ctx.clock.now();
    let title = Title {
        id,
        metadata,
        version,
        content_hash,
        source_size,
        package_key,
        package_size,
        package_sha256,
        content_key_sealed: sealed,
        cover,
        thumbnail_key,
        media,
        suppressed: existing.as_ref().is_some_and(|t| t.suppressed),
        created_at: existing.as_ref().map_or(now, |t| t.created_at),
        updated_at: now,
    };
    let status = if existing.is_some() {
        IngestStatus::Updated
    } else {
        IngestStatus::Created
    };
    let txn = ctx.db.begin_write().await?;
    match status {
        IngestStatus::Updated => titles::update(&txn, &title).await?,
        _ => match titles::insert(&txn, &title).await {
            Ok(()) => {}
            // The same book was ingested concurrently: that one stands, and what this
            // attempt stored goes. The same file is simply unchanged; a different file
            // of the same book is refused rather than silently dropped.
            Err(StoreError::Duplicate(_)) => {
                drop(txn);
                let winner = titles::get_by_identifier(ctx.db.reader(), &title.metadata.identifier)
                    .await?
                    .ok_or(IngestError::Service(Error::Bug("title vanished")))?;
                let mut ours = vec![title.package_key.clone()];
                ours.extend(title.cover.iter().map(|(key, _)| key.clone()));
                ours.extend(title.thumbnail_key.iter().cloned());
                for key in &ours {
                    if let Err(err) = ctx.catalogue.blobs.delete(key).await {
                        tracing::warn!(%key, error = %err, "could not delete a losing ingest's object; the orphan sweep will");
                    }
                }
                if winner.content_hash != title.content_hash {
                    return Err(IngestError::Service(Error::Conflict(format!(
                        "another file of the book {:?} was ingested at the same moment; \
                         ingest this one again to make it the new version",
                        title.metadata.identifier
                    ))));
                }
                return Ok(Ingested {
                    title: winner,
                    status: IngestStatus::Unchanged,
                });
            }
            Err(other) => return Err(other.into()),
        },
    }
    audit::record(
        &txn,
        AuditEntry {
            actor,
            library_id: None,
            action: if status == IngestStatus::Created { "title.ingest" } else { "title.new_version" },
            target_kind: "title",
            target_id: Some(id.0),
            detail: Some(json!({ "identifier": title.metadata.identifier, "version": version, "title": title.metadata.title })),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    ctx.cache.forget_title(id);

    // The old version's objects are no longer referenced.
    if let Some(old) = existing {
        for key in std::iter::once(old.package_key)
            .chain(old.cover.map(|(k, _)| k))
            .chain(old.thumbnail_key)
        {
            if let Err(err) = ctx.catalogue.blobs.delete(&key).await {
                tracing::warn!(%key, error = %err, "could not delete a replaced object; the orphan sweep will");
            }
        }
    }
    Ok(Ingested { title, status })
}
