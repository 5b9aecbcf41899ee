//! The console's administration pages: member libraries (list, create, edit) and staff
//! accounts (list, create with a role and a library, edit the name and role, reset the
//! password, deactivate and reactivate). Each page shows what the services let the
//! staff member do: consortium admins everything; a library manager their library and
//! its staff; a librarian a read-only list. The services refuse anything else
//! (`service::libraries`, `service::staff`, as `routes/admin_libraries.rs` and
//! `routes/admin_staff.rs` call them).

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use jieyue_protocol::api::SecretString;
use serde::Deserialize;

use super::{path_id, see_other};
use crate::domain::{
    Library, LibraryCode, LibraryId, LibraryName, NewLibrary, NewStaff, Password, Region, Staff,
    StaffId, StaffRole, Username, Validator,
};
use crate::http::AppState;
use crate::http::web::session::{Console, ConsoleForm};
use crate::http::web::{Chrome, PageError};
use crate::service::libraries::{self, LibraryChanges};
use crate::service::staff::{self, CreateStaff, StaffChanges};

/// Routes of these pages (full paths under `/console/`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/admin", get(page))
        .route("/console/admin/libraries", post(create_library))
        .route(
            "/console/admin/libraries/{id}",
            get(library_page).post(update_library),
        )
        .route("/console/admin/staff", post(create_staff))
        .route(
            "/console/admin/staff/{id}",
            get(staff_page).post(update_staff),
        )
        .route("/console/admin/staff/{id}/active", post(set_active))
}

const ROLES: [StaffRole; 3] = [
    StaffRole::ConsortiumAdmin,
    StaffRole::LibraryManager,
    StaffRole::Librarian,
];

fn role_words(c: &Chrome, role: StaffRole) -> String {
    match role {
        StaffRole::ConsortiumAdmin => c.t("admin-role-consortium-admin"),
        StaffRole::LibraryManager => c.t("admin-role-library-manager"),
        StaffRole::Librarian => c.t("admin-role-librarian"),
    }
}

struct LibraryRow {
    id: String,
    code: String,
    name: String,
    region: String,
    editable: bool,
}

struct StaffRow {
    id: String,
    username: String,
    display_name: String,
    role: String,
    library: String,
    active: bool,
    /// The staff member may change this account.
    manageable: bool,
    /// It is the staff member's own (they cannot deactivate it).
    own: bool,
}

#[derive(Template)]
#[template(path = "console/admin/admin.html")]
struct AdminPage {
    c: Chrome,
    notice: Option<String>,
    libraries: Vec<LibraryRow>,
    may_create_library: bool,
    staff: Vec<StaffRow>,
    /// `(value, words)`: the roles this staff member may give.
    role_choices: Vec<(String, String)>,
    /// `(id, name)`: the libraries whose staff this staff member manages.
    library_choices: Vec<(String, String)>,
}

#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

fn done_notice(c: &Chrome, done: Option<&str>) -> Option<String> {
    match done? {
        "library-created" => Some(c.t("admin-library-created")),
        "library-saved" => Some(c.t("admin-library-saved")),
        "staff-created" => Some(c.t("admin-staff-created")),
        "staff-saved" => Some(c.t("admin-staff-saved")),
        _ => None,
    }
}

/// The libraries whose staff `actor` may manage.
fn managed_libraries<'a>(actor: &Staff, libraries: &'a [Library]) -> Vec<&'a Library> {
    libraries
        .iter()
        .filter(|l| actor.may_manage_staff(StaffRole::Librarian, Some(l.id)))
        .collect()
}

