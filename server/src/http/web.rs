//! Pages for people with a browser: server-rendered HTML (askama), one stylesheet
//! served by the binary, no scripts. Today the home page at `/` (what this server is,
//! its member libraries, the machine interfaces) and the guides under `/docs/`; the
//! librarian console and the reader's web app will be built on the same pieces.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use fluent_langneg::{
    LanguageIdentifier, NegotiationStrategy, accepted_languages, convert_vec_str_to_langids_lossy,
    negotiate_languages,
};
use serde::Deserialize;

use super::AppState;
use super::problem::ApiError;
use crate::domain::Library;
use crate::service::libraries;

/// The languages of the pages, the first being the default.
const LANGUAGES: [&str; 2] = ["zh-CN", "en"];

/// The stylesheet, compiled in.
const STYLESHEET: &str = include_str!("../../static/jieyue.css");
/// The site's icon, compiled in.
const ICON: &str = include_str!("../../static/icon.svg");

/// A guide compiled into the binary, readable at `/docs/{name}`.
pub struct Guide {
    /// File name under `/docs/`.
    pub name: &'static str,
    /// Title in Chinese.
    pub title_zh: &'static str,
    /// Title in English.
    pub title_en: &'static str,
    text: &'static str,
}

const GUIDES: [Guide; 5] = [
    Guide {
        name: "librarians.md",
        title_zh: "馆员指南：编目、复本与借阅规则",
        title_en: "Librarians' guide: cataloguing, copies and lending rules",
        text: include_str!("../../../docs/librarians.md"),
    },
    Guide {
        name: "mobile.md",
        title_zh: "移动开发者指南（Kotlin、Swift）",
        title_en: "Guide for mobile developers (Kotlin, Swift)",
        text: include_str!("../../../docs/mobile.md"),
    },
    Guide {
        name: "api-errors.md",
        title_zh: "API 错误类型",
        title_en: "API errors",
        text: include_str!("../../../docs/api-errors.md"),
    },
    Guide {
        name: "configuration.md",
        title_zh: "服务器配置",
        title_en: "Server configuration",
        text: include_str!("../../../docs/configuration.md"),
    },
    Guide {
        name: "ARCHITECTURE.md",
        title_zh: "系统架构",
        title_en: "Architecture",
        text: include_str!("../../../docs/ARCHITECTURE.md"),
    },
];

/// The page routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/static/jieyue.css", get(stylesheet))
        .route("/static/icon.svg", get(icon))
        .route("/docs/{name}", get(guide))
}

#[derive(Debug, Default, Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

/// The page language: `?lang=` if it names one we have, else the best match for the
/// browser's `Accept-Language`, else Chinese.
fn page_language(query: &LangQuery, headers: &HeaderMap) -> &'static str {
    let available = convert_vec_str_to_langids_lossy(LANGUAGES);
    let pick = |requested: Vec<LanguageIdentifier>| -> Option<&'static str> {
        let chosen =
            negotiate_languages(&requested, &available, None, NegotiationStrategy::Filtering);
        let first = chosen.first()?.to_string();
        LANGUAGES.into_iter().find(|tag| *tag == first)
    };
    let from_query = query
        .lang
        .as_deref()
        .and_then(|lang| pick(convert_vec_str_to_langids_lossy([lang])));
    let from_browser = || {
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| pick(accepted_languages::parse(value)))
    };
    from_query.or_else(from_browser).unwrap_or(LANGUAGES[0])
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    lang: &'a str,
    version: &'a str,
    libraries: Vec<Library>,
    docs: &'a [Guide],
}

/// Headers every page carries: no script may run, nothing may frame the page, the
/// type is never sniffed, no referrer leaves the site.
fn page_headers(response: &mut Response, lang: &str) {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    if let Ok(value) = HeaderValue::from_str(lang) {
        h.insert(header::CONTENT_LANGUAGE, value);
    }
}

fn html(page: &impl Template, lang: &str) -> Result<Response, ApiError> {
    let body = page
        .render()
        .map_err(crate::service::Error::internal("rendering a page"))?;
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    page_headers(&mut response, lang);
    Ok(response)
}

async fn home(
    State(state): State<AppState>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let lang = page_language(&query, &headers);
    let libraries = libraries::list(&state.ctx).await?;
    html(
        &HomePage {
            lang,
            version: env!("CARGO_PKG_VERSION"),
            libraries,
            docs: &GUIDES,
        },
        lang,
    )
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        STYLESHEET,
    )
        .into_response()
}

async fn icon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        ICON,
    )
        .into_response()
}

/// A guide as Markdown text (browsers show it as it is).
async fn guide(Path(name): Path<String>) -> Result<Response, ApiError> {
    let Some(guide) = GUIDES.iter().find(|g| g.name == name) else {
        return Err(crate::service::Error::NotFound("guide").into());
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        guide.text,
    )
        .into_response();
    page_headers(&mut response, "en");
    response.headers_mut().remove(header::CONTENT_LANGUAGE);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang_for(query: Option<&str>, accept: Option<&str>) -> &'static str {
        let mut headers = HeaderMap::new();
        if let Some(accept) = accept {
            headers.insert(
                header::ACCEPT_LANGUAGE,
                HeaderValue::from_str(accept).expect("header"),
            );
        }
        page_language(
            &LangQuery {
                lang: query.map(str::to_owned),
            },
            &headers,
        )
    }

    #[test]
    fn the_page_language_follows_the_query_then_the_browser_then_chinese() {
        assert_eq!(lang_for(None, None), "zh-CN");
        assert_eq!(lang_for(None, Some("en-GB,en;q=0.9")), "en");
        assert_eq!(lang_for(None, Some("zh-TW,zh;q=0.9,en;q=0.8")), "zh-CN");
        assert_eq!(lang_for(None, Some("fr-FR,en;q=0.5")), "en");
        assert_eq!(lang_for(None, Some("fr-FR")), "zh-CN");
        assert_eq!(lang_for(Some("en"), Some("zh-CN")), "en");
        assert_eq!(lang_for(Some("zh-CN"), Some("en")), "zh-CN");
        assert_eq!(lang_for(Some("xx"), Some("en")), "en");
        assert_eq!(lang_for(Some("xx"), None), "zh-CN");
    }
}
