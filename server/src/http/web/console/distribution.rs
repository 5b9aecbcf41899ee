//! The console's distribution page (ADR 0019), for consortium admins: this server as a
//! hub (its members, with one-time enrolment codes; its collections, their titles and
//! published versions; the usage its members report, as a table and as CSV) and as a
//! member (the hubs it is enrolled with, the collections installed from them). Each
//! handler calls the service functions `routes/distribution.rs` calls; the services
//! refuse everyone but consortium admins. Disks are the command line's business
//! (`jieyue collection export|import`): the page only says so.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use jieyue_protocol::distribution::CollectionRights;
use serde::Deserialize;

use super::{file_size, path_id, see_other};
use crate::domain::distribution::{Peer, PeerRole, PeerStatus};
use crate::domain::{Calendar, FieldError, Invalid, TitleId};
use crate::http::AppState;
use crate::http::web::session::{Console, ConsoleForm};
use crate::http::web::{Chrome, Lang, PageError};
use crate::service::Error as ServiceError;
use crate::service::distribution::{self as service, By, NewCollection, usage};
use crate::service::reports::Table;

/// Routes of these pages (full paths under `/console/`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/distribution", get(page))
        .route("/console/distribution/usage.csv", get(usage_csv))
        .route("/console/distribution/members", post(invite))
        .route("/console/distribution/peers/{id}/suspend", post(suspend))
        .route("/console/distribution/peers/{id}/resume", post(resume))
        .route(
            "/console/distribution/peers/{id}/remove",
            get(remove_page).post(remove),
        )
        .route("/console/distribution/hubs", post(join))
        .route("/console/distribution/collections", post(create_collection))
        .route(
            "/console/distribution/collections/{slug}",
            get(collection_page),
        )
        .route(
            "/console/distribution/collections/{slug}/titles",
            post(set_titles),
        )
        .route(
            "/console/distribution/collections/{slug}/versions",
            post(publish),
        )
}

/// The menu entry of these pages.
const SECTION: &str = "distribution";

/// Most titles named on a collection's page (the ids are all in the form).
const TITLES_NAMED: usize = 100;

fn page_error(lang: Lang) -> impl Fn(ServiceError) -> PageError {
    move |e| PageError::service(e, lang)
}

fn status_key(status: PeerStatus) -> &'static str {
    match status {
        PeerStatus::Invited => "distribution-status-invited",
        PeerStatus::Active => "distribution-status-active",
        PeerStatus::Suspended => "distribution-status-suspended",
    }
}

fn copies_of(rights: CollectionRights) -> Option<u32> {
    match rights {
        CollectionRights::CopiesPerMember(n) => Some(n),
        CollectionRights::Unlimited => None,
    }
}

/// A member or a hub as the tables show it.
struct PeerRow {
    id: String,
    name: String,
    region: String,
    base_url: String,
    status_key: &'static str,
    active: bool,
    suspended: bool,
    key_ids: Vec<String>,
    enrolled_at: Option<DateTime<Utc>>,
}

impl From<&Peer> for PeerRow {
    fn from(p: &Peer) -> Self {
        Self {
            id: p.id.to_string(),
            name: p.name.clone(),
            region: p.region.clone().unwrap_or_default(),
            base_url: p.base_url.clone().unwrap_or_default(),
            status_key: status_key(p.status),
            active: p.status == PeerStatus::Active,
            suspended: p.status == PeerStatus::Suspended,
            key_ids: p
                .identity_keys
                .keys
                .iter()
                .map(|k| k.key_id().as_str().to_owned())
                .collect(),
            enrolled_at: p.enrolled_at,
        }
    }
}

/// A published version: number, date, size.
struct VersionLine {
    version: u32,
    created_at: DateTime<Utc>,
    size: String,
}

struct CollectionRow {
    slug: String,
    name: String,
    copies: Option<u32>,
    titles: usize,
    latest: Option<VersionLine>,
}

struct InstalledRow {
    hub: String,
    slug: String,
    name: String,
    version: u32,
    copies: Option<u32>,
    size: String,
    installed_at: DateTime<Utc>,
}

