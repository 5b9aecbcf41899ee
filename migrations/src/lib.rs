#![doc = include_str!("../README.md")]

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_accounts;
mod m20261122_000002_catalogue;
mod m20261122_000003_lending;
mod m20261122_000004_holds;
mod m20261122_000005_positions;
mod m20261129_000006_copy_freed;
mod m20261130_000007_distribution;
mod m20261201_000008_media;

/// Every schema change of the lending server, oldest first.
///
/// Migrations never import the server's entities: a migration describes the schema as
/// it was on the day it was written, so it must not change when an entity does.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_accounts::Migration),
            Box::new(m20261122_000002_catalogue::Migration),
            Box::new(m20261122_000003_lending::Migration),
            Box::new(m20261122_000004_holds::Migration),
            Box::new(m20261122_000005_positions::Migration),
            Box::new(m20261129_000006_copy_freed::Migration),
            Box::new(m20261130_000007_distribution::Migration),
            Box::new(m20261201_000008_media::Migration),
        ]
    }
}
