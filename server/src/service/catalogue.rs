//! The catalogue: search, title details, staff edits and suppression, and keeping the
//! search index in step with the database.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::json;

use super::{Ctx, Error, Result};
use crate::blobs::Blobs;
use crate::domain::{FieldError, Invalid, Staff, StaffRole, Title, TitleId, Validator};
use crate::search::{Facets, SearchIndex, SearchQuery};
use crate::store::audit::{self, Actor, AuditEntry};
use crate::store::titles;

/// The catalogue's storage: object store, search index, scratch space.
#[derive(Clone)]
pub struct Catalogue {
    /// Packages, covers, thumbnails.
    pub blobs: Blobs,
    /// This replica's search index.
    pub search: Arc<SearchIndex>,
    /// Scratch space for packages being written.
    pub work_dir: PathBuf,
    sync: Arc<tokio::sync::Mutex<()>>,
}

impl Catalogue {
    /// A catalogue over these parts.
    pub fn new(blobs: Blobs, search: Arc<SearchIndex>, work_dir: PathBuf) -> Self {
        Self {
            blobs,
            search,
            work_dir,
            sync: Arc::new(tokio::sync::Mutex::new(())),
        }
    }
}

/// How far back the change log is re-read on each catch-up. On PostgreSQL a sequence
/// number is taken before its transaction commits, so a change may become visible
/// after a higher one was applied; re-reading a window (upserts are idempotent) picks
/// such late commits up.
const LOOKBACK: i64 = 200;

/// Applies every catalogue change this replica's index has not seen. Safe to call
/// concurrently (calls are serialised) and from several replicas.
pub async fn sync_search(ctx: &Ctx) -> Result<usize> {
    let catalogue = &ctx.catalogue;
    let _guard = catalogue.sync.lock().await;
    let mut applied = 0;
    let mut from = (catalogue.search.applied_seq() - LOOKBACK).max(0);
    loop {
        let changes = titles::changes_after(ctx.db.reader(), from, 1000).await?;
        let Some(&(last, _)) = changes.last() else {
            break;
        };
        let ids: Vec<TitleId> = changes
            .iter()
            .map(|(_, id)| *id)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let found = titles::get_many(ctx.db.reader(), &ids).await?;
        let gone: Vec<TitleId> = ids
            .iter()
            .filter(|id| !found.iter().any(|t| t.id == **id))
            .copied()
            .collect();
        applied += found.len();
        let search = catalogue.search.clone();
        let high = last.max(search.applied_seq());
        let outcome = tokio::task::spawn_blocking(move || -> crate::search::Result<()> {
            search.upsert(&found)?;
            search.remove(&gone)?;
            search.set_applied_seq(high)
        })
        .await?;
        match outcome {
            Ok(()) => {}
            // Another process owns this index's writer and follows the change log itself;
            // just see what it has committed.
            Err(crate::search::SearchError::Busy) => {
                catalogue.search.reload()?;
                return Ok(applied);
            }
            Err(other) => return Err(other.into()),
        }
        from = last;
    }
    Ok(applied)
}

/// Rebuilds this replica's index from the database.
pub async fn reindex(ctx: &Ctx) -> Result<u64> {
    let search = ctx.catalogue.search.clone();
    let start_seq = titles::last_change(ctx.db.reader()).await?;
    let clear = search.clone();
    tokio::task::spawn_blocking(move || clear.clear()).await??;
    let mut after = None;
    let mut count = 0u64;
    loop {
        let ids = titles::ids_after(ctx.db.reader(), after, 500).await?;
        let Some(last) = ids.last().copied() else {
            break;
        };
        let batch = titles::get_many(ctx.db.reader(), &ids).await?;
        count += batch.len() as u64;
        let search = search.clone();
        tokio::task::spawn_blocking(move || search.upsert(&batch)).await??;
        after = Some(last);
    }
    search.set_applied_seq(start_seq)?;
    // Changes made during the rebuild are re-applied from `start_seq`.
    sync_search(ctx).await?;
    Ok(count)
}

/// A page of search results.
#[derive(Debug, Clone)]
pub struct Results {
    /// The titles.
    pub titles: Vec<Title>,
    /// Matches in all.
    pub total: usize,
    /// Facet counts.
    pub facets: Facets,
}

