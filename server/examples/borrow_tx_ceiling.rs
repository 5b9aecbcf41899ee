//! The database ceiling of a borrow: bare borrow-shaped write transactions through the
//! server's own store (`jieyue_server::store`), no HTTP, no authentication, no crypto,
//! from 64 concurrent tokio tasks.
//!
//! Three shapes, each for SECONDS seconds on one fresh database:
//! - `server`: the server's own borrow transaction, `store::borrow::run` (the figure);
//! - `writes`: take a copy (the conditional `UPDATE`), insert the loan, the audit row and
//!   the licence row, commit;
//! - `borrow`: the same with the reads the borrow transaction makes first (the patron
//!   row lock on PostgreSQL, the active-loan count, the reader's ready hold).
//!
//! Prints transactions per second, latency and CPU per transaction: this process's
//! (the client side and, on SQLite, the database itself) and the whole machine's
//! (adds PostgreSQL's backends).
//!
//! `cargo run --release -p jieyue-server --example borrow_tx_ceiling -- sqlite|postgres [SECONDS]`

#![allow(
    missing_docs,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

mod bench_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bench_support::{Server, make_epub};
use chrono::Utc;
use jieyue_server::domain::{
    CardNumber, Device, DeviceId, DisplayName, IssuedLicence, LibraryId, LicenceId, Loan, LoanId,
    LoanState, LotId, NewPatron, PasswordHash, PatronCategory, PatronId, TitleId,
};
use jieyue_server::store::audit::{Actor, AuditEntry};
use jieyue_server::store::{self, Db};
use serde_json::json;
use uuid::Uuid;

const PATRONS: usize = 4_096;
const TITLES: usize = 40;

/// (utime + stime) of this process and busy time of the whole machine, in ms.
fn cpu_ms() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("stat");
    let after = stat.rsplit_once(')').expect("comm").1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let own: f64 =
        fields[11].parse::<f64>().expect("utime") + fields[12].parse::<f64>().expect("stime");
    let all = std::fs::read_to_string("/proc/stat").expect("/proc/stat");
    let cpu: Vec<f64> = all
        .lines()
        .next()
        .expect("cpu line")
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().expect("number"))
        .collect();
    // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
    let busy = cpu.iter().take(8).sum::<f64>() - cpu[3] - cpu[4];
    (own * 10.0, busy * 10.0)
}

