//! Hostile uploads are refused from the archive's central directory, with a problem
//! document that names the problem, and nothing is catalogued or stored.

use std::io::{Cursor, Write};

use jieyue_tests::{TestApp, both_backends, corpus};
use reqwest::StatusCode;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// A real book with one more entry: `name` holding `bytes`.
fn book_with(name: &str, bytes: &[u8]) -> Vec<u8> {
    let source = std::fs::read(corpus("zh/daxue.epub")).expect("corpus");
    let mut archive = zip::ZipArchive::new(Cursor::new(source)).expect("zip");
    let mut out = ZipWriter::new(Cursor::new(Vec::new()));
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).expect("entry");
        out.raw_copy_file(entry).expect("copy");
    }
    out.start_file(
        name,
        SimpleFileOptions::default().compression_method(CompressionMethod::Deflated),
    )
    .expect("start");
    out.write_all(bytes).expect("write");
    out.finish().expect("finish").into_inner()
}

async fn hostile_uploads_are_refused_clearly_and_store_nothing(app: TestApp) {
    let admin = app.admin_token().await;
    let objects = app.config.data_dir.join("objects");
    let count_objects = || walk(&objects);
    let before = count_objects();

    let bomb = book_with("OEBPS/zeros.bin", &vec![0u8; 64 << 20]);
    assert!(bomb.len() < 2 << 20);
    let reply = app.upload_bytes(&admin, "bomb.epub", bomb).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{reply:?}");
    let message = reply.body["errors"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.contains("OEBPS/zeros.bin") && message.contains("zip bomb"),
        "{reply:?}"
    );

    // A package this server made, uploaded back.
    let id = app.upload_corpus(&admin, "zh/lunyu.epub").await;
    let (_, _, package) = app
        .get_bytes(&format!("/api/v1/catalog/{id}/package"), &[])
        .await;
    let after_one = count_objects();
    let reply = app
        .upload_bytes(&admin, "lunyu-package.epub", package)
        .await;
    assert_eq!(
        (reply.status, reply.problem()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "already-protected".to_owned()
        ),
        "{reply:?}"
    );
    assert!(
        reply.body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Jieyue package"),
        "{reply:?}"
    );
    assert_eq!(
        count_objects(),
        after_one,
        "nothing stored for refused uploads"
    );
    assert!(after_one > before);
    let catalogue = app.get("/api/v1/catalog", None).await;
    assert_eq!(catalogue.body["items"].as_array().map(Vec::len), Some(1));
}

/// A cover whose header claims absurd dimensions is left out (readers' devices would
/// have to decode it); the book is catalogued without it.
async fn a_cover_of_absurd_dimensions_is_left_out(app: TestApp) {
    let admin = app.admin_token().await;
    let mut tall = Cursor::new(Vec::new());
    image::GrayImage::new(1, 20_000)
        .write_to(&mut tall, image::ImageFormat::Png)
        .expect("png");
    let source = std::fs::read(corpus("epub3/moby-dick.epub")).expect("corpus");
    let mut archive = zip::ZipArchive::new(Cursor::new(source)).expect("zip");
    let cover_path = {
        let opf = archive
            .file_names()
            .flatten()
            .find(|n| n.ends_with(".opf"))
            .expect("opf")
            .into_owned();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut archive.by_name(&opf).expect("opf"), &mut text)
            .expect("read");
        let item = text
            .split("<item ")
            .find(|item| item.contains("cover-image"))
            .expect("moby-dick declares a cover");
        let href = item.split("href=\"").nth(1).expect("href");
        let href = &href[..href.find('"').expect("quote")];
        let dir = opf.rsplit_once('/').map_or("", |(d, _)| d);
        if dir.is_empty() {
            href.to_owned()
        } else {
            format!("{dir}/{href}")
        }
    };
    let mut out = ZipWriter::new(Cursor::new(Vec::new()));
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).expect("entry");
        let name = entry.name().expect("name").into_owned();
        if name == cover_path {
            drop(entry);
            out.start_file(name, SimpleFileOptions::default())
                .expect("start");
            out.write_all(tall.get_ref()).expect("write");
        } else {
            out.raw_copy_file(entry).expect("copy");
        }
    }
    let book = out.finish().expect("finish").into_inner();
    let reply = app.upload_bytes(&admin, "tall-cover.epub", book).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    let id = reply.body["title"]["id"].as_str().expect("id");
    let details = app.get(&format!("/api/v1/catalog/{id}"), None).await;
    assert!(details.body["links"]["cover"].is_null(), "{details:?}");
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .map(|e| {
                if e.path().is_dir() {
                    walk(&e.path())
                } else {
                    1
                }
            })
            .sum()
    })
}

both_backends!(
    hostile_uploads_are_refused_clearly_and_store_nothing,
    a_cover_of_absurd_dimensions_is_left_out,
);

/// With the data disk full, an upload answers 507 `insufficient-storage` and changes
/// nothing, reads go on, and once space is freed the same upload succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_data_disk_refuses_uploads_clearly_and_keeps_serving_reads() {
    let disk = std::env::var("JIEYUE_TEST_SMALL_DISK").unwrap_or_else(|_| {
        panic!(
            "JIEYUE_TEST_SMALL_DISK is not set. Run the suite with scripts/test, which \
             mounts a small disk (scripts/small-disk.sh)."
        )
    });
    let data = tempfile::tempdir_in(&disk).expect("temp dir on the small disk");
    let config = jieyue_tests::test_config(jieyue_tests::Backend::Sqlite, data.path()).await;
    let app = TestApp::spawn_with(config, data).await;
    let admin = app.admin_token().await;
    let reader_visible = app.upload_corpus(&admin, "zh/daxue.epub").await;

    // Fill the disk to the last byte (the filler goes when the test ends, pass or fail).
    struct Filler(std::path::PathBuf);
    impl Drop for Filler {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let filler =
        Filler(std::path::Path::new(&disk).join(format!("filler-{}", uuid::Uuid::new_v4())));
    {
        let mut file = std::fs::File::create(&filler.0).expect("filler");
        let block = vec![0x5au8; 64 * 1024];
        while file.write_all(&block).is_ok() {}
        while file.write_all(&block[..512]).is_ok() {}
        while file.write_all(&block[..1]).is_ok() {}
    }
    let book = std::fs::read(corpus("epub3/moby-dick.epub")).expect("corpus");
    let reply = app
        .upload_bytes(&admin, "moby-dick.epub", book.clone())
        .await;
    assert_eq!(
        (reply.status, reply.problem()),
        (
            StatusCode::INSUFFICIENT_STORAGE,
            "insufficient-storage".to_owned()
        ),
        "{reply:?}"
    );
    // Reads go on while the disk is full. (Fresh connections: the server answered the
    // upload before reading all of it, and closed that connection.)
    let fresh = reqwest::Client::new;
    let details = fresh()
        .get(format!("{}/api/v1/catalog/{reader_visible}", app.base))
        .send()
        .await
        .expect("details");
    assert_eq!(details.status(), StatusCode::OK);
    let package = fresh()
        .get(format!(
            "{}/api/v1/catalog/{reader_visible}/package",
            app.base
        ))
        .send()
        .await
        .expect("package");
    assert_eq!(package.status(), StatusCode::OK);
    assert!(!package.bytes().await.expect("body").is_empty());

    drop(filler); // frees the space
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(book)
            .file_name("moby-dick.epub")
            .mime_str("application/epub+zip")
            .expect("mime"),
    );
    let reply = fresh()
        .post(format!("{}/api/v1/admin/titles", app.base))
        .bearer_auth(&admin)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(reply.status(), StatusCode::CREATED);
}
