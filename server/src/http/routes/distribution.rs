//! Distribution: `/api/v1/admin/distribution/...` for consortium admins (members,
//! hubs, collections, versions, installed collections, usage), and `/api/v1/hub/...`,
//! the peer API a hub offers its enrolled members (enrolment, manifests, envelopes,
//! objects with `Range`, usage reports).

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use jieyue_protocol::distribution::CollectionRights;
use jieyue_protocol::problem::Problem;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::domain::TitleId;
use crate::domain::distribution::{Peer, PeerRole};
use crate::http::AppState;
use crate::http::extract::{Json, Path, Query, StaffAuth};
use crate::http::problem::ApiError;
use crate::http::routes::catalog::{Stored, serve_object};
use crate::service::distribution::{
    self as service, By, NETWORK_MANIFEST_DAYS, NewCollection, usage,
};
use crate::service::{Error as ServiceError, distribution::EnrolmentAnswer};
use crate::store::distribution::{Installed, StoredVersion};

/// A hub's member or a member's hub.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PeerView {
    /// Its server id.
    pub id: Uuid,
    /// `member` or `hub`.
    pub role: String,
    /// Name.
    pub name: String,
    /// Province or region.
    pub region: Option<String>,
    /// `invited`, `active` or `suspended`.
    pub status: String,
    /// A hub's address.
    pub base_url: Option<String>,
    /// Ids of its pinned identity keys.
    pub key_ids: Vec<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Enrolled.
    pub enrolled_at: Option<DateTime<Utc>>,
}

impl From<&Peer> for PeerView {
    fn from(p: &Peer) -> Self {
        Self {
            id: p.id,
            role: p.role.as_str().to_owned(),
            name: p.name.clone(),
            region: p.region.clone(),
            status: p.status.as_str().to_owned(),
            base_url: p.base_url.clone(),
            key_ids: p
                .identity_keys
                .keys
                .iter()
                .map(|k| k.key_id().as_str().to_owned())
                .collect(),
            created_at: p.created_at,
            enrolled_at: p.enrolled_at,
        }
    }
}

/// A member to invite.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteMemberRequest {
    /// Its name (`淳安县图书馆`).
    pub name: String,
    /// Its province or region, for reports (`浙江省`).
    pub region: Option<String>,
}

/// An invited member and its one-time enrolment code (shown only here).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InvitationView {
    /// The member.
    pub member: PeerView,
    /// What the member's admin gives `jieyue peer enrol` (or the console).
    pub code: String,
}

/// Every member of this hub.
#[utoipa::path(get, path = "/api/v1/admin/distribution/members", tag = "distribution",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<PeerView>), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn members(
    State(state): State<AppState>,
    auth: StaffAuth,
) -> Result<Json<Vec<PeerView>>, ApiError> {
    let peers = service::peers(&state.ctx, By::Staff(&auth.staff), PeerRole::Member).await?;
    Ok(Json(peers.iter().map(PeerView::from).collect()))
}

