//! Videos (MP4, M4V, MOV): their structure, checked without decoding, and the
//! "faststart" rearrangement that lets a player start before the whole file is in.
//!
//! [`probe`] walks the top-level boxes by hand (so a truncated file is caught before
//! anything else reads it), hands `ftyp` and `moov` to mp4parse, and checks that every
//! chunk the sample tables point at lies inside the media data. [`playable`] streams the
//! file with its `moov` box moved to the front when it is not there already.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use mp4parse::{MediaContext, TrackType};

/// What ingest learns of a video.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoFacts {
    /// Always `video/mp4`.
    pub media_type: &'static str,
    /// Seconds: the movie's duration (`mvhd`), or its longest track's.
    pub duration: f64,
    /// Width of the first video track (`tkhd`), in pixels.
    pub width: Option<u32>,
    /// Height of the first video track (`tkhd`), in pixels.
    pub height: Option<u32>,
    /// The average bit rate: file bytes × 8 / duration / 1000.
    pub bitrate_kbps: Option<f64>,
    /// Whether the `moov` box comes before the (first) `mdat` box already.
    pub faststart: bool,
    /// The file's length in bytes (and that of [`playable`]'s output).
    pub length: u64,
}

/// Largest `moov` box read (it is held in memory).
pub const MAX_MOOV_BYTES: u64 = 64 << 20;

/// Largest `ftyp` box accepted (a real one is a few dozen bytes).
const MAX_FTYP_BYTES: u64 = 4096;

/// Most top-level boxes (a fragmented file has two per fragment).
const MAX_TOP_LEVEL_BOXES: usize = 1_000_000;

/// Nesting depth followed inside `moov` when patching chunk offsets.
const MAX_DEPTH: u32 = 16;

const NOT_MP4: &str = "not an MP4 file (no ftyp or moov box at the start)";

const NEEDS_CO64: &str = "the moov box is at the end and moving it would need 64-bit chunk \
                          offsets; re-encode with ffmpeg -movflags +faststart";

/// A top-level box of the file.
#[derive(Debug, Clone, Copy)]
struct TopBox {
    kind: [u8; 4],
    /// Offset of its first byte (the size field).
    start: u64,
    /// Header bytes (8, or 16 with a 64-bit size).
    header: u64,
    /// Whole size, header included.
    size: u64,
}

impl TopBox {
    fn end(&self) -> u64 {
        self.start + self.size
    }
}

/// Box types that may open an MP4 or QuickTime file.
const FIRST_BOXES: [&[u8; 4]; 9] = [
    b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid", b"styp",
];

fn fourcc(kind: &[u8; 4]) -> String {
    kind.iter()
        .map(|&byte| {
            if byte.is_ascii_graphic() || byte == b' ' {
                char::from(byte).to_string()
            } else {
                format!("\\x{byte:02x}")
            }
        })
        .collect()
}

fn io_error(err: std::io::Error) -> String {
    format!("cannot read the file: {err}")
}

/// Reads exactly `buf.len()` bytes at `offset`.
fn read_at(file: &mut File, offset: u64, buf: &mut [u8]) -> Result<(), String> {
    file.seek(SeekFrom::Start(offset)).map_err(io_error)?;
    file.read_exact(buf).map_err(io_error)
}

/// Walks the top-level boxes of a file of `length` bytes.
fn top_level_boxes(file: &mut File, length: u64) -> Result<Vec<TopBox>, String> {
    let mut boxes = Vec::new();
    let mut pos = 0u64;
    while pos < length {
        let left = length - pos;
        if left < 8 {
            return Err(format!(
                "truncated: {left} bytes after the last box at byte {pos}, too few for a box header"
            ));
        }
        let mut head = [0u8; 8];
        read_at(file, pos, &mut head)?;
        let size32 = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let kind = [head[4], head[5], head[6], head[7]];
        if !kind.iter().all(|&b| b.is_ascii_graphic() || b == b' ')
            || (boxes.is_empty() && !FIRST_BOXES.contains(&&kind))
        {
            return Err(if boxes.is_empty() {
                NOT_MP4.to_owned()
            } else {
                format!(
                    "corrupt MP4: no valid box at byte {pos} (type {})",
                    fourcc(&kind)
                )
            });
        }
        let (header, size) = match size32 {
            0 => (8, left),
            1 => {
                if left < 16 {
                    return Err(format!(
                        "truncated: the {} box header at byte {pos} is cut off",
                        fourcc(&kind)
                    ));
                }
                let mut large = [0u8; 8];
                read_at(file, pos + 8, &mut large)?;
                (16, u64::from_be_bytes(large))
            }
            n => (8, u64::from(n)),
        };
        if size < header {
            return Err(format!(
                "corrupt MP4: the {} box at byte {pos} claims {size} bytes, less than its header",
                fourcc(&kind)
            ));
        }
        if size > left {
            return Err(format!(
                "truncated: the {} box claims {size} bytes but the file ends after {left}",
                fourcc(&kind)
            ));
        }
        if boxes.len() >= MAX_TOP_LEVEL_BOXES {
            return Err(format!(
                "corrupt MP4: more than {MAX_TOP_LEVEL_BOXES} top-level boxes"
            ));
        }
        boxes.push(TopBox {
            kind,
            start: pos,
            header,
            size,
        });
        pos += size;
    }
    if boxes.is_empty() {
        return Err("empty file".to_owned());
    }
    Ok(boxes)
}

