//! The OPDS 2.0 catalog (`/opds`): a navigation root, publication feeds with paging,
//! facets and a search template, and one document per publication. Every feed is
//! checked against the official OPDS 2.0 JSON schemas in the tests.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use jieyue_protocol::problem::Problem;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;
use uuid::Uuid;

use super::catalog::{CatalogParams, parse_search};
use crate::domain::{PublicationKind, Title, TitleId};
use crate::http::AppState;
use crate::http::extract::{MaybePatron, Path, Query};
use crate::http::problem::ApiError;
use crate::service::catalogue;

const FEED: &str = "application/opds+json";
const PUBLICATION: &str = "application/opds-publication+json";
const PAGE_SIZE: usize = 20;

fn opds(value: Value, media_type: &'static str) -> Response {
    let mut response = axum::Json(value).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    response
}

fn link(rel: &str, href: String, media_type: &str) -> Value {
    json!({ "rel": rel, "href": href, "type": media_type })
}

/// OPDS wants `published` as a date or date-time: keep only values that are one.
fn opds_date(published: &str) -> Option<String> {
    let date = published.get(..10)?;
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    Some(date.to_owned())
}

/// OPDS link properties for availability at a library (OPDS 2.0 `availability`,
/// `copies`, `holds`).
fn availability_properties(a: &crate::service::holds::Availability) -> Value {
    let mut availability = json!({ "state": a.state });
    if let Some(object) = availability.as_object_mut() {
        if let Some(since) = a.since {
            object.insert(
                "since".into(),
                json!(since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            );
        }
        if let Some(until) = a.until {
            object.insert(
                "until".into(),
                json!(until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            );
        }
    }
    let mut holds = json!({ "total": a.holds_total });
    if let (Some(position), Some(object)) = (a.hold_position, holds.as_object_mut()) {
        object.insert("position".into(), json!(position));
    }
    json!({
        "availability": availability,
        "copies": { "total": a.copies_total, "available": a.copies_available },
        "holds": holds,
    })
}

/// The OPDS publication object of a title, with availability when a library is known.
pub(crate) fn publication(
    title: &Title,
    availability: Option<&crate::service::holds::Availability>,
) -> Value {
    let m = &title.metadata;
    let base = format!("/api/v1/catalog/{}", title.id);
    let kind = title.media.kind;
    let mut metadata = json!({
        "@type": match kind {
            PublicationKind::Audiobook => "http://schema.org/Audiobook",
            PublicationKind::Video => "http://schema.org/VideoObject",
            PublicationKind::Images => "http://schema.org/ImageGallery",
            PublicationKind::Epub | PublicationKind::PageImages => "http://schema.org/Book",
        },
        "identifier": format!("urn:uuid:{}", title.id),
        "title": m.title,
        "sortAs": m.sort_title,
        "modified": title.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "layout": m.layout.as_str(),
    });
    let object = metadata.as_object_mut();
    if let Some(object) = object {
        if let Some(subtitle) = &m.subtitle {
            object.insert("subtitle".into(), json!(subtitle));
        }
        let authors: Vec<Value> = m
            .authors
            .iter()
            .map(|a| json!({ "name": a.name }))
            .collect();
        if !authors.is_empty() {
            object.insert("author".into(), json!(authors));
        }
        if let Some(language) = &m.language {
            object.insert("language".into(), json!(language));
        }
        if let Some(publisher) = &m.publisher {
            object.insert("publisher".into(), json!([{ "name": publisher }]));
        }
        if let Some(published) = m.published.as_deref().and_then(opds_date) {
            object.insert("published".into(), json!(published));
        }
        if !m.subjects.is_empty() {
            object.insert(
                "subject".into(),
                json!(
                    m.subjects
                        .iter()
                        .map(|s| json!({ "name": s }))
                        .collect::<Vec<_>>()
                ),
            );
        }
        if let Some(description) = &m.description {
            object.insert("description".into(), json!(description));
        }
        if let Some(progression) = &m.page_progression {
            object.insert("readingProgression".into(), json!(progression));
        }
        if let Some(profile) = kind.conforms_to() {
            object.insert("conformsTo".into(), json!(profile));
        }
        if let Some(ms) = title.media.duration_ms {
            object.insert("duration".into(), json!(ms as f64 / 1000.0));
        }
        if let (Some(items), false) = (title.media.items, kind.is_timed()) {
            object.insert("numberOfPages".into(), json!(items));
        }
    }
    let mut images = Vec::new();
    if title.thumbnail_key.is_some() {
        images.push(json!({ "href": format!("{base}/thumbnail"), "type": "image/jpeg", "rel": "http://opds-spec.org/image/thumbnail" }));
    }
    if let Some((_, media_type)) = &title.cover {
        images.push(json!({ "href": format!("{base}/cover"), "type": media_type, "rel": "http://opds-spec.org/image" }));
    }
    let mut document = json!({
        "metadata": metadata,
        "links": [
            link("self", format!("/opds/publications/{}", title.id), PUBLICATION),
            {
                "rel": "http://opds-spec.org/acquisition/borrow",
                "href": "/api/v1/me/loans",
                "type": "application/json",
                "title": "Borrow",
                "properties": acquisition_properties(kind, availability)
            },
            link("alternate", base, "application/json"),
        ],
    });
    // `images` must hold at least one raster image when present.
    let raster = images.iter().any(|i| {
        i["type"].as_str().is_some_and(|t| {
            matches!(
                t,
                "image/jpeg"
                    | "image/png"
                    | "image/gif"
                    | "image/webp"
                    | "image/avif"
                    | "image/jxl"
            )
        })
    });
    if raster && let Some(object) = document.as_object_mut() {
        object.insert("images".into(), json!(images));
    }
    document
}

fn acquisition_properties(
    kind: PublicationKind,
    availability: Option<&crate::service::holds::Availability>,
) -> Value {
    let mut properties = json!({
        "indirectAcquisition": [{
            "type": "application/vnd.jieyue.licence+jws",
            "child": [{ "type": kind.package_media_type() }]
        }]
    });
    if let (Some(a), Some(object)) = (availability, properties.as_object_mut())
        && let Value::Object(extra) = availability_properties(a)
    {
        object.extend(extra);
    }
    properties
}

/// The navigation root of the catalog.
#[utoipa::path(get, path = "/opds", tag = "opds",
    responses((status = 200, description = "OPDS 2.0 navigation feed", content_type = "application/opds+json")))]
