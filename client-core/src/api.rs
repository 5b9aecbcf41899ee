//! The lending server's endpoints, typed: one method per request the client makes,
//! with the paths from [`jieyue_protocol::api::paths`] and the bodies from the protocol
//! crate. Nothing else in the client core names a path.

use jieyue_protocol::api::{
    self, BorrowRequest, CatalogPage, EnrolmentResponse, HoldView, LibrarySummary, LoanView,
    NotificationPage, PatronLoginRequest, PatronLoginResponse, PatronProfile, PlaceHoldRequest,
    ReadingPosition, SavePositionRequest, SecretString, SuspendHoldRequest, paths,
};
use jieyue_protocol::enrolment::EnrolmentRequest;
use reqwest::{Method, RequestBuilder};
use uuid::Uuid;

use crate::error::Result;
use crate::http::Http;

/// What to search the catalogue for.
#[derive(Debug, Default)]
pub(crate) struct CatalogQuery {
    pub text: Option<String>,
    pub language: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// The lending server, one typed method per endpoint.
pub(crate) struct Api {
    http: Http,
}

impl Api {
    pub fn new(server_url: &str) -> Result<Self> {
        Ok(Self {
            http: Http::new(server_url)?,
        })
    }

    pub async fn libraries(&self) -> Result<Vec<LibrarySummary>> {
        self.http.get(paths::LIBRARIES, None).await
    }

    pub async fn login(&self, request: &PatronLoginRequest) -> Result<PatronLoginResponse> {
        self.http.post(paths::LOGIN, None, request).await
    }

    pub async fn logout(&self, token: &SecretString) -> Result<()> {
        let request = self
            .http
            .request(Method::POST, paths::LOGOUT, Some(token))?;
        self.http.send(request).await?;
        Ok(())
    }

    pub async fn me(&self, token: &SecretString) -> Result<PatronProfile> {
        self.http.get(paths::ME, Some(token)).await
    }

    pub async fn enrol_device(
        &self,
        token: &SecretString,
        request: &EnrolmentRequest,
    ) -> Result<EnrolmentResponse> {
        self.http.post(paths::DEVICES, Some(token), request).await
    }

    pub async fn catalog(
        &self,
        token: Option<&SecretString>,
        query: CatalogQuery,
    ) -> Result<CatalogPage> {
        let mut params: Vec<(&str, String)> = Vec::new();
        if let Some(text) = query.text.filter(|t| !t.trim().is_empty()) {
            params.push(("q", text));
        }
        if let Some(language) = query.language {
            params.push(("language", language));
        }
        if let Some(cursor) = query.cursor {
            params.push(("cursor", cursor));
        }
        if let Some(limit) = query.limit {
            params.push(("limit", limit.to_string()));
        }
        let request = self
            .http
            .request(Method::GET, paths::CATALOG, token)?
            .query(&params);
        self.http.json(request).await
    }

    pub async fn title(
        &self,
        token: Option<&SecretString>,
        title: Uuid,
    ) -> Result<api::TitleDetails> {
        self.http.get(&paths::catalog_item(title), token).await
    }

    pub async fn borrow(&self, token: &SecretString, request: &BorrowRequest) -> Result<LoanView> {
        self.http.post(paths::LOANS, Some(token), request).await
    }

    /// The reader's loans: active ones, or every one with `include_ended`.
    pub async fn my_loans(
        &self,
        token: &SecretString,
        include_ended: bool,
    ) -> Result<Vec<LoanView>> {
        let path = if include_ended {
            paths::ALL_LOANS
        } else {
            paths::LOANS
        };
        self.http.get(path, Some(token)).await
    }

    /// The signed licence (JWS) of `loan` for `device`.
    pub async fn loan_licence(
        &self,
        token: &SecretString,
        loan: Uuid,
        device: Uuid,
    ) -> Result<String> {
        let request =
            self.http
                .request(Method::GET, &paths::loan_licence(loan, device), Some(token))?;
        Ok(self.http.text(request).await?.trim().to_owned())
    }

    pub async fn renew(&self, token: &SecretString, loan: Uuid) -> Result<LoanView> {
        let request = self
            .http
            .request(Method::POST, &paths::loan_renew(loan), Some(token))?;
        self.http.json(request).await
    }

    pub async fn return_loan(&self, token: &SecretString, loan: Uuid) -> Result<LoanView> {
        let request = self
            .http
            .request(Method::POST, &paths::loan_return(loan), Some(token))?;
        self.http.json(request).await
    }

    pub async fn my_holds(&self, token: &SecretString) -> Result<Vec<HoldView>> {
        self.http.get(paths::HOLDS, Some(token)).await
    }

    pub async fn place_hold(
        &self,
        token: &SecretString,
        request: &PlaceHoldRequest,
    ) -> Result<HoldView> {
        self.http.post(paths::HOLDS, Some(token), request).await
    }

    pub async fn cancel_hold(&self, token: &SecretString, hold: Uuid) -> Result<()> {
        let request = self
            .http
            .request(Method::DELETE, &paths::hold(hold), Some(token))?;
        self.http.send(request).await?;
        Ok(())
    }

    pub async fn suspend_hold(
        &self,
        token: &SecretString,
        hold: Uuid,
        request: &SuspendHoldRequest,
    ) -> Result<HoldView> {
        self.http
            .post(&paths::hold_suspend(hold), Some(token), request)
            .await
    }

    pub async fn notifications(
        &self,
        token: &SecretString,
        after: Option<String>,
    ) -> Result<NotificationPage> {
        let mut request = self
            .http
            .request(Method::GET, paths::NOTIFICATIONS, Some(token))?;
        if let Some(after) = after {
            request = request.query(&[("after", after)]);
        }
        self.http.json(request).await
    }

    pub async fn position(&self, token: &SecretString, title: Uuid) -> Result<ReadingPosition> {
        self.http.get(&paths::position(title), Some(token)).await
    }

    pub async fn save_position(
        &self,
        token: &SecretString,
        title: Uuid,
        request: &SavePositionRequest,
    ) -> Result<ReadingPosition> {
        let request = self
            .http
            .request(Method::PUT, &paths::position(title), Some(token))?
            .json(request);
        self.http.json(request).await
    }

    /// The signed status document at `link` (a licence's `links.status`).
    pub async fn licence_status(&self, link: &str) -> Result<String> {
        let request = self.http.request(Method::GET, link, None)?;
        Ok(self.http.text(request).await?.trim().to_owned())
    }

    /// A request for the package at `link` (a licence's `links.package`); the caller
    /// adds range headers and streams the answer.
    pub fn package(&self, link: &str) -> Result<RequestBuilder> {
        self.http.request(Method::GET, link, None)
    }
}
