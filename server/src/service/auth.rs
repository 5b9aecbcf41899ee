//! Logging in and out, sessions, password changes.

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jieyue_protocol::api::SecretString;
use ring::digest::{SHA256, digest};
use ring::rand::{SecureRandom, SystemRandom};

use super::{Ctx, Error, Result};
use crate::domain::{
    CardNumber, Library, LibraryCode, LibraryScope, LoginGuard, Password, PasswordHash, Patron,
    SessionId, Staff, Username, Validator,
};
use crate::store::audit::{self, Actor, AuditEntry};
use crate::store::login_attempts::{self, Account};
use crate::store::sessions::{self, Principal};
use crate::store::{libraries, patrons, staff};

/// A newly issued bearer token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The token to hand to the client (never stored).
    pub token: SecretString,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
}

/// Who a request's bearer token belongs to.
#[derive(Debug, Clone)]
pub enum Authenticated {
    /// A patron.
    Patron {
        /// The session.
        session: SessionId,
        /// The patron, as of this request.
        patron: Patron,
    },
    /// A staff member (always active).
    Staff {
        /// The session.
        session: SessionId,
        /// The staff member, as of this request.
        staff: Staff,
    },
}

fn new_token() -> Result<(SecretString, [u8; 32])> {
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    SystemRandom::new()
        .fill(bytes.as_mut())
        .map_err(|_| Error::Bug("the system random generator failed"))?;
    let token = SecretString::new(URL_SAFE_NO_PAD.encode(bytes.as_ref()));
    let hash = hash_token(token.expose());
    Ok((token, hash))
}

fn hash_token(token: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
    out
}

/// Checks a password for an account found (or not) by the caller. The throttle is
/// asked first, before any hashing, under the account *name* the caller typed (`key`)
/// and the client's address, so a known and an unknown account answer alike. Returns
/// the account only when it exists and the password is right.
async fn check_password(
    ctx: &Ctx,
    key: &str,
    client: Option<IpAddr>,
    account: Option<(Account, PasswordHash, LoginGuard)>,
    password: &SecretString,
) -> Result<Account> {
    let now = ctx.clock.now();
    let policy = &ctx.auth.throttle;
    ctx.throttle
        .admit(policy, key, client, now)
        .map_err(|retry_after| Error::LockedOut { retry_after })?;
    // Every attempt heard is already counted as a failure; a right password takes it
    // back.
    let Some(candidate) = Password::candidate(password) else {
        return Err(Error::InvalidCredentials);
    };
    let (account, hash) = match account {
        Some((account, hash, _)) => (Some(account), Some(hash)),
        None => (None, None),
    };
    let matches = ctx.passwords.verify(candidate, hash).await?;
    match (account, matches) {
        (Some(account), true) => {
            ctx.throttle.succeeded(policy, key, client, now);
            Ok(account)
        }
        (Some(account), false) => {
            let txn = ctx.db.begin_write().await?;
            login_attempts::record_failure(&txn, account).await?;
            txn.commit().await?;
            Err(Error::InvalidCredentials)
        }
        (None, _) => Err(Error::InvalidCredentials),
    }
}

async fn open_session(ctx: &Ctx, account: Account, principal: Principal) -> Result<IssuedToken> {
    let now = ctx.clock.now();
    let lifetime = match principal {
        Principal::Patron(_) => ctx.auth.patron_session,
        Principal::Staff(_) => ctx.auth.staff_session,
    };
    let (token, hash) = new_token()?;
    let txn = ctx.db.begin_write().await?;
    login_attempts::record_success(&txn, account).await?;
    let session = sessions::insert(&txn, hash, principal, now, now + lifetime).await?;
    txn.commit().await?;
    Ok(IssuedToken {
        token,
        expires_at: session.expires_at,
    })
}

/// A patron logs in with library code, card number and password.
pub async fn patron_login(
    ctx: &Ctx,
    library_code: &str,
    card_number: &str,
    password: &SecretString,
    client: Option<IpAddr>,
) -> Result<(IssuedToken, Patron, Library)> {
    let mut v = Validator::new();
    let code = v.check(LibraryCode::parse(library_code).map_err(|mut e| {
        e.field = "library_code";
        e
    }));
    let card = v.check(CardNumber::parse(card_number));
    v.finish()?;
    let (Some(code), Some(card)) = (code, card) else {
        return Err(Error::InvalidCredentials);
    };

    let conn = ctx.db.reader();
    let library = libraries::get_by_code(conn, &code).await?;
    let found = match &library {
        Some(library) => patrons::find_for_login(conn, library.id, &card).await?,
        None => None,
    };
    let patron = found.as_ref().map(|(patron, _, _)| patron.clone());
    let account = found.map(|(p, hash, guard)| (Account::Patron(p.id), hash, guard));
    let key = format!("patron:{}:{}", code.as_str(), card.as_str());
    let account = check_password(ctx, &key, client, account, password).await?;
    let (Some(patron), Some(library)) = (patron, library) else {
        return Err(Error::InvalidCredentials);
    };
    let token = open_session(ctx, account, Principal::Patron(patron.id)).await?;
    Ok((token, patron, library))
}

