//! The console's rules pages: the lending rules matrix (library × patron category) as
//! an editable table, and the explanation of which cell applies to a patron and
//! whether a borrow would go through now. The services decide who may set which cell
//! (`service::rules::may_set_rules`) and what lending would answer
//! (`service::lending::would_borrow`).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::see_other;
use crate::domain::{FieldError, LendingRules, LibraryId, Patron, Title, Validator};
use crate::http::AppState;
use crate::http::web::session::{Console, ConsoleForm};
use crate::http::web::{Chrome, Lang, PageError, i18n};
use crate::service::Refusal;
use crate::service::rules::{
    self, BorrowVerdict, Explanation, Found, MatchedRules, RulesCell, RulesLevel,
};

/// Routes of these pages (full paths under `/console/`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/rules", get(page).post(save))
        .route("/console/rules/explain", get(explain))
}

/// One cell of the matrix as the table shows it.
struct RowView {
    /// The row's form id (`rule-3`).
    form: String,
    /// The library's name, or the consortium's.
    library: String,
    /// The category, or every category.
    category: String,
    /// The form's `library` value (empty for the consortium).
    library_value: String,
    /// The form's `category` value (empty for every category).
    category_value: String,
    /// The kind a kind's cell is for, as shown; `None` for a patron's cell.
    kind: Option<String>,
    /// The form's `kind` value (empty for every kind).
    kind_value: String,
    rules: LendingRules,
    editable: bool,
}

#[derive(Template)]
#[template(path = "console/rules/matrix.html")]
struct MatrixPage {
    c: Chrome,
    rows: Vec<RowView>,
    saved: bool,
    /// `(value, name)` of the libraries (and the consortium, value empty) whose cells
    /// this staff member may add.
    settable: Vec<(String, String)>,
    /// The new-cell form's starting values (the consortium default's).
    defaults: Option<LendingRules>,
    /// `(value, name)` of the kinds of publication a cell may be for.
    kinds: Vec<(String, String)>,
}

#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

/// `GET /console/rules`.
pub async fn page(
    State(state): State<AppState>,
    console: Console,
    Query(query): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let overview = rules::overview(&state.ctx, &console.staff)
        .await
        .map_err(|e| PageError::service(e, lang))?;
    let c = console.chrome("rules");
    let defaults = overview
        .rows
        .iter()
        .find(|r| r.cell.library_id.is_none() && r.cell.category.is_none() && r.cell.kind.is_none())
        .map(|r| r.cell.rules);
    let rows = overview
        .rows
        .into_iter()
        .enumerate()
        .map(|(i, row)| RowView {
            form: format!("rule-{}", i + 1),
            library: row
                .library
                .as_ref()
                .map_or_else(|| c.t("rules-consortium"), |l| l.name.clone()),
            category: row
                .cell
                .category
                .clone()
                .unwrap_or_else(|| c.t("rules-every-category")),
            library_value: row
                .cell
                .library_id
                .map(|l| l.to_string())
                .unwrap_or_default(),
            category_value: row.cell.category.clone().unwrap_or_default(),
            kind: row
                .cell
                .kind
                .as_deref()
                .and_then(crate::domain::PublicationKind::parse)
                .map(|k| c.kind_name(k)),
            kind_value: row.cell.kind.clone().unwrap_or_default(),
            rules: row.cell.rules,
            editable: row.editable,
        })
        .collect();
    let mut settable = Vec::new();
    if overview.may_set_consortium {
        settable.push((String::new(), c.t("rules-consortium")));
    }
    settable.extend(
        overview
            .settable_libraries
            .iter()
            .map(|l| (l.id.to_string(), l.name.clone())),
    );
    let kinds = crate::domain::PublicationKind::ALL
        .iter()
        .map(|k| (k.as_str().to_owned(), c.kind_name(*k)))
        .collect();
    console.web.render(&MatrixPage {
        saved: query.done.as_deref() == Some("saved"),
        c,
        rows,
        settable,
        defaults,
        kinds,
    })
}

/// A cell of the matrix as the forms post it.
#[derive(Debug, Deserialize)]
pub struct RulesForm {
    /// The library's id; empty for the consortium.
    #[serde(default)]
    library: String,
    /// The category; empty for every category.
    #[serde(default)]
    category: String,
    /// The kind of publication; empty for every kind.
    #[serde(default)]
    kind: String,
    loan_days_default: String,
    loan_days_max: String,
    max_loans: String,
    max_holds: String,
    renewals: String,
    renewal_days: String,
    pickup_hours: String,
    max_devices: String,
}

