//! `titles`: the catalogue.
#![allow(missing_docs)]

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "titles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub identifier: String,
    pub content_hash: String,
    pub version: i32,
    pub title: String,
    pub subtitle: Option<String>,
    pub sort_title: String,
    pub authors: Json,
    pub language: Option<String>,
    pub publisher: Option<String>,
    pub published: Option<String>,
    pub subjects: Json,
    pub description: Option<String>,
    pub identifiers: Json,
    pub layout: String,
    pub page_progression: Option<String>,
    pub source_size: i64,
    pub package_key: String,
    pub package_size: i64,
    pub package_sha256: String,
    pub content_key_sealed: String,
    pub cover_key: Option<String>,
    pub cover_media_type: Option<String>,
    pub thumbnail_key: Option<String>,
    pub suppressed: bool,
    pub kind: String,
    pub duration_ms: Option<i64>,
    pub items: Option<i32>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
