//! Native pagination of reflowable chapters with cosmic-text: real font metrics from
//! the fonts the app supplies, Unicode line breaking (UAX #14, which keeps `，。」` and
//! other closing punctuation off the start of a line), bidirectional text, and pages of
//! positioned glyph runs and image boxes that an app draws as they are.
//!
//! Only the app's fonts are used (never the system's), and the locale is fixed, so the
//! same fonts and viewport give the same page breaks on every platform.

use std::sync::{Arc, Mutex};

use cosmic_text::fontdb::{self, Source};
use cosmic_text::{
    Attrs, Buffer, Family, FontSystem, Metrics, Shaping, Style as FontStyle, SwashCache, Weight,
    Wrap,
};

use super::Book;
use super::xhtml::{Block, BlockKind, Document};
use crate::error::{ClientError, Result};

/// The page geometry and type size, in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Viewport {
    /// Page width.
    pub width: f32,
    /// Page height.
    pub height: f32,
    /// Body text size.
    pub font_size: f32,
    /// Line height as a multiple of the font size (1.5 is comfortable for CJK).
    pub line_height: f32,
    /// Top margin.
    pub margin_top: f32,
    /// Right margin.
    pub margin_right: f32,
    /// Bottom margin.
    pub margin_bottom: f32,
    /// Left margin.
    pub margin_left: f32,
}

impl Viewport {
    fn content(&self) -> Result<(f32, f32)> {
        let width = self.width - self.margin_left - self.margin_right;
        let height = self.height - self.margin_top - self.margin_bottom;
        let sane = |v: f32| v.is_finite() && v > 0.0;
        if !sane(width)
            || !sane(height)
            || !sane(self.font_size)
            || !sane(self.line_height)
            || self.font_size * self.line_height > height
            || self.width > 20_000.0
            || self.height > 20_000.0
        {
            return Err(ClientError::other(format!(
                "unusable viewport {}x{} with margins and type size {}",
                self.width, self.height, self.font_size
            )));
        }
        Ok((width, height))
    }
}

/// One glyph, positioned on the page.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Glyph {
    /// Glyph id in the run's font.
    pub id: u16,
    /// Pen position (left of the glyph, on the baseline), page coordinates.
    pub x: f32,
    /// Baseline, page coordinates.
    pub y: f32,
}

/// A run of glyphs in one font and style.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TextRun {
    /// The characters the run shows (for accessibility, selection and copying).
    pub text: String,
    /// Left edge.
    pub x: f32,
    /// Baseline.
    pub baseline: f32,
    /// Width.
    pub width: f32,
    /// Type size in pixels.
    pub font_size: f32,
    /// Which of the app's fonts (index into the list given to the typesetter).
    pub font_index: u32,
    /// Bold.
    pub bold: bool,
    /// Italic.
    pub italic: bool,
    /// Right-to-left.
    pub rtl: bool,
    /// The glyphs.
    pub glyphs: Vec<Glyph>,
}

/// An image on the page.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ImageBox {
    /// The image's package path (read it with `Book::resource`).
    pub href: String,
    /// Alternative text.
    pub alt: String,
    /// Left.
    pub x: f32,
    /// Top.
    pub y: f32,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
}

/// A laid-out page.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Page {
    /// Page number within the chapter (from 0).
    pub index: u32,
    /// Offset (characters of the chapter's text) of the page's first character.
    pub start: u32,
    /// Offset just past its last character.
    pub end: u32,
    /// Text.
    pub runs: Vec<TextRun>,
    /// Images.
    pub images: Vec<ImageBox>,
}

/// A chapter laid out for a viewport.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ChapterLayout {
    /// The chapter (package path).
    pub href: String,
    /// Characters in the chapter's text.
    pub text_length: u32,
    /// Whether the pages reach the chapter's end (see `Typesetter::layout_pages`).
    pub complete: bool,
    /// Its pages.
    pub pages: Vec<Page>,
}

impl ChapterLayout {
    /// The page showing `progression` (0..1) of the chapter: where a locator lands
    /// after a re-layout.
    pub fn page_for_progression(&self, progression: f64) -> u32 {
        let offset = (progression.clamp(0.0, 1.0) * f64::from(self.text_length)) as u32;
        self.pages
            .iter()
            .rposition(|p| p.start <= offset)
            .and_then(|i| u32::try_from(i).ok())
            .unwrap_or(0)
    }

