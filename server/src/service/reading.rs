//! Reading in the browser: a reader's own active loan opened on the server, its
//! publication described (reading order, table of contents, layout, direction), its
//! resources decrypted on demand, searched, and the reading position kept through the
//! same positions the client core uses.
//!
//! Every call checks the loan first: it must be the reader's and still running (not
//! returned, revoked or expired, and not past its end even if the expiry job has not
//! run yet). The package is read straight from the object store in blocks, decrypted
//! in memory with the title's content key ([`PackageReader`]), and never written to
//! disk in the clear. The container, the OPF and the navigation documents are clear in
//! the package, so the publication is described from them with rbook, exactly as the
//! client core does; positions are counted as it counts them (one per
//! [`BYTES_PER_POSITION`] bytes of a reflowable document, one per fixed-layout page),
//! so a locator saved here means the same place in the apps.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use jieyue_protocol::ContentKey;
use jieyue_protocol::api::SavePositionRequest;
use jieyue_protocol::package::{PackageError, PackageReader};
use rbook::Epub;
use rbook::ebook::spine::PageDirection;

use super::positions::{self, Position};
use super::{Ctx, Error, Refusal, Result};
use crate::blobs::Blobs;
use crate::domain::{Layout, Loan, LoanId, LoanState, Patron, PublicationKind};
use crate::store::{loans, titles};

/// Bytes per position in reflowable documents (as the client core and Readium count).
pub const BYTES_PER_POSITION: u64 = 1024;

/// A document of the reading order (spine).
#[derive(Debug, Clone, PartialEq)]
pub struct ReadingItem {
    /// Package path (`OEBPS/c0001.xhtml`), as locators name it.
    pub href: String,
    /// Media type from the OPF.
    pub media_type: String,
    /// Decrypted length in bytes.
    pub length: u64,
    /// Whether it is in the linear reading order.
    pub linear: bool,
    /// First position (1-based) of this document in the book.
    pub first_position: u32,
    /// Positions in this document.
    pub positions: u32,
}

/// An entry of the table of contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TocItem {
    /// The label.
    pub label: String,
    /// Target: package path, with a `#fragment` if any.
    pub href: String,
    /// Nesting depth (0 = top).
    pub depth: u32,
}

/// What a reader needs to lay a book out: from the package's OPF and navigation.
#[derive(Debug, Clone, PartialEq)]
pub struct Publication {
    /// The title as the OPF gives it.
    pub title: String,
    /// Main language (BCP 47), if the OPF says.
    pub language: Option<String>,
    /// Reflowable, or fixed (pre-paginated) pages.
    pub layout: Layout,
    /// Pages turn right to left (`page-progression-direction="rtl"`).
    pub rtl: bool,
    /// The book declares vertical writing (`primary-writing-mode`); the page script
    /// also follows a document's own `writing-mode`.
    pub vertical: bool,
    /// The reading order.
    pub reading_order: Vec<ReadingItem>,
    /// The table of contents, flattened in order (EPUB 3 nav, else EPUB 2 NCX).
    pub toc: Vec<TocItem>,
    /// EPUB, page images, images, audiobook or video.
    pub kind: PublicationKind,
    /// For each reading-order item of a publication that is not an EPUB: its title or
    /// caption, duration and size (empty for EPUB).
    pub media: Vec<MediaItem>,
}

/// What the manifest says of a page, track or video.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaItem {
    /// A track's or video's title, an image's caption.
    pub title: Option<String>,
    /// Duration in seconds (audio, video).
    pub duration: Option<f64>,
    /// Width in pixels (images, video).
    pub width: Option<u32>,
    /// Height in pixels (images, video).
    pub height: Option<u32>,
}

impl Publication {
    /// Index of the reading-order document `href` names (a `#fragment` is ignored).
    pub fn index_of(&self, href: &str) -> Option<usize> {
        let path = href.split('#').next().unwrap_or_default();
        self.reading_order.iter().position(|i| i.href == path)
    }

    /// Positions in the whole book.
    pub fn position_count(&self) -> u32 {
        self.reading_order
            .last()
            .map_or(0, |last| last.first_position + last.positions - 1)
    }

    /// The table of contents' name for reading-order document `index` (its last
    /// entry pointing into the document, as the client core names a locator).
    pub fn chapter_title(&self, index: usize) -> Option<&str> {
        let item = self.reading_order.get(index)?;
        self.toc
            .iter()
            .rev()
            .find(|t| t.href.split('#').next() == Some(item.href.as_str()))
            .map(|t| t.label.as_str())
    }

