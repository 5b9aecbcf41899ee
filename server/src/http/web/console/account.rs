//! Logging in and out of the console, and changing one's own password.

use crate::http::web::session::PreSessionForm;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jieyue_protocol::api::SecretString;
use serde::Deserialize;

use super::see_other;
use crate::http::AppState;
use crate::http::extract::ClientAddr;
use crate::http::web::session::{self, Console, ConsoleForm, STAFF_COOKIE, STAFF_PATH};
use crate::http::web::{Chrome, PageError, Web};
use crate::service::Error as ServiceError;
use crate::service::auth::{self, Owner};

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    c: Chrome,
    next: String,
    username: String,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Only a console path may be the page to return to (never another site).
fn safe_next(next: Option<&str>) -> String {
    next.filter(|n| {
        n.starts_with("/console/")
            && !n.contains('\\')
            && !n.chars().any(char::is_control)
            && n.parse::<axum::http::uri::PathAndQuery>().is_ok()
    })
    .unwrap_or("/console/")
    .to_owned()
}

/// `GET /console/login`.
pub async fn login_page(
    web: Web,
    axum::extract::Query(query): axum::extract::Query<NextQuery>,
) -> Result<Response, PageError> {
    web.render(&LoginPage {
        c: web.chrome(None),
        next: safe_next(query.next.as_deref()),
        username: String::new(),
        error: None,
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: SecretString,
    next: Option<String>,
}

/// `POST /console/login`: the same login, lock-out and throttle as the API; on success
/// the session token goes into the console's cookie.
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    PreSessionForm { web, headers, form }: PreSessionForm<LoginForm>,
) -> Result<Response, PageError> {
    let next = safe_next(form.next.as_deref());
    match auth::staff_login(&state.ctx, &form.username, &form.password, client).await {
        Ok((issued, _staff)) => {
            let lifetime = issued.expires_at - state.ctx.clock.now();
            let cookie = session::session_cookie(
                STAFF_COOKIE,
                STAFF_PATH,
                issued.token.expose(),
                lifetime,
                &headers,
                state.ctx.auth.trust_forwarded_for,
            );
            let mut response = see_other(&next);
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            Ok(response)
        }
        Err(
            err @ (ServiceError::InvalidCredentials
            | ServiceError::LockedOut { .. }
            | ServiceError::Forbidden(_)),
        ) => {
            let c = web.chrome(None);
            let (status, message) = match &err {
                ServiceError::LockedOut { retry_after } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    c.t1(
                        "login-locked-out",
                        "seconds",
                        retry_after.num_seconds().max(1),
                    ),
                ),
                ServiceError::Forbidden(_) => (StatusCode::FORBIDDEN, c.t("login-deactivated")),
                _ => (StatusCode::UNAUTHORIZED, c.t("login-wrong")),
            };
            let mut response = web.render(&LoginPage {
                c,
                next,
                username: form.username.chars().take(64).collect(),
                error: Some(message),
            })?;
            *response.status_mut() = status;
            Ok(response)
        }
        Err(err) => Err(PageError::service(err, web.lang)),
    }
}

#[derive(Deserialize)]
pub struct Empty {}

/// `POST /console/logout`: ends the session and removes the cookie.
pub async fn logout(
    State(state): State<AppState>,
    ConsoleForm { console, .. }: ConsoleForm<Empty>,
) -> Result<Response, PageError> {
    auth::logout(&state.ctx, console.session)
        .await
        .map_err(|e| PageError::service(e, console.web.lang))?;
    let mut response = see_other("/console/login");
    if let Ok(value) = HeaderValue::from_str(&session::removal_cookie(STAFF_COOKIE, STAFF_PATH)) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

#[derive(Template)]
#[template(path = "console/password.html")]
struct PasswordPage {
    c: Chrome,
    error: Option<String>,
    done: bool,
}

/// `GET /console/password`.
pub async fn password_page(console: Console) -> Result<Response, PageError> {
    console.web.render(&PasswordPage {
        c: console.chrome("password"),
        error: None,
        done: false,
    })
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current_password: SecretString,
    new_password: SecretString,
}

/// `POST /console/password`: checks the current password (throttled like a login),
/// sets the new one and ends the account's other sessions.
pub async fn change_password(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ConsoleForm { console, form }: ConsoleForm<PasswordForm>,
) -> Result<Response, PageError> {
    let result = auth::change_own_password(
        &state.ctx,
        Owner::Staff(&console.staff),
        console.session,
        &form.current_password,
        &form.new_password,
        client,
    )
    .await;
    let c = console.chrome("password");
    let (status, error) = match result {
        Ok(()) => (StatusCode::OK, None),
        Err(ServiceError::InvalidCredentials) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(c.t("password-wrong-current")),
        ),
        Err(ServiceError::Invalid(_)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(c.t("password-too-weak")),
        ),
        Err(ServiceError::LockedOut { retry_after }) => (
            StatusCode::TOO_MANY_REQUESTS,
            Some(c.t1(
                "login-locked-out",
                "seconds",
                retry_after.num_seconds().max(1),
            )),
        ),
        Err(err) => return Err(PageError::service(err, console.web.lang)),
    };
    let done = error.is_none();
    let mut response = console.web.render(&PasswordPage { c, error, done })?;
    *response.status_mut() = status;
    Ok(response.into_response())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_a_console_path_is_returned_to_after_login() {
        assert_eq!(
            safe_next(Some("/console/patrons?q=1")),
            "/console/patrons?q=1"
        );
        assert_eq!(safe_next(Some("https://evil.example/")), "/console/");
        assert_eq!(safe_next(Some("//evil.example/console/")), "/console/");
        assert_eq!(safe_next(Some("/console/\\evil")), "/console/");
        assert_eq!(safe_next(Some("/console/\nSet-Cookie: x=1")), "/console/");
        assert_eq!(safe_next(None), "/console/");
    }
}
