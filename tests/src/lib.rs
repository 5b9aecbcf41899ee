#![doc = include_str!("../README.md")]
//!
//! The end-to-end test harness: a real `jieyue` server on a random port, against a
//! fresh database per test (a temporary SQLite file, or a new PostgreSQL database),
//! with a [`ManualClock`] the test can move, and typed helpers for the API.
//!
//! PostgreSQL tests need `JIEYUE_TEST_POSTGRES_URL` (a URL whose user may create
//! databases); `scripts/test` starts a local server and sets it. Set `TEST_LOG=1` to
//! see the server's logs.

#![allow(clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use jieyue_server::Application;
use jieyue_server::clock::ManualClock;
use jieyue_server::config::{Config, LogFormat, PasswordHashingConfig};
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

pub use jieyue_server;

/// The bootstrap admin's password in every test server.
pub const ADMIN_PASSWORD: &str = "admin-test-password";
/// The password the helpers give every account they create.
pub const PASSWORD: &str = "correct horse battery";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A temporary SQLite file.
    Sqlite,
    /// A fresh database on the local PostgreSQL server.
    Postgres,
}

/// A running server and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The HTTP client.
    pub client: reqwest::Client,
    /// The server's clock; move it to test expiry and lock-outs.
    pub clock: ManualClock,
    /// The configuration the server was started with.
    pub config: Config,
    _data: tempfile::TempDir,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A response: status, headers and JSON body (`Null` if empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: StatusCode,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// Body as JSON.
    pub body: Value,
}

impl Reply {
    /// The problem `type` slug (`not-found`) of a problem document, checking the
    /// content type on the way.
    pub fn problem(&self) -> String {
        let content_type = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert_eq!(
            content_type, "application/problem+json",
            "not a problem document: {self:?}"
        );
        assert_eq!(
            self.body["status"],
            self.status.as_u16(),
            "status mismatch: {self:?}"
        );
        let kind = self.body["type"].as_str().unwrap_or_default();
        kind.strip_prefix("urn:jieyue:problem:")
            .unwrap_or_else(|| panic!("unexpected problem type {kind:?}"))
            .to_owned()
    }

    /// The `id` field of the body.
    pub fn id(&self) -> String {
        self.body["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id in {self:?}"))
            .to_owned()
    }
}

/// A fresh PostgreSQL database for one test, by URL.
async fn fresh_postgres_database() -> String {
    let admin_url = std::env::var("JIEYUE_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "JIEYUE_TEST_POSTGRES_URL is not set. Run the suite with scripts/test, which starts \
             PostgreSQL, or point it at a server where the user may CREATE DATABASE."
        )
    });
    let name = format!("jieyue_test_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {admin_url}: {e}"));
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    admin.close().await.ok();
    let (base, _) = admin_url
        .rsplit_once('/')
        .expect("JIEYUE_TEST_POSTGRES_URL must end in /DATABASE");
    format!("{base}/{name}")
}

/// A configuration for a test server in `data`.
pub async fn test_config(backend: Backend, data: &std::path::Path) -> Config {
    let database_url = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(fresh_postgres_database().await),
    };
    Config {
        bind: "127.0.0.1:0".parse().expect("address"),
        data_dir: data.to_path_buf(),
        database_url,
        database_max_connections: 4,
        log_format: LogFormat::Text,
        // Cheap hashing keeps the suite fast; production cost is a configuration value.
        password_hashing: PasswordHashingConfig {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        },
        bootstrap_admin_password: Some(ADMIN_PASSWORD.into()),
        create_keys_if_missing: true,
        search_sync_interval_ms: 100,
        // Tests pull from hubs when they mean to.
        distribution_pull_minutes: 0,
        ..Config::default()
    }
}

