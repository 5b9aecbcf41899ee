//! Circulation reports, scoped, as JSON and CSV.

use jieyue_tests::{TestApp, TwoLibraries, both_backends};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

async fn reports_count_loans_shared_use_and_unmet_holds(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let lunyu = app.upload_corpus(&world.admin, "zh/lunyu.epub").await;
    let mengzi = app.upload_corpus(&world.admin, "zh/mengzi.epub").await;
    let daxue = app.upload_corpus(&world.admin, "zh/daxue.epub").await;
    let lot = |body: serde_json::Value| {
        let app = &app;
        let admin = world.admin.clone();
        async move {
            let reply = app.post("/api/v1/admin/lots", Some(&admin), body).await;
            assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        }
    };
    lot(json!({ "title_id": lunyu, "owner_library_id": world.city, "copies": 1 })).await;
    lot(json!({ "title_id": mengzi, "copies": 3 })).await; // the consortium's shared pool
    lot(json!({ "title_id": daxue, "owner_library_id": world.county, "copies": 2, "shared_with": [world.city] })).await;

    let city = app.patron_token("city", "C1").await;
    let county = app.patron_token("county", "K1").await;
    let borrow = |token: String, title: String| {
        let app = &app;
        async move {
            let reply = app
                .post(
                    "/api/v1/me/loans",
                    Some(&token),
                    json!({ "title_id": title, "request_id": Uuid::new_v4() }),
                )
                .await;
            assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        }
    };
    borrow(city.clone(), lunyu.clone()).await;
    borrow(city.clone(), daxue.clone()).await; // the county's copy, shared with the city
    borrow(county.clone(), mengzi.clone()).await; // the pool
    // The county cannot lend the city's 论语, and a city reader waits for it.
    app.create_patron(&world.admin, &world.city, "C2", "李华")
        .await;
    let waiting = app.patron_token("city", "C2").await;
    let hold = app
        .post(
            "/api/v1/me/holds",
            Some(&waiting),
            json!({ "title_id": lunyu }),
        )
        .await;
    assert_eq!(hold.status, StatusCode::CREATED);

    let by_library = app
        .get(
            "/api/v1/admin/reports/loans?group=library",
            Some(&world.admin),
        )
        .await;
    assert_eq!(
        by_library.body["columns"],
        json!(["library", "loans", "loan_days"])
    );
    assert_eq!(
        by_library.body["rows"],
        json!([["city", "2", "28"], ["county", "1", "14"]])
    );

    let shared = app
        .get("/api/v1/admin/reports/shared-usage", Some(&world.admin))
        .await;
    assert_eq!(
        shared.body["rows"],
        json!([
            ["city", "county", "1", "14"],
            ["county", "consortium", "1", "14"]
        ])
    );

    // A city librarian sees the city's figures only.
    let scoped = app
        .get(
            "/api/v1/admin/reports/loans?group=title",
            Some(&world.city_librarian),
        )
        .await;
    let titles: Vec<&str> = scoped.body["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r[1].as_str())
        .collect();
    assert_eq!(titles.len(), 2);
    assert!(!titles.contains(&"孟子"), "{titles:?}");

    let unmet = app
        .get(
            "/api/v1/admin/reports/holds-without-copies",
            Some(&world.city_manager),
        )
        .await;
    assert_eq!(unmet.body["rows"][0][1], "论语");
    assert_eq!(unmet.body["rows"][0][2], "1");

    let month = app
        .get(
            "/api/v1/admin/reports/loans?group=month&format=csv",
            Some(&world.admin),
        )
        .await;
    let (status, headers, body) = app
        .get_bytes(
            "/api/v1/admin/reports/loans?group=title&format=csv",
            &[("authorization", &format!("Bearer {}", world.admin))],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/csv")
    );
    let text = String::from_utf8(body).expect("utf-8");
    assert!(
        text.starts_with("\u{feff}title_id,title,loans,loan_days"),
        "{text}"
    );
    assert!(text.contains("论语"), "{text}");
    assert_eq!(month.status, StatusCode::OK);
    assert_eq!(
        app.get(
            "/api/v1/admin/reports/loans?group=planet",
            Some(&world.admin)
        )
        .await
        .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let patron_denied = app.get("/api/v1/admin/reports/loans", Some(&city)).await;
    assert_eq!(patron_denied.status, StatusCode::FORBIDDEN);
}

both_backends!(reports_count_loans_shared_use_and_unmet_holds);
