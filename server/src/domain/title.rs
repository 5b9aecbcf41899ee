use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::TitleId;

pub use jieyue_protocol::webpub::PublicationKind;

/// What kind of publication a title is, and how long or how many pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MediaFacts {
    /// EPUB, page images, images, audiobook or video.
    pub kind: PublicationKind,
    /// Total duration in milliseconds (audio, video).
    pub duration_ms: Option<u64>,
    /// Items in the reading order (pages, images, tracks, videos); none for EPUB.
    pub items: Option<u32>,
}

impl MediaFacts {
    /// An EPUB's.
    pub const EPUB: MediaFacts = MediaFacts {
        kind: PublicationKind::Epub,
        duration_ms: None,
        items: None,
    };
}

/// How a publication's pages are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// Text reflows to the screen (most books).
    Reflowable,
    /// Fixed pages (comics, scanned journals, picture books).
    Fixed,
}

impl Layout {
    /// The stored and wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Layout::Reflowable => "reflowable",
            Layout::Fixed => "fixed",
        }
    }

    /// Parses the stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "reflowable" => Some(Layout::Reflowable),
            "fixed" => Some(Layout::Fixed),
            _ => None,
        }
    }
}

/// A creator of the publication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    /// Name as printed (`孔子`, `Herman Melville`).
    pub name: String,
    /// MARC relator code (`aut`, `trl`, `ill`, `edt`), if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Sort form (`Melville, Herman`), if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_as: Option<String>,
}

/// An identifier of the publication (ISBN, UUID, DOI, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicationIdentifier {
    /// The scheme, if known (`isbn`, `uuid`, `doi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// The value.
    pub value: String,
}

/// Descriptive metadata of a title, as read from its EPUB and edited by staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TitleMetadata {
    /// The EPUB's unique identifier (what makes two files the same book).
    pub identifier: String,
    /// Main title.
    pub title: String,
    /// Subtitle, if any.
    pub subtitle: Option<String>,
    /// Sort key for the title (case-folded).
    pub sort_title: String,
    /// Creators, in order.
    pub authors: Vec<Author>,
    /// Main language (BCP 47).
    pub language: Option<String>,
    /// Publisher.
    pub publisher: Option<String>,
    /// Publication date as given (`2019`, `2019-03-01`).
    pub published: Option<String>,
    /// Subjects.
    pub subjects: Vec<String>,
    /// Description (may be HTML from the EPUB; shown as text).
    pub description: Option<String>,
    /// All identifiers.
    pub identifiers: Vec<PublicationIdentifier>,
    /// Reflowable or fixed layout.
    pub layout: Layout,
    /// `ltr`, `rtl`, or unspecified.
    pub page_progression: Option<String>,
}

/// A catalogued title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title {
    /// Id.
    pub id: TitleId,
    /// Metadata.
    pub metadata: TitleMetadata,
    /// Ingest version (1 for the first file, +1 for each new version of the book).
    pub version: i32,
    /// SHA-256 (hex) of the source EPUB.
    pub content_hash: String,
    /// Size of the source EPUB.
    pub source_size: u64,
    /// Where the encrypted package is stored.
    pub package_key: String,
    /// Size of the package.
    pub package_size: u64,
    /// SHA-256 (hex) of the package (its ETag, and the client's download check).
    pub package_sha256: String,
    /// The content key sealed under the master key (context: the title id).
    pub content_key_sealed: String,
    /// Where the cover image is stored, and its media type.
    pub cover: Option<(String, String)>,
    /// Where the cover thumbnail (JPEG) is stored.
    pub thumbnail_key: Option<String>,
    /// Kind, duration, pages.
    pub media: MediaFacts,
    /// Hidden from the public catalogue.
    pub suppressed: bool,
    /// First ingested.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A sort key: case-folded, leading articles and whitespace trimmed.
pub fn sort_key(title: &str) -> String {
    let lower = title.trim().to_lowercase();
    for article in ["the ", "a ", "an ", "le ", "la ", "les ", "l'"] {
        if let Some(rest) = lower.strip_prefix(article)
            && !rest.trim().is_empty()
        {
            return rest.trim().to_owned();
        }
    }
    lower
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_keys_ignore_case_and_articles() {
        assert_eq!(sort_key("The Waste Land"), "waste land");
        assert_eq!(sort_key("Moby-Dick"), "moby-dick");
        assert_eq!(sort_key("论语"), "论语");
        assert_eq!(sort_key("The "), "the");
    }
}
