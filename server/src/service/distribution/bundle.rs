//! Bundles: a collection version written to a directory or a mounted disk (export), read
//! back into a member's object store (import), or fetched from the hub (pull).
//!
//! ```text
//! bundle/
//!   manifest.jws               the signed manifest (jieyue-collection+jws)
//!   envelopes/<member>.jws     one key envelope per member it was made for
//!   objects/ab/abcdef…         every object, named by its SHA-256
//!   README.txt                 what this is, for whoever finds the disk
//! ```
//!
//! Export writes each object to `…part`, hashing as it goes, syncs it and renames it:
//! an object under its final name is complete and verified, so a re-run skips it. The
//! manifest is written last.
//!
//! Import and pull verify the manifest against the pinned hub key, refuse an expired
//! or older version, open the envelope (nothing is copied for a server the bundle was
//! not made for), check free space, then copy each missing object into the object
//! store while hashing it; an object enters the journal (`local_objects`) only once its
//! digest matched, so an interrupted import resumes with the objects not yet verified.
//! Titles, lots and the installed version are published in one transaction after every
//! object verified: readers see the whole version or nothing of it.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use jieyue_protocol::distribution::{
    DistributionError, Envelope, Manifest, ManifestObject, object_path,
};
use jieyue_protocol::jws;
use jieyue_protocol::{ContentKey, PeerKey};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use super::hub_client::HubClient;
use super::{Ctx, Error, open_peer_key, signed_manifest};
use crate::domain::distribution::{CatalogueRecord, Peer, PeerRole, PeerStatus, lot_copies};
use crate::domain::{Lot, LotId, LotStatus};
use crate::store::audit::{self, Actor, AuditEntry};
use crate::store::distribution::{self as store, Installed};
use crate::store::{lots, titles};

/// The hub's key endorsements in a bundle (a JSON array of `jieyue-keys+jws`).
pub const KEYS_FILE: &str = "keys.json";
/// The signed manifest's file name in a bundle.
pub const MANIFEST_FILE: &str = "manifest.jws";
/// The directory of key envelopes in a bundle.
pub const ENVELOPES_DIR: &str = "envelopes";
const README_FILE: &str = "README.txt";
const CHUNK: usize = 1024 * 1024;

/// Why an export, import or pull stopped. Nothing was published when it did.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// A use case failed.
    #[error(transparent)]
    Service(#[from] Error),
    /// The manifest is not acceptable (signature, expiry, rollback, consistency).
    #[error("manifest refused: {0}")]
    Manifest(DistributionError),
    /// The manifest is signed by a key no enrolled hub has.
    #[error(
        "the manifest is signed by key {kid}, which belongs to no hub this server has enrolled with"
    )]
    UnknownHub {
        /// The key id.
        kid: String,
    },
    /// The hub is suspended here.
    #[error("the hub {0} is suspended on this server")]
    HubSuspended(String),
    /// The bundle was not made for this server.
    #[error(
        "this bundle carries no key envelope for this server (member {member}); it was made for: {made_for}"
    )]
    NoEnvelope {
        /// This server's member id at the hub.
        member: Uuid,
        /// Which members it has envelopes for.
        made_for: String,
    },
    /// The envelope is not acceptable.
    #[error("key envelope refused: {0}")]
    Envelope(DistributionError),
    /// Not enough room.
    #[error(
        "not enough free space in {path}: {needed} bytes needed, {available} available; nothing was copied"
    )]
    NoSpace {
        /// Where.
        path: PathBuf,
        /// Bytes needed.
        needed: u64,
        /// Bytes free.
        available: u64,
    },
    /// An object the manifest lists is not in the bundle.
    #[error("object {object} ({what}) is missing from the bundle")]
    Missing {
        /// Its digest.
        object: String,
        /// What it is.
        what: String,
    },
    /// An object's bytes do not match its digest.
    #[error("object {object} ({what}) is corrupt: {why}; it was not imported")]
    Corrupt {
        /// Its digest.
        object: String,
        /// What it is.
        what: String,
        /// The size or digest found.
        why: String,
    },
    /// Reading or writing a file failed (a removed disk, a full one).
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Another import or pull is running on this server.
    #[error(
        "another import or pull is running on this server; run this again when it has finished"
    )]
    Busy,
    /// The directory is not a bundle.
    #[error("{0} is not a bundle (it has no manifest.jws)")]
    NotABundle(PathBuf),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BundleError + '_ {
    move |source| BundleError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What a long transfer reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// About to copy `objects` objects of `bytes` bytes; `present` are there already.
    Start {
        /// Objects to copy.
        objects: usize,
        /// Their bytes.
        bytes: u64,
        /// Objects skipped (already copied and verified).
        present: usize,
    },
    /// `n` more bytes copied.
    Bytes(u64),
    /// One more object copied and verified.
    Object,
    /// Publishing to the catalogue.
    Publishing,
}

/// A progress callback.
pub type OnProgress<'a> = &'a (dyn Fn(Progress) + Send + Sync);

/// Keeps a transfer under `rate` bytes per second, if given.
struct Limiter {
    rate: Option<u64>,
    start: Instant,
    sent: u64,
}

