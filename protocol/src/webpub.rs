//! Publications that are not EPUB: the Readium Web Publication Manifest (RWPM,
//! `manifest.json`) that describes them, and the kinds of publication we lend.
//!
//! A package of such a publication is a ZIP with `manifest.json` in the clear and every
//! resource the manifest links sealed like an EPUB's (see [`crate::package`]). The
//! manifest follows the Readium profiles: Divina for page images (each page with its
//! width and height), Audiobook for tracks (each with its duration); an image collection
//! is a Divina whose pages carry captions as titles, a video series a Web Publication
//! whose reading order is videos with durations.

use serde::{Deserialize, Serialize};

/// Where the manifest lives in the package.
pub const MANIFEST_PATH: &str = "manifest.json";

/// Largest manifest a reader accepts (a collection of 32,000 images is about 6 MB).
pub const MAX_MANIFEST_BYTES: u64 = 32 << 20;

/// The Readium context every manifest names.
pub const CONTEXT: &str = "https://readium.org/webpub-manifest/context.jsonld";

/// What kind of publication a title is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PublicationKind {
    /// An EPUB (reflowable or fixed-layout).
    Epub,
    /// Page images in order: a journal issue, a scanned book, a comic (Divina).
    PageImages,
    /// A set of captioned images (年画, old photographs), browsable as pages (Divina).
    Images,
    /// Audio tracks in order: an audiobook or recitations (Readium Audiobook).
    Audiobook,
    /// One or more videos in order: a lecture series.
    Video,
}

impl PublicationKind {
    /// Every kind, in the order the catalogue lists them.
    pub const ALL: [PublicationKind; 5] = [
        PublicationKind::Epub,
        PublicationKind::PageImages,
        PublicationKind::Images,
        PublicationKind::Audiobook,
        PublicationKind::Video,
    ];

    /// The stored and wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            PublicationKind::Epub => "epub",
            PublicationKind::PageImages => "page_images",
            PublicationKind::Images => "images",
            PublicationKind::Audiobook => "audiobook",
            PublicationKind::Video => "video",
        }
    }

    /// Parses the stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == raw)
    }

    /// The profile the manifest conforms to (`metadata.conformsTo`), none for EPUB.
    pub const fn conforms_to(self) -> Option<&'static str> {
        match self {
            PublicationKind::Epub => None,
            PublicationKind::PageImages | PublicationKind::Images => {
                Some("https://readium.org/webpub-manifest/profiles/divina")
            }
            PublicationKind::Audiobook => {
                Some("https://readium.org/webpub-manifest/profiles/audiobook")
            }
            PublicationKind::Video => Some("https://readium.org/webpub-manifest"),
        }
    }

    /// The media type of the package as acquired (OPDS acquisition links).
    pub const fn package_media_type(self) -> &'static str {
        match self {
            PublicationKind::Epub => "application/epub+zip",
            PublicationKind::PageImages | PublicationKind::Images => "application/divina+zip",
            PublicationKind::Audiobook => "application/audiobook+zip",
            PublicationKind::Video => "application/webpub+zip",
        }
    }

    /// Whether the reading order is timed (audio, video).
    pub const fn is_timed(self) -> bool {
        matches!(self, PublicationKind::Audiobook | PublicationKind::Video)
    }
}

/// A link of the manifest: a resource of the reading order, or another resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    /// Path inside the package (relative, `/`-separated).
    pub href: String,
    /// Media type.
    #[serde(rename = "type")]
    pub media_type: String,
    /// A page's caption, a track's or a video's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Width in pixels (images, video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Height in pixels (images, video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Duration in seconds (audio, video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// Bitrate in kilobits per second (audio, video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitrate: Option<f64>,
    /// Link relations (`cover`, `contents`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rel: Vec<String>,
    /// Other renditions of this resource (an image's thumbnail).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternate: Vec<Link>,
}

