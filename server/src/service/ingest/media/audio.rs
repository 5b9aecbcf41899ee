//! Audio tracks: what they are, how long they last, and whether they decode.
//!
//! [`probe`] demuxes and decodes the whole file with symphonia, so a track that would
//! stop or crackle halfway through in a reader's player is refused at ingest instead.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use symphonia::core::codecs::{
    CODEC_TYPE_AAC, CODEC_TYPE_FLAC, CODEC_TYPE_MP3, CODEC_TYPE_NULL, CODEC_TYPE_VORBIS, CodecType,
    Decoder, DecoderOptions,
};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::{Metadata, MetadataOptions, StandardTagKey};
use symphonia::core::probe::Hint;

/// What ingest learns of an audio track.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioFacts {
    /// `audio/mpeg`, `audio/mp4`, `audio/ogg` or `audio/flac`.
    pub media_type: &'static str,
    /// Seconds of decoded audio (counted frame by frame), always > 0.
    pub duration: f64,
    /// The average bit rate: file bytes × 8 / duration / 1000.
    pub bitrate_kbps: Option<f64>,
    /// The title from the tags (ID3 `TIT2`, Vorbis `TITLE`, iTunes `©nam`), trimmed, if any.
    pub title: Option<String>,
    /// The artist from the tags (ID3 `TPE1`, Vorbis `ARTIST`, iTunes `©ART`), trimmed, if any.
    pub artist: Option<String>,
}

/// The longest track accepted: 48 hours.
pub const MAX_DURATION_SECS: f64 = 48.0 * 3600.0;

const UNSUPPORTED: &str = "not a supported audio file (MP3, M4A/AAC, Ogg Vorbis, FLAC)";

/// Probes and fully validates the track at `path`: demuxes every packet and decodes every
/// packet, so a file with garbage frames is refused.
///
/// The error is a short English reason without the file name (the caller prefixes it),
/// e.g. "undecodable audio at 0:12.3: …".
pub fn probe(path: &Path) -> Result<AudioFacts, String> {
    let mut file = File::open(path).map_err(cannot_read)?;
    let length = file.metadata().map_err(cannot_read)?.len();
    if length == 0 {
        return Err("empty file".to_owned());
    }
    let container = sniff(&mut file)?;
    if container == Container::Mp4 {
        // Symphonia's MP4 demuxer trusts box sizes and table counts (and allocates by
        // them, which no `catch_unwind` survives): check them first.
        super::video::check_audio_container(path)?;
    }
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|ext| ext.to_str()) {
        hint.with_extension(&ext.to_ascii_lowercase());
    }
    // Symphonia is written to return errors on bad input, but its decoders have panicked
    // on hostile files before: a panic here is reported as a refusal, not a crash.
    match catch_unwind(AssertUnwindSafe(|| decode_all(file, &hint, container))) {
        Ok(Ok(decoded)) => Ok(facts(decoded, length)),
        Ok(Err(reason)) => Err(reason),
        Err(_) => Err("undecodable audio (the decoder failed on this file)".to_owned()),
    }
}

/// The container, judged from the first bytes (after any ID3v2 tag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Flac,
    Ogg,
    Mp4,
    /// None of the above: an MPEG audio stream if anything.
    Other,
}

/// Reads up to `buf.len()` bytes (fewer only at the end of the file).
fn read_up_to(file: &mut File, buf: &mut [u8]) -> Result<usize, String> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(cannot_read(err)),
        }
    }
    Ok(filled)
}

/// Judges the container from the first bytes of `file`, and rewinds it.
fn sniff(file: &mut File) -> Result<Container, String> {
    let mut head = [0u8; 12];
    let mut got = read_up_to(file, &mut head)?;
    if got >= 10 && head.starts_with(b"ID3") {
        // An ID3v2 tag in front (common on MP3, occasionally on FLAC): look past it.
        let size = head[6..10]
            .iter()
            .fold(0u64, |acc, byte| (acc << 7) | u64::from(byte & 0x7f));
        let footer = if head[5] & 0x10 != 0 { 10 } else { 0 };
        file.seek(SeekFrom::Start(10 + size + footer))
            .map_err(cannot_read)?;
        got = read_up_to(file, &mut head)?;
    }
    file.seek(SeekFrom::Start(0)).map_err(cannot_read)?;
    let head = &head[..got];
    Ok(if head.starts_with(b"fLaC") {
        Container::Flac
    } else if head.starts_with(b"OggS") {
        Container::Ogg
    } else if head.len() >= 8 && &head[4..8] == b"ftyp" {
        Container::Mp4
    } else {
        Container::Other
    })
}

fn cannot_read(err: std::io::Error) -> String {
    format!("cannot read the file: {err}")
}

