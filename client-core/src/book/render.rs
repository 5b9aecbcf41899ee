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

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]

    use tiny_skia::Pixmap;

    use super::*;
    use crate::book::layout::{Glyph, ImageBox, TextRun};

    const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

    fn viewport() -> Viewport {
        Viewport {
            width: 200.0,
            height: 100.0,
            font_size: 24.0,
            line_height: 1.5,
            margin_top: 10.0,
            margin_right: 10.0,
            margin_bottom: 10.0,
            margin_left: 10.0,
        }
    }

    fn page(runs: Vec<TextRun>, images: Vec<ImageBox>) -> Page {
        Page {
            index: 0,
            start: 0,
            end: 0,
            runs,
            images,
        }
    }

    /// Ten glyphs of DejaVu Sans (ids 36.. are its capital letters) on one baseline.
    fn run() -> TextRun {
        TextRun {
            text: "ABCDEFGHIJ".into(),
            x: 10.0,
            baseline: 40.0,
            width: 160.0,
            font_size: 24.0,
            font_index: 0,
            bold: false,
            italic: false,
            rtl: false,
            glyphs: (0..10)
                .map(|i| Glyph {
                    id: 36 + i,
                    x: 10.0 + 16.0 * f32::from(i),
                    y: 40.0,
                })
                .collect(),
        }
    }

    /// Pixels darker than mid-grey in the rows `top..bottom`.
    fn dark_pixels(png: &[u8], top: u32, bottom: u32) -> usize {
        let pixmap = Pixmap::decode_png(png).expect("a PNG");
        assert_eq!((pixmap.width(), pixmap.height()), (200, 100));
        pixmap
            .pixels()
            .iter()
            .enumerate()
            .filter(|(i, _)| (top..bottom).contains(&(*i as u32 / 200)))
            .filter(|(_, p)| p.red() < 128 && p.green() < 128 && p.blue() < 128)
            .count()
    }

    fn typesetter() -> Typesetter {
        Typesetter::new(vec![std::fs::read(FONT).expect("DejaVu Sans")]).expect("typesetter")
    }

    #[test]
    fn a_page_of_text_draws_dark_glyphs_on_white() {
        let png = typesetter()
            .render_page_png(&page(vec![run()], vec![]), viewport(), None)
            .expect("render");

        // Capitals 24 px high sit on the baseline at 40: ink between rows 20 and 41.
        assert!(dark_pixels(&png, 20, 41) > 200, "no text drawn");
        assert_eq!(dark_pixels(&png, 45, 100), 0, "ink below the line");
    }

    #[test]
    fn an_empty_page_is_all_background() {
        let png = typesetter()
            .render_page_png(&page(vec![], vec![]), viewport(), None)
            .expect("render");

        assert_eq!(dark_pixels(&png, 0, 100), 0);
    }

    #[test]
    fn an_image_without_a_book_is_a_grey_box() {
        let image = ImageBox {
            href: "cover.png".into(),
            alt: String::new(),
            x: 50.0,
            y: 50.0,
            width: 20.0,
            height: 20.0,
        };
        let png = typesetter()
            .render_page_png(&page(vec![], vec![image]), viewport(), None)
            .expect("render");

        let pixmap = Pixmap::decode_png(&png).expect("a PNG");
        let inside = pixmap.pixel(60, 60).expect("pixel");
        let outside = pixmap.pixel(10, 10).expect("pixel");
        assert_eq!(
            (inside.red(), inside.green(), inside.blue()),
            (200, 200, 200)
        );
        assert_eq!(
            (outside.red(), outside.green(), outside.blue()),
            (255, 255, 255)
        );
    }
}
