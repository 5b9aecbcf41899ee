//! The lending rules matrix: library × patron category.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    QueryFilter, QueryOrder,
};
use uuid::Uuid;

use super::Result;
use super::convert::{count as n, stored as i};
use super::entity::lending::lending_rule;
use crate::domain::{LendingRules, LibraryId};

fn rules_of(m: &lending_rule::Model) -> LendingRules {
    LendingRules {
        loan_days_default: n(m.loan_days_default),
        loan_days_max: n(m.loan_days_max),
        max_loans: n(m.max_loans),
        max_holds: n(m.max_holds),
        renewals: n(m.renewals),
        renewal_days: n(m.renewal_days),
        pickup_hours: n(m.pickup_hours),
        max_devices: n(m.max_devices),
    }
}

/// A cell of the rules matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesCell {
    /// Library, or `None` for the consortium.
    pub library_id: Option<LibraryId>,
    /// Category, or `None` for every category.
    pub category: Option<String>,
    /// A kind of publication (`epub`, `page_images`, `images`, `audiobook`, `video`):
    /// the cell's loan length applies to loans of that kind. `None`: every kind.
    pub kind: Option<String>,
    /// The rules.
    pub rules: LendingRules,
}

fn cell_of(m: &lending_rule::Model) -> RulesCell {
    RulesCell {
        library_id: m.library_id.map(LibraryId),
        category: m.category.clone(),
        kind: m.kind.clone(),
        rules: rules_of(m),
    }
}

/// The cell's scope key: library, category and, for a kind's cell, the kind.
pub fn cell_key(cell: &RulesCell) -> String {
    match &cell.kind {
        Some(kind) => {
            crate::domain::kind_rules_key(cell.library_id, cell.category.as_deref(), kind)
        }
        None => crate::domain::rules_key(cell.library_id, cell.category.as_deref()),
    }
}

/// Every cell for this library and the consortium's (every cell if `None`).
pub async fn list_rules(
    conn: &impl ConnectionTrait,
    library: Option<LibraryId>,
) -> Result<Vec<RulesCell>> {
    let mut select = lending_rule::Entity::find();
    if let Some(library) = library {
        select = select.filter(
            Condition::any()
                .add(lending_rule::Column::LibraryId.eq(library.0))
                .add(lending_rule::Column::LibraryId.is_null()),
        );
    }
    Ok(select
        .order_by_asc(lending_rule::Column::ScopeKey)
        .all(conn)
        .await?
        .iter()
        .map(cell_of)
        .collect())
}

/// Creates or replaces a cell.
pub async fn put_rules(
    conn: &impl ConnectionTrait,
    cell: &RulesCell,
    now: DateTime<Utc>,
) -> Result<()> {
    let key = cell_key(cell);
    let existing = lending_rule::Entity::find()
        .filter(lending_rule::Column::ScopeKey.eq(&key))
        .one(conn)
        .await?;
    let r = &cell.rules;
    let is_new = existing.is_none();
    let mut model = match existing {
        Some(m) => m.into(),
        None => lending_rule::ActiveModel {
            id: Set(Uuid::now_v7()),
            scope_key: Set(key),
            library_id: Set(cell.library_id.map(|l| l.0)),
            category: Set(cell.category.clone()),
            kind: Set(cell.kind.clone()),
            ..Default::default()
        },
    };
    model.loan_days_default = Set(i(r.loan_days_default));
    model.loan_days_max = Set(i(r.loan_days_max));
    model.max_loans = Set(i(r.max_loans));
    model.max_holds = Set(i(r.max_holds));
    model.renewals = Set(i(r.renewals));
    model.renewal_days = Set(i(r.renewal_days));
    model.pickup_hours = Set(i(r.pickup_hours));
    model.max_devices = Set(i(r.max_devices));
    model.updated_at = Set(now);
    if is_new {
        model.insert(conn).await?;
    } else {
        model.update(conn).await?;
    }
    Ok(())
}