/// Concurrent tasks: `TASKS` from the environment, else 64 (like the HTTP clients).
fn tasks() -> usize {
    std::env::var("TASKS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(64)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Writes,
    Borrow,
    Server,
}

struct Fixture {
    library: LibraryId,
    patrons: Vec<(PatronId, DeviceId)>,
    titles: Vec<(TitleId, LotId)>,
}

/// The server's own borrow transaction (`store::borrow::run`: on SQLite one unit on the
/// writer thread through rusqlite, on PostgreSQL through sea-orm).
async fn server_borrow(db: &Db, f: &Fixture, pair: usize) -> store::Result<()> {
    let (patron, device) = f.patrons[pair % f.patrons.len()];
    let (title, lot) = f.titles[pair / f.patrons.len()];
    let now = Utc::now();
    let loan = Loan {
        id: LoanId::new(),
        patron_id: patron,
        title_id: title,
        lot_id: lot,
        library_id: f.library,
        request_id: Uuid::new_v4(),
        started_at: now,
        ends_at: now + chrono::Duration::days(14),
        renewals: 0,
        state: LoanState::Active,
        ended_at: None,
        updated_at: now,
    };
    let licence = IssuedLicence {
        id: LicenceId::new(),
        loan_id: loan.id,
        device_id: device,
        ends_at: loan.ends_at,
        token: "x".repeat(1_400),
    };
    let plan = store::borrow::BorrowPlan {
        loan,
        max_loans: 1_000,
        candidates: vec![lot],
        licence: Some(licence),
        detail: json!({ "title": title, "lot": lot, "days": 14 }),
    };
    let outcome = store::borrow::run(db, plan).await?;
    assert!(
        matches!(outcome, store::borrow::BorrowOutcome::Made { lot: taken, .. } if taken == lot),
        "{outcome:?}"
    );
    Ok(())
}

async fn borrow_once(db: &Db, f: &Fixture, pair: usize, shape: Shape) -> store::Result<()> {
    if shape == Shape::Server {
        return server_borrow(db, f, pair).await;
    }
    let with_reads = shape == Shape::Borrow;
    let (patron, device) = f.patrons[pair % f.patrons.len()];
    let (title, lot) = f.titles[pair / f.patrons.len()];
    let now = Utc::now();
    let txn = db.begin_write().await?;
    if with_reads {
        store::patrons::lock(&txn, patron).await?;
        let _ = store::loans::active_loan_count(&txn, patron).await?;
        let _ = store::holds::fulfil_ready(&txn, patron, title, now).await?;
    }
    assert!(store::lots::take_copy(&txn, lot, now).await?, "copy");
    let loan = Loan {
        id: LoanId::new(),
        patron_id: patron,
        title_id: title,
        lot_id: lot,
        library_id: f.library,
        request_id: Uuid::new_v4(),
        started_at: now,
        ends_at: now + chrono::Duration::days(14),
        renewals: 0,
        state: LoanState::Active,
        ended_at: None,
        updated_at: now,
    };
    store::loans::insert_loan(&txn, &loan).await?;
    store::audit::record(
        &txn,
        AuditEntry {
            actor: Actor::Patron(patron),
            library_id: Some(f.library),
            action: "loan.borrow",
            target_kind: "loan",
            target_id: Some(loan.id.0),
            detail: Some(json!({ "title": title, "lot": lot, "days": 14 })),
        },
        now,
    )
    .await?;
    let licence = IssuedLicence {
        id: LicenceId::new(),
        loan_id: loan.id,
        device_id: device,
        ends_at: loan.ends_at,
        // About the size of a signed licence.
        token: "x".repeat(1_400),
    };
    store::licences::insert(&txn, &licence, now).await?;
    txn.commit().await?;
    Ok(())
}

async fn run(db: &Db, fixture: &Arc<Fixture>, next: &Arc<AtomicUsize>, seconds: f64, shape: Shape) {
    let tasks_n = tasks();
    let pairs = fixture.patrons.len() * fixture.titles.len();
    let (own0, all0) = cpu_ms();
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for _ in 0..tasks_n {
        let (db, fixture, next) = (db.clone(), fixture.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let pair = next.fetch_add(1, Ordering::Relaxed);
                if pair >= pairs {
                    break;
                }
                let t0 = Instant::now();
                borrow_once(&db, &fixture, pair, shape)
                    .await
                    .expect("transaction");
                latencies.push(t0.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("task"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (own1, all1) = cpu_ms();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3;
    let n = all.len() as f64;
    println!(
        "{}: {} transactions in {elapsed:.1} s = {:.0}/s; latency p50 {:.1} ms, p99 {:.1} ms; CPU per transaction {:.3} ms this process, {:.3} ms whole machine",
        match shape {
            Shape::Writes => "writes (store functions)",
            Shape::Borrow => "borrow-shaped (store functions, with reads)",
            Shape::Server => "server's borrow transaction (store::borrow::run)",
        },
        all.len(),
        n / elapsed,
        pct(0.5),
        pct(0.99),
        (own1 - own0) / n,
        (all1 - all0) / n,
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let backend = std::env::args().nth(1).unwrap_or_else(|| "sqlite".into());
    let seconds: f64 = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10.0);
    // The real server makes the schema, keys, library and titles; the transactions
    // below then go to the same database through a pool of their own.
    let server = Server::start(&backend, 0, 1_000).await;
    let mut titles = Vec::new();
    for n in 0..TITLES {
        let id = server.upload(&format!("t{n}.epub"), make_epub(n, 2)).await;
        server.lot(&id, 100_000).await;
        let title = TitleId(id.parse().expect("uuid"));
        titles.push(title);
    }
    let db = Db::connect(&server.database_url, 16).await.expect("db");
    let library = LibraryId(server.library.parse().expect("uuid"));
    let mut with_lots = Vec::new();
    for title in titles {
        let lots = store::lots::lots_of_title(db.reader(), title)
            .await
            .expect("lots");
        with_lots.push((title, lots[0].id));
    }
    let now = Utc::now();
    let txn = db.begin_write().await.expect("begin");
    let mut patrons = Vec::with_capacity(PATRONS);
    for n in 0..PATRONS {
        let patron = store::patrons::insert(
            &txn,
            &NewPatron {
                library_id: library,
                card_number: CardNumber::parse(&format!("T{n:06}")).expect("card"),
                display_name: DisplayName::parse("读者").expect("name"),
                category: PatronCategory::parse("adult").expect("category"),
                card_expires_at: now + chrono::Duration::days(365),
                password_hash: PasswordHash("unused".into()),
            },
            now,
        )
        .await
        .expect("patron");
        let device = Device {
            id: DeviceId(Uuid::new_v4()),
            patron_id: patron.id,
            name: "phone".into(),
            key_sealed: "unused".into(),
            enrolled_at: now,
        };
        store::devices::save_device(&txn, &device)
            .await
            .expect("device");
        patrons.push((patron.id, device.id));
    }
    txn.commit().await.expect("commit");
    let fixture = Arc::new(Fixture {
        library,
        patrons,
        titles: with_lots,
    });
    println!(
        "{backend}: {} tasks, {PATRONS} patrons, {TITLES} titles; {seconds} s per shape",
        tasks()
    );
    let next = Arc::new(AtomicUsize::new(0));
    run(&db, &fixture, &next, 2.0, Shape::Server).await; // warm-up
    run(&db, &fixture, &next, seconds, Shape::Server).await;
    run(&db, &fixture, &next, seconds, Shape::Writes).await;
    run(&db, &fixture, &next, seconds, Shape::Borrow).await;
}
