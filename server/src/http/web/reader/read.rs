//! Reading in the browser: the reading page, the book's decrypted resources for its
//! frame, search in the book, and the reading position.
//!
//! The book is shown in an `<iframe sandbox="allow-same-origin">` (no `allow-scripts`)
//! whose documents come from `GET /reader/loans/{loan}/content/{*path}`, served only to
//! the reader who holds the loan, only while it runs (checked on every request), never
//! stored by a cache, and under a policy of their own that runs no script at all. Our
//! page script (`static/reader.js`) lays the frame's document out from outside (same
//! origin); everything it needs is in the `data-*` attributes of `#reader`.
//!
//! Without JavaScript the page still shows the chapter in its frame (scrolled), with
//! links to the previous and next chapters, the table of contents and search.

use askama::Template;
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde::Deserialize;

use crate::domain::{Layout, LoanId, PublicationKind};
use crate::http::AppState;
use crate::http::problem::ApiError;
use crate::http::routes::catalog::{RangeRequest, parse_range};
use crate::http::web::Chrome;
use crate::http::web::reader_session::{Reader, ReaderChrome, ReaderError};
use crate::http::web::session::check_same_origin;
use crate::service::reading::{self, Content, OpenBook, SearchHit};
use crate::service::{Error, Refusal};

/// The reading page's own stylesheet, compiled in.
const READ_CSS: &str = include_str!("../../../../static/reader-read.css");

/// The policy of every book resource: nothing but this server's own files, no script
/// of any kind, no plugins, no forms, no `<base>`, shown only in our own pages, and
/// sandboxed even when opened on its own. Inline styles stay (books are full of them;
/// with everything else limited to this server they cannot send anything anywhere).
const CONTENT_POLICY: &str = "default-src 'self'; script-src 'none'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
     object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'; \
     sandbox allow-same-origin";

/// The largest position body (a locator is at most 8 KiB of JSON).
const POSITION_LIMIT: usize = 16 * 1024;

/// The reading routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/reader/loans/{loan}/read", get(read_page))
        .route("/reader/loans/{loan}/content/{*path}", get(content))
        .route("/reader/loans/{loan}/search", get(search_page))
        .route(
            "/reader/loans/{loan}/position",
            get(position).post(save_position),
        )
        .route("/reader/read.css", get(stylesheet))
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        READ_CSS,
    )
        .into_response()
}

/// Characters escaped in one segment of a content URL (a package path keeps its `/`).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\')
    .add(b'^')
    .add(b'|');

/// Characters escaped in a query value.
const QUERY_VALUE: &AsciiSet = &SEGMENT.add(b'&').add(b'+').add(b'=').add(b'/');

/// The address of package path `href` (with an optional `#fragment`) of `loan`'s book.
fn content_url(loan: LoanId, href: &str) -> String {
    let (path, fragment) = match href.split_once('#') {
        Some((path, fragment)) => (path, Some(fragment)),
        None => (href, None),
    };
    let mut url = format!("/reader/loans/{}/content/", loan.0);
    let segments: Vec<String> = path
        .split('/')
        .map(|s| utf8_percent_encode(s, SEGMENT).to_string())
        .collect();
    url.push_str(&segments.join("/"));
    if let Some(fragment) = fragment {
        url.push('#');
        url.push_str(fragment);
    }
    url
}

/// The reading page of `loan` at package path `href` (with an optional fragment).
fn read_url(loan: LoanId, href: &str, progression: Option<f64>) -> String {
    let mut url = format!(
        "/reader/loans/{}/read?href={}",
        loan.0,
        utf8_percent_encode(href, QUERY_VALUE)
    );
    if let Some(p) = progression.filter(|p| *p > 0.0) {
        url.push_str(&format!("&progression={p:.4}"));
    }
    url
}

/// The loan id of a path; a malformed one is as unknown as a missing one.
fn loan_id(raw: &str, reader: &Reader) -> Result<LoanId, Box<ReaderError>> {
    uuid::Uuid::parse_str(raw)
        .map(LoanId)
        .map_err(|_| Box::new(reader.fail("read")(Error::NotFound("loan"))))
}

/// The page a reader gets for a loan that has ended (410): what happened and where to
/// go from here.
#[derive(Template)]
#[template(path = "reader/read_ended.html")]
struct EndedPage {
    c: Chrome,
    r: ReaderChrome,
}

