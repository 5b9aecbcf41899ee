//! The public catalogue: search, details, covers, and the encrypted package download
//! (HTTP Range, ETag, `Cache-Control`: packages are the same for every reader, so a CDN
//! may cache them).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jieyue_protocol::api::{
    CatalogFacets, CatalogPage, Contributor, FacetCount, IdentifierValue, TitleDetails, TitleLinks,
    TitleSummary,
};
use jieyue_protocol::encoding::{b64, unb64};
use jieyue_protocol::problem::{Problem, ProblemType};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::domain::{FieldError, Invalid, Title, TitleId, Validator};
use crate::http::AppState;
use crate::http::extract::{Json, MaybePatron, Path, Query};
use crate::http::problem::ApiError;
use crate::search::{SearchQuery, Sort};
use crate::service::catalogue;

/// Links of a title.
pub(crate) fn links(title: &Title) -> TitleLinks {
    let base = format!("/api/v1/catalog/{}", title.id);
    TitleLinks {
        cover: title.cover.as_ref().map(|_| format!("{base}/cover")),
        thumbnail: title
            .thumbnail_key
            .as_ref()
            .map(|_| format!("{base}/thumbnail")),
        package: format!("{base}/package"),
        self_: base,
    }
}

pub(crate) fn summary(title: &Title) -> TitleSummary {
    let m = &title.metadata;
    TitleSummary {
        id: title.id.0,
        title: m.title.clone(),
        subtitle: m.subtitle.clone(),
        authors: m
            .authors
            .iter()
            .map(|a| Contributor {
                name: a.name.clone(),
                role: a.role.clone(),
            })
            .collect(),
        language: m.language.clone(),
        layout: m.layout.as_str().to_owned(),
        kind: title.media.kind.as_str().to_owned(),
        duration: title.media.duration_ms.map(|ms| (ms + 500) / 1000),
        items: title.media.items,
        links: links(title),
    }
}

pub(crate) fn details(title: &Title) -> TitleDetails {
    let m = &title.metadata;
    TitleDetails {
        summary: summary(title),
        publisher: m.publisher.clone(),
        published: m.published.clone(),
        subjects: m.subjects.clone(),
        description: m.description.clone(),
        identifiers: m
            .identifiers
            .iter()
            .map(|i| IdentifierValue {
                scheme: i.scheme.clone(),
                value: i.value.clone(),
            })
            .collect(),
        page_progression: m.page_progression.clone(),
        package_size: title.package_size,
        package_sha256: title.package_sha256.clone(),
        updated_at: title.updated_at,
        availability: None,
    }
}

pub(crate) fn availability_view(
    a: &crate::service::holds::Availability,
) -> jieyue_protocol::api::Availability {
    jieyue_protocol::api::Availability {
        state: a.state.to_owned(),
        since: a.since,
        until: a.until,
        copies_total: a.copies_total,
        copies_available: a.copies_available,
        holds_total: a.holds_total,
        hold_position: a.hold_position,
    }
}

/// The library availability is reported for: the logged-in reader's, or `?library=`.
pub(crate) async fn availability_library(
    state: &AppState,
    patron: &Option<crate::domain::Patron>,
    code: Option<&str>,
) -> Result<Option<crate::domain::LibraryId>, ApiError> {
    if let Some(patron) = patron {
        return Ok(Some(patron.library_id));
    }
    let Some(code) = code else { return Ok(None) };
    let code = crate::domain::LibraryCode::parse(code).map_err(Invalid::from)?;
    Ok(crate::service::libraries::find_by_code(&state.ctx, &code)
        .await?
        .map(|l| l.id))
}

/// Catalogue search parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CatalogParams {
    /// Words to look for in titles, authors, subjects, publisher and description.
    /// Simplified and traditional Chinese match each other; Latin is case-insensitive.
    pub q: Option<String>,
    /// Only this language (primary subtag: `zh`, `en`).
    pub language: Option<String>,
    /// Only this subject.
    pub subject: Option<String>,
    /// Only `reflowable` or `fixed` layout.
    pub layout: Option<String>,
    /// Only this kind: `epub`, `page_images`, `images`, `audiobook` or `video`.
    pub kind: Option<String>,
    /// `relevance` (default), `title` or `newest`.
    pub sort: Option<String>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Page size, 1-100 (default 20).
    pub limit: Option<usize>,
}

