//! The reader's browser session (cookie `jieyue_reader`, `Path=/reader`) and its CSRF
//! checked form extractor, built like the console's (`session.rs`).
//!
//! A reader's browser session is an ordinary patron login session (the same table,
//! lifetime, throttle and lock-out as the API's bearer tokens); its token travels in an
//! `HttpOnly`, `SameSite=Strict` cookie sent only to `/reader`. The cookie never
//! authenticates the JSON API. State-changing requests carry the session's CSRF token
//! (form field `csrf` or header `X-CSRF-Token`) and must come from this site.
//!
//! Reader pages are drawn with the shared [`Chrome`] (words, language) and a
//! [`ReaderChrome`] (who reads, their library, the CSRF token, the current section):
//! every template extending `reader/layout.html` has the fields `c: Chrome` and
//! `r: ReaderChrome`.

use askama::Template;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use jieyue_protocol::api::SecretString;
use jieyue_protocol::problem::ProblemType;
use serde::de::DeserializeOwned;

use super::session::{check_same_origin, cookie_value, csrf_presented, csrf_token};
use super::{Chrome, PageError, Web, i18n};
use crate::domain::{Library, Patron, SessionId};
use crate::http::AppState;
use crate::http::problem::ApiError;
use crate::service::Error as ServiceError;
use crate::service::auth::{self, Authenticated};

/// The reader's session cookie.
pub const READER_COOKIE: &str = "jieyue_reader";
/// Where the reader's cookie is sent.
pub const READER_PATH: &str = "/reader";
/// The reader app's front page (the catalogue search).
pub const READER_HOME: &str = "/reader/";

/// The largest form body a reader page accepts.
const FORM_LIMIT: usize = 64 * 1024;

/// What the reader layout shows on every page: who reads (if anyone), at which
/// library, the session's CSRF token for the page's forms, and the menu entry of the
/// page.
#[derive(Debug, Clone, Default)]
pub struct ReaderChrome {
    /// The logged-in reader's name.
    pub name: Option<String>,
    /// The library whose availability the pages show: the reader's own, or the one an
    /// anonymous visitor picked.
    pub library_name: Option<String>,
    /// That library's code.
    pub library_code: Option<String>,
    /// The session's CSRF token (empty without a session).
    pub csrf: String,
    /// The menu entry of this page (`search`, `shelf`, `read`, or empty).
    pub section: &'static str,
    /// The login page's address, coming back to this page.
    pub login_href: String,
}

impl ReaderChrome {
    /// The chrome of a visitor who has not logged in to `web`'s page; `library` is the
    /// one they picked.
    pub fn anonymous(web: &Web, library: Option<&Library>, section: &'static str) -> Self {
        Self {
            name: None,
            library_name: library.map(|l| l.name.clone()),
            library_code: library.map(|l| l.code.clone()),
            csrf: String::new(),
            section,
            login_href: login_href(&web.path_and_query),
        }
    }

    /// Whether a reader is logged in.
    pub fn signed_in(&self) -> bool {
        self.name.is_some()
    }

    /// Whether `section` is this page's menu entry.
    pub fn is_section(&self, section: &str) -> bool {
        self.section == section
    }

    /// The CSRF token for the page's forms.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// A reader page request by a logged-in patron.
#[derive(Debug, Clone)]
pub struct Reader {
    /// Language, path, fragment request.
    pub web: Web,
    /// Who.
    pub patron: Patron,
    /// Their home library.
    pub library: Library,
    /// The session (for logout).
    pub session: SessionId,
    /// The session token (never shown; the CSRF token is derived from it).
    token: SecretString,
}

impl Reader {
    /// The shared page chrome (words, language).
    pub fn chrome(&self) -> Chrome {
        self.web.chrome(None)
    }

    /// The reader layout's chrome, with `section` marked in the menu.
    pub fn reader_chrome(&self, section: &'static str) -> ReaderChrome {
        ReaderChrome {
            name: Some(self.patron.display_name.clone()),
            library_name: Some(self.library.name.clone()),
            library_code: Some(self.library.code.clone()),
            csrf: self.csrf(),
            section,
            login_href: login_href(&self.web.path_and_query),
        }
    }

    /// The session's CSRF token.
    pub fn csrf(&self) -> String {
        csrf_token(self.token.expose())
    }

    /// Whether a request carries this session's CSRF token, in its `X-CSRF-Token`
    /// header (page scripts) or a form `field`.
    pub fn csrf_presented(&self, headers: &HeaderMap, field: Option<&str>) -> bool {
        csrf_presented(self.token.expose(), headers, field)
    }

    /// A service error as this reader's error page.
    pub fn fail(&self, section: &'static str) -> impl FnOnce(ServiceError) -> ReaderError {
        let web = self.web.clone();
        let r = self.reader_chrome(section);
        move |err| ReaderError::service(web, r, err)
    }

