//! Package round trips on the real corpus, random access, tampering, broken inputs.

use std::io::{Cursor, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::*;
use crate::crypto::ContentKey;

pub(crate) fn corpus_books() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/corpus");
    let mut books = Vec::new();
    for dir in ["epub3", "zh"] {
        let dir = root.join(dir);
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("corpus missing at {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("dir entry").path();
            if path.extension().is_some_and(|e| e == "epub") {
                books.push(path);
            }
        }
    }
    books.sort();
    assert!(
        books.len() >= 30,
        "expected the whole corpus, found {}",
        books.len()
    );
    books
}

fn encrypt(epub: &[u8], key: &ContentKey) -> Result<(Vec<u8>, PackageSummary)> {
    let (out, summary) =
        encrypt_epub(Cursor::new(epub), Cursor::new(Vec::new()), key, &mut |_| {})?;
    Ok((out.into_inner(), summary))
}

fn original_entries(epub: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = ZipArchive::new(Cursor::new(epub)).expect("zip");
    let mut out = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).expect("entry");
        if entry.is_dir() {
            continue;
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).expect("read");
        out.push((entry.name().expect("utf-8 name").into_owned(), bytes));
    }
    out
}

#[test]
fn every_corpus_book_round_trips_byte_for_byte() {
    let key = ContentKey::from_bytes([0x5a; 32]);
    for book in corpus_books() {
        let epub = std::fs::read(&book).expect("read book");
        let (package, summary) =
            encrypt(&epub, &key).unwrap_or_else(|e| panic!("{}: {e}", book.display()));
        let mut reader = PackageReader::open(Cursor::new(&package), &key).expect("open");
        assert!(
            !summary.manifest.resources.is_empty(),
            "{}: nothing encrypted",
            book.display()
        );
        for (name, original) in original_entries(&epub) {
            if name == "META-INF/encryption.xml"
                && summary.manifest.resources.iter().any(|r| r.deobfuscated)
            {
                continue;
            }
            let decrypted = reader
                .read(&name)
                .unwrap_or_else(|e| panic!("{}: {name}: {e}", book.display()));
            let deobfuscated = summary
                .manifest
                .resource(&name)
                .is_some_and(|r| r.deobfuscated);
            if !deobfuscated {
                assert!(
                    decrypted == original,
                    "{}: {name} differs after the round trip",
                    book.display()
                );
            }
        }
        // The OPF and navigation stay clear; content does not.
        assert!(!reader.is_encrypted(&summary.opf_path));
        let mut raw = ZipArchive::new(Cursor::new(&package)).expect("zip");
        for resource in &summary.manifest.resources {
            let mut stored = Vec::new();
            raw.by_name(&resource.path)
                .expect("entry")
                .read_to_end(&mut stored)
                .expect("read");
            assert_eq!(stored.len() as u64, resource.encrypted_length);
        }
    }
}

#[test]
fn obfuscated_fonts_come_out_as_plain_fonts() {
    let book = corpus_books()
        .into_iter()
        .find(|b| b.ends_with("wasteland-otf-obf.epub"))
        .expect("book");
    let key = ContentKey::from_bytes([1; 32]);
    let original = std::fs::read(book).expect("read");
    let (package, summary) = encrypt(&original, &key).expect("encrypt");
    // Fonts are deflated like text: the package is about the size of the book (it was
    // 2.1 times larger when fonts were stored).
    assert!(
        package.len() * 100 < original.len() * 110,
        "package {} bytes for a {}-byte book",
        package.len(),
        original.len()
    );
    let fonts: Vec<_> = summary
        .manifest
        .resources
        .iter()
        .filter(|r| r.deobfuscated)
        .collect();
    assert!(!fonts.is_empty(), "the obfuscated fonts were found");
    let mut reader = PackageReader::open(Cursor::new(&package), &key).expect("open");
    for font in fonts {
        let bytes = reader.read(&font.path).expect("font");
        assert_eq!(
            &bytes[..4],
            b"OTTO",
            "{} is a plain OpenType font again",
            font.path
        );
    }
    assert!(
        !reader
            .paths()
            .iter()
            .any(|p| p == "META-INF/encryption.xml")
    );
}

