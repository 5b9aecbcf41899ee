//! Holds and notifications.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::Result;
use super::entity::lending::{hold, notification};
use crate::domain::{LibraryId, PatronId, TitleId};

/// A hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// Id.
    pub id: Uuid,
    /// The reader.
    pub patron_id: PatronId,
    /// The title.
    pub title_id: TitleId,
    /// The reader's library (which lots may serve it).
    pub library_id: LibraryId,
    /// Queue order.
    pub placed_at: DateTime<Utc>,
    /// `waiting`, `ready`, `fulfilled`, `expired` or `cancelled`.
    pub state: String,
    /// Skipped (but keeps its place) until then.
    pub suspended_until: Option<DateTime<Utc>>,
    /// Borrow automatically when a copy is ready.
    pub auto_borrow: bool,
    /// The lot whose copy is reserved, once ready.
    pub lot_id: Option<Uuid>,
    /// When it became ready.
    pub ready_at: Option<DateTime<Utc>>,
    /// Until when the reserved copy waits.
    pub pickup_deadline: Option<DateTime<Utc>>,
}

fn hold_of(m: hold::Model) -> Hold {
    Hold {
        id: m.id,
        patron_id: PatronId(m.patron_id),
        title_id: TitleId(m.title_id),
        library_id: LibraryId(m.library_id),
        placed_at: m.placed_at,
        state: m.state,
        suspended_until: m.suspended_until,
        auto_borrow: m.auto_borrow,
        lot_id: m.lot_id,
        ready_at: m.ready_at,
        pickup_deadline: m.pickup_deadline,
    }
}

