//! Holds: one FIFO queue per title across every lot the reader's library can lend from.
//!
//! When a copy frees (a return, a revocation, an expiry, a new lot or top-up), the first
//! waiting hold that is not suspended and whose library can lend from a lot with a free
//! copy becomes `ready`: the copy is reserved for it (counted as out on its lot) until
//! the pickup deadline. Borrowing the title then uses that copy. A ready hold not
//! collected in time expires and the copy goes to the next in line. Suspended holds keep
//! their place but are skipped. With `auto_borrow`, a ready hold becomes a loan at once.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use uuid::Uuid;

use super::lending::rules_for;
use super::{Ctx, Error, Refusal, Result};
use crate::domain::{Patron, PatronId, TitleId};
use crate::store::audit::{self, Actor, AuditEntry};
use crate::store::holds::{self, Hold};
use crate::store::lending as lots;
use crate::store::{StoreError, patrons, titles};

/// A hold as its reader sees it.
#[derive(Debug, Clone)]
pub struct HoldStatus {
    /// The hold.
    pub hold: Hold,
    /// 1 for the next in line (waiting holds only; suspended ones ahead do not count).
    pub position: Option<u64>,
    /// A rough wait: position × loan length ÷ copies, in days.
    pub estimated_wait_days: Option<u64>,
}

async fn record(
    ctx: &Ctx,
    txn: &impl sea_orm::ConnectionTrait,
    actor: Actor,
    hold: &Hold,
    action: &'static str,
    now: DateTime<Utc>,
) -> Result<()> {
    let _ = ctx;
    audit::record(
        txn,
        AuditEntry {
            actor,
            library_id: Some(hold.library_id),
            action,
            target_kind: "hold",
            target_id: Some(hold.id),
            detail: Some(json!({ "title": hold.title_id })),
        },
        now,
    )
    .await?;
    Ok(())
}

/// A reader places a hold on a title.
pub async fn place(ctx: &Ctx, patron: &Patron, title: TitleId, auto_borrow: bool) -> Result<Hold> {
    let now = ctx.clock.now();
    if patron.blocked {
        return Err(Error::Refused(Refusal::PatronBlocked));
    }
    if !patron.card_valid_at(now) {
        return Err(Error::Refused(Refusal::CardExpired));
    }
    titles::get(ctx.db.reader(), title)
        .await?
        .filter(|t| !t.suppressed)
        .ok_or(Error::NotFound("title"))?;
    let lendable = lots::lots_of_title(ctx.db.reader(), title)
        .await?
        .iter()
        .any(|l| l.status == "active" && lots::lendable_by(l, patron.library_id));
    if !lendable {
        return Err(Error::NotFound("a copy your library can lend"));
    }
    let rules = rules_for(ctx, patron.library_id, &patron.category).await?;
    let hold = Hold {
        id: Uuid::now_v7(),
        patron_id: patron.id,
        title_id: title,
        library_id: patron.library_id,
        placed_at: now,
        state: "waiting".into(),
        suspended_until: None,
        auto_borrow,
        lot_id: None,
        ready_at: None,
        pickup_deadline: None,
    };
    let txn = ctx.db.begin_write().await?;
    patrons::lock(&txn, patron.id).await?;
    if holds::open_of(&txn, patron.id).await?.len() >= rules.max_holds as usize {
        return Err(Error::Refused(Refusal::LoanLimit));
    }
    if lots::loans_of(&txn, patron.id, true)
        .await?
        .iter()
        .any(|l| l.title_id == title)
    {
        return Err(Error::Refused(Refusal::AlreadyBorrowed));
    }
    holds::insert(&txn, &hold, now).await.map_err(|e| match e {
        StoreError::Duplicate(_) => Error::Conflict("you already have a hold on this title".into()),
        other => other.into(),
    })?;
    record(
        ctx,
        &txn,
        Actor::Patron(patron.id),
        &hold,
        "hold.place",
        now,
    )
    .await?;
    txn.commit().await?;
    promote(ctx, title).await?;
    holds::get(ctx.db.reader(), hold.id)
        .await?
        .ok_or(Error::NotFound("hold"))
}

/// A reader's open holds with their place in the queue.
pub async fn list(ctx: &Ctx, patron: &Patron) -> Result<Vec<HoldStatus>> {
    let now = ctx.clock.now();
    let conn = ctx.db.reader();
    let mut out = Vec::new();
    for hold in holds::open_of(conn, patron.id).await? {
        let (position, wait) = if hold.state == "waiting" {
            let queue = holds::waiting_queue(conn, hold.title_id).await?;
            let ahead = queue
                .iter()
                .take_while(|h| h.id != hold.id)
                .filter(|h| h.suspended_until.is_none_or(|until| until <= now))
                .count() as u64;
            let copies: u64 = lots::lots_of_title(conn, hold.title_id)
                .await?
                .iter()
                .filter(|l| l.status == "active" && lots::lendable_by(l, patron.library_id))
                .map(|l| u64::from(l.copies))
                .sum();
            let rules = rules_for(ctx, patron.library_id, &patron.category).await?;
            let wait = (ahead + 1) * u64::from(rules.loan_days_default) / copies.max(1);
            (Some(ahead + 1), Some(wait))
        } else {
            (None, None)
        };
        out.push(HoldStatus {
            hold,
            position,
            estimated_wait_days: wait,
        });
    }
    Ok(out)
}

