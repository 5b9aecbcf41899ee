//! The demo consortium: a city library and two county libraries with staff and
//! patrons, so a person can log in and try the system at once. Seeding is idempotent:
//! running the demo again keeps what exists.
//!
//! Demo accounts use the published passwords below. They exist only in a demo data
//! directory; never run `jieyue demo` against production data.

use jieyue_protocol::api::SecretString;

use crate::domain::{
    CardNumber, DisplayName, LibraryCode, LibraryName, LibraryScope, NewLibrary, Password,
    PatronCategory, Region, Staff, StaffRole, Username,
};
use crate::service::{self, Ctx};
use crate::store::{libraries, patrons, staff};

/// Password of every demo staff account.
pub const DEMO_STAFF_PASSWORD: &str = "demo-staff-pass";
/// Password of every demo patron.
pub const DEMO_PATRON_PASSWORD: &str = "demo-reader-pass";

/// A demo library: code, name, region.
pub const LIBRARIES: [(&str, &str, &str); 3] = [
    ("city", "杭州市图书馆", "杭州市"),
    ("chunan", "淳安县图书馆", "淳安县"),
    ("tonglu", "桐庐县图书馆", "桐庐县"),
];

/// A demo staff account: username, display name, role, library code (none for the
/// consortium's administrator).
pub const STAFF: [(&str, &str, StaffRole, Option<&str>); 5] = [
    (
        "consortium-admin",
        "周岚（联盟管理员）",
        StaffRole::ConsortiumAdmin,
        None,
    ),
    (
        "city-manager",
        "陈静（馆长）",
        StaffRole::LibraryManager,
        Some("city"),
    ),
    ("city-librarian", "刘洋", StaffRole::Librarian, Some("city")),
    (
        "chunan-librarian",
        "方敏",
        StaffRole::Librarian,
        Some("chunan"),
    ),
    (
        "tonglu-librarian",
        "吴磊",
        StaffRole::Librarian,
        Some("tonglu"),
    ),
];

/// A demo patron: library code, card number, name, category.
pub const PATRONS: [(&str, &str, &str, &str); 5] = [
    ("city", "C0001", "王小明", "adult"),
    ("city", "C0002", "李华", "student"),
    ("chunan", "CA0001", "张伟", "adult"),
    ("chunan", "CA0002", "张乐乐", "child"),
    ("tonglu", "T0001", "Emma Li", "adult"),
];

/// Why seeding failed.
pub type Result<T> = std::result::Result<T, service::Error>;

/// Creates whatever part of the demo consortium is missing, acting as `admin`.
pub async fn seed(ctx: &Ctx, admin: &Staff) -> Result<()> {
    let conn = ctx.db.reader();
    let staff_password = SecretString::new(DEMO_STAFF_PASSWORD);
    let patron_password = SecretString::new(DEMO_PATRON_PASSWORD);

    for (code, name, region) in LIBRARIES {
        let code = LibraryCode::parse(code)?;
        if libraries::get_by_code(conn, &code).await?.is_none() {
            let new = NewLibrary {
                code,
                name: LibraryName::parse(name)?,
                region: Some(Region::parse(region)?),
            };
            service::libraries::create(ctx, admin, new).await?;
        }
    }

    for (username, display_name, role, library) in STAFF {
        if staff::find_for_login(conn, username).await?.is_some() {
            continue;
        }
        let library_id = match library {
            Some(code) => Some(
                libraries::get_by_code(conn, &LibraryCode::parse(code)?)
                    .await?
                    .ok_or(service::Error::NotFound("library"))?
                    .id,
            ),
            None => None,
        };
        let request = service::staff::CreateStaff {
            username: Username::parse(username)?,
            display_name: display_name.to_owned(),
            role,
            library_id,
            password: Password::parse_new("password", &staff_password)?,
        };
        service::staff::create(ctx, admin, request).await?;
    }

    let now = ctx.clock.now();
    for (library, card, name, category) in PATRONS {
        let library = libraries::get_by_code(conn, &LibraryCode::parse(library)?)
            .await?
            .ok_or(service::Error::NotFound("library"))?;
        let card = CardNumber::parse(card)?;
        if patrons::find_for_login(conn, library.id, &card)
            .await?
            .is_some()
        {
            continue;
        }
        let request = service::patrons::RegisterPatron {
            library_id: Some(library.id),
            card_number: card,
            display_name: DisplayName::parse(name)?,
            category: PatronCategory::parse(category)?,
            card_expires_at: now + chrono::Duration::days(3 * 365),
            password: Password::parse_new("password", &patron_password)?,
        };
        service::patrons::register(ctx, admin, request).await?;
    }
    Ok(())
}

/// The first consortium admin, who seeds the demo.
pub async fn find_admin(ctx: &Ctx) -> Result<Staff> {
    let all = staff::list(ctx.db.reader(), LibraryScope::All).await?;
    all.into_iter()
        .find(|s| s.role == StaffRole::ConsortiumAdmin && s.active)
        .ok_or(service::Error::NotFound("consortium admin"))
}

/// Copies in the consortium's shared pool for each demo title that has none yet.
pub const DEMO_COPIES: u32 = 3;

/// Gives every title without a licence lot [`DEMO_COPIES`] copies in the consortium's
/// shared pool, so readers of every demo library can borrow. Returns how many titles
/// were stocked.
pub async fn stock(ctx: &Ctx, admin: &Staff) -> Result<usize> {
    let mut stocked = 0;
    let mut after = None;
    loop {
        let ids = crate::store::titles::ids_after(ctx.db.reader(), after, 500).await?;
        let Some(last) = ids.last().copied() else {
            break;
        };
        after = Some(last);
        for id in ids {
            if !crate::store::lots::lots_of_title(ctx.db.reader(), id)
                .await?
                .is_empty()
            {
                continue;
            }
            service::lots::create_lot(
                ctx,
                admin,
                service::lots::NewLot {
                    title_id: id,
                    owner_library_id: None,
                    copies: DEMO_COPIES,
                    checkout_limit: None,
                    expires_at: None,
                    shared_with: Vec::new(),
                },
            )
            .await?;
            stocked += 1;
        }
    }
    Ok(stocked)
}