pub async fn root() -> Response {
    opds(
        json!({
            "metadata": { "title": "借阅 Jieyue" },
            "links": [
                link("self", "/opds".into(), FEED),
                link("start", "/opds".into(), FEED),
                { "rel": "search", "href": "/opds/search{?query}", "type": FEED, "templated": true },
            ],
            "navigation": [
                { "href": "/opds/publications?sort=newest", "title": "最新 · New", "type": FEED, "rel": "http://opds-spec.org/sort/new" },
                { "href": "/opds/publications?sort=title", "title": "书名 · By title", "type": FEED },
                { "href": "/opds/publications?language=zh", "title": "中文 · Chinese", "type": FEED },
            ],
        }),
        FEED,
    )
}

/// Feed parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FeedParams {
    /// Free text.
    pub query: Option<String>,
    /// Only this language.
    pub language: Option<String>,
    /// Only this subject.
    pub subject: Option<String>,
    /// Only this layout.
    pub layout: Option<String>,
    /// Only this kind (`epub`, `page_images`, `images`, `audiobook`, `video`).
    pub kind: Option<String>,
    /// `relevance`, `title` or `newest`.
    pub sort: Option<String>,
    /// Page number, from 1.
    pub page: Option<usize>,
    /// A library code: show availability there (a logged-in reader gets their own).
    pub library: Option<String>,
}

fn feed_href(params: &FeedParams, page: usize, change: Option<(&str, &str)>) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut put = |key: &str, value: Option<&String>| {
        let replaced = change.filter(|(k, _)| *k == key).map(|(_, v)| v.to_owned());
        if let Some(value) = replaced.or_else(|| value.cloned()) {
            pairs.push((key.to_owned(), value));
        }
    };
    put("query", params.query.as_ref());
    put("language", params.language.as_ref());
    put("subject", params.subject.as_ref());
    put("layout", params.layout.as_ref());
    put("kind", params.kind.as_ref());
    put("sort", params.sort.as_ref());
    put("library", params.library.as_ref());
    if page > 1 {
        pairs.push(("page".into(), page.to_string()));
    }
    let encoded: Vec<String> = pairs
        .into_iter()
        .map(|(k, v)| format!("{k}={}", percent_encode(&v)))
        .collect();
    if encoded.is_empty() {
        "/opds/publications".into()
    } else {
        format!("/opds/publications?{}", encoded.join("&"))
    }
}

/// RFC 3986's unreserved characters stay as they are; everything else is escaped.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn percent_encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, QUERY_VALUE).to_string()
}

