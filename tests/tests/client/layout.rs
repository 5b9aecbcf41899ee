//! Layout snapshots: page counts and break positions for a fixed viewport and fonts,
//! Chinese line-breaking rules, re-layout keeping the reader's place, PNG previews.

use std::sync::Arc;

use jieyue_client_core::{ChapterLayout, Typesetter, Viewport};
use jieyue_tests::{Backend, TestApp, TwoLibraries};

use crate::support::{Progress, fonts, phone};

fn viewport(font_size: f32) -> Viewport {
    Viewport {
        width: 360.0,
        height: 560.0,
        font_size,
        line_height: 1.6,
        margin_top: 20.0,
        margin_right: 18.0,
        margin_bottom: 20.0,
        margin_left: 18.0,
    }
}

/// The text of each line of a page (runs on one baseline joined).
fn lines(layout: &ChapterLayout, page: usize) -> Vec<String> {
    let mut lines: Vec<(f32, String)> = Vec::new();
    for run in &layout.pages[page].runs {
        match lines.last_mut() {
            Some((baseline, text)) if (*baseline - run.baseline).abs() < 0.5 => {
                text.push_str(&run.text)
            }
            _ => lines.push((run.baseline, run.text.clone())),
        }
    }
    lines.into_iter().map(|(_, t)| t).collect()
}

async fn open(
    app: &TestApp,
    world: &TwoLibraries,
    book: &str,
) -> (crate::support::Phone, jieyue_client_core::Book) {
    let title_id = app.title_with_copies(world, book, 1).await;
    let phone = phone(app, "city", "C1").await;
    phone.client.borrow(&title_id, None).await.expect("borrow");
    phone
        .client
        .download(&title_id, Arc::new(Progress::default()))
        .await
        .expect("download");
    let book = phone.client.open_book(&title_id).expect("open");
    (phone, book)
}

/// Compares page breaks with the snapshot checked in under `snapshots/`; run with
/// `UPDATE_SNAPSHOTS=1` to record new ones after a deliberate layout change.
fn check_snapshot(name: &str, layout: &ChapterLayout) {
    let actual = serde_json::json!({
        "href": layout.href,
        "text_length": layout.text_length,
        "pages": layout.pages.len(),
        "starts": layout.pages.iter().map(|p| p.start).collect::<Vec<_>>(),
    });
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/client/snapshots")
        .join(format!("{name}.json"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        let text = serde_json::to_string_pretty(&actual).expect("json");
        std::fs::write(&path, text + "\n").expect("write snapshot");
        return;
    }
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("{}: {e} (record with UPDATE_SNAPSHOTS=1)", path.display())
        }))
        .expect("snapshot json");
    assert_eq!(actual, expected, "page breaks of {name} changed");
}

fn snapshot_dir() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("layout-snapshots");
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

