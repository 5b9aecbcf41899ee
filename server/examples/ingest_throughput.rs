//! Ingest throughput on the corpus, against reading and re-zipping the same files in
//! the same run (the least any ingest must do).
//!
//! `cargo run --release -p jieyue-server --example ingest_throughput [CORPUS_DIR] [ROUNDS]`

#![allow(
    missing_docs,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::cast_precision_loss
)]

use std::io::{Cursor, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use jieyue_server::cli::ingest::{find_epubs, ingest_all};
use jieyue_server::clock::SystemClock;
use jieyue_server::config::{Config, PasswordHashingConfig};
use jieyue_server::startup::build_context;

fn rezip(path: &PathBuf) -> usize {
    let bytes = std::fs::read(path).expect("read");
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("zip");
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).expect("entry");
        let mut data = Vec::new();
        entry.read_to_end(&mut data).expect("read");
        let options =
            zip::write::SimpleFileOptions::default().compression_method(entry.compression());
        out.start_file(entry.name().expect("name").into_owned(), options)
            .expect("start");
        out.write_all(&data).expect("write");
    }
    out.finish().expect("finish").into_inner().len()
}

#[tokio::main]
async fn main() {
    let corpus = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from("testdata/corpus"), PathBuf::from);
    let rounds: usize = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3);
    let files = find_epubs(&[corpus]).expect("corpus");
    let bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();
    let mb = bytes as f64 / 1e6;
    println!("{} books, {mb:.1} MB", files.len());

    for round in 1..=rounds {
        // Baseline: read and re-zip every file, on all cores like the ingest.
        let started = Instant::now();
        let workers = std::thread::available_parallelism().map_or(2, usize::from);
        let chunks: Vec<Vec<PathBuf>> = files
            .chunks(files.len().div_ceil(workers))
            .map(<[PathBuf]>::to_vec)
            .collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| std::thread::spawn(move || chunk.iter().map(rezip).sum::<usize>()))
            .collect();
        for handle in handles {
            handle.join().expect("thread");
        }
        let baseline = started.elapsed().as_secs_f64();

        // Ingest into a fresh SQLite catalogue each round.
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config {
            data_dir: dir.path().to_owned(),
            create_keys_if_missing: true,
            bootstrap_admin_password: Some("bench-password-1".into()),
            password_hashing: PasswordHashingConfig {
                memory_kib: 1024,
                iterations: 1,
                parallelism: 1,
            },
            ..Config::default()
        };
        let ctx = build_context(&config, Arc::new(SystemClock))
            .await
            .expect("context");
        let summary = ingest_all(&ctx, files.clone(), true).await;
        assert!(summary.failures.is_empty(), "{:?}", summary.failures);
        let ingest = summary.seconds;
        println!(
            "round {round}: ingest {:.2} s = {:.1} books/s, {:.2} MB/s | read+rezip {:.2} s = {:.1} books/s, {:.2} MB/s | ingest at {:.0}% of the baseline",
            ingest,
            files.len() as f64 / ingest,
            mb / ingest,
            baseline,
            files.len() as f64 / baseline,
            mb / baseline,
            100.0 * baseline / ingest
        );
    }
}
