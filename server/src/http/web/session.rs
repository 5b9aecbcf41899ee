//! Browser sessions and CSRF protection for the pages.
//!
//! A browser session is an ordinary login session (the same table, lifetime, lock-out
//! and logout as the API's bearer tokens); its token travels in an `HttpOnly`,
//! `SameSite=Strict` cookie scoped to the area it opens (`/console` for staff). The
//! cookie never authenticates the JSON API, which only reads `Authorization`.
//!
//! Every state-changing request must carry the session's CSRF token, an HMAC of a
//! fixed label keyed with the session token: bound to the session, unguessable without
//! the cookie, and the same on every replica. Before the token is even looked at, a
//! request the browser marks as cross-site (`Sec-Fetch-Site`) or whose `Origin` is not
//! this server is refused.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie::{Cookie, SameSite};
use jieyue_protocol::api::SecretString;
use ring::hmac;
use serde::de::DeserializeOwned;

use super::{Chrome, PageError, Web};
use crate::domain::{SessionId, Staff};
use crate::http::AppState;
use crate::service::auth::{self, Authenticated};

/// The staff console's session cookie.
pub const STAFF_COOKIE: &str = "jieyue_staff";
/// Where the staff cookie is sent.
pub const STAFF_PATH: &str = "/console";
/// The form field (and `X-CSRF-Token` header) carrying the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

const CSRF_LABEL: &[u8] = b"jieyue csrf v1";

/// The largest form body a page accepts (uploads are multipart, and limited apart).
const FORM_LIMIT: usize = 1 << 20;

/// The CSRF token of the session whose token is `session_token`.
pub fn csrf_token(session_token: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, session_token.as_bytes());
    URL_SAFE_NO_PAD.encode(hmac::sign(&key, CSRF_LABEL).as_ref())
}

/// Whether `presented` is the CSRF token of the session `session_token` (in constant
/// time).
pub fn csrf_matches(session_token: &str, presented: &str) -> bool {
    let Ok(tag) = URL_SAFE_NO_PAD.decode(presented.trim()) else {
        return false;
    };
    let key = hmac::Key::new(hmac::HMAC_SHA256, session_token.as_bytes());
    hmac::verify(&key, CSRF_LABEL, &tag).is_ok()
}

/// Whether the request came over TLS (directly, or through a trusted proxy that says
/// so): only then is a cookie marked `Secure`, or a browser on plain HTTP would drop
/// it.
fn over_tls(headers: &HeaderMap, trust_proxy: bool) -> bool {
    trust_proxy
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value for a session cookie.
pub fn session_cookie(
    name: &'static str,
    path: &'static str,
    token: &str,
    max_age: chrono::Duration,
    headers: &HeaderMap,
    trust_proxy: bool,
) -> String {
    Cookie::build((name, token.to_owned()))
        .path(path)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(over_tls(headers, trust_proxy))
        .max_age(cookie::time::Duration::seconds(max_age.num_seconds()))
        .build()
        .to_string()
}

/// A `Set-Cookie` value that removes a session cookie.
pub fn removal_cookie(name: &'static str, path: &'static str) -> String {
    let mut cookie = Cookie::build((name, "")).path(path).http_only(true).build();
    cookie.make_removal();
    cookie.to_string()
}

/// The value of cookie `name`, if the request has it.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 256)
}

/// Refuses a state-changing request that the browser says comes from another site.
/// Browsers send `Sec-Fetch-Site` (Fetch Metadata): only `same-origin` (and `none`, a
/// request the person made themselves) may change anything. A browser too old for it
/// still sends `Origin` on a POST, which must then be this host. A request with neither
/// (a script, a test) still needs the CSRF token.
pub fn check_same_origin(parts: &Parts) -> Result<(), PageError> {
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let header = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
    match header("sec-fetch-site") {
        Some("same-origin" | "none") => return Ok(()),
        Some(_) => return Err(PageError::CrossSite),
        None => {}
    }
    if let Some(origin) = header(header::ORIGIN.as_str()) {
        let host = header(header::HOST.as_str()).unwrap_or_default();
        let origin_host = origin.split_once("://").map(|(_, rest)| rest);
        if origin_host != Some(host) {
            return Err(PageError::CrossSite);
        }
    }
    Ok(())
}

