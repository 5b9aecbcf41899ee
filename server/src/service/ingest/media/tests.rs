use std::io::Cursor;
use std::path::Path;

use super::*;

/// A JPEG of `w`×`h` with a pattern that depends on `seed`.
pub(crate) fn jpeg(w: u32, h: u32, seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([
            (x as u8).wrapping_add(seed),
            (y as u8).wrapping_mul(3),
            seed,
        ])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("jpeg");
    out.into_inner()
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(w, h, |x, y| image::Rgba([x as u8, y as u8, 7, 255]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("dir");
    }
    std::fs::write(path, bytes).expect("write");
}

fn prepare_dir(dir: &Path) -> Result<Prepared, String> {
    let scratch = tempfile::tempdir().expect("scratch");
    let mut heard = Vec::new();
    let prepared = prepare(dir, scratch.path(), &mut |done, total| {
        heard.push((done, total))
    });
    if let Ok(p) = &prepared {
        assert!(
            heard.windows(2).all(|w| w[0].0 <= w[1].0),
            "progress goes up"
        );
        assert_eq!(heard.last().map(|(d, t)| d == t), Some(true), "{heard:?}");
        assert_eq!(heard.len(), p.manifest.reading_order.len());
    }
    prepared
}

#[test]
fn a_journal_issue_of_twenty_pages_in_natural_order_with_sizes_and_metadata() {
    let dir = tempfile::tempdir().expect("dir");
    for page in 1..=20u32 {
        // p1 … p20: natural order puts p2 before p10.
        let name = format!(
            "p{page}.{}",
            if page.is_multiple_of(5) { "png" } else { "jpg" }
        );
        let bytes = if page.is_multiple_of(5) {
            png(100 + page, 140)
        } else {
            jpeg(100 + page, 140, page as u8)
        };
        write(dir.path(), &name, &bytes);
    }
    write(dir.path(), ".DS_Store", b"litter");
    write(
        dir.path(),
        "metadata.toml",
        "title = \"中国国家地理\"\nissue = \"2024年第3期\"\ndate = \"2024-03\"\npublisher = \"中国国家地理杂志社\"\nlanguage = \"zh\"\nsubjects = [\"地理\", \"期刊\"]\n".as_bytes(),
    );
    let prepared = prepare_dir(dir.path()).expect("prepares");
    assert_eq!(prepared.kind, PublicationKind::PageImages);
    assert_eq!(prepared.metadata.title, "中国国家地理");
    assert_eq!(prepared.metadata.subtitle.as_deref(), Some("2024年第3期"));
    assert_eq!(prepared.metadata.published.as_deref(), Some("2024-03"));
    assert_eq!(prepared.metadata.subjects, vec!["地理", "期刊"]);
    assert_eq!(prepared.metadata.layout, Layout::Fixed);
    assert!(prepared.metadata.identifier.starts_with("urn:sha256:"));
    let order = &prepared.manifest.reading_order;
    assert_eq!(order.len(), 20);
    for (i, link) in order.iter().enumerate() {
        let page = i as u32 + 1;
        assert!(link.href.starts_with(&format!("p{page}.")), "{}", link.href);
        assert_eq!(link.width, Some(100 + page));
        assert_eq!(link.height, Some(140));
        let expected = if page.is_multiple_of(5) {
            "image/png"
        } else {
            "image/jpeg"
        };
        assert_eq!(link.media_type, expected);
    }
    assert_eq!(prepared.facts.items, Some(20));
    assert_eq!(prepared.manifest.metadata.number_of_pages, Some(20));
    assert_eq!(
        prepared.manifest.metadata.conforms_to,
        vec!["https://readium.org/webpub-manifest/profiles/divina"]
    );
    assert!(prepared.cover.is_some(), "the first page is the cover");
    // The same folder again: the same content hash (idempotent ingest).
    let again = prepare_dir(dir.path()).expect("prepares");
    assert_eq!(again.content_hash, prepared.content_hash);
    // One byte changed: another hash.
    write(dir.path(), "p3.jpg", &jpeg(103, 140, 99));
    assert_ne!(
        prepare_dir(dir.path()).expect("prepares").content_hash,
        prepared.content_hash
    );
}

#[test]
fn an_image_collection_carries_captions_and_thumbnails() {
    let dir = tempfile::tempdir().expect("dir");
    for i in 1..=3u32 {
        write(
            dir.path(),
            &format!("nianhua-{i}.jpg"),
            &jpeg(800, 600, i as u8),
        );
    }
    write(
        dir.path(),
        "metadata.toml",
        "title = \"杨柳青年画\"\n[captions]\n\"nianhua-1.jpg\" = \"连年有余\"\n\"nianhua-3.jpg\" = \"五子夺莲\"\n"
            .as_bytes(),
    );
    let prepared = prepare_dir(dir.path()).expect("prepares");
    assert_eq!(prepared.kind, PublicationKind::Images);
    assert_eq!(prepared.manifest.kind(), PublicationKind::Images);
    let order = &prepared.manifest.reading_order;
    assert_eq!(order[0].title.as_deref(), Some("连年有余"));
    assert_eq!(order[1].title, None);
    assert_eq!(order[2].title.as_deref(), Some("五子夺莲"));
    for link in order {
        let thumb = &link.alternate[0];
        assert_eq!(thumb.media_type, "image/jpeg");
        assert_eq!((thumb.width, thumb.height), (Some(320), Some(240)));
    }
    let sources = prepared.sources();
    assert_eq!(sources.len(), 6, "three images and three thumbnails");
}

#[test]
fn a_jpeg_whose_header_lies_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().expect("dir");
    write(dir.path(), "01.jpg", &jpeg(64, 48, 1));
    let mut liar = jpeg(64, 48, 2);
    // The SOF0 segment: FF C0, length, precision, then height and width.
    let sof = liar
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("baseline JPEG");
    liar[sof + 5..sof + 7].copy_from_slice(&4800u16.to_be_bytes());
    liar[sof + 7..sof + 9].copy_from_slice(&6400u16.to_be_bytes());
    write(dir.path(), "02.jpg", &liar);
    let error = prepare_dir(dir.path()).expect_err("refused");
    assert!(error.starts_with("02.jpg: "), "{error}");
    assert!(error.contains("6400×4800"), "{error}");
}

