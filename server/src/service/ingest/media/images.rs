//! Page images and collection images: decoded once at ingest, so a damaged file or one
//! whose header lies about its size is refused here rather than on a reader's phone.

use std::io::{BufReader, Cursor};
use std::path::Path;

use image::codecs::jpeg::JpegEncoder;
use image::{ImageFormat, ImageReader};

/// The longest side of a page image, in pixels (a 600 dpi A3 scan is 7,000 × 9,900).
pub const MAX_EDGE: u32 = 16_000;
/// The most pixels a page image may have.
pub const MAX_PIXELS: u64 = 160_000_000;
/// The largest page image file.
pub const MAX_BYTES: u64 = 256 << 20;
/// The most memory the decoder may allocate.
const MAX_DECODE_ALLOC: u64 = 1 << 30;
/// A collection image's thumbnail fits this square.
pub const THUMBNAIL_EDGE: u32 = 320;

/// What ingest learns of an image.
#[derive(Debug, Clone, PartialEq)]
pub struct PageImage {
    /// `image/jpeg`, `image/png`, `image/webp` or `image/gif`, from the bytes.
    pub media_type: &'static str,
    /// Width in pixels, as decoded.
    pub width: u32,
    /// Height in pixels, as decoded.
    pub height: u32,
    /// A JPEG thumbnail and its size, when asked for.
    pub thumbnail: Option<(Vec<u8>, (u32, u32))>,
}

fn media_type(format: ImageFormat) -> Option<&'static str> {
    match format {
        ImageFormat::Jpeg => Some("image/jpeg"),
        ImageFormat::Png => Some("image/png"),
        ImageFormat::WebP => Some("image/webp"),
        ImageFormat::Gif => Some("image/gif"),
        _ => None,
    }
}

/// Decodes a JPEG strictly: image-rs's own decoder fills what a truncated file or a
/// header that claims more pixels than the data holds leaves out, so such a file would
/// pass as a grey page.
fn strict_jpeg(path: &Path, width: u32, height: u32) -> Result<(), String> {
    use zune_core::bytestream::ZCursor;
    use zune_core::options::DecoderOptions;
    let bytes = std::fs::read(path).map_err(|e| format!("cannot be read: {e}"))?;
    // Every 8×8 block of every scan costs at least one bit (a DC code), so a file that
    // holds fewer bits than its header's pixels need blocks (counted for the coarsest
    // sampling, 16×16 per luma block) is lying about its size; decoders pad such files
    // with grey rather than fail.
    let least_blocks = u64::from(width.div_ceil(16)) * u64::from(height.div_ceil(16));
    if (bytes.len() as u64).saturating_mul(8) < least_blocks {
        return Err(format!(
            "the header says {width}×{height} pixels but the file holds too little data for              that ({} bytes): the header lies or the file is truncated",
            bytes.len()
        ));
    }
    let options = DecoderOptions::default()
        .set_strict_mode(true)
        .set_max_width(MAX_EDGE as usize)
        .set_max_height(MAX_EDGE as usize);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(&bytes[..]), options);
    decoder.decode().map_err(|e| {
        format!("the JPEG data does not match its header ({width}×{height}) or is damaged: {e:?}")
    })?;
    match decoder.dimensions() {
        Some((w, h)) if (w, h) == (width as usize, height as usize) => Ok(()),
        Some((w, h)) => Err(format!(
            "the header says {width}×{height} but the image decodes to {w}×{h}"
        )),
        None => Err("the JPEG decodes to no image".into()),
    }
}

/// Decodes the image at `path` (`length` bytes) whole and reads its size from the pixels;
/// with `thumbnail`, makes a JPEG thumbnail too. Errors are reasons without the file name.
pub fn inspect(path: &Path, length: u64, thumbnail: bool) -> Result<PageImage, String> {
    if length == 0 {
        return Err("the file is empty".into());
    }
    if length > MAX_BYTES {
        return Err(format!(
            "{length} bytes; a page image may have at most {MAX_BYTES}"
        ));
    }
    let open = || -> Result<ImageReader<BufReader<std::fs::File>>, String> {
        let file = std::fs::File::open(path).map_err(|e| format!("cannot be read: {e}"))?;
        ImageReader::new(BufReader::new(file))
            .with_guessed_format()
            .map_err(|e| format!("cannot be read: {e}"))
    };
    let probe = open()?;
    let Some(format) = probe.format() else {
        return Err("not an image (JPEG, PNG, WebP or GIF)".into());
    };
    let Some(media_type) = media_type(format) else {
        return Err(format!(
            "a {format:?} image; pages are JPEG, PNG, WebP or GIF"
        ));
    };
    let (header_width, header_height) = probe
        .into_dimensions()
        .map_err(|e| format!("the image header is damaged: {e}"))?;
    if header_width == 0 || header_height == 0 {
        return Err("the image header says it has no pixels".into());
    }
    if header_width > MAX_EDGE
        || header_height > MAX_EDGE
        || u64::from(header_width) * u64::from(header_height) > MAX_PIXELS
    {
        return Err(format!(
            "the image is {header_width}×{header_height} pixels; at most {MAX_EDGE} on a side \
             and {MAX_PIXELS} pixels"
        ));
    }
    if format == ImageFormat::Jpeg {
        strict_jpeg(path, header_width, header_height)?;
        if !thumbnail {
            return Ok(PageImage {
                media_type,
                width: header_width,
                height: header_height,
                thumbnail: None,
            });
        }
    }
    let mut decoder = open()?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_EDGE);
    limits.max_image_height = Some(MAX_EDGE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    decoder.limits(limits);
    let decoded = decoder.decode().map_err(|e| {
        format!(
            "the image data does not match its header ({header_width}×{header_height} \
             {media_type}) or is damaged: {e}"
        )
    })?;
    if (decoded.width(), decoded.height()) != (header_width, header_height) {
        return Err(format!(
            "the header says {header_width}×{header_height} but the image decodes to {}×{}",
            decoded.width(),
            decoded.height()
        ));
    }
    let thumbnail = if thumbnail {
        let small = decoded.thumbnail(THUMBNAIL_EDGE, THUMBNAIL_EDGE).to_rgb8();
        let size = (small.width(), small.height());
        let mut out = Cursor::new(Vec::new());
        JpegEncoder::new_with_quality(&mut out, 80)
            .encode_image(&small)
            .map_err(|e| format!("making its thumbnail failed: {e}"))?;
        Some((out.into_inner(), size))
    } else {
        None
    };
    Ok(PageImage {
        media_type,
        width: header_width,
        height: header_height,
        thumbnail,
    })
}
