//! The `s3` object store against a real S3-compatible server (moto's server mode,
//! started by `scripts/s3.sh`, which also exports the `AWS_*` variables the server
//! reads, exactly as a deployment would set them). Each test stores under a fresh
//! prefix of a shared bucket, so runs never see each other's objects.

use jieyue_server::blobs::Blobs;
use jieyue_tests::{Backend, TestApp, corpus, test_config};
use reqwest::StatusCode;

/// `s3://bucket/<fresh prefix>`; panics with how to run the suite when no S3 server
/// was configured.
fn fresh_s3_url(bucket: &str) -> String {
    if std::env::var_os("AWS_ENDPOINT").is_none() {
        panic!(
            "AWS_ENDPOINT is not set. Run the suite with scripts/test, which starts an S3 \
             server, or `eval \"$(scripts/s3.sh)\"` first."
        );
    }
    format!("s3://{bucket}/run-{}", uuid::Uuid::new_v4().simple())
}

async fn app_on(backend: Backend, storage_url: &str) -> TestApp {
    let data = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(backend, data.path()).await;
    config.storage_url = Some(storage_url.to_owned());
    TestApp::spawn_with(config, data).await
}

/// Object keys under `url`, as the server sees them.
async fn keys(url: &str) -> Vec<String> {
    let blobs = Blobs::from_url(url).expect("store");
    let mut keys: Vec<String> = blobs
        .list("")
        .await
        .expect("list")
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_stores_in_the_bucket_and_downloads_honour_range_and_etag() {
    let url = fresh_s3_url("jieyue-test");
    let app = app_on(Backend::Sqlite, &url).await;
    let admin = app.admin_token().await;
    let id = app.upload_corpus(&admin, "epub3/moby-dick.epub").await;

    // The package, cover and thumbnail are objects under our prefix, and only there.
    let stored = keys(&url).await;
    assert!(
        stored.iter().any(|k| k.starts_with("packages/")),
        "{stored:?}"
    );
    assert!(
        stored.iter().any(|k| k.starts_with("covers/")),
        "{stored:?}"
    );
    let bucket_root = keys("s3://jieyue-test").await;
    let prefix = url.trim_start_matches("s3://jieyue-test/");
    assert!(
        stored
            .iter()
            .all(|k| bucket_root.contains(&format!("{prefix}/{k}"))),
        "objects must live under the configured prefix"
    );

    let path = format!("/api/v1/catalog/{id}/package");
    let (status, headers, full) = app.get_bytes(&path, &[]).await;
    assert_eq!(status, StatusCode::OK);
    let digest = jieyue_protocol::encoding::hex(ring::digest::digest(&ring::digest::SHA256, &full));
    assert_eq!(headers["etag"], format!("\"{digest}\"").as_str());
    let details = app.get(&format!("/api/v1/catalog/{id}"), None).await;
    assert_eq!(details.body["package_sha256"], digest.as_str());

    let (status, headers, part) = app
        .get_bytes(&path, &[("range", "bytes=70000-199999")])
        .await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part, full[70_000..200_000]);
    assert_eq!(
        headers["content-range"],
        format!("bytes 70000-199999/{}", full.len()).as_str()
    );
    let (status, _, tail) = app.get_bytes(&path, &[("range", "bytes=-1000")]).await;
    assert_eq!(
        (status, tail.as_slice()),
        (StatusCode::PARTIAL_CONTENT, &full[full.len() - 1000..])
    );
    let etag = format!("\"{digest}\"");
    let (status, _, body) = app.get_bytes(&path, &[("if-none-match", &etag)]).await;
    assert_eq!((status, body.len()), (StatusCode::NOT_MODIFIED, 0));

    let cover = details.body["links"]["cover"].as_str().expect("cover link");
    let (status, _, bytes) = app.get_bytes(cover, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!bytes.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_replica_sharing_the_database_and_bucket_serves_the_same_package() {
    let url = fresh_s3_url("jieyue-test");
    let first = app_on(Backend::Postgres, &url).await;
    let admin = first.admin_token().await;
    let id = first.upload_corpus(&admin, "zh/lunyu.epub").await;
    let (_, _, from_first) = first
        .get_bytes(&format!("/api/v1/catalog/{id}/package"), &[])
        .await;

    // Another server, its own data directory, the same database and bucket.
    let data = tempfile::tempdir().expect("temp dir");
    let mut config = first.config.clone();
    config.data_dir = data.path().to_path_buf();
    let second = TestApp::spawn_with(config, data).await;
    let (status, headers, from_second) = second
        .get_bytes(&format!("/api/v1/catalog/{id}/package"), &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(from_second, from_first);
    assert_eq!(
        headers["content-length"],
        from_first.len().to_string().as_str()
    );

    // Re-uploading the same book on the second replica is recognised, not stored again.
    let bytes = std::fs::read(corpus("zh/lunyu.epub")).expect("corpus");
    let before = keys(&url).await;
    let reply = second.upload_bytes(&admin, "lunyu.epub", bytes).await;
    assert_eq!(reply.body["status"], "unchanged", "{reply:?}");
    assert_eq!(keys(&url).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_object_is_a_clear_unavailable_answer_and_the_server_keeps_serving() {
    let url = fresh_s3_url("jieyue-test");
    let app = app_on(Backend::Sqlite, &url).await;
    let admin = app.admin_token().await;
    let gone = app.upload_corpus(&admin, "zh/daxue.epub").await;
    let kept = app.upload_corpus(&admin, "zh/zhongyong.epub").await;
    let gone_sha = app.get(&format!("/api/v1/catalog/{gone}"), None).await.body["package_sha256"]
        .as_str()
        .expect("sha")
        .to_owned();

    // Someone deletes one package from the bucket behind the server's back.
    let blobs = Blobs::from_url(&url).expect("store");
    let package_keys: Vec<String> = keys(&url)
        .await
        .into_iter()
        .filter(|k| k.starts_with("packages/") && k.contains(&gone))
        .collect();
    assert_eq!(package_keys.len(), 1, "one package object for {gone}");
    blobs.delete(&package_keys[0]).await.expect("delete");

    let reply = app
        .get(&format!("/api/v1/catalog/{gone}/package"), None)
        .await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{reply:?}");
    assert_eq!(reply.problem(), "unavailable");
    assert!(
        !reply.body.to_string().contains(&gone_sha),
        "the answer names no storage detail"
    );
    let (status, _, _) = app
        .get_bytes(&format!("/api/v1/catalog/{kept}/package"), &[])
        .await;
    assert_eq!(status, StatusCode::OK, "other packages are still served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_that_refuses_writes_fails_the_upload_clearly_and_catalogues_nothing() {
    let url = fresh_s3_url("jieyue-readonly");
    let app = app_on(Backend::Sqlite, &url).await;
    let admin = app.admin_token().await;
    let bytes = std::fs::read(corpus("zh/lunyu.epub")).expect("corpus");
    let reply = app.upload_bytes(&admin, "lunyu.epub", bytes).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{reply:?}");
    assert_eq!(reply.problem(), "unavailable");

    let catalogue = app.get("/api/v1/catalog", None).await;
    assert_eq!(catalogue.status, StatusCode::OK);
    assert_eq!(
        catalogue.body["items"].as_array().map(Vec::len),
        Some(0),
        "nothing half-catalogued: {:?}",
        catalogue.body
    );
    assert!(keys(&url).await.is_empty());
    assert_eq!(app.get("/health", None).await.status, StatusCode::OK);
}
