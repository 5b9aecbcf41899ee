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

/// The patrons inside the actor's scope that `query` names exactly: by id, or by card
/// number (one per library at most). Empty when it names none.
pub async fn named(ctx: &Ctx, actor: &Staff, query: &str) -> Result<Vec<Patron>> {
    let query = query.trim();
    if let Ok(id) = uuid::Uuid::parse_str(query) {
        return match get(ctx, actor, PatronId(id)).await {
            Ok(patron) => Ok(vec![patron]),
            Err(Error::NotFound(_)) => Ok(Vec::new()),
            Err(other) => Err(other),
        };
    }
    let Ok(card) = CardNumber::parse(query) else {
        return Ok(Vec::new());
    };
    Ok(patrons::by_card(ctx.db.reader(), actor.scope(), &card).await?)
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
pub async fn block(ctx: &Ctx, actor: &Staff, id: PatronId, reason: Option<&str>) -> Result<Patron> {
    let reason = crate::domain::staff_reason(reason)?;
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

/// A patron with their home library and what bars them from borrowing now, as the
/// console lists and shows them.
#[derive(Debug, Clone)]
pub struct PatronListing {
    /// The patron.
    pub patron: Patron,
    /// The home library's code (empty if the library is gone).
    pub library_code: String,
    /// The home library's name.
    pub library_name: String,
    /// Blocked or card expired at the time of asking; `None` if they may borrow.
    pub bar: Option<crate::domain::CirculationBar>,
}

async fn listings(ctx: &Ctx, found: Vec<Patron>) -> Result<Vec<PatronListing>> {
    let libraries: std::collections::HashMap<LibraryId, Library> = libraries::list(ctx.db.reader())
        .await?
        .into_iter()
        .map(|l| (l.id, l))
        .collect();
    let now = ctx.clock.now();
    Ok(found
        .into_iter()
        .map(|patron| {
            let library = libraries.get(&patron.library_id);
            PatronListing {
                library_code: library.map(|l| l.code.clone()).unwrap_or_default(),
                library_name: library.map(|l| l.name.clone()).unwrap_or_default(),
                bar: patron.circulation_bar(now),
                patron,
            }
        })
        .collect())
}

/// Patrons inside the actor's scope matching `query` (as [`search`]), each with their
/// library and standing.
pub async fn search_listed(
    ctx: &Ctx,
    actor: &Staff,
    query: &PatronQuery,
) -> Result<Vec<PatronListing>> {
    let found = search(ctx, actor, query).await?;
    listings(ctx, found).await
}

/// One patron inside the actor's scope, with their library and standing.
pub async fn get_listed(ctx: &Ctx, actor: &Staff, id: PatronId) -> Result<PatronListing> {
    let patron = get(ctx, actor, id).await?;
    listings(ctx, vec![patron])
        .await?
        .pop()
        .ok_or(Error::NotFound("patron"))
}

/// How much a reader has read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadingHistory {
    /// Every loan they ever made.
    pub total_loans: u64,
    /// Loans started this calendar year (UTC).
    pub loans_this_year: u64,
    /// Distinct titles borrowed.
    pub distinct_titles: u64,
}

/// The reading history of a patron inside the actor's scope.
pub async fn reading_history(ctx: &Ctx, actor: &Staff, id: PatronId) -> Result<ReadingHistory> {
    use chrono::Datelike;
    let patron = get(ctx, actor, id).await?;
    let now = ctx.clock.now();
    let year_start = chrono::NaiveDate::from_ymd_opt(now.year(), 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(now, |t| t.and_utc());
    let (total_loans, loans_this_year, distinct_titles) =
        crate::store::loans::history_counts(ctx.db.reader(), patron.id, year_start).await?;
    Ok(ReadingHistory {
        total_loans,
        loans_this_year,
        distinct_titles,
    })
}