impl TestApp {
    /// Starts a server on a fresh database.
    pub async fn spawn(backend: Backend) -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        let config = test_config(backend, data.path()).await;
        Self::spawn_with(config, data).await
    }

    /// Starts a server with a given configuration (its data directory is `data`).
    pub async fn spawn_with(config: Config, data: tempfile::TempDir) -> Self {
        if std::env::var_os("TEST_LOG").is_some() {
            jieyue_server::telemetry::init_tracing(LogFormat::Text, "debug,sqlx=warn");
        } else {
            // The server's errors (the cause behind a 500) show with a failing test's output.
            let _ = tracing_subscriber::fmt()
                .with_max_level(tracing_subscriber::filter::LevelFilter::ERROR)
                .with_test_writer()
                .try_init();
        }
        let clock = ManualClock::new(
            Utc.with_ymd_and_hms(2026, 9, 1, 9, 0, 0)
                .single()
                .expect("time"),
        );
        let app = Application::build(&config, Arc::new(clock.clone()))
            .await
            .expect("server starts");
        let base = format!("http://127.0.0.1:{}", app.port());
        let server = tokio::spawn(async move {
            app.run_until_stopped(std::future::pending())
                .await
                .expect("server runs");
        });
        Self {
            base,
            client: {
                // reqwest is built with rustls but no provider (for the client core).
                let _ = rustls::crypto::ring::default_provider().install_default();
                reqwest::Client::new()
            },
            clock,
            config,
            _data: data,
            server,
        }
    }

    /// Stops the server as a crash would (no shutdown work) and hands back its
    /// configuration and data directory, so a test can start it again on the same data.
    pub fn stop(mut self) -> (Config, tempfile::TempDir) {
        self.server.abort();
        let data = std::mem::replace(&mut self._data, tempfile::tempdir().expect("temp dir"));
        (self.config.clone(), data)
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        Self::reply(response).await
    }

    /// Turns a response into a [`Reply`].
    pub async fn reply(response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
        }
    }

    /// The server's clock now.
    pub fn clock_now(&self) -> chrono::DateTime<Utc> {
        use jieyue_server::clock::Clock;
        self.clock.now()
    }

    /// `GET path`.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.request(Method::GET, path, token, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.request(Method::POST, path, token, Some(body)).await
    }

    /// `PATCH path` with a JSON body.
    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.request(Method::PATCH, path, token, Some(body)).await
    }

    /// Logs a staff member in; panics unless it works.
    pub async fn staff_token(&self, username: &str, password: &str) -> String {
        let reply = self
            .post(
                "/api/v1/staff/auth/login",
                None,
                json!({ "username": username, "password": password }),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "staff login failed: {reply:?}"
        );
        reply.body["token"].as_str().expect("token").to_owned()
    }

    /// The bootstrap admin's token.
    pub async fn admin_token(&self) -> String {
        self.staff_token("admin", ADMIN_PASSWORD).await
    }

    /// Creates a library as the admin; returns its id.
    pub async fn create_library(&self, admin: &str, code: &str, name: &str) -> String {
        let reply = self
            .post(
                "/api/v1/admin/libraries",
                Some(admin),
                json!({ "code": code, "name": name }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        reply.id()
    }

    /// Creates a staff account (password [`PASSWORD`]); returns its id.
    pub async fn create_staff(
        &self,
        token: &str,
        username: &str,
        role: &str,
        library_id: &str,
    ) -> String {
        let reply = self
            .post(
                "/api/v1/admin/staff",
                Some(token),
                json!({ "username": username, "display_name": username, "role": role,
                        "library_id": library_id, "password": PASSWORD }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        reply.id()
    }

    /// Registers a patron (password [`PASSWORD`]); returns its id.
    pub async fn create_patron(
        &self,
        token: &str,
        library_id: &str,
        card: &str,
        name: &str,
    ) -> String {
        let reply = self
            .post(
                "/api/v1/admin/patrons",
                Some(token),
                json!({ "library_id": library_id, "card_number": card, "display_name": name,
                        "password": PASSWORD }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        reply.id()
    }

    /// Enrols a device for a reader through the real protocol exchange; returns the
    /// device id and the device key the app would keep.
    pub async fn enrol_device(
        &self,
        token: &str,
        name: &str,
    ) -> (uuid::Uuid, jieyue_protocol::DeviceKey) {
        let keys: jieyue_protocol::KeySet =
            serde_json::from_value(self.get("/.well-known/jieyue/keys", None).await.body)
                .expect("jwks");
        let device_id = uuid::Uuid::new_v4();
        let (client, request) =
            jieyue_protocol::enrolment::ClientEnrolment::start(device_id, name).expect("start");
        let reply = self
            .post(
                "/api/v1/me/devices",
                Some(token),
                serde_json::to_value(&request).expect("json"),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        let (key, _) = client
            .finish(reply.body["reply"].as_str().expect("reply"), &keys)
            .expect("finish");
        (device_id, key)
    }

    /// Logs a patron in (raw reply).
    pub async fn patron_login(&self, library_code: &str, card: &str, password: &str) -> Reply {
        self.post(
            "/api/v1/auth/login",
            None,
            json!({ "library_code": library_code, "card_number": card, "password": password }),
        )
        .await
    }

    /// Logs a patron in; panics unless it works.
    pub async fn patron_token(&self, library_code: &str, card: &str) -> String {
        let reply = self.patron_login(library_code, card, PASSWORD).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "patron login failed: {reply:?}"
        );
        reply.body["token"].as_str().expect("token").to_owned()
    }
}

/// A book from the test corpus (`testdata/corpus`).
pub fn corpus(relative: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/corpus")
        .join(relative)
}

impl TestApp {
    /// Uploads EPUB bytes as `name` with a staff token (raw reply).
    pub async fn upload_bytes(&self, token: &str, name: &str, bytes: Vec<u8>) -> Reply {
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(name.to_owned())
            .mime_str("application/epub+zip")
            .expect("mime");
        let form = reqwest::multipart::Form::new().part("file", part);
        let response = self
            .client
            .post(format!("{}/api/v1/admin/titles", self.base))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .expect("upload sent");
        Self::reply(response).await
    }

    /// Uploads a corpus book; returns the title id (panics unless it was catalogued).
    pub async fn upload_corpus(&self, token: &str, relative: &str) -> String {
        let bytes = std::fs::read(corpus(relative)).expect("corpus book");
        let reply = self.upload_bytes(token, relative, bytes).await;
        assert!(
            reply.status.is_success(),
            "upload of {relative} failed: {reply:?}"
        );
        reply.body["title"]["id"].as_str().expect("id").to_owned()
    }

    /// Raw bytes of `GET path` with extra headers.
    pub async fn get_bytes(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
        let mut request = self.client.get(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("sent");
        let status = response.status();
        let headers = response.headers().clone();
        (
            status,
            headers,
            response.bytes().await.expect("body").to_vec(),
        )
    }
}

/// A consortium of two libraries with staff and one patron each, for scope tests.
pub struct TwoLibraries {
    /// The admin's token.
    pub admin: String,
    /// City library id.
    pub city: String,
    /// County library id.
    pub county: String,
    /// Token of the city's manager.
    pub city_manager: String,
    /// Token of a city librarian.
    pub city_librarian: String,
    /// Id of a county librarian.
    pub county_librarian_id: String,
    /// A city patron's id (card `C1`).
    pub city_patron: String,
    /// A county patron's id (card `K1`).
    pub county_patron: String,
}

impl TwoLibraries {
    /// Sets the consortium up through the API.
    pub async fn create(app: &TestApp) -> Self {
        let admin = app.admin_token().await;
        let city = app.create_library(&admin, "city", "杭州市图书馆").await;
        let county = app.create_library(&admin, "county", "淳安县图书馆").await;
        app.create_staff(&admin, "city-manager", "library_manager", &city)
            .await;
        app.create_staff(&admin, "city-librarian", "librarian", &city)
            .await;
        let county_librarian_id = app
            .create_staff(&admin, "county-librarian", "librarian", &county)
            .await;
        let city_patron = app.create_patron(&admin, &city, "C1", "王小明").await;
        let county_patron = app.create_patron(&admin, &county, "K1", "张伟").await;
        Self {
            city_manager: app.staff_token("city-manager", PASSWORD).await,
            city_librarian: app.staff_token("city-librarian", PASSWORD).await,
            admin,
            city,
            county,
            county_librarian_id,
            city_patron,
            county_patron,
        }
    }
}

impl TestApp {
    /// Uploads a corpus book and gives the city library a lot of `copies` of it;
    /// returns the title id.
    pub async fn title_with_copies(&self, world: &TwoLibraries, book: &str, copies: u32) -> String {
        let title = self.upload_corpus(&world.admin, book).await;
        let lot = self
            .post(
                "/api/v1/admin/lots",
                Some(&world.city_manager),
                json!({ "title_id": title, "owner_library_id": world.city, "copies": copies }),
            )
            .await;
        assert_eq!(lot.status, StatusCode::CREATED, "{lot:?}");
        title
    }
}

/// Runs an async test body on SQLite and on PostgreSQL: `both_backends!(my_test);`
/// expects `async fn my_test(app: TestApp)` and makes `my_test::sqlite` and
/// `my_test::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::TestApp::spawn($crate::Backend::Sqlite).await).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::TestApp::spawn($crate::Backend::Postgres).await).await;
                }
            }
        )*
    };
}

/// A staff member logged in to the console as a browser would be: a session cookie,
/// the CSRF token scraped from the pages, and same-origin form posts.
pub struct ConsoleSession<'a> {
    app: &'a TestApp,
    /// The `jieyue_staff` cookie value.
    pub cookie: String,
    /// The session's CSRF token (from the first page after login).
    pub csrf: String,
}

