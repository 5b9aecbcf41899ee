//! The reader's shelf: loans with the days left (read, renew or why not, return
//! early), holds with their place in the queue (suspend until a date, resume, cancel;
//! a ready hold with its pickup deadline and a borrow button), the latest
//! notifications, and the reading devices (remove one). Each form calls the service
//! the JSON API calls for the same action, then comes back here with what happened.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::NaiveDate;
use serde::Deserialize;
use uuid::Uuid;

use super::account::Empty;
use super::{path_id, refusal_words, see_other, words2};
use crate::domain::{DeviceId, HoldId, HoldState, LoanId, Notification, NotificationKind};
use crate::http::AppState;
use crate::http::problem::ApiError;
use crate::http::web::reader_session::{
    Reader, ReaderChrome, ReaderError, ReaderForm, problem_slug,
};
use crate::http::web::{Chrome, Lang, PageError};
use crate::service::Error as ServiceError;
use crate::service::lending::{self, ShelfLoan};
use crate::service::{devices, holds};

/// Notifications the shelf shows.
const NOTIFICATIONS: u64 = 20;
/// The shelf's address.
const SHELF: &str = "/reader/shelf";

/// A loan on the shelf.
struct LoanRow {
    id: String,
    title: String,
    title_href: String,
    ends: String,
    days_left: i64,
    renewals_left: u32,
    /// Why a renewal would be refused now (words); `None`: the renew button.
    renew_refusal: Option<String>,
}

/// A hold on the shelf.
struct HoldRow {
    id: String,
    title_id: String,
    title: String,
    ready: bool,
    pickup_deadline: Option<String>,
    position: Option<u64>,
    wait_days: Option<u64>,
    suspended_until: Option<String>,
    /// For a ready hold's borrow button: a fresh request id.
    request_id: String,
}

/// A notification, in words.
struct NoticeRow {
    when: String,
    text: String,
}

/// A reading device.
struct DeviceRow {
    id: String,
    name: String,
    enrolled: String,
}

#[derive(Template)]
#[template(path = "reader/shelf.html")]
struct ShelfPage {
    c: Chrome,
    r: ReaderChrome,
    loans: Vec<LoanRow>,
    holds: Vec<HoldRow>,
    notices: Vec<NoticeRow>,
    devices: Vec<DeviceRow>,
    notice: Option<String>,
    refusal: Option<String>,
    /// The earliest date a hold may be suspended until (`YYYY-MM-DD`).
    tomorrow: String,
}

/// What a form just did (`?done=`), or why it was refused (`?refused=`).
#[derive(Debug, Default, Deserialize)]
pub struct ShelfParams {
    done: Option<String>,
    refused: Option<String>,
}

/// The notice a `?done=` shows on the shelf.
fn done_notice(c: &Chrome, done: Option<&str>) -> Option<String> {
    let key = match done? {
        "renewed" => "reader-done-renewed",
        "returned" => "reader-done-returned",
        "suspended" => "reader-done-suspended",
        "resumed" => "reader-done-resumed",
        "cancelled" => "reader-done-cancelled",
        "device-removed" => "reader-done-device-removed",
        _ => return None,
    };
    Some(c.t(key))
}

/// Why a renewal would be refused, in words.
fn refusal_text(lang: Lang, refusal: crate::service::Refusal) -> Option<String> {
    let slug = problem_slug(&ApiError::from(ServiceError::Refused(refusal)));
    refusal_words(lang, Some(slug))
}

fn loan_row(c: &Chrome, lang: Lang, loan: ShelfLoan) -> LoanRow {
    LoanRow {
        id: loan.loan.id.to_string(),
        title_href: format!("/reader/titles/{}", loan.loan.title_id),
        title: loan.title,
        ends: c.date(&loan.loan.ends_at),
        days_left: loan.days_left,
        renewals_left: loan.renewals_left,
        renew_refusal: loan.renewal_refusal.and_then(|r| refusal_text(lang, r)),
    }
}

/// A moment in a notification's payload.
fn payload_time(n: &Notification, field: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    n.payload[field]
        .as_str()
        .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
        .map(|at| at.with_timezone(&chrono::Utc))
}

