//! The console's catalogue pages: searching and browsing the catalogue, a title's page
//! (metadata, versions, stock at each library, lots), metadata edits, the cover,
//! hiding a title from readers, and uploading EPUB files. Each handler calls the
//! service functions the JSON API calls (`routes/catalog.rs`, `routes/admin_titles.rs`).

use askama::Template;
use axum::Router;
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use jieyue_protocol::problem::ProblemType;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use super::{file_size, path_id, see_other};
use crate::domain::{Lot, Title, TitleId};
use crate::http::AppState;
use crate::http::problem::ApiError;
use crate::http::problem::{ingest_error, multipart_error};
use crate::http::routes::catalog::{CatalogParams, parse_search};
use crate::http::web::session::{Console, ConsoleForm, ConsoleMultipart};
use crate::http::web::{Chrome, Lang, PageError};
use crate::service::Actor;
use crate::service::Error as ServiceError;
use crate::service::catalogue::{self, StaffTitle, TitleChanges};
use crate::service::ingest::{self, IngestStatus};
use crate::service::lots::{LibraryStock, TitleStock};

/// Titles on a page of search results.
const PAGE_SIZE: usize = 20;
/// Hidden titles listed under the first page of results.
const HIDDEN_LIMIT: u64 = 100;
/// Room for the form's other fields and boundaries around a cover image.
const FORM_SLACK: usize = 64 * 1024;

/// Routes of these pages (full paths under `/console/`); the upload route accepts up to
/// `max_upload_bytes`, the cover route as much as the API's cover route.
pub fn routes(max_upload_bytes: usize) -> Router<AppState> {
    let cover_limit = usize::try_from(crate::service::thumbnail::MAX_IMAGE_BYTES)
        .unwrap_or(usize::MAX)
        .saturating_add(FORM_SLACK)
        .min(max_upload_bytes);
    Router::new()
        .route("/console/titles", get(search_page))
        .route(
            "/console/titles/upload",
            get(move |console: Console| upload_page(console, max_upload_bytes))
                .post(move |state: State<AppState>, form: ConsoleMultipart| {
                    upload(state, form, max_upload_bytes)
                })
                .layer(DefaultBodyLimit::max(max_upload_bytes)),
        )
        .route("/console/titles/{id}", get(title_page))
        .route("/console/titles/{id}/edit", get(edit_page).post(edit))
        .route(
            "/console/titles/{id}/cover",
            post(replace_cover).layer(DefaultBodyLimit::max(cover_limit)),
        )
        .route("/console/titles/{id}/suppress", post(suppress))
}

/// A service error as a page.
fn page_error(lang: Lang) -> impl FnOnce(ServiceError) -> PageError {
    move |err| PageError::service(err, lang)
}

/// The notice a `?done=` shows after a form was posted.
pub(super) fn done_notice(c: &Chrome, done: Option<&str>) -> Option<String> {
    let key = match done? {
        "saved" => "catalogue-done-saved",
        "cover" => "catalogue-done-cover",
        "suppressed" => "catalogue-done-suppressed",
        "unsuppressed" => "catalogue-done-unsuppressed",
        "bought" => "copies-done-bought",
        "topped-up" => "copies-done-topped-up",
        "suspended" => "copies-done-suspended",
        "resumed" => "copies-done-resumed",
        "retired" => "copies-done-retired",
        "shared" => "copies-done-shared",
        _ => return None,
    };
    Some(c.t(key))
}

/// A title in a list.
struct TitleRow {
    id: String,
    title: String,
    subtitle: Option<String>,
    authors: String,
    language: String,
    thumbnail: Option<String>,
    suppressed: bool,
}

fn title_row(title: &Title) -> TitleRow {
    let m = &title.metadata;
    TitleRow {
        id: title.id.to_string(),
        title: m.title.clone(),
        subtitle: m.subtitle.clone(),
        authors: m
            .authors
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
            .join("、"),
        language: m.language.clone().unwrap_or_default(),
        thumbnail: public_image(title, true),
        suppressed: title.suppressed,
    }
}

/// The public address of a title's thumbnail or cover, if it has one readers can
/// fetch (a suppressed title's images are not served).
fn public_image(title: &Title, thumbnail: bool) -> Option<String> {
    if title.suppressed {
        return None;
    }
    let links = crate::http::routes::catalog::links(title);
    if thumbnail {
        links.thumbnail
    } else {
        links.cover
    }
}

