//! Holds: a reader's place in a title's queue, and the moves a hold may make.

use chrono::{DateTime, Utc};

use super::{HoldId, LibraryId, LotId, PatronId, TitleId};

/// Where a hold is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HoldState {
    /// In the queue.
    Waiting,
    /// A copy is reserved for the reader until the pickup deadline.
    Ready,
    /// Became a loan.
    Fulfilled,
    /// The reserved copy was not collected in time.
    Expired,
    /// Cancelled by the reader.
    Cancelled,
}

/// The hold moves: each from the states it may start in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldMove {
    /// A copy was reserved for it.
    Ready,
    /// The reader borrowed the reserved copy.
    Fulfil,
    /// The pickup deadline passed.
    Lapse,
    /// The reader gave up.
    Cancel,
}

impl HoldMove {
    /// The states a hold may be in for this move.
    pub const fn from(self) -> &'static [HoldState] {
        match self {
            HoldMove::Ready => &[HoldState::Waiting],
            HoldMove::Fulfil | HoldMove::Lapse => &[HoldState::Ready],
            HoldMove::Cancel => &[HoldState::Waiting, HoldState::Ready],
        }
    }

    /// The state it leaves the hold in.
    pub const fn to(self) -> HoldState {
        match self {
            HoldMove::Ready => HoldState::Ready,
            HoldMove::Fulfil => HoldState::Fulfilled,
            HoldMove::Lapse => HoldState::Expired,
            HoldMove::Cancel => HoldState::Cancelled,
        }
    }

    /// Whether a hold in `state` may make this move.
    pub fn allowed_from(self, state: HoldState) -> bool {
        self.from().contains(&state)
    }
}

impl HoldState {
    /// Stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            HoldState::Waiting => "waiting",
            HoldState::Ready => "ready",
            HoldState::Fulfilled => "fulfilled",
            HoldState::Expired => "expired",
            HoldState::Cancelled => "cancelled",
        }
    }

    /// Parses the stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "waiting" => Some(HoldState::Waiting),
            "ready" => Some(HoldState::Ready),
            "fulfilled" => Some(HoldState::Fulfilled),
            "expired" => Some(HoldState::Expired),
            "cancelled" => Some(HoldState::Cancelled),
            _ => None,
        }
    }

    /// Waiting or ready: the hold still counts against the reader's limit.
    pub const fn is_open(self) -> bool {
        matches!(self, HoldState::Waiting | HoldState::Ready)
    }

    /// The open states.
    pub const OPEN: [HoldState; 2] = [HoldState::Waiting, HoldState::Ready];
}

/// A hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// Id.
    pub id: HoldId,
    /// The reader.
    pub patron_id: PatronId,
    /// The title.
    pub title_id: TitleId,
    /// The reader's library (which lots may serve it).
    pub library_id: LibraryId,
    /// Queue order.
    pub placed_at: DateTime<Utc>,
    /// State.
    pub state: HoldState,
    /// Skipped (but keeps its place) until then.
    pub suspended_until: Option<DateTime<Utc>>,
    /// Borrow automatically when a copy is ready.
    pub auto_borrow: bool,
    /// The lot whose copy is reserved, once ready.
    pub lot_id: Option<LotId>,
    /// When it became ready.
    pub ready_at: Option<DateTime<Utc>>,
    /// Until when the reserved copy waits.
    pub pickup_deadline: Option<DateTime<Utc>>,
}

impl Hold {
    /// Whether the queue serves this hold at `now` (waiting and not suspended).
    pub fn in_line_at(&self, now: DateTime<Utc>) -> bool {
        self.state == HoldState::Waiting && self.suspended_until.is_none_or(|until| until <= now)
    }
}

/// The place of `hold` in `queue` (waiting holds in queue order) at `now`: 1 for the
/// next in line; suspended holds ahead do not count. `None` if it is not in the queue.
pub fn queue_position(queue: &[Hold], hold: HoldId, now: DateTime<Utc>) -> Option<u64> {
    let index = queue.iter().position(|h| h.id == hold)?;
    let ahead = queue[..index].iter().filter(|h| h.in_line_at(now)).count();
    Some(ahead as u64 + 1)
}

/// A rough wait in days for the reader at `position` when `copies` copies circulate
/// with loans of `loan_days`.
pub fn estimated_wait_days(position: u64, loan_days: u32, copies: u64) -> u64 {
    position * u64::from(loan_days) / copies.max(1)
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use uuid::Uuid;

    use super::*;

    fn hold(placed: i64, suspended_until: Option<DateTime<Utc>>) -> Hold {
        Hold {
            id: HoldId::new(),
            patron_id: PatronId::new(),
            title_id: TitleId(Uuid::nil()),
            library_id: LibraryId(Uuid::nil()),
            placed_at: DateTime::<Utc>::UNIX_EPOCH + Duration::seconds(placed),
            state: HoldState::Waiting,
            suspended_until,
            auto_borrow: false,
            lot_id: None,
            ready_at: None,
            pickup_deadline: None,
        }
    }

    #[test]
    fn every_move_starts_only_from_its_states() {
        use HoldState::*;
        let all = [Waiting, Ready, Fulfilled, Expired, Cancelled];
        let allowed = |m: HoldMove| -> Vec<HoldState> {
            all.into_iter().filter(|s| m.allowed_from(*s)).collect()
        };
        assert_eq!(allowed(HoldMove::Ready), vec![Waiting]);
        assert_eq!(allowed(HoldMove::Fulfil), vec![Ready]);
        assert_eq!(allowed(HoldMove::Lapse), vec![Ready]);
        assert_eq!(allowed(HoldMove::Cancel), vec![Waiting, Ready]);
        for state in all {
            assert_eq!(HoldState::parse(state.as_str()), Some(state));
            assert_eq!(state.is_open(), HoldState::OPEN.contains(&state));
        }
    }

    #[test]
    fn suspended_holds_ahead_do_not_count_in_the_position() {
        let now = DateTime::<Utc>::UNIX_EPOCH + Duration::days(10);
        let queue = vec![
            hold(1, Some(now + Duration::days(1))),
            hold(2, None),
            hold(3, Some(now - Duration::days(1))),
            hold(4, None),
        ];
        assert_eq!(queue_position(&queue, queue[3].id, now), Some(3));
        assert_eq!(queue_position(&queue, queue[1].id, now), Some(1));
        assert_eq!(queue_position(&queue, HoldId::new(), now), None);
        assert!(!queue[0].in_line_at(now));
        assert!(queue[2].in_line_at(now));
    }

    #[test]
    fn the_wait_grows_with_the_position_and_shrinks_with_copies() {
        assert_eq!(estimated_wait_days(1, 14, 1), 14);
        assert_eq!(estimated_wait_days(3, 14, 2), 21);
        assert_eq!(estimated_wait_days(2, 14, 0), 28);
    }
}
