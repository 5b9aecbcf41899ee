//! Lending tables: rules, devices, licence lots and shares, loans, licences.
#![allow(missing_docs)]

pub mod lending_rule {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "lending_rules")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        #[sea_orm(unique)]
        pub scope_key: String,
        pub library_id: Option<Uuid>,
        pub category: Option<String>,
        pub kind: Option<String>,
        pub loan_days_default: i32,
        pub loan_days_max: i32,
        pub max_loans: i32,
        pub max_holds: i32,
        pub renewals: i32,
        pub renewal_days: i32,
        pub pickup_hours: i32,
        pub max_devices: i32,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod device {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "devices")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub patron_id: Uuid,
        pub name: String,
        pub key_sealed: String,
        pub enrolled_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod licence_lot {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "licence_lots")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub title_id: Uuid,
        pub owner_library_id: Option<Uuid>,
        pub copies: i32,
        pub active_loans: i32,
        pub checkouts_left: Option<i32>,
        pub expires_at: Option<DateTimeUtc>,
        pub status: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod lot_share {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "lot_shares")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub lot_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub library_id: Uuid,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod loan {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "loans")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub patron_id: Uuid,
        pub title_id: Uuid,
        pub lot_id: Uuid,
        pub library_id: Uuid,
        pub request_id: Uuid,
        pub started_at: DateTimeUtc,
        pub ends_at: DateTimeUtc,
        pub renewals: i32,
        pub state: String,
        pub ended_at: Option<DateTimeUtc>,
        pub ending_notified_at: Option<DateTimeUtc>,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod licence {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "licences")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub loan_id: Uuid,
        pub device_id: Uuid,
        pub issued_at: DateTimeUtc,
        pub ends_at: DateTimeUtc,
        pub token: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod hold {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "holds")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub patron_id: Uuid,
        pub title_id: Uuid,
        pub library_id: Uuid,
        pub placed_at: DateTimeUtc,
        pub state: String,
        pub suspended_until: Option<DateTimeUtc>,
        pub auto_borrow: bool,
        pub lot_id: Option<Uuid>,
        pub ready_at: Option<DateTimeUtc>,
        pub pickup_deadline: Option<DateTimeUtc>,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod notification {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "notifications")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub patron_id: Uuid,
        pub kind: String,
        pub payload: Json,
        pub created_at: DateTimeUtc,
        pub delivery: String,
        pub attempts: i32,
        pub next_attempt_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod copy_freed {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "copy_freed")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub title_id: Uuid,
        pub at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
