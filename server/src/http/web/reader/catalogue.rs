//! The catalogue for readers: search and browse (the Chinese-aware search of the public
//! catalogue: simplified finds traditional, words, authors, subjects) with covers,
//! facets and availability at the reader's library; a title's page with the action
//! that fits (borrow with a loan length, place a hold, or read); borrowing and placing
//! a hold. Visitors who have not logged in may search too, with availability at a
//! library they pick (`?library=`).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use jieyue_protocol::api::AvailabilityState;
use serde::Deserialize;
use uuid::Uuid;

use super::{path_id, refusal_words, see_other, words2};
use crate::domain::{Layout, LendingRules, Library, Title, TitleId};
use crate::http::AppState;
use crate::http::problem::ApiError;
use crate::http::routes::catalog::{CatalogParams, parse_search};
use crate::http::web::reader_session::{
    MaybeReader, Reader, ReaderChrome, ReaderError, ReaderForm, login_href, problem_slug,
};
use crate::http::web::{Chrome, Lang, Web};
use crate::service::Error as ServiceError;
use crate::service::catalogue::{self, ReaderHit, ReaderTitle};
use crate::service::holds::Availability;
use crate::service::{holds, lending, libraries};

/// Titles on a page of results.
const PAGE_SIZE: usize = 20;
/// The loan lengths offered (those within the reader's rules), besides the default and
/// the longest allowed.
const LOAN_LENGTHS: [u32; 8] = [3, 7, 14, 21, 30, 60, 90, 180];

/// The library a page is about: the reader's own, or the one a visitor picked.
struct Place {
    /// The reader layout's chrome.
    r: ReaderChrome,
    /// The logged-in reader.
    reader: Option<Reader>,
    /// The library availability is shown for.
    library: Option<Library>,
    /// Every member library (for a visitor to pick one; empty for a reader).
    libraries: Vec<Library>,
}

impl Place {
    /// Where `web`'s page is read from; `code` is the library a visitor picked.
    async fn find(
        state: &AppState,
        MaybeReader { web, reader }: MaybeReader,
        code: Option<&str>,
        section: &'static str,
    ) -> Result<(Web, Self), ReaderError> {
        if let Some(reader) = reader {
            let place = Self {
                r: reader.reader_chrome(section),
                library: Some(reader.library.clone()),
                reader: Some(reader),
                libraries: Vec::new(),
            };
            return Ok((web, place));
        }
        let libraries = libraries::list(&state.ctx).await.map_err(|err| {
            ReaderError::service(
                web.clone(),
                ReaderChrome::anonymous(&web, None, section),
                err,
            )
        })?;
        let library = code.and_then(|code| libraries.iter().find(|l| l.code == code).cloned());
        let place = Self {
            r: ReaderChrome::anonymous(&web, library.as_ref(), section),
            reader: None,
            library,
            libraries,
        };
        Ok((web, place))
    }

    /// A service error as this page's error page.
    fn fail(&self, web: &Web) -> impl FnOnce(ServiceError) -> ReaderError {
        let web = web.clone();
        let r = self.r.clone();
        move |err| ReaderError::service(web, r, err)
    }

    /// The library code a visitor's links carry (`None` for a reader: the session
    /// says it).
    fn visitor_library(&self) -> Option<&str> {
        match (&self.reader, &self.library) {
            (None, Some(library)) => Some(library.code.as_str()),
            _ => None,
        }
    }
}

/// A title's page, for a visitor with the library they picked.
fn title_href(id: TitleId, library: Option<&str>) -> String {
    match library {
        Some(code) => format!("/reader/titles/{id}?library={code}"),
        None => format!("/reader/titles/{id}"),
    }
}

/// Search parameters.
#[derive(Debug, Default, Deserialize)]
pub struct SearchParams {
    q: Option<String>,
    language: Option<String>,
    subject: Option<String>,
    library: Option<String>,
    page: Option<String>,
}

/// How a title stands for the reader at their library, as a short line.
struct Standing {
    /// `available`, `out`, `none`, `mine`.
    class: &'static str,
    /// The words.
    text: String,
}

/// A title in the results.
struct Hit {
    href: String,
    title: String,
    subtitle: Option<String>,
    authors: String,
    language: String,
    thumbnail: Option<String>,
    standing: Option<Standing>,
}

