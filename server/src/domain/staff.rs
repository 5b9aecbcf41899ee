use chrono::{DateTime, Utc};

use super::validation::{FieldError, trimmed};
use super::{LibraryId, PasswordHash, StaffId};

/// What a staff member may do. Every role but the consortium admin is bound to one
/// library, and every admin action is checked against that scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StaffRole {
    /// Runs the consortium: creates libraries, manages every library's staff and data.
    ConsortiumAdmin,
    /// Runs one library: its settings, its staff, its patrons.
    LibraryManager,
    /// Serves one library's patrons.
    Librarian,
}

impl StaffRole {
    /// The stored and wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            StaffRole::ConsortiumAdmin => "consortium_admin",
            StaffRole::LibraryManager => "library_manager",
            StaffRole::Librarian => "librarian",
        }
    }

    /// Parses the stored or wire name.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        match raw {
            "consortium_admin" => Ok(StaffRole::ConsortiumAdmin),
            "library_manager" => Ok(StaffRole::LibraryManager),
            "librarian" => Ok(StaffRole::Librarian),
            _ => Err(FieldError::new(
                "role",
                "must be consortium_admin, library_manager or librarian",
            )),
        }
    }
}

/// Which libraries' data a staff member can see and change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LibraryScope {
    /// Every library (consortium admins).
    All,
    /// One library.
    One(LibraryId),
}

impl LibraryScope {
    /// Whether `library` is inside the scope.
    pub fn contains(self, library: LibraryId) -> bool {
        match self {
            LibraryScope::All => true,
            LibraryScope::One(own) => own == library,
        }
    }
}

/// A staff login name: 3-64 characters of lowercase ASCII letters, digits, `.`, `_`
/// and `-`. Parsing lowercases, so `Admin` and `admin` are the same account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Parses a username from user input.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let name = raw.trim().to_ascii_lowercase();
        let valid = (3..=64).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c));
        if valid {
            Ok(Self(name))
        } else {
            Err(FieldError::new(
                "username",
                "must be 3-64 lowercase letters, digits, '.', '_' or '-'",
            ))
        }
    }

    /// The username.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What it takes to create a staff account.
#[derive(Debug, Clone)]
pub struct NewStaff {
    /// Login name.
    pub username: Username,
    /// Name shown in the console.
    pub display_name: String,
    /// Role.
    pub role: StaffRole,
    /// The library; `None` only for consortium admins.
    pub library_id: Option<LibraryId>,
    /// Argon2id hash of the initial password.
    pub password_hash: PasswordHash,
}

impl NewStaff {
    /// Parses a display name for a staff member.
    pub fn parse_display_name(raw: &str) -> Result<String, FieldError> {
        trimmed("display_name", raw, 1, 200)
    }

    /// Checks that the role and the library go together.
    pub fn check_role_scope(
        role: StaffRole,
        library_id: Option<LibraryId>,
    ) -> Result<(), FieldError> {
        match (role, library_id) {
            (StaffRole::ConsortiumAdmin, _) | (_, Some(_)) => Ok(()),
            (_, None) => Err(FieldError::new(
                "library_id",
                "is required for library managers and librarians",
            )),
        }
    }
}

/// A staff account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    /// Id.
    pub id: StaffId,
    /// Login name.
    pub username: String,
    /// Name shown in the console.
    pub display_name: String,
    /// Role.
    pub role: StaffRole,
    /// The library; `None` only for consortium admins.
    pub library_id: Option<LibraryId>,
    /// Whether the account may log in.
    pub active: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl Staff {
    /// The libraries this staff member may act on.
    pub fn scope(&self) -> LibraryScope {
        match (self.role, self.library_id) {
            (StaffRole::ConsortiumAdmin, _) => LibraryScope::All,
            (_, Some(library)) => LibraryScope::One(library),
            // The database refuses this combination; if it ever appeared, the safe
            // reading is "no library at all", which a nil id gives.
            (_, None) => LibraryScope::One(LibraryId(uuid::Uuid::nil())),
        }
    }

    /// Only consortium admins create libraries.
    pub fn may_create_libraries(&self) -> bool {
        self.role == StaffRole::ConsortiumAdmin
    }

    /// Consortium admins edit any library, managers their own.
    pub fn may_edit_library(&self, library: LibraryId) -> bool {
        match self.role {
            StaffRole::ConsortiumAdmin => true,
            StaffRole::LibraryManager => self.scope().contains(library),
            StaffRole::Librarian => false,
        }
    }

    /// Whether this staff member may create, change or deactivate a staff account with
    /// `role` in `library`. Managers manage their own library's staff but cannot make
    /// consortium admins; librarians manage no one.
    pub fn may_manage_staff(&self, role: StaffRole, library: Option<LibraryId>) -> bool {
        match self.role {
            StaffRole::ConsortiumAdmin => true,
            StaffRole::LibraryManager => {
                role != StaffRole::ConsortiumAdmin
                    && library.is_some_and(|library| self.scope().contains(library))
            }
            StaffRole::Librarian => false,
        }
    }

    /// Every staff role serves the patrons of the libraries in its scope.
    pub fn may_manage_patrons_of(&self, library: LibraryId) -> bool {
        self.scope().contains(library)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staff(role: StaffRole, library: Option<LibraryId>) -> Staff {
        Staff {
            id: StaffId::new(),
            username: "someone".into(),
            display_name: "Someone".into(),
            role,
            library_id: library,
            active: true,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in [
            StaffRole::ConsortiumAdmin,
            StaffRole::LibraryManager,
            StaffRole::Librarian,
        ] {
            assert_eq!(StaffRole::parse(role.as_str()), Ok(role));
        }
        assert!(StaffRole::parse("root").is_err());
    }

    #[test]
    fn scope_follows_role_and_library() {
        let (city, county) = (LibraryId::new(), LibraryId::new());
        let admin = staff(StaffRole::ConsortiumAdmin, None);
        let manager = staff(StaffRole::LibraryManager, Some(city));
        let librarian = staff(StaffRole::Librarian, Some(city));

        assert!(admin.may_manage_patrons_of(county));
        assert!(librarian.may_manage_patrons_of(city));
        assert!(!librarian.may_manage_patrons_of(county));

        assert!(admin.may_create_libraries());
        assert!(!manager.may_create_libraries());
        assert!(manager.may_edit_library(city));
        assert!(!manager.may_edit_library(county));
        assert!(!librarian.may_edit_library(city));

        assert!(manager.may_manage_staff(StaffRole::Librarian, Some(city)));
        assert!(manager.may_manage_staff(StaffRole::LibraryManager, Some(city)));
        assert!(!manager.may_manage_staff(StaffRole::Librarian, Some(county)));
        assert!(!manager.may_manage_staff(StaffRole::ConsortiumAdmin, None));
        assert!(!librarian.may_manage_staff(StaffRole::Librarian, Some(city)));
        assert!(admin.may_manage_staff(StaffRole::ConsortiumAdmin, None));
    }

    #[test]
    fn usernames_are_case_insensitive() {
        assert_eq!(
            Username::parse(" Admin ").map(|u| u.0),
            Ok("admin".to_owned())
        );
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("张三").is_err());
        assert!(Username::parse("li.si_2").is_ok());
    }

    #[test]
    fn only_consortium_admins_may_have_no_library() {
        assert!(NewStaff::check_role_scope(StaffRole::ConsortiumAdmin, None).is_ok());
        assert!(NewStaff::check_role_scope(StaffRole::Librarian, None).is_err());
        assert!(NewStaff::check_role_scope(StaffRole::Librarian, Some(LibraryId::new())).is_ok());
    }
}