#[derive(Template)]
#[template(path = "console/distribution/distribution.html")]
struct DistributionPage {
    c: Chrome,
    notice: Option<String>,
    members: Vec<PeerRow>,
    collections: Vec<CollectionRow>,
    hubs: Vec<PeerRow>,
    installed: Vec<InstalledRow>,
    usage: Vec<usage::UsageRow>,
    from: String,
    to: String,
    csv_href: String,
}

/// The page's query: what was just done, and the usage period.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    done: Option<String>,
    /// First day of the usage period (`YYYY-MM-DD`); default: the first of the month
    /// eleven months ago (twelve whole months with this one).
    from: Option<String>,
    /// Last day, included; default: today.
    to: Option<String>,
}

fn done_notice(c: &Chrome, done: Option<&str>) -> Option<String> {
    let key = match done? {
        "suspended" => "distribution-done-suspended",
        "resumed" => "distribution-done-resumed",
        "removed" => "distribution-done-removed",
        "joined" => "distribution-done-joined",
        "collection-created" => "distribution-done-collection-created",
        "titles-saved" => "distribution-done-titles-saved",
        "published" => "distribution-done-published",
        _ => return None,
    };
    Some(c.t(key))
}

/// The usage period: the days `from` to `to`, both included.
#[derive(Debug, PartialEq, Eq)]
struct Period {
    from: NaiveDate,
    to: NaiveDate,
}

impl Period {
    /// The period asked for; by default the last twelve months, this one included.
    fn of(
        from: Option<&str>,
        to: Option<&str>,
        now: DateTime<Utc>,
        calendar: Calendar,
    ) -> Result<Self, Invalid> {
        let today = calendar.date_of(now);
        let day = |field: &'static str, raw: Option<&str>| match raw
            .map(str::trim)
            .filter(|r| !r.is_empty())
        {
            None => Ok(None),
            Some(raw) => NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| FieldError::new(field, "must be a date (YYYY-MM-DD)")),
        };
        let to = day("to", to)?.unwrap_or(today);
        let year_ago = to
            .with_day(1)
            .and_then(|first| first.checked_sub_months(Months::new(11)))
            .unwrap_or(to);
        let from = day("from", from)?.unwrap_or(year_ago);
        if to < from {
            return Err(FieldError::new("to", "must not be before from").into());
        }
        Ok(Self { from, to })
    }

    fn csv_href(&self) -> String {
        let from = self.from.to_string();
        let to = self.to.to_string();
        format!(
            "/console/distribution/usage.csv?{}",
            serde_html_form::to_string([("from", from.as_str()), ("to", to.as_str())])
                .unwrap_or_default()
        )
    }
}

/// `GET /console/distribution`: members, collections, hubs, installed collections and
/// reported usage.
pub async fn page(
    State(state): State<AppState>,
    console: Console,
    Query(query): Query<PageQuery>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let ctx = &state.ctx;
    let by = By::Staff(&console.staff);
    let members = service::peers(ctx, by, PeerRole::Member)
        .await
        .map_err(page_error(lang))?;
    let hubs = service::peers(ctx, by, PeerRole::Hub)
        .await
        .map_err(page_error(lang))?;
    let collections = service::collections(ctx, &console.staff)
        .await
        .map_err(page_error(lang))?;
    let installed = service::installed(ctx, &console.staff)
        .await
        .map_err(page_error(lang))?;
    let period = Period::of(
        query.from.as_deref(),
        query.to.as_deref(),
        ctx.clock.now(),
        ctx.calendar,
    )
    .map_err(|e| PageError::service(e.into(), lang))?;
    let usage = usage::report(ctx, &console.staff, period.from, period.to)
        .await
        .map_err(page_error(lang))?;
    let c = console.chrome(SECTION);
    let hub_name = |id: uuid::Uuid| {
        hubs.iter()
            .find(|h| h.id == id)
            .map_or_else(|| id.to_string(), |h| h.name.clone())
    };
    let installed = installed
        .iter()
        .map(|i| InstalledRow {
            hub: hub_name(i.hub_id),
            slug: i.slug.clone(),
            name: i.name.clone(),
            version: i.version,
            copies: copies_of(i.rights),
            size: file_size(i.total_size),
            installed_at: i.installed_at,
        })
        .collect();
    let collections = collections
        .iter()
        .map(|s| CollectionRow {
            slug: s.collection.slug.as_str().to_owned(),
            name: s.collection.name.clone(),
            copies: copies_of(s.collection.rights),
            titles: s.titles.len(),
            latest: s.versions.first().map(|v| VersionLine {
                version: v.version,
                created_at: v.created_at,
                size: file_size(v.total_size),
            }),
        })
        .collect();
    console.web.render(&DistributionPage {
        notice: done_notice(&c, query.done.as_deref()),
        members: members.iter().map(PeerRow::from).collect(),
        hubs: hubs.iter().map(PeerRow::from).collect(),
        collections,
        installed,
        usage,
        from: period.from.to_string(),
        to: period.to.to_string(),
        csv_href: period.csv_href(),
        c,
    })
}

