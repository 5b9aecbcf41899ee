//! Holds: the queue per title.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::entity::lending::hold;
use super::{Result as StoreResult, StoreError};
use crate::domain::{Hold, HoldId, HoldMove, HoldState, LibraryId, LotId, PatronId, TitleId};

type Result<T> = StoreResult<T>;

fn hold_of(m: hold::Model) -> Result<Hold> {
    Ok(Hold {
        id: HoldId(m.id),
        patron_id: PatronId(m.patron_id),
        title_id: TitleId(m.title_id),
        library_id: LibraryId(m.library_id),
        placed_at: m.placed_at,
        state: HoldState::parse(&m.state).ok_or_else(|| StoreError::Corrupt {
            table: "holds",
            reason: format!("state {:?}", m.state),
        })?,
        suspended_until: m.suspended_until,
        auto_borrow: m.auto_borrow,
        lot_id: m.lot_id.map(LotId),
        ready_at: m.ready_at,
        pickup_deadline: m.pickup_deadline,
    })
}

fn holds_of(rows: Vec<hold::Model>) -> Result<Vec<Hold>> {
    rows.into_iter().map(hold_of).collect()
}

const OPEN: [&str; 2] = [HoldState::OPEN[0].as_str(), HoldState::OPEN[1].as_str()];
const WAITING: &str = HoldState::Waiting.as_str();
const READY: &str = HoldState::Ready.as_str();