    /// The progression of the start of page `index`.
    pub fn progression_of_page(&self, index: u32) -> f64 {
        let start = self.pages.get(index as usize).map_or(0, |p| p.start);
        if self.text_length == 0 {
            0.0
        } else {
            f64::from(start) / f64::from(self.text_length)
        }
    }
}

pub(crate) struct Fonts {
    pub system: FontSystem,
    pub cache: SwashCache,
    /// The fontdb id of each face, with the index of the app's font it came from.
    pub faces: Vec<(fontdb::ID, u32)>,
    family: String,
}

/// Lays out pages with the fonts the app supplies. Share one per app: it caches shaped
/// glyphs and rasterised outlines.
pub struct Typesetter {
    pub(crate) fonts: Mutex<Fonts>,
}

impl std::fmt::Debug for Typesetter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Typesetter(..)")
    }
}

/// Style of a block: size factor, bold, left indent (in ems), space before/after (in lines).
fn block_style(kind: &BlockKind) -> (f32, bool, f32, f32, f32) {
    match kind {
        BlockKind::Heading(level) => {
            let scale = match level {
                1 => 1.6,
                2 => 1.4,
                3 => 1.25,
                4 => 1.15,
                _ => 1.05,
            };
            (scale, true, 0.0, 0.6, 0.4)
        }
        BlockKind::ListItem(_) => (1.0, false, 1.5, 0.0, 0.25),
        BlockKind::Quote => (1.0, false, 1.5, 0.25, 0.5),
        BlockKind::Preformatted => (0.9, false, 0.0, 0.25, 0.5),
        BlockKind::Paragraph | BlockKind::Image { .. } => (1.0, false, 0.0, 0.0, 0.5),
    }
}

struct Pager {
    content_height: f32,
    origin_x: f32,
    origin_y: f32,
    pages: Vec<Page>,
    current: Page,
    y: f32,
}

impl Pager {
    fn is_empty(&self) -> bool {
        self.current.runs.is_empty() && self.current.images.is_empty()
    }

    fn break_page(&mut self, at: u32) {
        let index = self.current.index + 1;
        let mut done = std::mem::replace(
            &mut self.current,
            Page {
                index,
                start: at,
                end: at,
                runs: Vec::new(),
                images: Vec::new(),
            },
        );
        done.end = at;
        self.pages.push(done);
        self.y = 0.0;
    }

    /// Room for `height` more on this page? Breaks the page if not (never leaving a
    /// page empty). `at` is the offset of what comes next.
    fn make_room(&mut self, height: f32, at: u32) {
        if self.y + height > self.content_height + 0.01 && !self.is_empty() {
            self.break_page(at);
        }
    }

    /// Space between blocks, dropped at the top of a page.
    fn space(&mut self, height: f32) {
        if !self.is_empty() {
            self.y += height;
        }
    }
}

impl Typesetter {
    /// A typesetter with the app's fonts (TrueType/OpenType bytes); the first is the
    /// body font, the others fill in characters it lacks (e.g. a CJK font after a
    /// Latin one).
    pub fn new(fonts: Vec<Vec<u8>>) -> Result<Self> {
        let mut db = fontdb::Database::new();
        let mut faces = Vec::new();
        for (index, bytes) in fonts.into_iter().enumerate() {
            let ids = db.load_font_source(Source::Binary(Arc::new(bytes)));
            if ids.is_empty() {
                return Err(ClientError::other(format!(
                    "font {index} is not a usable font"
                )));
            }
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            faces.extend(ids.into_iter().map(|id| (id, index)));
        }
        let family = faces
            .first()
            .and_then(|(id, _)| db.face(*id))
            .and_then(|face| face.families.first().map(|(name, _)| name.clone()))
            .ok_or_else(|| ClientError::other("no font given"))?;
        let system = FontSystem::new_with_locale_and_db("en-US".to_owned(), db);
        Ok(Self {
            fonts: Mutex::new(Fonts {
                system,
                cache: SwashCache::new(),
                faces,
                family,
            }),
        })
    }

