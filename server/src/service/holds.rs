//! Holds: one FIFO queue per title across every lot the reader's library can lend from.
//!
//! When a copy frees (a return, a revocation, an expiry, a lapsed or cancelled ready
//! hold, a new lot or top-up), the freeing transaction records `copy_freed`; this
//! service drains those events ([`drain_freed`], at once after the commit through
//! [`Queue`], and from the periodic job for whatever a crash left) and gives free
//! copies to the queue: the first waiting hold that is not suspended and whose library
//! can lend from a lot with a free copy becomes `ready`, the copy reserved for it
//! (counted as out on its lot) until the pickup deadline. Borrowing the title then uses
//! that copy. A ready hold not collected in time expires and the copy goes to the next
//! in line. With `auto_borrow`, a ready hold becomes a loan at once.

use chrono::{DateTime, Duration, Utc};
use futures_util::future::BoxFuture;
use serde_json::json;

use super::lending::{BorrowRequest, check_may_borrow};
use super::rules::rules_for;
use super::{CopyFreedListener, Ctx, Error, Refusal, Result};
use crate::domain::{
    Hold, HoldId, HoldMove, HoldState, LibraryId, LibraryScope, LotStatus, NotificationKind,
    Patron, PatronId, TitleId, draw_order, estimated_wait_days, queue_position,
};
use crate::store::audit::{self, Actor, AuditEntry};
use crate::store::{StoreError, copy_freed, holds, loans, lots, notifications, patrons, titles};

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
    txn: &impl sea_orm::ConnectionTrait,
    actor: Actor,
    hold: &Hold,
    action: &'static str,
    now: DateTime<Utc>,
) -> Result<()> {
    audit::record(
        txn,
        AuditEntry {
            actor,
            library_id: Some(hold.library_id),
            action,
            target_kind: "hold",
            target_id: Some(hold.id.0),
            detail: Some(json!({ "title": hold.title_id })),
        },
        now,
    )
    .await?;
    Ok(())
}

/// A reader places a hold on a title. If a copy is free it becomes ready at once.
pub async fn place(ctx: &Ctx, patron: &Patron, title: TitleId, auto_borrow: bool) -> Result<Hold> {
    let now = ctx.clock.now();
    check_may_borrow(patron, now)?;
    titles::get(ctx.db.reader(), title)
        .await?
        .filter(|t| !t.suppressed)
        .ok_or(Error::NotFound("title"))?;
    let lendable = lots::lots_of_title(ctx.db.reader(), title)
        .await?
        .iter()
        .any(|l| l.lendable_now(patron.library_id, now));
    if !lendable {
        return Err(Error::NotFound("a copy your library can lend"));
    }
    let rules = rules_for(ctx, patron.library_id, &patron.category).await?;
    let hold = Hold {
        id: HoldId::new(),
        patron_id: patron.id,
        title_id: title,
        library_id: patron.library_id,
        placed_at: now,
        state: HoldState::Waiting,
        suspended_until: None,
        auto_borrow,
        lot_id: None,
        ready_at: None,
        pickup_deadline: None,
    };
    let txn = ctx.db.begin_write().await?;
    patrons::lock(&txn, patron.id).await?;
    if holds::open_of(&txn, patron.id).await?.len() >= rules.max_holds as usize {
        return Err(Error::Refused(Refusal::HoldLimit));
    }
    if loans::has_active_loan(&txn, patron.id, title).await? {
        return Err(Error::Refused(Refusal::AlreadyBorrowed));
    }
    holds::insert(&txn, &hold, now).await.map_err(|e| match e {
        StoreError::Duplicate(_) => Error::Conflict("you already have a hold on this title".into()),
        other => other.into(),
    })?;
    // A free copy, if any, goes to the queue now.
    copy_freed::record(&txn, title, now).await?;
    record(&txn, Actor::Patron(patron.id), &hold, "hold.place", now).await?;
    txn.commit().await?;
    ctx.copies_freed().await;
    holds::get(ctx.db.reader(), hold.id)
        .await?
        .ok_or(Error::NotFound("hold"))
}

