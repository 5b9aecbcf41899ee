//! The lending rules matrix (library × patron category): reading it for a patron,
//! listing and setting cells.

use std::sync::Arc;

use serde_json::json;

use super::{Ctx, Error, Result};
use crate::domain::{
    LendingRules, LibraryId, LibraryScope, PatronCategory, PublicationKind, Staff, StaffRole,
    rules_key, with_kind_loan_length,
};
use crate::store::audit::{self, Actor, AuditEntry};
use crate::store::rules as store;
pub use crate::store::rules::RulesCell;

/// Every cell of the matrix, by scope key.
#[derive(Debug, Clone, Default)]
pub struct RulesMatrix {
    cells: std::collections::HashMap<String, LendingRules>,
}

impl RulesMatrix {
    /// The matrix made of these cells.
    pub fn new(cells: &[RulesCell]) -> Self {
        Self {
            cells: cells
                .iter()
                .map(|c| (store::cell_key(c), c.rules))
                .collect(),
        }
    }

    /// The most specific cell that applies to a patron of `library` in `category`.
    pub fn for_patron(&self, library: LibraryId, category: &str) -> Option<LendingRules> {
        self.matched(library, category).map(|m| m.cell.rules)
    }

    /// The rules for a loan of a title of `kind` to a patron of `library` in `category`:
    /// the patron's cell with the loan length of the most specific cell for the kind
    /// (found in the same order as the patron's: library + category, library,
    /// consortium + category, consortium), if any.
    pub fn for_loan(
        &self,
        library: LibraryId,
        category: &str,
        kind: PublicationKind,
    ) -> Option<LendingRules> {
        let rules = self.for_patron(library, category)?;
        let kind_cell = pick_rules(library, category, |key| {
            self.cells.get(&format!("{key}:{}", kind.as_str())).copied()
        })
        .map(|(_, cell)| cell);
        Some(with_kind_loan_length(rules, kind_cell.as_ref()))
    }
}

async fn matrix(ctx: &Ctx) -> Result<Arc<RulesMatrix>> {
    if let Some(matrix) = ctx.cache.rules() {
        return Ok(matrix);
    }
    let cells = store::list_rules(ctx.db.reader(), None).await?;
    let matrix = Arc::new(RulesMatrix::new(&cells));
    ctx.cache.put_rules(matrix.clone());
    Ok(matrix)
}

/// The rules that apply to a patron of `library` in `category`.
pub async fn rules_for(ctx: &Ctx, library: LibraryId, category: &str) -> Result<LendingRules> {
    matrix(ctx)
        .await?
        .for_patron(library, category)
        .ok_or(Error::Bug("the consortium default lending rule is missing"))
}

/// The rules for a loan of a title of `kind` to a patron of `library` in `category`
/// ([`RulesMatrix::for_loan`]).
pub async fn rules_for_loan(
    ctx: &Ctx,
    library: LibraryId,
    category: &str,
    kind: PublicationKind,
) -> Result<LendingRules> {
    matrix(ctx)
        .await?
        .for_loan(library, category, kind)
        .ok_or(Error::Bug("the consortium default lending rule is missing"))
}

/// The rules cells staff can see: their library's and the consortium's.
pub async fn list_rules(ctx: &Ctx, actor: &Staff) -> Result<Vec<RulesCell>> {
    let library = match actor.scope() {
        LibraryScope::All => None,
        LibraryScope::One(library) => Some(library),
    };
    Ok(store::list_rules(ctx.db.reader(), library).await?)
}

/// Whether `actor` may set the cell of `library` (`None`: the consortium's): managers
/// set their library's cells; consortium admins any.
pub fn may_set_rules(actor: &Staff, library: Option<LibraryId>) -> bool {
    match (actor.role, library) {
        (StaffRole::ConsortiumAdmin, _) => true,
        (StaffRole::LibraryManager, Some(library)) => actor.scope().contains(library),
        _ => false,
    }
}

