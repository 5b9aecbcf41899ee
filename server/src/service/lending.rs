//! Lending: rules, licence lots, borrowing, licences, return, renewal, revocation and
//! expiry.
//!
//! Borrowing picks a lot the reader's library may lend from, in this order: the
//! library's own lots, then the consortium's shared pool, then other libraries' lots
//! shared with it; within each, the lot that expires first (so copies about to lapse
//! are used before they do), then the oldest. A copy is taken with one conditional
//! `UPDATE` (see `store::lending::take_copy`), so concurrent borrowers can never
//! oversubscribe a lot, on SQLite or PostgreSQL.

use chrono::{DateTime, Duration, Utc};
use jieyue_protocol::licence::{LicenceTerms, Links, Rights};
use jieyue_protocol::status::{LicenceStatus, StatusDocument};
use jieyue_protocol::{ContentKey, DeviceKey, SealedKey};
use serde_json::json;
use uuid::Uuid;

use super::{Ctx, Error, Refusal, Result};
use crate::domain::{
    FieldError, LendingRules, LibraryId, LibraryScope, Loan, LoanState, Patron, PatronCategory,
    Staff, StaffRole, TitleId, rules_precedence,
};
use crate::store::audit::{self, Actor, AuditEntry};
use crate::store::lending::{self as store, IssuedLicence, Lot, RulesCell};
use crate::store::{StoreError, titles};

/// The rules that apply to a patron.
pub async fn rules_for(ctx: &Ctx, library: LibraryId, category: &str) -> Result<LendingRules> {
    store::first_rules(ctx.db.reader(), &rules_precedence(library, category))
        .await?
        .map(|cell| cell.rules)
        .ok_or_else(|| Error::Internal("the consortium default lending rule is missing".into()))
}

/// The rules cells staff can see: their library's and the consortium's.
pub async fn list_rules(ctx: &Ctx, actor: &Staff) -> Result<Vec<RulesCell>> {
    let library = match actor.scope() {
        LibraryScope::All => None,
        LibraryScope::One(library) => Some(library),
    };
    Ok(store::list_rules(ctx.db.reader(), library).await?)
}