/// A form posted before there is a session (a login form): a same-origin request whose
/// urlencoded body is parsed; the page's language and the request's headers (for the
/// cookie's `Secure` flag) come with it.
pub struct PreSessionForm<T> {
    /// Language and path.
    pub web: Web,
    /// The request's headers.
    pub headers: HeaderMap,
    /// The form.
    pub form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for PreSessionForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        check_same_origin(&parts)?;
        let web = Web::from_request_parts(&mut parts, state).await?;
        let lang = web.lang;
        let bytes = axum::body::to_bytes(body, FORM_LIMIT)
            .await
            .map_err(|_| PageError::BadForm(lang))?;
        let form = serde_html_form::from_bytes(&bytes).map_err(|_| PageError::BadForm(lang))?;
        Ok(Self {
            web,
            headers: parts.headers,
            form,
        })
    }
}

/// A console page request by a logged-in staff member.
#[derive(Debug, Clone)]
pub struct Console {
    /// Language, path, and the page chrome.
    pub web: Web,
    /// Who.
    pub staff: Staff,
    /// The session (for logout and password change).
    pub session: SessionId,
    /// The session token (never shown; the CSRF token is derived from it).
    token: SecretString,
}

impl Console {
    /// The page chrome for this staff member, with `section` marked in the menu.
    pub fn chrome(&self, section: &'static str) -> Chrome {
        self.web.chrome(Some(super::StaffChrome {
            name: self.staff.display_name.clone(),
            username: self.staff.username.clone(),
            role: self.staff.role,
            csrf: csrf_token(self.token.expose()),
            section,
        }))
    }
}

impl FromRequestParts<AppState> for Console {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let web = Web::from_request_parts(parts, state).await?;
        // Back to the page after logging in; a form's target is no page to go back to
        // (it answers POST only), so then the dashboard.
        let login = || PageError::Login {
            next: if parts.method == Method::GET {
                web.path_and_query.clone()
            } else {
                String::from("/console/")
            },
            htmx: parts.headers.contains_key("hx-request"),
        };
        let Some(token) = cookie_value(&parts.headers, STAFF_COOKIE) else {
            return Err(login());
        };
        match auth::authenticate(&state.ctx, &token).await {
            Ok(Authenticated::Staff { session, staff }) => Ok(Self {
                web,
                staff,
                session,
                token: SecretString::new(token),
            }),
            Ok(Authenticated::Patron { .. }) | Err(crate::service::Error::Unauthenticated) => {
                Err(login())
            }
            Err(err) => Err(PageError::service(err, web.lang)),
        }
    }
}

/// A state-changing console request: a logged-in staff member, a same-origin request
/// and a form (`application/x-www-form-urlencoded`) carrying the session's CSRF token.
pub struct ConsoleForm<T> {
    /// Who, and the page chrome.
    pub console: Console,
    /// The form.
    pub form: T,
}

#[derive(serde::Deserialize)]
struct CsrfOnly {
    csrf: Option<String>,
}

/// Whether a request carries the CSRF token of the session `session_token`, in its
/// `X-CSRF-Token` header (scripts) or its form field (forms).
pub fn csrf_presented(session_token: &str, headers: &HeaderMap, field: Option<&str>) -> bool {
    let presented = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .or(field);
    presented.is_some_and(|p| csrf_matches(session_token, p))
}

