//! The client's local database (SQLite through rusqlite): licences, the trusted-time
//! anchor, downloads, bookmarks, highlights and reading positions.
//!
//! Licence records and the anchor carry an HMAC under a key derived from the device key
//! ([`LocalIntegrity`]): a record edited outside the app or copied from another device
//! is refused (and, for licences, deleted). The licence itself is a signed JWS bound to
//! this device; its wrapped content key is useless without the device key, which lives
//! in the platform's secure store, not here.

use std::path::Path;
use std::time::SystemTime;

use chrono::{DateTime, SecondsFormat, Utc};
use jieyue_protocol::local::LocalIntegrity;
use jieyue_protocol::status::LicenceStatus;
use jieyue_protocol::time::TimeAnchor;
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::error::{ClientError, Result};

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS licences (
    publication_id TEXT PRIMARY KEY,
    licence_id TEXT NOT NULL UNIQUE,
    loan_id TEXT NOT NULL,
    token TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'returned', 'expired', 'revoked')),
    ends_at TEXT NOT NULL,
    mac BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS anchor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    json TEXT NOT NULL,
    mac BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS annotations (
    id TEXT PRIMARY KEY,
    publication_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('bookmark', 'highlight')),
    locator TEXT NOT NULL,
    note TEXT,
    color TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS annotations_publication ON annotations (publication_id, created_at);
-- Why a book's licence left this device (so opening it says so).
CREATE TABLE IF NOT EXISTS ended (
    publication_id TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('returned', 'expired', 'revoked'))
);
CREATE TABLE IF NOT EXISTS positions (
    publication_id TEXT PRIMARY KEY,
    locator TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    synced INTEGER NOT NULL DEFAULT 0
);
";

/// A licence as kept on this device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredLicence {
    pub publication_id: Uuid,
    pub licence_id: Uuid,
    pub loan_id: Uuid,
    /// The signed licence (JWS compact).
    pub token: String,
    /// What the server last said of it.
    pub status: LicenceStatus,
    /// The loan's end as last known (moves on renewal).
    pub ends_at: DateTime<Utc>,
}

impl StoredLicence {
    fn record(&self) -> Vec<u8> {
        format!(
            "{}|{}|{}|{}|{}|{}",
            self.publication_id,
            self.licence_id,
            self.loan_id,
            status_str(self.status),
            self.ends_at.to_rfc3339(),
            self.token
        )
        .into_bytes()
    }
}

fn status_str(status: LicenceStatus) -> &'static str {
    match status {
        LicenceStatus::Active => "active",
        LicenceStatus::Returned => "returned",
        LicenceStatus::Expired => "expired",
        LicenceStatus::Revoked => "revoked",
    }
}

fn parse_status(text: &str) -> Option<LicenceStatus> {
    Some(match text {
        "active" => LicenceStatus::Active,
        "returned" => LicenceStatus::Returned,
        "expired" => LicenceStatus::Expired,
        "revoked" => LicenceStatus::Revoked,
        _ => return None,
    })
}

/// A bookmark or a highlight.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Annotation {
    /// Id.
    pub id: String,
    /// The book.
    pub publication_id: String,
    /// `bookmark` or `highlight`.
    pub kind: String,
    /// Where (a Readium locator as JSON).
    pub locator_json: String,
    /// The reader's note.
    pub note: Option<String>,
    /// Highlight colour (`yellow`, `#ffcc00`, ...).
    pub color: Option<String>,
    /// When it was made.
    pub created_at: SystemTime,
}

/// The open database.
pub(crate) struct LocalStore {
    conn: Connection,
}

const LICENCE: &str = "licence";
const ANCHOR: &str = "anchor";