    /// Lays out reading-order document `chapter` of `book` for `viewport`.
    pub fn layout_chapter(
        &self,
        book: &Book,
        chapter: u32,
        viewport: Viewport,
    ) -> Result<ChapterLayout> {
        self.layout_pages(book, chapter, viewport, 0)
    }

    /// Like [`layout_chapter`](Self::layout_chapter) but stops after `max_pages` pages
    /// (0: no limit), to show the first page of a long chapter at once.
    pub fn layout_pages(
        &self,
        book: &Book,
        chapter: u32,
        viewport: Viewport,
        max_pages: u32,
    ) -> Result<ChapterLayout> {
        let item = book.item(chapter)?.clone();
        let document = book.document(&item.href)?;
        let image_size = |path: &str| -> Option<(f32, f32)> {
            let length = book.resource_length(path).ok()?;
            let head = book.resource_range(path, 0, length.min(256 * 1024)).ok()?;
            match imagesize::blob_size(&head) {
                Ok(size) => Some((size.width as f32, size.height as f32)),
                Err(_) => crate::book::xhtml::svg_size(&head),
            }
        };
        let pages = self.paginate(&document, viewport, &image_size, max_pages as usize)?;
        let text_length = u32::try_from(document.char_len()).unwrap_or(u32::MAX);
        Ok(ChapterLayout {
            href: item.href,
            text_length,
            complete: pages.last().is_some_and(|p| p.end == text_length),
            pages,
        })
    }

    /// Paginates a parsed document, stopping after `max_pages` pages (0: no limit).
    /// `image_size` gives an image's intrinsic size.
    pub fn paginate(
        &self,
        document: &Document,
        viewport: Viewport,
        image_size: &dyn Fn(&str) -> Option<(f32, f32)>,
        max_pages: usize,
    ) -> Result<Vec<Page>> {
        let (content_width, content_height) = viewport.content()?;
        let mut fonts = self
            .fonts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let fonts = &mut *fonts;
        let line = viewport.font_size * viewport.line_height;
        let mut pager = Pager {
            content_height,
            origin_x: viewport.margin_left,
            origin_y: viewport.margin_top,
            pages: Vec::new(),
            current: Page {
                index: 0,
                start: 0,
                end: 0,
                runs: Vec::new(),
                images: Vec::new(),
            },
            y: 0.0,
        };
        for block in &document.blocks {
            if max_pages > 0 && pager.pages.len() >= max_pages {
                pager.pages.truncate(max_pages);
                return Ok(pager.pages);
            }
            let offset = u32::try_from(block.offset).unwrap_or(u32::MAX);
            let (scale, bold, indent, before, after) = block_style(&block.kind);
            pager.space(before * line);
            if let BlockKind::Image { path, alt } = &block.kind {
                let (w, h) = image_size(path).unwrap_or((content_width, content_width * 0.75));
                let fit = (content_width / w).min(content_height / h).min(1.0);
                let (w, h) = (w * fit, h * fit);
                pager.make_room(h, offset);
                pager.current.images.push(ImageBox {
                    href: path.clone(),
                    alt: alt.clone(),
                    x: pager.origin_x + (content_width - w) / 2.0,
                    y: pager.origin_y + pager.y,
                    width: w,
                    height: h,
                });
                pager.y += h;
                pager.space(after * line);
                continue;
            }
            self.lay_block(
                fonts,
                block,
                &mut pager,
                viewport.font_size * scale,
                line * scale,
                bold,
                indent * viewport.font_size,
                content_width,
            );
            pager.space(after * line);
        }
        let end = u32::try_from(document.char_len()).unwrap_or(u32::MAX);
        pager.current.end = end;
        let last = pager.current;
        pager.pages.push(last);
        Ok(pager.pages)
    }