    /// The position (1-based) at `progression` (0..1) through document `index`.
    pub fn position_at(&self, index: usize, progression: f64) -> u32 {
        let Some(item) = self.reading_order.get(index) else {
            return 1;
        };
        let progression = if progression.is_finite() {
            progression.clamp(0.0, 1.0)
        } else {
            0.0
        };
        // A float-to-integer `as` saturates; the value is in 0..=positions anyway.
        let offset = (progression * f64::from(item.positions)).floor() as u32;
        item.first_position + offset.min(item.positions.saturating_sub(1))
    }
}

/// A loan opened for reading: the loan, its publication and where the reader was.
#[derive(Debug, Clone)]
pub struct OpenBook {
    /// The loan (active).
    pub loan: Loan,
    /// The publication.
    pub publication: Publication,
    /// The reader's saved position in the title (a Readium locator), if any.
    pub position: Option<serde_json::Value>,
}

/// Where a reading page opens: a document of the reading order and how far into it.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    /// Index in the reading order.
    pub index: usize,
    /// Fraction (0..1) of the document before the place.
    pub progression: f64,
}

impl OpenBook {
    /// Where to open: the document `asked` names (a link, the table of contents) at
    /// `progression` (a search hit) or its start; else where the reader was (their
    /// saved position, if it is still in the book); else the first linear document.
    pub fn place(&self, asked: Option<&str>, progression: Option<f64>) -> Place {
        let publication = &self.publication;
        let asked = asked.and_then(|h| publication.index_of(h));
        let saved = self.position.as_ref().and_then(|p| {
            let index = publication.index_of(p.get("href")?.as_str()?)?;
            let progression = p.pointer("/locations/progression")?.as_f64();
            Some((index, progression))
        });
        let (index, progression) = match (asked, saved) {
            (Some(index), _) => (index, progression),
            (None, Some((index, saved))) => (index, progression.or(saved)),
            (None, None) => (
                publication
                    .reading_order
                    .iter()
                    .position(|i| i.linear)
                    .unwrap_or(0),
                progression,
            ),
        };
        Place {
            index,
            progression: progression
                .filter(|p| p.is_finite())
                .map_or(0.0, |p| p.clamp(0.0, 1.0)),
        }
    }
}

/// One occurrence of a search in the book.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    /// The document (package path).
    pub href: String,
    /// The chapter's name in the table of contents.
    pub chapter: Option<String>,
    /// Fraction of the document's text before the hit.
    pub progression: f64,
    /// Position (1-based) in the book.
    pub position: u32,
    /// Text before the hit.
    pub before: String,
    /// The text found (as the book writes it).
    pub highlight: String,
    /// Text after it.
    pub after: String,
}

/// The longest search query, in characters.
pub const MAX_QUERY_CHARS: usize = 100;
/// At most this many hits are returned.
pub const MAX_HITS: usize = 200;
/// Characters of context kept on each side of a hit.
const CONTEXT: usize = 30;
/// Documents longer than this (decrypted) are not searched.
const MAX_SEARCH_DOCUMENT: u64 = 16 << 20;
/// Resources up to this size are decrypted whole; longer ones are streamed.
const WHOLE_LIMIT: u64 = 2 << 20;
/// The longest byte range served at once (a longer request gets this much).
pub const MAX_RANGE: u64 = 8 << 20;

/// Whether `loan` may still be read at `now`: active and not past its end.
fn readable(loan: &Loan, now: DateTime<Utc>) -> bool {
    loan.state == LoanState::Active && loan.ends_at > now
}

/// The reader's loan `id`, refused (as ended) unless it may be read now. Another
/// reader's loan is not found.
async fn readable_loan(ctx: &Ctx, patron: &Patron, id: LoanId) -> Result<Loan> {
    let loan = loans::loan(ctx.db.reader(), id)
        .await?
        .filter(|l| l.patron_id == patron.id)
        .ok_or(Error::NotFound("loan"))?;
    if !readable(&loan, ctx.clock.now()) {
        return Err(Error::Refused(Refusal::LoanEnded));
    }
    Ok(loan)
}

/// The stored package of the loan's title and its content key.
async fn package_of(ctx: &Ctx, loan: &Loan) -> Result<(StoredPackage, Arc<ContentKey>)> {
    let title = titles::get(ctx.db.reader(), loan.title_id)
        .await?
        .ok_or(Error::NotFound("title"))?;
    let key = super::lending::lendable_title(ctx, loan.title_id)
        .await?
        .content_key;
    let package = StoredPackage {
        blobs: ctx.catalogue.blobs.clone(),
        key: title.package_key,
        size: title.package_size,
        pos: 0,
        runtime: tokio::runtime::Handle::current(),
        blocks: Vec::new(),
    };
    Ok((package, key))
}

