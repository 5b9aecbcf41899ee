//! The console's rules, reports, audit and administration pages, driven over HTTP as a
//! browser would, checked against the JSON API: a rule set in the console is the
//! rule the API lists; the explanation names the cell lending uses and what a borrow
//! would answer; report CSVs are the API's; the audit trail is filtered, paged and
//! scoped; libraries and staff made in the console are the API's.

use jieyue_tests::{PASSWORD, TestApp, TwoLibraries, both_backends};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

/// The id of the staff account `username`, as the admin's API lists it.
async fn staff_id(app: &TestApp, admin: &str, username: &str) -> String {
    let list = app.get("/api/v1/admin/staff", Some(admin)).await;
    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    list.body
        .as_array()
        .expect("staff list")
        .iter()
        .find(|s| s["username"] == username)
        .and_then(|s| s["id"].as_str())
        .unwrap_or_else(|| panic!("no staff {username} in {:?}", list.body))
        .to_owned()
}

/// The rules form's fields for a cell.
fn rule_fields<'a>(library: &'a str, category: &'a str, days: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("library", library),
        ("category", category),
        ("loan_days_default", days),
        ("loan_days_max", "28"),
        ("max_loans", "7"),
        ("max_holds", "4"),
        ("renewals", "2"),
        ("renewal_days", "10"),
        ("pickup_hours", "48"),
        ("max_devices", "3"),
    ]
}

