//! Plain EPUB → encrypted package, streaming.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Seek, Write};

use ring::rand::SecureRandom;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::epub::{self, ENCRYPTION_PATH};
use super::manifest::{Compression, MANIFEST_PATH, Manifest};
use super::obfuscation::{Deobfuscate, Obfuscation};
use super::pipeline::EncryptOptions;
use super::resource;
use super::stream::{self, CHUNK_SIZE};
use super::{ALGORITHM, PackageError, Result};
use crate::crypto::{ContentKey, KeyError, aead};

/// How far the writer has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes of the source read so far.
    pub bytes_done: u64,
    /// Bytes of the source in all.
    pub bytes_total: u64,
}

/// What the writer made.
#[derive(Debug, Clone)]
pub struct PackageSummary {
    /// The encryption manifest written into the package.
    pub manifest: Manifest,
    /// The OPF's path (clear).
    pub opf_path: String,
    /// Every entry left clear.
    pub clear_paths: Vec<String>,
}

/// Whether a resource is worth deflating before encryption: text of every kind (XHTML,
/// CSS, SVG, NCX, SMIL, JSON, scripts) and uncompressed fonts (OpenType, TrueType, EOT).
/// Media that is compressed already (JPEG, PNG, GIF, WebP, WOFF, WOFF2, audio, video) is
/// stored as it is: deflating it gains nothing, and stored resources can be read from
/// any offset, which audio and video need.
pub(crate) fn worth_deflating(media_type: Option<&str>, path: &str) -> bool {
    if let Some(m) = media_type.map(str::to_ascii_lowercase) {
        let m = m.split(';').next().unwrap_or_default().trim().to_owned();
        if m.starts_with("text/")
            || m.ends_with("+xml")
            || m.ends_with("+json")
            || matches!(
                m.as_str(),
                "application/xml"
                    | "application/javascript"
                    | "application/ecmascript"
                    | "application/json"
                    | "application/x-dtbncx+xml"
                    | "font/ttf"
                    | "font/otf"
                    | "font/sfnt"
                    | "font/collection"
                    | "application/font-sfnt"
                    | "application/vnd.ms-opentype"
                    | "application/x-font-ttf"
                    | "application/x-font-otf"
                    | "application/x-font-truetype"
                    | "application/x-font-opentype"
                    | "application/vnd.ms-fontobject"
            )
        {
            return true;
        }
        if m != "application/octet-stream" && !m.is_empty() {
            return false;
        }
    }
    let ext = path
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    matches!(
        ext.as_str(),
        "xhtml"
            | "html"
            | "htm"
            | "css"
            | "xml"
            | "svg"
            | "js"
            | "txt"
            | "ncx"
            | "smil"
            | "json"
            | "ttf"
            | "otf"
            | "ttc"
            | "eot"
    )
}

fn invalid(message: impl Into<String>) -> PackageError {
    PackageError::InvalidEpub(message.into())
}

/// Encrypts the EPUB read from `input` into a package written to `output`, under
/// `content_key`, with the default [`EncryptOptions`] (large resources sealed on up to
/// four cores). `progress` is called as the source is read.
pub fn encrypt_epub<R: Read + Seek + Send, W: Write + Seek + Send>(
    input: R,
    output: W,
    content_key: &ContentKey,
    progress: &mut dyn FnMut(Progress),
) -> Result<(W, PackageSummary)> {
    encrypt_epub_with_options(
        input,
        output,
        content_key,
        &EncryptOptions::default(),
        progress,
    )
}

