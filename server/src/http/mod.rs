//! The HTTP layer: routes, extractors, the problem-document mapping, middleware and the
//! OpenAPI document. Handlers only extract, call one service function, and map.

pub mod extract;
mod openapi;
pub mod problem;
pub mod request_context;
pub mod routes;
pub mod web;

use std::any::Any;
use std::sync::OnceLock;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::PrometheusHandle;
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::service::Ctx;
use problem::ApiError;
use routes::{
    admin_lending, admin_libraries, admin_patrons, admin_reports, admin_staff, admin_titles,
    catalog, distribution, lending, opds, ops, reader, staff_auth,
};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The services' context.
    pub ctx: Ctx,
    /// Renders `/metrics`.
    pub prometheus: PrometheusHandle,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Jieyue lending API",
        description = "E-book lending for a library consortium. Errors are RFC 7807 problem \
                       documents (`application/problem+json`) with stable `type` URNs.",
        license(name = "Apache-2.0"),
    ),
    components(schemas(jieyue_protocol::problem::Problem, jieyue_protocol::problem::FieldError)),
    tags(
        (name = "reader", description = "Patrons: login and their own account"),
        (name = "staff", description = "Staff login and own account"),
        (name = "catalogue", description = "The public catalogue: search, details, covers, packages"),
        (name = "lending", description = "Readers: devices, loans, licences, status documents"),
        (name = "opds", description = "The OPDS 2.0 catalog"),
        (name = "admin", description = "Library administration, scoped to the staff member's library"),
        (name = "distribution", description = "Hub and member servers: collections, bundles, key envelopes, usage"),
        (name = "operations", description = "Health, readiness, metrics, this document"),
    )
)]
struct ApiDoc;

/// Every documented route. The OpenAPI document is generated from this very list, so a
/// route cannot exist without being documented.
fn documented_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(ops::health))
        .routes(routes!(ops::ready))
        .routes(routes!(ops::metrics))
        .routes(routes!(ops::issuer_keys))
        .routes(routes!(openapi_json))
        .routes(routes!(reader::list_libraries))
        .routes(routes!(reader::patron_login))
        .routes(routes!(reader::patron_logout))
        .routes(routes!(reader::me))
        .routes(routes!(reader::change_password))
        .routes(routes!(staff_auth::login))
        .routes(routes!(staff_auth::logout))
        .routes(routes!(staff_auth::me))
        .routes(routes!(staff_auth::change_password))
        .routes(routes!(admin_libraries::list, admin_libraries::create))
        .routes(routes!(admin_libraries::get, admin_libraries::update))
        .routes(routes!(admin_staff::list, admin_staff::create))
        .routes(routes!(admin_staff::get, admin_staff::update))
        .routes(routes!(admin_patrons::search, admin_patrons::create))
        .routes(routes!(admin_patrons::get, admin_patrons::update))
        .routes(routes!(admin_patrons::block))
        .routes(routes!(admin_patrons::unblock))
        .routes(routes!(catalog::search))
        .routes(routes!(catalog::get))
        .routes(routes!(catalog::cover))
        .routes(routes!(catalog::thumbnail))
        .routes(routes!(catalog::package))
        .routes(routes!(admin_titles::get, admin_titles::update))
        .routes(routes!(lending::enrol, lending::my_devices))
        .routes(routes!(lending::remove_device))
        .routes(routes!(lending::my_loans, lending::borrow))
        .routes(routes!(lending::licence))
        .routes(routes!(lending::return_loan))
        .routes(routes!(lending::renew))
        .routes(routes!(lending::status))
        .routes(routes!(lending::my_holds, lending::place_hold))
        .routes(routes!(lending::cancel_hold))
        .routes(routes!(lending::suspend_hold))
        .routes(routes!(lending::notifications))
        .routes(routes!(lending::save_position, lending::get_position))
        .routes(routes!(lending::my_positions))
        .routes(routes!(admin_lending::create_lot, admin_lending::list_lots))
        .routes(routes!(admin_lending::update_lot))
        .routes(routes!(admin_lending::list_rules, admin_lending::put_rules))
        .routes(routes!(admin_lending::revoke))
        .routes(routes!(admin_lending::patron_devices))
        .routes(routes!(admin_lending::remove_patron_device))
        .routes(routes!(admin_reports::loans))
        .routes(routes!(admin_reports::shared_usage))
        .routes(routes!(admin_reports::holds_without_copies))
        .routes(routes!(distribution::members, distribution::invite))
        .routes(routes!(distribution::suspend))
        .routes(routes!(distribution::resume))
        .routes(routes!(distribution::remove))
        .routes(routes!(distribution::hubs, distribution::join))
        .routes(routes!(
            distribution::collections,
            distribution::create_collection
        ))
        .routes(routes!(distribution::set_titles))
        .routes(routes!(distribution::publish))
        .routes(routes!(distribution::installed))
        .routes(routes!(distribution::usage_report))
        .routes(routes!(distribution::enrol))
        .routes(routes!(distribution::key_endorsements))
        .routes(routes!(distribution::offered))
        .routes(routes!(distribution::manifest))
        .routes(routes!(distribution::envelope))
        .routes(routes!(distribution::object))
        .routes(routes!(opds::root))
        .routes(routes!(opds::publications))
        .routes(routes!(opds::search))
        .routes(routes!(opds::publication_document))
}

/// The OpenAPI document of this server.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut document = documented_routes()
        .routes(routes!(admin_titles::upload))
        .routes(routes!(admin_titles::replace_cover))
        .routes(routes!(distribution::receive_usage))
        .split_for_parts()
        .1;
    utoipa::Modify::modify(&openapi::CommonAnswers, &mut document);
    document
}

/// This OpenAPI 3.1 document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI document", body = Object)))]
async fn openapi_json() -> Response {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    let json = DOCUMENT.get_or_init(|| {
        openapi()
            .to_json()
            .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    });
    ([(header::CONTENT_TYPE, "application/json")], json.clone()).into_response()
}

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "request handler panicked");
    ApiError::internal().into_response()
}

/// Largest usage report a member may send (a report holds at most 2,000 entries of
/// some 200 bytes; room to spare).
const USAGE_REPORT_BYTES: usize = 8 * 1024 * 1024;

/// The whole application router.
pub fn router(state: AppState, max_body_bytes: usize, max_upload_bytes: usize) -> Router {
    let uploads = OpenApiRouter::new()
        .routes(routes!(admin_titles::upload))
        .layer(DefaultBodyLimit::max(max_upload_bytes));
    // A cover is read into memory whole: it has a small limit of its own.
    let cover_limit = usize::try_from(crate::service::thumbnail::MAX_IMAGE_BYTES)
        .unwrap_or(usize::MAX)
        .min(max_upload_bytes);
    let covers = OpenApiRouter::new()
        .routes(routes!(admin_titles::replace_cover))
        .layer(DefaultBodyLimit::max(cover_limit));
    // A usage report from a member that was offline for weeks is larger than a form.
    let usage = OpenApiRouter::new()
        .routes(routes!(distribution::receive_usage))
        .layer(DefaultBodyLimit::max(USAGE_REPORT_BYTES));
    let (router, _) = documented_routes()
        .merge(uploads)
        .merge(covers)
        .merge(usage)
        .split_for_parts();
    router
        .merge(web::routes(max_upload_bytes))
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn(request_context::layer))
        .with_state(state)
}
