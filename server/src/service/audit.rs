//! The audit trail as staff read it: staff actions and circulation events, filtered and
//! paged, newest first. Library staff see the events of their library; consortium
//! admins every event.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Ctx, Result};
use crate::domain::{LibraryId, LibraryScope, PatronId, Staff, StaffId, TitleId};
use crate::store::audit::{self as store, Actor, AuditQuery};

/// Events per page.
pub const PAGE_SIZE: u64 = 50;

/// How many titles a text in the title filter may stand for.
const TITLE_MATCHES: usize = 50;

/// What to look for.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only what this staff member did.
    pub staff: Option<StaffId>,
    /// Only events about this patron: a card number or an id.
    pub patron: Option<String>,
    /// Only events about this title: an id, or text to search the catalogue for.
    pub title: Option<String>,
    /// Only this action (`rules.set`).
    pub action: Option<String>,
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// Before.
    pub to: Option<DateTime<Utc>>,
    /// The page after the one that ended with this event.
    pub before: Option<Uuid>,
}

/// Who did something, with what the page shows for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// A staff member and their display name (if the account still exists).
    Staff(StaffId, Option<String>),
    /// A patron and their card number (if they still exist).
    Patron(PatronId, Option<String>),
    /// The server itself (jobs, expiry, the holds queue).
    System,
}

/// One event as the page shows it.
#[derive(Debug, Clone)]
pub struct AuditLine {
    /// Id.
    pub id: Uuid,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub who: Who,
    /// The library whose data changed (its name), if any.
    pub library: Option<String>,
    /// What (`patron.block`).
    pub action: String,
    /// The kind of record acted on (`patron`).
    pub target_kind: String,
    /// The record acted on.
    pub target_id: Option<Uuid>,
    /// A name for the record (card number, username, library or title name) when
    /// one is known.
    pub target_name: Option<String>,
    /// The recorded detail as text (`category: child; reason: …`).
    pub detail: String,
}

/// A page of the audit trail.
#[derive(Debug, Clone)]
pub struct AuditPage {
    /// The events, newest first.
    pub events: Vec<AuditLine>,
    /// The id to continue after, when there are older events.
    pub next: Option<Uuid>,
    /// The actions recorded in the staff member's scope (for the filter).
    pub actions: Vec<String>,
    /// The staff accounts in the staff member's scope (for the filter).
    pub staff: Vec<Staff>,
    /// The patron filter named no patron in scope.
    pub unknown_patron: bool,
    /// The title filter named no title.
    pub unknown_title: bool,
}

/// The patrons a card number or id names inside the actor's scope.
async fn patrons_named(ctx: &Ctx, actor: &Staff, query: &str) -> Result<Vec<PatronId>> {
    Ok(super::patrons::named(ctx, actor, query)
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect())
}

/// The titles an id or a search text names.
async fn titles_named(ctx: &Ctx, query: &str) -> Result<Vec<TitleId>> {
    if let Ok(id) = Uuid::parse_str(query) {
        return Ok(vec![TitleId(id)]);
    }
    let results = super::catalogue::search(
        ctx,
        crate::search::SearchQuery {
            text: query.to_owned(),
            limit: TITLE_MATCHES,
            ..Default::default()
        },
    )
    .await?;
    Ok(results.titles.into_iter().map(|t| t.id).collect())
}

fn trimmed(value: Option<&String>) -> Option<&str> {
    value.map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// A page of the audit trail matching `filter`, inside the actor's scope: events of
/// their library (every event for consortium admins).
pub async fn search(ctx: &Ctx, actor: &Staff, filter: &AuditFilter) -> Result<AuditPage> {
    let library = match actor.scope() {
        LibraryScope::All => None,
        LibraryScope::One(library) => Some(library),
    };
    let patrons = match trimmed(filter.patron.as_ref()) {
        Some(query) => Some(patrons_named(ctx, actor, query).await?),
        None => None,
    };
    let titles = match trimmed(filter.title.as_ref()) {
        Some(query) => Some(titles_named(ctx, query).await?),
        None => None,
    };
    let query = AuditQuery {
        library,
        staff: filter.staff,
        patrons: patrons.clone(),
        titles: titles.clone(),
        action: trimmed(filter.action.as_ref()).map(str::to_owned),
        from: filter.from,
        to: filter.to,
        before: filter.before,
        limit: PAGE_SIZE + 1,
    };
    let conn = ctx.db.reader();
    let mut events = store::search(conn, &query).await?;
    let next = if events.len() > usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX) {
        events.truncate(usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX));
        events.last().map(|e| e.id)
    } else {
        None
    };
    let lines = describe(ctx, events).await?;
    Ok(AuditPage {
        events: lines,
        next,
        actions: store::actions(conn, library).await?,
        staff: super::staff::list(ctx, actor).await?,
        unknown_patron: patrons.is_some_and(|p| p.is_empty()),
        unknown_title: titles.is_some_and(|t| t.is_empty()),
    })
}

