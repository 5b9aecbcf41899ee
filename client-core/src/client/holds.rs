//! Holds (the queue for a title with no copy free) and the reader's notifications.

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use jieyue_protocol::api::{PlaceHoldRequest, SuspendHoldRequest};

use super::{Client, parse_id};
use crate::error::Result;
use crate::model::{Hold, NotificationPage};

impl Client {
    /// The reader's holds.
    pub async fn holds(&self) -> Result<Vec<Hold>> {
        let token = self.inner.session()?;
        let holds = self.inner.api.my_holds(&token).await?;
        Ok(holds.into_iter().map(Hold::from).collect())
    }

    /// Places a hold; with `auto_borrow` the loan starts by itself when a copy is ready.
    pub async fn place_hold(&self, title_id: &str, auto_borrow: bool) -> Result<Hold> {
        let id = parse_id(title_id, "title")?;
        let token = self.inner.session()?;
        let hold = self
            .inner
            .api
            .place_hold(
                &token,
                &PlaceHoldRequest {
                    title_id: id,
                    auto_borrow,
                },
            )
            .await?;
        Ok(hold.into())
    }

    /// Cancels a hold.
    pub async fn cancel_hold(&self, hold_id: &str) -> Result<()> {
        let id = parse_id(hold_id, "hold")?;
        let token = self.inner.session()?;
        self.inner.api.cancel_hold(&token, id).await
    }

    /// Suspends a hold until `until` (it keeps its place), or resumes it with `None`.
    pub async fn suspend_hold(&self, hold_id: &str, until: Option<SystemTime>) -> Result<Hold> {
        let id = parse_id(hold_id, "hold")?;
        let token = self.inner.session()?;
        let until = until.map(DateTime::<Utc>::from);
        let hold = self
            .inner
            .api
            .suspend_hold(&token, id, &SuspendHoldRequest { until })
            .await?;
        Ok(hold.into())
    }

    /// The reader's notifications after the cursor `after`.
    pub async fn notifications(&self, after: Option<String>) -> Result<NotificationPage> {
        let token = self.inner.session()?;
        Ok(self.inner.api.notifications(&token, after).await?.into())
    }
}
