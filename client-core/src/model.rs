//! The records an app sees. Ids are UUID strings; states and kinds are enums.
//!
//! **Time**: every point in time is a [`SystemTime`] (an instant, UTC), which UniFFI
//! carries as its builtin timestamp: `java.time.Instant` in Kotlin, `Date` in Swift,
//! `datetime` in Python. A time that may be absent is an `Option`, never a sentinel.

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use jieyue_protocol::api;

pub use crate::states::{
    AvailabilityState, HoldState, Layout, LoanState, NotificationKind, PublicationKind,
    ReadingRights,
};

/// A protocol time as the app's time type.
pub(crate) fn instant(time: DateTime<Utc>) -> SystemTime {
    time.into()
}

/// A member library (to choose one at login).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct MemberLibrary {
    /// Id.
    pub id: String,
    /// Code used at login.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Region, if set.
    pub region: Option<String>,
}

impl From<api::LibrarySummary> for MemberLibrary {
    fn from(l: api::LibrarySummary) -> Self {
        Self {
            id: l.id.to_string(),
            code: l.code,
            name: l.name,
            region: l.region,
        }
    }
}

/// The logged-in reader.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Profile {
    /// Patron id.
    pub id: String,
    /// Home library.
    pub library: MemberLibrary,
    /// Card number.
    pub card_number: String,
    /// Name.
    pub display_name: String,
    /// Category (selects lending rules).
    pub category: String,
    /// When the card expires.
    pub card_expires_at: SystemTime,
    /// Whether borrowing is blocked.
    pub blocked: bool,
}

impl From<api::PatronProfile> for Profile {
    fn from(p: api::PatronProfile) -> Self {
        Self {
            id: p.id.to_string(),
            library: p.library.into(),
            card_number: p.card_number,
            display_name: p.display_name,
            category: p.category,
            card_expires_at: instant(p.card_expires_at),
            blocked: p.blocked,
        }
    }
}

/// An enrolled device.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Device {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// When it enrolled.
    pub enrolled_at: SystemTime,
}

impl From<api::DeviceView> for Device {
    fn from(d: api::DeviceView) -> Self {
        Self {
            id: d.id.to_string(),
            name: d.name,
            enrolled_at: instant(d.enrolled_at),
        }
    }
}

/// A title in a list.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TitleSummary {
    /// Title id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Subtitle.
    pub subtitle: Option<String>,
    /// Author names, in order.
    pub authors: Vec<String>,
    /// Language (BCP 47).
    pub language: Option<String>,
    /// Reflowable or fixed pages.
    pub layout: Layout,
    /// EPUB, page images, images, audiobook or video.
    pub kind: PublicationKind,
    /// Total duration in whole seconds (audiobooks, videos).
    pub duration_seconds: Option<u64>,
    /// Pages, images, tracks or videos (not for EPUB).
    pub items: Option<u32>,
    /// Cover image URL.
    pub cover_url: Option<String>,
    /// Thumbnail URL.
    pub thumbnail_url: Option<String>,
}

/// A page of search results.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SearchPage {
    /// The titles.
    pub items: Vec<TitleSummary>,
    /// How many match in all.
    pub total: u64,
    /// Pass back to get the next page.
    pub next_cursor: Option<String>,
}

/// Copies and holds of a title at the reader's library.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Availability {
    /// Borrow now, join the queue, wait, or collect.
    pub state: AvailabilityState,
    /// Copies in all.
    pub copies_total: u64,
    /// Copies free now.
    pub copies_available: u64,
    /// Holds waiting.
    pub holds_total: u64,
    /// The reader's place in the queue.
    pub hold_position: Option<u64>,
    /// Until when the state holds, if known (for `Ready`: collect before this).
    pub until: Option<SystemTime>,
}

/// A title's details.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TitleDetails {
    /// The summary.
    pub summary: TitleSummary,
    /// Publisher.
    pub publisher: Option<String>,
    /// Publication date as given.
    pub published: Option<String>,
    /// Subjects.
    pub subjects: Vec<String>,
    /// Description (plain text).
    pub description: Option<String>,
    /// `ltr`, `rtl` or none.
    pub page_progression: Option<String>,
    /// Download size in bytes.
    pub package_size: u64,
    /// Availability at the reader's library.
    pub availability: Option<Availability>,
}