/// The usage period of the CSV download.
#[derive(Debug, Default, Deserialize)]
pub struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

/// `GET /console/distribution/usage.csv?from=…&to=…`: the usage table as CSV (UTF-8
/// with a byte-order mark, formulas neutralised, as the reports' CSVs).
pub async fn usage_csv(
    State(state): State<AppState>,
    console: Console,
    Query(query): Query<PeriodQuery>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let ctx = &state.ctx;
    let period = Period::of(
        query.from.as_deref(),
        query.to.as_deref(),
        ctx.clock.now(),
        ctx.calendar,
    )
    .map_err(|e| PageError::service(e.into(), lang))?;
    let rows = usage::report(ctx, &console.staff, period.from, period.to)
        .await
        .map_err(page_error(lang))?;
    let table = Table {
        columns: vec![
            "collection",
            "member_id",
            "member",
            "region",
            "month",
            "loans",
            "renewals",
            "returns",
        ],
        rows: rows
            .into_iter()
            .map(|r| {
                vec![
                    r.collection,
                    r.member_id.to_string(),
                    r.member,
                    r.region.unwrap_or_default(),
                    r.month,
                    r.loans.to_string(),
                    r.renewals.to_string(),
                    r.returns.to_string(),
                ]
            })
            .collect(),
    };
    super::reports::csv(
        &table,
        &format!("distribution-usage-{}-{}", period.from, period.to),
        lang,
    )
}

/// A member to invite.
#[derive(Debug, Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    region: String,
}

#[derive(Template)]
#[template(path = "console/distribution/invited.html")]
struct InvitedPage {
    c: Chrome,
    /// The member's name, with its region if it has one.
    who: String,
    code: String,
}

/// `POST /console/distribution/members`: invites a member and shows its one-time
/// enrolment code on the answer itself: never in an address (a redirect would put it
/// in the history and the logs), and no page shows it again.
pub async fn invite(
    State(state): State<AppState>,
    ConsoleForm { console, form }: ConsoleForm<InviteForm>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let invitation = service::invite_member(
        &state.ctx,
        By::Staff(&console.staff),
        &form.name,
        Some(form.region.as_str()),
    )
    .await
    .map_err(page_error(lang))?;
    let c = console.chrome(SECTION);
    let member = &invitation.member;
    let who = match &member.region {
        Some(region) => c.t2(
            "distribution-name-region",
            "name",
            &member.name,
            "region",
            region,
        ),
        None => member.name.clone(),
    };
    console.web.render(&InvitedPage {
        c,
        who,
        code: invitation.code,
    })
}

/// A form of no fields but the CSRF token.
#[derive(Debug, Deserialize)]
pub struct NoFields {}

async fn set_status(
    state: &AppState,
    console: &Console,
    raw_id: &str,
    suspended: bool,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let id = path_id(raw_id, "peer", lang)?;
    service::set_peer_status(&state.ctx, &console.staff, id, suspended)
        .await
        .map_err(page_error(lang))?;
    Ok(see_other(if suspended {
        "/console/distribution?done=suspended"
    } else {
        "/console/distribution?done=resumed"
    }))
}

/// `POST /console/distribution/peers/{id}/suspend`.
pub async fn suspend(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, .. }: ConsoleForm<NoFields>,
) -> Result<Response, PageError> {
    set_status(&state, &console, &id, true).await
}

/// `POST /console/distribution/peers/{id}/resume`.
pub async fn resume(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, .. }: ConsoleForm<NoFields>,
) -> Result<Response, PageError> {
    set_status(&state, &console, &id, false).await
}

