//! The reworked lending core: a borrow that carries its device licence, one licence for
//! concurrent fetches, promotion that survives a crash between a return and the queue,
//! hold refusals, and the database's own guard on taking a copy. Both databases.

use std::sync::Arc;

use chrono::Duration;
use futures_util::future::BoxFuture;
use jieyue_protocol::KeySet;
use jieyue_server::clock::ManualClock;
use jieyue_server::domain::{LibraryScope, LoanId, LotId, PatronId};
use jieyue_server::service::{self, CopyFreedListener, Ctx};
use jieyue_server::startup::build_context;
use jieyue_tests::{Reply, TestApp, TwoLibraries, both_backends};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

async fn borrow_with(
    app: &TestApp,
    token: &str,
    title: &str,
    request: Uuid,
    device: Option<Uuid>,
) -> Reply {
    app.post(
        "/api/v1/me/loans",
        Some(token),
        json!({ "title_id": title, "request_id": request, "device_id": device }),
    )
    .await
}

async fn one_request_makes_a_readable_loan(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let title = app.title_with_copies(&world, "zh/lunyu.epub", 2).await;
    let reader = app.patron_token("city", "C1").await;
    let (phone, phone_key) = app.enrol_device(&reader, "手机").await;
    let request = Uuid::new_v4();

    let loan = borrow_with(&app, &reader, &title, request, Some(phone)).await;
    assert_eq!(loan.status, StatusCode::CREATED, "{loan:?}");
    assert_eq!(loan.body["state"], "active");
    assert_eq!(loan.body["can_renew"], true);
    let token = loan.body["device_licence"]
        .as_str()
        .expect("a licence in the answer");
    let keys: KeySet =
        serde_json::from_value(app.get("/.well-known/jieyue/keys", None).await.body).expect("jwks");
    let licence = jieyue_protocol::licence::verify(token, &keys).expect("a valid licence");
    assert_eq!(licence.terms.device_id, phone);
    assert_eq!(licence.terms.loan_id.to_string(), loan.id());
    licence
        .unwrap_content_key(&phone_key)
        .expect("opens on the phone");

    // The licence endpoint hands back the very licence stored with the loan.
    let fetched = app
        .get_bytes(
            &format!("/api/v1/me/loans/{}/licence?device={phone}", loan.id()),
            &[("authorization", &format!("Bearer {reader}"))],
        )
        .await;
    assert_eq!(String::from_utf8(fetched.2).expect("utf-8"), token);

    // The same request again (a retry on a flaky network) is the same loan and licence.
    let again = borrow_with(&app, &reader, &title, request, Some(phone)).await;
    assert_eq!(again.status, StatusCode::CREATED, "{again:?}");
    assert_eq!(again.id(), loan.id());
    assert_eq!(again.body["device_licence"].as_str(), Some(token));

    // Someone else's device is not found, and nothing is borrowed for it.
    let other = app.patron_token("county", "K1").await;
    let refused = borrow_with(&app, &other, &title, Uuid::new_v4(), Some(phone)).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND, "{refused:?}");
    assert_eq!(
        app.get("/api/v1/me/loans", Some(&other))
            .await
            .body
            .as_array()
            .map(Vec::len),
        Some(0)
    );
}

async fn concurrent_fetches_of_one_licence_give_one_licence(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let title = app.title_with_copies(&world, "zh/daxue.epub", 1).await;
    let reader = app.patron_token("city", "C1").await;
    let (phone, _) = app.enrol_device(&reader, "手机").await;
    let loan = borrow_with(&app, &reader, &title, Uuid::new_v4(), None).await;
    assert_eq!(loan.status, StatusCode::CREATED);
    let path = format!("/api/v1/me/loans/{}/licence?device={phone}", loan.id());
    let auth = format!("Bearer {reader}");
    let headers = [("authorization", auth.as_str())];
    let fetches = (0..8).map(|_| app.get_bytes(&path, &headers));
    let answers = futures_util::future::join_all(fetches).await;
    let first = &answers[0].2;
    for (status, _, body) in &answers {
        assert_eq!(*status, StatusCode::OK, "{}", String::from_utf8_lossy(body));
        assert_eq!(body, first, "every fetch gets the one stored licence");
    }
}

