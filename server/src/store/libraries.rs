//! Libraries.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder,
};

use super::Result;
use super::entity::library::{self, Entity as Libraries};
use crate::domain::{Library, LibraryCode, LibraryId, LibraryName, NewLibrary, Region};

fn to_domain(model: library::Model) -> Library {
    Library {
        id: LibraryId(model.id),
        code: model.code,
        name: model.name,
        region: model.region,
        created_at: model.created_at,
    }
}

/// Creates a library. A duplicate code is [`StoreError::Duplicate`](super::StoreError).
pub async fn insert(
    conn: &impl ConnectionTrait,
    new: &NewLibrary,
    now: DateTime<Utc>,
) -> Result<Library> {
    let model = library::ActiveModel {
        id: Set(LibraryId::new().0),
        code: Set(new.code.as_str().to_owned()),
        name: Set(new.name.as_str().to_owned()),
        region: Set(new.region.as_ref().map(|r| r.as_str().to_owned())),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(to_domain(model))
}

/// Every library, by code.
pub async fn list(conn: &impl ConnectionTrait) -> Result<Vec<Library>> {
    let rows = Libraries::find()
        .order_by_asc(library::Column::Code)
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(to_domain).collect())
}

/// One library by id.
pub async fn get(conn: &impl ConnectionTrait, id: LibraryId) -> Result<Option<Library>> {
    Ok(Libraries::find_by_id(id.0).one(conn).await?.map(to_domain))
}

/// One library by its login code.
pub async fn get_by_code(
    conn: &impl ConnectionTrait,
    code: &LibraryCode,
) -> Result<Option<Library>> {
    let row = Libraries::find()
        .filter(library::Column::Code.eq(code.as_str()))
        .one(conn)
        .await?;
    Ok(row.map(to_domain))
}

/// Changes a library's name and/or region (`Some(None)` clears the region).
pub async fn update(
    conn: &impl ConnectionTrait,
    id: LibraryId,
    name: Option<&LibraryName>,
    region: Option<Option<&Region>>,
    now: DateTime<Utc>,
) -> Result<Option<Library>> {
    let Some(existing) = Libraries::find_by_id(id.0).one(conn).await? else {
        return Ok(None);
    };
    let mut model: library::ActiveModel = existing.into();
    if let Some(name) = name {
        model.name = Set(name.as_str().to_owned());
    }
    if let Some(region) = region {
        model.region = Set(region.map(|r| r.as_str().to_owned()));
    }
    model.updated_at = Set(now);
    Ok(Some(to_domain(model.update(conn).await?)))
}
