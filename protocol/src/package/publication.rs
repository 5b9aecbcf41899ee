//! A publication described by a Readium Web Publication Manifest → encrypted package.
//!
//! The package is a ZIP: `manifest.json` in the clear (the reading order, durations,
//! page sizes: what a catalogue or a player needs before a key is at hand), every
//! resource the manifest links sealed as a chunk stream (stored, so any byte range of a
//! video decrypts by itself), and the encryption manifest last.

use std::collections::HashSet;
use std::io::{Read, Seek, Write};

use ring::rand::SecureRandom;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::manifest::{Compression, MANIFEST_PATH};
use super::pipeline::EncryptOptions;
use super::resource;
use super::stream;
use super::writer::{PackageSummary, Progress, finish_package, worth_deflating};
use super::{PackageError, Result};
use crate::crypto::{ContentKey, KeyError, aead};
use crate::webpub;

/// A resource of the publication: where it goes in the package, and how to read it.
pub struct SourceResource {
    /// Its href in the manifest.
    pub href: String,
    /// Its media type.
    pub media_type: String,
    /// Its length in bytes.
    pub length: u64,
    /// Opens it for reading (called once, when its turn comes).
    pub open: Box<dyn FnOnce() -> std::io::Result<Box<dyn Read + Send>> + Send>,
}

impl std::fmt::Debug for SourceResource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceResource")
            .field("href", &self.href)
            .field("length", &self.length)
            .finish_non_exhaustive()
    }
}

fn invalid(message: impl Into<String>) -> PackageError {
    PackageError::InvalidPublication(message.into())
}

