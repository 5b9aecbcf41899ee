//! Cover thumbnails: JPEG, at most 240×360, aspect kept.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;

/// The largest thumbnail edge sizes.
pub const MAX_WIDTH: u32 = 240;
/// See [`MAX_WIDTH`].
pub const MAX_HEIGHT: u32 = 360;

/// A JPEG thumbnail of `image_bytes`, or `None` if the format cannot be decoded (an
/// SVG cover, say): the cover is then served as is.
pub fn make(image_bytes: &[u8]) -> Option<Vec<u8>> {
    let image = image::load_from_memory(image_bytes).ok()?;
    let thumb = image.thumbnail(MAX_WIDTH, MAX_HEIGHT).to_rgb8();
    let mut out = Cursor::new(Vec::new());
    JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&thumb)
        .ok()?;
    Some(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnails_fit_the_box_and_keep_the_aspect() {
        let big = image::RgbImage::from_fn(1200, 1600, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        });
        let mut png = Cursor::new(Vec::new());
        big.write_to(&mut png, image::ImageFormat::Png)
            .expect("png");
        let thumb = make(png.get_ref()).expect("thumbnail");
        let decoded = image::load_from_memory(&thumb).expect("jpeg");
        assert_eq!((decoded.width(), decoded.height()), (240, 320));
        assert!(make(b"<svg xmlns='http://www.w3.org/2000/svg'/>").is_none());
    }
}
