//! The console's distribution page, driven over HTTP as a browser would and checked
//! against the JSON API: a consortium admin invites a member and sees its enrolment
//! code once, creates a collection, sets its titles, publishes a version, enrols the
//! server with a hub (itself), suspends, resumes and removes peers, and downloads the
//! usage CSV; a librarian is refused; a post without the CSRF token is refused.

use jieyue_tests::{ADMIN_PASSWORD, PASSWORD, TestApp, TwoLibraries, both_backends};
use reqwest::StatusCode;
use serde_json::Value;

const PAGE: &str = "/console/distribution";
const SLUG: &str = "jiceng-2026";

/// The enrolment code on an invitation's answer.
fn scrape_code(html: &str) -> String {
    let marker = "data-enrolment-code>";
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("no enrolment code in {html}"))
        + marker.len();
    let rest = &html[at..];
    rest[..rest.find('<').expect("end of code")]
        .trim()
        .to_owned()
}

/// What the API lists at `path` (as the admin).
async fn listed(app: &TestApp, admin: &str, path: &str) -> Vec<Value> {
    let reply = app.get(path, Some(admin)).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    reply.body.as_array().expect("a list").clone()
}

async fn an_admin_distributes_a_collection_from_the_console(app: TestApp) {
    let admin_token = app.admin_token().await;
    let admin = app.console("admin", ADMIN_PASSWORD).await;
    let dashboard = admin.html("/console/").await;
    assert!(
        dashboard.contains("href=\"/console/distribution\""),
        "the admin's menu offers distribution: {dashboard}"
    );
    let page = admin.html(PAGE).await;
    for words in ["馆藏分发", "成员馆", "馆藏集", "中心馆", "已安装的馆藏集"] {
        assert!(page.contains(words), "{words} in {page}");
    }
    assert!(
        page.contains("jieyue collection export SLUG --to /media/disk")
            && page.contains("jieyue collection import /media/disk")
            && page.contains("href=\"/docs/distribution.md\""),
        "the disks' help: {page}"
    );
    let guide = app.get_bytes("/docs/distribution.md", &[]).await;
    assert_eq!(guide.0, StatusCode::OK);

    // Invite a member: the code is on the answer, once.
    let invited = admin
        .post(
            "/console/distribution/members",
            &[("name", "淳安县图书馆"), ("region", "浙江省")],
        )
        .await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.html);
    assert!(invited.html.contains("只显示这一次"), "{}", invited.html);
    assert_eq!(
        invited.headers["cache-control"], "no-store",
        "the code is not kept by a cache"
    );
    let code = scrape_code(&invited.html);
    let (member_id, secret) = code.split_once('.').expect("member-id.secret");
    assert!(uuid::Uuid::parse_str(member_id).is_ok(), "{code}");
    assert!(secret.len() >= 16, "{code}");
    let page = admin.html(PAGE).await;
    assert!(page.contains("淳安县图书馆") && page.contains("浙江省") && page.contains("已邀请"));
    assert!(!page.contains(secret), "the code is shown only once");
    let members = listed(&app, &admin_token, "/api/v1/admin/distribution/members").await;
    assert_eq!(members.len(), 1, "{members:?}");
    assert_eq!(members[0]["id"], member_id);
    assert_eq!(members[0]["status"], "invited");
    // An invited member cannot be suspended yet: the service's conflict, as a page.
    let early = admin
        .post(
            &format!("/console/distribution/peers/{member_id}/suspend"),
            &[],
        )
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.html);
    assert!(
        early.headers["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/html")
    );

    // This server enrols with a hub (itself) using the code: it becomes the member's
    // hub, and the member is active.
    let joined = admin
        .post(
            "/console/distribution/hubs",
            &[("hub_url", app.base.as_str()), ("code", code.as_str())],
        )
        .await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.html);
    assert_eq!(joined.location(), "/console/distribution?done=joined");
    let hubs = listed(&app, &admin_token, "/api/v1/admin/distribution/hubs").await;
    assert_eq!(hubs.len(), 1, "{hubs:?}");
    let hub_id = hubs[0]["id"].as_str().expect("hub id").to_owned();
    let key_id = hubs[0]["key_ids"][0]
        .as_str()
        .expect("a pinned key")
        .to_owned();
    let page = admin.html("/console/distribution?done=joined").await;
    assert!(page.contains("已加入中心馆"), "{page}");
    assert!(
        page.contains(&key_id) && page.contains(app.base.as_str()),
        "{page}"
    );
    let members = listed(&app, &admin_token, "/api/v1/admin/distribution/members").await;
    assert_eq!(members[0]["status"], "active");
    // The code worked once.
    let again = admin
        .post(
            "/console/distribution/hubs",
            &[("hub_url", app.base.as_str()), ("code", code.as_str())],
        )
        .await;
    assert!(
        again.status.is_client_error() || again.status.is_server_error(),
        "{again:?}"
    );

    // Suspend and resume the member.
    let suspended = admin
        .post(
            &format!("/console/distribution/peers/{member_id}/suspend"),
            &[],
        )
        .await;
    assert_eq!(
        suspended.status,
        StatusCode::SEE_OTHER,
        "{}",
        suspended.html
    );
    assert_eq!(suspended.location(), "/console/distribution?done=suspended");
    let members = listed(&app, &admin_token, "/api/v1/admin/distribution/members").await;
    assert_eq!(members[0]["status"], "suspended");
    assert!(admin.html(PAGE).await.contains("已暂停"));
    let resumed = admin
        .post(
            &format!("/console/distribution/peers/{member_id}/resume"),
            &[],
        )
        .await;
    assert_eq!(resumed.location(), "/console/distribution?done=resumed");
    let members = listed(&app, &admin_token, "/api/v1/admin/distribution/members").await;
    assert_eq!(members[0]["status"], "active");

    // A collection: unlimited copies (empty field), then one of 3 copies per member.
    let created = admin
        .post(
            "/console/distribution/collections",
            &[
                ("slug", SLUG),
                ("name", "基层图书馆数字资源提升 2026"),
                ("copies", ""),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.html);
    assert_eq!(
        created.location(),
        "/console/distribution?done=collection-created"
    );
    let three = admin
        .post(
            "/console/distribution/collections",
            &[("slug", "shaoer"), ("name", "少儿读物"), ("copies", "3")],
        )
        .await;
    assert_eq!(three.status, StatusCode::SEE_OTHER, "{}", three.html);
    let page = admin.html(PAGE).await;
    assert!(
        page.contains("基层图书馆数字资源提升 2026")
            && page.contains("不限")
            && page.contains("每馆 3 册")
            && page.contains("尚未发布"),
        "{page}"
    );
    for (fields, status) in [
        (
            [("slug", "shaoer"), ("name", "重复"), ("copies", "")],
            StatusCode::CONFLICT,
        ),
        (
            [("slug", "Bad Slug"), ("name", "x"), ("copies", "")],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            [("slug", "zero"), ("name", "x"), ("copies", "0")],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let refused = admin
            .post("/console/distribution/collections", &fields)
            .await;
        assert_eq!(refused.status, status, "{fields:?}: {}", refused.html);
    }
    let collections = listed(&app, &admin_token, "/api/v1/admin/distribution/collections").await;
    assert_eq!(collections.len(), 2, "{collections:?}");
    let jiceng = collections
        .iter()
        .find(|c| c["slug"] == SLUG)
        .expect("jiceng");
    assert!(jiceng["copies_per_member"].is_null(), "{jiceng:?}");
    // An empty collection is not published.
    let empty = admin
        .post(
            &format!("/console/distribution/collections/{SLUG}/versions"),
            &[],
        )
        .await;
    assert_eq!(empty.status, StatusCode::CONFLICT, "{}", empty.html);

    // Its titles: a corpus book by id (and a line that is no id is refused).
    let title = app.upload_corpus(&admin_token, "zh/lunyu.epub").await;
    let collection_page = admin
        .html(&format!("/console/distribution/collections/{SLUG}"))
        .await;
    assert!(
        collection_page.contains("name=\"title_ids\""),
        "{collection_page}"
    );
    let wrong = admin
        .post(
            &format!("/console/distribution/collections/{SLUG}/titles"),
            &[("title_ids", "not-a-title")],
        )
        .await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.html
    );
    let unknown = admin
        .post(
            &format!("/console/distribution/collections/{SLUG}/titles"),
            &[("title_ids", "00000000-0000-0000-0000-000000000001")],
        )
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.html
    );
    let lines = format!("{title}\r\n\r\n{title}\r\n");
    let saved = admin
        .post(
            &format!("/console/distribution/collections/{SLUG}/titles"),
            &[("title_ids", lines.as_str())],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    assert_eq!(saved.location(), "/console/distribution?done=titles-saved");
    let collections = listed(&app, &admin_token, "/api/v1/admin/distribution/collections").await;
    let jiceng = collections
        .iter()
        .find(|c| c["slug"] == SLUG)
        .expect("jiceng");
    assert_eq!(jiceng["title_ids"], serde_json::json!([title]));
    let collection_page = admin
        .html(&format!("/console/distribution/collections/{SLUG}"))
        .await;
    assert!(
        collection_page.contains("论语") && collection_page.contains(&title),
        "{collection_page}"
    );
    // Every title in the catalogue, for the other collection.
    let every = admin
        .post(
            "/console/distribution/collections/shaoer/titles",
            &[("title_ids", ""), ("all", "true")],
        )
        .await;
    assert_eq!(every.status, StatusCode::SEE_OTHER, "{}", every.html);
    let collections = listed(&app, &admin_token, "/api/v1/admin/distribution/collections").await;
    let shaoer = collections
        .iter()
        .find(|c| c["slug"] == "shaoer")
        .expect("shaoer");
    assert_eq!(shaoer["title_ids"], serde_json::json!([title]));

    // Publish version 1: it is in the table with its date and size.
    let published = admin
        .post(
            &format!("/console/distribution/collections/{SLUG}/versions"),
            &[],
        )
        .await;
    assert_eq!(
        published.status,
        StatusCode::SEE_OTHER,
        "{}",
        published.html
    );
    assert_eq!(published.location(), "/console/distribution?done=published");
    let collections = listed(&app, &admin_token, "/api/v1/admin/distribution/collections").await;
    let jiceng = collections
        .iter()
        .find(|c| c["slug"] == SLUG)
        .expect("jiceng");
    assert_eq!(jiceng["versions"][0]["version"], 1);
    let page = admin.html("/console/distribution?done=published").await;
    assert!(page.contains("新版本已发布"), "{page}");
    let row_at = page
        .find(&format!("data-collection=\"{SLUG}\""))
        .expect("the collection's row");
    let row = &page[row_at..row_at + page[row_at..].find("</tr>").expect("row end")];
    let today = app
        .clock_now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("offset"))
        .date_naive()
        .to_string();
    assert!(
        row.contains("第 1 版")
            && row.contains(&today)
            && row.contains(" KB")
            && row.contains("1 种"),
        "{row}"
    );
    let english = admin.html("/console/distribution?lang=en").await;
    assert!(
        english.contains("Version 1")
            && english.contains("Unlimited")
            && english.contains("3 copies per member"),
        "{english}"
    );

    // The usage CSV: UTF-8 with a byte-order mark, the API's columns.
    let (status, headers, body) = admin
        .bytes("/console/distribution/usage.csv?from=2026-01-01&to=2026-12-31")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    assert!(
        headers["content-disposition"]
            .to_str()
            .expect("ascii")
            .contains("distribution-usage-2026-01-01-2026-12-31.csv")
    );
    assert!(body.starts_with(b"\xEF\xBB\xBF"), "a byte-order mark");
    let text = String::from_utf8(body[3..].to_vec()).expect("utf-8");
    assert!(
        text.starts_with("collection,member_id,member,region,month,loans,renewals,returns"),
        "{text}"
    );
    let backwards = admin
        .get("/console/distribution?from=2026-05-01&to=2026-04-01")
        .await;
    assert_eq!(backwards.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Removing asks first, then removes.
    let confirm = admin
        .html(&format!("/console/distribution/peers/{hub_id}/remove"))
        .await;
    assert!(
        confirm.contains("确认移除") && confirm.contains("不再信任"),
        "{confirm}"
    );
    let removed = admin
        .post(&format!("/console/distribution/peers/{hub_id}/remove"), &[])
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.html);
    assert_eq!(removed.location(), "/console/distribution?done=removed");
    assert!(
        listed(&app, &admin_token, "/api/v1/admin/distribution/hubs")
            .await
            .is_empty()
    );
    let gone = admin
        .get(&format!("/console/distribution/peers/{hub_id}/remove"))
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

