//! This device's licences: installing one (verified, proven to open here, stored with
//! the device-keyed MAC) and checking one before every read.

use jieyue_protocol::api::{LoanView, SecretString};
use jieyue_protocol::licence::{self, Licence};
use jieyue_protocol::local::LocalIntegrity;
use jieyue_protocol::status::LicenceStatus;
use jieyue_protocol::time;
use uuid::Uuid;

use super::{Inner, lock};
use crate::error::{ClientError, Result};
use crate::store::StoredLicence;

impl Inner {
    /// Fetches and stores this device's licence for `loan`.
    pub(crate) async fn fetch_licence(
        &self,
        session: &SecretString,
        loan: &LoanView,
    ) -> Result<Licence> {
        let (device_id, _) = self.device()?;
        let token = self.api.loan_licence(session, loan.id, device_id).await?;
        self.install_licence(loan, token)
    }

    /// Verifies `token` as this device's licence for `loan`, proves that its key opens
    /// here, takes its signed server time, and stores it.
    pub(crate) fn install_licence(&self, loan: &LoanView, token: String) -> Result<Licence> {
        let (device_id, device_key) = self.device()?;
        let token = token.trim().to_owned();
        let licence = licence::verify(&token, &self.keys)?;
        if licence.terms.device_id != device_id || licence.terms.publication_id != loan.title_id {
            return Err(ClientError::corrupt(
                "the licence is for another device or book",
            ));
        }
        // Prove now that it opens here, rather than when the reader is offline.
        licence.unwrap_content_key(&device_key)?;
        let integrity = LocalIntegrity::new(&device_key);
        self.observe_server_time(&integrity, licence.terms.server_time)?;
        lock(&self.store).put_licence(
            &integrity,
            &StoredLicence {
                publication_id: loan.title_id,
                licence_id: licence.terms.id,
                loan_id: loan.id,
                token,
                status: LicenceStatus::Active,
                ends_at: licence.terms.rights.end,
            },
        )?;
        Ok(licence)
    }

    /// Whether `publication` may be read now; destroys its key when the loan is over.
    /// Returns the verified licence.
    ///
    /// `verified` is a licence this client verified earlier (an open book's): when the
    /// stored row is still that licence, its signature is not checked again. The row's
    /// MAC already proves it unchanged, and this runs on every resource read.
    pub(crate) fn check_licence(
        &self,
        integrity: &LocalIntegrity,
        publication: Uuid,
        verified: Option<&Licence>,
    ) -> Result<Licence> {
        let Some(stored) = self.stored_licence(integrity, publication)? else {
            // Gone: say why if this device saw the loan end.
            let ended = lock(&self.store).ended(publication)?;
            return Err(match ended {
                Some(how) => ended_error(how),
                None => ClientError::not_found("no licence for this book on this device"),
            });
        };
        if stored.status != LicenceStatus::Active {
            self.destroy_ended(publication, stored.status)?;
            return Err(ended_error(stored.status));
        }
        let licence = match verified {
            Some(known) if known.terms.id == stored.licence_id => known.clone(),
            _ => licence::verify(&stored.token, &self.keys)?,
        };
        let (device_id, _) = self.device()?;
        if licence.terms.device_id != device_id {
            return Err(ClientError::corrupt(
                "the licence belongs to another device",
            ));
        }
        let now = self.trusted_now(integrity)?;
        let end = licence.terms.rights.end.min(stored.ends_at);
        match time::check_window(licence.terms.rights.start, end, now) {
            Ok(()) => Ok(licence),
            Err(time::TimeError::Expired) => {
                self.destroy_ended(publication, LicenceStatus::Expired)?;
                Err(time::TimeError::Expired.into())
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// The error that says how a loan ended.
fn ended_error(how: LicenceStatus) -> ClientError {
    match how {
        LicenceStatus::Returned => ClientError::Returned {
            message: "the book was returned".into(),
        },
        LicenceStatus::Revoked => ClientError::Revoked {
            message: "the library revoked the loan".into(),
        },
        LicenceStatus::Expired | LicenceStatus::Active => ClientError::Expired {
            message: "the loan has ended".into(),
        },
    }
}
