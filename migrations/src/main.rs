//! `jieyue-migrate`: the sea-orm migration CLI for the Jieyue schema.
//!
//! `DATABASE_URL=sqlite://data/jieyue.db?mode=rwc jieyue-migrate up` applies pending
//! migrations; `down`, `status`, `fresh` and `refresh` do what sea-orm's CLI documents.
//! The server applies migrations itself at start, so this tool is for operators who
//! want to inspect or roll back a schema by hand.

#[tokio::main]
async fn main() {
    sea_orm_migration::cli::run_cli(jieyue_migrations::Migrator).await;
}