/// Searches (or browses) the public catalogue.
pub async fn search(ctx: &Ctx, query: SearchQuery) -> Result<Results> {
    let search = ctx.catalogue.search.clone();
    let page = tokio::task::spawn_blocking(move || search.search(&query)).await??;
    let titles = titles::get_many(ctx.db.reader(), &page.ids)
        .await?
        .into_iter()
        .filter(|t| !t.suppressed)
        .collect();
    Ok(Results {
        titles,
        total: page.total,
        facets: page.facets,
    })
}

/// A title of the public catalogue (suppressed titles are not found).
pub async fn get_public(ctx: &Ctx, id: TitleId) -> Result<Title> {
    titles::get(ctx.db.reader(), id)
        .await?
        .filter(|t| !t.suppressed)
        .ok_or(Error::NotFound("title"))
}

/// A title as staff see it (suppressed ones too).
pub async fn get_any(ctx: &Ctx, id: TitleId) -> Result<Title> {
    titles::get(ctx.db.reader(), id)
        .await?
        .ok_or(Error::NotFound("title"))
}

/// Who may change the catalogue: consortium admins and library managers.
pub fn may_edit_catalogue(staff: &Staff) -> bool {
    matches!(
        staff.role,
        StaffRole::ConsortiumAdmin | StaffRole::LibraryManager
    )
}

/// Staff edits to a title's descriptive metadata.
#[derive(Debug, Clone, Default)]
pub struct TitleChanges {
    /// New title.
    pub title: Option<String>,
    /// New subjects.
    pub subjects: Option<Vec<String>>,
    /// New description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// Hide from (or show in) the public catalogue.
    pub suppressed: Option<bool>,
}

impl TitleChanges {
    /// Checks and tidies an edit as a librarian typed it: text is trimmed, empty subjects
    /// are dropped, an empty description clears it. Every failing field is reported.
    pub fn parse(
        title: Option<String>,
        subjects: Option<Vec<String>>,
        description: Option<Option<String>>,
        suppressed: Option<bool>,
    ) -> std::result::Result<Self, Invalid> {
        let mut v = Validator::new();
        let title = v.check_opt(title.map(|t| {
            let t = t.trim().to_owned();
            if t.is_empty() || t.chars().count() > 500 {
                Err(FieldError::new("title", "must be 1-500 characters"))
            } else {
                Ok(t)
            }
        }));
        let subjects = v.check_opt(subjects.map(|list| {
            let mut cleaned: Vec<String> = list
                .iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
            cleaned.dedup();
            if cleaned.len() > 50 || cleaned.iter().any(|x| x.chars().count() > 200) {
                Err(FieldError::new(
                    "subjects",
                    "at most 50 subjects of at most 200 characters",
                ))
            } else {
                Ok(cleaned)
            }
        }));
        let description = v.check_opt(description.map(|d| {
            match d.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()) {
                Some(text) if text.chars().count() > 10_000 => Err(FieldError::new(
                    "description",
                    "must be at most 10000 characters",
                )),
                cleared_or_text => Ok(cleared_or_text),
            }
        }));
        v.finish()?;
        Ok(Self {
            title: title.flatten(),
            subjects: subjects.flatten(),
            description: description.flatten(),
            suppressed,
        })
    }
}

/// Loads a title in a write transaction, applies `change`, saves it with an audit entry
/// and a change-log entry, then brings the search index up to date.
async fn modify_title(
    ctx: &Ctx,
    actor: &Staff,
    id: TitleId,
    action: &'static str,
    detail: serde_json::Value,
    change: impl FnOnce(&mut Title),
) -> Result<Title> {
    let now = ctx.clock.now();
    let txn = ctx.db.begin_write().await?;
    let mut title = titles::get(&txn, id)
        .await?
        .ok_or(Error::NotFound("title"))?;
    change(&mut title);
    title.updated_at = now;
    titles::update(&txn, &title).await?;
    audit::record(
        &txn,
        AuditEntry {
            actor: Actor::Staff(actor.id),
            library_id: actor.library_id,
            action,
            target_kind: "title",
            target_id: Some(id.0),
            detail: Some(detail),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    ctx.cache.forget_title(id);
    sync_search(ctx).await?;
    Ok(title)
}

fn ensure_may_edit(actor: &Staff) -> Result<()> {
    if may_edit_catalogue(actor) {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "only consortium admins and library managers edit the catalogue",
        ))
    }
}