#[derive(Template)]
#[template(path = "console/distribution/remove.html")]
struct RemovePage {
    c: Chrome,
    peer: PeerRow,
    /// A hub (else a member).
    hub: bool,
}

/// `GET /console/distribution/peers/{id}/remove`: what removing a member or hub means,
/// and the button that does it.
pub async fn remove_page(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let id = path_id(&id, "peer", lang)?;
    let by = By::Staff(&console.staff);
    let mut found = None;
    for role in [PeerRole::Member, PeerRole::Hub] {
        let peers = service::peers(&state.ctx, by, role)
            .await
            .map_err(page_error(lang))?;
        if let Some(peer) = peers.iter().find(|p| p.id == id) {
            found = Some(peer.clone());
            break;
        }
    }
    let peer = found.ok_or_else(|| PageError::service(ServiceError::NotFound("peer"), lang))?;
    console.web.render(&RemovePage {
        c: console.chrome(SECTION),
        hub: peer.role == PeerRole::Hub,
        peer: PeerRow::from(&peer),
    })
}

/// `POST /console/distribution/peers/{id}/remove`.
pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, .. }: ConsoleForm<NoFields>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let id = path_id(&id, "peer", lang)?;
    service::remove_peer(&state.ctx, &console.staff, id)
        .await
        .map_err(page_error(lang))?;
    Ok(see_other("/console/distribution?done=removed"))
}

/// A hub to enrol with.
#[derive(Debug, Deserialize)]
pub struct JoinForm {
    #[serde(default)]
    hub_url: String,
    #[serde(default)]
    code: String,
}

/// `POST /console/distribution/hubs`: enrols this server with a hub (which must be
/// reachable now).
pub async fn join(
    State(state): State<AppState>,
    ConsoleForm { console, form }: ConsoleForm<JoinForm>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    service::enrol_with_hub(
        &state.ctx,
        By::Staff(&console.staff),
        &form.hub_url,
        &form.code,
    )
    .await
    .map_err(page_error(lang))?;
    Ok(see_other("/console/distribution?done=joined"))
}

/// A new collection.
#[derive(Debug, Deserialize)]
pub struct CollectionForm {
    #[serde(default)]
    slug: String,
    #[serde(default)]
    name: String,
    /// Copies of each title per member; empty for unlimited concurrent use.
    #[serde(default)]
    copies: String,
}

/// `copies` as typed: empty is unlimited.
fn rights(raw: &str, c: &Chrome) -> Result<CollectionRights, FieldError> {
    match raw.trim() {
        "" => Ok(CollectionRights::Unlimited),
        raw => raw
            .parse::<u32>()
            .ok()
            .filter(|n| *n >= 1)
            .map(CollectionRights::CopiesPerMember)
            .ok_or_else(|| FieldError::new("copies_per_member", c.t("distribution-error-copies"))),
    }
}

/// `POST /console/distribution/collections`.
pub async fn create_collection(
    State(state): State<AppState>,
    ConsoleForm { console, form }: ConsoleForm<CollectionForm>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let c = console.chrome(SECTION);
    let rights = rights(&form.copies, &c).map_err(|e| PageError::service(e.into(), lang))?;
    service::create_collection(
        &state.ctx,
        By::Staff(&console.staff),
        NewCollection {
            slug: form.slug,
            name: form.name,
            rights,
        },
    )
    .await
    .map_err(page_error(lang))?;
    Ok(see_other("/console/distribution?done=collection-created"))
}

#[derive(Template)]
#[template(path = "console/distribution/collection.html")]
struct CollectionPage {
    c: Chrome,
    slug: String,
    name: String,
    copies: Option<u32>,
    /// One title id per line: the form's text.
    title_ids: String,
    titles: usize,
    /// `(id, title)` of the first titles.
    named: Vec<(String, String)>,
    versions: Vec<VersionLine>,
}