/// Search parameters of the titles page.
#[derive(Debug, Default, Deserialize)]
pub struct SearchParams {
    q: Option<String>,
    language: Option<String>,
    page: Option<String>,
    done: Option<String>,
}

/// One page of results (the part htmx replaces as the librarian types).
struct Results {
    q: String,
    total: usize,
    page: usize,
    pages: usize,
    rows: Vec<TitleRow>,
    previous_href: Option<String>,
    next_href: Option<String>,
}

#[derive(Template)]
#[template(path = "console/catalogue/titles.html")]
struct TitlesPage {
    c: Chrome,
    r: Results,
    language: String,
    languages: Vec<(String, u64)>,
    hidden: Vec<TitleRow>,
    may_edit: bool,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "console/catalogue/results.html")]
struct ResultsFragment {
    c: Chrome,
    r: Results,
}

fn search_href(q: &str, language: &str, page: usize) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if !q.is_empty() {
        pairs.push(("q", q.to_owned()));
    }
    if !language.is_empty() {
        pairs.push(("language", language.to_owned()));
    }
    if page > 1 {
        pairs.push(("page", page.to_string()));
    }
    let query = serde_html_form::to_string(&pairs).unwrap_or_default();
    if query.is_empty() {
        "/console/titles".to_owned()
    } else {
        format!("/console/titles?{query}")
    }
}

/// `GET /console/titles`: search (Chinese-aware, as the public catalogue) and browse;
/// with htmx, only the results are sent back as the librarian types.
pub async fn search_page(
    State(state): State<AppState>,
    console: Console,
    Query(params): Query<SearchParams>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let q = params.q.unwrap_or_default().trim().to_owned();
    let language = params.language.unwrap_or_default().trim().to_owned();
    let page = params
        .page
        .and_then(|p| p.parse::<usize>().ok())
        .filter(|p| (1..=5_000).contains(p))
        .unwrap_or(1);
    let mut query = parse_search(CatalogParams {
        q: Some(q.clone()),
        language: (!language.is_empty()).then(|| language.clone()),
        limit: Some(PAGE_SIZE),
        ..CatalogParams::default()
    })
    .map_err(|invalid| PageError::service(invalid.into(), lang))?;
    query.offset = (page - 1) * PAGE_SIZE;
    let found = catalogue::staff_search(&state.ctx, &console.staff, query, HIDDEN_LIMIT)
        .await
        .map_err(page_error(lang))?;
    let total = found.results.total;
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let r = Results {
        total,
        page,
        pages,
        rows: found.results.titles.iter().map(title_row).collect(),
        previous_href: (page > 1).then(|| search_href(&q, &language, page - 1)),
        next_href: (page < pages).then(|| search_href(&q, &language, page + 1)),
        q,
    };
    let c = console.chrome("catalogue");
    if console.web.fragment {
        return console.web.render(&ResultsFragment { c, r });
    }
    let notice = done_notice(&c, params.done.as_deref());
    let mut languages = found.results.facets.language.clone();
    if !language.is_empty() && !languages.iter().any(|(value, _)| *value == language) {
        languages.push((language.clone(), 0));
    }
    console.web.render(&TitlesPage {
        may_edit: catalogue::may_edit_catalogue(&console.staff),
        language,
        languages,
        hidden: found.hidden.iter().map(title_row).collect(),
        notice,
        c,
        r,
    })
}

/// A lot in the title page's summary.
pub(super) struct LotLine {
    pub(super) owner: String,
    pub(super) copies: u32,
    pub(super) out: u32,
    pub(super) status_key: &'static str,
}

/// The name of a lot's owner: a library, or the consortium's shared pool.
pub(super) fn owner_name(c: &Chrome, stock: &TitleStock, lot: &Lot) -> String {
    match lot.owner_library_id {
        None => c.t("copies-pool"),
        Some(id) => stock
            .libraries
            .iter()
            .find(|l| l.id == id)
            .map_or_else(|| id.to_string(), |l| l.name.clone()),
    }
}

/// The message key of a lot's state.
pub(super) fn status_key(lot: &Lot) -> &'static str {
    match lot.status {
        crate::domain::LotStatus::Active => "copies-status-active",
        crate::domain::LotStatus::Suspended => "copies-status-suspended",
        crate::domain::LotStatus::Retired => "copies-status-retired",
    }
}