/// Copies of `title` that `library` can lend now.
async fn copies_at(
    ctx: &Ctx,
    title: TitleId,
    library: LibraryId,
    now: DateTime<Utc>,
) -> Result<(u64, u64)> {
    let all = lots::lots_of_title(ctx.db.reader(), title).await?;
    let usable = draw_order(&all, library, now);
    Ok((
        usable.iter().map(|l| u64::from(l.copies)).sum(),
        usable.iter().map(|l| u64::from(l.free_copies())).sum(),
    ))
}

/// A reader's open holds with their place in the queue.
pub async fn list(ctx: &Ctx, patron: &Patron) -> Result<Vec<HoldStatus>> {
    let now = ctx.clock.now();
    let conn = ctx.db.reader();
    let rules = rules_for(ctx, patron.library_id, &patron.category).await?;
    let mut out = Vec::new();
    for hold in holds::open_of(conn, patron.id).await? {
        let (position, wait) = if hold.state == HoldState::Waiting {
            let queue = holds::waiting_queue(conn, hold.title_id).await?;
            let position = queue_position(&queue, hold.id, now).unwrap_or(1);
            let (copies, _) = copies_at(ctx, hold.title_id, patron.library_id, now).await?;
            (
                Some(position),
                Some(estimated_wait_days(
                    position,
                    rules.loan_days_default,
                    copies,
                )),
            )
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

async fn own_hold(ctx: &Ctx, patron: &Patron, id: HoldId) -> Result<Hold> {
    holds::get(ctx.db.reader(), id)
        .await?
        .filter(|h| h.patron_id == patron.id)
        .ok_or(Error::NotFound("hold"))
}

/// A reader cancels a hold; a reserved copy goes to the next in line.
pub async fn cancel(ctx: &Ctx, patron: &Patron, id: HoldId) -> Result<()> {
    let hold = own_hold(ctx, patron, id).await?;
    end_hold(ctx, &hold, Actor::Patron(patron.id)).await
}

/// Cancels `hold` for `actor` in one transaction; a copy reserved for it is freed and
/// handed on to the next in line.
async fn end_hold(ctx: &Ctx, hold: &Hold, actor: Actor) -> Result<()> {
    let now = ctx.clock.now();
    let txn = ctx.db.begin_write().await?;
    if !holds::transition(&txn, hold.id, HoldMove::Cancel, None, now).await? {
        return Err(Error::NotFound("open hold"));
    }
    if hold.state == HoldState::Ready
        && let Some(lot) = hold.lot_id
    {
        lots::release_copy(&txn, lot, now).await?;
        copy_freed::record(&txn, hold.title_id, now).await?;
    }
    record(&txn, actor, hold, "hold.cancel", now).await?;
    txn.commit().await?;
    ctx.copies_freed().await;
    Ok(())
}

/// Suspends a waiting hold until `until` (it keeps its place), or resumes it (`None`).
pub async fn suspend(
    ctx: &Ctx,
    patron: &Patron,
    id: HoldId,
    until: Option<DateTime<Utc>>,
) -> Result<Hold> {
    let hold = own_hold(ctx, patron, id).await?;
    if hold.state != HoldState::Waiting {
        return Err(Error::Conflict(
            "only a waiting hold can be suspended".into(),
        ));
    }
    let now = ctx.clock.now();
    let txn = ctx.db.begin_write().await?;
    holds::set_suspended(&txn, hold.id, until, now).await?;
    if until.is_none() {
        // Back in line: a free copy may be its.
        copy_freed::record(&txn, hold.title_id, now).await?;
    }
    let action = if until.is_some() {
        "hold.suspend"
    } else {
        "hold.resume"
    };
    record(&txn, Actor::Patron(patron.id), &hold, action, now).await?;
    txn.commit().await?;
    ctx.copies_freed().await;
    own_hold(ctx, patron, id).await
}

/// Gives free copies of `title` to the holds at the front of its queue. Idempotent and
/// safe to run from several replicas: every step is a conditional update.
pub async fn promote(ctx: &Ctx, title: TitleId) -> Result<usize> {
    let now = ctx.clock.now();
    let mut promoted = 0;
    let queue = holds::waiting_queue(ctx.db.reader(), title).await?;
    for hold in queue.into_iter().filter(|h| h.in_line_at(now)) {
        let Some(patron) = patrons::get(ctx.db.reader(), hold.patron_id, LibraryScope::All).await?
        else {
            continue;
        };
        let rules = rules_for(ctx, hold.library_id, &patron.category).await?;
        // The lots are read inside the write transaction: a copy freed a moment ago
        // must be seen, whatever the read pool's snapshot.
        let txn = ctx.db.begin_write().await?;
        let all = lots::lots_of_title(&txn, title).await?;
        if !all
            .iter()
            .any(|l| l.status == LotStatus::Active && l.has_free_copy())
        {
            // No copy anywhere: nobody further down the queue can be served either.
            break;
        }
        let mut reserved = None;
        for lot in draw_order(&all, hold.library_id, now) {
            if lot.has_free_copy() && lots::take_copy(&txn, lot.id, now).await? {
                reserved = Some(lot.id);
                break;
            }
        }
        let Some(lot) = reserved else {
            continue;
        };
        let deadline = now + Duration::hours(i64::from(rules.pickup_hours));
        if !holds::transition(&txn, hold.id, HoldMove::Ready, Some((lot, deadline)), now).await? {
            // Cancelled or promoted elsewhere meanwhile: the copy goes back.
            continue;
        }
        notifications::notify(
            &txn,
            hold.patron_id,
            NotificationKind::HoldReady,
            json!({ "hold_id": hold.id, "title_id": title, "pickup_deadline": deadline }),
            now,
        )
        .await?;
        record(&txn, Actor::System, &hold, "hold.ready", now).await?;
        txn.commit().await?;
        promoted += 1;
        if hold.auto_borrow {
            // The reader asked for the loan to be made for them.
            let request = BorrowRequest {
                title,
                days: None,
                request_id: hold.id.0,
                device: None,
            };
            if let Err(err) = super::lending::borrow(ctx, &patron, request).await {
                tracing::info!(hold = %hold.id, error = %err, "automatic borrow of a ready hold failed; it stays ready");
            }
        }
    }
    Ok(promoted)
}

/// Titles served per batch of a drain.
const DRAIN_BATCH: u64 = 100;

/// Hands the copies freed since the last drain to the queues of their titles, then
/// clears those events, until none are left. Events recorded meanwhile stay for the
/// next drain. Returns how many holds became ready.
pub async fn drain_freed(ctx: &Ctx) -> Result<usize> {
    drain(ctx, usize::MAX).await
}

async fn drain(ctx: &Ctx, max_batches: usize) -> Result<usize> {
    let mut promoted = 0;
    for _ in 0..max_batches {
        let pending = copy_freed::pending(ctx.db.reader(), DRAIN_BATCH).await?;
        if pending.is_empty() {
            break;
        }
        for (title, last) in pending {
            promoted += promote(ctx, title).await?;
            let txn = ctx.db.begin_write().await?;
            copy_freed::clear(&txn, title, last).await?;
            txn.commit().await?;
        }
    }
    Ok(promoted)
}

/// The holds queue as the listener of freed copies (wired in at start-up).
#[derive(Debug, Clone, Copy, Default)]
pub struct Queue;

impl CopyFreedListener for Queue {
    /// One batch only: a request that freed a copy serves the oldest pending titles
    /// (its own among them unless a hundred others wait first) and never loops on events
    /// other requests keep recording; the periodic job drains the rest.
    fn copies_freed<'a>(&'a self, ctx: &'a Ctx) -> BoxFuture<'a, Result<usize>> {
        Box::pin(drain(ctx, 1))
    }
}

/// Expires ready holds not collected in time, handing their copies on.
pub async fn expire_lapsed(ctx: &Ctx) -> Result<usize> {
    let now = ctx.clock.now();
    let mut expired = 0;
    for hold in holds::lapsed(ctx.db.reader(), now).await? {
        let txn = ctx.db.begin_write().await?;
        if holds::transition(&txn, hold.id, HoldMove::Lapse, None, now).await? {
            if let Some(lot) = hold.lot_id {
                lots::release_copy(&txn, lot, now).await?;
            }
            copy_freed::record(&txn, hold.title_id, now).await?;
            notifications::notify(
                &txn,
                hold.patron_id,
                NotificationKind::HoldExpired,
                json!({ "hold_id": hold.id, "title_id": hold.title_id }),
                now,
            )
            .await?;
            record(&txn, Actor::System, &hold, "hold.expire", now).await?;
            expired += 1;
        }
        txn.commit().await?;
    }
    if expired > 0 {
        ctx.copies_freed().await;
    }
    Ok(expired)
}

/// The periodic job: drains freed copies (what a crash left behind) and serves every
/// title someone waits for (suspensions end with time, not with an event).
pub async fn promote_all(ctx: &Ctx) -> Result<usize> {
    let mut promoted = drain_freed(ctx).await?;
    for title in holds::titles_with_waiting(ctx.db.reader()).await? {
        promoted += promote(ctx, title).await?;
    }
    Ok(promoted)
}

/// A title's availability at a library, and for a reader if one is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Availability {
    /// What the reader can do.
    pub state: jieyue_protocol::api::AvailabilityState,
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
    library: LibraryId,
    patron: Option<PatronId>,
) -> Result<Availability> {
    use jieyue_protocol::api::AvailabilityState as State;
    let conn = ctx.db.reader();
    let now = ctx.clock.now();
    let (copies_total, copies_available) = copies_at(ctx, title, library, now).await?;
    let open_total = holds::open_count(conn, title).await?;
    let mut availability = Availability {
        state: if copies_available > 0 {
            State::Available
        } else {
            State::Unavailable
        },
        since: None,
        until: None,
        copies_total,
        copies_available,
        holds_total: open_total,
        hold_position: None,
    };
    if let Some(patron) = patron {
        if let Some(ready) = holds::ready_for(conn, patron, title).await? {
            availability.state = State::Ready;
            availability.since = ready.ready_at;
            availability.until = ready.pickup_deadline;
        } else {
            let queue = holds::waiting_queue(conn, title).await?;
            if let Some(mine) = queue.iter().find(|h| h.patron_id == patron) {
                availability.state = State::Reserved;
                availability.hold_position = queue_position(&queue, mine.id, now);
            }
        }
    }
    Ok(availability)
}

/// A reader's open hold as staff see it on the reader's page.
#[derive(Debug, Clone)]
pub struct PatronHold {
    /// The hold.
    pub hold: Hold,
    /// The title's name (empty if the title is gone).
    pub title: String,
    /// Place in the queue (waiting holds only; 1 is next in line).
    pub position: Option<u64>,
}

/// Names of `ids` (titles that are gone are left out).
async fn title_names(
    ctx: &Ctx,
    ids: &[TitleId],
) -> Result<std::collections::HashMap<TitleId, String>> {
    Ok(titles::get_many(ctx.db.reader(), ids)
        .await?
        .into_iter()
        .map(|t| (t.id, t.metadata.title))
        .collect())
}

/// Codes of every library, by id.
async fn library_codes(ctx: &Ctx) -> Result<std::collections::HashMap<LibraryId, String>> {
    Ok(crate::store::libraries::list(ctx.db.reader())
        .await?
        .into_iter()
        .map(|l| (l.id, l.code))
        .collect())
}

fn scope_library(actor: &crate::domain::Staff) -> Option<LibraryId> {
    match actor.scope() {
        LibraryScope::All => None,
        LibraryScope::One(library) => Some(library),
    }
}

/// The open holds of a patron inside the actor's scope, oldest first, with the title
/// and the place in the queue.
pub async fn holds_of_patron_for_staff(
    ctx: &Ctx,
    actor: &crate::domain::Staff,
    patron: PatronId,
) -> Result<Vec<PatronHold>> {
    let conn = ctx.db.reader();
    let owner = patrons::get(conn, patron, actor.scope())
        .await?
        .ok_or(Error::NotFound("patron"))?;
    let open = holds::open_of(conn, owner.id).await?;
    let ids: Vec<TitleId> = open.iter().map(|h| h.title_id).collect();
    let names = title_names(ctx, &ids).await?;
    let now = ctx.clock.now();
    let mut out = Vec::with_capacity(open.len());
    for hold in open {
        let position = if hold.state == HoldState::Waiting {
            let queue = holds::waiting_queue(conn, hold.title_id).await?;
            queue_position(&queue, hold.id, now)
        } else {
            None
        };
        out.push(PatronHold {
            title: names.get(&hold.title_id).cloned().unwrap_or_default(),
            position,
            hold,
        });
    }
    Ok(out)
}

/// Staff cancel an open hold of a reader of a library in their scope (audited as the
/// staff member's); a copy reserved for it goes to the next in line. Returns the hold
/// as it was.
pub async fn cancel_by_staff(ctx: &Ctx, actor: &crate::domain::Staff, id: HoldId) -> Result<Hold> {
    let hold = holds::get(ctx.db.reader(), id)
        .await?
        .filter(|h| actor.scope().contains(h.library_id))
        .ok_or(Error::NotFound("hold"))?;
    end_hold(ctx, &hold, Actor::Staff(actor.id)).await?;
    Ok(hold)
}

/// One title's queue at a glance.
#[derive(Debug, Clone)]
pub struct QueueSummary {
    /// The title.
    pub title_id: TitleId,
    /// Its name.
    pub title: String,
    /// Holds waiting across the consortium.
    pub waiting: u64,
    /// Of those, holds of readers of the actor's library (all for consortium admins).
    pub waiting_here: u64,
    /// Copies the actor's library can lend from now (every active lot's for
    /// consortium admins).
    pub copies: u64,
    /// Of those, copies free now.
    pub free: u64,
}

/// Copies of the lots `library` may lend from now (every active lot if `None`), and
/// how many are free.
async fn copies_for(
    ctx: &Ctx,
    title: TitleId,
    library: Option<LibraryId>,
    now: DateTime<Utc>,
) -> Result<(u64, u64)> {
    let all = lots::lots_of_title(ctx.db.reader(), title).await?;
    let usable: Vec<&crate::domain::Lot> = match library {
        Some(library) => draw_order(&all, library, now),
        None => all
            .iter()
            .filter(|l| l.status == LotStatus::Active)
            .collect(),
    };
    Ok((
        usable.iter().map(|l| u64::from(l.copies)).sum(),
        usable.iter().map(|l| u64::from(l.free_copies())).sum(),
    ))
}

/// The titles readers in the actor's scope wait for (every title with a queue for
/// consortium admins), longest queue first.
pub async fn queues(ctx: &Ctx, actor: &crate::domain::Staff) -> Result<Vec<QueueSummary>> {
    let conn = ctx.db.reader();
    let library = scope_library(actor);
    let everyone: std::collections::HashMap<TitleId, u64> = holds::waiting_per_title(conn, None)
        .await?
        .into_iter()
        .collect();
    let here = match library {
        None => everyone.iter().map(|(t, n)| (*t, *n)).collect(),
        Some(_) => holds::waiting_per_title(conn, library).await?,
    };
    let ids: Vec<TitleId> = here.iter().map(|(t, _)| *t).collect();
    let names = title_names(ctx, &ids).await?;
    let now = ctx.clock.now();
    let mut out = Vec::with_capacity(here.len());
    for (title_id, waiting_here) in here {
        let (copies, free) = copies_for(ctx, title_id, library, now).await?;
        out.push(QueueSummary {
            title_id,
            title: names.get(&title_id).cloned().unwrap_or_default(),
            waiting: everyone.get(&title_id).copied().unwrap_or(waiting_here),
            waiting_here,
            copies,
            free,
        });
    }
    out.sort_by(|a, b| {
        b.waiting
            .cmp(&a.waiting)
            .then_with(|| a.title.cmp(&b.title))
    });
    Ok(out)
}

/// A reader seen in a queue: who, when the reader is in the actor's scope.
#[derive(Debug, Clone)]
pub struct QueueReader {
    /// Id (for a link to the reader's page).
    pub id: PatronId,
    /// Card number.
    pub card_number: String,
    /// Name.
    pub display_name: String,
}

/// One place in a title's queue.
#[derive(Debug, Clone)]
pub struct QueueEntry {
    /// The hold.
    pub hold: Hold,
    /// Place among the waiting (1 is next; suspended holds ahead do not count); `None`
    /// for ready holds and for suspended ones.
    pub position: Option<u64>,
    /// The reader's library code.
    pub library_code: String,
    /// The reader, only if in the actor's scope (others are shown by library alone).
    pub reader: Option<QueueReader>,
}

/// A title's whole queue.
#[derive(Debug, Clone)]
pub struct TitleQueue {
    /// The title.
    pub title_id: TitleId,
    /// Its name.
    pub title: String,
    /// Ready holds (soonest pickup deadline first), then waiting ones in queue order.
    pub entries: Vec<QueueEntry>,
    /// Copies the actor's library can lend from now (every active lot's for
    /// consortium admins).
    pub copies: u64,
    /// Of those, copies free now.
    pub free: u64,
}

/// The queue of a title across the consortium. Readers outside the actor's scope are
/// shown by their library's code only.
pub async fn title_queue(
    ctx: &Ctx,
    actor: &crate::domain::Staff,
    title: TitleId,
) -> Result<TitleQueue> {
    let conn = ctx.db.reader();
    let found = titles::get(conn, title)
        .await?
        .ok_or(Error::NotFound("title"))?;
    let open = holds::open_on_title(conn, title).await?;
    let mut readers: Vec<PatronId> = open
        .iter()
        .filter(|h| actor.scope().contains(h.library_id))
        .map(|h| h.patron_id)
        .collect();
    readers.sort_by_key(|p| p.0);
    readers.dedup();
    let known: std::collections::HashMap<PatronId, Patron> =
        patrons::get_many(conn, &readers, actor.scope())
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
    let codes = library_codes(ctx).await?;
    let now = ctx.clock.now();
    let waiting: Vec<Hold> = open
        .iter()
        .filter(|h| h.state == HoldState::Waiting)
        .cloned()
        .collect();
    let entries = open
        .into_iter()
        .map(|hold| QueueEntry {
            position: if hold.in_line_at(now) {
                queue_position(&waiting, hold.id, now)
            } else {
                None
            },
            library_code: codes.get(&hold.library_id).cloned().unwrap_or_default(),
            reader: known.get(&hold.patron_id).map(|p| QueueReader {
                id: p.id,
                card_number: p.card_number.clone(),
                display_name: p.display_name.clone(),
            }),
            hold,
        })
        .collect();
    let (copies, free) = copies_for(ctx, title, scope_library(actor), now).await?;
    Ok(TitleQueue {
        title_id: found.id,
        title: found.metadata.title,
        entries,
        copies,
        free,
    })
}

/// A ready hold waiting to be collected, with who and what.
#[derive(Debug, Clone)]
pub struct ReadyHold {
    /// The hold (its `pickup_deadline` is set).
    pub hold: Hold,
    /// The title's name.
    pub title: String,
    /// The reader's library code.
    pub library_code: String,
    /// The reader's card number.
    pub card_number: String,
    /// The reader's name.
    pub display_name: String,
}

/// How far ahead a ready hold counts as about to lapse: a ready hold whose pickup
/// deadline passes is expired by [`expire_lapsed`] and its copy goes to the next in
/// line.
pub const LAPSING_WITHIN: Duration = Duration::hours(24);

/// Ready holds of readers in the actor's scope, soonest pickup deadline first (at most
/// 500); with `lapsing_only`, just those whose deadline is less than
/// [`LAPSING_WITHIN`] away.
pub async fn ready_holds(
    ctx: &Ctx,
    actor: &crate::domain::Staff,
    lapsing_only: bool,
) -> Result<Vec<ReadyHold>> {
    let conn = ctx.db.reader();
    let now = ctx.clock.now();
    let due_before = lapsing_only.then(|| now + LAPSING_WITHIN);
    let ready = holds::ready_in(conn, scope_library(actor), due_before, 500).await?;
    let mut readers: Vec<PatronId> = ready.iter().map(|h| h.patron_id).collect();
    readers.sort_by_key(|p| p.0);
    readers.dedup();
    let known: std::collections::HashMap<PatronId, Patron> =
        patrons::get_many(conn, &readers, actor.scope())
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
    let ids: Vec<TitleId> = ready.iter().map(|h| h.title_id).collect();
    let names = title_names(ctx, &ids).await?;
    let codes = library_codes(ctx).await?;
    Ok(ready
        .into_iter()
        .map(|hold| {
            let reader = known.get(&hold.patron_id);
            ReadyHold {
                title: names.get(&hold.title_id).cloned().unwrap_or_default(),
                library_code: codes.get(&hold.library_id).cloned().unwrap_or_default(),
                card_number: reader.map(|p| p.card_number.clone()).unwrap_or_default(),
                display_name: reader.map(|p| p.display_name.clone()).unwrap_or_default(),
                hold,
            }
        })
        .collect())
}