/// Invite a member server: it gets an id and a one-time enrolment code.
#[utoipa::path(post, path = "/api/v1/admin/distribution/members", tag = "distribution",
    security(("bearer" = [])), request_body = InviteMemberRequest,
    responses((status = 201, body = InvitationView), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn invite(
    State(state): State<AppState>,
    auth: StaffAuth,
    Json(body): Json<InviteMemberRequest>,
) -> Result<(StatusCode, Json<InvitationView>), ApiError> {
    let invitation = service::invite_member(
        &state.ctx,
        By::Staff(&auth.staff),
        &body.name,
        body.region.as_deref(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(InvitationView {
            member: PeerView::from(&invitation.member),
            code: invitation.code,
        }),
    ))
}

/// Suspend a peer (a member gets nothing more; a hub's bundles are refused).
#[utoipa::path(post, path = "/api/v1/admin/distribution/peers/{id}/suspend", tag = "distribution",
    security(("bearer" = [])), params(("id" = Uuid, Path, description = "Peer id")),
    responses((status = 200, body = PeerView), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The member has not enrolled yet", body = Problem, content_type = "application/problem+json")))]
pub async fn suspend(
    State(state): State<AppState>,
    auth: StaffAuth,
    Path(id): Path<Uuid>,
) -> Result<Json<PeerView>, ApiError> {
    let peer = service::set_peer_status(&state.ctx, &auth.staff, id, true).await?;
    Ok(Json(PeerView::from(&peer)))
}

/// Resume a suspended peer.
#[utoipa::path(post, path = "/api/v1/admin/distribution/peers/{id}/resume", tag = "distribution",
    security(("bearer" = [])), params(("id" = Uuid, Path, description = "Peer id")),
    responses((status = 200, body = PeerView), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The member has not enrolled yet", body = Problem, content_type = "application/problem+json")))]
pub async fn resume(
    State(state): State<AppState>,
    auth: StaffAuth,
    Path(id): Path<Uuid>,
) -> Result<Json<PeerView>, ApiError> {
    let peer = service::set_peer_status(&state.ctx, &auth.staff, id, false).await?;
    Ok(Json(PeerView::from(&peer)))
}

/// Remove a peer.
#[utoipa::path(delete, path = "/api/v1/admin/distribution/peers/{id}", tag = "distribution",
    security(("bearer" = [])), params(("id" = Uuid, Path, description = "Peer id")),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn remove(
    State(state): State<AppState>,
    auth: StaffAuth,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    service::remove_peer(&state.ctx, &auth.staff, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A hub to enrol with.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinHubRequest {
    /// The hub's address (`https://hub.example`).
    pub hub_url: String,
    /// The enrolment code the hub's admin gave.
    pub code: String,
}

/// The hubs this server receives collections from.
#[utoipa::path(get, path = "/api/v1/admin/distribution/hubs", tag = "distribution",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<PeerView>), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn hubs(
    State(state): State<AppState>,
    auth: StaffAuth,
) -> Result<Json<Vec<PeerView>>, ApiError> {
    let peers = service::peers(&state.ctx, By::Staff(&auth.staff), PeerRole::Hub).await?;
    Ok(Json(peers.iter().map(PeerView::from).collect()))
}

/// Enrol this server with a hub (the hub must be reachable now; once).
#[utoipa::path(post, path = "/api/v1/admin/distribution/hubs", tag = "distribution",
    security(("bearer" = [])), request_body = JoinHubRequest,
    responses((status = 201, body = PeerView), (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn join(
    State(state): State<AppState>,
    auth: StaffAuth,
    Json(body): Json<JoinHubRequest>,
) -> Result<(StatusCode, Json<PeerView>), ApiError> {
    let hub = service::enrol_with_hub(
        &state.ctx,
        By::Staff(&auth.staff),
        &body.hub_url,
        &body.code,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(PeerView::from(&hub))))
}

/// A published version.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VersionView {
    /// Number.
    pub version: u32,
    /// Titles.
    pub titles: u32,
    /// Bytes of all its objects.
    pub bytes: u64,
    /// Published.
    pub created_at: DateTime<Utc>,
}

impl From<&StoredVersion> for VersionView {
    fn from(v: &StoredVersion) -> Self {
        Self {
            version: v.version,
            titles: v.titles,
            bytes: v.total_size,
            created_at: v.created_at,
        }
    }
}

/// A collection on this hub.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CollectionView {
    /// Id.
    pub id: Uuid,
    /// Short name.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Copies of each title per member; `null` for unlimited concurrent use.
    pub copies_per_member: Option<u32>,
    /// Its titles now.
    pub title_ids: Vec<Uuid>,
    /// Published versions, newest first.
    pub versions: Vec<VersionView>,
}

fn copies_of(rights: CollectionRights) -> Option<u32> {
    match rights {
        CollectionRights::CopiesPerMember(n) => Some(n),
        CollectionRights::Unlimited => None,
    }
}

/// A new collection.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCollectionRequest {
    /// Short name: lowercase letters, digits, `-` (`jiceng-2026`).
    pub slug: String,
    /// Display name (`基层图书馆数字资源提升 2026`).
    pub name: String,
    /// Copies of each title per member; absent or `null` for unlimited concurrent use.
    pub copies_per_member: Option<u32>,
}

/// The titles of a collection.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionTitlesRequest {
    /// Every title the next version carries.
    pub title_ids: Vec<Uuid>,
}

/// This hub's collections.
#[utoipa::path(get, path = "/api/v1/admin/distribution/collections", tag = "distribution",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<CollectionView>), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn collections(
    State(state): State<AppState>,
    auth: StaffAuth,
) -> Result<Json<Vec<CollectionView>>, ApiError> {
    let all = service::collections(&state.ctx, &auth.staff).await?;
    Ok(Json(
        all.iter()
            .map(|c| CollectionView {
                id: c.collection.id,
                slug: c.collection.slug.as_str().to_owned(),
                name: c.collection.name.clone(),
                copies_per_member: copies_of(c.collection.rights),
                title_ids: c.titles.iter().map(|t| t.0).collect(),
                versions: c.versions.iter().map(VersionView::from).collect(),
            })
            .collect(),
    ))
}

