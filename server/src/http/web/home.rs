//! The home page at `/` and the guides under `/docs/`.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::{Chrome, PageError, Web};
use crate::domain::Library;
use crate::http::AppState;
use crate::service::libraries;

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

const GUIDES: [Guide; 7] = [
    Guide {
        name: "readers.md",
        title_zh: "读者指南：在浏览器里借书、读书",
        title_en: "Readers' guide: borrowing and reading in the browser",
        text: include_str!("../../../../docs/readers.md"),
    },
    Guide {
        name: "librarians.md",
        title_zh: "馆员指南：馆员后台、编目、复本与借阅规则",
        title_en: "Librarians' guide: the console, cataloguing, copies and lending rules",
        text: include_str!("../../../../docs/librarians.md"),
    },
    Guide {
        name: "distribution.md",
        title_zh: "馆藏分发指南：中心馆、成员馆与移动硬盘",
        title_en: "Distribution guide: hubs, members and disks",
        text: include_str!("../../../../docs/distribution.md"),
    },
    Guide {
        name: "mobile.md",
        title_zh: "移动开发者指南（Kotlin、Swift）",
        title_en: "Guide for mobile developers (Kotlin, Swift)",
        text: include_str!("../../../../docs/mobile.md"),
    },
    Guide {
        name: "api-errors.md",
        title_zh: "API 错误类型",
        title_en: "API errors",
        text: include_str!("../../../../docs/api-errors.md"),
    },
    Guide {
        name: "configuration.md",
        title_zh: "服务器配置",
        title_en: "Server configuration",
        text: include_str!("../../../../docs/configuration.md"),
    },
    Guide {
        name: "ARCHITECTURE.md",
        title_zh: "系统架构",
        title_en: "Architecture",
        text: include_str!("../../../../docs/ARCHITECTURE.md"),
    },
];

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    c: Chrome,
    libraries: Vec<Library>,
    docs: &'a [Guide],
}

/// `/`: what this server is, its libraries, where people and programs go next.
pub async fn home(State(state): State<AppState>, web: Web) -> Result<Response, PageError> {
    let libraries = libraries::list(&state.ctx)
        .await
        .map_err(|e| PageError::service(e, web.lang))?;
    web.render(&HomePage {
        c: web.chrome(None),
        libraries,
        docs: &GUIDES,
    })
}

/// A guide as Markdown text (browsers show it as it is).
pub async fn guide(Path(name): Path<String>, web: Web) -> Result<Response, PageError> {
    let Some(guide) = GUIDES.iter().find(|g| g.name == name) else {
        return Err(PageError::service(
            crate::service::Error::NotFound("guide"),
            web.lang,
        ));
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        guide.text,
    )
        .into_response();
    super::page_headers(&mut response, web.lang);
    response.headers_mut().remove(header::CONTENT_LANGUAGE);
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("public, max-age=3600"),
    );
    Ok(response)
}
