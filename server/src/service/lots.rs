//! Licence lots: what staff buy, top up, suspend, retire and share.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{Ctx, Error, Result};
use crate::domain::{
    FieldError, LibraryId, LibraryScope, Lot, LotId, LotStatus, Staff, StaffRole, TitleId,
};
use crate::store::audit::{self, Actor, AuditEntry};
use crate::store::{StoreError, copy_freed, lots as store, titles};

/// What staff buy: a lot to create.
#[derive(Debug, Clone)]
pub struct NewLot {
    /// The title.
    pub title_id: TitleId,
    /// Owning library; `None` for the consortium's shared pool.
    pub owner_library_id: Option<LibraryId>,
    /// Concurrent copies.
    pub copies: u32,
    /// Total checkouts allowed (metered lots).
    pub checkout_limit: Option<u32>,
    /// No new loans after this.
    pub expires_at: Option<DateTime<Utc>>,
    /// Other libraries that may lend it.
    pub shared_with: Vec<LibraryId>,
}

/// Whether `actor` may buy or change a lot owned by `owner` (`None`: the shared pool).
pub fn may_manage_lot(actor: &Staff, owner: Option<LibraryId>) -> bool {
    match (actor.role, owner) {
        (StaffRole::ConsortiumAdmin, _) => true,
        (StaffRole::LibraryManager, Some(library)) => actor.scope().contains(library),
        _ => false,
    }
}

