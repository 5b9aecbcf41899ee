//! The console's foundation, driven over HTTP as a browser would: login by cookie with
//! the API's lock-out, CSRF and same-origin checks on every state change, logout and
//! password change, the language choice, HTML error pages, and the dashboard's figures
//! scoped to the staff member's library.

use jieyue_tests::{PASSWORD, TestApp, TwoLibraries, both_backends, scrape_csrf};
use reqwest::StatusCode;
use serde_json::json;

async fn a_staff_member_logs_in_with_a_strict_http_only_cookie_and_out_again(app: TestApp) {
    TwoLibraries::create(&app).await;
    // Not logged in: every console page leads to the login, and back afterwards.
    let anonymous = app.get_bytes("/console/password?from=%E7%8E%8B", &[]).await;
    assert_eq!(
        anonymous.0,
        StatusCode::OK,
        "reqwest follows to the login page"
    );
    let login_page = String::from_utf8(anonymous.2).expect("utf-8");
    assert!(
        login_page.contains("name=\"next\" value=\"/console/password?from="),
        "{login_page}"
    );

    let login = app.console_login_page("city-manager", PASSWORD).await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
    assert_eq!(login.location(), "/console/");
    let cookie = login.headers["set-cookie"].to_str().expect("ascii");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console", "Max-Age="] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP here: a Secure cookie would be dropped"
    );

    let console = app.console("city-manager", PASSWORD).await;
    let dashboard = console.get("/console/").await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert_eq!(dashboard.headers["cache-control"], "no-store");
    let csp = dashboard.headers["content-security-policy"]
        .to_str()
        .expect("ascii");
    assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"));
    assert!(dashboard.html.contains("<html lang=\"zh-CN\">"));
    assert!(dashboard.html.contains("概览"));

    // The cookie opens the console only, never the JSON API.
    let api = app
        .client
        .get(format!("{}/api/v1/staff/me", app.base))
        .header("cookie", format!("jieyue_staff={}", console.cookie))
        .send()
        .await
        .expect("sent");
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);

    let out = console.post("/console/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let removal = out.headers["set-cookie"].to_str().expect("ascii");
    assert!(
        removal.starts_with("jieyue_staff=;") && removal.contains("Max-Age=0"),
        "{removal}"
    );
    // The session itself has ended, not only the cookie.
    let after = console.get("/console/").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert!(after.location().starts_with("/console/login"));
}

