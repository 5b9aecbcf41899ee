//! Domain types and rules: what a library, a staff member, a patron and a password are,
//! and who may do what. No HTTP and no SQL here: values are parsed at the edge into
//! these types, and the rules are plain functions over them.

mod calendar;
mod device;
pub mod distribution;
mod hold;
mod ids;
mod lending;
mod library;
mod login_guard;
mod lot;
mod password;
mod patron;
mod staff;
mod title;
mod validation;

pub use calendar::Calendar;
pub use device::{Device, IssuedLicence, Notification, NotificationKind};
pub use hold::{Hold, HoldMove, HoldState, estimated_wait_days, queue_position};
pub use ids::{
    DeviceId, HoldId, LibraryId, LicenceId, LoanId, LotId, PatronId, SessionId, StaffId, TitleId,
};
pub use lending::{
    CirculationBar, LendingRules, Loan, LoanState, RenewalRefusal, kind_rules_key, rules_key,
    rules_precedence, with_kind_loan_length,
};
pub use library::{Library, LibraryCode, LibraryName, NewLibrary, Region};
pub use login_guard::{LoginGuard, ThrottlePolicy};
pub use lot::{DrawKey, Lot, LotStatus, draw_order};
pub use password::{Password, PasswordHash};
pub use patron::{CardNumber, DisplayName, NewPatron, Patron, PatronCategory};
pub use staff::{LibraryScope, NewStaff, Staff, StaffRole, Username};
pub use title::{
    Author, Layout, MediaFacts, PublicationIdentifier, PublicationKind, Title, TitleMetadata,
    sort_key,
};
pub use validation::{FieldError, Invalid, REASON_MAX_CHARS, Validator, staff_reason};
