//! Lending persistence: rules, devices, lots, loans, licences.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use super::entity::lending::{device, lending_rule, licence, licence_lot, loan, lot_share};
use super::{Result, StoreError};
use crate::domain::{LendingRules, LibraryId, Loan, LoanState, PatronId, TitleId};

fn n(value: i32) -> u32 {
    u32::try_from(value).unwrap_or(0)
}

fn i(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

fn rules_of(m: &lending_rule::Model) -> LendingRules {
    LendingRules {
        loan_days_default: n(m.loan_days_default),
        loan_days_max: n(m.loan_days_max),
        max_loans: n(m.max_loans),
        max_holds: n(m.max_holds),
        renewals: n(m.renewals),
        renewal_days: n(m.renewal_days),
        pickup_hours: n(m.pickup_hours),
        max_devices: n(m.max_devices),
    }
}

/// A cell of the rules matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesCell {
    /// Library, or `None` for the consortium.
    pub library_id: Option<LibraryId>,
    /// Category, or `None` for every category.
    pub category: Option<String>,
    /// The rules.
    pub rules: LendingRules,
}

/// The first cell among `keys` (most specific first) that exists.
pub async fn first_rules(
    conn: &impl ConnectionTrait,
    keys: &[String],
) -> Result<Option<RulesCell>> {
    let rows = lending_rule::Entity::find()
        .filter(lending_rule::Column::ScopeKey.is_in(keys.iter().cloned()))
        .all(conn)
        .await?;
    Ok(keys.iter().find_map(|key| {
        rows.iter()
            .find(|r| &r.scope_key == key)
            .map(|m| RulesCell {
                library_id: m.library_id.map(LibraryId),
                category: m.category.clone(),
                rules: rules_of(m),
            })
    }))
}

/// Every cell for these libraries (and the consortium's).
pub async fn list_rules(
    conn: &impl ConnectionTrait,
    library: Option<LibraryId>,
) -> Result<Vec<RulesCell>> {
    let mut select = lending_rule::Entity::find();
    if let Some(library) = library {
        select = select.filter(
            Condition::any()
                .add(lending_rule::Column::LibraryId.eq(library.0))
                .add(lending_rule::Column::LibraryId.is_null()),
        );
    }
    Ok(select
        .order_by_asc(lending_rule::Column::ScopeKey)
        .all(conn)
        .await?
        .iter()
        .map(|m| RulesCell {
            library_id: m.library_id.map(LibraryId),
            category: m.category.clone(),
            rules: rules_of(m),
        })
        .collect())
}

/// Creates or replaces a cell.
pub async fn put_rules(
    conn: &impl ConnectionTrait,
    cell: &RulesCell,
    now: DateTime<Utc>,
) -> Result<()> {
    let key = crate::domain::rules_key(cell.library_id, cell.category.as_deref());
    let existing = lending_rule::Entity::find()
        .filter(lending_rule::Column::ScopeKey.eq(&key))
        .one(conn)
        .await?;
    let r = &cell.rules;
    let is_new = existing.is_none();
    let mut model = match existing {
        Some(m) => m.into(),
        None => lending_rule::ActiveModel {
            id: Set(Uuid::now_v7()),
            scope_key: Set(key),
            library_id: Set(cell.library_id.map(|l| l.0)),
            category: Set(cell.category.clone()),
            ..Default::default()
        },
    };
    model.loan_days_default = Set(i(r.loan_days_default));
    model.loan_days_max = Set(i(r.loan_days_max));
    model.max_loans = Set(i(r.max_loans));
    model.max_holds = Set(i(r.max_holds));
    model.renewals = Set(i(r.renewals));
    model.renewal_days = Set(i(r.renewal_days));
    model.pickup_hours = Set(i(r.pickup_hours));
    model.max_devices = Set(i(r.max_devices));
    model.updated_at = Set(now);
    if is_new {
        model.insert(conn).await?;
    } else {
        model.update(conn).await?;
    }
    Ok(())
}

/// An enrolled device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// The device id (chosen by the app).
    pub id: Uuid,
    /// Its patron.
    pub patron_id: PatronId,
    /// Its name.
    pub name: String,
    /// Its device key, sealed under the master key (context: the device id).
    pub key_sealed: String,
    /// When it enrolled.
    pub enrolled_at: DateTime<Utc>,
}

fn device_of(m: device::Model) -> Device {
    Device {
        id: m.id,
        patron_id: PatronId(m.patron_id),
        name: m.name,
        key_sealed: m.key_sealed,
        enrolled_at: m.enrolled_at,
    }
}

