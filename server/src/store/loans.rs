//! Loans.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::convert::{count as n, stored as i};
use super::entity::lending::loan;
use super::{Result, StoreError};
use crate::domain::{LibraryId, Loan, LoanId, LoanState, LotId, PatronId, TitleId};

fn loan_of(m: loan::Model) -> Result<Loan> {
    Ok(Loan {
        id: LoanId(m.id),
        patron_id: PatronId(m.patron_id),
        title_id: TitleId(m.title_id),
        lot_id: LotId(m.lot_id),
        library_id: LibraryId(m.library_id),
        request_id: m.request_id,
        started_at: m.started_at,
        ends_at: m.ends_at,
        renewals: n(m.renewals),
        state: LoanState::parse(&m.state).ok_or_else(|| StoreError::Corrupt {
            table: "loans",
            reason: format!("state {:?}", m.state),
        })?,
        ended_at: m.ended_at,
        updated_at: m.updated_at,
    })
}

const ACTIVE: &str = LoanState::Active.as_str();

/// Stores a new loan. A second active loan of the title for the patron, or a reused
/// request id, is a [`StoreError::Duplicate`].
pub async fn insert_loan(conn: &impl ConnectionTrait, l: &Loan) -> Result<()> {
    loan::ActiveModel {
        id: Set(l.id.0),
        patron_id: Set(l.patron_id.0),
        title_id: Set(l.title_id.0),
        lot_id: Set(l.lot_id.0),
        library_id: Set(l.library_id.0),
        request_id: Set(l.request_id),
        started_at: Set(l.started_at),
        ends_at: Set(l.ends_at),
        renewals: Set(i(l.renewals)),
        state: Set(l.state.as_str().to_owned()),
        ended_at: Set(l.ended_at),
        ending_notified_at: Set(None),
        updated_at: Set(l.updated_at),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// One loan.
pub async fn loan(conn: &impl ConnectionTrait, id: LoanId) -> Result<Option<Loan>> {
    loan::Entity::find_by_id(id.0)
        .one(conn)
        .await?
        .map(loan_of)
        .transpose()
}

/// The loan a patron made with this request id.
pub async fn loan_by_request(
    conn: &impl ConnectionTrait,
    patron: PatronId,
    request: Uuid,
) -> Result<Option<Loan>> {
    loan::Entity::find()
        .filter(loan::Column::PatronId.eq(patron.0))
        .filter(loan::Column::RequestId.eq(request))
        .one(conn)
        .await?
        .map(loan_of)
        .transpose()
}

/// A patron's loans, newest first (active ones only if `active_only`).
pub async fn loans_of(
    conn: &impl ConnectionTrait,
    patron: PatronId,
    active_only: bool,
) -> Result<Vec<Loan>> {
    let mut select = loan::Entity::find().filter(loan::Column::PatronId.eq(patron.0));
    if active_only {
        select = select.filter(loan::Column::State.eq(ACTIVE));
    }
    select
        .order_by_desc(loan::Column::StartedAt)
        .all(conn)
        .await?
        .into_iter()
        .map(loan_of)
        .collect()
}

/// How many active loans a patron has.
pub async fn active_loan_count(conn: &impl ConnectionTrait, patron: PatronId) -> Result<u64> {
    Ok(loan::Entity::find()
        .filter(loan::Column::PatronId.eq(patron.0))
        .filter(loan::Column::State.eq(ACTIVE))
        .count(conn)
        .await?)
}

/// Whether the patron has an active loan of the title.
pub async fn has_active_loan(
    conn: &impl ConnectionTrait,
    patron: PatronId,
    title: TitleId,
) -> Result<bool> {
    Ok(loan::Entity::find()
        .filter(loan::Column::PatronId.eq(patron.0))
        .filter(loan::Column::TitleId.eq(title.0))
        .filter(loan::Column::State.eq(ACTIVE))
        .count(conn)
        .await?
        > 0)
}

/// Ends an active loan (`state` is returned, expired or revoked) and gives its copy
/// back to its lot. `None` if it was not active (someone else ended it first).
pub async fn end_loan(
    conn: &impl ConnectionTrait,
    id: LoanId,
    state: LoanState,
    now: DateTime<Utc>,
) -> Result<Option<Loan>> {
    let result = loan::Entity::update_many()
        .col_expr(loan::Column::State, Expr::val(state.as_str()))
        .col_expr(loan::Column::EndedAt, Expr::val(now))
        .col_expr(loan::Column::UpdatedAt, Expr::val(now))
        .filter(loan::Column::Id.eq(id.0))
        .filter(loan::Column::State.eq(ACTIVE))
        .exec(conn)
        .await?;
    if result.rows_affected == 0 {
        return Ok(None);
    }
    let ended = loan(conn, id).await?;
    if let Some(ended) = &ended {
        super::lots::release_copy(conn, ended.lot_id, now).await?;
    }
    Ok(ended)
}

/// Moves an active loan's end (a renewal) and counts the renewal.
pub async fn extend_loan(
    conn: &impl ConnectionTrait,
    id: LoanId,
    renewals_seen: u32,
    ends_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let result = loan::Entity::update_many()
        .col_expr(loan::Column::EndsAt, Expr::val(ends_at))
        .col_expr(
            loan::Column::Renewals,
            Expr::col(loan::Column::Renewals).add(1),
        )
        // A new end deserves a new reminder.
        .col_expr(
            loan::Column::EndingNotifiedAt,
            Expr::val(Option::<DateTime<Utc>>::None),
        )
        .col_expr(loan::Column::UpdatedAt, Expr::val(now))
        .filter(loan::Column::Id.eq(id.0))
        .filter(loan::Column::State.eq(ACTIVE))
        // Compare and swap: only the renewal that saw this count (and so this end)
        // extends the loan; a concurrent one finds the count moved and checks again.
        .filter(loan::Column::Renewals.eq(i32::try_from(renewals_seen).unwrap_or(i32::MAX)))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Active loans whose end has passed.
pub async fn due_loans(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<LoanId>> {
    Ok(loan::Entity::find()
        .select_only()
        .column(loan::Column::Id)
        .filter(loan::Column::State.eq(ACTIVE))
        .filter(loan::Column::EndsAt.lte(now))
        .order_by_asc(loan::Column::EndsAt)
        .limit(limit)
        .into_tuple::<Uuid>()
        .all(conn)
        .await?
        .into_iter()
        .map(LoanId)
        .collect())
}

/// Loans started in `[from, to)` by readers of `library` (all libraries if `None`).
pub async fn loans_started_between(
    conn: &impl ConnectionTrait,
    library: Option<LibraryId>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Loan>> {
    let mut select = loan::Entity::find()
        .filter(loan::Column::StartedAt.gte(from))
        .filter(loan::Column::StartedAt.lt(to));
    if let Some(library) = library {
        select = select.filter(loan::Column::LibraryId.eq(library.0));
    }
    select
        .order_by_asc(loan::Column::StartedAt)
        .all(conn)
        .await?
        .into_iter()
        .map(loan_of)
        .collect()
}

/// Marks active loans ending before `horizon` as reminded (once per end) and returns
/// them, so each reader is told once that a loan is about to end.
pub async fn claim_ending_reminders(
    conn: &impl ConnectionTrait,
    horizon: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<Loan>> {
    let due: Vec<loan::Model> = loan::Entity::find()
        .filter(loan::Column::State.eq(ACTIVE))
        .filter(loan::Column::EndsAt.lte(horizon))
        .filter(loan::Column::EndingNotifiedAt.is_null())
        .all(conn)
        .await?;
    let mut claimed = Vec::new();
    for model in due {
        let result = loan::Entity::update_many()
            .col_expr(loan::Column::EndingNotifiedAt, Expr::val(now))
            .filter(loan::Column::Id.eq(model.id))
            .filter(loan::Column::EndingNotifiedAt.is_null())
            .exec(conn)
            .await?;
        if result.rows_affected == 1 {
            claimed.push(loan_of(model)?);
        }
    }
    Ok(claimed)
}

/// Loans of readers of `library` (all if `None`) that readers returned in `[from, to)`.
pub async fn returned_between(
    conn: &impl ConnectionTrait,
    library: Option<LibraryId>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<u64> {
    let mut select = loan::Entity::find()
        .filter(loan::Column::State.eq(LoanState::Returned.as_str()))
        .filter(loan::Column::EndedAt.gte(from))
        .filter(loan::Column::EndedAt.lt(to));
    if let Some(library) = library {
        select = select.filter(loan::Column::LibraryId.eq(library.0));
    }
    Ok(select.count(conn).await?)
}

/// Active loans of readers of `library` (all if `None`): the copies in use.
pub async fn active_count(conn: &impl ConnectionTrait, library: Option<LibraryId>) -> Result<u64> {
    let mut select = loan::Entity::find().filter(loan::Column::State.eq(ACTIVE));
    if let Some(library) = library {
        select = select.filter(loan::Column::LibraryId.eq(library.0));
    }
    Ok(select.count(conn).await?)
}

/// A reader's reading history, counted in one query: every loan they ever made, the
/// loans started at or after `since`, and the distinct titles borrowed.
pub async fn history_counts(
    conn: &impl ConnectionTrait,
    patron: PatronId,
    since: DateTime<Utc>,
) -> Result<(u64, u64, u64)> {
    use sea_orm::sea_query::{Func, SimpleExpr};
    // COUNT skips the NULL the CASE gives for older loans.
    let recent: SimpleExpr = Expr::case(
        Expr::col(loan::Column::StartedAt).gte(since),
        Expr::val(1i32),
    )
    .into();
    let row: Option<(i64, i64, i64)> = loan::Entity::find()
        .select_only()
        .column_as(
            SimpleExpr::from(Func::count(Expr::col(loan::Column::Id))),
            "total",
        )
        .column_as(SimpleExpr::from(Func::count(recent)), "since")
        .column_as(
            SimpleExpr::from(Func::count_distinct(Expr::col(loan::Column::TitleId))),
            "titles",
        )
        .filter(loan::Column::PatronId.eq(patron.0))
        .into_tuple()
        .one(conn)
        .await?;
    let (total, recent, titles) = row.unwrap_or_default();
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    Ok((count(total), count(recent), count(titles)))
}
