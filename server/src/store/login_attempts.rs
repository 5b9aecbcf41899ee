//! Counting failed logins, for patrons and staff alike (who must wait is the login
//! throttle's business, `service::throttle`).
//!
//! Both updates are single statements, so concurrent wrong guesses cannot lose a count.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::Result;
use super::entity::{patron, staff};
use crate::domain::{PatronId, StaffId};

/// An account that logs in with a password.
#[derive(Debug, Clone, Copy)]
pub enum Account {
    /// A patron.
    Patron(PatronId),
    /// A staff member.
    Staff(StaffId),
}

/// Counts one failed login (for staff to see; the throttle, not this count, decides
/// who waits).
pub async fn record_failure(conn: &impl ConnectionTrait, account: Account) -> Result<()> {
    match account {
        Account::Patron(id) => {
            use patron::Column as C;
            patron::Entity::update_many()
                .col_expr(C::FailedLogins, Expr::col(C::FailedLogins).add(1))
                .filter(C::Id.eq(id.0))
                .exec(conn)
                .await?;
        }
        Account::Staff(id) => {
            use staff::Column as C;
            staff::Entity::update_many()
                .col_expr(C::FailedLogins, Expr::col(C::FailedLogins).add(1))
                .filter(C::Id.eq(id.0))
                .exec(conn)
                .await?;
        }
    }
    Ok(())
}

/// Clears the failure count and any lock after a successful login.
pub async fn record_success(conn: &impl ConnectionTrait, account: Account) -> Result<()> {
    let no_lock: Option<DateTime<Utc>> = None;
    match account {
        Account::Patron(id) => {
            use patron::Column as C;
            patron::Entity::update_many()
                .col_expr(C::FailedLogins, Expr::val(0))
                .col_expr(C::LockedUntil, Expr::val(no_lock))
                .filter(C::Id.eq(id.0))
                .filter(C::FailedLogins.ne(0).or(C::LockedUntil.is_not_null()))
                .exec(conn)
                .await?;
        }
        Account::Staff(id) => {
            use staff::Column as C;
            staff::Entity::update_many()
                .col_expr(C::FailedLogins, Expr::val(0))
                .col_expr(C::LockedUntil, Expr::val(no_lock))
                .filter(C::Id.eq(id.0))
                .filter(C::FailedLogins.ne(0).or(C::LockedUntil.is_not_null()))
                .exec(conn)
                .await?;
        }
    }
    Ok(())
}
