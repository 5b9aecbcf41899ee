//! The member's client for its hub's peer API (`/api/v1/hub/...`): every call carries a
//! fresh peer authorisation signed with this server's identity key.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use jieyue_protocol::distribution::PeerAuth;
use reqwest::{StatusCode, header};
use uuid::Uuid;

use super::EnrolmentAnswer;
use crate::clock::Clock;
use crate::keys::ServerKeys;
use crate::service::{Error, Result};

/// The request header carrying a member's key endorsements (comma-separated tokens).
pub const ENDORSEMENTS_HEADER: &str = "jieyue-key-endorsements";

/// A hub's URL as we keep it: `http(s)://host[:port]/prefix` without a trailing slash.
pub fn normalise_base_url(raw: &str) -> Result<String> {
    let raw = raw.trim().trim_end_matches('/');
    let ok = (raw.starts_with("https://") || raw.starts_with("http://"))
        && raw.len() < 500
        && !raw.contains(char::is_whitespace);
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(crate::domain::FieldError::new("hub", "must be an http:// or https:// address").into())
    }
}

fn client(timeout: Option<StdDuration>) -> Result<reqwest::Client> {
    // reqwest carries rustls without a provider (shared with the client core): ring it is.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(Error::internal("TLS configuration"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut builder = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .connect_timeout(StdDuration::from_secs(20))
        // A stalled transfer fails (and resumes on the next run) rather than hangs.
        .read_timeout(StdDuration::from_secs(60))
        .user_agent(concat!("jieyue/", env!("CARGO_PKG_VERSION")));
    if let Some(timeout) = timeout {
        builder = builder.timeout(timeout);
    }
    builder.build().map_err(Error::internal("HTTP client"))
}

fn unreachable(base: &str) -> impl FnOnce(reqwest::Error) -> Error + '_ {
    move |e| Error::Conflict(format!("the hub at {base} cannot be reached: {e}"))
}

/// Most bytes read from a hub's JSON answer (lists, errors, acknowledgements).
const SMALL_ANSWER: usize = 1024 * 1024;

