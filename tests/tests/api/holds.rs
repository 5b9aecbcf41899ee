//! The whole loan life cycle with holds, driven by a moved clock.

use chrono::Duration;
use jieyue_tests::{Reply, TestApp, TwoLibraries, both_backends};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

async fn eventually(
    app: &TestApp,
    path: &str,
    token: &str,
    check: impl Fn(&Reply) -> bool,
) -> Reply {
    for _ in 0..60 {
        let reply = app.get(path, Some(token)).await;
        if check(&reply) {
            return reply;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let last = app.get(path, Some(token)).await;
    panic!("{path} never reached the expected state: {last:?}");
}

fn state_of(reply: &Reply, index: usize) -> String {
    reply.body[index]["state"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn the_loan_life_cycle_with_a_holds_queue(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let title = app.title_with_copies(&world, "zh/daxue.epub", 1).await;
    for (card, name) in [("C2", "乙"), ("C3", "丙")] {
        app.create_patron(&world.admin, &world.city, card, name)
            .await;
    }
    let (a, b, c) = (
        app.patron_token("city", "C1").await,
        app.patron_token("city", "C2").await,
        app.patron_token("city", "C3").await,
    );

    // A borrows the only copy; B and C queue.
    let loan = app
        .post(
            "/api/v1/me/loans",
            Some(&a),
            json!({ "title_id": title, "request_id": Uuid::new_v4() }),
        )
        .await;
    assert_eq!(loan.status, StatusCode::CREATED);
    let b_hold = app
        .post("/api/v1/me/holds", Some(&b), json!({ "title_id": title }))
        .await;
    assert_eq!(
        (b_hold.status, b_hold.body["state"].as_str()),
        (StatusCode::CREATED, Some("waiting"))
    );
    assert_eq!(b_hold.body["position"], 1);
    let c_hold = app
        .post("/api/v1/me/holds", Some(&c), json!({ "title_id": title }))
        .await;
    assert_eq!(c_hold.body["position"], 2);
    let twice = app
        .post("/api/v1/me/holds", Some(&c), json!({ "title_id": title }))
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    let own = app
        .post("/api/v1/me/holds", Some(&a), json!({ "title_id": title }))
        .await;
    assert_eq!(own.problem(), "already-borrowed");

    // Availability, as the catalogue and OPDS show it to each reader.
    let details = |token: String| {
        let path = format!("/api/v1/catalog/{title}");
        let app = &app;
        async move { app.get(&path, Some(&token)).await.body["availability"].clone() }
    };
    let for_c = details(c.clone()).await;
    assert_eq!(for_c["state"], "reserved");
    assert_eq!(
        (
            for_c["copies_total"].as_u64(),
            for_c["copies_available"].as_u64()
        ),
        (Some(1), Some(0))
    );
    assert_eq!(
        (
            for_c["holds_total"].as_u64(),
            for_c["hold_position"].as_u64()
        ),
        (Some(2), Some(2))
    );
    let anonymous = app
        .get(&format!("/api/v1/catalog/{title}?library=city"), None)
        .await;
    assert_eq!(anonymous.body["availability"]["state"], "unavailable");
    let county = app
        .get(&format!("/api/v1/catalog/{title}?library=county"), None)
        .await;
    assert_eq!(
        county.body["availability"]["copies_total"], 0,
        "the city's lot is not the county's"
    );
    let opds = app
        .get(&format!("/opds/publications/{title}"), Some(&c))
        .await;
    let borrow_link = &opds.body["links"][1]["properties"];
    assert_eq!(borrow_link["availability"]["state"], "reserved");
    assert_eq!(borrow_link["holds"]["position"], 2);

    // Others wait, so A cannot renew; A returns early instead.
    let renew = app
        .post(
            &format!("/api/v1/me/loans/{}/renew", loan.id()),
            Some(&a),
            json!({}),
        )
        .await;
    assert_eq!(renew.problem(), "renewal-refused");
    let returned = app
        .post(
            &format!("/api/v1/me/loans/{}/return", loan.id()),
            Some(&a),
            json!({}),
        )
        .await;
    assert_eq!(returned.status, StatusCode::OK, "{returned:?}");

    // B's hold is ready at once, with a pickup deadline, and B is told.
    let ready = eventually(&app, "/api/v1/me/holds", &b, |r| state_of(r, 0) == "ready").await;
    assert!(ready.body[0]["pickup_deadline"].is_string());
    let for_b = app
        .get(&format!("/api/v1/catalog/{title}"), Some(&b))
        .await
        .body["availability"]
        .clone();
    assert_eq!(for_b["state"], "ready");
    assert_eq!(for_b["until"], ready.body[0]["pickup_deadline"]);
    let notes = app.get("/api/v1/me/notifications", Some(&b)).await;
    assert_eq!(notes.body["items"][0]["kind"], "hold_ready");
    // Nobody else can take the reserved copy.
    app.create_patron(&world.admin, &world.city, "C4", "丁")
        .await;
    let d = app.patron_token("city", "C4").await;
    let jump = app
        .post(
            "/api/v1/me/loans",
            Some(&d),
            json!({ "title_id": title, "request_id": Uuid::new_v4() }),
        )
        .await;
    assert_eq!(jump.problem(), "no-copy-available");
    assert_eq!(
        app.get("/api/v1/me/holds", Some(&c)).await.body[0]["position"],
        1
    );

    // B does not collect within the pickup window: the copy passes to C.
    app.clock.advance(Duration::hours(73));
    let (b, c) = (
        app.patron_token("city", "C2").await,
        app.patron_token("city", "C3").await,
    );
    eventually(&app, "/api/v1/me/holds", &c, |r| state_of(r, 0) == "ready").await;
    let b_holds = app.get("/api/v1/me/holds", Some(&b)).await;
    assert_eq!(
        b_holds.body.as_array().map(Vec::len),
        Some(0),
        "B's hold expired"
    );
    let b_notes = app.get("/api/v1/me/notifications", Some(&b)).await;
    let kinds: Vec<&str> = b_notes.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|n| n["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["hold_ready", "hold_expired"]);

    // C borrows the reserved copy.
    let c_loan = app
        .post(
            "/api/v1/me/loans",
            Some(&c),
            json!({ "title_id": title, "request_id": Uuid::new_v4() }),
        )
        .await;
    assert_eq!(c_loan.status, StatusCode::CREATED, "{c_loan:?}");
    assert_eq!(
        app.get("/api/v1/me/holds", Some(&c))
            .await
            .body
            .as_array()
            .map(Vec::len),
        Some(0),
        "fulfilled"
    );

    // The loan expires at its end (14 days by default) and the copy is free again.
    app.clock.advance(Duration::days(15));
    let c = app.patron_token("city", "C3").await;
    eventually(&app, "/api/v1/me/loans?all=true", &c, |r| {
        state_of(r, 0) == "expired"
    })
    .await;
    let admin = app.admin_token().await;
    let lots = app
        .get(
            &format!("/api/v1/admin/lots?title_id={title}"),
            Some(&admin),
        )
        .await;
    assert_eq!(lots.body[0]["active_loans"], 0);
}

async fn suspended_holds_keep_their_place_but_are_skipped(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let title = app.upload_corpus(&world.admin, "zh/zhongyong.epub").await;
    let lot = app
        .post(
            "/api/v1/admin/lots",
            Some(&world.city_manager),
            json!({ "title_id": title, "owner_library_id": world.city, "copies": 1 }),
        )
        .await;
    let lot_id = lot.id();
    for (card, name) in [("C2", "乙"), ("C3", "丙")] {
        app.create_patron(&world.admin, &world.city, card, name)
            .await;
    }
    let (a, b, c) = (
        app.patron_token("city", "C1").await,
        app.patron_token("city", "C2").await,
        app.patron_token("city", "C3").await,
    );
    app.post(
        "/api/v1/me/loans",
        Some(&a),
        json!({ "title_id": title, "request_id": Uuid::new_v4() }),
    )
    .await;
    let b_hold = app
        .post("/api/v1/me/holds", Some(&b), json!({ "title_id": title }))
        .await;
    app.post(
        "/api/v1/me/holds",
        Some(&c),
        json!({ "title_id": title, "auto_borrow": true }),
    )
    .await;
    let until = (app.clock_now() + Duration::days(7)).to_rfc3339();
    let suspended = app
        .post(
            &format!("/api/v1/me/holds/{}/suspend", b_hold.id()),
            Some(&b),
            json!({ "until": until }),
        )
        .await;
    assert_eq!(suspended.status, StatusCode::OK, "{suspended:?}");

    // A second copy arrives: B is skipped, C (auto-borrow) gets a loan straight away.
    let top_up = app
        .patch(
            &format!("/api/v1/admin/lots/{lot_id}"),
            Some(&world.city_manager),
            json!({ "add_copies": 1 }),
        )
        .await;
    assert_eq!(top_up.body["copies"], 2);
    eventually(&app, "/api/v1/me/loans", &c, |r| {
        r.body.as_array().is_some_and(|l| l.len() == 1)
    })
    .await;
    let b_holds = app.get("/api/v1/me/holds", Some(&b)).await;
    assert_eq!(b_holds.body[0]["state"], "waiting");
    assert_eq!(b_holds.body[0]["position"], 1, "still first in line");
}

both_backends!(
    the_loan_life_cycle_with_a_holds_queue,
    suspended_holds_keep_their_place_but_are_skipped
);
