//! Criterion benchmarks of the protocol's cryptography, each beside its baseline in the
//! same run: package encryption and decryption against a bare ring AES-256-GCM seal or
//! open of the same bytes, random-access reads, licence issue and verification.
//!
//! `cargo bench -p jieyue-protocol --bench crypto`; figures go to docs/benchmarks.md.

#![allow(missing_docs, clippy::expect_used)]

use std::hint::black_box;
use std::io::{Cursor, Write};

use chrono::Utc;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jieyue_protocol::licence::{self, LicenceTerms, Links, Rights};
use jieyue_protocol::package::{
    Compression, EncryptOptions, PackageReader, decrypt_resource_range, encrypt_epub,
    encrypt_epub_with_options, encrypt_resource,
};
use jieyue_protocol::{ContentKey, DeviceKey, KeySet, SigningKey};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use uuid::Uuid;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

const RESOURCE: usize = 8 * 1024 * 1024;

fn payload() -> Vec<u8> {
    (0..RESOURCE as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect()
}

/// A minimal EPUB holding one 8 MiB image (stored, as images are).
fn epub(image: &[u8]) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    zip.start_file("mimetype", stored).expect("zip");
    zip.write_all(b"application/epub+zip").expect("zip");
    zip.start_file("META-INF/container.xml", stored)
        .expect("zip");
    zip.write_all(
        br#"<container><rootfiles><rootfile full-path="content.opf"/></rootfiles></container>"#,
    )
    .expect("zip");
    zip.start_file("content.opf", stored).expect("zip");
    zip.write_all(
        br#"<package unique-identifier="u"><metadata><identifier id="u">x</identifier></metadata><manifest><item id="i" href="big.jpg" media-type="image/jpeg"/></manifest><spine/></package>"#,
    )
    .expect("zip");
    zip.start_file("big.jpg", stored).expect("zip");
    zip.write_all(image).expect("zip");
    zip.finish().expect("zip").into_inner()
}

fn ring_key() -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7; 32]).expect("key"))
}

