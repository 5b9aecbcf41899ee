//! Sync: every licence on this device checked with the server (returns, renewals,
//! revocations learned; trusted time re-anchored), reading positions sent, and ended
//! loans cleared offline.

use jieyue_protocol::licence;
use jieyue_protocol::status::{self, LicenceStatus};

use super::{Client, lock};
use crate::error::{ClientError, Result};
use crate::model::SyncReport;

impl Client {
    /// Checks every licence on this device with the server: learns of returns,
    /// renewals and revocations, re-anchors trusted time (clearing a clock rollback),
    /// and sends unsent reading positions.
    pub async fn sync(&self) -> Result<SyncReport> {
        let mut report = SyncReport::default();
        let publications = lock(&self.inner.store).licence_publications()?;
        let integrity = self.inner.integrity()?;
        for publication in publications {
            let Some(stored) = self.inner.stored_licence(&integrity, publication)? else {
                continue;
            };
            let licence = licence::verify(&stored.token, &self.inner.keys)?;
            let token = self
                .inner
                .api
                .licence_status(&licence.terms.links.status)
                .await?;
            let document = status::verify(&token, &self.inner.keys)
                .map_err(|e| ClientError::corrupt(format!("status document refused: {e}")))?;
            if document.licence_id != stored.licence_id {
                return Err(ClientError::corrupt(
                    "the status document is for another licence",
                ));
            }
            report.checked += 1;
            self.inner
                .observe_server_time(&integrity, document.server_time)?;
            match document.status {
                LicenceStatus::Active if document.end != licence.terms.rights.end => {
                    // Renewed (perhaps on another device): fetch the new licence.
                    if let Some(session) = self.inner.session_opt() {
                        let loans = self.inner.api.my_loans(&session, false).await?;
                        if let Some(loan) = loans.iter().find(|l| l.id == stored.loan_id) {
                            self.inner.fetch_licence(&session, loan).await?;
                            report.renewed += 1;
                            continue;
                        }
                    }
                    let mut updated = stored.clone();
                    updated.ends_at = document.end;
                    lock(&self.inner.store).put_licence(&integrity, &updated)?;
                }
                LicenceStatus::Active => {}
                ended => {
                    self.inner.destroy_ended(publication, ended)?;
                    report.ended.push(publication.to_string());
                }
            }
        }
        report.positions_sent = self.inner.send_positions().await?;
        tracing::info!(
            checked = report.checked,
            renewed = report.renewed,
            ended = report.ended.len(),
            "synced"
        );
        Ok(report)
    }

    /// Deletes the expired licences whose end has passed by trusted time (their keys
    /// and packages go). Returns the publications removed. Needs no network.
    pub fn remove_ended(&self) -> Result<Vec<String>> {
        let integrity = self.inner.integrity()?;
        let publications = lock(&self.inner.store).licence_publications()?;
        let mut removed = Vec::new();
        for publication in publications {
            match self.inner.check_licence(&integrity, publication, None) {
                Err(
                    ClientError::Expired { .. }
                    | ClientError::Revoked { .. }
                    | ClientError::Returned { .. },
                ) => {
                    removed.push(publication.to_string());
                }
                Err(ClientError::ClockRollback { .. }) => break,
                _ => {}
            }
        }
        Ok(removed)
    }
}