fn ended_page(reader: &Reader) -> Response {
    let page = EndedPage {
        c: reader.chrome(),
        r: reader.reader_chrome("shelf"),
    };
    gone(reader.web.render(&page))
}

/// A rendered page as a 410.
fn gone(rendered: Result<Response, crate::http::web::PageError>) -> Response {
    match rendered {
        Ok(mut response) => {
            *response.status_mut() = StatusCode::GONE;
            response
        }
        Err(err) => err.into_response(),
    }
}

/// The same, as a document for the book's frame: the page script sees
/// `data-reader-ended` and reloads the reading page, which then says so.
#[derive(Template)]
#[template(path = "reader/read_ended_frame.html")]
struct EndedFrame {
    c: Chrome,
}

fn ended_in_frame(reader: &Reader) -> Response {
    let mut response = gone(reader.web.render(&EndedFrame { c: reader.chrome() }));
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_POLICY),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    response
}

/// `GET /reader/loans/{loan}/content/{*path}`: the decrypted resource at `path` of the
/// loan's package. One `Range` is honoured (large images and media).
async fn content(
    State(state): State<AppState>,
    reader: Reader,
    headers: HeaderMap,
    Path((loan, path)): Path<(String, String)>,
) -> Result<Response, ReaderError> {
    let loan = loan_id(&loan, &reader).map_err(|e| *e)?;
    let opened = match reading::open_resource(&state.ctx, &reader.patron, loan, &path).await {
        Ok(opened) => opened,
        Err(Error::Refused(Refusal::LoanEnded)) => return Ok(ended_in_frame(&reader)),
        Err(err) => return Err(reader.fail("read")(err)),
    };
    let (length, media_type) = (opened.length, opened.media_type);
    let range_header = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let range = match parse_range(range_header, length) {
        RangeRequest::Full => None,
        RangeRequest::Partial(range) => Some(range),
        RangeRequest::Unsatisfiable => {
            let mut response = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            content_headers(response.headers_mut(), "text/plain; charset=utf-8");
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{length}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            return Ok(response);
        }
    };
    let partial = range.is_some();
    let read = opened.read(range).await.map_err(reader.fail("read"))?;
    let body = match read.content {
        Content::Bytes(bytes) => Body::from(bytes),
        Content::Stream(stream) => Body::from_stream(stream),
    };
    let mut response = Response::new(body);
    let h = response.headers_mut();
    content_headers(h, media_type);
    if let Ok(value) = HeaderValue::from_str(&(read.served.end - read.served.start).to_string()) {
        h.insert(header::CONTENT_LENGTH, value);
    }
    if partial {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        let value = format!(
            "bytes {}-{}/{length}",
            read.served.start,
            read.served.end.saturating_sub(1)
        );
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(header::CONTENT_RANGE, value);
        }
    }
    Ok(response)
}

/// The headers of a book resource: its type (never sniffed), no caching anywhere, its
/// own strict policy, framed only by our pages, no referrer.
fn content_headers(h: &mut HeaderMap, media_type: &'static str) {
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::VARY, HeaderValue::from_static("Cookie, Range"));
}

/// `?href=` (a package path, perhaps with a `#fragment`) and `?progression=` (0..1).
#[derive(Debug, Deserialize)]
struct ReadQuery {
    href: Option<String>,
    progression: Option<String>,
}

/// An entry of the table of contents on the page.
#[derive(Debug)]
struct TocLink {
    label: String,
    /// The reading page there.
    url: String,
    /// The package path (with fragment) the page script compares.
    href: String,
    depth: u32,
    current: bool,
}

