//! The reader's web app (`/reader/`), driven over HTTP as a browser would: login by
//! cookie with the API's lock-out, the Chinese-aware catalogue (simplified finds
//! traditional) with availability, borrowing through the form (once, however often it
//! is sent), renewing, returning, holds (place, suspend, resume, cancel, a ready hold
//! borrowed from the shelf), notifications and devices, CSRF and same-origin checks,
//! one reader never reaching another's loans, and the web app manifest.

use chrono::Duration;
use jieyue_tests::{PASSWORD, Page, TestApp, TwoLibraries, both_backends, page_of, scrape_csrf};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

fn page_client() -> reqwest::Client {
    TestApp::page_client()
}

/// `GET path` without a session (redirects not followed).
async fn visit(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Page {
    let mut request = page_client().get(format!("{}{path}", app.base));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    page_of(request.send().await.expect("sent")).await
}

/// Posts the reader's login form (raw page: 303 with a cookie on success).
async fn login_page(app: &TestApp, library: &str, card: &str, password: &str, next: &str) -> Page {
    let response = page_client()
        .post(format!("{}/reader/login", app.base))
        .header("origin", &app.base)
        .form(&[
            ("library", library),
            ("card", card),
            ("password", password),
            ("next", next),
        ])
        .send()
        .await
        .expect("login sent");
    page_of(response).await
}

/// A reader logged in to the web app as a browser would be.
struct ReaderSession<'a> {
    app: &'a TestApp,
    cookie: String,
    csrf: String,
}

/// The `jieyue_reader` cookie a login set.
fn reader_cookie(page: &Page) -> String {
    page.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("jieyue_reader="))
        .and_then(|v| v.split(';').next())
        .expect("reader cookie")
        .to_owned()
}

/// Logs a reader in (panics unless it works).
async fn reader<'a>(app: &'a TestApp, library: &str, card: &str) -> ReaderSession<'a> {
    let login = login_page(app, library, card, PASSWORD, "/reader/shelf").await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{login:?}");
    let mut session = ReaderSession {
        app,
        cookie: reader_cookie(&login),
        csrf: String::new(),
    };
    let shelf = session.html("/reader/shelf").await;
    session.csrf = scrape_csrf(&shelf).expect("csrf token on the shelf");
    session
}

impl ReaderSession<'_> {
    async fn get(&self, path: &str) -> Page {
        let response = page_client()
            .get(format!("{}{path}", self.app.base))
            .header("cookie", format!("jieyue_reader={}", self.cookie))
            .send()
            .await
            .expect("sent");
        page_of(response).await
    }

    async fn html(&self, path: &str) -> String {
        let page = self.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "GET {path}: {page:?}");
        page.html
    }

    /// Posts a form as a same-origin browser would, with this session's CSRF token.
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut body: Vec<(&str, &str)> = vec![("csrf", self.csrf.as_str())];
        body.extend_from_slice(fields);
        self.post_raw(path, &body, &[("origin", self.app.base.as_str())])
            .await
    }

    async fn post_raw(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let mut request = page_client()
            .post(format!("{}{path}", self.app.base))
            .header("cookie", format!("jieyue_reader={}", self.cookie))
            .form(fields);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        page_of(request.send().await.expect("sent")).await
    }
}

/// The value of the first `name="{field}" value="…"` in a page.
fn scrape_field(html: &str, field: &str) -> Option<String> {
    let marker = format!("name=\"{field}\" value=\"");
    let at = html.find(&marker)? + marker.len();
    let rest = &html[at..];
    Some(rest[..rest.find('"')?].to_owned())
}

async fn title_name(app: &TestApp, title: &str) -> String {
    app.get(&format!("/api/v1/catalog/{title}"), None)
        .await
        .body["title"]
        .as_str()
        .expect("title")
        .to_owned()
}

