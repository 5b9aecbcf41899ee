//! Notifications reach a configured webhook, with retries after failures.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode as AxumStatus;
use chrono::Duration;
use jieyue_tests::{Backend, TestApp, TwoLibraries, test_config};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<Value>>>);

async fn hook(State(received): State<Received>, Json(body): Json<Value>) -> AxumStatus {
    let mut all = received.0.lock().unwrap_or_else(|p| p.into_inner());
    all.push(body);
    // The first attempt fails; the retry succeeds.
    if all.len() == 1 {
        AxumStatus::INTERNAL_SERVER_ERROR
    } else {
        AxumStatus::OK
    }
}

#[tokio::test]
async fn notifications_are_posted_to_the_webhook_and_retried() {
    let received = Received::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let router = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(received.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.expect("hook server") });

    let data = tempfile::tempdir().expect("tempdir");
    let mut config = test_config(Backend::Sqlite, data.path()).await;
    config.notification_webhook_url = Some(url);
    let app = TestApp::spawn_with(config, data).await;
    let world = TwoLibraries::create(&app).await;
    let title = app.upload_corpus(&world.admin, "zh/daxue.epub").await;
    app.post(
        "/api/v1/admin/lots",
        Some(&world.city_manager),
        json!({ "title_id": title, "owner_library_id": world.city, "copies": 1 }),
    )
    .await;
    let reader = app.patron_token("city", "C1").await;
    let loan = app
        .post(
            "/api/v1/me/loans",
            Some(&reader),
            json!({ "title_id": title, "request_id": Uuid::new_v4() }),
        )
        .await;
    let revoked = app
        .post(
            &format!("/api/v1/admin/loans/{}/revoke", loan.id()),
            Some(&world.city_librarian),
            json!({}),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);

    let count = |r: &Received| r.0.lock().unwrap_or_else(|p| p.into_inner()).len();
    for _ in 0..50 {
        if count(&received) >= 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(count(&received), 1, "first attempt made");
    // The retry waits out its back-off (30 s of server time).
    app.clock.advance(Duration::seconds(31));
    for _ in 0..50 {
        if count(&received) >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let all = received.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert_eq!(
        all.len(),
        2,
        "retried once, then delivered (no more attempts): {all:?}"
    );
    assert_eq!(all[0]["kind"], "loan_revoked");
    assert_eq!(all[0]["id"], all[1]["id"], "the same notification");
    assert_eq!(all[1]["patron_id"], world.city_patron.as_str());
}
