//! Rendering a laid-out page to PNG with tiny-skia (previews, thumbnails and tests;
//! apps draw pages natively from the runs and image boxes).

use cosmic_text::{CacheKey, CacheKeyFlags, SwashContent, Weight};
use tiny_skia::{Color, Paint, Pixmap, PixmapPaint, Rect, Transform};

use super::Book;
use super::layout::{Page, Typesetter, Viewport};
use crate::error::{ClientError, Result};

impl Typesetter {
    /// Renders `page` (laid out for `viewport`) as a PNG: black text on white; PNG
    /// images drawn, other formats as grey boxes. `book` supplies the images (pass
    /// `None` to draw every image as a box).
    pub fn render_page_png(
        &self,
        page: &Page,
        viewport: Viewport,
        book: Option<&Book>,
    ) -> Result<Vec<u8>> {
        let width = viewport.width.ceil().max(1.0) as u32;
        let height = viewport.height.ceil().max(1.0) as u32;
        let mut pixmap = Pixmap::new(width, height)
            .ok_or_else(|| ClientError::other("the page is too large to render"))?;
        pixmap.fill(Color::WHITE);

        for image in &page.images {
            let decoded = book
                .and_then(|b| b.resource(&image.href).ok())
                .filter(|r| r.media_type == "image/png")
                .and_then(|r| Pixmap::decode_png(&r.data).ok());
            match decoded {
                Some(source) => {
                    let sx = image.width / source.width() as f32;
                    let sy = image.height / source.height() as f32;
                    pixmap.draw_pixmap(
                        0,
                        0,
                        source.as_ref(),
                        &PixmapPaint::default(),
                        Transform::from_row(sx, 0.0, 0.0, sy, image.x, image.y),
                        None,
                    );
                }
                None => {
                    if let Some(rect) = Rect::from_xywh(image.x, image.y, image.width, image.height)
                    {
                        let mut paint = Paint::default();
                        paint.set_color_rgba8(200, 200, 200, 255);
                        pixmap.fill_rect(rect, &paint, Transform::identity(), None);
                    }
                }
            }
        }

        let mut fonts = self
            .fonts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let fonts = &mut *fonts;
        let stride = width as usize;
        let data = pixmap.data_mut();
        for run in &page.runs {
            let Some(font_id) = fonts
                .faces
                .iter()
                .find(|(_, index)| *index == run.font_index)
                .map(|(id, _)| *id)
            else {
                continue;
            };
            let weight = if run.bold {
                Weight::BOLD
            } else {
                Weight::NORMAL
            };
            for glyph in &run.glyphs {
                let (key, x, y) = CacheKey::new(
                    font_id,
                    glyph.id,
                    run.font_size,
                    (glyph.x, glyph.y),
                    weight,
                    CacheKeyFlags::empty(),
                );
                let Some(image) = fonts.cache.get_image(&mut fonts.system, key).as_ref() else {
                    continue;
                };
                let left = x + image.placement.left;
                let top = y - image.placement.top;
                let (w, h) = (image.placement.width as i32, image.placement.height as i32);
                let channels = match image.content {
                    SwashContent::Mask => 1,
                    SwashContent::SubpixelMask | SwashContent::Color => 4,
                };
                for gy in 0..h {
                    for gx in 0..w {
                        let (px, py) = (left + gx, top + gy);
                        if px < 0 || py < 0 || px >= width as i32 || py >= height as i32 {
                            continue;
                        }
                        let i = (gy * w + gx) as usize * channels;
                        let alpha = match image.content {
                            SwashContent::Mask => image.data.get(i).copied().unwrap_or(0),
                            _ => image.data.get(i + 3).copied().unwrap_or(0),
                        };
                        if alpha == 0 {
                            continue;
                        }
                        // Black over the existing (opaque) pixel.
                        let at = (py as usize * stride + px as usize) * 4;
                        let keep = 255 - u16::from(alpha);
                        for c in 0..3 {
                            let value = u16::from(data[at + c]) * keep / 255;
                            data[at + c] = value as u8;
                        }
                    }
                }
            }
        }
        pixmap
            .encode_png()
            .map_err(|e| ClientError::other(format!("PNG encoding: {e}")))
    }
}
