//! Object storage for packages, covers and thumbnails: a local directory by default,
//! any S3-compatible store by configuration (built with the `s3` feature). Objects are
//! the same for every reader, so a CDN or a shipped disk can carry them.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use tokio::io::AsyncReadExt;

/// Why storage failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// No such object.
    #[error("object {0} not found")]
    NotFound(String),
    /// The storage URL is not usable.
    #[error("storage configuration: {0}")]
    Config(String),
    /// Anything the store reported.
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    /// Reading a local file failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// A stored object's bytes (or a range of them), streamed.
pub struct BlobStream {
    /// Size of the whole object.
    pub size: u64,
    /// The bytes served.
    pub range: Range<u64>,
    /// The stream of those bytes.
    pub body: BoxStream<'static, Result<Bytes, object_store::Error>>,
}

/// An object being written (see [`Blobs::writer`]).
pub struct BlobWriter(WriteMultipart);

impl std::fmt::Debug for BlobWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlobWriter")
    }
}

impl BlobWriter {
    /// Appends `bytes` (waits while too many parts are in flight).
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), BlobError> {
        // One part in flight beside the one filling: memory stays near two parts.
        self.0.wait_for_capacity(1).await?;
        self.0.write(bytes);
        Ok(())
    }

    /// Completes the object.
    pub async fn finish(self) -> Result<(), BlobError> {
        self.0.finish().await?;
        Ok(())
    }

    /// Abandons the object (nothing appears under its key).
    pub async fn abort(self) -> Result<(), BlobError> {
        self.0.abort().await?;
        Ok(())
    }
}

/// The object store.
#[derive(Clone, Debug)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    /// The directory of a local store (its staging files are swept by hand).
    local_root: Option<std::path::PathBuf>,
}

/// Bytes per read when streaming from a local store.
const LOCAL_READ_CHUNK: usize = 512 * 1024;

/// Part size for streaming uploads.
const PART: usize = 8 * 1024 * 1024;

impl Blobs {
    /// A store in a local directory (created if missing).
    pub fn local(dir: &Path) -> Result<Self, BlobError> {
        std::fs::create_dir_all(dir)?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir)?;
        // A local file streams in 8 KiB reads by default, each a hop to a blocking
        // thread: half a megabyte at a time moves packages and bundles several times
        // faster for the same memory per stream.
        let store = object_store::chunked::ChunkedStore::new(Arc::new(store), LOCAL_READ_CHUNK);
        Ok(Self {
            store: Arc::new(store),
            local_root: Some(dir.to_path_buf()),
        })
    }

    /// A store from a URL: `file:///path`, or `s3://bucket/prefix` (with the `s3`
    /// feature; endpoint, region, credentials and addressing style from the usual
    /// `AWS_*` variables, see `docs/configuration.md`).
    pub fn from_url(url: &str) -> Result<Self, BlobError> {
        if let Some(path) = url.strip_prefix("file://") {
            return Self::local(Path::new(path));
        }
        #[cfg(feature = "s3")]
        if url.starts_with("s3://") {
            // object_store's HTTP client has rustls without a provider of its own.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let store = object_store::aws::AmazonS3Builder::from_env()
                .with_url(url)
                .build()?;
            // The builder keeps only the bucket of `s3://bucket/prefix`: the prefix is ours.
            let prefix = url
                .strip_prefix("s3://")
                .and_then(|rest| rest.split_once('/'))
                .map(|(_, prefix)| prefix.trim_matches('/'))
                .unwrap_or_default();
            let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
                Arc::new(store)
            } else {
                Arc::new(object_store::prefix::PrefixStore::new(store, prefix))
            };
            return Ok(Self {
                store,
                local_root: None,
            });
        }
        Err(BlobError::Config(format!(
            "unsupported storage URL {url:?} (file:// always; s3:// when built with the `s3` feature)"
        )))
    }

    fn path(key: &str) -> Result<ObjectPath, BlobError> {
        ObjectPath::parse(key)
            .map_err(|e| BlobError::Config(format!("bad object key {key:?}: {e}")))
    }

    /// A streaming writer for `key`: the object appears only when [`BlobWriter::finish`]
    /// succeeds (a local store renames its staging file; S3 completes the upload).
    pub async fn writer(&self, key: &str) -> Result<BlobWriter, BlobError> {
        let upload = self.store.put_multipart(&Self::path(key)?).await?;
        Ok(BlobWriter(WriteMultipart::new_with_chunk_size(
            upload, PART,
        )))
    }

    /// The directory of a local store (to check its free space), if local.
    pub fn local_root(&self) -> Option<&Path> {
        self.local_root.as_deref()
    }

    /// Stores the file at `file` as `key`, streaming it in parts.
    pub async fn put_file(&self, key: &str, file: &Path) -> Result<(), BlobError> {
        let upload = self.store.put_multipart(&Self::path(key)?).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
        let mut source = tokio::fs::File::open(file).await?;
        let mut buffer = vec![0u8; 1024 * 1024];
        loop {
            let n = source.read(&mut buffer).await?;
            if n == 0 {
                break;
            }
            writer.wait_for_capacity(4).await?;
            writer.write(&buffer[..n]);
        }
        writer.finish().await?;
        Ok(())
    }

    /// Stores `bytes` as `key`.
    pub async fn put_bytes(&self, key: &str, bytes: Vec<u8>) -> Result<(), BlobError> {
        self.store
            .put(&Self::path(key)?, PutPayload::from(bytes))
            .await?;
        Ok(())
    }

    /// Reads all of `key` (for small objects: covers, thumbnails).
    pub async fn get_bytes(&self, key: &str) -> Result<Bytes, BlobError> {
        let result = self
            .store
            .get(&Self::path(key)?)
            .await
            .map_err(|e| not_found(key, e))?;
        Ok(result.bytes().await?)
    }

    /// Streams `key`, or bytes `range` of it.
    pub async fn get_stream(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<BlobStream, BlobError> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = self
            .store
            .get_opts(&Self::path(key)?, options)
            .await
            .map_err(|e| not_found(key, e))?;
        Ok(BlobStream {
            size: result.meta.size,
            range: result.range.clone(),
            body: result.into_stream().boxed(),
        })
    }

    /// Size of `key`.
    pub async fn size(&self, key: &str) -> Result<u64, BlobError> {
        Ok(self
            .store
            .head(&Self::path(key)?)
            .await
            .map_err(|e| not_found(key, e))?
            .size)
    }

    /// Deletes `key` (missing is fine).
    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match self.store.delete(&Self::path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Every object under `prefix`, with its last-modified time.
    pub async fn list(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, chrono::DateTime<chrono::Utc>)>, BlobError> {
        let prefix = Self::path(prefix)?;
        let mut stream = self.store.list(Some(&prefix));
        let mut out = Vec::new();
        while let Some(meta) = stream.next().await {
            let meta = meta?;
            out.push((meta.location.to_string(), meta.last_modified));
        }
        Ok(out)
    }
}

