//! Circulation reports for staff: loans by title, library or month; use of shared lots
//! by each library (the basis for cost sharing); holds waiting with no copy free (what
//! to buy next). Staff see their library's figures; consortium admins everyone's.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Utc};

use super::{Ctx, Result};
use crate::domain::{LibraryScope, Lot, LotId, Staff, draw_order};
use crate::store::{holds, libraries, loans, lots as lot_store, titles};

/// A report: column names and rows of cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Column names.
    pub columns: Vec<&'static str>,
    /// Rows.
    pub rows: Vec<Vec<String>>,
}

/// How loans are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoanGrouping {
    /// Per title.
    Title,
    /// Per borrowing library.
    Library,
    /// Per calendar month (UTC).
    Month,
}

fn scope_library(actor: &Staff) -> Option<crate::domain::LibraryId> {
    match actor.scope() {
        LibraryScope::All => None,
        LibraryScope::One(library) => Some(library),
    }
}

async fn library_names(ctx: &Ctx) -> Result<BTreeMap<uuid::Uuid, String>> {
    Ok(libraries::list(ctx.db.reader())
        .await?
        .into_iter()
        .map(|l| (l.id.0, l.code))
        .collect())
}

/// Loans started in `[from, to)`, counted per group, with total loan days.
pub async fn loans(
    ctx: &Ctx,
    actor: &Staff,
    grouping: LoanGrouping,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Table> {
    let loans =
        loans::loans_started_between(ctx.db.reader(), scope_library(actor), from, to).await?;
    let names = library_names(ctx).await?;
    let mut groups: BTreeMap<String, (u64, i64)> = BTreeMap::new();
    let mut title_names = BTreeMap::new();
    for loan in &loans {
        let key = match grouping {
            LoanGrouping::Title => {
                let name = match title_names.get(&loan.title_id) {
                    Some(name) => String::clone(name),
                    None => {
                        let name = titles::get(ctx.db.reader(), loan.title_id)
                            .await?
                            .map_or_else(|| loan.title_id.to_string(), |t| t.metadata.title);
                        title_names.insert(loan.title_id, name.clone());
                        name
                    }
                };
                format!("{}\t{name}", loan.title_id)
            }
            LoanGrouping::Library => names
                .get(&loan.library_id.0)
                .cloned()
                .unwrap_or_else(|| loan.library_id.to_string()),
            LoanGrouping::Month => format!(
                "{:04}-{:02}",
                loan.started_at.year(),
                loan.started_at.month()
            ),
        };
        let days = (loan.ended_at.unwrap_or(loan.ends_at) - loan.started_at)
            .num_days()
            .max(0);
        let entry = groups.entry(key).or_default();
        entry.0 += 1;
        entry.1 += days;
    }
    let (columns, rows) = match grouping {
        LoanGrouping::Title => (
            vec!["title_id", "title", "loans", "loan_days"],
            groups
                .into_iter()
                .map(|(k, (n, d))| {
                    let (id, name) = k.split_once('\t').unwrap_or((k.as_str(), ""));
                    vec![id.to_owned(), name.to_owned(), n.to_string(), d.to_string()]
                })
                .collect(),
        ),
        LoanGrouping::Library => (
            vec!["library", "loans", "loan_days"],
            groups
                .into_iter()
                .map(|(k, (n, d))| vec![k, n.to_string(), d.to_string()])
                .collect(),
        ),
        LoanGrouping::Month => (
            vec!["month", "loans", "loan_days"],
            groups
                .into_iter()
                .map(|(k, (n, d))| vec![k, n.to_string(), d.to_string()])
                .collect(),
        ),
    };
    Ok(Table { columns, rows })
}

/// Use of lots not owned by the borrowing library (the shared pool, or other libraries'
/// lots shared with it), per borrowing library and lot owner: loans and loan days.
pub async fn shared_usage(
    ctx: &Ctx,
    actor: &Staff,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Table> {
    let loans =
        loans::loans_started_between(ctx.db.reader(), scope_library(actor), from, to).await?;
    let lots: BTreeMap<LotId, Lot> = lot_store::all_lots(ctx.db.reader())
        .await?
        .into_iter()
        .map(|l| (l.id, l))
        .collect();
    let names = library_names(ctx).await?;
    let mut groups: BTreeMap<(String, String), (u64, i64)> = BTreeMap::new();
    for loan in &loans {
        let Some(lot) = lots.get(&loan.lot_id) else {
            continue;
        };
        if lot.owner_library_id == Some(loan.library_id) {
            continue;
        }
        let owner = lot.owner_library_id.map_or_else(
            || "consortium".to_owned(),
            |o| names.get(&o.0).cloned().unwrap_or_else(|| o.to_string()),
        );
        let borrower = names
            .get(&loan.library_id.0)
            .cloned()
            .unwrap_or_else(|| loan.library_id.to_string());
        let days = (loan.ended_at.unwrap_or(loan.ends_at) - loan.started_at)
            .num_days()
            .max(0);
        let entry = groups.entry((borrower, owner)).or_default();
        entry.0 += 1;
        entry.1 += days;
    }
    Ok(Table {
        columns: vec!["library", "lot_owner", "loans", "loan_days"],
        rows: groups
            .into_iter()
            .map(|((borrower, owner), (n, d))| vec![borrower, owner, n.to_string(), d.to_string()])
            .collect(),
    })
}

/// Titles readers wait for with no copy free at their library: what to buy next.
pub async fn holds_without_copies(ctx: &Ctx, actor: &Staff) -> Result<Table> {
    let rows = waiting_without_copies(ctx, actor).await?;
    Ok(Table {
        columns: vec!["title_id", "title", "holds_waiting", "copies"],
        rows: rows
            .into_iter()
            .map(|w| {
                vec![
                    w.title.to_string(),
                    w.name,
                    w.waiting.to_string(),
                    w.copies.to_string(),
                ]
            })
            .collect(),
    })
}

/// A title readers wait for while no copy their libraries may lend is free.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingTitle {
    /// The title.
    pub title: crate::domain::TitleId,
    /// Its name.
    pub name: String,
    /// Holds waiting (of the actor's library, or all for consortium admins).
    pub waiting: u64,
    /// Copies the waiting readers' libraries may lend (all on loan).
    pub copies: u32,
}

/// The titles readers wait for with no copy free, longest queue first.
pub async fn waiting_without_copies(ctx: &Ctx, actor: &Staff) -> Result<Vec<WaitingTitle>> {
    let conn = ctx.db.reader();
    let library = scope_library(actor);
    let mut rows = Vec::new();
    for title in holds::titles_with_waiting(conn).await? {
        let queue: Vec<_> = holds::waiting_queue(conn, title)
            .await?
            .into_iter()
            .filter(|h| library.is_none_or(|l| h.library_id == l))
            .collect();
        if queue.is_empty() {
            continue;
        }
        let lots = lot_store::lots_of_title(conn, title).await?;
        let now = ctx.clock.now();
        // The lots any waiting reader's library may lend from now, each once.
        let mut usable: Vec<&Lot> = queue
            .iter()
            .flat_map(|h| draw_order(&lots, h.library_id, now))
            .collect();
        usable.sort_by_key(|l| l.id);
        usable.dedup_by_key(|l| l.id);
        let free: u32 = usable.iter().map(|l| l.free_copies()).sum();
        if free > 0 {
            continue;
        }
        let name = titles::get(conn, title)
            .await?
            .map(|t| t.metadata.title)
            .unwrap_or_default();
        rows.push(WaitingTitle {
            title,
            name,
            waiting: u64::try_from(queue.len()).unwrap_or(u64::MAX),
            copies: usable.iter().map(|l| l.copies).sum(),
        });
    }
    rows.sort_by_key(|w| std::cmp::Reverse(w.waiting));
    Ok(rows)
}

/// The dashboard's figures, for the staff member's library (everyone's for consortium
/// admins). "Today" and "this month" are UTC days and months.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dashboard {
    /// Loans started today.
    pub loans_today: u64,
    /// Loans readers returned today.
    pub returns_today: u64,
    /// Holds placed today.
    pub holds_today: u64,
    /// Active loans (copies in use).
    pub copies_in_use: u64,
    /// Holds waiting for titles with no copy free (what to buy next).
    pub holds_without_copy: u64,
    /// The most borrowed titles this month, most first (at most ten).
    pub top_titles: Vec<(String, u64)>,
    /// Loans this month per borrowing library.
    pub loans_per_library: Vec<(String, u64)>,
}

