//! The borrow transaction: the one write that makes a loan, written once per database
//! engine. On SQLite it runs as one synchronous unit on the writer thread
//! ([`super::sqlite_writer`]); on PostgreSQL through sea-orm. Both take the same steps
//! in the same order, and the database refuses what the invariants forbid: the loan
//! limit is counted under the patron's lock, a copy is taken by one conditional
//! `UPDATE`, one active loan per title and one loan per request id are unique indexes,
//! and the licence names its device by foreign key.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{OptionalExtension, params};

use super::sqlite_writer::{SqliteWriter, WriterError};
use super::{Db, StoreError};
use crate::domain::{IssuedLicence, Loan, LotId, LotStatus};

/// What the transaction is to do.
#[derive(Debug, Clone)]
pub struct BorrowPlan {
    /// The loan to make (its `lot_id` is filled in with the copy taken).
    pub loan: Loan,
    /// At most this many active loans, this one included.
    pub max_loans: u32,
    /// The lots to try, in draw order (a ready hold's reserved copy comes first).
    pub candidates: Vec<LotId>,
    /// The licence for the requested device, stored with the loan.
    pub licence: Option<IssuedLicence>,
    /// The audit row's detail.
    pub detail: serde_json::Value,
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BorrowOutcome {
    /// The loan was made with a copy of this lot; `waiting` readers (not suspended)
    /// queue for the title (whether the new loan may be renewed).
    Made {
        /// The lot whose copy the loan took.
        lot: LotId,
        /// Holds waiting for the title, not suspended.
        waiting: u64,
    },
    /// The reader has as many loans as allowed.
    LoanLimit,
    /// No candidate lot had a copy free.
    NoCopy,
    /// A unique index refused the loan: the title is on loan to the reader already, or
    /// this request id made a loan before.
    Duplicate,
    /// The device of the licence is gone.
    DeviceGone,
}

/// Runs the borrow transaction.
pub async fn run(db: &Db, plan: BorrowPlan) -> Result<BorrowOutcome, StoreError> {
    match db.sqlite_writer() {
        Some(writer) => on_sqlite(writer, plan).await,
        // PostgreSQL (a SQLite database always has its writer thread: an in-memory one
        // cannot be shared by the read and write pools in the first place).
        None => on_postgres(db, plan).await,
    }
}

/// PostgreSQL: five round trips. The patron row is locked and its active loans counted
/// in one statement; a ready hold's reserved copy is claimed in one; then one
/// data-modifying statement per lot tried (usually one) takes a copy by the conditional
/// `UPDATE`, inserts the loan, its audit row and its licence, and counts the title's
/// waiting holds, so the lot's row lock is held only until the commit that follows.
async fn on_postgres(db: &Db, plan: BorrowPlan) -> Result<BorrowOutcome, StoreError> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
    let BorrowPlan {
        loan,
        max_loans,
        candidates,
        licence,
        detail,
    } = plan;
    let now = loan.started_at;
    let statement = |sql: &str, values: Vec<Value>| {
        Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
    };
    let txn = db.begin_write().await?;
    let active: i64 = txn
        .query_one_raw(statement(
            "SELECT (SELECT COUNT(*) FROM loans WHERE patron_id = $1 AND state = 'active') \
             FROM patrons WHERE id = $1 FOR UPDATE",
            vec![loan.patron_id.0.into()],
        ))
        .await?
        .map(|row| row.try_get_by_index::<i64>(0))
        .transpose()?
        .unwrap_or(0);
    if active >= i64::from(max_loans) {
        return Ok(BorrowOutcome::LoanLimit);
    }
    let reserved = txn
        .query_one_raw(statement(
            "UPDATE holds SET state = 'fulfilled', updated_at = $3 \
             WHERE id = (SELECT id FROM holds WHERE patron_id = $1 AND title_id = $2 \
                         AND state = 'ready' LIMIT 1) \
             RETURNING lot_id",
            vec![loan.patron_id.0.into(), loan.title_id.0.into(), now.into()],
        ))
        .await?
        .map(|row| row.try_get_by_index::<Option<uuid::Uuid>>(0))
        .transpose()?
        .flatten()
        .map(LotId);
    // A ready hold's copy is already counted on its lot; otherwise each candidate in
    // turn, the copy taken in the same statement that inserts the loan.
    let attempts: Vec<(LotId, bool)> = match reserved {
        Some(lot) => vec![(lot, true)],
        None => candidates.into_iter().map(|lot| (lot, false)).collect(),
    };
    let (licence_id, device_id, licence_token) = match &licence {
        Some(l) => (Some(l.id.0), Some(l.device_id.0), Some(l.token.clone())),
        None => (None, None, None),
    };
    for (lot, already_counted) in attempts {
        let take = if already_counted {
            "SELECT $4::uuid AS id"
        } else {
            "UPDATE licence_lots SET active_loans = active_loans + 1, \
               checkouts_left = CASE WHEN checkouts_left IS NULL THEN NULL \
                                     ELSE checkouts_left - 1 END, \
               updated_at = $7 \
             WHERE id = $4 AND status = 'active' AND active_loans < copies \
               AND (checkouts_left IS NULL OR checkouts_left > 0) \
               AND (expires_at IS NULL OR expires_at > $7) \
             RETURNING id"
        };
        let sql = format!(
            "WITH lot AS ({take}), \
             loan AS ( \
               INSERT INTO loans (id, patron_id, title_id, lot_id, library_id, request_id, \
                 started_at, ends_at, renewals, state, ended_at, ending_notified_at, updated_at) \
               SELECT $1, $2, $3, lot.id, $5, $6, $7, $8, 0, 'active', NULL, NULL, $7 FROM lot \
               RETURNING id), \
             audit AS ( \
               INSERT INTO audit_events (id, at, actor_kind, actor_id, library_id, action, \
                 target_kind, target_id, detail) \
               SELECT $9, $7, 'patron', $2, $5, 'loan.borrow', 'loan', loan.id, $10 FROM loan), \
             licence AS ( \
               INSERT INTO licences (id, loan_id, device_id, issued_at, ends_at, token) \
               SELECT $11, loan.id, $12, $7, $8, $13 FROM loan WHERE $11::uuid IS NOT NULL) \
             SELECT (SELECT id FROM lot), \
               (SELECT COUNT(*) FROM holds WHERE title_id = $3 AND state = 'waiting' \
                AND (suspended_until IS NULL OR suspended_until <= $7))"
        );
        let made = txn
            .query_one_raw(statement(
                &sql,
                vec![
                    loan.id.0.into(),
                    loan.patron_id.0.into(),
                    loan.title_id.0.into(),
                    lot.0.into(),
                    loan.library_id.0.into(),
                    loan.request_id.into(),
                    now.into(),
                    loan.ends_at.into(),
                    uuid::Uuid::now_v7().into(),
                    detail.clone().into(),
                    licence_id.into(),
                    device_id.into(),
                    licence_token.clone().into(),
                ],
            ))
            .await;
        let row = match made {
            Ok(row) => row,
            Err(err) => {
                return match StoreError::from(err) {
                    StoreError::Duplicate(_) => Ok(BorrowOutcome::Duplicate),
                    // The only reference that can be missing is the licence's device.
                    StoreError::Db(e)
                        if matches!(
                            e.sql_err(),
                            Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_))
                        ) =>
                    {
                        Ok(BorrowOutcome::DeviceGone)
                    }
                    other => Err(other),
                };
            }
        };
        let Some(row) = row else { continue };
        let taken: Option<uuid::Uuid> = row.try_get_by_index(0)?;
        if taken.is_none() {
            continue;
        }
        let waiting: i64 = row.try_get_by_index(1)?;
        txn.commit().await?;
        return Ok(BorrowOutcome::Made {
            lot,
            waiting: u64::try_from(waiting).unwrap_or(0),
        });
    }
    Ok(BorrowOutcome::NoCopy)
}

