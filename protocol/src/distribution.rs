//! Hub → member distribution: the documents servers exchange to pass collections down a
//! national → provincial → county chain, by network or on a shipped disk.
//!
//! - **Peer enrolment**: a member enrols with a hub as a device does (an X25519 exchange
//!   answered by a signed reply), with two additions: the request is signed by the
//!   member's identity key (the hub pins it) and proves, by an HMAC keyed with the
//!   one-time code the hub's admin gave the member's admin, that the member holds the
//!   code; the reply proves the same of the hub. The code itself never travels, so a
//!   listener learns nothing and a man in the middle can complete neither half; the
//!   proven reply authenticates the hub keys the member then pins.
//!   Peer key = HKDF-SHA256(salt = member id, IKM = X25519 secret,
//!   info = `"jieyue/peer-key/v1"` ‖ member public ‖ hub public).
//! - **Manifest** ([`Manifest`], JWS `typ` [`MANIFEST_TYPE`]): one collection version,
//!   every object by SHA-256 and size, signed by the hub, with an expiry.
//! - **Key envelope** ([`Envelope`], JWS `typ` [`ENVELOPE_TYPE`]): the content keys of
//!   a collection version, each sealed (AES-256-GCM) under one member's peer key, so a
//!   disk opens nothing without the envelope made for the server reading it.
//! - **Usage report** ([`UsageReport`]): per-title, per-day counts a member sends up,
//!   signed by the member's identity key; no patron appears in it.
//! - **Peer authorisation** ([`PeerAuth`]): a short-lived token a member signs to call
//!   the hub's peer API.

use chrono::{DateTime, NaiveDate, Utc};
use ring::agreement::{self, EphemeralPrivateKey, UnparsedPublicKey, X25519};
use ring::hmac;
use ring::rand::SecureRandom;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::crypto::{ContentKey, KeyError, KeySet, PeerKey, PublicKey, SigningKey, aead, kdf};
use crate::encoding::{b64, hex, unb64};
use crate::jws::{self, JwsError};

/// JWS `typ` of a member's enrolment request.
pub const PEER_REQUEST_TYPE: &str = "jieyue-peer-request+jws";
/// JWS `typ` of a hub's enrolment reply.
pub const PEER_REPLY_TYPE: &str = "jieyue-peer-reply+jws";
/// JWS `typ` of a collection manifest.
pub const MANIFEST_TYPE: &str = "jieyue-collection+jws";
/// JWS `typ` of a key envelope.
pub const ENVELOPE_TYPE: &str = "jieyue-envelope+jws";
/// JWS `typ` of a usage report.
pub const USAGE_TYPE: &str = "jieyue-usage+jws";
/// JWS `typ` of a key endorsement.
pub const KEYS_TYPE: &str = "jieyue-keys+jws";
/// JWS `typ` of a peer authorisation token.
pub const PEER_AUTH_TYPE: &str = "jieyue-peer-auth+jws";
/// HKDF info label of peer keys.
pub const PEER_KEY_INFO: &[u8] = b"jieyue/peer-key/v1";
/// Longest manifest, envelope or usage report accepted (64 MiB: a manifest of some
/// 70,000 titles with covers).
pub const MAX_DOCUMENT_LEN: usize = 64 * 1024 * 1024;
/// How long a peer authorisation token is valid.
pub const PEER_AUTH_SECONDS: i64 = 300;

const PROOF_LABEL: &[u8] = b"jieyue/peer-proof/v1";
const REQUEST_PROOF_LABEL: &[u8] = b"jieyue/peer-request-proof/v1";
const ENVELOPE_LABEL: &[u8] = b"jieyue/envelope/v1";

/// Why a distribution document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DistributionError {
    /// The signature, shape or signer is wrong.
    #[error("signature: {0}")]
    Signature(#[from] JwsError),
    /// A key could not be used.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The bundle's validity ended.
    #[error("the bundle expired at {0}")]
    Expired(DateTime<Utc>),
    /// The offered version is older than the installed one.
    #[error("version {offered} is older than the installed version {installed}")]
    Rollback {
        /// Installed.
        installed: u32,
        /// Offered.
        offered: u32,
    },
    /// The document is well signed but inconsistent (a title names an object the
    /// manifest does not list, a digest is not SHA-256 hex, ...).
    #[error("invalid manifest: {0}")]
    Invalid(String),
    /// The envelope or reply was made for another member, collection or request.
    #[error("made for another {0}")]
    Mismatch(&'static str),
    /// The other side does not know the enrolment code.
    #[error("the other side does not prove it knows the enrolment code")]
    Proof,
    /// A public key is not a valid X25519 point.
    #[error("invalid public key")]
    PublicKey,
    /// The token's time window does not include now.
    #[error("the token is not valid now")]
    NotNow,
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, bytes))
}