/// Applies staff edits to a title; the search index follows.
pub async fn update(ctx: &Ctx, actor: &Staff, id: TitleId, changes: TitleChanges) -> Result<Title> {
    ensure_may_edit(actor)?;
    let detail = json!({
        "title": changes.title,
        "subjects": changes.subjects,
        "description_changed": changes.description.is_some(),
        "suppressed": changes.suppressed,
    });
    modify_title(ctx, actor, id, "title.update", detail, |title| {
        if let Some(text) = changes.title {
            title.metadata.sort_title = crate::domain::sort_key(&text);
            title.metadata.title = text;
        }
        if let Some(subjects) = changes.subjects {
            title.metadata.subjects = subjects;
        }
        if let Some(description) = changes.description {
            title.metadata.description = description;
        }
        if let Some(suppressed) = changes.suppressed {
            title.suppressed = suppressed;
        }
    })
    .await
}

/// Deletes stored objects no title refers to, staging files of unfinished uploads and
/// scratch files of interrupted ingests, all older than `grace` (so an ingest in
/// progress elsewhere keeps its fresh files). Returns how many were deleted. The server
/// runs it at start and hourly; `jieyue ingest` before it ingests.
pub async fn remove_orphans(ctx: &Ctx, grace: chrono::Duration) -> Result<usize> {
    let referenced = titles::referenced_keys(ctx.db.reader()).await?;
    let cutoff = ctx.clock.now() - grace;
    let mut removed = 0;
    for prefix in ["packages", "covers"] {
        let objects = ctx.catalogue.blobs.list(prefix).await?;
        for (key, modified) in objects {
            if !referenced.contains(&key) && modified < cutoff {
                ctx.catalogue.blobs.delete(&key).await?;
                removed += 1;
            }
        }
    }
    // Staging files of uploads to the store that never finished.
    let system_cutoff = std::time::SystemTime::from(cutoff);
    let blobs = ctx.catalogue.blobs.clone();
    removed += tokio::task::spawn_blocking(move || blobs.sweep_staging(system_cutoff)).await?;
    // Scratch files of interrupted ingests and uploads.
    if let Ok(entries) = std::fs::read_dir(&ctx.catalogue.work_dir) {
        for entry in entries.flatten() {
            let stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .map(|t| chrono::DateTime::<chrono::Utc>::from(t) < cutoff)
                .unwrap_or(false);
            if stale && std::fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
    }
    Ok(removed)
}

/// Replaces a title's cover (and thumbnail) with an image staff supply.
pub async fn replace_cover(
    ctx: &Ctx,
    actor: &Staff,
    id: TitleId,
    bytes: Vec<u8>,
    media_type: &str,
) -> Result<Title> {
    ensure_may_edit(actor)?;
    let Some(extension) = (match media_type {
        "image/jpeg" => Some("jpg"),
        "image/png" => Some("png"),
        "image/gif" => Some("gif"),
        "image/webp" => Some("webp"),
        _ => None,
    }) else {
        return Err(crate::domain::FieldError::new(
            "content-type",
            "must be image/jpeg, image/png, image/gif or image/webp",
        )
        .into());
    };
    let image = bytes.clone();
    let thumbnail = tokio::task::spawn_blocking(move || super::thumbnail::make(&image))
        .await?
        .map_err(|why| crate::domain::FieldError::new("body", why.to_string()))?;
    let old = get_any(ctx, id).await?;
    let stamp = uuid::Uuid::now_v7().simple().to_string();
    let cover_key = format!("covers/{id}/staff-{stamp}.{extension}");
    let thumb_key = format!("covers/{id}/staff-{stamp}-thumb.jpg");
    let blobs = &ctx.catalogue.blobs;
    blobs.put_bytes(&cover_key, bytes).await?;
    blobs.put_bytes(&thumb_key, thumbnail).await?;

    let detail = json!({ "media_type": media_type });
    let title = modify_title(ctx, actor, id, "title.cover", detail, |title| {
        title.cover = Some((cover_key, media_type.to_owned()));
        title.thumbnail_key = Some(thumb_key);
    })
    .await?;
    for key in old
        .cover
        .map(|(k, _)| k)
        .into_iter()
        .chain(old.thumbnail_key)
    {
        if let Err(err) = blobs.delete(&key).await {
            tracing::warn!(%key, error = %err, "could not delete a replaced cover; the orphan sweep will");
        }
    }
    Ok(title)
}

#[cfg(test)]
mod tests {
    use super::TitleChanges;

    #[test]
    fn title_edits_are_tidied() {
        let changes = TitleChanges::parse(
            Some("  大学  ".into()),
            Some(vec![" 儒家 ".into(), "".into(), "经典".into()]),
            Some(Some("   ".into())),
            Some(true),
        )
        .expect("valid");
        assert_eq!(changes.title.as_deref(), Some("大学"));
        assert_eq!(changes.subjects, Some(vec!["儒家".into(), "经典".into()]));
        assert_eq!(
            changes.description,
            Some(None),
            "blank clears the description"
        );
        assert_eq!(changes.suppressed, Some(true));

        let untouched = TitleChanges::parse(None, None, None, None).expect("valid");
        assert!(untouched.title.is_none() && untouched.subjects.is_none());
        assert!(untouched.description.is_none());
    }

    #[test]
    fn every_bad_field_of_a_title_edit_is_reported() {
        let invalid = TitleChanges::parse(
            Some(" ".into()),
            Some((0..51).map(|i| i.to_string()).collect()),
            Some(Some("字".repeat(10_001))),
            None,
        )
        .expect_err("invalid");
        let fields: Vec<&str> = invalid.0.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["title", "subjects", "description"]);
    }
}

