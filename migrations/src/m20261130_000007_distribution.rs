//! Hub → member distribution: peers (a hub's members, a member's hubs), the hub's
//! collections with their titles and signed versions and the objects it serves, and on
//! a member the installed collections, the journal of verified objects and the usage
//! log that flows back up. On a hub, the usage its members sent.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LocalServer::Table)
                    .col(uuid(LocalServer::Id).primary_key())
                    // Always 1, and unique: the table holds one row, whoever inserts first.
                    .col(
                        integer_uniq(LocalServer::Singleton)
                            .check(Expr::col(LocalServer::Singleton).eq(1)),
                    )
                    .col(timestamp_with_time_zone(LocalServer::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Peers::Table)
                    .col(uuid(Peers::Id).primary_key())
                    .col(
                        string_len(Peers::Role, 16)
                            .check(Expr::col(Peers::Role).is_in(["member", "hub"])),
                    )
                    .col(string(Peers::Name))
                    .col(string_null(Peers::Region))
                    .col(json_null(Peers::IdentityKeys))
                    .col(text_null(Peers::PeerKeySealed))
                    .col(string_null(Peers::BaseUrl))
                    .col(string_null(Peers::CodeSealed))
                    .col(uuid_null(Peers::MyId))
                    .col(
                        string_len(Peers::Status, 16).check(Expr::col(Peers::Status).is_in([
                            "invited",
                            "active",
                            "suspended",
                        ])),
                    )
                    .col(timestamp_with_time_zone(Peers::CreatedAt))
                    .col(timestamp_with_time_zone_null(Peers::EnrolledAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Collections::Table)
                    .col(uuid(Collections::Id).primary_key())
                    .col(string_len_uniq(Collections::Slug, 64))
                    .col(string(Collections::Name))
                    .col(
                        integer_null(Collections::RightsCopies).check(
                            Expr::col(Collections::RightsCopies)
                                .is_null()
                                .or(Expr::col(Collections::RightsCopies).gt(0)),
                        ),
                    )
                    .col(timestamp_with_time_zone(Collections::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CollectionTitles::Table)
                    .col(uuid(CollectionTitles::CollectionId))
                    .col(uuid(CollectionTitles::TitleId))
                    .primary_key(
                        Index::create()
                            .col(CollectionTitles::CollectionId)
                            .col(CollectionTitles::TitleId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_collection_titles_collection")
                            .from(CollectionTitles::Table, CollectionTitles::CollectionId)
                            .to(Collections::Table, Collections::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_collection_titles_title")
                            .from(CollectionTitles::Table, CollectionTitles::TitleId)
                            .to(Titles::Table, Titles::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CollectionVersions::Table)
                    .col(uuid(CollectionVersions::CollectionId))
                    .col(
                        integer(CollectionVersions::Version)
                            .check(Expr::col(CollectionVersions::Version).gt(0)),
                    )
                    .col(text(CollectionVersions::Manifest))
                    .col(big_integer(CollectionVersions::TotalSize))
                    .col(integer(CollectionVersions::Titles))
                    .col(timestamp_with_time_zone(CollectionVersions::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(CollectionVersions::CollectionId)
                            .col(CollectionVersions::Version),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_collection_versions_collection")
                            .from(CollectionVersions::Table, CollectionVersions::CollectionId)
                            .to(Collections::Table, Collections::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(HubObjects::Table)
                    .col(string_len(HubObjects::Sha256, 64).primary_key())
                    .col(string(HubObjects::BlobKey))
                    .col(big_integer(HubObjects::Size))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(InstalledCollections::Table)
                    .col(uuid(InstalledCollections::HubId))
                    .col(string_len(InstalledCollections::Slug, 64))
                    .col(string(InstalledCollections::Name))
                    .col(integer(InstalledCollections::Version))
                    .col(integer_null(InstalledCollections::RightsCopies))
                    .col(big_integer(InstalledCollections::TotalSize))
                    .col(timestamp_with_time_zone(InstalledCollections::InstalledAt))
                    .primary_key(
                        Index::create()
                            .col(InstalledCollections::HubId)
                            .col(InstalledCollections::Slug),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_installed_collections_hub")
                            .from(InstalledCollections::Table, InstalledCollections::HubId)
                            .to(Peers::Table, Peers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(InstalledTitles::Table)
                    .col(uuid(InstalledTitles::HubId))
                    .col(string_len(InstalledTitles::Slug, 64))
                    .col(uuid(InstalledTitles::TitleId))
                    .primary_key(
                        Index::create()
                            .col(InstalledTitles::HubId)
                            .col(InstalledTitles::Slug)
                            .col(InstalledTitles::TitleId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_installed_titles_title")
                            .from(InstalledTitles::Table, InstalledTitles::TitleId)
                            .to(Titles::Table, Titles::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TitleOrigins::Table)
                    .col(uuid(TitleOrigins::TitleId).primary_key())
                    .col(uuid(TitleOrigins::HubId))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_title_origins_title")
                            .from(TitleOrigins::Table, TitleOrigins::TitleId)
                            .to(Titles::Table, Titles::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LocalObjects::Table)
                    .col(string_len(LocalObjects::Sha256, 64).primary_key())
                    .col(big_integer(LocalObjects::Size))
                    .col(timestamp_with_time_zone(LocalObjects::VerifiedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UsageLog::Table)
                    .col(big_pk_auto(UsageLog::Seq))
                    .col(uuid(UsageLog::HubId))
                    .col(uuid(UsageLog::TitleId))
                    .col(string_len(UsageLog::Day, 10))
                    .col(integer(UsageLog::Loans))
                    .col(integer(UsageLog::Renewals))
                    .col(integer(UsageLog::Returns))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UsageCursor::Table)
                    .col(uuid(UsageCursor::HubId).primary_key())
                    .col(string_len_null(UsageCursor::RolledThrough, 10))
                    .col(big_integer(UsageCursor::Acked))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(HubUsage::Table)
                    .col(uuid(HubUsage::MemberId))
                    .col(big_integer(HubUsage::Seq))
                    .col(uuid(HubUsage::TitleId))
                    .col(string_len(HubUsage::Day, 10))
                    .col(integer(HubUsage::Loans))
                    .col(integer(HubUsage::Renewals))
                    .col(integer(HubUsage::Returns))
                    .primary_key(Index::create().col(HubUsage::MemberId).col(HubUsage::Seq))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            HubUsage::Table.into_iden(),
            UsageCursor::Table.into_iden(),
            UsageLog::Table.into_iden(),
            LocalObjects::Table.into_iden(),
            TitleOrigins::Table.into_iden(),
            InstalledTitles::Table.into_iden(),
            InstalledCollections::Table.into_iden(),
            HubObjects::Table.into_iden(),
            CollectionVersions::Table.into_iden(),
            CollectionTitles::Table.into_iden(),
            Collections::Table.into_iden(),
            Peers::Table.into_iden(),
            LocalServer::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Titles {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum LocalServer {
    Table,
    Id,
    Singleton,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Peers {
    Table,
    Id,
    Role,
    Name,
    Region,
    IdentityKeys,
    PeerKeySealed,
    BaseUrl,
    CodeSealed,
    MyId,
    Status,
    CreatedAt,
    EnrolledAt,
}

#[derive(DeriveIden)]
enum Collections {
    Table,
    Id,
    Slug,
    Name,
    RightsCopies,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CollectionTitles {
    Table,
    CollectionId,
    TitleId,
}

#[derive(DeriveIden)]
enum CollectionVersions {
    Table,
    CollectionId,
    Version,
    Manifest,
    TotalSize,
    Titles,
    CreatedAt,
}

#[derive(DeriveIden)]
enum HubObjects {
    Table,
    Sha256,
    BlobKey,
    Size,
}

#[derive(DeriveIden)]
enum InstalledCollections {
    Table,
    HubId,
    Slug,
    Name,
    Version,
    RightsCopies,
    TotalSize,
    InstalledAt,
}

#[derive(DeriveIden)]
enum InstalledTitles {
    Table,
    HubId,
    Slug,
    TitleId,
}

#[derive(DeriveIden)]
enum TitleOrigins {
    Table,
    TitleId,
    HubId,
}

#[derive(DeriveIden)]
enum LocalObjects {
    Table,
    Sha256,
    Size,
    VerifiedAt,
}

#[derive(DeriveIden)]
enum UsageLog {
    Table,
    Seq,
    HubId,
    TitleId,
    Day,
    Loans,
    Renewals,
    Returns,
}

#[derive(DeriveIden)]
enum UsageCursor {
    Table,
    HubId,
    RolledThrough,
    Acked,
}

#[derive(DeriveIden)]
enum HubUsage {
    Table,
    MemberId,
    Seq,
    TitleId,
    Day,
    Loans,
    Renewals,
    Returns,
}
