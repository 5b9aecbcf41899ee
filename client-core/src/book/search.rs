//! Search inside a book: case-insensitive, width-insensitive (full-width Latin letters
//! and digits match their ASCII forms), and CJK-aware (Chinese has no spaces, so a
//! query matches anywhere in the text, not only at word starts).

use super::Book;
use super::locator::Locator;
use crate::error::Result;

/// Characters of context kept on each side of a hit.
const CONTEXT: usize = 30;

/// Folds one character for matching.
fn fold(c: char) -> impl Iterator<Item = char> {
    let c = match c {
        // Full-width ASCII variants → ASCII.
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        c => c,
    };
    c.to_lowercase()
}

/// Folded text with, for each folded character, the index of its source character.
fn folded(chars: &[char]) -> (Vec<char>, Vec<usize>) {
    let mut out = Vec::with_capacity(chars.len());
    let mut map = Vec::with_capacity(chars.len());
    for (i, &c) in chars.iter().enumerate() {
        for f in fold(c) {
            out.push(f);
            map.push(i);
        }
    }
    (out, map)
}

/// Character ranges of `query` in `text`, non-overlapping, in order.
pub(crate) fn find_all(text: &[char], query: &str) -> Vec<(usize, usize)> {
    let query: Vec<char> = query.trim().chars().flat_map(fold).collect();
    if query.is_empty() {
        return Vec::new();
    }
    let (haystack, map) = folded(text);
    let mut hits = Vec::new();
    let mut i = 0;
    while i + query.len() <= haystack.len() {
        if haystack[i..i + query.len()] == query[..] {
            let start = map[i];
            let end = map[i + query.len() - 1] + 1;
            hits.push((start, end));
            i += query.len();
        } else {
            i += 1;
        }
    }
    hits
}

impl Book {
    /// Every occurrence of `query` in the reading order (at most `limit`, 0 for all),
    /// as locators with the text around each hit.
    pub fn search(&self, query: &str, limit: u32) -> Result<Vec<Locator>> {
        let mut results = Vec::new();
        for (index, item) in self.reading_order.iter().enumerate() {
            if !item.media_type.contains("html") {
                continue;
            }
            let text: Vec<char> = self.document(&item.href)?.text().chars().collect();
            let length = text.len().max(1) as f64;
            for (start, end) in find_all(&text, query) {
                let mut locator =
                    self.locator_at(u32::try_from(index).unwrap_or(0), start as f64 / length)?;
                let before: String = text[start.saturating_sub(CONTEXT)..start].iter().collect();
                let after: String = text[end..(end + CONTEXT).min(text.len())].iter().collect();
                locator.text_before = Some(before);
                locator.text_highlight = Some(text[start..end].iter().collect());
                locator.text_after = Some(after);
                results.push(locator);
                if limit > 0 && results.len() >= limit as usize {
                    return Ok(results);
                }
            }
        }
        Ok(results)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(text: &str, query: &str) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        find_all(&chars, query)
            .into_iter()
            .map(|(s, e)| chars[s..e].iter().collect())
            .collect()
    }

    #[test]
    fn case_and_width_insensitive() {
        assert_eq!(hits("Moby Dick and MOBY", "moby"), vec!["Moby", "MOBY"]);
        assert_eq!(hits("ＡＢＣ１２３ and abc", "abc"), vec!["ＡＢＣ", "abc"]);
        assert_eq!(hits("Straße STRASSE", "straße"), vec!["Straße"]);
    }

    #[test]
    fn chinese_matches_inside_runs_of_text() {
        assert_eq!(
            hits(
                "子曰：学而时习之，不亦说乎？有朋自远方来，不亦乐乎？",
                "不亦"
            ),
            vec!["不亦", "不亦"]
        );
        assert!(hits("学而", "").is_empty());
        assert!(hits("学而", "学而时").is_empty());
    }
}