/// A staff member logs in with username and password. Deactivated accounts are refused
/// (after the password check, so the refusal reveals nothing to a guesser).
pub async fn staff_login(
    ctx: &Ctx,
    username: &str,
    password: &SecretString,
    client: Option<IpAddr>,
) -> Result<(IssuedToken, Staff)> {
    let Ok(username) = Username::parse(username) else {
        // Not a possible username: answer like a wrong password, after the same work
        // (throttled under one shared name, so junk names cannot fill the throttle).
        check_password(ctx, "staff:<not a username>", client, None, password).await?;
        return Err(Error::InvalidCredentials);
    };
    let key = format!("staff:{}", username.as_str());
    let found = staff::find_for_login(ctx.db.reader(), username.as_str()).await?;
    let member = found.as_ref().map(|(s, _, _)| s.clone());
    let account = found.map(|(s, hash, guard)| (Account::Staff(s.id), hash, guard));
    let account = check_password(ctx, &key, client, account, password).await?;
    let Some(member) = member else {
        return Err(Error::InvalidCredentials);
    };
    if !member.active {
        return Err(Error::Forbidden("this staff account is deactivated"));
    }
    let token = open_session(ctx, account, Principal::Staff(member.id)).await?;
    Ok((token, member))
}

/// Resolves a bearer token to its live session and owner.
pub async fn authenticate(ctx: &Ctx, token: &str) -> Result<Authenticated> {
    let conn = ctx.db.reader();
    let session = sessions::find_live(conn, hash_token(token), ctx.clock.now())
        .await?
        .ok_or(Error::Unauthenticated)?;
    match session.principal {
        Principal::Patron(id) => {
            let patron = patrons::get(conn, id, LibraryScope::All)
                .await?
                .ok_or(Error::Unauthenticated)?;
            Ok(Authenticated::Patron {
                session: session.id,
                patron,
            })
        }
        Principal::Staff(id) => {
            let member = staff::get(conn, id, LibraryScope::All)
                .await?
                .filter(|s| s.active)
                .ok_or(Error::Unauthenticated)?;
            Ok(Authenticated::Staff {
                session: session.id,
                staff: member,
            })
        }
    }
}

/// Ends a session.
pub async fn logout(ctx: &Ctx, session: SessionId) -> Result<()> {
    let txn = ctx.db.begin_write().await?;
    sessions::delete(&txn, session).await?;
    txn.commit().await?;
    Ok(())
}

/// Deletes sessions that have expired (they already fail to authenticate).
pub async fn purge_expired_sessions(ctx: &Ctx) -> Result<u64> {
    let txn = ctx.db.begin_write().await?;
    let purged = sessions::purge_expired(&txn, ctx.clock.now()).await?;
    txn.commit().await?;
    Ok(purged)
}

/// Whose password is changing.
#[derive(Debug, Clone, Copy)]
pub enum Owner<'a> {
    /// A patron changes their own password.
    Patron(&'a Patron),
    /// A staff member changes their own password.
    Staff(&'a Staff),
}

/// Changes the caller's own password after checking the current one, and ends every
/// other session of the account (a stolen token stops working).
pub async fn change_own_password(
    ctx: &Ctx,
    owner: Owner<'_>,
    session: SessionId,
    current: &SecretString,
    new: &SecretString,
    client: Option<IpAddr>,
) -> Result<()> {
    let new = Password::parse_new("new_password", new)?;
    let (account, principal, credentials, actor, library) = match owner {
        Owner::Patron(p) => (
            Account::Patron(p.id),
            Principal::Patron(p.id),
            patrons::credentials(ctx.db.reader(), p.id).await?,
            Actor::Patron(p.id),
            Some(p.library_id),
        ),
        Owner::Staff(s) => (
            Account::Staff(s.id),
            Principal::Staff(s.id),
            staff::credentials(ctx.db.reader(), s.id).await?,
            Actor::Staff(s.id),
            s.library_id,
        ),
    };
    let (hash, guard) = credentials.ok_or(Error::Unauthenticated)?;
    // The same throttle as at login: a stolen token must not become a way to guess
    // the current password without limit.
    let key = match account {
        Account::Patron(id) => format!("password-change:patron:{}", id.0),
        Account::Staff(id) => format!("password-change:staff:{}", id.0),
    };
    check_password(ctx, &key, client, Some((account, hash, guard)), current).await?;
    let new_hash = ctx.passwords.hash(new).await?;
    let now = ctx.clock.now();
    let txn = ctx.db.begin_write().await?;
    match owner {
        Owner::Patron(p) => {
            let patch = patrons::PatronPatch {
                password_hash: Some(new_hash),
                ..Default::default()
            };
            patrons::update(&txn, p.id, LibraryScope::All, patch, now).await?;
        }
        Owner::Staff(s) => {
            let patch = staff::StaffPatch {
                password_hash: Some(new_hash),
                ..Default::default()
            };
            staff::update(&txn, s.id, LibraryScope::All, patch, now).await?;
        }
    }
    sessions::delete_all_of(&txn, principal, Some(session)).await?;
    let target_id = match principal {
        Principal::Patron(id) => id.0,
        Principal::Staff(id) => id.0,
    };
    let target_kind = match principal {
        Principal::Patron(_) => "patron",
        Principal::Staff(_) => "staff",
    };
    audit::record(
        &txn,
        AuditEntry {
            actor,
            library_id: library,
            action: "password.change",
            target_kind,
            target_id: Some(target_id),
            detail: None,
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_only_their_hash_is_kept() {
        let (a, hash_a) = new_token().expect("token");
        let (b, _) = new_token().expect("token");
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), 43, "32 bytes in unpadded base64url");
        assert_eq!(hash_token(a.expose()), hash_a);
        // SHA-256 known answer ("abc", FIPS 180-2), so the stored form is what we say.
        assert_eq!(hash_token("abc")[..4], [0xba, 0x78, 0x16, 0xbf]);
    }
}
