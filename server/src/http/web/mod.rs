//! Pages for people with a browser: server-rendered HTML (askama templates, Fluent
//! catalogues in Chinese and English), one stylesheet, htmx and one small script of our
//! own, all served by the binary; no inline script, no build step. Every control is a
//! real link or form that works without JavaScript; htmx only makes some of them
//! quicker (a request with `HX-Request` gets the part of the page it asked for).
//!
//! `/` is the home page, `/docs/` the guides, `/console/` the librarians' console.

pub mod console;
mod home;
pub mod i18n;
pub mod reader;
pub mod reader_session;
pub mod session;

use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use fluent_langneg::{
    NegotiationStrategy, accepted_languages, convert_vec_str_to_langids_lossy, negotiate_languages,
};
use jieyue_protocol::problem::ProblemType;
use unic_langid::LanguageIdentifier;

use super::AppState;
use super::problem::ApiError;
use crate::domain::StaffRole;
pub use i18n::Lang;
use i18n::{ArgValue, Catalogue};

/// The stylesheet, compiled in.
const STYLESHEET: &str = include_str!("../../../static/jieyue.css");
/// The site's icon, compiled in.
const ICON: &str = include_str!("../../../static/icon.svg");
/// htmx (0BSD licence, `static/htmx-LICENSE.txt`), compiled in.
const HTMX: &str = include_str!("../../../static/htmx-2.0.11.min.js");
/// The console's own script (upload progress), compiled in.
const CONSOLE_JS: &str = include_str!("../../../static/console.js");
/// The reader page's script (lays the book out in its frame), compiled in.
const READER_JS: &str = include_str!("../../../static/reader.js");
/// The media page's script (plays tracks and videos, keeps the time position).
const MEDIA_JS: &str = include_str!("../../../static/media.js");
/// The version in asset URLs, so a new binary is never served an old cached asset.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The language cookie, set when a page is asked for with `?lang=`.
const LANG_COOKIE: &str = "lang";

/// The page routes; uploads through the console accept up to `max_upload_bytes`.
pub fn routes(max_upload_bytes: usize) -> Router<AppState> {
    Router::new()
        .route("/", get(home::home))
        .route("/docs/{name}", get(home::guide))
        .route(
            "/static/jieyue.css",
            get(|| asset("text/css; charset=utf-8", STYLESHEET)),
        )
        .route("/static/icon.svg", get(|| asset("image/svg+xml", ICON)))
        .route(
            "/static/htmx.min.js",
            get(|| asset("text/javascript; charset=utf-8", HTMX)),
        )
        .route(
            "/static/console.js",
            get(|| asset("text/javascript; charset=utf-8", CONSOLE_JS)),
        )
        .route(
            "/static/reader.js",
            get(|| asset("text/javascript; charset=utf-8", READER_JS)),
        )
        .route(
            "/static/media.js",
            get(|| asset("text/javascript; charset=utf-8", MEDIA_JS)),
        )
        .merge(console::routes(max_upload_bytes))
        .merge(reader::routes())
}

/// A length of time as people read it: `0:07`, `12:05`, `1:06:40`.
pub fn duration_text(seconds: f64) -> String {
    let total = if seconds.is_finite() && seconds > 0.0 {
        seconds.round() as u64
    } else {
        0
    };
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

async fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// The page language: `?lang=` if it names one we have, else the `lang` cookie, else
/// the best match for the browser's `Accept-Language`, else Chinese.
fn page_language(query_lang: Option<&str>, headers: &HeaderMap) -> (Lang, bool) {
    let tags = Lang::ALL.map(Lang::tag);
    let available = convert_vec_str_to_langids_lossy(tags);
    let pick = |requested: Vec<LanguageIdentifier>| -> Option<Lang> {
        let chosen =
            negotiate_languages(&requested, &available, None, NegotiationStrategy::Filtering);
        Lang::from_tag(&chosen.first()?.to_string())
    };
    if let Some(lang) = query_lang.and_then(|l| pick(convert_vec_str_to_langids_lossy([l]))) {
        return (lang, true);
    }
    let from_cookie = session::cookie_value(headers, LANG_COOKIE).and_then(|l| Lang::from_tag(&l));
    let from_browser = || {
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| pick(accepted_languages::parse(value)))
    };
    (
        from_cookie.or_else(from_browser).unwrap_or(Lang::ZhCn),
        false,
    )
}