/// Create a collection.
#[utoipa::path(post, path = "/api/v1/admin/distribution/collections", tag = "distribution",
    security(("bearer" = [])), request_body = CreateCollectionRequest,
    responses((status = 201, body = CollectionView), (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn create_collection(
    State(state): State<AppState>,
    auth: StaffAuth,
    Json(body): Json<CreateCollectionRequest>,
) -> Result<(StatusCode, Json<CollectionView>), ApiError> {
    let rights = match body.copies_per_member {
        Some(n) => CollectionRights::CopiesPerMember(n),
        None => CollectionRights::Unlimited,
    };
    let c = service::create_collection(
        &state.ctx,
        By::Staff(&auth.staff),
        NewCollection {
            slug: body.slug,
            name: body.name,
            rights,
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CollectionView {
            id: c.id,
            slug: c.slug.as_str().to_owned(),
            name: c.name,
            copies_per_member: copies_of(c.rights),
            title_ids: Vec::new(),
            versions: Vec::new(),
        }),
    ))
}

/// Set the titles the collection's next version carries.
#[utoipa::path(put, path = "/api/v1/admin/distribution/collections/{slug}/titles", tag = "distribution",
    security(("bearer" = [])), request_body = CollectionTitlesRequest,
    params(("slug" = String, Path, description = "Collection short name")),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn set_titles(
    State(state): State<AppState>,
    auth: StaffAuth,
    Path(slug): Path<String>,
    Json(body): Json<CollectionTitlesRequest>,
) -> Result<StatusCode, ApiError> {
    let ids: Vec<TitleId> = body.title_ids.into_iter().map(TitleId).collect();
    service::set_titles(&state.ctx, By::Staff(&auth.staff), &slug, &ids).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Publish the collection's titles as its next version (a signed manifest).
#[utoipa::path(post, path = "/api/v1/admin/distribution/collections/{slug}/versions", tag = "distribution",
    security(("bearer" = [])), params(("slug" = String, Path, description = "Collection short name")),
    responses((status = 201, body = VersionView), (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn publish(
    State(state): State<AppState>,
    auth: StaffAuth,
    Path(slug): Path<String>,
) -> Result<(StatusCode, Json<VersionView>), ApiError> {
    let version = service::publish(&state.ctx, By::Staff(&auth.staff), &slug).await?;
    Ok((StatusCode::CREATED, Json(VersionView::from(&version))))
}

/// A collection installed on this member.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InstalledView {
    /// The hub.
    pub hub_id: Uuid,
    /// Short name.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Version in place.
    pub version: u32,
    /// Copies per title here; `null` for unlimited.
    pub copies_per_member: Option<u32>,
    /// Bytes.
    pub bytes: u64,
    /// Installed.
    pub installed_at: DateTime<Utc>,
}

impl From<&Installed> for InstalledView {
    fn from(i: &Installed) -> Self {
        Self {
            hub_id: i.hub_id,
            slug: i.slug.clone(),
            name: i.name.clone(),
            version: i.version,
            copies_per_member: copies_of(i.rights),
            bytes: i.total_size,
            installed_at: i.installed_at,
        }
    }
}

/// Collections installed on this server from its hubs.
#[utoipa::path(get, path = "/api/v1/admin/distribution/installed", tag = "distribution",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<InstalledView>), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn installed(
    State(state): State<AppState>,
    auth: StaffAuth,
) -> Result<Json<Vec<InstalledView>>, ApiError> {
    let all = service::installed(&state.ctx, &auth.staff).await?;
    Ok(Json(all.iter().map(InstalledView::from).collect()))
}

/// A period of days.
#[derive(Debug, Deserialize, IntoParams)]
pub struct UsageQuery {
    /// First day (`2026-09-01`); default: a year ago.
    pub from: Option<NaiveDate>,
    /// Last day; default: today.
    pub to: Option<NaiveDate>,
}

/// Use of each collection by member, province and month, as members reported it.
#[utoipa::path(get, path = "/api/v1/admin/distribution/usage", tag = "distribution",
    security(("bearer" = [])), params(UsageQuery),
    responses((status = 200, body = Vec<usage::UsageRow>), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn usage_report(
    State(state): State<AppState>,
    auth: StaffAuth,
    Query(query): Query<UsageQuery>,
) -> Result<Json<Vec<usage::UsageRow>>, ApiError> {
    let today = state.ctx.calendar.date_of(state.ctx.clock.now());
    let to = query.to.unwrap_or(today);
    let from = match query.from {
        Some(from) => from,
        None => to
            .checked_sub_signed(Duration::days(365))
            .unwrap_or(NaiveDate::MIN),
    };
    Ok(Json(
        usage::report(&state.ctx, &auth.staff, from, to).await?,
    ))
}

// ---------------------------------------------------------------------------------------
// The peer API

/// A request signed by an enrolled, active member (`Authorization: JieyuePeer <token>`).
pub struct PeerMember(pub Peer);

impl FromRequestParts<AppState> for PeerMember {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("JieyuePeer "))
            .ok_or(ServiceError::Unauthenticated)?;
        let endorsements: Vec<String> = parts
            .headers
            .get(service::hub_client::ENDORSEMENTS_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(',').map(|t| t.trim().to_owned()).collect())
            .unwrap_or_default();
        Ok(Self(
            service::authorise_peer(&state.ctx, token.trim(), &endorsements).await?,
        ))
    }
}

/// A member's enrolment request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolRequest {
    /// The signed request (`jieyue-peer-request+jws`).
    pub request: String,
}