/// A loan, with what this device holds of it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Loan {
    /// Loan id.
    pub id: String,
    /// Title id (also the publication id of the book).
    pub title_id: String,
    /// Start.
    pub started_at: SystemTime,
    /// End.
    pub ends_at: SystemTime,
    /// Renewals so far.
    pub renewals: u32,
    /// Renewals the library's rules still allow (0 once the loan has ended).
    pub renewals_left: u32,
    /// Whether a renewal would be granted now (active, renewals left, nobody waiting):
    /// show the renew button only then.
    pub can_renew: bool,
    /// Where the loan is in its life.
    pub state: LoanState,
    /// Whether this device has a licence for it.
    pub licensed_here: bool,
    /// What the licence on this device allows beyond reading; `None` when this device
    /// holds no licence for the loan.
    pub rights: Option<ReadingRights>,
    /// Whether the book is downloaded on this device.
    pub downloaded: bool,
}

/// A hold.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Hold {
    /// Hold id.
    pub id: String,
    /// Title id.
    pub title_id: String,
    /// Waiting, or ready to borrow before `pickup_deadline`.
    pub state: HoldState,
    /// When placed.
    pub placed_at: SystemTime,
    /// Place in the queue (1 = next).
    pub position: Option<u64>,
    /// Rough wait in days.
    pub estimated_wait_days: Option<u64>,
    /// Borrow before this when ready.
    pub pickup_deadline: Option<SystemTime>,
    /// Suspended until.
    pub suspended_until: Option<SystemTime>,
    /// Borrow automatically when ready.
    pub auto_borrow: bool,
}

impl From<api::HoldView> for Hold {
    fn from(h: api::HoldView) -> Self {
        Self {
            id: h.id.to_string(),
            title_id: h.title_id.to_string(),
            state: h.state.into(),
            placed_at: instant(h.placed_at),
            position: h.position,
            estimated_wait_days: h.estimated_wait_days,
            pickup_deadline: h.pickup_deadline.map(instant),
            suspended_until: h.suspended_until.map(instant),
            auto_borrow: h.auto_borrow,
        }
    }
}

/// A notification for the reader.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Notification {
    /// Id (also the cursor).
    pub id: String,
    /// What it is about.
    pub kind: NotificationKind,
    /// When.
    pub created_at: SystemTime,
    /// Details as JSON.
    pub payload_json: String,
}

/// A page of notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NotificationPage {
    /// Oldest first.
    pub items: Vec<Notification>,
    /// Pass as `after` next time.
    pub cursor: Option<String>,
}

impl From<api::NotificationPage> for NotificationPage {
    fn from(page: api::NotificationPage) -> Self {
        Self {
            items: page
                .items
                .into_iter()
                .map(|n| Notification {
                    id: n.id.to_string(),
                    kind: n.kind.into(),
                    created_at: instant(n.created_at),
                    payload_json: n.payload.to_string(),
                })
                .collect(),
            cursor: page.cursor.map(|c| c.to_string()),
        }
    }
}

impl From<api::TitleSummary> for TitleSummary {
    fn from(t: api::TitleSummary) -> Self {
        Self {
            id: t.id.to_string(),
            title: t.title,
            subtitle: t.subtitle,
            authors: t.authors.into_iter().map(|a| a.name).collect(),
            language: t.language,
            layout: Layout::from_wire(&t.layout),
            kind: PublicationKind::from_wire(&t.kind),
            duration_seconds: t.duration,
            items: t.items,
            cover_url: t.links.cover,
            thumbnail_url: t.links.thumbnail,
        }
    }
}

impl From<api::TitleDetails> for TitleDetails {
    fn from(d: api::TitleDetails) -> Self {
        Self {
            summary: d.summary.into(),
            publisher: d.publisher,
            published: d.published,
            subjects: d.subjects,
            description: d.description,
            page_progression: d.page_progression,
            package_size: d.package_size,
            availability: d.availability.map(|a| Availability {
                state: a.state.into(),
                copies_total: a.copies_total,
                copies_available: a.copies_available,
                holds_total: a.holds_total,
                hold_position: a.hold_position,
                until: a.until.map(instant),
            }),
        }
    }
}

/// What a sync did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncReport {
    /// Licences whose status was checked.
    pub checked: u32,
    /// Licences replaced by a renewed one.
    pub renewed: u32,
    /// Publications whose loan has ended (returned, expired, revoked): their keys and
    /// packages are gone from this device.
    pub ended: Vec<String>,
    /// Reading positions sent to the server.
    pub positions_sent: u32,
}

/// How a download ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum DownloadOutcome {
    /// The package is complete, checked and in place.
    Complete {
        /// Its size.
        bytes: u64,
    },
    /// Paused; calling `download` again resumes from here.
    Paused {
        /// Bytes so far.
        received: u64,
        /// Bytes in all, if the server said.
        total: Option<u64>,
    },
}
