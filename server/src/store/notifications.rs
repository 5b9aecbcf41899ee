//! The notifications outbox: what readers are told, read by the app and delivered to a
//! webhook when one is configured.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::Result;
use super::entity::lending::notification;
use crate::domain::{Notification, NotificationKind, PatronId};

fn kind_of(raw: &str) -> NotificationKind {
    serde_json::from_value(serde_json::Value::String(raw.to_owned()))
        .unwrap_or(NotificationKind::Other)
}

/// Queues a notification for a reader (and for webhook delivery; the delivery job
/// skips it if no webhook is configured).
pub async fn notify(
    conn: &impl ConnectionTrait,
    patron: PatronId,
    kind: NotificationKind,
    payload: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<()> {
    notification::ActiveModel {
        id: Set(Uuid::now_v7()),
        patron_id: Set(patron.0),
        kind: Set(kind.as_str().to_owned()),
        payload: Set(payload),
        created_at: Set(now),
        delivery: Set("pending".to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(Some(now)),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// A notification claimed for webhook delivery.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The notification.
    pub notification: Notification,
    /// Its reader.
    pub patron_id: Uuid,
    /// Attempts before this one.
    pub attempts: u32,
}

/// Claims up to `limit` notifications due for delivery: each is leased until `lease`
/// by one conditional update, so several replicas never send the same one at once.
pub async fn claim_outgoing(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    lease: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Outgoing>> {
    let due = notification::Entity::find()
        .filter(notification::Column::Delivery.eq("pending"))
        .filter(notification::Column::NextAttemptAt.lte(now))
        .order_by_asc(notification::Column::Id)
        .limit(limit)
        .all(conn)
        .await?;
    let mut claimed = Vec::new();
    for m in due {
        let result = notification::Entity::update_many()
            .col_expr(notification::Column::NextAttemptAt, Expr::val(lease))
            .filter(notification::Column::Id.eq(m.id))
            .filter(notification::Column::Delivery.eq("pending"))
            .filter(notification::Column::NextAttemptAt.eq(m.next_attempt_at))
            .exec(conn)
            .await?;
        if result.rows_affected == 1 {
            claimed.push(Outgoing {
                attempts: u32::try_from(m.attempts).unwrap_or(0),
                patron_id: m.patron_id,
                notification: Notification {
                    id: m.id,
                    kind: kind_of(&m.kind),
                    payload: m.payload,
                    created_at: m.created_at,
                },
            });
        }
    }
    Ok(claimed)
}

/// Records a delivery outcome: `delivered`, or another attempt at `retry_at`, or
/// `failed` when `retry_at` is `None`.
pub async fn delivery_outcome(
    conn: &impl ConnectionTrait,
    id: Uuid,
    delivered: bool,
    retry_at: Option<DateTime<Utc>>,
) -> Result<()> {
    let state = match (delivered, retry_at) {
        (true, _) => "delivered",
        (false, Some(_)) => "pending",
        (false, None) => "failed",
    };
    notification::Entity::update_many()
        .col_expr(notification::Column::Delivery, Expr::val(state))
        .col_expr(
            notification::Column::Attempts,
            Expr::col(notification::Column::Attempts).add(1),
        )
        .col_expr(notification::Column::NextAttemptAt, Expr::val(retry_at))
        .filter(notification::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Marks pending notifications as not for delivery (no webhook is configured).
pub async fn skip_delivery(conn: &impl ConnectionTrait) -> Result<u64> {
    Ok(notification::Entity::update_many()
        .col_expr(notification::Column::Delivery, Expr::val("none"))
        .col_expr(
            notification::Column::NextAttemptAt,
            Expr::val(Option::<DateTime<Utc>>::None),
        )
        .filter(notification::Column::Delivery.eq("pending"))
        .exec(conn)
        .await?
        .rows_affected)
}

/// A reader's notifications after `after`, oldest first.
pub async fn notifications(
    conn: &impl ConnectionTrait,
    patron: PatronId,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Notification>> {
    let mut select =
        notification::Entity::find().filter(notification::Column::PatronId.eq(patron.0));
    if let Some(after) = after {
        select = select.filter(notification::Column::Id.gt(after));
    }
    Ok(select
        .order_by_asc(notification::Column::Id)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(|m| Notification {
            id: m.id,
            kind: kind_of(&m.kind),
            payload: m.payload,
            created_at: m.created_at,
        })
        .collect())
}

/// A reader's latest `limit` notifications, newest first (the shelf of the reader's
/// web app shows them).
pub async fn latest(
    conn: &impl ConnectionTrait,
    patron: PatronId,
    limit: u64,
) -> Result<Vec<Notification>> {
    Ok(notification::Entity::find()
        .filter(notification::Column::PatronId.eq(patron.0))
        .order_by_desc(notification::Column::Id)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(|m| Notification {
            id: m.id,
            kind: kind_of(&m.kind),
            payload: m.payload,
            created_at: m.created_at,
        })
        .collect())
}
