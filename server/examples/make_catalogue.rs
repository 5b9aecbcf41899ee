//! Writes COUNT generated EPUBs (distinct titles, authors, subjects and identifiers,
//! Chinese and English words, about 30 KB of text each) into DIR, for catalogue-sized
//! measurements such as the server's memory with a 1,000-title catalogue:
//!
//! `cargo run --release -p jieyue-server --example make_catalogue -- DIR [COUNT]`
//! then `jieyue demo --data-dir DATA --books DIR` (or `jieyue ingest DIR`).

#![allow(missing_docs, clippy::expect_used, clippy::print_stdout)]

mod bench_support;

fn main() {
    let dir = std::env::args()
        .nth(1)
        .expect("usage: make_catalogue DIR [COUNT]");
    let count: usize = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000);
    std::fs::create_dir_all(&dir).expect("dir");
    let mut bytes = 0;
    for n in 0..count {
        let epub = bench_support::make_epub(n, 100);
        bytes += epub.len();
        std::fs::write(format!("{dir}/book{n:05}.epub"), epub).expect("write");
    }
    println!("{count} EPUBs, {} KB in all, in {dir}", bytes / 1000);
}