/// What every page request knows before its handler runs: the language, the path,
/// and whether htmx asked for a part of the page.
#[derive(Debug, Clone)]
pub struct Web {
    /// The page language.
    pub lang: Lang,
    /// Whether `?lang=` chose it (then the choice is remembered in a cookie).
    lang_chosen: bool,
    /// The request's path and query (for the language switch and the login's `next`).
    pub path_and_query: String,
    /// An htmx request for a fragment (not a boosted whole-page navigation).
    pub fragment: bool,
    /// The libraries' calendar.
    pub calendar: crate::domain::Calendar,
}

impl FromRequestParts<AppState> for Web {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let query: Vec<(String, String)> =
            serde_html_form::from_str(parts.uri.query().unwrap_or_default()).unwrap_or_default();
        let query_lang = query
            .iter()
            .find(|(k, _)| k == "lang")
            .map(|(_, v)| v.as_str());
        let (lang, lang_chosen) = page_language(query_lang, &parts.headers);
        let rest: Vec<&(String, String)> = query.iter().filter(|(k, _)| k != "lang").collect();
        let mut path_and_query = parts.uri.path().to_owned();
        if !rest.is_empty() {
            path_and_query.push('?');
            path_and_query.push_str(&serde_html_form::to_string(&rest).unwrap_or_default());
        }
        let hx = |name: &str| parts.headers.get(name).is_some_and(|v| v == "true");
        Ok(Self {
            lang,
            lang_chosen,
            path_and_query,
            fragment: hx("hx-request") && !hx("hx-boosted"),
            calendar: state.ctx.calendar,
        })
    }
}

impl Web {
    /// The chrome of a page with (or without) a logged-in staff member.
    pub fn chrome(&self, staff: Option<StaffChrome>) -> Chrome {
        Chrome {
            lang: self.lang,
            tr: i18n::catalogue(self.lang),
            version: VERSION,
            path_and_query: self.path_and_query.clone(),
            staff,
            calendar: self.calendar,
        }
    }

    /// Renders `page` as a whole HTML response with the pages' headers.
    pub fn render(&self, page: &impl Template) -> Result<Response, PageError> {
        let body = page.render().map_err(|err| {
            PageError::service(
                crate::service::Error::internal("rendering a page")(err),
                self.lang,
            )
        })?;
        let mut response =
            ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
        page_headers(&mut response, self.lang);
        if self.lang_chosen {
            let cookie = cookie::Cookie::build((LANG_COOKIE, self.lang.tag()))
                .path("/")
                .same_site(cookie::SameSite::Lax)
                .max_age(cookie::time::Duration::days(365))
                .build();
            if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
        }
        Ok(response)
    }
}

/// The staff member a console page is drawn for.
#[derive(Debug, Clone)]
pub struct StaffChrome {
    /// Display name.
    pub name: String,
    /// Login name.
    pub username: String,
    /// Role (the menu shows what the role may use).
    pub role: StaffRole,
    /// The session's CSRF token, put in every form.
    pub csrf: String,
    /// The menu entry of this page.
    pub section: &'static str,
}

/// What the layout needs on every page: words, language, the version, who is logged
/// in. Templates call `c.t("key")`.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// The page language.
    pub lang: Lang,
    tr: &'static Catalogue,
    /// The server version (asset URLs, footer).
    pub version: &'static str,
    path_and_query: String,
    /// The logged-in staff member, on console pages.
    pub staff: Option<StaffChrome>,
    /// The libraries' calendar (dates and times are shown in it).
    pub calendar: crate::domain::Calendar,
}

impl Chrome {
    /// The name of a kind of publication (电子书, 有声书, …).
    pub fn kind_name(&self, kind: crate::domain::PublicationKind) -> String {
        self.t(&format!("kind-{}", kind.as_str().replace('_', "-")))
    }

    /// The message `key`.
    pub fn t(&self, key: &str) -> String {
        self.tr.format(key, None)
    }

