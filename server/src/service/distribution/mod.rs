//! Hub → member distribution (ADR 0019). Any server can be a hub (it has members and
//! collections), a member (it has hubs and installed collections), or both.
//!
//! - [`mod@self`]: identity, peers and enrolment, collections and their versions, the
//!   signed manifests and key envelopes the hub hands out.
//! - [`bundle`]: export to a directory or disk, import from one, pull over the network,
//!   with a journal of verified objects and publication in one transaction.
//! - [`usage`]: the member's usage log and the hub's reports of it.
//! - [`hub_client`]: the member's HTTP client for its hub's peer API.

pub mod bundle;
pub mod hub_client;
pub mod usage;

use chrono::Duration;
use jieyue_protocol::distribution::{
    CollectionRights, DistributionError, Envelope, EnvelopeContents, KeyEndorsement, Manifest,
    MemberEnrolment, PeerAuth, request_proves, respond_peer, sha256_hex, verify_peer_request,
};
use jieyue_protocol::{ContentKey, KeySet, PeerKey, SealedKey};
use serde_json::json;
use uuid::Uuid;

use super::{Ctx, Error, Result};
use crate::domain::distribution::{
    CatalogueRecord, Collection, CollectionSlug, Peer, PeerRole, PeerStatus,
};
use crate::domain::{FieldError, Staff, StaffRole, Title, TitleId};
use crate::store::audit::{self, Actor, AuditEntry};
use crate::store::distribution::{self as store, StoredVersion};
use crate::store::titles;

/// How long a manifest signed for a network pull stays valid.
pub const NETWORK_MANIFEST_DAYS: i64 = 7;

/// Distribution is the consortium admins' business.
fn ensure_admin(actor: &Staff) -> Result<()> {
    match actor.role {
        StaffRole::ConsortiumAdmin => Ok(()),
        _ => Err(Error::Forbidden(
            "only a consortium admin manages distribution",
        )),
    }
}

/// Who asks: a consortium admin (API, console) or the operator at the command line
/// (who holds the key ring, so may do anything).
#[derive(Debug, Clone, Copy)]
pub enum By<'a> {
    /// A staff member (must be a consortium admin).
    Staff(&'a Staff),
    /// The server's operator (`jieyue collection ...`).
    Operator,
}

impl By<'_> {
    fn authorise(self) -> Result<Actor> {
        match self {
            By::Staff(staff) => {
                ensure_admin(staff)?;
                Ok(Actor::Staff(staff.id))
            }
            By::Operator => Ok(Actor::System),
        }
    }
}

fn bad_document(err: DistributionError) -> Error {
    Error::from(FieldError::new("document", err.to_string()))
}

/// This server's id in distribution.
pub async fn server_id(ctx: &Ctx) -> Result<Uuid> {
    if let Some(id) = store::local_server_id_cached(ctx.db.reader()).await? {
        return Ok(id);
    }
    let txn = ctx.db.begin_write().await?;
    let id = store::local_server_id(&txn, ctx.clock.now()).await?;
    txn.commit().await?;
    Ok(id)
}

/// How this server names itself to its peers: its libraries' names (the first three),
/// or its id if it has none yet.
async fn own_name(ctx: &Ctx, id: Uuid) -> Result<String> {
    let mut libraries = super::libraries::list(ctx).await?;
    libraries.sort_by_key(|l| l.created_at);
    let names: Vec<&str> = libraries.iter().take(3).map(|l| l.name.as_str()).collect();
    Ok(match (names.is_empty(), libraries.len() > 3) {
        (true, _) => format!("Jieyue {id}"),
        (false, false) => names.join("、"),
        (false, true) => format!("{}…", names.join("、")),
    })
}

fn code_context(member: Uuid) -> Vec<u8> {
    let mut context = b"jieyue/peer-code/".to_vec();
    context.extend_from_slice(member.as_bytes());
    context
}