/// A notification in the reader's words.
fn notice_text(c: &Chrome, lang: Lang, n: &Notification, title: Option<&str>) -> String {
    let title = title.map_or_else(
        || c.t("reader-note-a-title"),
        |t| c.t1("reader-note-title", "title", t),
    );
    match n.kind {
        NotificationKind::HoldReady => match payload_time(n, "pickup_deadline") {
            Some(until) => words2(
                lang,
                "reader-note-hold-ready",
                ("title", title),
                ("until", c.datetime(&until)),
            ),
            None => c.t1("reader-note-hold-ready-now", "title", title),
        },
        NotificationKind::HoldExpired => c.t1("reader-note-hold-expired", "title", title),
        NotificationKind::LoanEnding => match payload_time(n, "ends_at") {
            Some(ends) => words2(
                lang,
                "reader-note-loan-ending",
                ("title", title),
                ("date", c.date(&ends)),
            ),
            None => c.t1("reader-note-loan-ending-soon", "title", title),
        },
        NotificationKind::LoanRevoked => {
            let mut text = c.t1("reader-note-loan-revoked", "title", title);
            if let Some(reason) = n.payload["reason"].as_str().filter(|r| !r.is_empty()) {
                text.push(' ');
                text.push_str(&c.t1("reader-note-reason", "reason", reason));
            }
            text
        }
        NotificationKind::Other => c.t("reader-note-other"),
    }
}

/// `GET /reader/shelf`.
pub async fn page(
    State(state): State<AppState>,
    reader: Reader,
    Query(params): Query<ShelfParams>,
) -> Result<Response, ReaderError> {
    let lang = reader.web.lang;
    let shelf = lending::shelf(&state.ctx, &reader.patron, NOTIFICATIONS)
        .await
        .map_err(reader.fail("shelf"))?;
    let c = reader.chrome();
    let today = reader.web.calendar.date_of(state.ctx.clock.now());
    let tomorrow = today.succ_opt().unwrap_or(today);
    let page = ShelfPage {
        loans: shelf
            .loans
            .into_iter()
            .map(|l| loan_row(&c, lang, l))
            .collect(),
        holds: shelf
            .holds
            .into_iter()
            .map(|h| HoldRow {
                id: h.status.hold.id.to_string(),
                title_id: h.status.hold.title_id.to_string(),
                title: h.title,
                ready: h.status.hold.state == HoldState::Ready,
                pickup_deadline: h.status.hold.pickup_deadline.map(|at| c.datetime(&at)),
                position: h.status.position,
                wait_days: h.status.estimated_wait_days,
                suspended_until: h
                    .status
                    .hold
                    .suspended_until
                    .filter(|until| *until > state.ctx.clock.now())
                    .map(|at| c.date(&at)),
                request_id: Uuid::new_v4().to_string(),
            })
            .collect(),
        notices: shelf
            .notifications
            .iter()
            .map(|n| NoticeRow {
                when: c.datetime(&n.notification.created_at),
                text: notice_text(&c, lang, &n.notification, n.title.as_deref()),
            })
            .collect(),
        devices: shelf
            .devices
            .iter()
            .map(|d| DeviceRow {
                id: d.id.to_string(),
                name: d.name.clone(),
                enrolled: c.date(&d.enrolled_at),
            })
            .collect(),
        notice: done_notice(&c, params.done.as_deref()),
        refusal: refusal_words(lang, params.refused.as_deref()),
        tomorrow: tomorrow.to_string(),
        r: reader.reader_chrome("shelf"),
        c,
    };
    Ok(reader.web.render(&page)?)
}

/// The shelf after a form that was refused: the reason in words, at `anchor`.
fn refused(err: ServiceError, anchor: &str) -> Response {
    let slug = problem_slug(&ApiError::from(err));
    see_other(&format!("{SHELF}?refused={slug}#{anchor}"))
}

/// `POST /reader/loans/{loan}/renew`: the API's renewal; refused, the shelf says why.
pub async fn renew(
    State(state): State<AppState>,
    Path(loan): Path<String>,
    ReaderForm { reader, .. }: ReaderForm<Empty>,
) -> Result<Response, ReaderError> {
    let id = LoanId(path_id(&loan, "loan", reader.fail("shelf"))?);
    match lending::renew(&state.ctx, &reader.patron, id).await {
        Ok(_) => Ok(see_other(&format!("{SHELF}?done=renewed#loan-{id}"))),
        Err(err @ ServiceError::Refused(_)) => Ok(refused(err, &format!("loan-{id}"))),
        Err(err) => Err(reader.fail("shelf")(err)),
    }
}

#[derive(Template)]
#[template(path = "reader/return.html")]
struct ReturnPage {
    c: Chrome,
    r: ReaderChrome,
    loan: LoanRow,
}