/// Whether `text` is a SHA-256 digest in lowercase hex.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Where an object lives in a bundle or an object store: `objects/ab/abcdef…`.
pub fn object_path(sha256: &str) -> String {
    format!("objects/{}/{sha256}", sha256.get(..2).unwrap_or("00"))
}

// ---------------------------------------------------------------------------------------
// Enrolment

/// What a member signs to enrol (`POST /api/v1/hub/enrol`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerRequest {
    /// The member's id (its server id; stable).
    pub member_id: Uuid,
    /// The member's name, as its admin gave it.
    pub name: String,
    /// The member's identity key (its active issuer key), which signs this request.
    pub identity_key: PublicKey,
    /// The member's ephemeral X25519 public key.
    #[serde(with = "crate::encoding::b64_array")]
    pub client_public_key: [u8; 32],
    /// HMAC-SHA256 under the one-time code of the member id, the X25519 key and the
    /// identity key id (the code itself is never sent).
    pub proof: String,
    /// When the request was made.
    pub issued_at: DateTime<Utc>,
}

/// The hub's signed answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerReply {
    /// The hub's id.
    pub hub_id: Uuid,
    /// The hub's name.
    pub hub_name: String,
    /// The member enrolled.
    pub member_id: Uuid,
    /// The member's public key, echoed.
    #[serde(with = "crate::encoding::b64_array")]
    pub client_public_key: [u8; 32],
    /// The hub's ephemeral X25519 public key.
    #[serde(with = "crate::encoding::b64_array")]
    pub server_public_key: [u8; 32],
    /// HMAC-SHA256 under the enrolment code of the exchange and the signing key id.
    pub proof: String,
    /// The hub's issuer keys, for the member to pin: inside the signed reply, so the
    /// code's proof (which names the signing key) vouches for all of them.
    pub hub_keys: KeySet,
    /// Hub time.
    pub issued_at: DateTime<Utc>,
}

fn mac(code: &str, parts: &[&[u8]]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, code.as_bytes());
    let mut ctx = hmac::Context::with_key(&key);
    for part in parts {
        ctx.update(part);
    }
    b64(ctx.sign())
}

fn proof(code: &str, member_id: Uuid, client: &[u8; 32], server: &[u8; 32], kid: &str) -> String {
    mac(
        code,
        &[
            PROOF_LABEL,
            member_id.as_bytes(),
            client,
            server,
            kid.as_bytes(),
        ],
    )
}

fn request_proof(code: &str, member_id: Uuid, client: &[u8; 32], identity: &PublicKey) -> String {
    mac(
        code,
        &[
            REQUEST_PROOF_LABEL,
            member_id.as_bytes(),
            client,
            identity.key_id().as_str().as_bytes(),
        ],
    )
}

fn same(a: &str, b: &str) -> bool {
    bool::from(subtle::ConstantTimeEq::ct_eq(a.as_bytes(), b.as_bytes()))
}

fn derive_peer_key(
    private: EphemeralPrivateKey,
    peer: &[u8; 32],
    member_id: Uuid,
    client_public: &[u8; 32],
    server_public: &[u8; 32],
) -> Result<PeerKey, DistributionError> {
    agreement::agree_ephemeral(private, &UnparsedPublicKey::new(&X25519, peer), |shared| {
        PeerKey::from_bytes(kdf::hkdf32(
            member_id.as_bytes(),
            shared,
            &[PEER_KEY_INFO, client_public, server_public],
        ))
    })
    .map_err(|_| DistributionError::PublicKey)
}

fn x25519_public(private: &EphemeralPrivateKey) -> Result<[u8; 32], DistributionError> {
    crate::enrolment::public_of(private).map_err(|_| DistributionError::PublicKey)
}

/// The member's half of an enrolment in progress.
pub struct MemberEnrolment {
    private: EphemeralPrivateKey,
    request: PeerRequest,
    code: zeroize::Zeroizing<String>,
}

impl std::fmt::Debug for MemberEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberEnrolment")
            .field("member_id", &self.request.member_id)
            .finish_non_exhaustive()
    }
}

