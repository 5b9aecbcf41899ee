//! Publications that are not EPUB: page images (a journal issue, a scanned book), image
//! collections, audiobooks and videos. Each comes as a folder, a ZIP/CBZ, or one media
//! file, with an optional `metadata.toml` beside the files:
//!
//! ```toml
//! kind = "page_images"   # or "images", "audiobook", "video"; guessed from the files if absent
//! title = "中国国家地理"
//! issue = "2024年第3期"   # shown as the subtitle
//! date = "2024-03"
//! publisher = "中国国家地理杂志社"
//! language = "zh"
//! subjects = ["地理"]
//! authors = ["…"]
//! narrators = ["…"]      # audiobooks
//! description = "…"
//! identifier = "urn:issn:1009-6337:2024-03"   # what makes two uploads the same publication
//! [captions]             # per file: a page's or image's caption, a track's or video's title
//! "001.jpg" = "杨柳青年画《连年有余》"
//! ```
//!
//! [`prepare`] checks every file (images decoded, audio decoded, MP4 structure parsed),
//! reads page sizes and durations, and builds the Readium manifest; the package writer
//! then seals the files as they are (a video that is not "faststart" is streamed with
//! its `moov` box moved to the front).

pub mod audio;
pub mod images;
pub mod video;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use jieyue_protocol::package::SourceResource;
use jieyue_protocol::webpub::{self, Contributor, Link, PublicationKind};
use ring::digest::{Context, SHA256};
use serde::Deserialize;

use crate::domain::{Author, Layout, MediaFacts, TitleMetadata, sort_key};

/// The metadata file's name.
pub const METADATA_FILE: &str = "metadata.toml";

/// Largest metadata file read.
const MAX_METADATA_BYTES: u64 = 4 << 20;

/// Most files in one publication (a collection of 32,000 images is one upload).
pub const MAX_FILES: usize = 50_000;

/// Most bytes a ZIP may unpack to (a season of lectures).
const MAX_UNPACKED: u64 = 64 << 30;

/// `metadata.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaMetadata {
    /// `page_images`, `images`, `audiobook` or `video` (also `journal`, `comic`).
    pub kind: Option<String>,
    /// Title (default: the folder's or file's name).
    pub title: Option<String>,
    /// The issue of a journal, or a subtitle.
    #[serde(alias = "subtitle")]
    pub issue: Option<String>,
    /// Publication date as given.
    #[serde(alias = "published")]
    pub date: Option<String>,
    /// Publisher.
    pub publisher: Option<String>,
    /// Language (BCP 47).
    pub language: Option<String>,
    /// Subjects.
    #[serde(default)]
    pub subjects: Vec<String>,
    /// Authors.
    #[serde(default)]
    pub authors: Vec<String>,
    /// Narrators (audiobooks).
    #[serde(default)]
    pub narrators: Vec<String>,
    /// Description.
    pub description: Option<String>,
    /// A stable identifier (URN, ISSN with issue, …).
    pub identifier: Option<String>,
    /// `ltr` or `rtl` (pages).
    pub reading_progression: Option<String>,
    /// Per file name: a caption or a title.
    #[serde(default)]
    pub captions: BTreeMap<String, String>,
}

/// What a file of the source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Image,
    Audio,
    Video,
}

fn file_kind(name: &str) -> Option<FileKind> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    match ext.as_str() {
        "jpg" | "jpeg" | "png" | "webp" | "gif" => Some(FileKind::Image),
        "mp3" | "m4a" | "m4b" | "aac" | "ogg" | "oga" | "flac" => Some(FileKind::Audio),
        "mp4" | "m4v" | "mov" => Some(FileKind::Video),
        _ => None,
    }
}

/// Files a file manager leaves behind, skipped silently.
fn is_litter(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    base.starts_with('.')
        || name.starts_with("__MACOSX/")
        || base.eq_ignore_ascii_case("Thumbs.db")
        || base.eq_ignore_ascii_case("desktop.ini")
}