fn package_error(err: PackageError) -> Error {
    match err {
        PackageError::NotFound(_) => Error::NotFound("resource"),
        other => Error::internal("reading a package")(other),
    }
}

/// Opens the package and describes its publication.
fn index(
    package: StoredPackage,
    key: &ContentKey,
) -> Result<(Publication, PackageReader<StoredPackage>)> {
    let mut reader = PackageReader::open(package.clone(), key).map_err(package_error)?;
    let paths = reader.paths();
    if paths
        .iter()
        .any(|p| p == jieyue_protocol::webpub::MANIFEST_PATH)
        && !paths.iter().any(|p| p == "META-INF/container.xml")
    {
        let publication = describe_webpub(&mut reader)?;
        return Ok((publication, reader));
    }
    let epub = Epub::read(package).map_err(Error::internal("the package's EPUB structure"))?;
    let publication = describe(&epub, &mut reader)?;
    Ok((publication, reader))
}

/// rbook's hrefs are absolute and percent-encoded (`/OEBPS/a%20b.xhtml#x`); package
/// paths are ZIP entry names (`OEBPS/a b.xhtml`).
fn package_path(href: &str) -> String {
    percent_encoding::percent_decode_str(href.trim_start_matches('/'))
        .decode_utf8_lossy()
        .into_owned()
}

/// Words of a label on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The publication of an opened package (as the client core's `Book::index`).
fn describe(epub: &Epub, reader: &mut PackageReader<StoredPackage>) -> Result<Publication> {
    let meta = epub.metadata();
    let fixed = meta
        .by_property("rendition:layout")
        .any(|m| m.value().trim() == "pre-paginated");
    let vertical = meta
        .by_property("primary-writing-mode")
        .any(|m| m.value().contains("vertical"));
    let rtl = matches!(epub.spine().page_direction(), PageDirection::RightToLeft);

    let mut toc = Vec::new();
    if let Some(root) = epub.toc().contents() {
        for entry in root.flatten() {
            let Some(href) = entry.href() else { continue };
            let raw = href.as_str().trim_start_matches('/');
            let href = match raw.split_once('#') {
                Some((path, fragment)) => format!("{}#{fragment}", package_path(path)),
                None => package_path(raw),
            };
            toc.push(TocItem {
                label: one_line(entry.label()),
                href,
                depth: u32::try_from(entry.depth().saturating_sub(1)).unwrap_or(0),
            });
        }
    }

    let mut reading_order = Vec::new();
    let mut next_position = 1u32;
    for entry in epub.spine().iter() {
        let Some(item) = entry.manifest_entry() else {
            continue;
        };
        let href = package_path(item.href().as_str());
        let length = reader.length(&href).map_err(package_error)?;
        let positions = if fixed {
            1
        } else {
            u32::try_from(length.div_ceil(BYTES_PER_POSITION).max(1)).unwrap_or(u32::MAX)
        };
        reading_order.push(ReadingItem {
            href,
            media_type: item.media_type().to_owned(),
            length,
            linear: entry.is_linear(),
            first_position: next_position,
            positions,
        });
        next_position = next_position.saturating_add(positions);
    }
    if reading_order.is_empty() {
        return Err(Error::Bug(
            "a catalogued package has an empty reading order",
        ));
    }
    Ok(Publication {
        title: meta
            .title()
            .map(|t| one_line(t.value()))
            .unwrap_or_default(),
        language: meta
            .language()
            .map(|l| l.value().trim().to_owned())
            .filter(|l| !l.is_empty()),
        layout: if fixed {
            Layout::Fixed
        } else {
            Layout::Reflowable
        },
        rtl,
        vertical,
        reading_order,
        toc,
        kind: PublicationKind::Epub,
        media: Vec::new(),
    })
}