async fn a_reader_logs_in_by_cookie_with_the_apis_lock_out(app: TestApp) {
    TwoLibraries::create(&app).await;
    // Not logged in: the shelf leads to the login page, and back afterwards.
    let anonymous = visit(&app, "/reader/shelf", &[]).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert_eq!(anonymous.location(), "/reader/login?next=%2Freader%2Fshelf");
    let form = visit(&app, "/reader/login?next=%2Freader%2Fshelf", &[]).await;
    assert_eq!(form.status, StatusCode::OK);
    for expected in [
        "杭州市图书馆",
        "淳安县图书馆",
        "name=\"next\" value=\"/reader/shelf\"",
        "rel=\"manifest\" href=\"/reader/manifest.webmanifest\"",
        "name=\"theme-color\"",
    ] {
        assert!(form.html.contains(expected), "{expected}: {}", form.html);
    }

    // A wrong password: the form again, 401, in the reader's words.
    let wrong = login_page(&app, "city", "C1", "wrong guess", "/reader/shelf").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(
        wrong.html.contains("读者证号或密码不正确"),
        "{}",
        wrong.html
    );
    assert!(
        wrong.html.contains("value=\"C1\""),
        "the card stays filled in"
    );
    assert!(wrong.headers.get("set-cookie").is_none());

    // The web and the API share one throttle: failures on either count for both.
    for _ in 1..app.config.auth.max_failed_logins {
        let reply = app.patron_login("city", "C1", "wrong guess").await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let locked = login_page(&app, "city", "C1", PASSWORD, "/reader/shelf").await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "{locked:?}");
    assert!(locked.html.contains("秒后再试"), "{}", locked.html);
    let api = app.patron_login("city", "C1", PASSWORD).await;
    assert_eq!(api.status, StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(Duration::minutes(60));

    let login = login_page(&app, "city", "C1", PASSWORD, "/reader/shelf").await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{login:?}");
    assert_eq!(login.location(), "/reader/shelf");
    let cookie = login.headers["set-cookie"].to_str().expect("ascii");
    for attribute in [
        "jieyue_reader=",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/reader",
    ] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    // Only a reader page is returned to.
    let elsewhere = login_page(&app, "city", "C1", PASSWORD, "https://evil.example/").await;
    assert_eq!(elsewhere.location(), "/reader/");

    let session = reader(&app, "city", "C1").await;
    let shelf = session.get("/reader/shelf").await;
    assert_eq!(shelf.headers["cache-control"], "no-store");
    assert!(
        shelf.html.contains("王小明"),
        "the reader's name in the header"
    );
    assert!(shelf.html.contains("杭州市图书馆"), "the reader's library");

    // The cookie opens the reader's pages only, never the JSON API.
    let api = app
        .client
        .get(format!("{}/api/v1/me", app.base))
        .header("cookie", format!("jieyue_reader={}", session.cookie))
        .send()
        .await
        .expect("sent");
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);

    // Logging out needs the CSRF token; then the session is gone.
    let forged = session
        .post_raw("/reader/logout", &[], &[("origin", app.base.as_str())])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let out = session.post("/reader/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/reader/");
    let removal = out.headers["set-cookie"].to_str().expect("ascii");
    assert!(removal.contains("jieyue_reader=;") && removal.contains("Path=/reader"));
    let after = session.get("/reader/shelf").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER, "the session has ended");
}

async fn simplified_search_finds_the_traditional_volumes_with_availability(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    // Volume 17 has poems by 李白 (its authors are written in traditional characters);
    // volume 16 has none.
    let with_li_bai = app
        .title_with_copies(&world, "zh/quantangshi-017.epub", 1)
        .await;
    let without = app
        .title_with_copies(&world, "zh/quantangshi-016.epub", 1)
        .await;
    assert_eq!(title_name(&app, &with_li_bai).await, "御定全唐詩 卷017");

    // Anyone may search; simplified 李白 and 御定全唐诗 find the traditional titles.
    let found = visit(&app, "/reader/?q=%E6%9D%8E%E7%99%BD", &[]).await;
    assert_eq!(found.status, StatusCode::OK);
    assert!(found.html.contains("御定全唐詩 卷017"), "{}", found.html);
    assert!(
        found
            .html
            .contains(&format!("/reader/titles/{with_li_bai}"))
    );
    assert!(!found.html.contains(&format!("/reader/titles/{without}")));
    let details = app
        .get(&format!("/api/v1/catalog/{with_li_bai}"), None)
        .await;
    if let Some(thumbnail) = details.body["links"]["thumbnail"].as_str() {
        assert!(found.html.contains(thumbnail), "the cover: {}", found.html);
    }
    let both = visit(
        &app,
        "/reader/?q=%E5%BE%A1%E5%AE%9A%E5%85%A8%E5%94%90%E8%AF%97",
        &[],
    )
    .await;
    assert!(both.html.contains("御定全唐詩 卷017") && both.html.contains("御定全唐詩 卷016"));
    assert!(both.html.contains("找到 2 本书"), "{}", both.html);

    // As the reader types, htmx asks for the results only.
    let part = visit(
        &app,
        "/reader/?q=%E6%9D%8E%E7%99%BD",
        &[("hx-request", "true")],
    )
    .await;
    assert!(part.html.contains("御定全唐詩 卷017") && !part.html.contains("<html"));

    // A visitor who picks a library sees availability there; a facet narrows.
    let at_city = visit(&app, "/reader/?q=%E6%9D%8E%E7%99%BD&library=city", &[]).await;
    assert!(
        at_city.html.contains("可借 1 册 / 共 1 册"),
        "{}",
        at_city.html
    );
    assert!(
        at_city
            .html
            .contains(&format!("/reader/titles/{with_li_bai}?library=city"))
    );
    let by_subject = visit(&app, "/reader/?subject=%E5%94%90%E8%AF%97", &[]).await;
    assert!(
        by_subject.html.contains("找到 2 本书"),
        "{}",
        by_subject.html
    );
    let english = visit(
        &app,
        "/reader/?q=%E6%9D%8E%E7%99%BD&library=city&lang=en",
        &[],
    )
    .await;
    assert!(
        english.html.contains("1 of 1 available"),
        "{}",
        english.html
    );

    // A reader sees availability at their own library: the county has no copy.
    let county = reader(&app, "county", "K1").await;
    let page = county.html("/reader/?q=%E6%9D%8E%E7%99%BD").await;
    assert!(page.contains("本馆暂无"), "{page}");
    let title = county.html(&format!("/reader/titles/{with_li_bai}")).await;
    assert!(title.contains("本馆暂时没有可借的复本"), "{title}");
    assert!(!title.contains("/borrow\""), "no borrow form: {title}");
}