fn number(field: &'static str, raw: &str) -> Result<u32, FieldError> {
    raw.trim()
        .parse()
        .map_err(|_| FieldError::new(field, "must be a whole number"))
}

impl RulesForm {
    /// The cell the form sets (the rules themselves are checked by the service).
    fn cell(&self) -> Result<RulesCell, crate::domain::Invalid> {
        let mut v = Validator::new();
        let library = match self.library.trim() {
            "" => Some(None),
            raw => v.check(
                uuid::Uuid::parse_str(raw)
                    .map(|id| Some(LibraryId(id)))
                    .map_err(|_| FieldError::new("library", "is not a library")),
            ),
        };
        let category = self.category.trim().to_owned();
        let loan_days_default = v.check(number("loan_days_default", &self.loan_days_default));
        let loan_days_max = v.check(number("loan_days_max", &self.loan_days_max));
        let max_loans = v.check(number("max_loans", &self.max_loans));
        let max_holds = v.check(number("max_holds", &self.max_holds));
        let renewals = v.check(number("renewals", &self.renewals));
        let renewal_days = v.check(number("renewal_days", &self.renewal_days));
        let pickup_hours = v.check(number("pickup_hours", &self.pickup_hours));
        let max_devices = v.check(number("max_devices", &self.max_devices));
        v.build(|| {
            Some(RulesCell {
                library_id: library?,
                category: (!category.is_empty()).then_some(category),
                kind: Some(self.kind.trim().to_owned()).filter(|k| !k.is_empty()),
                rules: LendingRules {
                    loan_days_default: loan_days_default?,
                    loan_days_max: loan_days_max?,
                    max_loans: max_loans?,
                    max_holds: max_holds?,
                    renewals: renewals?,
                    renewal_days: renewal_days?,
                    pickup_hours: pickup_hours?,
                    max_devices: max_devices?,
                },
            })
        })
    }
}

/// `POST /console/rules`: sets one cell (a row's form, or the new-cell form).
pub async fn save(
    State(state): State<AppState>,
    ConsoleForm { console, form }: ConsoleForm<RulesForm>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let cell = form
        .cell()
        .map_err(|e| PageError::service(e.into(), lang))?;
    rules::put_rules(&state.ctx, &console.staff, cell)
        .await
        .map_err(|e| PageError::service(e, lang))?;
    Ok(see_other("/console/rules?done=saved"))
}

/// A step of the search for the cell that applies, as the explanation lists it.
struct LevelView {
    /// What the level is, in words.
    name: String,
    /// `matched`, `empty` (no cell there: looked further) or `unused` (a more
    /// specific cell matched first).
    state: &'static str,
}

#[derive(Template)]
#[template(path = "console/rules/explain.html")]
struct ExplainPage {
    c: Chrome,
    patron_query: String,
    title_query: String,
    /// Nothing was asked yet.
    asked: bool,
    patron: Option<Patron>,
    patron_library: String,
    /// `(link, card, name)` when the patron query named several.
    patron_choices: Vec<(String, String, String)>,
    title: Option<Title>,
    /// `(link, title)` when the title query named several.
    title_choices: Vec<(String, String)>,
    title_not_found: bool,
    patron_not_found: bool,
    /// Where the cell that applies was found, and why.
    reason: Option<String>,
    levels: Vec<LevelView>,
    /// The cell that applies.
    matched: Option<MatchedRules>,
    matched_name: String,
    /// `None`: not asked; `Some((true, text))`: allowed.
    verdict: Option<(bool, String)>,
}

#[derive(Debug, Deserialize)]
pub struct ExplainQuery {
    /// A card number or a patron id.
    #[serde(default)]
    patron: String,
    /// A title id or search text.
    #[serde(default)]
    title: String,
}

/// The explanation's address for a patron and a title query.
fn explain_href(patron: &str, title: &str) -> String {
    let query = serde_html_form::to_string([("patron", patron.trim()), ("title", title.trim())])
        .unwrap_or_default();
    format!("/console/rules/explain?{query}")
}

/// The message key of a refusal (the error pages' words).
fn refusal_key(refusal: Refusal) -> &'static str {
    match refusal {
        Refusal::NoCopyAvailable => "rules-refused-no-copy",
        Refusal::LoanLimit => "problem-loan-limit",
        Refusal::AlreadyBorrowed => "problem-already-borrowed",
        Refusal::PatronBlocked => "problem-patron-blocked",
        Refusal::CardExpired => "problem-card-expired",
        Refusal::RenewalLimit => "problem-renewal-limit",
        Refusal::OthersWaiting => "problem-renewal-refused",
        Refusal::HoldLimit => "problem-hold-limit",
        Refusal::DeviceLimit => "problem-device-limit",
        Refusal::LoanEnded => "problem-loan-ended",
    }
}

