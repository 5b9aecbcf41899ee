//! Libraries, staff, patrons, login sessions and the audit trail.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Libraries::Table)
                    .col(pk_uuid(Libraries::Id))
                    .col(string_len_uniq(Libraries::Code, 32))
                    .col(string_len(Libraries::Name, 200))
                    .col(string_len_null(Libraries::Region, 200))
                    .col(timestamp_with_time_zone(Libraries::CreatedAt))
                    .col(timestamp_with_time_zone(Libraries::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Staff::Table)
                    .col(pk_uuid(Staff::Id))
                    .col(uuid_null(Staff::LibraryId))
                    .col(string_len_uniq(Staff::Username, 64))
                    .col(string_len(Staff::DisplayName, 200))
                    .col(string_len(Staff::Role, 32))
                    .col(text(Staff::PasswordHash))
                    .col(boolean(Staff::Active))
                    .col(integer(Staff::FailedLogins).default(0))
                    .col(timestamp_with_time_zone_null(Staff::LockedUntil))
                    .col(timestamp_with_time_zone(Staff::CreatedAt))
                    .col(timestamp_with_time_zone(Staff::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_staff_library")
                            .from(Staff::Table, Staff::LibraryId)
                            .to(Libraries::Table, Libraries::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .check((
                        "ck_staff_role",
                        Expr::cust("role IN ('consortium_admin', 'library_manager', 'librarian')"),
                    ))
                    .check((
                        "ck_staff_scope",
                        Expr::cust("role = 'consortium_admin' OR library_id IS NOT NULL"),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_staff_library")
                    .table(Staff::Table)
                    .col(Staff::LibraryId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Patrons::Table)
                    .col(pk_uuid(Patrons::Id))
                    .col(uuid(Patrons::LibraryId))
                    .col(string_len(Patrons::CardNumber, 64))
                    .col(string_len(Patrons::DisplayName, 200))
                    .col(string_len(Patrons::Category, 32))
                    .col(timestamp_with_time_zone(Patrons::CardExpiresAt))
                    .col(boolean(Patrons::Blocked))
                    .col(string_len_null(Patrons::BlockedReason, 500))
                    .col(text(Patrons::PasswordHash))
                    .col(integer(Patrons::FailedLogins).default(0))
                    .col(timestamp_with_time_zone_null(Patrons::LockedUntil))
                    .col(timestamp_with_time_zone(Patrons::CreatedAt))
                    .col(timestamp_with_time_zone(Patrons::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_patrons_library")
                            .from(Patrons::Table, Patrons::LibraryId)
                            .to(Libraries::Table, Libraries::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .check(("ck_patrons_failed_logins", Expr::cust("failed_logins >= 0")))
                    .to_owned(),
            )
            .await?;
        // A card number is unique within its library, not across the consortium.
        manager
            .create_index(
                Index::create()
                    .name("ux_patrons_library_card")
                    .table(Patrons::Table)
                    .col(Patrons::LibraryId)
                    .col(Patrons::CardNumber)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_patrons_display_name")
                    .table(Patrons::Table)
                    .col(Patrons::LibraryId)
                    .col(Patrons::DisplayName)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(pk_uuid(Sessions::Id))
                    .col(binary_len_uniq(Sessions::TokenHash, 32))
                    .col(uuid_null(Sessions::PatronId))
                    .col(uuid_null(Sessions::StaffId))
                    .col(timestamp_with_time_zone(Sessions::CreatedAt))
                    .col(timestamp_with_time_zone(Sessions::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sessions_patron")
                            .from(Sessions::Table, Sessions::PatronId)
                            .to(Patrons::Table, Patrons::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sessions_staff")
                            .from(Sessions::Table, Sessions::StaffId)
                            .to(Staff::Table, Staff::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    // A session belongs to exactly one principal.
                    .check((
                        "ck_sessions_one_principal",
                        Expr::cust(
                            "(patron_id IS NULL AND staff_id IS NOT NULL) \
                             OR (patron_id IS NOT NULL AND staff_id IS NULL)",
                        ),
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("ix_sessions_patron", Sessions::PatronId),
            ("ix_sessions_staff", Sessions::StaffId),
            ("ix_sessions_expires", Sessions::ExpiresAt),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Sessions::Table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(pk_uuid(AuditEvents::Id))
                    .col(timestamp_with_time_zone(AuditEvents::At))
                    .col(string_len(AuditEvents::ActorKind, 16))
                    .col(uuid_null(AuditEvents::ActorId))
                    .col(uuid_null(AuditEvents::LibraryId))
                    .col(string_len(AuditEvents::Action, 64))
                    .col(string_len(AuditEvents::TargetKind, 32))
                    .col(uuid_null(AuditEvents::TargetId))
                    .col(json_null(AuditEvents::Detail))
                    .check((
                        "ck_audit_actor_kind",
                        Expr::cust("actor_kind IN ('staff', 'patron', 'system')"),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_library_at")
                    .table(AuditEvents::Table)
                    .col(AuditEvents::LibraryId)
                    .col(AuditEvents::At)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditEvents::Table.into_iden(),
            Sessions::Table.into_iden(),
            Patrons::Table.into_iden(),
            Staff::Table.into_iden(),
            Libraries::Table.into_iden(),
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
    Code,
    Name,
    Region,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Staff {
    Table,
    Id,
    LibraryId,
    Username,
    DisplayName,
    Role,
    PasswordHash,
    Active,
    FailedLogins,
    LockedUntil,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Patrons {
    Table,
    Id,
    LibraryId,
    CardNumber,
    DisplayName,
    Category,
    CardExpiresAt,
    Blocked,
    BlockedReason,
    PasswordHash,
    FailedLogins,
    LockedUntil,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    TokenHash,
    PatronId,
    StaffId,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    At,
    ActorKind,
    ActorId,
    LibraryId,
    Action,
    TargetKind,
    TargetId,
    Detail,
}