/// A listener that hears nothing: the process "died" right after the commit.
struct Crashed;

impl CopyFreedListener for Crashed {
    fn copies_freed<'a>(&'a self, _: &'a Ctx) -> BoxFuture<'a, service::Result<usize>> {
        Box::pin(async { Ok(0) })
    }
}

async fn hold_state(ctx: &Ctx, patron: PatronId) -> String {
    let patron = jieyue_server::store::patrons::get(ctx.db.reader(), patron, LibraryScope::All)
        .await
        .expect("read")
        .expect("patron");
    let holds = service::holds::list(ctx, &patron).await.expect("holds");
    format!("{:?}", holds[0].hold.state)
}

async fn a_crash_between_a_return_and_the_queue_loses_no_promotion(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let title = app.title_with_copies(&world, "zh/daxue.epub", 1).await;
    app.create_patron(&world.admin, &world.city, "C2", "乙")
        .await;
    let a = app.patron_token("city", "C1").await;
    let b_login = app.patron_login("city", "C2", jieyue_tests::PASSWORD).await;
    let b = b_login.body["token"].as_str().expect("token").to_owned();
    let b_id = PatronId(
        b_login.body["patron"]["id"]
            .as_str()
            .expect("id")
            .parse()
            .expect("uuid"),
    );
    let loan = borrow_with(&app, &a, &title, Uuid::new_v4(), None).await;
    assert_eq!(loan.status, StatusCode::CREATED);
    let hold = app
        .post("/api/v1/me/holds", Some(&b), json!({ "title_id": title }))
        .await;
    assert_eq!(hold.body["state"], "waiting");
    let a_id = PatronId(
        app.get("/api/v1/me", Some(&a)).await.body["id"]
            .as_str()
            .expect("id")
            .parse()
            .expect("uuid"),
    );
    let now = app.clock_now();
    let (config, data) = app.stop();

    // The return commits, then the process dies before the queue hears of it.
    let clock = ManualClock::new(now);
    let mut dying = build_context(&config, Arc::new(clock.clone()))
        .await
        .expect("context");
    dying.copy_freed = Arc::new(Crashed);
    let reader = jieyue_server::store::patrons::get(dying.db.reader(), a_id, LibraryScope::All)
        .await
        .expect("read")
        .expect("patron");
    let loan_id = LoanId(loan.id().parse().expect("uuid"));
    service::lending::return_loan(&dying, &reader, loan_id)
        .await
        .expect("returned");
    assert_eq!(
        hold_state(&dying, b_id).await,
        "Waiting",
        "nobody heard of the freed copy"
    );
    drop(dying);

    // After a restart, the job drains the recorded event and hands the copy on.
    let restarted = build_context(&config, Arc::new(clock.clone()))
        .await
        .expect("context");
    let drain = || service::holds::drain_freed(&restarted);
    assert_eq!(drain().await.expect("drain"), 1);
    assert_eq!(hold_state(&restarted, b_id).await, "Ready");
    assert_eq!(drain().await.expect("drain"), 0, "once only");
    assert_eq!(
        service::holds::promote_all(&restarted).await.expect("job"),
        0
    );
    drop((restarted, data));
}