/// Encrypts the resources of the publication `manifest` describes into a package
/// written to `output`, under `content_key`. Every link of the manifest must have its
/// resource and every resource its link. `progress` hears the bytes read.
pub fn encrypt_publication<W: Write + Seek + Send>(
    manifest: &webpub::Manifest,
    resources: Vec<SourceResource>,
    output: W,
    content_key: &ContentKey,
    options: &EncryptOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<(W, PackageSummary)> {
    manifest.check().map_err(|e| invalid(e.to_string()))?;
    let linked: HashSet<&str> = manifest.all_links().map(|l| l.href.as_str()).collect();
    let mut given = HashSet::new();
    for resource in &resources {
        if !linked.contains(resource.href.as_str()) {
            return Err(invalid(format!("{} is not in the manifest", resource.href)));
        }
        if !given.insert(resource.href.as_str()) {
            return Err(invalid(format!("{} is given twice", resource.href)));
        }
    }
    if let Some(missing) = linked.iter().find(|href| !given.contains(*href)) {
        return Err(invalid(format!(
            "the manifest links {missing}, which is not given"
        )));
    }

    let rng = ring::rand::SystemRandom::new();
    let key = aead::key(content_key.expose_secret())?;
    let bytes_total: u64 = resources.iter().map(|r| r.length).sum();
    let mut zip = ZipWriter::new(output);
    zip.start_file(
        webpub::MANIFEST_PATH,
        SimpleFileOptions::default().compression_method(CompressionMethod::Deflated),
    )?;
    zip.write_all(&manifest.to_json())?;

    let mut encrypted = Vec::with_capacity(resources.len());
    let mut bytes_done = 0u64;
    for source in resources {
        let compression = if worth_deflating(Some(&source.media_type), &source.href) {
            Compression::Deflate
        } else {
            Compression::None
        };
        let mut prefix = [0u8; 7];
        rng.fill(&mut prefix).map_err(|_| KeyError::Random)?;
        let entry_options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .large_file(stream::encrypted_length(source.length) >= u64::from(u32::MAX) - 1024);
        zip.start_file(source.href.as_str(), entry_options)?;
        let mut reader =
            (source.open)().map_err(|e| invalid(format!("{} cannot be read: {e}", source.href)))?;
        let spec = resource::ResourceSpec {
            path: &source.href,
            compression,
            original_length: source.length,
            prefix,
        };
        let mut sealed =
            resource::encrypt_with(&key, &spec, &mut reader, &mut zip, options, &mut |read| {
                progress(Progress {
                    bytes_done: bytes_done + read,
                    bytes_total,
                })
            })
            .map_err(|e| match e {
                // The resource writer speaks of archives; here the source is a file.
                PackageError::InvalidEpub(why) => PackageError::InvalidPublication(why),
                other => other,
            })?;
        sealed.media_type = Some(source.media_type);
        bytes_done += source.length;
        encrypted.push(sealed);
    }

    let (output, encryption) = finish_package(zip, &key, encrypted)?;
    Ok((
        output,
        PackageSummary {
            manifest: encryption,
            opf_path: webpub::MANIFEST_PATH.to_owned(),
            clear_paths: vec![webpub::MANIFEST_PATH.to_owned(), MANIFEST_PATH.to_owned()],
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::CHUNK_SIZE;
    use crate::package::PackageReader;
    use crate::webpub::{Link, Manifest as Webpub, Metadata};
    use std::io::Cursor;

    fn manifest(links: Vec<Link>) -> Webpub {
        Webpub {
            context: webpub::CONTEXT.into(),
            metadata: Metadata {
                schema_type: None,
                conforms_to: vec![],
                identifier: Some("urn:x".into()),
                title: "录音".into(),
                subtitle: None,
                author: vec![],
                narrator: vec![],
                publisher: vec![],
                language: vec![],
                published: None,
                subject: vec![],
                description: None,
                duration: None,
                number_of_pages: None,
                reading_progression: None,
            },
            links: vec![],
            reading_order: links,
            resources: vec![],
        }
    }

    fn source(href: &str, media_type: &str, data: Vec<u8>) -> SourceResource {
        SourceResource {
            href: href.into(),
            media_type: media_type.into(),
            length: data.len() as u64,
            open: Box::new(move || Ok(Box::new(Cursor::new(data)) as Box<dyn Read + Send>)),
        }
    }

    fn bytes(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    #[test]
    fn a_publication_reads_back_whole_and_at_any_offset() {
        let key = ContentKey::generate().expect("key");
        let track = bytes(5 * CHUNK_SIZE + 123, 1);
        let video = bytes(3 * CHUNK_SIZE, 2);
        let m = manifest(vec![
            Link::new("audio/01.mp3", "audio/mpeg"),
            Link::new("v.mp4", "video/mp4"),
        ]);
        let (out, summary) = encrypt_publication(
            &m,
            vec![
                source("audio/01.mp3", "audio/mpeg", track.clone()),
                source("v.mp4", "video/mp4", video.clone()),
            ],
            Cursor::new(Vec::new()),
            &key,
            &EncryptOptions::default(),
            &mut |_| {},
        )
        .expect("writes");
        assert_eq!(summary.manifest.resources.len(), 2);
        let package = out.into_inner();
        let mut reader = PackageReader::open(Cursor::new(package.clone()), &key).expect("opens");
        assert_eq!(
            Webpub::parse(&reader.read(webpub::MANIFEST_PATH).expect("clear")).expect("parses"),
            m
        );
        assert_eq!(reader.read("audio/01.mp3").expect("reads"), track);
        assert_eq!(reader.read("v.mp4").expect("reads"), video);

        let location = reader.locate("audio/01.mp3").expect("stored");
        let mut cursor = reader
            .cursor(Cursor::new(package.clone()), location)
            .expect("cursor");
        assert_eq!(cursor.length(), track.len() as u64);
        for (offset, len) in [
            (0usize, 10usize),
            (CHUNK_SIZE - 3, 7),
            (2 * CHUNK_SIZE + 5, 2 * CHUNK_SIZE),
            (track.len() - 4, 100),
            (0, track.len()),
        ] {
            let mut buf = vec![0u8; len];
            let n = cursor
                .read_at(offset as u64, &mut buf, &|| false)
                .expect("reads");
            let end = (offset + len).min(track.len());
            assert_eq!(&buf[..n], &track[offset..end], "{offset}+{len}");
        }
        let mut buf = [0u8; 8];
        assert_eq!(
            cursor
                .read_at(track.len() as u64, &mut buf, &|| false)
                .expect("eof"),
            0
        );
        // A cancelled read stops before decrypting.
        let location = reader.locate("v.mp4").expect("stored");
        let mut cursor = reader
            .cursor(Cursor::new(package.clone()), location)
            .expect("cursor");
        assert!(matches!(
            cursor.read_at(0, &mut buf, &|| true),
            Err(PackageError::Cancelled)
        ));

        // A flipped byte in the track's third chunk: reads of that chunk fail, others work.
        let location = reader.locate("audio/01.mp3").expect("stored");
        let mut damaged = package;
        let at = location.data_start as usize + 2 * stream::ENCRYPTED_CHUNK_SIZE + 9;
        damaged[at] ^= 1;
        let mut cursor = reader
            .cursor(Cursor::new(damaged), location)
            .expect("cursor");
        assert!(cursor.read_at(0, &mut buf, &|| false).is_ok());
        let error = cursor
            .read_at(2 * CHUNK_SIZE as u64 + 1, &mut buf, &|| false)
            .expect_err("tampered");
        assert!(error.to_string().contains("chunk 2"), "{error}");
    }

    #[test]
    fn resources_must_match_the_manifest() {
        let key = ContentKey::generate().expect("key");
        let m = manifest(vec![Link::new("a.jpg", "image/jpeg")]);
        let write = |resources| {
            encrypt_publication(
                &m,
                resources,
                Cursor::new(Vec::new()),
                &key,
                &EncryptOptions::default(),
                &mut |_| {},
            )
            .map(|_| ())
        };
        let error = write(vec![]).expect_err("missing");
        assert!(error.to_string().contains("a.jpg"), "{error}");
        let error = write(vec![
            source("a.jpg", "image/jpeg", vec![1]),
            source("b.jpg", "image/jpeg", vec![1]),
        ])
        .expect_err("extra");
        assert!(error.to_string().contains("b.jpg"), "{error}");
        // A source shorter than it said.
        let mut short = source("a.jpg", "image/jpeg", vec![1, 2, 3]);
        short.length = 10;
        let error = write(vec![short]).expect_err("short");
        assert!(error.to_string().contains("a.jpg"), "{error}");
    }
}
