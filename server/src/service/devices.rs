//! Device enrolment: each reading device agrees a device key with the server
//! (`jieyue_protocol::enrolment`); the server keeps it sealed under the master key and
//! wraps content keys for it in licences.

use jieyue_protocol::enrolment::{self, EnrolmentRequest};
use serde_json::json;

use super::rules::rules_for;
use super::{Ctx, Error, Refusal, Result};
use crate::domain::{Device, DeviceId, FieldError, Patron, PatronId, Staff};
use crate::store::audit::{self, Actor, AuditEntry};
use crate::store::{devices as store, patrons};

/// Enrols (or re-enrols) a device for a patron; returns the signed reply for the app.
pub async fn enrol(
    ctx: &Ctx,
    patron: &Patron,
    request: &EnrolmentRequest,
) -> Result<(String, Device)> {
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(FieldError::new("name", "must be 1-200 characters").into());
    }
    let rules = rules_for(ctx, patron.library_id, &patron.category).await?;
    let now = ctx.clock.now();
    let (reply, key) =
        enrolment::respond(request, &ctx.keys.signing, now).map_err(|e| match e {
            enrolment::EnrolmentError::PublicKey => Error::from(FieldError::new(
                "client_public_key",
                "is not a valid X25519 key",
            )),
            other => Error::internal("enrolment")(other),
        })?;
    let sealed = ctx
        .keys
        .master
        .seal(key.expose_secret(), request.device_id.as_bytes())
        .map_err(Error::internal("sealing the device key"))?;
    let device = Device {
        id: DeviceId(request.device_id),
        patron_id: patron.id,
        name: name.to_owned(),
        key_sealed: sealed.to_text(),
        enrolled_at: now,
    };

    let txn = ctx.db.begin_write().await?;
    patrons::lock(&txn, patron.id).await?;
    match store::device(&txn, device.id).await? {
        Some(existing) if existing.patron_id != patron.id => {
            return Err(Error::Conflict(
                "this device id is enrolled to another reader".into(),
            ));
        }
        Some(_) => {} // Re-enrolment (a reinstalled app): a new key, same slot.
        None => {
            let count = store::devices_of(&txn, patron.id).await?.len();
            if count >= rules.max_devices as usize {
                return Err(Error::Refused(Refusal::DeviceLimit));
            }
        }
    }
    store::save_device(&txn, &device).await?;
    audit::record(
        &txn,
        AuditEntry {
            actor: Actor::Patron(patron.id),
            library_id: Some(patron.library_id),
            action: "device.enrol",
            target_kind: "device",
            target_id: Some(device.id.0),
            detail: Some(json!({ "name": device.name })),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    ctx.cache.forget_device(device.id);
    Ok((reply, device))
}

/// A patron's devices.
pub async fn list(ctx: &Ctx, patron: PatronId) -> Result<Vec<Device>> {
    Ok(store::devices_of(ctx.db.reader(), patron).await?)
}

/// Removes one of the patron's devices (its licences stop being renewed to it).
pub async fn remove(ctx: &Ctx, patron: &Patron, device: DeviceId) -> Result<()> {
    remove_as(
        ctx,
        patron.id,
        device,
        Actor::Patron(patron.id),
        Some(patron.library_id),
    )
    .await
}

/// Staff remove a device of a patron of their library.
pub async fn remove_by_staff(
    ctx: &Ctx,
    actor: &Staff,
    patron: PatronId,
    device: DeviceId,
) -> Result<()> {
    let owner = patrons::get(ctx.db.reader(), patron, actor.scope())
        .await?
        .ok_or(Error::NotFound("patron"))?;
    remove_as(
        ctx,
        owner.id,
        device,
        Actor::Staff(actor.id),
        Some(owner.library_id),
    )
    .await
}

/// A patron's devices, for staff of their library.
pub async fn list_by_staff(ctx: &Ctx, actor: &Staff, patron: PatronId) -> Result<Vec<Device>> {
    let owner = patrons::get(ctx.db.reader(), patron, actor.scope())
        .await?
        .ok_or(Error::NotFound("patron"))?;
    list(ctx, owner.id).await
}

async fn remove_as(
    ctx: &Ctx,
    patron: PatronId,
    device: DeviceId,
    actor: Actor,
    library: Option<crate::domain::LibraryId>,
) -> Result<()> {
    let now = ctx.clock.now();
    let txn = ctx.db.begin_write().await?;
    if !store::delete_device(&txn, patron, device).await? {
        return Err(Error::NotFound("device"));
    }
    audit::record(
        &txn,
        AuditEntry {
            actor,
            library_id: library,
            action: "device.remove",
            target_kind: "device",
            target_id: Some(device.0),
            detail: None,
        },
        now,
    )
    .await?;
    txn.commit().await?;
    ctx.cache.forget_device(device);
    Ok(())
}