async fn holds_are_refused_to_barred_cards_and_past_the_hold_limit(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let first = app.title_with_copies(&world, "zh/daxue.epub", 1).await;
    let second = app.title_with_copies(&world, "zh/lunyu.epub", 1).await;
    let rules = app
        .request(
            reqwest::Method::PUT,
            "/api/v1/admin/rules",
            Some(&world.admin),
            Some(
                json!({ "library_id": world.city, "loan_days_default": 14, "loan_days_max": 21,
                "max_loans": 5, "max_holds": 1, "renewals": 1, "renewal_days": 7,
                "pickup_hours": 48, "max_devices": 3 }),
            ),
        )
        .await;
    assert!(rules.status.is_success(), "{rules:?}");
    let reader = app.patron_token("city", "C1").await;
    let me = app.get("/api/v1/me", Some(&reader)).await.body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let hold = |title: String| {
        let reader = reader.clone();
        let app = &app;
        async move {
            app.post(
                "/api/v1/me/holds",
                Some(&reader),
                json!({ "title_id": title }),
            )
            .await
        }
    };
    assert_eq!(hold(first.clone()).await.status, StatusCode::CREATED);
    let over = hold(second.clone()).await;
    assert_eq!(
        (over.status, over.problem()),
        (StatusCode::FORBIDDEN, "hold-limit".to_owned())
    );

    let cancel_all = app.get("/api/v1/me/holds", Some(&reader)).await;
    for h in cancel_all.body.as_array().expect("holds") {
        let id = h["id"].as_str().expect("id");
        let gone = app
            .request(
                reqwest::Method::DELETE,
                &format!("/api/v1/me/holds/{id}"),
                Some(&reader),
                None,
            )
            .await;
        assert_eq!(gone.status, StatusCode::NO_CONTENT);
    }
    let blocked = app
        .post(
            &format!("/api/v1/admin/patrons/{me}/block"),
            Some(&world.admin),
            json!({ "reason": "lost card" }),
        )
        .await;
    assert!(blocked.status.is_success(), "{blocked:?}");
    let refused = hold(second.clone()).await;
    assert_eq!(refused.problem(), "patron-blocked");
    let unblocked = app
        .post(
            &format!("/api/v1/admin/patrons/{me}/unblock"),
            Some(&world.admin),
            json!({}),
        )
        .await;
    assert!(unblocked.status.is_success(), "{unblocked:?}");
    let expiry = app.clock_now() + Duration::days(1);
    let changed = app
        .patch(
            &format!("/api/v1/admin/patrons/{me}"),
            Some(&world.admin),
            json!({ "card_expires_at": expiry }),
        )
        .await;
    assert!(changed.status.is_success(), "{changed:?}");
    app.clock.advance(Duration::days(2));
    let reader = app.patron_token("city", "C1").await;
    let refused = app
        .post(
            "/api/v1/me/holds",
            Some(&reader),
            json!({ "title_id": second }),
        )
        .await;
    assert_eq!(refused.problem(), "card-expired");
}

async fn the_database_refuses_a_copy_of_an_expired_suspended_or_full_lot(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let title = app.title_with_copies(&world, "zh/daxue.epub", 1).await;
    let lots = app
        .get(
            &format!("/api/v1/admin/lots?title_id={title}"),
            Some(&world.admin),
        )
        .await;
    let lot = LotId(
        lots.body[0]["id"]
            .as_str()
            .expect("id")
            .parse()
            .expect("uuid"),
    );
    let now = app.clock_now();
    let (config, data) = app.stop();
    let ctx = build_context(&config, Arc::new(ManualClock::new(now)))
        .await
        .expect("context");
    let take = |at| {
        let ctx = &ctx;
        async move {
            let txn = ctx.db.begin_write().await.expect("begin");
            let taken = jieyue_server::store::lots::take_copy(&txn, lot, at)
                .await
                .expect("update");
            txn.commit().await.expect("commit");
            taken
        }
    };
    let save = |row: &jieyue_server::domain::Lot| {
        let (ctx, row) = (&ctx, row.clone());
        async move {
            let txn = ctx.db.begin_write().await.expect("begin");
            jieyue_server::store::lots::update_lot(&txn, &row, now)
                .await
                .expect("update");
            txn.commit().await.expect("commit");
        }
    };
    // Whatever a cached view of the lot says, the database checks the lot itself.
    let mut row = jieyue_server::store::lots::lot(ctx.db.reader(), lot)
        .await
        .expect("read")
        .expect("lot");
    row.expires_at = Some(now + Duration::hours(1));
    save(&row).await;
    assert!(
        !take(now + Duration::hours(1)).await,
        "expired at its expiry"
    );
    row.status = jieyue_server::domain::LotStatus::Suspended;
    save(&row).await;
    assert!(!take(now).await, "suspended");
    row.status = jieyue_server::domain::LotStatus::Active;
    save(&row).await;
    assert!(take(now).await, "the one copy");
    assert!(!take(now).await, "no second copy");
    drop((ctx, data));
}

both_backends!(
    one_request_makes_a_readable_loan,
    concurrent_fetches_of_one_licence_give_one_licence,
    a_crash_between_a_return_and_the_queue_loses_no_promotion,
    holds_are_refused_to_barred_cards_and_past_the_hold_limit,
    the_database_refuses_a_copy_of_an_expired_suspended_or_full_lot,
);