/// The media type for a container and the codec of its main track, if we serve it.
fn media_type(container: Container, codec: CodecType) -> Option<&'static str> {
    match container {
        Container::Flac if codec == CODEC_TYPE_FLAC => Some("audio/flac"),
        Container::Ogg if codec == CODEC_TYPE_VORBIS || codec == CODEC_TYPE_FLAC => {
            Some("audio/ogg")
        }
        Container::Mp4 if codec == CODEC_TYPE_AAC || codec == CODEC_TYPE_MP3 => Some("audio/mp4"),
        Container::Other if codec == CODEC_TYPE_MP3 => Some("audio/mpeg"),
        _ => None,
    }
}

/// The outcome of decoding a whole file.
struct Decoded {
    media_type: &'static str,
    duration: f64,
    title: Option<String>,
    artist: Option<String>,
}

fn facts(decoded: Decoded, length: u64) -> AudioFacts {
    let bitrate_kbps = (decoded.duration > 0.0)
        .then(|| length as f64 * 8.0 / decoded.duration / 1000.0)
        .filter(|rate| rate.is_finite());
    AudioFacts {
        media_type: decoded.media_type,
        duration: decoded.duration,
        bitrate_kbps,
        title: decoded.title,
        artist: decoded.artist,
    }
}

/// One decoded track: its decoder and how much audio it produced.
struct TrackDecoder {
    id: u32,
    decoder: Box<dyn Decoder>,
    /// Frames decoded in all.
    frames: u64,
    /// Seconds decoded before the current run at `rate`.
    earlier: f64,
    /// The sample rate of the current run, and its frames so far.
    rate: u32,
    run: u64,
}

impl TrackDecoder {
    fn add(&mut self, frames: u64, rate: u32) {
        if rate != self.rate {
            self.earlier = self.seconds();
            self.rate = rate;
            self.run = 0;
        }
        self.run += frames;
        self.frames += frames;
    }

    /// Seconds decoded so far: frames over the sample rate, so exact for a steady rate.
    fn seconds(&self) -> f64 {
        if self.rate == 0 {
            self.earlier
        } else {
            self.earlier + self.run as f64 / f64::from(self.rate)
        }
    }
}

fn decode_all(file: File, hint: &Hint, container: Container) -> Result<Decoded, String> {
    let stream = MediaSourceStream::new(Box::new(file), MediaSourceStreamOptions::default());
    let format_options = FormatOptions {
        enable_gapless: true,
        ..FormatOptions::default()
    };
    let mut probed = symphonia::default::get_probe()
        .format(hint, stream, &format_options, &MetadataOptions::default())
        .map_err(|err| match (err, container) {
            // A known container that the reader could not open: cut off, or damaged.
            (SymphoniaError::Unsupported(_), _) | (_, Container::Other) => UNSUPPORTED.to_owned(),
            (err, _) => format!("unreadable audio (truncated or corrupt): {err}"),
        })?;
    let mut format = probed.format;

    let main = format
        .default_track()
        .filter(|track| track.codec_params.codec != CODEC_TYPE_NULL)
        .or_else(|| {
            format
                .tracks()
                .iter()
                .find(|track| track.codec_params.codec != CODEC_TYPE_NULL)
        })
        .ok_or_else(|| "no audio track".to_owned())?;
    let main_id = main.id;
    let media_type =
        media_type(container, main.codec_params.codec).ok_or_else(|| UNSUPPORTED.to_owned())?;
    let declared = match (main.codec_params.n_frames, main.codec_params.sample_rate) {
        (Some(frames), Some(rate)) if rate > 0 => Some(frames as f64 / f64::from(rate)),
        _ => None,
    };
    if declared.is_some_and(|secs| secs > MAX_DURATION_SECS) {
        return Err(too_long());
    }

    // Every track symphonia can decode is decoded, not just the main one.
    let options = DecoderOptions { verify: true };
    let mut decoders = Vec::new();
    for track in format.tracks() {
        if track.codec_params.codec == CODEC_TYPE_NULL {
            continue;
        }
        let decoder = symphonia::default::get_codecs()
            .make(&track.codec_params, &options)
            .map_err(|err| format!("unsupported audio codec: {err}"))?;
        decoders.push(TrackDecoder {
            id: track.id,
            decoder,
            frames: 0,
            earlier: 0.0,
            rate: 0,
            run: 0,
        });
    }
    let main_index = decoders
        .iter()
        .position(|track| track.id == main_id)
        .ok_or_else(|| "no audio track".to_owned())?;

    loop {
        let packet = match format.next_packet() {
            Ok(packet) => packet,
            Err(SymphoniaError::IoError(err))
                if err.kind() == std::io::ErrorKind::UnexpectedEof =>
            {
                break;
            }
            Err(SymphoniaError::ResetRequired) => {
                return Err(
                    "the audio changes format midway (chained streams are not supported)"
                        .to_owned(),
                );
            }
            Err(err) => {
                let at = clock(decoders[main_index].seconds());
                return Err(format!("unreadable audio at {at}: {err}"));
            }
        };
        let Some(track) = decoders
            .iter_mut()
            .find(|track| track.id == packet.track_id())
        else {
            continue;
        };
        match track.decoder.decode(&packet) {
            Ok(buffer) => {
                let frames = buffer.frames() as u64;
                let rate = buffer.spec().rate;
                if frames > 0 && rate > 0 {
                    track.add(frames, rate);
                }
                if track.seconds() > MAX_DURATION_SECS {
                    return Err(too_long());
                }
            }
            Err(err) => {
                return Err(format!(
                    "undecodable audio at {}: {err}",
                    clock(track.seconds())
                ));
            }
        }
    }

    for track in &mut decoders {
        if track.decoder.finalize().verify_ok == Some(false) {
            return Err("corrupt audio: the decoded audio does not match its checksum".to_owned());
        }
    }

    let main = &decoders[main_index];
    let seconds = main.seconds();
    if main.frames == 0 || seconds <= 0.0 {
        return Err("empty audio (no frames)".to_owned());
    }
    if let Some(declared) = declared {
        // A cut-off file simply ends early for the demuxer; the container says otherwise.
        let slack = (declared * 0.02).max(0.5);
        if seconds + slack < declared {
            return Err(format!(
                "truncated audio: the file declares {} but only {} decodes",
                clock(declared),
                clock(main.seconds())
            ));
        }
    }

    let (mut title, mut artist) = (None, None);
    if let Some(metadata) = probed.metadata.get() {
        read_tags(metadata, &mut title, &mut artist);
    }
    read_tags(format.metadata(), &mut title, &mut artist);

    Ok(Decoded {
        media_type,
        duration: seconds,
        title,
        artist,
    })
}