/// Sets one cell of the matrix.
pub async fn put_rules(ctx: &Ctx, actor: &Staff, mut cell: RulesCell) -> Result<()> {
    cell.rules.validate()?;
    // Stored as the category's canonical form (trimmed, lowercase), as patrons' are.
    cell.category = match cell.category.as_deref() {
        None => None,
        Some(raw) => Some(PatronCategory::parse(raw)?.as_str().to_owned()),
    };
    cell.kind = match cell.kind.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(
            PublicationKind::parse(raw)
                .ok_or_else(|| {
                    crate::domain::FieldError::new(
                        "kind",
                        "must be epub, page_images, images, audiobook or video",
                    )
                })?
                .as_str()
                .to_owned(),
        ),
    };
    if !may_set_rules(actor, cell.library_id) {
        return Err(Error::Forbidden(
            "only managers set their library's rules; consortium rules are the admins'",
        ));
    }
    let now = ctx.clock.now();
    let txn = ctx.db.begin_write().await?;
    store::put_rules(&txn, &cell, now).await?;
    audit::record(
        &txn,
        AuditEntry {
            actor: Actor::Staff(actor.id),
            library_id: cell.library_id,
            action: "rules.set",
            target_kind: "rules",
            target_id: None,
            detail: Some(json!({ "category": cell.category, "kind": cell.kind, "rules": rules_json(&cell.rules) })),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    ctx.cache.forget_rules();
    Ok(())
}

/// The rules as the audit trail keeps them: every value by name.
fn rules_json(rules: &LendingRules) -> serde_json::Value {
    json!({
        "loan_days_default": rules.loan_days_default,
        "loan_days_max": rules.loan_days_max,
        "max_loans": rules.max_loans,
        "max_holds": rules.max_holds,
        "renewals": rules.renewals,
        "renewal_days": rules.renewal_days,
        "pickup_hours": rules.pickup_hours,
        "max_devices": rules.max_devices,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(days: u32) -> LendingRules {
        LendingRules {
            loan_days_default: days,
            loan_days_max: days,
            max_loans: 5,
            max_holds: 5,
            renewals: 1,
            renewal_days: 7,
            pickup_hours: 72,
            max_devices: 3,
        }
    }

    #[test]
    fn the_most_specific_cell_wins() {
        let (city, county) = (LibraryId::new(), LibraryId::new());
        let cell = |library, category: Option<&str>, days| RulesCell {
            library_id: library,
            category: category.map(str::to_owned),
            kind: None,
            rules: rules(days),
        };
        let matrix = RulesMatrix::new(&[
            cell(None, None, 14),
            cell(None, Some("child"), 7),
            cell(Some(city), None, 21),
            cell(Some(city), Some("child"), 10),
        ]);
        let days = |library, category| {
            matrix
                .for_patron(library, category)
                .map(|r| r.loan_days_default)
        };
        assert_eq!(days(city, "child"), Some(10));
        assert_eq!(days(city, "adult"), Some(21));
        assert_eq!(days(county, "child"), Some(7));
        assert_eq!(days(county, "adult"), Some(14));
        assert_eq!(RulesMatrix::default().for_patron(city, "adult"), None);
    }

    #[test]
    fn a_kinds_cell_sets_the_loan_length_of_that_kind_only() {
        let (city, county) = (LibraryId::new(), LibraryId::new());
        let cell = |library, category: Option<&str>, kind: Option<&str>, days| RulesCell {
            library_id: library,
            category: category.map(str::to_owned),
            kind: kind.map(str::to_owned),
            rules: LendingRules {
                max_loans: days + 100,
                ..rules(days)
            },
        };
        let matrix = RulesMatrix::new(&[
            cell(None, None, None, 14),
            cell(None, None, Some("video"), 3),
            cell(Some(city), None, Some("video"), 5),
            cell(None, Some("child"), Some("audiobook"), 30),
        ]);
        let loan = |library, category, kind| {
            matrix
                .for_loan(library, category, kind)
                .map(|r| (r.loan_days_default, r.loan_days_max, r.max_loans))
        };
        // Videos: the city's own cell, else the consortium's; the loan limit stays the
        // patron's cell's.
        assert_eq!(
            loan(city, "adult", PublicationKind::Video),
            Some((5, 5, 114))
        );
        assert_eq!(
            loan(county, "adult", PublicationKind::Video),
            Some((3, 3, 114))
        );
        // A kind without a cell, and a category's kind cell for another category.
        assert_eq!(
            loan(city, "adult", PublicationKind::Epub),
            Some((14, 14, 114))
        );
        assert_eq!(
            loan(city, "adult", PublicationKind::Audiobook),
            Some((14, 14, 114))
        );
        assert_eq!(
            loan(city, "child", PublicationKind::Audiobook),
            Some((30, 30, 114))
        );
        // Kind cells never answer for the patron's own rules.
        assert_eq!(
            matrix
                .for_patron(city, "adult")
                .map(|r| r.loan_days_default),
            Some(14)
        );
    }
}

/// A level of the rules matrix, from the most specific to the least.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RulesLevel {
    /// The patron's library, for the patron's category.
    LibraryCategory,
    /// The patron's library, for every category.
    Library,
    /// The consortium, for the patron's category.
    ConsortiumCategory,
    /// The consortium, for every category (the default that always exists).
    Consortium,
}

impl RulesLevel {
    /// Every level, most specific first: the order in which lending looks for a cell
    /// (the order of [`crate::domain::rules_precedence`]).
    pub const MOST_SPECIFIC_FIRST: [RulesLevel; 4] = [
        RulesLevel::LibraryCategory,
        RulesLevel::Library,
        RulesLevel::ConsortiumCategory,
        RulesLevel::Consortium,
    ];

    /// The cell of this level for a patron of `library` in `category`: its library
    /// (`None`: the consortium's) and category (`None`: every category).
    pub fn cell_scope(
        self,
        library: LibraryId,
        category: &str,
    ) -> (Option<LibraryId>, Option<&str>) {
        match self {
            RulesLevel::LibraryCategory => (Some(library), Some(category)),
            RulesLevel::Library => (Some(library), None),
            RulesLevel::ConsortiumCategory => (None, Some(category)),
            RulesLevel::Consortium => (None, None),
        }
    }

    /// The stable name of the level (`library_category`, `library`,
    /// `consortium_category`, `consortium`).
    pub const fn as_str(self) -> &'static str {
        match self {
            RulesLevel::LibraryCategory => "library_category",
            RulesLevel::Library => "library",
            RulesLevel::ConsortiumCategory => "consortium_category",
            RulesLevel::Consortium => "consortium",
        }
    }
}

/// The cell that applies to a patron of `library` in `category`, and the level it was
/// found at: the first level of [`RulesLevel::MOST_SPECIFIC_FIRST`] whose cell
/// `cell_at` (given the cell's [`rules_key`]) finds. Pure; this is the one choice
/// lending makes ([`RulesMatrix::for_patron`]), and the console's explanation shows the
/// same result.
pub fn pick_rules<T>(
    library: LibraryId,
    category: &str,
    mut cell_at: impl FnMut(&str) -> Option<T>,
) -> Option<(RulesLevel, T)> {
    RulesLevel::MOST_SPECIFIC_FIRST
        .into_iter()
        .find_map(|level| {
            let (library, category) = level.cell_scope(library, category);
            cell_at(&rules_key(library, category)).map(|cell| (level, cell))
        })
}

/// The cell of the matrix that applies to a patron, and the level it was found at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedRules {
    /// Which level matched.
    pub level: RulesLevel,
    /// The cell.
    pub cell: RulesCell,
}

