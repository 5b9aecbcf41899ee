//! Distribution: this server's id, peers, the hub's collections and objects, and a
//! member's installed collections, verified-object journal and usage log.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use jieyue_protocol::KeySet;
use jieyue_protocol::distribution::{CollectionRights, UsageEntry};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use super::entity::distribution::{
    collection, collection_title, collection_version, hub_object, hub_usage, installed_collection,
    installed_title, local_object, local_server, peer, title_origin, usage_cursor, usage_log,
};
use super::entity::lending::loan;
use super::{Result, StoreError};
use crate::domain::TitleId;
use crate::domain::distribution::{Collection, CollectionSlug, Peer, PeerRole, PeerStatus};

fn corrupt(table: &'static str, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        table,
        reason: reason.into(),
    }
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// This server's id in distribution, if it has one yet.
pub async fn local_server_id_cached(conn: &impl ConnectionTrait) -> Result<Option<Uuid>> {
    Ok(local_server::Entity::find()
        .order_by_asc(local_server::Column::CreatedAt)
        .order_by_asc(local_server::Column::Id)
        .one(conn)
        .await?
        .map(|row| row.id))
}

/// This server's id in distribution (made on first use; of two first uses at once, the
/// one inserted first stands for both).
pub async fn local_server_id(conn: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<Uuid> {
    local_server::Entity::insert(local_server::ActiveModel {
        id: Set(Uuid::now_v7()),
        singleton: Set(1),
        created_at: Set(now),
    })
    .on_conflict_do_nothing_on([local_server::Column::Singleton])
    .exec_without_returning(conn)
    .await?;
    local_server_id_cached(conn)
        .await?
        .ok_or_else(|| corrupt("local_server", "no row after insert"))
}

// ---------------------------------------------------------------------------------------
// Peers

fn peer_of(m: peer::Model) -> Result<Peer> {
    Ok(Peer {
        id: m.id,
        role: PeerRole::parse(&m.role)
            .ok_or_else(|| corrupt("peers", format!("role {}", m.role)))?,
        name: m.name,
        region: m.region,
        identity_keys: match m.identity_keys {
            Some(keys) => serde_json::from_value::<KeySet>(keys)
                .map_err(|e| corrupt("peers", format!("identity keys: {e}")))?,
            None => KeySet::default(),
        },
        peer_key_sealed: m.peer_key_sealed,
        base_url: m.base_url,
        code_sealed: m.code_sealed,
        my_id: m.my_id,
        status: PeerStatus::parse(&m.status)
            .ok_or_else(|| corrupt("peers", format!("status {}", m.status)))?,
        created_at: m.created_at,
        enrolled_at: m.enrolled_at,
    })
}

fn peer_model(p: &Peer) -> Result<peer::ActiveModel> {
    let keys = if p.identity_keys == KeySet::default() {
        None
    } else {
        Some(serde_json::to_value(&p.identity_keys).map_err(|e| corrupt("peers", e.to_string()))?)
    };
    Ok(peer::ActiveModel {
        id: Set(p.id),
        role: Set(p.role.as_str().to_owned()),
        name: Set(p.name.clone()),
        region: Set(p.region.clone()),
        identity_keys: Set(keys),
        peer_key_sealed: Set(p.peer_key_sealed.clone()),
        base_url: Set(p.base_url.clone()),
        code_sealed: Set(p.code_sealed.clone()),
        my_id: Set(p.my_id),
        status: Set(p.status.as_str().to_owned()),
        created_at: Set(p.created_at),
        enrolled_at: Set(p.enrolled_at),
    })
}

/// Inserts a peer.
pub async fn insert_peer(conn: &impl ConnectionTrait, p: &Peer) -> Result<()> {
    peer_model(p)?.insert(conn).await?;
    Ok(())
}

/// Replaces a peer's row.
pub async fn update_peer(conn: &impl ConnectionTrait, p: &Peer) -> Result<()> {
    peer_model(p)?.update(conn).await?;
    Ok(())
}

/// Enrols an invited member, only if it is still invited with that code (one use).
pub async fn complete_enrolment(
    conn: &impl ConnectionTrait,
    p: &Peer,
    code_sealed: &str,
) -> Result<bool> {
    use peer::Column as C;
    let keys =
        serde_json::to_value(&p.identity_keys).map_err(|e| corrupt("peers", e.to_string()))?;
    let done = peer::Entity::update_many()
        .col_expr(C::IdentityKeys, Expr::val(keys))
        .col_expr(C::PeerKeySealed, Expr::val(p.peer_key_sealed.clone()))
        .col_expr(C::CodeSealed, Expr::val(Option::<String>::None))
        .col_expr(C::Status, Expr::val(PeerStatus::Active.as_str()))
        .col_expr(C::EnrolledAt, Expr::val(p.enrolled_at))
        .filter(C::Id.eq(p.id))
        .filter(C::Status.eq(PeerStatus::Invited.as_str()))
        .filter(C::CodeSealed.eq(code_sealed))
        .exec(conn)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Replaces an active peer's pinned keys; whether it was (a suspended or removed peer
/// keeps what it had).
pub async fn set_identity_keys(
    conn: &impl ConnectionTrait,
    id: Uuid,
    keys: &KeySet,
) -> Result<bool> {
    use peer::Column as C;
    let keys = serde_json::to_value(keys).map_err(|e| corrupt("peers", e.to_string()))?;
    let done = peer::Entity::update_many()
        .col_expr(C::IdentityKeys, Expr::val(keys))
        .filter(C::Id.eq(id))
        .filter(C::Status.eq(PeerStatus::Active.as_str()))
        .exec(conn)
        .await?;
    Ok(done.rows_affected == 1)
}

/// A peer by id.
pub async fn peer(conn: &impl ConnectionTrait, id: Uuid) -> Result<Option<Peer>> {
    peer::Entity::find_by_id(id)
        .one(conn)
        .await?
        .map(peer_of)
        .transpose()
}

/// Peers of one role, by name.
pub async fn peers(conn: &impl ConnectionTrait, role: PeerRole) -> Result<Vec<Peer>> {
    peer::Entity::find()
        .filter(peer::Column::Role.eq(role.as_str()))
        .order_by_asc(peer::Column::Name)
        .all(conn)
        .await?
        .into_iter()
        .map(peer_of)
        .collect()
}

/// Removes a peer (its installed collections go with it; the titles stay).
pub async fn delete_peer(conn: &impl ConnectionTrait, id: Uuid) -> Result<bool> {
    Ok(peer::Entity::delete_by_id(id)
        .exec(conn)
        .await?
        .rows_affected
        == 1)
}

// ---------------------------------------------------------------------------------------
// Collections (hub)

fn rights_of(copies: Option<i32>) -> CollectionRights {
    match copies.and_then(|n| u32::try_from(n).ok()) {
        Some(n) => CollectionRights::CopiesPerMember(n),
        None => CollectionRights::Unlimited,
    }
}

fn copies_of(rights: CollectionRights) -> Option<i32> {
    match rights {
        CollectionRights::CopiesPerMember(n) => Some(i32::try_from(n).unwrap_or(i32::MAX)),
        CollectionRights::Unlimited => None,
    }
}

fn collection_of(m: collection::Model) -> Result<Collection> {
    Ok(Collection {
        id: m.id,
        slug: CollectionSlug::parse(&m.slug)
            .map_err(|_| corrupt("collections", format!("slug {:?}", m.slug)))?,
        name: m.name,
        rights: rights_of(m.rights_copies),
        created_at: m.created_at,
    })
}

/// Inserts a collection.
pub async fn insert_collection(conn: &impl ConnectionTrait, c: &Collection) -> Result<()> {
    collection::ActiveModel {
        id: Set(c.id),
        slug: Set(c.slug.as_str().to_owned()),
        name: Set(c.name.clone()),
        rights_copies: Set(copies_of(c.rights)),
        created_at: Set(c.created_at),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// A collection by slug.
pub async fn collection(conn: &impl ConnectionTrait, slug: &str) -> Result<Option<Collection>> {
    collection::Entity::find()
        .filter(collection::Column::Slug.eq(slug))
        .one(conn)
        .await?
        .map(collection_of)
        .transpose()
}

/// Every collection, by slug.
pub async fn collections(conn: &impl ConnectionTrait) -> Result<Vec<Collection>> {
    collection::Entity::find()
        .order_by_asc(collection::Column::Slug)
        .all(conn)
        .await?
        .into_iter()
        .map(collection_of)
        .collect()
}

/// Replaces a collection's titles.
pub async fn set_collection_titles(
    conn: &impl ConnectionTrait,
    collection: Uuid,
    titles: &[TitleId],
) -> Result<()> {
    collection_title::Entity::delete_many()
        .filter(collection_title::Column::CollectionId.eq(collection))
        .exec(conn)
        .await?;
    if titles.is_empty() {
        return Ok(());
    }
    let unique: HashSet<Uuid> = titles.iter().map(|t| t.0).collect();
    collection_title::Entity::insert_many(unique.into_iter().map(|title| {
        collection_title::ActiveModel {
            collection_id: Set(collection),
            title_id: Set(title),
        }
    }))
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// A collection's titles.
pub async fn collection_titles(
    conn: &impl ConnectionTrait,
    collection: Uuid,
) -> Result<Vec<TitleId>> {
    Ok(collection_title::Entity::find()
        .filter(collection_title::Column::CollectionId.eq(collection))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| TitleId(m.title_id))
        .collect())
}

/// Every (collection id, title id) pair.
pub async fn all_collection_titles(conn: &impl ConnectionTrait) -> Result<Vec<(Uuid, Uuid)>> {
    Ok(collection_title::Entity::find()
        .all(conn)
        .await?
        .into_iter()
        .map(|m| (m.collection_id, m.title_id))
        .collect())
}

/// A published version, as stored.
#[derive(Debug, Clone)]
pub struct StoredVersion {
    /// Version number.
    pub version: u32,
    /// The unsigned manifest (JSON).
    pub manifest: String,
    /// Bytes of all objects.
    pub total_size: u64,
    /// Titles in it.
    pub titles: u32,
    /// Published.
    pub created_at: DateTime<Utc>,
}

fn version_of(m: collection_version::Model) -> StoredVersion {
    StoredVersion {
        version: u32::try_from(m.version).unwrap_or(0),
        manifest: m.manifest,
        total_size: count(m.total_size),
        titles: u32::try_from(m.titles).unwrap_or(0),
        created_at: m.created_at,
    }
}

/// Records a published version (the primary key refuses a second one with the number).
pub async fn insert_version(
    conn: &impl ConnectionTrait,
    collection: Uuid,
    v: &StoredVersion,
) -> Result<()> {
    collection_version::ActiveModel {
        collection_id: Set(collection),
        version: Set(i32::try_from(v.version).unwrap_or(i32::MAX)),
        manifest: Set(v.manifest.clone()),
        total_size: Set(signed(v.total_size)),
        titles: Set(i32::try_from(v.titles).unwrap_or(i32::MAX)),
        created_at: Set(v.created_at),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// A collection's versions, newest first.
pub async fn versions(conn: &impl ConnectionTrait, collection: Uuid) -> Result<Vec<StoredVersion>> {
    Ok(collection_version::Entity::find()
        .filter(collection_version::Column::CollectionId.eq(collection))
        .order_by_desc(collection_version::Column::Version)
        .all(conn)
        .await?
        .into_iter()
        .map(version_of)
        .collect())
}

/// A collection's newest version.
pub async fn latest_version(
    conn: &impl ConnectionTrait,
    collection: Uuid,
) -> Result<Option<StoredVersion>> {
    Ok(collection_version::Entity::find()
        .filter(collection_version::Column::CollectionId.eq(collection))
        .order_by_desc(collection_version::Column::Version)
        .one(conn)
        .await?
        .map(version_of))
}

/// Records where the hub keeps an object (idempotent).
pub async fn put_hub_object(
    conn: &impl ConnectionTrait,
    sha256: &str,
    blob_key: &str,
    size: u64,
) -> Result<()> {
    hub_object::Entity::insert(hub_object::ActiveModel {
        sha256: Set(sha256.to_owned()),
        blob_key: Set(blob_key.to_owned()),
        size: Set(signed(size)),
    })
    .on_conflict_do_nothing_on([hub_object::Column::Sha256])
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Where the hub keeps an object, and its size.
pub async fn hub_object(
    conn: &impl ConnectionTrait,
    sha256: &str,
) -> Result<Option<(String, u64)>> {
    Ok(hub_object::Entity::find_by_id(sha256.to_owned())
        .one(conn)
        .await?
        .map(|m| (m.blob_key, count(m.size))))
}

// ---------------------------------------------------------------------------------------
// Installed collections (member)

/// A collection installed from a hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// The hub.
    pub hub_id: Uuid,
    /// Its short name.
    pub slug: String,
    /// Its display name.
    pub name: String,
    /// The version in place.
    pub version: u32,
    /// What it grants.
    pub rights: CollectionRights,
    /// Bytes.
    pub total_size: u64,
    /// When this version was published here.
    pub installed_at: DateTime<Utc>,
}

fn installed_of(m: installed_collection::Model) -> Installed {
    Installed {
        hub_id: m.hub_id,
        slug: m.slug,
        name: m.name,
        version: u32::try_from(m.version).unwrap_or(0),
        rights: rights_of(m.rights_copies),
        total_size: count(m.total_size),
        installed_at: m.installed_at,
    }
}

/// The installed version of a collection.
pub async fn installed(
    conn: &impl ConnectionTrait,
    hub_id: Uuid,
    slug: &str,
) -> Result<Option<Installed>> {
    Ok(
        installed_collection::Entity::find_by_id((hub_id, slug.to_owned()))
            .one(conn)
            .await?
            .map(installed_of),
    )
}

/// Every installed collection.
pub async fn installed_all(conn: &impl ConnectionTrait) -> Result<Vec<Installed>> {
    Ok(installed_collection::Entity::find()
        .order_by_asc(installed_collection::Column::Slug)
        .all(conn)
        .await?
        .into_iter()
        .map(installed_of)
        .collect())
}

/// Records a collection version as installed, with its titles.
pub async fn set_installed(
    conn: &impl ConnectionTrait,
    i: &Installed,
    titles: &[TitleId],
) -> Result<()> {
    installed_collection::Entity::delete_by_id((i.hub_id, i.slug.clone()))
        .exec(conn)
        .await?;
    installed_collection::ActiveModel {
        hub_id: Set(i.hub_id),
        slug: Set(i.slug.clone()),
        name: Set(i.name.clone()),
        version: Set(i32::try_from(i.version).unwrap_or(i32::MAX)),
        rights_copies: Set(copies_of(i.rights)),
        total_size: Set(signed(i.total_size)),
        installed_at: Set(i.installed_at),
    }
    .insert(conn)
    .await?;
    installed_title::Entity::delete_many()
        .filter(installed_title::Column::HubId.eq(i.hub_id))
        .filter(installed_title::Column::Slug.eq(i.slug.clone()))
        .exec(conn)
        .await?;
    if !titles.is_empty() {
        installed_title::Entity::insert_many(titles.iter().map(|t| installed_title::ActiveModel {
            hub_id: Set(i.hub_id),
            slug: Set(i.slug.clone()),
            title_id: Set(t.0),
        }))
        .exec_without_returning(conn)
        .await?;
    }
    Ok(())
}

/// The hub a title was first installed from (`None`: ingested here, or unknown).
pub async fn title_origin(conn: &impl ConnectionTrait, title: Uuid) -> Result<Option<Uuid>> {
    Ok(title_origin::Entity::find_by_id(title)
        .one(conn)
        .await?
        .map(|m| m.hub_id))
}

/// Records that `title` came from `hub_id` (once).
pub async fn set_title_origin(
    conn: &impl ConnectionTrait,
    title: Uuid,
    hub_id: Uuid,
) -> Result<()> {
    title_origin::Entity::insert(title_origin::ActiveModel {
        title_id: Set(title),
        hub_id: Set(hub_id),
    })
    .on_conflict_do_nothing_on([title_origin::Column::TitleId])
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Titles installed from `hub_id` (any collection).
pub async fn installed_titles(conn: &impl ConnectionTrait, hub_id: Uuid) -> Result<HashSet<Uuid>> {
    Ok(installed_title::Entity::find()
        .filter(installed_title::Column::HubId.eq(hub_id))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| m.title_id)
        .collect())
}

/// Which of `digests` are verified in this server's object store already.
pub async fn verified_objects(
    conn: &impl ConnectionTrait,
    digests: &[String],
) -> Result<HashSet<String>> {
    let mut found = HashSet::new();
    for batch in digests.chunks(500) {
        let rows = local_object::Entity::find()
            .filter(local_object::Column::Sha256.is_in(batch.iter().cloned()))
            .all(conn)
            .await?;
        found.extend(rows.into_iter().map(|m| m.sha256));
    }
    Ok(found)
}

/// Records an object as verified and stored (the import journal; idempotent).
pub async fn record_verified_object(
    conn: &impl ConnectionTrait,
    sha256: &str,
    size: u64,
    now: DateTime<Utc>,
) -> Result<()> {
    local_object::Entity::insert(local_object::ActiveModel {
        sha256: Set(sha256.to_owned()),
        size: Set(signed(size)),
        verified_at: Set(now),
    })
    .on_conflict_do_nothing_on([local_object::Column::Sha256])
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Forgets an object (it was found missing or damaged in the store).
pub async fn forget_object(conn: &impl ConnectionTrait, sha256: &str) -> Result<()> {
    local_object::Entity::delete_by_id(sha256.to_owned())
        .exec(conn)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Usage (member side)

/// Where a member's usage log stands for one hub: the last day rolled up and the
/// highest sequence number the hub acknowledged.
pub async fn usage_cursor(
    conn: &impl ConnectionTrait,
    hub_id: Uuid,
) -> Result<(Option<NaiveDate>, u64)> {
    let Some(row) = usage_cursor::Entity::find_by_id(hub_id).one(conn).await? else {
        return Ok((None, 0));
    };
    let day = row
        .rolled_through
        .map(|d| {
            NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                .map_err(|e| corrupt("usage_cursor", e.to_string()))
        })
        .transpose()?;
    Ok((day, count(row.acked)))
}

async fn save_cursor(
    conn: &impl ConnectionTrait,
    hub_id: Uuid,
    rolled_through: Option<NaiveDate>,
    acked: u64,
) -> Result<()> {
    usage_cursor::Entity::delete_by_id(hub_id)
        .exec(conn)
        .await?;
    usage_cursor::ActiveModel {
        hub_id: Set(hub_id),
        rolled_through: Set(rolled_through.map(|d| d.format("%Y-%m-%d").to_string())),
        acked: Set(signed(acked)),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Starts a hub's usage log on `first_day` unless it has started already: days from
/// then on are rolled up.
pub async fn start_usage_log(
    conn: &impl ConnectionTrait,
    hub_id: Uuid,
    first_day: NaiveDate,
) -> Result<()> {
    match usage_cursor(conn, hub_id).await? {
        (Some(_), _) => Ok(()),
        (None, acked) => save_cursor(conn, hub_id, first_day.pred_opt(), acked).await,
    }
}

/// Moves the cursor past `day` and appends its counts per title, unless another
/// replica has rolled that day up already (then `false`, nothing written).
pub async fn append_usage_day(
    conn: &impl ConnectionTrait,
    hub_id: Uuid,
    day: NaiveDate,
    counts: &[(Uuid, DayCounts)],
) -> Result<bool> {
    let text = day.format("%Y-%m-%d").to_string();
    // Claim the day first, by one conditional update: of two replicas rolling it up at
    // once, one moves the cursor and appends; the other changes nothing.
    let claimed = usage_cursor::Entity::update_many()
        .col_expr(usage_cursor::Column::RolledThrough, Expr::val(text.clone()))
        .filter(usage_cursor::Column::HubId.eq(hub_id))
        .filter(usage_cursor::Column::RolledThrough.lt(text.clone()))
        .exec(conn)
        .await?;
    if claimed.rows_affected != 1 {
        return Ok(false);
    }
    for (title, c) in counts {
        usage_log::ActiveModel {
            seq: NotSet,
            hub_id: Set(hub_id),
            title_id: Set(*title),
            day: Set(text.clone()),
            loans: Set(i32::try_from(c.loans).unwrap_or(i32::MAX)),
            renewals: Set(i32::try_from(c.renewals).unwrap_or(i32::MAX)),
            returns: Set(i32::try_from(c.returns).unwrap_or(i32::MAX)),
        }
        .insert(conn)
        .await?;
    }
    Ok(true)
}

/// Records the hub's acknowledgement (never moves it back).
pub async fn acknowledge_usage(
    conn: &impl ConnectionTrait,
    hub_id: Uuid,
    acked: u64,
) -> Result<()> {
    let (rolled, old) = usage_cursor(conn, hub_id).await?;
    if acked > old {
        save_cursor(conn, hub_id, rolled, acked).await?;
    }
    Ok(())
}

/// Usage entries for `hub_id` after sequence number `after`, oldest first.
pub async fn usage_after(
    conn: &impl ConnectionTrait,
    hub_id: Uuid,
    after: u64,
    limit: u64,
) -> Result<Vec<UsageEntry>> {
    usage_log::Entity::find()
        .filter(usage_log::Column::HubId.eq(hub_id))
        .filter(usage_log::Column::Seq.gt(signed(after)))
        .order_by_asc(usage_log::Column::Seq)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(|m| {
            Ok(UsageEntry {
                seq: count(m.seq),
                title_id: m.title_id,
                day: NaiveDate::parse_from_str(&m.day, "%Y-%m-%d")
                    .map_err(|e| corrupt("usage_log", e.to_string()))?,
                loans: u32::try_from(m.loans).unwrap_or(0),
                renewals: u32::try_from(m.renewals).unwrap_or(0),
                returns: u32::try_from(m.returns).unwrap_or(0),
            })
        })
        .collect()
}

/// One title's use on one day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayCounts {
    /// Loans begun.
    pub loans: u32,
    /// Renewals of the loans that ended.
    pub renewals: u32,
    /// Loans ended.
    pub returns: u32,
}

/// Counts of loans of `titles` begun and ended in `[from, to)`, per title (titles with
/// no use are left out).
pub async fn loan_counts(
    conn: &impl ConnectionTrait,
    titles: &HashSet<Uuid>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(Uuid, DayCounts)>> {
    let mut counts: HashMap<Uuid, DayCounts> = HashMap::new();
    let ids: Vec<Uuid> = titles.iter().copied().collect();
    for batch in ids.chunks(500) {
        let started = loan::Entity::find()
            .filter(loan::Column::TitleId.is_in(batch.iter().copied()))
            .filter(loan::Column::StartedAt.gte(from))
            .filter(loan::Column::StartedAt.lt(to))
            .all(conn)
            .await?;
        for l in started {
            counts.entry(l.title_id).or_default().loans += 1;
        }
        let ended = loan::Entity::find()
            .filter(loan::Column::TitleId.is_in(batch.iter().copied()))
            .filter(loan::Column::EndedAt.gte(from))
            .filter(loan::Column::EndedAt.lt(to))
            .all(conn)
            .await?;
        for l in ended {
            let c = counts.entry(l.title_id).or_default();
            c.returns += 1;
            c.renewals += u32::try_from(l.renewals).unwrap_or(0);
        }
    }
    let mut out: Vec<_> = counts.into_iter().collect();
    out.sort_by_key(|(title, _)| *title);
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Usage (hub side)

/// Stores entries a member sent (entries already held are ignored) and returns the
/// highest sequence number now held from that member.
pub async fn store_member_usage(
    conn: &impl ConnectionTrait,
    member: Uuid,
    entries: &[UsageEntry],
) -> Result<u64> {
    for batch in entries.chunks(200) {
        if batch.is_empty() {
            continue;
        }
        hub_usage::Entity::insert_many(batch.iter().map(|e| hub_usage::ActiveModel {
            member_id: Set(member),
            seq: Set(signed(e.seq)),
            title_id: Set(e.title_id),
            day: Set(e.day.format("%Y-%m-%d").to_string()),
            loans: Set(i32::try_from(e.loans).unwrap_or(i32::MAX)),
            renewals: Set(i32::try_from(e.renewals).unwrap_or(i32::MAX)),
            returns: Set(i32::try_from(e.returns).unwrap_or(i32::MAX)),
        }))
        .on_conflict_do_nothing_on([hub_usage::Column::MemberId, hub_usage::Column::Seq])
        .exec_without_returning(conn)
        .await?;
    }
    member_usage_high_water(conn, member).await
}

/// The highest usage sequence number held from `member` (0 for none).
pub async fn member_usage_high_water(conn: &impl ConnectionTrait, member: Uuid) -> Result<u64> {
    let top = hub_usage::Entity::find()
        .filter(hub_usage::Column::MemberId.eq(member))
        .order_by_desc(hub_usage::Column::Seq)
        .one(conn)
        .await?;
    Ok(top.map(|m| count(m.seq)).unwrap_or(0))
}

/// One usage row members sent: (member, title, day, loans, renewals, returns).
pub type UsageRow = (Uuid, Uuid, String, u64, u64, u64);

/// Every usage row with `day` in `[from, to]` (ISO dates compare as text).
pub async fn member_usage(
    conn: &impl ConnectionTrait,
    from: &str,
    to: &str,
) -> Result<Vec<UsageRow>> {
    Ok(hub_usage::Entity::find()
        .filter(hub_usage::Column::Day.gte(from))
        .filter(hub_usage::Column::Day.lte(to))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| {
            (
                m.member_id,
                m.title_id,
                m.day,
                count(m.loans.into()),
                count(m.renewals.into()),
                count(m.returns.into()),
            )
        })
        .collect())
}
