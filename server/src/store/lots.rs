//! Licence lots and the libraries they are shared with; taking and giving back copies.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    QueryFilter, QueryOrder,
};
use uuid::Uuid;

use super::convert::{count as n, stored as i};
use super::entity::lending::{licence_lot, lot_share};
use super::{Result, StoreError};
use crate::domain::{LibraryId, Lot, LotId, LotStatus, TitleId};

fn lot_of(m: licence_lot::Model, shares: Vec<LibraryId>) -> Result<Lot> {
    Ok(Lot {
        id: LotId(m.id),
        title_id: TitleId(m.title_id),
        owner_library_id: m.owner_library_id.map(LibraryId),
        copies: n(m.copies),
        active_loans: n(m.active_loans),
        checkouts_left: m.checkouts_left.map(n),
        expires_at: m.expires_at,
        status: LotStatus::parse(&m.status).ok_or_else(|| StoreError::Corrupt {
            table: "licence_lots",
            reason: format!("status {:?}", m.status),
        })?,
        shared_with: shares,
        created_at: m.created_at,
    })
}

async fn with_shares(
    conn: &impl ConnectionTrait,
    rows: Vec<licence_lot::Model>,
) -> Result<Vec<Lot>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let shares: Vec<(Uuid, LibraryId)> = lot_share::Entity::find()
        .filter(lot_share::Column::LotId.is_in(rows.iter().map(|r| r.id)))
        .all(conn)
        .await?
        .into_iter()
        .map(|s| (s.lot_id, LibraryId(s.library_id)))
        .collect();
    rows.into_iter()
        .map(|m| {
            let mine = shares
                .iter()
                .filter(|(lot, _)| *lot == m.id)
                .map(|(_, l)| *l)
                .collect();
            lot_of(m, mine)
        })
        .collect()
}

