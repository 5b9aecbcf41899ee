//! The console's copies pages: a title's licence lots (who owns them, copies, copies
//! out, checkouts left, expiry, sharing, state), buying a lot, topping it up,
//! suspending, resuming and retiring it, changing whom it is shared with, and what each
//! library lends from, in draw order. The services decide who may do what
//! (`service::lots`, as `routes/admin_lending.rs` calls them).

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use super::catalogue::{DoneParams, done_notice, owner_name, status_key};
use super::path_id;
use super::see_other;
use crate::domain::{
    FieldError, Invalid, Library, LibraryId, LotId, LotStatus, TitleId, Validator,
};
use crate::http::AppState;
use crate::http::web::session::{Console, ConsoleForm};
use crate::http::web::{Chrome, Lang, PageError};
use crate::service::Error as ServiceError;
use crate::service::lots::{self, LotChanges, NewLot, may_manage_lot};

/// Routes of these pages (full paths under `/console/`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/titles/{id}/copies", get(page).post(buy))
        .route("/console/lots/{id}/top-up", post(top_up))
        .route("/console/lots/{id}/status", post(set_status))
        .route("/console/lots/{id}/shares", post(set_shares))
}

/// A library a lot may be shared with, ticked or not.
struct ShareChoice {
    /// The checkbox's element id.
    html_id: String,
    /// The library id.
    value: String,
    name: String,
    checked: bool,
}

/// A lot as the table shows it.
struct LotRow {
    id: String,
    owner: String,
    copies: u32,
    out: u32,
    checkouts_left: Option<u32>,
    expires_at: Option<DateTime<Utc>>,
    expired: bool,
    status_active: bool,
    status_suspended: bool,
    status_retired: bool,
    status_key: &'static str,
    shared_with: Vec<String>,
    /// Whether this staff member may change it.
    manage: bool,
    /// The share form's choices (libraries other than the owner).
    shares: Vec<ShareChoice>,
}

/// One library's draw order.
struct DrawRow {
    library: String,
    copies_total: u64,
    copies_available: u64,
    holds_waiting: u64,
    /// `(owner, free copies, copies)` in draw order.
    lots: Vec<(String, u32, u32)>,
}

/// Why the purchase form was refused: `(field label, message, in English)`.
type FormErrors = Vec<(String, String, bool)>;

#[derive(Template)]
#[template(path = "console/copies/copies.html")]
struct CopiesPage {
    c: Chrome,
    title_id: String,
    title: String,
    rows: Vec<LotRow>,
    draws: Vec<DrawRow>,
    /// `(value, name, selected)`: the owners this staff member may buy for ("pool"
    /// for the consortium's shared pool).
    owners: Vec<(String, String, bool)>,
    /// Libraries the new lot may be shared with.
    share_choices: Vec<ShareChoice>,
    /// The purchase form's values (kept when it is refused).
    buy: BuyForm,
    errors: FormErrors,
    notice: Option<String>,
}

/// The share checkboxes of a lot: every library but `owner`, ticked if in `ticked`.
fn shares_of(
    libraries: &[Library],
    owner: Option<LibraryId>,
    ticked: &[String],
    prefix: &str,
) -> Vec<ShareChoice> {
    libraries
        .iter()
        .filter(|l| owner != Some(l.id))
        .map(|l| {
            let value = l.id.to_string();
            ShareChoice {
                html_id: format!("{prefix}{value}"),
                checked: ticked.contains(&value),
                value,
                name: l.name.clone(),
            }
        })
        .collect()
}

/// `GET /console/titles/{id}/copies`: the title's lots, the purchase form, and what
/// each library in the staff member's scope lends from.
pub async fn page(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    Query(params): Query<DoneParams>,
) -> Result<Response, PageError> {
    let id = TitleId(path_id(&id, "title", console.web.lang)?);
    let c = console.chrome("catalogue");
    let notice = done_notice(&c, params.done.as_deref());
    let view = View {
        c,
        id,
        notice,
        buy: BuyForm::default(),
        errors: Vec::new(),
    };
    render(&state, &console, view).await
}

/// What a copies page shows besides the title's stock.
struct View {
    c: Chrome,
    id: TitleId,
    notice: Option<String>,
    buy: BuyForm,
    errors: FormErrors,
}

