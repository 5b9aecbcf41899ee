//! Media beyond EPUB, end to end: a scanned journal issue, an image collection, an
//! audiobook and a lecture series are uploaded, borrowed, downloaded and read back
//! through the client core byte for byte; the media reader refuses after the loan's end
//! and after the clock is turned back, as books do.

use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Duration;
use jieyue_client_core::{ClientError, DownloadOutcome, PublicationKind};
use jieyue_tests::{TestApp, TwoLibraries};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Phone, Progress, phone};

fn media(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/media")
        .join(name)
}

/// A page of a scanned journal: a JPEG (or PNG every fifth page) with a pattern of its own.
fn page(number: u32) -> (String, Vec<u8>) {
    let (w, h) = (300 + number, 420);
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([
            (x as u8) ^ (number as u8),
            (y as u8).wrapping_add(number as u8),
            200,
        ])
    });
    let mut out = Cursor::new(Vec::new());
    let (format, ext) = if number.is_multiple_of(5) {
        (image::ImageFormat::Png, "png")
    } else {
        (image::ImageFormat::Jpeg, "jpg")
    };
    img.write_to(&mut out, format).expect("encode");
    (format!("page-{number:02}.{ext}"), out.into_inner())
}

/// A ZIP of `files` (name, bytes).
fn zip_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in files {
        zip.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .expect("entry");
        zip.write_all(bytes).expect("write");
    }
    zip.finish().expect("zip").into_inner()
}

/// Uploads `bytes` as `name`; gives the city `copies`; returns the catalogue entry.
async fn catalogue(
    app: &TestApp,
    world: &TwoLibraries,
    name: &str,
    bytes: Vec<u8>,
) -> serde_json::Value {
    let reply = app.upload_bytes(&world.admin, name, bytes).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{name}: {reply:?}");
    let id = reply.body["title"]["id"].as_str().expect("id").to_owned();
    let lot = app
        .post(
            "/api/v1/admin/lots",
            Some(&world.city_manager),
            json!({ "title_id": id, "owner_library_id": world.city, "copies": 2 }),
        )
        .await;
    assert_eq!(lot.status, StatusCode::CREATED, "{lot:?}");
    app.get(&format!("/api/v1/catalog/{id}"), None).await.body
}

async fn borrow_and_download(phone: &Phone, id: &str) {
    phone.client.borrow(id, Some(7)).await.expect("borrow");
    let outcome = phone
        .client
        .download(id, Arc::new(Progress::default()))
        .await
        .expect("download");
    assert!(matches!(outcome, DownloadOutcome::Complete { .. }));
}

