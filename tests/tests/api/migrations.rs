//! Every migration goes up and down cleanly, on both databases.

use jieyue_migrations::{Migrator, MigratorTrait};
use jieyue_tests::{Backend, test_config};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

async fn table_names(db: &DatabaseConnection) -> Vec<String> {
    let sql = match db.get_database_backend() {
        sea_orm::DatabaseBackend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
        _ => {
            "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        }
    };
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("list tables")
        .iter()
        .map(|row| row.try_get::<String>("", "name").expect("name"))
        .collect()
}

async fn up_down_up(backend: Backend) {
    let data = tempfile::tempdir().expect("tempdir");
    let config = test_config(backend, data.path()).await;
    std::fs::create_dir_all(&config.data_dir).expect("data dir");
    let db = Database::connect(config.effective_database_url())
        .await
        .expect("connect");

    Migrator::up(&db, None).await.expect("up");
    let tables = table_names(&db).await;
    for expected in [
        "audit_events",
        "catalogue_changes",
        "libraries",
        "patrons",
        "sessions",
        "staff",
        "titles",
    ] {
        assert!(
            tables.iter().any(|t| t == expected),
            "{expected} missing from {tables:?}"
        );
    }

    Migrator::down(&db, None).await.expect("down");
    let left: Vec<String> = table_names(&db)
        .await
        .into_iter()
        .filter(|t| t != "seaql_migrations")
        .collect();
    assert!(left.is_empty(), "down left tables behind: {left:?}");

    Migrator::up(&db, None).await.expect("up again");
    assert!(
        Migrator::get_pending_migrations(&db)
            .await
            .expect("status")
            .is_empty()
    );
}

#[tokio::test]
async fn migrations_go_up_and_down_on_sqlite() {
    up_down_up(Backend::Sqlite).await;
}

#[tokio::test]
async fn migrations_go_up_and_down_on_postgres() {
    up_down_up(Backend::Postgres).await;
}