/// The one `moov` box, refused when missing, repeated or too large.
fn the_moov(boxes: &[TopBox]) -> Result<TopBox, String> {
    let mut moovs = boxes.iter().filter(|b| &b.kind == b"moov");
    let moov = *moovs
        .next()
        .ok_or_else(|| "no moov box (the file is incomplete, or not an MP4 file)".to_owned())?;
    if moovs.next().is_some() {
        return Err("more than one moov box".to_owned());
    }
    if moov.size > MAX_MOOV_BYTES {
        return Err(format!(
            "the moov box is too large ({} bytes; at most {} MiB)",
            moov.size,
            MAX_MOOV_BYTES >> 20
        ));
    }
    Ok(moov)
}

fn read_box(file: &mut File, top: &TopBox) -> Result<Vec<u8>, String> {
    let len = usize::try_from(top.size).map_err(|_| "box too large to read".to_owned())?;
    let mut buf = vec![0u8; len];
    read_at(file, top.start, &mut buf)?;
    Ok(buf)
}

/// An MP4 file whose structure has been checked: what [`probe`] and the audio probe
/// (for M4A) share.
struct Mp4 {
    file: File,
    length: u64,
    boxes: Vec<TopBox>,
    moov: TopBox,
    moov_bytes: Vec<u8>,
    context: MediaContext,
    faststart: bool,
}

impl Mp4 {
    /// The inside of the `moov` box.
    fn moov_body(&self) -> &[u8] {
        self.moov_bytes
            .get(self.moov.header as usize..)
            .unwrap_or_default()
    }
}

/// Opens and checks an MP4 file: top-level boxes (none cut off), one `moov` of sane
/// size, an `mdat`, `ftyp` + `moov` parsed by mp4parse, every chunk inside an `mdat`;
/// with `tables`, also every box the audio demuxer trusts (see [`check_tree`]).
fn open_mp4(path: &Path, tables: bool) -> Result<Mp4, String> {
    let mut file = File::open(path).map_err(io_error)?;
    let length = file.metadata().map_err(io_error)?.len();
    if length == 0 {
        return Err("empty file".to_owned());
    }
    let boxes = top_level_boxes(&mut file, length)?;
    let moov = the_moov(&boxes)?;
    let first_mdat = boxes
        .iter()
        .find(|b| &b.kind == b"mdat")
        .ok_or_else(|| "no mdat box (the file holds no media data)".to_owned())?;
    let faststart = moov.start < first_mdat.start;

    let mut header = Vec::new();
    if let Some(ftyp) = boxes.iter().find(|b| &b.kind == b"ftyp") {
        if ftyp.size > MAX_FTYP_BYTES {
            return Err(format!("corrupt MP4: the ftyp box is {} bytes", ftyp.size));
        }
        header = read_box(&mut file, ftyp)?;
    }
    let moov_bytes = read_box(&mut file, &moov)?;
    if tables {
        check_tree(
            moov_bytes.get(moov.header as usize..).unwrap_or_default(),
            false,
            0,
        )?;
    }
    header.extend_from_slice(&moov_bytes);
    let context = match catch_unwind(AssertUnwindSafe(|| {
        mp4parse::read_mp4(&mut Cursor::new(&header))
    })) {
        Ok(Ok(context)) => context,
        Ok(Err(err)) => return Err(format!("invalid MP4 structure (mp4parse: {err})")),
        Err(_) => return Err("invalid MP4 structure (mp4parse failed on it)".to_owned()),
    };

    let mdats: Vec<(u64, u64)> = boxes
        .iter()
        .filter(|b| &b.kind == b"mdat")
        .map(|b| (b.start + b.header, b.end()))
        .collect();
    for track in context.tracks.iter() {
        check_chunks(track, &mdats)?;
    }
    Ok(Mp4 {
        file,
        length,
        boxes,
        moov,
        moov_bytes,
        context,
        faststart,
    })
}

/// Checks the structure of an MP4 audio file (M4A) before symphonia reads it: its MP4
/// demuxer trusts box sizes and table counts, and allocates by them.
pub(super) fn check_audio_container(path: &Path) -> Result<(), String> {
    open_mp4(path, true).map(|_| ())
}

/// Probes an MP4/M4V/MOV file: box structure, `moov` (via mp4parse), chunk offsets, and at
/// least one video track. The error is a short English reason without the file name.
pub fn probe(path: &Path) -> Result<VideoFacts, String> {
    let mut mp4 = open_mp4(path, false)?;
    let first_video = mp4
        .context
        .tracks
        .iter()
        .find(|track| track.track_type == TrackType::Video)
        .ok_or_else(|| "no video track".to_owned())?;
    let (width, height) = match &first_video.tkhd {
        Some(tkhd) => (
            Some(tkhd.width >> 16).filter(|&w| w > 0),
            Some(tkhd.height >> 16).filter(|&h| h > 0),
        ),
        None => (None, None),
    };

    let from_moov = movie_duration(mp4.moov_body(), &mp4.context);
    let duration = match from_moov {
        Some(duration) => Some(duration),
        None => {
            let moov_body = mp4.moov_body().to_vec();
            fragments_duration(&mut mp4.file, &mp4.boxes, &moov_body, &mp4.context)?
        }
    }
    .or_else(|| longest_track(&mp4.context))
    .ok_or_else(|| "the video has no duration".to_owned())?;

    let length = mp4.length;
    let bitrate_kbps = Some(length as f64 * 8.0 / duration / 1000.0).filter(|r| r.is_finite());
    Ok(VideoFacts {
        media_type: "video/mp4",
        duration,
        width,
        height,
        bitrate_kbps,
        faststart: mp4.faststart,
        length,
    })
}