/// The copies page (422 when it shows a refused purchase).
async fn render(state: &AppState, console: &Console, view: View) -> Result<Response, PageError> {
    let View {
        c,
        id,
        notice,
        buy,
        errors,
    } = view;
    let lang = console.web.lang;
    let stock = lots::title_stock(&state.ctx, &console.staff, id)
        .await
        .map_err(|e| PageError::service(e, lang))?;
    let now = state.ctx.clock.now();
    let name_of = |library: &LibraryId| {
        stock
            .libraries
            .iter()
            .find(|l| l.id == *library)
            .map_or_else(|| library.to_string(), |l| l.name.clone())
    };
    let rows = stock
        .lots
        .iter()
        .map(|lot| LotRow {
            id: lot.id.to_string(),
            owner: owner_name(&c, &stock, lot),
            copies: lot.copies,
            out: lot.active_loans,
            checkouts_left: lot.checkouts_left,
            expires_at: lot.expires_at,
            expired: lot.expires_at.is_some_and(|end| end <= now),
            status_active: lot.status == LotStatus::Active,
            status_suspended: lot.status == LotStatus::Suspended,
            status_retired: lot.status == LotStatus::Retired,
            status_key: status_key(lot),
            shared_with: lot.shared_with.iter().map(name_of).collect(),
            manage: may_manage_lot(&console.staff, lot.owner_library_id),
            shares: shares_of(
                &stock.libraries,
                lot.owner_library_id,
                &lot.shared_with
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>(),
                &format!("share-{}-", lot.id),
            ),
        })
        .collect();
    let draws = stock
        .stock
        .iter()
        .map(|s| DrawRow {
            library: s.library.name.clone(),
            copies_total: s.copies_total,
            copies_available: s.copies_available,
            holds_waiting: s.holds_waiting,
            lots: s
                .draw_order
                .iter()
                .map(|lot| (owner_name(&c, &stock, lot), lot.free_copies(), lot.copies))
                .collect(),
        })
        .collect();
    let mut owners = Vec::new();
    if may_manage_lot(&console.staff, None) {
        owners.push(("pool".to_owned(), c.t("copies-pool")));
    }
    owners.extend(
        stock
            .libraries
            .iter()
            .filter(|l| may_manage_lot(&console.staff, Some(l.id)))
            .map(|l| (l.id.to_string(), l.name.clone())),
    );
    // Who buys for one library only is not offered it as a library to share with.
    let only_owner = match owners.as_slice() {
        [(value, _)] => uuid::Uuid::parse_str(value).ok().map(LibraryId),
        _ => None,
    };
    let share_choices = shares_of(&stock.libraries, only_owner, &buy.shared_with, "share-new-");
    let owners = owners
        .into_iter()
        .map(|(value, name)| {
            let selected = value == buy.owner;
            (value, name, selected)
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut response = console.web.render(&CopiesPage {
        title_id: id.to_string(),
        title: stock.title.metadata.title.clone(),
        rows,
        draws,
        owners,
        share_choices,
        buy,
        errors,
        notice,
        c,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

/// The purchase form.
#[derive(Debug, Deserialize)]
pub struct BuyForm {
    #[serde(default)]
    owner: String,
    #[serde(default)]
    copies: String,
    #[serde(default)]
    checkout_limit: String,
    #[serde(default)]
    expires: String,
    #[serde(default)]
    shared_with: Vec<String>,
}

impl Default for BuyForm {
    fn default() -> Self {
        Self {
            owner: String::new(),
            copies: "1".to_owned(),
            checkout_limit: String::new(),
            expires: String::new(),
            shared_with: Vec::new(),
        }
    }
}

/// A whole number of at least 1, as typed.
fn count(field: &'static str, raw: &str, c: &Chrome) -> Result<u32, FieldError> {
    raw.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| FieldError::new(field, c.t("copies-error-number")))
}

/// Library ids from a checkbox list.
fn library_ids(raw: &[String], c: &Chrome) -> Result<Vec<LibraryId>, FieldError> {
    raw.iter()
        .map(|r| {
            uuid::Uuid::parse_str(r.trim())
                .map(LibraryId)
                .map_err(|_| FieldError::new("shared_with", c.t("copies-error-library")))
        })
        .collect()
}

/// The purchase as typed, checked field by field (in the page's words).
fn parse_buy(form: &BuyForm, title_id: TitleId, c: &Chrome) -> Result<NewLot, Invalid> {
    let mut v = Validator::new();
    let owner = v.check(match form.owner.trim() {
        "pool" => Ok(None),
        raw => uuid::Uuid::parse_str(raw)
            .map(|id| Some(LibraryId(id)))
            .map_err(|_| FieldError::new("owner", c.t("copies-error-library"))),
    });
    let copies = v.check(count("copies", &form.copies, c));
    let checkout_limit = v.check(match form.checkout_limit.trim() {
        "" => Ok(None),
        raw => count("checkout_limit", raw, c).map(Some),
    });
    let expires_at = v.check(match form.expires.trim() {
        "" => Ok(None),
        // The lot lends through the whole local day chosen.
        raw => NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map(|d| Some(c.calendar.end_of(d)))
            .map_err(|_| FieldError::new("expires", c.t("copies-error-date"))),
    });
    let shared_with = v.check(library_ids(&form.shared_with, c));
    v.build(|| {
        let owner = owner?;
        Some(NewLot {
            title_id,
            owner_library_id: owner,
            copies: copies?,
            checkout_limit: checkout_limit?,
            expires_at: expires_at?,
            // The owner lends its own lot anyway.
            shared_with: shared_with?
                .into_iter()
                .filter(|l| Some(*l) != owner)
                .collect(),
        })
    })
}

/// A purchase form field's label, for the error list.
fn field_label(c: &Chrome, field: &str) -> String {
    match field {
        "owner" => c.t("copies-owner"),
        "copies" => c.t("copies-copies"),
        "checkout_limit" => c.t("copies-checkout-limit"),
        "expires" => c.t("copies-expires"),
        "shared_with" => c.t("copies-shared-with"),
        other => other.to_owned(),
    }
}

/// `POST /console/titles/{id}/copies`: records a purchase, as `POST /api/v1/admin/lots`
/// does; a refused one shows the form again with its errors.
pub async fn buy(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, form }: ConsoleForm<BuyForm>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let id = TitleId(path_id(&id, "title", lang)?);
    let c = console.chrome("catalogue");
    // Our own checks speak the page's language; the service's speak English.
    let (invalid, english) = match parse_buy(&form, id, &c) {
        Err(invalid) => (invalid, false),
        Ok(new) => match lots::create_lot(&state.ctx, &console.staff, new).await {
            Ok(_) => {
                return Ok(see_other(&format!(
                    "/console/titles/{id}/copies?done=bought"
                )));
            }
            Err(ServiceError::Invalid(invalid)) => (invalid, true),
            Err(err) => return Err(PageError::service(err, lang)),
        },
    };
    let errors = invalid
        .0
        .into_iter()
        .map(|e| (field_label(&c, e.field), e.message, english))
        .collect();
    let view = View {
        c,
        id,
        notice: None,
        buy: form,
        errors,
    };
    render(&state, &console, view).await
}

/// Applies `changes` to the lot in the path and goes back to its title's copies page.
async fn change_lot(
    state: &AppState,
    console: &Console,
    raw_id: &str,
    changes: LotChanges,
    done: &str,
) -> Result<Response, PageError> {
    let lang: Lang = console.web.lang;
    let id = LotId(path_id(raw_id, "lot", lang)?);
    let lot = lots::update_lot(&state.ctx, &console.staff, id, changes)
        .await
        .map_err(|e| PageError::service(e, lang))?;
    Ok(see_other(&format!(
        "/console/titles/{}/copies?done={done}",
        lot.title_id
    )))
}

/// The top-up form.
#[derive(Debug, Deserialize)]
pub struct TopUpForm {
    add_copies: String,
}

/// `POST /console/lots/{id}/top-up`: adds copies to a lot.
pub async fn top_up(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, form }: ConsoleForm<TopUpForm>,
) -> Result<Response, PageError> {
    let c = console.chrome("catalogue");
    let add = count("add_copies", &form.add_copies, &c)
        .map_err(|e| PageError::service(e.into(), console.web.lang))?;
    let changes = LotChanges {
        add_copies: Some(add),
        ..LotChanges::default()
    };
    change_lot(&state, &console, &id, changes, "topped-up").await
}

/// The state form.
#[derive(Debug, Deserialize)]
pub struct StatusForm {
    status: String,
}

/// `POST /console/lots/{id}/status`: suspends, resumes or retires a lot (loans out run
/// to their end).
pub async fn set_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, form }: ConsoleForm<StatusForm>,
) -> Result<Response, PageError> {
    let Some(status) = LotStatus::parse(form.status.trim()) else {
        return Err(PageError::BadForm(console.web.lang));
    };
    let done = match status {
        LotStatus::Active => "resumed",
        LotStatus::Suspended => "suspended",
        LotStatus::Retired => "retired",
    };
    let changes = LotChanges {
        status: Some(status),
        ..LotChanges::default()
    };
    change_lot(&state, &console, &id, changes, done).await
}

/// The share form.
#[derive(Debug, Deserialize)]
pub struct SharesForm {
    #[serde(default)]
    shared_with: Vec<String>,
}

/// `POST /console/lots/{id}/shares`: replaces the libraries a lot is shared with.
pub async fn set_shares(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, form }: ConsoleForm<SharesForm>,
) -> Result<Response, PageError> {
    let c = console.chrome("catalogue");
    let shared = library_ids(&form.shared_with, &c)
        .map_err(|e| PageError::service(e.into(), console.web.lang))?;
    let changes = LotChanges {
        shared_with: Some(shared),
        ..LotChanges::default()
    };
    change_lot(&state, &console, &id, changes, "shared").await
}
