//! Reading in the browser: the decrypted book served to its reader's session only,
//! while the loan runs, under a policy that runs no script; the reading page; search in
//! the book; and the reading position shared with the apps' positions API.

use jieyue_tests::{PASSWORD, TestApp, TwoLibraries, both_backends};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

/// A reader logged in to the reader app in a browser: the `jieyue_reader` cookie.
struct ReaderSession<'a> {
    app: &'a TestApp,
    cookie: String,
}

/// A response: status, headers, body.
#[derive(Debug)]
struct Got {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Got {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

fn client() -> reqwest::Client {
    TestApp::page_client()
}

async fn got(response: reqwest::Response) -> Got {
    Got {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.bytes().await.expect("body").to_vec(),
    }
}

/// Logs a patron in through the reader app's login form (panics unless it works).
async fn reader_login<'a>(app: &'a TestApp, library: &str, card: &str) -> ReaderSession<'a> {
    let response = client()
        .post(format!("{}/reader/login", app.base))
        .header("origin", &app.base)
        .form(&[("library", library), ("card", card), ("password", PASSWORD)])
        .send()
        .await
        .expect("login sent");
    let login = got(response).await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.text());
    let cookie = login
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("jieyue_reader="))
        .and_then(|v| v.split(';').next())
        .expect("reader cookie")
        .to_owned();
    ReaderSession { app, cookie }
}

impl ReaderSession<'_> {
    async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Got {
        let mut request = client()
            .get(format!("{}{path}", self.app.base))
            .header("cookie", format!("jieyue_reader={}", self.cookie));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        got(request.send().await.expect("sent")).await
    }

    async fn get(&self, path: &str) -> Got {
        self.get_with(path, &[]).await
    }

    /// Posts `body` as JSON as the page script does (same origin, CSRF header).
    async fn post_json(&self, path: &str, body: &Value, headers: &[(&str, &str)]) -> Got {
        let mut request = client()
            .post(format!("{}{path}", self.app.base))
            .header("cookie", format!("jieyue_reader={}", self.cookie))
            .json(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        got(request.send().await.expect("sent")).await
    }
}

