//! Libraries: creation, validation, the public list.

use jieyue_tests::{TestApp, both_backends};
use reqwest::StatusCode;
use serde_json::json;

async fn admin_creates_libraries_with_chinese_names(app: TestApp) {
    let admin = app.admin_token().await;
    let reply = app
        .post(
            "/api/v1/admin/libraries",
            Some(&admin),
            json!({ "code": " Chun-An ", "name": " 淳安县图书馆 ", "region": "淳安县" }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    assert_eq!(reply.body["code"], "chun-an");
    assert_eq!(reply.body["name"], "淳安县图书馆");

    let public = app.get("/api/v1/libraries", None).await;
    assert_eq!(public.status, StatusCode::OK);
    assert_eq!(public.body[0]["code"], "chun-an");
    assert_eq!(public.body[0]["region"], "淳安县");
}

async fn duplicate_codes_conflict(app: TestApp) {
    let admin = app.admin_token().await;
    app.create_library(&admin, "city", "杭州市图书馆").await;
    let again = app
        .post(
            "/api/v1/admin/libraries",
            Some(&admin),
            json!({ "code": "CITY", "name": "另一个" }),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.problem(), "conflict");
    assert_eq!(
        app.get("/api/v1/libraries", None)
            .await
            .body
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

async fn invalid_library_fields_are_all_reported(app: TestApp) {
    let admin = app.admin_token().await;
    let reply = app
        .post(
            "/api/v1/admin/libraries",
            Some(&admin),
            json!({ "code": "图书馆", "name": "   ", "region": "" }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.problem(), "validation");
    let fields: Vec<&str> = reply.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["code", "name", "region"]);
}

async fn region_can_be_cleared_with_null(app: TestApp) {
    let admin = app.admin_token().await;
    let id = app.create_library(&admin, "city", "杭州市图书馆").await;
    let path = format!("/api/v1/admin/libraries/{id}");
    app.patch(&path, Some(&admin), json!({ "region": "杭州" }))
        .await;
    let untouched = app
        .patch(&path, Some(&admin), json!({ "name": "杭州图书馆" }))
        .await;
    assert_eq!(untouched.body["region"], "杭州");
    let cleared = app
        .patch(&path, Some(&admin), json!({ "region": null }))
        .await;
    assert_eq!(cleared.status, StatusCode::OK);
    assert!(cleared.body["region"].is_null());
    assert_eq!(cleared.body["name"], "杭州图书馆");
}

both_backends!(
    admin_creates_libraries_with_chinese_names,
    duplicate_codes_conflict,
    invalid_library_fields_are_all_reported,
    region_can_be_cleared_with_null,
);