/// Checks the boxes inside `body` (the inside of `moov` or a box within) that symphonia's
/// MP4 demuxer reads: every child of a container fits inside it, and every sample table
/// holds the entries it counts. `items`: `body` is an `ilst`, whose children are all
/// containers.
fn check_tree(body: &[u8], items: bool, depth: u32) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err("corrupt moov: boxes nested too deep".to_owned());
    }
    let too_few = |kind: &[u8; 4]| {
        format!(
            "corrupt moov: the {} box lists more entries than it holds",
            fourcc(kind)
        )
    };
    for (kind, header, range) in children(body)? {
        let inner = &body[range.start + header..range.end];
        // Bytes per entry, for a table: count at 4..8, entries from 8.
        let per_entry: usize = match &kind {
            _ if items => {
                check_tree(inner, false, depth + 1)?;
                continue;
            }
            b"moov" | b"trak" | b"mdia" | b"minf" | b"stbl" | b"edts" | b"udta" | b"mvex"
            | b"dinf" => {
                check_tree(inner, false, depth + 1)?;
                continue;
            }
            b"ilst" => {
                check_tree(inner, true, depth + 1)?;
                continue;
            }
            b"meta" => {
                // ISO's meta is a full box; QuickTime's starts with its hdlr at once.
                let skip = if inner.get(4..8) == Some(b"hdlr".as_slice()) {
                    0
                } else {
                    4
                };
                check_tree(inner.get(skip..).unwrap_or_default(), false, depth + 1)?;
                continue;
            }
            b"stsd" => {
                // The sample entries must fit; their insides are codec-specific.
                children(inner.get(8..).unwrap_or_default())?;
                continue;
            }
            b"stsz" => {
                // Sizes follow only when there is no common sample size.
                let common = be_u32(inner, 4).ok_or_else(|| too_few(&kind))?;
                let count = be_u32(inner, 8).ok_or_else(|| too_few(&kind))? as usize;
                let needed = count.checked_mul(4).and_then(|n| n.checked_add(12));
                if common == 0 && needed.is_none_or(|needed| needed > inner.len()) {
                    return Err(too_few(&kind));
                }
                continue;
            }
            b"stts" | b"ctts" => 8,
            b"stsc" => 12,
            b"stco" | b"stss" => 4,
            b"co64" => 8,
            b"elst" => {
                if inner.first() == Some(&1) {
                    20
                } else {
                    12
                }
            }
            _ => continue,
        };
        let count = be_u32(inner, 4).ok_or_else(|| too_few(&kind))? as usize;
        let needed = count.checked_mul(per_entry).and_then(|n| n.checked_add(8));
        if needed.is_none_or(|needed| needed > inner.len()) {
            return Err(too_few(&kind));
        }
    }
    Ok(())
}

/// A box inside a container: its type, its header length and its bytes (header
/// included) within the container's body.
type Child = ([u8; 4], usize, std::ops::Range<usize>);

/// The child boxes of `body` (the inside of a container box); `Err` on a child that does
/// not fit.
fn children(body: &[u8]) -> Result<Vec<Child>, String> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < body.len() {
        let left = body.len() - pos;
        // Some writers pad a container with up to 7 zero bytes (or a 32-bit zero
        // terminator, in QuickTime): not a box.
        if left < 8 {
            if body[pos..].iter().all(|&b| b == 0) {
                break;
            }
            return Err("corrupt moov: a box header is cut off".to_owned());
        }
        let size32 = u32::from_be_bytes([body[pos], body[pos + 1], body[pos + 2], body[pos + 3]]);
        let kind = [body[pos + 4], body[pos + 5], body[pos + 6], body[pos + 7]];
        let (header, size) = match size32 {
            0 => (8usize, left),
            1 => {
                if left < 16 {
                    return Err("corrupt moov: a box header is cut off".to_owned());
                }
                let mut large = [0u8; 8];
                large.copy_from_slice(&body[pos + 8..pos + 16]);
                let size = usize::try_from(u64::from_be_bytes(large)).unwrap_or(usize::MAX);
                (16, size)
            }
            n => (8, usize::try_from(n).unwrap_or(usize::MAX)),
        };
        if size < header || size > left {
            return Err(format!(
                "corrupt moov: the {} box does not fit in its parent",
                fourcc(&kind)
            ));
        }
        out.push((kind, header, pos..pos + size));
        pos += size;
    }
    Ok(out)
}

fn positive(secs: f64) -> Option<f64> {
    Some(secs).filter(|s| s.is_finite() && *s > 0.0)
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let raw = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]))
}

