//! Logging in and out, sessions, lock-out, password changes.

use chrono::Duration;
use jieyue_tests::{PASSWORD, TestApp, TwoLibraries, both_backends};
use reqwest::StatusCode;
use serde_json::json;

async fn patron_logs_in_and_sees_their_profile(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let login = app.patron_login("CITY", " c1 ", PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK, "{login:?}");
    assert_eq!(login.body["patron"]["id"], world.city_patron.as_str());
    assert_eq!(login.body["patron"]["library"]["code"], "city");
    assert_eq!(login.body["patron"]["library"]["name"], "杭州市图书馆");
    let token = login.body["token"].as_str().expect("token");

    let me = app.get("/api/v1/me", Some(token)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["card_number"], "C1");
    assert_eq!(me.body["display_name"], "王小明");
    assert_eq!(me.body["blocked"], false);
}

async fn wrong_password_unknown_card_and_unknown_library_look_the_same(app: TestApp) {
    TwoLibraries::create(&app).await;
    let wrong_password = app.patron_login("city", "C1", "not the password").await;
    let unknown_card = app.patron_login("city", "C999", PASSWORD).await;
    let unknown_library = app.patron_login("nowhere", "C1", PASSWORD).await;
    let other_library = app.patron_login("county", "C1", PASSWORD).await;
    for reply in [
        &wrong_password,
        &unknown_card,
        &unknown_library,
        &other_library,
    ] {
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{reply:?}");
        assert_eq!(reply.problem(), "invalid-credentials");
        assert_eq!(reply.body["detail"], wrong_password.body["detail"]);
    }
}

async fn malformed_login_fields_are_validation_problems(app: TestApp) {
    let reply = app.patron_login("", "卡 号", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.problem(), "validation");
    let fields: Vec<&str> = reply.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["library_code", "card_number"]);
}

fn retry_after(reply: &jieyue_tests::Reply) -> i64 {
    reply.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds")
}

async fn repeated_failures_slow_guessing_down_and_the_owner_gets_in(app: TestApp) {
    TwoLibraries::create(&app).await;
    let free = app.config.auth.max_failed_logins;
    for (card, password) in [("C1", PASSWORD), ("C999", "whatever it is")] {
        // A real card and an unknown one answer alike, attempt for attempt.
        for attempt in 1..=free {
            let reply = app.patron_login("city", card, "wrong guess").await;
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{card} attempt {attempt}"
            );
        }
        let waiting = app.patron_login("city", card, password).await;
        assert_eq!(
            (waiting.status, waiting.problem()),
            (
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-attempts".to_owned()
            ),
            "{card}: {waiting:?}"
        );
        assert_eq!(
            retry_after(&waiting),
            1,
            "{card}: one second after the free failures"
        );
    }

    // Other patrons are not affected.
    assert_eq!(
        app.patron_login("county", "K1", PASSWORD).await.status,
        StatusCode::OK
    );

    // The wait doubles with each further failure, and is never a lock: after it, the
    // right password gets in.
    app.clock.advance(Duration::seconds(1));
    assert_eq!(
        app.patron_login("city", "C1", "wrong guess").await.status,
        StatusCode::UNAUTHORIZED
    );
    let longer = app.patron_login("city", "C1", PASSWORD).await;
    assert_eq!(retry_after(&longer), 2, "{longer:?}");
    app.clock.advance(Duration::seconds(2));
    let reopened = app.patron_login("city", "C1", PASSWORD).await;
    assert_eq!(reopened.status, StatusCode::OK, "{reopened:?}");

    // Success cleared the record: one more failure brings no wait.
    assert_eq!(
        app.patron_login("city", "C1", "wrong guess").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.patron_login("city", "C1", PASSWORD).await.status,
        StatusCode::OK
    );
}