/// Sets a cell through the JSON API.
async fn put_rule(app: &TestApp, token: &str, library: Option<&str>, days: u32) {
    let reply = app
        .request(
            Method::PUT,
            "/api/v1/admin/rules",
            Some(token),
            Some(json!({
                "library_id": library, "category": null,
                "loan_days_default": days, "loan_days_max": 365, "max_loans": 5, "max_holds": 5,
                "renewals": 1, "renewal_days": 7, "pickup_hours": 72, "max_devices": 3
            })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{reply:?}");
}

async fn a_manager_sets_a_rule_in_the_console_and_the_api_lists_it(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let manager = app.console("city-manager", PASSWORD).await;
    let page = manager.html("/console/rules").await;
    assert!(
        page.contains("借阅规则") && page.contains("联盟（全部成员馆）"),
        "{page}"
    );
    // The consortium's default is the admins': the manager sees it read-only.
    assert!(page.contains("无权修改"), "{page}");
    assert!(
        page.contains("name=\"library\""),
        "the new-cell form: {page}"
    );

    let saved = manager
        .post("/console/rules", &rule_fields(&world.city, "", "21"))
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    assert_eq!(saved.location(), "/console/rules?done=saved");
    let listed = app
        .get("/api/v1/admin/rules", Some(&world.city_manager))
        .await;
    let cell = listed
        .body
        .as_array()
        .expect("cells")
        .iter()
        .find(|c| c["library_id"] == world.city.as_str() && c["category"].is_null())
        .unwrap_or_else(|| panic!("no city cell in {:?}", listed.body))
        .clone();
    assert_eq!(cell["loan_days_default"], 21);
    assert_eq!(cell["max_loans"], 7);
    assert_eq!(cell["pickup_hours"], 48);
    // The row is now in the table, editable by its manager.
    let page = manager.html("/console/rules?done=saved").await;
    assert!(page.contains("规则已保存"), "{page}");
    assert!(
        page.contains("杭州市图书馆") && page.contains("value=\"21\""),
        "{page}"
    );

    // A category cell, then the same cell again (a row's form replaces it).
    let child = manager
        .post("/console/rules", &rule_fields(&world.city, "Child", "10"))
        .await;
    assert_eq!(child.status, StatusCode::SEE_OTHER, "{}", child.html);
    let again = manager
        .post("/console/rules", &rule_fields(&world.city, "child", "12"))
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let listed = app
        .get("/api/v1/admin/rules", Some(&world.city_manager))
        .await;
    let children: Vec<&Value> = listed
        .body
        .as_array()
        .expect("cells")
        .iter()
        .filter(|c| c["category"] == "child")
        .collect();
    assert_eq!(children.len(), 1, "{:?}", listed.body);
    assert_eq!(children[0]["loan_days_default"], 12);

    // What the service refuses, the console refuses: the consortium's cell, another
    // library's, a librarian's change, nonsense values, a post without the token.
    let consortium = manager
        .post("/console/rules", &rule_fields("", "", "25"))
        .await;
    assert_eq!(
        consortium.status,
        StatusCode::FORBIDDEN,
        "{}",
        consortium.html
    );
    let county = manager
        .post("/console/rules", &rule_fields(&world.county, "", "25"))
        .await;
    assert_eq!(county.status, StatusCode::FORBIDDEN);
    let librarian = app.console("city-librarian", PASSWORD).await;
    let refused = librarian
        .post("/console/rules", &rule_fields(&world.city, "", "25"))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        !librarian
            .html("/console/rules")
            .await
            .contains("name=\"loan_days_default\"")
    );
    let nonsense = manager
        .post("/console/rules", &rule_fields(&world.city, "", "many"))
        .await;
    assert_eq!(nonsense.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        nonsense.html.contains("loan_days_default"),
        "{}",
        nonsense.html
    );
    let mut no_token = rule_fields(&world.city, "", "25");
    no_token.push(("csrf", "forged"));
    let forged = manager
        .post_raw(
            "/console/rules",
            &no_token,
            &[("origin", app.base.as_str())],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let without = manager
        .post_raw(
            "/console/rules",
            &rule_fields(&world.city, "", "25"),
            &[("origin", app.base.as_str())],
        )
        .await;
    assert_eq!(without.status, StatusCode::FORBIDDEN);
    let listed = app.get("/api/v1/admin/rules", Some(&world.admin)).await;
    assert!(
        listed
            .body
            .as_array()
            .expect("cells")
            .iter()
            .all(|c| c["loan_days_default"] != 25),
        "nothing refused was saved: {:?}",
        listed.body
    );

    // The county's staff do not see the city's cells.
    let county_librarian = app.console("county-librarian", PASSWORD).await;
    let page = county_librarian.html("/console/rules").await;
    assert!(!page.contains("杭州市图书馆"), "{page}");
}

async fn the_explanation_names_the_cell_and_what_a_borrow_would_answer(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    put_rule(&app, &world.city_manager, Some(&world.city), 21).await;
    let title = app.title_with_copies(&world, "zh/lunyu.epub", 1).await;
    let librarian = app.console("city-librarian", PASSWORD).await;

    let page = librarian
        .html(&format!("/console/rules/explain?patron=c1&title={title}"))
        .await;
    assert!(page.contains("王小明"), "{page}");
    assert!(page.contains("“杭州市图书馆”的默认规则"), "{page}");
    assert!(page.contains("采用此条"), "{page}");
    assert!(page.contains("可以借阅"), "{page}");
    assert!(page.contains("<dd>21</dd>"), "the cell's loan days: {page}");

    // Blocked through the API: the explanation says lending would refuse.
    let block = app
        .post(
            &format!("/api/v1/admin/patrons/{}/block", world.city_patron),
            Some(&world.city_librarian),
            json!({ "reason": "逾期未还" }),
        )
        .await;
    assert_eq!(block.status, StatusCode::OK, "{block:?}");
    let page = librarian
        .html(&format!(
            "/console/rules/explain?patron={}&title=%E8%AE%BA%E8%AF%AD",
            world.city_patron
        ))
        .await;
    assert!(page.contains("不能借阅"), "{page}");
    assert!(page.contains("该读者已被停借"), "{page}");
    // And lending does refuse it.
    let unblock = app
        .post(
            &format!("/api/v1/admin/patrons/{}/unblock", world.city_patron),
            Some(&world.city_librarian),
            json!({}),
        )
        .await;
    assert_eq!(unblock.status, StatusCode::OK, "{unblock:?}");

    // The copy is taken: no copy for a second reader.
    let reader = app.patron_token("city", "C1").await;
    let loan = app
        .post(
            "/api/v1/me/loans",
            Some(&reader),
            json!({ "title_id": title, "request_id": Uuid::new_v4() }),
        )
        .await;
    assert_eq!(loan.status, StatusCode::CREATED, "{loan:?}");
    let page = librarian
        .html(&format!("/console/rules/explain?patron=C1&title={title}"))
        .await;
    assert!(page.contains("读者已借阅此书"), "{page}");
    app.create_patron(&world.city_librarian, &world.city, "C2", "李华")
        .await;
    let page = librarian
        .html(&format!("/console/rules/explain?patron=C2&title={title}"))
        .await;
    assert!(page.contains("可借的复本都已借出"), "{page}");

    // A county reader falls back to the consortium default; the city's staff cannot
    // look them up at all.
    let page = librarian.html("/console/rules/explain?patron=K1").await;
    assert!(page.contains("找不到该读者"), "{page}");
    let admin = app.console("admin", jieyue_tests::ADMIN_PASSWORD).await;
    let page = admin.html("/console/rules/explain?patron=K1").await;
    assert!(page.contains("联盟默认规则"), "{page}");
    assert!(page.contains("张伟"), "{page}");
}

async fn the_shared_use_statement_downloads_as_the_apis_csv(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let mengzi = app.upload_corpus(&world.admin, "zh/mengzi.epub").await;
    let lot = app
        .post(
            "/api/v1/admin/lots",
            Some(&world.admin),
            json!({ "title_id": mengzi, "copies": 3 }),
        )
        .await;
    assert_eq!(lot.status, StatusCode::CREATED, "{lot:?}");
    let county = app.patron_token("county", "K1").await;
    let loan = app
        .post(
            "/api/v1/me/loans",
            Some(&county),
            json!({ "title_id": mengzi, "request_id": Uuid::new_v4() }),
        )
        .await;
    assert_eq!(loan.status, StatusCode::CREATED, "{loan:?}");

    let admin = app.console("admin", jieyue_tests::ADMIN_PASSWORD).await;
    let page = admin.html("/console/reports/shared-use").await;
    assert!(
        page.contains("联盟共享") && page.contains("county"),
        "{page}"
    );
    assert!(page.contains("<svg class=\"bar\""), "the chart: {page}");
    assert!(
        page.contains("value=\"2026-09-01\""),
        "this month by default: {page}"
    );
    let (status, headers, body) = admin
        .bytes("/console/reports/shared-use?from=2026-09-01&to=2026-09-30&format=csv")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"shared-use-2026-09-01-2026-09-30.csv\""
    );
    let text = String::from_utf8(body).expect("utf-8");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("\u{feff}library,lot_owner,loans,loan_days")
    );
    assert_eq!(lines.next(), Some("county,consortium,1,14"), "{text}");
    // The same as the API's CSV.
    let (_, _, api) = app
        .get_bytes(
            "/api/v1/admin/reports/shared-usage?format=csv",
            &[("authorization", &format!("Bearer {}", world.admin))],
        )
        .await;
    assert_eq!(String::from_utf8(api).expect("utf-8"), text);
    // Another month has nothing; the city's staff see nothing of the county's.
    let (_, _, august) = admin
        .bytes("/console/reports/shared-use?from=2026-08-01&to=2026-08-31&format=csv")
        .await;
    assert_eq!(String::from_utf8(august).expect("utf-8").lines().count(), 1);
    let city = app.console("city-librarian", PASSWORD).await;
    let (_, _, scoped) = city.bytes("/console/reports/shared-use?format=csv").await;
    assert!(!String::from_utf8(scoped).expect("utf-8").contains("county"));

    // Loans by title: the page links the title, the CSV is named after the grouping.
    let page = admin.html("/console/reports/loans?by=title").await;
    assert!(
        page.contains(&format!("href=\"/console/titles/{mengzi}\"")),
        "{page}"
    );
    assert!(page.contains("孟子") && page.contains("借阅次数"), "{page}");
    let (status, headers, _) = admin
        .bytes("/console/reports/loans?by=library&from=2026-09-01&to=2026-09-01&format=csv")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"loans-by-library-2026-09-01-2026-09-01.csv\""
    );
    let bad = admin.get("/console/reports/loans?by=planet").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let backwards = admin
        .get("/console/reports/loans?from=2026-09-10&to=2026-09-01")
        .await;
    assert_eq!(backwards.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        admin
            .get("/console/reports/holds-without-copies")
            .await
            .status,
        StatusCode::OK
    );
    assert!(
        admin
            .html("/console/reports")
            .await
            .contains("/console/reports/shared-use")
    );
}