/// The dashboard's figures as of now.
pub async fn dashboard(ctx: &Ctx, actor: &Staff) -> Result<Dashboard> {
    let now = ctx.clock.now();
    let end = now + chrono::Duration::seconds(1);
    let conn = ctx.db.reader();
    let library = scope_library(actor);
    let today = ctx.calendar.today_start(now);
    let month = ctx.calendar.month_start(now);
    let this_month = loans::loans_started_between(conn, library, month, end).await?;
    let loans_today = this_month.iter().filter(|l| l.started_at >= today).count();

    let mut per_title: BTreeMap<crate::domain::TitleId, u64> = BTreeMap::new();
    let mut per_library: BTreeMap<crate::domain::LibraryId, u64> = BTreeMap::new();
    for loan in &this_month {
        *per_title.entry(loan.title_id).or_default() += 1;
        *per_library.entry(loan.library_id).or_default() += 1;
    }
    let mut ranked: Vec<_> = per_title.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked.truncate(10);
    let mut top_titles = Vec::with_capacity(ranked.len());
    for (title, n) in ranked {
        let name = titles::get(conn, title)
            .await?
            .map_or_else(|| title.to_string(), |t| t.metadata.title);
        top_titles.push((name, n));
    }
    let names: BTreeMap<_, _> = libraries::list(conn)
        .await?
        .into_iter()
        .map(|l| (l.id, l.name))
        .collect();
    let mut loans_per_library: Vec<(String, u64)> = per_library
        .into_iter()
        .map(|(id, n)| (names.get(&id).cloned().unwrap_or_else(|| id.to_string()), n))
        .collect();
    loans_per_library.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));

    Ok(Dashboard {
        loans_today: u64::try_from(loans_today).unwrap_or(u64::MAX),
        returns_today: loans::returned_between(conn, library, today, end).await?,
        holds_today: holds::placed_between(conn, library, today, end).await?,
        copies_in_use: loans::active_count(conn, library).await?,
        holds_without_copy: waiting_without_copies(ctx, actor)
            .await?
            .iter()
            .map(|w| w.waiting)
            .sum(),
        top_titles,
        loans_per_library,
    })
}

