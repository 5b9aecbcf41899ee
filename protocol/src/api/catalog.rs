//! Catalogue bodies: search results and title details.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

fn epub_kind() -> String {
    "epub".to_owned()
}

/// A contributor as listed in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contributor {
    /// Name as printed.
    pub name: String,
    /// MARC relator code (`aut`, `trl`, ...), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// Links of a title.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TitleLinks {
    /// The title's details.
    #[serde(rename = "self")]
    pub self_: String,
    /// The cover image, if there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cover: Option<String>,
    /// A small JPEG of the cover, if one could be made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<String>,
    /// The encrypted package (same for every reader).
    pub package: String,
}

/// A title in a result list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TitleSummary {
    /// Id.
    pub id: Uuid,
    /// Title.
    pub title: String,
    /// Subtitle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<String>,
    /// Creators.
    pub authors: Vec<Contributor>,
    /// Language (BCP 47).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// `reflowable` or `fixed`.
    pub layout: String,
    /// `epub`, `page_images`, `images`, `audiobook` or `video` (absent from servers
    /// before publication kinds: `epub`).
    #[serde(default = "epub_kind")]
    pub kind: String,
    /// Total duration in whole seconds (audiobooks, videos).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<u64>,
    /// Pages, images, tracks or videos in the reading order (not for EPUB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<u32>,
    /// Links.
    pub links: TitleLinks,
}

/// A publication identifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentifierValue {
    /// `isbn`, `uuid`, ... if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// The identifier.
    pub value: String,
}

/// Everything the catalogue says about a title.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TitleDetails {
    /// The summary fields.
    #[serde(flatten)]
    pub summary: TitleSummary,
    /// Publisher.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    /// Publication date as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// Subjects.
    pub subjects: Vec<String>,
    /// Description (plain text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Identifiers (ISBN, ...).
    pub identifiers: Vec<IdentifierValue>,
    /// `ltr` or `rtl`, if the book says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_progression: Option<String>,
    /// Size of the encrypted package in bytes.
    pub package_size: u64,
    /// SHA-256 (hex) of the encrypted package.
    pub package_sha256: String,
    /// When the current version was catalogued.
    pub updated_at: DateTime<Utc>,
    /// Availability at your library (when logged in as a reader, or with `?library=`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability: Option<Availability>,
}

/// A facet value and how many results have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FacetCount {
    /// The value (`zh`, `诗歌`, `fixed`).
    pub value: String,
    /// Matching titles.
    pub count: u64,
}

/// Facet counts over all results of a search.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CatalogFacets {
    /// By language.
    pub language: Vec<FacetCount>,
    /// By subject.
    pub subject: Vec<FacetCount>,
    /// By layout.
    pub layout: Vec<FacetCount>,
    /// By kind of publication.
    #[serde(default)]
    pub kind: Vec<FacetCount>,
}

/// A page of catalogue results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CatalogPage {
    /// The titles.
    pub items: Vec<TitleSummary>,
    /// Matches in all.
    pub total: u64,
    /// Facet counts.
    pub facets: CatalogFacets,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The OPDS availability states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AvailabilityState {
    /// A copy is free: borrow it.
    Available,
    /// Every copy is out: a hold joins the queue.
    Unavailable,
    /// You are in the queue.
    Reserved,
    /// A copy waits for you until `until`.
    Ready,
}

impl AvailabilityState {
    /// The OPDS name (`available`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            AvailabilityState::Available => "available",
            AvailabilityState::Unavailable => "unavailable",
            AvailabilityState::Reserved => "reserved",
            AvailabilityState::Ready => "ready",
        }
    }
}

/// Whether a title can be borrowed now at a library (OPDS availability states).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Availability {
    /// Whether the reader can borrow now, wait, or collect.
    pub state: AvailabilityState,
    /// Since when (for `ready`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// Until when (for `ready`: the pickup deadline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    /// Copies the library can lend.
    pub copies_total: u64,
    /// Copies free now.
    pub copies_available: u64,
    /// Readers in the queue.
    pub holds_total: u64,
    /// Your place in the queue, if you are in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_position: Option<u64>,
}
