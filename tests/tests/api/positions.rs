//! Reading positions shared across a reader's devices.

use jieyue_tests::{TestApp, TwoLibraries, both_backends};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn a_position_is_saved_replaced_and_private_to_its_reader(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let title = app.upload_corpus(&world.admin, "zh/lunyu.epub").await;
    let reader = app.patron_token("city", "C1").await;
    let other = app.patron_token("county", "K1").await;
    let path = format!("/api/v1/me/positions/{title}");

    let none = app.get(&path, Some(&reader)).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    assert_eq!(none.problem(), "not-found");

    let first = json!({"href": "OEBPS/c1.xhtml", "type": "application/xhtml+xml",
                       "locations": {"progression": 0.25, "position": 3}});
    let saved = app
        .request(
            Method::PUT,
            &path,
            Some(&reader),
            Some(json!({ "locator": first })),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{saved:?}");
    assert_eq!(saved.body["locator"], first);

    // Another device moves on: the latest save wins.
    app.clock.advance(chrono::Duration::minutes(5));
    let second = json!({"href": "OEBPS/c2.xhtml", "type": "application/xhtml+xml",
                        "locations": {"progression": 0.5, "position": 9}});
    let device = uuid::Uuid::new_v4();
    let saved = app
        .request(
            Method::PUT,
            &path,
            Some(&reader),
            Some(json!({ "locator": second, "device_id": device })),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK);
    let got = app.get(&path, Some(&reader)).await;
    assert_eq!(got.body["locator"], second);
    assert_eq!(got.body["device_id"], device.to_string());
    let list = app.get("/api/v1/me/positions", Some(&reader)).await;
    assert_eq!(list.body.as_array().map(Vec::len), Some(1));

    // Nobody else sees it.
    assert_eq!(
        app.get(&path, Some(&other)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/api/v1/me/positions", Some(&other)).await.body,
        json!([])
    );
    assert_eq!(app.get(&path, None).await.status, StatusCode::UNAUTHORIZED);
}

async fn bad_positions_are_refused_with_reasons(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let title = app.upload_corpus(&world.admin, "zh/daxue.epub").await;
    let reader = app.patron_token("city", "C1").await;
    let path = format!("/api/v1/me/positions/{title}");
    for locator in [
        json!("OEBPS/c1.xhtml"),
        json!({"href": "", "locations": {}}),
        json!({"href": "a.xhtml"}),
        json!({"href": "a.xhtml", "locations": {}, "text": {"before": "字".repeat(4000)}}),
    ] {
        let reply = app
            .request(
                Method::PUT,
                &path,
                Some(&reader),
                Some(json!({ "locator": locator })),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{locator}");
        assert_eq!(reply.problem(), "validation");
    }
    let unknown = format!("/api/v1/me/positions/{}", uuid::Uuid::new_v4());
    let reply = app
        .request(
            Method::PUT,
            &unknown,
            Some(&reader),
            Some(json!({ "locator": {"href": "a", "locations": {}} })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

both_backends!(
    a_position_is_saved_replaced_and_private_to_its_reader,
    bad_positions_are_refused_with_reasons
);