/// [`encrypt_epub`] with explicit [`EncryptOptions`].
pub fn encrypt_epub_with_options<R: Read + Seek + Send, W: Write + Seek + Send>(
    input: R,
    output: W,
    content_key: &ContentKey,
    options: &EncryptOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<(W, PackageSummary)> {
    encrypt_epub_with(
        input,
        output,
        content_key,
        options,
        progress,
        &ring::rand::SystemRandom::new(),
    )
}

pub(crate) fn encrypt_epub_with<R: Read + Seek + Send, W: Write + Seek + Send>(
    input: R,
    output: W,
    content_key: &ContentKey,
    options: &EncryptOptions,
    progress: &mut dyn FnMut(Progress),
    rng: &dyn SecureRandom,
) -> Result<(W, PackageSummary)> {
    let mut archive =
        ZipArchive::new(input).map_err(|e| invalid(format!("not a ZIP archive: {e}")))?;

    // The central directory must describe a plausible, unprotected book (no zip bomb,
    // no entry named twice, safe names) before anything is decompressed.
    let facts = super::check::check_archive(&mut archive, options.limits())?;
    let mut names = Vec::with_capacity(archive.len());
    let mut seen = HashSet::new();
    for index in 0..archive.len() {
        let entry = archive
            .by_index_raw(index)
            .map_err(|e| invalid(format!("unreadable entry {index}: {e}")))?;
        let name = std::str::from_utf8(entry.name_raw())
            .map_err(|_| invalid(format!("entry {index} has a name that is not UTF-8")))?
            .to_owned();
        if !seen.insert(name.clone()) {
            return Err(invalid(format!("duplicate entry {name}")));
        }
        names.push((name, entry.is_dir()));
    }
    let bytes_total: u64 = facts.sizes.values().sum();

    let opf_path = facts.opf_path.clone();
    let opf = epub::opf(
        &super::check::read_small(&mut archive, &opf_path, super::check::MAX_OPF_BYTES)?,
        &opf_path,
    )?;
    if opf.items.is_empty() {
        return Err(invalid("the OPF manifest lists no resources"));
    }
    for item in &opf.items {
        if !seen.contains(&item.path) {
            return Err(invalid(format!(
                "the OPF lists {} but the archive has no such entry",
                item.path
            )));
        }
    }

    // Obfuscated fonts: undone here, so the encryption.xml entries go.
    let mut obfuscated: HashMap<String, Obfuscation> = HashMap::new();
    if seen.contains(ENCRYPTION_PATH) {
        let xml = super::check::read_small(
            &mut archive,
            ENCRYPTION_PATH,
            super::check::MAX_ENCRYPTION_XML_BYTES,
        )?;
        for entry in epub::encryption(&xml)? {
            let uid = opf
                .unique_identifier
                .as_deref()
                .ok_or_else(|| invalid("obfuscated fonts but the OPF has no unique identifier"))?;
            obfuscated.insert(entry.path, Obfuscation::new(&entry.algorithm, uid)?);
        }
    }

    let mut clear: HashSet<String> = opf.navigation_paths().into_iter().collect();
    clear.insert(opf_path.clone());
    let key = aead::key(content_key.expose_secret())?;
    let mut zip = ZipWriter::new(output);
    zip.start_file(
        "mimetype",
        SimpleFileOptions::default().compression_method(CompressionMethod::Stored),
    )?;
    zip.write_all(b"application/epub+zip")?;

    let mut resources = Vec::new();
    let mut clear_paths = vec!["mimetype".to_owned()];
    let mut bytes_done = 0u64;
    for (index, (name, is_dir)) in names.iter().enumerate() {
        if *is_dir || name == "mimetype" || (name == ENCRYPTION_PATH && !obfuscated.is_empty()) {
            continue;
        }
        if clear.contains(name) || name.starts_with("META-INF/") {
            let entry = archive.by_index_raw(index)?;
            bytes_done += entry.size();
            zip.raw_copy_file(entry)?;
            clear_paths.push(name.clone());
            progress(Progress {
                bytes_done,
                bytes_total,
            });
            continue;
        }

        let entry = archive
            .by_index(index)
            .map_err(|e| invalid(format!("{name}: {e}")))?;
        let original_length = entry.size();
        let media_type = opf.media_type(name).map(str::to_owned);
        let compression = if worth_deflating(media_type.as_deref(), name) {
            Compression::Deflate
        } else {
            Compression::None
        };
        let mut prefix = [0u8; 7];
        rng.fill(&mut prefix).map_err(|_| KeyError::Random)?;
        let entry_options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .large_file(stream::encrypted_length(original_length) >= u64::from(u32::MAX) - 1024);
        zip.start_file(name.as_str(), entry_options)?;

        let obfuscation = obfuscated.get(name).cloned();
        let deobfuscated = obfuscation.is_some();
        let mut source = Deobfuscate::new(entry, obfuscation);
        let spec = resource::ResourceSpec {
            path: name,
            compression,
            original_length,
            prefix,
        };
        let mut resource =
            resource::encrypt_with(&key, &spec, &mut source, &mut zip, options, &mut |read| {
                progress(Progress {
                    bytes_done: bytes_done + read,
                    bytes_total,
                })
            })?;
        resource.media_type = media_type;
        resource.deobfuscated = deobfuscated;
        bytes_done += original_length;
        resources.push(resource);
    }

    let (output, manifest) = finish_package(zip, &key, resources)?;
    clear_paths.push(MANIFEST_PATH.to_owned());
    Ok((
        output,
        PackageSummary {
            manifest,
            opf_path,
            clear_paths,
        },
    ))
}

/// Writes the encryption manifest of `resources` (sealed under `key`) as the package's
/// last entry and closes the ZIP.
pub(crate) fn finish_package<W: Write + Seek>(
    mut zip: ZipWriter<W>,
    key: &ring::aead::LessSafeKey,
    resources: Vec<super::manifest::EncryptedResource>,
) -> Result<(W, Manifest)> {
    let manifest = Manifest {
        version: 1,
        algorithm: ALGORITHM.to_owned(),
        chunk_size: CHUNK_SIZE as u32,
        key_check: stream::key_check(key)?,
        resources,
    };
    let json =
        serde_json::to_vec_pretty(&manifest).map_err(|e| PackageError::Corrupt(e.to_string()))?;
    zip.start_file(
        MANIFEST_PATH,
        SimpleFileOptions::default().compression_method(CompressionMethod::Deflated),
    )?;
    zip.write_all(&json)?;
    Ok((zip.finish()?, manifest))
}

#[cfg(test)]
mod tests {
    use super::worth_deflating;

    #[test]
    fn text_and_fonts_are_deflated_compressed_media_is_not() {
        for (media_type, path) in [
            (Some("application/xhtml+xml"), "a.xhtml"),
            (Some("text/css"), "a.css"),
            (Some("image/svg+xml"), "a.svg"),
            (Some("application/x-dtbncx+xml"), "toc.ncx"),
            (Some("font/otf"), "f.otf"),
            (Some("application/vnd.ms-opentype"), "f.otf"),
            (Some("application/font-sfnt"), "f.ttf"),
            (Some("application/octet-stream"), "f.ttf"),
            (None, "f.otf"),
        ] {
            assert!(worth_deflating(media_type, path), "{media_type:?} {path}");
        }
        for (media_type, path) in [
            (Some("image/jpeg"), "a.jpg"),
            (Some("image/png"), "a.png"),
            (Some("font/woff2"), "f.woff2"),
            (Some("font/woff"), "f.woff"),
            (Some("audio/mpeg"), "a.mp3"),
            (Some("video/mp4"), "a.mp4"),
            (Some("application/octet-stream"), "blob.bin"),
        ] {
            assert!(!worth_deflating(media_type, path), "{media_type:?} {path}");
        }
    }
}
