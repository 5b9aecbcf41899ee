#![doc = include_str!("../README.md")]

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!("jieyue");

mod api;
pub mod book;
mod client;
mod download;
pub mod error;
#[cfg(feature = "uniffi")]
pub mod ffi;
mod http;
pub mod model;
pub mod platform;
mod positions;
mod states;
mod store;

pub use book::layout::{ChapterLayout, Glyph, ImageBox, Page, TextRun, Typesetter, Viewport};
pub use book::media::MediaReader;
pub use book::{Book, BookMetadata, FixedPage, Locator, PageInfo, ReadingItem, Resource, TocEntry};
pub use client::{Client, ClientConfig};
pub use download::DownloadListener;
pub use error::{ClientError, Refusal, Result};
pub use model::*;
pub use platform::{FileSecureStore, PlatformClock, SecureStore, SecureStoreError, SystemClock};
pub use store::Annotation;