/// The publication of a package described by a Readium manifest (page images, images,
/// audio, video), as the client core describes it: one position per item.
fn describe_webpub(reader: &mut PackageReader<StoredPackage>) -> Result<Publication> {
    use jieyue_protocol::webpub;
    let length = reader
        .length(webpub::MANIFEST_PATH)
        .map_err(package_error)?;
    if length > webpub::MAX_MANIFEST_BYTES {
        return Err(Error::Bug("a catalogued publication manifest is too large"));
    }
    let bytes = reader.read(webpub::MANIFEST_PATH).map_err(package_error)?;
    let manifest =
        webpub::Manifest::parse(&bytes).map_err(Error::internal("the publication manifest"))?;
    let kind = manifest.kind();
    let mut reading_order = Vec::with_capacity(manifest.reading_order.len());
    let mut media = Vec::with_capacity(manifest.reading_order.len());
    let mut toc = Vec::new();
    for (i, link) in manifest.reading_order.iter().enumerate() {
        let length = reader.length(&link.href).map_err(package_error)?;
        if let Some(title) = &link.title {
            toc.push(TocItem {
                label: title.clone(),
                href: link.href.clone(),
                depth: 0,
            });
        }
        reading_order.push(ReadingItem {
            href: link.href.clone(),
            media_type: link.media_type.clone(),
            length,
            linear: true,
            first_position: u32::try_from(i + 1).unwrap_or(u32::MAX),
            positions: 1,
        });
        media.push(MediaItem {
            title: link.title.clone(),
            duration: link.duration,
            width: link.width,
            height: link.height,
        });
    }
    let m = &manifest.metadata;
    Ok(Publication {
        title: m.title.clone(),
        language: m.language.first().cloned(),
        layout: if kind.is_timed() {
            Layout::Reflowable
        } else {
            Layout::Fixed
        },
        rtl: m.reading_progression.as_deref() == Some("rtl"),
        vertical: false,
        reading_order,
        toc,
        kind,
        media,
    })
}

/// The publication of the reader's active loan `loan_id`.
pub async fn contents(ctx: &Ctx, patron: &Patron, loan_id: LoanId) -> Result<Publication> {
    let loan = readable_loan(ctx, patron, loan_id).await?;
    let (package, key) = package_of(ctx, &loan).await?;
    let (publication, _) = tokio::task::spawn_blocking(move || index(package, &key)).await??;
    Ok(publication)
}

/// Opens the reader's active loan `loan_id` for the reading page: the loan, its
/// publication and the reader's saved position in the title.
pub async fn open_book(ctx: &Ctx, patron: &Patron, loan_id: LoanId) -> Result<OpenBook> {
    let loan = readable_loan(ctx, patron, loan_id).await?;
    let (package, key) = package_of(ctx, &loan).await?;
    let described = tokio::task::spawn_blocking(move || index(package, &key));
    let saved = positions::get(ctx, patron, loan.title_id).await;
    let (publication, _) = described.await??;
    let position = match saved {
        Ok(saved) => serde_json::from_str(&saved.locator).ok(),
        Err(Error::NotFound(_)) => None,
        Err(other) => return Err(other),
    };
    Ok(OpenBook {
        loan,
        publication,
        position,
    })
}

/// Saves the reader's position (a Readium locator) in the title of their active loan,
/// through the positions the apps share.
pub async fn save_position(
    ctx: &Ctx,
    patron: &Patron,
    loan_id: LoanId,
    locator: serde_json::Value,
) -> Result<Position> {
    let loan = readable_loan(ctx, patron, loan_id).await?;
    positions::save(
        ctx,
        patron,
        loan.title_id,
        SavePositionRequest {
            locator,
            device_id: None,
        },
    )
    .await
}

/// The reader's saved position in the title of their active loan `loan_id`.
pub async fn position(ctx: &Ctx, patron: &Patron, loan_id: LoanId) -> Result<Position> {
    let loan = readable_loan(ctx, patron, loan_id).await?;
    positions::get(ctx, patron, loan.title_id).await
}

/// A resource of a loan's package, opened and ready to be read.
pub struct OpenResource {
    /// Its media type (from its name).
    pub media_type: &'static str,
    /// Its decrypted length.
    pub length: u64,
    path: String,
    reader: PackageReader<StoredPackage>,
}

impl std::fmt::Debug for OpenResource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenResource")
            .field("path", &self.path)
            .field("length", &self.length)
            .finish_non_exhaustive()
    }
}

/// Decrypted bytes, whole or as a stream.
pub enum Content {
    /// All of them.
    Bytes(Vec<u8>),
    /// A stream (large resources, decrypted a chunk at a time).
    Stream(BoxStream<'static, io::Result<Bytes>>),
}

impl std::fmt::Debug for Content {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Content::Bytes(b) => write!(f, "Bytes({})", b.len()),
            Content::Stream(_) => f.write_str("Stream"),
        }
    }
}

/// What was read of a resource.
#[derive(Debug)]
pub struct ResourceBytes {
    /// The bytes served (all of the resource, or the range asked for, shortened to
    /// [`MAX_RANGE`]).
    pub served: Range<u64>,
    /// The bytes.
    pub content: Content,
}

