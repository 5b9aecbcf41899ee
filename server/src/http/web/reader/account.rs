//! Logging in to the reader's app with a library card, and out again.

use crate::http::web::session::PreSessionForm;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use jieyue_protocol::api::SecretString;
use serde::Deserialize;

use super::see_other;
use crate::domain::Library;
use crate::http::AppState;
use crate::http::extract::ClientAddr;
use crate::http::web::reader_session::{
    READER_COOKIE, READER_HOME, READER_PATH, ReaderChrome, ReaderError, ReaderForm, safe_next,
};
use crate::http::web::session;
use crate::http::web::{Chrome, Web};
use crate::service::Error as ServiceError;
use crate::service::{auth, libraries};

#[derive(Template)]
#[template(path = "reader/login.html")]
struct LoginPage {
    c: Chrome,
    r: ReaderChrome,
    libraries: Vec<Library>,
    library: String,
    card: String,
    next: String,
    error: Option<String>,
}

/// `?next=` (where to go after logging in) and `?library=` (the library to preselect).
#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    library: Option<String>,
}

/// The member libraries, or an error page.
async fn library_list(state: &AppState, web: &Web) -> Result<Vec<Library>, ReaderError> {
    libraries::list(&state.ctx).await.map_err(|err| {
        ReaderError::service(web.clone(), ReaderChrome::anonymous(web, None, ""), err)
    })
}

/// The library preselected in the form: the one asked for, or the only one there is.
fn preselected(libraries: &[Library], asked: Option<&str>) -> String {
    match (asked, libraries) {
        (Some(code), _) if libraries.iter().any(|l| l.code == code) => code.to_owned(),
        (_, [only]) => only.code.clone(),
        _ => String::new(),
    }
}

/// `GET /reader/login`: library, card number and password.
pub async fn login_page(
    State(state): State<AppState>,
    web: Web,
    Query(query): Query<LoginQuery>,
) -> Result<Response, ReaderError> {
    let libraries = library_list(&state, &web).await?;
    let library = preselected(&libraries, query.library.as_deref());
    Ok(web.render(&LoginPage {
        c: web.chrome(None),
        r: ReaderChrome::anonymous(&web, None, ""),
        libraries,
        library,
        card: String::new(),
        next: safe_next(query.next.as_deref()),
        error: None,
    })?)
}

/// The login form.
#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    library: String,
    #[serde(default)]
    card: String,
    password: SecretString,
    next: Option<String>,
}

/// `POST /reader/login`: the API's patron login (same throttle and lock-out); on
/// success the session token goes into the reader's cookie and the reader goes on to
/// `next`. A refused login shows the form again.
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    PreSessionForm { web, headers, form }: PreSessionForm<LoginForm>,
) -> Result<Response, ReaderError> {
    let next = safe_next(form.next.as_deref());
    let result = auth::patron_login(
        &state.ctx,
        form.library.trim(),
        form.card.trim(),
        &form.password,
        client,
    )
    .await;
    let c = web.chrome(None);
    let (status, message) = match result {
        Ok((issued, _patron, _library)) => {
            let lifetime = issued.expires_at - state.ctx.clock.now();
            let cookie = session::session_cookie(
                READER_COOKIE,
                READER_PATH,
                issued.token.expose(),
                lifetime,
                &headers,
                state.ctx.auth.trust_forwarded_for,
            );
            let mut response = see_other(&next);
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            return Ok(response);
        }
        Err(ServiceError::LockedOut { retry_after }) => (
            StatusCode::TOO_MANY_REQUESTS,
            c.t1(
                "reader-login-locked-out",
                "seconds",
                retry_after.num_seconds().max(1),
            ),
        ),
        Err(ServiceError::Invalid(_)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            c.t("reader-login-incomplete"),
        ),
        Err(ServiceError::InvalidCredentials) => {
            (StatusCode::UNAUTHORIZED, c.t("reader-login-wrong"))
        }
        Err(err) => {
            return Err(ReaderError::service(
                web.clone(),
                ReaderChrome::anonymous(&web, None, ""),
                err,
            ));
        }
    };
    let libraries = library_list(&state, &web).await?;
    let library = preselected(&libraries, Some(form.library.trim()));
    let mut response = web.render(&LoginPage {
        r: ReaderChrome::anonymous(&web, None, ""),
        c,
        libraries,
        library,
        card: form.card.trim().chars().take(64).collect(),
        next,
        error: Some(message),
    })?;
    *response.status_mut() = status;
    Ok(response)
}

/// No fields but the CSRF token.
#[derive(Deserialize)]
pub struct Empty {}

/// `POST /reader/logout`: ends the session and removes the cookie.
pub async fn logout(
    State(state): State<AppState>,
    ReaderForm { reader, .. }: ReaderForm<Empty>,
) -> Result<Response, ReaderError> {
    auth::logout(&state.ctx, reader.session)
        .await
        .map_err(reader.fail(""))?;
    let mut response = see_other(READER_HOME);
    if let Ok(value) = HeaderValue::from_str(&session::removal_cookie(READER_COOKIE, READER_PATH)) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn library(code: &str) -> Library {
        Library {
            id: crate::domain::LibraryId(uuid::Uuid::new_v4()),
            code: code.to_owned(),
            name: code.to_owned(),
            region: None,
            created_at: chrono::DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn the_library_asked_for_or_the_only_one_is_preselected() {
        let two = [library("city"), library("county")];
        assert_eq!(preselected(&two, Some("county")), "county");
        assert_eq!(preselected(&two, Some("nowhere")), "");
        assert_eq!(preselected(&two, None), "");
        let one = [library("city")];
        assert_eq!(preselected(&one, None), "city");
        assert_eq!(preselected(&one, Some("nowhere")), "city");
    }
}
