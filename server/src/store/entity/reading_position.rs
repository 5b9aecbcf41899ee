//! `reading_positions`: one per reader and title.
#![allow(missing_docs)]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reading_positions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub patron_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub title_id: Uuid,
    pub locator: String,
    pub device_id: Option<Uuid>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