/// Opens the resource at package path `path` of the reader's active loan `loan_id`.
pub async fn open_resource(
    ctx: &Ctx,
    patron: &Patron,
    loan_id: LoanId,
    path: &str,
) -> Result<OpenResource> {
    let loan = readable_loan(ctx, patron, loan_id).await?;
    if path.is_empty()
        || path.starts_with('/')
        || path
            .split('/')
            .any(|s| s == ".." || s == "." || s.is_empty())
    {
        return Err(Error::NotFound("resource"));
    }
    let (package, key) = package_of(ctx, &loan).await?;
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut reader = PackageReader::open(package, &key).map_err(package_error)?;
        let length = reader.length(&path).map_err(package_error)?;
        Ok(OpenResource {
            media_type: media_type_of(&path),
            length,
            path,
            reader,
        })
    })
    .await?
}

impl OpenResource {
    /// Reads the resource, or bytes `range` of it (shortened to [`MAX_RANGE`]).
    pub async fn read(self, range: Option<Range<u64>>) -> Result<ResourceBytes> {
        let OpenResource {
            length,
            path,
            mut reader,
            ..
        } = self;
        if let Some(range) = range {
            let served = range.start..range.end.min(range.start.saturating_add(MAX_RANGE));
            let wanted = served.clone();
            let bytes = tokio::task::spawn_blocking(move || {
                reader.read_range(&path, wanted.start, wanted.end)
            })
            .await?
            .map_err(package_error)?;
            return Ok(ResourceBytes {
                served,
                content: Content::Bytes(bytes),
            });
        }
        if length <= WHOLE_LIMIT {
            let bytes = tokio::task::spawn_blocking(move || reader.read(&path))
                .await?
                .map_err(package_error)?;
            return Ok(ResourceBytes {
                served: 0..length,
                content: Content::Bytes(bytes),
            });
        }
        let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(4);
        tokio::task::spawn_blocking(move || {
            let mut out = ChannelWriter {
                tx,
                buffer: BytesMut::new(),
            };
            let done = reader
                .copy_to(&path, &mut out)
                .map_err(io::Error::other)
                .and_then(|_| out.flush());
            if let Err(err) = done {
                // The client went away (nothing to tell), or the package is damaged.
                if err.kind() != io::ErrorKind::BrokenPipe {
                    tracing::error!(error = %err, path, "decrypting a resource failed");
                    let _ = out.tx.blocking_send(Err(err));
                }
            }
        });
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        Ok(ResourceBytes {
            served: 0..length,
            content: Content::Stream(stream.boxed()),
        })
    }
}

/// Hands decrypted bytes to the response body in chunks.
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<io::Result<Bytes>>,
    buffer: BytesMut,
}

/// Bytes handed on at a time.
const SEND_CHUNK: usize = 64 * 1024;

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        if self.buffer.len() >= SEND_CHUNK {
            self.flush()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = self.buffer.split().freeze();
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

/// Searches the text of the reading order of the reader's active loan `loan_id` for
/// `query`: case- and width-insensitive, traditional and simplified Chinese alike, and
/// anywhere in a run of text (Chinese has no spaces). At most [`MAX_HITS`] hits, in
/// reading order. An empty query finds nothing.
pub async fn search(
    ctx: &Ctx,
    patron: &Patron,
    loan_id: LoanId,
    query: &str,
) -> Result<Vec<SearchHit>> {
    let loan = readable_loan(ctx, patron, loan_id).await?;
    let query = query.trim();
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(crate::domain::FieldError::new(
            "q",
            format!("must be at most {MAX_QUERY_CHARS} characters"),
        )
        .into());
    }
    let needle: Vec<char> = query.chars().flat_map(fold).collect();
    if needle.is_empty() {
        return Ok(Vec::new());
    }
    let (package, key) = package_of(ctx, &loan).await?;
    tokio::task::spawn_blocking(move || {
        let (publication, mut reader) = index(package, &key)?;
        let mut hits = Vec::new();
        for (index, item) in publication.reading_order.iter().enumerate() {
            if !item.media_type.contains("html") || item.length > MAX_SEARCH_DOCUMENT {
                continue;
            }
            let bytes = reader.read(&item.href).map_err(package_error)?;
            let text: Vec<char> = document_text(&String::from_utf8_lossy(&bytes))
                .chars()
                .collect();
            let length = text.len().max(1);
            for (start, end) in find_all(&text, &needle) {
                let progression = fraction(start, length);
                hits.push(SearchHit {
                    href: item.href.clone(),
                    chapter: publication.chapter_title(index).map(str::to_owned),
                    progression,
                    position: publication.position_at(index, progression),
                    before: text[start.saturating_sub(CONTEXT)..start].iter().collect(),
                    highlight: text[start..end].iter().collect(),
                    after: text[end..(end + CONTEXT).min(text.len())].iter().collect(),
                });
                if hits.len() >= MAX_HITS {
                    return Ok(hits);
                }
            }
        }
        Ok(hits)
    })
    .await?
}

