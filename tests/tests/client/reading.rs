//! The whole loop on every book of the corpus: borrow, download, open, read every
//! resource, lay out, search, return.

use std::collections::HashSet;
use std::io::Read;
use std::sync::Arc;

use jieyue_client_core::{ClientError, DownloadOutcome, Typesetter, Viewport};
use jieyue_tests::{Backend, TestApp, TwoLibraries, corpus};

use crate::support::{Progress, fonts, phone};

/// The original bytes of every file of a corpus EPUB, and the fonts it obfuscated.
fn original(book: &str) -> (Vec<(String, Vec<u8>)>, HashSet<String>) {
    let file = std::fs::File::open(corpus(book)).expect("corpus");
    let mut zip = zip::ZipArchive::new(file).expect("zip");
    let mut entries = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).expect("entry");
        if entry.is_dir() {
            continue;
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).expect("read");
        entries.push((entry.name().expect("utf-8 name").into_owned(), bytes));
    }
    let obfuscated = entries
        .iter()
        .find(|(name, _)| name == "META-INF/encryption.xml")
        .map(|(_, xml)| {
            let xml = String::from_utf8_lossy(xml);
            xml.split("URI=\"")
                .skip(1)
                .filter_map(|s| s.split('"').next())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    (entries, obfuscated)
}

fn viewport() -> Viewport {
    Viewport {
        width: 360.0,
        height: 640.0,
        font_size: 18.0,
        line_height: 1.5,
        margin_top: 24.0,
        margin_right: 20.0,
        margin_bottom: 24.0,
        margin_left: 20.0,
    }
}

async fn round_trip(books: &[&str]) {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let world = TwoLibraries::create(&app).await;
    let phone = phone(&app, "city", "C1").await;
    let typesetter = Typesetter::new(fonts()).expect("fonts");
    for book in books {
        let title_id = app.title_with_copies(&world, book, 1).await;
        let details = phone.client.title(&title_id).await.expect("details");
        assert_eq!(
            details.availability.as_ref().map(|a| a.copies_available),
            Some(1)
        );

        let loan = phone.client.borrow(&title_id, None).await.expect("borrow");
        assert!(loan.licensed_here && !loan.downloaded, "{book}: {loan:?}");

        let progress = Arc::new(Progress::default());
        let outcome = phone
            .client
            .download(&title_id, progress.clone())
            .await
            .expect("download");
        let DownloadOutcome::Complete { bytes } = outcome else {
            panic!("{book}: {outcome:?}");
        };
        assert_eq!(bytes, details.package_size, "{book}");
        let calls = progress.calls.lock().expect("lock").clone();
        assert!(
            calls.windows(2).all(|w| w[0].0 <= w[1].0),
            "{book}: progress goes forward"
        );
        assert_eq!(calls.last().map(|c| c.0), Some(bytes), "{book}");

        let opened = phone.client.open_book(&title_id).expect("open");
        let metadata = opened.metadata();
        assert!(!metadata.title.is_empty(), "{book}");
        assert!(!opened.reading_order().is_empty(), "{book}");

        // Every file of the original EPUB reads back byte for byte (obfuscated fonts
        // come back de-obfuscated, so they render).
        let (entries, obfuscated) = original(book);
        for (path, bytes) in &entries {
            if path == "META-INF/encryption.xml" && !obfuscated.is_empty() {
                continue;
            }
            let resource = opened
                .resource(path)
                .unwrap_or_else(|e| panic!("{book}: {path}: {e}"));
            if obfuscated.contains(path) {
                assert_ne!(&resource.data, bytes, "{book}: {path} de-obfuscated");
                let magic = &resource.data[..4];
                assert!(
                    [b"\0\x01\0\0".as_slice(), b"OTTO", b"wOFF", b"wOF2", b"true"].contains(&magic),
                    "{book}: {path} is a font again ({magic:?})"
                );
            } else {
                assert_eq!(&resource.data, bytes, "{book}: {path}");
            }
        }

        // A range from the middle of the largest resource.
        let (path, bytes) = entries.iter().max_by_key(|(_, b)| b.len()).expect("files");
        if bytes.len() > 10_000 && !obfuscated.contains(path) {
            let (start, end) = (bytes.len() as u64 / 2, bytes.len() as u64 / 2 + 4096);
            let range = opened.resource_range(path, start, end).expect("range");
            assert_eq!(range, bytes[start as usize..end as usize], "{book}: range");
        }

        if metadata.layout == jieyue_client_core::Layout::Fixed {
            // Fixed layout: pages are images (or one-image documents) the app shows.
            let pages = opened.fixed_pages().expect("pages");
            assert_eq!(pages.len(), opened.reading_order().len(), "{book}");
            for page in &pages {
                // A page that is one image comes as that image; a composed page (text
                // over art) is a document for the app's web view.
                match &page.image_href {
                    Some(image) => {
                        let resource = opened.resource(image).expect("page image");
                        assert!(
                            resource.media_type.starts_with("image/"),
                            "{book}: {page:?}"
                        );
                    }
                    None => {
                        let resource = opened.resource(&page.href).expect("page document");
                        assert!(resource.media_type.contains("html"), "{book}: {page:?}");
                    }
                }
            }
            if book.contains("haruko") {
                assert!(
                    pages.iter().all(|p| p.image_href.is_some()),
                    "a comic is all images"
                );
            }
        } else {
            // Lay out the first text document and render its first page.
            let chapter = opened
                .reading_order()
                .iter()
                .position(|item| item.media_type.contains("html"))
                .unwrap_or_else(|| {
                    panic!("{book}: no text document in {:?}", opened.reading_order())
                });
            let layout = typesetter
                .layout_chapter(&opened, chapter as u32, viewport())
                .unwrap_or_else(|e| panic!("{book}: layout: {e}"));
            assert!(!layout.pages.is_empty(), "{book}");
            assert!(
                layout
                    .pages
                    .windows(2)
                    .all(|w| w[0].start <= w[1].start && w[0].end == w[1].start),
                "{book}: pages follow each other"
            );
            let png = typesetter
                .render_page_png(&layout.pages[0], viewport(), Some(&opened))
                .expect("render");
            assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{book}");
        }

        let returned = phone.client.return_loan(&loan.id).await.expect("return");
        assert_eq!(returned.state, jieyue_client_core::LoanState::Returned);
        assert!(
            !returned.licensed_here && !returned.downloaded,
            "{book}: {returned:?}"
        );
        // The open book stops reading at once: its key is gone, and it says why.
        assert!(
            matches!(
                opened.resource(&opened.reading_order()[0].href),
                Err(ClientError::Returned { .. })
            ),
            "{book}"
        );
        assert!(matches!(
            phone.client.open_book(&title_id),
            Err(ClientError::Returned { .. })
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_standard_epub_round_trips_through_the_client() {
    round_trip(&[
        "epub3/childrens-literature.epub",
        "epub3/georgia-cfi.epub",
        "epub3/haruko-jpeg.epub",
        "epub3/hefty-water.epub",
        "epub3/linear-algebra.epub",
        "epub3/moby-dick.epub",
        "epub3/regime-anticancer-arabic.epub",
        "epub3/sous-le-vent.epub",
        "epub3/wasteland-otf-obf.epub",
        "epub3/wasteland.epub",
    ])
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_chinese_classic_round_trips_through_the_client() {
    let mut books: Vec<String> = std::fs::read_dir(corpus("zh"))
        .expect("corpus")
        .filter_map(|e| e.ok())
        .map(|e| format!("zh/{}", e.file_name().to_string_lossy()))
        .filter(|name| name.ends_with(".epub"))
        .collect();
    books.sort();
    assert!(books.len() >= 10);
    let books: Vec<&str> = books.iter().map(String::as_str).collect();
    round_trip(&books).await;
}
