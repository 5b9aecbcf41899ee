//! Patrons.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Select,
};

use super::Result;
use super::entity::patron::{self, Entity as Patrons};
use crate::domain::{
    CardNumber, DisplayName, LibraryId, LibraryScope, LoginGuard, NewPatron, PasswordHash, Patron,
    PatronCategory, PatronId,
};

fn to_domain(model: patron::Model) -> (Patron, PasswordHash, LoginGuard) {
    let guard = LoginGuard {
        failed_logins: u32::try_from(model.failed_logins).unwrap_or(0),
        locked_until: model.locked_until,
    };
    let patron = Patron {
        id: PatronId(model.id),
        library_id: LibraryId(model.library_id),
        card_number: model.card_number,
        display_name: model.display_name,
        category: model.category,
        card_expires_at: model.card_expires_at,
        blocked: model.blocked,
        blocked_reason: model.blocked_reason,
        created_at: model.created_at,
    };
    (patron, PasswordHash(model.password_hash), guard)
}

fn patron_only(model: patron::Model) -> Patron {
    to_domain(model).0
}

fn scoped(select: Select<Patrons>, scope: LibraryScope) -> Select<Patrons> {
    match scope {
        LibraryScope::All => select,
        LibraryScope::One(library) => select.filter(patron::Column::LibraryId.eq(library.0)),
    }
}

/// Registers a patron. A card number already used in the library is
/// [`StoreError::Duplicate`](super::StoreError).
pub async fn insert(
    conn: &impl ConnectionTrait,
    new: &NewPatron,
    now: DateTime<Utc>,
) -> Result<Patron> {
    let model = patron::ActiveModel {
        id: Set(PatronId::new().0),
        library_id: Set(new.library_id.0),
        card_number: Set(new.card_number.as_str().to_owned()),
        display_name: Set(new.display_name.as_str().to_owned()),
        category: Set(new.category.as_str().to_owned()),
        card_expires_at: Set(new.card_expires_at),
        blocked: Set(false),
        blocked_reason: Set(None),
        password_hash: Set(new.password_hash.0.clone()),
        failed_logins: Set(0),
        locked_until: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(patron_only(model))
}

/// One patron, if inside `scope`.
pub async fn get(
    conn: &impl ConnectionTrait,
    id: PatronId,
    scope: LibraryScope,
) -> Result<Option<Patron>> {
    Ok(scoped(Patrons::find_by_id(id.0), scope)
        .one(conn)
        .await?
        .map(patron_only))
}

/// The patron, password hash and failed-login record for a card at a library.
pub async fn find_for_login(
    conn: &impl ConnectionTrait,
    library: LibraryId,
    card: &CardNumber,
) -> Result<Option<(Patron, PasswordHash, LoginGuard)>> {
    Ok(Patrons::find()
        .filter(patron::Column::LibraryId.eq(library.0))
        .filter(patron::Column::CardNumber.eq(card.as_str()))
        .one(conn)
        .await?
        .map(to_domain))
}

/// A patron's password hash and failed-login record.
pub async fn credentials(
    conn: &impl ConnectionTrait,
    id: PatronId,
) -> Result<Option<(PasswordHash, LoginGuard)>> {
    Ok(Patrons::find_by_id(id.0).one(conn).await?.map(|m| {
        let (_, hash, guard) = to_domain(m);
        (hash, guard)
    }))
}

/// The patrons in `scope` whose card number is exactly `card` (one per library at
/// most: card numbers are unique within a library).
pub async fn by_card(
    conn: &impl ConnectionTrait,
    scope: LibraryScope,
    card: &CardNumber,
) -> Result<Vec<Patron>> {
    Ok(scoped(Patrons::find(), scope)
        .filter(patron::Column::CardNumber.eq(card.as_str()))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| to_domain(m).0)
        .collect())
}

