//! An open book: metadata, table of contents, reading order, decrypted resources on
//! demand, positions and locators, search. Every resource read checks the licence
//! against trusted time first; when the loan has ended the key is destroyed and the
//! book stops reading.

pub mod layout;
pub mod locator;
pub mod media;
pub mod render;
pub mod search;
mod webpub;
pub mod xhtml;

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::sync::{Arc, Mutex};

use jieyue_protocol::licence::Licence;
use jieyue_protocol::package::PackageReader;
use rbook::Epub;
use uuid::Uuid;

use crate::client::{Client, Inner, parse_id};
use crate::error::{ClientError, Result};
use crate::states::{Layout, PublicationKind};
pub use locator::Locator;

/// What the OPF says of the book.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct BookMetadata {
    /// The publication (title) id.
    pub publication_id: String,
    /// Title.
    pub title: String,
    /// Authors.
    pub authors: Vec<String>,
    /// Language (BCP 47).
    pub language: Option<String>,
    /// The OPF's unique identifier.
    pub identifier: Option<String>,
    /// Reflowable, or fixed (pre-paginated) pages.
    pub layout: Layout,
    /// `ltr`, `rtl` or `default`.
    pub page_progression: String,
    /// Path of the cover image, if declared.
    pub cover_href: Option<String>,
    /// EPUB, page images, images, audiobook or video.
    pub kind: PublicationKind,
    /// Subtitle (a journal's issue), if any.
    pub subtitle: Option<String>,
    /// Total duration in seconds (audiobooks, videos).
    pub duration: Option<f64>,
}

/// An entry of the table of contents.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TocEntry {
    /// The label.
    pub title: String,
    /// Target: package path, with a `#fragment` if any.
    pub href: String,
    /// Nesting depth (0 = top).
    pub depth: u32,
}

/// A document of the reading order (spine).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ReadingItem {
    /// Package path.
    pub href: String,
    /// Media type.
    pub media_type: String,
    /// Decrypted length in bytes.
    pub length: u64,
    /// Whether it is in the linear reading order.
    pub linear: bool,
    /// First position (1-based) of this document in the book.
    pub first_position: u32,
    /// Positions in this document.
    pub positions: u32,
    /// A track's or video's title, a page's caption (not for EPUB documents).
    pub title: Option<String>,
    /// Duration in seconds (audio, video).
    pub duration: Option<f64>,
    /// Width in pixels (page images, video).
    pub width: Option<u32>,
    /// Height in pixels (page images, video).
    pub height: Option<u32>,
}

/// A resource's bytes and type, for a WebView.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Resource {
    /// The decrypted bytes.
    pub data: Vec<u8>,
    /// The media type.
    pub media_type: String,
}

/// A page of a fixed-layout book.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FixedPage {
    /// The page's content document.
    pub href: String,
    /// The page's image (when the page is one image, as scanned and comic books are).
    pub image_href: Option<String>,
}

/// A page of a page-image publication or an image collection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PageInfo {
    /// The page image (package path).
    pub href: String,
    /// Its media type.
    pub media_type: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Its caption, if any.
    pub title: Option<String>,
    /// A small JPEG of it (image collections), for grids.
    pub thumbnail_href: Option<String>,
}

/// Bytes per position in reflowable documents (as in Readium).
pub const BYTES_PER_POSITION: u64 = 1024;

/// An open, readable book.
pub struct Book {
    client: Arc<Inner>,
    publication: Uuid,
    reader: Mutex<Option<PackageReader<BufReader<File>>>>,
    /// The licence as last verified (a renewal stored by a sync replaces it).
    licence: Mutex<Option<Licence>>,
    metadata: BookMetadata,
    toc: Vec<TocEntry>,
    reading_order: Vec<ReadingItem>,
    media_types: HashMap<String, String>,
    /// Pages (page images and images only).
    pages: Vec<PageInfo>,
}

impl std::fmt::Debug for Book {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Book")
            .field("publication", &self.publication)
            .finish_non_exhaustive()
    }
}

/// rbook's hrefs are absolute and percent-encoded (`/OEBPS/a%20b.xhtml#x`); package
/// paths are ZIP entry names (`OEBPS/a b.xhtml`).
fn package_path(href: &str) -> String {
    xhtml::percent_decode(href.trim_start_matches('/'))
}

/// For a resource the package manifest does not list: the media type its extension
/// usually means.
fn media_type_by_extension(path: &str) -> String {
    mime_guess::from_path(path)
        .first_raw()
        .unwrap_or("application/octet-stream")
        .to_owned()
}

