//! End-to-end API tests. Every test runs twice: on SQLite and on PostgreSQL.
//! All of them build into this one binary (one link, one process).

// Test bodies are plain async functions run by `both_backends!`, so clippy does not
// see them as tests; failing loudly is what a test should do.
#![allow(clippy::expect_used, clippy::panic)]

mod auth;
mod catalogue;
mod circulation;
mod console;
mod console_catalogue;
mod console_distribution;
mod console_patrons;
mod console_rules;
mod conventions;
mod holds;
mod home;
mod hostile;
mod ingest;
mod keys;
mod lending;
mod libraries;
mod media;
mod migrations;
mod opds;
mod openapi;
mod patrons;
mod positions;
mod reader_read;
mod reader_web;
mod reports;
mod s3;
mod scope;
mod staff;
mod webhooks;
