//! The reader's web app under `/reader/`: find and borrow books, the shelf, and reading
//! in the browser. Phone first, also usable on a desktop and with a TV remote (every
//! control is a link or a button the arrow keys reach). Each handler extracts, calls
//! one service function (the ones the JSON API calls for a logged-in patron) and
//! renders; the reader's session is the cookie of `reader_session`.
//!
//! The app can be added to a home screen: `/reader/manifest.webmanifest` with its
//! icons. There is no offline reading in the browser.

mod account;
mod catalogue;
mod read;
mod shelf;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use fluent_bundle::{FluentArgs, FluentValue};

use super::reader_session::{READER_HOME, ReaderError};
use super::{Lang, i18n};
use crate::http::AppState;

/// The reader app's stylesheet (on top of the site's), compiled in.
const APP_CSS: &str = include_str!("../../../../static/reader-app.css");
/// The app icon (any size), compiled in.
const ICON_SVG: &str = include_str!("../../../../static/reader-icon.svg");
/// The app icon, 192 × 192 pixels.
const ICON_192: &[u8] = include_bytes!("../../../../static/reader-icon-192.png");
/// The app icon, 512 × 512 pixels (also maskable: the artwork keeps to the safe zone).
const ICON_512: &[u8] = include_bytes!("../../../../static/reader-icon-512.png");
/// The colour of the app's title bar.
pub const THEME_COLOR: &str = "#9b2c1f";

/// The reader app's routes (full paths under `/reader/`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/reader", get(|| async { see_other(READER_HOME) }))
        .route("/reader/", get(catalogue::search_page))
        .route("/reader/titles/{id}", get(catalogue::title_page))
        .route("/reader/titles/{id}/borrow", post(catalogue::borrow))
        .route("/reader/titles/{id}/hold", post(catalogue::place_hold))
        .route(
            "/reader/login",
            get(account::login_page).post(account::login),
        )
        .route("/reader/logout", post(account::logout))
        .route("/reader/shelf", get(shelf::page))
        .route("/reader/loans/{loan}/renew", post(shelf::renew))
        .route(
            "/reader/loans/{loan}/return",
            get(shelf::return_page).post(shelf::return_loan),
        )
        .route("/reader/holds/{hold}/suspend", post(shelf::suspend))
        .route("/reader/holds/{hold}/cancel", post(shelf::cancel))
        .route(
            "/reader/devices/{device}/remove",
            post(shelf::remove_device),
        )
        .route("/reader/manifest.webmanifest", get(manifest))
        .route(
            "/reader/app.css",
            get(|| asset("text/css; charset=utf-8", APP_CSS.as_bytes())),
        )
        .route(
            "/reader/icon.svg",
            get(|| asset("image/svg+xml", ICON_SVG.as_bytes())),
        )
        .route("/reader/icon-192.png", get(|| asset("image/png", ICON_192)))
        .route("/reader/icon-512.png", get(|| asset("image/png", ICON_512)))
        .merge(read::routes())
}

