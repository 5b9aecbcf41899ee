//! The catalogue: upload and ingest, search, details, covers, package downloads.

use std::io::{Cursor, Read, Write};

use jieyue_protocol::package::PackageReader;
use jieyue_protocol::{ContentKey, SealedKey};
use jieyue_tests::jieyue_server::domain::TitleId;
use jieyue_tests::jieyue_server::{keys, store};
use jieyue_tests::{TestApp, TwoLibraries, both_backends, corpus};
use reqwest::StatusCode;
use serde_json::json;

/// The content key of a title, as only the server can open it.
async fn content_key(app: &TestApp, id: &str) -> ContentKey {
    let db = store::Db::connect(&app.config.effective_database_url(), 2)
        .await
        .expect("db");
    let title = store::titles::get(db.reader(), TitleId(id.parse().expect("uuid")))
        .await
        .expect("query")
        .expect("title");
    let ring = keys::load(&app.config.effective_keys_dir()).expect("keys");
    let sealed = SealedKey::from_text(&title.content_key_sealed).expect("sealed");
    let opened = ring
        .master
        .open(&sealed, title.id.0.as_bytes())
        .expect("opens");
    ContentKey::from_slice(&opened).expect("key")
}

fn entry(epub: &[u8], name: &str) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(Cursor::new(epub)).expect("zip");
    let mut out = Vec::new();
    archive
        .by_name(name)
        .expect("entry")
        .read_to_end(&mut out)
        .expect("read");
    out
}

/// A tiny valid EPUB with the given title and identifier.
pub fn make_epub(title: &str, identifier: &str, chapter: &str) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("mimetype", stored).expect("zip");
    zip.write_all(b"application/epub+zip").expect("zip");
    zip.start_file("META-INF/container.xml", stored)
        .expect("zip");
    zip.write_all(br#"<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>"#).expect("zip");
    zip.start_file("OEBPS/content.opf", stored).expect("zip");
    let opf = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="uid"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="uid">{identifier}</dc:identifier><dc:title>{title}</dc:title><dc:language>zh-Hans</dc:language><dc:creator>曹雪芹</dc:creator><dc:subject>小说</dc:subject><meta property="dcterms:modified">2026-01-01T00:00:00Z</meta></metadata><manifest><item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/><item id="c1" href="c1.xhtml" media-type="application/xhtml+xml"/></manifest><spine><itemref idref="c1"/></spine></package>"#
    );
    zip.write_all(opf.as_bytes()).expect("zip");
    zip.start_file("OEBPS/nav.xhtml", stored).expect("zip");
    zip.write_all(br#"<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><body><nav epub:type="toc"><ol><li><a href="c1.xhtml">1</a></li></ol></nav></body></html>"#).expect("zip");
    zip.start_file("OEBPS/c1.xhtml", stored).expect("zip");
    zip.write_all(
        format!(
            "<html xmlns=\"http://www.w3.org/1999/xhtml\"><body><p>{chapter}</p></body></html>"
        )
        .as_bytes(),
    )
    .expect("zip");
    zip.finish().expect("zip").into_inner()
}

async fn uploading_a_book_catalogues_it_with_a_decryptable_package(app: TestApp) {
    let admin = app.admin_token().await;
    let source = std::fs::read(corpus("zh/lunyu.epub")).expect("corpus");
    let reply = app.upload_bytes(&admin, "lunyu.epub", source.clone()).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    assert_eq!(reply.body["status"], "created");
    let id = reply.body["title"]["id"].as_str().expect("id").to_owned();

    let details = app.get(&format!("/api/v1/catalog/{id}"), None).await;
    assert_eq!(details.status, StatusCode::OK);
    assert_eq!(details.body["title"], "论语");
    assert_eq!(details.body["language"], "zh-Hans");
    assert_eq!(details.body["layout"], "reflowable");

    let (status, headers, package) = app
        .get_bytes(&format!("/api/v1/catalog/{id}/package"), &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers["content-length"],
        package.len().to_string().as_str()
    );
    let digest =
        jieyue_protocol::encoding::hex(ring::digest::digest(&ring::digest::SHA256, &package));
    assert_eq!(details.body["package_sha256"], digest.as_str());
    assert_eq!(headers["etag"], format!("\"{digest}\"").as_str());

    let key = content_key(&app, &id).await;
    let mut reader = PackageReader::open(Cursor::new(package), &key)
        .expect("package opens with the title's key");
    let chapter = reader
        .manifest()
        .resources
        .iter()
        .find(|r| r.path.ends_with(".xhtml") || r.path.ends_with(".html"))
        .expect("an encrypted chapter")
        .path
        .clone();
    assert_eq!(
        reader.read(&chapter).expect("decrypts"),
        entry(&source, &chapter)
    );
}