/// `GET /console/distribution/collections/{slug}`: the collection's titles (to change
/// them) and its versions (to publish the next).
pub async fn collection_page(
    State(state): State<AppState>,
    console: Console,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let all = service::collections(&state.ctx, &console.staff)
        .await
        .map_err(page_error(lang))?;
    let summary = all
        .into_iter()
        .find(|s| s.collection.slug.as_str() == slug)
        .ok_or_else(|| PageError::service(ServiceError::NotFound("collection"), lang))?;
    let mut named = Vec::new();
    for id in summary.titles.iter().take(TITLES_NAMED) {
        let title = match crate::service::catalogue::get_any(&state.ctx, *id).await {
            Ok(t) => t.metadata.title,
            Err(ServiceError::NotFound(_)) => continue,
            Err(e) => return Err(PageError::service(e, lang)),
        };
        named.push((id.to_string(), title));
    }
    let title_ids = summary
        .titles
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    console.web.render(&CollectionPage {
        c: console.chrome(SECTION),
        slug: summary.collection.slug.as_str().to_owned(),
        name: summary.collection.name.clone(),
        copies: copies_of(summary.collection.rights),
        titles: summary.titles.len(),
        title_ids,
        named,
        versions: summary
            .versions
            .iter()
            .map(|v| VersionLine {
                version: v.version,
                created_at: v.created_at,
                size: file_size(v.total_size),
            })
            .collect(),
    })
}

/// A collection's titles.
#[derive(Debug, Deserialize)]
pub struct TitlesForm {
    /// Title ids, one per line (or separated by spaces or commas).
    #[serde(default)]
    title_ids: String,
    /// `true`: every title in the catalogue (the list is then ignored).
    #[serde(default)]
    all: Option<String>,
}

/// The title ids typed, one per line; empty lines are skipped.
fn title_ids(raw: &str, c: &Chrome) -> Result<Vec<TitleId>, FieldError> {
    let mut ids: Vec<TitleId> = Vec::new();
    for word in raw
        .split(|ch: char| ch.is_whitespace() || ch == ',')
        .filter(|w| !w.is_empty())
    {
        let id = uuid::Uuid::parse_str(word).map(TitleId).map_err(|_| {
            FieldError::new("title_ids", c.t1("distribution-error-title-id", "id", word))
        })?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// `POST /console/distribution/collections/{slug}/titles`: replaces the titles the
/// collection's next version carries.
pub async fn set_titles(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ConsoleForm { console, form }: ConsoleForm<TitlesForm>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let by = By::Staff(&console.staff);
    let ids = if form.all.is_some_and(|a| !a.is_empty()) {
        service::every_title(&state.ctx, by)
            .await
            .map_err(page_error(lang))?
    } else {
        let c = console.chrome(SECTION);
        title_ids(&form.title_ids, &c).map_err(|e| PageError::service(e.into(), lang))?
    };
    service::set_titles(&state.ctx, by, &slug, &ids)
        .await
        .map_err(page_error(lang))?;
    Ok(see_other("/console/distribution?done=titles-saved"))
}

/// `POST /console/distribution/collections/{slug}/versions`: publishes the
/// collection's titles as its next version.
pub async fn publish(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ConsoleForm { console, .. }: ConsoleForm<NoFields>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    service::publish(&state.ctx, By::Staff(&console.staff), &slug)
        .await
        .map_err(page_error(lang))?;
    Ok(see_other("/console/distribution?done=published"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(raw: &str) -> NaiveDate {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn the_usage_period_defaults_to_twelve_whole_months_up_to_today() {
        let now = DateTime::parse_from_rfc3339("2026-11-30T20:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .expect("time");
        let cst = Calendar::default();
        // 04:00 on 1 December in Beijing.
        let period = Period::of(None, None, now, cst).expect("period");
        assert_eq!(
            period,
            Period {
                from: day("2026-01-01"),
                to: day("2026-12-01")
            }
        );
        let given = Period::of(Some("2026-03-01"), Some(" 2026-03-31 "), now, cst).expect("given");
        assert_eq!(given.from, day("2026-03-01"));
        assert_eq!(given.to, day("2026-03-31"));
        assert!(Period::of(Some("2026-04-01"), Some("2026-03-31"), now, cst).is_err());
        assert!(Period::of(Some("last year"), None, now, cst).is_err());
        assert_eq!(
            Period::of(Some("2026-03-01"), Some("2026-03-31"), now, cst)
                .expect("period")
                .csv_href(),
            "/console/distribution/usage.csv?from=2026-03-01&to=2026-03-31"
        );
    }
}
