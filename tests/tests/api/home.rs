//! What a person who opens the server in a browser finds: the home page, in Chinese
//! first and in English, with working links, and the guides.

use jieyue_tests::{TestApp, both_backends};
use reqwest::StatusCode;

async fn page(
    app: &TestApp,
    path: &str,
    accept_language: &str,
) -> (reqwest::header::HeaderMap, String) {
    let (status, headers, body) = app
        .get_bytes(path, &[("accept-language", accept_language)])
        .await;
    assert_eq!(status, StatusCode::OK, "{path}");
    (headers, String::from_utf8(body).expect("UTF-8 page"))
}

/// Every `href="…"` of a page.
fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|href| href.replace("&amp;", "&"))
        .collect()
}

async fn the_home_page_says_what_the_server_is_with_links_that_work(app: TestApp) {
    let admin = app.admin_token().await;
    app.create_library(&admin, "chunan", "淳安县图书馆").await;

    let (headers, zh) = page(&app, "/", "zh-CN,zh;q=0.9").await;
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(zh.contains("<html lang=\"zh-CN\">"), "{zh}");
    assert!(zh.contains("借阅 · 电子书借阅服务器"));
    assert!(zh.contains("淳安县图书馆"), "member libraries are listed");
    assert!(zh.contains(env!("CARGO_PKG_VERSION")));
    let csp = headers["content-security-policy"].to_str().expect("csp");
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "only the server's own script files may run, never inline script: {csp}"
    );
    assert!(!zh.contains("<script>"), "no inline script");
    assert_eq!(headers["x-content-type-options"], "nosniff");

    let (headers, en) = page(&app, "/", "en-GB,en;q=0.8").await;
    assert!(en.contains("<html lang=\"en\">"));
    assert!(en.contains("Jieyue e-book lending server"));
    assert_eq!(headers["content-language"], "en");
    let (_, chosen) = page(&app, "/?lang=zh-CN", "en").await;
    assert!(chosen.contains("<html lang=\"zh-CN\">"), "?lang= wins");

    let hrefs = links(&zh);
    for wanted in [
        "/opds",
        "/api/v1/openapi.json",
        "/docs/librarians.md",
        "/docs/mobile.md",
    ] {
        assert!(hrefs.iter().any(|h| h == wanted), "{wanted} in {hrefs:?}");
    }
    for href in hrefs.iter().chain(links(&en).iter()) {
        let path = if href.starts_with('?') {
            format!("/{href}")
        } else {
            href.clone()
        };
        let (status, _, body) = app.get_bytes(&path, &[]).await;
        assert_eq!(status, StatusCode::OK, "link {href} from the home page");
        assert!(!body.is_empty(), "{href}");
    }
    let (_, headers, _) = app.get_bytes("/static/jieyue.css", &[]).await;
    assert_eq!(headers["content-type"], "text/css; charset=utf-8");
}

async fn guides_are_served_and_unknown_ones_are_a_404_page(app: TestApp) {
    let (headers, text) = page(&app, "/docs/librarians.md", "zh-CN").await;
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    assert!(text.starts_with("# "));
    let missing = app.get("/docs/../Cargo.toml", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    // A person asked for a page: the answer is a page, in their language.
    let (status, headers, body) = app
        .get_bytes("/docs/secrets.md", &[("accept-language", "en")])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(String::from_utf8_lossy(&body).contains("Not found"));
}

both_backends!(
    the_home_page_says_what_the_server_is_with_links_that_work,
    guides_are_served_and_unknown_ones_are_a_404_page,
);
