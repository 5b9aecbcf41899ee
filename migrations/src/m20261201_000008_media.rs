//! Publications beyond EPUB: a title's kind (EPUB, page images, image collection,
//! audiobook, video), its total duration (audio, video) and how many items its reading
//! order has (pages, images, tracks, videos).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        manager
            .alter_table(
                Table::alter()
                    .table(Titles::Table)
                    .add_column(string(Titles::Kind).default("epub"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Titles::Table)
                    .add_column(big_integer_null(Titles::DurationMs))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Titles::Table)
                    .add_column(integer_null(Titles::Items))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_titles_kind")
                    .table(Titles::Table)
                    .col(Titles::Kind)
                    .to_owned(),
            )
            .await?;
        // A rules cell may be for one kind of publication (its loan length applies to
        // loans of that kind).
        manager
            .alter_table(
                Table::alter()
                    .table(LendingRules::Table)
                    .add_column(string_null(LendingRules::Kind))
                    .to_owned(),
            )
            .await?;
        // Every replica's search index follows the change log: one entry per title makes
        // each re-index its titles with their kind.
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO catalogue_changes (title_id, at) SELECT id, CURRENT_TIMESTAMP FROM titles",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_titles_kind")
                    .table(Titles::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(LendingRules::Table)
                    .drop_column(LendingRules::Kind)
                    .to_owned(),
            )
            .await?;
        for column in [Titles::Items, Titles::DurationMs, Titles::Kind] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Titles::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum LendingRules {
    Table,
    Kind,
}

#[derive(DeriveIden)]
enum Titles {
    Table,
    Kind,
    DurationMs,
    Items,
}