impl RulesMatrix {
    /// The cell that applies to a patron of `library` in `category`, with the level it
    /// was found at (what [`RulesMatrix::for_patron`] returns the rules of).
    pub fn matched(&self, library: LibraryId, category: &str) -> Option<MatchedRules> {
        let (level, rules) = pick_rules(library, category, |key| self.cells.get(key).copied())?;
        let (library_id, category) = level.cell_scope(library, category);
        Some(MatchedRules {
            level,
            cell: RulesCell {
                library_id,
                category: category.map(str::to_owned),
                kind: None,
                rules,
            },
        })
    }
}

/// One cell of the matrix as the console lists it.
#[derive(Debug, Clone)]
pub struct RulesRow {
    /// The cell.
    pub cell: RulesCell,
    /// The cell's library, if it is a library's.
    pub library: Option<crate::domain::Library>,
    /// Whether the staff member may change it ([`may_set_rules`]).
    pub editable: bool,
}

/// The rules matrix as a staff member sees it: the cells they can see (their library's
/// and the consortium's; every cell for consortium admins), consortium cells first,
/// and where they may add cells.
#[derive(Debug, Clone)]
pub struct RulesOverview {
    /// The cells, consortium first, then by library name; the default category first.
    pub rows: Vec<RulesRow>,
    /// Whether the staff member may set consortium cells.
    pub may_set_consortium: bool,
    /// The libraries whose cells the staff member may set.
    pub settable_libraries: Vec<crate::domain::Library>,
}