#[derive(Template)]
#[template(path = "console/catalogue/title.html")]
struct TitlePage {
    c: Chrome,
    t: Title,
    cover: Option<String>,
    layout_fixed: bool,
    /// The kind's name.
    kind: String,
    /// `1:23:45` (audio, video).
    duration: Option<String>,
    /// "20 items" (not EPUB).
    items: Option<String>,
    source_size: String,
    package_size: String,
    versions: Vec<crate::store::titles::VersionRecord>,
    stock: Vec<LibraryStock>,
    lots: Vec<LotLine>,
    may_edit: bool,
    notice: Option<String>,
}

/// `?done=` after a form.
#[derive(Debug, Default, Deserialize)]
pub struct DoneParams {
    /// What was just done (`saved`, `bought`, ...).
    pub done: Option<String>,
}

/// `GET /console/titles/{id}`: the title's metadata, versions, cover, whether readers
/// see it, and its stock at each library in the staff member's scope.
pub async fn title_page(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    Query(params): Query<DoneParams>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let id = TitleId(path_id(&id, "title", lang)?);
    let StaffTitle { versions, stock } = catalogue::staff_title(&state.ctx, &console.staff, id)
        .await
        .map_err(page_error(lang))?;
    let c = console.chrome("catalogue");
    let lots = stock
        .lots
        .iter()
        .map(|lot| LotLine {
            owner: owner_name(&c, &stock, lot),
            copies: lot.copies,
            out: lot.active_loans,
            status_key: status_key(lot),
        })
        .collect();
    let notice = done_notice(&c, params.done.as_deref());
    console.web.render(&TitlePage {
        cover: public_image(&stock.title, false),
        layout_fixed: stock.title.metadata.layout == crate::domain::Layout::Fixed,
        kind: c.kind_name(stock.title.media.kind),
        duration: stock
            .title
            .media
            .duration_ms
            .map(|ms| crate::http::web::duration_text(ms as f64 / 1000.0)),
        items: stock
            .title
            .media
            .items
            .map(|n| c.t1("catalogue-items", "count", n)),
        source_size: file_size(stock.title.source_size),
        package_size: file_size(stock.title.package_size),
        may_edit: catalogue::may_edit_catalogue(&console.staff),
        t: stock.title,
        versions,
        stock: stock.stock,
        lots,
        notice,
        c,
    })
}

#[derive(Template)]
#[template(path = "console/catalogue/edit.html")]
struct EditPage {
    c: Chrome,
    id: String,
    heading: String,
    title: String,
    subjects: String,
    description: String,
    errors: Vec<(String, String)>,
}

/// `GET /console/titles/{id}/edit`: the metadata form (for those who may edit the
/// catalogue).
pub async fn edit_page(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let id = TitleId(path_id(&id, "title", lang)?);
    if !catalogue::may_edit_catalogue(&console.staff) {
        return Err(PageError::service(
            ServiceError::Forbidden(
                "only consortium admins and library managers edit the catalogue",
            ),
            lang,
        ));
    }
    let title = catalogue::get_any(&state.ctx, id)
        .await
        .map_err(page_error(lang))?;
    let m = title.metadata;
    console.web.render(&EditPage {
        c: console.chrome("catalogue"),
        id: id.to_string(),
        heading: m.title.clone(),
        title: m.title,
        subjects: m.subjects.join("\n"),
        description: m.description.unwrap_or_default(),
        errors: Vec::new(),
    })
}

/// The metadata form.
#[derive(Debug, Deserialize)]
pub struct EditForm {
    title: String,
    #[serde(default)]
    subjects: String,
    #[serde(default)]
    description: String,
}

/// `POST /console/titles/{id}/edit`: the same edit as `PATCH /api/v1/admin/titles/{id}`
/// (title, subjects one per line, description); a refused edit shows the form again.
pub async fn edit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, form }: ConsoleForm<EditForm>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let id = TitleId(path_id(&id, "title", lang)?);
    let subjects = form.subjects.lines().map(str::to_owned).collect();
    let changes = match TitleChanges::parse(
        Some(form.title.clone()),
        Some(subjects),
        Some(Some(form.description.clone())),
        None,
    ) {
        Ok(changes) => changes,
        Err(invalid) => {
            let title = catalogue::get_any(&state.ctx, id)
                .await
                .map_err(page_error(lang))?;
            let c = console.chrome("catalogue");
            let errors = invalid
                .0
                .into_iter()
                .map(|e| (field_label(&c, e.field), e.message))
                .collect();
            let mut response = console.web.render(&EditPage {
                c,
                id: id.to_string(),
                heading: title.metadata.title,
                title: form.title,
                subjects: form.subjects,
                description: form.description,
                errors,
            })?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(response);
        }
    };
    catalogue::update(&state.ctx, &console.staff, id, changes)
        .await
        .map_err(page_error(lang))?;
    Ok(see_other(&format!("/console/titles/{id}?done=saved")))
}

