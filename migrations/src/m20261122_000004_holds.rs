//! Holds (one FIFO queue per title) and the patron notification outbox.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Holds::Table)
                    .col(pk_uuid(Holds::Id))
                    .col(uuid(Holds::PatronId))
                    .col(uuid(Holds::TitleId))
                    .col(uuid(Holds::LibraryId))
                    .col(timestamp_with_time_zone(Holds::PlacedAt))
                    .col(string_len(Holds::State, 16))
                    .col(timestamp_with_time_zone_null(Holds::SuspendedUntil))
                    .col(boolean(Holds::AutoBorrow).default(false))
                    .col(uuid_null(Holds::LotId))
                    .col(timestamp_with_time_zone_null(Holds::ReadyAt))
                    .col(timestamp_with_time_zone_null(Holds::PickupDeadline))
                    .col(timestamp_with_time_zone(Holds::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_holds_patron")
                            .from(Holds::Table, Holds::PatronId)
                            .to(Patrons::Table, Patrons::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .check((
                        "ck_holds_state",
                        Expr::cust("state IN ('waiting', 'ready', 'fulfilled', 'expired', 'cancelled')"),
                    ))
                    .check((
                        "ck_holds_ready",
                        Expr::cust("state <> 'ready' OR (lot_id IS NOT NULL AND pickup_deadline IS NOT NULL)"),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_holds_queue")
                    .table(Holds::Table)
                    .col(Holds::TitleId)
                    .col(Holds::State)
                    .col(Holds::PlacedAt)
                    .to_owned(),
            )
            .await?;
        // One open hold per reader and title.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_holds_one_open ON holds (patron_id, title_id) WHERE state IN ('waiting', 'ready')",
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(pk_uuid(Notifications::Id))
                    .col(uuid(Notifications::PatronId))
                    .col(string_len(Notifications::Kind, 32))
                    .col(json(Notifications::Payload))
                    .col(timestamp_with_time_zone(Notifications::CreatedAt))
                    // Webhook delivery: `none` (no webhook configured), `pending`,
                    // `delivered` or `failed` (gave up after the last retry).
                    .col(string_len(Notifications::Delivery, 16).default("none"))
                    .col(integer(Notifications::Attempts).default(0))
                    .col(timestamp_with_time_zone_null(Notifications::NextAttemptAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_notifications_patron")
                            .from(Notifications::Table, Notifications::PatronId)
                            .to(Patrons::Table, Patrons::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_notifications_delivery")
                    .table(Notifications::Table)
                    .col(Notifications::Delivery)
                    .col(Notifications::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_notifications_patron")
                    .table(Notifications::Table)
                    .col(Notifications::PatronId)
                    .col(Notifications::Id)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Notifications::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Holds::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Patrons {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Holds {
    Table,
    Id,
    PatronId,
    TitleId,
    LibraryId,
    PlacedAt,
    State,
    SuspendedUntil,
    AutoBorrow,
    LotId,
    ReadyAt,
    PickupDeadline,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    PatronId,
    Kind,
    Payload,
    CreatedAt,
    Delivery,
    Attempts,
    NextAttemptAt,
}