/// One page of results (the part htmx replaces as the reader types).
struct Results {
    total: usize,
    page: usize,
    pages: usize,
    hits: Vec<Hit>,
    previous_href: Option<String>,
    next_href: Option<String>,
    browsing: bool,
}

#[derive(Template)]
#[template(path = "reader/search.html")]
struct SearchPage {
    c: Chrome,
    r: ReaderChrome,
    res: Results,
    q: String,
    language: String,
    subject: String,
    library: String,
    libraries: Vec<Library>,
    languages: Vec<(String, u64)>,
    subjects: Vec<(String, u64)>,
}

#[derive(Template)]
#[template(path = "reader/results.html")]
struct ResultsFragment {
    c: Chrome,
    res: Results,
}

/// The names of a title's authors, as Chinese lists them.
fn authors(title: &Title) -> String {
    title
        .metadata
        .authors
        .iter()
        .map(|a| a.name.as_str())
        .collect::<Vec<_>>()
        .join("、")
}

/// The standing of a title at the library, in words.
fn standing(
    lang: Lang,
    c: &Chrome,
    availability: Option<&Availability>,
    on_loan: bool,
) -> Option<Standing> {
    if on_loan {
        return Some(Standing {
            class: "mine",
            text: c.t("reader-standing-on-loan"),
        });
    }
    let a = availability?;
    let (class, text) = match a.state {
        AvailabilityState::Ready => ("mine", c.t("reader-standing-ready")),
        AvailabilityState::Reserved => (
            "mine",
            c.t1(
                "reader-standing-reserved",
                "position",
                a.hold_position.unwrap_or(1),
            ),
        ),
        _ if a.copies_total == 0 => ("none", c.t("reader-standing-not-here")),
        AvailabilityState::Available => (
            "available",
            words2(
                lang,
                "reader-standing-available",
                ("available", a.copies_available),
                ("total", a.copies_total),
            ),
        ),
        AvailabilityState::Unavailable => (
            "out",
            c.t1("reader-standing-all-out", "count", a.holds_total),
        ),
    };
    Some(Standing { class, text })
}

fn hit(lang: Lang, c: &Chrome, found: &ReaderHit, library: Option<&str>) -> Hit {
    let title = &found.title;
    Hit {
        href: title_href(title.id, library),
        title: title.metadata.title.clone(),
        subtitle: title.metadata.subtitle.clone(),
        authors: authors(title),
        language: title.metadata.language.clone().unwrap_or_default(),
        thumbnail: crate::http::routes::catalog::links(title).thumbnail,
        standing: standing(lang, c, found.availability.as_ref(), found.loan.is_some()),
    }
}

/// The search page's address with these parameters.
fn search_href(
    q: &str,
    language: &str,
    subject: &str,
    library: Option<&str>,
    page: usize,
) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    for (key, value) in [("q", q), ("language", language), ("subject", subject)] {
        if !value.is_empty() {
            pairs.push((key, value.to_owned()));
        }
    }
    if let Some(code) = library {
        pairs.push(("library", code.to_owned()));
    }
    if page > 1 {
        pairs.push(("page", page.to_string()));
    }
    let query = serde_html_form::to_string(&pairs).unwrap_or_default();
    if query.is_empty() {
        String::from("/reader/")
    } else {
        format!("/reader/?{query}")
    }
}

/// A facet list that still offers the value chosen (even when it counts nothing now).
fn with_chosen(mut counts: Vec<(String, u64)>, chosen: &str) -> Vec<(String, u64)> {
    if !chosen.is_empty() && !counts.iter().any(|(value, _)| value == chosen) {
        counts.push((chosen.to_owned(), 0));
    }
    counts
}

