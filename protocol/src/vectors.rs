//! Known-answer vectors in `tests/vectors/*.json`, checked on every test run, so another
//! implementation (or a later version of this one) can prove it computes the same bytes.
//!
//! Every input, including what would normally be random (ephemeral X25519 keys, GCM
//! nonces, nonce prefixes), is in the files. Regenerate them deliberately, after a
//! format change, with `JIEYUE_REGENERATE_VECTORS=1 cargo test -p jieyue-protocol vectors`.

#![allow(deprecated)] // ring's fixed "random" generators live in its deprecated test module.

use std::io::Write as _;
use std::path::PathBuf;

use chrono::{TimeZone, Utc};
use ring::test::rand::{FixedSliceRandom, FixedSliceSequenceRandom};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::crypto::{ContentKey, DeviceKey, KeySet, MasterKey, SigningKey, aead};
use crate::encoding::hex;
use crate::enrolment::{self, ClientEnrolment};
use crate::licence;
use crate::package::{self, Compression};
use crate::status::{self, LicenceStatus, StatusDocument};

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(name)
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn arr<const N: usize>(text: &str) -> [u8; N] {
    unhex(text).try_into().expect("length")
}

/// Compares `computed` with the stored vector, or rewrites the file when asked to.
fn check(name: &str, computed: Value) {
    let file = path(name);
    if std::env::var_os("JIEYUE_REGENERATE_VECTORS").is_some() {
        let mut out = std::fs::File::create(&file).expect("write vector");
        out.write_all(
            serde_json::to_string_pretty(&computed)
                .expect("json")
                .as_bytes(),
        )
        .expect("write vector");
        out.write_all(b"\n").expect("write vector");
        return;
    }
    let stored: Value = serde_json::from_slice(&std::fs::read(&file).expect("vector file exists"))
        .expect("vector file is JSON");
    assert_eq!(
        stored, computed,
        "{name} no longer matches the known answers"
    );
}

const ISSUER_SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

fn issuer() -> SigningKey {
    SigningKey::from_seed(&arr(ISSUER_SEED)).expect("key")
}

#[test]
fn signing_vectors() {
    let key = issuer();
    let payload = json!({ "licence_id": "0199a000-0000-7000-8000-000000000001", "status": "active", "标题": "论语" });
    let token = crate::jws::sign("jieyue-test+jws", &payload, &key).expect("sign");
    let keys = KeySet::new([key.public_key().clone()]);
    let back: Value = crate::jws::verify(&token, "jieyue-test+jws", &keys).expect("verify");
    assert_eq!(back, payload);
    check(
        "signing.json",
        json!({
            "description": "Ed25519 (RFC 8032) issuer key from a seed; key id = hex(SHA-256(public key)[0..8]); JWS compact, alg EdDSA, header {alg, kid, typ} serialised in that order without spaces",
            "seed": ISSUER_SEED,
            "public_key": hex(key.public_key().as_bytes()),
            "key_id": key.key_id().as_str(),
            "jwk_set": serde_json::to_value(&keys).expect("jwks"),
            "typ": "jieyue-test+jws",
            "payload": payload,
            "jws": token,
        }),
    );
}

#[test]
fn enrolment_vectors() {
    let device_id = Uuid::parse_str("0199a000-0000-7000-8000-0000000000d1").expect("uuid");
    let client_private = "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4";
    let server_private = "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d";
    let issued_at = Utc
        .with_ymd_and_hms(2026, 9, 1, 8, 0, 0)
        .single()
        .expect("time");
    let client_seed = unhex(client_private);
    let server_seed = unhex(server_private);
    let (client, request) = ClientEnrolment::start_with(
        device_id,
        "test phone",
        &FixedSliceRandom {
            bytes: &client_seed,
        },
    )
    .expect("start");
    let (reply, server_key) = enrolment::respond_with(
        &request,
        &issuer(),
        issued_at,
        &FixedSliceRandom {
            bytes: &server_seed,
        },
    )
    .expect("respond");
    let keys = KeySet::new([issuer().public_key().clone()]);
    let (client_key, parsed) = client.finish(&reply, &keys).expect("finish");
    assert_eq!(client_key, server_key);
    check(
        "enrolment.json",
        json!({
            "description": "X25519 (RFC 7748) with the given private scalars; device key = HKDF-SHA256(salt = device id bytes, ikm = shared secret, info = 'jieyue/device-key/v1' || client public || server public), 32 bytes; the reply is a JWS (typ jieyue-enrolment+jws) signed with the signing.json key",
            "device_id": device_id,
            "client_private_key": client_private,
            "server_private_key": server_private,
            "client_public_key": hex(request.client_public_key),
            "server_public_key": hex(parsed.server_public_key),
            "issued_at": issued_at,
            "reply_jws": reply,
            "device_key": hex(client_key.expose_secret()),
        }),
    );
}