impl MemberEnrolment {
    /// Starts enrolling: the signed request to send to the hub.
    pub fn start(
        member_id: Uuid,
        name: &str,
        identity: &SigningKey,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<(Self, String), DistributionError> {
        let rng = ring::rand::SystemRandom::new();
        let private = EphemeralPrivateKey::generate(&X25519, &rng).map_err(|_| KeyError::Random)?;
        let client_public_key = x25519_public(&private)?;
        let request = PeerRequest {
            member_id,
            name: name.to_owned(),
            identity_key: identity.public_key().clone(),
            client_public_key,
            proof: request_proof(code, member_id, &client_public_key, identity.public_key()),
            issued_at: now,
        };
        let token = jws::sign(PEER_REQUEST_TYPE, &request, identity)?;
        let code = zeroize::Zeroizing::new(code.to_owned());
        Ok((
            Self {
                private,
                request,
                code,
            },
            token,
        ))
    }

    /// Checks the hub's reply against the hub keys it came with and the code, and
    /// derives the peer key. The caller pins `hub_keys` afterwards.
    pub fn finish(
        self,
        reply_token: &str,
        hub_keys: &KeySet,
    ) -> Result<(PeerKey, PeerReply), DistributionError> {
        let kid = jws::peek_key_id(reply_token)?;
        let reply: PeerReply = jws::verify(reply_token, PEER_REPLY_TYPE, hub_keys)?;
        if reply.member_id != self.request.member_id
            || reply.client_public_key != self.request.client_public_key
        {
            return Err(DistributionError::Mismatch("request"));
        }
        let expected = proof(
            &self.code,
            reply.member_id,
            &reply.client_public_key,
            &reply.server_public_key,
            &kid,
        );
        if !same(&expected, &reply.proof) {
            return Err(DistributionError::Proof);
        }
        // Only the signed set is pinned, and it must hold the key the proof names.
        if reply.hub_keys.get(&kid).is_none() {
            return Err(DistributionError::Mismatch("key set"));
        }
        let key = derive_peer_key(
            self.private,
            &reply.server_public_key,
            reply.member_id,
            &reply.client_public_key,
            &reply.server_public_key,
        )?;
        Ok((key, reply))
    }
}

/// The hub reads a request: the signature must be by the identity key it names.
pub fn verify_peer_request(token: &str) -> Result<PeerRequest, DistributionError> {
    // The key is inside the payload; read it, then verify the whole against it.
    let (_, payload, _) = {
        let mut parts = token.splitn(3, '.');
        (parts.next(), parts.next(), parts.next())
    };
    let claimed: PeerRequest = payload
        .and_then(unb64)
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(DistributionError::Signature(JwsError::Malformed))?;
    let keys = KeySet::new([claimed.identity_key.clone()]);
    let request: PeerRequest = jws::verify(token, PEER_REQUEST_TYPE, &keys)?;
    Ok(request)
}

/// Whether the request proves knowledge of `code` (the one the hub issued for its
/// member id).
pub fn request_proves(request: &PeerRequest, code: &str) -> bool {
    let expected = request_proof(
        code,
        request.member_id,
        &request.client_public_key,
        &request.identity_key,
    );
    same(&expected, &request.proof)
}

/// The hub's half: answers a request that [`request_proves`] the code, proving the same.
pub fn respond_peer(
    request: &PeerRequest,
    code: &str,
    hub_id: Uuid,
    hub_name: &str,
    issuer: &SigningKey,
    hub_keys: &KeySet,
    now: DateTime<Utc>,
) -> Result<(String, PeerKey), DistributionError> {
    let rng = ring::rand::SystemRandom::new();
    let private = EphemeralPrivateKey::generate(&X25519, &rng).map_err(|_| KeyError::Random)?;
    let server_public = x25519_public(&private)?;
    let key = derive_peer_key(
        private,
        &request.client_public_key,
        request.member_id,
        &request.client_public_key,
        &server_public,
    )?;
    let reply = PeerReply {
        hub_id,
        hub_name: hub_name.to_owned(),
        member_id: request.member_id,
        client_public_key: request.client_public_key,
        server_public_key: server_public,
        proof: proof(
            code,
            request.member_id,
            &request.client_public_key,
            &server_public,
            issuer.key_id().as_str(),
        ),
        hub_keys: hub_keys.clone(),
        issued_at: now,
    };
    Ok((jws::sign(PEER_REPLY_TYPE, &reply, issuer)?, key))
}

// ---------------------------------------------------------------------------------------
// Manifest

/// What a collection grants each member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CollectionRights {
    /// This many concurrent copies of each title at each member.
    CopiesPerMember(u32),
    /// Unlimited concurrent use (publicly funded resources).
    Unlimited,
}

/// One title of a collection version: its objects by digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestTitle {
    /// The title's id (the same at every server).
    pub id: Uuid,
    /// The catalogue record (JSON).
    pub record: String,
    /// The encrypted package.
    pub package: String,
    /// The cover image.
    pub cover: Option<String>,
    /// The cover thumbnail.
    pub thumbnail: Option<String>,
}