/// A parsed search and the page it asks for.
pub(crate) fn parse_search(params: CatalogParams) -> Result<SearchQuery, Invalid> {
    let mut v = Validator::new();
    let sort = v.check(match params.sort.as_deref().unwrap_or("relevance") {
        "relevance" => Ok(Sort::Relevance),
        "title" => Ok(Sort::Title),
        "newest" => Ok(Sort::Newest),
        _ => Err(FieldError::new(
            "sort",
            "must be relevance, title or newest",
        )),
    });
    let limit = v.check(match params.limit.unwrap_or(20) {
        n @ 1..=100 => Ok(n),
        _ => Err(FieldError::new("limit", "must be between 1 and 100")),
    });
    let offset = v.check(match params.cursor.as_deref() {
        None => Ok(0),
        Some(cursor) => decode_cursor(cursor)
            .ok_or_else(|| FieldError::new("cursor", "is not a cursor from a previous page")),
    });
    let text = params.q.unwrap_or_default();
    if text.chars().count() > 200 {
        v.check::<()>(Err(FieldError::new("q", "must be at most 200 characters")));
    }
    v.build(|| {
        Some(SearchQuery {
            text,
            language: params.language,
            subject: params.subject,
            layout: params.layout,
            kind: params.kind,
            sort: sort?,
            offset: offset?,
            limit: limit?,
        })
    })
}

fn encode_cursor(offset: usize) -> String {
    b64(format!("o{offset}"))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let text = String::from_utf8(unb64(cursor)?).ok()?;
    text.strip_prefix('o')?
        .parse()
        .ok()
        .filter(|o| *o <= 100_000)
}

pub(crate) fn facets(facets: &crate::search::Facets) -> CatalogFacets {
    let convert = |list: &Vec<(String, u64)>| {
        list.iter()
            .map(|(value, count)| FacetCount {
                value: value.clone(),
                count: *count,
            })
            .collect()
    };
    CatalogFacets {
        language: convert(&facets.language),
        subject: convert(&facets.subject),
        layout: convert(&facets.layout),
        kind: convert(&facets.kind),
    }
}

/// Search or browse the catalogue (no login needed).
#[utoipa::path(get, path = "/api/v1/catalog", tag = "catalogue",
    params(CatalogParams),
    responses(
        (status = 200, body = CatalogPage),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn search(
    State(state): State<AppState>,
    Query(params): Query<CatalogParams>,
) -> Result<Json<CatalogPage>, ApiError> {
    let query = parse_search(params)?;
    let (offset, limit) = (query.offset, query.limit);
    let results = catalogue::search(&state.ctx, query).await?;
    let next = offset + limit;
    Ok(Json(CatalogPage {
        items: results.titles.iter().map(summary).collect(),
        total: results.total as u64,
        facets: facets(&results.facets),
        next_cursor: (next < results.total).then(|| encode_cursor(next)),
    }))
}

/// Details parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DetailsParams {
    /// A library code: report availability there (a logged-in reader gets their own).
    pub library: Option<String>,
}

/// A title's details, with availability at the reader's library (log in as a reader,
/// or pass `?library=`).
#[utoipa::path(get, path = "/api/v1/catalog/{id}", tag = "catalogue",
    params(("id" = Uuid, Path, description = "Title id"), DetailsParams),
    responses((status = 200, body = TitleDetails), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    MaybePatron(patron): MaybePatron,
    Path(id): Path<Uuid>,
    Query(params): Query<DetailsParams>,
) -> Result<Json<TitleDetails>, ApiError> {
    let title = catalogue::get_public(&state.ctx, TitleId(id)).await?;
    let mut body = details(&title);
    if let Some(library) = availability_library(&state, &patron, params.library.as_deref()).await? {
        let a = crate::service::holds::availability(
            &state.ctx,
            title.id,
            library,
            patron.as_ref().map(|p| p.id),
        )
        .await?;
        body.availability = Some(availability_view(&a));
    }
    Ok(Json(body))
}

fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

async fn image(
    state: &AppState,
    headers: &HeaderMap,
    id: Uuid,
    thumbnail: bool,
) -> Result<Response, ApiError> {
    let title = catalogue::get_public(&state.ctx, TitleId(id)).await?;
    let (key, media_type) = if thumbnail {
        (title.thumbnail_key.clone(), "image/jpeg".to_owned())
    } else {
        match &title.cover {
            Some((key, media)) => (Some(key.clone()), media.clone()),
            None => (None, String::new()),
        }
    };
    let key = key.ok_or(crate::service::Error::NotFound("cover"))?;
    // Keys change with each version, so the key is a fine validator.
    let etag = format!(
        "\"{}\"",
        b64(ring::digest::digest(&ring::digest::SHA256, key.as_bytes()).as_ref())
    );
    let cache = HeaderValue::from_static("public, max-age=86400");
    let etag_value = HeaderValue::from_str(&etag).ok();
    if etag_matches(headers, &etag) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        response.headers_mut().insert(header::CACHE_CONTROL, cache);
        if let Some(value) = etag_value {
            response.headers_mut().insert(header::ETAG, value);
        }
        return Ok(response);
    }
    let bytes = state
        .ctx
        .catalogue
        .blobs
        .get_bytes(&key)
        .await
        .map_err(crate::service::Error::from)?;
    let mut response = Response::new(Body::from(bytes));
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&media_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CACHE_CONTROL, cache);
    if let Some(value) = etag_value {
        h.insert(header::ETAG, value);
    }
    Ok(response)
}