/// The value of the first `data-{name}="…"` in a page (HTML-unescaped enough for ids,
/// numbers and paths).
fn data_attribute(html: &str, name: &str) -> String {
    let start = format!("data-{name}=\"");
    let at = html
        .find(&start)
        .unwrap_or_else(|| panic!("no data-{name} in the page"))
        + start.len();
    let rest = &html[at..];
    rest[..rest.find('"').expect("quote")]
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Borrows `title` through the JSON API; the loan id.
async fn borrow(app: &TestApp, token: &str, title: &str) -> String {
    let reply = app
        .post(
            "/api/v1/me/loans",
            Some(token),
            json!({ "title_id": title, "request_id": Uuid::new_v4() }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    reply.id()
}

fn assert_content_headers(content: &Got) {
    assert_eq!(content.header("cache-control"), "no-store");
    let policy = content.header("content-security-policy");
    for part in [
        "default-src 'self'",
        "script-src 'none'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
        "sandbox allow-same-origin",
    ] {
        assert!(policy.contains(part), "{part} missing from {policy}");
    }
    assert_eq!(content.header("x-frame-options"), "SAMEORIGIN");
    assert_eq!(content.header("x-content-type-options"), "nosniff");
}

async fn a_loan_is_read_decrypted_by_its_reader_only_and_only_while_it_runs(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let title = app.title_with_copies(&world, "zh/daxue.epub", 2).await;
    let token = app.patron_token("city", "C1").await;
    let loan = borrow(&app, &token, &title).await;
    let reader = reader_login(&app, "city", "C1").await;

    // The reading page: the first chapter in a frame that may run no script.
    let page = reader.get(&format!("/reader/loans/{loan}/read")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    assert!(html.contains("sandbox=\"allow-same-origin\""), "{html}");
    assert!(!html.contains("allow-scripts"));
    let chapter_url = format!("/reader/loans/{loan}/content/OEBPS/c0001.xhtml");
    assert!(html.contains(&format!("src=\"{chapter_url}\"")), "{html}");
    assert_eq!(data_attribute(&html, "href"), "OEBPS/c0001.xhtml");
    assert_eq!(data_attribute(&html, "loan"), loan);
    assert_eq!(data_attribute(&html, "layout"), "reflowable");
    assert!(html.contains("/static/reader.js"));
    assert!(
        page.header("content-security-policy")
            .contains("script-src 'self'")
    );

    // The chapter, decrypted, with the content's own headers.
    let content = reader.get(&chapter_url).await;
    assert_eq!(content.status, StatusCode::OK, "{}", content.text());
    assert!(content.text().contains("大學之道，在明明德"));
    assert_eq!(content.header("content-type"), "application/xhtml+xml");
    assert_content_headers(&content);
    let length = content.body.len();

    // Its stylesheet, by its type; a byte range; a missing resource.
    let css = reader
        .get(&format!("/reader/loans/{loan}/content/OEBPS/style.css"))
        .await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.header("content-type").starts_with("text/css"));
    assert!(css.text().contains("line-height"));
    let range = reader
        .get_with(&chapter_url, &[("range", "bytes=0-9")])
        .await;
    assert_eq!(range.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(range.body, content.body[..10]);
    assert_eq!(range.header("content-range"), format!("bytes 0-9/{length}"));
    let missing = reader
        .get(&format!("/reader/loans/{loan}/content/OEBPS/nothing.xhtml"))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    // A path that climbs out (escaped, so no client tidies it up) names nothing.
    let escape = reader
        .get(&format!(
            "/reader/loans/{loan}/content/OEBPS%2F..%2FMETA-INF%2Fcontainer.xml"
        ))
        .await;
    assert_eq!(escape.status, StatusCode::NOT_FOUND);

    // Nobody else reads it: another reader, a stranger without a session, a bad id.
    let other = reader_login(&app, "county", "K1").await;
    assert_eq!(other.get(&chapter_url).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        other
            .get(&format!("/reader/loans/{loan}/read"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let stranger = got(client()
        .get(format!("{}{chapter_url}", app.base))
        .send()
        .await
        .expect("sent"))
    .await;
    assert_eq!(stranger.status, StatusCode::SEE_OTHER);
    assert!(stranger.header("location").starts_with("/reader/login"));
    assert!(!stranger.text().contains("大學之道"));
    let bad = reader
        .get("/reader/loans/not-a-loan/content/OEBPS/c0001.xhtml")
        .await;
    assert_eq!(bad.status, StatusCode::NOT_FOUND);

    // Returned from the app: the book is refused at once, and the page says why.
    let returned = app
        .post(
            &format!("/api/v1/me/loans/{loan}/return"),
            Some(&token),
            json!({}),
        )
        .await;
    assert!(returned.status.is_success(), "{returned:?}");
    let gone = reader.get(&chapter_url).await;
    assert_eq!(gone.status, StatusCode::GONE);
    assert!(!gone.text().contains("大學之道"));
    assert!(gone.text().contains("data-reader-ended"));
    let ended = reader.get(&format!("/reader/loans/{loan}/read")).await;
    assert_eq!(ended.status, StatusCode::GONE);
    assert!(
        ended.text().contains("这本书的借阅已经结束"),
        "{}",
        ended.text()
    );
    assert!(!ended.text().contains("<iframe"));
    let search = reader
        .get(&format!("/reader/loans/{loan}/search?q=%E5%A4%A7%E5%AD%A6"))
        .await;
    assert_eq!(search.status, StatusCode::GONE);
}

async fn the_position_is_the_one_the_apps_share(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let title = app.title_with_copies(&world, "zh/lunyu.epub", 2).await;
    let token = app.patron_token("city", "C1").await;
    let loan = borrow(&app, &token, &title).await;
    let reader = reader_login(&app, "city", "C1").await;
    let page = reader.get(&format!("/reader/loans/{loan}/read")).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    let csrf = data_attribute(&html, "csrf");
    assert_eq!(data_attribute(&html, "position"), "");
    assert_eq!(data_attribute(&html, "progression"), "0.000000");
    let order: Value =
        serde_json::from_str(&data_attribute(&html, "reading-order")).expect("reading order");
    assert_eq!(order.as_array().map(Vec::len), Some(20));
    assert_eq!(order[2]["href"], "OEBPS/c0003.xhtml");
    assert_eq!(order[0]["first"], 1);

    // The page script saves a Readium locator; the apps read the same one.
    let position_url = format!("/reader/loans/{loan}/position");
    let locator = json!({"href": "OEBPS/c0003.xhtml", "type": "application/xhtml+xml",
        "title": "八佾篇",
        "locations": {"progression": 0.5, "totalProgression": 0.12, "position": 9}});
    let origin = app.base.clone();
    let saved = reader
        .post_json(
            &position_url,
            &locator,
            &[("x-csrf-token", &csrf), ("origin", &origin)],
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text());
    let api = app
        .get(&format!("/api/v1/me/positions/{title}"), Some(&token))
        .await;
    assert_eq!(api.status, StatusCode::OK);
    assert_eq!(api.body["locator"], locator);

    // Without the session's CSRF token, or from another site: refused, nothing saved.
    let moved = json!({"href": "OEBPS/c0009.xhtml", "type": "application/xhtml+xml",
        "locations": {"progression": 0.1, "totalProgression": 0.4, "position": 40}});
    let no_token = reader
        .post_json(&position_url, &moved, &[("origin", &origin)])
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let cross_site = reader
        .post_json(
            &position_url,
            &moved,
            &[("x-csrf-token", &csrf), ("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
    let not_a_locator = reader
        .post_json(
            &position_url,
            &json!({"href": ""}),
            &[("x-csrf-token", &csrf), ("origin", &origin)],
        )
        .await;
    assert_eq!(not_a_locator.status, StatusCode::UNPROCESSABLE_ENTITY);
    let api = app
        .get(&format!("/api/v1/me/positions/{title}"), Some(&token))
        .await;
    assert_eq!(api.body["locator"], locator);

    // A place saved by an app: the page opens there, and the page script can ask.
    app.clock.advance(chrono::Duration::minutes(1));
    let from_app = json!({"href": "OEBPS/c0005.xhtml", "type": "application/xhtml+xml",
        "locations": {"progression": 0.25, "totalProgression": 0.2, "position": 17}});
    let put = app
        .request(
            Method::PUT,
            &format!("/api/v1/me/positions/{title}"),
            Some(&token),
            Some(json!({ "locator": from_app })),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{put:?}");
    let html = reader
        .get(&format!("/reader/loans/{loan}/read"))
        .await
        .text();
    assert_eq!(data_attribute(&html, "href"), "OEBPS/c0005.xhtml");
    assert_eq!(data_attribute(&html, "progression"), "0.250000");
    let embedded: Value =
        serde_json::from_str(&data_attribute(&html, "position")).expect("embedded locator");
    assert_eq!(embedded, from_app);
    assert!(html.contains(&format!(
        "src=\"/reader/loans/{loan}/content/OEBPS/c0005.xhtml\""
    )));
    let asked = reader.get(&position_url).await;
    assert_eq!(asked.status, StatusCode::OK);
    let asked: Value = serde_json::from_slice(&asked.body).expect("json");
    assert_eq!(asked["locator"], from_app);

    // A chapter asked for by link opens at its start, with its neighbours linked.
    let html = reader
        .get(&format!(
            "/reader/loans/{loan}/read?href=OEBPS%2Fc0002.xhtml"
        ))
        .await
        .text();
    assert_eq!(data_attribute(&html, "href"), "OEBPS/c0002.xhtml");
    assert_eq!(data_attribute(&html, "progression"), "0.000000");
    assert!(html.contains("href=OEBPS%2Fc0001.xhtml"));
    assert!(html.contains("href=OEBPS%2Fc0003.xhtml"));
    assert!(html.contains("为政篇"));

    // The loan ends: the place can no longer be saved through the page.
    app.post(
        &format!("/api/v1/me/loans/{loan}/return"),
        Some(&token),
        json!({}),
    )
    .await;
    let late = reader
        .post_json(
            &position_url,
            &moved,
            &[("x-csrf-token", &csrf), ("origin", &origin)],
        )
        .await;
    assert_eq!(late.status, StatusCode::GONE);
}

async fn a_script_in_a_book_is_served_under_a_policy_that_runs_none(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let bytes = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../testdata/hostile/script-in-chapter.epub"),
    )
    .expect("crafted book");
    let upload = app
        .upload_bytes(&world.admin, "script-in-chapter.epub", bytes)
        .await;
    assert!(upload.status.is_success(), "{upload:?}");
    let title = upload.body["title"]["id"].as_str().expect("id").to_owned();
    let lot = app
        .post(
            "/api/v1/admin/lots",
            Some(&world.city_manager),
            json!({ "title_id": title, "owner_library_id": world.city, "copies": 1 }),
        )
        .await;
    assert_eq!(lot.status, StatusCode::CREATED, "{lot:?}");
    let token = app.patron_token("city", "C1").await;
    let loan = borrow(&app, &token, &title).await;
    let reader = reader_login(&app, "city", "C1").await;

    let chapter = reader
        .get(&format!("/reader/loans/{loan}/content/OEBPS/c0001.xhtml"))
        .await;
    assert_eq!(chapter.status, StatusCode::OK);
    assert!(chapter.text().contains("<script"));
    assert_content_headers(&chapter);
    for resource in ["OEBPS/evil.js", "OEBPS/evil.svg"] {
        let got = reader
            .get(&format!("/reader/loans/{loan}/content/{resource}"))
            .await;
        assert_eq!(got.status, StatusCode::OK, "{resource}");
        assert_content_headers(&got);
    }
    let page = reader.get(&format!("/reader/loans/{loan}/read")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("sandbox=\"allow-same-origin\""));
}

async fn search_finds_words_in_simplified_or_traditional_characters(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let title = app.title_with_copies(&world, "zh/daxue.epub", 1).await;
    let token = app.patron_token("city", "C1").await;
    let loan = borrow(&app, &token, &title).await;
    let reader = reader_login(&app, "city", "C1").await;
    let search = |q: &str| format!("/reader/loans/{loan}/search?q={}", percent(q));

    // The book writes 大學之道; the reader types simplified characters.
    let found = reader.get(&search("大学之道")).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text());
    let html = found.text();
    assert!(html.contains("<mark>大學之道</mark>"), "{html}");
    assert!(html.contains(&format!(
        "/reader/loans/{loan}/read?href=OEBPS%2Fc0001.xhtml"
    )));
    assert!(html.contains("找到 1 处"), "{html}");

    // Several hits, each a link into the book; htmx gets the results alone.
    let fragment = reader
        .get_with(&search("君子"), &[("hx-request", "true")])
        .await;
    assert_eq!(fragment.status, StatusCode::OK);
    let html = fragment.text();
    assert!(!html.contains("<html"));
    assert!(html.matches("<mark>").count() > 3, "{html}");
    assert!(html.contains("progression="));

    let none = reader.get(&search("红楼梦")).await;
    assert!(none.text().contains("书中没有找到"));
    let empty = reader.get(&format!("/reader/loans/{loan}/search?q=")).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(!empty.text().contains("<mark>"));

    let other = reader_login(&app, "county", "K1").await;
    assert_eq!(
        other.get(&search("大学")).await.status,
        StatusCode::NOT_FOUND
    );
}

/// A ZIP of `files`.
fn zip_of(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in files {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .expect("entry");
        zip.write_all(bytes).expect("write");
    }
    zip.finish().expect("zip").into_inner()
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../testdata/media")
            .join(name),
    )
    .expect("fixture")
}

/// Uploads `bytes` as `name` and gives the city two copies; the title id.
async fn media_title(app: &TestApp, world: &TwoLibraries, name: &str, bytes: Vec<u8>) -> String {
    let reply = app.upload_bytes(&world.admin, name, bytes).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    let title = reply.body["title"]["id"].as_str().expect("id").to_owned();
    let lot = app
        .post(
            "/api/v1/admin/lots",
            Some(&world.city_manager),
            json!({ "title_id": title, "owner_library_id": world.city, "copies": 2 }),
        )
        .await;
    assert_eq!(lot.status, StatusCode::CREATED, "{lot:?}");
    title
}

async fn audio_video_and_pages_play_in_the_browser_with_ranges(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let (a, b) = (fixture("tone-a.mp3"), fixture("tone-c.ogg"));
    let audiobook = media_title(
        &app,
        &world,
        "唐诗.zip",
        zip_of(&[("01.mp3", a.clone()), ("02.ogg", b.clone())]),
    )
    .await;
    let video = fixture("lecture-1.mp4");
    let lecture = media_title(&app, &world, "公开课.mp4", video.clone()).await;
    let page = {
        let img = image::RgbImage::from_fn(60, 80, |x, y| image::Rgb([x as u8, y as u8, 9]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png)
            .expect("png");
        out.into_inner()
    };
    let journal = media_title(
        &app,
        &world,
        "期刊.cbz",
        zip_of(&[("p1.png", page.clone()), ("p2.png", page.clone())]),
    )
    .await;
    let token = app.patron_token("city", "C1").await;
    let reader = reader_login(&app, "city", "C1").await;

    // The audiobook: a player of the first track, the track list, media allowed.
    let loan = borrow(&app, &token, &audiobook).await;
    let page_got = reader.get(&format!("/reader/loans/{loan}/read")).await;
    assert_eq!(page_got.status, StatusCode::OK, "{}", page_got.text());
    let html = page_got.text();
    let track_url = format!("/reader/loans/{loan}/content/01.mp3");
    assert!(
        html.contains(&format!(
            "<audio id=\"player\" controls preload=\"metadata\" src=\"{track_url}\""
        )),
        "{html}"
    );
    assert!(html.contains("/static/media.js"));
    assert!(html.contains("02.ogg"), "the second track is listed");
    assert!(
        page_got
            .header("content-security-policy")
            .contains("media-src 'self'")
    );
    assert_eq!(data_attribute(&html, "type"), "audio/mpeg");

    // The track, whole and by ranges as a player asks.
    let whole = reader.get(&track_url).await;
    assert_eq!(whole.status, StatusCode::OK);
    assert_eq!(whole.header("content-type"), "audio/mpeg");
    assert_eq!(whole.header("accept-ranges"), "bytes");
    assert!(whole.body == a);
    let length = a.len();
    for (range, start, end) in [
        ("bytes=0-1", 0, 2),
        ("bytes=20000-", 20_000.min(length), length),
        (
            &*format!("bytes={}-{}", length / 2, length / 2 + 99),
            length / 2,
            length / 2 + 100,
        ),
        ("bytes=-500", length - 500, length),
    ] {
        if start >= length {
            continue;
        }
        let part = reader.get_with(&track_url, &[("range", range)]).await;
        assert_eq!(part.status, StatusCode::PARTIAL_CONTENT, "{range}");
        assert!(part.body == a[start..end], "{range}");
        assert_eq!(
            part.header("content-range"),
            format!("bytes {start}-{}/{length}", end - 1)
        );
    }
    // The second track's page, and a position with a time fragment kept for the apps.
    let second = reader
        .get(&format!("/reader/loans/{loan}/read?href=02.ogg"))
        .await;
    assert!(
        second
            .text()
            .contains(&format!("src=\"/reader/loans/{loan}/content/02.ogg\""))
    );
    let csrf = data_attribute(&second.text(), "csrf");
    let saved = reader
        .post_json(
            &format!("/reader/loans/{loan}/position"),
            &json!({ "href": "02.ogg", "type": "audio/ogg",
                     "locations": { "progression": 0.5, "totalProgression": 0.8, "position": 2,
                                    "fragments": ["t=1"] } }),
            &[("x-csrf-token", &csrf), ("origin", &app.base)],
        )
        .await;
    assert!(saved.status.is_success(), "{}", saved.text());
    let again = reader
        .get(&format!("/reader/loans/{loan}/read"))
        .await
        .text();
    assert_eq!(
        data_attribute(&again, "href"),
        "02.ogg",
        "opens where the reader was"
    );
    assert_eq!(data_attribute(&again, "start"), "1.000");

    // The video: a video player at its size.
    let loan = borrow(&app, &token, &lecture).await;
    let html = reader
        .get(&format!("/reader/loans/{loan}/read"))
        .await
        .text();
    assert!(html.contains("<video id=\"player\""), "{html}");
    assert!(html.contains("width=\"160\" height=\"120\""), "{html}");
    let src = format!("/reader/loans/{loan}/content/");
    let at = html.find(&src).expect("video src");
    let href = &html[at..at + html[at..].find('"').expect("quote")];
    let part = reader.get_with(href, &[("range", "bytes=100-4195")]).await;
    assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.header("content-type"), "video/mp4");
    assert!(part.body == video[100..4196]);

    // The journal: its pages as images, one under the other.
    let loan = borrow(&app, &token, &journal).await;
    let html = reader
        .get(&format!("/reader/loans/{loan}/read"))
        .await
        .text();
    assert_eq!(html.matches("<img src=").count(), 2, "{html}");
    assert!(html.contains("第 1 页"), "{html}");
    let image = reader
        .get(&format!("/reader/loans/{loan}/content/p2.png"))
        .await;
    assert_eq!(image.header("content-type"), "image/png");
    assert!(image.body == page);

    // Another reader gets nothing.
    let other = reader_login(&app, "county", "K1").await;
    assert_eq!(other.get(&track_url).await.status, StatusCode::NOT_FOUND);
}

fn percent(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

both_backends!(
    a_loan_is_read_decrypted_by_its_reader_only_and_only_while_it_runs,
    the_position_is_the_one_the_apps_share,
    a_script_in_a_book_is_served_under_a_policy_that_runs_none,
    search_finds_words_in_simplified_or_traditional_characters,
    audio_video_and_pages_play_in_the_browser_with_ranges,
);
