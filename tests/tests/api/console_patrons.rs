//! The console's patrons and holds pages, driven over HTTP as a browser would: finding a
//! reader by card and by Chinese name (also as htmx fragments), the reader's page with
//! loans, revocation with a reason (seen afterwards through the JSON API and the
//! reader's notifications), blocks, registration, holds cancelled by staff, the holds
//! screens, and the scope of a county librarian.

use chrono::Duration;
use jieyue_tests::{ConsoleSession, PASSWORD, Reply, TestApp, TwoLibraries, both_backends};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

async fn borrow(app: &TestApp, token: &str, title: &str) -> Reply {
    app.post(
        "/api/v1/me/loans",
        Some(token),
        json!({ "title_id": title, "request_id": Uuid::new_v4() }),
    )
    .await
}

/// `GET path` as htmx asks for a part of a page.
async fn fragment(app: &TestApp, console: &ConsoleSession<'_>, path: &str) -> String {
    let response = app
        .client
        .get(format!("{}{path}", app.base))
        .header("cookie", format!("jieyue_staff={}", console.cookie))
        .header("hx-request", "true")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.expect("body")
}

async fn title_name(app: &TestApp, title: &str) -> String {
    app.get(&format!("/api/v1/catalog/{title}"), None)
        .await
        .body["title"]
        .as_str()
        .expect("title")
        .to_owned()
}

async fn a_librarian_finds_a_reader_and_revokes_a_loan_with_a_reason(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let title = app.title_with_copies(&world, "zh/daxue.epub", 2).await;
    let name = title_name(&app, &title).await;
    let reader = app.patron_token("city", "C1").await;
    app.enrol_device(&reader, "王小明的手机").await;
    let loan = borrow(&app, &reader, &title).await;
    assert_eq!(loan.status, StatusCode::CREATED, "{loan:?}");
    let loan = loan.id();

    let console = app.console("city-librarian", PASSWORD).await;
    let patron_link = format!("/console/patrons/{}", world.city_patron);
    // By card number (any case), by a part of the Chinese name, and as htmx asks.
    for query in ["c1", "C1", "小明", "王小明"] {
        let page = console.html(&format!("/console/patrons?q={query}")).await;
        assert!(page.contains(&patron_link), "{query}: {page}");
        assert!(
            page.contains("王小明") && page.contains("杭州市图书馆"),
            "{page}"
        );
        assert!(page.contains("正常"), "the standing is shown: {page}");
    }
    let part = fragment(&app, &console, "/console/patrons?q=%E5%B0%8F%E6%98%8E").await;
    assert!(part.contains(&patron_link), "{part}");
    assert!(!part.contains("<html"), "only the results: {part}");
    let nobody = console.html("/console/patrons?q=%E6%9D%8E%E5%9B%9B").await;
    assert!(!nobody.contains(&patron_link));
    assert!(nobody.contains("没有找到"), "{nobody}");

    // The reader's page: details, the loan with its days left, the device.
    let page = console.html(&patron_link).await;
    assert!(page.contains("<h1>王小明"), "{page}");
    assert!(page.contains(&name), "the loan's title: {page}");
    assert!(page.contains("14 天"), "days left: {page}");
    assert!(page.contains("王小明的手机"), "the device: {page}");
    let revoke_path = format!("/console/loans/{loan}/revoke");
    assert!(page.contains(&revoke_path), "{page}");
    assert!(page.contains("累计借阅"), "{page}");

    let reason = "读者反映设备被他人使用，暂时收回";
    let revoked = console.post(&revoke_path, &[("reason", reason)]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{revoked:?}");
    assert_eq!(revoked.location(), format!("{patron_link}?done=revoked"));
    let after = console.html(revoked.location()).await;
    assert!(after.contains("该借阅已收回"), "{after}");
    assert!(!after.contains(&revoke_path), "no longer on loan: {after}");

    // The JSON API sees the loan revoked, and the reader is told why.
    let loans = app.get("/api/v1/me/loans?all=true", Some(&reader)).await;
    assert_eq!(loans.body[0]["id"], loan.as_str());
    assert_eq!(loans.body[0]["state"], "revoked");
    let notes = app.get("/api/v1/me/notifications", Some(&reader)).await;
    let revoked_note = notes.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|n| n["kind"] == "loan_revoked")
        .cloned()
        .unwrap_or_else(|| panic!("no loan_revoked in {notes:?}"));
    assert_eq!(revoked_note["payload"]["reason"], reason);
    assert_eq!(revoked_note["payload"]["loan_id"], loan.as_str());

    // Revoking it again is refused (the loan has ended); the history still counts it.
    let again = console.post(&revoke_path, &[("reason", reason)]).await;
    assert_eq!(again.status, StatusCode::GONE, "{again:?}");
    let page = console.html(&patron_link).await;
    for figure in ["累计借阅", "今年借阅", "借过的书"] {
        assert!(
            page.contains(&format!("<span class=\"figure\">1</span> {figure}")),
            "{figure}: {page}"
        );
    }
}

