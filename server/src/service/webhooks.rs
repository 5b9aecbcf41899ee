//! Delivering reader notifications to a configured webhook, with retries.
//!
//! Each notification is POSTed once it is due; a 2xx answer marks it delivered,
//! anything else (or no answer within 10 s) schedules another attempt with exponential
//! back-off (30 s, 1 min, 2 min, ... at most 6 h); after 10 attempts it is marked
//! failed. Claims are leases taken by conditional updates, so replicas do not send the
//! same notification twice at once.

use std::time::Duration as StdDuration;

use chrono::Duration;
use serde_json::json;

use super::{Ctx, Error, Result};
use crate::store::notifications;

/// Attempts before a notification is given up.
pub const MAX_ATTEMPTS: u32 = 10;

/// A webhook endpoint.
#[derive(Debug, Clone)]
pub struct Webhook {
    url: String,
    client: reqwest::Client,
}

impl Webhook {
    /// A webhook for `url` (`http://` only: TLS is not built in).
    pub fn new(url: &str) -> Result<Self> {
        if !url.starts_with("http://") {
            return Err(Error::internal("notification_webhook_url")(format!(
                "must be an http:// URL (put a TLS relay in front): {url}"
            )));
        }
        // When built together with the client core, reqwest carries rustls without a
        // crypto provider and refuses to build a client until one is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(StdDuration::from_secs(10))
            .build()
            .map_err(Error::internal("webhook client"))?;
        Ok(Self {
            url: url.to_owned(),
            client,
        })
    }
}

/// The delay before attempt `attempts + 1`.
pub fn backoff(attempts: u32) -> Duration {
    let seconds = 30_i64.saturating_mul(1_i64 << attempts.min(20));
    Duration::seconds(seconds.min(6 * 3600))
}

/// Sends what is due. Without a webhook, marks pending notifications as not for
/// delivery. Returns how many were delivered.
pub async fn deliver_due(ctx: &Ctx) -> Result<usize> {
    let Some(webhook) = &ctx.webhook else {
        let txn = ctx.db.begin_write().await?;
        notifications::skip_delivery(&txn).await?;
        txn.commit().await?;
        return Ok(0);
    };
    let now = ctx.clock.now();
    let txn = ctx.db.begin_write().await?;
    let claimed = notifications::claim_outgoing(&txn, now, now + Duration::minutes(5), 50).await?;
    txn.commit().await?;
    let mut delivered = 0;
    for item in claimed {
        let n = &item.notification;
        let body = json!({
            "id": n.id,
            "patron_id": item.patron_id,
            "kind": n.kind,
            "created_at": n.created_at,
            "payload": n.payload,
        });
        let ok = match webhook
            .client
            .post(&webhook.url)
            .header("x-jieyue-event", n.kind.as_str())
            .json(&body)
            .send()
            .await
        {
            Ok(response) => response.status().is_success(),
            Err(err) => {
                tracing::info!(notification = %n.id, error = %err, "webhook delivery failed");
                false
            }
        };
        let retry_at = (!ok && item.attempts + 1 < MAX_ATTEMPTS)
            .then(|| ctx.clock.now() + backoff(item.attempts));
        let txn = ctx.db.begin_write().await?;
        notifications::delivery_outcome(&txn, n.id, ok, retry_at).await?;
        txn.commit().await?;
        if ok {
            delivered += 1;
        }
    }
    Ok(delivered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_and_is_capped() {
        assert_eq!(backoff(0), Duration::seconds(30));
        assert_eq!(backoff(1), Duration::seconds(60));
        assert_eq!(backoff(5), Duration::seconds(960));
        assert_eq!(backoff(30), Duration::hours(6));
        assert!(Webhook::new("https://example.invalid/hook").is_err());
        assert!(Webhook::new("http://127.0.0.1:9/hook").is_ok());
    }
}
