//! Reading positions: the latest write wins.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use super::Result;
use super::entity::reading_position;
use crate::domain::{PatronId, TitleId};

/// A saved position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The title.
    pub title_id: TitleId,
    /// The Readium locator (JSON text).
    pub locator: String,
    /// The device that saved it.
    pub device_id: Option<Uuid>,
    /// When it was saved.
    pub updated_at: DateTime<Utc>,
}

fn position(m: reading_position::Model) -> Position {
    Position {
        title_id: TitleId(m.title_id),
        locator: m.locator,
        device_id: m.device_id,
        updated_at: m.updated_at,
    }
}

/// Saves (or replaces) the reader's position in a title.
pub async fn save(conn: &impl ConnectionTrait, patron: PatronId, saved: &Position) -> Result<()> {
    reading_position::Entity::insert(reading_position::ActiveModel {
        patron_id: Set(patron.0),
        title_id: Set(saved.title_id.0),
        locator: Set(saved.locator.clone()),
        device_id: Set(saved.device_id),
        updated_at: Set(saved.updated_at),
    })
    .on_conflict(
        OnConflict::columns([
            reading_position::Column::PatronId,
            reading_position::Column::TitleId,
        ])
        .update_columns([
            reading_position::Column::Locator,
            reading_position::Column::DeviceId,
            reading_position::Column::UpdatedAt,
        ])
        .to_owned(),
    )
    .exec(conn)
    .await?;
    Ok(())
}

/// The reader's position in a title.
pub async fn get(
    conn: &impl ConnectionTrait,
    patron: PatronId,
    title: TitleId,
) -> Result<Option<Position>> {
    Ok(reading_position::Entity::find_by_id((patron.0, title.0))
        .one(conn)
        .await?
        .map(position))
}

/// All the reader's positions, latest first.
pub async fn list(conn: &impl ConnectionTrait, patron: PatronId) -> Result<Vec<Position>> {
    Ok(reading_position::Entity::find()
        .filter(reading_position::Column::PatronId.eq(patron.0))
        .order_by_desc(reading_position::Column::UpdatedAt)
        .all(conn)
        .await?
        .into_iter()
        .map(position)
        .collect())
}
