//! Staff accounts.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, Select,
};

use super::entity::staff::{self, Entity as StaffTable};
use super::{Result, StoreError};
use crate::domain::{
    LibraryId, LibraryScope, LoginGuard, NewStaff, PasswordHash, Staff, StaffId, StaffRole,
};

fn to_domain(model: staff::Model) -> Result<(Staff, PasswordHash, LoginGuard)> {
    let role = StaffRole::parse(&model.role).map_err(|_| StoreError::Corrupt {
        table: "staff",
        reason: format!("unknown role {:?}", model.role),
    })?;
    let guard = LoginGuard {
        failed_logins: u32::try_from(model.failed_logins).unwrap_or(0),
        locked_until: model.locked_until,
    };
    let staff = Staff {
        id: StaffId(model.id),
        username: model.username,
        display_name: model.display_name,
        role,
        library_id: model.library_id.map(LibraryId),
        active: model.active,
        created_at: model.created_at,
    };
    Ok((staff, PasswordHash(model.password_hash), guard))
}

fn staff_only(model: staff::Model) -> Result<Staff> {
    to_domain(model).map(|(staff, _, _)| staff)
}

fn scoped(select: Select<StaffTable>, scope: LibraryScope) -> Select<StaffTable> {
    match scope {
        LibraryScope::All => select,
        LibraryScope::One(library) => select.filter(staff::Column::LibraryId.eq(library.0)),
    }
}

/// Creates a staff account. A taken username is [`StoreError::Duplicate`].
pub async fn insert(
    conn: &impl ConnectionTrait,
    new: &NewStaff,
    now: DateTime<Utc>,
) -> Result<Staff> {
    let model = staff::ActiveModel {
        id: Set(StaffId::new().0),
        library_id: Set(new.library_id.map(|l| l.0)),
        username: Set(new.username.as_str().to_owned()),
        display_name: Set(new.display_name.clone()),
        role: Set(new.role.as_str().to_owned()),
        password_hash: Set(new.password_hash.0.clone()),
        active: Set(true),
        failed_logins: Set(0),
        locked_until: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?;
    staff_only(model)
}

/// How many staff accounts exist (zero means the server needs its first admin).
pub async fn count(conn: &impl ConnectionTrait) -> Result<u64> {
    Ok(StaffTable::find().count(conn).await?)
}

/// One staff account, if it is inside `scope`.
pub async fn get(
    conn: &impl ConnectionTrait,
    id: StaffId,
    scope: LibraryScope,
) -> Result<Option<Staff>> {
    scoped(StaffTable::find_by_id(id.0), scope)
        .one(conn)
        .await?
        .map(staff_only)
        .transpose()
}

/// Every staff account inside `scope`, by username.
pub async fn list(conn: &impl ConnectionTrait, scope: LibraryScope) -> Result<Vec<Staff>> {
    scoped(StaffTable::find(), scope)
        .order_by_asc(staff::Column::Username)
        .all(conn)
        .await?
        .into_iter()
        .map(staff_only)
        .collect()
}

/// The account, its password hash and its failed-login record, by username.
pub async fn find_for_login(
    conn: &impl ConnectionTrait,
    username: &str,
) -> Result<Option<(Staff, PasswordHash, LoginGuard)>> {
    StaffTable::find()
        .filter(staff::Column::Username.eq(username))
        .one(conn)
        .await?
        .map(to_domain)
        .transpose()
}

/// An account's password hash and failed-login record.
pub async fn credentials(
    conn: &impl ConnectionTrait,
    id: StaffId,
) -> Result<Option<(PasswordHash, LoginGuard)>> {
    StaffTable::find_by_id(id.0)
        .one(conn)
        .await?
        .map(|m| to_domain(m).map(|(_, hash, guard)| (hash, guard)))
        .transpose()
}

/// Changes to a staff account; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct StaffPatch {
    /// New display name.
    pub display_name: Option<String>,
    /// New role (the library stays).
    pub role: Option<StaffRole>,
    /// Activate or deactivate.
    pub active: Option<bool>,
    /// New password hash.
    pub password_hash: Option<PasswordHash>,
}

/// Applies `patch` to the account if it is inside `scope`.
pub async fn update(
    conn: &impl ConnectionTrait,
    id: StaffId,
    scope: LibraryScope,
    patch: StaffPatch,
    now: DateTime<Utc>,
) -> Result<Option<Staff>> {
    let Some(existing) = scoped(StaffTable::find_by_id(id.0), scope)
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let mut model: staff::ActiveModel = existing.into();
    if let Some(name) = patch.display_name {
        model.display_name = Set(name);
    }
    if let Some(role) = patch.role {
        model.role = Set(role.as_str().to_owned());
    }
    if let Some(active) = patch.active {
        model.active = Set(active);
    }
    if let Some(hash) = patch.password_hash {
        model.password_hash = Set(hash.0);
        model.failed_logins = Set(0);
        model.locked_until = Set(None);
    }
    model.updated_at = Set(now);
    staff_only(model.update(conn).await?).map(Some)
}