async fn my_loans(app: &TestApp, token: &str) -> Vec<Value> {
    let reply = app.get("/api/v1/me/loans", Some(token)).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    reply.body.as_array().expect("loans").clone()
}

async fn a_reader_borrows_once_renews_and_returns_through_the_forms(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let title = app.title_with_copies(&world, "zh/daxue.epub", 2).await;
    let name = title_name(&app, &title).await;
    let token = app.patron_token("city", "C1").await;
    let session = reader(&app, "city", "C1").await;

    let page = session.html(&format!("/reader/titles/{title}")).await;
    assert!(page.contains(&format!("<h1>{name}</h1>")), "{page}");
    assert!(
        page.contains("共 2 册") && page.contains("可借 2 册"),
        "{page}"
    );
    for length in ["3 天", "7 天", "14 天", "21 天"] {
        assert!(page.contains(length), "{length} offered: {page}");
    }
    assert!(!page.contains("28 天"), "no longer than the rules allow");
    let request_id = scrape_field(&page, "request_id").expect("request id");
    let path = format!("/reader/titles/{title}/borrow");

    // The form sent twice (a double tap) borrows once.
    for _ in 0..2 {
        let borrowed = session
            .post(&path, &[("request_id", &request_id), ("days", "7")])
            .await;
        assert_eq!(borrowed.status, StatusCode::SEE_OTHER, "{borrowed:?}");
        assert_eq!(
            borrowed.location(),
            format!("/reader/titles/{title}?done=borrowed")
        );
    }
    let loans = my_loans(&app, &token).await;
    assert_eq!(loans.len(), 1, "{loans:?}");
    let loan = loans[0]["id"].as_str().expect("id").to_owned();
    let ends: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(loans[0]["ends_at"].clone()).expect("ends_at");
    assert_eq!(
        ends - app.clock_now(),
        Duration::days(7),
        "the chosen length"
    );

    // A new form (new request id) for the same title is refused, with the reason.
    let again = session
        .post(&path, &[("request_id", &Uuid::new_v4().to_string())])
        .await;
    assert_eq!(
        again.location(),
        format!("/reader/titles/{title}?refused=already-borrowed")
    );
    let page = session.html(again.location()).await;
    assert!(page.contains("这本书您已经借了"), "{page}");
    assert!(
        page.contains(&format!("/reader/loans/{loan}/read")),
        "read it"
    );
    assert!(page.contains("还剩 7 天"), "{page}");
    // Out of the rules: a length past the maximum.
    let title2 = app.title_with_copies(&world, "zh/lunyu.epub", 1).await;
    let too_long = session
        .post(
            &format!("/reader/titles/{title2}/borrow"),
            &[("request_id", &Uuid::new_v4().to_string()), ("days", "90")],
        )
        .await;
    assert_eq!(
        too_long.location(),
        format!("/reader/titles/{title2}?refused=validation")
    );
    assert_eq!(my_loans(&app, &token).await.len(), 1);

    // The shelf: days left, read, renew, return.
    let shelf = session.html("/reader/shelf").await;
    assert!(
        shelf.contains(&name) && shelf.contains("还剩 7 天"),
        "{shelf}"
    );
    assert!(shelf.contains("还可以续借 2 次"), "{shelf}");
    let renewed = session
        .post(&format!("/reader/loans/{loan}/renew"), &[])
        .await;
    assert_eq!(renewed.status, StatusCode::SEE_OTHER);
    assert!(renewed.location().starts_with("/reader/shelf?done=renewed"));
    assert_eq!(my_loans(&app, &token).await[0]["renewals"], 1);
    session
        .post(&format!("/reader/loans/{loan}/renew"), &[])
        .await;
    // Every renewal used: the shelf says why there is no renew button, and a renewal
    // sent anyway comes back with the reason.
    let shelf = session.html("/reader/shelf").await;
    assert!(shelf.contains("不能续借：续借次数已经用完"), "{shelf}");
    assert!(!shelf.contains(&format!("/reader/loans/{loan}/renew")));
    let refused = session
        .post(&format!("/reader/loans/{loan}/renew"), &[])
        .await;
    assert_eq!(
        refused.location(),
        format!("/reader/shelf?refused=renewal-limit#loan-{loan}")
    );
    assert!(
        session
            .html(refused.location())
            .await
            .contains("续借次数已经用完")
    );

    let confirm = session.html(&format!("/reader/loans/{loan}/return")).await;
    assert!(
        confirm.contains(&format!("要归还《{name}》吗")),
        "{confirm}"
    );
    let returned = session
        .post(&format!("/reader/loans/{loan}/return"), &[])
        .await;
    assert_eq!(returned.location(), "/reader/shelf?done=returned");
    assert!(my_loans(&app, &token).await.is_empty());
    let shelf = session.html(returned.location()).await;
    assert!(shelf.contains("已还书") && shelf.contains("您现在没有在借的书"));
    // The loan has ended: returning it again says so.
    let ended = session.get(&format!("/reader/loans/{loan}/return")).await;
    assert_eq!(ended.status, StatusCode::GONE);
    assert!(ended.html.contains("这次借阅已经结束"), "{}", ended.html);
}