fn seal_peer_key(ctx: &Ctx, peer: Uuid, key: &PeerKey) -> Result<String> {
    Ok(ctx
        .keys
        .master
        .seal(key.expose_secret(), peer.as_bytes())
        .map_err(Error::internal("sealing the peer key"))?
        .to_text())
}

fn open_peer_key(ctx: &Ctx, peer: &Peer) -> Result<PeerKey> {
    let sealed = peer
        .peer_key_sealed
        .as_deref()
        .ok_or(Error::Conflict(format!(
            "{} has not enrolled yet",
            peer.name
        )))?;
    let sealed = SealedKey::from_text(sealed).map_err(Error::internal("stored peer key"))?;
    let clear = ctx
        .keys
        .master
        .open(&sealed, peer.id.as_bytes())
        .map_err(Error::internal("opening the peer key"))?;
    PeerKey::from_slice(&clear).map_err(Error::internal("peer key"))
}

fn open_content_key(ctx: &Ctx, title: &Title) -> Result<ContentKey> {
    let sealed = SealedKey::from_text(&title.content_key_sealed)
        .map_err(Error::internal("stored content key"))?;
    let clear = ctx
        .keys
        .master
        .open(&sealed, title.id.0.as_bytes())
        .map_err(Error::internal("opening a content key"))?;
    ContentKey::from_slice(&clear).map_err(Error::internal("content key"))
}

