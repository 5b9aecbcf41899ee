//! Staff accounts: creation, roles, deactivation, password resets.

use serde_json::json;

use super::{Ctx, Error, Result};
use crate::domain::{LibraryId, NewStaff, Password, Staff, StaffId, StaffRole, Username};
use crate::store::audit::{self, Actor, AuditEntry};
use crate::store::sessions::{self, Principal};
use crate::store::{StoreError, libraries, staff};
use jieyue_protocol::api::SecretString;

/// A staff account to create.
#[derive(Debug, Clone)]
pub struct CreateStaff {
    /// Login name.
    pub username: Username,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: StaffRole,
    /// Library (required except for consortium admins).
    pub library_id: Option<LibraryId>,
    /// Initial password.
    pub password: Password,
}

/// Creates a staff account, if `actor` may manage that role in that library.
pub async fn create(ctx: &Ctx, actor: &Staff, request: CreateStaff) -> Result<Staff> {
    // A consortium admin belongs to no library.
    let library_id = match request.role {
        StaffRole::ConsortiumAdmin => None,
        _ => request.library_id,
    };
    NewStaff::check_role_scope(request.role, library_id)?;
    if !actor.may_manage_staff(request.role, library_id) {
        return Err(Error::Forbidden("you may not create this staff account"));
    }
    if let Some(library) = library_id
        && libraries::get(ctx.db.reader(), library).await?.is_none()
    {
        return Err(Error::NotFound("library"));
    }
    let new = NewStaff {
        username: request.username,
        display_name: request.display_name,
        role: request.role,
        library_id,
        password_hash: ctx.passwords.hash(request.password).await?,
    };
    let now = ctx.clock.now();
    let txn = ctx.db.begin_write().await?;
    let created = staff::insert(&txn, &new, now).await.map_err(|e| match e {
        StoreError::Duplicate(_) => {
            Error::Conflict(format!("the username '{}' is taken", new.username.as_str()))
        }
        other => other.into(),
    })?;
    audit::record(
        &txn,
        AuditEntry {
            actor: Actor::Staff(actor.id),
            library_id,
            action: "staff.create",
            target_kind: "staff",
            target_id: Some(created.id.0),
            detail: Some(json!({ "username": created.username, "role": created.role.as_str() })),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(created)
}

/// Staff accounts the actor can see (their library's, or all for consortium admins).
pub async fn list(ctx: &Ctx, actor: &Staff) -> Result<Vec<Staff>> {
    Ok(staff::list(ctx.db.reader(), actor.scope()).await?)
}

/// One staff account inside the actor's scope.
pub async fn get(ctx: &Ctx, actor: &Staff, id: StaffId) -> Result<Staff> {
    staff::get(ctx.db.reader(), id, actor.scope())
        .await?
        .ok_or(Error::NotFound("staff member"))
}

/// Changes to a staff account.
#[derive(Debug, Clone, Default)]
pub struct StaffChanges {
    /// New display name.
    pub display_name: Option<String>,
    /// New role.
    pub role: Option<StaffRole>,
    /// Activate or deactivate.
    pub active: Option<bool>,
    /// Reset the password.
    pub password: Option<Password>,
}

/// Changes a staff account the actor may manage. Nobody changes their own role or
/// deactivates themselves (so the consortium cannot lock itself out by accident).
pub async fn update(ctx: &Ctx, actor: &Staff, id: StaffId, changes: StaffChanges) -> Result<Staff> {
    let target = get(ctx, actor, id).await?;
    if !actor.may_manage_staff(target.role, target.library_id) {
        return Err(Error::Forbidden("you may not change this staff account"));
    }
    if target.id == actor.id && (changes.role.is_some() || changes.active == Some(false)) {
        return Err(Error::Forbidden(
            "you cannot change your own role or deactivate yourself",
        ));
    }
    if let Some(role) = changes.role {
        NewStaff::check_role_scope(role, target.library_id)?;
        if !actor.may_manage_staff(role, target.library_id) {
            return Err(Error::Forbidden("you may not give this role"));
        }
    }
    let password_hash = match changes.password {
        Some(password) => Some(ctx.passwords.hash(password).await?),
        None => None,
    };
    let reset_password = password_hash.is_some();
    let deactivated = changes.active == Some(false);
    let patch = staff::StaffPatch {
        display_name: changes.display_name,
        role: changes.role,
        active: changes.active,
        password_hash,
    };
    let now = ctx.clock.now();
    let txn = ctx.db.begin_write().await?;
    let updated = staff::update(&txn, id, actor.scope(), patch, now)
        .await?
        .ok_or(Error::NotFound("staff member"))?;
    if deactivated || reset_password {
        sessions::delete_all_of(&txn, Principal::Staff(id), None).await?;
    }
    audit::record(
        &txn,
        AuditEntry {
            actor: Actor::Staff(actor.id),
            library_id: updated.library_id,
            action: "staff.update",
            target_kind: "staff",
            target_id: Some(id.0),
            detail: Some(json!({
                "role": updated.role.as_str(),
                "active": updated.active,
                "password_reset": reset_password,
            })),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

/// Creates the first consortium admin if there are no staff at all. Returns the
/// generated password when none was given, so the caller can show it once.
pub async fn bootstrap_admin(
    ctx: &Ctx,
    password: Option<&SecretString>,
) -> Result<Option<Bootstrap>> {
    if staff::count(ctx.db.reader()).await? > 0 {
        return Ok(None);
    }
    let (password, generated) = match password {
        Some(given) => (
            Password::parse_new("JIEYUE_BOOTSTRAP_ADMIN_PASSWORD", given)?,
            false,
        ),
        None => {
            let mut bytes = zeroize::Zeroizing::new([0u8; 18]);
            ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), bytes.as_mut())
                .map_err(|_| Error::Bug("the system random generator failed"))?;
            use base64::Engine as _;
            let text = SecretString::new(
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_ref()),
            );
            (Password::parse_new("generated", &text)?, true)
        }
    };
    let shown = generated.then(|| SecretString::new(String::from_utf8_lossy(password.expose())));
    let new = NewStaff {
        username: Username::parse("admin")?,
        display_name: "Consortium administrator".to_owned(),
        role: StaffRole::ConsortiumAdmin,
        library_id: None,
        password_hash: ctx.passwords.hash(password).await?,
    };
    let now = ctx.clock.now();
    let txn = ctx.db.begin_write().await?;
    // Another replica may have bootstrapped in the meantime: the unique username
    // makes that a no-op rather than a second admin.
    let created = match staff::insert(&txn, &new, now).await {
        Ok(created) => created,
        Err(StoreError::Duplicate(_)) => return Ok(None),
        Err(other) => return Err(other.into()),
    };
    audit::record(
        &txn,
        AuditEntry {
            actor: Actor::System,
            library_id: None,
            action: "staff.bootstrap",
            target_kind: "staff",
            target_id: Some(created.id.0),
            detail: None,
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(Some(Bootstrap {
        admin: created,
        generated_password: shown,
    }))
}

/// The outcome of creating the first admin.
#[derive(Debug)]
pub struct Bootstrap {
    /// The admin account.
    pub admin: Staff,
    /// The password, if it was generated (show it once, then forget it).
    pub generated_password: Option<SecretString>,
}
