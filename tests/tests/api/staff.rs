//! Staff accounts and the first admin.

use jieyue_tests::jieyue_server::{Application, clock::SystemClock};
use jieyue_tests::{
    ADMIN_PASSWORD, Backend, PASSWORD, TestApp, TwoLibraries, both_backends, test_config,
};
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;

async fn manager_creates_librarians_in_their_library(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let reply = app
        .post(
            "/api/v1/admin/staff",
            Some(&world.city_manager),
            json!({ "username": "New.Hire", "display_name": "新同事", "role": "librarian", "library_id": world.city, "password": PASSWORD }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    assert_eq!(reply.body["username"], "new.hire");
    app.staff_token("NEW.HIRE", PASSWORD).await;

    let taken = app
        .post(
            "/api/v1/admin/staff",
            Some(&world.admin),
            json!({ "username": "new.hire", "display_name": "x", "role": "librarian", "library_id": world.county, "password": PASSWORD }),
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
}

async fn librarians_need_a_library(app: TestApp) {
    let admin = app.admin_token().await;
    let reply = app
        .post(
            "/api/v1/admin/staff",
            Some(&admin),
            json!({ "username": "floater", "display_name": "x", "role": "librarian", "password": "short" }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The weak password is reported first; with a good one, the missing library is.
    let reply = app
        .post(
            "/api/v1/admin/staff",
            Some(&admin),
            json!({ "username": "floater", "display_name": "x", "role": "librarian", "password": PASSWORD }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.body["errors"][0]["field"], "library_id");
}

async fn nobody_demotes_or_deactivates_themselves(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let me = app.get("/api/v1/staff/me", Some(&world.admin)).await;
    let path = format!("/api/v1/admin/staff/{}", me.id());
    let demote = app
        .patch(&path, Some(&world.admin), json!({ "role": "librarian" }))
        .await;
    assert_eq!(demote.status, StatusCode::FORBIDDEN);
    let deactivate = app
        .patch(&path, Some(&world.admin), json!({ "active": false }))
        .await;
    assert_eq!(deactivate.status, StatusCode::FORBIDDEN);
    let rename = app
        .patch(
            &path,
            Some(&world.admin),
            json!({ "display_name": "总管理员" }),
        )
        .await;
    assert_eq!(rename.status, StatusCode::OK);
    assert_eq!(rename.body["display_name"], "总管理员");
}

both_backends!(
    manager_creates_librarians_in_their_library,
    librarians_need_a_library,
    nobody_demotes_or_deactivates_themselves,
);

#[tokio::test]
async fn the_first_admin_is_created_once_and_never_with_a_default_password() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut config = test_config(Backend::Sqlite, data.path()).await;

    config.bootstrap_admin_password = None;
    let mut first = Application::build(&config, Arc::new(SystemClock))
        .await
        .expect("starts");
    let bootstrap = first
        .take_bootstrap()
        .expect("first start creates the admin");
    let generated = bootstrap.generated_password.expect("a generated password");
    assert!(
        generated.expose().chars().count() >= 20,
        "strong generated password"
    );
    drop(first);

    // A second start finds staff and creates nobody, whatever the environment says.
    config.bootstrap_admin_password = Some(ADMIN_PASSWORD.into());
    let mut second = Application::build(&config, Arc::new(SystemClock))
        .await
        .expect("starts");
    assert!(second.take_bootstrap().is_none());

    // And the generated password is the one that works.
    let app = TestApp::spawn_with(config, data).await;
    app.staff_token("admin", generated.expose()).await;
    let with_env = app
        .post(
            "/api/v1/staff/auth/login",
            None,
            json!({ "username": "admin", "password": ADMIN_PASSWORD }),
        )
        .await;
    assert_eq!(with_env.status, StatusCode::UNAUTHORIZED);
}
