//! sea-orm entities: one per table, mirroring the migrations. Only the `store` module
//! uses them; the rest of the server sees domain types.

pub mod audit_event;
pub mod catalogue_change;
pub mod distribution;
pub mod lending;
pub mod library;
pub mod patron;
pub mod reading_position;
pub mod session;
pub mod staff;
pub mod title;