fn package_throughput(c: &mut Criterion) {
    let image = payload();
    let source = epub(&image);
    let key = ContentKey::from_bytes([7; 32]);
    let mut group = c.benchmark_group("package_8MiB");
    group.throughput(Throughput::Bytes(RESOURCE as u64));
    group.sample_size(20);

    group.bench_function("baseline_ring_seal", |b| {
        let key = ring_key();
        let mut buf = image.clone();
        b.iter(|| {
            let tag = key
                .seal_in_place_separate_tag(
                    Nonce::assume_unique_for_key([1; 12]),
                    Aad::empty(),
                    &mut buf,
                )
                .expect("seal");
            let _ = black_box(tag);
        });
    });
    // ring seals in place only, so sealing bytes that live elsewhere (as a stream does)
    // means copying them into a buffer first: this is that baseline.
    group.bench_function("baseline_ring_copy_and_seal", |b| {
        let key = ring_key();
        let mut buf = vec![0u8; RESOURCE];
        b.iter(|| {
            buf.copy_from_slice(&image);
            let tag = key
                .seal_in_place_separate_tag(
                    Nonce::assume_unique_for_key([1; 12]),
                    Aad::empty(),
                    &mut buf,
                )
                .expect("seal");
            let _ = black_box(tag);
        });
    });
    // The least any streaming use of ring does: read a piece into a buffer, seal it in
    // place, write it out (64 KiB pieces, no framing, no nonces per piece).
    group.bench_function("baseline_ring_read_seal_write", |b| {
        let key = ring_key();
        let mut piece = vec![0u8; 64 * 1024 + 16];
        let mut out = Vec::with_capacity(RESOURCE + 4096);
        b.iter(|| {
            out.clear();
            for chunk in image.chunks(64 * 1024) {
                let buf = &mut piece[..chunk.len()];
                buf.copy_from_slice(chunk);
                let tag = key
                    .seal_in_place_separate_tag(
                        Nonce::assume_unique_for_key([1; 12]),
                        Aad::empty(),
                        buf,
                    )
                    .expect("seal");
                out.extend_from_slice(buf);
                out.extend_from_slice(tag.as_ref());
            }
            black_box(out.len());
        });
    });
    // The package writer on one thread, and on as many as it uses by default (one per
    // core, at most four): the name says how many.
    let mut configurations = vec![EncryptOptions::single_threaded()];
    if EncryptOptions::default().threads().get() > 1 {
        configurations.push(EncryptOptions::default());
    }
    for options in configurations {
        let n = options.threads().get();
        group.bench_function(format!("encrypt_package_{n}_thread"), |b| {
            let mut out = Vec::with_capacity(source.len() + 1024 * 1024);
            b.iter(|| {
                out.clear();
                let (cursor, _) = encrypt_epub_with_options(
                    Cursor::new(&source),
                    Cursor::new(&mut out),
                    &key,
                    &options,
                    &mut |_| {},
                )
                .expect("encrypt");
                black_box(cursor);
            });
        });
        // The chunk stream alone: what the package's cryptography costs without the ZIP
        // container (whose format requires a CRC-32 of every entry, read and written).
        group.bench_function(format!("encrypt_stream_{n}_thread"), |b| {
            let mut out = Vec::with_capacity(RESOURCE + 4096);
            b.iter(|| {
                out.clear();
                let resource = encrypt_resource(
                    &key,
                    "big.jpg",
                    Compression::None,
                    RESOURCE as u64,
                    &mut &image[..],
                    &mut out,
                    &options,
                    &mut |_| {},
                )
                .expect("encrypt");
                black_box(resource);
            });
        });
    }
    let mut stream = Vec::new();
    let stream_resource = encrypt_resource(
        &key,
        "big.jpg",
        Compression::None,
        RESOURCE as u64,
        &mut &image[..],
        &mut stream,
        &EncryptOptions::default(),
        &mut |_| {},
    )
    .expect("encrypt");
    // Decryption is single-threaded: a reader asks for one resource or range at a time.
    group.bench_function("decrypt_stream_to_writer", |b| {
        let mut encrypted = Cursor::new(&stream);
        let mut out = Vec::with_capacity(RESOURCE);
        b.iter(|| {
            out.clear();
            decrypt_resource_range(
                &key,
                &stream_resource,
                &mut encrypted,
                0,
                RESOURCE as u64,
                &mut out,
            )
            .expect("decrypt");
            black_box(out.len());
        });
    });

    let (package, _) = encrypt_epub(
        Cursor::new(&source),
        Cursor::new(Vec::new()),
        &key,
        &mut |_| {},
    )
    .expect("encrypt");
    let package = package.into_inner();
    group.bench_function("baseline_ring_open", |b| {
        let key = ring_key();
        let mut sealed = image.clone();
        let tag = key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key([1; 12]),
                Aad::empty(),
                &mut sealed,
            )
            .expect("seal");
        sealed.extend_from_slice(tag.as_ref());
        let mut buf = sealed.clone();
        b.iter(|| {
            buf.copy_from_slice(&sealed);
            let plain = key
                .open_in_place(
                    Nonce::assume_unique_for_key([1; 12]),
                    Aad::empty(),
                    &mut buf,
                )
                .expect("open");
            black_box(plain.len());
        });
    });
    // What the client does: a whole resource into a vector (read into place, opened there).
    group.bench_function("decrypt_resource_read", |b| {
        let mut reader = PackageReader::open(Cursor::new(&package), &key).expect("open");
        b.iter(|| black_box(reader.read("big.jpg").expect("read").len()));
    });
    // Streaming to a writer (bounded memory: a chunk buffer, then the writer's copy).
    group.bench_function("decrypt_resource_copy_to", |b| {
        let mut reader = PackageReader::open(Cursor::new(&package), &key).expect("open");
        let mut out = Vec::with_capacity(RESOURCE);
        b.iter(|| {
            out.clear();
            reader.copy_to("big.jpg", &mut out).expect("read");
            black_box(out.len());
        });
    });
    group.finish();

    let mut group = c.benchmark_group("random_access_4KiB");
    group.throughput(Throughput::Bytes(4096));
    group.bench_function("read_range_middle", |b| {
        let mut reader = PackageReader::open(Cursor::new(&package), &key).expect("open");
        let start = (RESOURCE / 2 + 1000) as u64;
        b.iter(|| {
            black_box(
                reader
                    .read_range("big.jpg", start, start + 4096)
                    .expect("range"),
            )
        });
    });
    group.bench_function("baseline_ring_open_one_chunk", |b| {
        let key = ring_key();
        let mut sealed = image[..64 * 1024].to_vec();
        let tag = key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key([1; 12]),
                Aad::empty(),
                &mut sealed,
            )
            .expect("seal");
        sealed.extend_from_slice(tag.as_ref());
        let mut buf = sealed.clone();
        b.iter(|| {
            buf.copy_from_slice(&sealed);
            black_box(
                key.open_in_place(
                    Nonce::assume_unique_for_key([1; 12]),
                    Aad::empty(),
                    &mut buf,
                )
                .expect("open")
                .len(),
            );
        });
    });
    group.finish();
}

fn terms() -> LicenceTerms {
    let now = Utc::now();
    LicenceTerms {
        id: Uuid::now_v7(),
        loan_id: Uuid::now_v7(),
        publication_id: Uuid::now_v7(),
        patron: "p".into(),
        device_id: Uuid::now_v7(),
        issued: now,
        server_time: now,
        rights: Rights {
            start: now,
            end: now + chrono::Duration::days(14),
            print: None,
            copy: None,
        },
        links: Links {
            status: "https://lib.example/api/v1/licences/1/status".into(),
            renew: "https://lib.example/api/v1/me/loans/1/renew".into(),
            return_: "https://lib.example/api/v1/me/loans/1/return".into(),
            package: "https://lib.example/api/v1/catalog/1/package".into(),
        },
        package_sha256: Some("ab".repeat(32)),
    }
}

fn licences(c: &mut Criterion) {
    let issuer = SigningKey::from_seed(&[1; 32]).expect("key");
    let keys = KeySet::new([issuer.public_key().clone()]);
    let content = ContentKey::from_bytes([2; 32]);
    let device = DeviceKey::from_bytes([3; 32]);
    let mut group = c.benchmark_group("licence");
    group.throughput(Throughput::Elements(1));
    group.bench_function("issue_wrap_and_sign", |b| {
        b.iter(|| black_box(licence::issue(terms(), &content, &device, &issuer).expect("issue")));
    });
    let token = licence::issue(terms(), &content, &device, &issuer).expect("issue");
    group.bench_function("verify_and_unwrap", |b| {
        b.iter(|| {
            let licence = licence::verify(&token, &keys).expect("verify");
            black_box(licence.unwrap_content_key(&device).expect("unwrap"));
        });
    });
    group.finish();
}

criterion_group!(benches, package_throughput, licences);
criterion_main!(benches);
