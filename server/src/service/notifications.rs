//! What readers are told: the notifications outbox as the app reads it.

use uuid::Uuid;

use super::{Ctx, Result};
use crate::domain::{Notification, Patron};
use crate::store::notifications;

/// Most notifications one page returns.
pub const PAGE_LIMIT: u64 = 200;

/// A reader's notifications after `after` (a previous page's cursor), oldest first.
pub async fn for_reader(
    ctx: &Ctx,
    patron: &Patron,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Notification>> {
    Ok(notifications::notifications(
        ctx.db.reader(),
        patron.id,
        after,
        limit.clamp(1, PAGE_LIMIT),
    )
    .await?)
}

/// A reader's latest `limit` notifications (at most [`PAGE_LIMIT`]), newest first.
pub async fn latest_for_reader(
    ctx: &Ctx,
    patron: &Patron,
    limit: u64,
) -> Result<Vec<Notification>> {
    Ok(notifications::latest(ctx.db.reader(), patron.id, limit.clamp(1, PAGE_LIMIT)).await?)
}
