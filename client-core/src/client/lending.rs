//! Loans: borrow, list, renew, return, and licensing this device for a loan.

use jieyue_protocol::api::{BorrowRequest, LoanView};
use jieyue_protocol::licence;
use uuid::Uuid;

use super::{Client, Inner, parse_id};
use crate::error::{ClientError, Result};
use crate::model::{Loan, ReadingRights, instant};

impl Client {
    /// Borrows a title for `days` (`None`: the library's loan length). When this
    /// device is enrolled, the licence for it comes in the same answer and is stored,
    /// so the loan is readable here at once.
    pub async fn borrow(&self, title_id: &str, days: Option<u32>) -> Result<Loan> {
        let id = parse_id(title_id, "title")?;
        let token = self.inner.session()?;
        let device_id = self.inner.device().ok().map(|(device, _)| device);
        let mut loan = self
            .inner
            .api
            .borrow(
                &token,
                &BorrowRequest {
                    title_id: id,
                    days,
                    request_id: Uuid::new_v4(),
                    device_id,
                },
            )
            .await?;
        if device_id.is_some() {
            match loan.device_licence.take() {
                Some(licence) => {
                    self.inner.install_licence(&loan, licence)?;
                }
                // A server that does not issue it in the borrow: ask for it.
                None => {
                    self.inner.fetch_licence(&token, &loan).await?;
                }
            }
        }
        tracing::info!(title = %id, loan = %loan.id, "borrowed");
        self.inner.loan(loan)
    }

    /// The reader's active loans (all, including ended ones, with `include_ended`).
    pub async fn loans(&self, include_ended: bool) -> Result<Vec<Loan>> {
        let token = self.inner.session()?;
        let loans = self.inner.api.my_loans(&token, include_ended).await?;
        loans.into_iter().map(|l| self.inner.loan(l)).collect()
    }

    /// Fetches (or refreshes) this device's licence for an active loan, e.g. for a
    /// loan borrowed on another device.
    pub async fn fetch_licence(&self, loan_id: &str) -> Result<Loan> {
        let id = parse_id(loan_id, "loan")?;
        let token = self.inner.session()?;
        let loan = self
            .inner
            .api
            .my_loans(&token, false)
            .await?
            .into_iter()
            .find(|l| l.id == id)
            .ok_or_else(|| ClientError::not_found(format!("no active loan {id}")))?;
        self.inner.fetch_licence(&token, &loan).await?;
        self.inner.loan(loan)
    }

    /// Renews a loan and replaces this device's licence with the renewed one.
    pub async fn renew(&self, loan_id: &str) -> Result<Loan> {
        let id = parse_id(loan_id, "loan")?;
        let token = self.inner.session()?;
        let loan = self.inner.api.renew(&token, id).await?;
        if self.inner.device().is_ok() {
            self.inner.fetch_licence(&token, &loan).await?;
        }
        self.inner.loan(loan)
    }

    /// Returns a loan early; its key and package are deleted from this device.
    pub async fn return_loan(&self, loan_id: &str) -> Result<Loan> {
        let id = parse_id(loan_id, "loan")?;
        let token = self.inner.session()?;
        let loan = self.inner.api.return_loan(&token, id).await?;
        self.inner.destroy_ended(
            loan.title_id,
            jieyue_protocol::status::LicenceStatus::Returned,
        )?;
        self.inner.loan(loan)
    }
}

impl Inner {
    /// The app's record of `loan`, with what this device holds of it.
    pub(crate) fn loan(&self, loan: LoanView) -> Result<Loan> {
        let stored = match self.integrity() {
            Ok(integrity) => self
                .stored_licence(&integrity, loan.title_id)?
                .filter(|s| s.loan_id == loan.id),
            Err(_) => None,
        };
        let rights = match &stored {
            Some(stored) => {
                let licence = licence::verify(&stored.token, &self.keys)?;
                Some(ReadingRights::from(&licence.terms.rights))
            }
            None => None,
        };
        Ok(Loan {
            id: loan.id.to_string(),
            title_id: loan.title_id.to_string(),
            started_at: instant(loan.started_at),
            ends_at: instant(loan.ends_at),
            renewals: loan.renewals,
            renewals_left: loan.renewals_left,
            can_renew: loan.can_renew,
            state: loan.state.into(),
            licensed_here: stored.is_some(),
            rights,
            downloaded: self.package_path(loan.title_id).exists(),
        })
    }
}
