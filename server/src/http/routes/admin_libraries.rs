//! `/api/v1/admin/libraries`: the consortium's member libraries.

use axum::extract::State;
use axum::http::StatusCode;
use jieyue_protocol::problem::Problem;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{Library, LibraryCode, LibraryId, LibraryName, NewLibrary, Region, Validator};
use crate::http::AppState;
use crate::http::extract::{Json, Path, StaffAuth};
use crate::http::problem::ApiError;
use crate::service::libraries::{self, LibraryChanges};

/// A library as staff see it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LibraryView {
    /// Id.
    pub id: Uuid,
    /// Login code.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Region served.
    pub region: Option<String>,
    /// When it joined.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<&Library> for LibraryView {
    fn from(library: &Library) -> Self {
        Self {
            id: library.id.0,
            code: library.code.clone(),
            name: library.name.clone(),
            region: library.region.clone(),
            created_at: library.created_at,
        }
    }
}

/// A new library.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLibraryRequest {
    /// Login code: 2-32 lowercase letters, digits or `-`.
    pub code: String,
    /// Display name, e.g. `淳安县图书馆`.
    pub name: String,
    /// Region served.
    pub region: Option<String>,
}

/// Changes to a library; absent fields stay as they are, `"region": null` clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLibraryRequest {
    /// New display name.
    pub name: Option<String>,
    /// New region (`null` clears it).
    #[serde(default, deserialize_with = "crate::http::extract::double_option")]
    #[schema(value_type = Option<String>)]
    pub region: Option<Option<String>>,
}

/// Every library of the consortium.
#[utoipa::path(get, path = "/api/v1/admin/libraries", tag = "admin",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<LibraryView>), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    _auth: StaffAuth,
) -> Result<Json<Vec<LibraryView>>, ApiError> {
    let libraries = libraries::list(&state.ctx).await?;
    Ok(Json(libraries.iter().map(LibraryView::from).collect()))
}

/// Add a library (consortium admins only).
#[utoipa::path(post, path = "/api/v1/admin/libraries", tag = "admin",
    security(("bearer" = [])),
    request_body = CreateLibraryRequest,
    responses(
        (status = 201, body = LibraryView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Code taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    auth: StaffAuth,
    Json(request): Json<CreateLibraryRequest>,
) -> Result<(StatusCode, Json<LibraryView>), ApiError> {
    let mut v = Validator::new();
    let code = v.check(LibraryCode::parse(&request.code));
    let name = v.check(LibraryName::parse(&request.name));
    let region = v.check_opt(request.region.as_deref().map(Region::parse));
    let new = v.build(|| {
        Some(NewLibrary {
            code: code?,
            name: name?,
            region: region?,
        })
    })?;
    let library = libraries::create(&state.ctx, &auth.staff, new).await?;
    Ok((StatusCode::CREATED, Json(LibraryView::from(&library))))
}

/// One library.
#[utoipa::path(get, path = "/api/v1/admin/libraries/{id}", tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Library id")),
    responses((status = 200, body = LibraryView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    _auth: StaffAuth,
    Path(id): Path<Uuid>,
) -> Result<Json<LibraryView>, ApiError> {
    let library = libraries::get(&state.ctx, LibraryId(id)).await?;
    Ok(Json(LibraryView::from(&library)))
}

/// Edit a library (consortium admins, or that library's manager).
#[utoipa::path(patch, path = "/api/v1/admin/libraries/{id}", tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Library id")),
    request_body = UpdateLibraryRequest,
    responses(
        (status = 200, body = LibraryView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(state): State<AppState>,
    auth: StaffAuth,
    Path(id): Path<Uuid>,
    Json(request): Json<UpdateLibraryRequest>,
) -> Result<Json<LibraryView>, ApiError> {
    let mut v = Validator::new();
    let name = v.check_opt(request.name.as_deref().map(LibraryName::parse));
    let region = match request.region {
        None => Some(None),
        Some(None) => Some(Some(None)),
        Some(Some(region)) => v.check(Region::parse(&region)).map(|r| Some(Some(r))),
    };
    let changes = v.build(|| {
        Some(LibraryChanges {
            name: name?,
            region: region?,
        })
    })?;
    let library = libraries::update(&state.ctx, &auth.staff, LibraryId(id), changes).await?;
    Ok(Json(LibraryView::from(&library)))
}
