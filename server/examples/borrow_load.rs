//! Borrowing under load over HTTP (the project's own load generator; the reference
//! figures come from wrk, `scripts/bench/run-borrow`): 64 concurrent clients, each a
//! reader who borrows a title naming their enrolled device, so the answer carries the
//! licence (the full reader path in one request: loan
//! row, copy taken by a conditional UPDATE, audit row, content key and device key
//! unsealed, key wrapped, licence signed and stored).
//!
//! `cargo run --release -p jieyue-server --example borrow_load [sqlite|postgres] [READERS]`
//! (`postgres` needs `JIEYUE_TEST_POSTGRES_URL` pointing at a database it may create).

#![allow(
    missing_docs,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::cast_precision_loss
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use jieyue_protocol::enrolment::ClientEnrolment;
use jieyue_server::clock::SystemClock;
use jieyue_server::config::{Config, PasswordHashingConfig};
use jieyue_server::startup::Application;
use serde_json::{Value, json};
use uuid::Uuid;

const CLIENTS: usize = 64;

async fn post(client: &reqwest::Client, url: String, token: Option<&str>, body: Value) -> Value {
    let mut request = client.post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("sent");
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.expect("json")
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let backend = std::env::args().nth(1).unwrap_or_else(|| "sqlite".into());
    let readers: usize = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let database_url = if backend == "postgres" {
        let admin = std::env::var("JIEYUE_TEST_POSTGRES_URL").expect("JIEYUE_TEST_POSTGRES_URL");
        let name = format!("jieyue_load_{}", Uuid::new_v4().simple());
        let conn = sea_orm::Database::connect(&admin).await.expect("postgres");
        sea_orm::ConnectionTrait::execute_unprepared(&conn, &format!("CREATE DATABASE {name}"))
            .await
            .expect("create");
        Some(format!("{}/{name}", admin.rsplit_once('/').expect("url").0))
    } else {
        None
    };
    let config = Config {
        bind: "127.0.0.1:0".parse().expect("addr"),
        data_dir: dir.path().to_owned(),
        database_url,
        database_max_connections: 16,
        create_keys_if_missing: true,
        bootstrap_admin_password: Some("load-test-admin".into()),
        password_hashing: PasswordHashingConfig {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        },
        log_filter: "warn".into(),
        ..Config::default()
    };
    let app = Application::build(&config, Arc::new(SystemClock))
        .await
        .expect("server");
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(async move {
        app.run_until_stopped(std::future::pending())
            .await
            .expect("serve")
    });
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .expect("client");

    // A library, a title with plenty of copies, readers with one device each.
    let admin = post(
        &client,
        format!("{base}/api/v1/staff/auth/login"),
        None,
        json!({ "username": "admin", "password": "load-test-admin" }),
    )
    .await;
    let admin = admin["token"].as_str().expect("token").to_owned();
    let library = post(
        &client,
        format!("{base}/api/v1/admin/libraries"),
        Some(&admin),
        json!({ "code": "city", "name": "杭州市图书馆" }),
    )
    .await;
    let library = library["id"].as_str().expect("id").to_owned();
    let epub = std::fs::read("testdata/corpus/zh/daxue.epub")
        .expect("corpus book (run from the repository root)");
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(epub).file_name("daxue.epub"),
    );
    let upload: Value = client
        .post(format!("{base}/api/v1/admin/titles"))
        .bearer_auth(&admin)
        .multipart(form)
        .send()
        .await
        .expect("upload")
        .json()
        .await
        .expect("json");
    let title = upload["title"]["id"].as_str().expect("title").to_owned();
    post(
        &client,
        format!("{base}/api/v1/admin/lots"),
        Some(&admin),
        json!({ "title_id": title, "owner_library_id": library, "copies": 100_000 }),
    )
    .await;

    let setup = Instant::now();
    let mut people = Vec::with_capacity(readers);
    for n in 0..readers {
        let card = format!("L{n:06}");
        post(&client, format!("{base}/api/v1/admin/patrons"), Some(&admin), json!({ "library_id": library, "card_number": card, "display_name": "读者", "password": "load-test-reader" })).await;
        let login = post(
            &client,
            format!("{base}/api/v1/auth/login"),
            None,
            json!({ "library_code": "city", "card_number": card, "password": "load-test-reader" }),
        )
        .await;
        let token = login["token"].as_str().expect("token").to_owned();
        let device = Uuid::new_v4();
        let (_, request) = ClientEnrolment::start(device, "phone").expect("enrol");
        post(
            &client,
            format!("{base}/api/v1/me/devices"),
            Some(&token),
            serde_json::to_value(&request).expect("json"),
        )
        .await;
        people.push((token, device));
    }
    println!(
        "{backend}: set up {readers} readers in {:.1} s",
        setup.elapsed().as_secs_f64()
    );

    // The measured part: every reader borrows with their device's licence, 64 at a time.
    let queue = Arc::new(tokio::sync::Mutex::new(people));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..CLIENTS {
        let (queue, client, base, title) =
            (queue.clone(), client.clone(), base.clone(), title.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let Some((token, device)) = queue.lock().await.pop() else {
                    break;
                };
                let t0 = Instant::now();
                // One request: the loan with the device's licence in the answer.
                let loan = post(
                    &client,
                    format!("{base}/api/v1/me/loans"),
                    Some(&token),
                    json!({ "title_id": title, "request_id": Uuid::new_v4(), "device_id": device }),
                )
                .await;
                assert!(loan["device_licence"].is_string(), "{loan}");
                latencies.push(t0.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.expect("worker"));
    }
    let seconds = started.elapsed().as_secs_f64();
    all.sort();
    println!(
        "{backend}: {} loans with licences in {seconds:.2} s = {:.0}/s; borrow+licence latency median {:.1} ms, p90 {:.1} ms, p99 {:.1} ms ({CLIENTS} concurrent clients)",
        all.len(),
        all.len() as f64 / seconds,
        percentile(&all, 0.5),
        percentile(&all, 0.9),
        percentile(&all, 0.99),
    );
}
