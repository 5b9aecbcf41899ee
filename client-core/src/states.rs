//! The states and kinds an app switches on: loans, holds, availability, layout,
//! notifications, and what a licence allows. Each is parsed from the protocol's own
//! type once, here, so an app never compares strings.

use jieyue_protocol::api;
use jieyue_protocol::licence::Rights;

/// What kind of publication a book is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum PublicationKind {
    /// An EPUB: lay it out (`Typesetter`) or show it in a WebView.
    Epub,
    /// Page images (a journal issue, a scanned book, a comic): show `page_list`.
    PageImages,
    /// A collection of captioned images: show `page_list` with thumbnails.
    Images,
    /// Audio tracks: play the reading order through a `MediaReader`.
    Audiobook,
    /// Videos: play the reading order through a `MediaReader`.
    Video,
}

impl From<jieyue_protocol::webpub::PublicationKind> for PublicationKind {
    fn from(kind: jieyue_protocol::webpub::PublicationKind) -> Self {
        use jieyue_protocol::webpub::PublicationKind as K;
        match kind {
            K::Epub => Self::Epub,
            K::PageImages => Self::PageImages,
            K::Images => Self::Images,
            K::Audiobook => Self::Audiobook,
            K::Video => Self::Video,
        }
    }
}

impl PublicationKind {
    /// Parses the catalogue's name (`epub`, `page_images`, `images`, `audiobook`,
    /// `video`); anything else is an EPUB (what servers before kinds served).
    pub fn from_wire(raw: &str) -> Self {
        jieyue_protocol::webpub::PublicationKind::parse(raw).map_or(Self::Epub, Self::from)
    }
}

/// Where a loan is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum LoanState {
    /// Running: the book may be read until `ends_at`.
    Active,
    /// Returned early by the reader.
    Returned,
    /// Ran to its end.
    Expired,
    /// Ended by the library.
    Revoked,
}

impl From<api::LoanStatus> for LoanState {
    fn from(status: api::LoanStatus) -> Self {
        match status {
            api::LoanStatus::Active => Self::Active,
            api::LoanStatus::Returned => Self::Returned,
            api::LoanStatus::Expired => Self::Expired,
            api::LoanStatus::Revoked => Self::Revoked,
        }
    }
}

/// Where a hold is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum HoldState {
    /// In the queue (see `position`).
    Waiting,
    /// A copy is reserved for the reader: borrow it before `pickup_deadline`.
    Ready,
    /// Became a loan.
    Fulfilled,
    /// The reserved copy was not collected in time.
    Expired,
    /// Cancelled by the reader.
    Cancelled,
}

impl From<api::HoldStatus> for HoldState {
    fn from(status: api::HoldStatus) -> Self {
        match status {
            api::HoldStatus::Waiting => Self::Waiting,
            api::HoldStatus::Ready => Self::Ready,
            api::HoldStatus::Fulfilled => Self::Fulfilled,
            api::HoldStatus::Expired => Self::Expired,
            api::HoldStatus::Cancelled => Self::Cancelled,
        }
    }
}

/// Whether a title can be borrowed now at the reader's library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum AvailabilityState {
    /// A copy is free: offer "borrow".
    Available,
    /// Every copy is out: offer "place a hold".
    Unavailable,
    /// The reader is in the queue.
    Reserved,
    /// A copy waits for the reader until `until`: offer "borrow".
    Ready,
}

impl From<api::AvailabilityState> for AvailabilityState {
    fn from(state: api::AvailabilityState) -> Self {
        match state {
            api::AvailabilityState::Available => Self::Available,
            api::AvailabilityState::Unavailable => Self::Unavailable,
            api::AvailabilityState::Reserved => Self::Reserved,
            api::AvailabilityState::Ready => Self::Ready,
        }
    }
}

/// How a book's pages are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Layout {
    /// Text flows into pages of the reader's size (lay out with `Typesetter`).
    Reflowable,
    /// Pre-paginated pages, e.g. comics and scans (see `Book.fixed_pages`).
    Fixed,
}

impl Layout {
    /// From the catalogue's `layout` (`reflowable` or `fixed`; EPUB's `pre-paginated`
    /// is fixed too). Anything else reads as reflowable, the EPUB default.
    pub(crate) fn from_wire(layout: &str) -> Self {
        match layout {
            "fixed" | "pre-paginated" => Self::Fixed,
            _ => Self::Reflowable,
        }
    }
}

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum NotificationKind {
    /// A copy waits for the reader (payload: `hold_id`, `title_id`, `pickup_deadline`).
    HoldReady,
    /// A ready hold was not collected in time (payload: `hold_id`, `title_id`).
    HoldExpired,
    /// A loan ends within three days (payload: `loan_id`, `title_id`, `ends_at`).
    LoanEnding,
    /// The library ended a loan (payload: `loan_id`, `title_id`).
    LoanRevoked,
    /// A kind this version does not know (sent by a newer server): show it generically
    /// or ignore it.
    Other,
}

impl From<api::NotificationKind> for NotificationKind {
    fn from(kind: api::NotificationKind) -> Self {
        match kind {
            api::NotificationKind::HoldReady => Self::HoldReady,
            api::NotificationKind::HoldExpired => Self::HoldExpired,
            api::NotificationKind::LoanEnding => Self::LoanEnding,
            api::NotificationKind::LoanRevoked => Self::LoanRevoked,
            api::NotificationKind::Other => Self::Other,
        }
    }
}

/// What a licence allows beyond reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ReadingRights {
    /// Pages the reader may print (0: printing is not allowed).
    pub print_pages: u32,
    /// Characters the reader may copy (0: copying is not allowed).
    pub copy_characters: u32,
}

impl From<&Rights> for ReadingRights {
    fn from(rights: &Rights) -> Self {
        Self {
            print_pages: rights.print.unwrap_or(0),
            copy_characters: rights.copy.unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_reads_fixed_and_pre_paginated_as_fixed() {
        assert_eq!(Layout::from_wire("fixed"), Layout::Fixed);
        assert_eq!(Layout::from_wire("pre-paginated"), Layout::Fixed);
        assert_eq!(Layout::from_wire("reflowable"), Layout::Reflowable);
        assert_eq!(Layout::from_wire(""), Layout::Reflowable);
    }

    #[test]
    fn absent_rights_allow_nothing() {
        let rights = Rights {
            start: chrono::DateTime::UNIX_EPOCH,
            end: chrono::DateTime::UNIX_EPOCH,
            print: None,
            copy: Some(500),
        };
        assert_eq!(
            ReadingRights::from(&rights),
            ReadingRights {
                print_pages: 0,
                copy_characters: 500
            }
        );
    }
}