/// The movie's duration from `mvhd` (`moov_body` is the inside of `moov`), else from
/// `mehd` (fragmented files).
fn movie_duration(moov_body: &[u8], context: &MediaContext) -> Option<f64> {
    let from_mvhd = children(moov_body).ok().and_then(|boxes| {
        let (_, header, range) = boxes.into_iter().find(|(kind, _, _)| kind == b"mvhd")?;
        let body = &moov_body[range.start + header..range.end];
        let version = *body.first()?;
        let be32 = |at: usize| be_u32(body, at).map(u64::from);
        let (timescale, duration) = if version == 1 {
            let bytes = body.get(24..32)?;
            let mut large = [0u8; 8];
            large.copy_from_slice(bytes);
            (be32(20)?, u64::from_be_bytes(large))
        } else {
            let duration = be32(16)?;
            (be32(12)?, duration)
        };
        // All ones means "unknown".
        let unknown = duration == u64::MAX || (version != 1 && duration == u64::from(u32::MAX));
        if timescale == 0 || duration == 0 || unknown {
            return None;
        }
        positive(duration as f64 / timescale as f64)
    });
    if from_mvhd.is_some() {
        return from_mvhd;
    }
    match (&context.mvex, context.timescale) {
        (Some(mvex), Some(scale)) if scale.0 > 0 => mvex
            .fragment_duration
            .and_then(|d| positive(d.0 as f64 / scale.0 as f64)),
        _ => None,
    }
}

/// The longest track's duration (`mdhd`).
fn longest_track(context: &MediaContext) -> Option<f64> {
    context
        .tracks
        .iter()
        .filter_map(|track| match (track.duration, track.timescale) {
            (Some(duration), Some(scale)) if scale.0 > 0 => {
                positive(duration.0 as f64 / scale.0 as f64)
            }
            _ => None,
        })
        .reduce(f64::max)
}

/// A fragmented file's duration, when its `moov` does not say: the sample durations of
/// every movie fragment (`moof` → `traf` → `tfhd` + `trun`, with `trex` defaults), summed
/// per track; the longest track's. `None` when the file has no fragments.
fn fragments_duration(
    file: &mut File,
    boxes: &[TopBox],
    moov_body: &[u8],
    context: &MediaContext,
) -> Result<Option<f64>, String> {
    const CORRUPT: &str = "corrupt MP4: a movie fragment's tables are damaged";
    // Per track ID: (default sample duration from trex, ticks summed).
    let mut tracks: Vec<(u32, u32, u64)> = Vec::new();
    for (kind, header, range) in children(moov_body)? {
        if &kind != b"mvex" {
            continue;
        }
        let mvex = &moov_body[range.start + header..range.end];
        for (kind, header, range) in children(mvex)? {
            if &kind == b"trex" {
                let trex = &mvex[range.start + header..range.end];
                let id = be_u32(trex, 4).ok_or(CORRUPT)?;
                let default = be_u32(trex, 12).ok_or(CORRUPT)?;
                tracks.push((id, default, 0));
            }
        }
    }
    let mut any = false;
    for top in boxes.iter().filter(|b| &b.kind == b"moof") {
        any = true;
        if top.size > MAX_MOOV_BYTES {
            return Err(format!(
                "a moof box is too large ({} bytes; at most {} MiB)",
                top.size,
                MAX_MOOV_BYTES >> 20
            ));
        }
        let moof = read_box(file, top)?;
        let moof_body = &moof[top.header as usize..];
        for (kind, header, range) in children(moof_body)? {
            if &kind != b"traf" {
                continue;
            }
            let traf = &moof_body[range.start + header..range.end];
            let mut track: Option<usize> = None;
            let mut default = None;
            for (kind, header, range) in children(traf)? {
                let body = &traf[range.start + header..range.end];
                match &kind {
                    b"tfhd" => {
                        let flags = be_u32(body, 0).ok_or(CORRUPT)? & 0x00ff_ffff;
                        let id = be_u32(body, 4).ok_or(CORRUPT)?;
                        let index = match tracks.iter().position(|t| t.0 == id) {
                            Some(index) => index,
                            None => {
                                tracks.push((id, 0, 0));
                                tracks.len() - 1
                            }
                        };
                        track = Some(index);
                        default = Some(tracks[index].1);
                        let mut at = 8;
                        if flags & 0x01 != 0 {
                            at += 8; // base_data_offset
                        }
                        if flags & 0x02 != 0 {
                            at += 4; // sample_description_index
                        }
                        if flags & 0x08 != 0 {
                            default = Some(be_u32(body, at).ok_or(CORRUPT)?);
                        }
                    }
                    b"trun" => {
                        let index = track.ok_or(CORRUPT)?;
                        let flags = be_u32(body, 0).ok_or(CORRUPT)? & 0x00ff_ffff;
                        let count = be_u32(body, 4).ok_or(CORRUPT)? as usize;
                        let mut at = 8;
                        if flags & 0x01 != 0 {
                            at += 4; // data_offset
                        }
                        if flags & 0x04 != 0 {
                            at += 4; // first_sample_flags
                        }
                        let stride = 4 * (flags & 0xf00).count_ones() as usize;
                        let needed = count.checked_mul(stride).and_then(|n| n.checked_add(at));
                        if needed.is_none_or(|needed| needed > body.len()) {
                            return Err(CORRUPT.to_owned());
                        }
                        let ticks = if flags & 0x100 != 0 {
                            (0..count)
                                .filter_map(|i| be_u32(body, at + i * stride))
                                .map(u64::from)
                                .sum()
                        } else {
                            count as u64 * u64::from(default.unwrap_or(0))
                        };
                        let sum = &mut tracks[index].2;
                        *sum = sum.saturating_add(ticks);
                    }
                    _ => {}
                }
            }
        }
    }
    if !any {
        return Ok(None);
    }
    Ok(tracks
        .iter()
        .filter_map(|&(id, _, ticks)| {
            let track = context.tracks.iter().find(|t| t.track_id == Some(id))?;
            let scale = track.timescale?.0;
            (scale > 0).then(|| ticks as f64 / scale as f64)
        })
        .filter_map(positive)
        .reduce(f64::max))
}

