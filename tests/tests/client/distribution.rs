//! Hub → county: real servers in one test. The hub builds a collection of corpus books
//! and exports it to a directory; the county imports it and its reader borrows and reads
//! a hub title with the client core; corrupt, forged, expired, older and foreign
//! bundles are refused; a pull fetches only new objects; usage flows back without
//! patrons.

use std::collections::HashSet;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use jieyue_protocol::distribution::{Manifest, object_path};
use jieyue_protocol::{KeySet, SigningKey};
use jieyue_tests::jieyue_server::service::Ctx;
use jieyue_tests::jieyue_server::service::distribution::bundle::{
    self, BundleError, ExportOptions, InstallOptions,
};
use jieyue_tests::jieyue_server::service::distribution::usage;
use jieyue_tests::jieyue_server::startup::build_context;
use jieyue_tests::{Backend, TestApp, TwoLibraries, corpus};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::phone;

const SLUG: &str = "jiceng-2026";
const BOOKS: [&str; 3] = ["zh/lunyu.epub", "zh/daxue.epub", "zh/zhongyong.epub"];

/// The command line's view of a running server: its own context on the same data.
async fn ctx_of(app: &TestApp) -> Ctx {
    build_context(&app.config, Arc::new(app.clock.clone()))
        .await
        .expect("context")
}

/// A hub with the three books in a published collection (2 copies per member).
struct Hub {
    app: TestApp,
    admin: String,
    titles: Vec<String>,
}

