//! Client-core figures for docs/benchmarks.md, against a real server in this process:
//! time to open a book (licence check, key unwrap, package index) over the corpus,
//! time to lay out a chapter and to produce its first page, decryption throughput of
//! resource reads, and — in a separate child process so the server is not counted —
//! time and peak memory opening and reading a book with a 500 MB resource.
//!
//! `cargo run --release -p jieyue-tests --example client_bench [MEGABYTES]`

#![allow(clippy::expect_used, clippy::panic, clippy::print_stdout)]

use std::io::{BufWriter, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use jieyue_client_core::{
    Client, ClientConfig, DownloadListener, FileSecureStore, PlatformClock, Typesetter, Viewport,
};
use jieyue_tests::{Backend, PASSWORD, TestApp, TwoLibraries, corpus};
use serde_json::json;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// The server's (manual) time on the wall; real elapsed time on the monotonic clock.
struct BenchClock {
    wall_ms: AtomicI64,
    start: Instant,
}

impl PlatformClock for BenchClock {
    fn wall_time(&self) -> std::time::SystemTime {
        let ms = self.wall_ms.load(Ordering::SeqCst) + self.start.elapsed().as_millis() as i64;
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms as u64)
    }
    fn since_boot_millis(&self) -> u64 {
        60_000 + self.start.elapsed().as_millis() as u64
    }
}

struct Quiet;
impl DownloadListener for Quiet {
    fn on_progress(&self, _: u64, _: Option<u64>) {}
}

