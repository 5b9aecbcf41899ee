//! Downloading a book's encrypted package: progress, pause and resume by HTTP `Range`,
//! a SHA-256 check against the licence, and atomic placement (a package is only ever
//! at its final path complete and checked).

use std::io::{Read, Write};
use std::sync::Arc;

use futures_util::StreamExt;
use jieyue_protocol::licence;
use reqwest::{StatusCode, header};
use ring::digest;
use uuid::Uuid;

use crate::client::{Client, parse_id};
use crate::error::{ClientError, Result};
use crate::model::DownloadOutcome;

/// Hears how a download is going. Called from the download's task; keep it quick.
#[cfg_attr(feature = "uniffi", uniffi::export(foreign))]
pub trait DownloadListener: Send + Sync {
    /// `received` of `total` bytes are on the device (`total` is `None` while unknown).
    fn on_progress(&self, received: u64, total: Option<u64>);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of what is already in the partial file.
fn hash_existing(path: &std::path::Path) -> Result<(digest::Context, u64)> {
    let mut context = digest::Context::new(&digest::SHA256);
    let mut file = std::fs::File::open(path)?;
    let mut buffer = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        context.update(&buffer[..n]);
        total += n as u64;
    }
    Ok((context, total))
}

impl Client {
    /// Downloads the package of a book this device holds a licence for, resuming a
    /// paused or interrupted download. `listener` hears the progress.
    pub async fn download(
        &self,
        publication_id: &str,
        listener: Arc<dyn DownloadListener>,
    ) -> Result<DownloadOutcome> {
        let publication = parse_id(publication_id, "book")?;
        let integrity = self.inner.integrity()?;
        let stored = self
            .inner
            .stored_licence(&integrity, publication)?
            .ok_or_else(|| ClientError::not_found("borrow the book before downloading it"))?;
        let licence = licence::verify(&stored.token, &self.inner.keys)?;
        let expected = licence.terms.package_sha256.clone();
        let final_path = self.inner.package_path(publication);
        if final_path.exists() {
            let size = std::fs::metadata(&final_path)?.len();
            listener.on_progress(size, Some(size));
            return Ok(DownloadOutcome::Complete { bytes: size });
        }
        let part = final_path.with_extension("part");
        self.inner
            .paused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&publication);

        let (mut context, mut received) = if part.exists() {
            hash_existing(&part)?
        } else {
            (digest::Context::new(&digest::SHA256), 0)
        };
        let mut request = self.inner.api.package(&licence.terms.links.package)?;
        if received > 0 {
            request = request.header(header::RANGE, format!("bytes={received}-"));
            if let Some(sha) = &expected {
                request = request.header(header::IF_RANGE, format!("\"{sha}\""));
            }
        }
        let response = request.send().await?;
        let response = match response.status() {
            StatusCode::OK | StatusCode::PARTIAL_CONTENT => Some(response),
            // The part file already holds the whole package.
            StatusCode::RANGE_NOT_SATISFIABLE if received > 0 => None,
            _ => return Err(crate::http::error_of(response).await),
        };
        if let Some(response) = response {
            let resumed = response.status() == StatusCode::PARTIAL_CONTENT;
            if !resumed {
                // A full answer: start again.
                context = digest::Context::new(&digest::SHA256);
                received = 0;
            } else {
                let start = response
                    .headers()
                    .get(header::CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("bytes "))
                    .and_then(|v| v.split('-').next())
                    .and_then(|v| v.parse::<u64>().ok());
                if start != Some(received) {
                    return Err(ClientError::network(
                        "the server resumed the download at the wrong place",
                    ));
                }
            }
            let total = response.content_length().map(|l| l + received);
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .append(resumed)
                .truncate(!resumed)
                .open(&part)?;
            listener.on_progress(received, total);
            let mut body = response.bytes_stream();
            while let Some(chunk) = body.next().await {
                let chunk = chunk?;
                file.write_all(&chunk)?;
                context.update(&chunk);
                received += chunk.len() as u64;
                listener.on_progress(received, total);
                let paused = self
                    .inner
                    .paused
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .remove(&publication);
                if paused {
                    file.flush()?;
                    return Ok(DownloadOutcome::Paused { received, total });
                }
            }
            file.sync_all()?;
        }
        let actual = hex(context.finish().as_ref());
        if let Some(expected) = expected
            && !expected.eq_ignore_ascii_case(&actual)
        {
            std::fs::remove_file(&part)?;
            return Err(ClientError::corrupt(
                "the downloaded package does not match the library's copy; download it again",
            ));
        }
        std::fs::rename(&part, &final_path)?;
        tracing::info!(%publication, bytes = received, "package downloaded and checked");
        Ok(DownloadOutcome::Complete { bytes: received })
    }

    /// Asks a running download of `publication_id` to stop; it returns `Paused`.
    pub fn pause_download(&self, publication_id: &str) -> Result<()> {
        let publication: Uuid = parse_id(publication_id, "book")?;
        self.inner
            .paused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(publication);
        Ok(())
    }

    /// Deletes a downloaded package (the licence stays; download again to read).
    pub fn delete_download(&self, publication_id: &str) -> Result<()> {
        self.inner.remove_package(parse_id(publication_id, "book")?)
    }
}
