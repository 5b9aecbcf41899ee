//! Counting failed logins and locking accounts, for patrons and staff alike.
//!
//! Both updates are single statements, so concurrent wrong guesses cannot lose a count.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::Result;
use super::entity::{patron, staff};
use crate::domain::{LockoutPolicy, PatronId, StaffId};

/// An account that logs in with a password.
#[derive(Debug, Clone, Copy)]
pub enum Account {
    /// A patron.
    Patron(PatronId),
    /// A staff member.
    Staff(StaffId),
}

/// `CASE WHEN failed_logins + 1 >= max THEN lock_until ELSE locked_until END`
fn next_lock<C: ColumnTrait>(
    failed: C,
    locked: C,
    policy: &LockoutPolicy,
    now: DateTime<Utc>,
) -> SimpleExpr {
    CaseStatement::new()
        .case(
            Expr::col(failed).add(1).gte(i64::from(policy.max_failures)),
            Expr::val(now + policy.lock_for),
        )
        .finally(Expr::col(locked))
        .into()
}

/// Counts one failed login and locks the account when the count reaches the policy's
/// maximum.
pub async fn record_failure(
    conn: &impl ConnectionTrait,
    account: Account,
    policy: &LockoutPolicy,
    now: DateTime<Utc>,
) -> Result<()> {
    match account {
        Account::Patron(id) => {
            use patron::Column as C;
            patron::Entity::update_many()
                .col_expr(
                    C::LockedUntil,
                    next_lock(C::FailedLogins, C::LockedUntil, policy, now),
                )
                .col_expr(C::FailedLogins, Expr::col(C::FailedLogins).add(1))
                .filter(C::Id.eq(id.0))
                .exec(conn)
                .await?;
        }
        Account::Staff(id) => {
            use staff::Column as C;
            staff::Entity::update_many()
                .col_expr(
                    C::LockedUntil,
                    next_lock(C::FailedLogins, C::LockedUntil, policy, now),
                )
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