async fn the_same_file_is_unchanged_and_a_new_version_keeps_the_content_key(app: TestApp) {
    let admin = app.admin_token().await;
    let first = make_epub(
        "红楼梦",
        "urn:uuid:5f1a0c0e-0000-4000-8000-000000000001",
        "第一回",
    );
    let created = app.upload_bytes(&admin, "hlm.epub", first.clone()).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.body["title"]["id"].as_str().expect("id").to_owned();
    let key_before = content_key(&app, &id).await;

    let again = app.upload_bytes(&admin, "hlm.epub", first).await;
    assert_eq!(
        (again.status, again.body["status"].as_str()),
        (StatusCode::OK, Some("unchanged"))
    );
    assert_eq!(again.body["title"]["version"], 1);

    let revised = make_epub(
        "红楼梦（修订版）",
        "urn:uuid:5f1a0c0e-0000-4000-8000-000000000001",
        "第一回 甄士隐梦幻识通灵",
    );
    let updated = app.upload_bytes(&admin, "hlm2.epub", revised).await;
    assert_eq!(
        (updated.status, updated.body["status"].as_str()),
        (StatusCode::OK, Some("updated"))
    );
    assert_eq!(updated.body["title"]["id"], id.as_str(), "same title");
    assert_eq!(updated.body["title"]["version"], 2);
    assert_ne!(
        updated.body["title"]["package_sha256"],
        created.body["title"]["package_sha256"]
    );

    // Licences already issued carry the old key: it must open the new package.
    assert!(content_key(&app, &id).await == key_before);
    let (_, _, package) = app
        .get_bytes(&format!("/api/v1/catalog/{id}/package"), &[])
        .await;
    let mut reader = PackageReader::open(Cursor::new(package), &key_before)
        .expect("old key opens the new version");
    let chapter =
        String::from_utf8(reader.read("OEBPS/c1.xhtml").expect("chapter")).expect("utf-8");
    assert!(chapter.contains("甄士隐"), "{chapter}");
}

