//! The client core against a real server: log in, enrol, borrow, download, open, read,
//! lay out, return; and offline enforcement with a fake platform clock.

#![allow(clippy::expect_used, clippy::panic)]

mod support;

mod distribution;
mod layout;
mod media;
mod offline;
mod reading;
