//! Bulk ingest, crash clean-up, and several replicas following one catalogue.

use std::sync::Arc;

use jieyue_tests::jieyue_server::cli::ingest::{find_epubs, ingest_all};
use jieyue_tests::jieyue_server::clock::SystemClock;
use jieyue_tests::jieyue_server::service::catalogue;
use jieyue_tests::jieyue_server::startup::build_context;
use jieyue_tests::{Backend, TestApp, both_backends, corpus, test_config};
use reqwest::StatusCode;

async fn bulk_ingest_continues_past_bad_files_and_reports_them(app: TestApp) {
    let ctx = build_context(&app.config, Arc::new(SystemClock))
        .await
        .expect("context");
    let dir = tempfile::tempdir().expect("tempdir");
    for book in [
        "zh/daxue.epub",
        "zh/zhongyong.epub",
        "epub3/hefty-water.epub",
    ] {
        std::fs::copy(
            corpus(book),
            dir.path().join(book.rsplit('/').next().expect("name")),
        )
        .expect("copy");
    }
    std::fs::create_dir(dir.path().join("nested")).expect("dir");
    std::fs::copy(
        corpus("zh/lunyu.epub"),
        dir.path().join("nested/LUNYU.EPUB"),
    )
    .expect("copy");
    std::fs::write(dir.path().join("broken.epub"), b"PK\x03\x04 truncated").expect("write");
    std::fs::write(dir.path().join("notes.txt"), b"not a book").expect("write");

    let files = find_epubs(&[dir.path().to_owned()]).expect("walk");
    assert_eq!(
        files.len(),
        5,
        "epubs found recursively, case-insensitively: {files:?}"
    );
    let summary = ingest_all(&ctx, files.clone(), true).await;
    assert_eq!((summary.created, summary.unchanged), (4, 0));
    assert_eq!(summary.failures.len(), 1);
    assert!(summary.failures[0].0.ends_with("broken.epub"));
    assert!(
        !summary.failures[0].1.is_empty(),
        "the failure has a reason"
    );

    // The server that shares this database sees them (through the change log).
    let mut total = 0;
    for _ in 0..50 {
        total = app.get("/api/v1/catalog", None).await.body["total"]
            .as_u64()
            .unwrap_or(0);
        if total == 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(total, 4);

    let again = ingest_all(&ctx, files, true).await;
    assert_eq!(
        (again.created, again.unchanged, again.failures.len()),
        (0, 4, 1)
    );
}

async fn objects_left_by_an_interrupted_ingest_are_removed_by_the_next_run(app: TestApp) {
    let ctx = build_context(&app.config, Arc::new(SystemClock))
        .await
        .expect("context");
    let admin = app.admin_token().await;
    let kept = app.upload_corpus(&admin, "zh/daxue.epub").await;
    // What a crash between storing objects and committing the row leaves behind.
    ctx.catalogue
        .blobs
        .put_bytes("packages/ghost/v1-0000.epub", vec![1, 2, 3])
        .await
        .expect("put");
    ctx.catalogue
        .blobs
        .put_bytes("covers/ghost/v1.jpg", vec![4, 5, 6])
        .await
        .expect("put");
    std::fs::create_dir_all(&ctx.catalogue.work_dir).expect("work dir");
    std::fs::write(ctx.catalogue.work_dir.join("ghost.tmp"), b"half a package").expect("write");

    // Young orphans may belong to an ingest still running elsewhere: kept.
    assert_eq!(
        catalogue::remove_orphans(&ctx, chrono::Duration::hours(1))
            .await
            .expect("sweep"),
        0
    );
    let removed = catalogue::remove_orphans(&ctx, chrono::Duration::zero())
        .await
        .expect("sweep");
    assert_eq!(removed, 3);
    assert!(
        ctx.catalogue
            .blobs
            .list("packages/ghost")
            .await
            .expect("list")
            .is_empty()
    );
    // The real title is untouched.
    let (status, _, _) = app
        .get_bytes(&format!("/api/v1/catalog/{kept}/package"), &[])
        .await;
    assert_eq!(status, StatusCode::OK);
}

both_backends!(
    bulk_ingest_continues_past_bad_files_and_reports_them,
    objects_left_by_an_interrupted_ingest_are_removed_by_the_next_run,
);

/// Two replicas on one PostgreSQL database, each with its own search index.
#[tokio::test]
async fn a_second_replica_finds_what_the_first_catalogued() {
    let first = TestApp::spawn(Backend::Postgres).await;
    let data = tempfile::tempdir().expect("tempdir");
    let mut config = test_config(Backend::Sqlite, data.path()).await;
    config.database_url = Some(first.config.effective_database_url());
    config.keys_dir = Some(first.config.effective_keys_dir());
    config.storage_url = Some(format!(
        "file://{}",
        first.config.data_dir.join("objects").display()
    ));
    let second = TestApp::spawn_with(config, data).await;

    let admin = first.admin_token().await;
    let id = first.upload_corpus(&admin, "zh/mengzi.epub").await;
    let mut found = false;
    for _ in 0..50 {
        let reply = second
            .get("/api/v1/catalog?q=%E5%AD%9F%E5%AD%90", None)
            .await;
        if reply.body["items"][0]["id"] == id.as_str() {
            found = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(found, "the second replica's index caught up");

    // A third replica's index, rebuilt from the database, has the title.
    let data = tempfile::tempdir().expect("tempdir");
    let mut third = second.config.clone();
    third.data_dir = data.path().to_owned();
    let ctx = build_context(&third, Arc::new(SystemClock))
        .await
        .expect("context");
    assert_eq!(catalogue::reindex(&ctx).await.expect("reindex"), 1);
    assert_eq!(ctx.catalogue.search.len(), 1);
}

/// Every corpus book ingests, with the right metadata and a package that decrypts back
/// to the original resources.
async fn the_whole_corpus_ingests_with_decryptable_packages(app: TestApp) {
    use std::io::{Cursor, Read};

    let ctx = build_context(&app.config, Arc::new(SystemClock))
        .await
        .expect("context");
    let files = find_epubs(&[corpus("")]).expect("corpus");
    assert!(files.len() >= 30);
    let summary = ingest_all(&ctx, files.clone(), true).await;
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
    assert_eq!(summary.created, files.len());

    let ring =
        jieyue_tests::jieyue_server::keys::load(&app.config.effective_keys_dir()).expect("keys");
    for file in &files {
        let source = std::fs::read(file).expect("read");
        let identifier = {
            let extracted =
                jieyue_tests::jieyue_server::service::ingest::metadata::extract_checked(file, "x")
                    .expect("metadata");
            extracted.metadata.identifier
        };
        let title = jieyue_tests::jieyue_server::store::titles::get_by_identifier(
            ctx.db.reader(),
            &identifier,
        )
        .await
        .expect("query")
        .unwrap_or_else(|| panic!("{} not catalogued", file.display()));
        assert!(!title.metadata.title.is_empty());
        let sealed =
            jieyue_protocol::SealedKey::from_text(&title.content_key_sealed).expect("sealed");
        let key = jieyue_protocol::ContentKey::from_slice(
            &ring
                .master
                .open(&sealed, title.id.0.as_bytes())
                .expect("opens"),
        )
        .expect("key");
        let (_, _, package) = app
            .get_bytes(&format!("/api/v1/catalog/{}/package", title.id), &[])
            .await;
        let mut reader = jieyue_protocol::package::PackageReader::open(Cursor::new(package), &key)
            .expect("package");
        let mut original = zip::ZipArchive::new(Cursor::new(&source)).expect("zip");
        for resource in reader.manifest().resources.clone() {
            let mut expected = Vec::new();
            original
                .by_name(&resource.path)
                .expect("entry")
                .read_to_end(&mut expected)
                .expect("read");
            let decrypted = reader.read(&resource.path).expect("decrypts");
            if !resource.deobfuscated {
                assert!(
                    decrypted == expected,
                    "{}: {} differs",
                    file.display(),
                    resource.path
                );
            }
        }
    }

    let by_name = |name: &str| {
        let path = format!(
            "/api/v1/catalog?q={}",
            name.bytes()
                .map(|b| format!("%{b:02X}"))
                .collect::<String>()
        );
        let app = &app;
        async move { app.get(&path, None).await.body["items"][0].clone() }
    };
    assert_eq!(
        by_name("Moby-Dick").await["authors"][0]["name"],
        "Herman Melville"
    );
    assert_eq!(by_name("论语").await["language"], "zh-Hans");
    let haruko = files
        .iter()
        .find(|f| f.ends_with("haruko-jpeg.epub"))
        .expect("haruko");
    let extracted =
        jieyue_tests::jieyue_server::service::ingest::metadata::extract_checked(haruko, "x")
            .expect("metadata");
    assert_eq!(
        extracted.metadata.layout,
        jieyue_tests::jieyue_server::domain::Layout::Fixed
    );
}

both_backends!(the_whole_corpus_ingests_with_decryptable_packages);

/// Loading books before the server's first start creates no account: the first admin
/// is made by `serve`, with `JIEYUE_BOOTSTRAP_ADMIN_PASSWORD` or a password it shows.
#[tokio::test]
async fn ingest_before_the_first_start_leaves_the_admin_to_the_server() {
    let data = tempfile::tempdir().expect("tempdir");
    let config = test_config(Backend::Sqlite, data.path()).await;
    let mut cli_config = config.clone();
    // The CLI would not know the bootstrap password (it is the server's to read).
    cli_config.bootstrap_admin_password = None;
    let ctx = build_context(&cli_config, Arc::new(SystemClock))
        .await
        .expect("context");
    let summary = ingest_all(&ctx, vec![corpus("zh/daxue.epub")], true).await;
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
    drop(ctx);

    let app = TestApp::spawn_with(config, data).await;
    // The password from the configuration works: ingest made no admin of its own.
    let admin = app.admin_token().await;
    let staff = app.get("/api/v1/admin/staff", Some(&admin)).await;
    assert_eq!(staff.body.as_array().map(Vec::len), Some(1), "{staff:?}");
}

/// Two different files that claim to be one book, in one run: both are refused, each
/// naming the other, nothing is stored, and a re-run does exactly the same.
async fn two_files_of_one_book_in_one_run_are_refused_naming_both(app: TestApp) {
    use std::io::Write;
    let ctx = build_context(&app.config, Arc::new(SystemClock))
        .await
        .expect("context");
    let dir = tempfile::tempdir().expect("tempdir");
    let original = std::fs::read(corpus("zh/daxue.epub")).expect("corpus");
    std::fs::write(dir.path().join("daxue.epub"), &original).expect("write");
    // The same book with one more file: same identifier, different content.
    let edited = {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&original)).expect("zip");
        let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for index in 0..archive.len() {
            out.raw_copy_file(archive.by_index_raw(index).expect("entry"))
                .expect("copy");
        }
        out.start_file("OEBPS/note.txt", zip::write::SimpleFileOptions::default())
            .expect("start");
        out.write_all(b"second printing").expect("write");
        out.finish().expect("finish").into_inner()
    };
    std::fs::write(dir.path().join("daxue-2nd.epub"), &edited).expect("write");
    std::fs::copy(corpus("zh/lunyu.epub"), dir.path().join("lunyu.epub")).expect("copy");
    let files = find_epubs(&[dir.path().to_owned()]).expect("walk");

    for run in 0..2 {
        let summary = ingest_all(&ctx, files.clone(), true).await;
        assert_eq!(
            summary.failures.len(),
            2,
            "run {run}: {:?}",
            summary.failures
        );
        for (_, reason) in &summary.failures {
            assert!(
                reason.contains("daxue.epub") && reason.contains("daxue-2nd.epub"),
                "{reason}"
            );
        }
        let expected = if run == 0 { (1, 0) } else { (0, 1) };
        assert_eq!((summary.created, summary.unchanged), expected, "run {run}");
        assert_eq!(summary.updated, 0, "run {run}: no new versions");
    }
    let found = app.get("/api/v1/catalog?q=%E5%A4%A7%E5%AD%A6", None).await;
    let titles: Vec<&str> = found.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|item| item["title"].as_str())
        .collect();
    assert!(
        !titles.contains(&"大学"),
        "neither file was catalogued: {titles:?}"
    );
}