impl Limiter {
    fn new(rate: Option<u64>) -> Self {
        Self {
            rate: rate.filter(|r| *r > 0),
            start: Instant::now(),
            sent: 0,
        }
    }

    async fn take(&mut self, n: usize) {
        let Some(rate) = self.rate else { return };
        // Time spent elsewhere (hashing into the store, waiting for the hub) is not
        // credit to burst with later: keep at most one second of it.
        let earned = self.start.elapsed().as_secs_f64() * rate as f64;
        if earned > self.sent as f64 + rate as f64 {
            self.start = Instant::now();
            self.sent = 0;
        }
        self.sent += n as u64;
        let due = StdDuration::from_secs_f64(self.sent as f64 / rate as f64);
        let elapsed = self.start.elapsed();
        if due > elapsed {
            tokio::time::sleep(due - elapsed).await;
        }
    }
}

fn free_space(path: &Path) -> Result<u64, BundleError> {
    fs4::available_space(path).map_err(io(path))
}

/// Room kept free on a server's own disk (its database and logs grow too).
const SERVER_MARGIN: u64 = 64 * 1024 * 1024;
/// Room for a bundle's manifest, envelopes and README beside its objects.
const BUNDLE_MARGIN: u64 = 1024 * 1024;

fn check_space(path: &Path, needed: u64, margin: u64) -> Result<(), BundleError> {
    let available = free_space(path)?;
    if needed.saturating_add(margin) > available {
        return Err(BundleError::NoSpace {
            path: path.to_owned(),
            needed,
            available,
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Export

/// Export choices.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Members to write envelopes for (empty: every active member).
    pub members: Vec<Uuid>,
    /// Days the bundle stays valid.
    pub valid_days: u32,
    /// Bytes per second, if limited.
    pub limit_rate: Option<u64>,
}

/// What an export did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    /// The version written.
    pub version: u32,
    /// Objects written by this run.
    pub written: usize,
    /// Objects already in the bundle (an earlier run wrote them).
    pub present: usize,
    /// Bytes written by this run.
    pub bytes: u64,
    /// The members it has envelopes for.
    pub members: Vec<String>,
}

/// Writes the newest version of collection `slug` to `dir` (created if missing).
pub async fn export(
    ctx: &Ctx,
    slug: &str,
    dir: &Path,
    options: &ExportOptions,
    progress: OnProgress<'_>,
) -> Result<ExportSummary, BundleError> {
    let valid = Duration::days(i64::from(options.valid_days.clamp(1, 3650)));
    let (token, manifest) = signed_manifest(ctx, slug, None, valid).await?;
    let members = export_members(ctx, &options.members).await?;
    let mut envelopes = Vec::with_capacity(members.len());
    for member in &members {
        envelopes.push((member, super::envelope_for(ctx, &manifest, member).await?));
    }

    tokio::fs::create_dir_all(dir.join("objects"))
        .await
        .map_err(io(dir))?;
    // Over an older bundle, the old manifest goes first: an interrupted export then
    // leaves a directory import calls "not a bundle", never one version's manifest with
    // another's envelopes.
    match tokio::fs::remove_file(dir.join(MANIFEST_FILE)).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(dir)(e)),
    }
    let mut needed = Vec::new();
    let mut present = 0;
    for object in &manifest.objects {
        let path = dir.join(object_path(&object.sha256));
        match tokio::fs::metadata(&path).await {
            Ok(meta) if meta.len() == object.size => present += 1,
            _ => needed.push(object),
        }
    }
    let bytes: u64 = needed.iter().map(|o| o.size).sum();
    check_space(dir, bytes, BUNDLE_MARGIN)?;
    progress(Progress::Start {
        objects: needed.len(),
        bytes,
        present,
    });
    let mut limiter = Limiter::new(options.limit_rate);
    for object in &needed {
        export_object(ctx, dir, object, &mut limiter, progress).await?;
        progress(Progress::Object);
    }

    let envelope_dir = dir.join(ENVELOPES_DIR);
    tokio::fs::create_dir_all(&envelope_dir)
        .await
        .map_err(io(&envelope_dir))?;
    let mut current = HashSet::new();
    for (member, envelope) in &envelopes {
        let name = format!("{}.jws", member.id);
        write_atomically(&envelope_dir.join(&name), envelope.as_bytes()).await?;
        current.insert(name);
    }
    // Envelopes of an earlier export for other members would not open this version.
    let mut entries = tokio::fs::read_dir(&envelope_dir)
        .await
        .map_err(io(&envelope_dir))?;
    while let Some(entry) = entries.next_entry().await.map_err(io(&envelope_dir))? {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !current.contains(&name) {
            let path = entry.path();
            tokio::fs::remove_file(&path).await.map_err(io(&path))?;
        }
    }
    let endorsements = super::key_endorsements(ctx).await?;
    let endorsements =
        serde_json::to_vec(&endorsements).map_err(Error::internal("key endorsements"))?;
    write_atomically(&dir.join(KEYS_FILE), &endorsements).await?;
    write_atomically(&dir.join(README_FILE), readme(&manifest).as_bytes()).await?;
    write_atomically(&dir.join(MANIFEST_FILE), token.as_bytes()).await?;
    super::audit_job(
        ctx,
        "collection.export",
        None,
        json!({
            "collection": manifest.collection,
            "version": manifest.version,
            "members": members.iter().map(|m| m.id).collect::<Vec<_>>(),
            "objects_written": needed.len(),
        }),
    )
    .await?;
    Ok(ExportSummary {
        version: manifest.version,
        written: needed.len(),
        present,
        bytes,
        members: members.iter().map(|m| m.name.clone()).collect(),
    })
}