impl Client {
    /// Opens a downloaded book: checks its licence against trusted time (and destroys
    /// the key if the loan has ended), unwraps the content key with the device key,
    /// and indexes the package.
    pub fn open_book(&self, publication_id: &str) -> Result<Book> {
        let publication = parse_id(publication_id, "book")?;
        let inner = Arc::clone(&self.inner);
        let integrity = inner.integrity()?;
        let licence = inner.check_licence(&integrity, publication, None)?;
        let (_, device_key) = inner.device()?;
        let content_key = licence.unwrap_content_key(&device_key)?;
        let path = inner.package_path(publication);
        let file = File::open(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                ClientError::not_found("the book is not downloaded on this device")
            }
            _ => e.into(),
        })?;
        let mut reader = PackageReader::open(BufReader::new(file), &content_key)?;
        if webpub::is_webpub(&reader) {
            return Book::index_webpub(Arc::clone(&inner), publication, &mut reader).map(
                |mut book| {
                    book.reader = Mutex::new(Some(reader));
                    book.licence = Mutex::new(Some(licence));
                    book
                },
            );
        }
        let epub = Epub::read(File::open(&path)?)
            .map_err(|e| ClientError::corrupt(format!("the package's EPUB structure: {e}")))?;
        Book::index(inner, publication, &epub, &mut reader).map(|mut book| {
            book.reader = Mutex::new(Some(reader));
            book.licence = Mutex::new(Some(licence));
            book
        })
    }
}