/// `GET /reader/`: search and browse the catalogue, with availability at the reader's
/// library; with htmx only the results are sent back as the reader types.
pub async fn search_page(
    State(state): State<AppState>,
    who: MaybeReader,
    Query(params): Query<SearchParams>,
) -> Result<Response, ReaderError> {
    let (web, place) = Place::find(&state, who, params.library.as_deref(), "search").await?;
    let lang = web.lang;
    let trimmed = |v: Option<String>| v.unwrap_or_default().trim().to_owned();
    let q = trimmed(params.q);
    let language = trimmed(params.language);
    let subject = trimmed(params.subject);
    let page = params
        .page
        .and_then(|p| p.parse::<usize>().ok())
        .filter(|p| (1..=5_000).contains(p))
        .unwrap_or(1);
    let mut query = parse_search(CatalogParams {
        q: Some(q.clone()),
        language: (!language.is_empty()).then(|| language.clone()),
        subject: (!subject.is_empty()).then(|| subject.clone()),
        limit: Some(PAGE_SIZE),
        ..CatalogParams::default()
    })
    .map_err(|invalid| place.fail(&web)(invalid.into()))?;
    query.offset = (page - 1) * PAGE_SIZE;
    let found = catalogue::reader_search(
        &state.ctx,
        query,
        place.library.as_ref().map(|l| l.id),
        place.reader.as_ref().map(|r| &r.patron),
    )
    .await
    .map_err(place.fail(&web))?;
    let c = web.chrome(None);
    let visitor_library = place.visitor_library();
    let pages = found.total.div_ceil(PAGE_SIZE).max(1);
    let res = Results {
        total: found.total,
        page,
        pages,
        hits: found
            .hits
            .iter()
            .map(|h| hit(lang, &c, h, visitor_library))
            .collect(),
        previous_href: (page > 1)
            .then(|| search_href(&q, &language, &subject, visitor_library, page - 1)),
        next_href: (page < pages)
            .then(|| search_href(&q, &language, &subject, visitor_library, page + 1)),
        browsing: q.is_empty() && language.is_empty() && subject.is_empty(),
    };
    if web.fragment {
        return Ok(web.render(&ResultsFragment { c, res })?);
    }
    Ok(web.render(&SearchPage {
        languages: with_chosen(found.facets.language.clone(), &language),
        subjects: with_chosen(found.facets.subject.clone(), &subject),
        library: visitor_library.unwrap_or_default().to_owned(),
        libraries: place.libraries,
        c,
        r: place.r,
        res,
        q,
        language,
        subject,
    })?)
}

/// The reader's loan of the title: read it.
struct ReadAction {
    href: String,
    ends: String,
    days_left: i64,
}

/// Borrowing: a fresh request id (a double submit borrows once) and the loan lengths
/// the rules allow.
struct BorrowAction {
    request_id: String,
    lengths: Vec<u32>,
    default_days: u32,
    /// A copy held for the reader until then.
    ready_until: Option<String>,
}

/// The reader's place in the queue.
struct WaitingAction {
    position: Option<u64>,
    wait_days: Option<u64>,
    suspended_until: Option<String>,
}

/// Joining the queue: the place a hold would take and the estimated wait.
struct HoldAction {
    position: u64,
    wait_days: u64,
}

/// What the reader can do with the title.
#[derive(Default)]
struct Actions {
    read: Option<ReadAction>,
    borrow: Option<BorrowAction>,
    waiting: Option<WaitingAction>,
    hold: Option<HoldAction>,
    /// Why the reader cannot borrow it now (words).
    refusal: Option<String>,
    /// The reader's library has no copy it can lend.
    not_here: bool,
}

#[derive(Template)]
#[template(path = "reader/title.html")]
struct TitlePage {
    c: Chrome,
    r: ReaderChrome,
    t: Title,
    authors: String,
    /// Subjects with the search for each.
    subjects: Vec<(String, String)>,
    cover: Option<String>,
    fixed_layout: bool,
    /// The kind's name, for publications that are not EPUB.
    kind: Option<String>,
    /// `1:23:45` (audio, video).
    duration: Option<String>,
    /// Pages, images, tracks or videos (not EPUB).
    items: Option<u32>,
    availability: Option<Availability>,
    actions: Actions,
    login_href: Option<String>,
    /// A visitor who has not picked a library: the libraries to pick from.
    libraries: Vec<Library>,
    notice: Option<String>,
    refusal: Option<String>,
}

/// The loan lengths offered: the usual ones within the rules, the default and the
/// longest allowed, in order.
fn loan_lengths(rules: &LendingRules) -> Vec<u32> {
    let mut lengths: Vec<u32> = LOAN_LENGTHS
        .into_iter()
        .filter(|d| *d <= rules.loan_days_max)
        .chain([rules.loan_days_default, rules.loan_days_max])
        .filter(|d| *d >= 1)
        .collect();
    lengths.sort_unstable();
    lengths.dedup();
    lengths
}

/// Whole days from `now` until `end`, rounded up; 0 once `end` has passed.
fn days_left(end: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    let seconds = (end - now).num_seconds().max(0);
    (seconds + 86_399) / 86_400
}

