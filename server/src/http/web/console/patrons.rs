//! The console's patrons pages: find a reader by card or name, register one, and the
//! reader's page (details, edits, block and unblock, devices, loans with revocation,
//! holds, reading history). Every call goes to the services the JSON API uses, which
//! keep staff inside their library (a reader of another library is "not found").

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, Months, NaiveDate, Utc};
use jieyue_protocol::api::SecretString;
use serde::Deserialize;
use uuid::Uuid;

use super::{path_id, see_other};
use crate::domain::{
    CardNumber, CirculationBar, Device, DeviceId, DisplayName, FieldError, HoldId, HoldState,
    Library, LibraryId, LoanId, Password, PatronCategory, PatronId, Validator,
};
use crate::http::AppState;
use crate::http::web::session::{Console, ConsoleForm};
use crate::http::web::{Chrome, PageError};
use crate::service::Error as ServiceError;
use crate::service::holds::{self, PatronHold};
use crate::service::lending::{self, StaffLoan};
use crate::service::patrons::{
    self, PatronChanges, PatronListing, PatronQuery, ReadingHistory, RegisterPatron,
};
use crate::service::{devices, libraries};

/// Routes of these pages (full paths under `/console/`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/patrons", get(search))
        .route("/console/patrons/new", get(new_page).post(register))
        .route("/console/patrons/{id}", get(page).post(update))
        .route("/console/patrons/{id}/block", post(block))
        .route("/console/patrons/{id}/unblock", post(unblock))
        .route(
            "/console/patrons/{id}/devices/{device}/remove",
            post(remove_device),
        )
        .route(
            "/console/patrons/{id}/holds/{hold}/cancel",
            post(cancel_hold),
        )
        .route("/console/loans/{loan}/revoke", post(revoke))
}

/// Results per search page.
const PAGE_SIZE: u64 = 50;

/// Categories the forms suggest (any slug is accepted).
const CATEGORIES: [&str; 4] = ["adult", "child", "student", "senior"];

/// The words for a patron category: ours for the common ones, else the slug itself.
fn category_label(c: &Chrome, category: &str) -> String {
    match category {
        "adult" => c.t("patrons-category-adult"),
        "child" => c.t("patrons-category-child"),
        "student" => c.t("patrons-category-student"),
        "senior" => c.t("patrons-category-senior"),
        other => other.to_owned(),
    }
}

/// The message key of a reader's standing.
fn standing_key(bar: Option<CirculationBar>) -> &'static str {
    match bar {
        None => "patrons-state-active",
        Some(CirculationBar::Blocked) => "patrons-state-blocked",
        Some(CirculationBar::CardExpired) => "patrons-state-expired",
    }
}

/// A patron as a results row or the head of their page.
struct PatronRow {
    id: PatronId,
    card_number: String,
    display_name: String,
    library: String,
    category: String,
    standing: String,
    blocked: bool,
    bar: bool,
    blocked_reason: Option<String>,
    card_expires_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    category_raw: String,
}

impl PatronRow {
    fn new(c: &Chrome, l: PatronListing) -> Self {
        let library = if l.library_name.is_empty() {
            l.library_code.clone()
        } else {
            format!("{} ({})", l.library_name, l.library_code)
        };
        Self {
            id: l.patron.id,
            card_number: l.patron.card_number,
            display_name: l.patron.display_name,
            library,
            category: category_label(c, &l.patron.category),
            standing: c.t(standing_key(l.bar)),
            blocked: l.patron.blocked,
            bar: l.bar.is_some(),
            blocked_reason: l.patron.blocked_reason,
            card_expires_at: l.patron.card_expires_at,
            created_at: l.patron.created_at,
            category_raw: l.patron.category,
        }
    }
}

// ---------------------------------------------------------------------------------
// Search

/// The search form (`q`: card number prefix or part of a name).
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
    library: Option<String>,
    after: Option<String>,
}

#[derive(Template)]
#[template(path = "console/patrons/search.html")]
struct SearchPage {
    c: Chrome,
    q: String,
    library: String,
    libraries: Vec<Library>,
    rows: Vec<PatronRow>,
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "console/patrons/results.html")]
struct ResultsFragment {
    c: Chrome,
    q: String,
    library: String,
    rows: Vec<PatronRow>,
    next: Option<String>,
}

impl SearchPage {
    /// The address of the next page of these results.
    fn next_href(&self, after: &str) -> String {
        next_href(&self.q, &self.library, after)
    }
}

impl ResultsFragment {
    /// The address of the next page of these results.
    fn next_href(&self, after: &str) -> String {
        next_href(&self.q, &self.library, after)
    }
}

fn next_href(q: &str, library: &str, after: &str) -> String {
    let mut pairs = vec![("q", q), ("after", after)];
    if !library.is_empty() {
        pairs.push(("library", library));
    }
    format!(
        "/console/patrons?{}",
        serde_html_form::to_string(&pairs).unwrap_or_default()
    )
}