/// The rules matrix for the console.
pub async fn overview(ctx: &Ctx, actor: &Staff) -> Result<RulesOverview> {
    let cells = list_rules(ctx, actor).await?;
    let libraries = crate::store::libraries::list(ctx.db.reader()).await?;
    let library_of =
        |id: Option<LibraryId>| id.and_then(|id| libraries.iter().find(|l| l.id == id).cloned());
    let mut rows: Vec<RulesRow> = cells
        .into_iter()
        .map(|cell| RulesRow {
            library: library_of(cell.library_id),
            editable: may_set_rules(actor, cell.library_id),
            cell,
        })
        .collect();
    rows.sort_by(|a, b| {
        let key = |r: &RulesRow| {
            (
                r.library.as_ref().map(|l| l.name.clone()),
                r.cell.library_id,
                r.cell.category.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    Ok(RulesOverview {
        rows,
        may_set_consortium: may_set_rules(actor, None),
        settable_libraries: libraries
            .into_iter()
            .filter(|l| may_set_rules(actor, Some(l.id)))
            .collect(),
    })
}

/// What a lookup by card number, id or text found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found<T> {
    /// Nothing (or nothing was asked for).
    Nothing,
    /// Exactly one.
    One(T),
    /// Several: the staff member picks one.
    Several(Vec<T>),
}

impl<T> Found<T> {
    fn of(mut list: Vec<T>) -> Self {
        match list.len() {
            0 => Found::Nothing,
            1 => list.pop().map_or(Found::Nothing, Found::One),
            _ => Found::Several(list),
        }
    }

    /// The one found, if exactly one was.
    pub fn one(&self) -> Option<&T> {
        match self {
            Found::One(found) => Some(found),
            _ => None,
        }
    }
}

/// Whether a borrow would go through now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BorrowVerdict {
    /// It would.
    Allowed,
    /// Lending would refuse it, for this reason.
    Refused(super::Refusal),
    /// The title is hidden from readers and is not lent.
    NotLendable,
}

/// Which rules apply to a patron, why, and whether they could borrow a title now.
#[derive(Debug, Clone)]
pub struct Explanation {
    /// The patron asked about (inside the staff member's scope).
    pub patron: Found<crate::domain::Patron>,
    /// The patron's home library (when one patron was found).
    pub patron_library: Option<crate::domain::Library>,
    /// The title asked about (`Nothing` when none was).
    pub title: Found<crate::domain::Title>,
    /// The cell that applies to the patron and the level it matched at.
    pub rules: Option<MatchedRules>,
    /// Whether the patron could borrow the title now (one patron and one title).
    pub verdict: Option<BorrowVerdict>,
}

/// How many patrons or titles a lookup offers to choose from.
const EXPLAIN_CHOICES: usize = 20;

async fn find_patrons(
    ctx: &Ctx,
    actor: &Staff,
    query: &str,
) -> Result<Found<crate::domain::Patron>> {
    let query = query.trim();
    if query.is_empty() {
        return Ok(Found::Nothing);
    }
    let exact = super::patrons::named(ctx, actor, query).await?;
    if !exact.is_empty() {
        return Ok(Found::of(exact));
    }
    // Not an id or a card: the names that match, to choose from.
    let matches = super::patrons::search(
        ctx,
        actor,
        &crate::store::patrons::PatronQuery {
            text: Some(query.to_owned()),
            library: None,
            after: None,
            limit: u64::try_from(EXPLAIN_CHOICES).unwrap_or(20),
        },
    )
    .await?;
    Ok(Found::of(matches))
}

async fn find_titles(ctx: &Ctx, query: &str) -> Result<Found<crate::domain::Title>> {
    let query = query.trim();
    if query.is_empty() {
        return Ok(Found::Nothing);
    }
    if let Ok(id) = uuid::Uuid::parse_str(query) {
        return match super::catalogue::get_any(ctx, crate::domain::TitleId(id)).await {
            Ok(title) => Ok(Found::One(title)),
            Err(Error::NotFound(_)) => Ok(Found::Nothing),
            Err(other) => Err(other),
        };
    }
    let results = super::catalogue::search(
        ctx,
        crate::search::SearchQuery {
            text: query.to_owned(),
            limit: EXPLAIN_CHOICES,
            ..Default::default()
        },
    )
    .await?;
    // A title whose name is exactly what was typed is the one meant.
    let exact: Vec<_> = results
        .titles
        .iter()
        .filter(|t| t.metadata.title == query)
        .cloned()
        .collect();
    Ok(Found::of(if exact.len() == 1 {
        exact
    } else {
        results.titles
    }))
}

/// Explains, for the patron `patron` (a card number or an id, inside the staff
/// member's scope), which cell of the rules matrix applies and at which level, and,
/// given a title (`title`: an id or search text), whether a borrow would go through
/// now and if not why ([`super::lending::would_borrow`]: the borrow path's own checks,
/// without borrowing).
pub async fn explain(ctx: &Ctx, actor: &Staff, patron: &str, title: &str) -> Result<Explanation> {
    let patron = find_patrons(ctx, actor, patron).await?;
    let title = find_titles(ctx, title).await?;
    let mut explanation = Explanation {
        patron_library: None,
        rules: None,
        verdict: None,
        patron,
        title,
    };
    let Some(found) = explanation.patron.one() else {
        return Ok(explanation);
    };
    let found = found.clone();
    explanation.patron_library =
        crate::store::libraries::get(ctx.db.reader(), found.library_id).await?;
    explanation.rules = matrix(ctx)
        .await?
        .matched(found.library_id, &found.category);
    if let Some(title) = explanation.title.one() {
        explanation.verdict = Some(
            match super::lending::would_borrow(ctx, &found, title.id).await {
                Ok(()) => BorrowVerdict::Allowed,
                Err(Error::Refused(refusal)) => BorrowVerdict::Refused(refusal),
                Err(Error::NotFound("title")) => BorrowVerdict::NotLendable,
                Err(other) => return Err(other),
            },
        );
    }
    Ok(explanation)
}

#[cfg(test)]
mod level_tests {
    use super::*;
    use crate::domain::rules_precedence;

    #[test]
    fn the_levels_follow_the_precedence_and_the_matched_cell_is_the_one_lending_uses() {
        let library = LibraryId::new();
        let keys: Vec<String> = RulesLevel::MOST_SPECIFIC_FIRST
            .iter()
            .map(|level| {
                let (l, c) = level.cell_scope(library, "child");
                rules_key(l, c)
            })
            .collect();
        assert_eq!(keys, rules_precedence(library, "child").to_vec());

        let rules = |days| LendingRules {
            loan_days_default: days,
            loan_days_max: days,
            max_loans: 5,
            max_holds: 5,
            renewals: 1,
            renewal_days: 7,
            pickup_hours: 72,
            max_devices: 3,
        };
        let cell = |library, category: Option<&str>, days| RulesCell {
            library_id: library,
            category: category.map(str::to_owned),
            kind: None,
            rules: rules(days),
        };
        let other = LibraryId::new();
        let matrix = RulesMatrix::new(&[
            cell(None, None, 14),
            cell(None, Some("child"), 7),
            cell(Some(library), None, 21),
            cell(Some(other), Some("adult"), 30),
        ]);
        let level = |library, category| matrix.matched(library, category).map(|m| m.level);
        assert_eq!(level(library, "child"), Some(RulesLevel::Library));
        assert_eq!(level(other, "child"), Some(RulesLevel::ConsortiumCategory));
        assert_eq!(level(other, "adult"), Some(RulesLevel::LibraryCategory));
        assert_eq!(level(other, "senior"), Some(RulesLevel::Consortium));
        for (l, c) in [
            (library, "child"),
            (other, "child"),
            (other, "adult"),
            (other, "x"),
        ] {
            let matched = matrix.matched(l, c).expect("a cell");
            assert_eq!(Some(matched.cell.rules), matrix.for_patron(l, c));
        }
        assert_eq!(
            matrix.matched(other, "adult").map(|m| m.cell),
            Some(cell(Some(other), Some("adult"), 30))
        );
        assert_eq!(RulesMatrix::default().matched(library, "adult"), None);
        assert_eq!(pick_rules(library, "child", |_| None::<()>), None);
    }
}