#[test]
fn bad_sources_get_errors_naming_what_is_wrong() {
    let empty = tempfile::tempdir().expect("dir");
    let error = prepare_dir(empty.path()).expect_err("empty");
    assert!(error.contains("holds no page images"), "{error}");

    let dir = tempfile::tempdir().expect("dir");
    write(dir.path(), "01.jpg", &jpeg(10, 10, 1));
    write(dir.path(), "notes.docx", b"PK");
    let error = prepare_dir(dir.path()).expect_err("stray file");
    assert!(error.starts_with("notes.docx: "), "{error}");

    let dir = tempfile::tempdir().expect("dir");
    write(dir.path(), "01.jpg", &jpeg(10, 10, 1));
    write(dir.path(), "metadata.toml", b"kind = \"novel\"\n");
    let error = prepare_dir(dir.path()).expect_err("bad kind");
    assert!(
        error.contains("metadata.toml") && error.contains("novel"),
        "{error}"
    );

    let dir = tempfile::tempdir().expect("dir");
    write(dir.path(), "01.jpg", &jpeg(10, 10, 1));
    write(dir.path(), "metadata.toml", b"title = \n");
    let error = prepare_dir(dir.path()).expect_err("bad toml");
    assert!(error.starts_with("metadata.toml: "), "{error}");

    let dir = tempfile::tempdir().expect("dir");
    write(dir.path(), "01.jpg", b"");
    let error = prepare_dir(dir.path()).expect_err("empty file");
    assert!(
        error.starts_with("01.jpg: ") && error.contains("empty"),
        "{error}"
    );

    let dir = tempfile::tempdir().expect("dir");
    write(dir.path(), "01.jpg", &jpeg(10, 10, 1));
    write(dir.path(), "02.mp3", b"ID3");
    let error = prepare_dir(dir.path()).expect_err("mixed");
    assert!(
        error.contains("02.mp3") || error.contains("01.jpg"),
        "{error}"
    );
}

