//! Lending rules and loans.

use chrono::{DateTime, Duration, Utc};

use super::validation::FieldError;
use super::{LibraryId, LoanId, LotId, PatronId, TitleId};

/// One cell of the rules matrix: library × patron category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LendingRules {
    /// Loan length when the reader does not choose.
    pub loan_days_default: u32,
    /// Longest loan a reader may choose.
    pub loan_days_max: u32,
    /// Active loans at once.
    pub max_loans: u32,
    /// Holds at once.
    pub max_holds: u32,
    /// Renewals per loan.
    pub renewals: u32,
    /// Days a renewal adds.
    pub renewal_days: u32,
    /// Hours a ready hold waits for pickup.
    pub pickup_hours: u32,
    /// Devices a patron may enrol.
    pub max_devices: u32,
}

impl LendingRules {
    /// Checks the values make sense together.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.loan_days_default == 0 || self.loan_days_default > 365 {
            return Err(FieldError::new("loan_days_default", "must be 1-365"));
        }
        if self.loan_days_max < self.loan_days_default || self.loan_days_max > 365 {
            return Err(FieldError::new(
                "loan_days_max",
                "must be at least the default and at most 365",
            ));
        }
        if self.renewal_days == 0 || self.renewal_days > 365 {
            return Err(FieldError::new("renewal_days", "must be 1-365"));
        }
        if self.pickup_hours == 0 || self.pickup_hours > 24 * 30 {
            return Err(FieldError::new("pickup_hours", "must be 1-720"));
        }
        if self.max_devices == 0 || self.max_devices > 20 {
            return Err(FieldError::new("max_devices", "must be 1-20"));
        }
        if self.max_loans > 1000 || self.max_holds > 1000 || self.renewals > 100 {
            return Err(FieldError::new(
                "max_loans",
                "limits must be at most 1000 (renewals 100)",
            ));
        }
        Ok(())
    }

    /// The loan length for a reader's request (`None`: the default). A reader may choose
    /// any length from one day to the maximum.
    pub fn loan_days(&self, requested: Option<u32>) -> Result<u32, FieldError> {
        match requested {
            None => Ok(self.loan_days_default),
            Some(days) if (1..=self.loan_days_max).contains(&days) => Ok(days),
            Some(_) => Err(FieldError::new(
                "days",
                format!("must be between 1 and {}", self.loan_days_max),
            )),
        }
    }
}

/// The key of a rules cell: `<library id or *>:<category or *>`.
pub fn rules_key(library: Option<LibraryId>, category: Option<&str>) -> String {
    format!(
        "{}:{}",
        library.map_or_else(|| "*".to_owned(), |l| l.to_string()),
        category.unwrap_or("*")
    )
}

/// The key of a cell for one kind of publication: `<library or *>:<category or *>:<kind>`.
pub fn kind_rules_key(library: Option<LibraryId>, category: Option<&str>, kind: &str) -> String {
    format!("{}:{kind}", rules_key(library, category))
}

/// The rules for a loan of a title of some kind: the patron's cell, with the loan length
/// (default and longest) of the most specific cell for that kind, when there is one.
/// Loans, holds, renewals and devices at once stay the patron's: they count across kinds.
pub fn with_kind_loan_length(
    rules: LendingRules,
    kind_cell: Option<&LendingRules>,
) -> LendingRules {
    match kind_cell {
        Some(cell) => LendingRules {
            loan_days_default: cell.loan_days_default,
            loan_days_max: cell.loan_days_max,
            ..rules
        },
        None => rules,
    }
}

/// The cells that may apply to a patron, most specific first: the library's rule for
/// the category, the library's default, the consortium's rule for the category, the
/// consortium default. The first that exists wins.
pub fn rules_precedence(library: LibraryId, category: &str) -> [String; 4] {
    [
        rules_key(Some(library), Some(category)),
        rules_key(Some(library), None),
        rules_key(None, Some(category)),
        rules_key(None, None),
    ]
}

/// Where a loan is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoanState {
    /// Running.
    Active,
    /// Returned early by the reader.
    Returned,
    /// Ran to its end.
    Expired,
    /// Ended by the library.
    Revoked,
}

impl LoanState {
    /// Stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            LoanState::Active => "active",
            LoanState::Returned => "returned",
            LoanState::Expired => "expired",
            LoanState::Revoked => "revoked",
        }
    }

    /// Parses the stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "active" => Some(LoanState::Active),
            "returned" => Some(LoanState::Returned),
            "expired" => Some(LoanState::Expired),
            "revoked" => Some(LoanState::Revoked),
            _ => None,
        }
    }
}

/// A loan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loan {
    /// Id.
    pub id: LoanId,
    /// The reader.
    pub patron_id: PatronId,
    /// The title.
    pub title_id: TitleId,
    /// The lot whose copy it uses.
    pub lot_id: LotId,
    /// The reader's home library when borrowing (for reports).
    pub library_id: LibraryId,
    /// The client's request id (borrowing is idempotent on it).
    pub request_id: uuid::Uuid,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// End (moves on renewal).
    pub ends_at: DateTime<Utc>,
    /// Renewals so far.
    pub renewals: u32,
    /// State.
    pub state: LoanState,
    /// When it ended, if it has.
    pub ended_at: Option<DateTime<Utc>>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Why a renewal is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenewalRefusal {
    /// The loan has ended.
    LoanEnded,
    /// Every renewal the rules allow has been used.
    NoRenewalsLeft,
    /// Other readers are waiting for the title.
    OthersWaiting,
}