/// One object: content-addressed and immutable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestObject {
    /// SHA-256, lowercase hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// A collection version as the hub signs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The hub.
    pub hub_id: Uuid,
    /// The collection's short name (`jiceng-2026`).
    pub collection: String,
    /// Its display name (`基层图书馆数字资源提升 2026`).
    pub name: String,
    /// This version (1, 2, ...).
    pub version: u32,
    /// The version before, if any.
    pub previous: Option<u32>,
    /// What each member may do with the titles.
    pub rights: CollectionRights,
    /// When this copy of the manifest was signed.
    pub issued_at: DateTime<Utc>,
    /// After this the manifest is refused (a disk found years later installs nothing).
    pub expires_at: DateTime<Utc>,
    /// The titles.
    pub titles: Vec<ManifestTitle>,
    /// Every object, once.
    pub objects: Vec<ManifestObject>,
}

impl Manifest {
    /// Signs the manifest with the hub's issuer key.
    pub fn sign(&self, issuer: &SigningKey) -> Result<String, DistributionError> {
        Ok(jws::sign(MANIFEST_TYPE, self, issuer)?)
    }

    /// Verifies a signed manifest against the pinned hub keys and checks that it is
    /// consistent (digests, every title's objects listed, nothing listed twice).
    pub fn verify(token: &str, hub_keys: &KeySet) -> Result<Self, DistributionError> {
        let manifest: Manifest =
            jws::verify_bounded(token, MANIFEST_TYPE, hub_keys, MAX_DOCUMENT_LEN)?;
        manifest.check_consistent()?;
        Ok(manifest)
    }

    fn check_consistent(&self) -> Result<(), DistributionError> {
        let invalid = |why: String| Err(DistributionError::Invalid(why));
        let mut listed = std::collections::HashSet::new();
        for object in &self.objects {
            if !is_sha256_hex(&object.sha256) {
                return invalid(format!("{:?} is not a SHA-256 digest", object.sha256));
            }
            if !listed.insert(object.sha256.as_str()) {
                return invalid(format!("object {} is listed twice", object.sha256));
            }
        }
        let mut titles = std::collections::HashSet::new();
        for title in &self.titles {
            if !titles.insert(title.id) {
                return invalid(format!("title {} is listed twice", title.id));
            }
            let refs = [Some(&title.record), Some(&title.package)]
                .into_iter()
                .chain([title.cover.as_ref(), title.thumbnail.as_ref()]);
            for sha in refs.flatten() {
                if !listed.contains(sha.as_str()) {
                    return invalid(format!("title {} names unlisted object {sha}", title.id));
                }
            }
        }
        if self.previous.is_some_and(|p| p >= self.version) {
            return invalid("the previous version is not older".into());
        }
        Ok(())
    }

    /// Whether this version may be installed now over `installed` (the version in
    /// place, if any): not expired, not older. The same version again is allowed (a
    /// re-run finishes an interrupted import).
    pub fn check_installable(
        &self,
        now: DateTime<Utc>,
        installed: Option<u32>,
    ) -> Result<(), DistributionError> {
        if now >= self.expires_at {
            return Err(DistributionError::Expired(self.expires_at));
        }
        match installed {
            Some(installed) if installed > self.version => Err(DistributionError::Rollback {
                installed,
                offered: self.version,
            }),
            _ => Ok(()),
        }
    }

    /// Total bytes of the listed objects (saturating: a manifest cannot make it wrap).
    pub fn total_size(&self) -> u64 {
        self.objects
            .iter()
            .fold(0u64, |total, o| total.saturating_add(o.size))
    }
}

// ---------------------------------------------------------------------------------------
// Key envelopes

/// One title's content key sealed to a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedTitleKey {
    /// The title.
    pub title_id: Uuid,
    /// `nonce ‖ ciphertext ‖ tag`, base64url.
    pub sealed: String,
}

/// A collection version's content keys for one member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// The hub.
    pub hub_id: Uuid,
    /// The member it is sealed to.
    pub member_id: Uuid,
    /// The collection.
    pub collection: String,
    /// The version.
    pub version: u32,
    /// When it was sealed.
    pub issued_at: DateTime<Utc>,
    /// The highest usage sequence number the hub holds from this member (a usage
    /// acknowledgement that travels on disks too).
    pub usage_acked: Option<u64>,
    /// The keys.
    pub keys: Vec<SealedTitleKey>,
}

