//! Lending: borrowing (with the device licence in the same request), licences, return,
//! renewal, revocation, expiry and status documents.
//!
//! Borrowing draws on the lots the reader's library may lend from now, in the order of
//! [`crate::domain::draw_order`]. A copy is taken with one conditional `UPDATE` (see
//! `store::lots::take_copy`), so concurrent borrowers can never oversubscribe a lot, on
//! SQLite or PostgreSQL. Every path that frees a copy records `copy_freed` in its own
//! transaction and then tells [`Ctx::copies_freed`]; lending never calls the holds
//! queue itself.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use jieyue_protocol::api::paths;
use jieyue_protocol::licence::{LicenceTerms, Links, Rights};
use jieyue_protocol::status::{LicenceStatus, StatusDocument};
use jieyue_protocol::{ContentKey, DeviceKey, SealedKey};
use serde_json::json;
use uuid::Uuid;

use super::cache::{DeviceKeyEntry, LendableTitle};
use super::rules::{rules_for, rules_for_loan};
use super::{Ctx, Error, Refusal, Result};
use crate::domain::staff_reason;
use crate::domain::{
    CirculationBar, DeviceId, IssuedLicence, LendingRules, LicenceId, Loan, LoanId, LoanState, Lot,
    NotificationKind, Patron, RenewalRefusal, TitleId, draw_order,
};
use crate::store::audit::{self, Actor, AuditEntry};
use crate::store::borrow::{self, BorrowOutcome};
use crate::store::{copy_freed, devices, holds, licences, loans, lots, notifications, titles};

/// Refuses a reader the library has barred from circulation.
pub fn check_may_borrow(patron: &Patron, now: DateTime<Utc>) -> Result<()> {
    match patron.circulation_bar(now) {
        None => Ok(()),
        Some(CirculationBar::Blocked) => Err(Error::Refused(Refusal::PatronBlocked)),
        Some(CirculationBar::CardExpired) => Err(Error::Refused(Refusal::CardExpired)),
    }
}

fn open_sealed(ctx: &Ctx, sealed: &str, context: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let sealed = SealedKey::from_text(sealed).map_err(Error::internal("sealed key unreadable"))?;
    ctx.keys
        .master
        .open(&sealed, context)
        .map_err(Error::internal("sealed key does not open"))
}

/// The lending facts of a title, with its content key unsealed (cached).
pub(crate) async fn lendable_title(ctx: &Ctx, id: TitleId) -> Result<LendableTitle> {
    if let Some(title) = ctx.cache.title(id) {
        return Ok(title);
    }
    let title = titles::get(ctx.db.reader(), id)
        .await?
        .ok_or(Error::NotFound("title"))?;
    let key = open_sealed(ctx, &title.content_key_sealed, title.id.0.as_bytes())?;
    let entry = LendableTitle {
        id: title.id,
        suppressed: title.suppressed,
        kind: title.media.kind,
        package_sha256: title.package_sha256,
        content_key: Arc::new(
            ContentKey::from_slice(&key).map_err(Error::internal("content key"))?,
        ),
    };
    ctx.cache.put_title(entry.clone());
    Ok(entry)
}

/// The lots of a title as last read (cached; copies out are not to be trusted here).
async fn cached_lots(ctx: &Ctx, title: TitleId) -> Result<Arc<Vec<Lot>>> {
    if let Some(lots) = ctx.cache.lots(title) {
        return Ok(lots);
    }
    let fresh = Arc::new(lots::lots_of_title(ctx.db.reader(), title).await?);
    ctx.cache.put_lots(title, fresh.clone());
    Ok(fresh)
}

/// One of the patron's devices with its key unsealed (cached).
async fn device_key(ctx: &Ctx, patron: &Patron, id: DeviceId) -> Result<DeviceKeyEntry> {
    let entry = match ctx.cache.device(id) {
        Some(entry) => entry,
        None => {
            let device = devices::device(ctx.db.reader(), id)
                .await?
                .ok_or(Error::NotFound("device"))?;
            let key = open_sealed(ctx, &device.key_sealed, device.id.0.as_bytes())?;
            let entry = DeviceKeyEntry {
                patron_id: device.patron_id,
                key: Arc::new(DeviceKey::from_slice(&key).map_err(Error::internal("device key"))?),
            };
            ctx.cache.put_device(id, entry.clone());
            entry
        }
    };
    if entry.patron_id != patron.id {
        return Err(Error::NotFound("device"));
    }
    Ok(entry)
}