    /// Resolves the reader cookie of a request; `Ok(None)` when there is no live
    /// patron session.
    async fn from_cookie(
        parts: &Parts,
        state: &AppState,
        web: &Web,
    ) -> Result<Option<Self>, ReaderError> {
        let Some(token) = cookie_value(&parts.headers, READER_COOKIE) else {
            return Ok(None);
        };
        let (session, patron) = match auth::authenticate(&state.ctx, &token).await {
            Ok(Authenticated::Patron { session, patron }) => (session, patron),
            Ok(Authenticated::Staff { .. }) | Err(ServiceError::Unauthenticated) => {
                return Ok(None);
            }
            Err(err) => {
                return Err(ReaderError::service(
                    web.clone(),
                    ReaderChrome::anonymous(web, None, ""),
                    err,
                ));
            }
        };
        let library = crate::service::patrons::profile(&state.ctx, &patron)
            .await
            .map_err(|err| {
                ReaderError::service(web.clone(), ReaderChrome::anonymous(web, None, ""), err)
            })?;
        Ok(Some(Self {
            web: web.clone(),
            patron,
            library,
            session,
            token: SecretString::new(token),
        }))
    }
}

/// Where to come back to after logging in, for a request to `web`'s page: the page
/// itself for a `GET`, else the reader's front page.
fn login_next(method: &Method, web: &Web) -> String {
    if *method == Method::GET {
        web.path_and_query.clone()
    } else {
        READER_HOME.to_owned()
    }
}

impl FromRequestParts<AppState> for Reader {
    type Rejection = ReaderError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let web = Web::from_request_parts(parts, state).await?;
        match Self::from_cookie(parts, state, &web).await? {
            Some(reader) => Ok(reader),
            None => Err(ReaderError::Login {
                next: login_next(&parts.method, &web),
            }),
        }
    }
}

/// A reader page open to everyone: the logged-in reader if there is one.
#[derive(Debug, Clone)]
pub struct MaybeReader {
    /// Language, path, fragment request.
    pub web: Web,
    /// The logged-in reader.
    pub reader: Option<Reader>,
}

impl FromRequestParts<AppState> for MaybeReader {
    type Rejection = ReaderError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let web = Web::from_request_parts(parts, state).await?;
        let reader = Reader::from_cookie(parts, state, &web).await?;
        Ok(Self { web, reader })
    }
}

/// A state-changing reader request: a logged-in patron, a same-origin request and a
/// form (`application/x-www-form-urlencoded`) carrying the session's CSRF token (in the
/// `csrf` field or the `X-CSRF-Token` header).
pub struct ReaderForm<T> {
    /// Who.
    pub reader: Reader,
    /// The form.
    pub form: T,
}

#[derive(serde::Deserialize)]
struct CsrfOnly {
    csrf: Option<String>,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for ReaderForm<T> {
    type Rejection = ReaderError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        check_same_origin(&parts)?;
        let reader = Reader::from_request_parts(&mut parts, state).await?;
        let lang = reader.web.lang;
        let bytes = axum::body::to_bytes(body, FORM_LIMIT)
            .await
            .map_err(|_| PageError::BadForm(lang))?;
        let token: CsrfOnly =
            serde_html_form::from_bytes(&bytes).map_err(|_| PageError::BadForm(lang))?;
        if !reader.csrf_presented(&parts.headers, token.csrf.as_deref()) {
            return Err(PageError::CrossSite.into());
        }
        let form = serde_html_form::from_bytes(&bytes).map_err(|err| {
            tracing::debug!(error = %err, "a reader form did not parse");
            PageError::BadForm(lang)
        })?;
        Ok(Self { reader, form })
    }
}

/// Why a reader page could not be shown.
#[derive(Debug)]
pub enum ReaderError {
    /// No reader session: go to the reader's login page, then come back to `next`.
    Login {
        /// Where to come back to.
        next: String,
    },
    /// Refused before the reader was known (cross-site, a form that does not parse).
    Page(PageError),
    /// The use case refused or failed: an error page in the reader's layout.
    Service(Box<ServiceFailure>),
}

/// A refused or failed use case, to be shown in the reader's layout.
#[derive(Debug)]
pub struct ServiceFailure {
    /// The request.
    pub web: Web,
    /// The reader layout's chrome.
    pub r: ReaderChrome,
    /// As the API would answer it.
    pub error: ApiError,
}

impl From<PageError> for ReaderError {
    fn from(err: PageError) -> Self {
        ReaderError::Page(err)
    }
}

impl ReaderError {
    /// A service error on a reader page.
    pub fn service(web: Web, r: ReaderChrome, err: ServiceError) -> Self {
        ReaderError::Service(Box::new(ServiceFailure {
            web,
            r,
            error: ApiError::from(err),
        }))
    }
}