async fn staff_logins_are_throttled_too(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let _ = world;
    for _ in 0..app.config.auth.max_failed_logins {
        let reply = app
            .post(
                "/api/v1/staff/auth/login",
                None,
                json!({ "username": "city-librarian", "password": "nope-nope" }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let waiting = app
        .post(
            "/api/v1/staff/auth/login",
            None,
            json!({ "username": "city-librarian", "password": PASSWORD }),
        )
        .await;
    assert_eq!(waiting.status, StatusCode::TOO_MANY_REQUESTS);
}

/// Behind a proxy that sets `X-Forwarded-For`: one client's guesses never keep the
/// owner (another client) out, and a client that fails too often, whatever names it
/// tries, waits before the server hashes another password for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attacker_cannot_keep_the_owner_out_and_runs_out_of_guesses() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut config = jieyue_tests::test_config(jieyue_tests::Backend::Sqlite, data.path()).await;
    config.auth.trust_forwarded_for = true;
    let app = TestApp::spawn_with(config, data).await;
    TwoLibraries::create(&app).await;
    let login = |from: &'static str, card: String, password: &'static str| {
        let request = app
            .client
            .post(format!("{}/api/v1/auth/login", app.base))
            .header("x-forwarded-for", format!("10.9.9.9, {from}"))
            .json(&json!({ "library_code": "city", "card_number": card, "password": password }));
        async move { TestApp::reply(request.send().await.expect("sent")).await }
    };
    let attacker = "203.0.113.9";
    for _ in 0..12 {
        login(attacker, "C1".into(), "guess").await;
    }
    assert_eq!(
        login(attacker, "C1".into(), PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    let owner = login("198.51.100.7", "C1".into(), PASSWORD).await;
    assert_eq!(owner.status, StatusCode::OK, "the owner gets in: {owner:?}");

    // The attacker spreads guesses over many names: the client's own budget ends it.
    let burst = app.config.auth.client_failure_burst;
    let mut refused_early = None;
    for n in 0..burst + 5 {
        let reply = login(attacker, format!("X{n}"), "guess").await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            refused_early = Some(n);
            break;
        }
    }
    assert!(
        refused_early.is_some_and(|n| n <= burst),
        "a client's failures over all names are bounded ({refused_early:?})"
    );
}

async fn logout_revokes_the_token(app: TestApp) {
    TwoLibraries::create(&app).await;
    let token = app.patron_token("city", "C1").await;
    let other_device = app.patron_token("city", "C1").await;
    let logout = app
        .post("/api/v1/auth/logout", Some(&token), json!({}))
        .await;
    assert_eq!(logout.status, StatusCode::NO_CONTENT);
    let after = app.get("/api/v1/me", Some(&token)).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert_eq!(after.problem(), "unauthenticated");
    // Only that session ended.
    assert_eq!(
        app.get("/api/v1/me", Some(&other_device)).await.status,
        StatusCode::OK
    );

    let staff = app.admin_token().await;
    assert_eq!(
        app.post("/api/v1/staff/auth/logout", Some(&staff), json!({}))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("/api/v1/staff/me", Some(&staff)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn expired_sessions_are_purged(app: TestApp) {
    TwoLibraries::create(&app).await;
    let ctx = jieyue_tests::jieyue_server::startup::build_context(
        &app.config,
        std::sync::Arc::new(app.clock.clone()),
    )
    .await
    .expect("context");
    app.patron_token("city", "C1").await;
    app.admin_token().await;
    let service = jieyue_tests::jieyue_server::service::auth::purge_expired_sessions;
    assert_eq!(
        service(&ctx).await.expect("purge"),
        0,
        "nothing has expired yet"
    );
    app.clock.advance(Duration::days(i64::from(
        app.config.auth.patron_session_days,
    )));
    // Every session of TwoLibraries' staff and the patron has now expired.
    assert!(service(&ctx).await.expect("purge") >= 3);
    assert_eq!(service(&ctx).await.expect("purge"), 0);
}

async fn sessions_expire(app: TestApp) {
    TwoLibraries::create(&app).await;
    let patron = app.patron_token("city", "C1").await;
    let staff = app.admin_token().await;
    app.clock.advance(Duration::hours(i64::from(
        app.config.auth.staff_session_hours,
    )));
    assert_eq!(
        app.get("/api/v1/staff/me", Some(&staff)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/v1/me", Some(&patron)).await.status,
        StatusCode::OK
    );
    app.clock.advance(Duration::days(i64::from(
        app.config.auth.patron_session_days,
    )));
    assert_eq!(
        app.get("/api/v1/me", Some(&patron)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn garbage_tokens_are_unauthenticated(app: TestApp) {
    for header in [
        "Bearer ",
        "Bearer nonsense",
        "Basic YWRtaW46YWRtaW4=",
        "Bearer\tx",
    ] {
        let response = app
            .client
            .get(format!("{}/api/v1/me", app.base))
            .header("authorization", header)
            .send()
            .await
            .expect("sent");
        let reply = TestApp::reply(response).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{header}");
        assert_eq!(reply.problem(), "unauthenticated");
    }
}

async fn patron_changes_password_and_other_sessions_end(app: TestApp) {
    TwoLibraries::create(&app).await;
    let token = app.patron_token("city", "C1").await;
    let other = app.patron_token("city", "C1").await;

    let wrong = app
        .post(
            "/api/v1/me/password",
            Some(&token),
            json!({ "current_password": "wrong one", "new_password": "新的密码新的密码" }),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.problem(), "invalid-credentials");

    let weak = app
        .post(
            "/api/v1/me/password",
            Some(&token),
            json!({ "current_password": PASSWORD, "new_password": "short" }),
        )
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(weak.body["errors"][0]["field"], "new_password");

    let changed = app
        .post(
            "/api/v1/me/password",
            Some(&token),
            json!({ "current_password": PASSWORD, "new_password": "新的密码新的密码" }),
        )
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{changed:?}");
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/v1/me", Some(&other)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.patron_login("city", "C1", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.patron_login("city", "C1", "新的密码新的密码")
            .await
            .status,
        StatusCode::OK
    );
}

async fn guessing_the_current_password_is_throttled_too(app: TestApp) {
    TwoLibraries::create(&app).await;
    let token = app.patron_token("city", "C1").await;
    for _ in 0..app.config.auth.max_failed_logins {
        let reply = app
            .post(
                "/api/v1/me/password",
                Some(&token),
                json!({ "current_password": "a guess!", "new_password": "new password 1" }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    // A stolen token is no way to guess without limit: the next try must wait.
    let waiting = app
        .post(
            "/api/v1/me/password",
            Some(&token),
            json!({ "current_password": PASSWORD, "new_password": "new password 1" }),
        )
        .await;
    assert_eq!(waiting.status, StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(Duration::seconds(retry_after(&waiting)));
    let changed = app
        .post(
            "/api/v1/me/password",
            Some(&token),
            json!({ "current_password": PASSWORD, "new_password": "new password 1" }),
        )
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{changed:?}");
}

async fn staff_change_their_own_password(app: TestApp) {
    let admin = app.admin_token().await;
    let reply = app
        .post(
            "/api/v1/staff/me/password",
            Some(&admin),
            json!({ "current_password": jieyue_tests::ADMIN_PASSWORD, "new_password": "a much better passphrase" }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{reply:?}");
    app.staff_token("admin", "a much better passphrase").await;
}

async fn tokens_only_work_on_their_side(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let patron = app.patron_token("city", "C1").await;
    let on_admin = app.get("/api/v1/admin/patrons", Some(&patron)).await;
    assert_eq!(on_admin.status, StatusCode::FORBIDDEN);
    assert_eq!(on_admin.problem(), "forbidden");
    // A patron cannot reach another patron's record through the staff routes either.
    let other = app
        .get(
            &format!("/api/v1/admin/patrons/{}", world.county_patron),
            Some(&patron),
        )
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    let change = app
        .post(
            &format!("/api/v1/admin/patrons/{}/block", world.county_patron),
            Some(&patron),
            json!({}),
        )
        .await;
    assert_eq!(change.status, StatusCode::FORBIDDEN);
    let on_reader = app.get("/api/v1/me", Some(&world.city_librarian)).await;
    assert_eq!(on_reader.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/api/v1/admin/patrons", None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn deactivated_staff_cannot_log_in_and_lose_their_sessions(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let county_token = app.staff_token("county-librarian", PASSWORD).await;
    let reply = app
        .patch(
            &format!("/api/v1/admin/staff/{}", world.county_librarian_id),
            Some(&world.admin),
            json!({ "active": false }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.body["active"], false);
    assert_eq!(
        app.get("/api/v1/staff/me", Some(&county_token))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let login = app
        .post(
            "/api/v1/staff/auth/login",
            None,
            json!({ "username": "county-librarian", "password": PASSWORD }),
        )
        .await;
    assert_eq!(login.status, StatusCode::FORBIDDEN);
    // A wrong password still gets the plain answer: deactivation is not revealed to guessers.
    let guess = app
        .post(
            "/api/v1/staff/auth/login",
            None,
            json!({ "username": "county-librarian", "password": "guessing" }),
        )
        .await;
    assert_eq!(guess.status, StatusCode::UNAUTHORIZED);
}

both_backends!(
    patron_logs_in_and_sees_their_profile,
    wrong_password_unknown_card_and_unknown_library_look_the_same,
    malformed_login_fields_are_validation_problems,
    repeated_failures_slow_guessing_down_and_the_owner_gets_in,
    staff_logins_are_throttled_too,
    logout_revokes_the_token,
    sessions_expire,
    expired_sessions_are_purged,
    garbage_tokens_are_unauthenticated,
    patron_changes_password_and_other_sessions_end,
    staff_change_their_own_password,
    guessing_the_current_password_is_throttled_too,
    tokens_only_work_on_their_side,
    deactivated_staff_cannot_log_in_and_lose_their_sessions,
);