/// A page: status, headers and HTML text.
#[derive(Debug)]
pub struct Page {
    /// HTTP status.
    pub status: StatusCode,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body as text.
    pub html: String,
}

impl Page {
    /// The `Location` header of a redirect.
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no location in {:?}", self.headers))
    }
}

/// The value of the first `name="csrf" value="…"` in a page.
pub fn scrape_csrf(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    let rest = &html[at..];
    Some(rest[..rest.find('"')?].to_owned())
}

impl TestApp {
    /// A client that does not follow redirects (to see where a form sends the browser).
    pub fn page_client() -> reqwest::Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }

    /// Posts the console's login form; the raw page (303 with a cookie on success).
    pub async fn console_login_page(&self, username: &str, password: &str) -> Page {
        let response = Self::page_client()
            .post(format!("{}/console/login", self.base))
            .header("origin", &self.base)
            .form(&[("username", username), ("password", password)])
            .send()
            .await
            .expect("login sent");
        page_of(response).await
    }

    /// Logs a staff member in to the console (panics unless it works).
    pub async fn console(&self, username: &str, password: &str) -> ConsoleSession<'_> {
        let login = self.console_login_page(username, password).await;
        assert_eq!(login.status, StatusCode::SEE_OTHER, "{login:?}");
        let cookie = login
            .headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix("jieyue_staff="))
            .and_then(|v| v.split(';').next())
            .expect("session cookie")
            .to_owned();
        let mut session = ConsoleSession {
            app: self,
            cookie,
            csrf: String::new(),
        };
        let home = session.get("/console/").await;
        assert_eq!(home.status, StatusCode::OK, "{home:?}");
        session.csrf = scrape_csrf(&home.html).expect("csrf token on the dashboard");
        session
    }
}