async fn export_members(ctx: &Ctx, wanted: &[Uuid]) -> Result<Vec<Peer>, BundleError> {
    let all = store::peers(ctx.db.reader(), PeerRole::Member)
        .await
        .map_err(Error::from)?;
    if wanted.is_empty() {
        return Ok(all
            .into_iter()
            .filter(|m| m.status == PeerStatus::Active)
            .collect());
    }
    wanted
        .iter()
        .map(|id| {
            all.iter()
                .find(|m| m.id == *id && m.status == PeerStatus::Active)
                .cloned()
                .ok_or_else(|| {
                    BundleError::Service(Error::Conflict(format!(
                        "{id} is not an active member of this hub"
                    )))
                })
        })
        .collect()
}

async fn export_object(
    ctx: &Ctx,
    dir: &Path,
    object: &ManifestObject,
    limiter: &mut Limiter,
    progress: OnProgress<'_>,
) -> Result<(), BundleError> {
    use futures_util::StreamExt;
    let (key, _) = super::hub_object(ctx, &object.sha256).await?;
    let mut stream = ctx
        .catalogue
        .blobs
        .get_stream(&key, None)
        .await
        .map_err(|e| {
            BundleError::Service(Error::Conflict(format!(
                "object {} ({key}) is no longer in this hub's store ({e}); publish a new version",
                object.sha256
            )))
        })?;
    let path = dir.join(object_path(&object.sha256));
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(io(parent))?;
    }
    let part = path.with_extension("part");
    let mut file = tokio::io::BufWriter::with_capacity(
        CHUNK,
        tokio::fs::File::create(&part).await.map_err(io(&part))?,
    );
    let mut hasher = ring::digest::Context::new(&ring::digest::SHA256);
    let mut written = 0u64;
    while let Some(chunk) = stream.body.next().await {
        let chunk = chunk.map_err(|e| Error::from(crate::blobs::BlobError::from(e)))?;
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(io(&part))?;
        written += chunk.len() as u64;
        limiter.take(chunk.len()).await;
        progress(Progress::Bytes(chunk.len() as u64));
    }
    let digest = jieyue_protocol::encoding::hex(hasher.finish());
    if digest != object.sha256 || written != object.size {
        drop(file);
        let _ = tokio::fs::remove_file(&part).await;
        return Err(BundleError::Corrupt {
            object: object.sha256.clone(),
            what: format!("{key} in this hub's store"),
            why: format!("{written} bytes with SHA-256 {digest}"),
        });
    }
    file.flush().await.map_err(io(&part))?;
    file.get_ref().sync_all().await.map_err(io(&part))?;
    drop(file);
    tokio::fs::rename(&part, &path).await.map_err(io(&path))?;
    Ok(())
}

async fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), BundleError> {
    let part = path.with_extension("part");
    let mut file = tokio::fs::File::create(&part).await.map_err(io(&part))?;
    file.write_all(bytes).await.map_err(io(&part))?;
    file.sync_all().await.map_err(io(&part))?;
    drop(file);
    tokio::fs::rename(&part, path).await.map_err(io(path))
}

fn readme(manifest: &Manifest) -> String {
    format!(
        "借阅 Jieyue collection bundle / 馆藏数据包\n\n\
         {name} ({slug}), version {version}, {titles} titles, {bytes} bytes.\n\
         Valid until {expires} UTC.\n\n\
         The books are encrypted and open only on the library servers this disk was made for\n\
         (catalogue records and covers are in clear).\n\
         书籍内容均已加密，只能在指定的成员馆服务器上使用（书目记录与封面未加密）。\n\n\
         Import: jieyue collection import <this directory>\n\
         导入：jieyue collection import <本目录>\n",
        name = manifest.name,
        slug = manifest.collection,
        version = manifest.version,
        titles = manifest.titles.len(),
        bytes = manifest.total_size(),
        expires = manifest.expires_at.format("%Y-%m-%d %H:%M"),
    )
}

// ---------------------------------------------------------------------------------------
// Import and pull

/// Import and pull choices.
#[derive(Debug, Clone, Copy, Default)]
pub struct InstallOptions {
    /// Bytes per second, if limited.
    pub limit_rate: Option<u64>,
}

/// What an import or pull did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallSummary {
    /// The collection.
    pub collection: String,
    /// Its name.
    pub name: String,
    /// The version now installed.
    pub version: u32,
    /// Whether it was installed already (nothing done).
    pub up_to_date: bool,
    /// Objects copied (or downloaded) and verified by this run.
    pub copied: usize,
    /// Objects verified by an earlier run or another version, not copied again.
    pub already: usize,
    /// Bytes this run transferred.
    pub bytes: u64,
    /// Titles published.
    pub titles: usize,
    /// Titles left out because this catalogue has the same book from its own ingest.
    pub skipped: Vec<String>,
}

