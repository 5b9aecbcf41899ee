//! The catalogue: titles with their metadata, encrypted package and sealed content key,
//! and a change log that keeps each replica's search index in step.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Titles::Table)
                    .col(pk_uuid(Titles::Id))
                    .col(string_len_uniq(Titles::Identifier, 512))
                    .col(string_len(Titles::ContentHash, 64))
                    .col(integer(Titles::Version).default(1))
                    .col(text(Titles::Title))
                    .col(text_null(Titles::Subtitle))
                    .col(text(Titles::SortTitle))
                    .col(json(Titles::Authors))
                    .col(string_len_null(Titles::Language, 35))
                    .col(text_null(Titles::Publisher))
                    .col(string_len_null(Titles::Published, 32))
                    .col(json(Titles::Subjects))
                    .col(text_null(Titles::Description))
                    .col(json(Titles::Identifiers))
                    .col(string_len(Titles::Layout, 16))
                    .col(string_len_null(Titles::PageProgression, 8))
                    .col(big_integer(Titles::SourceSize))
                    .col(string_len(Titles::PackageKey, 512))
                    .col(big_integer(Titles::PackageSize))
                    .col(string_len(Titles::PackageSha256, 64))
                    .col(text(Titles::ContentKeySealed))
                    .col(string_len_null(Titles::CoverKey, 512))
                    .col(string_len_null(Titles::CoverMediaType, 64))
                    .col(string_len_null(Titles::ThumbnailKey, 512))
                    .col(boolean(Titles::Suppressed).default(false))
                    .col(timestamp_with_time_zone(Titles::CreatedAt))
                    .col(timestamp_with_time_zone(Titles::UpdatedAt))
                    .check((
                        "ck_titles_layout",
                        Expr::cust("layout IN ('reflowable', 'fixed')"),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_titles_created")
                    .table(Titles::Table)
                    .col(Titles::CreatedAt)
                    .to_owned(),
            )
            .await?;

        // Every change to a title's searchable fields, in order. Each server replica keeps
        // its own search index and applies the log from the last sequence it has seen.
        manager
            .create_table(
                Table::create()
                    .table(CatalogueChanges::Table)
                    .col(big_pk_auto(CatalogueChanges::Seq))
                    .col(uuid(CatalogueChanges::TitleId))
                    .col(timestamp_with_time_zone(CatalogueChanges::At))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CatalogueChanges::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Titles::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Titles {
    Table,
    Id,
    Identifier,
    ContentHash,
    Version,
    Title,
    Subtitle,
    SortTitle,
    Authors,
    Language,
    Publisher,
    Published,
    Subjects,
    Description,
    Identifiers,
    Layout,
    PageProgression,
    SourceSize,
    PackageKey,
    PackageSize,
    PackageSha256,
    ContentKeySealed,
    CoverKey,
    CoverMediaType,
    ThumbnailKey,
    Suppressed,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CatalogueChanges {
    Table,
    Seq,
    TitleId,
    At,
}