async fn the_api_revokes_with_or_without_a_reason(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let title = app.title_with_copies(&world, "zh/daxue.epub", 2).await;
    let reader = app.patron_token("city", "C1").await;
    let first = borrow(&app, &reader, &title).await.id();
    // No body at all, as before reasons existed.
    let bare = app
        .client
        .post(format!("{}/api/v1/admin/loans/{first}/revoke", app.base))
        .bearer_auth(&world.city_librarian)
        .send()
        .await
        .expect("sent");
    assert_eq!(bare.status(), StatusCode::NO_CONTENT);

    // A JSON null is no reason too; a body that is not JSON is refused.
    let third = borrow(&app, &reader, &title).await.id();
    let send = |body: &'static str| {
        app.client
            .post(format!("{}/api/v1/admin/loans/{third}/revoke", app.base))
            .bearer_auth(&world.city_librarian)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    assert_eq!(
        send("{").await.expect("sent").status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        send("null").await.expect("sent").status(),
        StatusCode::NO_CONTENT
    );

    let second = borrow(&app, &reader, &title).await.id();
    let path = format!("/api/v1/admin/loans/{second}/revoke");
    let too_long = app
        .post(
            &path,
            Some(&world.city_librarian),
            json!({ "reason": "长".repeat(501) }),
        )
        .await;
    assert_eq!(
        too_long.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{too_long:?}"
    );
    let unknown = app
        .post(&path, Some(&world.city_librarian), json!({ "why": "x" }))
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{unknown:?}"
    );
    let with_reason = app
        .post(
            &path,
            Some(&world.city_librarian),
            json!({ "reason": "  版权方要求下架  " }),
        )
        .await;
    assert_eq!(
        with_reason.status,
        StatusCode::NO_CONTENT,
        "{with_reason:?}"
    );
    let notes = app.get("/api/v1/me/notifications", Some(&reader)).await;
    let reasons: Vec<_> = notes.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|n| n["kind"] == "loan_revoked")
        .map(|n| n["payload"]["reason"].clone())
        .collect();
    assert_eq!(
        reasons,
        [
            serde_json::Value::Null,
            serde_json::Value::Null,
            json!("版权方要求下架")
        ]
    );

    // Three loans of one title: the history counts three loans and one title.
    let console = app.console("city-librarian", PASSWORD).await;
    let page = console
        .html(&format!("/console/patrons/{}", world.city_patron))
        .await;
    for (figure, label) in [(3, "累计借阅"), (3, "今年借阅"), (1, "借过的书")] {
        assert!(
            page.contains(&format!("<span class=\"figure\">{figure}</span> {label}")),
            "{label}: {page}"
        );
    }
}