/// Reads a bundle from `dir` and installs it.
pub async fn import(
    ctx: &Ctx,
    dir: &Path,
    options: InstallOptions,
    progress: OnProgress<'_>,
) -> Result<InstallSummary, BundleError> {
    let _lock = install_lock(ctx)?;
    let manifest_path = dir.join(MANIFEST_FILE);
    let token = read_document(&manifest_path).await.map_err(|e| match e {
        BundleError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            BundleError::NotABundle(dir.to_owned())
        }
        other => other,
    })?;
    let endorsements = read_endorsements(&dir.join(KEYS_FILE)).await;
    let (hub, manifest) = verify_manifest(ctx, &token, &endorsements).await?;
    let member = hub
        .my_id
        .ok_or(Error::Bug("a hub row without this server's id"))?;
    let envelope_dir = dir.join(ENVELOPES_DIR);
    let envelope_path = envelope_dir.join(format!("{member}.jws"));
    let envelope = match read_document(&envelope_path).await {
        Ok(envelope) => envelope,
        Err(BundleError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Err(BundleError::NoEnvelope {
                member,
                made_for: made_for(&envelope_dir).await,
            });
        }
        Err(other) => return Err(other),
    };
    install(
        ctx,
        &hub,
        &manifest,
        &envelope,
        Source::Dir(dir),
        options,
        progress,
    )
    .await
}

/// The endorsements a bundle carries (none if the file is missing or unreadable: they
/// only matter after a key rotation, and the manifest check says what is wrong).
async fn read_endorsements(path: &Path) -> Vec<String> {
    match read_bounded(path, 1024 * 1024).await {
        Ok(text) => serde_json::from_str(&text).unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

/// Reads a small document of a bundle: a regular file (not a device, a pipe or a
/// directory) of at most `limit` bytes, read through that limit whatever it claims.
async fn read_bounded(path: &Path, limit: usize) -> Result<String, BundleError> {
    let file = tokio::fs::File::open(path).await.map_err(io(path))?;
    let meta = file.metadata().await.map_err(io(path))?;
    let too_big = || {
        BundleError::Manifest(DistributionError::Invalid(format!(
            "{} is not a regular file of at most {limit} bytes",
            path.display()
        )))
    };
    if !meta.is_file() || meta.len() > limit as u64 {
        return Err(too_big());
    }
    let mut text = String::new();
    file.take(limit as u64 + 1)
        .read_to_string(&mut text)
        .await
        .map_err(io(path))?;
    if text.len() > limit {
        return Err(too_big());
    }
    Ok(text)
}

async fn made_for(envelope_dir: &Path) -> String {
    let mut names = Vec::new();
    if let Ok(mut entries) = tokio::fs::read_dir(envelope_dir).await {
        while let Ok(Some(entry)) = entries.next_entry().await {
            if let Some(name) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".jws"))
            {
                names.push(name.to_owned());
            }
        }
    }
    if names.is_empty() {
        "no member".into()
    } else {
        names.sort();
        names.join(", ")
    }
}

async fn read_document(path: &Path) -> Result<String, BundleError> {
    let text = read_bounded(path, jieyue_protocol::distribution::MAX_DOCUMENT_LEN).await?;
    Ok(text.trim().to_owned())
}

/// Finds the enrolled hub whose key signed `token` and verifies the manifest with it.
///
/// A manifest signed by a key no hub is pinned with may come from a hub that rotated its
/// issuer key: `endorsements` (the hub's key endorsements, from the bundle or the hub)
/// let a hub whose pinned key vouches for the new one adopt it first.
pub async fn verify_manifest(
    ctx: &Ctx,
    token: &str,
    endorsements: &[String],
) -> Result<(Peer, Manifest), BundleError> {
    let kid = jws::peek_key_id(token)
        .map_err(|e| BundleError::Manifest(DistributionError::Signature(e)))?;
    let hubs = store::peers(ctx.db.reader(), PeerRole::Hub)
        .await
        .map_err(Error::from)?;
    let pinned = hubs
        .iter()
        .find(|h| h.identity_keys.get(&kid).is_some())
        .cloned();
    let (hub, rotated) = match pinned {
        Some(hub) => (hub, false),
        None => (
            super::rotated_keys(&hubs, &kid, endorsements)
                .ok_or(BundleError::UnknownHub { kid })?,
            true,
        ),
    };
    if hub.status != PeerStatus::Active {
        return Err(BundleError::HubSuspended(hub.name));
    }
    let manifest = Manifest::verify(token, &hub.identity_keys).map_err(BundleError::Manifest)?;
    if manifest.hub_id != hub.id {
        return Err(BundleError::Manifest(DistributionError::Mismatch("hub")));
    }
    if rotated {
        // The manifest verified with the endorsed key: pin it.
        super::pin_rotated_keys(ctx, &hub).await?;
    }
    Ok((hub, manifest))
}