/// A title as the console's title page shows it: the title, its versions and its
/// stock at each library in the staff member's scope.
#[derive(Debug, Clone)]
pub struct StaffTitle {
    /// The versions ingested, oldest first.
    pub versions: Vec<titles::VersionRecord>,
    /// The title, its lots and each library's stock.
    pub stock: super::lots::TitleStock,
}

/// A title for staff (suppressed ones too), with its version history and stock.
pub async fn staff_title(ctx: &Ctx, actor: &Staff, id: TitleId) -> Result<StaffTitle> {
    let stock = super::lots::title_stock(ctx, actor, id).await?;
    let versions = titles::versions(ctx.db.reader(), id).await?;
    Ok(StaffTitle { versions, stock })
}

/// What staff find in the catalogue: the search results, and on the first page the
/// titles hidden from readers (which the search index leaves out), by title.
#[derive(Debug, Clone)]
pub struct StaffResults {
    /// The search results (as readers would get them).
    pub results: Results,
    /// Suppressed titles, at most `hidden_limit` (first page only).
    pub hidden: Vec<Title>,
}

/// Searches the catalogue as staff do: the public search, plus the suppressed titles
/// (every staff member may see them).
pub async fn staff_search(
    ctx: &Ctx,
    _actor: &Staff,
    query: SearchQuery,
    hidden_limit: u64,
) -> Result<StaffResults> {
    let first_page = query.offset == 0;
    let results = search(ctx, query).await?;
    let hidden = if first_page {
        titles::suppressed(ctx.db.reader(), hidden_limit).await?
    } else {
        Vec::new()
    };
    Ok(StaffResults { results, hidden })
}

/// A title in a reader's search results: its availability at the library the reader
/// browses (when one is known) and the reader's own active loan of it.
#[derive(Debug, Clone)]
pub struct ReaderHit {
    /// The title.
    pub title: Title,
    /// Availability at the library (for the reader, if logged in).
    pub availability: Option<super::holds::Availability>,
    /// The reader's active loan of the title.
    pub loan: Option<crate::domain::LoanId>,
}

/// A page of a reader's search results.
#[derive(Debug, Clone)]
pub struct ReaderResults {
    /// The titles found, in order.
    pub hits: Vec<ReaderHit>,
    /// Matches in all.
    pub total: usize,
    /// Facet counts.
    pub facets: Facets,
}

