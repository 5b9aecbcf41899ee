#!/usr/bin/env bash
# Regenerates the media test fixtures in this folder from ffmpeg's synthetic sources
# (sine tones and the `testsrc` pattern): no third-party content. Run it from anywhere:
#
#     testdata/media/make.sh
#
# Needs ffmpeg (with libmp3lame and libvorbis; libx264 if available, else the built-in
# mpeg4 encoder). Idempotent: every file is rebuilt from scratch (written to a temporary
# name, then moved into place), with bit-exact muxing so reruns give the same bytes for
# the same ffmpeg build. CI never runs this; the generated files are committed.
#
#   tone-a.mp3    3 s, 440 Hz, mono, 64 kbit/s MP3, ID3v2 title and artist (Chinese)
#   tone-b.m4a    2 s, AAC in MP4, iTunes title tag
#   tone-c.ogg    2 s, Ogg Vorbis
#   tone-d.flac   1 s, 8 kHz mono FLAC
#   lecture-1.mp4 3 s, 160x120, 10 fps H.264 (or MPEG-4 part 2) + AAC, moov first (faststart)
#   lecture-2.mp4 2 s, the same kind, moov at the end (NOT faststart)
#   lecture-3-fragmented.mp4  2 s, the same kind, fragmented (empty moov, one moof+mdat
#                 pair per second): the duration is only in the fragments
set -euo pipefail

cd "$(dirname "$0")"

ff() {
    ffmpeg -hide_banner -loglevel error -nostdin -y "$@"
}

# Builds "$1" via ffmpeg with the remaining arguments, through a temporary file.
build() {
    local out="$1"
    shift
    local tmp="tmp-${out}"
    rm -f "$tmp"
    ff "$@" -fflags +bitexact -flags:v +bitexact -flags:a +bitexact "$tmp"
    mv -f "$tmp" "$out"
}

encoders="$(ffmpeg -hide_banner -encoders 2>/dev/null || true)"
if grep -q ' libx264 ' <<<"$encoders"; then
    video=(-c:v libx264 -preset veryslow -profile:v baseline -pix_fmt yuv420p -b:v 60k -x264-params threads=1)
else
    video=(-c:v mpeg4 -q:v 12 -pix_fmt yuv420p)
fi

build tone-a.mp3 -f lavfi -i "sine=frequency=440:sample_rate=44100:duration=3" \
    -ac 1 -c:a libmp3lame -b:a 64k -id3v2_version 4 \
    -metadata title="第一首 静夜思" -metadata artist="朗诵者" -f mp3

build tone-b.m4a -f lavfi -i "sine=frequency=523.25:sample_rate=44100:duration=2" \
    -ac 1 -c:a aac -b:a 48k -metadata title="第二首" -movflags +faststart -f ipod

build tone-c.ogg -f lavfi -i "sine=frequency=659.25:sample_rate=44100:duration=2" \
    -ac 1 -c:a libvorbis -q:a 0 -f ogg

build tone-d.flac -f lavfi -i "sine=frequency=392:sample_rate=8000:duration=1" \
    -ac 1 -c:a flac -compression_level 12 -f flac

build lecture-1.mp4 -f lavfi -i "testsrc=size=160x120:rate=10:duration=3" \
    -f lavfi -i "sine=frequency=440:sample_rate=22050:duration=3" \
    "${video[@]}" -c:a aac -ac 1 -b:a 24k -shortest -movflags +faststart -f mp4

build lecture-2.mp4 -f lavfi -i "testsrc=size=160x120:rate=10:duration=2" \
    -f lavfi -i "sine=frequency=330:sample_rate=22050:duration=2" \
    "${video[@]}" -c:a aac -ac 1 -b:a 24k -shortest -f mp4

build lecture-3-fragmented.mp4 -f lavfi -i "testsrc=size=160x120:rate=10:duration=2" \
    -f lavfi -i "sine=frequency=550:sample_rate=22050:duration=2" \
    "${video[@]}" -g 10 -c:a aac -ac 1 -b:a 24k -shortest \
    -movflags +frag_keyframe+empty_moov+default_base_moof -f mp4

ls -l tone-a.mp3 tone-b.m4a tone-c.ogg tone-d.flac lecture-1.mp4 lecture-2.mp4 \
    lecture-3-fragmented.mp4
