//! Sets up the borrow benchmark for an outside load generator (`scripts/bench/run-borrow`
//! drives it with wrk): starts the real server on a fresh SQLite or PostgreSQL database,
//! creates READERS readers with one enrolled device each and TITLES titles with a lot
//! of 100,000 copies each (readers may hold TITLES loans), all through the public API,
//! writes the readers' tokens and device ids and the title ids as a Lua file, prints
//! `PORT=`, `PID=` and `DATABASE_URL=`, then `READY`, and serves until killed.
//!
//! `cargo run --release -p jieyue-server --example borrow_setup -- sqlite|postgres
//! [READERS] [TITLES] [OUT.lua] [PORT]`
//! (`postgres` needs `JIEYUE_TEST_POSTGRES_URL`, e.g. from `scripts/postgres.sh`).

#![allow(
    missing_docs,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::cast_precision_loss
)]

mod bench_support;

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Instant;

use bench_support::{Server, make_epub};

fn arg<T: std::str::FromStr>(n: usize, default: T) -> T {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let backend: String = arg(1, "sqlite".to_owned());
    let readers: usize = arg(2, 2_000);
    let titles: usize = arg(3, 100);
    let out: String = arg(4, "borrow-setup.lua".to_owned());
    let port: u16 = arg(5, 0);
    let started = Instant::now();
    let max_loans = u32::try_from(titles).expect("titles") + 10;
    let server = Arc::new(Server::start(&backend, port, max_loans).await);

    let mut title_ids = Vec::with_capacity(titles);
    for n in 0..titles {
        let id = server.upload(&format!("t{n}.epub"), make_epub(n, 20)).await;
        server.lot(&id, 100_000).await;
        title_ids.push(id);
    }
    let people = server.readers(readers).await;

    let mut lua = String::from("return {\n  titles = {\n");
    for id in &title_ids {
        writeln!(lua, "    \"{id}\",").expect("fmt");
    }
    lua.push_str("  },\n  readers = {\n");
    for (token, device) in &people {
        writeln!(lua, "    {{ \"{token}\", \"{device}\" }},").expect("fmt");
    }
    lua.push_str("  },\n}\n");
    std::fs::write(&out, lua).expect("write the Lua file");

    println!(
        "{backend}: {readers} readers, {titles} titles set up in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!("PORT={}", server.port);
    println!("PID={}", std::process::id());
    println!("DATABASE_URL={}", server.database_url);
    println!("READY");
    std::io::stdout().flush().expect("flush");
    std::future::pending::<()>().await;
}
