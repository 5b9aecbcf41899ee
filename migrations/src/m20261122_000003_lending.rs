//! Lending: rules, devices, licence lots, loans and the licences issued for them.
//!
//! The invariants are the database's as much as the code's: a lot's active loans never
//! exceed its copies (a check constraint, and borrowing is one conditional `UPDATE`),
//! and a patron has at most one active loan per title (a partial unique index).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LendingRules::Table)
                    .col(pk_uuid(LendingRules::Id))
                    // `<library id or *>:<category or *>`: one row per cell of the matrix.
                    .col(string_len_uniq(LendingRules::ScopeKey, 80))
                    .col(uuid_null(LendingRules::LibraryId))
                    .col(string_len_null(LendingRules::Category, 32))
                    .col(integer(LendingRules::LoanDaysDefault))
                    .col(integer(LendingRules::LoanDaysMax))
                    .col(integer(LendingRules::MaxLoans))
                    .col(integer(LendingRules::MaxHolds))
                    .col(integer(LendingRules::Renewals))
                    .col(integer(LendingRules::RenewalDays))
                    .col(integer(LendingRules::PickupHours))
                    .col(integer(LendingRules::MaxDevices))
                    .col(timestamp_with_time_zone(LendingRules::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_rules_library")
                            .from(LendingRules::Table, LendingRules::LibraryId)
                            .to(Libraries::Table, Libraries::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .check((
                        "ck_rules_values",
                        Expr::cust(
                            "loan_days_default >= 1 AND loan_days_max >= loan_days_default AND max_loans >= 0 \
                             AND max_holds >= 0 AND renewals >= 0 AND renewal_days >= 1 AND pickup_hours >= 1 \
                             AND max_devices >= 1",
                        ),
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Devices::Table)
                    .col(pk_uuid(Devices::Id))
                    .col(uuid(Devices::PatronId))
                    .col(string_len(Devices::Name, 200))
                    .col(text(Devices::KeySealed))
                    .col(timestamp_with_time_zone(Devices::EnrolledAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_devices_patron")
                            .from(Devices::Table, Devices::PatronId)
                            .to(Patrons::Table, Patrons::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_devices_patron")
                    .table(Devices::Table)
                    .col(Devices::PatronId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LicenceLots::Table)
                    .col(pk_uuid(LicenceLots::Id))
                    .col(uuid(LicenceLots::TitleId))
                    .col(uuid_null(LicenceLots::OwnerLibraryId))
                    .col(integer(LicenceLots::Copies))
                    .col(integer(LicenceLots::ActiveLoans).default(0))
                    .col(integer_null(LicenceLots::CheckoutsLeft))
                    .col(timestamp_with_time_zone_null(LicenceLots::ExpiresAt))
                    .col(string_len(LicenceLots::Status, 16))
                    .col(timestamp_with_time_zone(LicenceLots::CreatedAt))
                    .col(timestamp_with_time_zone(LicenceLots::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_lots_title")
                            .from(LicenceLots::Table, LicenceLots::TitleId)
                            .to(Titles::Table, Titles::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_lots_owner")
                            .from(LicenceLots::Table, LicenceLots::OwnerLibraryId)
                            .to(Libraries::Table, Libraries::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .check((
                        "ck_lots_copies",
                        Expr::cust("copies >= 0 AND active_loans >= 0 AND active_loans <= copies"),
                    ))
                    .check((
                        "ck_lots_checkouts",
                        Expr::cust("checkouts_left IS NULL OR checkouts_left >= 0"),
                    ))
                    .check((
                        "ck_lots_status",
                        Expr::cust("status IN ('active', 'suspended', 'retired')"),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_lots_title")
                    .table(LicenceLots::Table)
                    .col(LicenceLots::TitleId)
                    .to_owned(),
            )
            .await?;

        // Which other libraries may lend a lot (the owner always may; a shared-pool lot
        // with no rows here is lendable by every library).
        manager
            .create_table(
                Table::create()
                    .table(LotShares::Table)
                    .col(uuid(LotShares::LotId))
                    .col(uuid(LotShares::LibraryId))
                    .primary_key(
                        Index::create()
                            .col(LotShares::LotId)
                            .col(LotShares::LibraryId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_shares_lot")
                            .from(LotShares::Table, LotShares::LotId)
                            .to(LicenceLots::Table, LicenceLots::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_shares_library")
                            .from(LotShares::Table, LotShares::LibraryId)
                            .to(Libraries::Table, Libraries::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Loans::Table)
                    .col(pk_uuid(Loans::Id))
                    .col(uuid(Loans::PatronId))
                    .col(uuid(Loans::TitleId))
                    .col(uuid(Loans::LotId))
                    .col(uuid(Loans::LibraryId))
                    .col(uuid(Loans::RequestId))
                    .col(timestamp_with_time_zone(Loans::StartedAt))
                    .col(timestamp_with_time_zone(Loans::EndsAt))
                    .col(integer(Loans::Renewals).default(0))
                    .col(string_len(Loans::State, 16))
                    .col(timestamp_with_time_zone_null(Loans::EndedAt))
                    // Set when the reader was told the loan is about to end.
                    .col(timestamp_with_time_zone_null(Loans::EndingNotifiedAt))
                    .col(timestamp_with_time_zone(Loans::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_loans_patron")
                            .from(Loans::Table, Loans::PatronId)
                            .to(Patrons::Table, Patrons::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_loans_lot")
                            .from(Loans::Table, Loans::LotId)
                            .to(LicenceLots::Table, LicenceLots::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .check((
                        "ck_loans_state",
                        Expr::cust("state IN ('active', 'returned', 'expired', 'revoked')"),
                    ))
                    .check(("ck_loans_dates", Expr::cust("ends_at > started_at")))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_loans_request")
                    .table(Loans::Table)
                    .col(Loans::PatronId)
                    .col(Loans::RequestId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_loans_lot_state")
                    .table(Loans::Table)
                    .col(Loans::LotId)
                    .col(Loans::State)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_loans_state_ends")
                    .table(Loans::Table)
                    .col(Loans::State)
                    .col(Loans::EndsAt)
                    .to_owned(),
            )
            .await?;
        // One active loan per patron and title: a partial unique index (same SQL on
        // SQLite and PostgreSQL).
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_loans_one_active ON loans (patron_id, title_id) WHERE state = 'active'",
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Licences::Table)
                    .col(pk_uuid(Licences::Id))
                    .col(uuid(Licences::LoanId))
                    .col(uuid(Licences::DeviceId))
                    .col(timestamp_with_time_zone(Licences::IssuedAt))
                    .col(timestamp_with_time_zone(Licences::EndsAt))
                    .col(text(Licences::Token))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_licences_loan")
                            .from(Licences::Table, Licences::LoanId)
                            .to(Loans::Table, Loans::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_licences_loan_device")
                    .table(Licences::Table)
                    .col(Licences::LoanId)
                    .col(Licences::DeviceId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        // The consortium default: the cell every lookup falls back to. Ids are 16-byte
        // blobs on SQLite and `uuid` on PostgreSQL, as the drivers store them.
        let (id, at) = match manager.get_database_backend() {
            sea_orm::DatabaseBackend::Sqlite => (
                "X'00000000000000000000000000000000'",
                "'2026-11-22T00:00:00+00:00'",
            ),
            _ => (
                "'00000000-0000-0000-0000-000000000000'",
                "'2026-11-22T00:00:00+00:00'",
            ),
        };
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "INSERT INTO lending_rules (id, scope_key, library_id, category, loan_days_default, loan_days_max, \
                 max_loans, max_holds, renewals, renewal_days, pickup_hours, max_devices, updated_at) \
                 VALUES ({id}, '*:*', NULL, NULL, 14, 21, 10, 10, 2, 14, 72, 3, {at})"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Licences::Table.into_iden(),
            Loans::Table.into_iden(),
            LotShares::Table.into_iden(),
            LicenceLots::Table.into_iden(),
            Devices::Table.into_iden(),
            LendingRules::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Libraries {
    Table,
    Id,
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
enum LendingRules {
    Table,
    Id,
    ScopeKey,
    LibraryId,
    Category,
    LoanDaysDefault,
    LoanDaysMax,
    MaxLoans,
    MaxHolds,
    Renewals,
    RenewalDays,
    PickupHours,
    MaxDevices,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Devices {
    Table,
    Id,
    PatronId,
    Name,
    KeySealed,
    EnrolledAt,
}

#[derive(DeriveIden)]
enum LicenceLots {
    Table,
    Id,
    TitleId,
    OwnerLibraryId,
    Copies,
    ActiveLoans,
    CheckoutsLeft,
    ExpiresAt,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum LotShares {
    Table,
    LotId,
    LibraryId,
}

#[derive(DeriveIden)]
enum Loans {
    Table,
    Id,
    PatronId,
    TitleId,
    LotId,
    LibraryId,
    RequestId,
    StartedAt,
    EndsAt,
    Renewals,
    State,
    EndedAt,
    EndingNotifiedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Licences {
    Table,
    Id,
    LoanId,
    DeviceId,
    IssuedAt,
    EndsAt,
    Token,
}
