//! The reader-facing paths of the HTTP API, written once. The client core builds every
//! request from these; the server's routes serve the same strings.
//!
//! Constants are the fixed paths; functions fill in ids. Paths are absolute (they start
//! with `/`) and carry no query string except where a function says so.

use uuid::Uuid;

/// The prefix of every API path.
pub const API: &str = "/api/v1";

/// The issuer's public keys (JWK Set), pinned in apps at build time.
pub const ISSUER_KEYS: &str = "/.well-known/jieyue/keys";

/// `POST`: a reader logs in with a library card.
pub const LOGIN: &str = "/api/v1/auth/login";

/// `POST`: ends the session.
pub const LOGOUT: &str = "/api/v1/auth/logout";

/// `GET`: the reader's profile.
pub const ME: &str = "/api/v1/me";

/// `GET`: the consortium's member libraries.
pub const LIBRARIES: &str = "/api/v1/libraries";

/// `GET`: search and browse the catalogue.
pub const CATALOG: &str = "/api/v1/catalog";

/// `GET`/`POST`: the reader's devices; `POST` enrols one.
pub const DEVICES: &str = "/api/v1/me/devices";

/// `GET`: active loans; `POST`: borrow.
pub const LOANS: &str = "/api/v1/me/loans";

/// `GET`: every loan, ended ones included.
pub const ALL_LOANS: &str = "/api/v1/me/loans?all=true";

/// `GET`/`POST`: the reader's holds; `POST` places one.
pub const HOLDS: &str = "/api/v1/me/holds";

/// `GET`: the reader's notifications (`?after=` a cursor).
pub const NOTIFICATIONS: &str = "/api/v1/me/notifications";

/// `GET`: the reader's saved reading positions.
pub const POSITIONS: &str = "/api/v1/me/positions";

/// `GET`: one title's details.
pub fn catalog_item(title: Uuid) -> String {
    format!("{CATALOG}/{title}")
}

/// `GET`: a title's encrypted package (also given in each licence's links).
pub fn package(title: Uuid) -> String {
    format!("{CATALOG}/{title}/package")
}

/// `DELETE`: removes an enrolled device.
pub fn device(device: Uuid) -> String {
    format!("{DEVICES}/{device}")
}

/// `GET`: the licence of a loan for one device (`LoanView::licence` holds the path
/// without the query).
pub fn loan_licence(loan: Uuid, device: Uuid) -> String {
    format!("{LOANS}/{loan}/licence?device={device}")
}

/// `POST`: returns a loan early.
pub fn loan_return(loan: Uuid) -> String {
    format!("{LOANS}/{loan}/return")
}

/// `POST`: renews a loan.
pub fn loan_renew(loan: Uuid) -> String {
    format!("{LOANS}/{loan}/renew")
}

/// `DELETE`: cancels a hold.
pub fn hold(hold: Uuid) -> String {
    format!("{HOLDS}/{hold}")
}

/// `POST`: suspends or resumes a hold.
pub fn hold_suspend(hold: Uuid) -> String {
    format!("{HOLDS}/{hold}/suspend")
}

/// `GET`/`PUT`: the reader's position in one title.
pub fn position(title: Uuid) -> String {
    format!("{POSITIONS}/{title}")
}

/// `GET`: a licence's signed status document (also given in each licence's links).
pub fn licence_status(licence: Uuid) -> String {
    format!("{API}/licences/{licence}/status")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_api_path_is_under_the_prefix() {
        let id = Uuid::nil();
        let paths = [
            LOGIN.to_owned(),
            LOGOUT.to_owned(),
            ME.to_owned(),
            LIBRARIES.to_owned(),
            CATALOG.to_owned(),
            DEVICES.to_owned(),
            LOANS.to_owned(),
            ALL_LOANS.to_owned(),
            HOLDS.to_owned(),
            NOTIFICATIONS.to_owned(),
            POSITIONS.to_owned(),
            catalog_item(id),
            package(id),
            device(id),
            loan_licence(id, id),
            loan_return(id),
            loan_renew(id),
            hold(id),
            hold_suspend(id),
            position(id),
            licence_status(id),
        ];
        for path in paths {
            assert!(path.starts_with("/api/v1/"), "{path}");
        }
    }

    #[test]
    fn ids_fill_the_templates() {
        let loan = Uuid::from_u128(1);
        let device = Uuid::from_u128(2);
        assert_eq!(
            loan_licence(loan, device),
            format!("/api/v1/me/loans/{loan}/licence?device={device}")
        );
        assert_eq!(
            hold_suspend(loan),
            format!("/api/v1/me/holds/{loan}/suspend")
        );
    }
}
