//! Readium-compatible locators: where the reader is, independent of layout.
//!
//! `position` counts from 1 through the book, one per 1,024 bytes of each reflowable
//! document (decrypted length, so the same for every copy of the book, encrypted or
//! not) and one per fixed-layout page, as Readium's toolkits do. `progression` is the
//! fraction of the document's text before the location (0 ≤ p < 1),
//! `total_progression` the fraction of the book. In audio and video a location is a time
//! offset: `time_offset` seconds into the track, written as Readium's media fragment
//! `t=` (`"fragments": ["t=83.5"]`), with progressions counted in time.

use serde::{Deserialize, Serialize};

use super::Book;
use crate::error::{ClientError, Result};

/// A location in a book.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Locator {
    /// The document (package path).
    pub href: String,
    /// Its media type.
    pub media_type: String,
    /// The chapter title, if the table of contents names it.
    pub title: Option<String>,
    /// Fraction of the document before this location.
    pub progression: f64,
    /// Fraction of the book before this location.
    pub total_progression: f64,
    /// Position (1-based) in the book.
    pub position: u32,
    /// Text before the location (for search hits and highlights).
    pub text_before: Option<String>,
    /// The located text itself.
    pub text_highlight: Option<String>,
    /// Text after it.
    pub text_after: Option<String>,
    /// Seconds into the track or video (audio and video only).
    pub time_offset: Option<f64>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Locations {
    progression: f64,
    total_progression: f64,
    position: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    fragments: Vec<String>,
}

#[derive(Serialize, Deserialize, Default)]
struct Text {
    #[serde(skip_serializing_if = "Option::is_none")]
    before: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    highlight: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    after: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct LocatorJson {
    href: String,
    #[serde(rename = "type")]
    media_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    locations: Locations,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<Text>,
}

impl Locator {
    /// The Readium JSON form (`{"href", "type", "locations": {...}, "text": {...}}`).
    pub fn to_json(&self) -> String {
        let has_text = self.text_before.is_some()
            || self.text_highlight.is_some()
            || self.text_after.is_some();
        let json = LocatorJson {
            href: self.href.clone(),
            media_type: self.media_type.clone(),
            title: self.title.clone(),
            locations: Locations {
                progression: self.progression,
                total_progression: self.total_progression,
                position: self.position,
                fragments: self
                    .time_offset
                    .map(|t| format!("t={}", (t * 1000.0).round() / 1000.0))
                    .into_iter()
                    .collect(),
            },
            text: has_text.then(|| Text {
                before: self.text_before.clone(),
                highlight: self.text_highlight.clone(),
                after: self.text_after.clone(),
            }),
        };
        serde_json::to_string(&json).unwrap_or_default()
    }