    #[allow(clippy::too_many_arguments)]
    fn lay_block(
        &self,
        fonts: &mut Fonts,
        block: &Block,
        pager: &mut Pager,
        font_size: f32,
        line_height: f32,
        bold: bool,
        indent: f32,
        content_width: f32,
    ) {
        let marker = match &block.kind {
            BlockKind::ListItem(marker) => Some(format!("{marker} ")),
            _ => None,
        };
        let family = fonts.family.clone();
        let base = Attrs::new().family(Family::Name(&family));
        let attrs_of = |b: bool, i: bool| {
            base.clone()
                .weight(if b { Weight::BOLD } else { Weight::NORMAL })
                .style(if i {
                    FontStyle::Italic
                } else {
                    FontStyle::Normal
                })
                .metadata(usize::from(b) | (usize::from(i) << 1))
        };
        let mut spans: Vec<(&str, Attrs)> = Vec::new();
        if let Some(marker) = &marker {
            spans.push((marker.as_str(), attrs_of(bold, false)));
        }
        for span in &block.spans {
            spans.push((span.text.as_str(), attrs_of(bold || span.bold, span.italic)));
        }
        let mut buffer = Buffer::new(&mut fonts.system, Metrics::new(font_size, line_height));
        buffer.set_wrap(Wrap::WordOrGlyph);
        buffer.set_size(Some(content_width - indent), None);
        buffer.set_rich_text(spans, &base, Shaping::Advanced, None);
        buffer.shape_until_scroll(&mut fonts.system, false);

        // Byte offset in the buffer's text → character offset in the block's text.
        let text: String = marker
            .iter()
            .map(String::as_str)
            .chain(block.spans.iter().map(|s| s.text.as_str()))
            .collect();
        let marker_chars = marker.as_ref().map_or(0, |m| m.chars().count());
        let lines: Vec<&str> = text.split('\n').collect();
        let mut line_starts = Vec::with_capacity(lines.len());
        let mut chars = 0usize;
        for l in &lines {
            line_starts.push(chars);
            chars += l.chars().count() + 1;
        }
        let char_offset = |line_i: usize, byte: usize| -> u32 {
            let line = lines.get(line_i).copied().unwrap_or_default();
            let in_line = line
                .get(..byte.min(line.len()))
                .map_or(0, |s| s.chars().count());
            let at = (line_starts.get(line_i).copied().unwrap_or(0) + in_line)
                .saturating_sub(marker_chars);
            u32::try_from(block.offset + at).unwrap_or(u32::MAX)
        };

        for run in buffer.layout_runs() {
            let first = run.glyphs.iter().map(|g| g.start).min().unwrap_or(0);
            let at = char_offset(run.line_i, first);
            pager.make_room(run.line_height, at);
            let top = pager.origin_y + pager.y;
            let baseline = top + (run.line_y - run.line_top);
            let x0 = pager.origin_x + indent;
            // Runs with the byte range of the line's text they show (glyphs are in
            // visual order, so for right-to-left text the range is found, not built).
            let mut current: Option<(TextRun, usize, usize)> = None;
            let mut finish = |run_text: &str, (mut r, lo, hi): (TextRun, usize, usize)| {
                r.text = run_text.get(lo..hi).unwrap_or_default().to_owned();
                pager.current.runs.push(r);
            };
            for glyph in run.glyphs {
                let font_index = fonts
                    .faces
                    .iter()
                    .find(|(id, _)| *id == glyph.font_id)
                    .map_or(0, |(_, index)| *index);
                let bold = glyph.metadata & 1 != 0;
                let italic = glyph.metadata & 2 != 0;
                let positioned = Glyph {
                    id: glyph.glyph_id,
                    x: x0 + glyph.x + glyph.x_offset * glyph.font_size,
                    y: baseline - glyph.y_offset * glyph.font_size,
                };
                match current.as_mut() {
                    Some((r, lo, hi))
                        if r.font_index == font_index
                            && r.bold == bold
                            && r.italic == italic
                            && r.font_size == glyph.font_size =>
                    {
                        *lo = (*lo).min(glyph.start);
                        *hi = (*hi).max(glyph.end);
                        r.width = (x0 + glyph.x + glyph.w - r.x).max(r.width);
                        r.glyphs.push(positioned);
                    }
                    _ => {
                        if let Some(done) = current.take() {
                            finish(run.text, done);
                        }
                        current = Some((
                            TextRun {
                                text: String::new(),
                                x: x0 + glyph.x,
                                baseline,
                                width: glyph.w,
                                font_size: glyph.font_size,
                                font_index,
                                bold,
                                italic,
                                rtl: run.rtl,
                                glyphs: vec![positioned],
                            },
                            glyph.start,
                            glyph.end,
                        ));
                    }
                }
            }
            if let Some(done) = current.take() {
                finish(run.text, done);
            }
            pager.y += run.line_height;
        }
    }
}