/// Stores a new waiting hold. A second open hold on a title is a
/// [`StoreError::Duplicate`](super::StoreError).
pub async fn insert(conn: &impl ConnectionTrait, h: &Hold, now: DateTime<Utc>) -> Result<()> {
    hold::ActiveModel {
        id: Set(h.id),
        patron_id: Set(h.patron_id.0),
        title_id: Set(h.title_id.0),
        library_id: Set(h.library_id.0),
        placed_at: Set(h.placed_at),
        state: Set(h.state.clone()),
        suspended_until: Set(h.suspended_until),
        auto_borrow: Set(h.auto_borrow),
        lot_id: Set(h.lot_id),
        ready_at: Set(h.ready_at),
        pickup_deadline: Set(h.pickup_deadline),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// One hold.
pub async fn get(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<Hold>> {
    Ok(hold::Entity::find_by_id(id).one(conn).await?.map(hold_of))
}

/// A reader's open (waiting or ready) holds, oldest first.
pub async fn open_of(conn: &impl ConnectionTrait, patron: PatronId) -> Result<Vec<Hold>> {
    Ok(hold::Entity::find()
        .filter(hold::Column::PatronId.eq(patron.0))
        .filter(hold::Column::State.is_in(["waiting", "ready"]))
        .order_by_asc(hold::Column::PlacedAt)
        .all(conn)
        .await?
        .into_iter()
        .map(hold_of)
        .collect())
}

/// The reader's ready hold on a title, if any.
pub async fn ready_for(
    conn: &impl ConnectionTrait,
    patron: PatronId,
    title: TitleId,
) -> Result<Option<Hold>> {
    Ok(hold::Entity::find()
        .filter(hold::Column::PatronId.eq(patron.0))
        .filter(hold::Column::TitleId.eq(title.0))
        .filter(hold::Column::State.eq("ready"))
        .one(conn)
        .await?
        .map(hold_of))
}

/// Waiting holds on a title in queue order (suspended ones included).
pub async fn waiting_queue(conn: &impl ConnectionTrait, title: TitleId) -> Result<Vec<Hold>> {
    Ok(hold::Entity::find()
        .filter(hold::Column::TitleId.eq(title.0))
        .filter(hold::Column::State.eq("waiting"))
        .order_by_asc(hold::Column::PlacedAt)
        .order_by_asc(hold::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(hold_of)
        .collect())
}

/// Open (waiting or ready) holds on a title.
pub async fn open_count(conn: &impl ConnectionTrait, title: TitleId) -> Result<u64> {
    Ok(hold::Entity::find()
        .filter(hold::Column::TitleId.eq(title.0))
        .filter(hold::Column::State.is_in(["waiting", "ready"]))
        .count(conn)
        .await?)
}

/// Holds in the queue for a title that are not suspended at `now`.
pub async fn active_waiting_count(
    conn: &impl ConnectionTrait,
    title: TitleId,
    now: DateTime<Utc>,
) -> Result<u64> {
    Ok(hold::Entity::find()
        .filter(hold::Column::TitleId.eq(title.0))
        .filter(hold::Column::State.eq("waiting"))
        .filter(
            Condition::any()
                .add(hold::Column::SuspendedUntil.is_null())
                .add(hold::Column::SuspendedUntil.lte(now)),
        )
        .count(conn)
        .await?)
}

/// Moves a hold from one of `from` to `to` (and sets the reservation fields when
/// given). `false` if it was not in one of `from` (someone else moved it first).
pub async fn transition(
    conn: &impl ConnectionTrait,
    id: Uuid,
    from: &[&str],
    to: &str,
    reservation: Option<(Uuid, DateTime<Utc>)>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let mut update = hold::Entity::update_many()
        .col_expr(hold::Column::State, Expr::val(to))
        .col_expr(hold::Column::UpdatedAt, Expr::val(now));
    if let Some((lot, deadline)) = reservation {
        update = update
            .col_expr(hold::Column::LotId, Expr::val(lot))
            .col_expr(hold::Column::ReadyAt, Expr::val(now))
            .col_expr(hold::Column::PickupDeadline, Expr::val(deadline));
    }
    let result = update
        .filter(hold::Column::Id.eq(id))
        .filter(hold::Column::State.is_in(from.iter().copied()))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Suspends a hold until `until` (`None` resumes it).
pub async fn set_suspended(
    conn: &impl ConnectionTrait,
    id: Uuid,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<()> {
    hold::Entity::update_many()
        .col_expr(hold::Column::SuspendedUntil, Expr::val(until))
        .col_expr(hold::Column::UpdatedAt, Expr::val(now))
        .filter(hold::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Ready holds whose pickup deadline has passed.
pub async fn lapsed(conn: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<Vec<Hold>> {
    Ok(hold::Entity::find()
        .filter(hold::Column::State.eq("ready"))
        .filter(hold::Column::PickupDeadline.lte(now))
        .limit(500)
        .all(conn)
        .await?
        .into_iter()
        .map(hold_of)
        .collect())
}

/// Titles that have someone waiting.
pub async fn titles_with_waiting(conn: &impl ConnectionTrait) -> Result<Vec<TitleId>> {
    Ok(hold::Entity::find()
        .select_only()
        .column(hold::Column::TitleId)
        .distinct()
        .filter(hold::Column::State.eq("waiting"))
        .into_tuple::<Uuid>()
        .all(conn)
        .await?
        .into_iter()
        .map(TitleId)
        .collect())
}

/// A notification for a reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Id (time-ordered: the cursor).
    pub id: Uuid,
    /// `hold_ready`, `hold_expired`, `loan_revoked`, ...
    pub kind: String,
    /// Details.
    pub payload: serde_json::Value,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Queues a notification for a reader (and for webhook delivery; the delivery job
/// skips it if no webhook is configured).
pub async fn notify(
    conn: &impl ConnectionTrait,
    patron: PatronId,
    kind: &str,
    payload: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<()> {
    notification::ActiveModel {
        id: Set(Uuid::now_v7()),
        patron_id: Set(patron.0),
        kind: Set(kind.to_owned()),
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
                    kind: m.kind,
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
            kind: m.kind,
            payload: m.payload,
            created_at: m.created_at,
        })
        .collect())
}