/// A page of a patron search.
#[derive(Debug, Clone)]
pub struct PatronQuery {
    /// Matches a card number prefix or a part of the name.
    pub text: Option<String>,
    /// Only this library (must also be inside the scope to match anything).
    pub library: Option<LibraryId>,
    /// Continue after this patron (ids are time-ordered).
    pub after: Option<PatronId>,
    /// At most this many.
    pub limit: u64,
}

/// Patrons inside `scope` matching `query`, oldest registration first.
pub async fn search(
    conn: &impl ConnectionTrait,
    scope: LibraryScope,
    query: &PatronQuery,
) -> Result<Vec<Patron>> {
    let mut select = scoped(Patrons::find(), scope);
    if let Some(library) = query.library {
        select = select.filter(patron::Column::LibraryId.eq(library.0));
    }
    if let Some(text) = query
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let escaped = text
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        select = select.filter(
            Condition::any()
                .add(patron::Column::CardNumber.starts_with(escaped.to_ascii_uppercase()))
                .add(patron::Column::DisplayName.contains(escaped)),
        );
    }
    if let Some(after) = query.after {
        select = select.filter(patron::Column::Id.gt(after.0));
    }
    Ok(select
        .order_by_asc(patron::Column::Id)
        .limit(query.limit)
        .all(conn)
        .await?
        .into_iter()
        .map(patron_only)
        .collect())
}

/// Changes to a patron; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct PatronPatch {
    /// New name.
    pub display_name: Option<DisplayName>,
    /// New category.
    pub category: Option<PatronCategory>,
    /// New card expiry.
    pub card_expires_at: Option<DateTime<Utc>>,
    /// Block (with a reason) or unblock.
    pub blocked: Option<(bool, Option<String>)>,
    /// New password hash (also clears a lock-out).
    pub password_hash: Option<PasswordHash>,
}

/// Applies `patch` to the patron if inside `scope`.
pub async fn update(
    conn: &impl ConnectionTrait,
    id: PatronId,
    scope: LibraryScope,
    patch: PatronPatch,
    now: DateTime<Utc>,
) -> Result<Option<Patron>> {
    let Some(existing) = scoped(Patrons::find_by_id(id.0), scope).one(conn).await? else {
        return Ok(None);
    };
    let mut model: patron::ActiveModel = existing.into();
    if let Some(name) = patch.display_name {
        model.display_name = Set(name.as_str().to_owned());
    }
    if let Some(category) = patch.category {
        model.category = Set(category.as_str().to_owned());
    }
    if let Some(expires) = patch.card_expires_at {
        model.card_expires_at = Set(expires);
    }
    if let Some((blocked, reason)) = patch.blocked {
        model.blocked = Set(blocked);
        model.blocked_reason = Set(reason);
    }
    if let Some(hash) = patch.password_hash {
        model.password_hash = Set(hash.0);
        model.failed_logins = Set(0);
        model.locked_until = Set(None);
    }
    model.updated_at = Set(now);
    Ok(Some(patron_only(model.update(conn).await?)))
}

/// Locks a patron's row until the transaction ends (PostgreSQL `FOR UPDATE`), so that
/// per-patron limits hold under concurrent requests. SQLite's single writer already
/// serialises write transactions.
pub async fn lock(conn: &impl ConnectionTrait, id: PatronId) -> Result<()> {
    if !super::is_sqlite(conn) {
        Patrons::find_by_id(id.0).lock_exclusive().one(conn).await?;
    }
    Ok(())
}

/// Several patrons by id, those inside `scope` only (in no particular order).
pub async fn get_many(
    conn: &impl ConnectionTrait,
    ids: &[PatronId],
    scope: LibraryScope,
) -> Result<Vec<Patron>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(scoped(Patrons::find(), scope)
        .filter(patron::Column::Id.is_in(ids.iter().map(|id| id.0)))
        .all(conn)
        .await?
        .into_iter()
        .map(patron_only)
        .collect())
}