/// The reading page.
#[derive(Template)]
#[template(path = "reader/read.html")]
struct ReadPage {
    c: Chrome,
    r: ReaderChrome,
    title: String,
    chapter: String,
    content_src: String,
    prev: Option<String>,
    next: Option<String>,
    toc: Vec<TocLink>,
    search_action: String,
    /// The `data-*` attributes of `#reader`, in order.
    data: Vec<(&'static str, String)>,
    fixed: bool,
}

/// The reading order as the page script needs it: `[{href, type, first, count}]`.
fn reading_order_json(book: &OpenBook) -> String {
    let items: Vec<serde_json::Value> = book
        .publication
        .reading_order
        .iter()
        .map(|i| {
            serde_json::json!({
                "href": i.href,
                "type": i.media_type,
                "first": i.first_position,
                "count": i.positions,
            })
        })
        .collect();
    serde_json::Value::Array(items).to_string()
}

/// `GET /reader/loans/{loan}/read`: the reading page, at `?href=` (else where the
/// reader was, else the start), at `?progression=` through that document (else the
/// saved one when it is the saved document).
async fn read_page(
    State(state): State<AppState>,
    reader: Reader,
    Path(loan): Path<String>,
    Query(query): Query<ReadQuery>,
) -> Result<Response, ReaderError> {
    let loan = loan_id(&loan, &reader).map_err(|e| *e)?;
    let book = match reading::open_book(&state.ctx, &reader.patron, loan).await {
        Ok(book) => book,
        Err(Error::Refused(Refusal::LoanEnded)) => return Ok(ended_page(&reader)),
        Err(err) => return Err(reader.fail("read")(err)),
    };
    let publication = &book.publication;
    let asked_progression = query
        .progression
        .as_deref()
        .and_then(|p| p.parse::<f64>().ok());
    let place = book.place(query.href.as_deref(), asked_progression);
    let (index, progression) = (place.index, place.progression);
    let Some(item) = publication.reading_order.get(index) else {
        return Err(reader.fail("read")(Error::Bug(
            "a place outside the reading order",
        )));
    };
    let href = query
        .href
        .as_deref()
        .filter(|h| publication.index_of(h) == Some(index))
        .unwrap_or(&item.href)
        .to_owned();
    let chapter = publication
        .chapter_title(index)
        .map_or_else(|| publication.title.clone(), str::to_owned);
    let prev = index
        .checked_sub(1)
        .and_then(|i| publication.reading_order.get(i))
        .map(|i| read_url(loan, &i.href, None));
    let next = publication
        .reading_order
        .get(index + 1)
        .map(|i| read_url(loan, &i.href, None));
    let toc = publication
        .toc
        .iter()
        .map(|t| TocLink {
            label: t.label.clone(),
            url: read_url(loan, &t.href, None),
            href: t.href.clone(),
            depth: t.depth.min(3),
            current: t.href.split('#').next() == Some(item.href.as_str()),
        })
        .collect();
    if publication.kind != PublicationKind::Epub {
        return media_page(&reader, &book, loan, index, progression);
    }
    let fixed = publication.layout == Layout::Fixed;
    let data = vec![
        ("loan", loan.0.to_string()),
        ("title-id", book.loan.title_id.0.to_string()),
        ("content-base", content_url(loan, "")),
        ("read-url", format!("/reader/loans/{}/read", loan.0)),
        ("position-url", format!("/reader/loans/{}/position", loan.0)),
        ("csrf", reader.csrf()),
        ("href", item.href.clone()),
        ("index", index.to_string()),
        ("progression", format!("{progression:.6}")),
        (
            "position",
            book.position
                .as_ref()
                .map(serde_json::Value::to_string)
                .unwrap_or_default(),
        ),
        ("reading-order", reading_order_json(&book)),
        ("total-positions", publication.position_count().to_string()),
        (
            "layout",
            if fixed { "fixed" } else { "reflowable" }.to_owned(),
        ),
        (
            "direction",
            if publication.rtl { "rtl" } else { "ltr" }.to_owned(),
        ),
        ("vertical", publication.vertical.to_string()),
        ("language", publication.language.clone().unwrap_or_default()),
    ];
    let page = ReadPage {
        c: reader.chrome(),
        r: reader.reader_chrome("shelf"),
        title: publication.title.clone(),
        chapter,
        content_src: content_url(loan, &href),
        prev,
        next,
        toc,
        search_action: format!("/reader/loans/{}/search", loan.0),
        data,
        fixed,
    };
    Ok(reader.web.render(&page)?)
}

/// An item of a media publication's list (a track, a video, a page, an image).
#[derive(Debug)]
struct MediaEntry {
    /// Its reading page (tracks, videos).
    url: String,
    /// Its content (the `src` of the player or image).
    src: String,
    /// Its title, caption, or "1", "2", … when it has none.
    label: String,
    /// `m:ss` (tracks, videos).
    duration: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    current: bool,
}

/// The reading page of a publication that is not an EPUB: a player for tracks and
/// videos (one at a time, with the list beside it), or the pages one under the other.
#[derive(Template)]
#[template(path = "reader/read_media.html")]
struct MediaPage {
    c: Chrome,
    r: ReaderChrome,
    title: String,
    /// `audio`, `video`, `pages` or `images`.
    kind: &'static str,
    entries: Vec<MediaEntry>,
    /// The track or video playing (tracks, videos).
    current: Option<MediaEntry>,
    prev: Option<String>,
    next: Option<String>,
    data: Vec<(&'static str, String)>,
}

fn media_page(
    reader: &Reader,
    book: &OpenBook,
    loan: LoanId,
    index: usize,
    progression: f64,
) -> Result<Response, ReaderError> {
    let publication = &book.publication;
    let kind = match publication.kind {
        PublicationKind::Audiobook => "audio",
        PublicationKind::Video => "video",
        PublicationKind::Images => "images",
        PublicationKind::PageImages | PublicationKind::Epub => "pages",
    };
    let timed = publication.kind.is_timed();
    let entries: Vec<MediaEntry> = publication
        .reading_order
        .iter()
        .zip(&publication.media)
        .enumerate()
        .map(|(i, (item, media))| MediaEntry {
            url: read_url(loan, &item.href, None),
            src: content_url(loan, &item.href),
            label: media.title.clone().unwrap_or_else(|| (i + 1).to_string()),
            duration: media.duration.map(crate::http::web::duration_text),
            width: media.width,
            height: media.height,
            current: timed && i == index,
        })
        .collect();
    let Some(current_item) = publication.reading_order.get(index) else {
        return Err(reader.fail("read")(Error::Bug(
            "a place outside the reading order",
        )));
    };
    let duration = publication
        .media
        .get(index)
        .and_then(|m| m.duration)
        .unwrap_or(0.0);
    let durations: Vec<f64> = publication
        .media
        .iter()
        .map(|m| m.duration.unwrap_or(0.0))
        .collect();
    let data = vec![
        ("position-url", format!("/reader/loans/{}/position", loan.0)),
        ("csrf", reader.csrf()),
        ("href", current_item.href.clone()),
        ("type", current_item.media_type.clone()),
        ("index", index.to_string()),
        ("position", (index + 1).to_string()),
        ("start", format!("{:.3}", progression * duration)),
        (
            "durations",
            serde_json::to_string(&durations).unwrap_or_default(),
        ),
        (
            "next-url",
            publication
                .reading_order
                .get(index + 1)
                .map(|i| read_url(loan, &i.href, None))
                .unwrap_or_default(),
        ),
    ];
    let page = MediaPage {
        c: reader.chrome(),
        r: reader.reader_chrome("shelf"),
        title: publication.title.clone(),
        kind,
        current: timed
            .then(|| entries.iter().find(|e| e.current))
            .flatten()
            .map(|e| MediaEntry {
                url: e.url.clone(),
                src: e.src.clone(),
                label: e.label.clone(),
                duration: e.duration.clone(),
                width: e.width,
                height: e.height,
                current: true,
            }),
        prev: timed
            .then(|| index.checked_sub(1))
            .flatten()
            .and_then(|i| publication.reading_order.get(i))
            .map(|i| read_url(loan, &i.href, None)),
        next: timed
            .then(|| publication.reading_order.get(index + 1))
            .flatten()
            .map(|i| read_url(loan, &i.href, None)),
        entries,
        data,
    };
    Ok(reader.web.render(&page)?)
}

/// `?q=`.
#[derive(Debug, Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

/// A search hit on the page.
#[derive(Debug)]
struct HitView {
    url: String,
    chapter: String,
    before: String,
    highlight: String,
    after: String,
}

/// Search in the book: a whole page, or (for htmx) the results only.
#[derive(Template)]
#[template(path = "reader/read_search.html")]
struct SearchPage {
    c: Chrome,
    r: ReaderChrome,
    query: String,
    hits: Vec<HitView>,
    search_action: String,
    back: String,
    limited: bool,
}

#[derive(Template)]
#[template(path = "reader/read_search_results.html")]
struct SearchResults {
    c: Chrome,
    query: String,
    hits: Vec<HitView>,
    limited: bool,
}

fn hit_view(loan: LoanId, hit: SearchHit) -> HitView {
    HitView {
        url: read_url(loan, &hit.href, Some(hit.progression)),
        chapter: hit.chapter.unwrap_or_default(),
        before: hit.before,
        highlight: hit.highlight,
        after: hit.after,
    }
}

/// `GET /reader/loans/{loan}/search?q=`: where `q` occurs in the book, each hit a link
/// to the reading page there.
async fn search_page(
    State(state): State<AppState>,
    reader: Reader,
    Path(loan): Path<String>,
    Query(query): Query<SearchQuery>,
) -> Result<Response, ReaderError> {
    let loan = loan_id(&loan, &reader).map_err(|e| *e)?;
    let q = query.q.unwrap_or_default().trim().to_owned();
    let hits = match reading::search(&state.ctx, &reader.patron, loan, &q).await {
        Ok(hits) => hits,
        Err(Error::Refused(Refusal::LoanEnded)) => return Ok(ended_page(&reader)),
        Err(err) => return Err(reader.fail("read")(err)),
    };
    let limited = hits.len() >= reading::MAX_HITS;
    let hits: Vec<HitView> = hits.into_iter().map(|h| hit_view(loan, h)).collect();
    if reader.web.fragment {
        return Ok(reader.web.render(&SearchResults {
            c: reader.chrome(),
            query: q,
            hits,
            limited,
        })?);
    }
    Ok(reader.web.render(&SearchPage {
        c: reader.chrome(),
        r: reader.reader_chrome("shelf"),
        query: q,
        hits,
        search_action: format!("/reader/loans/{}/search", loan.0),
        back: format!("/reader/loans/{}/read", loan.0),
        limited,
    })?)
}

/// A JSON answer for the page script: the problem, as the API would give it.
fn problem(err: Error) -> Response {
    ApiError::from(err).into_response()
}

/// `GET /reader/loans/{loan}/position`: the reader's saved position in the loan's
/// title (`{"locator": …, "updated_at": …}`), so an open page can follow a move made
/// on another device.
async fn position(
    State(state): State<AppState>,
    reader: Reader,
    Path(loan): Path<String>,
) -> Response {
    let Ok(loan) = uuid::Uuid::parse_str(&loan) else {
        return problem(Error::NotFound("loan"));
    };
    match reading::position(&state.ctx, &reader.patron, LoanId(loan)).await {
        Ok(saved) => no_store(Json(serde_json::json!({
            "locator": serde_json::from_str::<serde_json::Value>(&saved.locator)
                .unwrap_or_default(),
            "updated_at": saved.updated_at,
        }))),
        Err(err) => problem(err),
    }
}

fn no_store(body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `POST /reader/loans/{loan}/position`: saves the reader's position; the body is a
/// Readium locator (`{"href", "type", "locations": {"progression", "totalProgression",
/// "position"}}`), the session's CSRF token is in `X-CSRF-Token`. Answers the saved
/// position as `GET` does.
async fn save_position(
    State(state): State<AppState>,
    Path(loan): Path<String>,
    request: Request,
) -> Response {
    let (mut parts, body) = request.into_parts();
    if check_same_origin(&parts).is_err() {
        return problem(Error::Forbidden("a request from another site"));
    }
    let reader = match Reader::from_request_parts(&mut parts, &state).await {
        Ok(reader) => reader,
        Err(_) => return problem(Error::Unauthenticated),
    };
    if !reader.csrf_presented(&parts.headers, None) {
        return problem(Error::Forbidden(
            "the request lacks this session's CSRF token",
        ));
    }
    let Ok(loan) = uuid::Uuid::parse_str(&loan) else {
        return problem(Error::NotFound("loan"));
    };
    let Ok(bytes) = axum::body::to_bytes(body, POSITION_LIMIT).await else {
        return problem(crate::domain::FieldError::new("locator", "is too long").into());
    };
    let Ok(locator) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return problem(crate::domain::FieldError::new("locator", "must be JSON").into());
    };
    match reading::save_position(&state.ctx, &reader.patron, LoanId(loan), locator).await {
        Ok(saved) => no_store(Json(serde_json::json!({
            "locator": serde_json::from_str::<serde_json::Value>(&saved.locator)
                .unwrap_or_default(),
            "updated_at": saved.updated_at,
        }))),
        Err(err) => problem(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_urls_escape_each_segment_and_keep_the_fragment() {
        let loan = LoanId(uuid::Uuid::nil());
        assert_eq!(
            content_url(loan, "OEBPS/第 1 章.xhtml#s2"),
            "/reader/loans/00000000-0000-0000-0000-000000000000/content/OEBPS/%E7%AC%AC%201%20%E7%AB%A0.xhtml#s2"
        );
        assert_eq!(
            read_url(loan, "OEBPS/a&b.xhtml#x", Some(0.5)),
            "/reader/loans/00000000-0000-0000-0000-000000000000/read?href=OEBPS%2Fa%26b.xhtml%23x&progression=0.5000"
        );
    }
}