/// The title id a detail names (`{"title": "…"}`), if any.
fn detail_title(detail: Option<&serde_json::Value>) -> Option<Uuid> {
    detail?
        .get("title")?
        .as_str()
        .and_then(|t| Uuid::parse_str(t).ok())
}

/// Names the actors and targets of `events` and writes their details as text.
async fn describe(ctx: &Ctx, events: Vec<store::AuditEvent>) -> Result<Vec<AuditLine>> {
    let conn = ctx.db.reader();
    let mut staff_ids = BTreeSet::new();
    let mut patron_ids = BTreeSet::new();
    let mut title_ids = BTreeSet::new();
    for event in &events {
        match event.actor {
            Actor::Staff(id) => {
                staff_ids.insert(id.0);
            }
            Actor::Patron(id) => {
                patron_ids.insert(id.0);
            }
            Actor::System => {}
        }
        if let Some(target) = event.target_id {
            match event.target_kind.as_str() {
                "staff" => {
                    staff_ids.insert(target);
                }
                "patron" => {
                    patron_ids.insert(target);
                }
                "title" => {
                    title_ids.insert(target);
                }
                _ => {}
            }
        }
        if let Some(title) = detail_title(event.detail.as_ref()) {
            title_ids.insert(title);
        }
    }
    let staff_names = store::staff_names(conn, &staff_ids.into_iter().collect::<Vec<_>>()).await?;
    let patron_cards =
        store::patron_cards(conn, &patron_ids.into_iter().collect::<Vec<_>>()).await?;
    let title_ids: Vec<TitleId> = title_ids.into_iter().map(TitleId).collect();
    let title_names: HashMap<Uuid, String> = crate::store::titles::get_many(conn, &title_ids)
        .await?
        .into_iter()
        .map(|t| (t.id.0, t.metadata.title))
        .collect();
    let library_names: HashMap<LibraryId, String> = crate::store::libraries::list(conn)
        .await?
        .into_iter()
        .map(|l| (l.id, l.name))
        .collect();
    Ok(events
        .into_iter()
        .map(|event| {
            let who = match event.actor {
                Actor::Staff(id) => Who::Staff(id, staff_names.get(&id.0).cloned()),
                Actor::Patron(id) => Who::Patron(id, patron_cards.get(&id.0).cloned()),
                Actor::System => Who::System,
            };
            let target_name = event
                .target_id
                .and_then(|id| match event.target_kind.as_str() {
                    "staff" => staff_names.get(&id).cloned(),
                    "patron" => patron_cards.get(&id).cloned(),
                    "title" => title_names.get(&id).cloned(),
                    "library" => library_names.get(&LibraryId(id)).cloned(),
                    _ => None,
                });
            AuditLine {
                id: event.id,
                at: event.at,
                who,
                library: event
                    .library_id
                    .and_then(|l| library_names.get(&l).cloned()),
                detail: summarise(event.detail.as_ref(), &title_names),
                action: event.action,
                target_kind: event.target_kind,
                target_id: event.target_id,
                target_name,
            }
        })
        .collect())
}

/// The longest detail text shown.
const DETAIL_CHARS: usize = 300;

/// A recorded detail as one line of text: `key: value` pairs, strings unquoted, a
/// title id replaced by the title's name, cut at `DETAIL_CHARS` characters.
pub fn summarise(detail: Option<&serde_json::Value>, titles: &HashMap<Uuid, String>) -> String {
    use serde_json::Value;
    let value_text = |key: &str, value: &Value| match value {
        Value::Null => String::from("—"),
        Value::String(s) if key == "title" => Uuid::parse_str(s)
            .ok()
            .and_then(|id| titles.get(&id).cloned())
            .unwrap_or_else(|| s.clone()),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let text = match detail {
        None | Some(Value::Null) => String::new(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(key, value)| format!("{key}: {}", value_text(key, value)))
            .collect::<Vec<_>>()
            .join("; "),
        Some(other) => value_text("", other),
    };
    if text.chars().count() > DETAIL_CHARS {
        let mut cut: String = text.chars().take(DETAIL_CHARS).collect();
        cut.push('…');
        cut
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_read_as_text_with_title_names() {
        let title = Uuid::new_v4();
        let titles = HashMap::from([(title, "论语".to_owned())]);
        let detail = serde_json::json!({ "title": title, "days": 14, "reason": null });
        let text = summarise(Some(&detail), &titles);
        let mut parts: Vec<&str> = text.split("; ").collect();
        parts.sort_unstable();
        assert_eq!(parts, ["days: 14", "reason: —", "title: 论语"]);
        assert_eq!(summarise(None, &titles), "");
        let long = serde_json::json!({ "note": "字".repeat(400) });
        assert_eq!(
            summarise(Some(&long), &titles).chars().count(),
            DETAIL_CHARS + 1
        );
    }
}