/// A device by id (any patron's).
pub async fn device(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<Device>> {
    Ok(device::Entity::find_by_id(id)
        .one(conn)
        .await?
        .map(device_of))
}

/// A patron's devices, oldest first.
pub async fn devices_of(conn: &impl ConnectionTrait, patron: PatronId) -> Result<Vec<Device>> {
    Ok(device::Entity::find()
        .filter(device::Column::PatronId.eq(patron.0))
        .order_by_asc(device::Column::EnrolledAt)
        .all(conn)
        .await?
        .into_iter()
        .map(device_of)
        .collect())
}

/// Stores a new device, or a new key for one the patron re-enrols.
pub async fn save_device(conn: &impl ConnectionTrait, d: &Device) -> Result<()> {
    match device::Entity::find_by_id(d.id).one(conn).await? {
        Some(existing) => {
            let mut model: device::ActiveModel = existing.into();
            model.name = Set(d.name.clone());
            model.key_sealed = Set(d.key_sealed.clone());
            model.enrolled_at = Set(d.enrolled_at);
            model.update(conn).await?;
        }
        None => {
            device::ActiveModel {
                id: Set(d.id),
                patron_id: Set(d.patron_id.0),
                name: Set(d.name.clone()),
                key_sealed: Set(d.key_sealed.clone()),
                enrolled_at: Set(d.enrolled_at),
            }
            .insert(conn)
            .await?;
        }
    }
    Ok(())
}

/// Removes a patron's device; `false` if the patron has no such device.
pub async fn delete_device(
    conn: &impl ConnectionTrait,
    patron: PatronId,
    id: Uuid,
) -> Result<bool> {
    let result = device::Entity::delete_many()
        .filter(device::Column::Id.eq(id))
        .filter(device::Column::PatronId.eq(patron.0))
        .exec(conn)
        .await?;
    Ok(result.rows_affected > 0)
}

/// A licence lot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lot {
    /// Id.
    pub id: Uuid,
    /// Title.
    pub title_id: TitleId,
    /// Owning library; `None` for the consortium's shared pool.
    pub owner_library_id: Option<LibraryId>,
    /// Concurrent copies.
    pub copies: u32,
    /// Copies out now.
    pub active_loans: u32,
    /// Checkouts left (metered lots), if limited.
    pub checkouts_left: Option<u32>,
    /// After this, no new loans.
    pub expires_at: Option<DateTime<Utc>>,
    /// `active`, `suspended` or `retired`.
    pub status: String,
    /// Other libraries that may lend it.
    pub shared_with: Vec<LibraryId>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

fn lot_of(m: licence_lot::Model, shares: Vec<LibraryId>) -> Lot {
    Lot {
        id: m.id,
        title_id: TitleId(m.title_id),
        owner_library_id: m.owner_library_id.map(LibraryId),
        copies: n(m.copies),
        active_loans: n(m.active_loans),
        checkouts_left: m.checkouts_left.map(n),
        expires_at: m.expires_at,
        status: m.status,
        shared_with: shares,
        created_at: m.created_at,
    }
}

async fn shares_of(conn: &impl ConnectionTrait, lots: &[Uuid]) -> Result<Vec<(Uuid, LibraryId)>> {
    if lots.is_empty() {
        return Ok(Vec::new());
    }
    Ok(lot_share::Entity::find()
        .filter(lot_share::Column::LotId.is_in(lots.iter().copied()))
        .all(conn)
        .await?
        .into_iter()
        .map(|s| (s.lot_id, LibraryId(s.library_id)))
        .collect())
}

async fn with_shares(
    conn: &impl ConnectionTrait,
    rows: Vec<licence_lot::Model>,
) -> Result<Vec<Lot>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let shares = shares_of(conn, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|m| {
            let mine = shares
                .iter()
                .filter(|(lot, _)| *lot == m.id)
                .map(|(_, l)| *l)
                .collect();
            lot_of(m, mine)
        })
        .collect())
}

