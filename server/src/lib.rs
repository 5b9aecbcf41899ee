#![doc = include_str!("../README.md")]

pub mod blobs;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod domain;
pub mod http;
pub mod keys;
pub mod search;
pub mod service;
pub mod startup;
pub mod store;
pub mod telemetry;

pub use startup::Application;