async fn own_hold(ctx: &Ctx, patron: &Patron, id: Uuid) -> Result<Hold> {
    holds::get(ctx.db.reader(), id)
        .await?
        .filter(|h| h.patron_id == patron.id)
        .ok_or(Error::NotFound("hold"))
}

/// A reader cancels a hold; a reserved copy goes to the next in line.
pub async fn cancel(ctx: &Ctx, patron: &Patron, id: Uuid) -> Result<()> {
    let hold = own_hold(ctx, patron, id).await?;
    let now = ctx.clock.now();
    let txn = ctx.db.begin_write().await?;
    if !holds::transition(&txn, hold.id, &["waiting", "ready"], "cancelled", None, now).await? {
        return Err(Error::NotFound("open hold"));
    }
    if hold.state == "ready"
        && let Some(lot) = hold.lot_id
    {
        lots::release_copy(&txn, lot, now).await?;
    }
    record(
        ctx,
        &txn,
        Actor::Patron(patron.id),
        &hold,
        "hold.cancel",
        now,
    )
    .await?;
    txn.commit().await?;
    promote(ctx, hold.title_id).await?;
    Ok(())
}

/// Suspends a waiting hold until `until` (it keeps its place), or resumes it (`None`).
pub async fn suspend(
    ctx: &Ctx,
    patron: &Patron,
    id: Uuid,
    until: Option<DateTime<Utc>>,
) -> Result<Hold> {
    let hold = own_hold(ctx, patron, id).await?;
    if hold.state != "waiting" {
        return Err(Error::Conflict(
            "only a waiting hold can be suspended".into(),
        ));
    }
    let now = ctx.clock.now();
    let txn = ctx.db.begin_write().await?;
    holds::set_suspended(&txn, hold.id, until, now).await?;
    record(
        ctx,
        &txn,
        Actor::Patron(patron.id),
        &hold,
        if until.is_some() {
            "hold.suspend"
        } else {
            "hold.resume"
        },
        now,
    )
    .await?;
    txn.commit().await?;
    if until.is_none() {
        promote(ctx, hold.title_id).await?;
    }
    own_hold(ctx, patron, id).await
}

/// Gives free copies of `title` to the holds at the front of its queue. Idempotent and
/// safe to run from several replicas: every step is a conditional update.
pub async fn promote(ctx: &Ctx, title: TitleId) -> Result<usize> {
    let now = ctx.clock.now();
    let mut promoted = 0;
    let queue = holds::waiting_queue(ctx.db.reader(), title).await?;
    for hold in queue {
        if hold.suspended_until.is_some_and(|until| until > now) {
            continue;
        }
        let Some(patron) = patrons::get(
            ctx.db.reader(),
            hold.patron_id,
            crate::domain::LibraryScope::All,
        )
        .await?
        else {
            continue;
        };
        let rules = rules_for(ctx, hold.library_id, &patron.category).await?;
        // The lots are read inside the write transaction: a copy freed a moment ago
        // (the return that called us) must be seen, whatever the read pool's snapshot.
        let txn = ctx.db.begin_write().await?;
        let free: Vec<lots::Lot> = lots::lots_of_title(&txn, title)
            .await?
            .into_iter()
            .filter(|l| l.status == "active" && l.active_loans < l.copies)
            .collect();
        if free.is_empty() {
            // No copy anywhere: nobody further down the queue can be served either.
            break;
        }
        let mut candidates: Vec<lots::Lot> = free
            .into_iter()
            .filter(|l| lots::lendable_by(l, hold.library_id))
            .collect();
        if candidates.is_empty() {
            continue;
        }
        candidates.sort_by_key(|l| {
            (
                l.owner_library_id != Some(hold.library_id),
                l.expires_at.unwrap_or(DateTime::<Utc>::MAX_UTC),
            )
        });
        let mut reserved = None;
        for lot in &candidates {
            if lots::take_copy(&txn, lot.id, now).await? {
                reserved = Some(lot.id);
                break;
            }
        }
        let Some(lot) = reserved else {
            continue;
        };
        let deadline = now + Duration::hours(i64::from(rules.pickup_hours));
        if !holds::transition(
            &txn,
            hold.id,
            &["waiting"],
            "ready",
            Some((lot, deadline)),
            now,
        )
        .await?
        {
            // Cancelled or promoted elsewhere meanwhile: the copy goes back.
            continue;
        }
        holds::notify(
            &txn,
            hold.patron_id,
            "hold_ready",
            json!({ "hold_id": hold.id, "title_id": title, "pickup_deadline": deadline }),
            now,
        )
        .await?;
        record(ctx, &txn, Actor::System, &hold, "hold.ready", now).await?;
        txn.commit().await?;
        promoted += 1;
        if hold.auto_borrow {
            // The reader asked for the loan to be made for them.
            if let Err(err) = super::lending::borrow(ctx, &patron, title, None, hold.id).await {
                tracing::info!(hold = %hold.id, error = %err, "automatic borrow of a ready hold failed; it stays ready");
            }
        }
    }
    Ok(promoted)
}

