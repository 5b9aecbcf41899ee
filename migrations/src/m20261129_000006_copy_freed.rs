//! "A copy of title T was freed": an event the freeing transaction records (a return,
//! an expiry, a revocation, a lapsed or cancelled ready hold, new or resumed copies),
//! drained by the holds queue after commit, or by the periodic job if the process died
//! between the two. Promotion is never lost.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CopyFreed::Table)
                    .col(big_pk_auto(CopyFreed::Id))
                    .col(uuid(CopyFreed::TitleId))
                    .col(timestamp_with_time_zone(CopyFreed::At))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_copy_freed_title")
                            .from(CopyFreed::Table, CopyFreed::TitleId)
                            .to(Titles::Table, Titles::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_copy_freed_title")
                    .table(CopyFreed::Table)
                    .col(CopyFreed::TitleId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CopyFreed::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Titles {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum CopyFreed {
    Table,
    Id,
    TitleId,
    At,
}