/// `GET /console/admin`.
pub async fn page(
    State(state): State<AppState>,
    console: Console,
    Query(query): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let all_libraries = libraries::list(&state.ctx)
        .await
        .map_err(|e| PageError::service(e, lang))?;
    let members = staff::list(&state.ctx, &console.staff)
        .await
        .map_err(|e| PageError::service(e, lang))?;
    let actor = &console.staff;
    let c = console.chrome("admin");
    let library_name = |id: Option<LibraryId>| {
        id.map_or_else(
            || c.t("admin-consortium"),
            |id| {
                all_libraries
                    .iter()
                    .find(|l| l.id == id)
                    .map_or_else(|| id.to_string(), |l| l.name.clone())
            },
        )
    };
    let managed = managed_libraries(actor, &all_libraries);
    let role_choices = ROLES
        .iter()
        .filter(|role| match role {
            StaffRole::ConsortiumAdmin => actor.may_manage_staff(**role, None),
            _ => managed
                .iter()
                .any(|l| actor.may_manage_staff(**role, Some(l.id))),
        })
        .map(|role| (role.as_str().to_owned(), role_words(&c, *role)))
        .collect();
    let staff_rows = members
        .iter()
        .map(|s| StaffRow {
            id: s.id.to_string(),
            username: s.username.clone(),
            display_name: s.display_name.clone(),
            role: role_words(&c, s.role),
            library: library_name(s.library_id),
            active: s.active,
            manageable: actor.may_manage_staff(s.role, s.library_id),
            own: s.id == actor.id,
        })
        .collect();
    let library_rows = all_libraries
        .iter()
        .map(|l| LibraryRow {
            id: l.id.to_string(),
            code: l.code.clone(),
            name: l.name.clone(),
            region: l.region.clone().unwrap_or_default(),
            editable: actor.may_edit_library(l.id),
        })
        .collect();
    let library_choices = managed
        .iter()
        .map(|l| (l.id.to_string(), l.name.clone()))
        .collect();
    console.web.render(&AdminPage {
        notice: done_notice(&c, query.done.as_deref()),
        libraries: library_rows,
        may_create_library: actor.may_create_libraries(),
        staff: staff_rows,
        role_choices,
        library_choices,
        c,
    })
}

/// A new library.
#[derive(Debug, Deserialize)]
pub struct LibraryForm {
    code: String,
    name: String,
    #[serde(default)]
    region: String,
}

/// `POST /console/admin/libraries`.
pub async fn create_library(
    State(state): State<AppState>,
    ConsoleForm { console, form }: ConsoleForm<LibraryForm>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let mut v = Validator::new();
    let code = v.check(LibraryCode::parse(&form.code));
    let name = v.check(LibraryName::parse(&form.name));
    let region = match form.region.trim() {
        "" => Some(None),
        raw => v.check(Region::parse(raw)).map(Some),
    };
    let new = v
        .build(|| {
            Some(NewLibrary {
                code: code?,
                name: name?,
                region: region?,
            })
        })
        .map_err(|e| PageError::service(e.into(), lang))?;
    libraries::create(&state.ctx, &console.staff, new)
        .await
        .map_err(|e| PageError::service(e, lang))?;
    Ok(see_other("/console/admin?done=library-created"))
}

#[derive(Template)]
#[template(path = "console/admin/library.html")]
struct LibraryPage {
    c: Chrome,
    library: Library,
}

/// `GET /console/admin/libraries/{id}`: the edit form.
pub async fn library_page(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let id = path_id(&id, "library", lang)?;
    let library = libraries::get(&state.ctx, LibraryId(id))
        .await
        .map_err(|e| PageError::service(e, lang))?;
    console.web.render(&LibraryPage {
        c: console.chrome("admin"),
        library,
    })
}

/// Changes to a library.
#[derive(Debug, Deserialize)]
pub struct LibraryEditForm {
    name: String,
    #[serde(default)]
    region: String,
}

/// `POST /console/admin/libraries/{id}`.
pub async fn update_library(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, form }: ConsoleForm<LibraryEditForm>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let id = path_id(&id, "library", lang)?;
    let mut v = Validator::new();
    let name = v.check(LibraryName::parse(&form.name));
    let region = match form.region.trim() {
        "" => Some(None),
        raw => v.check(Region::parse(raw)).map(Some),
    };
    let changes = v
        .build(|| {
            Some(LibraryChanges {
                name: Some(name?),
                region: Some(region?),
            })
        })
        .map_err(|e| PageError::service(e.into(), lang))?;
    libraries::update(&state.ctx, &console.staff, LibraryId(id), changes)
        .await
        .map_err(|e| PageError::service(e, lang))?;
    Ok(see_other("/console/admin?done=library-saved"))
}

/// A new staff account.
#[derive(Debug, Deserialize)]
pub struct StaffForm {
    username: String,
    display_name: String,
    role: String,
    /// The library's id (ignored for consortium admins).
    #[serde(default)]
    library: String,
    password: SecretString,
}

