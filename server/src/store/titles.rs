//! Titles and the catalogue change log.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::ExprTrait;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::entity::catalogue_change;
use super::entity::title::{self, Entity as Titles};
use super::{Result, StoreError};
use crate::domain::{Layout, MediaFacts, PublicationKind, Title, TitleId, TitleMetadata};

fn corrupt(reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        table: "titles",
        reason: reason.into(),
    }
}

fn json<T: serde::de::DeserializeOwned>(value: serde_json::Value, what: &str) -> Result<T> {
    serde_json::from_value(value).map_err(|e| corrupt(format!("{what}: {e}")))
}

fn to_domain(m: title::Model) -> Result<Title> {
    Ok(Title {
        id: TitleId(m.id),
        metadata: TitleMetadata {
            identifier: m.identifier,
            title: m.title,
            subtitle: m.subtitle,
            sort_title: m.sort_title,
            authors: json(m.authors, "authors")?,
            language: m.language,
            publisher: m.publisher,
            published: m.published,
            subjects: json(m.subjects, "subjects")?,
            description: m.description,
            identifiers: json(m.identifiers, "identifiers")?,
            layout: Layout::parse(&m.layout)
                .ok_or_else(|| corrupt(format!("layout {:?}", m.layout)))?,
            page_progression: m.page_progression,
        },
        version: m.version,
        content_hash: m.content_hash,
        source_size: u64::try_from(m.source_size).unwrap_or(0),
        package_key: m.package_key,
        package_size: u64::try_from(m.package_size).unwrap_or(0),
        package_sha256: m.package_sha256,
        content_key_sealed: m.content_key_sealed,
        cover: m.cover_key.zip(m.cover_media_type),
        thumbnail_key: m.thumbnail_key,
        media: MediaFacts {
            kind: PublicationKind::parse(&m.kind)
                .ok_or_else(|| corrupt(format!("kind {:?}", m.kind)))?,
            duration_ms: m.duration_ms.and_then(|d| u64::try_from(d).ok()),
            items: m.items.and_then(|n| u32::try_from(n).ok()),
        },
        suppressed: m.suppressed,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| corrupt(e.to_string()))
}

fn active(t: &Title) -> Result<title::ActiveModel> {
    let m = &t.metadata;
    Ok(title::ActiveModel {
        id: Set(t.id.0),
        identifier: Set(m.identifier.clone()),
        content_hash: Set(t.content_hash.clone()),
        version: Set(t.version),
        title: Set(m.title.clone()),
        subtitle: Set(m.subtitle.clone()),
        sort_title: Set(m.sort_title.clone()),
        authors: Set(to_json(&m.authors)?),
        language: Set(m.language.clone()),
        publisher: Set(m.publisher.clone()),
        published: Set(m.published.clone()),
        subjects: Set(to_json(&m.subjects)?),
        description: Set(m.description.clone()),
        identifiers: Set(to_json(&m.identifiers)?),
        layout: Set(m.layout.as_str().to_owned()),
        page_progression: Set(m.page_progression.clone()),
        source_size: Set(i64::try_from(t.source_size).unwrap_or(i64::MAX)),
        package_key: Set(t.package_key.clone()),
        package_size: Set(i64::try_from(t.package_size).unwrap_or(i64::MAX)),
        package_sha256: Set(t.package_sha256.clone()),
        content_key_sealed: Set(t.content_key_sealed.clone()),
        cover_key: Set(t.cover.as_ref().map(|(k, _)| k.clone())),
        cover_media_type: Set(t.cover.as_ref().map(|(_, m)| m.clone())),
        thumbnail_key: Set(t.thumbnail_key.clone()),
        kind: Set(t.media.kind.as_str().to_owned()),
        duration_ms: Set(t
            .media
            .duration_ms
            .map(|d| i64::try_from(d).unwrap_or(i64::MAX))),
        items: Set(t.media.items.map(|n| i32::try_from(n).unwrap_or(i32::MAX))),
        suppressed: Set(t.suppressed),
        created_at: Set(t.created_at),
        updated_at: Set(t.updated_at),
    })
}

async fn log_change(conn: &impl ConnectionTrait, id: TitleId, at: DateTime<Utc>) -> Result<()> {
    catalogue_change::ActiveModel {
        seq: sea_orm::ActiveValue::NotSet,
        title_id: Set(id.0),
        at: Set(at),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Inserts a new title (and logs the change).
pub async fn insert(conn: &impl ConnectionTrait, title: &Title) -> Result<()> {
    active(title)?.insert(conn).await?;
    log_change(conn, title.id, title.updated_at).await
}

/// Replaces a title's row (and logs the change).
pub async fn update(conn: &impl ConnectionTrait, title: &Title) -> Result<()> {
    active(title)?.update(conn).await?;
    log_change(conn, title.id, title.updated_at).await
}

/// One title (suppressed ones too: callers decide who may see them).
pub async fn get(conn: &impl ConnectionTrait, id: TitleId) -> Result<Option<Title>> {
    Titles::find_by_id(id.0)
        .one(conn)
        .await?
        .map(to_domain)
        .transpose()
}

/// The title with this EPUB unique identifier.
pub async fn get_by_identifier(
    conn: &impl ConnectionTrait,
    identifier: &str,
) -> Result<Option<Title>> {
    Titles::find()
        .filter(title::Column::Identifier.eq(identifier))
        .one(conn)
        .await?
        .map(to_domain)
        .transpose()
}

/// Several titles by id, in the order given (missing ones skipped).
pub async fn get_many(conn: &impl ConnectionTrait, ids: &[TitleId]) -> Result<Vec<Title>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = Titles::find()
        .filter(title::Column::Id.is_in(ids.iter().map(|i| i.0)))
        .all(conn)
        .await?;
    let mut by_id: std::collections::HashMap<Uuid, title::Model> =
        rows.into_iter().map(|m| (m.id, m)).collect();
    ids.iter()
        .filter_map(|id| by_id.remove(&id.0))
        .map(to_domain)
        .collect()
}

/// Newest first, keyset-paged: titles created before `before` (or from the newest).
pub async fn newest(
    conn: &impl ConnectionTrait,
    include_suppressed: bool,
    before: Option<(DateTime<Utc>, TitleId)>,
    limit: u64,
) -> Result<Vec<Title>> {
    let mut select = Titles::find();
    if !include_suppressed {
        select = select.filter(title::Column::Suppressed.eq(false));
    }
    if let Some((at, id)) = before {
        select = select.filter(
            sea_orm::Condition::any()
                .add(title::Column::CreatedAt.lt(at))
                .add(
                    title::Column::CreatedAt
                        .eq(at)
                        .and(title::Column::Id.lt(id.0)),
                ),
        );
    }
    select
        .order_by_desc(title::Column::CreatedAt)
        .order_by_desc(title::Column::Id)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(to_domain)
        .collect()
}

/// Every title id (for rebuilding the search index), in batches after `after`.
pub async fn ids_after(
    conn: &impl ConnectionTrait,
    after: Option<TitleId>,
    limit: u64,
) -> Result<Vec<TitleId>> {
    let mut select = Titles::find().select_only().column(title::Column::Id);
    if let Some(after) = after {
        select = select.filter(title::Column::Id.gt(after.0));
    }
    Ok(select
        .order_by_asc(title::Column::Id)
        .limit(limit)
        .into_tuple::<Uuid>()
        .all(conn)
        .await?
        .into_iter()
        .map(TitleId)
        .collect())
}

/// Every object key a title refers to (packages, covers, thumbnails).
pub async fn referenced_keys(
    conn: &impl ConnectionTrait,
) -> Result<std::collections::HashSet<String>> {
    let rows: Vec<(String, Option<String>, Option<String>)> = Titles::find()
        .select_only()
        .column(title::Column::PackageKey)
        .column(title::Column::CoverKey)
        .column(title::Column::ThumbnailKey)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .flat_map(|(p, c, t)| std::iter::once(p).chain(c).chain(t))
        .collect())
}

/// Changes after `seq`, oldest first: `(seq, title)`.
pub async fn changes_after(
    conn: &impl ConnectionTrait,
    seq: i64,
    limit: u64,
) -> Result<Vec<(i64, TitleId)>> {
    Ok(catalogue_change::Entity::find()
        .filter(catalogue_change::Column::Seq.gt(seq))
        .order_by_asc(catalogue_change::Column::Seq)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(|c| (c.seq, TitleId(c.title_id)))
        .collect())
}

/// The newest change's sequence number (0 if none).
pub async fn last_change(conn: &impl ConnectionTrait) -> Result<i64> {
    Ok(catalogue_change::Entity::find()
        .order_by_desc(catalogue_change::Column::Seq)
        .one(conn)
        .await?
        .map_or(0, |c| c.seq))
}

/// One ingested version of a title, as the audit trail recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRecord {
    /// The ingest version (1 for the first file).
    pub version: i32,
    /// When that file was catalogued.
    pub at: DateTime<Utc>,
}

/// The versions of a title, oldest first: the `title.ingest` and `title.new_version`
/// entries ingest writes to the audit trail (an entry without a version number is
/// skipped).
pub async fn versions(conn: &impl ConnectionTrait, id: TitleId) -> Result<Vec<VersionRecord>> {
    use super::entity::audit_event;
    Ok(audit_event::Entity::find()
        .filter(audit_event::Column::TargetKind.eq("title"))
        .filter(audit_event::Column::TargetId.eq(id.0))
        .filter(audit_event::Column::Action.is_in(["title.ingest", "title.new_version"]))
        .order_by_asc(audit_event::Column::At)
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|event| {
            let version = event.detail.as_ref()?.get("version")?.as_i64()?;
            Some(VersionRecord {
                version: i32::try_from(version).ok()?,
                at: event.at,
            })
        })
        .collect())
}

/// Suppressed titles (the search index leaves them out), by sort title, at most
/// `limit`.
pub async fn suppressed(conn: &impl ConnectionTrait, limit: u64) -> Result<Vec<Title>> {
    Titles::find()
        .filter(title::Column::Suppressed.eq(true))
        .order_by_asc(title::Column::SortTitle)
        .order_by_asc(title::Column::Id)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(to_domain)
        .collect()
}