/// Where objects come from.
enum Source<'a> {
    Dir(&'a Path),
    Hub(&'a HubClient),
}

/// Installs a verified manifest from `source`.
async fn install(
    ctx: &Ctx,
    hub: &Peer,
    manifest: &Manifest,
    envelope: &str,
    source: Source<'_>,
    options: InstallOptions,
    progress: OnProgress<'_>,
) -> Result<InstallSummary, BundleError> {
    let installed = store::installed(ctx.db.reader(), hub.id, &manifest.collection)
        .await
        .map_err(Error::from)?;
    manifest
        .check_installable(ctx.clock.now(), installed.as_ref().map(|i| i.version))
        .map_err(BundleError::Manifest)?;
    let mut summary = InstallSummary {
        collection: manifest.collection.clone(),
        name: manifest.name.clone(),
        version: manifest.version,
        up_to_date: false,
        copied: 0,
        already: 0,
        bytes: 0,
        titles: manifest.titles.len(),
        skipped: Vec::new(),
    };
    // The envelope first: a bundle made for another server stops here, having copied
    // nothing.
    let member = hub
        .my_id
        .ok_or(Error::Bug("a hub row without this server's id"))?;
    let peer_key: PeerKey = open_peer_key(ctx, hub)?;
    let (envelope, keys) = Envelope::open(envelope, &hub.identity_keys, member, &peer_key)
        .map_err(BundleError::Envelope)?;
    if envelope.collection != manifest.collection || envelope.version != manifest.version {
        return Err(BundleError::Envelope(DistributionError::Mismatch(
            "collection version",
        )));
    }
    if installed
        .as_ref()
        .is_some_and(|i| i.version == manifest.version)
    {
        // Nothing to install; the disk still brings the hub's usage acknowledgement.
        acknowledge(ctx, hub, envelope.usage_acked).await?;
        summary.up_to_date = true;
        summary.already = manifest.objects.len();
        return Ok(summary);
    }
    let keys: HashMap<Uuid, ContentKey> = keys.into_iter().collect();
    if let Some(t) = manifest.titles.iter().find(|t| !keys.contains_key(&t.id)) {
        return Err(BundleError::Envelope(DistributionError::Invalid(format!(
            "no key for title {}",
            t.id
        ))));
    }

    let digests: Vec<String> = manifest.objects.iter().map(|o| o.sha256.clone()).collect();
    let mut verified = store::verified_objects(ctx.db.reader(), &digests)
        .await
        .map_err(Error::from)?;
    // The journal says what was verified; the store must still hold it (a restored
    // backup, a replaced disk): anything gone or of the wrong size is copied again.
    for object in &manifest.objects {
        if verified.contains(&object.sha256) {
            let size = ctx.catalogue.blobs.size(&object_path(&object.sha256)).await;
            if !matches!(size, Ok(n) if n == object.size) {
                verified.remove(&object.sha256);
                let txn = ctx.db.begin_write().await.map_err(Error::from)?;
                store::forget_object(&txn, &object.sha256)
                    .await
                    .map_err(Error::from)?;
                txn.commit().await.map_err(Error::from)?;
            }
        }
    }
    // Catalogue records first: once they are in, errors can name the book.
    let records: HashSet<&str> = manifest.titles.iter().map(|t| t.record.as_str()).collect();
    let mut missing: Vec<&ManifestObject> = manifest
        .objects
        .iter()
        .filter(|o| !verified.contains(&o.sha256))
        .collect();
    missing.sort_by_key(|o| !records.contains(o.sha256.as_str()));
    summary.already = manifest.objects.len() - missing.len();
    let bytes: u64 = missing.iter().map(|o| o.size).sum();
    let largest = missing.iter().map(|o| o.size).max().unwrap_or(0);
    if let Some(root) = ctx.catalogue.blobs.local_root() {
        check_space(root, bytes, SERVER_MARGIN)?;
    }
    let partial_dir = partial_dir(ctx);
    if matches!(source, Source::Hub(_)) {
        tokio::fs::create_dir_all(&partial_dir)
            .await
            .map_err(io(&partial_dir))?;
        check_space(&partial_dir, largest, SERVER_MARGIN)?;
    }
    progress(Progress::Start {
        objects: missing.len(),
        bytes,
        present: summary.already,
    });

    let mut names = Describer::new(manifest);
    let mut limiter = Limiter::new(options.limit_rate);
    for object in missing {
        let what = names.describe(ctx, &object.sha256).await;
        match &source {
            Source::Dir(dir) => {
                let path = dir.join(object_path(&object.sha256));
                copy_into_store(ctx, &path, object, &what, Some(&mut limiter), progress).await?;
            }
            Source::Hub(client) => {
                let path = partial_dir.join(&object.sha256);
                let fetched = download(client, &path, object, &mut limiter, progress).await?;
                summary.bytes += fetched;
                let copied = copy_into_store(ctx, &path, object, &what, None, progress).await;
                if copied.is_err() {
                    // A bad download is fetched afresh next time.
                    let _ = tokio::fs::remove_file(&path).await;
                }
                copied?;
                let _ = tokio::fs::remove_file(&path).await;
            }
        }
        if matches!(source, Source::Dir(_)) {
            summary.bytes += object.size;
        }
        let txn = ctx.db.begin_write().await.map_err(Error::from)?;
        store::record_verified_object(&txn, &object.sha256, object.size, ctx.clock.now())
            .await
            .map_err(Error::from)?;
        txn.commit().await.map_err(Error::from)?;
        summary.copied += 1;
        progress(Progress::Object);
    }

    progress(Progress::Publishing);
    summary.skipped = publish(ctx, hub, manifest, &keys).await?;
    summary.titles = manifest.titles.len() - summary.skipped.len();
    acknowledge(ctx, hub, envelope.usage_acked).await?;
    Ok(summary)
}

async fn acknowledge(ctx: &Ctx, hub: &Peer, acked: Option<u64>) -> Result<(), BundleError> {
    if let Some(acked) = acked {
        let txn = ctx.db.begin_write().await.map_err(Error::from)?;
        store::acknowledge_usage(&txn, hub.id, acked)
            .await
            .map_err(Error::from)?;
        txn.commit().await.map_err(Error::from)?;
    }
    Ok(())
}

fn distribution_dir(ctx: &Ctx) -> PathBuf {
    ctx.catalogue
        .work_dir
        .parent()
        .unwrap_or(&ctx.catalogue.work_dir)
        .join("distribution")
}

fn partial_dir(ctx: &Ctx) -> PathBuf {
    distribution_dir(ctx).join("partial")
}

/// Held while an import or pull runs: one at a time per server (the scheduled pull and
/// an operator's command would otherwise write the same partial files). The operating
/// system releases it when the process ends, however it ends.
struct InstallLock(#[allow(dead_code)] std::fs::File);

fn install_lock(ctx: &Ctx) -> Result<InstallLock, BundleError> {
    let dir = distribution_dir(ctx);
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let path = dir.join("install.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(InstallLock(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(BundleError::Busy),
        Err(std::fs::TryLockError::Error(e)) => Err(io(&path)(e)),
    }
}

/// Names objects for messages ("package of 《论语》"), once the records are in.
struct Describer<'a> {
    /// Each object's title and role (an object shared by titles: the first).
    roles: HashMap<
        &'a str,
        (
            &'a jieyue_protocol::distribution::ManifestTitle,
            &'static str,
        ),
    >,
    titles: HashMap<Uuid, String>,
}

impl<'a> Describer<'a> {
    fn new(manifest: &'a Manifest) -> Self {
        let mut roles = HashMap::new();
        for t in &manifest.titles {
            let objects = [
                (Some(&t.record), "catalogue record"),
                (Some(&t.package), "package"),
                (t.cover.as_ref(), "cover"),
                (t.thumbnail.as_ref(), "thumbnail"),
            ];
            for (sha, role) in objects {
                if let Some(sha) = sha {
                    roles.entry(sha.as_str()).or_insert((t, role));
                }
            }
        }
        Self {
            roles,
            titles: HashMap::new(),
        }
    }

    async fn describe(&mut self, ctx: &Ctx, sha256: &str) -> String {
        let Some(&(t, role)) = self.roles.get(sha256) else {
            return "object".into();
        };
        if !self.titles.contains_key(&t.id)
            && let Ok(bytes) = ctx.catalogue.blobs.get_bytes(&object_path(&t.record)).await
            && let Ok(record) = serde_json::from_slice::<CatalogueRecord>(&bytes)
        {
            // Known once the record is in the store (records are copied first).
            self.titles.insert(t.id, format!("《{}》", record.title));
        }
        let name = self
            .titles
            .get(&t.id)
            .cloned()
            .unwrap_or_else(|| format!("title {}", t.id));
        format!("{role} of {name}")
    }
}

/// Copies the file at `path` into the object store under the object's digest, hashing
/// it on the way; a mismatch leaves nothing in the store.
async fn copy_into_store(
    ctx: &Ctx,
    path: &Path,
    object: &ManifestObject,
    what: &str,
    mut limiter: Option<&mut Limiter>,
    progress: OnProgress<'_>,
) -> Result<(), BundleError> {
    let mut file = match tokio::fs::File::open(path).await {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(BundleError::Missing {
                object: object.sha256.clone(),
                what: what.to_owned(),
            });
        }
        Err(e) => return Err(io(path)(e)),
    };
    let meta = file.metadata().await.map_err(io(path))?;
    if !meta.is_file() {
        return Err(BundleError::Corrupt {
            object: object.sha256.clone(),
            what: what.to_owned(),
            why: "it is not a regular file".into(),
        });
    }
    let size = meta.len();
    if size != object.size {
        return Err(BundleError::Corrupt {
            object: object.sha256.clone(),
            what: what.to_owned(),
            why: format!("it has {size} bytes, the manifest says {}", object.size),
        });
    }
    let mut writer = ctx
        .catalogue
        .blobs
        .writer(&object_path(&object.sha256))
        .await
        .map_err(Error::from)?;
    let mut hasher = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buffer = vec![0u8; CHUNK];
    let mut read = 0u64;
    let outcome: Result<(), BundleError> = async {
        loop {
            let n = file.read(&mut buffer).await.map_err(io(path))?;
            if n == 0 {
                break;
            }
            read += n as u64;
            if read > object.size {
                return Err(BundleError::Corrupt {
                    object: object.sha256.clone(),
                    what: what.to_owned(),
                    why: format!("it grew past the {} bytes the manifest says", object.size),
                });
            }
            hasher.update(&buffer[..n]);
            writer.write(&buffer[..n]).await.map_err(Error::from)?;
            if let Some(limiter) = limiter.as_deref_mut() {
                limiter.take(n).await;
                progress(Progress::Bytes(n as u64));
            }
        }
        Ok(())
    }
    .await;
    if let Err(err) = outcome {
        let _ = writer.abort().await;
        return Err(err);
    }
    let digest = jieyue_protocol::encoding::hex(hasher.finish());
    if digest != object.sha256 {
        let _ = writer.abort().await;
        return Err(BundleError::Corrupt {
            object: object.sha256.clone(),
            what: what.to_owned(),
            why: format!("its SHA-256 is {digest}"),
        });
    }
    writer.finish().await.map_err(Error::from)?;
    Ok(())
}