async fn a_librarian_blocks_and_unblocks_with_a_reason_and_registers_a_reader(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let console = app.console("city-librarian", PASSWORD).await;
    let patron_link = format!("/console/patrons/{}", world.city_patron);
    let api_path = format!("/api/v1/admin/patrons/{}", world.city_patron);

    let reason = "多次违反借阅规定";
    let blocked = console
        .post(&format!("{patron_link}/block"), &[("reason", reason)])
        .await;
    assert_eq!(blocked.status, StatusCode::SEE_OTHER, "{blocked:?}");
    let api = app.get(&api_path, Some(&world.city_librarian)).await;
    assert_eq!(
        (
            api.body["blocked"].clone(),
            api.body["blocked_reason"].clone()
        ),
        (json!(true), json!(reason))
    );
    let page = console.html(&format!("{patron_link}?done=blocked")).await;
    assert!(page.contains(reason) && page.contains("已停借"), "{page}");
    assert!(page.contains(&format!("{patron_link}/unblock")), "{page}");
    let listed = console.html("/console/patrons?q=C1").await;
    assert!(listed.contains("已停借"), "{listed}");
    let too_long = console
        .post(
            &format!("{patron_link}/block"),
            &[("reason", &"长".repeat(501))],
        )
        .await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);

    let unblocked = console.post(&format!("{patron_link}/unblock"), &[]).await;
    assert_eq!(unblocked.status, StatusCode::SEE_OTHER);
    let api = app.get(&api_path, Some(&world.city_librarian)).await;
    assert_eq!(api.body["blocked"], false);

    // Edits through the page's form.
    let saved = console
        .post(
            &patron_link,
            &[
                ("display_name", "王小明（成人）"),
                ("category", "senior"),
                ("card_expires_at", "2031-06-30"),
                ("password", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{saved:?}");
    let api = app.get(&api_path, Some(&world.city_librarian)).await;
    assert_eq!(api.body["display_name"], "王小明（成人）");
    assert_eq!(api.body["category"], "senior");
    assert!(
        api.body["card_expires_at"]
            .as_str()
            .is_some_and(|d| d.starts_with("2031-06-30"))
    );
    app.patron_token("city", "C1").await; // the password is unchanged

    // Registration.
    let form = console.html("/console/patrons/new").await;
    assert!(form.contains("name=\"card_number\"") && !form.contains("name=\"library_id\""));
    let fields = [
        ("card_number", "c9"),
        ("display_name", "李雷"),
        ("category", "student"),
        ("card_expires_at", "2030-01-01"),
        ("password", "a long enough password"),
    ];
    let created = console.post("/console/patrons/new", &fields).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{created:?}");
    assert!(created.location().ends_with("?done=created"));
    let page = console.html(created.location()).await;
    assert!(
        page.contains("读者证已办好") && page.contains("C9") && page.contains("学生"),
        "{page}"
    );
    let found = app
        .get("/api/v1/admin/patrons?q=C9", Some(&world.city_librarian))
        .await;
    assert_eq!(found.body["items"][0]["display_name"], "李雷");
    assert_eq!(found.body["items"][0]["library_id"], world.city.as_str());
    assert_eq!(
        app.patron_login("city", "C9", "a long enough password")
            .await
            .status,
        StatusCode::OK
    );
    // The same card again, and a bad card: the form comes back with what is wrong.
    let twice = console.post("/console/patrons/new", &fields).await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(twice.html.contains("该卡号在本馆已被使用") && twice.html.contains("value=\"李雷\""));
    let bad = console
        .post(
            "/console/patrons/new",
            &[
                ("card_number", "卡号"),
                ("display_name", ""),
                ("category", "adult"),
                ("card_expires_at", "2030-01-01"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    for message in ["卡号须为", "请填写姓名", "密码须为"] {
        assert!(bad.html.contains(message), "{message}: {}", bad.html);
    }

    // A consortium admin chooses the library.
    let admin = app.console("admin", jieyue_tests::ADMIN_PASSWORD).await;
    let form = admin.html("/console/patrons/new").await;
    assert!(
        form.contains("name=\"library_id\"") && form.contains("淳安县图书馆"),
        "{form}"
    );
    let county_reader = admin
        .post(
            "/console/patrons/new",
            &[
                ("library_id", world.county.as_str()),
                ("card_number", "K9"),
                ("display_name", "韩梅梅"),
                ("category", "adult"),
                ("card_expires_at", "2030-01-01"),
                ("password", "a long enough password"),
            ],
        )
        .await;
    assert_eq!(
        county_reader.status,
        StatusCode::SEE_OTHER,
        "{county_reader:?}"
    );
    assert_eq!(
        app.patron_login("county", "K9", "a long enough password")
            .await
            .status,
        StatusCode::OK
    );
}

async fn holds_are_seen_in_their_queues_and_cancelled_by_staff(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let title = app.title_with_copies(&world, "zh/daxue.epub", 1).await;
    let name = title_name(&app, &title).await;
    let c2 = app
        .create_patron(&world.admin, &world.city, "C2", "李四")
        .await;
    let c3 = app
        .create_patron(&world.admin, &world.city, "C3", "赵六")
        .await;
    let (a, b, c) = (
        app.patron_token("city", "C1").await,
        app.patron_token("city", "C2").await,
        app.patron_token("city", "C3").await,
    );
    let loan = borrow(&app, &a, &title).await.id();
    for token in [&b, &c] {
        let hold = app
            .post(
                "/api/v1/me/holds",
                Some(token),
                json!({ "title_id": title }),
            )
            .await;
        assert_eq!(hold.status, StatusCode::CREATED, "{hold:?}");
    }
    let c_hold = app.get("/api/v1/me/holds", Some(&c)).await.body[0]["id"]
        .as_str()
        .expect("hold")
        .to_owned();

    let console = app.console("city-librarian", PASSWORD).await;
    let queues = console.html("/console/holds").await;
    let queue_link = format!("/console/holds/titles/{title}");
    assert!(
        queues.contains(&queue_link) && queues.contains(&name),
        "{queues}"
    );
    let queue = console.html(&queue_link).await;
    for who in ["李四 (C2)", "赵六 (C3)"] {
        assert!(queue.contains(who), "{who}: {queue}");
    }
    assert!(
        queue.find("李四").unwrap_or(usize::MAX) < queue.find("赵六").unwrap_or(0),
        "in order"
    );

    // The county sees the city's queue by library only.
    let county = app.console("county-librarian", PASSWORD).await;
    let their_queues = county.html("/console/holds").await;
    assert!(
        !their_queues.contains(&queue_link),
        "no county reader waits: {their_queues}"
    );
    let their_view = county.html(&queue_link).await;
    assert!(
        !their_view.contains("(C2)") && !their_view.contains("李四"),
        "{their_view}"
    );
    assert!(
        their_view.contains("其他馆读者") && their_view.contains(">city<"),
        "{their_view}"
    );

    // C3's hold, from C3's page: cancelled, and gone from the reader's own list.
    let page = console.html(&format!("/console/patrons/{c3}")).await;
    let cancel = format!("/console/patrons/{c3}/holds/{c_hold}/cancel");
    assert!(page.contains(&cancel) && page.contains("排队中"), "{page}");
    assert_eq!(
        county.post(&cancel, &[]).await.status,
        StatusCode::NOT_FOUND,
        "not the county's hold"
    );
    let cancelled = console.post(&cancel, &[]).await;
    assert_eq!(cancelled.status, StatusCode::SEE_OTHER, "{cancelled:?}");
    assert_eq!(
        cancelled.location(),
        format!("/console/patrons/{c3}?done=hold-cancelled")
    );
    let mine = app.get("/api/v1/me/holds", Some(&c)).await;
    assert_eq!(mine.body, json!([]), "{mine:?}");

    // A returns the book: B's hold is ready, awaiting pickup (not yet about to lapse).
    let returned = app
        .post(
            &format!("/api/v1/me/loans/{loan}/return"),
            Some(&a),
            json!({}),
        )
        .await;
    assert_eq!(returned.status, StatusCode::OK, "{returned:?}");
    let mut ready = String::new();
    for _ in 0..50 {
        ready = console.html("/console/holds?tab=ready").await;
        if ready.contains("李四 (C2)") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        ready.contains("李四 (C2)") && ready.contains(&name),
        "{ready}"
    );
    let lapsing = console.html("/console/holds?tab=lapsing").await;
    assert!(!lapsing.contains("李四 (C2)"), "72 hours left: {lapsing}");
    let page = console.html(&format!("/console/patrons/{c2}")).await;
    assert!(page.contains("已到书"), "{page}");

    // With less than a day left it is about to lapse.
    app.clock.advance(Duration::hours(50));
    let console = app.console("city-librarian", PASSWORD).await;
    let lapsing = console.html("/console/holds?tab=lapsing").await;
    assert!(lapsing.contains("李四 (C2)"), "{lapsing}");
    let admin = app.console("admin", jieyue_tests::ADMIN_PASSWORD).await;
    assert!(
        admin
            .html("/console/holds?tab=lapsing")
            .await
            .contains("李四 (C2)")
    );
}

async fn a_county_librarian_cannot_see_or_touch_city_readers(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let title = app.title_with_copies(&world, "zh/daxue.epub", 1).await;
    let reader = app.patron_token("city", "C1").await;
    let loan = borrow(&app, &reader, &title).await.id();
    let city_link = format!("/console/patrons/{}", world.city_patron);

    let county = app.console("county-librarian", PASSWORD).await;
    for query in ["C1", "%E7%8E%8B%E5%B0%8F%E6%98%8E", ""] {
        let page = county.html(&format!("/console/patrons?q={query}")).await;
        assert!(
            !page.contains(&city_link) && !page.contains(">王小明</a>"),
            "{query}: {page}"
        );
    }
    let own = county.html("/console/patrons?q=K1").await;
    assert!(own.contains("张伟"), "{own}");

    let page = county.get(&city_link).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.html.contains("找不到该记录"), "{}", page.html);
    assert_eq!(
        county.get("/console/patrons/not-a-uuid").await.status,
        StatusCode::NOT_FOUND
    );
    for (path, fields) in [
        (format!("{city_link}/block"), vec![("reason", "x")]),
        (format!("{city_link}/unblock"), vec![]),
        (
            format!("/console/loans/{loan}/revoke"),
            vec![("reason", "x")],
        ),
    ] {
        let refused = county.post(&path, &fields).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{path}");
    }
    let api = app
        .get(
            &format!("/api/v1/admin/patrons/{}", world.city_patron),
            Some(&world.city_librarian),
        )
        .await;
    assert_eq!(api.body["blocked"], false);
    let loans = app.get("/api/v1/me/loans", Some(&reader)).await;
    assert_eq!(loans.body[0]["state"], "active");

    // Without the CSRF token (or from another site) nothing happens.
    let city = app.console("city-librarian", PASSWORD).await;
    let forged = city
        .post_raw(
            &format!("{city_link}/block"),
            &[("reason", "forged")],
            &[("origin", app.base.as_str())],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let cross_site = city
        .post_raw(
            &format!("/console/loans/{loan}/revoke"),
            &[("csrf", city.csrf.as_str()), ("reason", "forged")],
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
    let api = app
        .get(
            &format!("/api/v1/admin/patrons/{}", world.city_patron),
            Some(&world.city_librarian),
        )
        .await;
    assert_eq!(api.body["blocked"], false);
    let loans = app.get("/api/v1/me/loans", Some(&reader)).await;
    assert_eq!(loans.body[0]["state"], "active");
}

both_backends!(
    a_librarian_finds_a_reader_and_revokes_a_loan_with_a_reason,
    the_api_revokes_with_or_without_a_reason,
    a_librarian_blocks_and_unblocks_with_a_reason_and_registers_a_reader,
    holds_are_seen_in_their_queues_and_cancelled_by_staff,
    a_county_librarian_cannot_see_or_touch_city_readers,
);