impl Book {
    fn index(
        client: Arc<Inner>,
        publication: Uuid,
        epub: &Epub,
        reader: &mut PackageReader<BufReader<File>>,
    ) -> Result<Self> {
        let meta = epub.metadata();
        let fixed_layout = meta
            .by_property("rendition:layout")
            .any(|m| m.value().trim() == "pre-paginated");
        let page_progression = match epub.spine().page_direction() {
            rbook::ebook::spine::PageDirection::RightToLeft => "rtl",
            rbook::ebook::spine::PageDirection::LeftToRight => "ltr",
            _ => "default",
        }
        .to_owned();
        let manifest = epub.manifest();
        let media_types: HashMap<String, String> = manifest
            .iter()
            .map(|entry| {
                (
                    package_path(entry.href().as_str()),
                    entry.media_type().to_owned(),
                )
            })
            .collect();
        let metadata = BookMetadata {
            publication_id: publication.to_string(),
            title: meta
                .title()
                .map(|t| t.value().trim().to_owned())
                .unwrap_or_default(),
            authors: meta
                .creators()
                .map(|c| c.value().trim().to_owned())
                .filter(|c| !c.is_empty())
                .collect(),
            language: meta.language().map(|l| l.value().trim().to_owned()),
            identifier: meta.identifier().map(|i| i.value().trim().to_owned()),
            layout: if fixed_layout {
                Layout::Fixed
            } else {
                Layout::Reflowable
            },
            page_progression,
            cover_href: manifest
                .cover_image()
                .map(|c| package_path(c.href().as_str())),
            kind: PublicationKind::Epub,
            subtitle: None,
            duration: None,
        };

        let mut toc = Vec::new();
        if let Some(root) = epub.toc().contents() {
            for entry in root.flatten() {
                let Some(href) = entry.href() else { continue };
                let raw = href.as_str().trim_start_matches('/');
                let (path, fragment) = match raw.split_once('#') {
                    Some((path, fragment)) => (xhtml::percent_decode(path), Some(fragment)),
                    None => (xhtml::percent_decode(raw), None),
                };
                toc.push(TocEntry {
                    title: entry
                        .label()
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" "),
                    href: match fragment {
                        Some(f) => format!("{path}#{f}"),
                        None => path,
                    },
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
            let length = reader.length(&href).map_err(|e| {
                ClientError::corrupt(format!("the spine names {href}, which is unreadable: {e}"))
            })?;
            let positions = if fixed_layout {
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
                title: None,
                duration: None,
                width: None,
                height: None,
            });
            next_position = next_position.saturating_add(positions);
        }
        if reading_order.is_empty() {
            return Err(ClientError::corrupt("the book has an empty reading order"));
        }
        Ok(Self {
            client,
            publication,
            reader: Mutex::new(None),
            licence: Mutex::new(None),
            metadata,
            toc,
            reading_order,
            media_types,
            pages: Vec::new(),
        })
    }

    /// The book's metadata.
    pub fn metadata(&self) -> BookMetadata {
        self.metadata.clone()
    }

    /// The table of contents, flattened in reading order (EPUB 3 nav or EPUB 2 NCX).
    pub fn table_of_contents(&self) -> Vec<TocEntry> {
        self.toc.clone()
    }

    /// The pages of a page-image publication or an image collection, in order, with
    /// their sizes; empty for other kinds (an EPUB's fixed pages: [`Book::fixed_pages`]).
    pub fn page_list(&self) -> Vec<PageInfo> {
        self.pages.clone()
    }

    /// The reading order.
    pub fn reading_order(&self) -> Vec<ReadingItem> {
        self.reading_order.clone()
    }

    /// Positions in the whole book.
    pub fn position_count(&self) -> u32 {
        self.reading_order
            .last()
            .map_or(0, |last| last.first_position + last.positions - 1)
    }

    /// The media type of the resource at `href`.
    pub fn media_type(&self, href: &str) -> String {
        let path = xhtml::resolve("", href);
        self.media_types
            .get(&path)
            .cloned()
            .unwrap_or_else(|| media_type_by_extension(&path))
    }

    fn with_reader<T>(
        &self,
        f: impl FnOnce(&mut PackageReader<BufReader<File>>) -> Result<T>,
    ) -> Result<T> {
        let integrity = self.client.integrity()?;
        let mut guard = self
            .reader
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut licence = self
            .licence
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match self
            .client
            .check_licence(&integrity, self.publication, licence.as_ref())
        {
            Ok(current) => *licence = Some(current),
            Err(e) => {
                if matches!(
                    e,
                    ClientError::Expired { .. }
                        | ClientError::Revoked { .. }
                        | ClientError::Returned { .. }
                        | ClientError::LicenceRemoved { .. }
                        | ClientError::NotFound { .. }
                ) {
                    // The licence and key are gone from the store (ended, returned,
                    // removed): drop the key in memory too.
                    *guard = None;
                }
                return Err(e);
            }
        }
        let reader = guard.as_mut().ok_or_else(|| ClientError::Expired {
            message: "the book was closed when its loan ended".into(),
        })?;
        f(reader)
    }

    /// The decrypted resource at `href` (a package path; `/`, `%20` and `#fragment`
    /// are accepted) and its media type.
    pub fn resource(&self, href: &str) -> Result<Resource> {
        let path = xhtml::resolve("", href);
        let data = self.with_reader(|reader| Ok(reader.read(&path)?))?;
        Ok(Resource {
            data,
            media_type: self.media_type(&path),
        })
    }

    /// Bytes `start..end` of the resource at `href`, decrypted (for audio and video;
    /// only the chunks covering the range are read).
    pub fn resource_range(&self, href: &str, start: u64, end: u64) -> Result<Vec<u8>> {
        let path = xhtml::resolve("", href);
        self.with_reader(|reader| Ok(reader.read_range(&path, start, end)?))
    }

    /// The decrypted length of the resource at `href`.
    pub fn resource_length(&self, href: &str) -> Result<u64> {
        let path = xhtml::resolve("", href);
        self.with_reader(|reader| Ok(reader.length(&path)?))
    }

    /// The pages of a fixed-layout book (each spine document; its image if the page is
    /// a single image). Empty for reflowable books.
    pub fn fixed_pages(&self) -> Result<Vec<FixedPage>> {
        if self.metadata.layout != Layout::Fixed {
            return Ok(Vec::new());
        }
        let mut pages = Vec::with_capacity(self.reading_order.len());
        for item in &self.reading_order {
            let image_href = if item.media_type.starts_with("image/") {
                Some(item.href.clone())
            } else {
                let document = self.document(&item.href)?;
                let mut images = document.blocks.iter().filter_map(|b| match &b.kind {
                    xhtml::BlockKind::Image { path, .. } => Some(path.clone()),
                    _ => None,
                });
                let first = images.next();
                let has_text = document.blocks.iter().any(|b| !b.spans.is_empty());
                first.filter(|_| images.next().is_none() && !has_text)
            };
            pages.push(FixedPage {
                href: item.href.clone(),
                image_href,
            });
        }
        Ok(pages)
    }

    /// The parsed content document at `href`. An image in the reading order (a bitmap,
    /// or an SVG document, which EPUB allows there) is a page that is that image.
    pub(crate) fn document(&self, href: &str) -> Result<xhtml::Document> {
        let path = xhtml::resolve("", href);
        if self.media_type(&path).starts_with("image/") {
            return Ok(xhtml::Document::image_page(&path));
        }
        let bytes = self.resource(&path)?.data;
        Ok(xhtml::parse(&bytes, &path))
    }

    /// The reading-order item at `index`.
    pub(crate) fn item(&self, index: u32) -> Result<&ReadingItem> {
        self.reading_order
            .get(index as usize)
            .ok_or_else(|| ClientError::not_found(format!("no chapter {index}")))
    }

    /// Index of `href` in the reading order.
    pub(crate) fn index_of(&self, href: &str) -> Option<usize> {
        let path = xhtml::resolve("", href);
        self.reading_order.iter().position(|i| i.href == path)
    }
}
