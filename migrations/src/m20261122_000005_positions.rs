//! Reading positions: where each reader is in each book, shared by their devices.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ReadingPositions::Table)
                    .col(uuid(ReadingPositions::PatronId))
                    .col(uuid(ReadingPositions::TitleId))
                    .col(text(ReadingPositions::Locator))
                    .col(uuid_null(ReadingPositions::DeviceId))
                    .col(timestamp_with_time_zone(ReadingPositions::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(ReadingPositions::PatronId)
                            .col(ReadingPositions::TitleId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_reading_positions_patron")
                            .from(ReadingPositions::Table, ReadingPositions::PatronId)
                            .to(Patrons::Table, Patrons::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_reading_positions_title")
                            .from(ReadingPositions::Table, ReadingPositions::TitleId)
                            .to(Titles::Table, Titles::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .check((
                        "ck_reading_positions_size",
                        Expr::cust("length(locator) <= 8192"),
                    ))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ReadingPositions::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Patrons {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Titles {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ReadingPositions {
    Table,
    PatronId,
    TitleId,
    Locator,
    DeviceId,
    UpdatedAt,
}
