//! Library scope: staff of one library cannot see or touch another library's data,
//! on any admin route.

use jieyue_tests::{PASSWORD, TestApp, TwoLibraries, both_backends};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn librarian_cannot_touch_another_librarys_patrons(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let token = Some(world.city_librarian.as_str());
    let county_patron = format!("/api/v1/admin/patrons/{}", world.county_patron);

    let attempts = [
        (Method::GET, county_patron.clone(), None),
        (
            Method::PATCH,
            county_patron.clone(),
            Some(json!({ "display_name": "改名" })),
        ),
        (
            Method::PATCH,
            county_patron.clone(),
            Some(json!({ "password": "taken over!!" })),
        ),
        (
            Method::POST,
            format!("{county_patron}/block"),
            Some(json!({ "reason": "x" })),
        ),
        (Method::POST, format!("{county_patron}/unblock"), None),
    ];
    for (method, path, body) in attempts {
        let reply = app.request(method.clone(), &path, token, body).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {reply:?}"
        );
        assert_eq!(reply.problem(), "not-found");
    }

    // Registering a patron at the other library is refused the same way.
    let register = app
        .post(
            "/api/v1/admin/patrons",
            token,
            json!({ "library_id": world.county, "card_number": "X1", "display_name": "x", "password": PASSWORD }),
        )
        .await;
    assert_eq!(register.status, StatusCode::NOT_FOUND, "{register:?}");

    // Search never returns them, even when asked for their library.
    let search = app
        .get(
            &format!("/api/v1/admin/patrons?library_id={}", world.county),
            token,
        )
        .await;
    assert_eq!(search.status, StatusCode::OK);
    assert_eq!(search.body["items"].as_array().map(Vec::len), Some(0));
    let all = app.get("/api/v1/admin/patrons", token).await;
    let cards: Vec<&str> = all.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|p| p["card_number"].as_str())
        .collect();
    assert_eq!(cards, ["C1"]);

    // Nothing changed.
    let still = app.get(&county_patron, Some(&world.admin)).await;
    assert_eq!(still.body["display_name"], "张伟");
    assert_eq!(still.body["blocked"], false);
    assert_eq!(
        app.patron_login("county", "K1", PASSWORD).await.status,
        StatusCode::OK
    );
}

async fn staff_scope_holds_for_staff_routes(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let county_staff = format!("/api/v1/admin/staff/{}", world.county_librarian_id);

    // The city manager cannot see or change county staff.
    let get = app.get(&county_staff, Some(&world.city_manager)).await;
    assert_eq!(get.status, StatusCode::NOT_FOUND);
    let patch = app
        .patch(
            &county_staff,
            Some(&world.city_manager),
            json!({ "active": false }),
        )
        .await;
    assert_eq!(patch.status, StatusCode::NOT_FOUND);
    let list = app
        .get("/api/v1/admin/staff", Some(&world.city_manager))
        .await;
    let names: Vec<&str> = list
        .body
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|s| s["username"].as_str())
        .collect();
    assert_eq!(names, ["city-librarian", "city-manager"]);

    // Nor create staff there, nor create a consortium admin.
    let create_there = app
        .post(
            "/api/v1/admin/staff",
            Some(&world.city_manager),
            json!({ "username": "sneaky", "display_name": "s", "role": "librarian", "library_id": world.county, "password": PASSWORD }),
        )
        .await;
    assert_eq!(create_there.status, StatusCode::FORBIDDEN);
    let make_admin = app
        .post(
            "/api/v1/admin/staff",
            Some(&world.city_manager),
            json!({ "username": "sneaky", "display_name": "s", "role": "consortium_admin", "password": PASSWORD }),
        )
        .await;
    assert_eq!(make_admin.status, StatusCode::FORBIDDEN);

    // Librarians manage no staff at all, even in their own library.
    let by_librarian = app
        .post(
            "/api/v1/admin/staff",
            Some(&world.city_librarian),
            json!({ "username": "helper", "display_name": "h", "role": "librarian", "library_id": world.city, "password": PASSWORD }),
        )
        .await;
    assert_eq!(by_librarian.status, StatusCode::FORBIDDEN);

    // The county librarian is untouched.
    app.staff_token("county-librarian", PASSWORD).await;
}

async fn library_scope_holds_for_library_routes(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let county = format!("/api/v1/admin/libraries/{}", world.county);
    let city = format!("/api/v1/admin/libraries/{}", world.city);

    let other = app
        .patch(
            &county,
            Some(&world.city_manager),
            json!({ "name": "改名" }),
        )
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let as_librarian = app
        .patch(
            &city,
            Some(&world.city_librarian),
            json!({ "name": "改名" }),
        )
        .await;
    assert_eq!(as_librarian.status, StatusCode::FORBIDDEN);
    let create = app
        .post(
            "/api/v1/admin/libraries",
            Some(&world.city_manager),
            json!({ "code": "new", "name": "新馆" }),
        )
        .await;
    assert_eq!(create.status, StatusCode::FORBIDDEN);

    let own = app
        .patch(
            &city,
            Some(&world.city_manager),
            json!({ "region": "杭州市上城区" }),
        )
        .await;
    assert_eq!(own.status, StatusCode::OK);
    assert_eq!(own.body["region"], "杭州市上城区");
    assert_eq!(
        app.get(&county, Some(&world.admin)).await.body["name"],
        "淳安县图书馆"
    );
}

both_backends!(
    librarian_cannot_touch_another_librarys_patrons,
    staff_scope_holds_for_staff_routes,
    library_scope_holds_for_library_routes,
);