/// Expires ready holds not collected in time, handing their copies on.
pub async fn expire_lapsed(ctx: &Ctx) -> Result<usize> {
    let now = ctx.clock.now();
    let mut expired = 0;
    for hold in holds::lapsed(ctx.db.reader(), now).await? {
        let txn = ctx.db.begin_write().await?;
        if holds::transition(&txn, hold.id, &["ready"], "expired", None, now).await? {
            if let Some(lot) = hold.lot_id {
                lots::release_copy(&txn, lot, now).await?;
            }
            holds::notify(
                &txn,
                hold.patron_id,
                "hold_expired",
                json!({ "hold_id": hold.id, "title_id": hold.title_id }),
                now,
            )
            .await?;
            record(ctx, &txn, Actor::System, &hold, "hold.expire", now).await?;
            expired += 1;
        }
        txn.commit().await?;
        promote(ctx, hold.title_id).await?;
    }
    Ok(expired)
}

/// Promotes holds on every title someone waits for (the periodic job).
pub async fn promote_all(ctx: &Ctx) -> Result<usize> {
    let mut promoted = 0;
    for title in holds::titles_with_waiting(ctx.db.reader()).await? {
        promoted += promote(ctx, title).await?;
    }
    Ok(promoted)
}

/// Marks the reader's ready hold on `title` fulfilled, in the caller's transaction,
/// and returns the lot whose copy it reserved (the loan takes that copy). `None` if the
/// reader has no ready hold on the title.
pub async fn fulfil_in(
    txn: &impl sea_orm::ConnectionTrait,
    patron: PatronId,
    title: TitleId,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>> {
    let Some(hold) = holds::ready_for(txn, patron, title).await? else {
        return Ok(None);
    };
    if !holds::transition(txn, hold.id, &["ready"], "fulfilled", None, now).await? {
        return Ok(None);
    }
    Ok(hold.lot_id)
}

/// Whether readers other than the loan's are waiting (not suspended) for `title`.
pub async fn others_waiting(ctx: &Ctx, title: TitleId) -> Result<bool> {
    Ok(holds::active_waiting_count(ctx.db.reader(), title, ctx.clock.now()).await? > 0)
}

/// A title's availability at a library, and for a reader if one is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Availability {
    /// `available`, `unavailable`, `reserved` or `ready`.
    pub state: &'static str,
    /// Ready since.
    pub since: Option<DateTime<Utc>>,
    /// Ready until.
    pub until: Option<DateTime<Utc>>,
    /// Copies the library can lend.
    pub copies_total: u64,
    /// Copies free.
    pub copies_available: u64,
    /// Open holds on the title.
    pub holds_total: u64,
    /// The reader's place in the queue.
    pub hold_position: Option<u64>,
}

/// Computes availability of `title` at `library`, for `patron` if given.
pub async fn availability(
    ctx: &Ctx,
    title: TitleId,
    library: crate::domain::LibraryId,
    patron: Option<PatronId>,
) -> Result<Availability> {
    let conn = ctx.db.reader();
    let now = ctx.clock.now();
    let lendable: Vec<lots::Lot> = lots::lots_of_title(conn, title)
        .await?
        .into_iter()
        .filter(|l| {
            l.status == "active"
                && lots::lendable_by(l, library)
                && l.expires_at.is_none_or(|e| e > now)
        })
        .collect();
    let copies_total: u64 = lendable.iter().map(|l| u64::from(l.copies)).sum();
    let copies_available: u64 = lendable
        .iter()
        .map(|l| u64::from(l.copies.saturating_sub(l.active_loans)))
        .sum();
    let queue = holds::waiting_queue(conn, title).await?;
    let open_total = holds::open_count(conn, title).await?;
    let mut state = if copies_available > 0 {
        "available"
    } else {
        "unavailable"
    };
    let (mut since, mut until, mut position) = (None, None, None);
    if let Some(patron) = patron {
        if let Some(ready) = holds::ready_for(conn, patron, title).await? {
            state = "ready";
            since = ready.ready_at;
            until = ready.pickup_deadline;
        } else if let Some(index) = queue.iter().position(|h| h.patron_id == patron) {
            state = "reserved";
            let ahead = queue[..index]
                .iter()
                .filter(|h| h.suspended_until.is_none_or(|u| u <= now))
                .count() as u64;
            position = Some(ahead + 1);
        }
    }
    Ok(Availability {
        state,
        since,
        until,
        copies_total,
        copies_available,
        holds_total: open_total,
        hold_position: position,
    })
}