/// Reads the whole resource through a media reader, in player-sized pieces.
fn read_all(reader: &jieyue_client_core::MediaReader) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let piece = reader
            .read_at(out.len() as u64, 32 * 1024 + 7)
            .expect("read");
        if piece.is_empty() {
            return out;
        }
        out.extend(piece);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_kinds_are_catalogued_lent_and_read_back_byte_for_byte() {
    let app = TestApp::spawn(jieyue_tests::Backend::Sqlite).await;
    let world = TwoLibraries::create(&app).await;

    // A journal issue: 20 scanned pages as a CBZ, with its metadata.
    let pages: Vec<(String, Vec<u8>)> = (1..=20).map(page).collect();
    let mut journal = pages.clone();
    journal.push((
        "metadata.toml".into(),
        "title = \"中国国家地理\"\nissue = \"2024年第3期\"\ndate = \"2024-03\"\nlanguage = \"zh\"\nsubjects = [\"地理\"]\n"
            .as_bytes()
            .to_vec(),
    ));
    let journal = catalogue(&app, &world, "国家地理-2024-03.cbz", zip_of(&journal)).await;
    assert_eq!(journal["kind"], "page_images");
    assert_eq!(journal["items"], 20);
    assert_eq!(journal["subtitle"], "2024年第3期");

    // An image collection: 10 images with captions.
    let images: Vec<(String, Vec<u8>)> = (1..=10)
        .map(|i| {
            let (_, bytes) = page(i * 7 + 1);
            (format!("nianhua/{i:02}.jpg"), bytes)
        })
        .collect();
    let mut collection = images.clone();
    let mut captions = String::from("kind = \"images\"\ntitle = \"杨柳青年画\"\n[captions]\n");
    for i in 1..=10 {
        captions.push_str(&format!("\"nianhua/{i:02}.jpg\" = \"年画 第{i}幅\"\n"));
    }
    collection.push(("metadata.toml".into(), captions.into_bytes()));
    let collection = catalogue(&app, &world, "年画.zip", zip_of(&collection)).await;
    assert_eq!(collection["kind"], "images");

    // An audiobook of three tracks (MP3, M4A, Ogg).
    let tracks: Vec<(String, Vec<u8>)> = ["tone-a.mp3", "tone-b.m4a", "tone-c.ogg"]
        .iter()
        .enumerate()
        .map(|(i, f)| {
            (
                format!("{:02}-{f}", i + 1),
                std::fs::read(media(f)).expect("fixture"),
            )
        })
        .collect();
    let mut audiobook = tracks.clone();
    audiobook.push((
        "metadata.toml".into(),
        b"title = \"\xe5\x94\x90\xe8\xaf\x97\xe6\x9c\x97\xe8\xaf\xb5\"\nnarrators = [\"\xe6\x9c\x97\xe8\xaf\xb5\xe8\x80\x85\"]\n"
            .to_vec(),
    ));
    let audiobook = catalogue(&app, &world, "唐诗朗诵.zip", zip_of(&audiobook)).await;
    assert_eq!(audiobook["kind"], "audiobook");
    assert_eq!(audiobook["items"], 3);
    assert_eq!(audiobook["duration"], 7, "3 s + 2 s + 2 s");

    // A lecture series of two videos; the second has its moov box at the end.
    let videos: Vec<(String, Vec<u8>)> = ["lecture-1.mp4", "lecture-2.mp4"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read(media(f)).expect("fixture")))
        .collect();
    let lectures = catalogue(&app, &world, "国图公开课.zip", zip_of(&videos)).await;
    assert_eq!(lectures["kind"], "video");
    assert_eq!(lectures["items"], 2);

    // The kind is a search facet and filter.
    let search = app.get("/api/v1/catalog?kind=audiobook", None).await.body;
    assert_eq!(search["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(search["items"][0]["id"], audiobook["id"]);
    let kinds = &search["facets"]["kind"];
    assert_eq!(kinds.as_array().map(Vec::len), Some(1), "{kinds}");
    let all = app.get("/api/v1/catalog", None).await.body;
    let mut facet: Vec<(String, u64)> = all["facets"]["kind"]
        .as_array()
        .expect("facet")
        .iter()
        .map(|f| {
            (
                f["value"].as_str().expect("v").to_owned(),
                f["count"].as_u64().expect("n"),
            )
        })
        .collect();
    facet.sort();
    assert_eq!(
        facet,
        [
            ("audiobook".to_owned(), 1),
            ("images".to_owned(), 1),
            ("page_images".to_owned(), 1),
            ("video".to_owned(), 1)
        ]
    );
    // OPDS says what each is.
    let id = audiobook["id"].as_str().expect("id");
    let opds = app
        .get(&format!("/opds/publications/{id}"), None)
        .await
        .body;
    assert_eq!(
        opds["metadata"]["conformsTo"],
        "https://readium.org/webpub-manifest/profiles/audiobook"
    );
    assert!(
        opds["metadata"]["duration"]
            .as_f64()
            .is_some_and(|d| (d - 7.0).abs() < 0.2)
    );
    assert_eq!(
        opds["links"][1]["properties"]["indirectAcquisition"][0]["child"][0]["type"],
        "application/audiobook+zip"
    );

    let phone = phone(&app, "city", "C1").await;
    let id_of = |v: &serde_json::Value| v["id"].as_str().expect("id").to_owned();
    for title in [&journal, &collection, &audiobook, &lectures] {
        borrow_and_download(&phone, &id_of(title)).await;
    }

    // The journal: every page, byte for byte, with its size, in order.
    let book = phone.client.open_book(&id_of(&journal)).expect("open");
    let meta = book.metadata();
    assert_eq!(meta.kind, PublicationKind::PageImages);
    assert_eq!(meta.title, "中国国家地理");
    assert_eq!(meta.subtitle.as_deref(), Some("2024年第3期"));
    let list = book.page_list();
    assert_eq!(list.len(), 20);
    for (info, (name, bytes)) in list.iter().zip(&pages) {
        assert_eq!(&info.href, name);
        let decoded = image::load_from_memory(bytes).expect("decode");
        assert_eq!(
            (info.width, info.height),
            (decoded.width(), decoded.height())
        );
        assert!(
            book.resource(&info.href).expect("page").data == *bytes,
            "{name}"
        );
    }
    assert_eq!(book.position_count(), 20);

    // The collection: captions, thumbnails, images.
    let book = phone.client.open_book(&id_of(&collection)).expect("open");
    assert_eq!(book.metadata().kind, PublicationKind::Images);
    let list = book.page_list();
    assert_eq!(list.len(), 10);
    for (i, (info, (_, bytes))) in list.iter().zip(&images).enumerate() {
        assert_eq!(
            info.title.as_deref(),
            Some(format!("年画 第{}幅", i + 1).as_str())
        );
        assert!(book.resource(&info.href).expect("image").data == *bytes);
        let thumb = book
            .resource(info.thumbnail_href.as_deref().expect("thumbnail"))
            .expect("thumbnail");
        let thumb = image::load_from_memory(&thumb.data).expect("a JPEG");
        assert!(thumb.width() <= 320 && thumb.height() <= 320);
    }

    // The audiobook: durations and titles, every track through the media reader.
    let book = phone.client.open_book(&id_of(&audiobook)).expect("open");
    assert_eq!(book.metadata().kind, PublicationKind::Audiobook);
    assert!(
        book.metadata()
            .duration
            .is_some_and(|d| (d - 7.0).abs() < 0.2)
    );
    let order = book.reading_order();
    assert_eq!(order.len(), 3);
    assert_eq!(
        order[0].title.as_deref(),
        Some("第一首 静夜思"),
        "from the ID3 tag"
    );
    for (item, (name, bytes), seconds) in order
        .iter()
        .zip(&tracks)
        .zip([3.0, 2.0, 2.0])
        .map(|((a, b), c)| (a, b, c))
    {
        assert_eq!(&item.href, name);
        assert!(
            item.duration.is_some_and(|d| (d - seconds).abs() < 0.15),
            "{item:?}"
        );
        let reader = book.open_media(&item.href).expect("open track");
        assert_eq!(reader.length(), bytes.len() as u64);
        assert!(reader.media_type().starts_with("audio/"));
        assert!(read_all(&reader) == *bytes, "{name}");
    }
    // A time-offset locator, saved and synced like a page position.
    let locator = book.locator_at_time(1, 1.5).expect("locator");
    assert_eq!(locator.time_offset, Some(1.5));
    assert!(locator.to_json().contains("\"t=1.5\""));
    assert!((locator.total_progression - 4.5 / 7.0).abs() < 0.05);
    phone
        .client
        .save_position(&id_of(&audiobook), &locator)
        .expect("save");
    let synced = phone
        .client
        .sync_position(&id_of(&audiobook))
        .await
        .expect("sync")
        .expect("a position");
    assert_eq!(synced.time_offset, Some(1.5));
    assert_eq!(synced.href, order[1].href);

    // The lectures: random ranges of each video; the second was made "faststart".
    let book = phone.client.open_book(&id_of(&lectures)).expect("open");
    assert_eq!(book.metadata().kind, PublicationKind::Video);
    let order = book.reading_order();
    for (item, (name, original)) in order.iter().zip(&videos) {
        let path = media(name);
        let facts = jieyue_server::service::ingest::media::video::probe(&path).expect("probe");
        let (_, mut playable) =
            jieyue_server::service::ingest::media::video::playable(&path, &facts)
                .expect("playable");
        let mut expected = Vec::new();
        playable.read_to_end(&mut expected).expect("read");
        assert_eq!(expected.len(), original.len());
        assert_eq!(expected == *original, facts.faststart, "{name}");
        assert_eq!(item.width, Some(160));
        let reader = book.open_media(&item.href).expect("open video");
        assert_eq!(reader.media_type(), "video/mp4");
        assert_eq!(reader.length(), expected.len() as u64);
        let mut state = 0x2545_f491_u64;
        for _ in 0..50 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let offset = state % expected.len() as u64;
            let length = (state >> 20) % 100_000;
            let got = reader.read_at(offset, length).expect("range");
            let end = (offset + length).min(expected.len() as u64) as usize;
            assert!(
                got == expected[offset as usize..end],
                "{name} {offset}+{length}"
            );
        }
        assert!(read_all(&reader) == expected);
        // moov first: a player can start before the end arrives.
        assert_eq!(&read_all(&reader)[4..8], b"ftyp");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_media_reader_refuses_after_expiry_and_after_a_clock_rollback() {
    let app = TestApp::spawn(jieyue_tests::Backend::Sqlite).await;
    let world = TwoLibraries::create(&app).await;
    let track = std::fs::read(media("tone-a.mp3")).expect("fixture");
    let title = catalogue(&app, &world, "静夜思.mp3", track.clone()).await;
    assert_eq!(title["kind"], "audiobook");
    let id = title["id"].as_str().expect("id").to_owned();
    let mut phone = phone(&app, "city", "C1").await;
    borrow_and_download(&phone, &id).await;

    let book = phone.client.open_book(&id).expect("open");
    let href = book.reading_order()[0].href.clone();
    let reader = book.open_media(&href).expect("open track");
    assert!(read_all(&reader) == track);

    // Cancelled: the read fails, and so does every later one.
    let second = book.open_media(&href).expect("open again");
    second.cancel();
    assert!(matches!(
        second.read_at(0, 10),
        Err(ClientError::Cancelled { .. })
    ));

    // The clock turned back a day: opening refuses; a reader already open refuses at
    // its next check (within 30 s of monotonic time).
    phone.clock.set_wall(-Duration::days(1));
    assert!(matches!(
        book.open_media(&href),
        Err(ClientError::ClockRollback { .. })
    ));
    phone.clock.advance(Duration::seconds(31));
    assert!(matches!(
        reader.read_at(0, 10),
        Err(ClientError::ClockRollback { .. })
    ));
    // Set right and synced: reading again.
    phone.clock.set_wall(Duration::days(1));
    phone.client.sync().await.expect("sync");
    phone.restart(&app);
    let book = phone.client.open_book(&id).expect("open after sync");
    let reader = book.open_media(&href).expect("open track");
    assert_eq!(reader.read_at(0, 3).expect("read"), track[..3]);

    // Eight days later the loan is over: the open reader stops, and opening fails.
    phone.clock.advance(Duration::days(8));
    assert!(matches!(
        reader.read_at(100, 10),
        Err(ClientError::Expired { .. })
    ));
    assert!(matches!(
        phone.client.open_book(&id),
        Err(ClientError::Expired { .. })
    ));
}

/// Bad media gets a clear error naming the file, through the upload API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_media_is_refused_naming_the_file() {
    let app = TestApp::spawn(jieyue_tests::Backend::Sqlite).await;
    let admin = app.admin_token().await;
    let lecture = std::fs::read(media("lecture-1.mp4")).expect("fixture");
    let truncated = lecture[..lecture.len() * 6 / 10].to_vec();
    let mut mp3 = std::fs::read(media("tone-a.mp3")).expect("fixture");
    // Garbage inside every frame after the first third, the frame headers kept.
    let start = mp3.len() / 3;
    let mut state = 7u32;
    let mut i = start;
    while i + 4 < mp3.len() {
        if mp3[i] == 0xFF && mp3[i + 1] & 0xE0 == 0xE0 {
            let end = (i + 100).min(mp3.len());
            for byte in &mut mp3[i + 4..end] {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                *byte = (state >> 16) as u8;
            }
            i += 100;
        } else {
            i += 1;
        }
    }
    let liar = {
        let (_, mut jpeg) = page(1);
        let sof = jpeg
            .windows(2)
            .position(|w| w == [0xFF, 0xC0])
            .expect("baseline");
        jpeg[sof + 5..sof + 7].copy_from_slice(&9000u16.to_be_bytes());
        jpeg[sof + 7..sof + 9].copy_from_slice(&7000u16.to_be_bytes());
        jpeg
    };
    for (upload, bytes, names) in [
        ("lecture.mp4", truncated, "truncated"),
        ("tracks.zip", zip_of(&[("01.mp3".into(), mp3)]), "01.mp3"),
        (
            "scan.zip",
            zip_of(&[("01.jpg".into(), page(2).1), ("02.jpg".into(), liar)]),
            "02.jpg",
        ),
        ("empty.zip", zip_of(&[]), "holds no"),
    ] {
        let reply = app.upload_bytes(&admin, upload, bytes).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{upload}: {reply:?}"
        );
        let message = reply.body["errors"][0]["message"]
            .as_str()
            .or(reply.body["detail"].as_str())
            .unwrap_or_default()
            .to_owned();
        assert!(message.contains(names), "{upload}: {message}");
    }
    // Nothing was catalogued.
    let all = app.get("/api/v1/catalog", None).await.body;
    assert_eq!(all["total"], 0, "{all}");
}