/// A cell as text a spreadsheet will show rather than run: one that begins with `=`,
/// `+`, `-`, `@`, a tab or a carriage return (a formula, CSV injection) gets a leading
/// apostrophe, as OWASP advises. Our numbers are never negative, so none is altered.
pub fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// The table as CSV (RFC 4180, UTF-8 with a byte-order mark so spreadsheet programs
/// read the Chinese right). Cells a spreadsheet would run as a formula are neutralised.
pub fn to_csv(table: &Table) -> Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let internal = super::Error::internal("writing CSV");
    writer.write_record(&table.columns).map_err(internal)?;
    for row in &table.rows {
        writer
            .write_record(row.iter().map(|cell| spreadsheet_safe(cell).into_owned()))
            .map_err(super::Error::internal("writing CSV"))?;
    }
    writer
        .into_inner()
        .map_err(|e| super::Error::internal("writing CSV")(e.into_error()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_exported_as_text() {
        let table = Table {
            columns: vec!["title", "loans"],
            rows: vec![
                vec![
                    r#"=HYPERLINK("http://evil.example/x","click")"#.into(),
                    "3".into(),
                ],
                vec!["+1".into(), "0".into()],
                vec!["-2+3".into(), "0".into()],
                vec!["@SUM(A1)".into(), "0".into()],
                vec!["\tx".into(), "0".into()],
                vec!["论语 = 经典".into(), "12".into()],
            ],
        };
        let csv = String::from_utf8(to_csv(&table).expect("csv")).expect("utf-8");
        let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
        assert_eq!(
            lines[1],
            r#""'=HYPERLINK(""http://evil.example/x"",""click"")",3"#
        );
        assert_eq!(lines[2], "'+1,0");
        assert_eq!(lines[3], "'-2+3,0");
        assert_eq!(lines[4], "'@SUM(A1),0");
        assert_eq!(lines[5], "'\tx,0");
        assert_eq!(lines[6], "论语 = 经典,12", "ordinary text is untouched");
    }
}