/// Signs the licence of `loan` for a device.
fn sign_licence(
    ctx: &Ctx,
    id: LicenceId,
    loan: &Loan,
    title: &LendableTitle,
    device: DeviceId,
    device_key: &DeviceKey,
    now: DateTime<Utc>,
) -> Result<IssuedLicence> {
    let terms = LicenceTerms {
        id: id.0,
        loan_id: loan.id.0,
        publication_id: title.id.0,
        patron: loan.patron_id.to_string(),
        device_id: device.0,
        issued: now,
        server_time: now,
        rights: Rights {
            start: loan.started_at,
            end: loan.ends_at,
            print: None,
            copy: None,
        },
        links: Links {
            status: paths::licence_status(id.0),
            renew: paths::loan_renew(loan.id.0),
            return_: paths::loan_return(loan.id.0),
            package: paths::package(title.id.0),
        },
        package_sha256: Some(title.package_sha256.clone()),
    };
    let token =
        jieyue_protocol::licence::issue(terms, &title.content_key, device_key, &ctx.keys.signing)
            .map_err(Error::internal("licence signing"))?;
    Ok(IssuedLicence {
        id,
        loan_id: loan.id,
        device_id: device,
        ends_at: loan.ends_at,
        token,
    })
}

/// A borrow request.
#[derive(Debug, Clone, Copy)]
pub struct BorrowRequest {
    /// The title.
    pub title: TitleId,
    /// Loan length (`None`: the rules' default).
    pub days: Option<u32>,
    /// The client's id for this attempt: the same request again gets the same loan.
    pub request_id: Uuid,
    /// A device of the reader's to issue the licence for, in the same transaction.
    pub device: Option<DeviceId>,
}

/// A loan made, with the licence for the device the request named.
#[derive(Debug, Clone)]
pub struct Borrowed {
    /// The loan with its renewal prospects.
    pub loan: LoanSummary,
    /// The licence (JWS) for the requested device.
    pub licence: Option<String>,
}

enum Attempt {
    Made(Borrowed),
    Refused(Error),
    /// The cached lots offered nothing: read them again once before refusing.
    NoLot,
}

/// A reader borrows a title. Idempotent on `request_id`. With a device, the licence
/// for it is signed before and stored in the loan's own transaction, so one request,
/// one authentication and one write transaction make a readable loan.
pub async fn borrow(ctx: &Ctx, patron: &Patron, request: BorrowRequest) -> Result<Borrowed> {
    let now = ctx.clock.now();
    check_may_borrow(patron, now)?;
    let title = lendable_title(ctx, request.title).await?;
    // The loan length may be the title's kind's (a kind's rules cell).
    let rules = rules_for_loan(ctx, patron.library_id, &patron.category, title.kind).await?;
    let days = rules.loan_days(request.days)?;
    if title.suppressed {
        return Err(Error::NotFound("title"));
    }
    let device = match request.device {
        Some(id) => Some((id, device_key(ctx, patron, id).await?)),
        None => None,
    };
    let loan = Loan {
        id: LoanId::new(),
        patron_id: patron.id,
        title_id: title.id,
        // Filled in with the lot whose copy the transaction takes.
        lot_id: crate::domain::LotId(Uuid::nil()),
        library_id: patron.library_id,
        request_id: request.request_id,
        started_at: now,
        ends_at: now + Duration::days(i64::from(days)),
        renewals: 0,
        state: LoanState::Active,
        ended_at: None,
        updated_at: now,
    };
    let licence = device
        .as_ref()
        .map(|(id, entry)| sign_licence(ctx, LicenceId::new(), &loan, &title, *id, &entry.key, now))
        .transpose()?;
    let candidates = cached_lots(ctx, title.id).await?;
    match try_borrow(
        ctx,
        patron,
        &rules,
        loan.clone(),
        licence.as_ref(),
        &candidates,
        days,
    )
    .await?
    {
        Attempt::Made(made) => Ok(made),
        Attempt::Refused(err) => Err(err),
        Attempt::NoLot => {
            ctx.cache.forget_lots(title.id);
            let fresh = cached_lots(ctx, title.id).await?;
            match try_borrow(ctx, patron, &rules, loan, licence.as_ref(), &fresh, days).await? {
                Attempt::Made(made) => Ok(made),
                Attempt::Refused(err) => Err(err),
                Attempt::NoLot => Err(Error::Refused(Refusal::NoCopyAvailable)),
            }
        }
    }
}