/// A form field's label, for error lists.
fn field_label(c: &Chrome, field: &str) -> String {
    match field {
        "title" => c.t("catalogue-field-title"),
        "subjects" => c.t("catalogue-field-subjects"),
        "description" => c.t("catalogue-field-description"),
        other => other.to_owned(),
    }
}

/// Hide or show a title.
#[derive(Debug, Deserialize)]
pub struct SuppressForm {
    suppressed: bool,
}

/// `POST /console/titles/{id}/suppress`: hides the title from readers (catalogue, OPDS)
/// or shows it again, as `PATCH /api/v1/admin/titles/{id}` with `suppressed` does.
pub async fn suppress(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, form }: ConsoleForm<SuppressForm>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let id = TitleId(path_id(&id, "title", lang)?);
    let changes = TitleChanges::parse(None, None, None, Some(form.suppressed))
        .map_err(|invalid| PageError::service(invalid.into(), lang))?;
    catalogue::update(&state.ctx, &console.staff, id, changes)
        .await
        .map_err(page_error(lang))?;
    let done = if form.suppressed {
        "suppressed"
    } else {
        "unsuppressed"
    };
    Ok(see_other(&format!("/console/titles/{id}?done={done}")))
}

/// The image type of an uploaded cover: the part's type, or else its file name's.
fn cover_media_type(field: &Field<'_>) -> String {
    let declared = field
        .content_type()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if declared.starts_with("image/") {
        return declared;
    }
    let name = field.file_name().unwrap_or_default().to_ascii_lowercase();
    let by_name = match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        _ => return declared,
    };
    by_name.to_owned()
}

/// `POST /console/titles/{id}/cover` (multipart: `csrf` first, then `cover`): replaces
/// the cover and thumbnail, as `PUT /api/v1/admin/titles/{id}/cover` does.
pub async fn replace_cover(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleMultipart {
        console,
        mut multipart,
    }: ConsoleMultipart,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let id = TitleId(path_id(&id, "title", lang)?);
    let broken = |err: MultipartError| PageError::Service {
        error: multipart_error(err),
        lang,
    };
    let mut image = None;
    while let Some(field) = multipart.next_field().await.map_err(broken)? {
        if field.name() != Some("cover") {
            continue;
        }
        let media_type = cover_media_type(&field);
        let bytes = field.bytes().await.map_err(broken)?;
        if !bytes.is_empty() {
            image = Some((bytes, media_type));
        }
        break;
    }
    let Some((bytes, media_type)) = image else {
        return Err(PageError::service(
            crate::domain::FieldError::new("cover", "no image was chosen").into(),
            lang,
        ));
    };
    catalogue::replace_cover(&state.ctx, &console.staff, id, bytes.to_vec(), &media_type)
        .await
        .map_err(page_error(lang))?;
    Ok(see_other(&format!("/console/titles/{id}?done=cover")))
}

