//! Text analysis for Chinese-aware search.
//!
//! Every text is first *normalised*: traditional characters become simplified (fast2s),
//! full-width forms become half-width, and Latin letters are lower-cased, so `御定全唐詩`
//! and `全唐诗`, or `MOBY` and `moby`, meet in the index.
//!
//! Two analyses feed two kinds of field:
//! - **words** (`jy_words`): jieba's search-mode segmentation, which also emits the
//!   shorter words inside long ones (`红楼梦` → `红楼`, `红楼梦`);
//! - **grams** (`jy_grams`): every CJK character and every pair of adjacent CJK
//!   characters, plus Latin words and numbers. A query of two or more CJK characters
//!   asks for its pairs, so `红楼` finds `红楼梦` even where jieba cut differently.
//!
//! Tokens with no letter or digit (punctuation, spaces) are dropped.

use std::sync::LazyLock;

use jieba_rs::{Jieba, TokenizeMode};
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

static JIEBA: LazyLock<Jieba> = LazyLock::new(Jieba::new);

/// Loads jieba's dictionary now rather than at the first search.
pub fn warm_up() {
    LazyLock::force(&JIEBA);
}

/// Simplified, half-width, lower-case.
pub fn normalize(text: &str) -> String {
    let half_width: String = text
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect();
    fast2s::convert(&half_width).to_lowercase()
}

/// Whether `c` is a CJK ideograph (or kana/hangul, treated alike).
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF
        | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

fn meaningful(word: &str) -> bool {
    word.chars().any(char::is_alphanumeric)
}

/// jieba search-mode words of normalised `text`.
pub fn words(text: &str) -> Vec<String> {
    let normalized = normalize(text);
    JIEBA
        .tokenize(&normalized, TokenizeMode::Search, true)
        .into_iter()
        .map(|t| t.word.trim().to_owned())
        .filter(|w| meaningful(w))
        .collect()
}

/// Grams of normalised `text`: for indexing (`query = false`) every CJK character and
/// pair; for a query, the pairs of each CJK run (or the character itself if the run is
/// one character long). Latin and digit runs are kept as words either way.
pub fn grams(text: &str, query: bool) -> Vec<String> {
    let normalized = normalize(text);
    let mut out = Vec::new();
    let mut cjk_run: Vec<char> = Vec::new();
    let mut word = String::new();
    let flush_run = |run: &mut Vec<char>, out: &mut Vec<String>| {
        if run.is_empty() {
            return;
        }
        if !query || run.len() == 1 {
            out.extend(run.iter().map(char::to_string));
        }
        out.extend(run.windows(2).map(|pair| pair.iter().collect()));
        run.clear();
    };
    for c in normalized.chars() {
        if is_cjk(c) {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            cjk_run.push(c);
        } else if c.is_alphanumeric() {
            flush_run(&mut cjk_run, &mut out);
            word.push(c);
        } else {
            flush_run(&mut cjk_run, &mut out);
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
        }
    }
    flush_run(&mut cjk_run, &mut out);
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// A tantivy tokenizer over a precomputed token list.
#[derive(Clone, Copy, Debug)]
pub struct JyTokenizer {
    words: bool,
}

impl JyTokenizer {
    /// Name of the jieba words tokenizer.
    pub const WORDS: &'static str = "jy_words";
    /// Name of the CJK grams tokenizer.
    pub const GRAMS: &'static str = "jy_grams";

    /// The words tokenizer.
    pub fn words() -> Self {
        Self { words: true }
    }

    /// The grams tokenizer.
    pub fn grams() -> Self {
        Self { words: false }
    }
}

/// The tokens of one text.
pub struct JyTokenStream {
    tokens: Vec<Token>,
    index: usize,
}

impl Tokenizer for JyTokenizer {
    type TokenStream<'a> = JyTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> JyTokenStream {
        let terms = if self.words {
            words(text)
        } else {
            grams(text, false)
        };
        let tokens = terms
            .into_iter()
            .enumerate()
            .map(|(position, text)| Token {
                offset_from: 0,
                offset_to: 0,
                position,
                position_length: 1,
                text,
            })
            .collect();
        JyTokenStream { tokens, index: 0 }
    }
}

impl TokenStream for JyTokenStream {
    fn advance(&mut self) -> bool {
        if self.index < self.tokens.len() {
            self.index += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        &self.tokens[self.index - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.index - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traditional_and_full_width_fold_to_simplified_lower_case() {
        assert_eq!(normalize("御定全唐詩"), "御定全唐诗");
        assert_eq!(normalize("ＭＯＢＹ　Dick"), "moby dick");
    }

    #[test]
    fn grams_index_every_character_and_pair_but_query_pairs() {
        assert_eq!(grams("红楼梦", false), ["红", "楼", "梦", "红楼", "楼梦"]);
        assert_eq!(grams("红楼", true), ["红楼"]);
        assert_eq!(grams("梦", true), ["梦"]);
        assert_eq!(
            grams("Moby-Dick 白鲸记 2024", true),
            ["moby", "dick", "白鲸", "鲸记", "2024"]
        );
    }

    #[test]
    fn words_drop_punctuation() {
        let tokens = words("全唐诗，卷一");
        assert!(tokens.iter().all(|t| meaningful(t)), "{tokens:?}");
        assert!(
            tokens.iter().any(|t| t == "全唐诗" || t == "唐诗"),
            "{tokens:?}"
        );
    }
}