/// `part / whole` as a fraction (character counts, exact in an `f64`).
fn fraction(part: usize, whole: usize) -> f64 {
    part as f64 / whole.max(1) as f64
}

/// Folds one character for matching: full-width forms to ASCII, traditional Chinese
/// to simplified, lower case.
fn fold(c: char) -> impl Iterator<Item = char> {
    let c = match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        c => c,
    };
    let c = if c.len_utf8() == 3 {
        let mut buffer = [0u8; 4];
        fast2s::convert(c.encode_utf8(&mut buffer))
            .chars()
            .next()
            .unwrap_or(c)
    } else {
        c
    };
    c.to_lowercase()
}

/// Character ranges of the folded `needle` in `text`, non-overlapping, in order.
fn find_all(text: &[char], needle: &[char]) -> Vec<(usize, usize)> {
    if needle.is_empty() {
        return Vec::new();
    }
    let mut haystack = Vec::with_capacity(text.len());
    let mut map = Vec::with_capacity(text.len());
    for (i, &c) in text.iter().enumerate() {
        for f in fold(c) {
            haystack.push(f);
            map.push(i);
        }
    }
    let mut hits = Vec::new();
    let mut i = 0;
    while i + needle.len() <= haystack.len() {
        if haystack[i..i + needle.len()] == needle[..] {
            hits.push((map[i], map[i + needle.len() - 1] + 1));
            i += needle.len();
        } else {
            i += 1;
        }
    }
    hits
}

/// Elements whose content is not text a reader sees.
const SKIPPED: [&str; 4] = ["head", "script", "style", "template"];
/// Elements that separate blocks of text (a space between words on either side).
const BLOCKS: [&str; 22] = [
    "p",
    "div",
    "br",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "section",
    "article",
    "aside",
    "blockquote",
    "tr",
    "td",
    "th",
    "dt",
    "dd",
    "figcaption",
    "pre",
    "hr",
];

