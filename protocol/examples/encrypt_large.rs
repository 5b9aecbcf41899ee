//! Encrypts a package holding one large resource (500 MB by default) from disk to disk
//! and reports throughput and peak memory, to show the writer and reader stream.
//!
//! `cargo run --release -p jieyue-protocol --example encrypt_large [MEGABYTES]`

#![allow(missing_docs, clippy::expect_used, clippy::print_stdout)]

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::time::Instant;

use jieyue_protocol::ContentKey;
use jieyue_protocol::package::{PackageReader, encrypt_epub};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// Peak resident memory of this process (Linux `VmHWM`), in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_owned)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    let megabytes: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(500);
    let dir = std::env::temp_dir().join(format!("jieyue-large-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let source = dir.join("large.epub");
    let target = dir.join("large.package");

    // A book with one big stored video, written in 1 MiB pieces.
    {
        let mut zip = ZipWriter::new(BufWriter::new(File::create(&source).expect("create")));
        let stored = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .large_file(true);
        zip.start_file("mimetype", stored).expect("zip");
        zip.write_all(b"application/epub+zip").expect("zip");
        zip.start_file("META-INF/container.xml", stored)
            .expect("zip");
        zip.write_all(
            br#"<container><rootfiles><rootfile full-path="content.opf"/></rootfiles></container>"#,
        )
        .expect("zip");
        zip.start_file("content.opf", stored).expect("zip");
        zip.write_all(br#"<package unique-identifier="u"><metadata><identifier id="u">x</identifier></metadata><manifest><item id="v" href="video.mp4" media-type="video/mp4"/></manifest><spine/></package>"#).expect("zip");
        zip.start_file("video.mp4", stored).expect("zip");
        let piece: Vec<u8> = (0..1024 * 1024u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        for _ in 0..megabytes {
            zip.write_all(&piece).expect("zip");
        }
        zip.finish().expect("zip").flush().expect("flush");
    }
    let before = peak_rss_mib();

    let key = ContentKey::generate().expect("key");
    let started = Instant::now();
    let input = BufReader::new(File::open(&source).expect("open"));
    let output = BufWriter::new(File::create(&target).expect("create"));
    let mut last_report = 0;
    encrypt_epub(input, output, &key, &mut |p| {
        let percent = p.bytes_done * 100 / p.bytes_total.max(1);
        if percent >= last_report + 25 {
            last_report = percent;
            println!("  encrypted {percent}%");
        }
    })
    .expect("encrypt");
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "encrypt {megabytes} MB: {seconds:.2} s, {:.0} MB/s, peak RSS {:.1} MiB (after writing the source: {before:.1} MiB)",
        megabytes as f64 / seconds,
        peak_rss_mib()
    );

    let started = Instant::now();
    let mut reader = PackageReader::open(BufReader::new(File::open(&target).expect("open")), &key)
        .expect("open");
    let length = reader
        .copy_to("video.mp4", &mut std::io::sink())
        .expect("decrypt");
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "decrypt {} MB: {seconds:.2} s, {:.0} MB/s, peak RSS {:.1} MiB",
        length >> 20,
        (length >> 20) as f64 / seconds,
        peak_rss_mib()
    );
    let middle = length / 2;
    let started = Instant::now();
    let range = reader
        .read_range("video.mp4", middle, middle + 4096)
        .expect("range");
    println!(
        "4 KiB range from the middle: {} bytes in {:.3} ms",
        range.len(),
        started.elapsed().as_secs_f64() * 1000.0
    );

    std::fs::remove_dir_all(&dir).expect("clean up");
}
