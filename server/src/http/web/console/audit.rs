//! The console's audit trail: staff actions and circulation events, filtered by staff
//! member, patron, title, action and period, newest first, fifty to a page. The service
//! (`service::audit::search`) shows library staff their library's events and
//! consortium admins every event.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::Calendar;
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::{FieldError, Invalid, StaffId, Validator};
use crate::http::AppState;
use crate::http::web::session::Console;
use crate::http::web::{Chrome, PageError};
use crate::service::audit::{self, AuditFilter, Who};

/// Routes of these pages (full paths under `/console/`).
pub fn routes() -> Router<AppState> {
    Router::new().route("/console/audit", get(page))
}

/// The filter as the form sends it (every field may be empty).
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    staff: String,
    #[serde(default)]
    patron: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    action: String,
    /// First day (`YYYY-MM-DD`).
    #[serde(default)]
    from: String,
    /// Last day, included.
    #[serde(default)]
    to: String,
    /// The next page: events older than this one.
    #[serde(default)]
    before: String,
}

fn optional_uuid(field: &'static str, raw: &str) -> Result<Option<Uuid>, FieldError> {
    match raw.trim() {
        "" => Ok(None),
        raw => Uuid::parse_str(raw)
            .map(Some)
            .map_err(|_| FieldError::new(field, "is not an id")),
    }
}

/// A local date (`YYYY-MM-DD`) from a filter field, if one was given.
fn optional_day(field: &'static str, raw: &str) -> Result<Option<NaiveDate>, FieldError> {
    match raw.trim() {
        "" => Ok(None),
        raw => NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| FieldError::new(field, "must be a date (YYYY-MM-DD)")),
    }
}

impl AuditQuery {
    fn filter(&self, calendar: Calendar) -> Result<AuditFilter, Invalid> {
        let mut v = Validator::new();
        let staff = v.check(optional_uuid("staff", &self.staff));
        let before = v.check(optional_uuid("before", &self.before));
        // From the start of the first local day to the end of the last.
        let from =
            v.check(optional_day("from", &self.from).map(|d| d.map(|d| calendar.start_of(d))));
        let to = v.check(optional_day("to", &self.to).map(|d| d.map(|d| calendar.end_of(d))));
        let text = |raw: &str| Some(raw.trim().to_owned()).filter(|t| !t.is_empty());
        v.build(|| {
            Some(AuditFilter {
                staff: staff?.map(StaffId),
                patron: text(&self.patron),
                title: text(&self.title),
                action: text(&self.action),
                from: from?,
                to: to?,
                before: before?,
            })
        })
    }

    /// The address of the page after the one ending with `last`, with the same filter.
    fn next_href(&self, last: Uuid) -> String {
        let last = last.to_string();
        let pairs: Vec<(&str, &str)> = [
            ("staff", self.staff.trim()),
            ("patron", self.patron.trim()),
            ("title", self.title.trim()),
            ("action", self.action.trim()),
            ("from", self.from.trim()),
            ("to", self.to.trim()),
            ("before", last.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
        format!(
            "/console/audit?{}",
            serde_html_form::to_string(&pairs).unwrap_or_default()
        )
    }
}

/// One event as the table shows it.
struct EventRow {
    at: DateTime<Utc>,
    who: String,
    library: String,
    action: String,
    /// The stable verb (`rules.set`), shown as code next to its words.
    verb: String,
    target: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "console/audit/audit.html")]
struct AuditPage {
    c: Chrome,
    q: AuditQuery,
    /// `(id, name)` of the staff to filter by.
    staff: Vec<(String, String)>,
    /// `(verb, words)` of the actions to filter by.
    actions: Vec<(String, String)>,
    rows: Vec<EventRow>,
    next: Option<String>,
    unknown_patron: bool,
    unknown_title: bool,
    /// Whether the library column is shown (consortium admins see every library's).
    show_library: bool,
    /// Whether this is a later page.
    later_page: bool,
}

/// The words for an action (`rules.set` → "设置借阅规则"), or the verb itself when
/// the catalogue has none.
fn action_words(c: &Chrome, action: &str) -> String {
    let key = format!("audit-action-{}", action.replace(['.', '_'], "-"));
    let words = c.t(&key);
    if words == key {
        action.to_owned()
    } else {
        words
    }
}

fn target_kind_words(c: &Chrome, kind: &str) -> String {
    match kind {
        "patron" => c.t("audit-target-patron"),
        "staff" => c.t("audit-target-staff"),
        "library" => c.t("audit-target-library"),
        "title" => c.t("audit-target-title"),
        "loan" => c.t("audit-target-loan"),
        "hold" => c.t("audit-target-hold"),
        "lot" => c.t("audit-target-lot"),
        "device" => c.t("audit-target-device"),
        "rules" => c.t("audit-target-rules"),
        "session" => c.t("audit-target-session"),
        other => other.to_owned(),
    }
}

/// `GET /console/audit?staff=…&patron=…&title=…&action=…&from=…&to=…&before=…`.
pub async fn page(
    State(state): State<AppState>,
    console: Console,
    Query(q): Query<AuditQuery>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let filter = q
        .filter(state.ctx.calendar)
        .map_err(|e| PageError::service(e.into(), lang))?;
    let found = audit::search(&state.ctx, &console.staff, &filter)
        .await
        .map_err(|e| PageError::service(e, lang))?;
    let c = console.chrome("audit");
    let rows = found
        .events
        .into_iter()
        .map(|e| {
            let who = match e.who {
                Who::Staff(id, name) => name.unwrap_or_else(|| id.to_string()),
                Who::Patron(id, card) => c.t1(
                    "audit-patron",
                    "card",
                    card.unwrap_or_else(|| id.to_string()),
                ),
                Who::System => c.t("audit-system"),
            };
            let short_id = e
                .target_id
                .map(|id| id.simple().to_string().chars().take(8).collect::<String>());
            let target = match (e.target_name, short_id) {
                (Some(name), _) => format!("{} {name}", target_kind_words(&c, &e.target_kind)),
                (None, Some(id)) => format!("{} {id}", target_kind_words(&c, &e.target_kind)),
                (None, None) => target_kind_words(&c, &e.target_kind),
            };
            EventRow {
                at: e.at,
                who,
                library: e.library.unwrap_or_else(|| c.t("audit-consortium")),
                action: action_words(&c, &e.action),
                verb: e.action,
                target,
                detail: e.detail,
            }
        })
        .collect();
    let actions = found
        .actions
        .iter()
        .map(|a| (a.clone(), action_words(&c, a)))
        .collect();
    let staff = found
        .staff
        .iter()
        .map(|s| {
            (
                s.id.to_string(),
                format!("{} ({})", s.display_name, s.username),
            )
        })
        .collect();
    console.web.render(&AuditPage {
        show_library: c.is_consortium_admin(),
        later_page: !q.before.trim().is_empty(),
        next: found.next.map(|last| q.next_href(last)),
        unknown_patron: found.unknown_patron,
        unknown_title: found.unknown_title,
        staff,
        actions,
        rows,
        q,
        c,
    })
}
