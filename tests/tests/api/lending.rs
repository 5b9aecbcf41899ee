//! Lending: devices, borrowing under concurrency, licences, return, renew, revoke,
//! expiry, rules. Every test runs on SQLite and PostgreSQL.

use std::io::Cursor;

use chrono::Duration;
use jieyue_protocol::KeySet;
use jieyue_protocol::enrolment::ClientEnrolment;
use jieyue_protocol::package::PackageReader;
use jieyue_protocol::status::LicenceStatus;
use jieyue_tests::{PASSWORD, Reply, TestApp, TwoLibraries, both_backends};
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

async fn borrow(app: &TestApp, token: &str, title: &str) -> Reply {
    app.post(
        "/api/v1/me/loans",
        Some(token),
        json!({ "title_id": title, "request_id": Uuid::new_v4() }),
    )
    .await
}

async fn a_loan_gives_a_licence_that_opens_the_package_on_that_device_only(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let title = app.title_with_copies(&world, "zh/lunyu.epub", 2).await;
    let reader = app.patron_token("city", "C1").await;
    let (phone, phone_key) = app.enrol_device(&reader, "王小明的手机").await;
    let (tablet, tablet_key) = app.enrol_device(&reader, "平板").await;

    let loan = borrow(&app, &reader, &title).await;
    assert_eq!(loan.status, StatusCode::CREATED, "{loan:?}");
    let loan_id = loan.id();
    let licence_path = format!("/api/v1/me/loans/{loan_id}/licence?device={phone}");
    let (status, headers, token) = app
        .get_bytes(
            &licence_path,
            &[("authorization", &format!("Bearer {reader}"))],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/jose");
    let token = String::from_utf8(token).expect("utf-8");

    let keys: KeySet =
        serde_json::from_value(app.get("/.well-known/jieyue/keys", None).await.body).expect("jwks");
    let licence = jieyue_protocol::licence::verify(&token, &keys).expect("a valid licence");
    assert_eq!(licence.terms.device_id, phone);
    assert_eq!(licence.terms.loan_id.to_string(), loan_id);
    let content_key = licence
        .unwrap_content_key(&phone_key)
        .expect("opens on the phone");
    assert!(
        licence.unwrap_content_key(&tablet_key).is_err(),
        "not on the tablet"
    );

    let (_, _, package) = app.get_bytes(&licence.terms.links.package, &[]).await;
    let mut package = PackageReader::open(Cursor::new(package), &content_key)
        .expect("the licence's key opens the package");
    let chapter = package.manifest().resources[0].path.clone();
    assert!(!package.read(&chapter).expect("decrypts").is_empty());

    // Fetching again gives the same licence, not a second loan.
    let (_, _, again) = app
        .get_bytes(
            &licence_path,
            &[("authorization", &format!("Bearer {reader}"))],
        )
        .await;
    assert_eq!(String::from_utf8(again).expect("utf-8"), token);
    let tablet_licence = app
        .get(
            &format!("/api/v1/me/loans/{loan_id}/licence?device={tablet}"),
            Some(&reader),
        )
        .await;
    assert_eq!(tablet_licence.status, StatusCode::OK);
    assert_eq!(
        app.get("/api/v1/me/loans", Some(&reader))
            .await
            .body
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // Another reader cannot fetch it, nor for someone else's device.
    let other = app.patron_token("county", "K1").await;
    let stolen = app
        .get(
            &format!("/api/v1/me/loans/{loan_id}/licence?device={phone}"),
            Some(&other),
        )
        .await;
    assert_eq!(stolen.status, StatusCode::NOT_FOUND);

    // Return: the status document says so, and no new licence is issued.
    let returned = app
        .post(
            &format!("/api/v1/me/loans/{loan_id}/return"),
            Some(&reader),
            json!({}),
        )
        .await;
    assert_eq!(
        (returned.status, returned.body["state"].as_str()),
        (StatusCode::OK, Some("returned"))
    );
    let status_path = &licence.terms.links.status;
    let (_, _, status_token) = app.get_bytes(status_path, &[]).await;
    let document =
        jieyue_protocol::status::verify(std::str::from_utf8(&status_token).expect("utf-8"), &keys)
            .expect("status");
    assert_eq!(document.status, LicenceStatus::Returned);
    let gone = app
        .get(
            &format!("/api/v1/me/loans/{loan_id}/licence?device={phone}"),
            Some(&reader),
        )
        .await;
    assert_eq!(gone.status, StatusCode::GONE);
    assert_eq!(gone.problem(), "loan-ended");
    let twice = app
        .post(
            &format!("/api/v1/me/loans/{loan_id}/return"),
            Some(&reader),
            json!({}),
        )
        .await;
    assert_eq!(twice.status, StatusCode::GONE);
}

async fn two_hundred_readers_race_for_five_copies(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let title = app.title_with_copies(&world, "zh/daxue.epub", 5).await;
    let mut tokens = Vec::new();
    for n in 0..200 {
        app.create_patron(&world.admin, &world.city, &format!("R{n:03}"), "读者")
            .await;
    }
    for n in 0..200 {
        tokens.push(app.patron_token("city", &format!("R{n:03}")).await);
    }
    let attempts = tokens.iter().map(|token| borrow(&app, token, &title));
    let replies = futures_join_all(attempts).await;
    let won = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    let refused = replies
        .iter()
        .filter(|r| {
            r.status == StatusCode::CONFLICT
                && r.body["type"] == "urn:jieyue:problem:no-copy-available"
        })
        .count();
    assert_eq!(
        (won, refused),
        (5, 195),
        "{:?}",
        replies
            .iter()
            .find(|r| !r.status.is_success() && r.status != StatusCode::CONFLICT)
    );
    let lots = app
        .get(
            &format!("/api/v1/admin/lots?title_id={title}"),
            Some(&world.admin),
        )
        .await;
    assert_eq!(lots.body[0]["active_loans"], 5);

    // Returns and borrows racing never oversubscribe the lot.
    let winners: Vec<(String, String)> = replies
        .iter()
        .zip(&tokens)
        .filter(|(r, _)| r.status == StatusCode::CREATED)
        .map(|(r, t)| (t.clone(), r.id()))
        .collect();
    let losers: Vec<String> = replies
        .iter()
        .zip(&tokens)
        .filter(|(r, _)| r.status != StatusCode::CREATED)
        .map(|(_, t)| t.clone())
        .take(40)
        .collect();
    let returns = winners.iter().map(|(token, loan)| {
        let path = format!("/api/v1/me/loans/{loan}/return");
        let app = &app;
        async move { app.post(&path, Some(token), json!({})).await }
    });
    let borrows = losers.iter().map(|token| borrow(&app, token, &title));
    let (returned, borrowed) = tokio::join!(futures_join_all(returns), futures_join_all(borrows));
    assert!(returned.iter().all(|r| r.status == StatusCode::OK));
    let new_loans = borrowed
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    assert!(new_loans <= 5, "{new_loans} loans from 5 copies");
    let lots = app
        .get(
            &format!("/api/v1/admin/lots?title_id={title}"),
            Some(&world.admin),
        )
        .await;
    assert_eq!(
        lots.body[0]["active_loans"], new_loans as u64,
        "the counter matches the loans"
    );
}

async fn futures_join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let handles: Vec<_> = futures.into_iter().collect();
    let mut out = Vec::with_capacity(handles.len());
    let mut pending: Vec<std::pin::Pin<Box<F>>> = handles.into_iter().map(Box::pin).collect();
    // Poll them all together (they run concurrently against the server).
    let results = std::future::poll_fn(|cx| {
        let mut done = true;
        for (index, future) in pending.iter_mut().enumerate() {
            if out.len() <= index {
                out.resize_with(index + 1, || None);
            }
            if out[index].is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => out[index] = Some(value),
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    });
    results.await;
    out.into_iter().map(|v| v.expect("finished")).collect()
}

async fn a_double_click_gets_one_loan(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let title = app.title_with_copies(&world, "zh/zhongyong.epub", 3).await;
    let reader = app.patron_token("city", "C1").await;
    let request_id = Uuid::new_v4();
    let same = (0..8).map(|_| {
        let app = &app;
        let reader = &reader;
        let title = &title;
        async move {
            app.post(
                "/api/v1/me/loans",
                Some(reader),
                json!({ "title_id": title, "request_id": request_id }),
            )
            .await
        }
    });
    let replies = futures_join_all(same).await;
    let ids: std::collections::HashSet<String> = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .map(Reply::id)
        .collect();
    assert_eq!(ids.len(), 1, "{replies:?}");
    assert!(replies.iter().all(|r| r.status == StatusCode::CREATED));

    // A different click for the same title is refused: one active loan per title.
    let again = borrow(&app, &reader, &title).await;
    assert_eq!(
        (again.status, again.problem()),
        (StatusCode::CONFLICT, "already-borrowed".to_owned())
    );
    let lots = app
        .get(
            &format!("/api/v1/admin/lots?title_id={title}"),
            Some(&world.admin),
        )
        .await;
    assert_eq!(lots.body[0]["active_loans"], 1);

    // The same request id for another title is a conflict, not the first loan again.
    let other = app.title_with_copies(&world, "zh/daxue.epub", 1).await;
    let reused = app
        .post(
            "/api/v1/me/loans",
            Some(&reader),
            json!({ "title_id": other, "request_id": request_id }),
        )
        .await;
    assert_eq!(
        (reused.status, reused.problem()),
        (StatusCode::CONFLICT, "conflict".to_owned()),
        "{reused:?}"
    );

    // Holding the title while every copy is out: "already borrowed", not "place a hold".
    let single = app.title_with_copies(&world, "zh/mengzi.epub", 1).await;
    assert_eq!(
        borrow(&app, &reader, &single).await.status,
        StatusCode::CREATED
    );
    let again = borrow(&app, &reader, &single).await;
    assert_eq!(
        (again.status, again.problem()),
        (StatusCode::CONFLICT, "already-borrowed".to_owned()),
        "{again:?}"
    );
}

async fn rules_decide_loan_length_limits_and_devices(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let first = app.title_with_copies(&world, "zh/lunyu.epub", 5).await;
    let second = app.title_with_copies(&world, "zh/mengzi.epub", 5).await;
    // The city's rule for adults: short loans, one at a time, one renewal, one device.
    let rule = json!({ "library_id": world.city, "category": "adult", "loan_days_default": 7, "loan_days_max": 10,
        "max_loans": 1, "max_holds": 2, "renewals": 1, "renewal_days": 5, "pickup_hours": 48, "max_devices": 1 });
    assert_eq!(
        app.request(
            reqwest::Method::PUT,
            "/api/v1/admin/rules",
            Some(&world.city_librarian),
            Some(rule.clone())
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let other_library = json!({ "library_id": world.county, "category": "adult", "loan_days_default": 7, "loan_days_max": 10,
        "max_loans": 1, "max_holds": 2, "renewals": 1, "renewal_days": 5, "pickup_hours": 48, "max_devices": 1 });
    assert_eq!(
        app.request(
            reqwest::Method::PUT,
            "/api/v1/admin/rules",
            Some(&world.city_manager),
            Some(other_library)
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let set = app
        .request(
            reqwest::Method::PUT,
            "/api/v1/admin/rules",
            Some(&world.city_manager),
            Some(rule),
        )
        .await;
    assert_eq!(set.status, StatusCode::NO_CONTENT, "{set:?}");

    let reader = app.patron_token("city", "C1").await;
    let too_long = app
        .post(
            "/api/v1/me/loans",
            Some(&reader),
            json!({ "title_id": first, "days": 11, "request_id": Uuid::new_v4() }),
        )
        .await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    let chosen = app
        .post(
            "/api/v1/me/loans",
            Some(&reader),
            json!({ "title_id": first, "days": 3, "request_id": Uuid::new_v4() }),
        )
        .await;
    assert_eq!(chosen.status, StatusCode::CREATED);
    let length =
        chrono::DateTime::parse_from_rfc3339(chosen.body["ends_at"].as_str().expect("end"))
            .expect("date")
            - chrono::DateTime::parse_from_rfc3339(
                chosen.body["started_at"].as_str().expect("start"),
            )
            .expect("date");
    assert_eq!(length, Duration::days(3), "the reader's shorter loan");
    let over = borrow(&app, &reader, &second).await;
    assert_eq!(
        (over.status, over.problem()),
        (StatusCode::FORBIDDEN, "loan-limit".to_owned())
    );

    // One renewal of 5 days, then no more.
    let loan = chosen.id();
    let renewed = app
        .post(
            &format!("/api/v1/me/loans/{loan}/renew"),
            Some(&reader),
            json!({}),
        )
        .await;
    assert_eq!(renewed.status, StatusCode::OK);
    assert_eq!(renewed.body["renewals"], 1);
    assert_eq!(renewed.body["renewals_left"], 0);
    assert_eq!(renewed.body["can_renew"], false);
    let refused = app
        .post(
            &format!("/api/v1/me/loans/{loan}/renew"),
            Some(&reader),
            json!({}),
        )
        .await;
    assert_eq!(
        (refused.status, refused.problem()),
        (StatusCode::CONFLICT, "renewal-limit".to_owned())
    );

    // One device; re-enrolling it is fine, a second is not.
    app.enrol_device(&reader, "phone").await;
    let keys_request = ClientEnrolment::start(Uuid::new_v4(), "tablet")
        .expect("start")
        .1;
    let second_device = app
        .post(
            "/api/v1/me/devices",
            Some(&reader),
            serde_json::to_value(&keys_request).expect("json"),
        )
        .await;
    assert_eq!(
        (second_device.status, second_device.problem()),
        (StatusCode::FORBIDDEN, "device-limit".to_owned())
    );

    // The county's readers still get the consortium default (14 days, several loans).
    let county = app.patron_token("county", "K1").await;
    let pooled = app
        .post(
            "/api/v1/admin/lots",
            Some(&world.admin),
            json!({ "title_id": second, "copies": 2 }),
        )
        .await;
    assert_eq!(pooled.status, StatusCode::CREATED, "a shared-pool lot");
    let county_loan = borrow(&app, &county, &second).await;
    assert_eq!(county_loan.status, StatusCode::CREATED, "{county_loan:?}");
    let county_first = borrow(&app, &county, &first).await;
    assert_eq!(
        county_first.status,
        StatusCode::CONFLICT,
        "the city's own lot is not the county's"
    );
}

async fn blocked_and_expired_cards_cannot_borrow(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let title = app.title_with_copies(&world, "zh/daxue.epub", 2).await;
    let already = app.title_with_copies(&world, "zh/lunyu.epub", 2).await;
    let reader = app.patron_token("city", "C1").await;
    let (device, _) = app.enrol_device(&reader, "phone").await;
    let loan = borrow(&app, &reader, &already).await.id();
    app.post(
        &format!("/api/v1/admin/patrons/{}/block", world.city_patron),
        Some(&world.city_librarian),
        json!({ "reason": "逾期" }),
    )
    .await;
    let blocked = borrow(&app, &reader, &title).await;
    assert_eq!(
        (blocked.status, blocked.problem()),
        (StatusCode::FORBIDDEN, "patron-blocked".to_owned())
    );
    // A block stops renewals and holds too; what is already lent can still be read
    // (its licence fetched) until it ends or the library revokes it.
    let renew = app
        .post(
            &format!("/api/v1/me/loans/{loan}/renew"),
            Some(&reader),
            json!({}),
        )
        .await;
    assert_eq!(
        (renew.status, renew.problem()),
        (StatusCode::FORBIDDEN, "patron-blocked".to_owned())
    );
    let hold = app
        .post(
            "/api/v1/me/holds",
            Some(&reader),
            json!({ "title_id": title }),
        )
        .await;
    assert_eq!(
        (hold.status, hold.problem()),
        (StatusCode::FORBIDDEN, "patron-blocked".to_owned())
    );
    let licence = app
        .get(
            &format!("/api/v1/me/loans/{loan}/licence?device={device}"),
            Some(&reader),
        )
        .await;
    assert_eq!(licence.status, StatusCode::OK, "{licence:?}");
    app.post(
        &format!("/api/v1/admin/patrons/{}/unblock", world.city_patron),
        Some(&world.city_librarian),
        json!({}),
    )
    .await;
    app.patch(
        &format!("/api/v1/admin/patrons/{}", world.city_patron),
        Some(&world.city_librarian),
        json!({ "card_expires_at": "2020-01-01T00:00:00Z" }),
    )
    .await;
    let expired = borrow(&app, &reader, &title).await;
    assert_eq!(
        (expired.status, expired.problem()),
        (StatusCode::FORBIDDEN, "card-expired".to_owned())
    );
}

async fn loans_expire_at_their_end_and_staff_revoke_in_scope(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let title = app.title_with_copies(&world, "zh/daxue.epub", 1).await;
    let reader = app.patron_token("city", "C1").await;
    let (device, _) = app.enrol_device(&reader, "phone").await;
    let loan = borrow(&app, &reader, &title).await.id();
    let licence = app
        .get(
            &format!("/api/v1/me/loans/{loan}/licence?device={device}"),
            Some(&reader),
        )
        .await;
    assert_eq!(licence.status, StatusCode::OK);

    // County staff cannot revoke a city loan.
    let county_manager_id = app
        .create_staff(
            &world.admin,
            "county-manager",
            "library_manager",
            &world.county,
        )
        .await;
    let _ = county_manager_id;
    let county_manager = app.staff_token("county-manager", PASSWORD).await;
    assert_eq!(
        app.post(
            &format!("/api/v1/admin/loans/{loan}/revoke"),
            Some(&county_manager),
            json!({})
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );

    // Three days before the end the reader is reminded, once.
    app.clock.advance(Duration::days(12));
    let reader = app.patron_token("city", "C1").await;
    let mut kinds = Vec::new();
    for _ in 0..50 {
        let notes = app.get("/api/v1/me/notifications", Some(&reader)).await;
        kinds = notes.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|n| n["kind"].as_str().map(str::to_owned))
            .collect();
        if !kinds.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(kinds, ["loan_ending"]);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let notes = app.get("/api/v1/me/notifications", Some(&reader)).await;
    assert_eq!(
        notes.body["items"].as_array().map(Vec::len),
        Some(1),
        "reminded once"
    );
    let after = notes.body["cursor"].as_str().expect("cursor").to_owned();
    let newer = app
        .get(
            &format!("/api/v1/me/notifications?after={after}"),
            Some(&reader),
        )
        .await;
    assert_eq!(newer.body["items"].as_array().map(Vec::len), Some(0));

    // The loan runs 14 days (consortium default); past its end it expires by itself.
    app.clock.advance(Duration::days(3));
    let mut state = String::new();
    for _ in 0..50 {
        let loans = app.get("/api/v1/me/loans?all=true", Some(&reader)).await;
        state = loans.body[0]["state"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if state == "expired" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(state, "expired");
    // The copy is free again: someone else can borrow it, and the city revokes that loan.
    let admin = app.admin_token().await; // The earlier staff sessions have expired.
    let librarian = app.staff_token("city-librarian", PASSWORD).await;
    app.create_patron(&admin, &world.city, "C2", "李华").await;
    let next = app.patron_token("city", "C2").await;
    let second = borrow(&app, &next, &title).await;
    assert_eq!(second.status, StatusCode::CREATED);
    let revoke = app
        .post(
            &format!("/api/v1/admin/loans/{}/revoke", second.id()),
            Some(&librarian),
            json!({}),
        )
        .await;
    assert_eq!(revoke.status, StatusCode::NO_CONTENT);
    let after = app.get("/api/v1/me/loans?all=true", Some(&next)).await;
    assert_eq!(after.body[0]["state"], "revoked");
}

async fn metered_lots_run_out_and_retired_lots_let_loans_finish(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let title = app.upload_corpus(&world.admin, "zh/daxue.epub").await;
    let lot = app
        .post(
            "/api/v1/admin/lots",
            Some(&world.city_manager),
            json!({ "title_id": title, "owner_library_id": world.city, "copies": 5, "checkout_limit": 2 }),
        )
        .await;
    assert_eq!(lot.body["checkouts_left"], 2);
    let lot_id = lot.id();
    for (card, name) in [("C2", "乙"), ("C3", "丙")] {
        app.create_patron(&world.admin, &world.city, card, name)
            .await;
    }
    let readers = [
        app.patron_token("city", "C1").await,
        app.patron_token("city", "C2").await,
        app.patron_token("city", "C3").await,
    ];
    let first = borrow(&app, &readers[0], &title).await;
    assert_eq!(
        borrow(&app, &readers[1], &title).await.status,
        StatusCode::CREATED
    );
    let third = borrow(&app, &readers[2], &title).await;
    assert_eq!(
        third.problem(),
        "no-copy-available",
        "two checkouts bought, two used"
    );

    // Retiring the lot stops new loans but the loans out run on.
    let retired = app
        .patch(
            &format!("/api/v1/admin/lots/{lot_id}"),
            Some(&world.city_manager),
            json!({ "status": "retired" }),
        )
        .await;
    assert_eq!(retired.body["status"], "retired");
    let licence_still = app.get("/api/v1/me/loans", Some(&readers[0])).await;
    assert_eq!(licence_still.body[0]["state"], "active");
    let returned = app
        .post(
            &format!("/api/v1/me/loans/{}/return", first.id()),
            Some(&readers[0]),
            json!({}),
        )
        .await;
    assert_eq!(returned.status, StatusCode::OK);
    assert_eq!(
        borrow(&app, &readers[2], &title).await.problem(),
        "no-copy-available"
    );
}

async fn staff_and_readers_only_see_their_own_lending_data(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let title = app.title_with_copies(&world, "zh/daxue.epub", 2).await;
    let county_manager = {
        app.create_staff(
            &world.admin,
            "county-manager",
            "library_manager",
            &world.county,
        )
        .await;
        app.staff_token("county-manager", PASSWORD).await
    };
    // The county sees no lot for the title (the city's lot is not shared) and cannot
    // change the city's lot or buy for the city.
    let lots = app
        .get(
            &format!("/api/v1/admin/lots?title_id={title}"),
            Some(&county_manager),
        )
        .await;
    assert_eq!(lots.body.as_array().map(Vec::len), Some(0));
    let city_lots = app
        .get(
            &format!("/api/v1/admin/lots?title_id={title}"),
            Some(&world.admin),
        )
        .await;
    let lot = city_lots.body[0]["id"].as_str().expect("lot").to_owned();
    let change = app
        .patch(
            &format!("/api/v1/admin/lots/{lot}"),
            Some(&county_manager),
            json!({ "status": "retired" }),
        )
        .await;
    assert_eq!(change.status, StatusCode::NOT_FOUND);
    let buy = app
        .post(
            "/api/v1/admin/lots",
            Some(&county_manager),
            json!({ "title_id": title, "owner_library_id": world.city, "copies": 1 }),
        )
        .await;
    assert_eq!(buy.status, StatusCode::FORBIDDEN);
    let librarian_buys = app
        .post(
            "/api/v1/admin/lots",
            Some(&world.city_librarian),
            json!({ "title_id": title, "owner_library_id": world.city, "copies": 1 }),
        )
        .await;
    assert_eq!(
        librarian_buys.status,
        StatusCode::FORBIDDEN,
        "librarians do not buy"
    );
    // Rules: the county sees its own and the consortium's cells, not the city's.
    let rule = json!({ "library_id": world.city, "loan_days_default": 7, "loan_days_max": 10, "max_loans": 1,
        "max_holds": 2, "renewals": 1, "renewal_days": 5, "pickup_hours": 48, "max_devices": 1 });
    app.request(
        reqwest::Method::PUT,
        "/api/v1/admin/rules",
        Some(&world.city_manager),
        Some(rule),
    )
    .await;
    let county_rules = app.get("/api/v1/admin/rules", Some(&county_manager)).await;
    assert!(
        county_rules
            .body
            .as_array()
            .expect("rules")
            .iter()
            .all(|r| r["library_id"].is_null())
    );
    // Devices of another library's reader are not the county's to see or remove.
    let reader = app.patron_token("city", "C1").await;
    let (device, _) = app.enrol_device(&reader, "phone").await;
    let path = format!("/api/v1/admin/patrons/{}/devices", world.city_patron);
    assert_eq!(
        app.get(&path, Some(&county_manager)).await.status,
        StatusCode::NOT_FOUND
    );
    let remove = app
        .request(
            reqwest::Method::DELETE,
            &format!("{path}/{device}"),
            Some(&county_manager),
            None,
        )
        .await;
    assert_eq!(remove.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get(&path, Some(&world.city_librarian))
            .await
            .body
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    // Readers cannot touch each other's loans or holds.
    let loan = borrow(&app, &reader, &title).await.id();
    let other = app.patron_token("county", "K1").await;
    assert_eq!(
        app.post(
            &format!("/api/v1/me/loans/{loan}/return"),
            Some(&other),
            json!({})
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.post(
            &format!("/api/v1/me/loans/{loan}/renew"),
            Some(&other),
            json!({})
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/api/v1/me/loans", Some(&other))
            .await
            .body
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    app.create_patron(&world.admin, &world.city, "C2", "李华")
        .await;
    let second = app.patron_token("city", "C2").await;
    borrow(&app, &second, &title).await;
    let hold = app
        .post(
            "/api/v1/me/holds",
            Some(&reader),
            json!({ "title_id": title }),
        )
        .await;
    assert_eq!(hold.problem(), "already-borrowed");
    app.create_patron(&world.admin, &world.city, "C3", "王五")
        .await;
    let third = app.patron_token("city", "C3").await;
    let hold = app
        .post(
            "/api/v1/me/holds",
            Some(&third),
            json!({ "title_id": title }),
        )
        .await;
    assert_eq!(hold.status, StatusCode::CREATED);
    let cancel = app
        .request(
            reqwest::Method::DELETE,
            &format!("/api/v1/me/holds/{}", hold.id()),
            Some(&second),
            None,
        )
        .await;
    assert_eq!(cancel.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/api/v1/me/holds", Some(&second))
            .await
            .body
            .as_array()
            .map(Vec::len),
        Some(0)
    );
}

/// Ten renewals of one loan at once, with a rule of two renewals: two succeed, the
/// rest are refused, and the loan records two.
async fn concurrent_renewals_stay_within_the_limit(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let title = app.title_with_copies(&world, "zh/lunyu.epub", 1).await;
    let rule = json!({ "library_id": world.city, "loan_days_default": 7, "loan_days_max": 10,
        "max_loans": 3, "max_holds": 2, "renewals": 2, "renewal_days": 5, "pickup_hours": 48, "max_devices": 2 });
    let set = app
        .request(
            reqwest::Method::PUT,
            "/api/v1/admin/rules",
            Some(&world.city_manager),
            Some(rule),
        )
        .await;
    assert_eq!(set.status, StatusCode::NO_CONTENT, "{set:?}");
    let reader = app.patron_token("city", "C1").await;
    let loan = borrow(&app, &reader, &title).await;
    assert_eq!(loan.status, StatusCode::CREATED, "{loan:?}");
    let (loan, first_end) = (loan.id(), loan.body["ends_at"].clone());

    let path = format!("/api/v1/me/loans/{loan}/renew");
    let attempts = (0..10).map(|_| app.post(&path, Some(&reader), json!({})));
    let replies = futures_util::future::join_all(attempts).await;
    let renewed = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!(renewed, 2, "{replies:?}");
    for reply in replies.iter().filter(|r| r.status != StatusCode::OK) {
        assert!(
            matches!(reply.problem().as_str(), "renewal-limit" | "conflict"),
            "{reply:?}"
        );
    }
    let loans = app.get("/api/v1/me/loans", Some(&reader)).await;
    let mine = &loans.body.as_array().expect("loans")[0];
    assert_eq!(mine["renewals"], 2);
    let ends = |v: &serde_json::Value| {
        chrono::DateTime::parse_from_rfc3339(v.as_str().expect("date")).expect("date")
    };
    assert_eq!(
        ends(&mine["ends_at"]) - ends(&first_end),
        Duration::days(10)
    );
}

both_backends!(
    concurrent_renewals_stay_within_the_limit,
    metered_lots_run_out_and_retired_lots_let_loans_finish,
    staff_and_readers_only_see_their_own_lending_data,
    a_loan_gives_a_licence_that_opens_the_package_on_that_device_only,
    two_hundred_readers_race_for_five_copies,
    a_double_click_gets_one_loan,
    rules_decide_loan_length_limits_and_devices,
    blocked_and_expired_cards_cannot_borrow,
    loans_expire_at_their_end_and_staff_revoke_in_scope,
);