/// Stores a new waiting hold. A second open hold on a title is a
/// [`StoreError::Duplicate`](super::StoreError).
pub async fn insert(conn: &impl ConnectionTrait, h: &Hold, now: DateTime<Utc>) -> Result<()> {
    hold::ActiveModel {
        id: Set(h.id.0),
        patron_id: Set(h.patron_id.0),
        title_id: Set(h.title_id.0),
        library_id: Set(h.library_id.0),
        placed_at: Set(h.placed_at),
        state: Set(h.state.as_str().to_owned()),
        suspended_until: Set(h.suspended_until),
        auto_borrow: Set(h.auto_borrow),
        lot_id: Set(h.lot_id.map(|l| l.0)),
        ready_at: Set(h.ready_at),
        pickup_deadline: Set(h.pickup_deadline),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// One hold.
pub async fn get(conn: &impl ConnectionTrait, id: HoldId) -> Result<Option<Hold>> {
    hold::Entity::find_by_id(id.0)
        .one(conn)
        .await?
        .map(hold_of)
        .transpose()
}

/// A reader's open (waiting or ready) holds, oldest first.
pub async fn open_of(conn: &impl ConnectionTrait, patron: PatronId) -> Result<Vec<Hold>> {
    hold::Entity::find()
        .filter(hold::Column::PatronId.eq(patron.0))
        .filter(hold::Column::State.is_in(OPEN))
        .order_by_asc(hold::Column::PlacedAt)
        .all(conn)
        .await
        .map_err(StoreError::from)
        .and_then(holds_of)
}

/// The reader's ready hold on a title, if any.
pub async fn ready_for(
    conn: &impl ConnectionTrait,
    patron: PatronId,
    title: TitleId,
) -> Result<Option<Hold>> {
    hold::Entity::find()
        .filter(hold::Column::PatronId.eq(patron.0))
        .filter(hold::Column::TitleId.eq(title.0))
        .filter(hold::Column::State.eq(READY))
        .one(conn)
        .await?
        .map(hold_of)
        .transpose()
}

/// Waiting holds on a title in queue order (suspended ones included).
pub async fn waiting_queue(conn: &impl ConnectionTrait, title: TitleId) -> Result<Vec<Hold>> {
    hold::Entity::find()
        .filter(hold::Column::TitleId.eq(title.0))
        .filter(hold::Column::State.eq(WAITING))
        .order_by_asc(hold::Column::PlacedAt)
        .order_by_asc(hold::Column::Id)
        .all(conn)
        .await
        .map_err(StoreError::from)
        .and_then(holds_of)
}

/// Open (waiting or ready) holds on a title.
pub async fn open_count(conn: &impl ConnectionTrait, title: TitleId) -> Result<u64> {
    Ok(hold::Entity::find()
        .filter(hold::Column::TitleId.eq(title.0))
        .filter(hold::Column::State.is_in(OPEN))
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
        .filter(hold::Column::State.eq(WAITING))
        .filter(
            Condition::any()
                .add(hold::Column::SuspendedUntil.is_null())
                .add(hold::Column::SuspendedUntil.lte(now)),
        )
        .count(conn)
        .await?)
}

/// Makes a hold move (setting the reservation fields when given), if it is in a state
/// the move starts from. `false` if it was not (someone else moved it first).
pub async fn transition(
    conn: &impl ConnectionTrait,
    id: HoldId,
    change: HoldMove,
    reservation: Option<(LotId, DateTime<Utc>)>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let mut update = hold::Entity::update_many()
        .col_expr(hold::Column::State, Expr::val(change.to().as_str()))
        .col_expr(hold::Column::UpdatedAt, Expr::val(now));
    if let Some((lot, deadline)) = reservation {
        update = update
            .col_expr(hold::Column::LotId, Expr::val(lot.0))
            .col_expr(hold::Column::ReadyAt, Expr::val(now))
            .col_expr(hold::Column::PickupDeadline, Expr::val(deadline));
    }
    let result = update
        .filter(hold::Column::Id.eq(id.0))
        .filter(hold::Column::State.is_in(change.from().iter().map(|s| s.as_str())))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Suspends a hold until `until` (`None` resumes it).
pub async fn set_suspended(
    conn: &impl ConnectionTrait,
    id: HoldId,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<()> {
    hold::Entity::update_many()
        .col_expr(hold::Column::SuspendedUntil, Expr::val(until))
        .col_expr(hold::Column::UpdatedAt, Expr::val(now))
        .filter(hold::Column::Id.eq(id.0))
        .filter(hold::Column::State.eq(WAITING))
        .exec(conn)
        .await?;
    Ok(())
}

/// Marks the reader's ready hold on `title` fulfilled and returns the lot whose copy it
/// reserved (the loan takes that copy). `None` if the reader has no ready hold on it.
pub async fn fulfil_ready(
    conn: &impl ConnectionTrait,
    patron: PatronId,
    title: TitleId,
    now: DateTime<Utc>,
) -> Result<Option<LotId>> {
    let Some(hold) = ready_for(conn, patron, title).await? else {
        return Ok(None);
    };
    if !transition(conn, hold.id, HoldMove::Fulfil, None, now).await? {
        return Ok(None);
    }
    Ok(hold.lot_id)
}

/// Ready holds whose pickup deadline has passed.
pub async fn lapsed(conn: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<Vec<Hold>> {
    hold::Entity::find()
        .filter(hold::Column::State.eq(READY))
        .filter(hold::Column::PickupDeadline.lte(now))
        .limit(500)
        .all(conn)
        .await
        .map_err(StoreError::from)
        .and_then(holds_of)
}

/// Titles that have someone waiting.
pub async fn titles_with_waiting(conn: &impl ConnectionTrait) -> Result<Vec<TitleId>> {
    Ok(hold::Entity::find()
        .select_only()
        .column(hold::Column::TitleId)
        .distinct()
        .filter(hold::Column::State.eq(WAITING))
        .into_tuple::<Uuid>()
        .all(conn)
        .await?
        .into_iter()
        .map(TitleId)
        .collect())
}

/// Holds placed in `[from, to)` by readers of `library` (all if `None`).
pub async fn placed_between(
    conn: &impl ConnectionTrait,
    library: Option<LibraryId>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> StoreResult<u64> {
    let mut select = hold::Entity::find()
        .filter(hold::Column::PlacedAt.gte(from))
        .filter(hold::Column::PlacedAt.lt(to));
    if let Some(library) = library {
        select = select.filter(hold::Column::LibraryId.eq(library.0));
    }
    Ok(select.count(conn).await?)
}

/// The open holds on a title: ready ones (soonest pickup deadline first), then the
/// waiting ones in queue order.
pub async fn open_on_title(conn: &impl ConnectionTrait, title: TitleId) -> Result<Vec<Hold>> {
    let mut ready = hold::Entity::find()
        .filter(hold::Column::TitleId.eq(title.0))
        .filter(hold::Column::State.eq(READY))
        .order_by_asc(hold::Column::PickupDeadline)
        .order_by_asc(hold::Column::Id)
        .all(conn)
        .await
        .map_err(StoreError::from)
        .and_then(holds_of)?;
    ready.extend(waiting_queue(conn, title).await?);
    Ok(ready)
}

/// Ready holds of readers of `library` (all libraries if `None`) whose pickup deadline
/// is before `due_before` (any deadline if `None`), soonest deadline first; at most
/// `limit`.
pub async fn ready_in(
    conn: &impl ConnectionTrait,
    library: Option<LibraryId>,
    due_before: Option<DateTime<Utc>>,
    limit: u64,
) -> Result<Vec<Hold>> {
    let mut select = hold::Entity::find().filter(hold::Column::State.eq(READY));
    if let Some(library) = library {
        select = select.filter(hold::Column::LibraryId.eq(library.0));
    }
    if let Some(due_before) = due_before {
        select = select.filter(hold::Column::PickupDeadline.lt(due_before));
    }
    select
        .order_by_asc(hold::Column::PickupDeadline)
        .order_by_asc(hold::Column::Id)
        .limit(limit)
        .all(conn)
        .await
        .map_err(StoreError::from)
        .and_then(holds_of)
}

/// Waiting holds per title, of readers of `library` (all libraries if `None`):
/// `(title, holds waiting)`, longest queue first.
pub async fn waiting_per_title(
    conn: &impl ConnectionTrait,
    library: Option<LibraryId>,
) -> Result<Vec<(TitleId, u64)>> {
    use sea_orm::sea_query::{Func, SimpleExpr};
    let mut select = hold::Entity::find()
        .select_only()
        .column(hold::Column::TitleId)
        .column_as(
            SimpleExpr::from(Func::count(Expr::col(hold::Column::Id))),
            "waiting",
        )
        .filter(hold::Column::State.eq(WAITING));
    if let Some(library) = library {
        select = select.filter(hold::Column::LibraryId.eq(library.0));
    }
    let rows: Vec<(Uuid, i64)> = select
        .group_by(hold::Column::TitleId)
        .into_tuple()
        .all(conn)
        .await?;
    let mut out: Vec<(TitleId, u64)> = rows
        .into_iter()
        .map(|(title, n)| (TitleId(title), u64::try_from(n).unwrap_or(0)))
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.0.cmp(&b.0.0)));
    Ok(out)
}