/// `GET /reader/loans/{loan}/return`: asks before returning a loan early.
pub async fn return_page(
    State(state): State<AppState>,
    reader: Reader,
    Path(loan): Path<String>,
) -> Result<Response, ReaderError> {
    let id = LoanId(path_id(&loan, "loan", reader.fail("shelf"))?);
    let loan = lending::shelf_loan(&state.ctx, &reader.patron, id)
        .await
        .map_err(reader.fail("shelf"))?;
    let c = reader.chrome();
    let page = ReturnPage {
        loan: loan_row(&c, reader.web.lang, loan),
        r: reader.reader_chrome("shelf"),
        c,
    };
    Ok(reader.web.render(&page)?)
}

/// `POST /reader/loans/{loan}/return`: returns the loan early (the copy is free at
/// once and the book can no longer be read).
pub async fn return_loan(
    State(state): State<AppState>,
    Path(loan): Path<String>,
    ReaderForm { reader, .. }: ReaderForm<Empty>,
) -> Result<Response, ReaderError> {
    let id = LoanId(path_id(&loan, "loan", reader.fail("shelf"))?);
    match lending::return_loan(&state.ctx, &reader.patron, id).await {
        Ok(_) => Ok(see_other(&format!("{SHELF}?done=returned"))),
        Err(err @ ServiceError::Refused(_)) => Ok(refused(err, "loans")),
        Err(err) => Err(reader.fail("shelf")(err)),
    }
}

/// The suspend form: a date to suspend the hold until, or empty to resume it.
#[derive(Debug, Deserialize)]
pub struct SuspendForm {
    #[serde(default)]
    until: String,
}

/// `POST /reader/holds/{hold}/suspend`: suspends a waiting hold until the start of the
/// chosen date (in the libraries' calendar; it keeps its place), or resumes it.
pub async fn suspend(
    State(state): State<AppState>,
    Path(hold): Path<String>,
    ReaderForm { reader, form }: ReaderForm<SuspendForm>,
) -> Result<Response, ReaderError> {
    let id = HoldId(path_id(&hold, "hold", reader.fail("shelf"))?);
    let anchor = format!("hold-{id}");
    let until = match form.until.trim() {
        "" => None,
        date => {
            let date = NaiveDate::parse_from_str(date, "%Y-%m-%d")
                .map_err(|_| PageError::BadForm(reader.web.lang))?;
            let today = reader.web.calendar.date_of(state.ctx.clock.now());
            if date <= today {
                return Ok(see_other(&format!("{SHELF}?refused=suspend-date#{anchor}")));
            }
            Some(reader.web.calendar.start_of(date))
        }
    };
    match holds::suspend(&state.ctx, &reader.patron, id, until).await {
        Ok(_) => {
            let done = if until.is_some() {
                "suspended"
            } else {
                "resumed"
            };
            Ok(see_other(&format!("{SHELF}?done={done}#{anchor}")))
        }
        // Only a waiting hold can be suspended (a ready one waits for the reader).
        Err(ServiceError::Conflict(_)) => Ok(see_other(&format!(
            "{SHELF}?refused=hold-not-waiting#{anchor}"
        ))),
        Err(err) => Err(reader.fail("shelf")(err)),
    }
}

/// `POST /reader/holds/{hold}/cancel`: leaves the queue (a copy held for the reader
/// goes to the next in line).
pub async fn cancel(
    State(state): State<AppState>,
    Path(hold): Path<String>,
    ReaderForm { reader, .. }: ReaderForm<Empty>,
) -> Result<Response, ReaderError> {
    let id = HoldId(path_id(&hold, "hold", reader.fail("shelf"))?);
    holds::cancel(&state.ctx, &reader.patron, id)
        .await
        .map_err(reader.fail("shelf"))?;
    Ok(see_other(&format!("{SHELF}?done=cancelled#holds")))
}

/// `POST /reader/devices/{device}/remove`: removes a reading device (its licences
/// are no longer renewed to it).
pub async fn remove_device(
    State(state): State<AppState>,
    Path(device): Path<String>,
    ReaderForm { reader, .. }: ReaderForm<Empty>,
) -> Result<Response, ReaderError> {
    let id = DeviceId(path_id(&device, "device", reader.fail("shelf"))?);
    devices::remove(&state.ctx, &reader.patron, id)
        .await
        .map_err(reader.fail("shelf"))?;
    Ok(see_other(&format!("{SHELF}?done=device-removed#devices")))
}