both_backends!(two_files_of_one_book_in_one_run_are_refused_naming_both);

/// A server killed mid-upload leaves an unfinished object (the local store's `key#n`
/// staging file) and an upload scratch file: the next start sweeps them once they are
/// old enough, and leaves fresh ones (another replica may be writing them) alone.
#[tokio::test]
async fn the_server_sweeps_leftovers_of_a_crash_at_start() {
    let data = tempfile::tempdir().expect("tempdir");
    let config = test_config(Backend::Sqlite, data.path()).await;
    let long_ago =
        std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
    let place = |relative: &str, old: bool| {
        let path = data.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
        let file = std::fs::File::create(&path).expect("create");
        std::io::Write::write_all(&mut &file, &[7u8; 4096]).expect("write");
        if old {
            file.set_modified(long_ago).expect("mtime");
        }
        path
    };
    let staging = place("objects/packages/t1/v1-abc.epub#1", true);
    let scratch = place("work/upload-1234.epub", true);
    let fresh = place("objects/packages/t2/v1-def.epub#1", false);
    let app = TestApp::spawn_with(config, data).await;
    let mut waited = 0;
    while (staging.exists() || scratch.exists()) && waited < 100 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    }
    assert!(!staging.exists(), "an old staging file is swept");
    assert!(!scratch.exists(), "an old scratch file is swept");
    assert!(fresh.exists(), "a fresh staging file is left alone");
    assert_eq!(app.get("/health", None).await.status, StatusCode::OK);
}
