//! Cover thumbnails: JPEG, at most 240×360, aspect kept. Images are bounded before they
//! are decoded: by bytes (the caller's), by dimensions read from the header, and by the
//! decoder's allocation limit.

use std::io::Cursor;

use image::ImageReader;
use image::codecs::jpeg::JpegEncoder;

/// The largest thumbnail edge sizes.
pub const MAX_WIDTH: u32 = 240;
/// See [`MAX_WIDTH`].
pub const MAX_HEIGHT: u32 = 360;

/// The largest cover image accepted, in bytes (read from a book or uploaded).
pub const MAX_IMAGE_BYTES: u64 = 20 << 20;
/// The longest side of a cover image, in pixels.
pub const MAX_IMAGE_EDGE: u32 = 12_000;
/// The most pixels a cover image may have (a 6000×8000 scan).
pub const MAX_IMAGE_PIXELS: u64 = 48_000_000;
/// The most memory the decoder may allocate.
const MAX_DECODE_ALLOC: u64 = 256 << 20;

/// Why no thumbnail could be made.
#[derive(Debug, thiserror::Error)]
pub enum ThumbnailError {
    /// Not an image format we decode (an SVG cover, say).
    #[error("not a JPEG, PNG, GIF or WebP image")]
    Unsupported,
    /// Larger than we decode.
    #[error(
        "the image is {width}×{height} pixels; at most {MAX_IMAGE_EDGE} on a side and \
         {MAX_IMAGE_PIXELS} pixels in all"
    )]
    TooLarge {
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
    },
    /// The header or the data is damaged.
    #[error("the image cannot be decoded: {0}")]
    Damaged(String),
}

/// A JPEG thumbnail of `image_bytes`. The dimensions are read from the header first and
/// checked before any pixel is decoded.
pub fn make(image_bytes: &[u8]) -> Result<Vec<u8>, ThumbnailError> {
    let reader = || {
        ImageReader::new(Cursor::new(image_bytes))
            .with_guessed_format()
            .map_err(|e| ThumbnailError::Damaged(e.to_string()))
    };
    let probe = reader()?;
    if probe.format().is_none() {
        return Err(ThumbnailError::Unsupported);
    }
    let (width, height) = probe
        .into_dimensions()
        .map_err(|e| ThumbnailError::Damaged(e.to_string()))?;
    if width > MAX_IMAGE_EDGE
        || height > MAX_IMAGE_EDGE
        || u64::from(width) * u64::from(height) > MAX_IMAGE_PIXELS
    {
        return Err(ThumbnailError::TooLarge { width, height });
    }
    let mut decoder = reader()?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_EDGE);
    limits.max_image_height = Some(MAX_IMAGE_EDGE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    decoder.limits(limits);
    let image = decoder
        .decode()
        .map_err(|e| ThumbnailError::Damaged(e.to_string()))?;
    let thumb = image.thumbnail(MAX_WIDTH, MAX_HEIGHT).to_rgb8();
    let mut out = Cursor::new(Vec::new());
    JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&thumb)
        .map_err(|e| ThumbnailError::Damaged(e.to_string()))?;
    Ok(out.into_inner())
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
        assert!(matches!(
            make(b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
            Err(ThumbnailError::Unsupported)
        ));
    }

    /// A 1×100,000,000 PNG (its header is all a decoder needs to see) is refused from
    /// its header, before a pixel is decoded.
    #[test]
    fn huge_dimensions_are_refused_before_decoding() {
        let mut png = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut png, 1, 100_000_000);
            encoder.set_color(png::ColorType::Grayscale);
            // The signature and IHDR, then the start of the pixel data (a zlib header and
            // one empty block): all a reader sees before it would decode pixels.
            let mut writer = encoder.write_header().expect("header");
            writer
                .write_chunk(
                    png::chunk::IDAT,
                    &[0x78, 0x9c, 0x00, 0x00, 0x00, 0xff, 0xff],
                )
                .expect("idat");
            drop(writer);
        }
        let refused = make(&png);
        assert!(
            matches!(
                refused,
                Err(ThumbnailError::TooLarge {
                    width: 1,
                    height: 100_000_000
                })
            ),
            "{refused:?}"
        );
    }
}