/// A time as sqlx writes it into SQLite (so string comparisons in SQL agree).
fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

fn uuid(id: &uuid::Uuid) -> &[u8] {
    id.as_bytes().as_slice()
}

async fn on_sqlite(writer: &SqliteWriter, plan: BorrowPlan) -> Result<BorrowOutcome, StoreError> {
    writer
        .run(move |conn| sqlite_transaction(conn, &plan))
        .await
        .map_err(|e| match e {
            WriterError::Sqlite(e) => StoreError::Sqlite(e),
            WriterError::Stopped => StoreError::WriterStopped,
        })?
        .map_err(StoreError::Sqlite)
}

fn sqlite_transaction(
    conn: &mut rusqlite::Connection,
    plan: &BorrowPlan,
) -> rusqlite::Result<BorrowOutcome> {
    use rusqlite::ErrorCode;
    let loan = &plan.loan;
    let now = time(loan.started_at);
    let patron = uuid(&loan.patron_id.0);
    let title = uuid(&loan.title_id.0);
    // Dropping the transaction without commit rolls it back.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let active: i64 = tx
        .prepare_cached("SELECT COUNT(*) FROM loans WHERE patron_id = ?1 AND state = 'active'")?
        .query_row(params![patron], |row| row.get(0))?;
    if active >= i64::from(plan.max_loans) {
        return Ok(BorrowOutcome::LoanLimit);
    }
    let reserved: Option<Option<Vec<u8>>> = tx
        .prepare_cached(
            "UPDATE holds SET state = 'fulfilled', updated_at = ?3 \
             WHERE id = (SELECT id FROM holds WHERE patron_id = ?1 AND title_id = ?2 \
                         AND state = 'ready' LIMIT 1) \
             RETURNING lot_id",
        )?
        .query_row(params![patron, title, now], |row| row.get(0))
        .optional()?;
    let mut taken = reserved
        .flatten()
        .and_then(|bytes| uuid::Uuid::from_slice(&bytes).ok())
        .map(LotId);
    if taken.is_none() {
        let mut take = tx.prepare_cached(
            "UPDATE licence_lots SET active_loans = active_loans + 1, \
               checkouts_left = CASE WHEN checkouts_left IS NULL THEN NULL \
                                     ELSE checkouts_left - 1 END, \
               updated_at = ?2 \
             WHERE id = ?1 AND status = ?3 AND active_loans < copies \
               AND (checkouts_left IS NULL OR checkouts_left > 0) \
               AND (expires_at IS NULL OR expires_at > ?2)",
        )?;
        for lot in &plan.candidates {
            if take.execute(params![uuid(&lot.0), now, LotStatus::Active.as_str()])? == 1 {
                taken = Some(*lot);
                break;
            }
        }
    }
    let Some(lot) = taken else {
        return Ok(BorrowOutcome::NoCopy);
    };
    let inserted = tx
        .prepare_cached(
            "INSERT INTO loans (id, patron_id, title_id, lot_id, library_id, request_id, \
               started_at, ends_at, renewals, state, ended_at, ending_notified_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, 'active', NULL, NULL, ?7)",
        )?
        .execute(params![
            uuid(&loan.id.0),
            patron,
            title,
            uuid(&lot.0),
            uuid(&loan.library_id.0),
            uuid(&loan.request_id),
            now,
            time(loan.ends_at),
        ]);
    match inserted {
        Ok(_) => {}
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == ErrorCode::ConstraintViolation
                && e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
        {
            return Ok(BorrowOutcome::Duplicate);
        }
        Err(other) => return Err(other),
    }
    tx.prepare_cached(
        "INSERT INTO audit_events (id, at, actor_kind, actor_id, library_id, action, \
           target_kind, target_id, detail) \
         VALUES (?1, ?2, 'patron', ?3, ?4, 'loan.borrow', 'loan', ?5, ?6)",
    )?
    .execute(params![
        uuid(&uuid::Uuid::now_v7()),
        now,
        patron,
        uuid(&loan.library_id.0),
        uuid(&loan.id.0),
        plan.detail.to_string(),
    ])?;
    if let Some(licence) = &plan.licence {
        let stored = tx
            .prepare_cached(
                "INSERT INTO licences (id, loan_id, device_id, issued_at, ends_at, token) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                uuid(&licence.id.0),
                uuid(&loan.id.0),
                uuid(&licence.device_id.0),
                now,
                time(licence.ends_at),
                licence.token,
            ]);
        match stored {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
            {
                return Ok(BorrowOutcome::DeviceGone);
            }
            Err(other) => return Err(other),
        }
    }
    let waiting: i64 = tx
        .prepare_cached(
            "SELECT COUNT(*) FROM holds WHERE title_id = ?1 AND state = 'waiting' \
             AND (suspended_until IS NULL OR suspended_until <= ?2)",
        )?
        .query_row(params![title, now], |row| row.get(0))?;
    tx.commit()?;
    Ok(BorrowOutcome::Made {
        lot,
        waiting: u64::try_from(waiting).unwrap_or(0),
    })
}
