use chrono::{DateTime, Utc};

use super::LibraryId;
use super::validation::{FieldError, trimmed};

/// A library's short code, typed by readers at login: 2-32 characters of lowercase
/// ASCII letters, digits and `-`, starting with a letter. Parsing lowercases it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LibraryCode(String);

impl LibraryCode {
    /// Parses a code from user input.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let code = raw.trim().to_ascii_lowercase();
        let valid_chars = code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        let starts_with_letter = code.chars().next().is_some_and(|c| c.is_ascii_lowercase());
        if !(2..=32).contains(&code.len()) || !valid_chars || !starts_with_letter {
            return Err(FieldError::new(
                "code",
                "must be 2-32 lowercase letters, digits or '-', starting with a letter",
            ));
        }
        Ok(Self(code))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A library's display name (1-200 characters; Chinese is normal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryName(String);

impl LibraryName {
    /// Parses a name from user input.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        trimmed("name", raw, 1, 200).map(Self)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The region or county a library serves (1-200 characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region(String);

impl Region {
    /// Parses a region from user input.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        trimmed("region", raw, 1, 200).map(Self)
    }

    /// The region.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What it takes to create a library.
#[derive(Debug, Clone)]
pub struct NewLibrary {
    /// Login code.
    pub code: LibraryCode,
    /// Display name.
    pub name: LibraryName,
    /// Region served.
    pub region: Option<Region>,
}

/// A member library of the consortium.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Library {
    /// Id.
    pub id: LibraryId,
    /// Login code.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Region served.
    pub region: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_codes_are_normalised_and_restricted() {
        assert_eq!(
            LibraryCode::parse(" City ").map(|c| c.0),
            Ok("city".to_owned())
        );
        assert!(LibraryCode::parse("chun-an2").is_ok());
        for bad in [
            "",
            "c",
            "2city",
            "city library",
            "图书馆",
            "a/b",
            &"x".repeat(33),
        ] {
            assert!(
                LibraryCode::parse(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
    }
}
