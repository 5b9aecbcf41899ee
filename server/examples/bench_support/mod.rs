//! Shared by the benchmark examples (`borrow_setup`, `borrow_tx_ceiling`,
//! `make_catalogue`): a real server on a fresh database, set up through the public API,
//! and generated EPUBs. Not an example itself (no `main.rs` here).

#![allow(dead_code)]

use std::io::{Cursor, Write};
use std::path::PathBuf;
use std::sync::Arc;

use jieyue_protocol::enrolment::ClientEnrolment;
use jieyue_server::clock::SystemClock;
use jieyue_server::config::{Config, PasswordHashingConfig};
use jieyue_server::startup::Application;
use serde_json::{Value, json};
use uuid::Uuid;

pub const ADMIN_PASSWORD: &str = "load-test-admin";
pub const READER_PASSWORD: &str = "load-test-reader";

/// A server on a fresh database, serving on its own tokio tasks.
pub struct Server {
    pub base: String,
    pub port: u16,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub client: reqwest::Client,
    pub admin: String,
    pub library: String,
    // Kept alive: the SQLite database and the keys live in it.
    _dir: tempfile::TempDir,
}

/// A fresh database URL: `None` for SQLite in the data dir, else a new PostgreSQL
/// database created through the admin URL in `JIEYUE_TEST_POSTGRES_URL`.
pub async fn fresh_database(backend: &str) -> Option<String> {
    if backend != "postgres" {
        return None;
    }
    let admin = std::env::var("JIEYUE_TEST_POSTGRES_URL").expect("JIEYUE_TEST_POSTGRES_URL");
    let name = format!("jieyue_load_{}", Uuid::new_v4().simple());
    let conn = sea_orm::Database::connect(&admin).await.expect("postgres");
    sea_orm::ConnectionTrait::execute_unprepared(&conn, &format!("CREATE DATABASE {name}"))
        .await
        .expect("create");
    Some(format!("{}/{name}", admin.rsplit_once('/').expect("url").0))
}

pub fn config(data_dir: PathBuf, database_url: Option<String>, port: u16) -> Config {
    Config {
        bind: format!("127.0.0.1:{port}").parse().expect("addr"),
        data_dir,
        database_url,
        database_max_connections: 16,
        create_keys_if_missing: true,
        bootstrap_admin_password: Some(ADMIN_PASSWORD.into()),
        password_hashing: PasswordHashingConfig {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        },
        log_filter: "warn".into(),
        ..Config::default()
    }
}