/// Whether `path` is something [`prepare`] takes: a folder, a ZIP or CBZ, or one audio or
/// video file. (An `.epub` is the EPUB ingest's.)
pub fn is_media_source(path: &Path) -> bool {
    if path.is_dir() {
        return true;
    }
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    matches!(ext.as_str(), "zip" | "cbz")
        || matches!(file_kind(name), Some(FileKind::Audio | FileKind::Video))
}

/// A file of the source, as found on disk (a ZIP is unpacked first).
#[derive(Debug, Clone)]
struct SourceFile {
    /// Name relative to the source (`/`-separated), as the metadata names it.
    name: String,
    path: PathBuf,
    length: u64,
}

/// A publication ready to be sealed.
#[derive(Debug)]
pub struct Prepared {
    /// Its kind.
    pub kind: PublicationKind,
    /// Catalogue metadata.
    pub metadata: TitleMetadata,
    /// Durations, pages.
    pub facts: MediaFacts,
    /// The manifest written into the package.
    pub manifest: webpub::Manifest,
    /// Cover image bytes and media type (first page, or `cover.jpg` beside tracks).
    pub cover: Option<(Vec<u8>, String)>,
    /// SHA-256 of the source (every file's name, length and bytes, in order).
    pub content_hash: String,
    /// Bytes of the source.
    pub source_size: u64,
    /// Where each resource's bytes come from.
    resources: Vec<Planned>,
}

#[derive(Debug)]
enum Origin {
    File(PathBuf),
    Bytes(Vec<u8>),
    Video(PathBuf, video::VideoFacts),
}

#[derive(Debug)]
struct Planned {
    href: String,
    media_type: String,
    length: u64,
    origin: Origin,
}

impl Prepared {
    /// The resources for the package writer (each opened when its turn comes).
    pub fn sources(&self) -> Vec<SourceResource> {
        let mut out = Vec::with_capacity(self.resources.len());
        for planned in &self.resources {
            let open: Box<dyn FnOnce() -> std::io::Result<Box<dyn Read + Send>> + Send> =
                match &planned.origin {
                    Origin::File(path) => {
                        let path = path.clone();
                        Box::new(move || {
                            let file = std::fs::File::open(&path)?;
                            Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, file))
                                as Box<dyn Read + Send>)
                        })
                    }
                    Origin::Bytes(bytes) => {
                        let bytes = bytes.clone();
                        Box::new(move || {
                            Ok(Box::new(std::io::Cursor::new(bytes)) as Box<dyn Read + Send>)
                        })
                    }
                    Origin::Video(path, facts) => {
                        let (path, facts) = (path.clone(), facts.clone());
                        Box::new(move || {
                            video::playable(&path, &facts)
                                .map(|(_, reader)| reader)
                                .map_err(std::io::Error::other)
                        })
                    }
                };
            out.push(SourceResource {
                href: planned.href.clone(),
                media_type: planned.media_type.clone(),
                length: planned.length,
                open,
            });
        }
        out
    }
}

/// Unpacks ZIPs into `scratch` (which the caller removes), reads the metadata file, and
/// lists the media files in natural order.
/// What [`gather`] found: the default title, the metadata (and where its file is), the
/// media files in order.
type Gathered = (String, MediaMetadata, Option<PathBuf>, Vec<SourceFile>);

