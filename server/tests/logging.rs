//! The `jieyue` binary with its log on a full disk (`/dev/full`: every write fails with
//! ENOSPC): every request is still answered.

#![allow(clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_full_log_disk_takes_no_request_down() {
    if !std::path::Path::new("/dev/full").exists() {
        panic!("this test needs /dev/full (Linux)");
    }
    let data = tempfile::tempdir().expect("temp dir");
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let mut server = Command::new(env!("CARGO_BIN_EXE_jieyue"))
        .args(["serve", "--create-keys"])
        .env("JIEYUE_DATA_DIR", data.path())
        .env("JIEYUE_BIND", "127.0.0.1:0")
        .env("JIEYUE_BOOTSTRAP_ADMIN_PASSWORD", "full-disk-admin-pass")
        // Log every request, so every request tries to write to the full disk.
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(full))
        .spawn()
        .expect("start jieyue");
    let stdout = server.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    let base = loop {
        let line = lines
            .next()
            .expect("the server printed its address")
            .expect("stdout line");
        if let Some(rest) = line.strip_prefix("Jieyue is listening on ") {
            break rest.split_whitespace().next().expect("url").to_owned();
        }
        assert!(Instant::now() < deadline, "the server did not start");
    };
    // Keep draining stdout in the background.
    std::thread::spawn(move || for _ in lines {});

    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let mut answered = 0;
    for i in 0..40 {
        let path = if i % 2 == 0 {
            "/health"
        } else {
            "/api/v1/no-such-route"
        };
        if let Ok(response) = client.get(format!("{base}{path}")).send().await
            && response.status().as_u16() < 500
        {
            answered += 1;
        }
    }
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(
        answered, 40,
        "every request answered while the log cannot be written"
    );
}