async fn hub(backend: Backend) -> Hub {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let mut titles = Vec::new();
    for book in BOOKS {
        titles.push(app.upload_corpus(&admin, book).await);
    }
    let created = app
        .post(
            "/api/v1/admin/distribution/collections",
            Some(&admin),
            json!({ "slug": SLUG, "name": "基层图书馆数字资源提升 2026", "copies_per_member": 2 }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    set_titles(&app, &admin, &titles).await;
    publish(&app, &admin, 1).await;
    Hub { app, admin, titles }
}

async fn set_titles(app: &TestApp, admin: &str, titles: &[String]) {
    let put = app
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/admin/distribution/collections/{SLUG}/titles"),
            Some(admin),
            Some(json!({ "title_ids": titles })),
        )
        .await;
    assert_eq!(put.status, StatusCode::NO_CONTENT, "{put:?}");
}

async fn publish(app: &TestApp, admin: &str, expected: u64) {
    let published = app
        .post(
            &format!("/api/v1/admin/distribution/collections/{SLUG}/versions"),
            Some(admin),
            json!({}),
        )
        .await;
    assert_eq!(published.status, StatusCode::CREATED, "{published:?}");
    assert_eq!(published.body["version"], expected);
}

/// A member server enrolled with the hub; returns its member id.
async fn enrol(hub: &Hub, member: &TestApp, name: &str, region: &str) -> String {
    let invited = hub
        .app
        .post(
            "/api/v1/admin/distribution/members",
            Some(&hub.admin),
            json!({ "name": name, "region": region }),
        )
        .await;
    assert_eq!(invited.status, StatusCode::CREATED, "{invited:?}");
    let code = invited.body["code"].as_str().expect("code").to_owned();
    let admin = member.admin_token().await;
    let joined = member
        .post(
            "/api/v1/admin/distribution/hubs",
            Some(&admin),
            json!({ "hub_url": hub.app.base, "code": code }),
        )
        .await;
    assert_eq!(joined.status, StatusCode::CREATED, "{joined:?}");
    // The code was for one use.
    let again = member
        .post(
            "/api/v1/admin/distribution/hubs",
            Some(&admin),
            json!({ "hub_url": hub.app.base, "code": code }),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{again:?}");
    invited.body["member"]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

async fn export(hub: &Hub, dir: &Path, members: Vec<uuid::Uuid>) -> bundle::ExportSummary {
    let ctx = ctx_of(&hub.app).await;
    let options = ExportOptions {
        members,
        valid_days: 30,
        limit_rate: None,
    };
    bundle::export(&ctx, SLUG, dir, &options, &|_| {})
        .await
        .expect("export")
}

async fn import(member: &TestApp, dir: &Path) -> Result<bundle::InstallSummary, BundleError> {
    let ctx = ctx_of(member).await;
    bundle::import(&ctx, dir, InstallOptions::default(), &|_| {}).await
}

fn files_under(dir: &Path) -> usize {
    walk(dir).len()
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

fn manifest_of(dir: &Path, hub_keys: &KeySet) -> Manifest {
    let token = std::fs::read_to_string(dir.join("manifest.jws")).expect("manifest");
    Manifest::verify(token.trim(), hub_keys).expect("manifest verifies")
}

async fn catalogue_ids(app: &TestApp) -> HashSet<String> {
    let admin = app.admin_token().await;
    let mut ids = HashSet::new();
    for t in 0..50 {
        let page = app.get("/api/v1/catalog?limit=50", Some(&admin)).await;
        ids = page.body["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if !ids.is_empty() || t == 49 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    ids
}

fn chapter_of(book: &str) -> (String, Vec<u8>) {
    let mut zip =
        zip::ZipArchive::new(std::fs::File::open(corpus(book)).expect("book")).expect("zip");
    let mut best = (String::new(), Vec::new());
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).expect("entry");
        let name = entry.name().expect("utf-8 name").into_owned();
        if name.ends_with(".xhtml") || name.ends_with(".html") {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).expect("read");
            if bytes.len() > best.1.len() {
                best = (name, bytes);
            }
        }
    }
    best
}

async fn a_county_lends_what_the_hub_sent_on_a_disk(backend: Backend) {
    let hub = hub(backend).await;
    let county = TestApp::spawn(backend).await;
    let member_id = enrol(&hub, &county, "淳安县图书馆", "浙江省").await;
    let members = hub
        .app
        .get("/api/v1/admin/distribution/members", Some(&hub.admin))
        .await;
    assert_eq!(members.body[0]["status"], "active", "{members:?}");
    let hubs = county
        .get(
            "/api/v1/admin/distribution/hubs",
            Some(&county.admin_token().await),
        )
        .await;
    assert_eq!(hubs.body.as_array().map(Vec::len), Some(1), "{hubs:?}");

    // Export to a "disk"; a second run finds everything written and writes nothing.
    let disk = tempfile::tempdir().expect("disk");
    let first = export(&hub, disk.path(), Vec::new()).await;
    assert!(first.written >= 6, "{first:?}"); // 3 packages, 3 records, covers
    assert_eq!(first.present, 0);
    assert_eq!(first.members, vec!["淳安县图书馆".to_owned()]);
    let again = export(&hub, disk.path(), Vec::new()).await;
    assert_eq!((again.written, again.present), (0, first.written));
    // Packages travel exactly as the hub encrypted them.
    let hub_keys: KeySet =
        serde_json::from_value(hub.app.get("/.well-known/jieyue/keys", None).await.body)
            .expect("keys");
    let manifest = manifest_of(disk.path(), &hub_keys);
    for id in &hub.titles {
        let details = hub.app.get(&format!("/api/v1/catalog/{id}"), None).await;
        let sha = details.body["package_sha256"].as_str().expect("sha");
        let bytes = std::fs::read(disk.path().join(object_path(sha))).expect("package on disk");
        let (_, _, original) = hub
            .app
            .get_bytes(&format!("/api/v1/catalog/{id}/package"), &[])
            .await;
        assert_eq!(bytes, original, "the package on the disk is the hub's");
        assert!(manifest.titles.iter().any(|t| t.package == sha));
    }

    // Nothing in the county's catalogue until the import publishes it all.
    assert!(catalogue_ids(&county).await.is_empty());
    let summary = import(&county, disk.path()).await.expect("import");
    assert_eq!(summary.copied, manifest.objects.len(), "{summary:?}");
    assert_eq!((summary.already, summary.titles), (0, 3), "{summary:?}");
    let expected: HashSet<String> = hub.titles.iter().cloned().collect();
    assert_eq!(catalogue_ids(&county).await, expected);
    // Importing again changes nothing and copies nothing.
    let repeat = import(&county, disk.path()).await.expect("import again");
    assert!(repeat.up_to_date && repeat.copied == 0, "{repeat:?}");
    let installed = county
        .get(
            "/api/v1/admin/distribution/installed",
            Some(&county.admin_token().await),
        )
        .await;
    assert_eq!(installed.body[0]["slug"], SLUG, "{installed:?}");
    assert_eq!(installed.body[0]["copies_per_member"], 2);

    // A county reader borrows a hub title and reads it with the client core.
    let world = TwoLibraries::create(&county).await;
    let lunyu = hub.titles[0].clone();
    let reader = phone(&county, "city", "C1").await;
    let details = reader.client.title(&lunyu).await.expect("details");
    assert_eq!(
        details.availability.as_ref().map(|a| a.copies_available),
        Some(2),
        "the collection's two copies per member"
    );
    reader.client.borrow(&lunyu, None).await.expect("borrow");
    reader
        .client
        .download(&lunyu, Arc::new(crate::support::Progress::default()))
        .await
        .expect("download");
    let book = reader.client.open_book(&lunyu).expect("open");
    let (path, original) = chapter_of(BOOKS[0]);
    assert_eq!(book.resource(&path).expect("chapter").data, original);
    // Search at the county finds the hub's title by its name.
    let name = details.summary.title.clone();
    let mut found = false;
    for _ in 0..50 {
        let page = county
            .client
            .get(format!("{}/api/v1/catalog", county.base))
            .query(&[("q", name.as_str())])
            .send()
            .await
            .expect("search");
        let body: Value = page.json().await.expect("json");
        if body["items"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|i| i["id"] == lunyu.as_str())
        {
            found = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(found, "search finds {name}");

    // Usage: the next day the county rolls yesterday up and sends it; the hub reports
    // it by collection, member, province and month. No patron travels.
    hub.app.clock.advance(chrono::Duration::days(1));
    county.clock.advance(chrono::Duration::days(1));
    let hub_admin = hub.app.admin_token().await; // a new day, a new login
    let county_ctx = ctx_of(&county).await;
    let files = tempfile::tempdir().expect("dir");
    let written = usage::export(&county_ctx, files.path())
        .await
        .expect("usage file");
    assert_eq!(written.len(), 1);
    let text = std::fs::read_to_string(&written[0]).expect("usage");
    let payload: Value = serde_json::from_slice(
        &jieyue_protocol::encoding::unb64(text.split('.').nth(1).expect("payload")).expect("b64"),
    )
    .expect("json");
    for entry in payload["entries"].as_array().expect("entries") {
        let keys: HashSet<&str> = entry
            .as_object()
            .expect("entry")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            HashSet::from(["seq", "title_id", "day", "loans", "renewals", "returns"])
        );
    }
    let decoded = payload.to_string();
    for personal in [world.city_patron.as_str(), "C1", "王小明"] {
        assert!(
            !decoded.contains(personal),
            "{personal} in the usage report"
        );
    }
    let sent = usage::send(&county_ctx).await.expect("send");
    assert_eq!(sent.len(), 1);
    assert!(sent[0].1 >= 1, "{sent:?}");
    let report = hub
        .app
        .get("/api/v1/admin/distribution/usage", Some(&hub_admin))
        .await;
    assert_eq!(report.status, StatusCode::OK, "{report:?}");
    let rows = report.body.as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{report:?}");
    assert_eq!(rows[0]["collection"], SLUG);
    assert_eq!(rows[0]["member_id"], member_id);
    assert_eq!(rows[0]["region"], "浙江省");
    assert_eq!(rows[0]["month"], "2026-09");
    assert_eq!(rows[0]["loans"], 1);
    // Sending again adds nothing (the hub acknowledged it all).
    usage::send(&county_ctx).await.expect("send again");
    let again = hub
        .app
        .get("/api/v1/admin/distribution/usage", Some(&hub_admin))
        .await;
    assert_eq!(again.body, report.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_county_lends_what_the_hub_sent_on_a_disk_sqlite() {
    a_county_lends_what_the_hub_sent_on_a_disk(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_county_lends_what_the_hub_sent_on_a_disk_postgres() {
    a_county_lends_what_the_hub_sent_on_a_disk(Backend::Postgres).await;
}

/// How many of the hub's titles `app`'s catalogue shows (straight from its database).
async fn published_titles(app: &TestApp, hub: &Hub) -> usize {
    let mut n = 0;
    for id in &hub.titles {
        if app.get(&format!("/api/v1/catalog/{id}"), None).await.status == StatusCode::OK {
            n += 1;
        }
    }
    n
}

async fn bad_bundles_are_refused_and_publish_nothing(backend: Backend) {
    let hub = hub(backend).await;
    let county = TestApp::spawn(backend).await;
    let other = TestApp::spawn(Backend::Sqlite).await;
    let county_id = enrol(&hub, &county, "淳安县图书馆", "浙江省").await;
    enrol(&hub, &other, "建德市图书馆", "浙江省").await;
    let county_uuid = uuid::Uuid::parse_str(&county_id).expect("uuid");
    let disk = tempfile::tempdir().expect("disk");
    let summary = export(&hub, disk.path(), vec![county_uuid]).await;
    assert_eq!(summary.members, vec!["淳安县图书馆".to_owned()]);
    let hub_keys: KeySet =
        serde_json::from_value(hub.app.get("/.well-known/jieyue/keys", None).await.body)
            .expect("keys");
    let manifest = manifest_of(disk.path(), &hub_keys);

    // Made for county A only: county B gets nothing, copies nothing.
    let before = files_under(&other.config.data_dir);
    match import(&other, disk.path()).await {
        Err(BundleError::NoEnvelope { made_for, .. }) => assert!(made_for.contains(&county_id)),
        other => panic!("expected no envelope, got {other:?}"),
    }
    // A's envelope under B's name opens nothing either.
    let other_ctx = ctx_of(&other).await;
    let b_id = {
        let hubs = other
            .get(
                "/api/v1/admin/distribution/hubs",
                Some(&other.admin_token().await),
            )
            .await;
        assert_eq!(hubs.body.as_array().map(Vec::len), Some(1));
        // The member id at the hub is what names its envelope; ask the hub.
        let members = hub
            .app
            .get("/api/v1/admin/distribution/members", Some(&hub.admin))
            .await;
        members
            .body
            .as_array()
            .expect("members")
            .iter()
            .find(|m| m["name"] == "建德市图书馆")
            .and_then(|m| m["id"].as_str())
            .expect("B's id")
            .to_owned()
    };
    let stolen = tempfile::tempdir().expect("copy");
    copy_dir(disk.path(), stolen.path());
    std::fs::copy(
        disk.path().join(format!("envelopes/{county_id}.jws")),
        stolen.path().join(format!("envelopes/{b_id}.jws")),
    )
    .expect("copy envelope");
    match bundle::import(
        &other_ctx,
        stolen.path(),
        InstallOptions::default(),
        &|_| {},
    )
    .await
    {
        Err(BundleError::Envelope(_)) => {}
        other => panic!("expected the envelope refused, got {other:?}"),
    }
    assert_eq!(published_titles(&other, &hub).await, 0);
    assert_eq!(
        files_under(&other.config.data_dir.join("objects")),
        0,
        "nothing copied at B"
    );
    assert!(files_under(&other.config.data_dir) <= before + 2);

    // One flipped byte in the first package: refused, named, nothing published.
    let victim = &manifest.titles[0].package;
    let path = disk.path().join(object_path(victim));
    let mut bytes = std::fs::read(&path).expect("object");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&path, &bytes).expect("write");
    match import(&county, disk.path()).await {
        Err(err @ BundleError::Corrupt { .. }) => {
            let message = err.to_string();
            assert!(message.contains(victim.as_str()), "{message}");
            assert!(message.contains("package of 《"), "{message}");
        }
        other => panic!("expected corrupt, got {other:?}"),
    }
    assert_eq!(
        published_titles(&county, &hub).await,
        0,
        "nothing half-imported shows"
    );
    bytes[middle] ^= 0x01;
    std::fs::write(&path, &bytes).expect("repair");

    // An object that is not a regular file (a link to an endless device) is refused,
    // not read for ever.
    let linked = tempfile::tempdir().expect("linked");
    copy_dir(disk.path(), linked.path());
    let target = linked.path().join(object_path(victim));
    std::fs::remove_file(&target).expect("remove");
    std::os::unix::fs::symlink("/dev/zero", &target).expect("symlink");
    match import(&county, linked.path()).await {
        Err(err @ BundleError::Corrupt { .. }) => {
            assert!(err.to_string().contains("not a regular file"), "{err}");
        }
        other => panic!("expected a refused object, got {other:?}"),
    }

    // A manifest signed by another key.
    let forged_dir = tempfile::tempdir().expect("forged");
    copy_dir(disk.path(), forged_dir.path());
    let rogue = SigningKey::generate().expect("key");
    let forged = manifest.sign(&rogue).expect("sign");
    std::fs::write(forged_dir.path().join("manifest.jws"), forged).expect("write");
    assert!(matches!(
        import(&county, forged_dir.path()).await,
        Err(BundleError::UnknownHub { .. })
    ));

    // Expired: the county's clock is past the bundle's 30 days.
    county.clock.advance(chrono::Duration::days(31));
    assert!(matches!(
        import(&county, disk.path()).await,
        Err(BundleError::Manifest(
            jieyue_protocol::distribution::DistributionError::Expired(_)
        ))
    ));
    county.clock.advance(chrono::Duration::days(-31));
    assert_eq!(published_titles(&county, &hub).await, 0);

    // The repaired bundle installs (the objects verified before are not copied again);
    // then version 2 installs, and version 1 is refused as a rollback.
    let first = import(&county, disk.path()).await.expect("import v1");
    assert_eq!(first.copied + first.already, manifest.objects.len());
    assert!(
        first.already >= 1,
        "objects verified by the refused run are kept: {first:?}"
    );
    assert_eq!(published_titles(&county, &hub).await, 3);
    publish(&hub.app, &hub.admin, 2).await;
    let v2 = tempfile::tempdir().expect("v2");
    export(&hub, v2.path(), vec![county_uuid]).await;
    // An object the journal lists but the store lost (a replaced disk) is copied again.
    let lost = &manifest.titles[1].package;
    std::fs::remove_file(
        county
            .config
            .data_dir
            .join("objects")
            .join(object_path(lost)),
    )
    .expect("lose an object");
    let second = import(&county, v2.path()).await.expect("import v2");
    assert_eq!((second.version, second.copied), (2, 1), "{second:?}");
    match import(&county, disk.path()).await {
        Err(BundleError::Manifest(
            jieyue_protocol::distribution::DistributionError::Rollback {
                installed: 2,
                offered: 1,
            },
        )) => {}
        other => panic!("expected a rollback refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bundles_are_refused_and_publish_nothing_sqlite() {
    bad_bundles_are_refused_and_publish_nothing(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bundles_are_refused_and_publish_nothing_postgres() {
    bad_bundles_are_refused_and_publish_nothing(Backend::Postgres).await;
}

fn copy_dir(from: &Path, to: &Path) {
    for file in walk(from) {
        let relative = file.strip_prefix(from).expect("inside");
        let target = to.join(relative);
        std::fs::create_dir_all(target.parent().expect("parent")).expect("dir");
        std::fs::copy(&file, &target).expect("copy");
    }
}

/// A disk seeds version 1; a network pull of version 2 transfers only what is new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_after_a_disk_fetches_only_the_new_objects() {
    let hub = hub(Backend::Sqlite).await;
    let county = TestApp::spawn(Backend::Sqlite).await;
    let county_id = enrol(&hub, &county, "淳安县图书馆", "浙江省").await;
    let disk = tempfile::tempdir().expect("disk");
    export(&hub, disk.path(), Vec::new()).await;
    import(&county, disk.path()).await.expect("seed from disk");

    // Version 2 adds one book.
    let mengzi = hub.app.upload_corpus(&hub.admin, "zh/mengzi.epub").await;
    let mut titles = hub.titles.clone();
    titles.push(mengzi.clone());
    set_titles(&hub.app, &hub.admin, &titles).await;
    publish(&hub.app, &hub.admin, 2).await;

    // An earlier pull was cut off half-way through the new package: the partial file
    // is resumed with a Range request, not fetched again.
    let package_sha = hub
        .app
        .get(&format!("/api/v1/catalog/{mengzi}"), None)
        .await
        .body["package_sha256"]
        .as_str()
        .expect("sha")
        .to_owned();
    let (_, _, package) = hub
        .app
        .get_bytes(&format!("/api/v1/catalog/{mengzi}/package"), &[])
        .await;
    let half = package.len() / 2;
    let partial = county.config.data_dir.join("distribution/partial");
    std::fs::create_dir_all(&partial).expect("partial dir");
    std::fs::write(partial.join(&package_sha), &package[..half]).expect("partial file");

    let ctx = ctx_of(&county).await;
    let report = bundle::pull(&ctx, InstallOptions::default(), &|_| {})
        .await
        .expect("pull");
    assert!(report.failed.is_empty(), "{report:?}");
    assert_eq!(report.installed.len(), 1, "{report:?}");
    let pulled = &report.installed[0];
    assert_eq!(pulled.version, 2);
    // Mengzi's package, record, cover and thumbnail: nothing of the first three books.
    let hub_ctx = ctx_of(&hub.app).await;
    let (_, v2) = jieyue_tests::jieyue_server::service::distribution::signed_manifest(
        &hub_ctx,
        SLUG,
        Some(2),
        chrono::Duration::days(1),
    )
    .await
    .expect("v2");
    let new_title = v2
        .titles
        .iter()
        .find(|t| t.id.to_string() == mengzi)
        .expect("mengzi in v2");
    let new_objects: HashSet<&str> = [Some(&new_title.record), Some(&new_title.package)]
        .into_iter()
        .chain([new_title.cover.as_ref(), new_title.thumbnail.as_ref()])
        .flatten()
        .map(String::as_str)
        .collect();
    assert_eq!(pulled.copied, new_objects.len(), "{pulled:?}");
    let new_bytes: u64 = v2
        .objects
        .iter()
        .filter(|o| new_objects.contains(o.sha256.as_str()))
        .map(|o| o.size)
        .sum();
    assert_eq!(
        pulled.bytes,
        new_bytes - half as u64,
        "only the new objects crossed the network, the partial one from where it stopped"
    );
    assert!(
        !partial.join(&package_sha).exists(),
        "the finished download is removed"
    );
    let fetched = county.get(&format!("/api/v1/catalog/{mengzi}"), None).await;
    assert_eq!(
        fetched.status,
        StatusCode::OK,
        "the new title is in the catalogue"
    );
    // Nothing new: the next pull does nothing.
    let idle = bundle::pull(&ctx, InstallOptions::default(), &|_| {})
        .await
        .expect("pull");
    assert!(
        idle.installed.is_empty() && idle.failed.is_empty(),
        "{idle:?}"
    );

    // A suspended member is refused by the hub's peer API.
    let suspended = hub
        .app
        .post(
            &format!("/api/v1/admin/distribution/peers/{county_id}/suspend"),
            Some(&hub.admin),
            json!({}),
        )
        .await;
    assert_eq!(suspended.status, StatusCode::OK, "{suspended:?}");
    let refused = bundle::pull(&ctx, InstallOptions::default(), &|_| {})
        .await
        .expect("the pull runs");
    assert_eq!(refused.failed.len(), 1, "{refused:?}");
    assert!(
        refused.failed[0].1.to_string().contains("refused"),
        "{refused:?}"
    );
    // And the peer API wants a member's signature at all.
    let anonymous = hub.app.get("/api/v1/hub/collections", None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

/// An export to a disk without room for the bundle stops before it writes an object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_to_a_disk_without_room_writes_nothing() {
    let disk = std::env::var("JIEYUE_TEST_SMALL_DISK").unwrap_or_else(|_| {
        panic!(
            "JIEYUE_TEST_SMALL_DISK is not set. Run the suite with scripts/test, which \
             mounts a small disk (scripts/small-disk.sh)."
        )
    });
    let hub = hub(Backend::Sqlite).await;
    let ctx = ctx_of(&hub.app).await;
    let (_, manifest) = jieyue_tests::jieyue_server::service::distribution::signed_manifest(
        &ctx,
        SLUG,
        None,
        chrono::Duration::days(1),
    )
    .await
    .expect("manifest");
    let dir = Path::new(&disk).join(format!("bundle-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    // Leave less room than the bundle needs (other tests may fill the disk further).
    let filler = dir.join("filler");
    let free = fs_free(&dir);
    if free > manifest.total_size() / 2 {
        let _ = std::fs::write(
            &filler,
            vec![0u8; (free - manifest.total_size() / 2) as usize],
        );
    }
    let options = ExportOptions {
        members: Vec::new(),
        valid_days: 30,
        limit_rate: None,
    };
    let outcome = bundle::export(&ctx, SLUG, &dir, &options, &|_| {}).await;
    let written = files_under(&dir.join("objects"));
    let _ = std::fs::remove_dir_all(&dir);
    match outcome {
        Err(BundleError::NoSpace { needed, .. }) => assert_eq!(needed, manifest.total_size()),
        other => panic!("expected no space, got {other:?}"),
    }
    assert_eq!(written, 0, "nothing was written");
}

fn fs_free(path: &Path) -> u64 {
    let output = std::process::Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(path)
        .output()
        .expect("df");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .expect("free bytes")
}

/// Restarts a test server on the same data and the same address (peers keep its URL).
async fn restart(app: TestApp) -> TestApp {
    let port: u16 = app
        .base
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    let (mut config, data) = app.stop();
    config.bind = format!("127.0.0.1:{port}").parse().expect("address");
    TestApp::spawn_with(config, data).await
}

fn rotate_keys(app: &TestApp) {
    jieyue_tests::jieyue_server::keys::rotate_issuer(
        &app.config.effective_keys_dir(),
        chrono::Utc::now(),
    )
    .expect("rotate");
}

/// A hub and a member each rotate their issuer key (`jieyue keys rotate`): the other
/// side adopts the new key because a key it pinned vouches for it, by network and from
/// a disk; a stranger's key is still refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_issuer_keys_does_not_cut_hub_and_members_apart() {
    let Hub { app, titles, .. } = hub(Backend::Sqlite).await;
    let county = TestApp::spawn(Backend::Sqlite).await;
    let other = TestApp::spawn(Backend::Sqlite).await;
    let hub = Hub {
        admin: app.admin_token().await,
        app,
        titles,
    };
    enrol(&hub, &county, "淳安县图书馆", "浙江省").await;
    enrol(&hub, &other, "建德市图书馆", "浙江省").await;

    // The hub rotates and restarts: it now signs with a key no member pinned.
    rotate_keys(&hub.app);
    let app = restart(hub.app).await;
    let hub = Hub {
        admin: app.admin_token().await,
        app,
        titles: hub.titles,
    };
    // By network: the county fetches the hub's endorsements and adopts the new key.
    let ctx = ctx_of(&county).await;
    let report = bundle::pull(&ctx, InstallOptions::default(), &|_| {})
        .await
        .expect("pull");
    assert!(report.failed.is_empty(), "{report:?}");
    assert_eq!(report.installed.len(), 1, "{report:?}");
    // From a disk: the bundle carries them too.
    let disk = tempfile::tempdir().expect("disk");
    export(&hub, disk.path(), Vec::new()).await;
    let installed = import(&other, disk.path())
        .await
        .expect("import after rotation");
    assert_eq!(installed.titles, 3);

    // The member rotates: the hub adopts its new key from the endorsements its calls carry.
    rotate_keys(&county);
    let county = restart(county).await;
    publish(&hub.app, &hub.admin, 2).await;
    let ctx = ctx_of(&county).await;
    let report = bundle::pull(&ctx, InstallOptions::default(), &|_| {})
        .await
        .expect("pull");
    assert!(report.failed.is_empty(), "{report:?}");
    assert_eq!(report.installed.first().map(|s| s.version), Some(2));

    // A manifest signed by a key nobody vouches for is still refused.
    let rogue = SigningKey::generate().expect("key");
    let hub_keys: KeySet =
        serde_json::from_value(hub.app.get("/.well-known/jieyue/keys", None).await.body)
            .expect("keys");
    let manifest = manifest_of(disk.path(), &hub_keys);
    std::fs::write(
        disk.path().join("manifest.jws"),
        manifest.sign(&rogue).expect("sign"),
    )
    .expect("write");
    assert!(matches!(
        import(&other, disk.path()).await,
        Err(BundleError::UnknownHub { .. })
    ));
}

/// "All titles" means all titles readers see: a title hidden at the hub stays out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_catalogue_leaves_hidden_titles_out() {
    use jieyue_tests::jieyue_server::service::distribution::{By, every_title};
    let hub = hub(Backend::Sqlite).await;
    let hidden = &hub.titles[1];
    let patched = hub
        .app
        .patch(
            &format!("/api/v1/admin/titles/{hidden}"),
            Some(&hub.admin),
            json!({ "suppressed": true }),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{patched:?}");
    let ctx = ctx_of(&hub.app).await;
    let all: HashSet<String> = every_title(&ctx, By::Operator)
        .await
        .expect("titles")
        .into_iter()
        .map(|t| t.0.to_string())
        .collect();
    let expected: HashSet<String> = hub
        .titles
        .iter()
        .filter(|t| *t != hidden)
        .cloned()
        .collect();
    assert_eq!(all, expected);
}