/// A reader that counts the bytes read through it.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl<R: Seek> Seek for Counting<R> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

fn epub_with(extra: &[(&str, &[u8], &str)]) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    zip.start_file("mimetype", stored).expect("mimetype");
    zip.write_all(b"application/epub+zip").expect("write");
    zip.start_file("META-INF/container.xml", SimpleFileOptions::default())
        .expect("container");
    zip.write_all(
        br#"<?xml version="1.0"?><container xmlns="urn:oasis:names:tc:opendocument:xmlns:container" version="1.0"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>"#,
    )
    .expect("write");
    let mut items = String::new();
    for (i, (path, _, media)) in extra.iter().enumerate() {
        let href = path.trim_start_matches("OEBPS/");
        items.push_str(&format!(
            r#"<item id="i{i}" href="{href}" media-type="{media}"/>"#
        ));
    }
    let opf = format!(
        r#"<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="uid"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="uid">urn:test</dc:identifier><dc:title>t</dc:title></metadata><manifest>{items}</manifest><spine><itemref idref="i0"/></spine></package>"#
    );
    zip.start_file("OEBPS/content.opf", SimpleFileOptions::default())
        .expect("opf");
    zip.write_all(opf.as_bytes()).expect("write");
    for (path, bytes, _) in extra {
        zip.start_file(*path, SimpleFileOptions::default())
            .expect("file");
        zip.write_all(bytes).expect("write");
    }
    zip.finish().expect("finish").into_inner()
}

#[test]
fn a_range_from_the_middle_reads_only_the_covering_chunks() {
    // A 6 MiB image: 96 chunks.
    let image: Vec<u8> = (0..6 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    let epub = epub_with(&[
        ("OEBPS/page.xhtml", b"<html/>", "application/xhtml+xml"),
        ("OEBPS/big.jpg", &image, "image/jpeg"),
    ]);
    let key = ContentKey::from_bytes([3; 32]);
    let (package, _) = encrypt(&epub, &key).expect("encrypt");

    let counter = Arc::new(AtomicU64::new(0));
    let source = Counting {
        inner: Cursor::new(&package),
        read: counter.clone(),
    };
    let mut reader = PackageReader::open(source, &key).expect("open");
    let start = 3 * 1024 * 1024 + 1000;
    counter.store(0, Ordering::Relaxed);
    let range = reader
        .read_range("OEBPS/big.jpg", start, start + 4096)
        .expect("range");
    let read = counter.load(Ordering::Relaxed);

    assert_eq!(range, image[start as usize..start as usize + 4096]);
    // One chunk (plus the ZIP local header), not the 6 MiB resource.
    assert!(
        read <= ENCRYPTED_CHUNK_SIZE as u64 + 1024,
        "read {read} bytes for a 4 KiB range"
    );

    // A range straddling a chunk boundary reads exactly two chunks.
    counter.store(0, Ordering::Relaxed);
    let boundary = CHUNK_SIZE as u64 * 10 - 100;
    let range = reader
        .read_range("OEBPS/big.jpg", boundary, boundary + 200)
        .expect("range");
    assert_eq!(range, image[boundary as usize..boundary as usize + 200]);
    assert!(counter.load(Ordering::Relaxed) <= 2 * ENCRYPTED_CHUNK_SIZE as u64 + 1024);

    assert!(matches!(
        reader.read_range("OEBPS/big.jpg", 0, image.len() as u64 + 1),
        Err(PackageError::Range { .. })
    ));
    assert!(matches!(
        reader.read("OEBPS/nothing.png"),
        Err(PackageError::NotFound(_))
    ));
}

#[test]
fn ranges_of_compressed_text_are_exact() {
    let text = "子曰：學而時習之，不亦說乎？".repeat(20_000);
    let epub = epub_with(&[("OEBPS/c1.xhtml", text.as_bytes(), "application/xhtml+xml")]);
    let key = ContentKey::from_bytes([4; 32]);
    let (package, summary) = encrypt(&epub, &key).expect("encrypt");
    let resource = summary
        .manifest
        .resource("OEBPS/c1.xhtml")
        .expect("encrypted");
    assert_eq!(resource.compression, Compression::Deflate);
    assert!(
        resource.encrypted_length < resource.original_length / 4,
        "text was deflated"
    );
    let mut reader = PackageReader::open(Cursor::new(&package), &key).expect("open");
    let range = reader
        .read_range("OEBPS/c1.xhtml", 100_000, 100_300)
        .expect("range");
    assert_eq!(range, &text.as_bytes()[100_000..100_300]);
}

#[test]
fn a_wrong_key_is_named_as_such() {
    let epub = epub_with(&[("OEBPS/c1.xhtml", b"<html/>", "application/xhtml+xml")]);
    let (package, _) = encrypt(&epub, &ContentKey::from_bytes([1; 32])).expect("encrypt");
    let err = PackageReader::open(Cursor::new(&package), &ContentKey::from_bytes([2; 32]))
        .expect_err("wrong key");
    assert!(matches!(err, PackageError::WrongKey));
}

/// Replaces the stored bytes of `path` inside a package (same length).
fn with_stored(package: &[u8], path: &str, edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut edit = Some(edit);
    let mut archive = ZipArchive::new(Cursor::new(package)).expect("zip");
    let mut out = ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let name = archive
            .by_index_raw(i)
            .expect("entry")
            .name()
            .expect("utf-8 name")
            .into_owned();
        if name == path {
            let mut bytes = Vec::new();
            archive
                .by_index(i)
                .expect("entry")
                .read_to_end(&mut bytes)
                .expect("read");
            if let Some(edit) = edit.take() {
                edit(&mut bytes);
            }
            out.start_file(
                name,
                SimpleFileOptions::default().compression_method(CompressionMethod::Stored),
            )
            .expect("start");
            out.write_all(&bytes).expect("write");
        } else {
            out.raw_copy_file(archive.by_index_raw(i).expect("entry"))
                .expect("copy");
        }
    }
    out.finish().expect("finish").into_inner()
}