impl Link {
    /// A link to `href` of `media_type`, nothing else said.
    pub fn new(href: impl Into<String>, media_type: impl Into<String>) -> Self {
        Self {
            href: href.into(),
            media_type: media_type.into(),
            title: None,
            width: None,
            height: None,
            duration: None,
            bitrate: None,
            rel: Vec::new(),
            alternate: Vec::new(),
        }
    }
}

/// A contributor as the manifest names one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contributor {
    /// The name.
    pub name: String,
}

/// The manifest's `metadata`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// `@type` (`http://schema.org/Book`, `…/Audiobook`, `…/Periodical`, …).
    #[serde(rename = "@type", default, skip_serializing_if = "Option::is_none")]
    pub schema_type: Option<String>,
    /// Profiles the manifest conforms to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conforms_to: Vec<String>,
    /// The publication's identifier (a URN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// Title.
    pub title: String,
    /// Subtitle (a journal's issue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle: Option<String>,
    /// Authors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub author: Vec<Contributor>,
    /// Narrators (audiobooks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub narrator: Vec<Contributor>,
    /// Publisher.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub publisher: Vec<Contributor>,
    /// Languages (BCP 47).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub language: Vec<String>,
    /// Publication date as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// Subjects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subject: Vec<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Total duration in seconds (audio, video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// Pages (page images, images).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_of_pages: Option<u32>,
    /// `ltr` or `rtl` (pages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reading_progression: Option<String>,
}

/// A Readium Web Publication Manifest, as far as we write and read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// [`CONTEXT`].
    #[serde(rename = "@context")]
    pub context: String,
    /// Descriptive metadata.
    pub metadata: Metadata,
    /// Links about the publication (`self`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    /// The reading order: pages, tracks or videos.
    pub reading_order: Vec<Link>,
    /// Other resources (thumbnails, the cover).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Link>,
}

/// Why a manifest is not usable.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Not JSON, or not a manifest.
    #[error("unreadable publication manifest: {0}")]
    Unreadable(String),
    /// A rule of ours is broken; the message says which.
    #[error("invalid publication manifest: {0}")]
    Invalid(String),
}

impl Manifest {
    /// The kind this manifest describes, from its profile and reading order.
    pub fn kind(&self) -> PublicationKind {
        let profile = |p: &str| self.metadata.conforms_to.iter().any(|c| c == p);
        let first = self
            .reading_order
            .first()
            .map(|l| l.media_type.as_str())
            .unwrap_or_default();
        if profile("https://readium.org/webpub-manifest/profiles/audiobook")
            || first.starts_with("audio/")
        {
            PublicationKind::Audiobook
        } else if first.starts_with("video/") {
            PublicationKind::Video
        } else if self.metadata.schema_type.as_deref() == Some(IMAGE_COLLECTION_TYPE) {
            PublicationKind::Images
        } else {
            PublicationKind::PageImages
        }
    }

    /// Parses and checks a manifest: a reading order of at least one resource, every
    /// href a safe relative path named once, durations and sizes plausible.
    pub fn parse(bytes: &[u8]) -> Result<Self, ManifestError> {
        let manifest: Manifest =
            serde_json::from_slice(bytes).map_err(|e| ManifestError::Unreadable(e.to_string()))?;
        manifest.check()?;
        Ok(manifest)
    }