/// Checks that every chunk of `track` lies inside an `mdat` payload (`mdats`: sorted
/// `start..end` byte ranges), with the chunk's length from `stsc` and `stsz`.
fn check_chunks(track: &mp4parse::Track, mdats: &[(u64, u64)]) -> Result<(), String> {
    let Some(stco) = &track.stco else {
        return Ok(());
    };
    let id = track.track_id.map_or(track.id as u64 + 1, u64::from);
    let stsc: &[mp4parse::SampleToChunk] = match &track.stsc {
        Some(stsc) => &stsc.samples,
        None => &[],
    };
    let mut entry = 0usize;
    let mut next_sample = 0usize;
    for (index, &offset) in stco.offsets.iter().enumerate() {
        let chunk = index as u64 + 1;
        while entry + 1 < stsc.len() && u64::from(stsc[entry + 1].first_chunk) <= chunk {
            entry += 1;
        }
        let per_chunk = stsc
            .get(entry)
            .filter(|e| u64::from(e.first_chunk) <= chunk)
            .map(|e| e.samples_per_chunk);
        let length: Option<u64> = match (per_chunk, &track.stsz) {
            (Some(count), Some(stsz)) if stsz.sample_size != 0 => {
                Some(u64::from(count) * u64::from(stsz.sample_size))
            }
            (Some(count), Some(stsz)) => {
                let count = count as usize;
                let sizes = stsz
                    .sample_sizes
                    .get(next_sample..next_sample.saturating_add(count))
                    .ok_or_else(|| {
                        format!(
                            "corrupt MP4: track {id}'s chunk {chunk} holds more samples than \
                             its sample size table lists"
                        )
                    })?;
                next_sample += count;
                Some(sizes.iter().map(|&s| u64::from(s)).sum())
            }
            _ => None,
        };
        let within = mdats.partition_point(|&(start, _)| start <= offset);
        let inside = within
            .checked_sub(1)
            .and_then(|i| mdats.get(i))
            .filter(|&&(_, end)| match length {
                Some(0) => offset <= end,
                Some(length) => offset.checked_add(length).is_some_and(|last| last <= end),
                None => offset < end,
            });
        if inside.is_none() {
            return Err(format!(
                "truncated or corrupt: track {id}'s chunk {chunk} (at byte {offset}{}) is not \
                 inside the media data",
                length.map_or(String::new(), |l| format!(", {l} bytes"))
            ));
        }
    }
    Ok(())
}

