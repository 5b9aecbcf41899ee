//! The audit trail: every staff action (and, later, every circulation event).

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait};
use uuid::Uuid;

use super::Result;
use super::entity::audit_event;
use crate::domain::{LibraryId, PatronId, StaffId};

/// Who did it.
#[derive(Debug, Clone, Copy)]
pub enum Actor {
    /// A staff member.
    Staff(StaffId),
    /// A patron.
    Patron(PatronId),
    /// The server itself (bootstrap, jobs).
    System,
}

/// One audited action.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// Who.
    pub actor: Actor,
    /// The library whose data changed, if any.
    pub library_id: Option<LibraryId>,
    /// What, as a stable verb (`patron.block`).
    pub action: &'static str,
    /// The kind of record acted on (`patron`).
    pub target_kind: &'static str,
    /// The record acted on.
    pub target_id: Option<Uuid>,
    /// Anything else worth keeping (never a secret).
    pub detail: Option<serde_json::Value>,
}

/// Records `entry` at `at`, in the caller's transaction.
pub async fn record(
    conn: &impl ConnectionTrait,
    entry: AuditEntry,
    at: DateTime<Utc>,
) -> Result<()> {
    let (actor_kind, actor_id) = match entry.actor {
        Actor::Staff(id) => ("staff", Some(id.0)),
        Actor::Patron(id) => ("patron", Some(id.0)),
        Actor::System => ("system", None),
    };
    audit_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        at: Set(at),
        actor_kind: Set(actor_kind.to_owned()),
        actor_id: Set(actor_id),
        library_id: Set(entry.library_id.map(|l| l.0)),
        action: Set(entry.action.to_owned()),
        target_kind: Set(entry.target_kind.to_owned()),
        target_id: Set(entry.target_id),
        detail: Set(entry.detail),
    }
    .insert(conn)
    .await?;
    Ok(())
}