/// The title's cover image.
#[utoipa::path(get, path = "/api/v1/catalog/{id}/cover", tag = "catalogue",
    params(("id" = Uuid, Path, description = "Title id")),
    responses((status = 200, description = "The image"), (status = 304, description = "Not modified"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn cover(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    image(&state, &headers, id, false).await
}

/// A small JPEG of the title's cover.
#[utoipa::path(get, path = "/api/v1/catalog/{id}/thumbnail", tag = "catalogue",
    params(("id" = Uuid, Path, description = "Title id")),
    responses((status = 200, description = "JPEG thumbnail"), (status = 304, description = "Not modified"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn thumbnail(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    image(&state, &headers, id, true).await
}

/// What a `Range` header asks of an object of `size` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RangeRequest {
    /// No (usable) range: the whole object.
    Full,
    /// One satisfiable range, end exclusive.
    Partial(std::ops::Range<u64>),
    /// A syntactically valid range outside the object.
    Unsatisfiable,
}

/// What a `Range` header asks (RFC 9110 §14.1.2, parsed by `http-range-header`). We
/// serve one range. Several ranges, overlapping ones, anything unparsable and a suffix
/// longer than the object get the whole object (a server may always ignore `Range`);
/// a range that starts past the end, or ends before it starts, is unsatisfiable.
pub(crate) fn parse_range(header: Option<&str>, size: u64) -> RangeRequest {
    use http_range_header::RangeUnsatisfiableError as Refused;
    let Some(parsed) = header.and_then(|h| http_range_header::parse_range_header(h).ok()) else {
        return RangeRequest::Full;
    };
    match parsed.validate(size).as_deref() {
        Ok([one]) => RangeRequest::Partial(*one.start()..one.end().saturating_add(1)),
        Ok(_) | Err(Refused::FileSuffixOutOfBounds | Refused::OverlappingRanges) => {
            RangeRequest::Full
        }
        Err(_) => RangeRequest::Unsatisfiable,
    }
}

/// The encrypted package. Supports `Range` (one range), `If-None-Match` and `If-Range`;
/// the ETag is the package's SHA-256.
#[utoipa::path(get, path = "/api/v1/catalog/{id}/package", tag = "catalogue",
    params(("id" = Uuid, Path, description = "Title id")),
    responses(
        (status = 200, description = "The whole package", content_type = "application/epub+zip"),
        (status = 206, description = "The requested range", content_type = "application/epub+zip"),
        (status = 304, description = "Not modified"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 416, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn package(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let title = catalogue::get_public(&state.ctx, TitleId(id)).await?;
    serve_object(
        &state.ctx,
        &headers,
        Stored {
            key: &title.package_key,
            size: title.package_size,
            sha256: &title.package_sha256,
            content_type: "application/epub+zip",
            cache_control: "public, max-age=3600",
        },
    )
    .await
}

/// A stored object to serve: where it is, its size and digest (the ETag), and headers.
pub(crate) struct Stored<'a> {
    /// Object key.
    pub key: &'a str,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 hex (the ETag).
    pub sha256: &'a str,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// `Cache-Control`.
    pub cache_control: &'static str,
}

/// Serves a stored object with `Range` (one range), `If-None-Match` and `If-Range`.
pub(crate) async fn serve_object(
    ctx: &crate::service::Ctx,
    headers: &HeaderMap,
    object: Stored<'_>,
) -> Result<Response, ApiError> {
    let etag = format!("\"{}\"", object.sha256);
    let size = object.size;
    let common = |h: &mut HeaderMap| {
        if let Ok(value) = HeaderValue::from_str(&etag) {
            h.insert(header::ETAG, value);
        }
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(object.cache_control),
        );
        h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    };
    if etag_matches(headers, &etag) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        common(response.headers_mut());
        return Ok(response);
    }
    let range_header = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    // If-Range: only honour the range if the client's copy is this version.
    let if_range_ok = headers
        .get(header::IF_RANGE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.trim() == etag);
    let request = if if_range_ok {
        parse_range(range_header, size)
    } else {
        RangeRequest::Full
    };
    let range = match request {
        RangeRequest::Unsatisfiable => {
            let mut response = ApiError::new(
                ProblemType::MalformedRequest,
                StatusCode::RANGE_NOT_SATISFIABLE,
                format!("the object has {size} bytes"),
            )
            .into_response();
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            return Ok(response);
        }
        RangeRequest::Partial(range) => Some(range),
        RangeRequest::Full => None,
    };
    let stream = ctx
        .catalogue
        .blobs
        .get_stream(object.key, range.clone())
        .await
        .map_err(crate::service::Error::from)?;
    let served = stream.range.clone();
    let mut response = Response::new(Body::from_stream(stream.body));
    let h = response.headers_mut();
    common(h);
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(object.content_type),
    );
    if let Ok(value) = HeaderValue::from_str(&(served.end - served.start).to_string()) {
        h.insert(header::CONTENT_LENGTH, value);
    }
    if range.is_some() {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        if let Ok(value) = HeaderValue::from_str(&format!(
            "bytes {}-{}/{}",
            served.start,
            served.end - 1,
            stream.size
        )) {
            response.headers_mut().insert(header::CONTENT_RANGE, value);
        }
    }
    Ok(response.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_rfc_9110() {
        use RangeRequest::*;
        assert_eq!(parse_range(None, 100), Full);
        assert_eq!(parse_range(Some("bytes=0-9"), 100), Partial(0..10));
        assert_eq!(parse_range(Some("bytes=90-"), 100), Partial(90..100));
        assert_eq!(parse_range(Some("bytes=-10"), 100), Partial(90..100));
        assert_eq!(parse_range(Some("bytes=-500"), 100), Full);
        assert_eq!(parse_range(Some("bytes=50-500"), 100), Partial(50..100));
        assert_eq!(parse_range(Some("bytes=100-"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 100), Full);
        assert_eq!(parse_range(Some("bytes=0-1,5-6"), 100), Full);
        assert_eq!(parse_range(Some("bytes=0-10,5-6"), 100), Full);
        // Reversed (last before first): refused, as http-range-header does.
        assert_eq!(parse_range(Some("bytes=9-0"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("items=0-1"), 100), Full);
        assert_eq!(parse_range(Some("bytes=x-1"), 100), Full);
    }

    #[test]
    fn cursors_round_trip_and_refuse_junk() {
        assert_eq!(decode_cursor(&encode_cursor(40)), Some(40));
        assert_eq!(decode_cursor("zzz"), None);
        assert_eq!(decode_cursor(&b64("o999999999")), None);
    }
}