/// The action that fits the reader and the title.
fn actions(c: &Chrome, lang: Lang, found: &ReaderTitle, now: DateTime<Utc>) -> Actions {
    let mut actions = Actions::default();
    if let Some(loan) = &found.loan {
        actions.read = Some(ReadAction {
            href: format!("/reader/loans/{}/read", loan.loan.id),
            ends: c.date(&loan.loan.ends_at),
            days_left: days_left(loan.loan.ends_at, now),
        });
        return actions;
    }
    let Some(rules) = &found.rules else {
        return actions;
    };
    let ready_until = found
        .hold
        .as_ref()
        .filter(|h| h.hold.state == crate::domain::HoldState::Ready)
        .and_then(|h| h.hold.pickup_deadline);
    let borrow = || BorrowAction {
        request_id: Uuid::new_v4().to_string(),
        lengths: loan_lengths(rules),
        default_days: rules.loan_days_default,
        ready_until: ready_until.as_ref().map(|at| c.datetime(at)),
    };
    match found.borrow_refusal {
        None => actions.borrow = Some(borrow()),
        Some(crate::service::Refusal::NoCopyAvailable) => {
            actions.not_here = found
                .availability
                .as_ref()
                .is_some_and(|a| a.copies_total == 0);
        }
        Some(refusal) => {
            let slug = problem_slug(&ApiError::from(ServiceError::Refused(refusal)));
            actions.refusal = refusal_words(lang, Some(slug));
        }
    }
    if let Some(hold) = found
        .hold
        .as_ref()
        .filter(|h| h.hold.state == crate::domain::HoldState::Waiting)
    {
        actions.waiting = Some(WaitingAction {
            position: hold.position,
            wait_days: hold.estimated_wait_days,
            suspended_until: hold.hold.suspended_until.as_ref().map(|at| c.date(at)),
        });
    } else if let Some((position, wait_days)) = found.wait_if_held {
        actions.hold = Some(HoldAction {
            position,
            wait_days,
        });
    }
    actions
}

/// `?library=` for a visitor, and what a form just did (`?done=`, `?refused=`).
#[derive(Debug, Default, Deserialize)]
pub struct TitleParams {
    library: Option<String>,
    done: Option<String>,
    refused: Option<String>,
}

/// The notice a `?done=` shows on the title page.
fn done_notice(c: &Chrome, done: Option<&str>) -> Option<String> {
    let key = match done? {
        "borrowed" => "reader-done-borrowed",
        "held" => "reader-done-held",
        _ => return None,
    };
    Some(c.t(key))
}

/// `GET /reader/titles/{id}`: the title's description, authors and subjects, copies
/// and holds at the reader's library, and the action that fits.
pub async fn title_page(
    State(state): State<AppState>,
    who: MaybeReader,
    Path(id): Path<String>,
    Query(params): Query<TitleParams>,
) -> Result<Response, ReaderError> {
    let (web, place) = Place::find(&state, who, params.library.as_deref(), "search").await?;
    let lang = web.lang;
    let id = TitleId(path_id(&id, "title", place.fail(&web))?);
    let found = catalogue::reader_title(
        &state.ctx,
        place.reader.as_ref().map(|r| &r.patron),
        place.library.as_ref().map(|l| l.id),
        id,
    )
    .await
    .map_err(place.fail(&web))?;
    let c = web.chrome(None);
    let actions = actions(&c, lang, &found, state.ctx.clock.now());
    let links = crate::http::routes::catalog::links(&found.title);
    let visitor_library = place.visitor_library();
    let subjects = found
        .title
        .metadata
        .subjects
        .iter()
        .map(|s| (s.clone(), search_href("", "", s, visitor_library, 1)))
        .collect();
    Ok(web.render(&TitlePage {
        authors: authors(&found.title),
        subjects,
        cover: links.cover,
        fixed_layout: found.title.metadata.layout == Layout::Fixed,
        kind: (found.title.media.kind != crate::domain::PublicationKind::Epub)
            .then(|| c.kind_name(found.title.media.kind)),
        duration: found
            .title
            .media
            .duration_ms
            .map(|ms| crate::http::web::duration_text(ms as f64 / 1000.0)),
        items: found.title.media.items,
        availability: found.availability,
        login_href: place
            .reader
            .is_none()
            .then(|| login_href(&web.path_and_query)),
        libraries: if place.library.is_none() {
            place.libraries.clone()
        } else {
            Vec::new()
        },
        notice: done_notice(&c, params.done.as_deref()),
        refusal: refusal_words(lang, params.refused.as_deref()),
        actions,
        t: found.title,
        c,
        r: place.r,
    })?)
}

