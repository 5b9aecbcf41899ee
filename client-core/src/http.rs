//! HTTP to the lending server: reqwest over rustls (ring, Mozilla's roots), JSON bodies
//! from the protocol crate, problem documents turned into [`ClientError`]s. The typed
//! endpoints built on this are in [`crate::api`].

use std::sync::Arc;
use std::time::Duration;

use jieyue_protocol::api::SecretString;
use jieyue_protocol::problem::Problem;
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ClientError, Result};

/// Timeouts: connecting, and waiting for any bytes of an answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) struct Http {
    http: reqwest::Client,
    base: Url,
}

fn tls_config() -> Result<rustls::ClientConfig> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(ClientError::other)?
    .with_root_certificates(roots)
    .with_no_client_auth())
}

impl Http {
    pub fn new(server_url: &str) -> Result<Self> {
        let mut base = Url::parse(server_url)
            .map_err(|e| ClientError::other(format!("server URL {server_url:?}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(ClientError::other("the server URL must be http or https"));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        // reqwest (built without a provider of its own) wants a process-wide rustls
        // provider even when given a configuration: make it ring unless the app has
        // installed one (then this does nothing).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls_config()?)
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .user_agent(concat!("jieyue-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ClientError::from)?;
        Ok(Self { http, base })
    }

    /// `path` (absolute, from `protocol::api::paths`, or a full URL) against the server URL.
    pub fn url(&self, path: &str) -> Result<Url> {
        let relative = path.strip_prefix('/').unwrap_or(path);
        self.base
            .join(relative)
            .map_err(|e| ClientError::other(format!("bad link {path:?}: {e}")))
    }

    pub fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&SecretString>,
    ) -> Result<RequestBuilder> {
        let mut request = self.http.request(method, self.url(path)?);
        if let Some(token) = token {
            request = request.bearer_auth(token.expose());
        }
        Ok(request)
    }

    /// Sends and turns an error status into a [`ClientError`].
    pub async fn send(&self, request: RequestBuilder) -> Result<Response> {
        let response = request.send().await?;
        if response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED {
            return Ok(response);
        }
        Err(error_of(response).await)
    }

    pub async fn json<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T> {
        let response = self.send(request).await?;
        let bytes = response.bytes().await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| ClientError::network(format!("unexpected answer from the server: {e}")))
    }

    pub async fn text(&self, request: RequestBuilder) -> Result<String> {
        Ok(self.send(request).await?.text().await?)
    }

    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&SecretString>,
    ) -> Result<T> {
        self.json(self.request(Method::GET, path, token)?).await
    }

    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&SecretString>,
        body: &B,
    ) -> Result<T> {
        self.json(self.request(Method::POST, path, token)?.json(body))
            .await
    }
}

pub(crate) async fn error_of(response: Response) -> ClientError {
    let status = response.status();
    let bytes = response.bytes().await.unwrap_or_default();
    match serde_json::from_slice::<Problem>(&bytes) {
        Ok(problem) => ClientError::from_problem(status.as_u16(), &problem),
        Err(_) => match status {
            StatusCode::UNAUTHORIZED => {
                ClientError::session_expired(format!("the server said {status}"))
            }
            StatusCode::FORBIDDEN => ClientError::Refused {
                reason: crate::error::Refusal::Other,
                message: format!("the server said {status}"),
            },
            StatusCode::NOT_FOUND => ClientError::not_found(format!("the server said {status}")),
            _ => ClientError::network(format!("the server said {status}")),
        },
    }
}