/// Stores a new lot and its shares.
pub async fn insert_lot(conn: &impl ConnectionTrait, lot: &Lot, now: DateTime<Utc>) -> Result<()> {
    licence_lot::ActiveModel {
        id: Set(lot.id.0),
        title_id: Set(lot.title_id.0),
        owner_library_id: Set(lot.owner_library_id.map(|l| l.0)),
        copies: Set(i(lot.copies)),
        active_loans: Set(0),
        checkouts_left: Set(lot.checkouts_left.map(i)),
        expires_at: Set(lot.expires_at),
        status: Set(lot.status.as_str().to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?;
    set_shares(conn, lot.id, &lot.shared_with).await
}

/// Replaces the libraries a lot is shared with.
pub async fn set_shares(
    conn: &impl ConnectionTrait,
    lot: LotId,
    libraries: &[LibraryId],
) -> Result<()> {
    lot_share::Entity::delete_many()
        .filter(lot_share::Column::LotId.eq(lot.0))
        .exec(conn)
        .await?;
    if libraries.is_empty() {
        return Ok(());
    }
    lot_share::Entity::insert_many(libraries.iter().map(|library| lot_share::ActiveModel {
        lot_id: Set(lot.0),
        library_id: Set(library.0),
    }))
    .exec(conn)
    .await?;
    Ok(())
}

/// One lot.
pub async fn lot(conn: &impl ConnectionTrait, id: LotId) -> Result<Option<Lot>> {
    let Some(row) = licence_lot::Entity::find_by_id(id.0).one(conn).await? else {
        return Ok(None);
    };
    Ok(with_shares(conn, vec![row]).await?.pop())
}

/// Every lot of a title, oldest first.
pub async fn lots_of_title(conn: &impl ConnectionTrait, title: TitleId) -> Result<Vec<Lot>> {
    let rows = licence_lot::Entity::find()
        .filter(licence_lot::Column::TitleId.eq(title.0))
        .order_by_asc(licence_lot::Column::CreatedAt)
        .all(conn)
        .await?;
    with_shares(conn, rows).await
}

/// Every lot (for reports).
pub async fn all_lots(conn: &impl ConnectionTrait) -> Result<Vec<Lot>> {
    let rows = licence_lot::Entity::find().all(conn).await?;
    with_shares(conn, rows).await
}

/// Changes a lot's copies (the check constraint refuses fewer copies than loans out),
/// checkouts, expiry, status and shares.
pub async fn update_lot(conn: &impl ConnectionTrait, lot: &Lot, now: DateTime<Utc>) -> Result<()> {
    use licence_lot::Column as C;
    let result = licence_lot::Entity::update_many()
        .col_expr(C::Copies, Expr::val(i(lot.copies)))
        .col_expr(C::CheckoutsLeft, Expr::val(lot.checkouts_left.map(i)))
        .col_expr(C::ExpiresAt, Expr::val(lot.expires_at))
        .col_expr(C::Status, Expr::val(lot.status.as_str()))
        .col_expr(C::UpdatedAt, Expr::val(now))
        .filter(C::Id.eq(lot.id.0))
        .exec(conn)
        .await?;
    if result.rows_affected == 0 {
        return Err(StoreError::Corrupt {
            table: "licence_lots",
            reason: "lot vanished".into(),
        });
    }
    set_shares(conn, lot.id, &lot.shared_with).await
}

/// Takes one copy of `lot` if it is active, unexpired, has a copy free and checkouts
/// left: a single conditional `UPDATE`, so two borrowers can never both get the last
/// copy (the database re-checks what [`Lot::lendable_now`] decided from a cached or
/// older view). `true` if the copy was taken.
pub async fn take_copy(
    conn: &impl ConnectionTrait,
    lot: LotId,
    now: DateTime<Utc>,
) -> Result<bool> {
    use licence_lot::Column as C;
    let result = licence_lot::Entity::update_many()
        .col_expr(C::ActiveLoans, Expr::col(C::ActiveLoans).add(1))
        .col_expr(
            C::CheckoutsLeft,
            Expr::case(
                Expr::col(C::CheckoutsLeft).is_null(),
                Expr::col(C::CheckoutsLeft),
            )
            .finally(Expr::col(C::CheckoutsLeft).sub(1))
            .into(),
        )
        .col_expr(C::UpdatedAt, Expr::val(now))
        .filter(C::Id.eq(lot.0))
        .filter(C::Status.eq(LotStatus::Active.as_str()))
        .filter(Expr::col(C::ActiveLoans).lt(Expr::col(C::Copies)))
        .filter(
            Condition::any()
                .add(C::CheckoutsLeft.is_null())
                .add(C::CheckoutsLeft.gt(0)),
        )
        .filter(
            Condition::any()
                .add(C::ExpiresAt.is_null())
                .add(C::ExpiresAt.gt(now)),
        )
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Gives a copy back to its lot.
pub async fn release_copy(
    conn: &impl ConnectionTrait,
    lot: LotId,
    now: DateTime<Utc>,
) -> Result<()> {
    use licence_lot::Column as C;
    licence_lot::Entity::update_many()
        .col_expr(C::ActiveLoans, Expr::col(C::ActiveLoans).sub(1))
        .col_expr(C::UpdatedAt, Expr::val(now))
        .filter(C::Id.eq(lot.0))
        .filter(C::ActiveLoans.gt(0))
        .exec(conn)
        .await?;
    Ok(())
}

/// Retires metered lots whose checkouts are used up and that have no loan out, and
/// lots past their expiry with no loan out. Returns how many were retired.
pub async fn retire_exhausted(conn: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64> {
    use licence_lot::Column as C;
    let result = licence_lot::Entity::update_many()
        .col_expr(C::Status, Expr::val(LotStatus::Retired.as_str()))
        .col_expr(C::UpdatedAt, Expr::val(now))
        .filter(C::Status.ne(LotStatus::Retired.as_str()))
        .filter(C::ActiveLoans.eq(0))
        .filter(
            Condition::any()
                .add(C::CheckoutsLeft.eq(0))
                .add(C::ExpiresAt.lte(now)),
        )
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}