/// A static file of the app.
async fn asset(content_type: &'static str, body: &'static [u8]) -> Response {
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

/// The web app manifest: the app's name, where it starts, how it shows (standalone, no
/// browser bar) and its icons.
pub fn manifest_json() -> serde_json::Value {
    serde_json::json!({
        "id": READER_HOME,
        "name": "借阅 Jieyue",
        "short_name": "借阅",
        "description": "借阅图书馆的电子书，在浏览器里阅读。Borrow your library's e-books and read them in the browser.",
        "lang": "zh-CN",
        "dir": "ltr",
        "start_url": READER_HOME,
        "scope": READER_HOME,
        "display": "standalone",
        "orientation": "any",
        "background_color": "#ffffff",
        "theme_color": THEME_COLOR,
        "categories": ["books", "education"],
        "icons": [
            { "src": "/reader/icon.svg", "sizes": "any", "type": "image/svg+xml" },
            { "src": "/reader/icon-192.png", "sizes": "192x192", "type": "image/png" },
            { "src": "/reader/icon-512.png", "sizes": "512x512", "type": "image/png",
              "purpose": "any" },
            { "src": "/reader/icon-512.png", "sizes": "512x512", "type": "image/png",
              "purpose": "maskable" },
        ],
    })
}

/// `GET /reader/manifest.webmanifest`.
async fn manifest() -> Response {
    let mut response = (
        [
            (header::CONTENT_TYPE, "application/manifest+json"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        manifest_json().to_string(),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    response
}

/// Redirects to `to` after a form post (303: the browser then GETs it, so a reload
/// does not post twice).
pub(crate) fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// The id in a reader path; a malformed one is as unknown as a missing one (a 404
/// page naming `what`).
pub(crate) fn path_id(
    raw: &str,
    what: &'static str,
    fail: impl FnOnce(crate::service::Error) -> ReaderError,
) -> Result<uuid::Uuid, ReaderError> {
    uuid::Uuid::parse_str(raw).map_err(|_| fail(crate::service::Error::NotFound(what)))
}

/// The message `key` in `lang` with two arguments.
pub(crate) fn words2<'a>(
    lang: Lang,
    key: &str,
    first: (&'a str, impl Into<FluentValue<'a>>),
    second: (&'a str, impl Into<FluentValue<'a>>),
) -> String {
    let mut args = FluentArgs::new();
    args.set(first.0, first.1.into());
    args.set(second.0, second.1.into());
    i18n::catalogue(lang).format(key, Some(&args))
}

/// A refusal named in a redirect (`?refused=no-copy-available`) as words, if it is one
/// the pages know.
pub(crate) fn refusal_words(lang: Lang, slug: Option<&str>) -> Option<String> {
    let slug = slug.filter(|s| {
        !s.is_empty() && s.len() <= 40 && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
    })?;
    let key = super::reader_session::problem_key(lang, slug)?;
    Some(i18n::catalogue(lang).format(&key, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `"reader-…"` message key the reader's Rust code names exists in every
    /// language (the templates are checked by the i18n tests).
    #[test]
    fn every_message_the_reader_code_names_exists() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http/web");
        let mut files = vec![root.join("reader_session.rs")];
        for entry in std::fs::read_dir(root.join("reader")).expect("reader dir") {
            files.push(entry.expect("entry").path());
        }
        let mut keys = std::collections::BTreeSet::new();
        for file in files {
            let text = std::fs::read_to_string(&file).expect("source");
            for (at, _) in text.match_indices("\"reader-") {
                let rest = &text[at + 1..];
                if let Some(end) = rest.find('"') {
                    let key = &rest[..end];
                    // Whole keys only: not a prefix, not a `format!` pattern; the
                    // reading page's `reader-read-…` keys live in their own file.
                    let whole = key
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
                    if whole && !key.ends_with('-') && !key.starts_with("reader-read-") {
                        keys.insert(key.to_owned());
                    }
                }
            }
        }
        assert!(keys.len() > 20, "the scan found too few keys: {keys:?}");
        for lang in Lang::ALL {
            let missing: Vec<_> = keys
                .iter()
                .filter(|k| !i18n::catalogue(lang).has(k))
                .collect();
            assert!(missing.is_empty(), "{} lacks {missing:?}", lang.tag());
        }
    }

    #[test]
    fn the_manifest_starts_the_app_standalone_with_icons() {
        let m = manifest_json();
        assert_eq!(m["start_url"], "/reader/");
        assert_eq!(m["display"], "standalone");
        let icons = m["icons"].as_array().expect("icons");
        for size in ["192x192", "512x512"] {
            assert!(icons.iter().any(|i| i["sizes"] == size), "{size}");
        }
        assert!(ICON_192.starts_with(b"\x89PNG") && ICON_512.starts_with(b"\x89PNG"));
    }

    #[test]
    fn a_refusal_slug_becomes_words_only_when_known() {
        assert!(refusal_words(Lang::ZhCn, Some("loan-limit")).is_some());
        assert!(refusal_words(Lang::En, Some("renewal-limit")).is_some());
        assert_eq!(refusal_words(Lang::En, Some("site-name")), None);
        assert_eq!(refusal_words(Lang::En, Some("<script>")), None);
        assert_eq!(refusal_words(Lang::En, None), None);
    }
}