/// `GET /console/patrons`: find readers by card number (prefix) or name (any part);
/// with htmx, the results table alone as the staff member types.
pub async fn search(
    State(state): State<AppState>,
    console: Console,
    Query(query): Query<SearchQuery>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let q = query
        .q
        .unwrap_or_default()
        .trim()
        .chars()
        .take(200)
        .collect::<String>();
    let library = query
        .library
        .as_deref()
        .and_then(|l| Uuid::parse_str(l).ok())
        .map(LibraryId);
    let after = query
        .after
        .as_deref()
        .and_then(|a| Uuid::parse_str(a).ok())
        .map(PatronId);
    let request = PatronQuery {
        text: Some(q.clone()).filter(|t| !t.is_empty()),
        library,
        after,
        // One more than a page: a "next" link only when there is a next page.
        limit: PAGE_SIZE + 1,
    };
    let mut found = patrons::search_listed(&state.ctx, &console.staff, &request)
        .await
        .map_err(|e| PageError::service(e, lang))?;
    let more = u64::try_from(found.len()).unwrap_or(u64::MAX) > PAGE_SIZE;
    found.truncate(usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX));
    let next = found
        .last()
        .filter(|_| more)
        .map(|l| l.patron.id.0.to_string());
    let c = console.chrome("patrons");
    let rows = found.into_iter().map(|l| PatronRow::new(&c, l)).collect();
    let library = library.map(|l| l.0.to_string()).unwrap_or_default();
    if console.web.fragment {
        return console.web.render(&ResultsFragment {
            c,
            q,
            library,
            rows,
            next,
        });
    }
    let libraries = if c.is_consortium_admin() {
        libraries::list(&state.ctx)
            .await
            .map_err(|e| PageError::service(e, lang))?
    } else {
        Vec::new()
    };
    console.web.render(&SearchPage {
        c,
        q,
        library,
        libraries,
        rows,
        next,
    })
}

// ---------------------------------------------------------------------------------
// Registration

/// The registration form.
#[derive(Debug, Default, Deserialize)]
pub struct RegisterForm {
    library_id: Option<String>,
    #[serde(default)]
    card_number: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    card_expires_at: String,
    password: Option<SecretString>,
}

#[derive(Template)]
#[template(path = "console/patrons/new.html")]
struct NewPage {
    c: Chrome,
    libraries: Vec<Library>,
    library_id: String,
    card_number: String,
    display_name: String,
    category: String,
    card_expires_at: String,
    categories: [&'static str; 4],
    errors: Vec<String>,
}

/// The libraries a staff member may register readers at.
async fn own_libraries(state: &AppState, console: &Console) -> Result<Vec<Library>, PageError> {
    Ok(libraries::list(&state.ctx)
        .await
        .map_err(|e| PageError::service(e, console.web.lang))?
        .into_iter()
        .filter(|l| console.staff.may_manage_patrons_of(l.id))
        .collect())
}

/// A card's last valid day from a form (`YYYY-MM-DD`, local): the card works through
/// that whole day.
fn parse_date(
    field: &'static str,
    raw: &str,
    calendar: crate::domain::Calendar,
) -> Result<DateTime<Utc>, FieldError> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map(|d| calendar.end_of(d))
        .map_err(|_| FieldError::new(field, "must be a date (YYYY-MM-DD)"))
}

/// What went wrong with a field, in the page's words.
fn field_message(c: &Chrome, error: &FieldError) -> String {
    let key = match error.field {
        "card_number" => "patrons-error-card-number",
        "display_name" => "patrons-error-name",
        "category" => "patrons-error-category",
        "password" => "patrons-error-password",
        "card_expires_at" => "patrons-error-expiry",
        "library_id" => "patrons-error-library",
        "reason" => "patrons-error-reason",
        _ => return format!("{}: {}", error.field, error.message),
    };
    c.t(key)
}

/// `GET /console/patrons/new`: the registration form.
pub async fn new_page(
    State(state): State<AppState>,
    console: Console,
) -> Result<Response, PageError> {
    let libraries = own_libraries(&state, &console).await?;
    let default_expiry = state
        .ctx
        .clock
        .now()
        .checked_add_months(Months::new(36))
        .map(|d| state.ctx.calendar.date_of(d).to_string())
        .unwrap_or_default();
    console.web.render(&NewPage {
        c: console.chrome("patrons"),
        library_id: console
            .staff
            .library_id
            .map(|l| l.0.to_string())
            .unwrap_or_default(),
        libraries,
        card_number: String::new(),
        display_name: String::new(),
        category: String::from("adult"),
        card_expires_at: default_expiry,
        categories: CATEGORIES,
        errors: Vec::new(),
    })
}