#[test]
fn tampered_chunks_truncation_and_swaps_are_corrupt() {
    let a: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
    let b: Vec<u8> = (0..200_000u32).map(|i| (i / 3) as u8).collect();
    let epub = epub_with(&[
        ("OEBPS/a.png", &a, "image/png"),
        ("OEBPS/b.png", &b, "image/png"),
    ]);
    let key = ContentKey::from_bytes([6; 32]);
    let (package, _) = encrypt(&epub, &key).expect("encrypt");

    let flipped = with_stored(&package, "OEBPS/a.png", |bytes| bytes[70_000] ^= 0x20);
    let mut reader = PackageReader::open(Cursor::new(&flipped), &key).expect("open");
    assert!(matches!(
        reader.read("OEBPS/a.png"),
        Err(PackageError::Corrupt(_))
    ));
    // Chunks that were not touched still read.
    assert_eq!(
        reader
            .read_range("OEBPS/a.png", 0, 1000)
            .expect("first chunk"),
        a[..1000]
    );

    let truncated = with_stored(&package, "OEBPS/a.png", |bytes| {
        bytes.truncate(2 * ENCRYPTED_CHUNK_SIZE)
    });
    let mut reader = PackageReader::open(Cursor::new(&truncated), &key).expect("open");
    assert!(matches!(
        reader.read("OEBPS/a.png"),
        Err(PackageError::Corrupt(_))
    ));

    // b's first chunk moved into a's place: same position, other resource.
    let mut b_stored = Vec::new();
    ZipArchive::new(Cursor::new(&package))
        .expect("zip")
        .by_name("OEBPS/b.png")
        .expect("b")
        .read_to_end(&mut b_stored)
        .expect("read");
    let swapped = with_stored(&package, "OEBPS/a.png", |bytes| {
        bytes[..ENCRYPTED_CHUNK_SIZE].copy_from_slice(&b_stored[..ENCRYPTED_CHUNK_SIZE]);
    });
    let mut reader = PackageReader::open(Cursor::new(&swapped), &key).expect("open");
    assert!(matches!(
        reader.read_range("OEBPS/a.png", 0, 10),
        Err(PackageError::Corrupt(_))
    ));
}

