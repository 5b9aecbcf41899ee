//! Member libraries.

use serde_json::json;

use super::{Ctx, Error, Result};
use crate::domain::{Library, LibraryId, LibraryName, NewLibrary, Region, Staff};
use crate::store::audit::{self, Actor, AuditEntry};
use crate::store::{StoreError, libraries};

/// Every library, for readers choosing theirs and for staff.
pub async fn list(ctx: &Ctx) -> Result<Vec<Library>> {
    Ok(libraries::list(ctx.db.reader()).await?)
}

/// One library.
/// The library with this code, if any.
pub async fn find_by_code(ctx: &Ctx, code: &crate::domain::LibraryCode) -> Result<Option<Library>> {
    Ok(crate::store::libraries::get_by_code(ctx.db.reader(), code).await?)
}

/// One library.
pub async fn get(ctx: &Ctx, id: LibraryId) -> Result<Library> {
    libraries::get(ctx.db.reader(), id)
        .await?
        .ok_or(Error::NotFound("library"))
}

/// A consortium admin adds a library.
pub async fn create(ctx: &Ctx, actor: &Staff, new: NewLibrary) -> Result<Library> {
    if !actor.may_create_libraries() {
        return Err(Error::Forbidden("only consortium admins create libraries"));
    }
    let now = ctx.clock.now();
    let txn = ctx.db.begin_write().await?;
    let library = libraries::insert(&txn, &new, now)
        .await
        .map_err(|e| match e {
            StoreError::Duplicate(_) => Error::Conflict(format!(
                "a library with code '{}' already exists",
                new.code.as_str()
            )),
            other => other.into(),
        })?;
    audit::record(
        &txn,
        AuditEntry {
            actor: Actor::Staff(actor.id),
            library_id: Some(library.id),
            action: "library.create",
            target_kind: "library",
            target_id: Some(library.id.0),
            detail: Some(json!({ "code": library.code, "name": library.name })),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(library)
}

/// Changes to a library.
#[derive(Debug, Clone, Default)]
pub struct LibraryChanges {
    /// New name.
    pub name: Option<LibraryName>,
    /// New region (`Some(None)` clears it).
    pub region: Option<Option<Region>>,
}

/// A consortium admin, or the library's manager, edits a library.
pub async fn update(
    ctx: &Ctx,
    actor: &Staff,
    id: LibraryId,
    changes: LibraryChanges,
) -> Result<Library> {
    if !actor.may_edit_library(id) {
        // Outside the caller's scope it does not exist for them.
        return if actor.scope().contains(id) {
            Err(Error::Forbidden("only managers edit their library"))
        } else {
            Err(Error::NotFound("library"))
        };
    }
    let now = ctx.clock.now();
    let txn = ctx.db.begin_write().await?;
    let region = changes.region.as_ref().map(Option::as_ref);
    let library = libraries::update(&txn, id, changes.name.as_ref(), region, now)
        .await?
        .ok_or(Error::NotFound("library"))?;
    audit::record(
        &txn,
        AuditEntry {
            actor: Actor::Staff(actor.id),
            library_id: Some(id),
            action: "library.update",
            target_kind: "library",
            target_id: Some(id.0),
            detail: Some(json!({ "name": library.name, "region": library.region })),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(library)
}
