//! HTTP conventions: problem documents for every failure, request ids, operations.

use jieyue_tests::{TestApp, both_backends};
use reqwest::StatusCode;
use serde_json::json;

async fn malformed_json_is_a_400_problem(app: TestApp) {
    let response = app
        .client
        .post(format!("{}/api/v1/auth/login", app.base))
        .header("content-type", "application/json")
        .body("{\"library_code\": \"city\",")
        .send()
        .await
        .expect("sent");
    let reply = TestApp::reply(response).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.problem(), "malformed-request");
}

async fn unknown_and_missing_fields_are_422_problems(app: TestApp) {
    let unknown = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({ "library_code": "city", "card_number": "1", "password": "x", "admin": true }),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown.problem(), "malformed-request");
    assert!(
        unknown.body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("admin"),
        "{unknown:?}"
    );

    let missing = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({ "library_code": "city" }),
        )
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(missing.problem(), "malformed-request");

    let wrong_type = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({ "library_code": 7, "card_number": "1", "password": "x" }),
        )
        .await;
    assert_eq!(wrong_type.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn a_body_without_json_content_type_is_415(app: TestApp) {
    let response = app
        .client
        .post(format!("{}/api/v1/auth/login", app.base))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .expect("sent");
    let reply = TestApp::reply(response).await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(reply.problem(), "malformed-request");
}

async fn an_oversize_body_is_a_413_problem(app: TestApp) {
    let huge = "x".repeat(app.config.max_body_bytes + 1);
    let reply = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({ "library_code": "city", "card_number": "1", "password": huge }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.problem(), "payload-too-large");
}

async fn unknown_routes_and_methods_are_problems(app: TestApp) {
    let missing = app.get("/api/v1/nothing-here", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.problem(), "not-found");

    let wrong_method = app
        .request(reqwest::Method::DELETE, "/api/v1/auth/login", None, None)
        .await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.problem(), "method-not-allowed");

    let admin = app.admin_token().await;
    let bad_id = app
        .get("/api/v1/admin/patrons/not-a-uuid", Some(&admin))
        .await;
    assert_eq!(bad_id.status, StatusCode::NOT_FOUND);
    assert_eq!(bad_id.problem(), "not-found");
}

async fn request_ids_are_echoed_and_named_in_problems(app: TestApp) {
    let response = app
        .client
        .get(format!("{}/api/v1/me", app.base))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .expect("sent");
    let reply = TestApp::reply(response).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.headers["x-request-id"], "trace-me-123");
    assert_eq!(reply.body["request_id"], "trace-me-123");
    assert_eq!(reply.headers["www-authenticate"], "Bearer");

    // Without one, the server makes one up and still reports it.
    let generated = app.get("/api/v1/me", None).await;
    let id = generated.headers["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(generated.body["request_id"], id.as_str());
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
}

async fn health_ready_and_metrics_answer(app: TestApp) {
    let health = app.get("/health", None).await;
    assert_eq!(
        (health.status, health.body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let ready = app.get("/ready", None).await;
    assert_eq!(ready.status, StatusCode::OK);

    let metrics = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("http_requests_total"), "{metrics}");
    assert!(metrics.contains("route=\"/ready\""), "{metrics}");
}

both_backends!(
    malformed_json_is_a_400_problem,
    unknown_and_missing_fields_are_422_problems,
    a_body_without_json_content_type_is_415,
    an_oversize_body_is_a_413_problem,
    unknown_routes_and_methods_are_problems,
    request_ids_are_echoed_and_named_in_problems,
    health_ready_and_metrics_answer,
);

/// Readiness reflects the database: drop it from under a running server.
#[tokio::test]
async fn ready_answers_503_when_the_database_is_gone() {
    use sea_orm::{ConnectionTrait, Database};

    let app = TestApp::spawn(jieyue_tests::Backend::Postgres).await;
    assert_eq!(app.get("/ready", None).await.status, StatusCode::OK);
    let url = app.config.effective_database_url();
    let (base, name) = url.rsplit_once('/').expect("database url");
    let admin = Database::connect(format!("{base}/postgres"))
        .await
        .expect("admin connection");
    admin
        .execute_unprepared(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .await
        .expect("drop");

    let ready = app.get("/ready", None).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.problem(), "unavailable");
    // Liveness is about the process, not its dependencies.
    assert_eq!(app.get("/health", None).await.status, StatusCode::OK);
    // Requests that need the database fail cleanly, without internals.
    let login = app.patron_login("city", "C1", "whatever-password").await;
    assert_eq!(login.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(login.problem(), "internal");
    assert!(
        !login.body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("postgres")
    );
}

/// Upload answers are problem documents too: an EPUB posted raw instead of as a
/// multipart form (415), a multipart body without a boundary (400), a cover larger than
/// the upload limit (413).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_rejections_are_problem_documents() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut config = jieyue_tests::test_config(jieyue_tests::Backend::Sqlite, data.path()).await;
    config.max_upload_bytes = 64 * 1024;
    let app = TestApp::spawn_with(config, data).await;
    let admin = app.admin_token().await;
    let id = app.upload_corpus(&admin, "zh/daxue.epub").await;

    let send =
        |method: reqwest::Method, path: String, content_type: &'static str, body: Vec<u8>| {
            let request = app
                .client
                .request(method, format!("{}{path}", app.base))
                .bearer_auth(&admin)
                .header("content-type", content_type)
                .body(body);
            async move { TestApp::reply(request.send().await.expect("sent")).await }
        };
    let epub = std::fs::read(jieyue_tests::corpus("zh/daxue.epub")).expect("corpus");
    let cases = [
        (
            send(
                reqwest::Method::POST,
                "/api/v1/admin/titles".into(),
                "application/epub+zip",
                epub,
            )
            .await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "malformed-request",
        ),
        (
            send(
                reqwest::Method::POST,
                "/api/v1/admin/titles".into(),
                "multipart/form-data",
                b"--x\r\n".to_vec(),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "malformed-request",
        ),
        (
            send(
                reqwest::Method::PUT,
                format!("/api/v1/admin/titles/{id}/cover"),
                "image/png",
                vec![0u8; 200 * 1024],
            )
            .await,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
        ),
    ];
    for (reply, status, problem) in cases {
        assert_eq!(reply.status, status, "{reply:?}");
        assert_eq!(reply.problem(), problem, "{reply:?}");
    }
}
