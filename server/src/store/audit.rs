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

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::StoreError;
use super::entity::lending::{device, hold, licence_lot, loan};
use super::entity::{patron, staff};
use crate::domain::TitleId;

/// A search of the audit trail, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only events of this library (library staff see their library's); `None`: all.
    pub library: Option<LibraryId>,
    /// Only what this staff member did.
    pub staff: Option<StaffId>,
    /// Only events about these patrons: what they did, and what was done to their
    /// record, their loans, holds and devices. An empty list matches nothing.
    pub patrons: Option<Vec<PatronId>>,
    /// Only events about these titles: the title itself, its loans, holds and lots.
    /// An empty list matches nothing.
    pub titles: Option<Vec<TitleId>>,
    /// Only this action (`rules.set`).
    pub action: Option<String>,
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// Before.
    pub to: Option<DateTime<Utc>>,
    /// Continue with the events older than this one (the last of the previous page).
    pub before: Option<Uuid>,
    /// At most this many.
    pub limit: u64,
}

/// One event of the audit trail.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    /// Id (time-ordered).
    pub id: Uuid,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: Actor,
    /// The library whose data changed, if any.
    pub library_id: Option<LibraryId>,
    /// What (`patron.block`).
    pub action: String,
    /// The kind of record acted on.
    pub target_kind: String,
    /// The record acted on.
    pub target_id: Option<Uuid>,
    /// Anything else recorded.
    pub detail: Option<serde_json::Value>,
}

fn event_of(m: audit_event::Model) -> Result<AuditEvent> {
    let actor = match (m.actor_kind.as_str(), m.actor_id) {
        ("staff", Some(id)) => Actor::Staff(StaffId(id)),
        ("patron", Some(id)) => Actor::Patron(PatronId(id)),
        ("system", _) => Actor::System,
        (kind, _) => {
            return Err(StoreError::Corrupt {
                table: "audit_events",
                reason: format!("actor {kind:?} without an id"),
            });
        }
    };
    Ok(AuditEvent {
        id: m.id,
        at: m.at,
        actor,
        library_id: m.library_id.map(LibraryId),
        action: m.action,
        target_kind: m.target_kind,
        target_id: m.target_id,
        detail: m.detail,
    })
}

/// `target_kind = kind AND target_id IN (SELECT id FROM table WHERE column IN ids)`.
fn targets_in<E: EntityTrait>(
    kind: &str,
    id: E::Column,
    column: E::Column,
    ids: &[Uuid],
    entity: E,
) -> Condition {
    Condition::all()
        .add(audit_event::Column::TargetKind.eq(kind))
        .add(
            audit_event::Column::TargetId.in_subquery(
                Query::select()
                    .column(id)
                    .from(entity)
                    .and_where(Expr::col(column).is_in(ids.iter().copied()))
                    .to_owned(),
            ),
        )
}

/// The events matching `query`, newest first (ties in time by id).
pub async fn search(conn: &impl ConnectionTrait, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
    let mut select = audit_event::Entity::find();
    if let Some(library) = query.library {
        select = select.filter(audit_event::Column::LibraryId.eq(library.0));
    }
    if let Some(staff) = query.staff {
        select = select
            .filter(audit_event::Column::ActorKind.eq("staff"))
            .filter(audit_event::Column::ActorId.eq(staff.0));
    }
    if let Some(patrons) = &query.patrons {
        let ids: Vec<Uuid> = patrons.iter().map(|p| p.0).collect();
        select = select.filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(audit_event::Column::ActorKind.eq("patron"))
                        .add(audit_event::Column::ActorId.is_in(ids.iter().copied())),
                )
                .add(
                    Condition::all()
                        .add(audit_event::Column::TargetKind.eq("patron"))
                        .add(audit_event::Column::TargetId.is_in(ids.iter().copied())),
                )
                .add(targets_in(
                    "loan",
                    loan::Column::Id,
                    loan::Column::PatronId,
                    &ids,
                    loan::Entity,
                ))
                .add(targets_in(
                    "hold",
                    hold::Column::Id,
                    hold::Column::PatronId,
                    &ids,
                    hold::Entity,
                ))
                .add(targets_in(
                    "device",
                    device::Column::Id,
                    device::Column::PatronId,
                    &ids,
                    device::Entity,
                )),
        );
    }
    if let Some(titles) = &query.titles {
        let ids: Vec<Uuid> = titles.iter().map(|t| t.0).collect();
        select = select.filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(audit_event::Column::TargetKind.eq("title"))
                        .add(audit_event::Column::TargetId.is_in(ids.iter().copied())),
                )
                .add(targets_in(
                    "loan",
                    loan::Column::Id,
                    loan::Column::TitleId,
                    &ids,
                    loan::Entity,
                ))
                .add(targets_in(
                    "hold",
                    hold::Column::Id,
                    hold::Column::TitleId,
                    &ids,
                    hold::Entity,
                ))
                .add(targets_in(
                    "lot",
                    licence_lot::Column::Id,
                    licence_lot::Column::TitleId,
                    &ids,
                    licence_lot::Entity,
                )),
        );
    }
    if let Some(action) = &query.action {
        select = select.filter(audit_event::Column::Action.eq(action.as_str()));
    }
    if let Some(from) = query.from {
        select = select.filter(audit_event::Column::At.gte(from));
    }
    if let Some(to) = query.to {
        select = select.filter(audit_event::Column::At.lt(to));
    }
    if let Some(before) = query.before {
        let cursor = audit_event::Entity::find_by_id(before).one(conn).await?;
        if let Some(cursor) = cursor {
            select = select.filter(
                Condition::any()
                    .add(audit_event::Column::At.lt(cursor.at))
                    .add(
                        Condition::all()
                            .add(audit_event::Column::At.eq(cursor.at))
                            .add(audit_event::Column::Id.lt(cursor.id)),
                    ),
            );
        }
    }
    select
        .order_by_desc(audit_event::Column::At)
        .order_by_desc(audit_event::Column::Id)
        .limit(query.limit)
        .all(conn)
        .await?
        .into_iter()
        .map(event_of)
        .collect()
}

/// The actions recorded (for this library's events only, if given), sorted.
pub async fn actions(
    conn: &impl ConnectionTrait,
    library: Option<LibraryId>,
) -> Result<Vec<String>> {
    let mut select = audit_event::Entity::find()
        .select_only()
        .column(audit_event::Column::Action)
        .distinct();
    if let Some(library) = library {
        select = select.filter(audit_event::Column::LibraryId.eq(library.0));
    }
    Ok(select
        .order_by_asc(audit_event::Column::Action)
        .into_tuple::<String>()
        .all(conn)
        .await?)
}

/// Display names of staff members by id (whatever their library: an event in a
/// library's trail may be a consortium admin's).
pub async fn staff_names(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, String>> {
    if ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    Ok(staff::Entity::find()
        .select_only()
        .column(staff::Column::Id)
        .column(staff::Column::DisplayName)
        .filter(staff::Column::Id.is_in(ids.iter().copied()))
        .into_tuple::<(Uuid, String)>()
        .all(conn)
        .await?
        .into_iter()
        .collect())
}

/// Card numbers of patrons by id.
pub async fn patron_cards(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, String>> {
    if ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    Ok(patron::Entity::find()
        .select_only()
        .column(patron::Column::Id)
        .column(patron::Column::CardNumber)
        .filter(patron::Column::Id.is_in(ids.iter().copied()))
        .into_tuple::<(Uuid, String)>()
        .all(conn)
        .await?
        .into_iter()
        .collect())
}