pub async fn post(
    client: &reqwest::Client,
    url: String,
    token: Option<&str>,
    body: Value,
) -> Value {
    let mut request = client.post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("sent");
    let status = response.status();
    let text = response.text().await.expect("body");
    assert!(status.is_success(), "{status}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

impl Server {
    /// Starts the real server on `port` (0: any) and logs in as the bootstrap admin;
    /// makes one library, `city`, whose readers may hold `max_loans` loans.
    pub async fn start(backend: &str, port: u16, max_loans: u32) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let database_url = fresh_database(backend).await;
        let config = config(dir.path().to_owned(), database_url, port);
        let effective = config.effective_database_url();
        let app = Application::build(&config, Arc::new(SystemClock))
            .await
            .expect("server");
        let port = app.port();
        let base = format!("http://127.0.0.1:{port}");
        tokio::spawn(async move {
            app.run_until_stopped(std::future::pending())
                .await
                .expect("serve")
        });
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .expect("client");
        let admin = post(
            &client,
            format!("{base}/api/v1/staff/auth/login"),
            None,
            json!({ "username": "admin", "password": ADMIN_PASSWORD }),
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
        let rules = client
            .put(format!("{base}/api/v1/admin/rules"))
            .bearer_auth(&admin)
            .json(&json!({
                "library_id": library, "category": null,
                "loan_days_default": 14, "loan_days_max": 28, "max_loans": max_loans,
                "max_holds": 10, "renewals": 2, "renewal_days": 14, "pickup_hours": 48,
                "max_devices": 5
            }))
            .send()
            .await
            .expect("rules");
        assert!(rules.status().is_success(), "rules: {}", rules.status());
        Self {
            base,
            port,
            database_url: effective,
            data_dir: dir.path().to_owned(),
            client,
            admin,
            library,
            _dir: dir,
        }
    }

    /// Uploads an EPUB; its title id.
    pub async fn upload(&self, name: &str, epub: Vec<u8>) -> String {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(epub).file_name(name.to_owned()),
        );
        let response = self
            .client
            .post(format!("{}/api/v1/admin/titles", self.base))
            .bearer_auth(&self.admin)
            .multipart(form)
            .send()
            .await
            .expect("upload");
        let status = response.status();
        let upload: Value = response.json().await.expect("json");
        assert!(status.is_success(), "{status}: {upload}");
        upload["title"]["id"].as_str().expect("title").to_owned()
    }

    /// A lot of `copies` copies of `title`, owned by the library.
    pub async fn lot(&self, title: &str, copies: u32) {
        post(
            &self.client,
            format!("{}/api/v1/admin/lots", self.base),
            Some(&self.admin),
            json!({ "title_id": title, "owner_library_id": self.library, "copies": copies }),
        )
        .await;
    }

    /// Registers reader `n`, logs them in and enrols one device: (token, device id).
    pub async fn reader(&self, n: usize) -> (String, Uuid) {
        let base = &self.base;
        let card = format!("L{n:06}");
        post(&self.client, format!("{base}/api/v1/admin/patrons"), Some(&self.admin), json!({ "library_id": self.library, "card_number": card, "display_name": "读者", "password": READER_PASSWORD })).await;
        let login = post(
            &self.client,
            format!("{base}/api/v1/auth/login"),
            None,
            json!({ "library_code": "city", "card_number": card, "password": READER_PASSWORD }),
        )
        .await;
        let token = login["token"].as_str().expect("token").to_owned();
        let device = Uuid::new_v4();
        let (_, request) = ClientEnrolment::start(device, "phone").expect("enrol");
        post(
            &self.client,
            format!("{base}/api/v1/me/devices"),
            Some(&token),
            serde_json::to_value(&request).expect("json"),
        )
        .await;
        (token, device)
    }

    /// `count` readers, made 8 at a time.
    pub async fn readers(self: &Arc<Self>, count: usize) -> Vec<(String, Uuid)> {
        let mut tasks = Vec::new();
        for lane in 0..8 {
            let server = self.clone();
            tasks.push(tokio::spawn(async move {
                let mut out = Vec::new();
                for n in (lane..count).step_by(8) {
                    out.push((n, server.reader(n).await));
                }
                out
            }));
        }
        let mut all = Vec::with_capacity(count);
        for task in tasks {
            all.extend(task.await.expect("task"));
        }
        all.sort_by_key(|(n, _)| *n);
        all.into_iter().map(|(_, r)| r).collect()
    }
}

const WORDS: [&str; 24] = [
    "春秋", "历史", "山水", "诗经", "论语", "江南", "故事", "文化", "科学", "天文", "地理", "音乐",
    "books", "river", "mountain", "history", "poetry", "science", "garden", "letters", "西湖",
    "茶", "丝绸", "运河",
];

/// A small valid EPUB: title `n`, a unique identifier, `paragraphs` paragraphs of text.
pub fn make_epub(n: usize, paragraphs: usize) -> Vec<u8> {
    let w = |i: usize| WORDS[(n.wrapping_mul(7919).wrapping_add(i * 31)) % WORDS.len()];
    let title = format!("{}{}之书 第{n}卷", w(0), w(1));
    let author = format!("{}{}", w(2), w(3));
    let identifier = format!(
        "urn:uuid:{}",
        Uuid::from_u128(0x6a69_6579_7565_4000_8000_0000_0000_0000 + n as u128)
    );
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated = zip::write::SimpleFileOptions::default();
    zip.start_file("mimetype", stored).expect("zip");
    zip.write_all(b"application/epub+zip").expect("zip");
    zip.start_file("META-INF/container.xml", deflated)
        .expect("zip");
    zip.write_all(br#"<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>"#).expect("zip");
    zip.start_file("OEBPS/content.opf", deflated).expect("zip");
    let opf = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="uid"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="uid">{identifier}</dc:identifier><dc:title>{title}</dc:title><dc:language>zh-Hans</dc:language><dc:creator>{author}</dc:creator><dc:subject>{}</dc:subject><dc:publisher>{}出版社</dc:publisher><dc:description>{}与{}的故事，关于{}。</dc:description><meta property="dcterms:modified">2026-01-01T00:00:00Z</meta></metadata><manifest><item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/><item id="c1" href="c1.xhtml" media-type="application/xhtml+xml"/></manifest><spine><itemref idref="c1"/></spine></package>"#,
        w(4),
        w(5),
        w(6),
        w(7),
        w(8)
    );
    zip.write_all(opf.as_bytes()).expect("zip");
    zip.start_file("OEBPS/nav.xhtml", deflated).expect("zip");
    zip.write_all(br#"<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><body><nav epub:type="toc"><ol><li><a href="c1.xhtml">1</a></li></ol></nav></body></html>"#).expect("zip");
    zip.start_file("OEBPS/c1.xhtml", deflated).expect("zip");
    let mut body = String::from("<html xmlns=\"http://www.w3.org/1999/xhtml\"><body>");
    for p in 0..paragraphs {
        body.push_str("<p>");
        for i in 0..40 {
            body.push_str(w(p * 40 + i));
            body.push('，');
        }
        body.push_str("</p>");
    }
    body.push_str("</body></html>");
    zip.write_all(body.as_bytes()).expect("zip");
    zip.finish().expect("zip").into_inner()
}