#[test]
fn broken_epubs_are_refused_with_a_reason() {
    let key = ContentKey::from_bytes([7; 32]);
    let good = epub_with(&[("OEBPS/c1.xhtml", b"<html/>", "application/xhtml+xml")]);

    let truncated = &good[..good.len() / 2];
    assert!(
        matches!(encrypt(truncated, &key), Err(PackageError::InvalidEpub(m)) if m.contains("ZIP"))
    );

    let missing_opf = {
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        zip.start_file("mimetype", SimpleFileOptions::default())
            .expect("start");
        zip.write_all(b"application/epub+zip").expect("write");
        zip.start_file("META-INF/container.xml", SimpleFileOptions::default())
            .expect("start");
        zip.write_all(br#"<container><rootfiles><rootfile full-path="OEBPS/content.opf"/></rootfiles></container>"#)
            .expect("write");
        zip.finish().expect("finish").into_inner()
    };
    assert!(
        matches!(encrypt(&missing_opf, &key), Err(PackageError::InvalidEpub(m)) if m.contains("OEBPS/content.opf is missing"))
    );

    let bad_xml = epub_with(&[(
        "OEBPS/c1.xhtml",
        b"<html/>",
        "application/xhtml+xml\"><broken",
    )]);
    assert!(
        matches!(encrypt(&bad_xml, &key), Err(PackageError::InvalidEpub(m)) if m.contains("XML"))
    );

    let traversal = {
        let mut bytes = good.clone();
        let mut zip = ZipWriter::new_append(Cursor::new(&mut bytes)).expect("append");
        zip.start_file("../../x", SimpleFileOptions::default())
            .expect("start");
        zip.write_all(b"pwned").expect("write");
        zip.finish().expect("finish");
        bytes
    };
    assert!(
        matches!(encrypt(&traversal, &key), Err(PackageError::UnsafePath(p)) if p == "../../x")
    );

    // The OPF lists a chapter the archive does not hold.
    let listed_but_missing = {
        let mut archive = ZipArchive::new(Cursor::new(&good)).expect("zip");
        let mut out = ZipWriter::new(Cursor::new(Vec::new()));
        for i in 0..archive.len() {
            let entry = archive.by_index_raw(i).expect("entry");
            if entry.name().expect("name") != "OEBPS/c1.xhtml" {
                out.raw_copy_file(entry).expect("copy");
            }
        }
        out.finish().expect("finish").into_inner()
    };
    assert!(
        matches!(encrypt(&listed_but_missing, &key), Err(PackageError::InvalidEpub(m)) if m.contains("OEBPS/c1.xhtml"))
    );

    let not_epub_mimetype = {
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        zip.start_file("mimetype", SimpleFileOptions::default())
            .expect("start");
        zip.write_all(b"application/zip").expect("write");
        zip.finish().expect("finish").into_inner()
    };
    assert!(
        matches!(encrypt(&not_epub_mimetype, &key), Err(PackageError::InvalidEpub(m)) if m.contains("mimetype"))
    );
}

/// An image large enough to be sealed in several batches, and an EPUB holding it.
fn big_image_epub(len: usize) -> (Vec<u8>, Vec<u8>) {
    // Noise (a 64-bit LCG's top byte): like a real JPEG, it does not compress.
    let mut state = 0x853c_49e6_748f_ea9b_u64;
    let image: Vec<u8> = (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as u8
        })
        .collect();
    let epub = epub_with(&[
        ("OEBPS/page.xhtml", b"<html/>", "application/xhtml+xml"),
        ("OEBPS/big.jpg", &image, "image/jpeg"),
    ]);
    (image, epub)
}