async fn wrong_passwords_are_refused_and_slowed_down_as_in_the_api(app: TestApp) {
    TwoLibraries::create(&app).await;
    let wrong = app
        .console_login_page("city-manager", "not the password")
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.html.contains("用户名或密码不正确"), "{}", wrong.html);
    assert!(
        wrong.html.contains("value=\"city-manager\""),
        "the name is kept"
    );
    assert!(!wrong.headers.contains_key("set-cookie"));
    for _ in 1..app.config.auth.max_failed_logins {
        app.console_login_page("city-manager", "still wrong").await;
    }
    let waiting = app.console_login_page("city-manager", PASSWORD).await;
    assert_eq!(
        waiting.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        waiting.html
    );
    assert!(waiting.html.contains("秒后再试"));
    // The API sees the same lock-out: one throttle for both doors.
    let api = app
        .post(
            "/api/v1/staff/auth/login",
            None,
            json!({ "username": "city-manager", "password": PASSWORD }),
        )
        .await;
    assert_eq!(api.status, StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(chrono::Duration::minutes(60));
    assert_eq!(
        app.console_login_page("city-manager", PASSWORD)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

async fn a_cross_site_or_tokenless_post_is_refused(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let console = app.console("city-manager", PASSWORD).await;
    let own_origin = app.base.as_str();
    // A form on another site, posted by the victim's browser (which sends the cookie
    // only if SameSite failed): refused by origin, even with a valid token.
    for headers in [
        vec![("origin", "https://evil.example")],
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site"), ("origin", own_origin)],
    ] {
        let page = console
            .post_raw(
                "/console/logout",
                &[("csrf", console.csrf.as_str())],
                &headers,
            )
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{headers:?}");
        assert!(page.html.contains("已被拒绝"), "{}", page.html);
    }
    // Same origin but no token, or another session's token.
    let other = app.console("city-librarian", PASSWORD).await;
    for token in ["", "forged", other.csrf.as_str()] {
        let page = console
            .post_raw(
                "/console/password",
                &[
                    ("csrf", token),
                    ("current_password", PASSWORD),
                    ("new_password", "a new long password"),
                ],
                &[("origin", own_origin)],
            )
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "token {token:?}");
    }
    // The password did not change and the session still works.
    app.staff_token("city-manager", PASSWORD).await;
    assert_eq!(console.get("/console/").await.status, StatusCode::OK);
    // A login form posted from another site is refused before any password is checked.
    let login = app
        .client
        .post(format!("{}/console/login", app.base))
        .header("origin", "https://evil.example")
        .form(&[("username", "city-manager"), ("password", PASSWORD)])
        .send()
        .await
        .expect("sent");
    assert_eq!(login.status(), StatusCode::FORBIDDEN);
    let _ = world;
}

async fn a_password_change_ends_the_other_sessions(app: TestApp) {
    TwoLibraries::create(&app).await;
    let here = app.console("city-manager", PASSWORD).await;
    let elsewhere = app.console("city-manager", PASSWORD).await;
    let wrong = here
        .post(
            "/console/password",
            &[
                ("current_password", "not it"),
                ("new_password", "a new long password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.html.contains("当前密码不正确"));
    let changed = here
        .post(
            "/console/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a new long password"),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.html);
    assert!(changed.html.contains("密码已修改"));
    assert_eq!(here.get("/console/").await.status, StatusCode::OK);
    assert_eq!(
        elsewhere.get("/console/").await.status,
        StatusCode::SEE_OTHER
    );
    app.staff_token("city-manager", "a new long password").await;
}

async fn the_language_follows_the_choice_and_errors_are_pages(app: TestApp) {
    TwoLibraries::create(&app).await;
    let console = app.console("city-librarian", PASSWORD).await;
    let english = console.get("/console/?lang=en").await;
    assert!(english.html.contains("<html lang=\"en\">"));
    assert!(english.html.contains("Dashboard"));
    let remembered = english.headers["set-cookie"].to_str().expect("ascii");
    assert!(remembered.starts_with("lang=en"), "{remembered}");
    // Every console form carries the session's token.
    assert_eq!(
        scrape_csrf(&english.html).as_deref(),
        Some(console.csrf.as_str())
    );

    let missing = console.get("/console/no-such-page").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.headers["content-type"], "text/html; charset=utf-8");
    assert!(missing.html.contains("找不到"), "{}", missing.html);
}

async fn the_dashboard_counts_the_staff_members_library_only(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let title = app.title_with_copies(&world, "zh/lunyu.epub", 2).await;
    let name = app
        .get(&format!("/api/v1/catalog/{title}"), None)
        .await
        .body["title"]
        .as_str()
        .expect("title")
        .to_owned();
    let patron = app.patron_token("city", "C1").await;
    let loan = app
        .post(
            "/api/v1/me/loans",
            Some(&patron),
            json!({ "title_id": title, "request_id": uuid::Uuid::new_v4() }),
        )
        .await;
    assert_eq!(loan.status, StatusCode::CREATED, "{loan:?}");

    let figure = |html: &str, label: &str| -> String {
        let at = html
            .find(label)
            .unwrap_or_else(|| panic!("{label} in {html}"));
        let before = &html[..at];
        let start = before.rfind("<span class=\"figure\">").expect("figure") + 21;
        before[start..]
            .split('<')
            .next()
            .expect("number")
            .to_owned()
    };
    let city = app.console("city-librarian", PASSWORD).await;
    let html = city.html("/console/").await;
    assert_eq!(figure(&html, "今日借出"), "1");
    assert_eq!(figure(&html, "在借复本"), "1");
    assert!(
        html.contains(&name),
        "the title is among this month's most borrowed"
    );

    let county = app.console("county-librarian", PASSWORD).await;
    let html = county.html("/console/").await;
    assert_eq!(
        figure(&html, "今日借出"),
        "0",
        "the city's loan is not the county's"
    );
    assert_eq!(figure(&html, "在借复本"), "0");
}

/// Each administrative operation of the JSON API and the console pages that offer it.
/// A new admin operation without a console page fails this test until it gets one.
/// `(method, path)` of a console page.
type Page = (&'static str, &'static str);

const ADMIN_API_IN_THE_CONSOLE: &[(&str, &str, &[Page])] = &[
    (
        "delete",
        "/api/v1/admin/distribution/peers/{id}",
        &[
            ("get", "/console/distribution/peers/{id}/remove"),
            ("post", "/console/distribution/peers/{id}/remove"),
        ],
    ),
    (
        "delete",
        "/api/v1/admin/patrons/{id}/devices/{device_id}",
        &[("post", "/console/patrons/{id}/devices/{id}/remove")],
    ),
    (
        "get",
        "/api/v1/admin/distribution/collections",
        &[("get", "/console/distribution")],
    ),
    (
        "get",
        "/api/v1/admin/distribution/hubs",
        &[("get", "/console/distribution")],
    ),
    (
        "get",
        "/api/v1/admin/distribution/installed",
        &[("get", "/console/distribution")],
    ),
    (
        "get",
        "/api/v1/admin/distribution/members",
        &[("get", "/console/distribution")],
    ),
    (
        "get",
        "/api/v1/admin/distribution/usage",
        &[("get", "/console/distribution")],
    ),
    (
        "get",
        "/api/v1/admin/libraries",
        &[("get", "/console/admin")],
    ),
    (
        "get",
        "/api/v1/admin/libraries/{id}",
        &[("get", "/console/admin/libraries/{id}")],
    ),
    (
        "get",
        "/api/v1/admin/lots",
        &[("get", "/console/titles/{id}/copies")],
    ),
    (
        "get",
        "/api/v1/admin/patrons",
        &[("get", "/console/patrons")],
    ),
    (
        "get",
        "/api/v1/admin/patrons/{id}",
        &[("get", "/console/patrons/{id}")],
    ),
    (
        "get",
        "/api/v1/admin/patrons/{id}/devices",
        &[("get", "/console/patrons/{id}")],
    ),
    (
        "get",
        "/api/v1/admin/reports/holds-without-copies",
        &[("get", "/console/reports/holds-without-copies")],
    ),
    (
        "get",
        "/api/v1/admin/reports/loans",
        &[("get", "/console/reports/loans")],
    ),
    (
        "get",
        "/api/v1/admin/reports/shared-usage",
        &[("get", "/console/reports/shared-use")],
    ),
    ("get", "/api/v1/admin/rules", &[("get", "/console/rules")]),
    ("get", "/api/v1/admin/staff", &[("get", "/console/admin")]),
    (
        "get",
        "/api/v1/admin/staff/{id}",
        &[("get", "/console/admin/staff/{id}")],
    ),
    (
        "get",
        "/api/v1/admin/titles/{id}",
        &[("get", "/console/titles/{id}")],
    ),
    (
        "patch",
        "/api/v1/admin/libraries/{id}",
        &[("post", "/console/admin/libraries/{id}")],
    ),
    (
        "patch",
        "/api/v1/admin/lots/{id}",
        &[
            ("post", "/console/lots/{id}/top-up"),
            ("post", "/console/lots/{id}/status"),
            ("post", "/console/lots/{id}/shares"),
        ],
    ),
    (
        "patch",
        "/api/v1/admin/patrons/{id}",
        &[("post", "/console/patrons/{id}")],
    ),
    (
        "patch",
        "/api/v1/admin/staff/{id}",
        &[
            ("post", "/console/admin/staff/{id}"),
            ("post", "/console/admin/staff/{id}/active"),
        ],
    ),
    (
        "patch",
        "/api/v1/admin/titles/{id}",
        &[
            ("post", "/console/titles/{id}/edit"),
            ("post", "/console/titles/{id}/suppress"),
        ],
    ),
    (
        "post",
        "/api/v1/admin/distribution/collections",
        &[("post", "/console/distribution/collections")],
    ),
    (
        "post",
        "/api/v1/admin/distribution/collections/{slug}/versions",
        &[("post", "/console/distribution/collections/{id}/versions")],
    ),
    (
        "post",
        "/api/v1/admin/distribution/hubs",
        &[("post", "/console/distribution/hubs")],
    ),
    (
        "post",
        "/api/v1/admin/distribution/members",
        &[("post", "/console/distribution/members")],
    ),
    (
        "post",
        "/api/v1/admin/distribution/peers/{id}/resume",
        &[("post", "/console/distribution/peers/{id}/resume")],
    ),
    (
        "post",
        "/api/v1/admin/distribution/peers/{id}/suspend",
        &[("post", "/console/distribution/peers/{id}/suspend")],
    ),
    (
        "post",
        "/api/v1/admin/libraries",
        &[("post", "/console/admin/libraries")],
    ),
    (
        "post",
        "/api/v1/admin/loans/{id}/revoke",
        &[("post", "/console/loans/{id}/revoke")],
    ),
    (
        "post",
        "/api/v1/admin/lots",
        &[("post", "/console/titles/{id}/copies")],
    ),
    (
        "post",
        "/api/v1/admin/patrons",
        &[("post", "/console/patrons/new")],
    ),
    (
        "post",
        "/api/v1/admin/patrons/{id}/block",
        &[("post", "/console/patrons/{id}/block")],
    ),
    (
        "post",
        "/api/v1/admin/patrons/{id}/unblock",
        &[("post", "/console/patrons/{id}/unblock")],
    ),
    (
        "post",
        "/api/v1/admin/staff",
        &[("post", "/console/admin/staff")],
    ),
    (
        "post",
        "/api/v1/admin/titles",
        &[("post", "/console/titles/upload")],
    ),
    (
        "put",
        "/api/v1/admin/distribution/collections/{slug}/titles",
        &[
            ("get", "/console/distribution/collections/{id}"),
            ("post", "/console/distribution/collections/{id}/titles"),
        ],
    ),
    ("put", "/api/v1/admin/rules", &[("post", "/console/rules")]),
    (
        "put",
        "/api/v1/admin/titles/{id}/cover",
        &[("post", "/console/titles/{id}/cover")],
    ),
];

async fn every_admin_operation_of_the_api_has_a_console_page(app: TestApp) {
    let document = app.get("/api/v1/openapi.json", None).await.body;
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        if !path.starts_with("/api/v1/admin") {
            continue;
        }
        for method in item.as_object().expect("path item").keys() {
            operations.push((method.clone(), path.clone()));
        }
    }
    assert!(operations.len() >= 25, "{operations:?}");
    for (method, path) in &operations {
        assert!(
            ADMIN_API_IN_THE_CONSOLE
                .iter()
                .any(|(m, p, _)| m == method && p == path),
            "{method} {path} has no console page: add one (and list it here)"
        );
    }
    // Every console route listed exists: it answers with a page (for an unknown id, the
    // console's 404 page), never the API's JSON "no such route".
    let console = app.console("admin", jieyue_tests::ADMIN_PASSWORD).await;
    let nil = "00000000-0000-0000-0000-000000000000";
    for (_, api, pages) in ADMIN_API_IN_THE_CONSOLE {
        for (method, page) in *pages {
            let path = page.replace("{id}", nil);
            let answer = if *method == "get" {
                console.get(&path).await
            } else {
                console.post(&path, &[]).await
            };
            let kind = answer.headers["content-type"].to_str().expect("ascii");
            assert!(
                kind.starts_with("text/html"),
                "{method} {path} (for {api}) is not a console page: {} {kind}",
                answer.status
            );
        }
    }
}

both_backends!(
    every_admin_operation_of_the_api_has_a_console_page,
    a_staff_member_logs_in_with_a_strict_http_only_cookie_and_out_again,
    wrong_passwords_are_refused_and_slowed_down_as_in_the_api,
    a_cross_site_or_tokenless_post_is_refused,
    a_password_change_ends_the_other_sessions,
    the_language_follows_the_choice_and_errors_are_pages,
    the_dashboard_counts_the_staff_members_library_only,
);
