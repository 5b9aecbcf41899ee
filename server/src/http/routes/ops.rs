//! Operations: liveness, readiness, metrics.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use jieyue_protocol::problem::{Problem, ProblemType};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::AppState;
use crate::http::extract::Json;
use crate::http::problem::ApiError;

/// Liveness and readiness answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
}

/// Liveness: the process is up and serving HTTP.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, description = "The server is alive", body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Readiness: the database answers. Load balancers route traffic only to ready servers.
#[utoipa::path(get, path = "/ready", tag = "operations",
    responses(
        (status = 200, description = "Ready to serve", body = Health),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn ready(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    match state.ctx.db.ping().await {
        Ok(()) => Ok(Json(Health { status: "ok" })),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            Err(ApiError::new(
                ProblemType::Unavailable,
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is unreachable",
            ))
        }
    }
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.prometheus.render(),
    )
}

/// The issuer public keys (a JWK Set, RFC 7517) that verify licences, status documents
/// and enrolment replies. Apps pin them at set-up; several are listed during a rotation.
#[utoipa::path(get, path = "/.well-known/jieyue/keys", tag = "operations",
    responses((status = 200, description = "JWK Set of Ed25519 issuer keys", body = Object)))]
pub async fn issuer_keys(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        axum::Json(state.ctx.keys.public.clone()),
    )
}
