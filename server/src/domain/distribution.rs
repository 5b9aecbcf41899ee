//! Hub → member distribution: peers, collections, the catalogue record that travels
//! with each title, and the rules of rolling usage up by day.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    Author, FieldError, Layout, MediaFacts, PublicationIdentifier, PublicationKind, Title, TitleId,
    TitleMetadata,
};

/// What the other server is to this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerRole {
    /// A member this server (a hub) distributes to.
    Member,
    /// A hub this server (a member) receives from.
    Hub,
}

impl PeerRole {
    /// Stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            PeerRole::Member => "member",
            PeerRole::Hub => "hub",
        }
    }

    /// Parses the stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "member" => Some(PeerRole::Member),
            "hub" => Some(PeerRole::Hub),
            _ => None,
        }
    }
}

/// Where a peer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerStatus {
    /// A member the hub's admin created, not enrolled yet (its code is outstanding).
    Invited,
    /// Enrolled: keys pinned both ways.
    Active,
    /// Paused by an admin: no pulls, no envelopes, no usage accepted.
    Suspended,
}

impl PeerStatus {
    /// Stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            PeerStatus::Invited => "invited",
            PeerStatus::Active => "active",
            PeerStatus::Suspended => "suspended",
        }
    }

    /// Parses the stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "invited" => Some(PeerStatus::Invited),
            "active" => Some(PeerStatus::Active),
            "suspended" => Some(PeerStatus::Suspended),
            _ => None,
        }
    }
}

/// A hub or a member, as this server knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Its server id.
    pub id: Uuid,
    /// Hub or member.
    pub role: PeerRole,
    /// Name.
    pub name: String,
    /// Province or region (members; for the programme's reports).
    pub region: Option<String>,
    /// Its pinned identity keys (empty until enrolled).
    pub identity_keys: jieyue_protocol::KeySet,
    /// The peer key sealed under this server's master key.
    pub peer_key_sealed: Option<String>,
    /// A hub's address (`https://hub.example/`).
    pub base_url: Option<String>,
    /// An invited member's enrolment code, sealed under the master key (the hub needs
    /// the code itself to check the member's proof and prove its own).
    pub code_sealed: Option<String>,
    /// This server's id at that hub (hubs only).
    pub my_id: Option<Uuid>,
    /// Status.
    pub status: PeerStatus,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Enrolled.
    pub enrolled_at: Option<DateTime<Utc>>,
}

/// A collection's short name: 1-64 lowercase letters, digits and `-`, starting with a
/// letter or digit (it names bundles and URLs).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CollectionSlug(String);

impl CollectionSlug {
    /// Parses a slug.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let raw = raw.trim();
        let ok = (1..=64).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !raw.starts_with('-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(FieldError::new(
                "slug",
                "1-64 lowercase letters, digits and hyphens (e.g. jiceng-2026)",
            ))
        }
    }

    /// The slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A collection on the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    /// Id.
    pub id: Uuid,
    /// Short name.
    pub slug: CollectionSlug,
    /// Display name.
    pub name: String,
    /// What members get.
    pub rights: jieyue_protocol::distribution::CollectionRights,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// The concurrent copies a member's shared-pool lot gets for a collection's title.
/// "Unlimited" is the largest count the lot can hold: no reader ever waits.
pub fn lot_copies(rights: jieyue_protocol::distribution::CollectionRights) -> u32 {
    use jieyue_protocol::distribution::CollectionRights;
    match rights {
        CollectionRights::CopiesPerMember(n) => n,
        CollectionRights::Unlimited => UNLIMITED_COPIES,
    }
}

/// Copies of an unlimited-use lot (`i32::MAX`, what the column holds).
pub const UNLIMITED_COPIES: u32 = i32::MAX as u32;

/// A title's catalogue record as it travels in a bundle: the metadata and the digests
/// of its objects. Never the content key (that goes in the envelope).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogueRecord {
    /// Title id (the same at every server).
    pub id: Uuid,
    /// The EPUB's unique identifier.
    pub identifier: String,
    /// Main title.
    pub title: String,
    /// Subtitle.
    pub subtitle: Option<String>,
    /// Sort key.
    pub sort_title: String,
    /// Creators.
    pub authors: Vec<Author>,
    /// Language.
    pub language: Option<String>,
    /// Publisher.
    pub publisher: Option<String>,
    /// Publication date as given.
    pub published: Option<String>,
    /// Subjects.
    pub subjects: Vec<String>,
    /// Description.
    pub description: Option<String>,
    /// Identifiers.
    pub identifiers: Vec<PublicationIdentifier>,
    /// `reflowable` or `fixed`.
    pub layout: String,
    /// `ltr`, `rtl`.
    pub page_progression: Option<String>,
    /// The hub's ingest version.
    pub version: i32,
    /// SHA-256 of the source file.
    pub content_hash: String,
    /// Size of the source file.
    pub source_size: u64,
    /// The package's digest and size.
    pub package_sha256: String,
    /// Package size.
    pub package_size: u64,
    /// Cover digest and media type.
    pub cover: Option<(String, String)>,
    /// Thumbnail digest.
    pub thumbnail: Option<String>,
    /// The publication's kind (absent: EPUB, so members not yet upgraded read records
    /// of EPUB titles as before).
    #[serde(default = "epub", skip_serializing_if = "is_epub")]
    pub kind: PublicationKind,
    /// Total duration in milliseconds (audio, video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Items in the reading order (pages, tracks, videos).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<u32>,
}