async fn my_holds(app: &TestApp, token: &str) -> Vec<Value> {
    let reply = app.get("/api/v1/me/holds", Some(token)).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    reply.body.as_array().expect("holds").clone()
}

async fn holds_are_placed_suspended_resumed_borrowed_and_cancelled_through_the_forms(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    app.create_patron(&world.admin, &world.city, "C2", "李华")
        .await;
    let title = app.title_with_copies(&world, "zh/zhongyong.epub", 1).await;
    let name = title_name(&app, &title).await;
    let other = app.patron_token("city", "C2").await;
    let lent = app
        .post(
            "/api/v1/me/loans",
            Some(&other),
            json!({ "title_id": title, "request_id": Uuid::new_v4() }),
        )
        .await;
    assert_eq!(lent.status, StatusCode::CREATED, "{lent:?}");
    let token = app.patron_token("city", "C1").await;
    let session = reader(&app, "city", "C1").await;

    // Every copy is out: the page offers a hold with the place and the wait.
    let page = session.html(&format!("/reader/titles/{title}")).await;
    assert!(page.contains("复本已全部借出"), "{page}");
    assert!(page.contains("您将排在第 1 位"), "{page}");
    assert!(page.contains("预计等待约 14 天"), "{page}");
    assert!(!page.contains("/borrow\""), "no borrow form: {page}");
    for _ in 0..2 {
        let held = session
            .post(&format!("/reader/titles/{title}/hold"), &[])
            .await;
        assert_eq!(held.location(), format!("/reader/titles/{title}?done=held"));
    }
    let holds = my_holds(&app, &token).await;
    assert_eq!(holds.len(), 1, "placed once: {holds:?}");
    let hold = holds[0]["id"].as_str().expect("id").to_owned();
    let page = session
        .html(&format!("/reader/titles/{title}?done=held"))
        .await;
    assert!(
        page.contains("已预约") && page.contains("您在排队第 1 位"),
        "{page}"
    );

    // Suspend until a date (then resume); a date not after today is refused.
    let shelf = session.html("/reader/shelf").await;
    assert!(
        shelf.contains(&name) && shelf.contains("您在排队第 1 位"),
        "{shelf}"
    );
    let today = (app.clock_now() + Duration::hours(8)).date_naive();
    let later = (today + chrono::Days::new(10)).to_string();
    let suspend = format!("/reader/holds/{hold}/suspend");
    let suspended = session.post(&suspend, &[("until", &later)]).await;
    assert!(
        suspended
            .location()
            .starts_with("/reader/shelf?done=suspended"),
        "{suspended:?}"
    );
    let until = my_holds(&app, &token).await[0]["suspended_until"].clone();
    assert!(until.is_string(), "{until:?}");
    let shelf = session.html("/reader/shelf").await;
    assert!(shelf.contains(&format!("{later} 起恢复排队")), "{shelf}");
    let resumed = session.post(&suspend, &[("until", "")]).await;
    assert!(resumed.location().starts_with("/reader/shelf?done=resumed"));
    assert!(my_holds(&app, &token).await[0]["suspended_until"].is_null());
    let past = session
        .post(&suspend, &[("until", &today.to_string())])
        .await;
    assert!(
        past.location()
            .starts_with("/reader/shelf?refused=suspend-date")
    );
    assert!(my_holds(&app, &token).await[0]["suspended_until"].is_null());

    // The copy comes back: the hold is ready, the reader is told, and borrows it from
    // the shelf.
    let back = app
        .post(
            &format!("/api/v1/me/loans/{}/return", lent.id()),
            Some(&other),
            json!({}),
        )
        .await;
    assert_eq!(back.status, StatusCode::OK, "{back:?}");
    let shelf = session.html("/reader/shelf").await;
    assert!(shelf.contains("可以借了"), "{shelf}");
    assert!(
        shelf.contains(&format!("您预约的《{name}》已为您保留")),
        "the notification: {shelf}"
    );
    let ready_form = &shelf[shelf.find(&format!("id=\"hold-{hold}\"")).expect("hold")..];
    let request_id = scrape_field(ready_form, "request_id").expect("request id");
    let borrowed = session
        .post(
            &format!("/reader/titles/{title}/borrow"),
            &[("request_id", &request_id)],
        )
        .await;
    assert_eq!(
        borrowed.location(),
        format!("/reader/titles/{title}?done=borrowed")
    );
    assert_eq!(my_loans(&app, &token).await.len(), 1);
    assert!(
        my_holds(&app, &token).await.is_empty(),
        "the hold is fulfilled"
    );

    // Another hold, cancelled from the shelf.
    let second = app.title_with_copies(&world, "zh/mengzi.epub", 1).await;
    app.post(
        "/api/v1/me/loans",
        Some(&other),
        json!({ "title_id": second, "request_id": Uuid::new_v4() }),
    )
    .await;
    session
        .post(&format!("/reader/titles/{second}/hold"), &[])
        .await;
    let holds = my_holds(&app, &token).await;
    assert_eq!(holds.len(), 1);
    let cancelled = session
        .post(
            &format!(
                "/reader/holds/{}/cancel",
                holds[0]["id"].as_str().expect("id")
            ),
            &[],
        )
        .await;
    assert_eq!(cancelled.location(), "/reader/shelf?done=cancelled#holds");
    assert!(my_holds(&app, &token).await.is_empty());
}