/// The text a reader sees in an (X)HTML document: no tags, no head, scripts or styles;
/// character references decoded; white space collapsed.
fn document_text(html: &str) -> String {
    let mut raw = String::with_capacity(html.len() / 2);
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        raw.push_str(&decode_entities(&rest[..at]));
        rest = &rest[at..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        if let Some(after) = rest.strip_prefix("<![CDATA[") {
            let end = after.find("]]>").unwrap_or(after.len());
            raw.push_str(&after[..end]);
            rest = after.get(end + 3..).unwrap_or("");
            continue;
        }
        let Some(close) = rest.find('>') else {
            rest = "";
            break;
        };
        let tag = &rest[1..close];
        rest = &rest[close + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == ':' || *c == '-')
            .collect::<String>()
            .to_ascii_lowercase();
        let local = name.rsplit(':').next().unwrap_or_default();
        if !closing && !tag.ends_with('/') && SKIPPED.contains(&local) {
            // Skip to the matching end tag.
            let end = format!("</{name}");
            let lower = rest.to_ascii_lowercase();
            match lower.find(&end) {
                Some(at) => {
                    let after = &rest[at..];
                    rest = after.find('>').map_or("", |gt| &after[gt + 1..]);
                }
                None => rest = "",
            }
            raw.push(' ');
            continue;
        }
        if BLOCKS.contains(&local) {
            raw.push(' ');
        }
    }
    raw.push_str(&decode_entities(rest));
    raw.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Decodes character references (`&amp;`, `&#x4E00;`, `&#19968;`, `&nbsp;`); others
/// stay as written.
fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let decoded = rest.find(';').filter(|end| *end <= 12).and_then(|end| {
            let name = &rest[1..end];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .map(|hex| u32::from_str_radix(hex, 16))
                    .or_else(|| name.strip_prefix('#').map(str::parse::<u32>))
                    .and_then(|n| n.ok())
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The media type a resource's name says (EPUB's core media types and the common
/// others); `application/octet-stream` when the name says nothing.
pub fn media_type_of(path: &str) -> &'static str {
    let extension = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "xhtml" | "xht" => "application/xhtml+xml",
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript",
        "svg" | "svgz" => "image/svg+xml",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "bmp" => "image/bmp",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "mp3" => "audio/mpeg",
        "m4a" | "aac" => "audio/mp4",
        "ogg" | "oga" | "opus" => "audio/ogg",
        "mp4" | "m4v" => "video/mp4",
        "webm" => "video/webm",
        "smil" => "application/smil+xml",
        "ncx" => "application/x-dtbncx+xml",
        "opf" => "application/oebps-package+xml",
        "xml" => "application/xml",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "vtt" => "text/vtt",
        _ => "application/octet-stream",
    }
}

/// A stored package as a seekable file: blocks are fetched from the object store when
/// first read (the last few are kept), so a resource costs the blocks it lies in, not
/// the whole package. Used on a blocking thread (it waits for the store).
#[derive(Clone)]
pub(crate) struct StoredPackage {
    blobs: Blobs,
    key: String,
    size: u64,
    pos: u64,
    runtime: tokio::runtime::Handle,
    /// (block index, bytes), the most recently used last.
    blocks: Vec<(u64, Bytes)>,
}

/// Bytes fetched from the store at a time.
const BLOCK: u64 = 256 * 1024;
/// Blocks kept.
const KEPT_BLOCKS: usize = 8;

impl StoredPackage {
    fn block(&mut self, index: u64) -> io::Result<Bytes> {
        if let Some(at) = self.blocks.iter().position(|(i, _)| *i == index) {
            let entry = self.blocks.remove(at);
            let bytes = entry.1.clone();
            self.blocks.push(entry);
            return Ok(bytes);
        }
        let start = index.saturating_mul(BLOCK);
        let end = start.saturating_add(BLOCK).min(self.size);
        let (blobs, key) = (self.blobs.clone(), self.key.clone());
        let bytes = self.runtime.block_on(async move {
            let mut stream = blobs.get_stream(&key, Some(start..end)).await?;
            let mut out = BytesMut::with_capacity(usize::try_from(end - start).unwrap_or(0));
            while let Some(chunk) = stream.body.next().await {
                out.extend_from_slice(&chunk.map_err(crate::blobs::BlobError::from)?);
            }
            Ok::<_, crate::blobs::BlobError>(out.freeze())
        });
        let bytes = bytes.map_err(io::Error::other)?;
        if self.blocks.len() >= KEPT_BLOCKS {
            self.blocks.remove(0);
        }
        self.blocks.push((index, bytes.clone()));
        Ok(bytes)
    }
}

impl Read for StoredPackage {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let index = self.pos / BLOCK;
        let block = self.block(index)?;
        let offset = usize::try_from(self.pos - index * BLOCK).map_err(io::Error::other)?;
        let available = block.get(offset..).unwrap_or_default();
        if available.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the stored package is shorter than recorded",
            ));
        }
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for StoredPackage {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let target = target
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        self.pos = target;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(text: &str, query: &str) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        let needle: Vec<char> = query.chars().flat_map(fold).collect();
        find_all(&chars, &needle)
            .into_iter()
            .map(|(s, e)| chars[s..e].iter().collect())
            .collect()
    }

    #[test]
    fn search_folds_case_width_and_traditional_characters() {
        assert_eq!(hits("Moby Dick and MOBY", "moby"), vec!["Moby", "MOBY"]);
        assert_eq!(hits("ＡＢＣ and abc", "abc"), vec!["ＡＢＣ", "abc"]);
        assert_eq!(
            hits("御定全唐詩 全唐诗", "全唐诗"),
            vec!["全唐詩", "全唐诗"]
        );
        assert_eq!(hits("李白《靜夜思》", "静夜思"), vec!["靜夜思"]);
        assert_eq!(hits("不亦说乎？不亦乐乎？", "不亦"), vec!["不亦", "不亦"]);
        assert!(hits("学而", "").is_empty());
        assert!(hits("学而", "学而时").is_empty());
    }

    #[test]
    fn document_text_is_what_a_reader_sees() {
        let html = r#"<?xml version="1.0"?><html><head><title>标题</title>
            <style>p { color: red }</style></head><body><h1>学而篇</h1>
            <p>子曰：<span>学而</span>时习之&#xFF0C;不亦说乎&amp;</p><script>alert(1)</script>
            <!-- a comment --><p>Call&nbsp;me</p></body></html>"#;
        assert_eq!(
            document_text(html),
            "学而篇 子曰：学而时习之，不亦说乎& Call me"
        );
        assert_eq!(
            decode_entities("a &unknown; b &#20320;"),
            "a &unknown; b 你"
        );
    }

    #[test]
    fn a_loan_is_readable_while_active_and_not_past_its_end() {
        let now = DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::days(100);
        let loan = |state, days: i64| Loan {
            id: LoanId::new(),
            patron_id: crate::domain::PatronId::new(),
            title_id: crate::domain::TitleId::new(),
            lot_id: crate::domain::LotId::new(),
            library_id: crate::domain::LibraryId::new(),
            request_id: uuid::Uuid::nil(),
            started_at: now - chrono::Duration::days(1),
            ends_at: now + chrono::Duration::days(days),
            renewals: 0,
            state,
            ended_at: None,
            updated_at: now,
        };
        assert!(readable(&loan(LoanState::Active, 1), now));
        assert!(!readable(&loan(LoanState::Active, 0), now));
        assert!(!readable(&loan(LoanState::Returned, 1), now));
        assert!(!readable(&loan(LoanState::Revoked, 1), now));
        assert!(!readable(&loan(LoanState::Expired, 1), now));
    }

    #[test]
    fn a_book_opens_where_asked_else_where_the_reader_was_else_at_the_start() {
        let item = |href: &str, linear| ReadingItem {
            href: href.into(),
            media_type: "application/xhtml+xml".into(),
            length: 2048,
            linear,
            first_position: 1,
            positions: 2,
        };
        let book = |position: Option<serde_json::Value>| OpenBook {
            loan: Loan {
                id: LoanId::new(),
                patron_id: crate::domain::PatronId::new(),
                title_id: crate::domain::TitleId::new(),
                lot_id: crate::domain::LotId::new(),
                library_id: crate::domain::LibraryId::new(),
                request_id: uuid::Uuid::nil(),
                started_at: DateTime::<Utc>::UNIX_EPOCH,
                ends_at: DateTime::<Utc>::UNIX_EPOCH,
                renewals: 0,
                state: LoanState::Active,
                ended_at: None,
                updated_at: DateTime::<Utc>::UNIX_EPOCH,
            },
            publication: Publication {
                title: "t".into(),
                language: None,
                layout: Layout::Reflowable,
                rtl: false,
                vertical: false,
                reading_order: vec![
                    item("cover.xhtml", false),
                    item("a.xhtml", true),
                    item("b.xhtml", true),
                ],
                toc: Vec::new(),
                kind: PublicationKind::Epub,
                media: Vec::new(),
            },
            position,
        };
        let at = |index, progression| Place { index, progression };
        let fresh = book(None);
        assert_eq!(fresh.place(None, None), at(1, 0.0));
        assert_eq!(fresh.place(Some("b.xhtml#x"), None), at(2, 0.0));
        assert_eq!(fresh.place(Some("b.xhtml"), Some(0.4)), at(2, 0.4));
        assert_eq!(fresh.place(Some("gone.xhtml"), Some(7.0)), at(1, 1.0));
        let saved = book(Some(serde_json::json!({"href": "b.xhtml",
            "locations": {"progression": 0.5}})));
        assert_eq!(saved.place(None, None), at(2, 0.5));
        assert_eq!(saved.place(Some("a.xhtml"), None), at(1, 0.0));
        assert_eq!(saved.place(Some("b.xhtml"), None), at(2, 0.0));
        let stale = book(Some(serde_json::json!({"href": "old.xhtml",
            "locations": {"progression": 0.5}})));
        assert_eq!(stale.place(None, None), at(1, 0.0));
    }

    #[test]
    fn positions_follow_the_client_core() {
        let item = |href: &str, first, positions| ReadingItem {
            href: href.into(),
            media_type: "application/xhtml+xml".into(),
            length: 0,
            linear: true,
            first_position: first,
            positions,
        };
        let publication = Publication {
            title: "t".into(),
            language: None,
            layout: Layout::Reflowable,
            rtl: false,
            vertical: false,
            reading_order: vec![item("a.xhtml", 1, 3), item("b.xhtml", 4, 2)],
            toc: vec![TocItem {
                label: "B".into(),
                href: "b.xhtml#x".into(),
                depth: 0,
            }],
            kind: PublicationKind::Epub,
            media: Vec::new(),
        };
        assert_eq!(publication.position_count(), 5);
        assert_eq!(publication.position_at(0, 0.0), 1);
        assert_eq!(publication.position_at(0, 0.5), 2);
        assert_eq!(publication.position_at(0, 1.0), 3);
        assert_eq!(publication.position_at(1, 0.99), 5);
        assert_eq!(publication.index_of("b.xhtml#x"), Some(1));
        assert_eq!(publication.chapter_title(1), Some("B"));
        assert_eq!(publication.chapter_title(0), None);
        assert_eq!(media_type_of("OEBPS/a.XHTML"), "application/xhtml+xml");
        assert_eq!(media_type_of("x"), "application/octet-stream");
    }
}