/// The loan an earlier attempt of the same request made, with its licence. A request
/// id that borrowed another title is a conflict, not that loan.
async fn earlier_attempt(
    ctx: &Ctx,
    patron: &Patron,
    request_id: Uuid,
    title: TitleId,
    device: Option<DeviceId>,
) -> Result<Option<Borrowed>> {
    let Some(loan) = loans::loan_by_request(ctx.db.reader(), patron.id, request_id).await? else {
        return Ok(None);
    };
    if loan.title_id != title {
        return Err(Error::Conflict(
            "this request_id was used to borrow another title; use a new one for each loan".into(),
        ));
    }
    let licence = match device {
        Some(device) if loan.state == LoanState::Active => {
            Some(licence(ctx, patron, loan.id, device).await?)
        }
        _ => None,
    };
    let loan = summary(ctx, patron, loan).await?;
    Ok(Some(Borrowed { loan, licence }))
}

async fn try_borrow(
    ctx: &Ctx,
    patron: &Patron,
    rules: &LendingRules,
    mut loan: Loan,
    licence: Option<&IssuedLicence>,
    lots_of_title: &[Lot],
    days: u32,
) -> Result<Attempt> {
    let now = loan.started_at;
    let (request_id, title) = (loan.request_id, loan.title_id);
    let device = licence.map(|l| l.device_id);
    let refuse = |refusal| async move {
        // A retried request whose loan was made meanwhile gets that loan.
        if let Some(made) = earlier_attempt(ctx, patron, request_id, title, device).await? {
            return Ok(Attempt::Made(made));
        }
        // Holding the title already says more than "no copy" or "too many loans" (and
        // a hold would be refused for it).
        let refusal = match refusal {
            Refusal::NoCopyAvailable | Refusal::LoanLimit
                if loans::has_active_loan(ctx.db.reader(), patron.id, title).await? =>
            {
                Refusal::AlreadyBorrowed
            }
            other => other,
        };
        Ok(Attempt::Refused(Error::Refused(refusal)))
    };
    let candidates: Vec<_> = draw_order(lots_of_title, patron.library_id, now)
        .into_iter()
        .map(|lot| lot.id)
        .collect();
    let no_lot = candidates.is_empty();
    let plan = borrow::BorrowPlan {
        loan: loan.clone(),
        max_loans: rules.max_loans,
        candidates,
        licence: licence.cloned(),
        detail: json!({ "title": loan.title_id, "days": days }),
    };
    let waiting = match borrow::run(&ctx.db, plan).await? {
        BorrowOutcome::Made { lot, waiting } => {
            loan.lot_id = lot;
            waiting
        }
        BorrowOutcome::LoanLimit => return refuse(Refusal::LoanLimit).await,
        BorrowOutcome::NoCopy if no_lot => return Ok(Attempt::NoLot),
        BorrowOutcome::NoCopy => return refuse(Refusal::NoCopyAvailable).await,
        // The same request raced itself (a double tap), or the title is on loan.
        BorrowOutcome::Duplicate => return refuse(Refusal::AlreadyBorrowed).await,
        // The device was removed a moment ago.
        BorrowOutcome::DeviceGone => return Err(Error::NotFound("device")),
    };
    Ok(Attempt::Made(Borrowed {
        loan: LoanSummary {
            renewals_left: loan.renewals_left(rules),
            can_renew: loan.may_renew(rules, waiting > 0).is_ok(),
            loan,
        },
        licence: licence.map(|l| l.token.clone()),
    }))
}

/// A loan with what the reader may do with it.
#[derive(Debug, Clone)]
pub struct LoanSummary {
    /// The loan.
    pub loan: Loan,
    /// Renewals the rules still allow.
    pub renewals_left: u32,
    /// Whether a renewal would be granted now.
    pub can_renew: bool,
}

