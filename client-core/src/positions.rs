//! Bookmarks, highlights and reading positions: kept locally, positions also synced to
//! the server so the reader picks up on another device where they left off.

use jieyue_protocol::api::SavePositionRequest;
use uuid::Uuid;

use crate::book::Locator;
use crate::client::{Client, Inner, parse_id};
use crate::error::{ClientError, Result};
use crate::store::Annotation;

impl Client {
    /// Saves where the reader is in a book (locally now; sent to the server by
    /// [`sync_position`](Self::sync_position) or [`sync`](Self::sync)).
    pub fn save_position(&self, publication_id: &str, locator: &Locator) -> Result<()> {
        let id = parse_id(publication_id, "book")?;
        self.inner
            .with_store(|s| s.put_position(&id.to_string(), &locator.to_json(), false))
    }

    /// The last position saved on this device.
    pub fn position(&self, publication_id: &str) -> Result<Option<Locator>> {
        let id = parse_id(publication_id, "book")?;
        match self.inner.with_store(|s| s.position(&id.to_string()))? {
            Some((json, _)) => Ok(Some(Locator::from_json(&json)?)),
            None => Ok(None),
        }
    }

    /// Sends this device's unsent position of the book, or else takes the one the
    /// reader saved on another device; returns the position now current.
    pub async fn sync_position(&self, publication_id: &str) -> Result<Option<Locator>> {
        let id = parse_id(publication_id, "book")?;
        let key = id.to_string();
        if let Some((json, false)) = self.inner.with_store(|s| s.position(&key))? {
            self.inner.send_position(id, &json).await?;
            return Ok(Some(Locator::from_json(&json)?));
        }
        let token = self.inner.session()?;
        match self.inner.api.position(&token, id).await {
            Ok(remote) => {
                let json = remote.locator.to_string();
                let locator = Locator::from_json(&json)?;
                self.inner
                    .with_store(|s| s.put_position(&key, &json, true))?;
                Ok(Some(locator))
            }
            Err(ClientError::NotFound { .. }) => self.position(publication_id),
            Err(e) => Err(e),
        }
    }

    /// Adds a bookmark at `locator`.
    pub fn add_bookmark(&self, publication_id: &str, locator: &Locator) -> Result<Annotation> {
        self.add_annotation(publication_id, "bookmark", locator, None, None)
    }

    /// Adds a highlight of the located text (`locator.text_highlight`).
    pub fn add_highlight(
        &self,
        publication_id: &str,
        locator: &Locator,
        color: Option<String>,
        note: Option<String>,
    ) -> Result<Annotation> {
        self.add_annotation(publication_id, "highlight", locator, color, note)
    }

    fn add_annotation(
        &self,
        publication_id: &str,
        kind: &str,
        locator: &Locator,
        color: Option<String>,
        note: Option<String>,
    ) -> Result<Annotation> {
        let id = parse_id(publication_id, "book")?;
        let annotation = Annotation {
            id: Uuid::now_v7().to_string(),
            publication_id: id.to_string(),
            kind: kind.to_owned(),
            locator_json: locator.to_json(),
            note,
            color,
            created_at: std::time::SystemTime::now(),
        };
        self.inner.with_store(|s| s.add_annotation(&annotation))?;
        Ok(annotation)
    }

    /// The book's bookmarks and highlights, oldest first.
    pub fn annotations(&self, publication_id: &str) -> Result<Vec<Annotation>> {
        let id = parse_id(publication_id, "book")?;
        self.inner.with_store(|s| s.annotations(&id.to_string()))
    }

    /// Deletes a bookmark or highlight; `false` if there was none.
    pub fn delete_annotation(&self, annotation_id: &str) -> Result<bool> {
        self.inner
            .with_store(|s| s.delete_annotation(annotation_id))
    }
}

impl Inner {
    async fn send_position(&self, id: Uuid, json: &str) -> Result<()> {
        let token = self.session()?;
        let locator: serde_json::Value = serde_json::from_str(json).map_err(ClientError::other)?;
        let device_id = self.device().ok().map(|(id, _)| id);
        self.api
            .save_position(&token, id, &SavePositionRequest { locator, device_id })
            .await?;
        self.with_store(|s| s.put_position(&id.to_string(), json, true))
    }

    /// Sends every unsent position (when logged in). Returns how many went.
    pub(crate) async fn send_positions(&self) -> Result<u32> {
        if self.session().is_err() {
            return Ok(0);
        }
        let mut sent = 0;
        for (publication, json) in self.with_store(|s| s.unsynced_positions())? {
            let Ok(id) = publication.parse() else {
                continue;
            };
            self.send_position(id, &json).await?;
            sent += 1;
        }
        Ok(sent)
    }
}