async fn audit_system(
    ctx: &Ctx,
    actor: Actor,
    action: &'static str,
    target_kind: &'static str,
    target_id: Option<Uuid>,
    detail: serde_json::Value,
) -> Result<()> {
    let txn = ctx.db.begin_write().await?;
    audit::record(
        &txn,
        AuditEntry {
            actor,
            library_id: None,
            action,
            target_kind,
            target_id,
            detail: Some(detail),
        },
        ctx.clock.now(),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Peers

/// A member invited on the hub, with the code its admin needs (shown once).
#[derive(Debug, Clone)]
pub struct Invitation {
    /// The member as recorded.
    pub member: Peer,
    /// `<member id>.<secret>`: what the member's admin types into `jieyue peer enrol`.
    pub code: String,
}

/// A hub admin invites a member server: it gets an id and a one-time enrolment code.
pub async fn invite_member(
    ctx: &Ctx,
    by: By<'_>,
    name: &str,
    region: Option<&str>,
) -> Result<Invitation> {
    let actor = by.authorise()?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(FieldError::new("name", "must be 1-200 characters").into());
    }
    let region = region.map(str::trim).filter(|r| !r.is_empty());
    if region.is_some_and(|r| r.chars().count() > 200) {
        return Err(FieldError::new("region", "must be at most 200 characters").into());
    }
    let mut secret = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut secret)
        .map_err(|_| Error::Bug("the system random generator failed"))?;
    let id = Uuid::now_v7();
    let code = zeroize::Zeroizing::new(format!("{id}.{}", jieyue_protocol::encoding::b64(secret)));
    let sealed_code = ctx
        .keys
        .master
        .seal(code.as_bytes(), &code_context(id))
        .map_err(Error::internal("sealing the enrolment code"))?
        .to_text();
    let now = ctx.clock.now();
    let member = Peer {
        id,
        role: PeerRole::Member,
        name: name.to_owned(),
        region: region.map(str::to_owned),
        identity_keys: KeySet::default(),
        peer_key_sealed: None,
        base_url: None,
        code_sealed: Some(sealed_code),
        my_id: None,
        status: PeerStatus::Invited,
        created_at: now,
        enrolled_at: None,
    };
    let txn = ctx.db.begin_write().await?;
    store::insert_peer(&txn, &member).await?;
    audit::record(
        &txn,
        AuditEntry {
            actor,
            library_id: None,
            action: "peer.invite",
            target_kind: "peer",
            target_id: Some(member.id),
            detail: Some(json!({ "name": member.name, "region": member.region })),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(Invitation {
        code: code.to_string(),
        member,
    })
}

/// The hub's answer to an enrolment: the signed reply and the keys it is signed with.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct EnrolmentAnswer {
    /// The signed reply (`jieyue-peer-reply+jws`).
    pub reply: String,
    /// The hub's issuer keys (the member pins them once the reply's proof checks).
    pub hub_keys: KeySet,
}

/// The hub accepts a member's signed enrolment request (one use of its code).
pub async fn accept_enrolment(ctx: &Ctx, request: &str) -> Result<EnrolmentAnswer> {
    let request = verify_peer_request(request).map_err(bad_document)?;
    let refused = || Error::Forbidden("unknown or used enrolment code");
    let mut member = store::peer(ctx.db.reader(), request.member_id)
        .await?
        .filter(|p| p.role == PeerRole::Member && p.status == PeerStatus::Invited)
        .ok_or_else(refused)?;
    let code_sealed = member.code_sealed.clone().ok_or_else(refused)?;
    let sealed = SealedKey::from_text(&code_sealed).map_err(Error::internal("stored code"))?;
    let clear = ctx
        .keys
        .master
        .open(&sealed, &code_context(member.id))
        .map_err(Error::internal("opening the enrolment code"))?;
    let code = zeroize::Zeroizing::new(
        String::from_utf8(clear.to_vec()).map_err(Error::internal("enrolment code"))?,
    );
    if !request_proves(&request, &code) {
        return Err(refused());
    }
    let now = ctx.clock.now();
    let hub_id = server_id(ctx).await?;
    let hub_name = own_name(ctx, hub_id).await?;
    let (reply, key) = respond_peer(
        &request,
        &code,
        hub_id,
        &hub_name,
        &ctx.keys.signing,
        &ctx.keys.public,
        now,
    )
    .map_err(bad_document)?;
    member.identity_keys = KeySet::new([request.identity_key.clone()]);
    member.peer_key_sealed = Some(seal_peer_key(ctx, member.id, &key)?);
    member.enrolled_at = Some(now);
    let txn = ctx.db.begin_write().await?;
    if !store::complete_enrolment(&txn, &member, &code_sealed).await? {
        return Err(refused());
    }
    audit::record(
        &txn,
        AuditEntry {
            actor: Actor::System,
            library_id: None,
            action: "peer.enrol",
            target_kind: "peer",
            target_id: Some(member.id),
            detail: Some(json!({ "name": member.name, "member_name": request.name })),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(EnrolmentAnswer {
        reply,
        hub_keys: ctx.keys.public.clone(),
    })
}

/// A member's admin enrols this server with a hub at `base_url` using the code the
/// hub's admin gave them. Pins the hub's keys; the hub pins this server's.
pub async fn enrol_with_hub(ctx: &Ctx, by: By<'_>, base_url: &str, code: &str) -> Result<Peer> {
    let actor = by.authorise()?;
    let code = code.trim();
    let my_id = code
        .split_once('.')
        .and_then(|(id, _)| Uuid::parse_str(id).ok())
        .ok_or_else(|| FieldError::new("code", "is not an enrolment code (member-id.secret)"))?;
    let base_url = hub_client::normalise_base_url(base_url)?;
    let now = ctx.clock.now();
    let name = own_name(ctx, server_id(ctx).await?).await?;
    let (enrolment, request) = MemberEnrolment::start(my_id, &name, &ctx.keys.signing, code, now)
        .map_err(Error::internal("starting enrolment"))?;
    let answer = hub_client::enrol(&base_url, &request).await?;
    let (key, reply) = enrolment
        .finish(&answer.reply, &answer.hub_keys)
        .map_err(|e| Error::Conflict(format!("the hub's reply is not valid: {e}")))?;
    let hub = Peer {
        id: reply.hub_id,
        role: PeerRole::Hub,
        name: reply.hub_name.clone(),
        region: None,
        identity_keys: reply.hub_keys.clone(),
        peer_key_sealed: Some(seal_peer_key(ctx, reply.hub_id, &key)?),
        base_url: Some(base_url),
        code_sealed: None,
        my_id: Some(my_id),
        status: PeerStatus::Active,
        created_at: now,
        enrolled_at: Some(now),
    };
    // A hub names its own id: it must not take over another peer (a provincial hub
    // answering with the national hub's id, or a member's). Enrolling again with the
    // same hub is fine only if that hub signs with a key already pinned for it. (A
    // server may be its own hub, as in a one-machine demo: no peer row has its id.)
    let kid = jieyue_protocol::jws::peek_key_id(&answer.reply)
        .map_err(|e| Error::Conflict(format!("the hub's reply is not valid: {e}")))?;
    let txn = ctx.db.begin_write().await?;
    match store::peer(&txn, hub.id).await? {
        Some(known) if known.role == PeerRole::Hub && known.identity_keys.get(&kid).is_some() => {
            store::update_peer(&txn, &hub).await?;
        }
        Some(_) => {
            return Err(Error::Conflict(format!(
                "the hub answered with the id of another server this one knows ({}); refused",
                hub.id
            )));
        }
        None => store::insert_peer(&txn, &hub).await?,
    }
    audit::record(
        &txn,
        AuditEntry {
            actor,
            library_id: None,
            action: "peer.join",
            target_kind: "peer",
            target_id: Some(hub.id),
            detail: Some(json!({ "base_url": hub.base_url, "member_id": my_id })),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(hub)
}

/// Peers of one role (members on a hub, hubs on a member).
pub async fn peers(ctx: &Ctx, by: By<'_>, role: PeerRole) -> Result<Vec<Peer>> {
    by.authorise()?;
    Ok(store::peers(ctx.db.reader(), role).await?)
}

/// Suspends or resumes a peer.
pub async fn set_peer_status(ctx: &Ctx, actor: &Staff, id: Uuid, suspended: bool) -> Result<Peer> {
    ensure_admin(actor)?;
    let txn = ctx.db.begin_write().await?;
    let mut peer = store::peer(&txn, id)
        .await?
        .ok_or(Error::NotFound("peer"))?;
    peer.status = match (peer.status, suspended) {
        (PeerStatus::Invited, _) => {
            return Err(Error::Conflict("the member has not enrolled yet".into()));
        }
        (_, true) => PeerStatus::Suspended,
        (_, false) => PeerStatus::Active,
    };
    store::update_peer(&txn, &peer).await?;
    audit::record(
        &txn,
        AuditEntry {
            actor: Actor::Staff(actor.id),
            library_id: None,
            action: if suspended {
                "peer.suspend"
            } else {
                "peer.resume"
            },
            target_kind: "peer",
            target_id: Some(id),
            detail: None,
        },
        ctx.clock.now(),
    )
    .await?;
    txn.commit().await?;
    Ok(peer)
}

/// Removes a peer: a member loses access to the hub; a hub is no longer trusted (its
/// installed titles stay in the catalogue, loans run on).
pub async fn remove_peer(ctx: &Ctx, actor: &Staff, id: Uuid) -> Result<()> {
    ensure_admin(actor)?;
    let txn = ctx.db.begin_write().await?;
    if !store::delete_peer(&txn, id).await? {
        return Err(Error::NotFound("peer"));
    }
    audit::record(
        &txn,
        AuditEntry {
            actor: Actor::Staff(actor.id),
            library_id: None,
            action: "peer.remove",
            target_kind: "peer",
            target_id: Some(id),
            detail: None,
        },
        ctx.clock.now(),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// This server's key endorsements: its issuer keys, vouched for by each key it holds.
pub async fn key_endorsements(ctx: &Ctx) -> Result<Vec<String>> {
    let id = server_id(ctx).await?;
    let signers: Vec<&jieyue_protocol::SigningKey> = std::iter::once(&ctx.keys.signing)
        .chain(ctx.keys.retired.iter())
        .collect();
    KeyEndorsement::sign_all(id, &ctx.keys.public, &signers, ctx.clock.now())
        .map_err(Error::internal("signing key endorsements"))
}

/// The peer among `peers` that one of `endorsements` (signed by a key pinned for it)
/// shows using the rotated key `kid`, with the endorsed key set: a candidate only,
/// written by [`pin_rotated_keys`] once the document signed with `kid` verified.
pub(crate) fn rotated_keys(peers: &[Peer], kid: &str, endorsements: &[String]) -> Option<Peer> {
    peers.iter().find_map(|peer| {
        let keys = KeyEndorsement::adopt(endorsements, &peer.identity_keys, peer.id)?;
        keys.get(kid)?;
        let mut updated = peer.clone();
        updated.identity_keys = keys;
        Some(updated)
    })
}

/// Pins a peer's endorsed keys (only while it is active: a suspension or removal in
/// the meantime wins).
pub(crate) async fn pin_rotated_keys(ctx: &Ctx, peer: &Peer) -> Result<()> {
    let txn = ctx.db.begin_write().await?;
    if store::set_identity_keys(&txn, peer.id, &peer.identity_keys).await? {
        audit::record(
            &txn,
            AuditEntry {
                actor: Actor::System,
                library_id: None,
                action: "peer.keys",
                target_kind: "peer",
                target_id: Some(peer.id),
                detail: Some(json!({
                    "keys": peer.identity_keys.keys.iter().map(|k| k.key_id().as_str().to_owned()).collect::<Vec<_>>(),
                })),
            },
            ctx.clock.now(),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// The hub checks a member's peer authorisation token. A token signed by a key the
/// hub has not pinned is accepted once `endorsements` show the member's pinned key
/// vouching for it (the member rotated its issuer key); the new keys are pinned only
/// after the token verified with them.
pub async fn authorise_peer(ctx: &Ctx, token: &str, endorsements: &[String]) -> Result<Peer> {
    let refused = || Error::Unauthenticated;
    let claimed = PeerAuth::claimed_member(token).ok_or_else(refused)?;
    let member = store::peer(ctx.db.reader(), claimed)
        .await?
        .filter(|p| p.role == PeerRole::Member)
        .ok_or_else(refused)?;
    if member.status != PeerStatus::Active {
        return Err(Error::Forbidden("this member is suspended"));
    }
    let hub_id = server_id(ctx).await?;
    let kid = jieyue_protocol::jws::peek_key_id(token).map_err(|_| refused())?;
    if member.identity_keys.get(&kid).is_some() {
        PeerAuth::verify(token, &member.identity_keys, hub_id, ctx.clock.now())
            .map_err(|_| refused())?;
        return Ok(member);
    }
    let rotated =
        rotated_keys(std::slice::from_ref(&member), &kid, endorsements).ok_or_else(refused)?;
    PeerAuth::verify(token, &rotated.identity_keys, hub_id, ctx.clock.now())
        .map_err(|_| refused())?;
    pin_rotated_keys(ctx, &rotated).await?;
    Ok(rotated)
}

// ---------------------------------------------------------------------------------------
// Collections (hub)

/// What it takes to make a collection.
#[derive(Debug, Clone)]
pub struct NewCollection {
    /// Short name.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// What members get.
    pub rights: CollectionRights,
}

/// A collection with its size and newest version.
#[derive(Debug, Clone)]
pub struct CollectionSummary {
    /// The collection.
    pub collection: Collection,
    /// Titles in it now.
    pub titles: Vec<TitleId>,
    /// Published versions, newest first.
    pub versions: Vec<StoredVersion>,
}

/// Creates a collection (empty; add titles, then publish a version).
pub async fn create_collection(ctx: &Ctx, by: By<'_>, new: NewCollection) -> Result<Collection> {
    let actor = by.authorise()?;
    let slug = CollectionSlug::parse(&new.slug)?;
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(FieldError::new("name", "must be 1-200 characters").into());
    }
    if let CollectionRights::CopiesPerMember(n) = new.rights
        && !(1..=100_000).contains(&n)
    {
        return Err(FieldError::new("copies_per_member", "must be 1-100000").into());
    }
    let collection = Collection {
        id: Uuid::now_v7(),
        slug,
        name: name.to_owned(),
        rights: new.rights,
        created_at: ctx.clock.now(),
    };
    let txn = ctx.db.begin_write().await?;
    store::insert_collection(&txn, &collection)
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Duplicate(_) => {
                Error::Conflict(format!("a collection {} exists", collection.slug.as_str()))
            }
            other => other.into(),
        })?;
    audit::record(
        &txn,
        AuditEntry {
            actor,
            library_id: None,
            action: "collection.create",
            target_kind: "collection",
            target_id: Some(collection.id),
            detail: Some(json!({ "slug": collection.slug.as_str(), "name": collection.name })),
        },
        collection.created_at,
    )
    .await?;
    txn.commit().await?;
    Ok(collection)
}

async fn collection_by_slug(ctx: &Ctx, slug: &str) -> Result<Collection> {
    store::collection(ctx.db.reader(), slug)
        .await?
        .ok_or(Error::NotFound("collection"))
}

/// Every title readers can see (to put the whole catalogue in a collection; titles
/// hidden from readers here are left out, or members would show them).
pub async fn every_title(ctx: &Ctx, by: By<'_>) -> Result<Vec<TitleId>> {
    by.authorise()?;
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let batch = titles::ids_after(ctx.db.reader(), after, 1000).await?;
        let Some(last) = batch.last().copied() else {
            return Ok(all);
        };
        after = Some(last);
        let listed = titles::get_many(ctx.db.reader(), &batch).await?;
        all.extend(listed.iter().filter(|t| !t.suppressed).map(|t| t.id));
    }
}

/// Sets the titles of a collection (the next published version carries them).
pub async fn set_titles(ctx: &Ctx, by: By<'_>, slug: &str, ids: &[TitleId]) -> Result<usize> {
    let actor = by.authorise()?;
    let collection = collection_by_slug(ctx, slug).await?;
    let txn = ctx.db.begin_write().await?;
    for id in ids {
        if titles::get(&txn, *id).await?.is_none() {
            return Err(FieldError::new("title_ids", format!("no title {}", id.0)).into());
        }
    }
    store::set_collection_titles(&txn, collection.id, ids).await?;
    audit::record(
        &txn,
        AuditEntry {
            actor,
            library_id: None,
            action: "collection.titles",
            target_kind: "collection",
            target_id: Some(collection.id),
            detail: Some(json!({ "titles": ids.len() })),
        },
        ctx.clock.now(),
    )
    .await?;
    txn.commit().await?;
    Ok(ids.len())
}

/// Every collection with its titles and versions.
pub async fn collections(ctx: &Ctx, actor: &Staff) -> Result<Vec<CollectionSummary>> {
    ensure_admin(actor)?;
    let conn = ctx.db.reader();
    let mut out = Vec::new();
    for collection in store::collections(conn).await? {
        out.push(CollectionSummary {
            titles: store::collection_titles(conn, collection.id).await?,
            versions: store::versions(conn, collection.id).await?,
            collection,
        });
    }
    Ok(out)
}

/// Publishes the collection's current titles as its next version: catalogue records
/// are written as objects, every object is indexed by digest, and the manifest stored.
/// Packages are referenced as they are, never copied or re-encrypted.
pub async fn publish(ctx: &Ctx, by: By<'_>, slug: &str) -> Result<StoredVersion> {
    let actor = by.authorise()?;
    let collection = collection_by_slug(ctx, slug).await?;
    let hub_id = server_id(ctx).await?;
    let ids = store::collection_titles(ctx.db.reader(), collection.id).await?;
    if ids.is_empty() {
        return Err(Error::Conflict("the collection has no titles".into()));
    }
    let blobs = &ctx.catalogue.blobs;
    let mut objects: Vec<(String, String, u64)> = Vec::new(); // digest, key, size
    let mut manifest_titles = Vec::new();
    for id in &ids {
        let title = titles::get(ctx.db.reader(), *id)
            .await?
            .ok_or(Error::NotFound("title"))?;
        let mut digest_of = async |key: &str| -> Result<String> {
            let bytes = blobs.get_bytes(key).await?;
            let digest = sha256_hex(&bytes);
            objects.push((digest.clone(), key.to_owned(), bytes.len() as u64));
            Ok(digest)
        };
        let cover = match &title.cover {
            Some((key, _)) => Some(digest_of(key).await?),
            None => None,
        };
        let thumbnail = match &title.thumbnail_key {
            Some(key) => Some(digest_of(key).await?),
            None => None,
        };
        let record = CatalogueRecord::of(&title, cover.clone(), thumbnail.clone());
        let bytes = serde_json::to_vec(&record).map_err(Error::internal("catalogue record"))?;
        let record_sha = sha256_hex(&bytes);
        let record_key = jieyue_protocol::distribution::object_path(&record_sha);
        objects.push((record_sha.clone(), record_key.clone(), bytes.len() as u64));
        blobs.put_bytes(&record_key, bytes).await?;
        objects.push((
            title.package_sha256.clone(),
            title.package_key.clone(),
            title.package_size,
        ));
        manifest_titles.push(jieyue_protocol::distribution::ManifestTitle {
            id: title.id.0,
            record: record_sha,
            package: title.package_sha256.clone(),
            cover,
            thumbnail,
        });
    }
    let mut seen = std::collections::HashSet::new();
    objects.retain(|(digest, _, _)| seen.insert(digest.clone()));
    let now = ctx.clock.now();
    let latest = store::latest_version(ctx.db.reader(), collection.id).await?;
    let version = latest.as_ref().map_or(1, |v| v.version + 1);
    let manifest = Manifest {
        hub_id,
        collection: collection.slug.as_str().to_owned(),
        name: collection.name.clone(),
        version,
        previous: latest.as_ref().map(|v| v.version),
        rights: collection.rights,
        issued_at: now,
        expires_at: now,
        titles: manifest_titles,
        objects: objects
            .iter()
            .map(
                |(sha256, _, size)| jieyue_protocol::distribution::ManifestObject {
                    sha256: sha256.clone(),
                    size: *size,
                },
            )
            .collect(),
    };
    let stored = StoredVersion {
        version,
        manifest: serde_json::to_string(&manifest).map_err(Error::internal("manifest"))?,
        total_size: manifest.total_size(),
        titles: u32::try_from(manifest.titles.len()).unwrap_or(u32::MAX),
        created_at: now,
    };
    let txn = ctx.db.begin_write().await?;
    for (digest, key, size) in &objects {
        store::put_hub_object(&txn, digest, key, *size).await?;
    }
    store::insert_version(&txn, collection.id, &stored)
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Duplicate(_) => {
                Error::Conflict("another version was published at the same time".into())
            }
            other => other.into(),
        })?;
    audit::record(
        &txn,
        AuditEntry {
            actor,
            library_id: None,
            action: "collection.publish",
            target_kind: "collection",
            target_id: Some(collection.id),
            detail: Some(json!({
                "version": version,
                "titles": stored.titles,
                "bytes": stored.total_size,
            })),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(stored)
}

/// The manifest of a version (the newest if `version` is `None`), signed now and valid
/// for `valid_for`.
pub async fn signed_manifest(
    ctx: &Ctx,
    slug: &str,
    version: Option<u32>,
    valid_for: Duration,
) -> Result<(String, Manifest)> {
    let collection = collection_by_slug(ctx, slug).await?;
    let versions = store::versions(ctx.db.reader(), collection.id).await?;
    let stored = match version {
        Some(v) => versions.into_iter().find(|s| s.version == v),
        None => versions.into_iter().next(),
    }
    .ok_or(Error::NotFound("collection version"))?;
    let mut manifest: Manifest =
        serde_json::from_str(&stored.manifest).map_err(Error::internal("stored manifest"))?;
    let now = ctx.clock.now();
    manifest.issued_at = now;
    manifest.expires_at = now + valid_for;
    let token = manifest
        .sign(&ctx.keys.signing)
        .map_err(Error::internal("signing the manifest"))?;
    Ok((token, manifest))
}

/// Seals the content keys of `manifest`'s titles to `member` (a key envelope).
pub async fn envelope_for(ctx: &Ctx, manifest: &Manifest, member: &Peer) -> Result<String> {
    if member.role != PeerRole::Member || member.status != PeerStatus::Active {
        return Err(Error::Conflict(format!(
            "{} is not an active member",
            member.name
        )));
    }
    let peer_key = open_peer_key(ctx, member)?;
    let mut keys = Vec::with_capacity(manifest.titles.len());
    for t in &manifest.titles {
        let title = titles::get(ctx.db.reader(), TitleId(t.id))
            .await?
            .ok_or(Error::NotFound("title"))?;
        if title.package_sha256 != t.package {
            return Err(Error::Conflict(format!(
                "《{}》 was replaced since version {} was published; publish a new version",
                title.metadata.title, manifest.version
            )));
        }
        keys.push((t.id, open_content_key(ctx, &title)?));
    }
    let acked = store::member_usage_high_water(ctx.db.reader(), member.id).await?;
    let contents = EnvelopeContents {
        hub_id: manifest.hub_id,
        member_id: member.id,
        collection: &manifest.collection,
        version: manifest.version,
        issued_at: ctx.clock.now(),
        usage_acked: Some(acked),
    };
    Envelope::seal(contents, &keys, &peer_key, &ctx.keys.signing)
        .map_err(Error::internal("sealing an envelope"))
}

/// The collections a member may pull: (slug, name, newest version).
pub async fn offered(ctx: &Ctx) -> Result<Vec<(String, String, u32)>> {
    let conn = ctx.db.reader();
    let mut out = Vec::new();
    for c in store::collections(conn).await? {
        if let Some(v) = store::latest_version(conn, c.id).await? {
            out.push((c.slug.as_str().to_owned(), c.name, v.version));
        }
    }
    Ok(out)
}

/// Where the hub keeps an object a member asks for (only objects of a published
/// version are served).
pub async fn hub_object(ctx: &Ctx, sha256: &str) -> Result<(String, u64)> {
    if !jieyue_protocol::distribution::is_sha256_hex(sha256) {
        return Err(Error::NotFound("object"));
    }
    store::hub_object(ctx.db.reader(), sha256)
        .await?
        .ok_or(Error::NotFound("object"))
}

/// Installed collections on this member.
pub async fn installed(ctx: &Ctx, actor: &Staff) -> Result<Vec<store::Installed>> {
    ensure_admin(actor)?;
    Ok(store::installed_all(ctx.db.reader()).await?)
}

/// The member's scheduled job: pull from every hub, then send usage; failures are
/// logged (a hub out of reach is normal for a county) and retried next time.
pub async fn scheduled_pull(ctx: &Ctx, rate: Option<u64>) {
    match store::peers(ctx.db.reader(), PeerRole::Hub).await {
        Ok(hubs) if hubs.iter().any(|h| h.base_url.is_some()) => {}
        Ok(_) => return,
        Err(err) => {
            tracing::warn!(error = %err, "listing hubs failed");
            return;
        }
    }
    let options = bundle::InstallOptions { limit_rate: rate };
    match bundle::pull(ctx, options, &|_| {}).await {
        Ok(report) => {
            for s in report.installed {
                tracing::info!(collection = %s.collection, version = s.version, copied = s.copied, "collection installed");
            }
            for (what, err) in report.failed {
                tracing::warn!(%what, error = %err, "pulling from the hub failed; will retry");
            }
        }
        Err(err) => tracing::warn!(error = %err, "pulling from the hub failed; will retry"),
    }
    if let Err(err) = usage::send(ctx).await {
        tracing::warn!(error = %err, "sending usage to the hub failed; will retry");
    }
}

/// Records a CLI or job action in the audit trail.
pub(crate) async fn audit_job(
    ctx: &Ctx,
    action: &'static str,
    target: Option<Uuid>,
    detail: serde_json::Value,
) -> Result<()> {
    audit_system(ctx, Actor::System, action, "collection", target, detail).await
}