/// `POST /console/patrons/new`: registers the reader and opens their page; a form with
/// mistakes comes back with them listed.
pub async fn register(
    State(state): State<AppState>,
    ConsoleForm { console, form }: ConsoleForm<RegisterForm>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let mut v = Validator::new();
    let library_id = v.check_opt(
        form.library_id
            .as_deref()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| {
                Uuid::parse_str(l)
                    .map(LibraryId)
                    .map_err(|_| FieldError::new("library_id", "is not a library"))
            }),
    );
    let card_number = v.check(CardNumber::parse(&form.card_number));
    let display_name = v.check(DisplayName::parse(&form.display_name));
    let category = v.check(PatronCategory::parse(if form.category.trim().is_empty() {
        "adult"
    } else {
        &form.category
    }));
    let card_expires_at = v.check(parse_date(
        "card_expires_at",
        &form.card_expires_at,
        state.ctx.calendar,
    ));
    let empty = SecretString::new(String::new());
    let password = v.check(Password::parse_new(
        "password",
        form.password.as_ref().unwrap_or(&empty),
    ));
    let result = match v.build(|| {
        Some(RegisterPatron {
            library_id: library_id?,
            card_number: card_number?,
            display_name: display_name?,
            category: category?,
            card_expires_at: card_expires_at?,
            password: password?,
        })
    }) {
        Ok(request) => patrons::register(&state.ctx, &console.staff, request).await,
        Err(invalid) => Err(ServiceError::Invalid(invalid)),
    };
    let c = console.chrome("patrons");
    let errors = match result {
        Ok(patron) => {
            return Ok(see_other(&format!(
                "/console/patrons/{}?done=created",
                patron.id.0
            )));
        }
        Err(ServiceError::Invalid(invalid)) => {
            invalid.0.iter().map(|e| field_message(&c, e)).collect()
        }
        Err(ServiceError::Conflict(_)) => vec![c.t("patrons-error-card-taken")],
        Err(err) => return Err(PageError::service(err, lang)),
    };
    let libraries = own_libraries(&state, &console).await?;
    let mut response = console.web.render(&NewPage {
        c,
        libraries,
        library_id: form.library_id.unwrap_or_default(),
        card_number: form.card_number,
        display_name: form.display_name,
        category: form.category,
        card_expires_at: form.card_expires_at,
        categories: CATEGORIES,
        errors,
    })?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

// ---------------------------------------------------------------------------------
// The reader's page

/// The reader's page after a form: which notice to show.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "console/patrons/show.html")]
struct PatronPage {
    c: Chrome,
    p: PatronRow,
    loans: Vec<StaffLoan>,
    holds: Vec<PatronHold>,
    devices: Vec<Device>,
    history: ReadingHistory,
    done: Option<&'static str>,
    categories: [&'static str; 4],
}

impl PatronPage {
    /// The words for a hold's state.
    fn hold_state(&self, state: &HoldState) -> String {
        self.c.t(match state {
            HoldState::Waiting => "holds-state-waiting",
            HoldState::Ready => "holds-state-ready",
            HoldState::Fulfilled => "holds-state-fulfilled",
            HoldState::Expired => "holds-state-expired",
            HoldState::Cancelled => "holds-state-cancelled",
        })
    }
}

/// The notice for `?done=` after a form on the page.
fn done_key(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "created" => "patrons-done-created",
        "saved" => "patrons-done-saved",
        "blocked" => "patrons-done-blocked",
        "unblocked" => "patrons-done-unblocked",
        "revoked" => "patrons-done-revoked",
        "device-removed" => "patrons-done-device-removed",
        "hold-cancelled" => "patrons-done-hold-cancelled",
        _ => return None,
    })
}

/// `GET /console/patrons/{id}`: the reader's page.
pub async fn page(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let id = PatronId(path_id(&id, "patron", lang)?);
    let fail = |e| PageError::service(e, lang);
    let (ctx, staff) = (&state.ctx, &console.staff);
    let listing = patrons::get_listed(ctx, staff, id).await.map_err(fail)?;
    let (loans, holds, devices, history) = tokio::try_join!(
        lending::loans_of_patron_for_staff(ctx, staff, id),
        holds::holds_of_patron_for_staff(ctx, staff, id),
        devices::list_by_staff(ctx, staff, id),
        patrons::reading_history(ctx, staff, id),
    )
    .map_err(fail)?;
    let c = console.chrome("patrons");
    console.web.render(&PatronPage {
        p: PatronRow::new(&c, listing),
        c,
        loans,
        holds,
        devices,
        history,
        done: done_key(query.done.as_deref()),
        categories: CATEGORIES,
    })
}

/// The edit form (an empty password leaves it unchanged).
#[derive(Debug, Deserialize)]
pub struct UpdateForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    card_expires_at: String,
    /// The date the form showed: unchanged, the expiry is left exactly as it is.
    #[serde(default)]
    card_expires_was: String,
    password: Option<SecretString>,
}