#[test]
fn a_cbz_is_unpacked_and_read_like_a_folder() {
    let dir = tempfile::tempdir().expect("dir");
    let cbz = dir.path().join("comic.cbz");
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&cbz).expect("create"));
        for i in [10u32, 2, 1] {
            zip.start_file(
                format!("pages/{i:}.png"),
                zip::write::SimpleFileOptions::default(),
            )
            .expect("entry");
            std::io::Write::write_all(&mut zip, &png(20 + i, 30)).expect("write");
        }
        zip.start_file("__MACOSX/._1.png", zip::write::SimpleFileOptions::default())
            .expect("entry");
        zip.finish().expect("finish");
    }
    let prepared = prepare_dir(&cbz).expect("prepares");
    let hrefs: Vec<&str> = prepared
        .manifest
        .reading_order
        .iter()
        .map(|l| l.href.as_str())
        .collect();
    // One folder holds everything: names are relative to it, and it is the title.
    assert_eq!(hrefs, ["1.png", "2.png", "10.png"]);
    assert_eq!(prepared.metadata.title, "pages");
}

#[test]
fn natural_order_sorts_numbers_by_value() {
    let mut names = vec!["p10.jpg", "p2.jpg", "P1.jpg", "p02b.jpg", "cover.jpg"];
    names.sort_by_key(|n| natural_key(n));
    // Equal numbers: the shorter spelling after the zero-padded one, then the rest.
    assert_eq!(
        names,
        ["cover.jpg", "P1.jpg", "p02b.jpg", "p2.jpg", "p10.jpg"]
    );
}

#[test]
fn a_zip_bomb_is_refused_before_anything_is_unpacked() {
    let dir = tempfile::tempdir().expect("dir");
    let bomb = dir.path().join("pages.zip");
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&bomb).expect("create"));
        zip.start_file(
            "01.jpg",
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated),
        )
        .expect("entry");
        std::io::Write::write_all(&mut zip, &vec![0u8; 24 << 20]).expect("write");
        zip.finish().expect("finish");
    }
    let scratch = tempfile::tempdir().expect("scratch");
    let error = prepare(&bomb, scratch.path(), &mut |_, _| {}).expect_err("refused");
    assert!(error.contains("zip bomb"), "{error}");
    assert_eq!(
        std::fs::read_dir(scratch.path()).expect("scratch").count(),
        0,
        "nothing was unpacked"
    );
}

#[test]
fn a_zip_of_a_folder_reads_the_metadata_inside_it() {
    let dir = tempfile::tempdir().expect("dir");
    let archive = dir.path().join("upload.zip");
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&archive).expect("create"));
        for (name, bytes) in [
            (
                "年画/metadata.toml",
                "[captions]\n\"1.jpg\" = \"门神\"\n".as_bytes().to_vec(),
            ),
            ("年画/1.jpg", jeg(40, 30)),
            ("年画/2.jpg", jeg(40, 30)),
            ("__MACOSX/年画/._1.jpg", b"litter".to_vec()),
        ] {
            zip.start_file(name, zip::write::SimpleFileOptions::default())
                .expect("entry");
            std::io::Write::write_all(&mut zip, &bytes).expect("write");
        }
        zip.finish().expect("finish");
    }
    let prepared = prepare_dir(&archive).expect("prepares");
    assert_eq!(
        prepared.kind,
        PublicationKind::Images,
        "captions make a collection"
    );
    assert_eq!(prepared.metadata.title, "年画");
    assert_eq!(prepared.manifest.reading_order[0].href, "1.jpg");
    assert_eq!(
        prepared.manifest.reading_order[0].title.as_deref(),
        Some("门神")
    );
}

fn jeg(w: u32, h: u32) -> Vec<u8> {
    jpeg(w, h, 3)
}