/// Downloads an object into `path`, resuming what an earlier run left there; returns
/// the bytes transferred by this call.
async fn download(
    client: &HubClient,
    path: &Path,
    object: &ManifestObject,
    limiter: &mut Limiter,
    progress: OnProgress<'_>,
) -> Result<u64, BundleError> {
    let mut have = match tokio::fs::metadata(path).await {
        Ok(meta) if meta.len() <= object.size => meta.len(),
        _ => 0,
    };
    if have == object.size {
        return Ok(0);
    }
    let (mut response, ranged) = client.object(&object.sha256, have).await?;
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(ranged && have > 0)
        .write(true)
        .truncate(!(ranged && have > 0))
        .open(path)
        .await
        .map_err(io(path))?;
    if !(ranged && have > 0) {
        have = 0;
    }
    let mut fetched = 0u64;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| Error::Conflict(format!("downloading object {}: {e}", object.sha256)))?
    {
        if have + fetched + chunk.len() as u64 > object.size {
            return Err(BundleError::Corrupt {
                object: object.sha256.clone(),
                what: "download".into(),
                why: "the hub sent more bytes than the manifest lists".into(),
            });
        }
        file.write_all(&chunk).await.map_err(io(path))?;
        fetched += chunk.len() as u64;
        limiter.take(chunk.len()).await;
        progress(Progress::Bytes(chunk.len() as u64));
    }
    file.sync_all().await.map_err(io(path))?;
    Ok(fetched)
}