/// A response as a [`Page`].
pub async fn page_of(response: reqwest::Response) -> Page {
    Page {
        status: response.status(),
        headers: response.headers().clone(),
        html: response.text().await.expect("body"),
    }
}

impl ConsoleSession<'_> {
    /// `GET path` with the session (redirects are not followed).
    pub async fn get(&self, path: &str) -> Page {
        let response = TestApp::page_client()
            .get(format!("{}{path}", self.app.base))
            .header("cookie", format!("jieyue_staff={}", self.cookie))
            .send()
            .await
            .expect("sent");
        page_of(response).await
    }

    /// `GET path`, which must answer 200; the HTML.
    pub async fn html(&self, path: &str) -> String {
        let page = self.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "GET {path}: {page:?}");
        page.html
    }

    /// `GET path`, raw bytes and headers (downloads).
    pub async fn bytes(&self, path: &str) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
        let response = TestApp::page_client()
            .get(format!("{}{path}", self.app.base))
            .header("cookie", format!("jieyue_staff={}", self.cookie))
            .send()
            .await
            .expect("sent");
        let status = response.status();
        let headers = response.headers().clone();
        (
            status,
            headers,
            response.bytes().await.expect("body").to_vec(),
        )
    }

    /// Posts a form as a same-origin browser would, with this session's CSRF token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut body: Vec<(&str, &str)> = vec![("csrf", self.csrf.as_str())];
        body.extend_from_slice(fields);
        self.post_raw(path, &body, &[("origin", self.app.base.as_str())])
            .await
    }

    /// Posts exactly `fields` with extra `headers` (for CSRF tests).
    pub async fn post_raw(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let mut request = TestApp::page_client()
            .post(format!("{}{path}", self.app.base))
            .header("cookie", format!("jieyue_staff={}", self.cookie))
            .form(fields);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        page_of(request.send().await.expect("sent")).await
    }

    /// Posts a multipart form (uploads): the CSRF token first, then text `fields`, then
    /// `files` as `(field, file name, bytes)`.
    pub async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: Vec<(&str, &str, Vec<u8>)>,
    ) -> Page {
        let mut form = reqwest::multipart::Form::new().text("csrf", self.csrf.clone());
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        for (field, file_name, bytes) in files {
            let part = reqwest::multipart::Part::bytes(bytes)
                .file_name(file_name.to_owned())
                .mime_str("application/epub+zip")
                .expect("mime");
            form = form.part(field.to_owned(), part);
        }
        let response = TestApp::page_client()
            .post(format!("{}{path}", self.app.base))
            .header("cookie", format!("jieyue_staff={}", self.cookie))
            .header("origin", &self.app.base)
            .multipart(form)
            .send()
            .await
            .expect("sent");
        page_of(response).await
    }
}
