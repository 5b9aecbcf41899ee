//! Licences issued per loan and device.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::entity::lending::licence;
use super::{Result, StoreError};
use crate::domain::{DeviceId, IssuedLicence, LicenceId, LoanId};

fn issued_of(m: licence::Model) -> IssuedLicence {
    IssuedLicence {
        id: LicenceId(m.id),
        loan_id: LoanId(m.loan_id),
        device_id: DeviceId(m.device_id),
        ends_at: m.ends_at,
        token: m.token,
    }
}

/// The licence issued for a loan and device, if any.
pub async fn licence_for(
    conn: &impl ConnectionTrait,
    loan: LoanId,
    device: DeviceId,
) -> Result<Option<IssuedLicence>> {
    Ok(licence::Entity::find()
        .filter(licence::Column::LoanId.eq(loan.0))
        .filter(licence::Column::DeviceId.eq(device.0))
        .one(conn)
        .await?
        .map(issued_of))
}

/// A licence by id.
pub async fn licence_by_id(
    conn: &impl ConnectionTrait,
    id: LicenceId,
) -> Result<Option<IssuedLicence>> {
    Ok(licence::Entity::find_by_id(id.0)
        .one(conn)
        .await?
        .map(issued_of))
}

/// Stores the licence of a new loan (nothing can be stored for it yet).
pub async fn insert(
    conn: &impl ConnectionTrait,
    issued: &IssuedLicence,
    now: DateTime<Utc>,
) -> Result<()> {
    licence::Entity::insert(model(issued, now))
        .exec(conn)
        .await?;
    Ok(())
}

fn model(issued: &IssuedLicence, now: DateTime<Utc>) -> licence::ActiveModel {
    licence::ActiveModel {
        id: Set(issued.id.0),
        loan_id: Set(issued.loan_id.0),
        device_id: Set(issued.device_id.0),
        issued_at: Set(now),
        ends_at: Set(issued.ends_at),
        token: Set(issued.token.clone()),
    }
}

/// Stores `candidate` unless a licence for the same loan and device is stored already
/// for the same (or a later) end, and returns what is stored. Concurrent fetches of one
/// licence therefore all get the one that was stored first; a licence for an earlier
/// end (before a renewal) is replaced. Run it in a write transaction.
pub async fn store_or_get(
    conn: &impl ConnectionTrait,
    candidate: &IssuedLicence,
    now: DateTime<Utc>,
) -> Result<IssuedLicence> {
    use licence::Column as C;
    licence::Entity::insert(model(candidate, now))
        .on_conflict_do_nothing_on([C::LoanId, C::DeviceId])
        .exec_without_returning(conn)
        .await?;
    licence::Entity::update_many()
        .col_expr(C::Token, Expr::val(candidate.token.clone()))
        .col_expr(C::EndsAt, Expr::val(candidate.ends_at))
        .col_expr(C::IssuedAt, Expr::val(now))
        .filter(C::LoanId.eq(candidate.loan_id.0))
        .filter(C::DeviceId.eq(candidate.device_id.0))
        .filter(C::EndsAt.lt(candidate.ends_at))
        .exec(conn)
        .await?;
    licence_for(conn, candidate.loan_id, candidate.device_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt {
            table: "licences",
            reason: "a licence stored a moment ago is missing".into(),
        })
}