fn gather(source: &Path, scratch: &Path) -> Result<Gathered, String> {
    let label = source
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("publication")
        .to_owned();
    let stem = |name: &str| -> String {
        match name.rsplit_once('.') {
            Some((stem, _)) if !stem.is_empty() => stem.to_owned(),
            _ => name.to_owned(),
        }
    };
    let mut files = Vec::new();
    let mut metadata_path = None;
    let mut default_title;
    if source.is_dir() {
        default_title = label.clone();
        walk(source, "", &mut files, 0)?;
    } else {
        let name = label.clone();
        let ext = name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        default_title = stem(&name);
        if ext == "zip" || ext == "cbz" {
            unzip(source, scratch)?;
            walk(scratch, "", &mut files, 0)?;
            // A ZIP of a folder holds everything under that folder's name: the names
            // (and the metadata's captions) are relative to it, and it is the title.
            if let Some(folder) = single_top_folder(&files) {
                for file in &mut files {
                    file.name = file.name[folder.len() + 1..].to_owned();
                }
                default_title = folder;
            }
        } else {
            let length = std::fs::metadata(source)
                .map_err(|e| format!("{name}: cannot be read: {e}"))?
                .len();
            files.push(SourceFile {
                name,
                path: source.to_owned(),
                length,
            });
        }
    }
    files.retain(|f| {
        if f.name.eq_ignore_ascii_case(METADATA_FILE) {
            metadata_path = Some(f.path.clone());
            false
        } else {
            !is_litter(&f.name)
        }
    });
    let metadata = match &metadata_path {
        Some(path) => read_metadata(path)?,
        None => MediaMetadata::default(),
    };
    if files.len() > MAX_FILES {
        return Err(format!(
            "{label}: {} files; at most {MAX_FILES} in one publication",
            files.len()
        ));
    }
    files.sort_by_key(|f| natural_key(&f.name));
    Ok((default_title, metadata, metadata_path, files))
}

/// The one folder every file is in (`国家地理/p1.jpg`, `国家地理/p2.jpg` → `国家地理`),
/// files a file manager leaves behind aside.
fn single_top_folder(files: &[SourceFile]) -> Option<String> {
    let mut top: Option<&str> = None;
    for file in files.iter().filter(|f| !is_litter(&f.name)) {
        let (folder, _) = file.name.split_once('/')?;
        match top {
            None => top = Some(folder),
            Some(seen) if seen == folder => {}
            Some(_) => return None,
        }
    }
    top.map(str::to_owned)
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<SourceFile>, depth: u32) -> Result<(), String> {
    if depth > 4 {
        return Err(format!("{prefix}: folders nested too deep"));
    }
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: cannot be read: {e}", display_dir(prefix)))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: cannot be read: {e}", display_dir(prefix)))?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            return Err(format!("{}: a file name is not UTF-8", display_dir(prefix)));
        };
        let relative = format!("{prefix}{name}");
        let kind = entry
            .file_type()
            .map_err(|e| format!("{relative}: cannot be read: {e}"))?;
        if kind.is_dir() {
            if !is_litter(&relative) {
                walk(&entry.path(), &format!("{relative}/"), out, depth + 1)?;
            }
        } else if kind.is_file() {
            let length = entry
                .metadata()
                .map_err(|e| format!("{relative}: cannot be read: {e}"))?
                .len();
            out.push(SourceFile {
                name: relative,
                path: entry.path(),
                length,
            });
        }
        // Symbolic links and devices are not followed: a publication is its files.
    }
    Ok(())
}

fn display_dir(prefix: &str) -> &str {
    if prefix.is_empty() {
        "the folder"
    } else {
        prefix
    }
}

/// Largest ratio of an entry's unpacked to packed size: media is compressed already, so
/// a ZIP entry that inflates more than this is a zip bomb, not a page or a track.
const MAX_RATIO: u64 = 100;