async fn broken_epubs_are_refused_with_a_reason_and_nothing_is_stored(app: TestApp) {
    let admin = app.admin_token().await;
    let good = make_epub("x", "urn:x", "y");
    let traversal = {
        let mut bytes = good.clone();
        let mut zip = zip::ZipWriter::new_append(Cursor::new(&mut bytes)).expect("append");
        zip.start_file("../../evil.sh", zip::write::SimpleFileOptions::default())
            .expect("zip");
        zip.write_all(b"#!/bin/sh").expect("zip");
        zip.finish().expect("zip");
        bytes
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated", good[..good.len() / 2].to_vec(), "EPUB"),
        ("garbage", b"this is not a zip file".to_vec(), "EPUB"),
        (
            "no-opf",
            {
                let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
                zip.start_file("mimetype", zip::write::SimpleFileOptions::default())
                    .expect("zip");
                zip.write_all(b"application/epub+zip").expect("zip");
                zip.finish().expect("zip").into_inner()
            },
            "EPUB",
        ),
        ("bad-xml", make_epub("<<broken", "urn:bad", "z"), "EPUB"),
        ("traversal", traversal, "../../evil.sh"),
    ];
    for (name, bytes, expected) in cases {
        let reply = app.upload_bytes(&admin, name, bytes).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}: {reply:?}"
        );
        assert_eq!(reply.problem(), "validation");
        assert_eq!(reply.body["errors"][0]["field"], "file");
        let message = reply.body["errors"][0]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains(expected), "{name}: {message}");
        assert!(
            !message.contains("upload-") && !message.contains("/work/"),
            "{name}: the server path leaked: {message}"
        );
    }
    let catalogue = app.get("/api/v1/catalog", None).await;
    assert_eq!(catalogue.body["total"], 0);
    let objects = app.config.data_dir.join("objects");
    let stored: Vec<_> = walk(&objects);
    assert!(stored.is_empty(), "objects were left behind: {stored:?}");
    let work: Vec<_> = walk(&app.config.data_dir.join("work"));
    assert!(work.is_empty(), "scratch files were left behind: {work:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
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

async fn search_understands_chinese_and_latin(app: TestApp) {
    let admin = app.admin_token().await;
    for book in [
        "zh/lunyu.epub",
        "zh/quantangshi-001.epub",
        "zh/tangshi300.epub",
        "epub3/moby-dick.epub",
    ] {
        app.upload_corpus(&admin, book).await;
    }
    app.upload_bytes(&admin, "hlm.epub", make_epub("红楼梦", "urn:hlm", "第一回"))
        .await;

    let titles = |reply: &jieyue_tests::Reply| -> Vec<String> {
        reply.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["title"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let search = |q: &str| {
        let path = format!("/api/v1/catalog?q={}", urlencode(q));
        let app = &app;
        async move { app.get(&path, None).await }
    };
    // Two characters of a longer word.
    assert!(titles(&search("红楼").await).iter().any(|t| t == "红楼梦"));
    // Simplified finds traditional, and the other way round.
    assert!(
        titles(&search("全唐诗").await)
            .iter()
            .any(|t| t.starts_with("御定全唐詩"))
    );
    assert!(
        titles(&search("紅樓夢").await)
            .iter()
            .any(|t| t == "红楼梦")
    );
    // Case-insensitive Latin, and mixed text.
    assert_eq!(titles(&search("MOBY").await), ["Moby-Dick"]);
    assert_eq!(titles(&search("moby dick").await), ["Moby-Dick"]);
    // Authors and subjects are searched too.
    assert!(
        titles(&search("曹雪芹").await)
            .iter()
            .any(|t| t == "红楼梦")
    );
    // Nothing matches nonsense, and punctuation alone matches nothing.
    assert_eq!(search("完全不存在的书名").await.body["total"], 0);
    assert_eq!(search("，。！").await.body["total"], 0);

    // Facets, filters and paging.
    let all = app.get("/api/v1/catalog?limit=2", None).await;
    assert_eq!(all.body["total"], 5);
    let languages: Vec<&str> = all.body["facets"]["language"]
        .as_array()
        .expect("facets")
        .iter()
        .filter_map(|f| f["value"].as_str())
        .collect();
    assert!(
        languages.contains(&"zh") && languages.contains(&"en"),
        "{languages:?}"
    );
    let english = app.get("/api/v1/catalog?language=en", None).await;
    assert_eq!(titles(&english), ["Moby-Dick"]);
    let mut seen = Vec::new();
    let mut path = "/api/v1/catalog?limit=2&sort=title".to_owned();
    loop {
        let page = app.get(&path, None).await;
        seen.extend(titles(&page));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/catalog?limit=2&sort=title&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    let mut sorted = seen.clone();
    sorted.sort_by_key(|t| t.to_lowercase());
    assert_eq!(seen, sorted, "sorted by title");
    let bad = app.get("/api/v1/catalog?sort=sideways&limit=0", None).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn package_downloads_honour_ranges_and_validators(app: TestApp) {
    let admin = app.admin_token().await;
    let id = app
        .upload_corpus(&admin, "epub3/childrens-literature.epub")
        .await;
    let path = format!("/api/v1/catalog/{id}/package");
    let (_, headers, full) = app.get_bytes(&path, &[]).await;
    let etag = headers["etag"].to_str().expect("etag").to_owned();
    assert_eq!(headers["accept-ranges"], "bytes");
    assert!(
        headers["cache-control"]
            .to_str()
            .expect("ascii")
            .contains("public")
    );

    let (status, headers, part) = app.get_bytes(&path, &[("range", "bytes=1000-4095")]).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part, full[1000..4096]);
    assert_eq!(
        headers["content-range"],
        format!("bytes 1000-4095/{}", full.len()).as_str()
    );

    let (status, _, tail) = app.get_bytes(&path, &[("range", "bytes=-100")]).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(tail, full[full.len() - 100..]);

    let (status, headers, _) = app
        .get_bytes(&path, &[("range", &format!("bytes={}-", full.len()))])
        .await;
    assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        headers["content-range"],
        format!("bytes */{}", full.len()).as_str()
    );

    let (status, _, body) = app.get_bytes(&path, &[("if-none-match", &etag)]).await;
    assert_eq!((status, body.len()), (StatusCode::NOT_MODIFIED, 0));
    // A stale If-Range gets the whole, current package.
    let (status, _, body) = app
        .get_bytes(&path, &[("range", "bytes=0-9"), ("if-range", "\"stale\"")])
        .await;
    assert_eq!((status, body.len()), (StatusCode::OK, full.len()));

    let missing = app
        .get(
            &format!("/api/v1/catalog/{}/package", uuid::Uuid::nil()),
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

async fn covers_and_thumbnails_are_served_with_validators(app: TestApp) {
    let admin = app.admin_token().await;
    let id = app.upload_corpus(&admin, "epub3/moby-dick.epub").await;
    let details = app.get(&format!("/api/v1/catalog/{id}"), None).await;
    let cover = details.body["links"]["cover"]
        .as_str()
        .expect("cover link")
        .to_owned();
    let thumbnail = details.body["links"]["thumbnail"]
        .as_str()
        .expect("thumbnail link")
        .to_owned();
    let (status, headers, bytes) = app.get_bytes(&cover, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("image/")
    );
    assert!(!bytes.is_empty());
    let (status, headers, bytes) = app.get_bytes(&thumbnail, &[]).await;
    assert_eq!(
        (status, headers["content-type"].to_str().expect("ascii")),
        (StatusCode::OK, "image/jpeg")
    );
    assert_eq!(&bytes[..2], [0xFF, 0xD8], "a JPEG");
    let etag = headers["etag"].to_str().expect("etag").to_owned();
    let (status, _, _) = app.get_bytes(&thumbnail, &[("if-none-match", &etag)]).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);

    // Staff replace the cover; the links now serve the new image.
    let png = {
        let image = image::RgbImage::from_pixel(300, 450, image::Rgb([200, 30, 30]));
        let mut out = Cursor::new(Vec::new());
        image
            .write_to(&mut out, image::ImageFormat::Png)
            .expect("png");
        out.into_inner()
    };
    let put = |body: Vec<u8>, content_type: &'static str| {
        let request = app
            .client
            .put(format!("{}/api/v1/admin/titles/{id}/cover", app.base))
            .bearer_auth(&admin)
            .header("content-type", content_type)
            .body(body);
        async move { TestApp::reply(request.send().await.expect("sent")).await }
    };
    let refused = put(b"not an image".to_vec(), "image/png").await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let wrong_type = put(png.clone(), "text/plain").await;
    assert_eq!(wrong_type.status, StatusCode::UNPROCESSABLE_ENTITY);
    let replaced = put(png.clone(), "image/png").await;
    assert_eq!(replaced.status, StatusCode::OK, "{replaced:?}");
    let new_cover = replaced.body["links"]["cover"]
        .as_str()
        .expect("cover")
        .to_owned();
    let (_, headers, bytes) = app.get_bytes(&new_cover, &[]).await;
    assert_eq!(
        (headers["content-type"].to_str().expect("ascii"), bytes),
        ("image/png", png)
    );
    let (_, new_headers, _) = app.get_bytes(&thumbnail, &[]).await;
    assert_ne!(
        new_headers["etag"].to_str().expect("etag"),
        etag,
        "the thumbnail changed"
    );
}

async fn suppressed_titles_leave_the_public_catalogue(app: TestApp) {
    let world = TwoLibraries::create(&app).await;
    let id = app.upload_corpus(&world.admin, "zh/daxue.epub").await;
    let path = format!("/api/v1/admin/titles/{id}");
    let by_librarian = app
        .patch(
            &path,
            Some(&world.city_librarian),
            json!({ "suppressed": true }),
        )
        .await;
    assert_eq!(by_librarian.status, StatusCode::FORBIDDEN);
    let upload_by_librarian = app
        .upload_bytes(
            &world.city_librarian,
            "x.epub",
            make_epub("x", "urn:x", "y"),
        )
        .await;
    assert_eq!(upload_by_librarian.status, StatusCode::FORBIDDEN);

    let edited = app
        .patch(
            &path,
            Some(&world.city_manager),
            json!({ "subjects": ["儒家", "经典"], "description": "四书之一" }),
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{edited:?}");
    assert_eq!(edited.body["subjects"], json!(["儒家", "经典"]));
    let by_subject = app
        .get("/api/v1/catalog?subject=%E5%84%92%E5%AE%B6", None)
        .await;
    assert_eq!(by_subject.body["total"], 1, "the index follows edits");

    let hidden = app
        .patch(&path, Some(&world.admin), json!({ "suppressed": true }))
        .await;
    assert_eq!(hidden.body["suppressed"], true);
    assert_eq!(
        app.get(&format!("/api/v1/catalog/{id}"), None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/api/v1/catalog/{id}/package"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get("/api/v1/catalog", None).await.body["total"], 0);
    assert_eq!(
        app.get(&format!("/opds/publications/{id}"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&path, Some(&world.city_librarian)).await.status,
        StatusCode::OK,
        "staff still see it"
    );

    app.patch(&path, Some(&world.admin), json!({ "suppressed": false }))
        .await;
    assert_eq!(app.get("/api/v1/catalog", None).await.body["total"], 1);
}

both_backends!(
    uploading_a_book_catalogues_it_with_a_decryptable_package,
    the_same_file_is_unchanged_and_a_new_version_keeps_the_content_key,
    broken_epubs_are_refused_with_a_reason_and_nothing_is_stored,
    search_understands_chinese_and_latin,
    package_downloads_honour_ranges_and_validators,
    covers_and_thumbnails_are_served_with_validators,
    suppressed_titles_leave_the_public_catalogue,
);