/// What became of one uploaded file.
struct UploadOutcome {
    file: String,
    /// Catalogued: the title's id and name, and the message key of what happened.
    title: Option<(String, String, &'static str)>,
    /// Refused: the localized reason, and the service's own words (English).
    refusal: Option<(String, Vec<String>)>,
}

#[derive(Template)]
#[template(path = "console/catalogue/upload.html")]
struct UploadPage {
    c: Chrome,
    outcomes: Option<Vec<UploadOutcome>>,
    max_megabytes: u64,
}

#[derive(Template)]
#[template(path = "console/catalogue/upload_results.html")]
struct UploadResults {
    c: Chrome,
    outcomes: Option<Vec<UploadOutcome>>,
}

fn may_upload(console: &Console) -> Result<(), PageError> {
    if catalogue::may_edit_catalogue(&console.staff) {
        Ok(())
    } else {
        Err(PageError::service(
            ServiceError::Forbidden("only consortium admins and library managers add titles"),
            console.web.lang,
        ))
    }
}

/// `GET /console/titles/upload`: the upload form.
pub async fn upload_page(console: Console, max_upload_bytes: usize) -> Result<Response, PageError> {
    may_upload(&console)?;
    console.web.render(&UploadPage {
        c: console.chrome("catalogue"),
        outcomes: None,
        max_megabytes: megabytes(max_upload_bytes),
    })
}

/// Whole megabytes in `bytes` (at least 1).
fn megabytes(bytes: usize) -> u64 {
    u64::try_from(bytes / (1 << 20)).unwrap_or(u64::MAX).max(1)
}

/// Why a file was refused, in the page's words (and the service's).
fn refusal(c: &Chrome, err: &ApiError) -> (String, Vec<String>) {
    let problem = err.to_problem();
    let slug = ProblemType::from_uri(&problem.kind).map_or("internal", |k| k.slug());
    let key = format!("problem-{slug}");
    let heading = if slug == "validation" {
        // The file is what was "entered": say so in the upload's own words.
        c.t("catalogue-upload-invalid")
    } else {
        let heading = c.t(&key);
        if heading == key {
            c.t("problem-internal")
        } else {
            heading
        }
    };
    let mut details: Vec<String> = problem.errors.into_iter().map(|e| e.message).collect();
    if details.is_empty() {
        details.extend(problem.detail);
    }
    (heading, details)
}

/// Saves one file field as the API does (streamed to a scratch file) and ingests it.
/// The error says whether the request body itself broke (then no later file can be
/// read).
async fn ingest_field(
    state: &AppState,
    console: &Console,
    field: &mut Field<'_>,
) -> Result<ingest::Ingested, (ApiError, bool)> {
    let path = ingest::upload_path(&state.ctx, &console.staff, field.file_name())
        .await
        .map_err(|e| (ApiError::from(e), false))?;
    let result = async {
        let mut file = tokio::fs::File::create(&path)
            .await
            .map_err(|e| (ServiceError::from(e).into(), false))?;
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|e| (multipart_error(e), true))?
        {
            file.write_all(&chunk)
                .await
                .map_err(|e| (ServiceError::from(e).into(), false))?;
        }
        file.flush()
            .await
            .map_err(|e| (ServiceError::from(e).into(), false))?;
        drop(file);
        ingest::ingest_file(&state.ctx, &path, Actor::Staff(console.staff.id))
            .await
            .map_err(|e| (ingest_error(e), false))
    }
    .await;
    ingest::discard_upload(&path).await;
    result
}

/// `POST /console/titles/upload` (multipart: `csrf` first, then any number of `file`
/// fields): each file is streamed to disk and ingested as `POST /api/v1/admin/titles`
/// ingests one; the page lists what became of each. With htmx only the list is sent.
pub async fn upload(
    State(state): State<AppState>,
    ConsoleMultipart {
        console,
        mut multipart,
    }: ConsoleMultipart,
    max_upload_bytes: usize,
) -> Result<Response, PageError> {
    may_upload(&console)?;
    let c = console.chrome("catalogue");
    let mut outcomes = Vec::new();
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(err) => {
                outcomes.push(UploadOutcome {
                    file: String::new(),
                    title: None,
                    refusal: Some(refusal(&c, &multipart_error(err))),
                });
                break;
            }
        };
        if field.name() != Some("file") {
            continue;
        }
        let file = field.file_name().unwrap_or_default().to_owned();
        if file.is_empty() {
            // A file input left empty.
            continue;
        }
        match ingest_field(&state, &console, &mut field).await {
            Ok(ingested) => outcomes.push(UploadOutcome {
                file,
                title: Some((
                    ingested.title.id.to_string(),
                    ingested.title.metadata.title.clone(),
                    match ingested.status {
                        IngestStatus::Created => "catalogue-upload-created",
                        IngestStatus::Updated => "catalogue-upload-updated",
                        IngestStatus::Unchanged => "catalogue-upload-unchanged",
                    },
                )),
                refusal: None,
            }),
            Err((err, body_broken)) => {
                outcomes.push(UploadOutcome {
                    file,
                    title: None,
                    refusal: Some(refusal(&c, &err)),
                });
                if body_broken {
                    break;
                }
            }
        }
    }
    if console.web.fragment {
        return console.web.render(&UploadResults {
            c,
            outcomes: Some(outcomes),
        });
    }
    console.web.render(&UploadPage {
        c,
        outcomes: Some(outcomes),
        max_megabytes: megabytes(max_upload_bytes),
    })
}
