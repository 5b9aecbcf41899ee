use chrono::{DateTime, Utc};

use super::validation::{FieldError, trimmed};
use super::{LibraryId, PasswordHash, PatronId};

/// The number on a library card: 1-64 characters of ASCII letters, digits and `-`,
/// stored upper-case (barcodes are case-insensitive). Unique within a library.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CardNumber(String);

impl CardNumber {
    /// Parses a card number from user input.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let card = raw.trim().to_ascii_uppercase();
        let valid = (1..=64).contains(&card.len())
            && card.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if valid {
            Ok(Self(card))
        } else {
            Err(FieldError::new(
                "card_number",
                "must be 1-64 letters, digits or '-'",
            ))
        }
    }

    /// The card number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's name as shown in the app and the console (1-200 characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// Parses a display name from user input.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        trimmed("display_name", raw, 1, 200).map(Self)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A patron category (`adult`, `child`, `student`, ...): 1-32 lowercase ASCII
/// letters, digits, `_` or `-`. Lending rules are chosen per library and category.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PatronCategory(String);

impl PatronCategory {
    /// Parses a category from user input.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let category = raw.trim().to_ascii_lowercase();
        let valid = (1..=32).contains(&category.len())
            && category
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if valid {
            Ok(Self(category))
        } else {
            Err(FieldError::new(
                "category",
                "must be 1-32 lowercase letters, digits, '_' or '-'",
            ))
        }
    }

    /// The category.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What it takes to register a patron.
#[derive(Debug, Clone)]
pub struct NewPatron {
    /// Home library.
    pub library_id: LibraryId,
    /// Library card number.
    pub card_number: CardNumber,
    /// Name.
    pub display_name: DisplayName,
    /// Category.
    pub category: PatronCategory,
    /// When the card expires.
    pub card_expires_at: DateTime<Utc>,
    /// Argon2id hash of the initial password.
    pub password_hash: PasswordHash,
}

/// A registered reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patron {
    /// Id.
    pub id: PatronId,
    /// Home library.
    pub library_id: LibraryId,
    /// Library card number.
    pub card_number: String,
    /// Name.
    pub display_name: String,
    /// Category.
    pub category: String,
    /// When the card expires.
    pub card_expires_at: DateTime<Utc>,
    /// Whether the library blocked the account from borrowing.
    pub blocked: bool,
    /// Why, if blocked (shown to staff only).
    pub blocked_reason: Option<String>,
    /// When the patron registered.
    pub created_at: DateTime<Utc>,
}

impl Patron {
    /// Whether the card is valid at `now`. Expired cards log in but cannot borrow.
    pub fn card_valid_at(&self, now: DateTime<Utc>) -> bool {
        now < self.card_expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_numbers_are_upper_cased_and_restricted() {
        assert_eq!(
            CardNumber::parse(" c0001 ").map(|c| c.0),
            Ok("C0001".to_owned())
        );
        assert!(CardNumber::parse("2100-3344-55").is_ok());
        for bad in ["", "  ", "C 0001", "卡号", &"9".repeat(65)] {
            assert!(CardNumber::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn categories_are_slugs() {
        assert_eq!(
            PatronCategory::parse("Adult").map(|c| c.0),
            Ok("adult".to_owned())
        );
        assert!(PatronCategory::parse("senior_60").is_ok());
        assert!(PatronCategory::parse("成人").is_err());
        assert!(PatronCategory::parse("").is_err());
    }
}