fn envelope_aad(hub_id: Uuid, member_id: Uuid, title_id: Uuid) -> Vec<u8> {
    let mut aad = ENVELOPE_LABEL.to_vec();
    aad.extend_from_slice(hub_id.as_bytes());
    aad.extend_from_slice(member_id.as_bytes());
    aad.extend_from_slice(title_id.as_bytes());
    aad
}

/// What an envelope holds, before sealing: the header and the clear keys.
#[derive(Debug)]
pub struct EnvelopeContents<'a> {
    /// The hub.
    pub hub_id: Uuid,
    /// The member.
    pub member_id: Uuid,
    /// The collection.
    pub collection: &'a str,
    /// The version.
    pub version: u32,
    /// Now.
    pub issued_at: DateTime<Utc>,
    /// Usage acknowledged so far.
    pub usage_acked: Option<u64>,
}

impl Envelope {
    /// Seals `keys` to `peer_key` and signs the envelope with the hub's issuer key.
    pub fn seal(
        contents: EnvelopeContents<'_>,
        keys: &[(Uuid, ContentKey)],
        peer_key: &PeerKey,
        issuer: &SigningKey,
    ) -> Result<String, DistributionError> {
        let rng = ring::rand::SystemRandom::new();
        Self::seal_with(contents, keys, peer_key, issuer, &rng)
    }

    fn seal_with(
        c: EnvelopeContents<'_>,
        keys: &[(Uuid, ContentKey)],
        peer_key: &PeerKey,
        issuer: &SigningKey,
        rng: &dyn SecureRandom,
    ) -> Result<String, DistributionError> {
        let keys = keys
            .iter()
            .map(|(title_id, key)| {
                let sealed = aead::seal_random_nonce(
                    peer_key.expose_secret(),
                    &envelope_aad(c.hub_id, c.member_id, *title_id),
                    key.expose_secret(),
                    rng,
                )?;
                Ok(SealedTitleKey {
                    title_id: *title_id,
                    sealed: b64(sealed),
                })
            })
            .collect::<Result<Vec<_>, KeyError>>()?;
        let envelope = Envelope {
            hub_id: c.hub_id,
            member_id: c.member_id,
            collection: c.collection.to_owned(),
            version: c.version,
            issued_at: c.issued_at,
            usage_acked: c.usage_acked,
            keys,
        };
        Ok(jws::sign(ENVELOPE_TYPE, &envelope, issuer)?)
    }

    /// Verifies an envelope from the pinned hub and opens its keys with this member's
    /// peer key. An envelope for another member fails here, before anything is copied.
    pub fn open(
        token: &str,
        hub_keys: &KeySet,
        member_id: Uuid,
        peer_key: &PeerKey,
    ) -> Result<(Envelope, Vec<(Uuid, ContentKey)>), DistributionError> {
        let envelope: Envelope =
            jws::verify_bounded(token, ENVELOPE_TYPE, hub_keys, MAX_DOCUMENT_LEN)?;
        if envelope.member_id != member_id {
            return Err(DistributionError::Mismatch("member"));
        }
        let keys = envelope
            .keys
            .iter()
            .map(|k| {
                let sealed = unb64(&k.sealed).ok_or(KeyError::Unsealing)?;
                let clear = aead::open(
                    peer_key.expose_secret(),
                    &envelope_aad(envelope.hub_id, member_id, k.title_id),
                    &sealed,
                )?;
                Ok((k.title_id, ContentKey::from_slice(&clear)?))
            })
            .collect::<Result<Vec<_>, KeyError>>()?;
        Ok((envelope, keys))
    }
}

// ---------------------------------------------------------------------------------------
// Usage and peer authorisation

/// One member's use of one title on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageEntry {
    /// The member's sequence number (increasing; shared by all its hubs, so one hub
    /// may see gaps).
    pub seq: u64,
    /// The title.
    pub title_id: Uuid,
    /// The member's local day.
    pub day: NaiveDate,
    /// Loans begun.
    pub loans: u32,
    /// Renewals.
    pub renewals: u32,
    /// Loans ended (returned or expired).
    pub returns: u32,
}

/// Usage a member sends up (by network, or in a file on a return disk).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageReport {
    /// The member.
    pub member_id: Uuid,
    /// The hub it is for.
    pub hub_id: Uuid,
    /// When it was made.
    pub issued_at: DateTime<Utc>,
    /// The entries, in sequence order.
    pub entries: Vec<UsageEntry>,
}

impl UsageReport {
    /// Signs the report with the member's identity key.
    pub fn sign(&self, identity: &SigningKey) -> Result<String, DistributionError> {
        Ok(jws::sign(USAGE_TYPE, self, identity)?)
    }