/// Adds `map(offset)` to every `stco`/`co64` entry inside `body` (the inside of a
/// container box: `moov`, `trak`, `mdia`, `minf`, `stbl` or `edts`).
fn patch_chunk_offsets(
    body: &mut [u8],
    map: &dyn Fn(u64) -> Result<u64, String>,
    depth: u32,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err("corrupt moov: boxes nested too deep".to_owned());
    }
    for (kind, header, range) in children(body)? {
        let inner = &mut body[range.start + header..range.end];
        match &kind {
            b"trak" | b"mdia" | b"minf" | b"stbl" | b"edts" => {
                patch_chunk_offsets(inner, map, depth + 1)?;
            }
            b"stco" | b"co64" => {
                let wide = &kind == b"co64";
                let width = if wide { 8 } else { 4 };
                let count = inner
                    .get(4..8)
                    .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
                    .ok_or_else(|| format!("corrupt moov: a short {} box", fourcc(&kind)))?;
                let needed = count.checked_mul(width).and_then(|n| n.checked_add(8));
                if needed.is_none_or(|needed| needed > inner.len()) {
                    return Err(format!(
                        "corrupt moov: the {} box lists more entries than it holds",
                        fourcc(&kind)
                    ));
                }
                for entry in inner[8..8 + count * width].chunks_exact_mut(width) {
                    if wide {
                        let mut raw = [0u8; 8];
                        raw.copy_from_slice(entry);
                        let moved = map(u64::from_be_bytes(raw))?;
                        entry.copy_from_slice(&moved.to_be_bytes());
                    } else {
                        let old = u32::from_be_bytes([entry[0], entry[1], entry[2], entry[3]]);
                        let moved = map(u64::from(old))?;
                        let moved = u32::try_from(moved).map_err(|_| NEEDS_CO64.to_owned())?;
                        entry.copy_from_slice(&moved.to_be_bytes());
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// One piece of [`playable`]'s output.
enum Part {
    /// `len` bytes of the file from `offset`.
    File { offset: u64, len: u64, seeked: bool },
    /// Bytes in memory (the rewritten `moov`).
    Memory(Cursor<Vec<u8>>),
}

/// The file's bytes in a new order, streamed.
struct Spliced {
    file: File,
    parts: VecDeque<Part>,
}

impl Read for Spliced {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while let Some(part) = self.parts.front_mut() {
            match part {
                Part::Memory(cursor) => {
                    let n = cursor.read(buf)?;
                    if n > 0 {
                        return Ok(n);
                    }
                }
                Part::File {
                    offset,
                    len,
                    seeked,
                } => {
                    if *len > 0 {
                        if !*seeked {
                            self.file.seek(SeekFrom::Start(*offset))?;
                            *seeked = true;
                        }
                        let want = usize::try_from(*len).unwrap_or(usize::MAX).min(buf.len());
                        let n = self.file.read(&mut buf[..want])?;
                        if n == 0 {
                            return Err(std::io::Error::new(
                                std::io::ErrorKind::UnexpectedEof,
                                "the video file is shorter than when it was probed",
                            ));
                        }
                        *len -= n as u64;
                        return Ok(n);
                    }
                }
            }
            self.parts.pop_front();
        }
        Ok(0)
    }
}

/// The bytes to package: the file as it is when `facts.faststart`, otherwise its boxes
/// reordered as `ftyp`, `moov`, then everything else in the original order, with every
/// chunk offset in `moov` moved along. Streams: memory is bounded by the `moov` size.
/// Returns the length (always `facts.length`) and the reader.
pub fn playable(path: &Path, facts: &VideoFacts) -> Result<(u64, Box<dyn Read + Send>), String> {
    let mut file = File::open(path).map_err(io_error)?;
    let length = file.metadata().map_err(io_error)?.len();
    if length != facts.length {
        return Err("the file changed since it was checked".to_owned());
    }
    if facts.faststart {
        return Ok((length, Box::new(file)));
    }
    let boxes = top_level_boxes(&mut file, length)?;
    let moov = the_moov(&boxes)?;
    if boxes.iter().any(|b| &b.kind == b"moof") {
        return Err(
            "a fragmented MP4 with the moov box after its media cannot be rearranged; \
             re-encode with ffmpeg -movflags +faststart"
                .to_owned(),
        );
    }
    let ftyp = boxes.iter().position(|b| &b.kind == b"ftyp");
    let moov_index = boxes
        .iter()
        .position(|b| b.start == moov.start)
        .ok_or_else(|| "no moov box".to_owned())?;

    // The new order, and where each original box starts in it.
    let mut order: Vec<usize> = ftyp.into_iter().collect();
    order.push(moov_index);
    order.extend((0..boxes.len()).filter(|&i| Some(i) != ftyp && i != moov_index));
    let mut new_start = vec![0u64; boxes.len()];
    let mut at = 0u64;
    for &i in &order {
        new_start[i] = at;
        at += boxes[i].size;
    }
    let map = |offset: u64| -> Result<u64, String> {
        let i = boxes
            .partition_point(|b| b.start <= offset)
            .checked_sub(1)
            .filter(|&i| offset < boxes[i].end())
            .ok_or_else(|| {
                format!("corrupt MP4: a chunk offset ({offset}) lies outside the file")
            })?;
        Ok(new_start[i] + (offset - boxes[i].start))
    };

    let mut moov_bytes = read_box(&mut file, &moov)?;
    let header = moov.header as usize;
    patch_chunk_offsets(&mut moov_bytes[header..], &map, 0)?;

    let mut parts = VecDeque::new();
    for &i in &order {
        let part = if i == moov_index {
            Part::Memory(Cursor::new(std::mem::take(&mut moov_bytes)))
        } else {
            let top = boxes[i];
            // Neighbours in the file stay one read.
            if let Some(Part::File { offset, len, .. }) = parts.back_mut()
                && *offset + *len == top.start
            {
                *len += top.size;
                continue;
            }
            Part::File {
                offset: top.start,
                len: top.size,
                seeked: false,
            }
        };
        parts.push_back(part);
    }
    Ok((length, Box::new(Spliced { file, parts })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/media")).join(name)
    }

    fn write_temp(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut file = tempfile::Builder::new()
            .suffix(".mp4")
            .tempfile()
            .expect("temp file");
        std::io::Write::write_all(&mut file, bytes).expect("write temp file");
        file
    }

    /// Top-level `(type, start, size)` of an in-memory file.
    fn layout(bytes: &[u8]) -> Vec<(String, usize, usize)> {
        let mut out = Vec::new();
        let mut pos = 0;
        while pos + 8 <= bytes.len() {
            let size = u32::from_be_bytes(bytes[pos..pos + 4].try_into().expect("4 bytes"));
            let size = match size {
                0 => bytes.len() - pos,
                1 => u64::from_be_bytes(bytes[pos + 8..pos + 16].try_into().expect("8 bytes"))
                    as usize,
                n => n as usize,
            };
            out.push((
                String::from_utf8_lossy(&bytes[pos + 4..pos + 8]).into_owned(),
                pos,
                size,
            ));
            pos += size;
        }
        assert_eq!(pos, bytes.len(), "boxes cover the file");
        out
    }

    /// Every track's chunk offsets, parsed from the file's ftyp and moov by mp4parse.
    fn chunk_offsets(bytes: &[u8]) -> Vec<Vec<u64>> {
        let mut header = Vec::new();
        for (kind, start, size) in layout(bytes) {
            if kind == "ftyp" || kind == "moov" {
                header.extend_from_slice(&bytes[start..start + size]);
            }
        }
        let context = mp4parse::read_mp4(&mut Cursor::new(header)).expect("mp4parse");
        context
            .tracks
            .iter()
            .map(|t| t.stco.as_ref().expect("stco").offsets.to_vec())
            .collect()
    }

    fn kinds(bytes: &[u8]) -> Vec<String> {
        layout(bytes).into_iter().map(|(kind, _, _)| kind).collect()
    }

    #[test]
    fn fixtures_probe() {
        for (name, seconds, faststart) in
            [("lecture-1.mp4", 3.0, true), ("lecture-2.mp4", 2.0, false)]
        {
            let facts = probe(&fixture(name)).unwrap_or_else(|err| panic!("{name}: {err}"));
            assert_eq!(facts.media_type, "video/mp4");
            assert!(
                (facts.duration - seconds).abs() <= 0.15,
                "{name}: {} s",
                facts.duration
            );
            assert_eq!(
                (facts.width, facts.height),
                (Some(160), Some(120)),
                "{name}"
            );
            assert_eq!(facts.faststart, faststart, "{name}");
            let length = std::fs::metadata(fixture(name)).expect("fixture").len();
            assert_eq!(facts.length, length);
            let rate = facts.bitrate_kbps.expect("bit rate");
            assert!(rate > 10.0 && rate < 1000.0, "{name}: {rate}");
        }
        // What make.sh promises: lecture-2's moov is at the end.
        let bytes = std::fs::read(fixture("lecture-2.mp4")).expect("fixture");
        assert_eq!(kinds(&bytes).last().map(String::as_str), Some("moov"));
    }

    #[test]
    fn fragmented_file_probes() {
        // Its moov says nothing of the duration: the fragments do.
        let path = fixture("lecture-3-fragmented.mp4");
        let facts = probe(&path).expect("probe");
        assert!((facts.duration - 2.0).abs() <= 0.15, "{} s", facts.duration);
        assert_eq!((facts.width, facts.height), (Some(160), Some(120)));
        assert!(facts.faststart);
        let bytes = std::fs::read(&path).expect("fixture");
        assert_eq!(kinds(&bytes).iter().filter(|k| *k == "moof").count(), 2);
        let (length, mut reader) = playable(&path, &facts).expect("playable");
        let mut out = Vec::new();
        reader.read_to_end(&mut out).expect("read");
        assert_eq!(length, facts.length);
        assert_eq!(out, bytes);
    }

    #[test]
    fn faststart_file_is_passed_through() {
        let path = fixture("lecture-1.mp4");
        let facts = probe(&path).expect("probe");
        let (length, mut reader) = playable(&path, &facts).expect("playable");
        let mut out = Vec::new();
        reader.read_to_end(&mut out).expect("read");
        assert_eq!(length, facts.length);
        assert_eq!(out, std::fs::read(&path).expect("fixture"));
    }

    #[test]
    fn moov_is_moved_to_the_front() {
        let path = fixture("lecture-2.mp4");
        let original = std::fs::read(&path).expect("fixture");
        let facts = probe(&path).expect("probe");
        assert!(!facts.faststart);
        let (length, mut reader) = playable(&path, &facts).expect("playable");
        let mut out = Vec::new();
        // Small reads, to cross part boundaries mid-buffer.
        let mut buf = [0u8; 1000];
        loop {
            let n = reader.read(&mut buf).expect("read");
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(length, facts.length);
        assert_eq!(out.len() as u64, facts.length);

        let order = kinds(&out);
        assert_eq!(&order[..2], ["ftyp", "moov"], "{order:?}");
        assert_eq!(order.last().map(String::as_str), Some("mdat"), "{order:?}");
        let mut sorted_old = kinds(&original);
        sorted_old.sort();
        let mut sorted_new = order.clone();
        sorted_new.sort();
        assert_eq!(sorted_old, sorted_new);

        // Still a valid video, now faststart.
        let rewritten = write_temp(&out);
        let again = probe(rewritten.path()).expect("rewritten file probes");
        assert!(again.faststart);
        assert_eq!(again.duration, facts.duration);
        assert_eq!((again.width, again.height), (facts.width, facts.height));
        assert_eq!(again.length, facts.length);

        // Every chunk offset points at the same bytes as before.
        let (before, after) = (chunk_offsets(&original), chunk_offsets(&out));
        assert_eq!(before.len(), after.len());
        let mut compared = 0;
        for (old_track, new_track) in before.iter().zip(&after) {
            assert_eq!(old_track.len(), new_track.len());
            for (&old, &new) in old_track.iter().zip(new_track) {
                assert_ne!(old, new);
                let (old, new) = (old as usize, new as usize);
                let n = 16.min(original.len() - old).min(out.len() - new);
                assert_eq!(original[old..old + n], out[new..new + n]);
                compared += 1;
            }
        }
        assert!(compared > 10, "{compared} chunks");
    }

    #[test]
    fn truncated_file_is_refused() {
        for name in ["lecture-1.mp4", "lecture-2.mp4"] {
            let bytes = std::fs::read(fixture(name)).expect("fixture");
            let cut = write_temp(&bytes[..bytes.len() * 6 / 10]);
            let err = probe(cut.path()).expect_err("truncated");
            assert!(err.contains("truncated"), "{name}: {err}");
            assert!(err.contains("mdat box claims"), "{name}: {err}");
        }
    }

    #[test]
    fn random_bytes_and_empty_files_are_refused() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let noise: Vec<u8> = (0..40_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect();
        let file = write_temp(&noise);
        assert!(probe(file.path()).is_err());
        let file = write_temp(b"");
        assert!(probe(file.path()).is_err());
    }

    #[test]
    fn missing_mdat_is_refused() {
        let bytes = std::fs::read(fixture("lecture-1.mp4")).expect("fixture");
        let header: Vec<u8> = layout(&bytes)
            .into_iter()
            .filter(|(kind, _, _)| kind != "mdat")
            .flat_map(|(_, start, size)| bytes[start..start + size].to_vec())
            .collect();
        let file = write_temp(&header);
        let err = probe(file.path()).expect_err("no mdat");
        assert!(err.contains("mdat"), "{err}");
    }

    #[test]
    fn missing_moov_is_refused() {
        let bytes = std::fs::read(fixture("lecture-1.mp4")).expect("fixture");
        let rest: Vec<u8> = layout(&bytes)
            .into_iter()
            .filter(|(kind, _, _)| kind != "moov")
            .flat_map(|(_, start, size)| bytes[start..start + size].to_vec())
            .collect();
        let file = write_temp(&rest);
        let err = probe(file.path()).expect_err("no moov");
        assert!(err.contains("moov"), "{err}");
    }

    #[test]
    fn chunk_outside_mdat_is_refused() {
        let mut bytes = std::fs::read(fixture("lecture-1.mp4")).expect("fixture");
        let at = bytes
            .windows(4)
            .position(|w| w == b"stco")
            .expect("an stco box");
        // version/flags (4), entry count (4), then the first entry.
        let first = at + 4 + 8;
        let beyond = (bytes.len() as u32 + 100).to_be_bytes();
        bytes[first..first + 4].copy_from_slice(&beyond);
        let file = write_temp(&bytes);
        let err = probe(file.path()).expect_err("chunk outside mdat");
        assert!(err.contains("not inside the media data"), "{err}");
    }

    fn full_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out
    }

    fn nested_in_stbl(table: Vec<u8>) -> Vec<u8> {
        let stbl = full_box(b"stbl", &table);
        let minf = full_box(b"minf", &stbl);
        let mdia = full_box(b"mdia", &minf);
        let mut trak_body = full_box(b"tkhd", &[0u8; 84]);
        trak_body.extend(mdia);
        // A udta with an stco-looking payload inside must be left alone.
        trak_body.extend(full_box(
            b"udta",
            &full_box(b"stco", &[0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 9]),
        ));
        full_box(b"trak", &trak_body)
    }

    #[test]
    fn stco_and_co64_entries_are_patched() {
        let stco = full_box(b"stco", &[0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 40, 0, 0, 1, 0]);
        let mut co64_body = vec![0, 0, 0, 0, 0, 0, 0, 1];
        co64_body.extend_from_slice(&0x1_0000_0000u64.to_be_bytes());
        let co64 = full_box(b"co64", &co64_body);
        let mut moov_body = nested_in_stbl(stco);
        moov_body.extend(nested_in_stbl(co64));
        let before = moov_body.clone();
        let add = |offset: u64| -> Result<u64, String> { Ok(offset + 1000) };
        patch_chunk_offsets(&mut moov_body, &add, 0).expect("patch");
        assert_eq!(moov_body.len(), before.len());
        let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
        let at = find(&moov_body, b"stco").expect("stco");
        assert_eq!(moov_body[at + 12..at + 16], 1040u32.to_be_bytes());
        assert_eq!(moov_body[at + 16..at + 20], 1256u32.to_be_bytes());
        let at = find(&moov_body, b"co64").expect("co64");
        assert_eq!(
            moov_body[at + 12..at + 20],
            (0x1_0000_0000u64 + 1000).to_be_bytes()
        );
        // The udta copies are untouched.
        let untouched = [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 9];
        assert_eq!(moov_body.windows(12).filter(|w| *w == untouched).count(), 2);
    }

    #[test]
    fn stco_overflow_is_refused() {
        let stco = full_box(b"stco", &[0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0x00]);
        let mut moov_body = nested_in_stbl(stco);
        let add = |offset: u64| -> Result<u64, String> { Ok(offset + 0x1000) };
        let err = patch_chunk_offsets(&mut moov_body, &add, 0).expect_err("overflow");
        assert_eq!(err, NEEDS_CO64);
        assert!(err.contains("64-bit chunk offsets"));
    }

    #[test]
    fn bad_entry_count_is_refused() {
        let stco = full_box(b"stco", &[0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 40]);
        let mut moov_body = nested_in_stbl(stco);
        let add = |offset: u64| -> Result<u64, String> { Ok(offset) };
        assert!(patch_chunk_offsets(&mut moov_body, &add, 0).is_err());
    }
}
