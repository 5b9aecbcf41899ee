//! Route handlers: extract, call one service function, map the result.

pub mod admin_lending;
pub mod admin_libraries;
pub mod admin_patrons;
pub mod admin_reports;
pub mod admin_staff;
pub mod admin_titles;
pub mod catalog;
pub mod distribution;
pub mod lending;
pub mod opds;
pub mod ops;
pub mod reader;
pub mod staff_auth;