    /// Parses the Readium JSON form.
    pub fn from_json(json: &str) -> Result<Self> {
        let parsed: LocatorJson = serde_json::from_str(json)
            .map_err(|e| ClientError::other(format!("not a locator: {e}")))?;
        let text = parsed.text.unwrap_or_default();
        // `t=83.5` (seconds) or `t=83.5,90` (a range: its start); `npt:` prefixes too.
        let time_offset = parsed.locations.fragments.iter().find_map(|f| {
            let value = f.strip_prefix("t=")?;
            let value = value.strip_prefix("npt:").unwrap_or(value);
            let start = value.split(',').next()?;
            start
                .parse::<f64>()
                .ok()
                .filter(|t| t.is_finite() && *t >= 0.0)
        });
        Ok(Self {
            href: parsed.href,
            media_type: parsed.media_type,
            title: parsed.title,
            progression: parsed.locations.progression.clamp(0.0, 1.0),
            total_progression: parsed.locations.total_progression.clamp(0.0, 1.0),
            position: parsed.locations.position,
            text_before: text.before,
            text_highlight: text.highlight,
            text_after: text.after,
            time_offset,
        })
    }
}

impl Book {
    /// The locator of `progression` (0..1) through reading-order document `index`.
    pub fn locator_at(&self, index: u32, progression: f64) -> Result<Locator> {
        let item = self.item(index)?;
        let progression = if progression.is_finite() {
            progression.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let in_document = ((progression * f64::from(item.positions)).floor() as u32)
            .min(item.positions.saturating_sub(1));
        let position = item.first_position + in_document;
        let total = self.position_count().max(1);
        let mut total_progression = (f64::from(item.first_position - 1)
            + progression * f64::from(item.positions))
            / f64::from(total);
        let time_offset = item.duration.map(|d| progression * d);
        if let (Some(t), Some(total_time)) = (time_offset, self.metadata.duration)
            && total_time > 0.0
        {
            let before: f64 = self.reading_order[..index as usize]
                .iter()
                .filter_map(|i| i.duration)
                .sum();
            total_progression = (before + t) / total_time;
        }
        let title = self
            .toc
            .iter()
            .rev()
            .find(|t| t.href.split('#').next() == Some(item.href.as_str()))
            .map(|t| t.title.clone());
        Ok(Locator {
            href: item.href.clone(),
            media_type: item.media_type.clone(),
            title,
            progression,
            total_progression: total_progression.clamp(0.0, 1.0),
            position,
            text_before: None,
            text_highlight: None,
            text_after: None,
            time_offset,
        })
    }

    /// The locator `seconds` into track or video `index` (audio and video).
    pub fn locator_at_time(&self, index: u32, seconds: f64) -> Result<Locator> {
        let item = self.item(index)?;
        let duration = item
            .duration
            .ok_or_else(|| ClientError::other(format!("{} is not audio or video", item.href)))?;
        let seconds = if seconds.is_finite() {
            seconds.clamp(0.0, duration)
        } else {
            0.0
        };
        let progression = if duration > 0.0 {
            seconds / duration
        } else {
            0.0
        };
        let mut locator = self.locator_at(index, progression)?;
        locator.time_offset = Some(seconds);
        Ok(locator)
    }

    /// The locator of a position (1-based).
    pub fn locator_for_position(&self, position: u32) -> Result<Locator> {
        let (index, item) = self
            .reading_order
            .iter()
            .enumerate()
            .find(|(_, i)| {
                position >= i.first_position && position < i.first_position + i.positions
            })
            .ok_or_else(|| ClientError::not_found(format!("no position {position}")))?;
        let progression =
            f64::from(position - item.first_position) / f64::from(item.positions.max(1));
        self.locator_at(u32::try_from(index).unwrap_or(0), progression)
    }

    /// The reading-order index a locator points into.
    pub fn index_of_locator(&self, locator: &Locator) -> Result<u32> {
        self.index_of(&locator.href)
            .and_then(|i| u32::try_from(i).ok())
            .ok_or_else(|| {
                ClientError::not_found(format!("{} is not in the reading order", locator.href))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_readium_shaped_and_round_trips() {
        let locator = Locator {
            href: "OEBPS/c1.xhtml".into(),
            media_type: "application/xhtml+xml".into(),
            title: Some("第一章".into()),
            progression: 0.25,
            total_progression: 0.1,
            position: 7,
            text_before: None,
            text_highlight: Some("学而".into()),
            text_after: None,
            time_offset: None,
        };
        let json = locator.to_json();
        let value: serde_json::Value = serde_json::from_str(&json).expect("json");
        assert_eq!(value["type"], "application/xhtml+xml");
        assert_eq!(value["locations"]["totalProgression"], 0.1);
        assert_eq!(value["locations"]["position"], 7);
        assert_eq!(value["text"]["highlight"], "学而");
        assert_eq!(Locator::from_json(&json).expect("parse"), locator);
        assert!(Locator::from_json("{}").is_err());
    }

    #[test]
    fn time_offsets_travel_as_media_fragments() {
        let locator = Locator {
            href: "tracks/02.mp3".into(),
            media_type: "audio/mpeg".into(),
            title: Some("第二首".into()),
            progression: 0.5,
            total_progression: 0.6,
            position: 2,
            text_before: None,
            text_highlight: None,
            text_after: None,
            time_offset: Some(83.25),
        };
        let json = locator.to_json();
        let value: serde_json::Value = serde_json::from_str(&json).expect("json");
        assert_eq!(value["locations"]["fragments"][0], "t=83.25");
        assert_eq!(Locator::from_json(&json).expect("parse"), locator);
        // Readium's other spellings: a range, an npt: prefix.
        let other = json.replace("t=83.25", "t=npt:12.5,20");
        assert_eq!(
            Locator::from_json(&other).expect("parse").time_offset,
            Some(12.5)
        );
        let bad = json.replace("t=83.25", "t=soon");
        assert_eq!(Locator::from_json(&bad).expect("parse").time_offset, None);
    }
}