async fn only_consortium_admins_see_distribution_and_forms_need_the_token(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    for username in ["city-librarian", "city-manager"] {
        let staff = app.console(username, PASSWORD).await;
        let home = staff.html("/console/").await;
        assert!(
            !home.contains("/console/distribution"),
            "{username}: {home}"
        );
        let refused = staff.get(PAGE).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{username}");
        assert!(
            refused.html.contains("没有执行此操作的权限"),
            "{}",
            refused.html
        );
        let csv = staff.get("/console/distribution/usage.csv").await;
        assert_eq!(csv.status, StatusCode::FORBIDDEN);
        let invite = staff
            .post("/console/distribution/members", &[("name", "某县图书馆")])
            .await;
        assert_eq!(invite.status, StatusCode::FORBIDDEN);
        let join = staff
            .post(
                "/console/distribution/hubs",
                &[("hub_url", "http://127.0.0.1:9"), ("code", "x.y")],
            )
            .await;
        assert_eq!(join.status, StatusCode::FORBIDDEN);
    }

    let admin = app.console("admin", ADMIN_PASSWORD).await;
    let origin = app.base.as_str();
    for (token, headers) in [
        ("", vec![("origin", origin)]),
        ("forged", vec![("origin", origin)]),
        (
            admin.csrf.as_str(),
            vec![("origin", "https://evil.example")],
        ),
        (admin.csrf.as_str(), vec![("sec-fetch-site", "cross-site")]),
    ] {
        let page = admin
            .post_raw(
                "/console/distribution/members",
                &[("csrf", token), ("name", "伪造的成员馆")],
                &headers,
            )
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{token:?} {headers:?}");
        let page = admin
            .post_raw(
                "/console/distribution/collections",
                &[("csrf", token), ("slug", "forged"), ("name", "伪造")],
                &headers,
            )
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{token:?} {headers:?}");
    }
    assert!(
        listed(&app, &world.admin, "/api/v1/admin/distribution/members")
            .await
            .is_empty()
    );
    assert!(
        listed(&app, &world.admin, "/api/v1/admin/distribution/collections")
            .await
            .is_empty()
    );
}

both_backends!(
    an_admin_distributes_a_collection_from_the_console,
    only_consortium_admins_see_distribution_and_forms_need_the_token,
);