impl Blobs {
    /// Deletes the staging files of multipart uploads that never finished (a local
    /// store writes `key#n` beside the object and renames it when the upload ends; a
    /// crash leaves it behind, invisible to [`Blobs::list`]) not modified since
    /// `cutoff`. Returns how many it deleted. An S3 bucket keeps unfinished uploads as
    /// parts: give it a lifecycle rule that aborts incomplete multipart uploads.
    pub fn sweep_staging(&self, cutoff: std::time::SystemTime) -> usize {
        fn walk(dir: &Path, cutoff: std::time::SystemTime, removed: &mut usize) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let Ok(meta) = entry.metadata() else { continue };
                if meta.is_dir() {
                    walk(&path, cutoff, removed);
                    continue;
                }
                let staging = entry.file_name().to_string_lossy().contains('#');
                let stale = meta.modified().is_ok_and(|modified| modified < cutoff);
                if staging && stale && std::fs::remove_file(&path).is_ok() {
                    *removed += 1;
                }
            }
        }
        let mut removed = 0;
        if let Some(root) = &self.local_root {
            walk(root, cutoff, &mut removed);
        }
        removed
    }
}

fn not_found(key: &str, err: object_store::Error) -> BlobError {
    match err {
        object_store::Error::NotFound { .. } => BlobError::NotFound(key.to_owned()),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn files_round_trip_with_ranges() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blobs = Blobs::local(&dir.path().join("objects")).expect("store");
        let file = dir.path().join("f.bin");
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&file, &data).expect("write");
        blobs
            .put_file("packages/t/v1.epub", &file)
            .await
            .expect("put");
        assert_eq!(
            blobs.size("packages/t/v1.epub").await.expect("size"),
            data.len() as u64
        );

        let mut stream = blobs
            .get_stream("packages/t/v1.epub", Some(1000..1100))
            .await
            .expect("get");
        let mut got = Vec::new();
        while let Some(chunk) = stream.body.next().await {
            got.extend_from_slice(&chunk.expect("chunk"));
        }
        assert_eq!(got, data[1000..1100]);
        assert_eq!(stream.size, data.len() as u64);

        assert_eq!(blobs.list("packages").await.expect("list").len(), 1);
        blobs.delete("packages/t/v1.epub").await.expect("delete");
        blobs
            .delete("packages/t/v1.epub")
            .await
            .expect("delete twice is fine");
        assert!(matches!(
            blobs.get_bytes("packages/t/v1.epub").await,
            Err(BlobError::NotFound(_))
        ));
        assert!(Blobs::from_url("ftp://x").is_err());
    }
}