/// `POST /console/admin/staff`.
pub async fn create_staff(
    State(state): State<AppState>,
    ConsoleForm { console, form }: ConsoleForm<StaffForm>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let mut v = Validator::new();
    let username = v.check(Username::parse(&form.username));
    let display_name = v.check(NewStaff::parse_display_name(&form.display_name));
    let role = v.check(StaffRole::parse(&form.role));
    let password = v.check(Password::parse_new("password", &form.password));
    let library = match form.library.trim() {
        "" => Some(None),
        raw => v.check(
            uuid::Uuid::parse_str(raw)
                .map(|id| Some(LibraryId(id)))
                .map_err(|_| crate::domain::FieldError::new("library_id", "is not a library")),
        ),
    };
    let create = v
        .build(|| {
            Some(CreateStaff {
                username: username?,
                display_name: display_name?,
                role: role?,
                library_id: library?,
                password: password?,
            })
        })
        .map_err(|e| PageError::service(e.into(), lang))?;
    staff::create(&state.ctx, &console.staff, create)
        .await
        .map_err(|e| PageError::service(e, lang))?;
    Ok(see_other("/console/admin?done=staff-created"))
}

#[derive(Template)]
#[template(path = "console/admin/staff.html")]
struct StaffPage {
    c: Chrome,
    member: Staff,
    library: String,
    role: String,
    /// `(value, words, selected)`: the roles this staff member may give the account.
    roles: Vec<(String, String, bool)>,
    /// It is the staff member's own account (its role and activity stay as they are).
    own: bool,
    /// The staff member may change the account at all.
    manageable: bool,
}

/// `GET /console/admin/staff/{id}`: the edit form.
pub async fn staff_page(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let id = path_id(&id, "staff member", lang)?;
    let member = staff::get(&state.ctx, &console.staff, StaffId(id))
        .await
        .map_err(|e| PageError::service(e, lang))?;
    let library = match member.library_id {
        Some(library) => {
            libraries::get(&state.ctx, library)
                .await
                .map_err(|e| PageError::service(e, lang))?
                .name
        }
        None => String::new(),
    };
    let actor = &console.staff;
    let c = console.chrome("admin");
    let roles = ROLES
        .iter()
        .filter(|role| {
            **role == member.role
                || (NewStaff::check_role_scope(**role, member.library_id).is_ok()
                    && actor.may_manage_staff(**role, member.library_id))
        })
        .map(|role| {
            (
                role.as_str().to_owned(),
                role_words(&c, *role),
                *role == member.role,
            )
        })
        .collect();
    console.web.render(&StaffPage {
        library: if library.is_empty() {
            c.t("admin-consortium")
        } else {
            library
        },
        role: role_words(&c, member.role),
        own: member.id == actor.id,
        manageable: actor.may_manage_staff(member.role, member.library_id),
        roles,
        member,
        c,
    })
}

/// Changes to a staff account.
#[derive(Debug, Deserialize)]
pub struct StaffEditForm {
    display_name: String,
    /// The role chosen (absent for one's own account).
    #[serde(default)]
    role: String,
    /// The role the form was drawn with: the role changes only if another is chosen.
    #[serde(default)]
    role_was: String,
    /// A new password (empty: unchanged).
    #[serde(default)]
    password: Option<SecretString>,
}

/// `POST /console/admin/staff/{id}`.
pub async fn update_staff(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, form }: ConsoleForm<StaffEditForm>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let id = path_id(&id, "staff member", lang)?;
    let mut v = Validator::new();
    let display_name = v.check(NewStaff::parse_display_name(&form.display_name));
    let role = match form.role.trim() {
        "" => Some(None),
        same if same == form.role_was.trim() => Some(None),
        raw => v.check(StaffRole::parse(raw)).map(Some),
    };
    let password = match &form.password {
        Some(given) if !given.expose().is_empty() => {
            v.check(Password::parse_new("password", given)).map(Some)
        }
        _ => Some(None),
    };
    let changes = v
        .build(|| {
            Some(StaffChanges {
                display_name: Some(display_name?),
                role: role?,
                active: None,
                password: password?,
            })
        })
        .map_err(|e| PageError::service(e.into(), lang))?;
    staff::update(&state.ctx, &console.staff, StaffId(id), changes)
        .await
        .map_err(|e| PageError::service(e, lang))?;
    Ok(see_other("/console/admin?done=staff-saved"))
}

/// Deactivating or reactivating an account.
#[derive(Debug, Deserialize)]
pub struct ActiveForm {
    /// `true` to reactivate, `false` to deactivate.
    active: bool,
}

/// `POST /console/admin/staff/{id}/active`: deactivates (ending the account's
/// sessions) or reactivates an account.
pub async fn set_active(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { console, form }: ConsoleForm<ActiveForm>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let id = path_id(&id, "staff member", lang)?;
    staff::update(
        &state.ctx,
        &console.staff,
        StaffId(id),
        StaffChanges {
            active: Some(form.active),
            ..Default::default()
        },
    )
    .await
    .map_err(|e| PageError::service(e, lang))?;
    Ok(see_other("/console/admin?done=staff-saved"))
}