impl Loan {
    /// The end after one more renewal under `rules`.
    pub fn renewed_end(&self, rules: &LendingRules) -> DateTime<Utc> {
        self.ends_at + Duration::days(i64::from(rules.renewal_days))
    }

    /// Renewals `rules` still allow (none once the loan has ended).
    pub fn renewals_left(&self, rules: &LendingRules) -> u32 {
        if self.state == LoanState::Active {
            rules.renewals.saturating_sub(self.renewals)
        } else {
            0
        }
    }

    /// Whether the loan may be renewed under `rules` when `others_waiting` readers are
    /// in the title's queue: it must be active, have renewals left, and nobody may be
    /// waiting.
    pub fn may_renew(
        &self,
        rules: &LendingRules,
        others_waiting: bool,
    ) -> Result<(), RenewalRefusal> {
        if self.state != LoanState::Active {
            Err(RenewalRefusal::LoanEnded)
        } else if self.renewals_left(rules) == 0 {
            Err(RenewalRefusal::NoRenewalsLeft)
        } else if others_waiting {
            Err(RenewalRefusal::OthersWaiting)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> LendingRules {
        LendingRules {
            loan_days_default: 14,
            loan_days_max: 21,
            max_loans: 5,
            max_holds: 5,
            renewals: 1,
            renewal_days: 7,
            pickup_hours: 72,
            max_devices: 3,
        }
    }

    #[test]
    fn readers_choose_a_loan_length_up_to_the_maximum() {
        let r = rules();
        assert_eq!(r.loan_days(None), Ok(14));
        assert_eq!(r.loan_days(Some(3)), Ok(3));
        assert_eq!(r.loan_days(Some(21)), Ok(21));
        assert!(r.loan_days(Some(22)).is_err());
        assert!(r.loan_days(Some(0)).is_err());
    }

    #[test]
    fn precedence_goes_from_most_to_least_specific() {
        let library = LibraryId(uuid::Uuid::nil());
        assert_eq!(
            rules_precedence(library, "child"),
            [
                "00000000-0000-0000-0000-000000000000:child".to_owned(),
                "00000000-0000-0000-0000-000000000000:*".to_owned(),
                "*:child".to_owned(),
                "*:*".to_owned(),
            ]
        );
    }

    fn loan(renewals: u32, state: LoanState) -> Loan {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        Loan {
            id: LoanId::new(),
            patron_id: PatronId::new(),
            title_id: TitleId::new(),
            lot_id: LotId::new(),
            library_id: LibraryId::new(),
            request_id: uuid::Uuid::nil(),
            started_at: now,
            ends_at: now + Duration::days(14),
            renewals,
            state,
            ended_at: None,
            updated_at: now,
        }
    }

    #[test]
    fn renewal_needs_an_active_loan_renewals_left_and_nobody_waiting() {
        let r = rules(); // one renewal
        assert_eq!(loan(0, LoanState::Active).may_renew(&r, false), Ok(()));
        assert_eq!(loan(0, LoanState::Active).renewals_left(&r), 1);
        assert_eq!(
            loan(1, LoanState::Active).may_renew(&r, false),
            Err(RenewalRefusal::NoRenewalsLeft)
        );
        assert_eq!(
            loan(0, LoanState::Active).may_renew(&r, true),
            Err(RenewalRefusal::OthersWaiting)
        );
        for ended in [LoanState::Returned, LoanState::Expired, LoanState::Revoked] {
            assert_eq!(
                loan(0, ended).may_renew(&r, false),
                Err(RenewalRefusal::LoanEnded)
            );
            assert_eq!(loan(0, ended).renewals_left(&r), 0);
        }
        let l = loan(0, LoanState::Active);
        assert_eq!(l.renewed_end(&r), l.ends_at + Duration::days(7));
    }

    #[test]
    fn nonsense_rules_are_refused() {
        let mut r = rules();
        r.loan_days_max = 7;
        assert!(r.validate().is_err());
        let mut r = rules();
        r.max_devices = 0;
        assert!(r.validate().is_err());
        assert!(rules().validate().is_ok());
    }
}

/// Why a reader may not borrow or place holds at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CirculationBar {
    /// The library blocked the reader.
    Blocked,
    /// The reader's card has expired.
    CardExpired,
}

impl super::Patron {
    /// What bars the reader from borrowing or placing holds at `now`, if anything.
    pub fn circulation_bar(&self, now: DateTime<Utc>) -> Option<CirculationBar> {
        if self.blocked {
            Some(CirculationBar::Blocked)
        } else if !self.card_valid_at(now) {
            Some(CirculationBar::CardExpired)
        } else {
            None
        }
    }
}
