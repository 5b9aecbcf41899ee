//! Usage flowing back up. A member rolls its loans of installed titles up per title and
//! day into a sequence-numbered log (no patron appears in it), sends the entries the
//! hub has not acknowledged (by network, or in a signed file on a return disk), and
//! the hub keeps them per member and reports them per collection, member, province and
//! month: what the programme reports to its funders.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{Datelike, NaiveDate};
use jieyue_protocol::distribution::{USAGE_TYPE, UsageReport};
use serde::Serialize;
use uuid::Uuid;

use super::hub_client::HubClient;
use super::{Ctx, Error, Result, ensure_admin};
use crate::domain::Staff;
use crate::domain::distribution::{PeerRole, PeerStatus, days_to_roll};
use crate::store::distribution as store;

/// Most entries in one report.
const REPORT_LIMIT: u64 = 2_000;

/// Rolls every whole past day up for every hub; returns the entries appended.
pub async fn roll_up(ctx: &Ctx) -> Result<usize> {
    let today = ctx.calendar.date_of(ctx.clock.now());
    let mut appended = 0;
    for hub in store::peers(ctx.db.reader(), PeerRole::Hub).await? {
        // The log starts at the first installation from this hub (no start: nothing
        // was ever installed from it).
        let (Some(rolled), _) = store::usage_cursor(ctx.db.reader(), hub.id).await? else {
            continue;
        };
        let titles = store::installed_titles(ctx.db.reader(), hub.id).await?;
        for day in days_to_roll(Some(rolled), today, today) {
            let counts = store::loan_counts(
                ctx.db.reader(),
                &titles,
                ctx.calendar.start_of(day),
                ctx.calendar.end_of(day),
            )
            .await?;
            let txn = ctx.db.begin_write().await?;
            // Another replica may have rolled this day meanwhile: the cursor decides.
            if store::append_usage_day(&txn, hub.id, day, &counts).await? {
                appended += counts.len();
            }
            txn.commit().await?;
        }
    }
    Ok(appended)
}

/// The signed report of entries `hub` has not acknowledged (`None` if there are none).
async fn report_for(ctx: &Ctx, hub: &crate::domain::distribution::Peer) -> Result<Option<String>> {
    let member = hub
        .my_id
        .ok_or(Error::Bug("a hub row without this server's id"))?;
    let (_, acked) = store::usage_cursor(ctx.db.reader(), hub.id).await?;
    let entries = store::usage_after(ctx.db.reader(), hub.id, acked, REPORT_LIMIT).await?;
    if entries.is_empty() {
        return Ok(None);
    }
    let report = UsageReport {
        member_id: member,
        hub_id: hub.id,
        issued_at: ctx.clock.now(),
        entries,
    };
    Ok(Some(
        report
            .sign(&ctx.keys.signing)
            .map_err(Error::internal("signing a usage report"))?,
    ))
}

/// Rolls up and sends unacknowledged usage to every hub reachable by network; returns
/// (hub name, acknowledged sequence number) per hub.
pub async fn send(ctx: &Ctx) -> Result<Vec<(String, u64)>> {
    roll_up(ctx).await?;
    let mut out = Vec::new();
    for hub in store::peers(ctx.db.reader(), PeerRole::Hub).await? {
        let (Some(base), Some(member)) = (hub.base_url.as_deref(), hub.my_id) else {
            continue;
        };
        if hub.status != PeerStatus::Active {
            continue;
        }
        loop {
            let Some(report) = report_for(ctx, &hub).await? else {
                break;
            };
            let client = HubClient::new(base, member, hub.id, ctx.keys.clone(), ctx.clock.clone())?;
            let acked = client.send_usage(&report).await?;
            let (_, before) = store::usage_cursor(ctx.db.reader(), hub.id).await?;
            let txn = ctx.db.begin_write().await?;
            store::acknowledge_usage(&txn, hub.id, acked).await?;
            txn.commit().await?;
            out.push((hub.name.clone(), acked));
            if acked <= before {
                break; // The hub took nothing new: do not loop.
            }
        }
    }
    Ok(out)
}

/// Rolls up and writes the unacknowledged usage for every hub into `dir`, one signed
/// file per hub (`usage-<member>-<hub>.jws`), for a return disk. Returns the files.
pub async fn export(ctx: &Ctx, dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    roll_up(ctx).await?;
    std::fs::create_dir_all(dir)?;
    let mut files = Vec::new();
    for hub in store::peers(ctx.db.reader(), PeerRole::Hub).await? {
        let Some(report) = report_for(ctx, &hub).await? else {
            continue;
        };
        let member = hub.my_id.unwrap_or_default();
        let path = dir.join(format!("usage-{member}-{}.jws", hub.id));
        std::fs::write(&path, report)?;
        files.push(path);
    }
    Ok(files)
}