/// The largest text chapter of a book.
fn longest_chapter(book: &jieyue_client_core::Book) -> u32 {
    book.reading_order()
        .iter()
        .enumerate()
        .filter(|(_, item)| item.media_type.contains("html"))
        .max_by_key(|(_, item)| item.length)
        .map(|(i, _)| i as u32)
        .expect("a chapter")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chinese_pages_are_stable_and_follow_the_line_breaking_rules() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let world = TwoLibraries::create(&app).await;
    let (_phone, book) = open(&app, &world, "zh/mengzi.epub").await;
    let typesetter = Typesetter::new(fonts()).expect("fonts");
    let chapter = longest_chapter(&book);
    let layout = typesetter
        .layout_chapter(&book, chapter, viewport(18.0))
        .expect("layout");
    let again = typesetter
        .layout_chapter(&book, chapter, viewport(18.0))
        .expect("layout");
    assert_eq!(layout, again, "the same input gives the same pages");
    // A fresh typesetter (as on another device with the same fonts) agrees.
    let other = Typesetter::new(fonts()).expect("fonts");
    assert_eq!(
        other
            .layout_chapter(&book, chapter, viewport(18.0))
            .expect("layout"),
        layout
    );

    check_snapshot("mengzi-18px", &layout);
    assert!(layout.complete);
    // The first page alone, for a quick start, is the same first page.
    let first = typesetter
        .layout_pages(&book, chapter, viewport(18.0), 1)
        .expect("first page");
    assert_eq!(first.pages.len(), 1);
    assert!(!first.complete);
    assert_eq!(first.pages[0], layout.pages[0]);
    assert!(layout.pages.len() > 1, "a long chapter fills several pages");
    assert_eq!(layout.pages.last().map(|p| p.end), Some(layout.text_length));

    // No line starts with closing punctuation, and none ends with an opening one.
    let mut checked = 0;
    for page in 0..layout.pages.len() {
        for line in lines(&layout, page) {
            let first = line.chars().next().unwrap_or(' ');
            let last = line.chars().last().unwrap_or(' ');
            assert!(
                !"，。、；：？！」』）》〉".contains(first),
                "line starts with {first:?}: {line}"
            );
            assert!(
                !"「『（《〈".contains(last),
                "line ends with {last:?}: {line}"
            );
            checked += 1;
        }
    }
    assert!(checked > 20, "{checked} lines checked");

    // Bigger type: more pages, and the reader's place is kept.
    let big = typesetter
        .layout_chapter(&book, chapter, viewport(26.0))
        .expect("layout");
    assert!(big.pages.len() > layout.pages.len());
    check_snapshot("mengzi-26px", &big);
    let page = layout.pages.len() as u32 / 2;
    let progression = layout.progression_of_page(page);
    let locator = book.locator_at(chapter, progression).expect("locator");
    let moved = big.page_for_progression(locator.progression);
    let target = &big.pages[moved as usize];
    let offset = layout.pages[page as usize].start;
    assert!(
        target.start <= offset && offset < target.end.max(target.start + 1),
        "page {moved} holds offset {offset}"
    );

    for (index, page) in layout.pages.iter().take(2).enumerate() {
        let png = typesetter
            .render_page_png(page, viewport(18.0), Some(&book))
            .expect("png");
        std::fs::write(snapshot_dir().join(format!("mengzi-{index}.png")), &png).expect("write");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn english_and_right_to_left_pages() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let world = TwoLibraries::create(&app).await;
    let (_phone, book) = open(&app, &world, "epub3/moby-dick.epub").await;
    let typesetter = Typesetter::new(fonts()).expect("fonts");
    let chapter = longest_chapter(&book);
    let layout = typesetter
        .layout_chapter(&book, chapter, viewport(18.0))
        .expect("layout");
    assert!(layout.pages.len() > 3);
    // Lines follow the chapter's text in order, and every line break falls where a
    // break is allowed: at a space, the end of a block, after a hyphen or dash or
    // before a dash (UAX #14), never inside a word.
    let source: Vec<char> = jieyue_client_core::book::xhtml::parse(
        &book.resource(&layout.href).expect("chapter").data,
        &layout.href,
    )
    .text()
    .chars()
    .collect();
    let mut at = 0;
    let mut checked = 0;
    for page in 0..layout.pages.len() {
        for line in lines(&layout, page) {
            while at < source.len() && source[at].is_whitespace() {
                at += 1;
            }
            let line: Vec<char> = line.chars().collect();
            assert_eq!(
                source[at..(at + line.len()).min(source.len())],
                line[..],
                "line {checked} does not continue the text"
            );
            at += line.len();
            let last = line.last().copied().unwrap_or(' ');
            let allowed = at >= source.len()
                || source[at].is_whitespace()
                || "-‐–—/".contains(last)
                || "–—".contains(source[at]);
            assert!(
                allowed,
                "line {checked} breaks inside a word: {:?}",
                String::from_iter(&line)
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked} lines checked");
    // Lines fit the text column.
    for page in &layout.pages {
        for run in &page.runs {
            assert!(
                run.x >= 17.0 && run.x + run.width <= 360.0 - 18.0 + 1.0,
                "{run:?}"
            );
        }
    }
    let png = typesetter
        .render_page_png(&layout.pages[0], viewport(18.0), Some(&book))
        .expect("png");
    std::fs::write(snapshot_dir().join("moby-dick-0.png"), &png).expect("write");
    check_snapshot("moby-dick-18px", &layout);

    let (_phone2, arabic) = open(&app, &world, "epub3/regime-anticancer-arabic.epub").await;
    let arabic_fonts =
        vec![std::fs::read("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf").expect("font")];
    let typesetter = Typesetter::new(arabic_fonts).expect("fonts");
    let chapter = longest_chapter(&arabic);
    let layout = typesetter
        .layout_chapter(&arabic, chapter, viewport(18.0))
        .expect("layout");
    let rtl_runs = layout
        .pages
        .iter()
        .flat_map(|p| &p.runs)
        .filter(|r| r.rtl)
        .count();
    assert!(rtl_runs > 0, "Arabic paragraphs are laid out right to left");
    // Right-to-left lines are right-aligned: they end at the right margin.
    let right_edges: Vec<f32> = layout.pages[0]
        .runs
        .iter()
        .filter(|r| r.rtl)
        .map(|r| r.x + r.width)
        .collect();
    assert!(right_edges.iter().any(|e| *e > 300.0), "{right_edges:?}");
}

/// An EPUB whose reading order holds a JPEG, an SVG document and an XHTML chapter.
fn images_in_the_reading_order() -> Vec<u8> {
    use std::io::Write;
    let mut jpeg = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_pixel(300, 400, image::Rgb([200, 30, 30]))
        .write_to(&mut jpeg, image::ImageFormat::Jpeg)
        .expect("jpeg");
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 600 800"><rect width="600" height="800" fill="navy"/><text x="10" y="50">cover words</text></svg>"#;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let entries: [(&str, &[u8]); 6] = [
        ("mimetype", b"application/epub+zip"),
        ("META-INF/container.xml", br#"<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>"#),
        ("OEBPS/content.opf", br#"<?xml version="1.0" encoding="UTF-8"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="uid"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="uid">urn:test:images-in-spine</dc:identifier><dc:title>Pictures</dc:title><dc:language>en</dc:language><meta property="dcterms:modified">2026-01-01T00:00:00Z</meta></metadata><manifest><item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/><item id="p1" href="page1.jpg" media-type="image/jpeg"/><item id="p2" href="page2.svg" media-type="image/svg+xml"/><item id="c1" href="c1.xhtml" media-type="application/xhtml+xml"/></manifest><spine><itemref idref="p1"/><itemref idref="p2"/><itemref idref="c1"/></spine></package>"#),
        ("OEBPS/nav.xhtml", br#"<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><body><nav epub:type="toc"><ol><li><a href="c1.xhtml">One</a></li></ol></nav></body></html>"#),
        ("OEBPS/page2.svg", svg),
        ("OEBPS/c1.xhtml", br#"<html xmlns="http://www.w3.org/1999/xhtml"><body><p>Words after the pictures.</p></body></html>"#),
    ];
    for (name, bytes) in entries {
        zip.start_file(name, stored).expect("entry");
        zip.write_all(bytes).expect("write");
    }
    zip.start_file("OEBPS/page1.jpg", stored).expect("entry");
    zip.write_all(jpeg.get_ref()).expect("write");
    zip.finish().expect("zip").into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_and_svg_documents_in_the_reading_order_are_image_pages() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let world = TwoLibraries::create(&app).await;
    let upload = app
        .upload_bytes(&world.admin, "pictures.epub", images_in_the_reading_order())
        .await;
    assert!(upload.status.is_success(), "{upload:?}");
    let title_id = upload.body["title"]["id"].as_str().expect("id").to_owned();
    let lot = app
        .post(
            "/api/v1/admin/lots",
            Some(&world.city_manager),
            serde_json::json!({ "title_id": title_id, "owner_library_id": world.city, "copies": 1 }),
        )
        .await;
    assert!(lot.status.is_success(), "{lot:?}");
    let phone = phone(&app, "city", "C1").await;
    phone.client.borrow(&title_id, None).await.expect("borrow");
    phone
        .client
        .download(&title_id, Arc::new(Progress::default()))
        .await
        .expect("download");
    let book = phone.client.open_book(&title_id).expect("open");
    let typesetter = Typesetter::new(fonts()).expect("typesetter");
    let view = viewport(18.0);
    let content_width = view.width - view.margin_left - view.margin_right;

    for (chapter, href, (w, h)) in [
        (0u32, "OEBPS/page1.jpg", (300.0f32, 400.0f32)),
        (1, "OEBPS/page2.svg", (600.0, 800.0)),
    ] {
        let layout = typesetter
            .layout_chapter(&book, chapter, view)
            .expect("layout");
        assert_eq!(layout.pages.len(), 1, "{href}: one page");
        let page = &layout.pages[0];
        assert!(
            page.runs.is_empty(),
            "{href}: laid out as text: {:?}",
            page.runs.first()
        );
        assert_eq!(page.images.len(), 1, "{href}");
        let image = &page.images[0];
        assert!(
            image.href.ends_with(href.trim_start_matches("OEBPS/")),
            "{}",
            image.href
        );
        // The picture keeps its aspect and fits the page.
        assert!(
            (image.width / image.height - w / h).abs() < 0.01,
            "{image:?}"
        );
        assert!(image.width <= content_width + 0.5, "{image:?}");
    }
    let text = typesetter.layout_chapter(&book, 2, view).expect("layout");
    assert!(
        !text.pages[0].runs.is_empty(),
        "the chapter after them is text"
    );
}
