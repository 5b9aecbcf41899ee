//! Publications beyond EPUB in the catalogue and in lending: a rules cell for one kind
//! sets the loan length of that kind only; the kind is a facet of the OPDS feed.

use chrono::Duration;
use jieyue_tests::{TestApp, TwoLibraries, both_backends};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../testdata/media")
            .join(name),
    )
    .expect("fixture")
}

async fn with_copies(app: &TestApp, world: &TwoLibraries, name: &str, bytes: Vec<u8>) -> String {
    let reply = app.upload_bytes(&world.admin, name, bytes).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    let id = reply.body["title"]["id"].as_str().expect("id").to_owned();
    let lot = app
        .post(
            "/api/v1/admin/lots",
            Some(&world.city_manager),
            json!({ "title_id": id, "owner_library_id": world.city, "copies": 3 }),
        )
        .await;
    assert_eq!(lot.status, StatusCode::CREATED, "{lot:?}");
    id
}

async fn put_rules(app: &TestApp, token: &str, body: serde_json::Value) -> jieyue_tests::Reply {
    app.request(
        reqwest::Method::PUT,
        "/api/v1/admin/rules",
        Some(token),
        Some(body),
    )
    .await
}

async fn a_kinds_rules_cell_sets_the_loan_length_of_that_kind(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let video = with_copies(&app, &world, "讲座.mp4", fixture("lecture-1.mp4")).await;
    let audio = with_copies(&app, &world, "静夜思.mp3", fixture("tone-a.mp3")).await;
    let book = app.title_with_copies(&world, "zh/daxue.epub", 3).await;

    // Videos: 3 days by default, at most 5, for every reader of the consortium.
    let cell = json!({ "kind": "video", "loan_days_default": 3, "loan_days_max": 5,
        "max_loans": 1, "max_holds": 1, "renewals": 0, "renewal_days": 1,
        "pickup_hours": 1, "max_devices": 1 });
    let set = put_rules(&app, &world.admin, cell.clone()).await;
    assert_eq!(set.status, StatusCode::NO_CONTENT, "{set:?}");
    let mut bad = cell_fields(&cell);
    bad.insert("kind".into(), json!("novel"));
    let bad = put_rules(&app, &world.admin, serde_json::Value::Object(bad)).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
    let listed = app
        .get("/api/v1/admin/rules", Some(&world.admin))
        .await
        .body;
    assert!(
        listed
            .as_array()
            .expect("cells")
            .iter()
            .any(|c| c["kind"] == "video" && c["loan_days_default"] == 3),
        "{listed}"
    );

    let reader = app.patron_token("city", "C1").await;
    let now = app.clock_now();
    let borrow = |title: &str, days: Option<u32>| {
        let mut body = json!({ "title_id": title, "request_id": Uuid::new_v4() });
        if let Some(days) = days {
            body["days"] = json!(days);
        }
        let (app, reader) = (&app, reader.clone());
        async move { app.post("/api/v1/me/loans", Some(&reader), body).await }
    };
    let ends = |reply: &jieyue_tests::Reply| {
        chrono::DateTime::parse_from_rfc3339(reply.body["ends_at"].as_str().expect("ends_at"))
            .expect("time")
            .with_timezone(&chrono::Utc)
    };
    // The video: 3 days; 6 refused (at most 5).
    let refused = borrow(&video, Some(6)).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{refused:?}"
    );
    let loan = borrow(&video, None).await;
    assert_eq!(loan.status, StatusCode::CREATED, "{loan:?}");
    assert_eq!(ends(&loan) - now, Duration::days(3));
    // The audiobook and the book: the reader's own cell (the demo default, 14 days);
    // the video cell's "one loan at once" does not count: only its loan length applies.
    for title in [&audio, &book] {
        let loan = borrow(title, None).await;
        assert_eq!(loan.status, StatusCode::CREATED, "{loan:?}");
        assert_eq!(ends(&loan) - now, Duration::days(14), "{loan:?}");
    }
}

/// The fields of a cell without its `kind`.
fn cell_fields(cell: &serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    let mut map = cell.as_object().expect("object").clone();
    map.remove("kind");
    map
}

async fn the_kind_is_a_facet_of_the_opds_feed(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    with_copies(&app, &world, "讲座.mp4", fixture("lecture-1.mp4")).await;
    app.title_with_copies(&world, "zh/daxue.epub", 1).await;
    let feed = app.get("/opds/publications", None).await.body;
    let groups = feed["facets"].as_array().expect("facets");
    let kinds = groups
        .iter()
        .find(|g| g["metadata"]["title"] == "Kind")
        .expect("a kind facet");
    let titles: Vec<&str> = kinds["links"]
        .as_array()
        .expect("links")
        .iter()
        .filter_map(|l| l["title"].as_str())
        .collect();
    assert!(
        titles.contains(&"video") && titles.contains(&"epub"),
        "{kinds}"
    );
    let videos = app.get("/opds/publications?kind=video", None).await.body;
    let publications = videos["publications"].as_array().expect("publications");
    assert_eq!(publications.len(), 1);
    assert_eq!(
        publications[0]["metadata"]["@type"],
        "http://schema.org/VideoObject"
    );
    assert!(
        publications[0]["metadata"]["duration"]
            .as_f64()
            .is_some_and(|d| (d - 3.0).abs() < 0.2)
    );
}

both_backends!(
    a_kinds_rules_cell_sets_the_loan_length_of_that_kind,
    the_kind_is_a_facet_of_the_opds_feed,
);
