use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered (UUID v7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

id_type!(
    /// Identifies a member library.
    LibraryId
);
id_type!(
    /// Identifies a staff account.
    StaffId
);
id_type!(
    /// Identifies a patron (reader).
    PatronId
);
id_type!(
    /// Identifies a login session.
    SessionId
);
id_type!(
    /// Identifies a catalogued title (publication).
    TitleId
);
id_type!(
    /// Identifies a licence lot (copies a library or the consortium bought).
    LotId
);
id_type!(
    /// Identifies a loan.
    LoanId
);
id_type!(
    /// Identifies a hold.
    HoldId
);
id_type!(
    /// Identifies an enrolled reading device (chosen by the app).
    DeviceId
);
id_type!(
    /// Identifies an issued licence (one per loan and device).
    LicenceId
);