    /// The checks [`Manifest::parse`] makes.
    pub fn check(&self) -> Result<(), ManifestError> {
        if self.reading_order.is_empty() {
            return Err(ManifestError::Invalid("the reading order is empty".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for link in self.all_links() {
            if !safe_href(&link.href) {
                return Err(ManifestError::Invalid(format!(
                    "unsafe href {:?}",
                    link.href
                )));
            }
            if link.duration.is_some_and(|d| !d.is_finite() || d < 0.0) {
                return Err(ManifestError::Invalid(format!(
                    "{}: the duration is not a number of seconds",
                    link.href
                )));
            }
        }
        for link in self.reading_order.iter().chain(&self.resources) {
            if !seen.insert(link.href.as_str()) {
                return Err(ManifestError::Invalid(format!(
                    "{} is listed twice",
                    link.href
                )));
            }
        }
        Ok(())
    }

    /// Every link to a resource in the package: the reading order, the resources and
    /// their alternates.
    pub fn all_links(&self) -> impl Iterator<Item = &Link> {
        self.reading_order
            .iter()
            .chain(&self.resources)
            .flat_map(|l| std::iter::once(l).chain(&l.alternate))
    }

    /// Serialises the manifest (pretty, as Readium's own tools write it).
    pub fn to_json(&self) -> Vec<u8> {
        // A struct of strings, numbers and vectors always serialises.
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }
}

/// The `@type` of an image collection's manifest.
pub const IMAGE_COLLECTION_TYPE: &str = "http://schema.org/ImageGallery";

/// A relative path inside the package: no scheme, no leading `/`, no `..`, no `\`, no
/// empty segment, not the package's own files.
pub fn safe_href(href: &str) -> bool {
    !href.is_empty()
        && href.len() <= 1024
        && !href.starts_with('/')
        && !href.contains('\\')
        && !href.contains(':')
        && !href.contains('#')
        && !href.contains('?')
        && href != MANIFEST_PATH
        && !href.starts_with("META-INF/")
        && href
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(order: Vec<Link>) -> Manifest {
        Manifest {
            context: CONTEXT.into(),
            metadata: Metadata {
                schema_type: None,
                conforms_to: vec![],
                identifier: None,
                title: "t".into(),
                subtitle: None,
                author: vec![],
                narrator: vec![],
                publisher: vec![],
                language: vec![],
                published: None,
                subject: vec![],
                description: None,
                duration: None,
                number_of_pages: None,
                reading_progression: None,
            },
            links: vec![],
            reading_order: order,
            resources: vec![],
        }
    }

    #[test]
    fn kinds_round_trip_and_follow_the_reading_order() {
        for kind in PublicationKind::ALL {
            assert_eq!(PublicationKind::parse(kind.as_str()), Some(kind));
        }
        let mut m = manifest(vec![Link::new("a.mp3", "audio/mpeg")]);
        assert_eq!(m.kind(), PublicationKind::Audiobook);
        m.reading_order = vec![Link::new("a.mp4", "video/mp4")];
        assert_eq!(m.kind(), PublicationKind::Video);
        m.reading_order = vec![Link::new("a.jpg", "image/jpeg")];
        assert_eq!(m.kind(), PublicationKind::PageImages);
        m.metadata.schema_type = Some(IMAGE_COLLECTION_TYPE.into());
        assert_eq!(m.kind(), PublicationKind::Images);
        let parsed = Manifest::parse(&m.to_json()).expect("parses");
        assert_eq!(parsed, m);
    }

    #[test]
    fn unsafe_twice_listed_or_empty_manifests_are_refused() {
        for href in [
            "/etc/passwd",
            "../a.jpg",
            "a/../../b",
            "C:\\x",
            "http://x/a",
            "a//b",
            "manifest.json",
            "META-INF/x",
        ] {
            let m = manifest(vec![Link::new(href, "image/jpeg")]);
            assert!(Manifest::parse(&m.to_json()).is_err(), "{href}");
        }
        let m = manifest(vec![
            Link::new("a.jpg", "image/jpeg"),
            Link::new("a.jpg", "image/jpeg"),
        ]);
        assert!(Manifest::parse(&m.to_json()).is_err());
        assert!(Manifest::parse(&manifest(vec![]).to_json()).is_err());
        let mut link = Link::new("a.mp3", "audio/mpeg");
        link.duration = Some(-1.0);
        assert!(Manifest::parse(&manifest(vec![link]).to_json()).is_err());
        assert!(Manifest::parse(b"{").is_err());
    }
}
