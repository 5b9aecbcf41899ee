//! Reading devices, the licences issued to them, and reader notifications.

use chrono::{DateTime, Utc};

use super::{DeviceId, LicenceId, LoanId, PatronId};

pub use jieyue_protocol::api::NotificationKind;

/// An enrolled device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// The device id (chosen by the app).
    pub id: DeviceId,
    /// Its patron.
    pub patron_id: PatronId,
    /// Its name.
    pub name: String,
    /// Its device key, sealed under the master key (context: the device id).
    pub key_sealed: String,
    /// When it enrolled.
    pub enrolled_at: DateTime<Utc>,
}

/// A licence issued for a loan and a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedLicence {
    /// Licence id.
    pub id: LicenceId,
    /// The loan.
    pub loan_id: LoanId,
    /// The device.
    pub device_id: DeviceId,
    /// The loan end it was issued for (a renewal calls for a fresh licence).
    pub ends_at: DateTime<Utc>,
    /// The JWS.
    pub token: String,
}

/// A notification for a reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Id (time-ordered: the cursor).
    pub id: uuid::Uuid,
    /// What it is about.
    pub kind: NotificationKind,
    /// Details.
    pub payload: serde_json::Value,
    /// When.
    pub created_at: DateTime<Utc>,
}
