//! The archive check every EPUB passes before anything reads its contents: the central
//! directory alone (no decompression) must describe a plausible book. It refuses zip
//! bombs (a resource that declares more than [`Limits::max_entry_bytes`], a book that
//! unpacks to more than [`Limits::max_total_bytes`], an entry that would inflate more
//! than [`Limits::max_ratio`] times), an entry named twice, unsafe or non-UTF-8 names,
//! password-protected entries, an oversized `container.xml` or OPF, and a book that is
//! protected already (a Jieyue package, Readium LCP, Adobe ADEPT, any other
//! encryption). The ZIP reader then refuses an entry that yields more bytes than it
//! declared, so the declared sizes bound every later read.

use std::collections::BTreeMap;
use std::io::{Read, Seek};

use zip::ZipArchive;

use super::epub::{self, ADOBE_OBFUSCATION, CONTAINER_PATH, ENCRYPTION_PATH, IDPF_OBFUSCATION};
use super::manifest::MANIFEST_PATH;
use super::{PackageError, Result};

/// Bounds on what an EPUB may unpack to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest resource, uncompressed.
    pub max_entry_bytes: u64,
    /// The whole book, uncompressed.
    pub max_total_bytes: u64,
    /// How many times its stored size an entry may inflate to (checked for entries over
    /// [`Limits::ratio_floor_bytes`]; text rarely passes 20).
    pub max_ratio: u64,
    /// Entries smaller than this are not held to the ratio.
    pub ratio_floor_bytes: u64,
    /// The most entries an archive may have.
    pub max_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_entry_bytes: 1 << 30,
            max_total_bytes: 4 << 30,
            max_ratio: 100,
            ratio_floor_bytes: 1 << 20,
            max_entries: 100_000,
        }
    }
}

/// `META-INF/container.xml` may be at most this large.
pub const MAX_CONTAINER_BYTES: u64 = 1 << 20;
/// The OPF may be at most this large (the largest real one we know is under 2 MiB).
pub const MAX_OPF_BYTES: u64 = 16 << 20;
/// `META-INF/encryption.xml` may be at most this large.
pub const MAX_ENCRYPTION_XML_BYTES: u64 = 4 << 20;

/// What the check learnt about the archive.
#[derive(Debug, Clone, Default)]
pub struct ArchiveFacts {
    /// Every file entry with its declared uncompressed size.
    pub sizes: BTreeMap<String, u64>,
    /// The OPF's path.
    pub opf_path: String,
}

/// Checks the EPUB read from `input` (see the module documentation).
pub fn check_epub<R: Read + Seek>(input: R, limits: &Limits) -> Result<ArchiveFacts> {
    let mut archive =
        ZipArchive::new(input).map_err(|e| invalid(format!("not a ZIP archive: {e}")))?;
    check_archive(&mut archive, limits)
}

