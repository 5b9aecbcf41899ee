//! The lending rules matrix (library × patron category): reading it for a patron,
//! listing and setting cells.

use std::sync::Arc;

use serde_json::json;

use super::{Ctx, Error, Result};
use crate::domain::{
    LendingRules, LibraryId, LibraryScope, PatronCategory, Staff, StaffRole, rules_key,
    rules_precedence,
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
                .map(|c| (rules_key(c.library_id, c.category.as_deref()), c.rules))
                .collect(),
        }
    }

    /// The most specific cell that applies to a patron of `library` in `category`.
    pub fn for_patron(&self, library: LibraryId, category: &str) -> Option<LendingRules> {
        rules_precedence(library, category)
            .iter()
            .find_map(|key| self.cells.get(key).copied())
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
pub async fn put_rules(ctx: &Ctx, actor: &Staff, cell: RulesCell) -> Result<()> {
    cell.rules.validate()?;
    if let Some(category) = &cell.category {
        PatronCategory::parse(category)?;
    }
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
            detail: Some(
                json!({ "category": cell.category, "rules": format!("{:?}", cell.rules) }),
            ),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    ctx.cache.forget_rules();
    Ok(())
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
}