/// The hub receives a usage report from `member` (already authorised by network, or
/// read from a file): verified against the member's pinned key, stored once. Returns
/// the member's name and the highest sequence number held.
pub async fn receive(ctx: &Ctx, token: &str) -> Result<(String, u64)> {
    let claimed =
        claimed_member(token).ok_or_else(|| Error::Conflict("not a usage report".into()))?;
    let member = store::peer(ctx.db.reader(), claimed)
        .await?
        .filter(|p| p.role == PeerRole::Member && p.status == PeerStatus::Active)
        .ok_or(Error::Forbidden(
            "the report is from no active member of this hub",
        ))?;
    let report = UsageReport::verify(token, &member.identity_keys)
        .map_err(|e| Error::Conflict(format!("the {USAGE_TYPE} report does not verify: {e}")))?;
    if report.hub_id != super::server_id(ctx).await? {
        return Err(Error::Conflict("the report is for another hub".into()));
    }
    let txn = ctx.db.begin_write().await?;
    let acked = store::store_member_usage(&txn, member.id, &report.entries).await?;
    txn.commit().await?;
    Ok((member.name, acked))
}

/// The member a usage report claims to come from, before it is verified.
pub fn claimed_member(token: &str) -> Option<Uuid> {
    #[derive(serde::Deserialize)]
    struct Claim {
        member_id: Uuid,
    }
    let payload = jieyue_protocol::encoding::unb64(token.split('.').nth(1)?)?;
    serde_json::from_slice::<Claim>(&payload)
        .ok()
        .map(|c| c.member_id)
}

/// One row of the hub's usage report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UsageRow {
    /// Collection short name.
    pub collection: String,
    /// Member id.
    pub member_id: Uuid,
    /// Member name.
    pub member: String,
    /// Province or region.
    pub region: Option<String>,
    /// Month (`2026-09`).
    pub month: String,
    /// Loans begun.
    pub loans: u64,
    /// Renewals.
    pub renewals: u64,
    /// Loans ended.
    pub returns: u64,
}

/// Use of each collection by member (with province) and month, for days in
/// `[from, to]`. A title in two collections counts in both.
pub async fn report(
    ctx: &Ctx,
    actor: &Staff,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<UsageRow>> {
    ensure_admin(actor)?;
    let conn = ctx.db.reader();
    let members: BTreeMap<Uuid, _> = store::peers(conn, PeerRole::Member)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let collections: BTreeMap<Uuid, String> = store::collections(conn)
        .await?
        .into_iter()
        .map(|c| (c.id, c.slug.as_str().to_owned()))
        .collect();
    let mut of_title: BTreeMap<Uuid, Vec<&str>> = BTreeMap::new();
    let pairs = store::all_collection_titles(conn).await?;
    for (collection, title) in &pairs {
        if let Some(slug) = collections.get(collection) {
            of_title.entry(*title).or_default().push(slug);
        }
    }
    let rows = store::member_usage(
        conn,
        &from.format("%Y-%m-%d").to_string(),
        &to.format("%Y-%m-%d").to_string(),
    )
    .await?;
    let mut totals: BTreeMap<(String, Uuid, String), (u64, u64, u64)> = BTreeMap::new();
    for (member, title, day, loans, renewals, returns) in rows {
        let Ok(day) = NaiveDate::parse_from_str(&day, "%Y-%m-%d") else {
            continue;
        };
        let month = format!("{:04}-{:02}", day.year(), day.month());
        for slug in of_title.get(&title).into_iter().flatten() {
            let t = totals
                .entry(((*slug).to_owned(), member, month.clone()))
                .or_default();
            t.0 += loans;
            t.1 += renewals;
            t.2 += returns;
        }
    }
    Ok(totals
        .into_iter()
        .map(
            |((collection, member_id, month), (loans, renewals, returns))| {
                let member = members.get(&member_id);
                UsageRow {
                    collection,
                    member_id,
                    member: member.map(|m| m.name.clone()).unwrap_or_default(),
                    region: member.and_then(|m| m.region.clone()),
                    month,
                    loans,
                    renewals,
                    returns,
                }
            },
        )
        .collect())
}