async fn the_audit_trail_is_filtered_paged_and_scoped(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let manager = app.console("city-manager", PASSWORD).await;
    let saved = manager
        .post("/console/rules", &rule_fields(&world.city, "child", "9"))
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let manager_id = staff_id(&app, &world.admin, "city-manager").await;
    let admin = app.console("admin", jieyue_tests::ADMIN_PASSWORD).await;

    let page = admin
        .html(&format!("/console/audit?staff={manager_id}"))
        .await;
    assert!(
        page.contains("设置借阅规则") && page.contains("rules.set"),
        "{page}"
    );
    assert!(page.contains("category: child"), "{page}");
    assert!(
        !page.contains("<code>patron.create</code>"),
        "only the manager's actions: {page}"
    );
    let page = admin
        .html(&format!(
            "/console/audit?staff={}",
            world.county_librarian_id
        ))
        .await;
    assert!(!page.contains("<code>rules.set</code>"), "{page}");
    // By action, by patron (card), by period.
    let page = admin.html("/console/audit?action=patron.create").await;
    assert!(page.contains("读者 C1"), "{page}");
    assert!(!page.contains("<code>rules.set</code>"), "{page}");
    let page = admin.html("/console/audit?patron=k1").await;
    assert!(
        page.contains("读者 K1") && !page.contains("读者 C1"),
        "{page}"
    );
    let page = admin.html("/console/audit?from=2026-09-02").await;
    assert!(page.contains("没有符合条件的记录"), "{page}");
    let page = admin.html("/console/audit?patron=NOBODY").await;
    assert!(page.contains("找不到该读者"), "{page}");

    // The county's librarian sees the county's events only.
    let county = app.console("county-librarian", PASSWORD).await;
    let page = county.html("/console/audit").await;
    assert!(page.contains("读者 K1"), "{page}");
    assert!(
        !page.contains("rules.set"),
        "not even as a filter choice: {page}"
    );
    assert!(
        !page.contains("读者 C1") && !page.contains("杭州市图书馆"),
        "{page}"
    );
    let page = county
        .html(&format!("/console/audit?staff={manager_id}"))
        .await;
    assert!(!page.contains("<code>rules.set</code>"), "{page}");

    // Fifty to a page, newest first, with a link to the older ones.
    for days in 1..=52 {
        put_rule(&app, &world.city_manager, Some(&world.city), days).await;
    }
    let page = admin
        .html(&format!(
            "/console/audit?staff={manager_id}&action=rules.set"
        ))
        .await;
    assert_eq!(page.matches("<code>rules.set</code>").count(), 50, "{page}");
    let at = page.find("rel=\"next\"").expect("a next link");
    let href_at = page[..at].rfind("href=\"").expect("href") + "href=\"".len();
    let href = page[href_at..]
        .split('"')
        .next()
        .expect("href")
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    let older = admin.html(&href).await;
    assert_eq!(
        older.matches("<code>rules.set</code>").count(),
        3,
        "{older}"
    );
    assert!(
        older.contains("category: child"),
        "the oldest is last: {older}"
    );
    assert!(!older.contains("rel=\"next\""));
}

