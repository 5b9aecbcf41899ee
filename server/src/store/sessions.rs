//! Login sessions. Only the SHA-256 of a bearer token is stored, so a leaked database
//! yields no usable token.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};

use super::Result;
use super::entity::session::{self, Entity as Sessions};
use crate::domain::{PatronId, SessionId, StaffId};

/// Who a session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    /// A patron.
    Patron(PatronId),
    /// A staff member.
    Staff(StaffId),
}

/// A live session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    /// Id.
    pub id: SessionId,
    /// Owner.
    pub principal: Principal,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// Stores a new session for `principal`.
pub async fn insert(
    conn: &impl ConnectionTrait,
    token_hash: [u8; 32],
    principal: Principal,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<Session> {
    let (patron_id, staff_id) = match principal {
        Principal::Patron(id) => (Some(id.0), None),
        Principal::Staff(id) => (None, Some(id.0)),
    };
    let id = SessionId::new();
    session::ActiveModel {
        id: Set(id.0),
        token_hash: Set(token_hash.to_vec()),
        patron_id: Set(patron_id),
        staff_id: Set(staff_id),
        created_at: Set(now),
        expires_at: Set(expires_at),
    }
    .insert(conn)
    .await?;
    Ok(Session {
        id,
        principal,
        expires_at,
    })
}

/// The unexpired session whose token hashes to `token_hash`.
pub async fn find_live(
    conn: &impl ConnectionTrait,
    token_hash: [u8; 32],
    now: DateTime<Utc>,
) -> Result<Option<Session>> {
    let row = Sessions::find()
        .filter(session::Column::TokenHash.eq(token_hash.to_vec()))
        .filter(session::Column::ExpiresAt.gt(now))
        .one(conn)
        .await?;
    Ok(row.and_then(|m| {
        let principal = match (m.patron_id, m.staff_id) {
            (Some(patron), None) => Principal::Patron(PatronId(patron)),
            (None, Some(staff)) => Principal::Staff(StaffId(staff)),
            // The check constraint rules this out; treat such a row as no session.
            _ => return None,
        };
        Some(Session {
            id: SessionId(m.id),
            principal,
            expires_at: m.expires_at,
        })
    }))
}

/// Ends one session.
pub async fn delete(conn: &impl ConnectionTrait, id: SessionId) -> Result<()> {
    Sessions::delete_by_id(id.0).exec(conn).await?;
    Ok(())
}

/// Ends every session of `principal` except `keep` (after a password change, or when
/// an account is deactivated or blocked).
pub async fn delete_all_of(
    conn: &impl ConnectionTrait,
    principal: Principal,
    keep: Option<SessionId>,
) -> Result<u64> {
    let mut delete = Sessions::delete_many();
    delete = match principal {
        Principal::Patron(id) => delete.filter(session::Column::PatronId.eq(id.0)),
        Principal::Staff(id) => delete.filter(session::Column::StaffId.eq(id.0)),
    };
    if let Some(keep) = keep {
        delete = delete.filter(session::Column::Id.ne(keep.0));
    }
    Ok(delete.exec(conn).await?.rows_affected)
}

/// Deletes sessions that expired before `now`.
pub async fn purge_expired(conn: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64> {
    Ok(Sessions::delete_many()
        .filter(session::Column::ExpiresAt.lte(now))
        .exec(conn)
        .await?
        .rows_affected)
}