fn too_long() -> String {
    format!(
        "the audio is longer than {} hours",
        MAX_DURATION_SECS / 3600.0
    )
}

/// Fills `title` and `artist` (those still unset) from every revision of `metadata`.
fn read_tags(mut metadata: Metadata<'_>, title: &mut Option<String>, artist: &mut Option<String>) {
    loop {
        if let Some(revision) = metadata.current() {
            for tag in revision.tags() {
                let slot = match tag.std_key {
                    Some(StandardTagKey::TrackTitle) => &mut *title,
                    Some(StandardTagKey::Artist) => &mut *artist,
                    _ => continue,
                };
                if slot.is_none() {
                    let value = tag.value.to_string();
                    let value = value.trim().trim_matches('\0').trim();
                    if !value.is_empty() {
                        *slot = Some(value.to_owned());
                    }
                }
            }
        }
        if metadata.pop().is_none() {
            break;
        }
    }
}

/// `m:ss.s`, or `h:mm:ss.s` from an hour on.
fn clock(seconds: f64) -> String {
    let tenths = (seconds.max(0.0) * 10.0).round() as u64;
    let (whole, tenth) = (tenths / 10, tenths % 10);
    let (hours, minutes, secs) = (whole / 3600, whole / 60 % 60, whole % 60);
    if hours > 0 {
        format!("{hours}:{minutes:02}:{secs:02}.{tenth}")
    } else {
        format!("{minutes}:{secs:02}.{tenth}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/media")).join(name)
    }

    /// A deterministic byte stream (xorshift), so failures reproduce.
    fn noise(seed: u64, len: usize) -> Vec<u8> {
        let mut state = seed | 1;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect()
    }

    fn write_temp(bytes: &[u8], suffix: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::Builder::new()
            .suffix(suffix)
            .tempfile()
            .expect("temp file");
        std::io::Write::write_all(&mut file, bytes).expect("write temp file");
        file
    }

    #[test]
    fn fixtures_probe() {
        let cases = [
            ("tone-a.mp3", "audio/mpeg", 3.0),
            ("tone-b.m4a", "audio/mp4", 2.0),
            ("tone-c.ogg", "audio/ogg", 2.0),
            ("tone-d.flac", "audio/flac", 1.0),
        ];
        for (name, media_type, seconds) in cases {
            let facts = probe(&fixture(name)).unwrap_or_else(|err| panic!("{name}: {err}"));
            assert_eq!(facts.media_type, media_type, "{name}");
            assert!(
                (facts.duration - seconds).abs() <= 0.1,
                "{name}: {} s",
                facts.duration
            );
            let rate = facts.bitrate_kbps.expect("bit rate");
            assert!(rate > 1.0 && rate < 1500.0, "{name}: {rate} kbit/s");
        }
    }

    #[test]
    fn tags_are_read() {
        let mp3 = probe(&fixture("tone-a.mp3")).expect("mp3");
        assert_eq!(mp3.title.as_deref(), Some("第一首 静夜思"));
        assert_eq!(mp3.artist.as_deref(), Some("朗诵者"));
        let m4a = probe(&fixture("tone-b.m4a")).expect("m4a");
        assert_eq!(m4a.title.as_deref(), Some("第二首"));
        assert_eq!(m4a.artist, None);
        let ogg = probe(&fixture("tone-c.ogg")).expect("ogg");
        assert_eq!(ogg.title, None);
    }

    /// Offsets and lengths of the MPEG audio frames after the ID3v2 tag (MPEG-1 layer III
    /// only, which is what the fixture is).
    fn mp3_frames(bytes: &[u8]) -> Vec<(usize, usize)> {
        let mut pos = if bytes.starts_with(b"ID3") {
            let size = bytes[6..10]
                .iter()
                .fold(0usize, |acc, byte| (acc << 7) | usize::from(byte & 0x7f));
            10 + size
        } else {
            0
        };
        let mut frames = Vec::new();
        while pos + 4 <= bytes.len() {
            let header = &bytes[pos..pos + 4];
            assert_eq!(header[0], 0xff, "frame sync at {pos}");
            assert_eq!(header[1] & 0xfe, 0xfa, "MPEG-1 layer III at {pos}");
            let kbps = [
                0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
            ][usize::from(header[2] >> 4)];
            let rate = [44100, 48000, 32000][usize::from((header[2] >> 2) & 3)];
            let padding = usize::from((header[2] >> 1) & 1);
            let len = 144 * kbps * 1000 / rate + padding;
            frames.push((pos, len));
            pos += len;
        }
        frames
    }

    #[test]
    fn garbage_frames_are_refused() {
        let original = std::fs::read(fixture("tone-a.mp3")).expect("fixture");
        let frames = mp3_frames(&original);
        assert!(frames.len() > 100, "{} frames", frames.len());

        // Keep every frame's 4-byte header (so the demuxer still finds every frame) but
        // overwrite the side information and main data from a third of the way on.
        let mut bytes = original.clone();
        let from = frames.len() / 3;
        for (index, &(pos, len)) in frames.iter().enumerate().skip(from) {
            let body = noise(index as u64, len - 4);
            bytes[pos + 4..pos + len].copy_from_slice(&body);
        }
        let file = write_temp(&bytes, ".mp3");
        let err = probe(file.path()).expect_err("garbage frames must be refused");
        assert!(err.contains("undecodable"), "{err}");
        assert!(err.contains(" at 0:0") || err.contains(" at 0:01"), "{err}");

        // Plain random bytes over the same range (headers not kept) are refused as well.
        let mut bytes = original;
        let start = frames[from].0;
        let len = bytes.len() - start;
        bytes[start..].copy_from_slice(&noise(7, len));
        let file = write_temp(&bytes, ".mp3");
        let err = probe(file.path()).expect_err("overwritten tail must be refused");
        assert!(
            err.contains("undecodable") || err.contains("truncated"),
            "{err}"
        );
    }

    #[test]
    fn random_bytes_are_refused() {
        for (seed, suffix) in [(1, ".mp3"), (2, ".m4a"), (3, ".ogg"), (4, ".flac"), (5, "")] {
            let file = write_temp(&noise(seed, 50_000), suffix);
            let err = probe(file.path()).expect_err("random bytes must be refused");
            assert!(!err.is_empty());
        }
    }

    #[test]
    fn empty_file_is_refused() {
        let file = write_temp(b"", ".mp3");
        assert!(probe(file.path()).is_err());
    }

    #[test]
    fn truncated_files_are_refused() {
        for name in ["tone-a.mp3", "tone-b.m4a", "tone-c.ogg", "tone-d.flac"] {
            let bytes = std::fs::read(fixture(name)).expect("fixture");
            let file = write_temp(&bytes[..bytes.len() * 6 / 10], name);
            let err = probe(file.path()).expect_err(name);
            assert!(err.contains("truncated"), "{name}: {err}");
        }
    }

    #[test]
    fn clock_format() {
        assert_eq!(clock(12.34), "0:12.3");
        assert_eq!(clock(0.0), "0:00.0");
        assert_eq!(clock(61.05), "1:01.1");
        assert_eq!(clock(3725.0), "1:02:05.0");
    }
}