/// A patron's loans with their renewal prospects.
pub async fn my_loans(ctx: &Ctx, patron: &Patron, active_only: bool) -> Result<Vec<LoanSummary>> {
    let list = loans::loans_of(ctx.db.reader(), patron.id, active_only).await?;
    let rules = rules_for(ctx, patron.library_id, &patron.category).await?;
    let mut out = Vec::with_capacity(list.len());
    for loan in list {
        out.push(summarise(ctx, loan, &rules).await?);
    }
    Ok(out)
}

/// One of the patron's loans with its renewal prospects.
pub async fn summary(ctx: &Ctx, patron: &Patron, loan: Loan) -> Result<LoanSummary> {
    let rules = rules_for(ctx, patron.library_id, &patron.category).await?;
    summarise(ctx, loan, &rules).await
}

/// A loan with its renewal prospects under `rules`.
pub async fn summarise(ctx: &Ctx, loan: Loan, rules: &LendingRules) -> Result<LoanSummary> {
    let waiting = if loan.state == LoanState::Active && loan.renewals_left(rules) > 0 {
        holds::active_waiting_count(ctx.db.reader(), loan.title_id, ctx.clock.now()).await? > 0
    } else {
        false
    };
    Ok(LoanSummary {
        renewals_left: loan.renewals_left(rules),
        can_renew: loan.may_renew(rules, waiting).is_ok(),
        loan,
    })
}

async fn own_loan(ctx: &Ctx, patron: &Patron, id: LoanId) -> Result<Loan> {
    loans::loan(ctx.db.reader(), id)
        .await?
        .filter(|l| l.patron_id == patron.id)
        .ok_or(Error::NotFound("loan"))
}

/// The licence of a loan for one of the patron's devices. Fetching it again returns the
/// stored licence; concurrent fetches all get the one stored first; after a renewal a
/// fresh licence with the new end replaces it.
pub async fn licence(
    ctx: &Ctx,
    patron: &Patron,
    loan_id: LoanId,
    device_id: DeviceId,
) -> Result<String> {
    let loan = own_loan(ctx, patron, loan_id).await?;
    if loan.state != LoanState::Active {
        return Err(Error::Refused(Refusal::LoanEnded));
    }
    let device = device_key(ctx, patron, device_id).await?;
    let existing = licences::licence_for(ctx.db.reader(), loan.id, device_id).await?;
    if let Some(existing) = &existing
        && existing.ends_at >= loan.ends_at
    {
        return Ok(existing.token.clone());
    }
    let title = lendable_title(ctx, loan.title_id).await?;
    let now = ctx.clock.now();
    let id = existing.as_ref().map_or_else(LicenceId::new, |e| e.id);
    let candidate = sign_licence(ctx, id, &loan, &title, device_id, &device.key, now)?;
    let txn = ctx.db.begin_write().await?;
    let stored = licences::store_or_get(&txn, &candidate, now).await?;
    txn.commit().await?;
    Ok(stored.token)
}

