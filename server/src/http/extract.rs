//! Extractors whose rejections are problem documents, and the bearer-token extractors.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use jieyue_protocol::problem::ProblemType;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::AppState;
use super::problem::ApiError;
use crate::domain::{Patron, SessionId, Staff};
use crate::service::Error as ServiceError;
use crate::service::auth::{self, Authenticated};

/// `axum::Json`, but a rejected body is a problem document.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(value) = axum::Json::<T>::from_request(req, state).await?;
        Ok(Json(value))
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Multipart` with problem-document rejections: a body that is not
/// `multipart/form-data` is a 415, a multipart body without a usable boundary a 400.
pub struct Multipart(pub axum::extract::Multipart);

impl<S> FromRequest<S> for Multipart
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let declared_multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| {
                value
                    .trim_start()
                    .to_ascii_lowercase()
                    .starts_with("multipart/form-data")
            });
        match axum::extract::Multipart::from_request(req, state).await {
            Ok(multipart) => Ok(Self(multipart)),
            Err(_) if !declared_multipart => Err(ApiError::new(
                ProblemType::MalformedRequest,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "expected a multipart/form-data body",
            )),
            Err(rejection) => Err(ApiError::new(
                ProblemType::MalformedRequest,
                StatusCode::BAD_REQUEST,
                rejection.body_text(),
            )),
        }
    }
}

/// The whole body as bytes, with problem-document rejections (a body over the route's
/// limit is a 413 `payload-too-large`).
pub struct RawBody(pub Bytes);

impl<S> FromRequest<S> for RawBody
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Bytes::from_request(req, state).await {
            Ok(bytes) => Ok(Self(bytes)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::new(
                    ProblemType::PayloadTooLarge,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "the request body is larger than the server accepts",
                ))
            }
            Err(rejection) => Err(ApiError::new(
                ProblemType::MalformedRequest,
                rejection.status(),
                rejection.body_text(),
            )),
        }
    }
}

/// `axum::extract::Query` with problem-document rejections.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(Query(value))
    }
}

/// `axum::extract::Path` with problem-document rejections.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(value) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(Path(value))
    }
}

fn bearer_token(parts: &Parts) -> Result<&str, ApiError> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then_some(token.trim())
        })
        .filter(|token| !token.is_empty() && token.len() <= 256)
        .ok_or_else(|| ServiceError::Unauthenticated.into())
}

async fn authenticate(parts: &Parts, state: &AppState) -> Result<Authenticated, ApiError> {
    let token = bearer_token(parts)?;
    Ok(auth::authenticate(&state.ctx, token).await?)
}

/// A request made with a patron's bearer token.
#[derive(Debug, Clone)]
pub struct PatronAuth {
    /// The session the token belongs to.
    pub session: SessionId,
    /// The patron.
    pub patron: Patron,
}

impl FromRequestParts<AppState> for PatronAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match authenticate(parts, state).await? {
            Authenticated::Patron { session, patron } => Ok(Self { session, patron }),
            Authenticated::Staff { .. } => {
                Err(ServiceError::Forbidden("this route is for patrons; log in as a patron").into())
            }
        }
    }
}

/// A request made with a staff member's bearer token.
#[derive(Debug, Clone)]
pub struct StaffAuth {
    /// The session the token belongs to.
    pub session: SessionId,
    /// The staff member (active).
    pub staff: Staff,
}

impl FromRequestParts<AppState> for StaffAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match authenticate(parts, state).await? {
            Authenticated::Staff { session, staff } => Ok(Self { session, staff }),
            Authenticated::Patron { .. } => {
                Err(ServiceError::Forbidden("this route is for library staff").into())
            }
        }
    }
}

/// The client's address, for the login throttle: the connection's peer, or, with
/// `auth.trust_forwarded_for` (behind a reverse proxy that sets it), the last hop of
/// `X-Forwarded-For`. An IPv6 address stands for its /64 (one subscriber's network, in
/// which a client can pick any address). `None` when neither is known.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<std::net::IpAddr>);

/// An IPv6 address becomes its /64 network; IPv4 stays as it is.
fn client_network(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            std::net::IpAddr::V6(std::net::Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if state.ctx.auth.trust_forwarded_for
            && let Some(ip) = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .next_back()
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.rsplit(',').next())
                .and_then(|hop| hop.trim().parse().ok())
        {
            return Ok(Self(Some(client_network(ip))));
        }
        Ok(Self(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|info| client_network(info.0.ip())),
        ))
    }
}

/// For `PATCH` bodies: tells an absent field (`None`) from an explicit `null`
/// (`Some(None)`). Use with `#[serde(default, deserialize_with = "...")]`.
pub fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}

/// An optional patron: public routes that say more to a logged-in reader (availability
/// at their library). A missing or invalid token is simply no patron.
#[derive(Debug, Clone)]
pub struct MaybePatron(pub Option<Patron>);

impl FromRequestParts<AppState> for MaybePatron {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if parts.headers.get(header::AUTHORIZATION).is_none() {
            return Ok(Self(None));
        }
        match authenticate(parts, state).await {
            Ok(Authenticated::Patron { patron, .. }) => Ok(Self(Some(patron))),
            _ => Ok(Self(None)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::client_network;

    #[test]
    fn an_ipv6_client_is_its_slash_64_and_ipv4_stays() {
        let a = client_network("2001:db8:1:2:aaaa::1".parse().expect("ip"));
        let b = client_network("2001:db8:1:2:bbbb::9".parse().expect("ip"));
        assert_eq!(a, b);
        assert_eq!(a, "2001:db8:1:2::".parse::<std::net::IpAddr>().expect("ip"));
        let v4: std::net::IpAddr = "203.0.113.9".parse().expect("ip");
        assert_eq!(client_network(v4), v4);
    }
}
