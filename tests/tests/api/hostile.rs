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

both_backends!(hostile_uploads_are_refused_clearly_and_store_nothing);