fn client(url: &str, dir: &std::path::Path, keys: &str, wall_ms: i64) -> Client {
    Client::new(
        ClientConfig {
            server_url: url.to_owned(),
            data_dir: dir.join("data").display().to_string(),
            issuer_keys_json: keys.to_owned(),
            device_name: "bench".into(),
            rollback_tolerance_seconds: None,
        },
        Arc::new(FileSecureStore::new(dir.join("secure")).expect("store")),
        Arc::new(BenchClock {
            wall_ms: AtomicI64::new(wall_ms),
            start: Instant::now(),
        }),
    )
    .expect("client")
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn viewport() -> Viewport {
    Viewport {
        width: 390.0,
        height: 780.0,
        font_size: 18.0,
        line_height: 1.6,
        margin_top: 24.0,
        margin_right: 20.0,
        margin_bottom: 24.0,
        margin_left: 20.0,
    }
}

/// An EPUB 3 with one short chapter and a `megabytes` MB stored video.
fn large_epub(megabytes: u64, path: &std::path::Path) {
    let mut zip = ZipWriter::new(BufWriter::new(std::fs::File::create(path).expect("create")));
    let stored = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .large_file(true);
    let files: [(&str, &str); 4] = [
        ("mimetype", "application/epub+zip"),
        (
            "META-INF/container.xml",
            r#"<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>"#,
        ),
        (
            "content.opf",
            r#"<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="u"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="u">urn:uuid:5e2c1c3e-0000-4000-8000-000000000500</dc:identifier><dc:title>大视频</dc:title><dc:language>zh</dc:language><meta property="dcterms:modified">2026-11-01T00:00:00Z</meta></metadata><manifest><item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/><item id="c1" href="c1.xhtml" media-type="application/xhtml+xml"/><item id="v" href="video.mp4" media-type="video/mp4"/></manifest><spine><itemref idref="c1"/></spine></package>"#,
        ),
        (
            "nav.xhtml",
            r#"<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><head><title>目录</title></head><body><nav epub:type="toc"><ol><li><a href="c1.xhtml">第一章</a></li></ol></nav></body></html>"#,
        ),
    ];
    for (name, text) in files {
        zip.start_file(name, stored).expect("zip");
        zip.write_all(text.as_bytes()).expect("zip");
    }
    zip.start_file("c1.xhtml", stored).expect("zip");
    zip.write_all(r#"<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>第一章</title></head><body><p>视频。</p><video src="video.mp4"/></body></html>"#.as_bytes()).expect("zip");
    zip.start_file("video.mp4", stored).expect("zip");
    let piece: Vec<u8> = (0..1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    for _ in 0..megabytes {
        zip.write_all(&piece).expect("zip");
    }
    zip.finish().expect("zip").flush().expect("flush");
}

/// Child: open the big book offline and read its video in 1 MiB ranges.
fn measure_large(dir: &str, keys_path: &str, publication: &str, wall_ms: i64) {
    let keys = std::fs::read_to_string(keys_path).expect("keys");
    let client = client(
        "http://127.0.0.1:9",
        std::path::Path::new(dir),
        &keys,
        wall_ms,
    );
    let started = Instant::now();
    let book = client.open_book(publication).expect("open");
    let open = started.elapsed();
    let length = book.resource_length("video.mp4").expect("length");
    let started = Instant::now();
    let mut at = 0;
    while at < length {
        let end = (at + (1 << 20)).min(length);
        let bytes = book.resource_range("video.mp4", at, end).expect("range");
        assert_eq!(bytes.len() as u64, end - at);
        at = end;
    }
    let read = started.elapsed();
    println!(
        "{}",
        json!({
            "open_ms": ms(open),
            "read_s": read.as_secs_f64(),
            "mb_per_s": length as f64 / 1e6 / read.as_secs_f64(),
            "peak_rss_mib": peak_rss_mib(),
        })
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--measure-large") {
        let wall = args[5].parse().expect("wall");
        measure_large(&args[2], &args[3], &args[4], wall);
        return;
    }
    let megabytes: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(500);

    let app = TestApp::spawn(Backend::Sqlite).await;
    let world = TwoLibraries::create(&app).await;
    let dir = tempfile::tempdir().expect("dir");
    let keys = app
        .get("/.well-known/jieyue/keys", None)
        .await
        .body
        .to_string();
    let wall_ms = app.clock_now().timestamp_millis();
    // Room for a loan of every corpus book at once.
    let rule = json!({ "library_id": world.city, "category": "adult", "loan_days_default": 14,
        "loan_days_max": 21, "max_loans": 100, "max_holds": 10, "renewals": 1, "renewal_days": 7,
        "pickup_hours": 48, "max_devices": 3 });
    let set = app
        .request(
            reqwest::Method::PUT,
            "/api/v1/admin/rules",
            Some(&world.city_manager),
            Some(rule),
        )
        .await;
    assert!(set.status.is_success(), "{set:?}");
    let phone = client(&app.base, dir.path(), &keys, wall_ms);
    phone.login("city", "C1", PASSWORD).await.expect("login");
    phone.enrol_device().await.expect("enrol");

    let mut books: Vec<String> = ["epub3", "zh"]
        .iter()
        .flat_map(|d| {
            std::fs::read_dir(corpus(d))
                .expect("corpus")
                .filter_map(|e| e.ok())
                .map(move |e| format!("{d}/{}", e.file_name().to_string_lossy()))
        })
        .filter(|n| n.ends_with(".epub"))
        .collect();
    books.sort();
    let mut ids = Vec::new();
    for book in &books {
        let title = app.title_with_copies(&world, book, 1).await;
        phone.borrow(&title, None).await.expect("borrow");
        phone
            .download(&title, Arc::new(Quiet))
            .await
            .expect("download");
        ids.push(title);
    }

    // Opening: licence check + key unwrap + package index, 20 times per book.
    let mut opens = Vec::new();
    for id in &ids {
        for _ in 0..20 {
            let started = Instant::now();
            let book = phone.open_book(id).expect("open");
            opens.push(started.elapsed());
            drop(book);
        }
    }
    opens.sort();
    println!(
        "open_book over {} books x 20: median {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ids.len(),
        ms(percentile(&opens, 0.5)),
        ms(percentile(&opens, 0.99)),
        ms(*opens.last().expect("opens"))
    );

    // Reading every resource: decryption throughput.
    let mut bytes = 0u64;
    let started = Instant::now();
    for id in &ids {
        let book = phone.open_book(id).expect("open");
        for item in book.reading_order() {
            bytes += book.resource(&item.href).expect("read").data.len() as u64;
        }
    }
    let elapsed = started.elapsed();
    println!(
        "reading order of every book: {:.1} MB in {:.2} s = {:.1} MB/s (open, check, decrypt, inflate)",
        bytes as f64 / 1e6,
        elapsed.as_secs_f64(),
        bytes as f64 / 1e6 / elapsed.as_secs_f64()
    );

    // Layout: the longest chapter of each reflowable book, whole and first page only.
    let fonts = vec![
        std::fs::read("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf").expect("font"),
        std::fs::read("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc").expect("font"),
    ];
    let typesetter = Typesetter::new(fonts).expect("fonts");
    let mut whole = Vec::new();
    let mut first = Vec::new();
    for id in &ids {
        let book = phone.open_book(id).expect("open");
        if book.metadata().layout == jieyue_client_core::Layout::Fixed {
            continue;
        }
        let Some((chapter, _)) = book
            .reading_order()
            .iter()
            .enumerate()
            .filter(|(_, i)| i.media_type.contains("html"))
            .max_by_key(|(_, i)| i.length)
        else {
            continue;
        };
        let chapter = chapter as u32;
        // Warm the glyph caches once, as a reading app's would be.
        typesetter
            .layout_pages(&book, chapter, viewport(), 1)
            .expect("warm");
        let started = Instant::now();
        let layout = typesetter
            .layout_chapter(&book, chapter, viewport())
            .expect("layout");
        whole.push((started.elapsed(), layout.pages.len(), layout.text_length));
        let started = Instant::now();
        typesetter
            .layout_pages(&book, chapter, viewport(), 1)
            .expect("first page");
        first.push(started.elapsed());
    }
    let mut whole_times: Vec<Duration> = whole.iter().map(|w| w.0).collect();
    whole_times.sort();
    first.sort();
    let (slowest, pages, chars) = whole.iter().max_by_key(|w| w.0).copied().expect("layouts");
    println!(
        "layout of the longest chapter of {} books: median {:.1} ms, max {:.1} ms ({pages} pages, {chars} characters)",
        whole.len(),
        ms(percentile(&whole_times, 0.5)),
        ms(slowest)
    );
    println!(
        "first page: median {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(percentile(&first, 0.5)),
        ms(percentile(&first, 0.99)),
        ms(*first.last().expect("first"))
    );

    // The large book, measured in a child process (the server is not counted).
    let epub = dir.path().join("large.epub");
    large_epub(megabytes, &epub);
    let title = app
        .upload_bytes(
            &world.admin,
            "large.epub",
            std::fs::read(&epub).expect("read"),
        )
        .await;
    assert!(title.status.is_success(), "{title:?}");
    let title = title.body["title"]["id"].as_str().expect("id").to_owned();
    std::fs::remove_file(&epub).expect("remove");
    app.post(
        "/api/v1/admin/lots",
        Some(&world.city_manager),
        json!({ "title_id": title, "owner_library_id": world.city, "copies": 1 }),
    )
    .await;
    phone.borrow(&title, None).await.expect("borrow");
    phone
        .download(&title, Arc::new(Quiet))
        .await
        .expect("download");
    let keys_path = dir.path().join("keys.json");
    std::fs::write(&keys_path, &keys).expect("keys");
    drop(phone);
    let output = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args([
            "--measure-large",
            &dir.path().display().to_string(),
            &keys_path.display().to_string(),
            &title,
            &wall_ms.to_string(),
        ])
        .output()
        .expect("child");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    println!(
        "{megabytes} MB resource, separate process: {}",
        String::from_utf8_lossy(&output.stdout).trim()
    );
}