/// The hub's enrolment answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrolAnswerView {
    /// The signed reply (`jieyue-peer-reply+jws`).
    pub reply: String,
    /// The hub's issuer keys (JWK set).
    #[schema(value_type = Object)]
    pub hub_keys: jieyue_protocol::KeySet,
}

/// A member server enrols with this hub, with the code the hub's admin gave it.
#[utoipa::path(post, path = "/api/v1/hub/enrol", tag = "distribution", request_body = EnrolRequest,
    responses((status = 200, body = EnrolAnswerView), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn enrol(
    State(state): State<AppState>,
    Json(body): Json<EnrolRequest>,
) -> Result<Json<EnrolAnswerView>, ApiError> {
    let EnrolmentAnswer { reply, hub_keys } =
        service::accept_enrolment(&state.ctx, &body.request).await?;
    Ok(Json(EnrolAnswerView { reply, hub_keys }))
}

/// This server's issuer keys, vouched for by each key it holds (`jieyue-keys+jws`):
/// members that pinned an older key adopt a rotated one from these.
#[utoipa::path(get, path = "/api/v1/hub/keys", tag = "distribution",
    responses((status = 200, description = "Key endorsements (compact JWS strings)", body = Vec<String>)))]
pub async fn key_endorsements(
    State(state): State<AppState>,
) -> Result<Json<Vec<String>>, ApiError> {
    Ok(Json(service::key_endorsements(&state.ctx).await?))
}

/// A collection offered to members.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferedView {
    /// Short name.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Newest version.
    pub version: u32,
}

