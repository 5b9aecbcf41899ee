//! Patrons as staff manage them.

use jieyue_tests::{PASSWORD, TestApp, TwoLibraries, both_backends};
use reqwest::StatusCode;
use serde_json::json;

async fn librarian_registers_patrons_in_their_own_library(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let reply = app
        .post(
            "/api/v1/admin/patrons",
            Some(&world.city_librarian),
            json!({ "card_number": "c2", "display_name": "李华", "category": "Student", "password": PASSWORD }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    assert_eq!(reply.body["library_id"], world.city.as_str());
    assert_eq!(reply.body["card_number"], "C2");
    assert_eq!(reply.body["category"], "student");
    app.patron_token("city", "C2").await;
}

async fn card_numbers_are_unique_per_library_only(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let duplicate = app
        .post(
            "/api/v1/admin/patrons",
            Some(&world.admin),
            json!({ "library_id": world.city, "card_number": "C1", "display_name": "重复", "password": PASSWORD }),
        )
        .await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT);
    assert_eq!(duplicate.problem(), "conflict");
    // The same number at the other library is a different card.
    app.create_patron(&world.admin, &world.county, "C1", "另一位")
        .await;
    let city = app.patron_login("city", "C1", PASSWORD).await;
    let county = app.patron_login("county", "C1", PASSWORD).await;
    assert_ne!(city.body["patron"]["id"], county.body["patron"]["id"]);
}

async fn consortium_admin_must_name_the_library(app: TestApp) {
    let admin = app.admin_token().await;
    let reply = app
        .post(
            "/api/v1/admin/patrons",
            Some(&admin),
            json!({ "card_number": "C9", "display_name": "x", "password": PASSWORD }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.body["errors"][0]["field"], "library_id");
}

async fn staff_find_patrons_by_card_or_name_with_paging(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    for n in 2..=6 {
        app.create_patron(
            &world.admin,
            &world.city,
            &format!("C{n}"),
            &format!("读者{n}号"),
        )
        .await;
    }
    let by_name = app
        .get(
            "/api/v1/admin/patrons?q=%E8%AF%BB%E8%80%853",
            Some(&world.city_librarian),
        )
        .await;
    let cards: Vec<&str> = by_name.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|p| p["card_number"].as_str())
        .collect();
    assert_eq!(cards, ["C3"]);
    let by_card = app
        .get("/api/v1/admin/patrons?q=c", Some(&world.city_librarian))
        .await;
    assert_eq!(by_card.body["items"].as_array().map(Vec::len), Some(6));
    // A literal % is not a wildcard.
    let percent = app
        .get("/api/v1/admin/patrons?q=%25", Some(&world.city_librarian))
        .await;
    assert_eq!(percent.body["items"].as_array().map(Vec::len), Some(0));

    let mut seen = Vec::new();
    let mut path = "/api/v1/admin/patrons?limit=4".to_owned();
    loop {
        let page = app.get(&path, Some(&world.city_librarian)).await;
        assert_eq!(page.status, StatusCode::OK, "{page:?}");
        for p in page.body["items"].as_array().expect("items") {
            seen.push(p["card_number"].as_str().expect("card").to_owned());
        }
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/admin/patrons?limit=4&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ["C1", "C2", "C3", "C4", "C5", "C6"]);

    let bad = app
        .get(
            "/api/v1/admin/patrons?limit=0&cursor=zzz",
            Some(&world.city_librarian),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["errors"].as_array().map(Vec::len), Some(2));
}

async fn blocking_shows_to_the_patron_and_unblocking_clears_it(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let path = format!("/api/v1/admin/patrons/{}", world.city_patron);
    let blocked = app
        .post(
            &format!("{path}/block"),
            Some(&world.city_librarian),
            json!({ "reason": "逾期未还" }),
        )
        .await;
    assert_eq!(blocked.status, StatusCode::OK, "{blocked:?}");
    assert_eq!(blocked.body["blocked"], true);
    assert_eq!(blocked.body["blocked_reason"], "逾期未还");

    let patron = app.patron_token("city", "C1").await;
    assert_eq!(
        app.get("/api/v1/me", Some(&patron)).await.body["blocked"],
        true
    );

    let unblocked = app
        .post(
            &format!("{path}/unblock"),
            Some(&world.city_librarian),
            json!({}),
        )
        .await;
    assert_eq!(unblocked.body["blocked"], false);
    assert!(unblocked.body["blocked_reason"].is_null());
    assert_eq!(
        app.get("/api/v1/me", Some(&patron)).await.body["blocked"],
        false
    );
}

async fn staff_reset_a_patrons_password_and_end_their_sessions(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let patron = app.patron_token("city", "C1").await;
    let reply = app
        .patch(
            &format!("/api/v1/admin/patrons/{}", world.city_patron),
            Some(&world.city_librarian),
            json!({ "password": "reset by the desk", "category": "senior" }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.body["category"], "senior");
    assert_eq!(
        app.get("/api/v1/me", Some(&patron)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.patron_login("city", "C1", "reset by the desk")
            .await
            .status,
        StatusCode::OK
    );
}

both_backends!(
    librarian_registers_patrons_in_their_own_library,
    card_numbers_are_unique_per_library_only,
    consortium_admin_must_name_the_library,
    staff_find_patrons_by_card_or_name_with_paging,
    blocking_shows_to_the_patron_and_unblocking_clears_it,
    staff_reset_a_patrons_password_and_end_their_sessions,
);