/// Records a purchase. The new copies go first to whoever waits.
pub async fn create_lot(ctx: &Ctx, actor: &Staff, new: NewLot) -> Result<Lot> {
    if !may_manage_lot(actor, new.owner_library_id) {
        return Err(Error::Forbidden(
            "managers buy for their own library; the shared pool is the consortium admins'",
        ));
    }
    if new.copies == 0 || new.copies > 100_000 {
        return Err(FieldError::new("copies", "must be 1-100000").into());
    }
    titles::get(ctx.db.reader(), new.title_id)
        .await?
        .ok_or(Error::NotFound("title"))?;
    let now = ctx.clock.now();
    let lot = Lot {
        id: LotId::new(),
        title_id: new.title_id,
        owner_library_id: new.owner_library_id,
        copies: new.copies,
        active_loans: 0,
        checkouts_left: new.checkout_limit,
        expires_at: new.expires_at,
        status: LotStatus::Active,
        shared_with: new.shared_with,
        created_at: now,
    };
    let txn = ctx.db.begin_write().await?;
    store::insert_lot(&txn, &lot, now)
        .await
        .map_err(|e| match e {
            // The only references a new lot makes are to libraries; any other failure
            // keeps its cause.
            StoreError::Db(ref db)
                if matches!(
                    db.sql_err(),
                    Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_))
                ) =>
            {
                Error::NotFound("library")
            }
            other => other.into(),
        })?;
    copy_freed::record(&txn, lot.title_id, now).await?;
    audit::record(
        &txn,
        AuditEntry {
            actor: Actor::Staff(actor.id),
            library_id: lot.owner_library_id,
            action: "lot.create",
            target_kind: "lot",
            target_id: Some(lot.id.0),
            detail: Some(json!({ "title": lot.title_id, "copies": lot.copies })),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    ctx.cache.forget_lots(lot.title_id);
    ctx.copies_freed().await;
    Ok(lot)
}

/// The lots of a title that the actor may see (their library's, the pool, and those
/// shared with their library).
pub async fn lots_of_title(ctx: &Ctx, actor: &Staff, title: TitleId) -> Result<Vec<Lot>> {
    let lots = store::lots_of_title(ctx.db.reader(), title).await?;
    Ok(match actor.scope() {
        LibraryScope::All => lots,
        LibraryScope::One(library) => lots
            .into_iter()
            .filter(|l| l.lendable_by(library))
            .collect(),
    })
}

/// Changes to a lot.
#[derive(Debug, Clone, Default)]
pub struct LotChanges {
    /// Copies to add (a top-up).
    pub add_copies: Option<u32>,
    /// A new status.
    pub status: Option<LotStatus>,
    /// Replace the share list.
    pub shared_with: Option<Vec<LibraryId>>,
}

/// Tops up, suspends, retires or re-shares a lot. Retiring stops new loans; loans
/// already out run to their end.
pub async fn update_lot(ctx: &Ctx, actor: &Staff, id: LotId, changes: LotChanges) -> Result<Lot> {
    let now = ctx.clock.now();
    let txn = ctx.db.begin_write().await?;
    let mut lot = store::lot(&txn, id).await?.ok_or(Error::NotFound("lot"))?;
    if !may_manage_lot(actor, lot.owner_library_id) {
        let foreign = lot
            .owner_library_id
            .is_some_and(|l| !actor.scope().contains(l));
        return Err(if foreign {
            Error::NotFound("lot")
        } else {
            Error::Forbidden("you may not change this lot")
        });
    }
    if let Some(add) = changes.add_copies {
        lot.copies = lot.copies.saturating_add(add);
    }
    if let Some(status) = changes.status {
        lot.status = status;
    }
    if let Some(shared) = changes.shared_with {
        lot.shared_with = shared;
    }
    store::update_lot(&txn, &lot, now).await?;
    // More copies, a resumed lot or a wider share list may serve the queue.
    copy_freed::record(&txn, lot.title_id, now).await?;
    audit::record(
        &txn,
        AuditEntry {
            actor: Actor::Staff(actor.id),
            library_id: lot.owner_library_id,
            action: "lot.update",
            target_kind: "lot",
            target_id: Some(lot.id.0),
            detail: Some(json!({ "copies": lot.copies, "status": lot.status.as_str() })),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    ctx.cache.forget_lots(lot.title_id);
    ctx.copies_freed().await;
    Ok(lot)
}

/// Retires used-up metered lots and expired lots once their last loan is back.
pub async fn retire_exhausted_lots(ctx: &Ctx) -> Result<u64> {
    let txn = ctx.db.begin_write().await?;
    let retired = store::retire_exhausted(&txn, ctx.clock.now()).await?;
    txn.commit().await?;
    Ok(retired)
}

/// One library's stock of a title, as staff see it.
#[derive(Debug, Clone)]
pub struct LibraryStock {
    /// The library.
    pub library: crate::domain::Library,
    /// Copies in the lots it can lend from now (as the availability API counts them).
    pub copies_total: u64,
    /// Of those, copies free now.
    pub copies_available: u64,
    /// Its readers' holds waiting in the title's queue (suspended ones included).
    pub holds_waiting: u64,
    /// The lots it lends from now, in the order it draws on them.
    pub draw_order: Vec<Lot>,
}

/// A title's licence lots and stock, as a staff member may see them.
#[derive(Debug, Clone)]
pub struct TitleStock {
    /// The title (suppressed or not).
    pub title: crate::domain::Title,
    /// The lots the staff member may see ([`lots_of_title`]).
    pub lots: Vec<Lot>,
    /// Every library of the consortium (owners, share lists).
    pub libraries: Vec<crate::domain::Library>,
    /// The stock of each library in the staff member's scope.
    pub stock: Vec<LibraryStock>,
}

/// A title's lots, and for each library in the actor's scope the copies it can lend,
/// the holds its readers have waiting, and the lots it draws on in order.
pub async fn title_stock(ctx: &Ctx, actor: &Staff, title: TitleId) -> Result<TitleStock> {
    let title = super::catalogue::get_any(ctx, title).await?;
    let lots = lots_of_title(ctx, actor, title.id).await?;
    let libraries = super::libraries::list(ctx).await?;
    let queue = crate::store::holds::waiting_queue(ctx.db.reader(), title.id).await?;
    let now = ctx.clock.now();
    let scope = actor.scope();
    let mut stock = Vec::new();
    for library in libraries.iter().filter(|l| scope.contains(l.id)) {
        let availability = super::holds::availability(ctx, title.id, library.id, None).await?;
        stock.push(LibraryStock {
            library: library.clone(),
            copies_total: availability.copies_total,
            copies_available: availability.copies_available,
            holds_waiting: queue
                .iter()
                .filter(|h| h.library_id == library.id)
                .count()
                .try_into()
                .unwrap_or(u64::MAX),
            // Every lot the library may lend from is among those it may see.
            draw_order: crate::domain::draw_order(&lots, library.id, now)
                .into_iter()
                .cloned()
                .collect(),
        });
    }
    Ok(TitleStock {
        title,
        lots,
        libraries,
        stock,
    })
}