async fn devices_are_listed_and_removed_from_the_shelf(app: TestApp) {
    TwoLibraries::create(&app).await;
    let token = app.patron_token("city", "C1").await;
    let (device, _) = app.enrol_device(&token, "王小明的手机").await;
    let session = reader(&app, "city", "C1").await;
    let shelf = session.html("/reader/shelf").await;
    assert!(shelf.contains("王小明的手机"), "{shelf}");
    let removed = session
        .post(&format!("/reader/devices/{device}/remove"), &[])
        .await;
    assert_eq!(
        removed.location(),
        "/reader/shelf?done=device-removed#devices"
    );
    let devices = app.get("/api/v1/me/devices", Some(&token)).await;
    assert_eq!(devices.body, json!([]));
}

async fn forms_need_the_csrf_token_and_a_reader_reaches_only_their_own_loans(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    app.create_patron(&world.admin, &world.city, "C2", "李华")
        .await;
    let title = app.title_with_copies(&world, "zh/daxue.epub", 2).await;
    let token = app.patron_token("city", "C1").await;
    let session = reader(&app, "city", "C1").await;
    let path = format!("/reader/titles/{title}/borrow");
    let request_id = Uuid::new_v4().to_string();

    // No token, a wrong token, another site: refused, nothing borrowed.
    let origin = app.base.as_str();
    for (fields, headers) in [
        (
            vec![("request_id", request_id.as_str())],
            vec![("origin", origin)],
        ),
        (
            vec![("csrf", "forged"), ("request_id", request_id.as_str())],
            vec![("origin", origin)],
        ),
        (
            vec![
                ("csrf", session.csrf.as_str()),
                ("request_id", request_id.as_str()),
            ],
            vec![("origin", "https://evil.example")],
        ),
        (
            vec![
                ("csrf", session.csrf.as_str()),
                ("request_id", request_id.as_str()),
            ],
            vec![("sec-fetch-site", "cross-site")],
        ),
    ] {
        let page = session.post_raw(&path, &fields, &headers).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{fields:?} {headers:?}");
    }
    assert!(my_loans(&app, &token).await.is_empty());
    // A staff session's CSRF token is not a reader's.
    let console = app.console("city-librarian", PASSWORD).await;
    let page = session
        .post_raw(
            &path,
            &[
                ("csrf", console.csrf.as_str()),
                ("request_id", request_id.as_str()),
            ],
            &[("origin", origin)],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);

    let borrowed = session.post(&path, &[("request_id", &request_id)]).await;
    assert_eq!(borrowed.status, StatusCode::SEE_OTHER);
    let loan = my_loans(&app, &token).await[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();

    // Another reader finds nothing of it, and cannot renew or return it.
    let other = reader(&app, "city", "C2").await;
    let page = other.get(&format!("/reader/loans/{loan}/return")).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "{page:?}");
    for action in ["renew", "return"] {
        let page = other
            .post(&format!("/reader/loans/{loan}/{action}"), &[])
            .await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{action}: {page:?}");
    }
    let malformed = other.get("/reader/loans/not-a-uuid/return").await;
    assert_eq!(malformed.status, StatusCode::NOT_FOUND);
    let shelf = other.html("/reader/shelf").await;
    assert!(!shelf.contains(&loan), "{shelf}");
    let loans = my_loans(&app, &token).await;
    assert_eq!(loans[0]["state"], "active", "{loans:?}");
    assert_eq!(loans[0]["renewals"], 0);
}

