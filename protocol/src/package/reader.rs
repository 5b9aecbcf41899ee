//! Random-access reading of an encrypted package.

use std::collections::HashMap;
use std::io::{Read, Seek, Write};
use std::sync::Arc;

use ring::aead::LessSafeKey;
use subtle::ConstantTimeEq;
use zip::ZipArchive;

use super::cursor::{ResourceCursor, ResourceLocation};
use super::manifest::{Compression, EncryptedResource, MANIFEST_PATH, Manifest};
use super::{PackageError, Result};
use super::{resource, stream};
use crate::crypto::{ContentKey, aead};

/// Largest clear entry returned whole (the OPF and navigation documents are far smaller).
const MAX_CLEAR_ENTRY: u64 = 64 << 20;

/// Reads resources of an encrypted package, decrypting on demand with bounded memory.
pub struct PackageReader<R: Read + Seek> {
    archive: ZipArchive<R>,
    manifest: Manifest,
    index: HashMap<String, usize>,
    key: Arc<LessSafeKey>,
}

impl<R: Read + Seek> std::fmt::Debug for PackageReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackageReader")
            .field("resources", &self.manifest.resources.len())
            .finish_non_exhaustive()
    }
}

impl<R: Read + Seek> PackageReader<R> {
    /// Opens a package. Fails with [`PackageError::WrongKey`] if `content_key` is not
    /// its key, [`PackageError::Corrupt`] if the manifest is unreadable.
    pub fn open(reader: R, content_key: &ContentKey) -> Result<Self> {
        let mut archive = ZipArchive::new(reader)
            .map_err(|e| PackageError::Corrupt(format!("not a ZIP archive: {e}")))?;
        let mut bytes = Vec::new();
        archive
            .by_name(MANIFEST_PATH)
            .map_err(|_| PackageError::Corrupt("no encryption manifest".into()))?
            .take(MAX_CLEAR_ENTRY)
            .read_to_end(&mut bytes)?;
        let manifest = Manifest::parse(&bytes)?;
        let key = aead::key(content_key.expose_secret()).map_err(|_| PackageError::WrongKey)?;
        let check = stream::key_check(&key)?;
        if !bool::from(check.ct_eq(&manifest.key_check)) {
            return Err(PackageError::WrongKey);
        }
        let index = manifest
            .resources
            .iter()
            .enumerate()
            .map(|(i, r)| (r.path.clone(), i))
            .collect();
        Ok(Self {
            archive,
            manifest,
            index,
            key: Arc::new(key),
        })
    }

    /// The encryption manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Every file in the package (clear and encrypted).
    pub fn paths(&self) -> Vec<String> {
        self.archive
            .file_names()
            .filter_map(|name| name.ok())
            .filter(|name| !name.ends_with('/'))
            .map(|name| name.into_owned())
            .collect()
    }

    /// Whether `path` is encrypted.
    pub fn is_encrypted(&self, path: &str) -> bool {
        self.index.contains_key(path)
    }

    /// The length of the resource at `path` once decrypted.
    pub fn length(&mut self, path: &str) -> Result<u64> {
        match self.resource(path) {
            Some(resource) => Ok(resource.original_length),
            None => Ok(self.clear_entry_size(path)?),
        }
    }

    /// The whole resource at `path`, decrypted.
    pub fn read(&mut self, path: &str) -> Result<Vec<u8>> {
        let length = self.length(path)?;
        self.read_range(path, 0, length)
    }

    /// Bytes `start..end` of the resource at `path`, decrypted. For an uncompressed
    /// resource only the chunks covering the range are read, straight into the vector
    /// returned.
    pub fn read_range(&mut self, path: &str, start: u64, end: u64) -> Result<Vec<u8>> {
        let Some(resource) = self.resource(path) else {
            let mut out = Vec::with_capacity(
                usize::try_from(end.saturating_sub(start).min(MAX_CLEAR_ENTRY)).unwrap_or(0),
            );
            self.copy_range_to(path, start, end, &mut out)?;
            return Ok(out);
        };
        let (key, mut entry) = self.encrypted_entry(path)?;
        resource::decrypt_to_vec(key, &resource, &mut entry, start, end)
    }

    /// Streams the whole decrypted resource to `out` (bounded memory, any size).
    pub fn copy_to(&mut self, path: &str, out: &mut dyn Write) -> Result<u64> {
        let length = self.length(path)?;
        self.copy_range_to(path, 0, length, out)?;
        Ok(length)
    }

    /// Where the stored (uncompressed) resource at `path` lies in the package file, for
    /// a [`ResourceCursor`] over another handle of the same file.
    pub fn locate(&mut self, path: &str) -> Result<ResourceLocation> {
        let resource = self
            .resource(path)
            .ok_or_else(|| PackageError::NotFound(path.to_owned()))?;
        if resource.compression != Compression::None {
            return Err(PackageError::Corrupt(format!(
                "{path} is compressed: it can only be read whole"
            )));
        }
        let entry = self
            .archive
            .by_name_raw(path.as_bytes())
            .map_err(|e| PackageError::Corrupt(format!("{path}: {e}")))?;
        if entry.compression() != zip::CompressionMethod::Stored
            || entry.compressed_size() != resource.encrypted_length
        {
            return Err(PackageError::Corrupt(format!(
                "{path}: the stored entry does not match the manifest"
            )));
        }
        let data_start = entry
            .data_start()
            .ok_or_else(|| PackageError::Corrupt(format!("{path}: no data offset")))?;
        Ok(ResourceLocation {
            resource,
            data_start,
        })
    }

    /// A random-access reader of the stored resource at `location`, reading the package
    /// through `source` (another handle of the same file).
    pub fn cursor<S: Read + Seek>(
        &self,
        source: S,
        location: ResourceLocation,
    ) -> Result<ResourceCursor<S>> {
        ResourceCursor::new(source, Arc::clone(&self.key), location)
    }

    /// Gives back the underlying reader.
    pub fn into_inner(self) -> R {
        self.archive.into_inner()
    }

    fn resource(&self, path: &str) -> Option<EncryptedResource> {
        self.index
            .get(path)
            .map(|i| self.manifest.resources[*i].clone())
    }

    fn clear_entry_size(&mut self, path: &str) -> Result<u64> {
        match self.archive.by_name(path) {
            Ok(entry) if entry.is_file() => Ok(entry.size()),
            _ => Err(PackageError::NotFound(path.to_owned())),
        }
    }

    fn copy_range_to(
        &mut self,
        path: &str,
        start: u64,
        end: u64,
        out: &mut dyn Write,
    ) -> Result<()> {
        let length = self.length(path)?;
        if start > end || end > length {
            return Err(PackageError::Range { start, end, length });
        }
        let Some(resource) = self.resource(path) else {
            let mut entry = self
                .archive
                .by_name(path)
                .map_err(|_| PackageError::NotFound(path.to_owned()))?;
            return resource::copy_plain_range(&mut entry, start, end, out);
        };
        let (key, mut entry) = self.encrypted_entry(path)?;
        resource::decrypt_with(key, &resource, &mut entry, start, end, out)
    }

    /// The key and the stored chunk stream of an encrypted resource.
    fn encrypted_entry(
        &mut self,
        path: &str,
    ) -> Result<(&LessSafeKey, zip::read::ZipFileSeek<'_, R>)> {
        let entry = self
            .archive
            .by_name_seek(path)
            .map_err(|e| PackageError::Corrupt(format!("{path}: {e}")))?;
        Ok((&*self.key, entry))
    }
}
