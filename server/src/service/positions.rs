//! Reading positions shared across a reader's devices.

use jieyue_protocol::api::SavePositionRequest;

use super::{Ctx, Error, Result};
use crate::domain::{FieldError, Invalid};
use crate::domain::{Patron, TitleId};
use crate::store::positions;
pub use crate::store::positions::Position;

/// Largest locator kept (bytes of JSON).
pub const MAX_LOCATOR: usize = 8192;

fn check_locator(locator: &serde_json::Value) -> Result<String, Invalid> {
    let href_ok = locator
        .get("href")
        .and_then(|h| h.as_str())
        .is_some_and(|h| !h.is_empty());
    if !locator.is_object() || !href_ok || !locator.get("locations").is_some_and(|l| l.is_object())
    {
        return Err(FieldError::new(
            "locator",
            "must be a Readium locator with an href and locations",
        )
        .into());
    }
    let text = locator.to_string();
    if text.len() > MAX_LOCATOR {
        return Err(
            FieldError::new("locator", format!("is longer than {MAX_LOCATOR} bytes")).into(),
        );
    }
    Ok(text)
}

/// Saves the reader's position in a title (the latest save wins).
pub async fn save(
    ctx: &Ctx,
    patron: &Patron,
    title: TitleId,
    request: SavePositionRequest,
) -> Result<Position> {
    let locator = check_locator(&request.locator)?;
    super::catalogue::get_public(ctx, title).await?;
    let saved = Position {
        title_id: title,
        locator,
        device_id: request.device_id,
        updated_at: ctx.clock.now(),
    };
    let txn = ctx.db.begin_write().await?;
    positions::save(&txn, patron.id, &saved).await?;
    txn.commit().await?;
    Ok(saved)
}

/// The reader's position in a title.
pub async fn get(ctx: &Ctx, patron: &Patron, title: TitleId) -> Result<Position> {
    positions::get(ctx.db.reader(), patron.id, title)
        .await?
        .ok_or(Error::NotFound("reading position"))
}

/// All the reader's positions, latest first.
pub async fn list(ctx: &Ctx, patron: &Patron) -> Result<Vec<Position>> {
    Ok(positions::list(ctx.db.reader(), patron.id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locators_must_have_an_href_and_locations_and_stay_small() {
        let ok = serde_json::json!({"href": "a.xhtml", "type": "application/xhtml+xml", "locations": {"progression": 0.5}});
        assert!(check_locator(&ok).is_ok());
        assert!(check_locator(&serde_json::json!({"href": "a"})).is_err());
        assert!(check_locator(&serde_json::json!("a.xhtml")).is_err());
        let big =
            serde_json::json!({"href": "a", "locations": {}, "text": {"before": "x".repeat(9000)}});
        assert!(check_locator(&big).is_err());
    }
}