/// Unpacks the ZIP at `source` into `into`, refusing unsafe names, entries that inflate
/// more than [`MAX_RATIO`] times, and archives that would unpack to more than
/// [`MAX_UNPACKED`] (declared, and counted as written: an entry is never read past the
/// size it declares).
fn unzip(source: &Path, into: &Path) -> Result<(), String> {
    let name = source
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("archive");
    let file = std::fs::File::open(source).map_err(|e| format!("{name}: cannot be read: {e}"))?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| format!("{name}: not a readable ZIP archive: {e}"))?;
    if archive.len() > MAX_FILES {
        return Err(format!("{name}: more than {MAX_FILES} entries"));
    }
    let mut declared = 0u64;
    for index in 0..archive.len() {
        let entry = archive
            .by_index_raw(index)
            .map_err(|e| format!("{name}: entry {index} unreadable: {e}"))?;
        if entry.size() > entry.compressed_size().saturating_mul(MAX_RATIO) + (1 << 20) {
            return Err(format!(
                "{name}: {:?} would inflate {} bytes to {}: a zip bomb, not a media file",
                entry.name().unwrap_or_default(),
                entry.compressed_size(),
                entry.size()
            ));
        }
        declared = declared.saturating_add(entry.size());
    }
    if declared > MAX_UNPACKED {
        return Err(format!(
            "{name}: unpacks to more than {} GiB",
            MAX_UNPACKED >> 30
        ));
    }
    let mut total = 0u64;
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|e| format!("{name}: entry {index} unreadable: {e}"))?;
        if entry.is_dir() {
            continue;
        }
        let size = entry.size();
        let entry_name = entry
            .name()
            .map(|n| n.into_owned())
            .map_err(|e| format!("{name}: entry {index} has an unreadable name: {e}"))?;
        let Some(relative) = entry.enclosed_name() else {
            return Err(format!("{name}: unsafe entry name {entry_name:?}"));
        };
        let target = into.join(relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("unpacking {name}: {e}"))?;
        }
        let mut out =
            std::fs::File::create(&target).map_err(|e| format!("unpacking {entry_name}: {e}"))?;
        let copied = std::io::copy(&mut (&mut entry).take(size + 1), &mut out)
            .map_err(|e| format!("{entry_name}: damaged in the archive: {e}"))?;
        if copied != size {
            return Err(format!(
                "{entry_name}: the archive says {size} bytes but it holds {copied}"
            ));
        }
        total += copied;
        if total > MAX_UNPACKED {
            return Err(format!(
                "{name}: unpacks to more than {} GiB",
                MAX_UNPACKED >> 30
            ));
        }
    }
    Ok(())
}

fn read_metadata(path: &Path) -> Result<MediaMetadata, String> {
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_METADATA_BYTES).read_to_string(&mut text))
        .map_err(|e| format!("{METADATA_FILE}: cannot be read as UTF-8 text: {e}"))?;
    toml::from_str(&text).map_err(|e| format!("{METADATA_FILE}: {e}"))
}

/// Natural order: `p2.jpg` before `p10.jpg`.
fn natural_key(name: &str) -> Vec<(u8, u128, String)> {
    let mut key = Vec::new();
    let mut digits = String::new();
    let mut text = String::new();
    let flush_text = |text: &mut String, key: &mut Vec<(u8, u128, String)>| {
        if !text.is_empty() {
            key.push((1, 0, std::mem::take(text).to_lowercase()));
        }
    };
    for c in name.chars() {
        if c.is_ascii_digit() {
            flush_text(&mut text, &mut key);
            digits.push(c);
        } else {
            if !digits.is_empty() {
                key.push((
                    0,
                    digits.parse().unwrap_or(u128::MAX),
                    std::mem::take(&mut digits),
                ));
            }
            text.push(c);
        }
    }
    if !digits.is_empty() {
        key.push((0, digits.parse().unwrap_or(u128::MAX), digits));
    }
    flush_text(&mut text, &mut key);
    key
}

fn kind_named(raw: &str) -> Result<PublicationKind, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "page_images" | "pages" | "journal" | "comic" | "scan" | "divina" => {
            Ok(PublicationKind::PageImages)
        }
        "images" | "image_collection" | "collection" | "gallery" => Ok(PublicationKind::Images),
        "audiobook" | "audio" => Ok(PublicationKind::Audiobook),
        "video" | "videos" => Ok(PublicationKind::Video),
        other => Err(format!(
            "{METADATA_FILE}: kind {other:?} is not page_images, images, audiobook or video"
        )),
    }
}