#[test]
fn every_thread_count_makes_a_package_that_reads_back() {
    let (image, epub) = big_image_epub(3 * 1024 * 1024 + 12_345);
    let key = ContentKey::from_bytes([4; 32]);
    for threads in [1, 2, 3] {
        let options =
            EncryptOptions::with_threads(std::num::NonZeroUsize::new(threads).expect("non-zero"));
        let mut heard = Vec::new();
        let (package, summary) = encrypt_epub_with_options(
            Cursor::new(&epub),
            Cursor::new(Vec::new()),
            &key,
            &options,
            &mut |p| heard.push(p.bytes_done),
        )
        .expect("encrypt");
        let resource = summary.manifest.resource("OEBPS/big.jpg").expect("listed");
        assert_eq!(resource.original_length, image.len() as u64);
        assert!(heard.windows(2).all(|w| w[0] <= w[1]), "progress goes up");
        let mut reader =
            PackageReader::open(Cursor::new(package.into_inner()), &key).expect("open");
        assert!(
            reader.read("OEBPS/big.jpg").expect("read") == image,
            "threads {threads}"
        );
    }
}

#[test]
fn reading_into_a_vector_and_streaming_agree_on_every_range() {
    let (image, epub) = big_image_epub(1024 * 1024 + 777);
    let key = ContentKey::from_bytes([6; 32]);
    let (package, _) = encrypt(&epub, &key).expect("encrypt");
    let mut reader = PackageReader::open(Cursor::new(&package), &key).expect("open");
    let chunk = CHUNK_SIZE as u64;
    let length = image.len() as u64;
    for (start, end) in [
        (0, length),
        (0, 0),
        (chunk, chunk),
        (0, chunk),
        (chunk, 3 * chunk),
        (chunk - 1, chunk + 1),
        (5 * chunk + 17, 9 * chunk - 3),
        (length - 1, length),
        (length - 800, length),
        (16 * chunk, length),
    ] {
        let want = &image[start as usize..end as usize];
        let read = reader
            .read_range("OEBPS/big.jpg", start, end)
            .expect("read");
        assert!(read == want, "read_range {start}..{end}");
    }
    let mut streamed = Vec::new();
    assert_eq!(
        reader
            .copy_to("OEBPS/big.jpg", &mut streamed)
            .expect("copy"),
        length
    );
    assert!(streamed == image);
}

#[test]
fn a_damaged_source_is_an_invalid_epub_on_any_thread_count() {
    let (image, mut epub) = big_image_epub(2 * 1024 * 1024);
    // The image does not compress, so its bytes sit verbatim in the archive: change one
    // in the middle and the source's CRC-32 no longer matches.
    let probe = &image[1024 * 1024..1024 * 1024 + 64];
    let at = epub
        .windows(probe.len())
        .position(|w| w == probe)
        .expect("image bytes in the archive");
    epub[at + 10] ^= 0x01;
    let key = ContentKey::from_bytes([8; 32]);
    for threads in [1, 2] {
        let options =
            EncryptOptions::with_threads(std::num::NonZeroUsize::new(threads).expect("non-zero"));
        let result = encrypt_epub_with_options(
            Cursor::new(&epub),
            Cursor::new(Vec::new()),
            &key,
            &options,
            &mut |_| {},
        );
        assert!(
            matches!(&result, Err(PackageError::InvalidEpub(m)) if m.contains("OEBPS/big.jpg")),
            "threads {threads}: {:?}",
            result.err()
        );
    }
}

/// An output that fills up after `limit` bytes, as a full disk does.
struct FullDisk {
    inner: Cursor<Vec<u8>>,
    limit: u64,
}