/// Ends `loan` as `state`; `reason` (a revocation's) goes into the audit entry and
/// the reader's notification.
async fn finish_loan(
    ctx: &Ctx,
    loan: &Loan,
    state: LoanState,
    actor: Actor,
    action: &'static str,
    notify: Option<NotificationKind>,
    reason: Option<&str>,
) -> Result<Loan> {
    let now = ctx.clock.now();
    let txn = ctx.db.begin_write().await?;
    let ended = loans::end_loan(&txn, loan.id, state, now)
        .await?
        .ok_or(Error::Refused(Refusal::LoanEnded))?;
    copy_freed::record(&txn, loan.title_id, now).await?;
    if let Some(kind) = notify {
        let mut payload = json!({ "loan_id": loan.id, "title_id": loan.title_id });
        if let Some(reason) = reason {
            payload["reason"] = json!(reason);
        }
        notifications::notify(&txn, loan.patron_id, kind, payload, now).await?;
    }
    let mut detail = json!({ "title": loan.title_id });
    if let Some(reason) = reason {
        detail["reason"] = json!(reason);
    }
    audit::record(
        &txn,
        AuditEntry {
            actor,
            library_id: Some(loan.library_id),
            action,
            target_kind: "loan",
            target_id: Some(loan.id.0),
            detail: Some(detail),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    ctx.copies_freed().await;
    Ok(ended)
}

/// A reader returns a loan early; the copy is free at once.
pub async fn return_loan(ctx: &Ctx, patron: &Patron, loan_id: LoanId) -> Result<Loan> {
    let loan = own_loan(ctx, patron, loan_id).await?;
    finish_loan(
        ctx,
        &loan,
        LoanState::Returned,
        Actor::Patron(patron.id),
        "loan.return",
        None,
        None,
    )
    .await
}

/// Staff revoke a loan of a patron of their library; the reader is told. The reason,
/// if given (trimmed; at most [`crate::domain::REASON_MAX_CHARS`] characters), is kept in the audit
/// entry and sent with the reader's notification.
pub async fn revoke(
    ctx: &Ctx,
    actor: &crate::domain::Staff,
    loan_id: LoanId,
    reason: Option<String>,
) -> Result<Loan> {
    let reason = staff_reason(reason.as_deref())?;
    let loan = loans::loan(ctx.db.reader(), loan_id)
        .await?
        .filter(|l| actor.scope().contains(l.library_id))
        .ok_or(Error::NotFound("loan"))?;
    finish_loan(
        ctx,
        &loan,
        LoanState::Revoked,
        Actor::Staff(actor.id),
        "loan.revoke",
        Some(NotificationKind::LoanRevoked),
        reason.as_deref(),
    )
    .await
}

/// A reader renews a loan: refused when it has ended, has no renewals left, or others
/// wait for the title.
pub async fn renew(ctx: &Ctx, patron: &Patron, loan_id: LoanId) -> Result<LoanSummary> {
    // A block (or an expired card) stops renewals as it stops new loans.
    check_may_borrow(patron, ctx.clock.now())?;
    let rules = rules_for(ctx, patron.library_id, &patron.category).await?;
    // Concurrent renewals of one loan: each extends only the loan it read (compare and
    // swap on the renewal count), so the limit holds; a loser reads the loan again and
    // renews it again if renewals are left (two taps that both land are two renewals,
    // each audited), else it is refused.
    for _ in 0..RENEW_ATTEMPTS {
        let loan = own_loan(ctx, patron, loan_id).await?;
        let now = ctx.clock.now();
        let waiting = holds::active_waiting_count(ctx.db.reader(), loan.title_id, now).await? > 0;
        loan.may_renew(&rules, waiting).map_err(|why| {
            Error::Refused(match why {
                RenewalRefusal::LoanEnded => Refusal::LoanEnded,
                RenewalRefusal::NoRenewalsLeft => Refusal::RenewalLimit,
                RenewalRefusal::OthersWaiting => Refusal::OthersWaiting,
            })
        })?;
        let new_end = loan.renewed_end(&rules);
        let txn = ctx.db.begin_write().await?;
        if !loans::extend_loan(&txn, loan.id, loan.renewals, new_end, now).await? {
            continue; // the transaction rolls back as it drops
        }
        audit::record(
            &txn,
            AuditEntry {
                actor: Actor::Patron(patron.id),
                library_id: Some(loan.library_id),
                action: "loan.renew",
                target_kind: "loan",
                target_id: Some(loan.id.0),
                detail: Some(json!({ "ends_at": new_end })),
            },
            now,
        )
        .await?;
        txn.commit().await?;
        let renewed = own_loan(ctx, patron, loan.id).await?;
        return summarise(ctx, renewed, &rules).await;
    }
    Err(Error::Conflict(
        "the loan changed while it was being renewed; please try again".into(),
    ))
}

/// How often a renewal that lost a race reads the loan again before giving up.
const RENEW_ATTEMPTS: usize = 8;

/// Expires every loan whose end has passed, freeing its copy. Idempotent: a loan ended
/// by someone else in the meantime is skipped. Returns how many expired.
pub async fn expire_due(ctx: &Ctx) -> Result<usize> {
    let now = ctx.clock.now();
    let mut expired = 0;
    loop {
        let due = loans::due_loans(ctx.db.reader(), now, 200).await?;
        if due.is_empty() {
            break;
        }
        for id in due {
            let txn = ctx.db.begin_write().await?;
            if let Some(loan) = loans::end_loan(&txn, id, LoanState::Expired, now).await? {
                copy_freed::record(&txn, loan.title_id, now).await?;
                audit::record(
                    &txn,
                    AuditEntry {
                        actor: Actor::System,
                        library_id: Some(loan.library_id),
                        action: "loan.expire",
                        target_kind: "loan",
                        target_id: Some(loan.id.0),
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
    if expired > 0 {
        ctx.copies_freed().await;
    }
    Ok(expired)
}

/// The signed status document of a licence.
pub async fn status_document(ctx: &Ctx, licence_id: LicenceId) -> Result<String> {
    let issued = licences::licence_by_id(ctx.db.reader(), licence_id)
        .await?
        .ok_or(Error::NotFound("licence"))?;
    let loan = loans::loan(ctx.db.reader(), issued.loan_id)
        .await?
        .ok_or(Error::NotFound("loan"))?;
    let status = match loan.state {
        LoanState::Active => LicenceStatus::Active,
        LoanState::Returned => LicenceStatus::Returned,
        LoanState::Expired => LicenceStatus::Expired,
        LoanState::Revoked => LicenceStatus::Revoked,
    };
    let document = StatusDocument {
        licence_id: licence_id.0,
        loan_id: loan.id.0,
        status,
        end: loan.ends_at,
        updated: loan.updated_at,
        server_time: ctx.clock.now(),
    };
    jieyue_protocol::status::sign(&document, &ctx.keys.signing)
        .map_err(Error::internal("status document signing"))
}

/// Days before a loan's end when the reader is reminded.
pub const ENDING_NOTICE_DAYS: i64 = 3;

/// Tells readers whose loans end within [`ENDING_NOTICE_DAYS`] (once per end; a
/// renewal re-arms the reminder). Safe with several replicas: each loan is claimed by
/// one conditional update.
pub async fn remind_ending(ctx: &Ctx) -> Result<usize> {
    let now = ctx.clock.now();
    let txn = ctx.db.begin_write().await?;
    let claimed =
        loans::claim_ending_reminders(&txn, now + Duration::days(ENDING_NOTICE_DAYS), now).await?;
    for loan in &claimed {
        notifications::notify(
            &txn,
            loan.patron_id,
            NotificationKind::LoanEnding,
            json!({ "loan_id": loan.id, "title_id": loan.title_id, "ends_at": loan.ends_at }),
            now,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(claimed.len())
}

/// A reader's loan as staff see it on the reader's page.
#[derive(Debug, Clone)]
pub struct StaffLoan {
    /// The loan.
    pub loan: Loan,
    /// The title's name (empty if the title is gone).
    pub title: String,
    /// Whole days until the loan ends, rounded up (0 once it is due).
    pub days_left: i64,
}

/// Whole days from `now` until `end`, rounded up; 0 once `end` has passed.
fn days_until(end: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    let seconds = (end - now).num_seconds().max(0);
    (seconds + 86_399) / 86_400
}

/// The active loans of a patron inside the actor's scope, soonest end first, with the
/// title and the days left.
pub async fn loans_of_patron_for_staff(
    ctx: &Ctx,
    actor: &crate::domain::Staff,
    patron: crate::domain::PatronId,
) -> Result<Vec<StaffLoan>> {
    let conn = ctx.db.reader();
    let owner = crate::store::patrons::get(conn, patron, actor.scope())
        .await?
        .ok_or(Error::NotFound("patron"))?;
    let mut list = loans::loans_of(conn, owner.id, true).await?;
    list.sort_by_key(|l| (l.ends_at, l.id.0));
    let ids: Vec<TitleId> = list.iter().map(|l| l.title_id).collect();
    let names: std::collections::HashMap<TitleId, String> = titles::get_many(conn, &ids)
        .await?
        .into_iter()
        .map(|t| (t.id, t.metadata.title))
        .collect();
    let now = ctx.clock.now();
    Ok(list
        .into_iter()
        .map(|loan| StaffLoan {
            title: names.get(&loan.title_id).cloned().unwrap_or_default(),
            days_left: days_until(loan.ends_at, now),
            loan,
        })
        .collect())
}

/// Whether `patron` could borrow `title` now, without borrowing: the borrow path's own
/// checks in its order ([`check_may_borrow`], the rules that apply, a title readers may
/// see, the title not on loan to them already, the loan limit, a copy reserved for
/// them by a ready hold or a free copy in a lot their library may lend from now, in
/// [`draw_order`]). `Err(Error::Refused(_))` says what borrowing would answer; the
/// answer may of course change before an actual borrow.
pub async fn would_borrow(ctx: &Ctx, patron: &Patron, title: TitleId) -> Result<()> {
    let now = ctx.clock.now();
    check_may_borrow(patron, now)?;
    let rules = rules_for(ctx, patron.library_id, &patron.category).await?;
    let title = lendable_title(ctx, title).await?;
    if title.suppressed {
        return Err(Error::NotFound("title"));
    }
    let conn = ctx.db.reader();
    // Borrowing answers "already borrowed" before "no copy" or "too many loans".
    if loans::has_active_loan(conn, patron.id, title.id).await? {
        return Err(Error::Refused(Refusal::AlreadyBorrowed));
    }
    if loans::active_loan_count(conn, patron.id).await? >= u64::from(rules.max_loans) {
        return Err(Error::Refused(Refusal::LoanLimit));
    }
    if holds::ready_for(conn, patron.id, title.id).await?.is_some() {
        return Ok(());
    }
    let lots_of_title = lots::lots_of_title(conn, title.id).await?;
    if draw_order(&lots_of_title, patron.library_id, now)
        .iter()
        .any(|lot| lot.has_free_copy())
    {
        Ok(())
    } else {
        Err(Error::Refused(Refusal::NoCopyAvailable))
    }
}

/// A loan on the reader's shelf.
#[derive(Debug, Clone)]
pub struct ShelfLoan {
    /// The loan.
    pub loan: Loan,
    /// The title's name (empty if the title is gone).
    pub title: String,
    /// Whole days until the loan ends, rounded up (0 once it is due).
    pub days_left: i64,
    /// Renewals the rules still allow.
    pub renewals_left: u32,
    /// Why a renewal would be refused now (`None`: it would be granted).
    pub renewal_refusal: Option<Refusal>,
}

/// An open hold on the reader's shelf.
#[derive(Debug, Clone)]
pub struct ShelfHold {
    /// The hold with its place in the queue and the estimated wait.
    pub status: super::holds::HoldStatus,
    /// The title's name (empty if the title is gone).
    pub title: String,
}

/// A notification on the reader's shelf.
#[derive(Debug, Clone)]
pub struct ShelfNotice {
    /// The notification.
    pub notification: crate::domain::Notification,
    /// The name of the title it is about, if it names one that exists.
    pub title: Option<String>,
}

/// Everything on a reader's shelf: active loans (soonest end first) with their renewal
/// prospects, open holds (ready ones first, by pickup deadline; then waiting ones in
/// the order placed), the latest notifications (newest first) and the reading devices.
#[derive(Debug, Clone)]
pub struct Shelf {
    /// Active loans.
    pub loans: Vec<ShelfLoan>,
    /// Open holds.
    pub holds: Vec<ShelfHold>,
    /// Latest notifications.
    pub notifications: Vec<ShelfNotice>,
    /// Enrolled devices.
    pub devices: Vec<crate::domain::Device>,
}

/// The refusal a renewal would meet for `why`.
fn renewal_refusal(why: RenewalRefusal) -> Refusal {
    match why {
        RenewalRefusal::LoanEnded => Refusal::LoanEnded,
        RenewalRefusal::NoRenewalsLeft => Refusal::RenewalLimit,
        RenewalRefusal::OthersWaiting => Refusal::OthersWaiting,
    }
}

/// A reader's shelf, with at most `notifications` notifications.
pub async fn shelf(ctx: &Ctx, patron: &Patron, notifications: u64) -> Result<Shelf> {
    let conn = ctx.db.reader();
    let now = ctx.clock.now();
    let rules = rules_for(ctx, patron.library_id, &patron.category).await?;
    let mut active = loans::loans_of(conn, patron.id, true).await?;
    active.sort_by_key(|l| (l.ends_at, l.id.0));
    let mut open = super::holds::list(ctx, patron).await?;
    open.sort_by_key(|h| {
        (
            h.hold.state != crate::domain::HoldState::Ready,
            h.hold.pickup_deadline,
            h.hold.placed_at,
        )
    });
    let notices = super::notifications::latest_for_reader(ctx, patron, notifications).await?;
    let devices = super::devices::list(ctx, patron.id).await?;

    let mut ids: Vec<TitleId> = active.iter().map(|l| l.title_id).collect();
    ids.extend(open.iter().map(|h| h.hold.title_id));
    ids.extend(notices.iter().filter_map(|n| {
        n.payload["title_id"]
            .as_str()
            .and_then(|id| Uuid::parse_str(id).ok())
            .map(TitleId)
    }));
    ids.sort_by_key(|id| id.0);
    ids.dedup();
    let names: std::collections::HashMap<TitleId, String> = titles::get_many(conn, &ids)
        .await?
        .into_iter()
        .map(|t| (t.id, t.metadata.title))
        .collect();
    let name = |id: &TitleId| names.get(id).cloned().unwrap_or_default();

    let mut shelf_loans = Vec::with_capacity(active.len());
    for loan in active {
        let renewals_left = loan.renewals_left(&rules);
        let waiting =
            renewals_left > 0 && holds::active_waiting_count(conn, loan.title_id, now).await? > 0;
        shelf_loans.push(ShelfLoan {
            title: name(&loan.title_id),
            days_left: days_until(loan.ends_at, now),
            renewals_left,
            renewal_refusal: loan.may_renew(&rules, waiting).err().map(renewal_refusal),
            loan,
        });
    }
    Ok(Shelf {
        loans: shelf_loans,
        holds: open
            .into_iter()
            .map(|status| ShelfHold {
                title: name(&status.hold.title_id),
                status,
            })
            .collect(),
        notifications: notices
            .into_iter()
            .map(|notification| ShelfNotice {
                title: notification.payload["title_id"]
                    .as_str()
                    .and_then(|id| Uuid::parse_str(id).ok())
                    .and_then(|id| names.get(&TitleId(id)).cloned()),
                notification,
            })
            .collect(),
        devices,
    })
}

/// One of the reader's active loans as the shelf shows it (the return page asks about
/// it). A loan that has ended is refused as [`Refusal::LoanEnded`]; another reader's
/// loan is not found.
pub async fn shelf_loan(ctx: &Ctx, patron: &Patron, loan_id: LoanId) -> Result<ShelfLoan> {
    let loan = own_loan(ctx, patron, loan_id).await?;
    if loan.state != LoanState::Active {
        return Err(Error::Refused(Refusal::LoanEnded));
    }
    let conn = ctx.db.reader();
    let now = ctx.clock.now();
    let rules = rules_for(ctx, patron.library_id, &patron.category).await?;
    let title = titles::get(conn, loan.title_id)
        .await?
        .map(|t| t.metadata.title)
        .unwrap_or_default();
    let renewals_left = loan.renewals_left(&rules);
    let waiting =
        renewals_left > 0 && holds::active_waiting_count(conn, loan.title_id, now).await? > 0;
    Ok(ShelfLoan {
        title,
        days_left: days_until(loan.ends_at, now),
        renewals_left,
        renewal_refusal: loan.may_renew(&rules, waiting).err().map(renewal_refusal),
        loan,
    })
}

#[cfg(test)]
mod staff_tests {
    use super::*;
    use crate::domain::REASON_MAX_CHARS;

    #[test]
    fn a_staff_reason_is_trimmed_and_limited() {
        assert_eq!(staff_reason(None), Ok(None));
        assert_eq!(staff_reason(Some("  ")), Ok(None));
        assert_eq!(
            staff_reason(Some(" 违反借阅规定 ")),
            Ok(Some("违反借阅规定".to_owned()))
        );
        assert!(staff_reason(Some(&"长".repeat(REASON_MAX_CHARS))).is_ok());
        assert!(staff_reason(Some(&"长".repeat(REASON_MAX_CHARS + 1))).is_err());
    }

    #[test]
    fn days_left_round_up_and_stop_at_zero() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        assert_eq!(days_until(now + Duration::days(14), now), 14);
        assert_eq!(days_until(now + Duration::hours(1), now), 1);
        assert_eq!(days_until(now + Duration::hours(25), now), 2);
        assert_eq!(days_until(now - Duration::hours(1), now), 0);
    }
}