async fn a_consortium_admin_manages_libraries_and_staff_in_the_console(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let admin = app.console("admin", jieyue_tests::ADMIN_PASSWORD).await;
    let page = admin.html("/console/admin").await;
    assert!(
        page.contains("杭州市图书馆") && page.contains("county-librarian"),
        "{page}"
    );

    let created = admin
        .post(
            "/console/admin/libraries",
            &[
                ("code", "town"),
                ("name", "千岛湖镇图书馆"),
                ("region", "浙江"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.html);
    assert_eq!(created.location(), "/console/admin?done=library-created");
    let libraries = app.get("/api/v1/admin/libraries", Some(&world.admin)).await;
    let town = libraries
        .body
        .as_array()
        .expect("libraries")
        .iter()
        .find(|l| l["code"] == "town")
        .unwrap_or_else(|| panic!("no town in {:?}", libraries.body))
        .clone();
    assert_eq!(town["name"], "千岛湖镇图书馆");
    assert_eq!(town["region"], "浙江");
    let town_id = town["id"].as_str().expect("id").to_owned();
    let duplicate = admin
        .post(
            "/console/admin/libraries",
            &[("code", "town"), ("name", "又一个")],
        )
        .await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT);

    let edited = admin
        .post(
            &format!("/console/admin/libraries/{town_id}"),
            &[("name", "淳安县千岛湖镇图书馆"), ("region", "")],
        )
        .await;
    assert_eq!(edited.status, StatusCode::SEE_OTHER, "{}", edited.html);
    let town = app
        .get(
            &format!("/api/v1/admin/libraries/{town_id}"),
            Some(&world.admin),
        )
        .await;
    assert_eq!(town.body["name"], "淳安县千岛湖镇图书馆");
    assert!(town.body["region"].is_null(), "{town:?}");

    let staffed = admin
        .post(
            "/console/admin/staff",
            &[
                ("username", "town-manager"),
                ("display_name", "陈馆长"),
                ("role", "library_manager"),
                ("library", town_id.as_str()),
                ("password", "a long enough password"),
            ],
        )
        .await;
    assert_eq!(staffed.status, StatusCode::SEE_OTHER, "{}", staffed.html);
    let id = staff_id(&app, &world.admin, "town-manager").await;
    let member = app
        .get(&format!("/api/v1/admin/staff/{id}"), Some(&world.admin))
        .await;
    assert_eq!(member.body["role"], "library_manager");
    assert_eq!(member.body["library_id"], town_id.as_str());
    assert_eq!(member.body["display_name"], "陈馆长");
    app.staff_token("town-manager", "a long enough password")
        .await;

    let form = admin.html(&format!("/console/admin/staff/{id}")).await;
    assert!(
        form.contains("陈馆长") && form.contains("name=\"role\""),
        "{form}"
    );
    let changed = admin
        .post(
            &format!("/console/admin/staff/{id}"),
            &[
                ("display_name", "陈老师"),
                ("role", "librarian"),
                ("role_was", "library_manager"),
                ("password", ""),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.html);
    let member = app
        .get(&format!("/api/v1/admin/staff/{id}"), Some(&world.admin))
        .await;
    assert_eq!(member.body["role"], "librarian");
    assert_eq!(member.body["display_name"], "陈老师");
    let off = admin
        .post(
            &format!("/console/admin/staff/{id}/active"),
            &[("active", "false")],
        )
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER);
    let member = app
        .get(&format!("/api/v1/admin/staff/{id}"), Some(&world.admin))
        .await;
    assert_eq!(member.body["active"], false);
    assert_eq!(
        app.console_login_page("town-manager", "a long enough password")
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let on = admin
        .post(
            &format!("/console/admin/staff/{id}/active"),
            &[("active", "true")],
        )
        .await;
    assert_eq!(on.status, StatusCode::SEE_OTHER);
    // The admin cannot deactivate themselves; a malformed id is a 404 page.
    let admin_id = staff_id(&app, &world.admin, "admin").await;
    let own = admin
        .post(
            &format!("/console/admin/staff/{admin_id}/active"),
            &[("active", "false")],
        )
        .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN);
    assert_eq!(
        admin.get("/console/admin/staff/not-an-id").await.status,
        StatusCode::NOT_FOUND
    );
    let audit = admin.html("/console/audit?action=library.create").await;
    assert!(audit.contains("千岛湖镇图书馆"), "{audit}");
}

async fn managers_and_librarians_see_only_what_the_services_allow(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    // The menu offers administration to consortium admins only.
    let librarian = app.console("city-librarian", PASSWORD).await;
    assert!(
        !librarian
            .html("/console/")
            .await
            .contains("href=\"/console/admin\"")
    );
    // A librarian may read their library's staff list, and change nothing.
    let page = librarian.html("/console/admin").await;
    assert!(
        page.contains("city-manager") && !page.contains("county-librarian"),
        "{page}"
    );
    assert!(
        !page.contains("action=\"/console/admin/libraries\""),
        "{page}"
    );
    assert!(!page.contains("action=\"/console/admin/staff\""), "{page}");
    let refused = librarian
        .post(
            "/console/admin/staff",
            &[
                ("username", "sneaky"),
                ("display_name", "Sneaky"),
                ("role", "librarian"),
                ("library", world.city.as_str()),
                ("password", "a long enough password"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.html);

    // A manager runs their library's staff, not the consortium.
    let manager = app.console("city-manager", PASSWORD).await;
    let page = manager.html("/console/admin").await;
    assert!(
        !page.contains("action=\"/console/admin/libraries\""),
        "{page}"
    );
    assert!(page.contains("action=\"/console/admin/staff\""), "{page}");
    assert!(!page.contains("value=\"consortium_admin\""), "{page}");
    assert!(!page.contains("county-librarian"), "{page}");
    let library = manager
        .post(
            "/console/admin/libraries",
            &[("code", "rogue"), ("name", "Rogue")],
        )
        .await;
    assert_eq!(library.status, StatusCode::FORBIDDEN);
    let elsewhere = manager
        .post(
            "/console/admin/staff",
            &[
                ("username", "county-helper"),
                ("display_name", "Helper"),
                ("role", "librarian"),
                ("library", world.county.as_str()),
                ("password", "a long enough password"),
            ],
        )
        .await;
    assert_eq!(elsewhere.status, StatusCode::FORBIDDEN);
    let own = manager
        .post(
            "/console/admin/staff",
            &[
                ("username", "city-helper"),
                ("display_name", "Helper"),
                ("role", "librarian"),
                ("library", world.city.as_str()),
                ("password", "a long enough password"),
            ],
        )
        .await;
    assert_eq!(own.status, StatusCode::SEE_OTHER, "{}", own.html);
    let listed = app
        .get("/api/v1/admin/staff", Some(&world.city_manager))
        .await;
    assert!(listed.body.to_string().contains("city-helper"));
    // Another library's staff member does not exist for the manager.
    let county = manager
        .get(&format!(
            "/console/admin/staff/{}",
            world.county_librarian_id
        ))
        .await;
    assert_eq!(county.status, StatusCode::NOT_FOUND);
    let county = manager
        .post(
            &format!("/console/admin/staff/{}/active", world.county_librarian_id),
            &[("active", "false")],
        )
        .await;
    assert_eq!(county.status, StatusCode::NOT_FOUND);
    // Posts without the session's token are refused.
    let forged = manager
        .post_raw(
            "/console/admin/libraries",
            &[("code", "forged"), ("name", "Forged")],
            &[("origin", app.base.as_str())],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

both_backends!(
    a_manager_sets_a_rule_in_the_console_and_the_api_lists_it,
    the_explanation_names_the_cell_and_what_a_borrow_would_answer,
    the_shared_use_statement_downloads_as_the_apis_csv,
    the_audit_trail_is_filtered_paged_and_scoped,
    a_consortium_admin_manages_libraries_and_staff_in_the_console,
    managers_and_librarians_see_only_what_the_services_allow,
);