impl Write for FullDisk {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.inner.position() + buf.len() as u64 > self.limit {
            return Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "no space left on device",
            ));
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Seek for FullDisk {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

#[test]
fn a_full_disk_is_an_io_error_on_any_thread_count() {
    let (_, epub) = big_image_epub(3 * 1024 * 1024);
    let key = ContentKey::from_bytes([9; 32]);
    for threads in [1, 2] {
        let options =
            EncryptOptions::with_threads(std::num::NonZeroUsize::new(threads).expect("non-zero"));
        let result = encrypt_epub_with_options(
            Cursor::new(&epub),
            FullDisk {
                inner: Cursor::new(Vec::new()),
                limit: 1024 * 1024,
            },
            &key,
            &options,
            &mut |_| {},
        );
        assert!(
            matches!(&result, Err(PackageError::Io(e)) if e.kind() == std::io::ErrorKind::StorageFull),
            "threads {threads}: {:?}",
            result.err()
        );
    }
}

/// An EPUB with `listed` resources in the OPF, `unlisted` entries beside them, and
/// `opf_padding` inside the OPF (an XML comment).
fn hostile_epub(
    listed: &[(&str, &[u8], &str)],
    unlisted: &[(&str, &[u8])],
    opf_padding: &str,
) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    zip.start_file("mimetype", stored).expect("mimetype");
    zip.write_all(b"application/epub+zip").expect("write");
    zip.start_file("META-INF/container.xml", deflated)
        .expect("container");
    zip.write_all(
        br#"<?xml version="1.0"?><container xmlns="urn:oasis:names:tc:opendocument:xmlns:container" version="1.0"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>"#,
    )
    .expect("write");
    let mut items = String::new();
    for (i, (path, _, media)) in listed.iter().enumerate() {
        let href = path.trim_start_matches("OEBPS/");
        items.push_str(&format!(
            r#"<item id="i{i}" href="{href}" media-type="{media}"/>"#
        ));
    }
    let opf = format!(
        r#"<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="uid"><!--{opf_padding}--><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="uid">urn:test</dc:identifier><dc:title>t</dc:title></metadata><manifest>{items}</manifest><spine><itemref idref="i0"/></spine></package>"#
    );
    zip.start_file("OEBPS/content.opf", deflated).expect("opf");
    zip.write_all(opf.as_bytes()).expect("write");
    for (path, bytes) in listed
        .iter()
        .map(|(p, b, _)| (*p, *b))
        .chain(unlisted.iter().copied())
    {
        zip.start_file(path, deflated).expect("file");
        zip.write_all(bytes).expect("write");
    }
    zip.finish().expect("finish").into_inner()
}

fn refusal(epub: &[u8]) -> PackageError {
    let checked = check_epub(Cursor::new(epub), &Limits::default());
    let encrypted = encrypt(epub, &ContentKey::from_bytes([3; 32]));
    let (Err(checked), Err(encrypted)) = (checked, encrypted) else {
        panic!("the archive was accepted");
    };
    assert_eq!(
        checked.to_string(),
        encrypted.to_string(),
        "both paths refuse alike"
    );
    checked
}

#[test]
fn zip_bombs_are_refused_from_the_central_directory_naming_the_entry() {
    let zeros = vec![0u8; 64 << 20];
    let chapter = b"<html xmlns=\"http://www.w3.org/1999/xhtml\"><body><p>x</p></body></html>";
    let listed = hostile_epub(
        &[
            ("OEBPS/c1.xhtml", chapter, "application/xhtml+xml"),
            ("OEBPS/bomb.xhtml", &zeros, "application/xhtml+xml"),
        ],
        &[],
        "",
    );
    let unlisted = hostile_epub(
        &[("OEBPS/c1.xhtml", chapter, "application/xhtml+xml")],
        &[("OEBPS/bomb.bin", &zeros)],
        "",
    );
    for (epub, entry) in [(listed, "OEBPS/bomb.xhtml"), (unlisted, "OEBPS/bomb.bin")] {
        assert!(epub.len() < 1 << 20, "the bomb is small: {}", epub.len());
        let err = refusal(&epub);
        assert!(
            matches!(&err, PackageError::InvalidEpub(m) if m.contains(entry) && m.contains("zip bomb")),
            "{err}"
        );
    }
}