#[test]
fn licence_vectors() {
    let terms = crate::licence::tests::terms();
    let content_key = ContentKey::from_bytes(arr(
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
    ));
    let device_key = DeviceKey::from_bytes(arr(
        "f0e0d0c0b0a090807060504030201000f0e0d0c0b0a0908070605040302010ff",
    ));
    let nonce = unhex("000102030405060708090a0b");
    let token = licence::issue_with(
        terms.clone(),
        &content_key,
        &device_key,
        &issuer(),
        &FixedSliceRandom { bytes: &nonce },
    )
    .expect("issue");
    let keys = KeySet::new([issuer().public_key().clone()]);
    let parsed = licence::verify(&token, &keys).expect("verify");
    assert_eq!(
        parsed.unwrap_content_key(&device_key).expect("unwrap"),
        content_key
    );
    check(
        "licence.json",
        json!({
            "description": "KEK = HKDF-SHA256(salt = licence id bytes, ikm = device key, info = 'jieyue/licence-key-wrap/v1'); wrapped = nonce || AES-256-GCM(KEK, nonce, aad = 'jieyue/licence/v1' || licence id || publication id || device id, content key) || tag; the licence is a JWS (typ jieyue-licence+jws) signed with the signing.json key",
            "terms": serde_json::to_value(&terms).expect("terms"),
            "content_key": hex(content_key.expose_secret()),
            "device_key": hex(device_key.expose_secret()),
            "wrap_nonce": hex(&nonce),
            "wrapped_content_key": hex(&parsed.content_key.value),
            "jws": token,
        }),
    );
}

#[test]
fn status_vectors() {
    let at = Utc
        .with_ymd_and_hms(2026, 9, 15, 8, 0, 0)
        .single()
        .expect("time");
    let document = StatusDocument {
        licence_id: Uuid::from_u128(1),
        loan_id: Uuid::from_u128(2),
        status: LicenceStatus::Returned,
        end: at,
        updated: at,
        server_time: at,
    };
    let token = status::sign(&document, &issuer()).expect("sign");
    check(
        "status.json",
        json!({
            "description": "A status document (typ jieyue-status+jws) signed with the signing.json key",
            "document": serde_json::to_value(&document).expect("doc"),
            "jws": token,
        }),
    );
}

#[test]
fn package_chunk_vectors() {
    let key_bytes: [u8; 32] =
        arr("5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a");
    let key = aead::key(&key_bytes).expect("key");
    let prefix: [u8; 7] = arr("a0a1a2a3a4a5a6");
    let mut cases = Vec::new();
    for (path, length) in [
        ("OEBPS/images/cover.jpg", 100usize),
        ("OEBPS/video.mp4", 70_000),
    ] {
        let plain: Vec<u8> = (0..length).map(|i| (i * 7 % 256) as u8).collect();
        let aad = package::stream_aad_for_vectors(path, Compression::None, length as u64);
        let sealed = package::seal_for_vectors(&key, prefix, aad.clone(), &plain);
        let tags: Vec<String> = sealed
            .chunks(package::ENCRYPTED_CHUNK_SIZE)
            .map(|chunk| hex(&chunk[chunk.len() - 16..]))
            .collect();
        cases.push(json!({
            "path": path,
            "compression": "none",
            "plaintext": format!("byte i = (i * 7) mod 256, {length} bytes"),
            "aad": hex(&aad),
            "ciphertext_sha256": hex(ring::digest::digest(&ring::digest::SHA256, &sealed).as_ref()),
            "ciphertext_head": hex(&sealed[..32.min(sealed.len())]),
            "chunk_tags": tags,
        }));
    }
    let key_check = package::key_check_for_vectors(&key);
    check(
        "package_chunks.json",
        json!({
            "description": "STREAM over AES-256-GCM: 65536-byte plaintext chunks; nonce = prefix(7) || chunk counter (u32 big-endian) || flag (0x01 more, 0x02 last); aad = 'jieyue/chunk/v1' 0x00 || path || 0x00 || compression (0 none, 1 deflate) || original length (u64 big-endian); a resource of n bytes has floor(n / 65536) full chunks and a last chunk with the remaining n mod 65536 bytes (possibly none); each chunk = ciphertext || tag. key_check = GCM tag of the empty message, nonce all zero, aad 'jieyue/key-check/v1'",
            "content_key": hex(key_bytes),
            "nonce_prefix": hex(prefix),
            "key_check": hex(key_check),
            "cases": cases,
        }),
    );
}

#[test]
fn sealed_key_vectors() {
    let master = MasterKey::from_bytes(
        "mk-test",
        arr("1111111111111111111111111111111111111111111111111111111111111111"),
    )
    .expect("key");
    let nonce = unhex("0c0b0a090807060504030201");
    let secret = unhex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
    let sealed = master
        .seal_with(
            &secret,
            b"publication:0199a000",
            &FixedSliceSequenceRandom {
                bytes: &[&nonce],
                current: core::cell::UnsafeCell::new(0),
            },
        )
        .expect("seal");
    assert_eq!(
        master
            .open(&sealed, b"publication:0199a000")
            .expect("open")
            .as_slice(),
        secret.as_slice()
    );
    check(
        "sealed_key.json",
        json!({
            "description": "Envelope encryption at rest: 'v1.' || key id || '.' || base64url(nonce || AES-256-GCM(master key, nonce, aad = 'jieyue/sealed-key/v1' 0x00 || key id || 0x00 || context, secret) || tag)",
            "master_key_id": "mk-test",
            "master_key": "1111111111111111111111111111111111111111111111111111111111111111",
            "context": "publication:0199a000",
            "nonce": hex(&nonce),
            "secret": hex(&secret),
            "sealed": sealed.to_text(),
        }),
    );
}