    /// Verifies a report against the member's pinned key.
    pub fn verify(token: &str, member_keys: &KeySet) -> Result<Self, DistributionError> {
        Ok(jws::verify_bounded(
            token,
            USAGE_TYPE,
            member_keys,
            MAX_DOCUMENT_LEN,
        )?)
    }
}

/// A member's short-lived authorisation to call its hub's peer API
/// (`Authorization: JieyuePeer <token>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerAuth {
    /// The member.
    pub member_id: Uuid,
    /// The hub it is for.
    pub hub_id: Uuid,
    /// Made at.
    pub issued_at: DateTime<Utc>,
}

impl PeerAuth {
    /// Signs a token for `hub_id`.
    pub fn sign(
        member_id: Uuid,
        hub_id: Uuid,
        identity: &SigningKey,
        now: DateTime<Utc>,
    ) -> Result<String, DistributionError> {
        let auth = PeerAuth {
            member_id,
            hub_id,
            issued_at: now,
        };
        Ok(jws::sign(PEER_AUTH_TYPE, &auth, identity)?)
    }

    /// The member a token claims to come from, before verifying (to find its key).
    pub fn claimed_member(token: &str) -> Option<Uuid> {
        let payload = token.split('.').nth(1)?;
        let auth: PeerAuth = serde_json::from_slice(&unb64(payload)?).ok()?;
        Some(auth.member_id)
    }

    /// Verifies a token against the member's pinned key, for this hub, now (± the
    /// validity window, so clocks a few minutes apart still work).
    pub fn verify(
        token: &str,
        member_keys: &KeySet,
        hub_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Self, DistributionError> {
        let auth: PeerAuth = jws::verify(token, PEER_AUTH_TYPE, member_keys)?;
        if auth.hub_id != hub_id {
            return Err(DistributionError::Mismatch("hub"));
        }
        let skew = (now - auth.issued_at).num_seconds().abs();
        if skew > PEER_AUTH_SECONDS {
            return Err(DistributionError::NotNow);
        }
        Ok(auth)
    }
}

// ---------------------------------------------------------------------------------------
// Key endorsements (rotation)

/// A server's issuer keys, vouched for by one of its own keys. A server signs one with
/// each key it still holds; a peer that pinned any of them adopts the rest, so rotating
/// an issuer key (`jieyue keys rotate`) does not cut a hub off from its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEndorsement {
    /// The server.
    pub server_id: Uuid,
    /// Its issuer keys now.
    pub keys: KeySet,
    /// When it was signed.
    pub issued_at: DateTime<Utc>,
}