#[test]
fn limits_bound_one_entry_and_the_whole_book() {
    let noise: Vec<u8> = (0..4000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    let epub = hostile_epub(
        &[
            ("OEBPS/c1.xhtml", b"<html/>", "application/xhtml+xml"),
            ("OEBPS/a.png", &noise, "image/png"),
            ("OEBPS/b.png", &noise, "image/png"),
        ],
        &[],
        "",
    );
    let one = Limits {
        max_entry_bytes: 3000,
        ..Limits::default()
    };
    let err = check_epub(Cursor::new(&epub), &one).expect_err("entry too large");
    assert!(err.to_string().contains("OEBPS/a.png"), "{err}");
    let whole = Limits {
        max_total_bytes: 6000,
        ..Limits::default()
    };
    let err = check_epub(Cursor::new(&epub), &whole).expect_err("book too large");
    assert!(err.to_string().contains("unpacks to more than"), "{err}");
    let options = EncryptOptions::single_threaded().with_limits(one);
    let refused = encrypt_epub_with_options(
        Cursor::new(&epub),
        Cursor::new(Vec::new()),
        &ContentKey::from_bytes([3; 32]),
        &options,
        &mut |_| {},
    );
    assert!(refused.is_err(), "the writer applies its options' limits");
    assert!(check_epub(Cursor::new(&epub), &Limits::default()).is_ok());
}

#[test]
fn a_huge_opf_is_refused_by_its_declared_size() {
    // Hex noise: it compresses about 2:1, so the ratio check does not catch it first.
    let padding: String = (0..(17u32 << 20) / 8)
        .map(|i| format!("{:08x}", i.wrapping_mul(2654435761)))
        .collect();
    let epub = hostile_epub(
        &[("OEBPS/c1.xhtml", b"<html/>", "application/xhtml+xml")],
        &[],
        &padding,
    );
    let err = refusal(&epub);
    assert!(
        matches!(&err, PackageError::InvalidEpub(m) if m.contains("OEBPS/content.opf") && m.contains("implausibly large")),
        "{err}"
    );
}

#[test]
fn an_entry_named_twice_is_refused() {
    let epub = hostile_epub(
        &[
            (
                "OEBPS/c1.xhtml",
                b"<html>one</html>",
                "application/xhtml+xml",
            ),
            (
                "OEBPS/c2.xhtml",
                b"<html>two</html>",
                "application/xhtml+xml",
            ),
        ],
        &[],
        "",
    );
    // Rename the second entry to the first's name, in its local and central headers.
    let (from, to) = (b"OEBPS/c2.xhtml", b"OEBPS/c1.xhtml");
    let mut twin = epub.clone();
    let mut renamed = 0;
    let mut at = 0;
    while let Some(offset) = twin[at..].windows(from.len()).position(|w| w == from) {
        twin[at + offset..at + offset + from.len()].copy_from_slice(to);
        at += offset + from.len();
        renamed += 1;
    }
    assert_eq!(renamed, 2, "one local and one central header");
    let err = refusal(&twin);
    assert!(err.to_string().contains("more than once"), "{err}");
}

#[test]
fn protected_books_are_named_as_such() {
    let chapter: &[u8] = b"<html/>";
    let plain = hostile_epub(
        &[("OEBPS/c1.xhtml", chapter, "application/xhtml+xml")],
        &[],
        "",
    );
    let (package, _) = encrypt(&plain, &ContentKey::from_bytes([3; 32])).expect("encrypt");
    let lcp = hostile_epub(
        &[("OEBPS/c1.xhtml", chapter, "application/xhtml+xml")],
        &[("META-INF/license.lcpl", b"{}")],
        "",
    );
    let adobe = hostile_epub(
        &[("OEBPS/c1.xhtml", chapter, "application/xhtml+xml")],
        &[("META-INF/rights.xml", b"<rights/>")],
        "",
    );
    let aes = hostile_epub(
        &[("OEBPS/c1.xhtml", chapter, "application/xhtml+xml")],
        &[(
            "META-INF/encryption.xml",
            br#"<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData><enc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes256-cbc"/><enc:CipherData><enc:CipherReference URI="OEBPS/c1.xhtml"/></enc:CipherData></enc:EncryptedData></encryption>"#,
        )],
        "",
    );
    for (epub, by) in [
        (package, "Jieyue package"),
        (lcp, "Readium LCP"),
        (adobe, "Adobe ADEPT"),
        (aes, "aes256-cbc"),
    ] {
        let err = refusal(&epub);
        assert!(
            matches!(&err, PackageError::AlreadyProtected(m) if m.contains(by)),
            "{by}: {err}"
        );
    }
}
