use jieyue_protocol::api::SecretString;

use super::validation::FieldError;

/// A password chosen by a person, checked against the policy: 8 to 128 characters,
/// not only spaces. Characters, not bytes, are counted, so a Chinese passphrase works.
/// Its memory is wiped on drop and `Debug` shows nothing.
#[derive(Clone)]
pub struct Password(SecretString);

impl Password {
    /// Shortest password accepted.
    pub const MIN_CHARS: usize = 8;
    /// Longest password accepted (bounds the hashing work an attacker can ask for).
    pub const MAX_CHARS: usize = 128;

    /// Checks a new password against the policy. `field` names it in the error.
    pub fn parse_new(field: &'static str, raw: &SecretString) -> Result<Self, FieldError> {
        let chars = raw.expose().chars().count();
        if chars < Self::MIN_CHARS {
            return Err(FieldError::new(
                field,
                format!("must be at least {} characters", Self::MIN_CHARS),
            ));
        }
        if chars > Self::MAX_CHARS {
            return Err(FieldError::new(
                field,
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if raw.expose().trim().is_empty() {
            return Err(FieldError::new(field, "must not be only spaces"));
        }
        Ok(Self(raw.clone()))
    }

    /// A password offered at login: not checked against the policy (old passwords
    /// stay valid), only bounded in length so it cannot be used to waste CPU.
    pub fn candidate(raw: &SecretString) -> Option<Self> {
        (raw.expose().len() <= Self::MAX_CHARS * 4).then(|| Self(raw.clone()))
    }

    /// The bytes to hash.
    pub fn expose(&self) -> &[u8] {
        self.0.expose().as_bytes()
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

/// A password hash in PHC string format (`$argon2id$v=19$...`).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(pub String);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_policy_counts_characters() {
        let ok = |s: &str| Password::parse_new("password", &SecretString::new(s)).is_ok();
        assert!(ok("correct horse"));
        assert!(
            ok("借阅借阅借阅借阅"),
            "eight Chinese characters are enough"
        );
        assert!(!ok("short"));
        assert!(!ok("        "));
        assert!(!ok(&"x".repeat(129)));
    }

    #[test]
    fn debug_hides_passwords_and_hashes() {
        let password =
            Password::parse_new("p", &SecretString::new("hunter2hunter2")).expect("valid");
        assert_eq!(format!("{password:?}"), "Password(..)");
        assert_eq!(
            format!("{:?}", PasswordHash("$argon2id$x".into())),
            "PasswordHash(..)"
        );
    }
}
