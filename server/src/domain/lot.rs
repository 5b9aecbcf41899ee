//! Licence lots: what a library (or the consortium's shared pool) bought, and the two
//! rules every path that lends from lots uses: which lots a library may lend from now,
//! and in which order it draws on them.

use chrono::{DateTime, Utc};

use super::{LibraryId, LotId, TitleId};

/// Whether a lot lends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LotStatus {
    /// Lends.
    Active,
    /// Paused by staff: no new loans; loans out run on.
    Suspended,
    /// Finished for good (used up, expired, or retired by staff).
    Retired,
}

impl LotStatus {
    /// Stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            LotStatus::Active => "active",
            LotStatus::Suspended => "suspended",
            LotStatus::Retired => "retired",
        }
    }

    /// Parses the stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "active" => Some(LotStatus::Active),
            "suspended" => Some(LotStatus::Suspended),
            "retired" => Some(LotStatus::Retired),
            _ => None,
        }
    }
}

/// A licence lot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lot {
    /// Id.
    pub id: LotId,
    /// Title.
    pub title_id: TitleId,
    /// Owning library; `None` for the consortium's shared pool.
    pub owner_library_id: Option<LibraryId>,
    /// Concurrent copies.
    pub copies: u32,
    /// Copies out now (loans and copies reserved for ready holds).
    pub active_loans: u32,
    /// Checkouts left (metered lots), if limited.
    pub checkouts_left: Option<u32>,
    /// After this, no new loans.
    pub expires_at: Option<DateTime<Utc>>,
    /// Whether it lends.
    pub status: LotStatus,
    /// Other libraries that may lend it.
    pub shared_with: Vec<LibraryId>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// Where a lot stands in a library's draw order: own lots first, then the consortium's
/// shared pool, then other libraries' lots shared with it; within each, the lot that
/// expires first (copies about to lapse are used before they do), then the oldest.
pub type DrawKey = (u8, DateTime<Utc>, DateTime<Utc>);

impl Lot {
    /// Whether `library` may lend from this lot at all: its owner may; a shared-pool lot
    /// with no share list is open to every library; otherwise the libraries it is
    /// shared with.
    pub fn lendable_by(&self, library: LibraryId) -> bool {
        self.owner_library_id == Some(library)
            || (self.owner_library_id.is_none() && self.shared_with.is_empty())
            || self.shared_with.contains(&library)
    }

    /// Whether `library` may lend a copy of this lot at `now`: it may lend from it, the
    /// lot is active, not past its expiry, and has checkouts left. (Whether a copy is
    /// free is [`Lot::has_free_copy`]; the database re-checks both when it takes one.)
    pub fn lendable_now(&self, library: LibraryId, now: DateTime<Utc>) -> bool {
        self.status == LotStatus::Active
            && self.expires_at.is_none_or(|end| end > now)
            && self.checkouts_left != Some(0)
            && self.lendable_by(library)
    }

    /// Whether a copy is free now.
    pub fn has_free_copy(&self) -> bool {
        self.active_loans < self.copies
    }

    /// Copies free now.
    pub fn free_copies(&self) -> u32 {
        self.copies.saturating_sub(self.active_loans)
    }

    /// This lot's place in `library`'s draw order (smaller first).
    pub fn draw_key(&self, library: LibraryId) -> DrawKey {
        let rank = match self.owner_library_id {
            Some(owner) if owner == library => 0,
            None => 1,
            Some(_) => 2,
        };
        (
            rank,
            self.expires_at.unwrap_or(DateTime::<Utc>::MAX_UTC),
            self.created_at,
        )
    }
}

/// The lots `library` may lend from at `now`, in the order it draws on them. Used by
/// borrowing, hold promotion, availability and reports alike.
pub fn draw_order(lots: &[Lot], library: LibraryId, now: DateTime<Utc>) -> Vec<&Lot> {
    let mut usable: Vec<&Lot> = lots
        .iter()
        .filter(|lot| lot.lendable_now(library, now))
        .collect();
    usable.sort_by_key(|lot| lot.draw_key(library));
    usable
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use uuid::Uuid;

    use super::*;

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000) + Duration::hours(hours)
    }

    fn lot(owner: Option<LibraryId>, created: i64) -> Lot {
        Lot {
            id: LotId::new(),
            title_id: TitleId(Uuid::nil()),
            owner_library_id: owner,
            copies: 1,
            active_loans: 0,
            checkouts_left: None,
            expires_at: None,
            status: LotStatus::Active,
            shared_with: Vec::new(),
            created_at: at(created),
        }
    }

    #[test]
    fn owners_pool_and_share_lists_decide_who_lends() {
        let (a, b, c) = (LibraryId::new(), LibraryId::new(), LibraryId::new());
        let own = lot(Some(a), 0);
        assert!(own.lendable_by(a));
        assert!(!own.lendable_by(b));
        let mut shared = lot(Some(a), 0);
        shared.shared_with = vec![b];
        assert!(shared.lendable_by(b));
        assert!(!shared.lendable_by(c));
        let open_pool = lot(None, 0);
        assert!(open_pool.lendable_by(c));
        let mut closed_pool = lot(None, 0);
        closed_pool.shared_with = vec![b];
        assert!(closed_pool.lendable_by(b));
        assert!(!closed_pool.lendable_by(c));
    }

    #[test]
    fn suspended_retired_expired_and_used_up_lots_do_not_lend() {
        let library = LibraryId::new();
        let now = at(10);
        assert!(lot(Some(library), 0).lendable_now(library, now));
        for status in [LotStatus::Suspended, LotStatus::Retired] {
            let mut l = lot(Some(library), 0);
            l.status = status;
            assert!(!l.lendable_now(library, now), "{status:?}");
        }
        let mut expired = lot(Some(library), 0);
        expired.expires_at = Some(now);
        assert!(!expired.lendable_now(library, now), "expiry is exclusive");
        expired.expires_at = Some(now + Duration::seconds(1));
        assert!(expired.lendable_now(library, now));
        let mut used_up = lot(Some(library), 0);
        used_up.checkouts_left = Some(0);
        assert!(!used_up.lendable_now(library, now));
        used_up.checkouts_left = Some(1);
        assert!(used_up.lendable_now(library, now));
    }

    #[test]
    fn draw_order_is_own_then_pool_then_shared_then_expiry_then_age() {
        let (mine, other) = (LibraryId::new(), LibraryId::new());
        let now = at(0);
        let mut shared_old = lot(Some(other), -5);
        shared_old.shared_with = vec![mine];
        let pool_new = lot(None, -1);
        let pool_old = lot(None, -3);
        let mut pool_expiring = lot(None, -1);
        pool_expiring.expires_at = Some(at(48));
        let own_new = lot(Some(mine), -1);
        let mut own_expiring = lot(Some(mine), -1);
        own_expiring.expires_at = Some(at(100));
        let mut own_expired = lot(Some(mine), -9);
        own_expired.expires_at = Some(at(-1));
        let lots = vec![
            shared_old.clone(),
            pool_new.clone(),
            own_new.clone(),
            pool_old.clone(),
            own_expired,
            pool_expiring.clone(),
            own_expiring.clone(),
        ];
        let order: Vec<LotId> = draw_order(&lots, mine, now).iter().map(|l| l.id).collect();
        assert_eq!(
            order,
            vec![
                own_expiring.id,
                own_new.id,
                pool_expiring.id,
                pool_old.id,
                pool_new.id,
                shared_old.id
            ]
        );
    }
}