impl KeyEndorsement {
    /// One endorsement of `keys` per signer.
    pub fn sign_all(
        server_id: Uuid,
        keys: &KeySet,
        signers: &[&SigningKey],
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, DistributionError> {
        let endorsement = KeyEndorsement {
            server_id,
            keys: keys.clone(),
            issued_at: now,
        };
        signers
            .iter()
            .map(|signer| Ok(jws::sign(KEYS_TYPE, &endorsement, signer)?))
            .collect()
    }

    /// The keys to pin for `server_id` after reading `tokens`: the set the newest
    /// endorsement signed by a pinned key names (keys the server dropped from its ring
    /// are dropped here too). `None` if no token verifies against a pinned key for that
    /// server (nothing new is trusted then).
    pub fn adopt(tokens: &[String], pinned: &KeySet, server_id: Uuid) -> Option<KeySet> {
        tokens
            .iter()
            .filter_map(|token| jws::verify::<KeyEndorsement>(token, KEYS_TYPE, pinned).ok())
            .filter(|endorsement| endorsement.server_id == server_id)
            .max_by_key(|endorsement| endorsement.issued_at)
            .map(|endorsement| endorsement.keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).expect("time")
    }

    fn hub_key() -> SigningKey {
        SigningKey::from_seed(&[1; 32]).expect("key")
    }

    fn enrol(
        member: Uuid,
        code_member: &str,
        code_hub: &str,
    ) -> Result<(PeerKey, PeerKey), DistributionError> {
        let identity = SigningKey::from_seed(&[2; 32]).expect("key");
        let (enrolment, token) =
            MemberEnrolment::start(member, "淳安县图书馆", &identity, code_member, now())?;
        let request = verify_peer_request(&token)?;
        assert_eq!(request.identity_key, *identity.public_key());
        assert!(!token.contains(code_member), "the code never travels");
        if !request_proves(&request, code_hub) {
            return Err(DistributionError::Proof);
        }
        let hub = hub_key();
        let (reply, hub_side) = respond_peer(
            &request,
            code_hub,
            Uuid::nil(),
            "浙江省图书馆",
            &hub,
            &KeySet::new([hub.public_key().clone()]),
            now(),
        )?;
        let (member_side, _) =
            enrolment.finish(&reply, &KeySet::new([hub.public_key().clone()]))?;
        Ok((member_side, hub_side))
    }

    #[test]
    fn the_member_pins_only_the_signed_key_set() {
        let identity = SigningKey::from_seed(&[2; 32]).expect("key");
        let hub = hub_key();
        let rogue = SigningKey::from_seed(&[9; 32]).expect("key");
        let (enrolment, token) =
            MemberEnrolment::start(Uuid::now_v7(), "x", &identity, "code", now()).expect("start");
        let request = verify_peer_request(&token).expect("request");
        let signed_set = KeySet::new([hub.public_key().clone()]);
        let (reply, _) = respond_peer(&request, "code", Uuid::nil(), "h", &hub, &signed_set, now())
            .expect("reply");
        // Whatever travels beside the reply (a rogue key added on the way) is only used
        // to find the signing key; the pinned set is the signed one.
        let beside = KeySet::new([hub.public_key().clone(), rogue.public_key().clone()]);
        let (_, answer) = enrolment.finish(&reply, &beside).expect("finish");
        assert_eq!(answer.hub_keys, signed_set);
    }

    #[test]
    fn member_and_hub_agree_on_the_peer_key() {
        let (a, b) = enrol(Uuid::now_v7(), "code-1", "code-1").expect("enrol");
        assert_eq!(a, b);
    }

    #[test]
    fn a_member_or_hub_that_does_not_know_the_code_is_refused() {
        assert_eq!(
            enrol(Uuid::now_v7(), "code-1", "guess").err(),
            Some(DistributionError::Proof)
        );
        // A hub that skips the check still cannot make a reply the member accepts.
        let identity = SigningKey::from_seed(&[2; 32]).expect("key");
        let member = Uuid::now_v7();
        let (enrolment, token) =
            MemberEnrolment::start(member, "x", &identity, "real-code", now()).expect("start");
        let request = verify_peer_request(&token).expect("request");
        let hub = hub_key();
        let (reply, _) = respond_peer(
            &request,
            "guessed",
            Uuid::nil(),
            "h",
            &hub,
            &KeySet::new([hub.public_key().clone()]),
            now(),
        )
        .expect("reply");
        assert_eq!(
            enrolment
                .finish(&reply, &KeySet::new([hub.public_key().clone()]))
                .err(),
            Some(DistributionError::Proof)
        );
    }

    #[test]
    fn a_request_signed_by_another_key_than_it_names_is_refused() {
        let identity = SigningKey::from_seed(&[2; 32]).expect("key");
        let other = SigningKey::from_seed(&[3; 32]).expect("key");
        let (_, token) =
            MemberEnrolment::start(Uuid::now_v7(), "x", &identity, "c", now()).expect("start");
        // Re-sign the same payload with another key: the named key no longer verifies.
        let payload: PeerRequest = {
            let part = token.split('.').nth(1).expect("payload");
            serde_json::from_slice(&unb64(part).expect("b64")).expect("json")
        };
        let forged = jws::sign(PEER_REQUEST_TYPE, &payload, &other).expect("sign");
        assert!(matches!(
            verify_peer_request(&forged),
            Err(DistributionError::Signature(JwsError::UnknownKey(_)))
        ));
    }

    fn manifest(version: u32) -> Manifest {
        let package = sha256_hex(b"package");
        let record = sha256_hex(b"record");
        Manifest {
            hub_id: Uuid::nil(),
            collection: "jiceng-2026".into(),
            name: "基层图书馆数字资源提升 2026".into(),
            version,
            previous: version.checked_sub(1).filter(|v| *v > 0),
            rights: CollectionRights::CopiesPerMember(3),
            issued_at: now(),
            expires_at: now() + chrono::Duration::days(30),
            titles: vec![ManifestTitle {
                id: Uuid::nil(),
                record: record.clone(),
                package: package.clone(),
                cover: None,
                thumbnail: None,
            }],
            objects: vec![
                ManifestObject {
                    sha256: package,
                    size: 7,
                },
                ManifestObject {
                    sha256: record,
                    size: 6,
                },
            ],
        }
    }

    #[test]
    fn manifests_verify_only_against_the_hub_key_and_refuse_rollback_and_expiry() {
        let hub = hub_key();
        let keys = KeySet::new([hub.public_key().clone()]);
        let token = manifest(2).sign(&hub).expect("sign");
        let verified = Manifest::verify(&token, &keys).expect("verify");
        assert_eq!(verified, manifest(2));
        let rogue = SigningKey::from_seed(&[9; 32]).expect("key");
        let forged = manifest(2).sign(&rogue).expect("sign");
        assert!(Manifest::verify(&forged, &keys).is_err());
        assert!(verified.check_installable(now(), Some(2)).is_ok());
        assert!(verified.check_installable(now(), Some(1)).is_ok());
        assert_eq!(
            verified.check_installable(now(), Some(3)),
            Err(DistributionError::Rollback {
                installed: 3,
                offered: 2
            })
        );
        assert!(matches!(
            verified.check_installable(now() + chrono::Duration::days(30), None),
            Err(DistributionError::Expired(_))
        ));
    }

    #[test]
    fn a_manifest_naming_an_unlisted_object_is_refused() {
        let hub = hub_key();
        let mut bad = manifest(1);
        bad.objects.pop();
        let token = bad.sign(&hub).expect("sign");
        assert!(matches!(
            Manifest::verify(&token, &KeySet::new([hub.public_key().clone()])),
            Err(DistributionError::Invalid(_))
        ));
    }

    #[test]
    fn envelopes_open_only_for_their_member() {
        let hub = hub_key();
        let keys = KeySet::new([hub.public_key().clone()]);
        let member = Uuid::now_v7();
        let peer = PeerKey::from_bytes([5; 32]);
        let title = Uuid::now_v7();
        let content = ContentKey::from_bytes([6; 32]);
        let contents = EnvelopeContents {
            hub_id: Uuid::nil(),
            member_id: member,
            collection: "c",
            version: 1,
            issued_at: now(),
            usage_acked: None,
        };
        let token =
            Envelope::seal(contents, &[(title, content.clone())], &peer, &hub).expect("seal");
        let (_, opened) = Envelope::open(&token, &keys, member, &peer).expect("open");
        assert_eq!(opened, vec![(title, content)]);
        // Another member's id, or its peer key: nothing opens.
        assert_eq!(
            Envelope::open(&token, &keys, Uuid::now_v7(), &peer).err(),
            Some(DistributionError::Mismatch("member"))
        );
        let other = PeerKey::from_bytes([7; 32]);
        assert!(matches!(
            Envelope::open(&token, &keys, member, &other),
            Err(DistributionError::Key(KeyError::Unsealing))
        ));
    }

    #[test]
    fn a_rotated_key_is_adopted_only_when_a_pinned_key_vouches_for_it() {
        let old = SigningKey::from_seed(&[11; 32]).expect("key");
        let new = SigningKey::from_seed(&[12; 32]).expect("key");
        let server = Uuid::now_v7();
        let pinned = KeySet::new([old.public_key().clone()]);
        let both = KeySet::new([old.public_key().clone(), new.public_key().clone()]);
        let tokens = KeyEndorsement::sign_all(server, &both, &[&new, &old], now()).expect("sign");
        let adopted = KeyEndorsement::adopt(&tokens, &pinned, server).expect("adopted");
        assert!(adopted.get(new.key_id().as_str()).is_some());
        // Signed only by the new key, or for another server: nothing is adopted.
        let unvouched = KeyEndorsement::sign_all(server, &both, &[&new], now()).expect("sign");
        assert_eq!(KeyEndorsement::adopt(&unvouched, &pinned, server), None);
        assert_eq!(
            KeyEndorsement::adopt(&tokens, &pinned, Uuid::now_v7()),
            None
        );
        // A stranger's key set signed by a stranger: nothing.
        let rogue = SigningKey::from_seed(&[13; 32]).expect("key");
        let forged = KeyEndorsement::sign_all(
            server,
            &KeySet::new([rogue.public_key().clone()]),
            &[&rogue],
            now(),
        )
        .expect("sign");
        assert_eq!(KeyEndorsement::adopt(&forged, &pinned, server), None);
    }

    #[test]
    fn peer_auth_is_bound_to_hub_and_time() {
        let member = SigningKey::from_seed(&[4; 32]).expect("key");
        let keys = KeySet::new([member.public_key().clone()]);
        let (id, hub) = (Uuid::now_v7(), Uuid::now_v7());
        let token = PeerAuth::sign(id, hub, &member, now()).expect("sign");
        assert_eq!(PeerAuth::claimed_member(&token), Some(id));
        assert!(PeerAuth::verify(&token, &keys, hub, now()).is_ok());
        assert_eq!(
            PeerAuth::verify(&token, &keys, Uuid::nil(), now()).err(),
            Some(DistributionError::Mismatch("hub"))
        );
        assert_eq!(
            PeerAuth::verify(&token, &keys, hub, now() + chrono::Duration::hours(1)).err(),
            Some(DistributionError::NotNow)
        );
    }
}
