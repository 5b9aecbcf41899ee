//! The console's catalogue and copies pages, driven over HTTP as a browser would:
//! uploading EPUBs through the form, searching, a title's page, editing, the cover,
//! hiding a title, buying and managing licence lots, and the scope and CSRF checks.

use std::io::Cursor;

use jieyue_tests::{ConsoleSession, PASSWORD, TestApp, TwoLibraries, both_backends, corpus};
use reqwest::StatusCode;
use serde_json::Value;

/// The first `/console/titles/{id}` link after `marker` in `html`.
fn title_link_after(html: &str, marker: &str) -> String {
    let from = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in {html}"));
    let rest = &html[from..];
    let at = rest.find("href=\"/console/titles/").expect("a title link") + 22;
    rest[at..at + 36].to_owned()
}

/// `GET path` as htmx asks for a part of a page.
async fn fragment(app: &TestApp, session: &ConsoleSession<'_>, path: &str) -> (StatusCode, String) {
    let response = app
        .client
        .get(format!("{}{path}", app.base))
        .header("cookie", format!("jieyue_staff={}", session.cookie))
        .header("hx-request", "true")
        .send()
        .await
        .expect("sent");
    let status = response.status();
    (status, response.text().await.expect("body"))
}

/// A PNG larger than the server's limit for ordinary forms (noise does not compress).
fn png() -> Vec<u8> {
    let mut state: u32 = 12345;
    let image = image::RgbImage::from_fn(300, 450, |_, _| {
        let mut byte = || {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            state.to_be_bytes()[1]
        };
        image::Rgb([byte(), byte(), byte()])
    });
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    let bytes = out.into_inner();
    assert!(bytes.len() > 64 * 1024, "larger than a form may be");
    bytes
}

