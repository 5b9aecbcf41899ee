//! The bare seal for the media-ingest benchmark: reads the given files (or every file
//! under the given folders) and seals each as one uncompressed resource in 64 KiB
//! chunks with AES-256-GCM, through the crate's public chunk stream
//! (`package::encrypt_resource`, `Compression::None`), writing to `std::io::sink()`.
//! No package, no ZIP, no hashing, no checks: what is left is reading the bytes and
//! sealing them.
//!
//! `cargo run --release -p jieyue-protocol --example seal_files -- [--threads N] PATH...`
//!
//! By default the stream uses `EncryptOptions::default()` (as many workers as cores, at
//! most four: what `jieyue ingest` uses); `--threads 1` is
//! `EncryptOptions::single_threaded()`. Prints the bytes, the wall seconds and MB/s.

#![allow(missing_docs, clippy::expect_used, clippy::print_stdout)]

use std::fs::File;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Instant;

use jieyue_protocol::ContentKey;
use jieyue_protocol::package::{Compression, EncryptOptions, encrypt_resource};

fn files_under(path: &Path, out: &mut Vec<PathBuf>) {
    let meta = std::fs::metadata(path).expect("a readable path");
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .expect("a readable folder")
            .map(|e| e.expect("a readable entry").path())
            .collect();
        entries.sort();
        for entry in entries {
            files_under(&entry, out);
        }
    } else if meta.is_file() {
        out.push(path.to_owned());
    }
}

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    let mut options = EncryptOptions::default();
    let mut paths = Vec::new();
    while let Some(arg) = args.next() {
        if arg == "--threads" {
            let threads: usize = args
                .next()
                .and_then(|n| n.parse().ok())
                .expect("--threads N");
            options = EncryptOptions::with_threads(NonZeroUsize::new(threads).expect("N ≥ 1"));
        } else {
            paths.push(PathBuf::from(arg));
        }
    }
    assert!(!paths.is_empty(), "usage: seal_files [--threads N] PATH...");
    let mut files = Vec::new();
    for path in &paths {
        files_under(path, &mut files);
    }

    let key = ContentKey::generate().expect("key");
    let started = Instant::now();
    let mut bytes = 0u64;
    let mut sealed = 0u64;
    for file in &files {
        let length = std::fs::metadata(file).expect("metadata").len();
        let mut source = File::open(file).expect("open");
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("resource");
        let resource = encrypt_resource(
            &key,
            name,
            Compression::None,
            length,
            &mut source,
            &mut std::io::sink(),
            &options,
            &mut |_| {},
        )
        .expect("seal");
        bytes += length;
        sealed += resource.encrypted_length;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "sealed {} files, {bytes} bytes ({sealed} sealed) in {seconds:.3} s: {:.1} MB/s ({} threads)",
        files.len(),
        bytes as f64 / 1e6 / seconds.max(1e-9),
        options.threads()
    );
}
