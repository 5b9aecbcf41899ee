//! "A copy of title T was freed": recorded in the transaction that frees the copy,
//! cleared by whoever has given the title's free copies to its queue.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::Result;
use super::entity::lending::copy_freed;
use crate::domain::TitleId;

/// Records that a copy of `title` was freed.
pub async fn record(conn: &impl ConnectionTrait, title: TitleId, now: DateTime<Utc>) -> Result<()> {
    copy_freed::Entity::insert(copy_freed::ActiveModel {
        id: NotSet,
        title_id: Set(title.0),
        at: Set(now),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Up to `limit` titles with freed copies not yet handed on, with the newest event id
/// seen for each (pass it to [`clear`]).
pub async fn pending(conn: &impl ConnectionTrait, limit: u64) -> Result<Vec<(TitleId, i64)>> {
    use sea_orm::sea_query::{Expr, Func, SimpleExpr};
    let rows: Vec<(Uuid, i64)> = copy_freed::Entity::find()
        .select_only()
        .column(copy_freed::Column::TitleId)
        .column_as(
            SimpleExpr::from(Func::max(Expr::col(copy_freed::Column::Id))),
            "last",
        )
        .group_by(copy_freed::Column::TitleId)
        .order_by_asc(SimpleExpr::from(Func::min(Expr::col(
            copy_freed::Column::Id,
        ))))
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(|(t, id)| (TitleId(t), id)).collect())
}

/// Clears the events of `title` up to `last` (later ones stay for the next drain).
pub async fn clear(conn: &impl ConnectionTrait, title: TitleId, last: i64) -> Result<()> {
    copy_freed::Entity::delete_many()
        .filter(copy_freed::Column::TitleId.eq(title.0))
        .filter(copy_freed::Column::Id.lte(last))
        .exec(conn)
        .await?;
    Ok(())
}
