//! Patrons, as staff manage them: registration, lookup, edits, blocks, password resets.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{Ctx, Error, Result};
use crate::domain::{
    CardNumber, DisplayName, Library, LibraryId, NewPatron, Password, Patron, PatronCategory,
    PatronId, Staff,
};
use crate::store::audit::{self, Actor, AuditEntry};
pub use crate::store::patrons::PatronQuery;
use crate::store::patrons::{self, PatronPatch};
use crate::store::{StoreError, libraries};
use sea_orm::DatabaseTransaction;

/// A patron to register.
#[derive(Debug, Clone)]
pub struct RegisterPatron {
    /// Home library (defaults to the staff member's own).
    pub library_id: Option<LibraryId>,
    /// Card number.
    pub card_number: CardNumber,
    /// Name.
    pub display_name: DisplayName,
    /// Category.
    pub category: PatronCategory,
    /// Card expiry.
    pub card_expires_at: DateTime<Utc>,
    /// Initial password.
    pub password: Password,
}

/// Registers a patron at a library inside the actor's scope.
pub async fn register(ctx: &Ctx, actor: &Staff, request: RegisterPatron) -> Result<Patron> {
    let library_id = request
        .library_id
        .or(actor.library_id)
        .ok_or_else(|| {
            crate::domain::FieldError::new("library_id", "is required for consortium admins")
        })
        .map_err(crate::domain::Invalid::from)?;
    if !actor.may_manage_patrons_of(library_id) {
        return Err(Error::NotFound("library"));
    }
    if libraries::get(ctx.db.reader(), library_id).await?.is_none() {
        return Err(Error::NotFound("library"));
    }
    let new = NewPatron {
        library_id,
        card_number: request.card_number,
        display_name: request.display_name,
        category: request.category,
        card_expires_at: request.card_expires_at,
        password_hash: ctx.passwords.hash(request.password).await?,
    };
    let now = ctx.clock.now();
    let txn = ctx.db.begin_write().await?;
    let patron = patrons::insert(&txn, &new, now)
        .await
        .map_err(|e| match e {
            StoreError::Duplicate(_) => Error::Conflict(format!(
                "card number {} is already registered at this library",
                new.card_number.as_str()
            )),
            other => other.into(),
        })?;
    record(
        &txn,
        actor,
        &patron,
        "patron.create",
        json!({ "card_number": patron.card_number }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(patron)
}

async fn record(
    txn: &DatabaseTransaction,
    actor: &Staff,
    patron: &Patron,
    action: &'static str,
    detail: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<()> {
    audit::record(
        txn,
        AuditEntry {
            actor: Actor::Staff(actor.id),
            library_id: Some(patron.library_id),
            action,
            target_kind: "patron",
            target_id: Some(patron.id.0),
            detail: Some(detail),
        },
        now,
    )
    .await?;
    Ok(())
}

/// Patrons inside the actor's scope matching `query`.
pub async fn search(ctx: &Ctx, actor: &Staff, query: &PatronQuery) -> Result<Vec<Patron>> {
    Ok(patrons::search(ctx.db.reader(), actor.scope(), query).await?)
}

/// One patron inside the actor's scope.
pub async fn get(ctx: &Ctx, actor: &Staff, id: PatronId) -> Result<Patron> {
    patrons::get(ctx.db.reader(), id, actor.scope())
        .await?
        .ok_or(Error::NotFound("patron"))
}

/// Changes to a patron's record.
#[derive(Debug, Clone, Default)]
pub struct PatronChanges {
    /// New name.
    pub display_name: Option<DisplayName>,
    /// New category.
    pub category: Option<PatronCategory>,
    /// New card expiry.
    pub card_expires_at: Option<DateTime<Utc>>,
    /// Reset the password.
    pub password: Option<Password>,
}

/// Edits a patron inside the actor's scope.
pub async fn update(
    ctx: &Ctx,
    actor: &Staff,
    id: PatronId,
    changes: PatronChanges,
) -> Result<Patron> {
    let password_hash = match changes.password {
        Some(password) => Some(ctx.passwords.hash(password).await?),
        None => None,
    };
    let reset = password_hash.is_some();
    let patch = PatronPatch {
        display_name: changes.display_name,
        category: changes.category,
        card_expires_at: changes.card_expires_at,
        blocked: None,
        password_hash,
    };
    apply(
        ctx,
        actor,
        id,
        patch,
        "patron.update",
        json!({ "password_reset": reset }),
    )
    .await
}

/// Blocks a patron from borrowing (they can still log in and see why).
pub async fn block(
    ctx: &Ctx,
    actor: &Staff,
    id: PatronId,
    reason: Option<String>,
) -> Result<Patron> {
    let patch = PatronPatch {
        blocked: Some((true, reason.clone())),
        ..Default::default()
    };
    apply(
        ctx,
        actor,
        id,
        patch,
        "patron.block",
        json!({ "reason": reason }),
    )
    .await
}

/// Lifts a block.
pub async fn unblock(ctx: &Ctx, actor: &Staff, id: PatronId) -> Result<Patron> {
    let patch = PatronPatch {
        blocked: Some((false, None)),
        ..Default::default()
    };
    apply(ctx, actor, id, patch, "patron.unblock", json!({})).await
}

async fn apply(
    ctx: &Ctx,
    actor: &Staff,
    id: PatronId,
    patch: PatronPatch,
    action: &'static str,
    detail: serde_json::Value,
) -> Result<Patron> {
    let reset_password = patch.password_hash.is_some();
    let now = ctx.clock.now();
    let txn = ctx.db.begin_write().await?;
    let patron = patrons::update(&txn, id, actor.scope(), patch, now)
        .await?
        .ok_or(Error::NotFound("patron"))?;
    if reset_password {
        crate::store::sessions::delete_all_of(
            &txn,
            crate::store::sessions::Principal::Patron(id),
            None,
        )
        .await?;
    }
    record(&txn, actor, &patron, action, detail, now).await?;
    txn.commit().await?;
    Ok(patron)
}

/// A patron's own profile with their home library.
pub async fn profile(ctx: &Ctx, patron: &Patron) -> Result<Library> {
    libraries::get(ctx.db.reader(), patron.library_id)
        .await?
        .ok_or(Error::NotFound("library"))
}
