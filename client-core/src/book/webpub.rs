//! Publications described by a Readium Web Publication Manifest (page images, image
//! collections, audiobooks, videos): the manifest is clear in the package, the
//! resources sealed like an EPUB's.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::sync::{Arc, Mutex};

use jieyue_protocol::package::PackageReader;
use jieyue_protocol::webpub::{self, Manifest};
use uuid::Uuid;

use super::{Book, BookMetadata, PageInfo, ReadingItem, TocEntry};
use crate::client::Inner;
use crate::error::{ClientError, Result};
use crate::states::{Layout, PublicationKind};

/// Whether the package is a Web Publication rather than an EPUB.
pub(super) fn is_webpub(reader: &PackageReader<BufReader<File>>) -> bool {
    let paths = reader.paths();
    paths.iter().any(|p| p == webpub::MANIFEST_PATH)
        && !paths.iter().any(|p| p == "META-INF/container.xml")
}

impl Book {
    pub(super) fn index_webpub(
        client: Arc<Inner>,
        publication: Uuid,
        reader: &mut PackageReader<BufReader<File>>,
    ) -> Result<Self> {
        if reader.length(webpub::MANIFEST_PATH)? > webpub::MAX_MANIFEST_BYTES {
            return Err(ClientError::corrupt(
                "the publication manifest is too large",
            ));
        }
        let manifest = Manifest::parse(&reader.read(webpub::MANIFEST_PATH)?)
            .map_err(|e| ClientError::corrupt(e.to_string()))?;
        let kind = PublicationKind::from(manifest.kind());
        let media_types: HashMap<String, String> = manifest
            .all_links()
            .map(|l| (l.href.clone(), l.media_type.clone()))
            .collect();
        let mut reading_order = Vec::with_capacity(manifest.reading_order.len());
        let mut toc = Vec::new();
        let mut pages = Vec::new();
        for (i, link) in manifest.reading_order.iter().enumerate() {
            let length = reader.length(&link.href).map_err(|e| {
                ClientError::corrupt(format!(
                    "the manifest names {}, which is unreadable: {e}",
                    link.href
                ))
            })?;
            if let Some(title) = &link.title {
                toc.push(TocEntry {
                    title: title.clone(),
                    href: link.href.clone(),
                    depth: 0,
                });
            }
            if matches!(kind, PublicationKind::PageImages | PublicationKind::Images) {
                pages.push(PageInfo {
                    href: link.href.clone(),
                    media_type: link.media_type.clone(),
                    width: link.width.unwrap_or(0),
                    height: link.height.unwrap_or(0),
                    title: link.title.clone(),
                    thumbnail_href: link
                        .alternate
                        .iter()
                        .find(|a| a.media_type.starts_with("image/"))
                        .map(|a| a.href.clone()),
                });
            }
            // One position per page, track or video (as Readium counts them).
            let position = u32::try_from(i + 1).unwrap_or(u32::MAX);
            reading_order.push(ReadingItem {
                href: link.href.clone(),
                media_type: link.media_type.clone(),
                length,
                linear: true,
                first_position: position,
                positions: 1,
                title: link.title.clone(),
                duration: link.duration,
                width: link.width,
                height: link.height,
            });
        }
        let m = &manifest.metadata;
        let duration = m.duration.or_else(|| {
            kind_is_timed(kind).then(|| reading_order.iter().filter_map(|i| i.duration).sum())
        });
        let metadata = BookMetadata {
            publication_id: publication.to_string(),
            title: m.title.clone(),
            authors: m.author.iter().map(|a| a.name.clone()).collect(),
            language: m.language.first().cloned(),
            identifier: m.identifier.clone(),
            layout: if kind_is_timed(kind) {
                Layout::Reflowable
            } else {
                Layout::Fixed
            },
            page_progression: m
                .reading_progression
                .clone()
                .unwrap_or_else(|| "default".into()),
            cover_href: manifest
                .resources
                .iter()
                .find(|l| l.rel.iter().any(|r| r == "cover"))
                .map(|l| l.href.clone())
                .or_else(|| pages.first().map(|p| p.href.clone())),
            kind,
            subtitle: m.subtitle.clone(),
            duration,
        };
        Ok(Self {
            client,
            publication,
            reader: Mutex::new(None),
            licence: Mutex::new(None),
            metadata,
            toc,
            reading_order,
            media_types,
            pages,
        })
    }
}

fn kind_is_timed(kind: PublicationKind) -> bool {
    matches!(kind, PublicationKind::Audiobook | PublicationKind::Video)
}