/// Searches the public catalogue for a reader: with availability at the reader's
/// library (or at `library`, for a visitor who picked one) and the reader's loans.
pub async fn reader_search(
    ctx: &Ctx,
    query: SearchQuery,
    library: Option<crate::domain::LibraryId>,
    patron: Option<&crate::domain::Patron>,
) -> Result<ReaderResults> {
    let results = search(ctx, query).await?;
    let library = patron.map(|p| p.library_id).or(library);
    let loans: std::collections::HashMap<TitleId, crate::domain::LoanId> = match patron {
        Some(patron) => crate::store::loans::loans_of(ctx.db.reader(), patron.id, true)
            .await?
            .into_iter()
            .map(|l| (l.title_id, l.id))
            .collect(),
        None => std::collections::HashMap::new(),
    };
    let mut hits = Vec::with_capacity(results.titles.len());
    for title in results.titles {
        let availability = match library {
            Some(library) => Some(
                super::holds::availability(ctx, title.id, library, patron.map(|p| p.id)).await?,
            ),
            None => None,
        };
        hits.push(ReaderHit {
            loan: loans.get(&title.id).copied(),
            availability,
            title,
        });
    }
    Ok(ReaderResults {
        hits,
        total: results.total,
        facets: results.facets,
    })
}

/// A title as a reader's title page shows it: availability at the reader's library (or
/// the one a visitor picked), and for a logged-in reader what they can do with it.
#[derive(Debug, Clone)]
pub struct ReaderTitle {
    /// The title.
    pub title: Title,
    /// Availability at the library.
    pub availability: Option<super::holds::Availability>,
    /// The reader's active loan of the title.
    pub loan: Option<super::lending::LoanSummary>,
    /// The reader's open hold on the title, with its place and estimated wait.
    pub hold: Option<super::holds::HoldStatus>,
    /// The reader's lending rules (loan lengths to choose from).
    pub rules: Option<crate::domain::LendingRules>,
    /// What borrowing would answer now, if it would refuse (no loan of it yet).
    pub borrow_refusal: Option<super::Refusal>,
    /// For a title with every copy out and no hold of the reader's: the place a new
    /// hold would take and its estimated wait in days.
    pub wait_if_held: Option<(u64, u64)>,
}

/// A public title for a reader's title page (`patron`: the logged-in reader;
/// `library`: the library a visitor picked).
pub async fn reader_title(
    ctx: &Ctx,
    patron: Option<&crate::domain::Patron>,
    library: Option<crate::domain::LibraryId>,
    id: TitleId,
) -> Result<ReaderTitle> {
    let title = get_public(ctx, id).await?;
    let library = patron.map(|p| p.library_id).or(library);
    let availability = match library {
        Some(library) => {
            Some(super::holds::availability(ctx, id, library, patron.map(|p| p.id)).await?)
        }
        None => None,
    };
    let mut page = ReaderTitle {
        title,
        availability,
        loan: None,
        hold: None,
        rules: None,
        borrow_refusal: None,
        wait_if_held: None,
    };
    let Some(patron) = patron else {
        return Ok(page);
    };
    let rules = super::rules::rules_for(ctx, patron.library_id, &patron.category).await?;
    page.loan = super::lending::my_loans(ctx, patron, true)
        .await?
        .into_iter()
        .find(|l| l.loan.title_id == id);
    page.hold = super::holds::list(ctx, patron)
        .await?
        .into_iter()
        .find(|h| h.hold.title_id == id);
    if page.loan.is_none() {
        page.borrow_refusal = match super::lending::would_borrow(ctx, patron, id).await {
            Ok(()) => None,
            Err(Error::Refused(refusal)) => Some(refusal),
            Err(err) => return Err(err),
        };
    }
    let copies = page.availability.as_ref().map_or(0, |a| a.copies_total);
    if page.hold.is_none()
        && copies > 0
        && page.borrow_refusal == Some(super::Refusal::NoCopyAvailable)
    {
        let now = ctx.clock.now();
        let queue = crate::store::holds::waiting_queue(ctx.db.reader(), id).await?;
        let ahead = queue.iter().filter(|h| h.in_line_at(now)).count();
        let position = u64::try_from(ahead).unwrap_or(u64::MAX).saturating_add(1);
        page.wait_if_held = Some((
            position,
            crate::domain::estimated_wait_days(position, rules.loan_days_default, copies),
        ));
    }
    page.rules = Some(rules);
    Ok(page)
}