impl LocalStore {
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self { conn })
    }

    pub fn put_licence(&self, mac: &LocalIntegrity, licence: &StoredLicence) -> Result<()> {
        self.conn.execute(
            "INSERT INTO licences (publication_id, licence_id, loan_id, token, status, ends_at, mac)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (publication_id) DO UPDATE SET licence_id = excluded.licence_id,
                 loan_id = excluded.loan_id, token = excluded.token, status = excluded.status,
                 ends_at = excluded.ends_at, mac = excluded.mac",
            params![
                licence.publication_id.to_string(),
                licence.licence_id.to_string(),
                licence.loan_id.to_string(),
                licence.token,
                status_str(licence.status),
                licence.ends_at.to_rfc3339(),
                mac.tag(LICENCE, &licence.record()),
            ],
        )?;
        // Lent again: whatever ended before is history.
        self.conn.execute(
            "DELETE FROM ended WHERE publication_id = ?1",
            [licence.publication_id.to_string()],
        )?;
        Ok(())
    }

    /// The licence for `publication_id`. A record whose MAC does not check is deleted
    /// and reported as [`ClientError::LicenceRemoved`] (sync to fetch it again).
    pub fn licence(
        &self,
        mac: &LocalIntegrity,
        publication_id: Uuid,
    ) -> Result<Option<StoredLicence>> {
        let row = self
            .conn
            .query_row(
                "SELECT licence_id, loan_id, token, status, ends_at, mac FROM licences
                 WHERE publication_id = ?1",
                [publication_id.to_string()],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, Vec<u8>>(5)?,
                    ))
                },
            )
            .optional()?;
        let Some((licence_id, loan_id, token, status, ends_at, tag)) = row else {
            return Ok(None);
        };
        let parsed = (|| {
            Some(StoredLicence {
                publication_id,
                licence_id: licence_id.parse().ok()?,
                loan_id: loan_id.parse().ok()?,
                token,
                status: parse_status(&status)?,
                ends_at: DateTime::parse_from_rfc3339(&ends_at)
                    .ok()?
                    .with_timezone(&Utc),
            })
        })();
        match parsed {
            Some(licence) if mac.check(LICENCE, &licence.record(), &tag) => Ok(Some(licence)),
            _ => {
                self.delete_licence(publication_id)?;
                Err(ClientError::LicenceRemoved {
                    message: "the licence on this device was altered or damaged and has been \
                              removed; sync (or fetch the licence) to read again"
                        .into(),
                })
            }
        }
    }

    pub fn licence_publications(&self) -> Result<Vec<Uuid>> {
        let mut statement = self
            .conn
            .prepare("SELECT publication_id FROM licences ORDER BY publication_id")?;
        let ids = statement
            .query_map([], |r| r.get::<_, String>(0))?
            .filter_map(|id| id.ok().and_then(|id| id.parse().ok()))
            .collect();
        Ok(ids)
    }

    /// Remembers that the loan of `publication_id` ended with `status` (returned,
    /// expired, revoked). Not integrity-protected: it only chooses an error message.
    pub fn record_ended(&self, publication_id: Uuid, status: LicenceStatus) -> Result<()> {
        let status = match status {
            LicenceStatus::Active => return Ok(()),
            other => status_str(other),
        };
        self.conn.execute(
            "INSERT INTO ended (publication_id, status) VALUES (?1, ?2)
             ON CONFLICT (publication_id) DO UPDATE SET status = excluded.status",
            rusqlite::params![publication_id.to_string(), status],
        )?;
        Ok(())
    }

    /// How the loan of `publication_id` ended, if this device saw it end.
    pub fn ended(&self, publication_id: Uuid) -> Result<Option<LicenceStatus>> {
        let status: Option<String> = self
            .conn
            .query_row(
                "SELECT status FROM ended WHERE publication_id = ?1",
                [publication_id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(status.as_deref().and_then(parse_status))
    }

    /// Destroys the licence (and with it the wrapped content key) of `publication_id`.
    pub fn delete_licence(&self, publication_id: Uuid) -> Result<()> {
        self.conn.execute(
            "DELETE FROM licences WHERE publication_id = ?1",
            [publication_id.to_string()],
        )?;
        Ok(())
    }

    pub fn put_anchor(&self, mac: &LocalIntegrity, anchor: &TimeAnchor) -> Result<()> {
        let json = serde_json::to_string(anchor).map_err(ClientError::other)?;
        self.conn.execute(
            "INSERT INTO anchor (id, json, mac) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET json = excluded.json, mac = excluded.mac",
            params![json, mac.tag(ANCHOR, json.as_bytes())],
        )?;
        Ok(())
    }

    /// The anchor; `Err` if it was altered.
    pub fn anchor(&self, mac: &LocalIntegrity) -> Result<Option<TimeAnchor>> {
        let row: Option<(String, Vec<u8>)> = self
            .conn
            .query_row("SELECT json, mac FROM anchor WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        match row {
            None => Ok(None),
            Some((json, tag)) if mac.check(ANCHOR, json.as_bytes(), &tag) => {
                serde_json::from_str(&json)
                    .map(Some)
                    .map_err(|e| ClientError::storage(format!("time anchor: {e}")))
            }
            Some(_) => Err(ClientError::ClockRollback {
                message: "the trusted-time record was altered; connect to sync".into(),
            }),
        }
    }

    pub fn add_annotation(&self, annotation: &Annotation) -> Result<()> {
        self.conn.execute(
            "INSERT INTO annotations (id, publication_id, kind, locator, note, color, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                annotation.id,
                annotation.publication_id,
                annotation.kind,
                annotation.locator_json,
                annotation.note,
                annotation.color,
                DateTime::<Utc>::from(annotation.created_at)
                    .to_rfc3339_opts(SecondsFormat::Micros, true)
            ],
        )?;
        Ok(())
    }

    pub fn annotations(&self, publication_id: &str) -> Result<Vec<Annotation>> {
        let mut statement = self.conn.prepare(
            "SELECT id, publication_id, kind, locator, note, color, created_at FROM annotations
             WHERE publication_id = ?1 ORDER BY created_at, id",
        )?;
        let rows = statement
            .query_map([publication_id], |r| {
                Ok(Annotation {
                    id: r.get(0)?,
                    publication_id: r.get(1)?,
                    kind: r.get(2)?,
                    locator_json: r.get(3)?,
                    note: r.get(4)?,
                    color: r.get(5)?,
                    created_at: {
                        let text: String = r.get(6)?;
                        DateTime::parse_from_rfc3339(&text)
                            .map_err(|e| {
                                rusqlite::Error::FromSqlConversionFailure(
                                    6,
                                    rusqlite::types::Type::Text,
                                    Box::new(e),
                                )
                            })?
                            .into()
                    },
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub fn delete_annotation(&self, id: &str) -> Result<bool> {
        Ok(self
            .conn
            .execute("DELETE FROM annotations WHERE id = ?1", [id])?
            > 0)
    }

    pub fn put_position(&self, publication_id: &str, locator: &str, synced: bool) -> Result<()> {
        self.conn.execute(
            "INSERT INTO positions (publication_id, locator, updated_at, synced) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (publication_id) DO UPDATE SET locator = excluded.locator,
                 updated_at = excluded.updated_at, synced = excluded.synced",
            params![publication_id, locator, Utc::now().to_rfc3339(), synced],
        )?;
        Ok(())
    }

    /// The saved position of a book and whether the server has it.
    pub fn position(&self, publication_id: &str) -> Result<Option<(String, bool)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT locator, synced FROM positions WHERE publication_id = ?1",
                [publication_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    pub fn unsynced_positions(&self) -> Result<Vec<(String, String)>> {
        let mut statement = self
            .conn
            .prepare("SELECT publication_id, locator FROM positions WHERE synced = 0")?;
        let rows = statement
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jieyue_protocol::DeviceKey;

    fn licence() -> StoredLicence {
        StoredLicence {
            publication_id: Uuid::from_u128(1),
            licence_id: Uuid::from_u128(2),
            loan_id: Uuid::from_u128(3),
            token: "a.b.c".into(),
            status: LicenceStatus::Active,
            ends_at: Utc::now(),
        }
    }

    #[test]
    fn licences_round_trip_and_an_edited_row_is_removed() {
        let dir = tempfile::tempdir().expect("dir");
        let store = LocalStore::open(&dir.path().join("local.db")).expect("open");
        let mac = LocalIntegrity::new(&DeviceKey::from_bytes([5; 32]));
        let mut stored = licence();
        stored.ends_at = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        store.put_licence(&mac, &stored).expect("put");
        assert_eq!(
            store.licence(&mac, stored.publication_id).expect("get"),
            Some(stored.clone())
        );
        // Someone moves the end date on by editing the database.
        store
            .conn
            .execute(
                "UPDATE licences SET ends_at = '2027-12-01T10:00:00+00:00'",
                [],
            )
            .expect("edit");
        assert!(matches!(
            store.licence(&mac, stored.publication_id),
            Err(ClientError::LicenceRemoved { .. })
        ));
        assert_eq!(
            store.licence(&mac, stored.publication_id).expect("gone"),
            None
        );
    }

    #[test]
    fn a_record_from_another_device_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let store = LocalStore::open(&dir.path().join("local.db")).expect("open");
        let other = LocalIntegrity::new(&DeviceKey::from_bytes([6; 32]));
        store.put_licence(&other, &licence()).expect("put");
        let mine = LocalIntegrity::new(&DeviceKey::from_bytes([5; 32]));
        assert!(store.licence(&mine, Uuid::from_u128(1)).is_err());
    }

    #[test]
    fn an_edited_anchor_counts_as_a_rollback() {
        let dir = tempfile::tempdir().expect("dir");
        let store = LocalStore::open(&dir.path().join("local.db")).expect("open");
        let mac = LocalIntegrity::new(&DeviceKey::from_bytes([5; 32]));
        let anchor = TimeAnchor::new(
            Utc::now(),
            jieyue_protocol::time::ClockReading {
                wall: Utc::now(),
                since_boot: std::time::Duration::from_secs(5),
            },
        );
        store.put_anchor(&mac, &anchor).expect("put");
        assert_eq!(store.anchor(&mac).expect("get"), Some(anchor));
        store
            .conn
            .execute(
                "UPDATE anchor SET json = replace(json, '\"rollback_detected\":false', '\"rollback_detected\":true')",
                [],
            )
            .expect("edit");
        assert!(matches!(
            store.anchor(&mac),
            Err(ClientError::ClockRollback { .. })
        ));
    }
}