pub(crate) fn check_archive<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    limits: &Limits,
) -> Result<ArchiveFacts> {
    if archive.has_duplicate_names() {
        return Err(invalid(
            "the archive names an entry more than once (which copy is the book's is anyone's guess)",
        ));
    }
    if archive.len() > limits.max_entries {
        return Err(invalid(format!(
            "the archive has {} entries, more than the {} allowed",
            archive.len(),
            limits.max_entries
        )));
    }
    let mut facts = ArchiveFacts::default();
    let mut total = 0u64;
    for index in 0..archive.len() {
        let entry = archive
            .by_index_raw(index)
            .map_err(|e| invalid(format!("unreadable entry {index}: {e}")))?;
        let name = std::str::from_utf8(entry.name_raw())
            .map_err(|_| invalid(format!("entry {index} has a name that is not UTF-8")))?
            .to_owned();
        epub::check_entry_name(&name)?;
        if entry.encrypted() {
            return Err(invalid(format!("{name} is password-protected")));
        }
        if entry.is_dir() {
            continue;
        }
        let size = entry.size();
        if size > limits.max_entry_bytes {
            return Err(invalid(format!(
                "{name} declares {size} bytes, more than the {} allowed for one resource",
                limits.max_entry_bytes
            )));
        }
        let stored = entry.compressed_size().max(1);
        if size > limits.ratio_floor_bytes && size / stored > limits.max_ratio {
            return Err(invalid(format!(
                "{name} would inflate {} times, from {stored} to {size} bytes: refused as a zip bomb",
                size / stored
            )));
        }
        total = total.saturating_add(size);
        if total > limits.max_total_bytes {
            return Err(invalid(format!(
                "the book unpacks to more than the {} bytes allowed",
                limits.max_total_bytes
            )));
        }
        facts.sizes.insert(name, size);
    }

    let mimetype = read_small(archive, "mimetype", 1024)?;
    if mimetype.trim_ascii() != b"application/epub+zip" {
        return Err(invalid("the mimetype entry is not application/epub+zip"));
    }
    refuse_protected(archive, &facts)?;

    let container_size = *facts
        .sizes
        .get(CONTAINER_PATH)
        .ok_or_else(|| invalid(format!("{CONTAINER_PATH} is missing")))?;
    if container_size > MAX_CONTAINER_BYTES {
        return Err(invalid(format!(
            "{CONTAINER_PATH} is implausibly large ({container_size} bytes)"
        )));
    }
    let container = read_small(archive, CONTAINER_PATH, MAX_CONTAINER_BYTES)?;
    let opf_path = epub::rootfile(&container)?;
    let opf_size = *facts
        .sizes
        .get(&opf_path)
        .ok_or_else(|| invalid(format!("the OPF {opf_path} is missing")))?;
    if opf_size > MAX_OPF_BYTES {
        return Err(invalid(format!(
            "the OPF {opf_path} is implausibly large ({opf_size} bytes; at most {MAX_OPF_BYTES})"
        )));
    }
    facts.opf_path = opf_path;
    Ok(facts)
}

/// A book that is protected already cannot be protected again: say by what.
fn refuse_protected<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    facts: &ArchiveFacts,
) -> Result<()> {
    let protected = |by: &str| Err(PackageError::AlreadyProtected(by.to_owned()));
    if facts.sizes.contains_key(MANIFEST_PATH) {
        return protected("it is a Jieyue package already; ingest the EPUB it was made from");
    }
    if facts.sizes.contains_key("META-INF/license.lcpl") {
        return protected("it is protected with Readium LCP");
    }
    if facts.sizes.contains_key("META-INF/rights.xml") {
        return protected("it is protected with Adobe ADEPT (META-INF/rights.xml)");
    }
    if facts.sizes.contains_key(ENCRYPTION_PATH) {
        let xml = read_small(archive, ENCRYPTION_PATH, MAX_ENCRYPTION_XML_BYTES)?;
        for entry in epub::encryption(&xml)? {
            if entry.algorithm != IDPF_OBFUSCATION && entry.algorithm != ADOBE_OBFUSCATION {
                let text = String::from_utf8_lossy(&xml);
                return if text.contains("readium.org/2014/01/lcp") {
                    protected("it is protected with Readium LCP")
                } else if text.contains("adobe.com/adept") {
                    protected("it is protected with Adobe ADEPT")
                } else {
                    Err(PackageError::AlreadyProtected(format!(
                        "{} is encrypted ({})",
                        entry.path, entry.algorithm
                    )))
                };
            }
        }
    }
    Ok(())
}

/// Reads the small entry `name` whole, refusing it past `limit` bytes.
pub(crate) fn read_small<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    name: &str,
    limit: u64,
) -> Result<Vec<u8>> {
    let entry = archive
        .by_name(name)
        .map_err(|_| invalid(format!("{name} is missing")))?;
    let mut bytes = Vec::new();
    entry
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| invalid(format!("{name} cannot be read: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(invalid(format!("{name} is implausibly large")));
    }
    Ok(bytes)
}

fn invalid(message: impl Into<String>) -> PackageError {
    PackageError::InvalidEpub(message.into())
}