async fn feed(
    state: &AppState,
    patron: Option<crate::domain::Patron>,
    params: FeedParams,
) -> Result<Response, ApiError> {
    let library =
        super::catalog::availability_library(state, &patron, params.library.as_deref()).await?;
    let page = params.page.unwrap_or(1).max(1);
    let query = parse_search(CatalogParams {
        q: params.query.clone(),
        language: params.language.clone(),
        subject: params.subject.clone(),
        layout: params.layout.clone(),
        kind: params.kind.clone(),
        sort: params.sort.clone(),
        cursor: None,
        limit: Some(PAGE_SIZE),
    })?;
    let query = crate::search::SearchQuery {
        offset: (page - 1).saturating_mul(PAGE_SIZE).min(100_000),
        ..query
    };
    let results = catalogue::search(&state.ctx, query).await?;
    let mut links = vec![
        link("self", feed_href(&params, page, None), FEED),
        link("first", feed_href(&params, 1, None), FEED),
        json!({ "rel": "search", "href": "/opds/search{?query}", "type": FEED, "templated": true }),
        link("start", "/opds".into(), FEED),
    ];
    if page > 1 {
        links.push(link("previous", feed_href(&params, page - 1, None), FEED));
    }
    if page * PAGE_SIZE < results.total {
        links.push(link("next", feed_href(&params, page + 1, None), FEED));
    }
    let facet_group = |title: &str, key: &str, counts: &[(String, u64)]| -> Option<Value> {
        let links: Vec<Value> = counts
            .iter()
            .map(|(value, count)| {
                json!({
                    "href": feed_href(&params, 1, Some((key, value))),
                    "type": FEED,
                    "title": value,
                    "properties": { "numberOfItems": count },
                })
            })
            .collect();
        (!links.is_empty()).then(|| json!({ "metadata": { "title": title }, "links": links }))
    };
    let facets: Vec<Value> = [
        facet_group("Language", "language", &results.facets.language),
        facet_group("Subject", "subject", &results.facets.subject),
        facet_group("Layout", "layout", &results.facets.layout),
        facet_group("Kind", "kind", &results.facets.kind),
    ]
    .into_iter()
    .flatten()
    .collect();

    let mut feed = json!({
        "metadata": {
            "title": params.query.as_deref().map_or("借阅 Jieyue".to_owned(), |q| format!("“{q}”")),
            "numberOfItems": results.total,
            "itemsPerPage": PAGE_SIZE,
            "currentPage": page,
        },
        "links": links,
    });
    if let Some(object) = feed.as_object_mut() {
        if results.titles.is_empty() {
            // A feed must not carry an empty publications array.
            object.insert(
                "navigation".into(),
                json!([{ "href": "/opds", "title": "No titles found: back to the catalog", "type": FEED }]),
            );
        } else {
            let mut publications = Vec::with_capacity(results.titles.len());
            for title in &results.titles {
                let availability = match library {
                    Some(library) => Some(
                        crate::service::holds::availability(
                            &state.ctx,
                            title.id,
                            library,
                            patron.as_ref().map(|p| p.id),
                        )
                        .await?,
                    ),
                    None => None,
                };
                publications.push(publication(title, availability.as_ref()));
            }
            object.insert("publications".into(), json!(publications));
        }
        if !facets.is_empty() {
            object.insert("facets".into(), json!(facets));
        }
    }
    Ok(opds(feed, FEED))
}

/// Publications, newest first or as sorted, with facets and paging.
#[utoipa::path(get, path = "/opds/publications", tag = "opds",
    params(FeedParams),
    responses((status = 200, description = "OPDS 2.0 publications feed", content_type = "application/opds+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn publications(
    State(state): State<AppState>,
    MaybePatron(patron): MaybePatron,
    Query(params): Query<FeedParams>,
) -> Result<Response, ApiError> {
    feed(&state, patron, params).await
}

/// Search (the target of the root's search template).
#[utoipa::path(get, path = "/opds/search", tag = "opds",
    params(FeedParams),
    responses((status = 200, description = "OPDS 2.0 publications feed", content_type = "application/opds+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn search(
    State(state): State<AppState>,
    MaybePatron(patron): MaybePatron,
    Query(params): Query<FeedParams>,
) -> Result<Response, ApiError> {
    feed(&state, patron, params).await
}

/// One publication.
#[utoipa::path(get, path = "/opds/publications/{id}", tag = "opds",
    params(("id" = Uuid, Path, description = "Title id")),
    responses((status = 200, description = "OPDS 2.0 publication", content_type = "application/opds-publication+json"),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn publication_document(
    State(state): State<AppState>,
    MaybePatron(patron): MaybePatron,
    Path(id): Path<Uuid>,
    Query(params): Query<super::catalog::DetailsParams>,
) -> Result<Response, ApiError> {
    let title = catalogue::get_public(&state.ctx, TitleId(id)).await?;
    let library =
        super::catalog::availability_library(&state, &patron, params.library.as_deref()).await?;
    let availability = match library {
        Some(library) => Some(
            crate::service::holds::availability(
                &state.ctx,
                title.id,
                library,
                patron.as_ref().map(|p| p.id),
            )
            .await?,
        ),
        None => None,
    };
    Ok(opds(
        publication(&title, availability.as_ref()),
        PUBLICATION,
    ))
}