/// Checks the CSRF token of a console request from its header or its form field.
pub fn check_csrf(console: &Console, headers: &HeaderMap, field: Option<&str>) -> bool {
    csrf_presented(console.token.expose(), headers, field)
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for ConsoleForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        check_same_origin(&parts)?;
        let console = Console::from_request_parts(&mut parts, state).await?;
        let lang = console.web.lang;
        let bytes = axum::body::to_bytes(body, FORM_LIMIT)
            .await
            .map_err(|_| PageError::BadForm(lang))?;
        let token: CsrfOnly =
            serde_html_form::from_bytes(&bytes).map_err(|_| PageError::BadForm(lang))?;
        if !check_csrf(&console, &parts.headers, token.csrf.as_deref()) {
            return Err(PageError::CrossSite);
        }
        let form = serde_html_form::from_bytes(&bytes).map_err(|err| {
            tracing::debug!(error = %err, "a console form did not parse");
            PageError::BadForm(lang)
        })?;
        Ok(Self { console, form })
    }
}

/// A state-changing console request with a `multipart/form-data` body (uploads): a
/// logged-in staff member, a same-origin request, and the CSRF token as the form's
/// FIRST field (the forms put it first), checked before any file is read.
pub struct ConsoleMultipart {
    /// Who, and the page chrome.
    pub console: Console,
    /// The rest of the form, after the CSRF field.
    pub multipart: axum::extract::Multipart,
}

impl FromRequest<AppState> for ConsoleMultipart {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        check_same_origin(&parts)?;
        let console = Console::from_request_parts(&mut parts, state).await?;
        let lang = console.web.lang;
        let headers = parts.headers.clone();
        let mut multipart =
            axum::extract::Multipart::from_request(Request::from_parts(parts, body), state)
                .await
                .map_err(|_| PageError::BadForm(lang))?;
        let first = multipart
            .next_field()
            .await
            .map_err(|_| PageError::BadForm(lang))?;
        let token = match first {
            Some(field) if field.name() == Some(CSRF_FIELD) => {
                Some(field.text().await.map_err(|_| PageError::BadForm(lang))?)
            }
            _ => None,
        };
        if !check_csrf(&console, &headers, token.as_deref()) {
            return Err(PageError::CrossSite);
        }
        Ok(Self { console, multipart })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csrf_token_belongs_to_its_session_only() {
        let token = csrf_token("session-a");
        assert!(csrf_matches("session-a", &token));
        assert!(!csrf_matches("session-b", &token));
        assert!(!csrf_matches("session-a", ""));
        assert!(!csrf_matches("session-a", "not base64 !"));
        let mut tampered = token.into_bytes();
        tampered[0] = if tampered[0] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).expect("ascii");
        assert!(!csrf_matches("session-a", &tampered));
    }

    #[test]
    fn cookies_are_read_from_any_cookie_header() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, "a=1; jieyue_staff=tok".parse().expect("v"));
        headers.append(header::COOKIE, "lang=en".parse().expect("v"));
        assert_eq!(cookie_value(&headers, STAFF_COOKIE).as_deref(), Some("tok"));
        assert_eq!(cookie_value(&headers, "lang").as_deref(), Some("en"));
        assert_eq!(cookie_value(&headers, "missing"), None);
    }

    #[test]
    fn a_session_cookie_is_http_only_strict_and_secure_only_over_tls() {
        let mut headers = HeaderMap::new();
        let plain = session_cookie(
            STAFF_COOKIE,
            STAFF_PATH,
            "t",
            chrono::Duration::hours(8),
            &headers,
            true,
        );
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Strict"));
        assert!(plain.contains("Path=/console") && plain.contains("Max-Age=28800"));
        assert!(!plain.contains("Secure"));
        headers.insert("x-forwarded-proto", "https".parse().expect("v"));
        let proxied = session_cookie(
            STAFF_COOKIE,
            STAFF_PATH,
            "t",
            chrono::Duration::hours(8),
            &headers,
            true,
        );
        assert!(proxied.contains("Secure"));
        let untrusted = session_cookie(
            STAFF_COOKIE,
            STAFF_PATH,
            "t",
            chrono::Duration::hours(8),
            &headers,
            false,
        );
        assert!(!untrusted.contains("Secure"));
    }
}