/// Publishes a fully verified version: titles, lots for new titles, the installed
/// version, in one transaction. Returns the titles left out (the same book ingested
/// locally).
async fn publish(
    ctx: &Ctx,
    hub: &Peer,
    manifest: &Manifest,
    keys: &HashMap<Uuid, ContentKey>,
) -> Result<Vec<String>, BundleError> {
    let now = ctx.clock.now();
    let mut records = Vec::with_capacity(manifest.titles.len());
    for t in &manifest.titles {
        let bytes = ctx
            .catalogue
            .blobs
            .get_bytes(&object_path(&t.record))
            .await
            .map_err(Error::from)?;
        let record: CatalogueRecord =
            serde_json::from_slice(&bytes).map_err(|e| BundleError::Corrupt {
                object: t.record.clone(),
                what: format!("catalogue record of title {}", t.id),
                why: format!("it does not parse: {e}"),
            })?;
        // The record must name exactly the objects the manifest lists for the title.
        let size_of = |sha: &str| {
            manifest
                .objects
                .iter()
                .find(|o| o.sha256 == sha)
                .map(|o| o.size)
        };
        let consistent = record.id == t.id
            && record.package_sha256 == t.package
            && size_of(&t.package) == Some(record.package_size)
            && record.cover.as_ref().map(|(sha, _)| sha) == t.cover.as_ref()
            && record.thumbnail == t.thumbnail;
        if !consistent {
            return Err(BundleError::Manifest(DistributionError::Invalid(format!(
                "the catalogue record of title {} does not match the manifest",
                t.id
            ))));
        }
        let key = keys.get(&t.id).ok_or(Error::Bug("envelope checked"))?;
        let sealed = ctx
            .keys
            .master
            .seal(key.expose_secret(), t.id.as_bytes())
            .map_err(Error::internal("sealing a content key"))?
            .to_text();
        let title = record
            .into_title(object_path, sealed, now)
            .map_err(|e| BundleError::Manifest(DistributionError::Invalid(e.message)))?;
        records.push(title);
    }

    let txn = ctx.db.begin_write().await.map_err(Error::from)?;
    // An import running elsewhere (the scheduled pull, another operator) may have
    // published this version meanwhile: then there is nothing left to do.
    if store::installed(&txn, hub.id, &manifest.collection)
        .await
        .map_err(Error::from)?
        .is_some_and(|i| i.version >= manifest.version)
    {
        return Ok(Vec::new());
    }
    let mut skipped = Vec::new();
    let mut placed = Vec::new();
    for mut title in records {
        let origin = store::title_origin(&txn, title.id.0)
            .await
            .map_err(Error::from)?;
        match titles::get(&txn, title.id).await.map_err(Error::from)? {
            // A title ingested here or installed from another hub is not this hub's to
            // change.
            Some(_) if origin != Some(hub.id) => {
                skipped.push(format!("《{}》", title.metadata.title));
                continue;
            }
            Some(existing) => {
                title.created_at = existing.created_at;
                title.suppressed = existing.suppressed;
                if existing != title {
                    titles::update(&txn, &title).await.map_err(Error::from)?;
                }
            }
            None => {
                let same_book = titles::get_by_identifier(&txn, &title.metadata.identifier)
                    .await
                    .map_err(Error::from)?;
                if same_book.is_some() {
                    skipped.push(format!("《{}》", title.metadata.title));
                    continue;
                }
                titles::insert(&txn, &title).await.map_err(Error::from)?;
                store::set_title_origin(&txn, title.id.0, hub.id)
                    .await
                    .map_err(Error::from)?;
            }
        }
        // The collection's copies: a shared-pool lot, once per title (a title dropped
        // from a version and added back keeps the lot it had).
        let pooled = lots::lots_of_title(&txn, title.id)
            .await
            .map_err(Error::from)?
            .iter()
            .any(|l| l.owner_library_id.is_none());
        if !pooled {
            let lot = Lot {
                id: LotId::new(),
                title_id: title.id,
                owner_library_id: None,
                copies: lot_copies(manifest.rights),
                active_loans: 0,
                checkouts_left: None,
                expires_at: None,
                status: LotStatus::Active,
                shared_with: Vec::new(),
                created_at: now,
            };
            lots::insert_lot(&txn, &lot, now)
                .await
                .map_err(Error::from)?;
        }
        placed.push(title.id);
    }
    let installed = Installed {
        hub_id: hub.id,
        slug: manifest.collection.clone(),
        name: manifest.name.clone(),
        version: manifest.version,
        rights: manifest.rights,
        total_size: manifest.total_size(),
        installed_at: now,
    };
    store::set_installed(&txn, &installed, &placed)
        .await
        .map_err(Error::from)?;
    // Usage is rolled up from the first installation on (kept across versions).
    store::start_usage_log(&txn, hub.id, ctx.calendar.date_of(now))
        .await
        .map_err(Error::from)?;
    audit::record(
        &txn,
        AuditEntry {
            actor: Actor::System,
            library_id: None,
            action: "collection.install",
            target_kind: "collection",
            target_id: Some(hub.id),
            detail: Some(json!({
                "collection": manifest.collection,
                "version": manifest.version,
                "titles": placed.len(),
                "skipped": skipped,
            })),
        },
        now,
    )
    .await
    .map_err(Error::from)?;
    txn.commit().await.map_err(Error::from)?;
    for id in &placed {
        ctx.cache.forget_title(*id);
        ctx.cache.forget_lots(*id);
    }
    Ok(skipped)
}

