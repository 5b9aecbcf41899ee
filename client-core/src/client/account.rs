//! The reader's account: libraries, login and logout, profile, device enrolment.

use std::sync::Arc;

use jieyue_protocol::api::{PatronLoginRequest, SecretString};
use jieyue_protocol::enrolment::ClientEnrolment;
use uuid::Uuid;

use super::{Client, DEVICE_ID, DEVICE_KEY, SESSION_KEY, lock};
use crate::error::{ClientError, Result};
use crate::model::{Device, MemberLibrary, Profile};

impl Client {
    /// The libraries of the consortium (to choose one at login).
    pub async fn libraries(&self) -> Result<Vec<MemberLibrary>> {
        let list = self.inner.api.libraries().await?;
        Ok(list.into_iter().map(MemberLibrary::from).collect())
    }

    /// Logs in with a library card; the session token goes to the secure store.
    pub async fn login(
        &self,
        library_code: &str,
        card_number: &str,
        password: &str,
    ) -> Result<Profile> {
        let response = self
            .inner
            .api
            .login(&PatronLoginRequest {
                library_code: library_code.to_owned(),
                card_number: card_number.to_owned(),
                password: SecretString::new(password),
            })
            .await?;
        let token = response.session.token;
        self.inner
            .secure_put(SESSION_KEY, token.expose().as_bytes().to_vec())?;
        lock(&self.inner.state).session = Some(token);
        tracing::info!(library = library_code, "logged in");
        Ok(response.patron.into())
    }

    /// Logs out: ends the session on the server (if reachable) and forgets it here.
    /// Downloaded books and their licences stay readable until their loans end.
    pub async fn logout(&self) -> Result<()> {
        let token = lock(&self.inner.state).session.take();
        self.inner.secure_delete(SESSION_KEY)?;
        if let Some(token) = token {
            // Offline logout still forgets the token locally.
            let _ = self.inner.api.logout(&token).await;
        }
        Ok(())
    }

    /// The reader's profile.
    pub async fn me(&self) -> Result<Profile> {
        let token = self.inner.session()?;
        Ok(self.inner.api.me(&token).await?.into())
    }

    /// Enrols this device (or re-enrols it, replacing its key): the device key is
    /// agreed with the server and kept in the secure store.
    pub async fn enrol_device(&self) -> Result<Device> {
        let token = self.inner.session()?;
        let device_id = match lock(&self.inner.state).device.as_ref() {
            Some((id, _)) => *id,
            None => Uuid::new_v4(),
        };
        let (enrolment, request) =
            ClientEnrolment::start(device_id, &self.inner.config.device_name)
                .map_err(ClientError::other)?;
        let response = self.inner.api.enrol_device(&token, &request).await?;
        let (key, reply) = enrolment
            .finish(&response.reply, &self.inner.keys)
            .map_err(|e| ClientError::corrupt(format!("enrolment reply refused: {e}")))?;
        self.inner
            .secure_put(DEVICE_KEY, key.expose_secret().to_vec())?;
        self.inner
            .secure_put(DEVICE_ID, device_id.to_string().into_bytes())?;
        {
            let mut state = lock(&self.inner.state);
            state.device = Some((device_id, Arc::new(key)));
            state.anchor = None;
            state.anchor_saved = None;
        }
        // Licences wrapped for an earlier key of this device no longer open.
        let integrity = self.inner.integrity()?;
        {
            let store = lock(&self.inner.store);
            for publication in store.licence_publications()? {
                store.delete_licence(publication)?;
            }
        }
        self.inner
            .observe_server_time(&integrity, reply.issued_at)?;
        tracing::info!(device = %device_id, "device enrolled");
        Ok(response.device.into())
    }
}