/// `POST /console/patrons/{id}`: saves the edit form (an empty password field leaves
/// the password as it is; a new one ends the reader's sessions).
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, form }: ConsoleForm<UpdateForm>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let id = PatronId(path_id(&id, "patron", lang)?);
    let mut v = Validator::new();
    let display_name = v.check(DisplayName::parse(&form.display_name));
    let category = v.check(PatronCategory::parse(&form.category));
    let expiry_unchanged = form.card_expires_at.trim() == form.card_expires_was.trim();
    let card_expires_at = v.check(parse_date(
        "card_expires_at",
        &form.card_expires_at,
        state.ctx.calendar,
    ));
    let password = v.check_opt(
        form.password
            .as_ref()
            .filter(|p| !p.expose().is_empty())
            .map(|p| Password::parse_new("password", p)),
    );
    let changes = v
        .build(|| {
            Some(PatronChanges {
                display_name: Some(display_name?),
                category: Some(category?),
                card_expires_at: if expiry_unchanged {
                    None
                } else {
                    Some(card_expires_at?)
                },
                password: password?,
            })
        })
        .map_err(|e| PageError::service(e.into(), lang))?;
    patrons::update(&state.ctx, &console.staff, id, changes)
        .await
        .map_err(|e| PageError::service(e, lang))?;
    Ok(see_other(&format!("/console/patrons/{}?done=saved", id.0)))
}

/// A form with a reason (a block, a revocation).
#[derive(Debug, Deserialize)]
pub struct ReasonForm {
    reason: Option<String>,
}

/// `POST /console/patrons/{id}/block`: blocks the reader from borrowing, with a
/// reason staff see.
pub async fn block(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, form }: ConsoleForm<ReasonForm>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let id = PatronId(path_id(&id, "patron", lang)?);
    patrons::block(&state.ctx, &console.staff, id, form.reason.as_deref())
        .await
        .map_err(|e| PageError::service(e, lang))?;
    Ok(see_other(&format!(
        "/console/patrons/{}?done=blocked",
        id.0
    )))
}

/// A form with nothing but the CSRF token.
#[derive(Debug, Deserialize)]
pub struct Empty {}

/// `POST /console/patrons/{id}/unblock`: lifts the block.
pub async fn unblock(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, .. }: ConsoleForm<Empty>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let id = PatronId(path_id(&id, "patron", lang)?);
    patrons::unblock(&state.ctx, &console.staff, id)
        .await
        .map_err(|e| PageError::service(e, lang))?;
    Ok(see_other(&format!(
        "/console/patrons/{}?done=unblocked",
        id.0
    )))
}

/// `POST /console/patrons/{id}/devices/{device}/remove`: removes a reader's device (a
/// lost phone); its licences are no longer renewed to it.
pub async fn remove_device(
    State(state): State<AppState>,
    Path((id, device)): Path<(String, String)>,
    ConsoleForm { console, .. }: ConsoleForm<Empty>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let id = PatronId(path_id(&id, "patron", lang)?);
    let device = DeviceId(path_id(&device, "device", lang)?);
    devices::remove_by_staff(&state.ctx, &console.staff, id, device)
        .await
        .map_err(|e| PageError::service(e, lang))?;
    Ok(see_other(&format!(
        "/console/patrons/{}?done=device-removed",
        id.0
    )))
}

/// `POST /console/patrons/{id}/holds/{hold}/cancel`: cancels the reader's hold; a copy
/// reserved for it goes to the next in line.
pub async fn cancel_hold(
    State(state): State<AppState>,
    Path((_, hold)): Path<(String, String)>,
    ConsoleForm { console, .. }: ConsoleForm<Empty>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let hold = HoldId(path_id(&hold, "hold", lang)?);
    let cancelled = holds::cancel_by_staff(&state.ctx, &console.staff, hold)
        .await
        .map_err(|e| PageError::service(e, lang))?;
    Ok(see_other(&format!(
        "/console/patrons/{}?done=hold-cancelled",
        cancelled.patron_id.0
    )))
}

/// `POST /console/loans/{loan}/revoke`: ends a reader's loan at once, with the reason
/// kept in the audit trail and sent to the reader.
pub async fn revoke(
    State(state): State<AppState>,
    Path(loan): Path<String>,
    ConsoleForm { console, form }: ConsoleForm<ReasonForm>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let loan = LoanId(path_id(&loan, "loan", lang)?);
    let ended = lending::revoke(&state.ctx, &console.staff, loan, form.reason)
        .await
        .map_err(|e| PageError::service(e, lang))?;
    Ok(see_other(&format!(
        "/console/patrons/{}?done=revoked",
        ended.patron_id.0
    )))
}
