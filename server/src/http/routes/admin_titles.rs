//! `/api/v1/admin/titles`: uploading EPUBs, editing metadata, suppressing titles.
//! Consortium admins and library managers may change the catalogue; every staff member
//! may look.

use axum::extract::State;
use axum::http::StatusCode;
use jieyue_protocol::api::TitleDetails;
use jieyue_protocol::problem::Problem;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use utoipa::ToSchema;
use uuid::Uuid;

use super::catalog::details;
use crate::domain::{FieldError, Invalid, TitleId};
use crate::http::AppState;
use crate::http::extract::{Json, Multipart, Path, RawBody, StaffAuth};
use crate::http::problem::ApiError;
use crate::http::problem::{ingest_error, multipart_error};
use crate::service::Actor;
use crate::service::Error as ServiceError;
use crate::service::catalogue::{self, TitleChanges};
use crate::service::ingest::{self, IngestStatus};

/// A title as staff see it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AdminTitle {
    /// The public details.
    #[serde(flatten)]
    pub details: TitleDetails,
    /// Hidden from the public catalogue.
    pub suppressed: bool,
    /// Ingest version.
    pub version: i32,
    /// The EPUB's unique identifier.
    pub identifier: String,
}

/// The result of an upload.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UploadResult {
    /// `created`, `updated` (a new version) or `unchanged` (the same file again).
    pub status: String,
    /// The title.
    pub title: AdminTitle,
}

fn admin_title(title: &crate::domain::Title) -> AdminTitle {
    AdminTitle {
        details: details(title),
        suppressed: title.suppressed,
        version: title.version,
        identifier: title.metadata.identifier.clone(),
    }
}

/// Staff edits; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTitleRequest {
    /// New title.
    pub title: Option<String>,
    /// New subjects (replaces the list).
    pub subjects: Option<Vec<String>>,
    /// New description (`null` clears it).
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// `true` hides the title from the public catalogue and OPDS.
    pub suppressed: Option<bool>,
}

/// Upload one EPUB (multipart field `file`). The same file again is `unchanged`; a new
/// file of the same book (same EPUB identifier) becomes its new version.
#[utoipa::path(post, path = "/api/v1/admin/titles", tag = "admin",
    security(("bearer" = [])),
    request_body(content_type = "multipart/form-data", description = "A field `file` holding the EPUB"),
    responses(
        (status = 201, description = "Created", body = UploadResult),
        (status = 200, description = "Updated or unchanged", body = UploadResult),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: another file of the same book was ingested at the same moment", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation`: not a valid EPUB, or refused from its archive (a zip bomb, an entry named twice, an oversized OPF); `errors[0].message` names the entry. `already-protected`: a Jieyue package, an LCP or ADEPT book", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`unavailable`: the object storage failed or refused", body = Problem, content_type = "application/problem+json"),
        (status = 507, description = "`insufficient-storage`: the server's disk is full; nothing was changed", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn upload(
    State(state): State<AppState>,
    auth: StaffAuth,
    Multipart(mut multipart): Multipart,
) -> Result<(StatusCode, Json<UploadResult>), ApiError> {
    let mut path = ingest::upload_path(&state.ctx, &auth.staff, None).await?;
    let mut saved = false;
    let result = async {
        while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
            if field.name() != Some("file") {
                continue;
            }
            // An MP3, an MP4 or a ZIP of page images keeps its extension: ingest tells
            // the kinds apart by it (and by the bytes).
            path = path.with_file_name(ingest::upload_name(field.file_name()));
            let mut file = tokio::fs::File::create(&path)
                .await
                .map_err(ServiceError::from)?;
            while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                file.write_all(&chunk).await.map_err(ServiceError::from)?;
            }
            file.flush().await.map_err(ServiceError::from)?;
            saved = true;
            break;
        }
        if !saved {
            return Err(Invalid::from(FieldError::new("file", "no file was uploaded")).into());
        }
        ingest::ingest_file(&state.ctx, &path, Actor::Staff(auth.staff.id))
            .await
            .map_err(ingest_error)
    }
    .await;
    ingest::discard_upload(&path).await;
    let ingested = result?;
    let (status, code) = match ingested.status {
        IngestStatus::Created => ("created", StatusCode::CREATED),
        IngestStatus::Updated => ("updated", StatusCode::OK),
        IngestStatus::Unchanged => ("unchanged", StatusCode::OK),
    };
    Ok((
        code,
        Json(UploadResult {
            status: status.to_owned(),
            title: admin_title(&ingested.title),
        }),
    ))
}

/// One title, suppressed or not.
#[utoipa::path(get, path = "/api/v1/admin/titles/{id}", tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Title id")),
    responses((status = 200, body = AdminTitle), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    _auth: StaffAuth,
    Path(id): Path<Uuid>,
) -> Result<Json<AdminTitle>, ApiError> {
    let title = catalogue::get_any(&state.ctx, TitleId(id)).await?;
    Ok(Json(admin_title(&title)))
}

/// Edit a title's metadata, or suppress it from the public catalogue.
#[utoipa::path(patch, path = "/api/v1/admin/titles/{id}", tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Title id")),
    request_body = UpdateTitleRequest,
    responses(
        (status = 200, body = AdminTitle),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(state): State<AppState>,
    auth: StaffAuth,
    Path(id): Path<Uuid>,
    Json(request): Json<UpdateTitleRequest>,
) -> Result<Json<AdminTitle>, ApiError> {
    let changes = TitleChanges::parse(
        request.title,
        request.subjects,
        request.description,
        request.suppressed,
    )?;
    let title = catalogue::update(&state.ctx, &auth.staff, TitleId(id), changes).await?;
    Ok(Json(admin_title(&title)))
}

/// Replace the cover with the image in the body (`Content-Type` image/jpeg, png, gif or
/// webp); a thumbnail is made from it.
#[utoipa::path(put, path = "/api/v1/admin/titles/{id}/cover", tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Title id")),
    request_body(content_type = "image/jpeg", description = "The new cover image"),
    responses(
        (status = 200, body = AdminTitle),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation`: not a JPEG, PNG, GIF or WebP image, or larger than 12,000 pixels a side or 48 megapixels", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`unavailable`: the object storage failed or refused", body = Problem, content_type = "application/problem+json"),
        (status = 507, description = "`insufficient-storage`: the server's disk is full; nothing was changed", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn replace_cover(
    State(state): State<AppState>,
    auth: StaffAuth,
    Path(id): Path<Uuid>,
    headers: axum::http::HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<AdminTitle>, ApiError> {
    let media_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let title = catalogue::replace_cover(
        &state.ctx,
        &auth.staff,
        TitleId(id),
        body.to_vec(),
        &media_type,
    )
    .await?;
    Ok(Json(admin_title(&title)))
}