/// Sets one cell of the matrix. Managers set their library's cells; consortium admins
/// any, including the consortium's own (`library_id` absent).
pub async fn put_rules(ctx: &Ctx, actor: &Staff, cell: RulesCell) -> Result<()> {
    cell.rules.validate()?;
    if let Some(category) = &cell.category {
        PatronCategory::parse(category)?;
    }
    let allowed = match (actor.role, cell.library_id) {
        (StaffRole::ConsortiumAdmin, _) => true,
        (StaffRole::LibraryManager, Some(library)) => actor.scope().contains(library),
        _ => false,
    };
    if !allowed {
        return Err(Error::Forbidden(
            "only managers set their library's rules; consortium rules are the admins'",
        ));
    }
    let now = ctx.clock.now();
    let txn = ctx.db.begin_write().await?;
    store::put_rules(&txn, &cell, now).await?;
    audit::record(
        &txn,
        AuditEntry {
            actor: Actor::Staff(actor.id),
            library_id: cell.library_id,
            action: "rules.set",
            target_kind: "rules",
            target_id: None,
            detail: Some(
                json!({ "category": cell.category, "rules": format!("{:?}", cell.rules) }),
            ),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

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

fn may_manage_lot(actor: &Staff, owner: Option<LibraryId>) -> bool {
    match (actor.role, owner) {
        (StaffRole::ConsortiumAdmin, _) => true,
        (StaffRole::LibraryManager, Some(library)) => actor.scope().contains(library),
        _ => false,
    }
}

/// Records a purchase.
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
        id: Uuid::now_v7(),
        title_id: new.title_id,
        owner_library_id: new.owner_library_id,
        copies: new.copies,
        active_loans: 0,
        checkouts_left: new.checkout_limit,
        expires_at: new.expires_at,
        status: "active".into(),
        shared_with: new.shared_with,
        created_at: now,
    };
    let txn = ctx.db.begin_write().await?;
    store::insert_lot(&txn, &lot, now)
        .await
        .map_err(|e| match e {
            StoreError::Db(_) => Error::NotFound("library"),
            other => other.into(),
        })?;
    audit::record(
        &txn,
        AuditEntry {
            actor: Actor::Staff(actor.id),
            library_id: lot.owner_library_id,
            action: "lot.create",
            target_kind: "lot",
            target_id: Some(lot.id),
            detail: Some(json!({ "title": lot.title_id, "copies": lot.copies })),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    // New copies go first to whoever waits.
    super::holds::promote(ctx, lot.title_id).await?;
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
            .filter(|l| store::lendable_by(l, library))
            .collect(),
    })
}

/// Changes to a lot.
#[derive(Debug, Clone, Default)]
pub struct LotChanges {
    /// Copies to add (a top-up).
    pub add_copies: Option<u32>,
    /// `active`, `suspended` or `retired`.
    pub status: Option<String>,
    /// Replace the share list.
    pub shared_with: Option<Vec<LibraryId>>,
}

/// Tops up, suspends, retires or re-shares a lot. Retiring stops new loans; loans
/// already out run to their end.
pub async fn update_lot(ctx: &Ctx, actor: &Staff, id: Uuid, changes: LotChanges) -> Result<Lot> {
    let now = ctx.clock.now();
    let txn = ctx.db.begin_write().await?;
    let mut lot = store::lot(&txn, id).await?.ok_or(Error::NotFound("lot"))?;
    if !may_manage_lot(actor, lot.owner_library_id) {
        return Err(
            if lot
                .owner_library_id
                .is_some_and(|l| !actor.scope().contains(l))
            {
                Error::NotFound("lot")
            } else {
                Error::Forbidden("you may not change this lot")
            },
        );
    }
    if let Some(add) = changes.add_copies {
        lot.copies = lot.copies.saturating_add(add);
    }
    if let Some(status) = changes.status {
        if !matches!(status.as_str(), "active" | "suspended" | "retired") {
            return Err(FieldError::new("status", "must be active, suspended or retired").into());
        }
        lot.status = status;
    }
    if let Some(shared) = changes.shared_with {
        lot.shared_with = shared;
    }
    store::update_lot(&txn, &lot, now).await?;
    audit::record(
        &txn,
        AuditEntry {
            actor: Actor::Staff(actor.id),
            library_id: lot.owner_library_id,
            action: "lot.update",
            target_kind: "lot",
            target_id: Some(lot.id),
            detail: Some(json!({ "copies": lot.copies, "status": lot.status })),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    super::holds::promote(ctx, lot.title_id).await?;
    Ok(lot)
}

/// The order in which a library draws on lots (see the module documentation).
fn lot_order(lot: &Lot, library: LibraryId) -> (u8, DateTime<Utc>, DateTime<Utc>) {
    let rank = match lot.owner_library_id {
        Some(owner) if owner == library => 0,
        None => 1,
        Some(_) => 2,
    };
    (
        rank,
        lot.expires_at.unwrap_or(DateTime::<Utc>::MAX_UTC),
        lot.created_at,
    )
}

/// A reader borrows a title. Idempotent on `request_id`: the same request again gets
/// the same loan.
pub async fn borrow(
    ctx: &Ctx,
    patron: &Patron,
    title: TitleId,
    days: Option<u32>,
    request_id: Uuid,
) -> Result<Loan> {
    if let Some(existing) = store::loan_by_request(ctx.db.reader(), patron.id, request_id).await? {
        return Ok(existing);
    }
    let now = ctx.clock.now();
    if patron.blocked {
        return Err(Error::Refused(Refusal::PatronBlocked));
    }
    if !patron.card_valid_at(now) {
        return Err(Error::Refused(Refusal::CardExpired));
    }
    let rules = rules_for(ctx, patron.library_id, &patron.category).await?;
    let days = rules.loan_days(days)?;
    let title_row = titles::get(ctx.db.reader(), title)
        .await?
        .filter(|t| !t.suppressed)
        .ok_or(Error::NotFound("title"))?;

    let txn = ctx.db.begin_write().await?;
    crate::store::patrons::lock(&txn, patron.id).await?;
    if store::active_loan_count(&txn, patron.id).await? >= u64::from(rules.max_loans) {
        return Err(Error::Refused(Refusal::LoanLimit));
    }
    // A copy reserved by the reader's ready hold comes first.
    let reserved = super::holds::fulfil_in(&txn, patron.id, title_row.id, now).await?;
    let lot_id = match reserved {
        Some(lot) => lot,
        None => {
            let mut lots: Vec<Lot> = store::lots_of_title(&txn, title_row.id)
                .await?
                .into_iter()
                .filter(|l| l.status == "active" && store::lendable_by(l, patron.library_id))
                .collect();
            lots.sort_by_key(|l| lot_order(l, patron.library_id));
            let mut taken = None;
            for lot in &lots {
                if store::take_copy(&txn, lot.id, now).await? {
                    taken = Some(lot.id);
                    break;
                }
            }
            taken.ok_or(Error::Refused(Refusal::NoCopyAvailable))?
        }
    };
    let loan = Loan {
        id: Uuid::now_v7(),
        patron_id: patron.id,
        title_id: title_row.id,
        lot_id,
        library_id: patron.library_id,
        request_id,
        started_at: now,
        ends_at: now + Duration::days(i64::from(days)),
        renewals: 0,
        state: LoanState::Active,
        ended_at: None,
        updated_at: now,
    };
    match store::insert_loan(&txn, &loan).await {
        Ok(()) => {}
        Err(StoreError::Duplicate(detail)) => {
            drop(txn);
            // The same request raced itself (a double click): hand back that loan.
            if let Some(existing) =
                store::loan_by_request(ctx.db.reader(), patron.id, request_id).await?
            {
                return Ok(existing);
            }
            tracing::debug!(%detail, "second active loan refused by the database");
            return Err(Error::Refused(Refusal::AlreadyBorrowed));
        }
        Err(other) => return Err(other.into()),
    }
    audit::record(
        &txn,
        AuditEntry {
            actor: Actor::Patron(patron.id),
            library_id: Some(patron.library_id),
            action: "loan.borrow",
            target_kind: "loan",
            target_id: Some(loan.id),
            detail: Some(json!({ "title": title_row.id, "lot": lot_id, "days": days })),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(loan)
}

/// A patron's loans.
pub async fn my_loans(ctx: &Ctx, patron: &Patron, active_only: bool) -> Result<Vec<Loan>> {
    Ok(store::loans_of(ctx.db.reader(), patron.id, active_only).await?)
}

async fn own_loan(ctx: &Ctx, patron: &Patron, id: Uuid) -> Result<Loan> {
    store::loan(ctx.db.reader(), id)
        .await?
        .filter(|l| l.patron_id == patron.id)
        .ok_or(Error::NotFound("loan"))
}

fn open_sealed(ctx: &Ctx, sealed: &str, context: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let sealed = SealedKey::from_text(sealed)
        .map_err(|e| Error::Internal(format!("sealed key unreadable: {e}")))?;
    ctx.keys
        .master
        .open(&sealed, context)
        .map_err(|e| Error::Internal(format!("sealed key does not open: {e}")))
}

/// The licence of a loan for one of the patron's devices. Fetching it again returns the
/// stored licence (a renewal issues a fresh one with the new end).
pub async fn licence(ctx: &Ctx, patron: &Patron, loan_id: Uuid, device_id: Uuid) -> Result<String> {
    let loan = own_loan(ctx, patron, loan_id).await?;
    if loan.state != LoanState::Active {
        return Err(Error::Refused(Refusal::LoanEnded));
    }
    let device = store::device(ctx.db.reader(), device_id)
        .await?
        .filter(|d| d.patron_id == patron.id)
        .ok_or(Error::NotFound("device"))?;
    let existing = store::licence_for(ctx.db.reader(), loan.id, device.id).await?;
    if let Some(existing) = &existing
        && existing.ends_at == loan.ends_at
    {
        return Ok(existing.token.clone());
    }
    let title = titles::get(ctx.db.reader(), loan.title_id)
        .await?
        .ok_or(Error::NotFound("title"))?;
    let content_key = ContentKey::from_slice(&open_sealed(
        ctx,
        &title.content_key_sealed,
        title.id.0.as_bytes(),
    )?)
    .map_err(|e| Error::Internal(e.to_string()))?;
    let device_key =
        DeviceKey::from_slice(&open_sealed(ctx, &device.key_sealed, device.id.as_bytes())?)
            .map_err(|e| Error::Internal(e.to_string()))?;
    let now = ctx.clock.now();
    let id = existing.as_ref().map_or_else(Uuid::now_v7, |e| e.id);
    let terms = LicenceTerms {
        id,
        loan_id: loan.id,
        publication_id: title.id.0,
        patron: patron.id.to_string(),
        device_id: device.id,
        issued: now,
        server_time: now,
        rights: Rights {
            start: loan.started_at,
            end: loan.ends_at,
            print: None,
            copy: None,
        },
        links: Links {
            status: format!("/api/v1/licences/{id}/status"),
            renew: format!("/api/v1/me/loans/{}/renew", loan.id),
            return_: format!("/api/v1/me/loans/{}/return", loan.id),
            package: format!("/api/v1/catalog/{}/package", title.id),
        },
        package_sha256: Some(title.package_sha256.clone()),
    };
    let token =
        jieyue_protocol::licence::issue(terms, &content_key, &device_key, &ctx.keys.signing)
            .map_err(|e| Error::Internal(e.to_string()))?;
    let issued = IssuedLicence {
        id,
        ends_at: loan.ends_at,
        token: token.clone(),
        loan_id: loan.id,
    };
    let txn = ctx.db.begin_write().await?;
    store::save_licence(&txn, &issued, device.id, now).await?;
    txn.commit().await?;
    Ok(token)
}

async fn finish_loan(
    ctx: &Ctx,
    loan: &Loan,
    state: LoanState,
    actor: Actor,
    action: &'static str,
    notify: Option<&str>,
) -> Result<Loan> {
    let now = ctx.clock.now();
    let txn = ctx.db.begin_write().await?;
    let ended = store::end_loan(&txn, loan.id, state, now)
        .await?
        .ok_or(Error::Refused(Refusal::LoanEnded))?;
    if let Some(kind) = notify {
        let payload = json!({ "loan_id": loan.id, "title_id": loan.title_id });
        crate::store::holds::notify(&txn, loan.patron_id, kind, payload, now).await?;
    }
    audit::record(
        &txn,
        AuditEntry {
            actor,
            library_id: Some(loan.library_id),
            action,
            target_kind: "loan",
            target_id: Some(loan.id),
            detail: Some(json!({ "title": loan.title_id })),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    super::holds::promote(ctx, loan.title_id).await?;
    Ok(ended)
}

/// A reader returns a loan early; the copy is free at once.
pub async fn return_loan(ctx: &Ctx, patron: &Patron, loan_id: Uuid) -> Result<Loan> {
    let loan = own_loan(ctx, patron, loan_id).await?;
    finish_loan(
        ctx,
        &loan,
        LoanState::Returned,
        Actor::Patron(patron.id),
        "loan.return",
        None,
    )
    .await
}

/// Staff revoke a loan of a patron of their library; the reader is told.
pub async fn revoke(ctx: &Ctx, actor: &Staff, loan_id: Uuid) -> Result<Loan> {
    let loan = store::loan(ctx.db.reader(), loan_id)
        .await?
        .filter(|l| actor.scope().contains(l.library_id))
        .ok_or(Error::NotFound("loan"))?;
    finish_loan(
        ctx,
        &loan,
        LoanState::Revoked,
        Actor::Staff(actor.id),
        "loan.revoke",
        Some("loan_revoked"),
    )
    .await
}

/// A reader renews a loan if the rules allow one more renewal. (Refusal while others
/// wait for the title arrives with holds.)
pub async fn renew(ctx: &Ctx, patron: &Patron, loan_id: Uuid) -> Result<Loan> {
    let loan = own_loan(ctx, patron, loan_id).await?;
    if loan.state != LoanState::Active {
        return Err(Error::Refused(Refusal::LoanEnded));
    }
    let rules = rules_for(ctx, patron.library_id, &patron.category).await?;
    if loan.renewals >= rules.renewals || super::holds::others_waiting(ctx, loan.title_id).await? {
        return Err(Error::Refused(Refusal::RenewalRefused));
    }
    let now = ctx.clock.now();
    let new_end = loan.renewed_end(&rules);
    let txn = ctx.db.begin_write().await?;
    if !store::extend_loan(&txn, loan.id, new_end, now).await? {
        return Err(Error::Refused(Refusal::LoanEnded));
    }
    audit::record(
        &txn,
        AuditEntry {
            actor: Actor::Patron(patron.id),
            library_id: Some(loan.library_id),
            action: "loan.renew",
            target_kind: "loan",
            target_id: Some(loan.id),
            detail: Some(json!({ "ends_at": new_end })),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    store::loan(ctx.db.reader(), loan.id)
        .await?
        .ok_or(Error::NotFound("loan"))
}

/// Expires every loan whose end has passed, freeing its copy. Idempotent: a loan ended
/// by someone else in the meantime is skipped. Returns how many expired.
pub async fn expire_due(ctx: &Ctx) -> Result<usize> {
    let now = ctx.clock.now();
    let mut expired = 0;
    let mut freed = Vec::new();
    loop {
        let due = store::due_loans(ctx.db.reader(), now, 200).await?;
        if due.is_empty() {
            freed.sort();
            freed.dedup();
            for title in freed {
                super::holds::promote(ctx, title).await?;
            }
            return Ok(expired);
        }
        for id in &due {
            let txn = ctx.db.begin_write().await?;
            if let Some(loan) = store::end_loan(&txn, *id, LoanState::Expired, now).await? {
                freed.push(loan.title_id);
                audit::record(
                    &txn,
                    AuditEntry {
                        actor: Actor::System,
                        library_id: Some(loan.library_id),
                        action: "loan.expire",
                        target_kind: "loan",
                        target_id: Some(loan.id),
                        detail: None,
                    },
                    now,
                )
                .await?;
                expired += 1;
            }
            txn.commit().await?;
        }
    }
}

/// The signed status document of a licence.
pub async fn status_document(ctx: &Ctx, licence_id: Uuid) -> Result<String> {
    let issued = store::licence_by_id(ctx.db.reader(), licence_id)
        .await?
        .ok_or(Error::NotFound("licence"))?;
    let loan = store::loan(ctx.db.reader(), issued.loan_id)
        .await?
        .ok_or(Error::NotFound("loan"))?;
    let status = match loan.state {
        LoanState::Active => LicenceStatus::Active,
        LoanState::Returned => LicenceStatus::Returned,
        LoanState::Expired => LicenceStatus::Expired,
        LoanState::Revoked => LicenceStatus::Revoked,
    };
    let document = StatusDocument {
        licence_id,
        loan_id: loan.id,
        status,
        end: loan.ends_at,
        updated: loan.updated_at,
        server_time: ctx.clock.now(),
    };
    jieyue_protocol::status::sign(&document, &ctx.keys.signing)
        .map_err(|e| Error::Internal(e.to_string()))
}

/// Days before a loan's end when the reader is reminded.
pub const ENDING_NOTICE_DAYS: i64 = 3;

/// Tells readers whose loans end within [`ENDING_NOTICE_DAYS`] (once per end; a
/// renewal re-arms the reminder). Safe with several replicas: each loan is claimed by
/// one conditional update.
pub async fn remind_ending(ctx: &Ctx) -> Result<usize> {
    let now = ctx.clock.now();
    let txn = ctx.db.begin_write().await?;
    let loans =
        store::claim_ending_reminders(&txn, now + Duration::days(ENDING_NOTICE_DAYS), now).await?;
    for loan in &loans {
        crate::store::holds::notify(
            &txn,
            loan.patron_id,
            "loan_ending",
            json!({ "loan_id": loan.id, "title_id": loan.title_id, "ends_at": loan.ends_at }),
            now,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(loans.len())
}

/// Retires used-up metered lots and expired lots once their last loan is back.
pub async fn retire_exhausted_lots(ctx: &Ctx) -> Result<u64> {
    let txn = ctx.db.begin_write().await?;
    let retired = store::retire_exhausted(&txn, ctx.clock.now()).await?;
    txn.commit().await?;
    Ok(retired)
}