async fn the_web_app_manifest_and_icons_are_served(app: TestApp) {
    let manifest = visit(&app, "/reader/manifest.webmanifest", &[]).await;
    assert_eq!(manifest.status, StatusCode::OK);
    assert_eq!(
        manifest.headers["content-type"],
        "application/manifest+json"
    );
    let body: Value = serde_json::from_str(&manifest.html).expect("json");
    assert_eq!(body["start_url"], "/reader/");
    assert_eq!(body["display"], "standalone");
    assert_eq!(body["short_name"], "借阅");
    for icon in body["icons"].as_array().expect("icons") {
        let src = icon["src"].as_str().expect("src");
        let (status, headers, bytes) = app.get_bytes(src, &[]).await;
        assert_eq!(status, StatusCode::OK, "{src}");
        assert_eq!(
            headers["content-type"],
            icon["type"].as_str().expect("type")
        );
        if icon["type"] == "image/png" {
            assert!(bytes.starts_with(b"\x89PNG"), "{src}");
            let size: u32 = icon["sizes"]
                .as_str()
                .and_then(|s| s.split('x').next())
                .and_then(|s| s.parse().ok())
                .expect("size");
            let width = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
            assert_eq!(width, size, "{src}");
        }
    }
    let css = app.get_bytes("/reader/app.css", &[]).await;
    assert_eq!(css.0, StatusCode::OK);
    assert_eq!(css.1["content-type"], "text/css; charset=utf-8");
    let home = visit(&app, "/reader/", &[]).await;
    assert!(
        home.html
            .contains("<link rel=\"manifest\" href=\"/reader/manifest.webmanifest\">")
    );
    assert_eq!(visit(&app, "/reader", &[]).await.location(), "/reader/");
}

both_backends!(
    a_reader_logs_in_by_cookie_with_the_apis_lock_out,
    simplified_search_finds_the_traditional_volumes_with_availability,
    a_reader_borrows_once_renews_and_returns_through_the_forms,
    holds_are_placed_suspended_resumed_borrowed_and_cancelled_through_the_forms,
    devices_are_listed_and_removed_from_the_shelf,
    forms_need_the_csrf_token_and_a_reader_reaches_only_their_own_loans,
    the_web_app_manifest_and_icons_are_served,
);
