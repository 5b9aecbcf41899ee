//! A reader's device for tests: the real client core with a file secure store and a
//! platform clock the test moves.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use jieyue_client_core::{Client, ClientConfig, FileSecureStore, PlatformClock};
use jieyue_tests::{PASSWORD, TestApp};

/// Wall and monotonic clocks the test sets.
#[derive(Debug)]
pub struct FakeClock {
    wall_ms: AtomicI64,
    boot_ms: AtomicU64,
}

impl FakeClock {
    pub fn new(wall: chrono::DateTime<chrono::Utc>) -> Self {
        Self {
            wall_ms: AtomicI64::new(wall.timestamp_millis()),
            boot_ms: AtomicU64::new(60_000),
        }
    }

    /// Time passes (both clocks move).
    pub fn advance(&self, by: chrono::Duration) {
        let ms = by.num_milliseconds();
        self.wall_ms.fetch_add(ms, Ordering::SeqCst);
        self.boot_ms
            .fetch_add(u64::try_from(ms).expect("forward"), Ordering::SeqCst);
    }

    /// The user sets the wall clock (the monotonic clock does not notice).
    pub fn set_wall(&self, by: chrono::Duration) {
        self.wall_ms
            .fetch_add(by.num_milliseconds(), Ordering::SeqCst);
    }

    /// The device restarts: the monotonic clock starts again.
    pub fn reboot(&self) {
        self.boot_ms.store(5_000, Ordering::SeqCst);
    }
}

impl PlatformClock for FakeClock {
    fn wall_time(&self) -> std::time::SystemTime {
        chrono::DateTime::<chrono::Utc>::from_timestamp_millis(self.wall_ms.load(Ordering::SeqCst))
            .expect("a wall time in range")
            .into()
    }

    fn since_boot_millis(&self) -> u64 {
        self.boot_ms.load(Ordering::SeqCst)
    }
}

/// A reader with a phone.
pub struct Phone {
    pub client: Arc<Client>,
    pub clock: Arc<FakeClock>,
    pub dir: tempfile::TempDir,
}

impl Phone {
    /// Builds the client again on the same data (the app restarted).
    pub fn restart(&mut self, app: &TestApp) {
        self.client = Arc::new(client(app, &self.dir, self.clock.clone()));
    }

    /// Restarts the app with the server out of reach (nothing listens at its address).
    pub fn restart_offline(&mut self) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let url = format!("http://127.0.0.1:{port}");
        self.client = Arc::new(client_for(&url, &self.dir, self.clock.clone()));
    }
}

fn client(app: &TestApp, dir: &tempfile::TempDir, clock: Arc<FakeClock>) -> Client {
    client_for(&app.base, dir, clock)
}

fn client_for(server_url: &str, dir: &tempfile::TempDir, clock: Arc<FakeClock>) -> Client {
    let keys = std::fs::read_to_string(dir.path().join("keys.json")).expect("keys");
    Client::new(
        ClientConfig {
            server_url: server_url.to_owned(),
            data_dir: dir.path().join("data").display().to_string(),
            issuer_keys_json: keys,
            device_name: "王小明的手机".into(),
            rollback_tolerance_seconds: None,
        },
        Arc::new(FileSecureStore::new(dir.path().join("secure")).expect("store")),
        clock,
    )
    .expect("client")
}

/// Logs `card` of library `library` in on a new phone and enrols it.
pub async fn phone(app: &TestApp, library: &str, card: &str) -> Phone {
    let dir = tempfile::tempdir().expect("dir");
    let keys = app.get("/.well-known/jieyue/keys", None).await.body;
    std::fs::write(dir.path().join("keys.json"), keys.to_string()).expect("keys");
    let clock = Arc::new(FakeClock::new(app.clock_now()));
    let client = client(app, &dir, clock.clone());
    let profile = client.login(library, card, PASSWORD).await.expect("login");
    assert_eq!(profile.card_number, card);
    let device = client.enrol_device().await.expect("enrol");
    assert_eq!(client.device_id(), Some(device.id));
    Phone {
        client: Arc::new(client),
        clock,
        dir,
    }
}

/// The fonts the layout tests use: DejaVu Sans for Latin, WenQuanYi Micro Hei for CJK
/// (Debian packages `fonts-dejavu-core` and `fonts-wqy-microhei`, installed by
/// `scripts/test`).
pub fn fonts() -> Vec<Vec<u8>> {
    [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    ]
    .iter()
    .map(|path| {
        std::fs::read(path).unwrap_or_else(|e| {
            panic!("{path}: {e} (scripts/test installs fonts-dejavu-core and fonts-wqy-microhei)")
        })
    })
    .collect()
}

/// A listener that records progress.
#[derive(Default)]
pub struct Progress {
    pub calls: std::sync::Mutex<Vec<(u64, Option<u64>)>>,
}

impl jieyue_client_core::DownloadListener for Progress {
    fn on_progress(&self, received: u64, total: Option<u64>) {
        self.calls.lock().expect("lock").push((received, total));
    }
}