/// The borrow form.
#[derive(Debug, Deserialize)]
pub struct BorrowForm {
    /// Made when the form was drawn: the same form sent twice borrows once.
    request_id: Uuid,
    /// Loan length in days (empty: the rules' default).
    #[serde(default)]
    days: String,
}

/// The title page after a form, with what happened.
fn back_to_title(id: TitleId, outcome: &str) -> Response {
    see_other(&format!("/reader/titles/{id}?{outcome}"))
}

/// `POST /reader/titles/{id}/borrow`: borrows the title for the chosen length (the
/// API's borrow, idempotent on the form's request id), then back to the title page
/// (which offers to read it), or there with the reason it was refused.
pub async fn borrow(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ReaderForm { reader, form }: ReaderForm<BorrowForm>,
) -> Result<Response, ReaderError> {
    let id = TitleId(path_id(&id, "title", reader.fail("search"))?);
    let days = match form.days.trim() {
        "" => None,
        days => Some(
            days.parse::<u32>()
                .map_err(|_| crate::http::web::PageError::BadForm(reader.web.lang))?,
        ),
    };
    let request = lending::BorrowRequest {
        title: id,
        days,
        request_id: form.request_id,
        device: None,
    };
    match lending::borrow(&state.ctx, &reader.patron, request).await {
        Ok(_) => Ok(back_to_title(id, "done=borrowed")),
        Err(err @ (ServiceError::Refused(_) | ServiceError::Invalid(_))) => {
            let slug = problem_slug(&ApiError::from(err));
            Ok(back_to_title(id, &format!("refused={slug}")))
        }
        Err(err) => Err(reader.fail("search")(err)),
    }
}

/// The hold form.
#[derive(Debug, Deserialize)]
pub struct HoldForm {
    /// Borrow the title at once when a copy is free for the reader.
    auto_borrow: Option<String>,
}

/// `POST /reader/titles/{id}/hold`: joins the title's queue (the API's hold). A hold
/// placed twice (a double submit) is the one hold.
pub async fn place_hold(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ReaderForm { reader, form }: ReaderForm<HoldForm>,
) -> Result<Response, ReaderError> {
    let id = TitleId(path_id(&id, "title", reader.fail("search"))?);
    let auto_borrow = form.auto_borrow.is_some_and(|v| !v.is_empty());
    match holds::place(&state.ctx, &reader.patron, id, auto_borrow).await {
        // A conflict is a hold already placed: the reader is in the queue either way.
        Ok(_) | Err(ServiceError::Conflict(_)) => Ok(back_to_title(id, "done=held")),
        Err(err @ ServiceError::Refused(_)) => {
            let slug = problem_slug(&ApiError::from(err));
            Ok(back_to_title(id, &format!("refused={slug}")))
        }
        Err(err) => Err(reader.fail("search")(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(default: u32, max: u32) -> LendingRules {
        LendingRules {
            loan_days_default: default,
            loan_days_max: max,
            max_loans: 5,
            max_holds: 5,
            renewals: 1,
            renewal_days: 7,
            pickup_hours: 48,
            max_devices: 3,
        }
    }

    #[test]
    fn the_loan_lengths_offered_stay_within_the_rules() {
        assert_eq!(loan_lengths(&rules(14, 21)), [3, 7, 14, 21]);
        assert_eq!(loan_lengths(&rules(10, 28)), [3, 7, 10, 14, 21, 28]);
        assert_eq!(loan_lengths(&rules(1, 1)), [1]);
        assert_eq!(
            loan_lengths(&rules(14, 365)),
            [3, 7, 14, 21, 30, 60, 90, 180, 365]
        );
    }

    #[test]
    fn days_left_round_up_and_stop_at_zero() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        assert_eq!(days_left(now + chrono::Duration::days(14), now), 14);
        assert_eq!(days_left(now + chrono::Duration::hours(1), now), 1);
        assert_eq!(days_left(now - chrono::Duration::hours(1), now), 0);
    }

    #[test]
    fn search_links_keep_the_search_and_a_visitors_library() {
        assert_eq!(search_href("", "", "", None, 1), "/reader/");
        assert_eq!(
            search_href("李白", "zh", "", Some("city"), 2),
            "/reader/?q=%E6%9D%8E%E7%99%BD&language=zh&library=city&page=2"
        );
    }
}