fn epub() -> PublicationKind {
    PublicationKind::Epub
}

fn is_epub(kind: &PublicationKind) -> bool {
    *kind == PublicationKind::Epub
}

impl CatalogueRecord {
    /// The record of a hub title whose cover and thumbnail have the given digests.
    pub fn of(title: &Title, cover_sha: Option<String>, thumbnail_sha: Option<String>) -> Self {
        let m = &title.metadata;
        Self {
            id: title.id.0,
            identifier: m.identifier.clone(),
            title: m.title.clone(),
            subtitle: m.subtitle.clone(),
            sort_title: m.sort_title.clone(),
            authors: m.authors.clone(),
            language: m.language.clone(),
            publisher: m.publisher.clone(),
            published: m.published.clone(),
            subjects: m.subjects.clone(),
            description: m.description.clone(),
            identifiers: m.identifiers.clone(),
            layout: m.layout.as_str().to_owned(),
            page_progression: m.page_progression.clone(),
            version: title.version,
            content_hash: title.content_hash.clone(),
            source_size: title.source_size,
            package_sha256: title.package_sha256.clone(),
            package_size: title.package_size,
            cover: cover_sha.zip(title.cover.as_ref().map(|(_, media)| media.clone())),
            thumbnail: thumbnail_sha,
            kind: title.media.kind,
            duration_ms: title.media.duration_ms,
            items: title.media.items,
        }
    }

    /// The member's title: the record's metadata, stored under `key_of(digest)`, its
    /// content key sealed by the member (`content_key_sealed`).
    pub fn into_title(
        self,
        key_of: impl Fn(&str) -> String,
        content_key_sealed: String,
        now: DateTime<Utc>,
    ) -> Result<Title, FieldError> {
        let layout = Layout::parse(&self.layout).ok_or_else(|| {
            FieldError::new("layout", format!("unknown layout {:?}", self.layout))
        })?;
        Ok(Title {
            id: TitleId(self.id),
            metadata: TitleMetadata {
                identifier: self.identifier,
                title: self.title,
                subtitle: self.subtitle,
                sort_title: self.sort_title,
                authors: self.authors,
                language: self.language,
                publisher: self.publisher,
                published: self.published,
                subjects: self.subjects,
                description: self.description,
                identifiers: self.identifiers,
                layout,
                page_progression: self.page_progression,
            },
            version: self.version,
            content_hash: self.content_hash,
            source_size: self.source_size,
            package_key: key_of(&self.package_sha256),
            package_size: self.package_size,
            package_sha256: self.package_sha256,
            content_key_sealed,
            cover: self.cover.map(|(sha, media)| (key_of(&sha), media)),
            thumbnail_key: self.thumbnail.as_deref().map(key_of),
            media: MediaFacts {
                kind: self.kind,
                duration_ms: self.duration_ms,
                items: self.items,
            },
            suppressed: false,
            created_at: now,
            updated_at: now,
        })
    }
}

/// The days a member rolls its usage up for next: from the day after the last rolled
/// one (or `first` when nothing was rolled yet) through yesterday. Today is never
/// rolled: its counts are not final.
pub fn days_to_roll(
    rolled_through: Option<NaiveDate>,
    first: NaiveDate,
    today: NaiveDate,
) -> Vec<NaiveDate> {
    let start = rolled_through.and_then(|d| d.succ_opt()).unwrap_or(first);
    start.iter_days().take_while(|day| *day < today).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn usage_rolls_up_whole_past_days_once() {
        let today = day("2026-09-03");
        assert_eq!(
            days_to_roll(None, day("2026-09-01"), today),
            vec![day("2026-09-01"), day("2026-09-02")]
        );
        assert_eq!(
            days_to_roll(Some(day("2026-09-02")), day("2026-09-01"), today),
            Vec::<NaiveDate>::new()
        );
        assert!(days_to_roll(None, today, today).is_empty());
    }

    #[test]
    fn slugs_are_short_lowercase_names() {
        assert!(CollectionSlug::parse("jiceng-2026").is_ok());
        for bad in ["", "-x", "基层", "A", &"x".repeat(65), "a/b"] {
            assert!(CollectionSlug::parse(bad).is_err(), "{bad:?}");
        }
    }
}
