//! Offline enforcement with a fake platform clock: expiry, clock rollback, returns and
//! revocations learned on sync, keys destroyed, downloads paused and resumed.

use std::sync::Arc;

use chrono::Duration;
use jieyue_client_core::{ClientError, DownloadListener, DownloadOutcome, HoldState, Refusal};
use jieyue_tests::{Backend, TestApp, TwoLibraries};
use reqwest::StatusCode;

use crate::support::{Progress, phone};

async fn downloaded(app: &TestApp) -> (TwoLibraries, crate::support::Phone, String, String) {
    let world = TwoLibraries::create(app).await;
    let title_id = app.title_with_copies(&world, "zh/lunyu.epub", 2).await;
    let phone = phone(app, "city", "C1").await;
    let loan = phone
        .client
        .borrow(&title_id, Some(7))
        .await
        .expect("borrow");
    let outcome = phone
        .client
        .download(&title_id, Arc::new(Progress::default()))
        .await
        .expect("download");
    assert!(matches!(outcome, DownloadOutcome::Complete { .. }));
    (world, phone, title_id, loan.id)
}

fn first_chapter(book: &jieyue_client_core::Book) -> String {
    book.reading_order()[0].href.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_loan_refuses_to_open_and_its_key_is_destroyed() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (_, mut phone, title_id, _) = downloaded(&app).await;
    let book = phone
        .client
        .open_book(&title_id)
        .expect("open while the loan runs");

    // Six days later, offline, after the app restarted: still fine.
    phone.clock.advance(Duration::days(6));
    phone.restart(&app);
    let book2 = phone.client.open_book(&title_id).expect("day 6");
    book2.resource(&first_chapter(&book2)).expect("read day 6");

    // A day and a bit later the loan is over: the open book stops, and opening fails.
    phone.clock.advance(Duration::hours(25));
    assert!(matches!(
        book.resource(&first_chapter(&book)),
        Err(ClientError::Expired { .. })
    ));
    // The licence with its wrapped key and the package are gone from the device, and
    // opening the book says why.
    assert!(matches!(
        phone.client.open_book(&title_id),
        Err(ClientError::Expired { .. })
    ));
    let package = phone
        .dir
        .path()
        .join(format!("data/packages/{title_id}.epub"));
    assert!(!package.exists(), "the package is deleted");
    // Turning the clock back does not bring it back: there is nothing left to open.
    phone.clock.set_wall(-Duration::days(3));
    assert!(phone.client.open_book(&title_id).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_turned_back_is_detected_and_refuses_until_a_sync() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (_, mut phone, title_id, _) = downloaded(&app).await;
    phone.client.open_book(&title_id).expect("open");
    phone.clock.advance(Duration::hours(3));
    phone
        .client
        .open_book(&title_id)
        .expect("three hours later");

    // Clock turned back a day: detected at once.
    phone.clock.set_wall(-Duration::days(1));
    let refused = phone.client.open_book(&title_id);
    assert!(
        matches!(refused, Err(ClientError::ClockRollback { .. })),
        "{refused:?}"
    );
    // Neither a restart of the app nor a reboot of the phone clears it...
    phone.clock.reboot();
    phone.restart(&app);
    assert!(matches!(
        phone.client.open_book(&title_id),
        Err(ClientError::ClockRollback { .. })
    ));
    // ...nor setting the clock right again: the rollback sticks until a sync.
    phone.clock.set_wall(Duration::days(1));
    assert!(matches!(
        phone.client.open_book(&title_id),
        Err(ClientError::ClockRollback { .. })
    ));
    let report = phone.client.sync().await.expect("sync");
    assert_eq!(report.checked, 1);
    assert!(report.ended.is_empty());
    phone
        .client
        .open_book(&title_id)
        .expect("open after the sync");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_learned_on_sync_stops_reading() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (world, phone, title_id, loan_id) = downloaded(&app).await;
    let book = phone.client.open_book(&title_id).expect("open");
    let revoked = app
        .post(
            &format!("/api/v1/admin/loans/{loan_id}/revoke"),
            Some(&world.city_manager),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{revoked:?}");
    // Offline the device cannot know yet.
    book.resource(&first_chapter(&book))
        .expect("still readable before a sync");
    let report = phone.client.sync().await.expect("sync");
    assert_eq!(report.ended, vec![title_id.clone()]);
    assert!(book.resource(&first_chapter(&book)).is_err());
    assert!(matches!(
        phone.client.open_book(&title_id),
        Err(ClientError::Revoked { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_from_another_device_is_learned_on_sync() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (_, phone, title_id, loan_id) = downloaded(&app).await;
    // The same reader returns the book from a tablet.
    let tablet = crate::support::phone(&app, "city", "C1").await;
    tablet.client.return_loan(&loan_id).await.expect("return");
    let report = phone.client.sync().await.expect("sync");
    assert_eq!(report.ended, vec![title_id.clone()]);
    assert!(phone.client.open_book(&title_id).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_replaces_the_licence_and_moves_the_end() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (_, phone, title_id, loan_id) = downloaded(&app).await;
    let loan = phone.client.loans(false).await.expect("loans").remove(0);
    assert!(loan.can_renew, "{loan:?}");
    let before = chrono::DateTime::<chrono::Utc>::from(loan.ends_at);
    let renewed = phone.client.renew(&loan_id).await.expect("renew");
    assert!(renewed.ends_at > loan.ends_at);
    assert_eq!(renewed.renewals_left + 1, loan.renewals_left);
    // Past the old end, before the new one: still opens.
    let days = (before - app.clock_now()).num_days() + 1;
    phone.clock.advance(Duration::days(days));
    phone
        .client
        .open_book(&title_id)
        .expect("open after the old end");
}

/// Pauses the download at its first progress report.
struct PauseAtOnce {
    client: Arc<jieyue_client_core::Client>,
    title: String,
}

impl DownloadListener for PauseAtOnce {
    fn on_progress(&self, received: u64, _total: Option<u64>) {
        if received > 0 {
            self.client.pause_download(&self.title).expect("pause");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_pause_resume_and_refuse_a_damaged_file() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let world = TwoLibraries::create(&app).await;
    let title_id = app
        .title_with_copies(&world, "epub3/haruko-jpeg.epub", 1)
        .await;
    let phone = phone(&app, "city", "C1").await;
    phone.client.borrow(&title_id, None).await.expect("borrow");
    let pause = Arc::new(PauseAtOnce {
        client: phone.client.clone(),
        title: title_id.clone(),
    });
    let first = phone
        .client
        .download(&title_id, pause.clone())
        .await
        .expect("first part");
    let DownloadOutcome::Paused { received, total } = first else {
        panic!("{first:?}");
    };
    let total = total.expect("the server says the size");
    assert!(received > 0 && received < total, "{received} of {total}");
    // A paused download never looks like a package.
    assert!(matches!(
        phone.client.open_book(&title_id),
        Err(ClientError::NotFound { .. })
    ));

    // Resume: only the rest is fetched, and the whole checks out.
    let progress = Arc::new(Progress::default());
    let done = phone
        .client
        .download(&title_id, progress.clone())
        .await
        .expect("resume");
    assert_eq!(done, DownloadOutcome::Complete { bytes: total });
    assert_eq!(
        progress.calls.lock().expect("lock")[0].0,
        received,
        "resumed where it stopped"
    );
    phone.client.open_book(&title_id).expect("opens");

    // A part file damaged on disk is caught by the hash and thrown away.
    phone.client.delete_download(&title_id).expect("delete");
    let first = phone.client.download(&title_id, pause).await.expect("part");
    assert!(matches!(first, DownloadOutcome::Paused { .. }));
    let part = phone
        .dir
        .path()
        .join(format!("data/packages/{title_id}.part"));
    let mut bytes = std::fs::read(&part).expect("part");
    bytes[100] ^= 0xff;
    std::fs::write(&part, bytes).expect("damage");
    let damaged = phone
        .client
        .download(&title_id, Arc::new(Progress::default()))
        .await;
    assert!(
        matches!(damaged, Err(ClientError::CorruptPackage { .. })),
        "{damaged:?}"
    );
    assert!(!part.exists());
    // Downloading again from scratch works.
    let again = phone
        .client
        .download(&title_id, Arc::new(Progress::default()))
        .await
        .expect("again");
    assert!(matches!(again, DownloadOutcome::Complete { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_an_app_acts_on() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let world = TwoLibraries::create(&app).await;
    let title_id = app.title_with_copies(&world, "zh/daxue.epub", 1).await;
    let phone = phone(&app, "city", "C1").await;
    let wrong = phone.client.login("city", "C1", "wrong password").await;
    assert!(
        matches!(wrong, Err(ClientError::WrongCredentials { .. })),
        "{wrong:?}"
    );
    phone.client.borrow(&title_id, None).await.expect("borrow");
    // Someone else finds no copy left.
    app.create_patron(&world.admin, &world.city, "C2", "李华")
        .await;
    let other = crate::support::phone(&app, "city", "C2").await;
    let again = other.client.borrow(&title_id, None).await;
    assert!(
        matches!(
            again,
            Err(ClientError::Refused {
                reason: Refusal::NoCopyAvailable,
                ..
            })
        ),
        "{again:?}"
    );
    let missing = phone.client.title(&uuid::Uuid::new_v4().to_string()).await;
    assert!(
        matches!(missing, Err(ClientError::NotFound { .. })),
        "{missing:?}"
    );
    // They place a hold instead, suspend it and cancel it.
    let hold = other
        .client
        .place_hold(&title_id, false)
        .await
        .expect("hold");
    assert_eq!((hold.state, hold.position), (HoldState::Waiting, Some(1)));
    let until = std::time::SystemTime::from(app.clock_now() + Duration::days(1));
    let suspended = other
        .client
        .suspend_hold(&hold.id, Some(until))
        .await
        .expect("suspend");
    assert_eq!(suspended.suspended_until, Some(until));
    assert_eq!(other.client.holds().await.expect("holds").len(), 1);
    other.client.cancel_hold(&hold.id).await.expect("cancel");
    assert!(other.client.holds().await.expect("holds").is_empty());
    let notes = other
        .client
        .notifications(None)
        .await
        .expect("notifications");
    assert!(notes.items.is_empty());
    // Unreachable server: a network error, and a downloaded book still opens.
    phone
        .client
        .download(&title_id, Arc::new(Progress::default()))
        .await
        .expect("download");
    let mut phone = phone;
    phone.restart_offline();
    let offline = phone.client.loans(false).await;
    assert!(
        matches!(offline, Err(ClientError::Network { .. })),
        "{offline:?}"
    );
    phone.client.open_book(&title_id).expect("opens offline");
    let page = phone.client.search("", None, None, None).await;
    assert!(matches!(page, Err(ClientError::Network { .. })));
}