/// A reader page's address to return to after logging in; only a reader page (never
/// another site, never the login page itself).
pub fn safe_next(next: Option<&str>) -> String {
    next.filter(|n| {
        (n.starts_with("/reader/") || *n == READER_PATH)
            && !n.starts_with("/reader/login")
            && !n.contains("//")
            && !n.contains('\\')
    })
    .unwrap_or(READER_HOME)
    .to_owned()
}

/// The login page's address, returning to `next`.
pub fn login_href(next: &str) -> String {
    let next = safe_next(Some(next));
    if next == READER_HOME {
        return String::from("/reader/login");
    }
    format!(
        "/reader/login?next={}",
        percent_encoding::utf8_percent_encode(&next, percent_encoding::NON_ALPHANUMERIC)
    )
}

/// The message keys of a problem for a reader: the reader's own words
/// (`reader-refused-<slug>`) when there are some, else the common ones
/// (`problem-<slug>`); `None` for a slug no catalogue knows.
pub fn problem_key(lang: super::Lang, slug: &str) -> Option<String> {
    let tr = i18n::catalogue(lang);
    [format!("reader-refused-{slug}"), format!("problem-{slug}")]
        .into_iter()
        .find(|key| tr.has(key))
}

/// The problem slug (`no-copy-available`, ...) of an error.
pub fn problem_slug(error: &ApiError) -> &'static str {
    ProblemType::from_uri(&error.to_problem().kind).map_or("internal", |k| k.slug())
}

#[derive(Template)]
#[template(path = "reader/error.html")]
struct ErrorPage {
    c: Chrome,
    r: ReaderChrome,
    status: u16,
    heading: String,
    detail: String,
    fields: Vec<(String, String)>,
}

impl IntoResponse for ReaderError {
    fn into_response(self) -> Response {
        let (web, r, error) = match self {
            ReaderError::Login { next } => return Redirect::to(&login_href(&next)).into_response(),
            ReaderError::Page(page) => return page.into_response(),
            ReaderError::Service(failure) => {
                let ServiceFailure { web, r, error } = *failure;
                (web, r, error)
            }
        };
        let slug = problem_slug(&error);
        if slug == "unauthenticated" {
            return Redirect::to(&login_href(&web.path_and_query)).into_response();
        }
        let problem = error.to_problem();
        let status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let key = problem_key(web.lang, slug).unwrap_or_else(|| String::from("problem-internal"));
        // The service's own (English) words only where ours are generic.
        let specific = matches!(slug, "conflict" | "malformed-request");
        let detail = if specific {
            problem.detail.unwrap_or_default()
        } else {
            String::new()
        };
        let c = web.chrome(None);
        let page = ErrorPage {
            heading: c.t(&key),
            c,
            r,
            status: status.as_u16(),
            detail,
            fields: problem
                .errors
                .into_iter()
                .map(|e| (e.field, e.message))
                .collect(),
        };
        match web.render(&page) {
            Ok(mut response) => {
                *response.status_mut() = status;
                response
            }
            Err(_) => (status, "error").into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_reader_page_is_returned_to_after_login() {
        assert_eq!(
            safe_next(Some("/reader/titles/1?x=2")),
            "/reader/titles/1?x=2"
        );
        assert_eq!(safe_next(Some("/reader")), "/reader");
        assert_eq!(safe_next(Some("https://evil.example/reader/")), "/reader/");
        assert_eq!(safe_next(Some("//evil.example/reader/")), "/reader/");
        assert_eq!(safe_next(Some("/reader//evil.example")), "/reader/");
        assert_eq!(safe_next(Some("/reader/\\evil")), "/reader/");
        assert_eq!(safe_next(Some("/reader/login?next=/x")), "/reader/");
        assert_eq!(safe_next(Some("/console/")), "/reader/");
        assert_eq!(safe_next(None), "/reader/");
    }

    #[test]
    fn the_login_link_carries_the_page_to_return_to() {
        assert_eq!(login_href("/reader/"), "/reader/login");
        assert_eq!(
            login_href("/reader/titles/abc"),
            "/reader/login?next=%2Freader%2Ftitles%2Fabc"
        );
        assert_eq!(login_href("https://evil.example/"), "/reader/login");
    }

    #[test]
    fn a_refusal_is_told_in_the_readers_words_first() {
        let zh = problem_key(super::super::Lang::ZhCn, "loan-limit");
        assert_eq!(zh.as_deref(), Some("reader-refused-loan-limit"));
        assert_eq!(
            problem_key(super::super::Lang::En, "insufficient-storage").as_deref(),
            Some("problem-insufficient-storage")
        );
        assert_eq!(problem_key(super::super::Lang::En, "no-such-thing"), None);
    }
}