/// The message `key` with a `library` and a `category` argument.
fn with_library_and_category(lang: Lang, key: &str, library: &str, category: &str) -> String {
    let mut args = fluent_bundle::FluentArgs::new();
    args.set("library", library.to_owned());
    args.set("category", category.to_owned());
    i18n::catalogue(lang).format(key, Some(&args))
}

fn level_name(lang: Lang, level: RulesLevel, library: &str, category: &str) -> String {
    let key = match level {
        RulesLevel::LibraryCategory => "rules-level-library-category",
        RulesLevel::Library => "rules-level-library",
        RulesLevel::ConsortiumCategory => "rules-level-consortium-category",
        RulesLevel::Consortium => "rules-level-consortium",
    };
    with_library_and_category(lang, key, library, category)
}

/// `GET /console/rules/explain?patron=…&title=…`.
pub async fn explain(
    State(state): State<AppState>,
    console: Console,
    Query(query): Query<ExplainQuery>,
) -> Result<Response, PageError> {
    let lang = console.web.lang;
    let asked = !query.patron.trim().is_empty();
    let explanation = if asked {
        Some(
            rules::explain(&state.ctx, &console.staff, &query.patron, &query.title)
                .await
                .map_err(|e| PageError::service(e, lang))?,
        )
    } else {
        None
    };
    let c = console.chrome("rules");
    let mut page = ExplainPage {
        patron_query: query.patron.trim().to_owned(),
        title_query: query.title.trim().to_owned(),
        asked,
        patron: None,
        patron_library: String::new(),
        patron_choices: Vec::new(),
        title: None,
        title_choices: Vec::new(),
        title_not_found: false,
        patron_not_found: false,
        reason: None,
        levels: Vec::new(),
        matched: None,
        matched_name: String::new(),
        verdict: None,
        c,
    };
    if let Some(Explanation {
        patron,
        patron_library,
        title,
        rules: matched,
        verdict,
    }) = explanation
    {
        match patron {
            Found::Nothing => page.patron_not_found = true,
            Found::One(patron) => page.patron = Some(patron),
            Found::Several(list) => {
                page.patron_choices = list
                    .into_iter()
                    .map(|p| {
                        let href = explain_href(&p.id.to_string(), &query.title);
                        (href, p.card_number, p.display_name)
                    })
                    .collect();
            }
        }
        match title {
            Found::Nothing => page.title_not_found = !page.title_query.is_empty(),
            Found::One(title) => page.title = Some(title),
            Found::Several(list) => {
                page.title_choices = list
                    .into_iter()
                    .map(|t| {
                        (
                            explain_href(&query.patron, &t.id.to_string()),
                            t.metadata.title,
                        )
                    })
                    .collect();
            }
        }
        let library = patron_library.map(|l| l.name).unwrap_or_default();
        if let (Some(patron), Some(matched)) = (&page.patron, &matched) {
            let category = patron.category.as_str();
            let position = RulesLevel::MOST_SPECIFIC_FIRST
                .iter()
                .position(|l| *l == matched.level)
                .unwrap_or(0);
            page.levels = RulesLevel::MOST_SPECIFIC_FIRST
                .iter()
                .enumerate()
                .map(|(i, level)| LevelView {
                    name: level_name(lang, *level, &library, category),
                    state: match i.cmp(&position) {
                        std::cmp::Ordering::Less => "empty",
                        std::cmp::Ordering::Equal => "matched",
                        std::cmp::Ordering::Greater => "unused",
                    },
                })
                .collect();
            page.matched_name = level_name(lang, matched.level, &library, category);
            let reason_key = match matched.level {
                RulesLevel::LibraryCategory => "rules-reason-library-category",
                RulesLevel::Library => "rules-reason-library",
                RulesLevel::ConsortiumCategory => "rules-reason-consortium-category",
                RulesLevel::Consortium => "rules-reason-consortium",
            };
            page.reason = Some(with_library_and_category(
                lang, reason_key, &library, category,
            ));
        }
        page.patron_library = library;
        page.matched = matched;
        page.verdict = verdict.map(|verdict| match verdict {
            BorrowVerdict::Allowed => (true, page.c.t("rules-would-borrow")),
            BorrowVerdict::Refused(refusal) => (false, page.c.t(refusal_key(refusal))),
            BorrowVerdict::NotLendable => (false, page.c.t("rules-refused-not-lendable")),
        });
    }
    console.web.render(&page)
}