/// Reads an answer's body, refusing one longer than `limit` (a hub, or whoever sits
/// between, cannot make this server read without end).
async fn body_bounded(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(Error::Conflict(format!(
            "the hub's answer is larger than {limit} bytes"
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| Error::Conflict(format!("reading the hub's answer: {e}")))?
    {
        if body.len() + chunk.len() > limit {
            return Err(Error::Conflict(format!(
                "the hub's answer is larger than {limit} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn refused(response: reqwest::Response) -> Error {
    let status = response.status();
    let detail = body_bounded(response, 64 * 1024)
        .await
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v.get("detail").and_then(|d| d.as_str()).map(str::to_owned))
        .unwrap_or_default();
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            Error::Conflict(format!("the hub refused this server ({status}): {detail}"))
        }
        StatusCode::NOT_FOUND => Error::NotFound("the hub's collection or object"),
        _ => Error::Conflict(format!("the hub answered {status}: {detail}")),
    }
}

/// Sends an enrolment request to the hub.
pub async fn enrol(base_url: &str, request: &str) -> Result<EnrolmentAnswer> {
    let response = client(Some(StdDuration::from_secs(60)))?
        .post(format!("{base_url}/api/v1/hub/enrol"))
        .json(&serde_json::json!({ "request": request }))
        .send()
        .await
        .map_err(unreachable(base_url))?;
    if !response.status().is_success() {
        return Err(refused(response).await);
    }
    let body = body_bounded(response, SMALL_ANSWER).await?;
    serde_json::from_slice(&body)
        .map_err(|e| Error::Conflict(format!("the hub's answer is not an enrolment reply: {e}")))
}

/// A collection the hub offers.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Offered {
    /// Short name.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Newest version.
    pub version: u32,
}

/// A client for one hub.
#[derive(Clone)]
pub struct HubClient {
    base: String,
    member_id: Uuid,
    hub_id: Uuid,
    keys: Arc<ServerKeys>,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
}

impl std::fmt::Debug for HubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl HubClient {
    /// A client for the hub at `base` where this server is `member_id`.
    pub fn new(
        base: &str,
        member_id: Uuid,
        hub_id: Uuid,
        keys: Arc<ServerKeys>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        Ok(Self {
            base: base.to_owned(),
            member_id,
            hub_id,
            keys,
            clock,
            // No overall timeout: objects are gigabytes. Reads stall-check below.
            http: client(None)?,
        })
    }

    /// This server's key endorsements, sent with every call: if it rotated its issuer
    /// key, the hub adopts the new one because a key it pinned vouches for it.
    fn endorsement_header(&self) -> Result<String> {
        let signers: Vec<&jieyue_protocol::SigningKey> = std::iter::once(&self.keys.signing)
            .chain(self.keys.retired.iter())
            .collect();
        let tokens = jieyue_protocol::distribution::KeyEndorsement::sign_all(
            self.member_id,
            &self.keys.public,
            &signers,
            self.clock.now(),
        )
        .map_err(Error::internal("signing key endorsements"))?;
        Ok(tokens.join(","))
    }

    fn auth(&self) -> Result<String> {
        let token = PeerAuth::sign(
            self.member_id,
            self.hub_id,
            &self.keys.signing,
            self.clock.now(),
        )
        .map_err(Error::internal("signing a peer token"))?;
        Ok(format!("JieyuePeer {token}"))
    }

    async fn get_text(&self, path: &str) -> Result<String> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header(header::AUTHORIZATION, self.auth()?)
            .header(ENDORSEMENTS_HEADER, self.endorsement_header()?)
            .timeout(StdDuration::from_secs(120))
            .send()
            .await
            .map_err(unreachable(&self.base))?;
        if !response.status().is_success() {
            return Err(refused(response).await);
        }
        let body = body_bounded(response, jieyue_protocol::distribution::MAX_DOCUMENT_LEN).await?;
        String::from_utf8(body)
            .map_err(|_| Error::Conflict("the hub's answer is not UTF-8 text".into()))
    }

    /// The hub's key endorsements (to adopt a key it rotated to).
    pub async fn endorsements(&self) -> Result<Vec<String>> {
        let text = self.get_text("/api/v1/hub/keys").await?;
        serde_json::from_str(&text)
            .map_err(|e| Error::Conflict(format!("the hub's key endorsements are not valid: {e}")))
    }

    /// The collections the hub offers.
    pub async fn offered(&self) -> Result<Vec<Offered>> {
        let text = self.get_text("/api/v1/hub/collections").await?;
        serde_json::from_str(&text)
            .map_err(|e| Error::Conflict(format!("the hub's collection list is not valid: {e}")))
    }

    /// The newest signed manifest of a collection.
    pub async fn manifest(&self, slug: &str) -> Result<String> {
        self.get_text(&format!("/api/v1/hub/collections/{slug}/manifest"))
            .await
    }

    /// This member's key envelope for a version.
    pub async fn envelope(&self, slug: &str, version: u32) -> Result<String> {
        self.get_text(&format!(
            "/api/v1/hub/collections/{slug}/versions/{version}/envelope"
        ))
        .await
    }

    /// Starts downloading an object from byte `from` (a resumed download): the
    /// response, and whether the hub honoured the range (if not, it sends everything).
    pub async fn object(&self, sha256: &str, from: u64) -> Result<(reqwest::Response, bool)> {
        let mut request = self
            .http
            .get(format!("{}/api/v1/hub/objects/{sha256}", self.base))
            .header(header::AUTHORIZATION, self.auth()?)
            .header(ENDORSEMENTS_HEADER, self.endorsement_header()?);
        if from > 0 {
            request = request.header(header::RANGE, format!("bytes={from}-"));
        }
        let response = request.send().await.map_err(unreachable(&self.base))?;
        match response.status() {
            StatusCode::PARTIAL_CONTENT => Ok((response, true)),
            StatusCode::OK => Ok((response, false)),
            _ => Err(refused(response).await),
        }
    }

    /// Sends a signed usage report; the hub answers the highest sequence number it holds.
    pub async fn send_usage(&self, report: &str) -> Result<u64> {
        let response = self
            .http
            .post(format!("{}/api/v1/hub/usage", self.base))
            .header(header::AUTHORIZATION, self.auth()?)
            .header(ENDORSEMENTS_HEADER, self.endorsement_header()?)
            .timeout(StdDuration::from_secs(120))
            .json(&serde_json::json!({ "report": report }))
            .send()
            .await
            .map_err(unreachable(&self.base))?;
        if !response.status().is_success() {
            return Err(refused(response).await);
        }
        let body: serde_json::Value =
            serde_json::from_slice(&body_bounded(response, SMALL_ANSWER).await?)
                .map_err(|e| Error::Conflict(format!("the hub's usage answer: {e}")))?;
        body.get("acked")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| Error::Conflict("the hub's usage answer has no acknowledgement".into()))
    }
}
