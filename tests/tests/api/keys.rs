//! The issuer keys: published, pinned by clients, required at start.

use std::sync::Arc;

use jieyue_protocol::KeySet;
use jieyue_tests::jieyue_server::clock::SystemClock;
use jieyue_tests::jieyue_server::startup::StartupError;
use jieyue_tests::jieyue_server::{Application, keys};
use jieyue_tests::{Backend, TestApp, test_config};
use reqwest::StatusCode;

#[tokio::test]
async fn the_public_keys_are_published_as_a_jwk_set() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let reply = app.get("/.well-known/jieyue/keys", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply.headers["cache-control"]
            .to_str()
            .expect("ascii")
            .contains("max-age")
    );
    let set: KeySet = serde_json::from_value(reply.body.clone()).expect("a JWK Set");
    let ring = keys::load(&app.config.effective_keys_dir()).expect("ring");
    assert_eq!(set, ring.public);
    assert_eq!(reply.body["keys"][0]["kty"], "OKP");
    assert_eq!(reply.body["keys"][0]["crv"], "Ed25519");
}

#[tokio::test]
async fn the_server_refuses_to_start_without_keys_unless_told_to_create_them() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut config = test_config(Backend::Sqlite, data.path()).await;
    config.create_keys_if_missing = false;
    let refused = Application::build(&config, Arc::new(SystemClock)).await;
    assert!(
        matches!(
            refused,
            Err(StartupError::Keys(keys::KeysError::Missing(_)))
        ),
        "started without keys"
    );
    assert!(
        !keys::ring_path(&config.effective_keys_dir()).exists(),
        "nothing was created"
    );

    keys::generate(&config.effective_keys_dir(), chrono::Utc::now()).expect("generate");
    let started = Application::build(&config, Arc::new(SystemClock)).await;
    assert!(started.is_ok(), "starts once keys exist");
}

#[tokio::test]
async fn after_rotation_both_keys_are_published() {
    let data = tempfile::tempdir().expect("tempdir");
    let config = test_config(Backend::Sqlite, data.path()).await;
    let dir = config.effective_keys_dir();
    keys::generate(&dir, chrono::Utc::now()).expect("generate");
    let new_kid = keys::rotate_issuer(&dir, chrono::Utc::now()).expect("rotate");
    let app = TestApp::spawn_with(config, data).await;
    let set: KeySet =
        serde_json::from_value(app.get("/.well-known/jieyue/keys", None).await.body).expect("jwks");
    assert_eq!(set.keys.len(), 2);
    assert!(set.get(&new_kid).is_some());
}