/// The collections this hub offers (for an enrolled member).
#[utoipa::path(get, path = "/api/v1/hub/collections", tag = "distribution",
    security(("peer" = [])),
    responses((status = 200, body = Vec<OfferedView>), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn offered(
    State(state): State<AppState>,
    _member: PeerMember,
) -> Result<Json<Vec<OfferedView>>, ApiError> {
    let all = service::offered(&state.ctx).await?;
    Ok(Json(
        all.into_iter()
            .map(|(slug, name, version)| OfferedView {
                slug,
                name,
                version,
            })
            .collect(),
    ))
}

fn jose(token: String) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/jose"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        token,
    )
        .into_response()
}

/// The newest version's manifest, signed now (valid for a week).
#[utoipa::path(get, path = "/api/v1/hub/collections/{slug}/manifest", tag = "distribution",
    security(("peer" = [])), params(("slug" = String, Path, description = "Collection short name")),
    responses((status = 200, description = "Signed manifest (jieyue-collection+jws)", content_type = "application/jose"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn manifest(
    State(state): State<AppState>,
    _member: PeerMember,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let (token, _) = service::signed_manifest(
        &state.ctx,
        &slug,
        None,
        Duration::days(NETWORK_MANIFEST_DAYS),
    )
    .await?;
    Ok(jose(token))
}

/// The calling member's key envelope for a version.
#[utoipa::path(get, path = "/api/v1/hub/collections/{slug}/versions/{version}/envelope", tag = "distribution",
    security(("peer" = [])),
    params(("slug" = String, Path, description = "Collection short name"), ("version" = u32, Path, description = "Version")),
    responses((status = 200, description = "Signed envelope (jieyue-envelope+jws)", content_type = "application/jose"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn envelope(
    State(state): State<AppState>,
    PeerMember(member): PeerMember,
    Path((slug, version)): Path<(String, u32)>,
) -> Result<Response, ApiError> {
    let (_, manifest) =
        service::signed_manifest(&state.ctx, &slug, Some(version), Duration::days(1)).await?;
    Ok(jose(
        service::envelope_for(&state.ctx, &manifest, &member).await?,
    ))
}

/// An object of a published version, by SHA-256 (supports `Range`).
#[utoipa::path(get, path = "/api/v1/hub/objects/{sha256}", tag = "distribution",
    security(("peer" = [])), params(("sha256" = String, Path, description = "The object's SHA-256 (hex)")),
    responses((status = 200, description = "The object", content_type = "application/octet-stream"),
        (status = 206, description = "A range of it", content_type = "application/octet-stream"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn object(
    State(state): State<AppState>,
    _member: PeerMember,
    headers: HeaderMap,
    Path(sha256): Path<String>,
) -> Result<Response, ApiError> {
    let (key, size) = service::hub_object(&state.ctx, &sha256).await?;
    serve_object(
        &state.ctx,
        &headers,
        Stored {
            key: &key,
            size,
            sha256: &sha256,
            content_type: "application/octet-stream",
            cache_control: "private, max-age=3600",
        },
    )
    .await
}

/// A member's signed usage report.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageUpload {
    /// The signed report (`jieyue-usage+jws`).
    pub report: String,
}

/// The hub's acknowledgement.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageAck {
    /// The highest sequence number the hub holds from this member.
    pub acked: u64,
}

/// A member sends usage; the hub answers what it holds.
#[utoipa::path(post, path = "/api/v1/hub/usage", tag = "distribution",
    security(("peer" = [])), request_body = UsageUpload,
    responses((status = 200, body = UsageAck), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn receive_usage(
    State(state): State<AppState>,
    PeerMember(member): PeerMember,
    Json(body): Json<UsageUpload>,
) -> Result<Json<UsageAck>, ApiError> {
    let claimed = service::usage::claimed_member(&body.report);
    if claimed != Some(member.id) {
        return Err(ServiceError::Forbidden("the report is another member's").into());
    }
    let (_, acked) = usage::receive(&state.ctx, &body.report).await?;
    Ok(Json(UsageAck { acked }))
}