/// What a pull did: the versions installed, and what failed (one hub out of reach or
/// one bad collection does not stop the others).
#[derive(Debug, Default)]
pub struct PullReport {
    /// Versions installed.
    pub installed: Vec<InstallSummary>,
    /// `(hub or collection, why)` for everything that failed.
    pub failed: Vec<(String, BundleError)>,
}

/// Pulls the newest version of every collection each enrolled hub offers, downloading
/// only the objects this server lacks.
pub async fn pull(
    ctx: &Ctx,
    options: InstallOptions,
    progress: OnProgress<'_>,
) -> Result<PullReport, BundleError> {
    let _lock = install_lock(ctx)?;
    let hubs = store::peers(ctx.db.reader(), PeerRole::Hub)
        .await
        .map_err(Error::from)?;
    let mut report = PullReport::default();
    for hub in hubs.into_iter().filter(|h| h.status == PeerStatus::Active) {
        let (Some(base), Some(member)) = (hub.base_url.as_deref(), hub.my_id) else {
            continue;
        };
        let client = HubClient::new(base, member, hub.id, ctx.keys.clone(), ctx.clock.clone())?;
        let offered = match client.offered().await {
            Ok(offered) => offered,
            Err(err) => {
                report.failed.push((hub.name.clone(), err.into()));
                continue;
            }
        };
        for offered in offered {
            let label = format!("{} / {}", hub.name, offered.slug);
            match pull_one(ctx, &hub, &client, &offered, options, progress).await {
                Ok(Some(summary)) => report.installed.push(summary),
                Ok(None) => {}
                Err(err) => report.failed.push((label, err)),
            }
        }
    }
    Ok(report)
}

async fn pull_one(
    ctx: &Ctx,
    hub: &Peer,
    client: &HubClient,
    offered: &super::hub_client::Offered,
    options: InstallOptions,
    progress: OnProgress<'_>,
) -> Result<Option<InstallSummary>, BundleError> {
    let installed = store::installed(ctx.db.reader(), hub.id, &offered.slug)
        .await
        .map_err(Error::from)?;
    if installed.is_some_and(|i| i.version >= offered.version) {
        return Ok(None);
    }
    let token = client.manifest(&offered.slug).await?;
    let (signer, manifest) = match verify_manifest(ctx, &token, &[]).await {
        // The hub may have rotated its key: ask it to vouch for the new one.
        Err(BundleError::UnknownHub { .. }) => {
            verify_manifest(ctx, &token, &client.endorsements().await?).await?
        }
        other => other?,
    };
    if signer.id != hub.id || manifest.collection != offered.slug {
        return Err(BundleError::Manifest(DistributionError::Mismatch("hub")));
    }
    let hub = &signer;
    let envelope = client
        .envelope(&manifest.collection, manifest.version)
        .await?;
    install(
        ctx,
        hub,
        &manifest,
        &envelope,
        Source::Hub(client),
        options,
        progress,
    )
    .await
    .map(Some)
}