/// Stores a new lot and its shares.
pub async fn insert_lot(conn: &impl ConnectionTrait, lot: &Lot, now: DateTime<Utc>) -> Result<()> {
    licence_lot::ActiveModel {
        id: Set(lot.id),
        title_id: Set(lot.title_id.0),
        owner_library_id: Set(lot.owner_library_id.map(|l| l.0)),
        copies: Set(i(lot.copies)),
        active_loans: Set(0),
        checkouts_left: Set(lot.checkouts_left.map(i)),
        expires_at: Set(lot.expires_at),
        status: Set(lot.status.clone()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?;
    set_shares(conn, lot.id, &lot.shared_with).await
}

/// Replaces the libraries a lot is shared with.
pub async fn set_shares(
    conn: &impl ConnectionTrait,
    lot: Uuid,
    libraries: &[LibraryId],
) -> Result<()> {
    lot_share::Entity::delete_many()
        .filter(lot_share::Column::LotId.eq(lot))
        .exec(conn)
        .await?;
    for library in libraries {
        lot_share::ActiveModel {
            lot_id: Set(lot),
            library_id: Set(library.0),
        }
        .insert(conn)
        .await?;
    }
    Ok(())
}

/// One lot.
pub async fn lot(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<Lot>> {
    let Some(row) = licence_lot::Entity::find_by_id(id).one(conn).await? else {
        return Ok(None);
    };
    Ok(with_shares(conn, vec![row]).await?.pop())
}

/// Every lot of a title.
pub async fn lots_of_title(conn: &impl ConnectionTrait, title: TitleId) -> Result<Vec<Lot>> {
    let rows = licence_lot::Entity::find()
        .filter(licence_lot::Column::TitleId.eq(title.0))
        .order_by_asc(licence_lot::Column::CreatedAt)
        .all(conn)
        .await?;
    with_shares(conn, rows).await
}

/// Changes a lot's copies (the check constraint refuses fewer copies than loans out),
/// checkouts, expiry or status.
pub async fn update_lot(conn: &impl ConnectionTrait, lot: &Lot, now: DateTime<Utc>) -> Result<()> {
    let Some(row) = licence_lot::Entity::find_by_id(lot.id).one(conn).await? else {
        return Err(StoreError::Corrupt {
            table: "licence_lots",
            reason: "lot vanished".into(),
        });
    };
    let mut model: licence_lot::ActiveModel = row.into();
    model.copies = Set(i(lot.copies));
    model.checkouts_left = Set(lot.checkouts_left.map(i));
    model.expires_at = Set(lot.expires_at);
    model.status = Set(lot.status.clone());
    model.updated_at = Set(now);
    model.update(conn).await?;
    set_shares(conn, lot.id, &lot.shared_with).await
}

/// Whether `library` may lend from `lot`: its owner may; a shared-pool lot with no
/// share list is open to every library; otherwise the libraries it is shared with.
pub fn lendable_by(lot: &Lot, library: LibraryId) -> bool {
    lot.owner_library_id == Some(library)
        || (lot.owner_library_id.is_none() && lot.shared_with.is_empty())
        || lot.shared_with.contains(&library)
}

/// Takes one copy of `lot` if it is active, unexpired, has a copy free and checkouts
/// left: a single conditional `UPDATE`, so two borrowers can never both get the last
/// copy. `true` if the copy was taken.
pub async fn take_copy(conn: &impl ConnectionTrait, lot: Uuid, now: DateTime<Utc>) -> Result<bool> {
    use licence_lot::Column as C;
    let result = licence_lot::Entity::update_many()
        .col_expr(C::ActiveLoans, Expr::col(C::ActiveLoans).add(1))
        .col_expr(
            C::CheckoutsLeft,
            Expr::case(
                Expr::col(C::CheckoutsLeft).is_null(),
                Expr::col(C::CheckoutsLeft),
            )
            .finally(Expr::col(C::CheckoutsLeft).sub(1))
            .into(),
        )
        .col_expr(C::UpdatedAt, Expr::val(now))
        .filter(C::Id.eq(lot))
        .filter(C::Status.eq("active"))
        .filter(Expr::col(C::ActiveLoans).lt(Expr::col(C::Copies)))
        .filter(
            Condition::any()
                .add(C::CheckoutsLeft.is_null())
                .add(C::CheckoutsLeft.gt(0)),
        )
        .filter(
            Condition::any()
                .add(C::ExpiresAt.is_null())
                .add(C::ExpiresAt.gt(now)),
        )
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Gives a copy back to its lot.
pub async fn release_copy(
    conn: &impl ConnectionTrait,
    lot: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    use licence_lot::Column as C;
    licence_lot::Entity::update_many()
        .col_expr(C::ActiveLoans, Expr::col(C::ActiveLoans).sub(1))
        .col_expr(C::UpdatedAt, Expr::val(now))
        .filter(C::Id.eq(lot))
        .filter(C::ActiveLoans.gt(0))
        .exec(conn)
        .await?;
    Ok(())
}

fn loan_of(m: loan::Model) -> Result<Loan> {
    Ok(Loan {
        id: m.id,
        patron_id: PatronId(m.patron_id),
        title_id: TitleId(m.title_id),
        lot_id: m.lot_id,
        library_id: LibraryId(m.library_id),
        request_id: m.request_id,
        started_at: m.started_at,
        ends_at: m.ends_at,
        renewals: n(m.renewals),
        state: LoanState::parse(&m.state).ok_or_else(|| StoreError::Corrupt {
            table: "loans",
            reason: format!("state {:?}", m.state),
        })?,
        ended_at: m.ended_at,
        updated_at: m.updated_at,
    })
}

/// Stores a new loan.
pub async fn insert_loan(conn: &impl ConnectionTrait, l: &Loan) -> Result<()> {
    loan::ActiveModel {
        id: Set(l.id),
        patron_id: Set(l.patron_id.0),
        title_id: Set(l.title_id.0),
        lot_id: Set(l.lot_id),
        library_id: Set(l.library_id.0),
        request_id: Set(l.request_id),
        started_at: Set(l.started_at),
        ends_at: Set(l.ends_at),
        renewals: Set(i(l.renewals)),
        state: Set(l.state.as_str().to_owned()),
        ended_at: Set(l.ended_at),
        ending_notified_at: Set(None),
        updated_at: Set(l.updated_at),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// One loan.
pub async fn loan(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<Loan>> {
    loan::Entity::find_by_id(id)
        .one(conn)
        .await?
        .map(loan_of)
        .transpose()
}

/// The loan a patron made with this request id.
pub async fn loan_by_request(
    conn: &impl ConnectionTrait,
    patron: PatronId,
    request: Uuid,
) -> Result<Option<Loan>> {
    loan::Entity::find()
        .filter(loan::Column::PatronId.eq(patron.0))
        .filter(loan::Column::RequestId.eq(request))
        .one(conn)
        .await?
        .map(loan_of)
        .transpose()
}

/// A patron's loans, newest first (active ones only if `active_only`).
pub async fn loans_of(
    conn: &impl ConnectionTrait,
    patron: PatronId,
    active_only: bool,
) -> Result<Vec<Loan>> {
    let mut select = loan::Entity::find().filter(loan::Column::PatronId.eq(patron.0));
    if active_only {
        select = select.filter(loan::Column::State.eq("active"));
    }
    select
        .order_by_desc(loan::Column::StartedAt)
        .all(conn)
        .await?
        .into_iter()
        .map(loan_of)
        .collect()
}

/// How many active loans a patron has.
pub async fn active_loan_count(conn: &impl ConnectionTrait, patron: PatronId) -> Result<u64> {
    Ok(loan::Entity::find()
        .filter(loan::Column::PatronId.eq(patron.0))
        .filter(loan::Column::State.eq("active"))
        .count(conn)
        .await?)
}

/// Ends an active loan (`state` is returned, expired or revoked). `None` if it was not
/// active (someone else ended it first).
pub async fn end_loan(
    conn: &impl ConnectionTrait,
    id: Uuid,
    state: LoanState,
    now: DateTime<Utc>,
) -> Result<Option<Loan>> {
    let result = loan::Entity::update_many()
        .col_expr(loan::Column::State, Expr::val(state.as_str()))
        .col_expr(loan::Column::EndedAt, Expr::val(now))
        .col_expr(loan::Column::UpdatedAt, Expr::val(now))
        .filter(loan::Column::Id.eq(id))
        .filter(loan::Column::State.eq("active"))
        .exec(conn)
        .await?;
    if result.rows_affected == 0 {
        return Ok(None);
    }
    let ended = loan(conn, id).await?;
    if let Some(ended) = &ended {
        release_copy(conn, ended.lot_id, now).await?;
    }
    Ok(ended)
}

/// Moves an active loan's end (a renewal).
pub async fn extend_loan(
    conn: &impl ConnectionTrait,
    id: Uuid,
    ends_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let result = loan::Entity::update_many()
        .col_expr(loan::Column::EndsAt, Expr::val(ends_at))
        .col_expr(
            loan::Column::Renewals,
            Expr::col(loan::Column::Renewals).add(1),
        )
        // A new end deserves a new reminder.
        .col_expr(
            loan::Column::EndingNotifiedAt,
            Expr::val(Option::<DateTime<Utc>>::None),
        )
        .col_expr(loan::Column::UpdatedAt, Expr::val(now))
        .filter(loan::Column::Id.eq(id))
        .filter(loan::Column::State.eq("active"))
        .exec(conn)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Active loans whose end has passed.
pub async fn due_loans(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Uuid>> {
    use sea_orm::QuerySelect;
    Ok(loan::Entity::find()
        .select_only()
        .column(loan::Column::Id)
        .filter(loan::Column::State.eq("active"))
        .filter(loan::Column::EndsAt.lte(now))
        .order_by_asc(loan::Column::EndsAt)
        .limit(limit)
        .into_tuple::<Uuid>()
        .all(conn)
        .await?)
}

/// A stored licence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedLicence {
    /// Licence id.
    pub id: Uuid,
    /// The loan end it was issued for.
    pub ends_at: DateTime<Utc>,
    /// The JWS.
    pub token: String,
    /// The loan.
    pub loan_id: Uuid,
}

fn issued_of(m: licence::Model) -> IssuedLicence {
    IssuedLicence {
        id: m.id,
        ends_at: m.ends_at,
        token: m.token,
        loan_id: m.loan_id,
    }
}

/// The licence issued for a loan and device, if any.
pub async fn licence_for(
    conn: &impl ConnectionTrait,
    loan: Uuid,
    device: Uuid,
) -> Result<Option<IssuedLicence>> {
    Ok(licence::Entity::find()
        .filter(licence::Column::LoanId.eq(loan))
        .filter(licence::Column::DeviceId.eq(device))
        .one(conn)
        .await?
        .map(issued_of))
}

/// A licence by id.
pub async fn licence_by_id(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<IssuedLicence>> {
    Ok(licence::Entity::find_by_id(id)
        .one(conn)
        .await?
        .map(issued_of))
}

/// Stores (or replaces, after a renewal) the licence for a loan and device.
pub async fn save_licence(
    conn: &impl ConnectionTrait,
    issued: &IssuedLicence,
    device: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    match licence::Entity::find_by_id(issued.id).one(conn).await? {
        Some(existing) => {
            let mut model: licence::ActiveModel = existing.into();
            model.token = Set(issued.token.clone());
            model.ends_at = Set(issued.ends_at);
            model.issued_at = Set(now);
            model.update(conn).await?;
        }
        None => {
            licence::ActiveModel {
                id: Set(issued.id),
                loan_id: Set(issued.loan_id),
                device_id: Set(device),
                issued_at: Set(now),
                ends_at: Set(issued.ends_at),
                token: Set(issued.token.clone()),
            }
            .insert(conn)
            .await?;
        }
    }
    Ok(())
}

/// Loans started in `[from, to)` by readers of `library` (all libraries if `None`).
pub async fn loans_started_between(
    conn: &impl ConnectionTrait,
    library: Option<LibraryId>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Loan>> {
    let mut select = loan::Entity::find()
        .filter(loan::Column::StartedAt.gte(from))
        .filter(loan::Column::StartedAt.lt(to));
    if let Some(library) = library {
        select = select.filter(loan::Column::LibraryId.eq(library.0));
    }
    select
        .order_by_asc(loan::Column::StartedAt)
        .all(conn)
        .await?
        .into_iter()
        .map(loan_of)
        .collect()
}

/// Every lot (for reports).
pub async fn all_lots(conn: &impl ConnectionTrait) -> Result<Vec<Lot>> {
    let rows = licence_lot::Entity::find().all(conn).await?;
    with_shares(conn, rows).await
}

/// Marks active loans ending before `horizon` as reminded (once per end) and returns
/// them, so each reader is told once that a loan is about to end.
pub async fn claim_ending_reminders(
    conn: &impl ConnectionTrait,
    horizon: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<Loan>> {
    let due: Vec<loan::Model> = loan::Entity::find()
        .filter(loan::Column::State.eq("active"))
        .filter(loan::Column::EndsAt.lte(horizon))
        .filter(loan::Column::EndingNotifiedAt.is_null())
        .all(conn)
        .await?;
    let mut claimed = Vec::new();
    for model in due {
        let result = loan::Entity::update_many()
            .col_expr(loan::Column::EndingNotifiedAt, Expr::val(now))
            .filter(loan::Column::Id.eq(model.id))
            .filter(loan::Column::EndingNotifiedAt.is_null())
            .exec(conn)
            .await?;
        if result.rows_affected == 1 {
            claimed.push(loan_of(model)?);
        }
    }
    Ok(claimed)
}

/// Retires metered lots whose checkouts are used up and that have no loan out, and
/// lots past their expiry with no loan out. Returns how many were retired.
pub async fn retire_exhausted(conn: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64> {
    use licence_lot::Column as C;
    let result = licence_lot::Entity::update_many()
        .col_expr(C::Status, Expr::val("retired"))
        .col_expr(C::UpdatedAt, Expr::val(now))
        .filter(C::Status.ne("retired"))
        .filter(C::ActiveLoans.eq(0))
        .filter(
            Condition::any()
                .add(C::CheckoutsLeft.eq(0))
                .add(C::ExpiresAt.lte(now)),
        )
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}