/// Hashes every file's name, length and bytes, in order: two uploads of the same files
/// and metadata hash alike, whatever their folder or archive.
fn content_hash(files: &[SourceFile], metadata: Option<&Path>) -> Result<(String, u64), String> {
    let mut context = Context::new(&SHA256);
    let mut total = 0u64;
    let mut buffer = vec![0u8; 1 << 20];
    let named = files
        .iter()
        .map(|f| (f.name.as_str(), f.path.as_path()))
        .chain(metadata.map(|p| (METADATA_FILE, p)));
    for (name, path) in named {
        context.update(name.as_bytes());
        context.update(&[0]);
        let mut file =
            std::fs::File::open(path).map_err(|e| format!("{name}: cannot be read: {e}"))?;
        let mut length = 0u64;
        loop {
            let n = file
                .read(&mut buffer)
                .map_err(|e| format!("{name}: cannot be read: {e}"))?;
            if n == 0 {
                break;
            }
            context.update(&buffer[..n]);
            length += n as u64;
        }
        context.update(&length.to_be_bytes());
        total += length;
    }
    Ok((jieyue_protocol::encoding::hex(context.finish()), total))
}

/// Package hrefs: the file's name with unsafe characters replaced, unique.
fn href_for(name: &str, taken: &mut std::collections::HashSet<String>) -> String {
    let cleaned: String = name
        .split('/')
        .filter(|s| !s.is_empty() && *s != "." && *s != "..")
        .collect::<Vec<_>>()
        .join("/")
        .chars()
        .map(|c| {
            if matches!(c, ':' | '#' | '?' | '\\') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let base = if webpub::safe_href(&cleaned) {
        cleaned
    } else {
        format!("file-{}", taken.len() + 1)
    };
    let mut href = base.clone();
    let mut n = 2;
    while !taken.insert(href.clone()) {
        href = format!("{n}-{base}");
        n += 1;
    }
    href
}

fn contributors(names: &[String]) -> Vec<Contributor> {
    names
        .iter()
        .filter_map(|n| clean(n))
        .map(|name| Contributor { name })
        .collect()
}

fn clean(text: &str) -> Option<String> {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then_some(text)
}

/// Which publication the source at `source` is (its metadata's identifier, or one made
/// from its content) and a hash of its content, cheaply: no file is decoded. For a batch
/// to tell apart two different sources that claim to be the same publication.
pub fn identify(source: &Path) -> Result<(String, String), String> {
    let name = source
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("the source");
    if source.is_dir() {
        let mut files = Vec::new();
        walk(source, "", &mut files, 0)?;
        files.retain(|f| !is_litter(&f.name));
        files.sort_by_key(|f| natural_key(&f.name));
        let metadata = files
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(METADATA_FILE))
            .map(|f| read_metadata(&f.path))
            .transpose()?;
        let (hash, _) = content_hash(&files, None)?;
        let identifier = metadata
            .and_then(|m| m.identifier.as_deref().and_then(clean))
            .unwrap_or_else(|| format!("urn:sha256:{hash}"));
        return Ok((identifier, hash));
    }
    let file = SourceFile {
        name: name.to_owned(),
        path: source.to_owned(),
        length: 0,
    };
    let (hash, _) = content_hash(std::slice::from_ref(&file), None)?;
    let mut identifier = None;
    if let Ok(mut archive) = std::fs::File::open(source)
        .map_err(|e| e.to_string())
        .and_then(|f| zip::ZipArchive::new(std::io::BufReader::new(f)).map_err(|e| e.to_string()))
        && let Ok(entry) = archive.by_name(METADATA_FILE)
    {
        let mut text = String::new();
        entry
            .take(MAX_METADATA_BYTES)
            .read_to_string(&mut text)
            .map_err(|e| format!("{METADATA_FILE}: cannot be read as UTF-8 text: {e}"))?;
        let metadata: MediaMetadata =
            toml::from_str(&text).map_err(|e| format!("{METADATA_FILE}: {e}"))?;
        identifier = metadata.identifier.as_deref().and_then(clean);
    }
    Ok((
        identifier.unwrap_or_else(|| format!("urn:sha256:{hash}")),
        hash,
    ))
}

/// Checks every file of the source at `source` and builds the publication: kind,
/// metadata, manifest and resources. `scratch` is an empty folder the caller removes
/// afterwards (a ZIP is unpacked there). `progress(done, total)` hears the bytes of the
/// files checked so far.
/// Errors name the file at fault.
pub fn prepare(
    source: &Path,
    scratch: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Prepared, String> {
    let (default_title, metadata, metadata_path, files) = gather(source, scratch)?;

    // The cover beside tracks or videos is not a page.
    let mut cover_file = None;
    let mut media = Vec::new();
    for file in files {
        let Some(kind) = file_kind(&file.name) else {
            return Err(format!(
                "{}: not a page image (JPEG, PNG, WebP, GIF), audio track (MP3, M4A, Ogg, \
                 FLAC) or video (MP4); remove it or add it to another publication",
                file.name
            ));
        };
        media.push((file, kind));
    }
    let (has_audio, has_video) = (
        media.iter().any(|(_, k)| *k == FileKind::Audio),
        media.iter().any(|(_, k)| *k == FileKind::Video),
    );
    if media.is_empty() {
        return Err(format!(
            "{}: holds no page images, audio tracks or videos",
            source
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("the source")
        ));
    }
    if has_audio || has_video {
        // One image named cover.* beside timed media is the cover; any other is out of place.
        if let Some(at) = media.iter().position(|(f, k)| {
            *k == FileKind::Image
                && f.name
                    .rsplit('/')
                    .next()
                    .is_some_and(|b| b.to_ascii_lowercase().starts_with("cover."))
        }) {
            cover_file = Some(media.remove(at).0);
        }
    }
    let kind = match metadata.kind.as_deref() {
        Some(raw) => kind_named(raw)?,
        None if has_video => PublicationKind::Video,
        None if has_audio => PublicationKind::Audiobook,
        None if !metadata.captions.is_empty() => PublicationKind::Images,
        None => PublicationKind::PageImages,
    };
    let wanted = match kind {
        PublicationKind::PageImages | PublicationKind::Images => FileKind::Image,
        PublicationKind::Audiobook => FileKind::Audio,
        PublicationKind::Video => FileKind::Video,
        PublicationKind::Epub => {
            return Err(format!(
                "{METADATA_FILE}: kind epub: ingest the .epub file itself"
            ));
        }
    };
    if let Some((stray, _)) = media.iter().find(|(_, k)| *k != wanted) {
        return Err(format!(
            "{}: a {} publication holds only {}",
            stray.name,
            kind.as_str(),
            match wanted {
                FileKind::Image => "images",
                FileKind::Audio => "audio tracks",
                FileKind::Video => "videos",
            }
        ));
    }

    let (content_hash, source_size) = {
        let mut all: Vec<SourceFile> = media.iter().map(|(f, _)| f.clone()).collect();
        all.extend(cover_file.iter().cloned());
        content_hash(&all, metadata_path.as_deref())?
    };

    let total = media.len();
    let total_bytes: u64 = media.iter().map(|(f, _)| f.length).sum();
    let mut checked = 0u64;
    let mut taken = std::collections::HashSet::new();
    let mut reading_order = Vec::with_capacity(total);
    let mut resources = Vec::with_capacity(total);
    let mut extra_links = Vec::new();
    let mut planned = Vec::new();
    let mut cover = None;
    let mut duration = 0f64;
    let mut first_audio_tags: Option<audio::AudioFacts> = None;
    for (file, _) in &media {
        let href = href_for(&file.name, &mut taken);
        let caption = metadata.captions.get(&file.name).and_then(|c| clean(c));
        match wanted {
            FileKind::Image => {
                let collection = kind == PublicationKind::Images;
                let page = images::inspect(&file.path, file.length, collection)
                    .map_err(|why| format!("{}: {why}", file.name))?;
                let mut link = Link::new(&href, page.media_type);
                link.width = Some(page.width);
                link.height = Some(page.height);
                link.title = caption;
                if let Some((thumbnail, (width, height))) = page.thumbnail {
                    let thumb_href = href_for(&format!("thumbnails/{href}.jpg"), &mut taken);
                    let mut alt = Link::new(&thumb_href, "image/jpeg");
                    alt.width = Some(width);
                    alt.height = Some(height);
                    link.alternate.push(alt);
                    planned.push(Planned {
                        href: thumb_href,
                        media_type: "image/jpeg".into(),
                        length: thumbnail.len() as u64,
                        origin: Origin::Bytes(thumbnail),
                    });
                }
                if cover.is_none() {
                    cover = Some((
                        std::fs::read(&file.path)
                            .map_err(|e| format!("{}: cannot be read: {e}", file.name))?,
                        page.media_type.to_owned(),
                    ));
                }
                planned.push(Planned {
                    href,
                    media_type: page.media_type.into(),
                    length: file.length,
                    origin: Origin::File(file.path.clone()),
                });
                reading_order.push(link);
            }
            FileKind::Audio => {
                let facts =
                    audio::probe(&file.path).map_err(|why| format!("{}: {why}", file.name))?;
                let mut link = Link::new(&href, facts.media_type);
                link.duration = Some(facts.duration);
                link.bitrate = facts.bitrate_kbps;
                link.title = caption.or_else(|| facts.title.clone()).or_else(|| {
                    Some(
                        file.name
                            .rsplit('/')
                            .next()
                            .unwrap_or(&file.name)
                            .rsplit_once('.')
                            .map_or(file.name.clone(), |(s, _)| s.to_owned()),
                    )
                });
                duration += facts.duration;
                if first_audio_tags.is_none() {
                    first_audio_tags = Some(facts.clone());
                }
                planned.push(Planned {
                    href,
                    media_type: facts.media_type.into(),
                    length: file.length,
                    origin: Origin::File(file.path.clone()),
                });
                reading_order.push(link);
            }
            FileKind::Video => {
                let facts =
                    video::probe(&file.path).map_err(|why| format!("{}: {why}", file.name))?;
                // Whether the moov box can be moved is known now, not half-way through
                // sealing.
                video::playable(&file.path, &facts)
                    .map_err(|why| format!("{}: {why}", file.name))?;
                let mut link = Link::new(&href, facts.media_type);
                link.duration = Some(facts.duration);
                link.width = facts.width;
                link.height = facts.height;
                link.bitrate = facts.bitrate_kbps;
                link.title = caption.or_else(|| {
                    Some(
                        file.name
                            .rsplit_once('.')
                            .map_or(file.name.clone(), |(s, _)| s.to_owned()),
                    )
                });
                duration += facts.duration;
                planned.push(Planned {
                    href,
                    media_type: facts.media_type.into(),
                    length: facts.length,
                    origin: Origin::Video(file.path.clone(), facts),
                });
                reading_order.push(link);
            }
        }
        checked += file.length;
        progress(checked, total_bytes);
    }
    if let Some(file) = cover_file {
        let page = images::inspect(&file.path, file.length, false)
            .map_err(|why| format!("{}: {why}", file.name))?;
        let href = href_for(&file.name, &mut taken);
        let mut link = Link::new(&href, page.media_type);
        link.rel = vec!["cover".into()];
        link.width = Some(page.width);
        link.height = Some(page.height);
        extra_links.push(link);
        cover = Some((
            std::fs::read(&file.path).map_err(|e| format!("{}: cannot be read: {e}", file.name))?,
            page.media_type.to_owned(),
        ));
        planned.push(Planned {
            href,
            media_type: page.media_type.into(),
            length: file.length,
            origin: Origin::File(file.path.clone()),
        });
    }
    resources.extend(extra_links);

    let title = metadata
        .title
        .as_deref()
        .and_then(clean)
        .or_else(|| clean(&default_title))
        .unwrap_or_else(|| "untitled".to_owned());
    let authors: Vec<String> = if metadata.authors.is_empty() {
        first_audio_tags
            .as_ref()
            .and_then(|t| t.artist.clone())
            .into_iter()
            .collect()
    } else {
        metadata.authors.clone()
    };
    let identifier = metadata
        .identifier
        .as_deref()
        .and_then(clean)
        .unwrap_or_else(|| format!("urn:sha256:{content_hash}"));
    let language = metadata.language.as_deref().and_then(clean);
    let subjects: Vec<String> = metadata.subjects.iter().filter_map(|s| clean(s)).collect();
    let progression = match metadata.reading_progression.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(p @ ("ltr" | "rtl")) => Some(p.to_owned()),
        Some(other) => {
            return Err(format!(
                "{METADATA_FILE}: reading_progression {other:?} is not ltr or rtl"
            ));
        }
    };
    let timed = kind.is_timed();
    let pages = u32::try_from(reading_order.len()).unwrap_or(u32::MAX);
    let manifest = webpub::Manifest {
        context: webpub::CONTEXT.into(),
        metadata: webpub::Metadata {
            schema_type: Some(
                match kind {
                    PublicationKind::Audiobook => "http://schema.org/Audiobook",
                    PublicationKind::Images => webpub::IMAGE_COLLECTION_TYPE,
                    PublicationKind::Video => "http://schema.org/VideoObject",
                    _ => "http://schema.org/Book",
                }
                .into(),
            ),
            conforms_to: kind.conforms_to().map(str::to_owned).into_iter().collect(),
            identifier: Some(identifier.clone()),
            title: title.clone(),
            subtitle: metadata.issue.as_deref().and_then(clean),
            author: contributors(&authors),
            narrator: contributors(&metadata.narrators),
            publisher: contributors(&metadata.publisher.iter().cloned().collect::<Vec<_>>()),
            language: language.iter().cloned().collect(),
            published: metadata.date.as_deref().and_then(clean),
            subject: subjects.clone(),
            description: metadata.description.as_deref().and_then(clean),
            duration: timed.then_some(duration),
            number_of_pages: (!timed).then_some(pages),
            reading_progression: progression.clone(),
        },
        links: Vec::new(),
        reading_order,
        resources,
    };
    manifest.check().map_err(|e| e.to_string())?;

    let metadata_out = TitleMetadata {
        identifier,
        sort_title: sort_key(&title),
        title,
        subtitle: manifest.metadata.subtitle.clone(),
        authors: authors
            .iter()
            .filter_map(|a| clean(a))
            .map(|name| Author {
                name,
                role: Some("aut".into()),
                file_as: None,
            })
            .chain(
                contributors(&metadata.narrators)
                    .into_iter()
                    .map(|c| Author {
                        name: c.name,
                        role: Some("nrt".into()),
                        file_as: None,
                    }),
            )
            .collect(),
        language,
        publisher: metadata.publisher.as_deref().and_then(clean),
        published: manifest.metadata.published.clone(),
        subjects,
        description: manifest.metadata.description.clone(),
        identifiers: Vec::new(),
        layout: if timed {
            Layout::Reflowable
        } else {
            Layout::Fixed
        },
        page_progression: progression,
    };
    Ok(Prepared {
        kind,
        metadata: metadata_out,
        facts: MediaFacts {
            kind,
            duration_ms: timed.then(|| (duration * 1000.0).round() as u64),
            items: Some(pages),
        },
        manifest,
        cover,
        content_hash,
        source_size,
        resources: planned,
    })
}

#[cfg(test)]
mod tests;