    /// The message `key` with one argument.
    pub fn t1(&self, key: &str, name: &str, value: impl Into<ArgValue>) -> String {
        self.tr.format1(key, name, value)
    }

    /// The message `key` with two arguments.
    pub fn t2(
        &self,
        key: &str,
        name1: &str,
        value1: impl Into<ArgValue>,
        name2: &str,
        value2: impl Into<ArgValue>,
    ) -> String {
        self.tr
            .format2(key, (name1, value1.into()), (name2, value2.into()))
    }

    /// The `lang` attribute.
    pub fn lang_tag(&self) -> &'static str {
        self.lang.tag()
    }

    /// This page in the other language.
    pub fn other_lang_href(&self) -> String {
        let sep = if self.path_and_query.contains('?') {
            '&'
        } else {
            '?'
        };
        format!(
            "{}{sep}lang={}",
            self.path_and_query,
            self.lang.other().tag()
        )
    }

    /// The session's CSRF token (empty outside the console).
    pub fn csrf(&self) -> &str {
        self.staff.as_ref().map_or("", |s| s.csrf.as_str())
    }

    /// Whether the menu entry `section` is this page's.
    pub fn is_section(&self, section: &str) -> bool {
        self.staff.as_ref().is_some_and(|s| s.section == section)
    }

    /// Whether the menu shows `section` to the logged-in staff member: libraries and
    /// staff accounts to those who manage them (consortium admins and library
    /// managers), distribution to consortium admins; the services decide what each may
    /// change.
    pub fn shows_section(&self, section: &str) -> bool {
        let role = self.staff.as_ref().map(|s| s.role);
        match section {
            "admin" => matches!(
                role,
                Some(StaffRole::ConsortiumAdmin | StaffRole::LibraryManager)
            ),
            "distribution" => role == Some(StaffRole::ConsortiumAdmin),
            _ => true,
        }
    }

    /// Whether the logged-in staff member runs the whole consortium.
    pub fn is_consortium_admin(&self) -> bool {
        self.staff
            .as_ref()
            .is_some_and(|s| s.role == StaffRole::ConsortiumAdmin)
    }

    /// A moment in the libraries' time, to the minute.
    pub fn datetime(&self, at: &chrono::DateTime<chrono::Utc>) -> String {
        self.calendar.format_minute(*at)
    }

    /// The libraries' date at a moment.
    pub fn date(&self, at: &chrono::DateTime<chrono::Utc>) -> String {
        self.calendar.date_of(*at).to_string()
    }

    /// The last date something ending at `end` is valid on (a card or a lot "valid
    /// through" that date).
    pub fn through_date(&self, end: &chrono::DateTime<chrono::Utc>) -> String {
        self.calendar.through_date(*end).to_string()
    }
}

/// Headers every page carries: scripts only from this server (htmx and ours, never
/// inline), nothing may frame the page, the type is never sniffed, no referrer leaves
/// the site, and pages with a session are never stored by a cache.
fn page_headers(response: &mut Response, lang: Lang) {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             media-src 'self'; connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; \
             frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // `same-origin`, not `no-referrer`: with no referrer at all a browser sends
    // `Origin: null` on our own form posts.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::VARY,
        HeaderValue::from_static("Accept-Language, Cookie, HX-Request"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(lang.tag()),
    );
}

/// Why a page could not be shown.
#[derive(Debug)]
pub enum PageError {
    /// No staff session: go to the login page, then come back.
    Login {
        /// Where to come back to.
        next: String,
        /// An htmx request: the browser must load the login page, not swap it into a
        /// part of the current one.
        htmx: bool,
    },
    /// A state-changing request without this session's CSRF token, or from another
    /// site.
    CrossSite,
    /// A form that does not parse.
    BadForm(Lang),
    /// The use case refused or failed.
    Service {
        /// As the API would answer it.
        error: ApiError,
        /// The page language.
        lang: Lang,
    },
}