async fn a_manager_uploads_finds_buys_and_hides_a_title(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let city = app.console("city-manager", PASSWORD).await;

    // The upload form: several files, a progress bar for htmx, the CSRF token.
    let form = city.html("/console/titles/upload").await;
    assert!(form.contains("type=\"file\" multiple"), "{form}");
    assert!(form.contains("data-upload-progress") && form.contains("data-upload-percent"));
    assert!(form.contains("hx-encoding=\"multipart/form-data\""));

    // Files in one form (one larger than an ordinary form may be): the good ones
    // catalogued, the bad one refused with its reason.
    let good = std::fs::read(corpus("zh/daxue.epub")).expect("corpus book");
    let large = std::fs::read(corpus("epub3/childrens-literature.epub")).expect("corpus book");
    assert!(large.len() > 64 * 1024);
    let uploaded = city
        .post_multipart(
            "/console/titles/upload",
            &[],
            vec![
                ("file", "daxue.epub", good),
                ("file", "broken.epub", b"this is not a zip archive".to_vec()),
                ("file", "childrens-literature.epub", large),
            ],
        )
        .await;
    assert_eq!(uploaded.status, StatusCode::OK, "{uploaded:?}");
    let html = &uploaded.html;
    assert!(html.contains("已编目："), "{html}");
    let id = title_link_after(html, "daxue.epub");
    assert!(
        html.contains(&format!("href=\"/console/titles/{id}\">大学</a>")),
        "{html}"
    );
    let second = title_link_after(html, "childrens-literature.epub");
    assert_ne!(second, id);
    let refused = &html[html
        .find("broken.epub")
        .expect("the refused file is listed")..];
    assert!(
        refused.contains("未能编目") && refused.contains("不是可以编目的 EPUB 文件"),
        "{refused}"
    );
    let title = app
        .get(
            &format!("/api/v1/admin/titles/{id}"),
            Some(&world.city_manager),
        )
        .await;
    assert_eq!(
        title.status,
        StatusCode::OK,
        "the title was catalogued: {title:?}"
    );

    // With htmx, only the results come back; an empty file input catalogues nothing.
    let empty = reqwest::multipart::Part::bytes(Vec::new())
        .file_name("")
        .mime_str("application/octet-stream")
        .expect("mime");
    let form = reqwest::multipart::Form::new()
        .text("csrf", city.csrf.clone())
        .part("file", empty);
    let response = app
        .client
        .post(format!("{}/console/titles/upload", app.base))
        .header("cookie", format!("jieyue_staff={}", city.cookie))
        .header("origin", &app.base)
        .header("hx-request", "true")
        .multipart(form)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    let part = response.text().await.expect("body");
    assert!(
        part.contains("没有选择文件") && !part.contains("<html"),
        "{part}"
    );

    // Search (Chinese-aware, traditional finds simplified), as a page and as htmx's part.
    let found = city.html("/console/titles?q=大學").await;
    assert!(found.contains(&format!("/console/titles/{id}")), "{found}");
    assert!(found.contains("hx-trigger=\"input changed delay:300ms, search\""));
    let (status, part) = fragment(&app, &city, "/console/titles?q=大学").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        part.contains(&format!("/console/titles/{id}")) && !part.contains("<html"),
        "{part}"
    );
    let nothing = city.html("/console/titles?q=完全不存在的书名").await;
    assert!(!nothing.contains(&format!("/console/titles/{id}")));

    // The title page.
    let page = city.html(&format!("/console/titles/{id}")).await;
    assert!(
        page.contains("<h1>大学") && page.contains("杭州市图书馆"),
        "{page}"
    );
    assert!(page.contains(&format!("/console/titles/{id}/copies")));

    // Edit the metadata and replace the cover through the forms.
    let edited = city
        .post(
            &format!("/console/titles/{id}/edit"),
            &[
                ("title", "大学章句"),
                ("subjects", "儒家\n经典"),
                ("description", "四书之一。"),
            ],
        )
        .await;
    assert_eq!(edited.status, StatusCode::SEE_OTHER, "{edited:?}");
    assert_eq!(
        edited.location(),
        format!("/console/titles/{id}?done=saved")
    );
    let admin_view = app
        .get(
            &format!("/api/v1/admin/titles/{id}"),
            Some(&world.city_manager),
        )
        .await;
    assert_eq!(admin_view.body["title"], "大学章句");
    assert_eq!(
        admin_view.body["subjects"],
        serde_json::json!(["儒家", "经典"])
    );
    let empty_title = city
        .post(&format!("/console/titles/{id}/edit"), &[("title", "  ")])
        .await;
    assert_eq!(empty_title.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty_title.html.contains("role=\"alert\""));
    let cover = city
        .post_multipart(
            &format!("/console/titles/{id}/cover"),
            &[],
            vec![("cover", "cover.png", png())],
        )
        .await;
    assert_eq!(cover.status, StatusCode::SEE_OTHER, "{cover:?}");
    let details = app.get(&format!("/api/v1/catalog/{id}"), None).await;
    let cover_link = details.body["links"]["cover"].as_str().expect("a cover");
    let (_, headers, _) = app.get_bytes(cover_link, &[]).await;
    assert_eq!(headers["content-type"], "image/png");

    // Buy two copies for the city, shared with the county, through the copies form.
    let copies = city.html(&format!("/console/titles/{id}/copies")).await;
    assert!(
        copies.contains(&format!("<option value=\"{}\">", world.city)),
        "{copies}"
    );
    assert!(
        !copies.contains("value=\"pool\""),
        "a manager cannot buy for the shared pool"
    );
    let bought = city
        .post(
            &format!("/console/titles/{id}/copies"),
            &[
                ("owner", world.city.as_str()),
                ("copies", "2"),
                ("checkout_limit", ""),
                ("expires", "2099-12-31"),
                ("shared_with", world.county.as_str()),
            ],
        )
        .await;
    assert_eq!(bought.status, StatusCode::SEE_OTHER, "{bought:?}");
    assert_eq!(
        bought.location(),
        format!("/console/titles/{id}/copies?done=bought")
    );
    let lots = app
        .get(
            &format!("/api/v1/admin/lots?title_id={id}"),
            Some(&world.city_manager),
        )
        .await;
    assert_eq!(lots.status, StatusCode::OK);
    let lot = &lots.body[0];
    assert_eq!(lots.body.as_array().map(Vec::len), Some(1), "{lots:?}");
    assert_eq!(lot["copies"], 2);
    assert_eq!(lot["owner_library_id"], Value::from(world.city.clone()));
    assert_eq!(lot["shared_with"], serde_json::json!([world.county]));
    assert!(
        lot["expires_at"]
            .as_str()
            .is_some_and(|e| e.starts_with("2099-12-31"))
    );
    let lot_id = lot["id"].as_str().expect("lot id").to_owned();

    let copies = city
        .html(&format!("/console/titles/{id}/copies?done=bought"))
        .await;
    assert!(copies.contains("已购买复本"), "{copies}");
    assert!(copies.contains("淳安县图书馆") && copies.contains("2099-12-31"));

    // Top it up, suspend and resume it.
    let topped = city
        .post(
            &format!("/console/lots/{lot_id}/top-up"),
            &[("add_copies", "1")],
        )
        .await;
    assert_eq!(topped.status, StatusCode::SEE_OTHER, "{topped:?}");
    let suspended = city
        .post(
            &format!("/console/lots/{lot_id}/status"),
            &[("status", "suspended")],
        )
        .await;
    assert_eq!(suspended.status, StatusCode::SEE_OTHER);
    let lots = app
        .get(
            &format!("/api/v1/admin/lots?title_id={id}"),
            Some(&world.city_manager),
        )
        .await;
    assert_eq!(
        (
            lots.body[0]["copies"].clone(),
            lots.body[0]["status"].clone()
        ),
        (3.into(), "suspended".into())
    );
    let resumed = city
        .post(
            &format!("/console/lots/{lot_id}/status"),
            &[("status", "active")],
        )
        .await;
    assert_eq!(resumed.status, StatusCode::SEE_OTHER);

    // The title page counts the city's copies; the county lends from the city's lot.
    let page = city.html(&format!("/console/titles/{id}")).await;
    assert!(page.contains("<td class=\"num\">3</td>"), "{page}");
    let county = app.console("county-librarian", PASSWORD).await;
    let county_copies = county.html(&format!("/console/titles/{id}/copies")).await;
    assert!(
        county_copies.contains("杭州市图书馆"),
        "the shared lot is listed"
    );
    assert!(
        !county_copies.contains("/console/lots/"),
        "a librarian is offered no lot actions"
    );

    // A county librarian may not buy copies for the city, nor touch the city's lot.
    let refused = county
        .post(
            &format!("/console/titles/{id}/copies"),
            &[("owner", world.city.as_str()), ("copies", "5")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{refused:?}");
    for (path, fields) in [
        (
            format!("/console/lots/{lot_id}/top-up"),
            [("add_copies", "5")],
        ),
        (
            format!("/console/lots/{lot_id}/status"),
            [("status", "retired")],
        ),
    ] {
        let page = county.post(&path, &fields).await;
        assert!(
            matches!(page.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            "{path}: {page:?}"
        );
    }
    let lots = app
        .get(
            &format!("/api/v1/admin/lots?title_id={id}"),
            Some(&world.city_manager),
        )
        .await;
    assert_eq!(
        (
            lots.body[0]["copies"].clone(),
            lots.body[0]["status"].clone()
        ),
        (3.into(), "active".into())
    );
    // Nor may a librarian upload or edit.
    assert_eq!(
        county.get("/console/titles/upload").await.status,
        StatusCode::FORBIDDEN
    );
    let hide = county
        .post(
            &format!("/console/titles/{id}/suppress"),
            &[("suppressed", "true")],
        )
        .await;
    assert_eq!(hide.status, StatusCode::FORBIDDEN);

    // A form without the session's CSRF token is refused, and changes nothing.
    let forged = city
        .post_raw(
            &format!("/console/titles/{id}/suppress"),
            &[("suppressed", "true")],
            &[("origin", app.base.as_str())],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get(&format!("/api/v1/catalog/{id}"), None).await.status,
        StatusCode::OK
    );

    // Hide the title: readers no longer find it; staff see it among the hidden.
    let hidden = city
        .post(
            &format!("/console/titles/{id}/suppress"),
            &[("suppressed", "true")],
        )
        .await;
    assert_eq!(hidden.status, StatusCode::SEE_OTHER, "{hidden:?}");
    assert_eq!(
        app.get(&format!("/api/v1/catalog/{id}"), None).await.status,
        StatusCode::NOT_FOUND
    );
    let page = city
        .html(&format!("/console/titles/{id}?done=suppressed"))
        .await;
    assert!(page.contains("已对读者隐藏"), "{page}");
    let list = city.html("/console/titles").await;
    let hidden_section = &list[list.find("对读者隐藏的书目").expect("hidden titles listed")..];
    assert!(hidden_section.contains(&format!("/console/titles/{id}")));
    let shown = city
        .post(
            &format!("/console/titles/{id}/suppress"),
            &[("suppressed", "false")],
        )
        .await;
    assert_eq!(shown.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get(&format!("/api/v1/catalog/{id}"), None).await.status,
        StatusCode::OK
    );

    // A title that is not there, or not a title id at all, is a "not found" page.
    assert_eq!(
        city.get("/console/titles/00000000-0000-0000-0000-000000000000")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        city.get("/console/titles/nonsense/copies").await.status,
        StatusCode::NOT_FOUND
    );
}

async fn the_consortium_admin_buys_for_the_shared_pool_in_english(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let id = app.upload_corpus(&world.admin, "zh/daxue.epub").await;
    let admin = app.console("admin", jieyue_tests::ADMIN_PASSWORD).await;
    let copies = admin
        .html(&format!("/console/titles/{id}/copies?lang=en"))
        .await;
    assert!(
        copies.contains("value=\"pool\"") && copies.contains("Consortium shared pool"),
        "{copies}"
    );
    let bought = admin
        .post(
            &format!("/console/titles/{id}/copies"),
            &[("owner", "pool"), ("copies", "1"), ("checkout_limit", "26")],
        )
        .await;
    assert_eq!(bought.status, StatusCode::SEE_OTHER, "{bought:?}");
    let lots = app
        .get(
            &format!("/api/v1/admin/lots?title_id={id}"),
            Some(&world.admin),
        )
        .await;
    assert_eq!(lots.body[0]["owner_library_id"], Value::Null);
    assert_eq!(lots.body[0]["checkouts_left"], 26);
    // An open pool lot: every library draws on it.
    let page = admin.html(&format!("/console/titles/{id}/copies")).await;
    let draws = &page[page.find("id=\"draw-heading\"").expect("draw order")..];
    assert!(draws.contains("杭州市图书馆") && draws.contains("淳安县图书馆"));
    assert_eq!(draws.matches("<ol>").count(), 2, "{draws}");
    // A bad number is refused with the form's own words.
    let bad = admin
        .post(
            &format!("/console/titles/{id}/copies"),
            &[("owner", "pool"), ("copies", "0")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
    let alert = &bad.html[bad
        .html
        .find("id=\"buy-errors\"")
        .expect("the errors, on the form")..];
    assert!(alert.contains("请填写不小于 1 的整数"), "{alert}");
    assert!(
        bad.html.contains("<option value=\"pool\" selected>"),
        "the form keeps its values"
    );
}

both_backends!(
    a_manager_uploads_finds_buys_and_hides_a_title,
    the_consortium_admin_buys_for_the_shared_pool_in_english
);