impl PageError {
    /// A service error on a page in `lang`.
    pub fn service(error: crate::service::Error, lang: Lang) -> Self {
        PageError::Service {
            error: ApiError::from(error),
            lang,
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    c: Chrome,
    status: u16,
    heading: String,
    detail: String,
    fields: Vec<(String, String)>,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, lang, kind, detail, fields) = match self {
            PageError::Login { next, htmx } => {
                let mut to = String::from("/console/login");
                if next.starts_with("/console") && next != "/console/login" {
                    to.push_str("?next=");
                    to.push_str(
                        &percent_encoding::utf8_percent_encode(
                            &next,
                            percent_encoding::NON_ALPHANUMERIC,
                        )
                        .to_string(),
                    );
                }
                if htmx {
                    let mut response = StatusCode::NO_CONTENT.into_response();
                    if let Ok(value) = HeaderValue::from_str(&to) {
                        response.headers_mut().insert("hx-redirect", value);
                    }
                    return response;
                }
                return Redirect::to(&to).into_response();
            }
            PageError::CrossSite => (
                StatusCode::FORBIDDEN,
                Lang::ZhCn,
                String::from("page-cross-site"),
                String::new(),
                Vec::new(),
            ),
            PageError::BadForm(lang) => (
                StatusCode::BAD_REQUEST,
                lang,
                String::from("page-bad-form"),
                String::new(),
                Vec::new(),
            ),
            PageError::Service { error, lang } => {
                let problem = error.to_problem();
                let slug = ProblemType::from_uri(&problem.kind).map_or("internal", |k| k.slug());
                let status = StatusCode::from_u16(problem.status)
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let fields = problem
                    .errors
                    .into_iter()
                    .map(|e| (e.field, e.message))
                    .collect();
                let key = format!("problem-{slug}");
                let tr = i18n::catalogue(lang);
                // Our own words when we have them; else the service's (English) detail.
                let specific = matches!(slug, "conflict" | "forbidden" | "malformed-request");
                let detail = if tr.has(&key) && !specific {
                    String::new()
                } else {
                    problem.detail.unwrap_or_default()
                };
                let kind = if tr.has(&key) {
                    key
                } else {
                    String::from("problem-internal")
                };
                (status, lang, kind, detail, fields)
            }
        };
        let web = Web {
            lang,
            lang_chosen: false,
            path_and_query: String::from("/"),
            fragment: false,
            calendar: crate::domain::Calendar::default(),
        };
        let c = web.chrome(None);
        let page = ErrorPage {
            heading: c.t(&kind),
            c,
            status: status.as_u16(),
            detail,
            fields,
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

    fn lang_for(query: Option<&str>, cookie: Option<&str>, accept: Option<&str>) -> &'static str {
        let mut headers = HeaderMap::new();
        if let Some(accept) = accept {
            headers.insert(
                header::ACCEPT_LANGUAGE,
                HeaderValue::from_str(accept).expect("header"),
            );
        }
        if let Some(cookie) = cookie {
            headers.insert(
                header::COOKIE,
                HeaderValue::from_str(&format!("lang={cookie}")).expect("header"),
            );
        }
        page_language(query, &headers).0.tag()
    }

    #[test]
    fn the_page_language_follows_the_query_then_the_cookie_then_the_browser_then_chinese() {
        assert_eq!(lang_for(None, None, None), "zh-CN");
        assert_eq!(lang_for(None, None, Some("en-GB,en;q=0.9")), "en");
        assert_eq!(
            lang_for(None, None, Some("zh-TW,zh;q=0.9,en;q=0.8")),
            "zh-CN"
        );
        assert_eq!(lang_for(None, None, Some("fr-FR,en;q=0.5")), "en");
        assert_eq!(lang_for(None, None, Some("fr-FR")), "zh-CN");
        assert_eq!(lang_for(Some("en"), None, Some("zh-CN")), "en");
        assert_eq!(lang_for(Some("zh-CN"), Some("en"), Some("en")), "zh-CN");
        assert_eq!(lang_for(Some("xx"), None, Some("en")), "en");
        assert_eq!(lang_for(Some("xx"), None, None), "zh-CN");
        assert_eq!(lang_for(None, Some("en"), Some("zh-CN")), "en");
        assert_eq!(lang_for(None, Some("xx"), Some("en")), "en");
    }
}
