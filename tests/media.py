"""Small clips made with ffmpeg for the tests (2–5 s, 320×240 unless a case needs otherwise)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.helpers.rotation import set_rotation


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True, timeout=120)


def scenes_source(seconds: int = 3, size: str = "320x240", rate: int = 30) -> list[str]:
    """A lavfi input with a hard cut half-way: test pattern, then a moving gradient."""
    half = seconds / 2
    return [
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={size}:rate={rate}:duration={half}[a];"
        f"mandelbrot=size={size}:rate={rate},trim=duration={seconds - half}[b];[a][b]concat",
    ]


def make_h264_aac(path: Path, seconds: int = 4) -> Path:
    ffmpeg(
        *scenes_source(seconds),
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency=440:duration={seconds}",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-shortest",
        str(path),
    )
    return path


def make_hevc_mov(path: Path) -> Path:
    ffmpeg(
        *scenes_source(3),
        "-c:v",
        "libx265",
        "-preset",
        "ultrafast",
        "-x265-params",
        "log-level=error",
        "-pix_fmt",
        "yuv420p",
        "-tag:v",
        "hvc1",
        str(path),
    )
    return path


def make_vp9_webm(path: Path, pixel_format: str | None = None) -> Path:
    """VP9/Opus WebM; in the pixel format libvpx picks for the RGB test pattern (gbrp) unless told."""
    ffmpeg(
        *scenes_source(3),
        "-f",
        "lavfi",
        "-i",
        "sine=duration=3",
        *(["-pix_fmt", pixel_format] if pixel_format else []),
        "-c:v",
        "libvpx-vp9",
        "-deadline",
        "realtime",
        "-cpu-used",
        "8",
        "-b:v",
        "300k",
        "-c:a",
        "libopus",
        "-shortest",
        str(path),
    )
    return path


def make_rotated_phone_clip(path: Path) -> Path:
    """Stored landscape 320×240 with a display matrix saying: turn 90° to show it upright."""
    ffmpeg(*scenes_source(3), "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(path))
    set_rotation(path, 90)
    return path


def make_tagged_clip(path: Path) -> Path:
    """A QuickTime file with GPS, make/model/software and a creation time, as phones write them."""
    ffmpeg(
        *scenes_source(3),
        "-f",
        "lavfi",
        "-i",
        "sine=duration=3",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-shortest",
        "-metadata",
        "com.apple.quicktime.location.ISO6709=+35.7006+051.3347+1190.000/",
        "-metadata",
        "com.apple.quicktime.make=Apple",
        "-metadata",
        "com.apple.quicktime.model=iPhone 8",
        "-metadata",
        "com.apple.quicktime.software=13.1.3",
        "-metadata",
        "creation_time=2019-11-16T14:15:00Z",
        "-movflags",
        "+use_metadata_tags",
        str(path),
    )
    return path


def make_vfr_clip(path: Path) -> Path:
    """Variable frame rate: 30 fps for 1.5 s, then 10 fps, as phones write under load."""
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=30:duration=3",
        "-vf",
        "select='lt(t\\,1.5)+not(mod(n\\,3))'",
        "-fps_mode",
        "vfr",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-pix_fmt",
        "yuv420p",
        str(path),
    )
    return path


def make_silent_clip(path: Path, seconds: int = 3) -> Path:
    ffmpeg(*scenes_source(seconds), "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(path))
    return path


def make_audio_only(path: Path) -> Path:
    ffmpeg("-f", "lavfi", "-i", "sine=duration=2", "-c:a", "aac", str(path))
    return path


def make_still_image(path: Path) -> Path:
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240", "-frames:v", "1", "-f", "image2", "-c:v", "png", str(path))
    return path


def make_truncated(path: Path, source: Path) -> Path:
    data = source.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def make_undecodable(path: Path) -> Path:
    """A valid MP4 (index first) whose coded video has been zeroed: nothing in it decodes."""
    ffmpeg(
        *scenes_source(2),
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-pix_fmt",
        "yuv420p",
        "-movflags",
        "+faststart",
        str(path),
    )
    data = bytearray(path.read_bytes())
    start = data.index(b"mdat") + 4
    data[start:] = bytes(len(data) - start)
    path.write_bytes(bytes(data))
    return path


def make_hls_playlist(path: Path) -> Path:
    """A playlist that would make a naive ffmpeg read local secrets and fetch a URL."""
    path.write_text(
        "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n"
        "#EXTINF:10,\nhttp://127.0.0.1:9/evil.ts\n#EXT-X-ENDLIST\n"
    )
    return path


def make_concat_list(path: Path) -> Path:
    path.write_text("ffconcat version 1.0\nfile '/etc/passwd'\nfile 'http://127.0.0.1:9/x.mp4'\n")
    return path


def make_source(path: Path, seconds: int = 12) -> Path:
    """An 'original' 640×360 clip with three different moving scenes."""
    third = seconds // 3
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"mandelbrot=size=640x360:rate=30:start_scale=2,trim=duration={third},setpts=PTS-STARTPTS[a];"
        f"life=size=160x90:rate=30:mold=10:ratio=0.4:seed=7:life_color=#e0c040,scale=640:360:flags=neighbor,"
        f"trim=duration={third},setpts=PTS-STARTPTS[b];"
        f"testsrc2=size=640x360:rate=30,hue=H=t/3,trim=duration={seconds - 2 * third},setpts=PTS-STARTPTS[c];"
        "[a][b][c]concat=n=3",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-pix_fmt",
        "yuv420p",
        str(path),
    )
    return path


def make_large_source(path: Path, seconds: int = 12) -> Path:
    """`make_source`'s footage, losslessly encoded: over 20 MB for 12 s, so an upload of it takes
    several 8 MiB chunks (one can be cut off and resumed)."""
    draft = make_source(path.with_name(f"draft-{path.name}"), seconds)
    ffmpeg("-i", str(draft), "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p", str(path))
    draft.unlink()
    return path


def make_copy(path: Path, source: Path, *args: str) -> Path:
    """A transformed copy of `source`: ffmpeg input options/filters in `args`."""
    ffmpeg(
        *args[: args.index("-i")],
        "-i",
        str(source),
        *args[args.index("-i") + 1 :],
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-pix_fmt",
        "yuv420p",
        "-an",
        str(path),
    )
    return path


def make_unrelated(path: Path, source: str, seconds: int = 10) -> Path:
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"{source},trim=duration={seconds}",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-pix_fmt",
        "yuv420p",
        str(path),
    )
    return path


# Encoders that each container takes; 4 s at 30 fps, index at the front for MP4.
CONTAINER_CODECS = {
    "mp4": ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-movflags", "+faststart"],
    "mkv": ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"],
    "webm": ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k"],
    "avi": ["-c:v", "mpeg4", "-q:v", "5"],
    "ts": ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"],
}


def make_in_container(path: Path, container: str) -> Path:
    """A 4-s test pattern (120 frames) in `container` (a key of CONTAINER_CODECS)."""
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=4", *CONTAINER_CODECS[container], str(path))
    return path


def make_zoneless_clip(path: Path, when: str = "2012-09-10T20:52:00") -> Path:
    """An AVI whose recorded time is a camera's local clock reading, with no zone (as camcorders write)."""
    ffmpeg(*scenes_source(2), "-c:v", "mpeg4", "-q:v", "5", "-metadata", f"date={when}", str(path))
    return path


def make_clip_recorded_at(path: Path, when: str) -> Path:
    """A QuickTime file whose creation-time tag is `when`, written verbatim."""
    ffmpeg(
        *scenes_source(2),
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-pix_fmt",
        "yuv420p",
        "-movflags",
        "+use_metadata_tags",
        "-metadata",
        f"creation_time={when}",
        str(path),
    )
    return path


def _ebml_size(value: int) -> bytes:
    return bytes([0x01]) + value.to_bytes(7, "big")  # always the 8-byte form


def _ebml(element_id: int, payload: bytes) -> bytes:
    return element_id.to_bytes((element_id.bit_length() + 7) // 8, "big") + _ebml_size(len(payload)) + payload


def _read_vint(data: bytes, at: int, keep_marker: bool) -> tuple[int, int]:
    length = 8 - data[at].bit_length() + 1
    value = int.from_bytes(data[at : at + length], "big")
    return (value if keep_marker else value & ((1 << (7 * length)) - 1)), at + length


def make_many_tags(path: Path, source_mkv: Path, count: int) -> Path:
    """`source_mkv` (as ffmpeg writes Matroska) with `count` global tags before its first cluster,
    written directly (ffmpeg itself takes minutes to write 100,000 tags). Its seek index is blanked
    so nothing points past the insertion."""
    data = bytearray(source_mkv.read_bytes())
    _id, at = _read_vint(data, 0, True)
    size, at = _read_vint(data, at, False)
    at += size  # past the EBML header
    segment_id, size_at = _read_vint(data, at, True)
    assert segment_id == 0x18538067
    segment_size, at = _read_vint(data, size_at, False)
    assert at - size_at == 8, "expects the 8-byte segment size ffmpeg writes"
    while True:
        element_id, after_id = _read_vint(data, at, True)
        size, payload_at = _read_vint(data, after_id, False)
        if element_id == 0x114D9B74:  # SeekHead → Void of the same length
            total = payload_at + size - at
            data[at : payload_at + size] = bytes([0xEC]) + _ebml_size(total - 9) + bytes(total - 9)
        if element_id == 0x1F43B675:  # the first Cluster
            break
        at = payload_at + size
    simple_tags = b"".join(
        _ebml(0x67C8, _ebml(0x45A3, f"TAG{i}".encode()) + _ebml(0x4487, f"v{i}".encode())) for i in range(count)
    )
    tags = _ebml(0x1254C367, _ebml(0x7373, _ebml(0x63C0, b"") + simple_tags))
    data[at:at] = tags
    data[size_at : size_at + 8] = _ebml_size(segment_size + len(tags))
    path.write_bytes(bytes(data))
    return path


def make_interlaced_ts(path: Path) -> Path:
    """Broadcast-style footage: MPEG-2, 720×576 interlaced (25 frames of two fields, top first,
    from 50 moving pictures a second, so the fields differ) with MP2 audio, in an MPEG-TS."""
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=720x576:rate=50:duration=3",
        "-f",
        "lavfi",
        "-i",
        "sine=duration=3",
        "-vf",
        "tinterlace=mode=interleave_top,setfield=tff",
        "-c:v",
        "mpeg2video",
        "-flags",
        "+ilme+ildct",
        "-top",
        "1",
        "-b:v",
        "4M",
        "-c:a",
        "mp2",
        "-f",
        "mpegts",
        str(path),
    )
    return path


def make_interlaced_hd_ts(path: Path) -> Path:
    """Television-style HD: H.264 1920×1080 interlaced, top field first (from 50 moving pictures a
    second), with AC-3 audio, in an MPEG-TS, as broadcasts and AVCHD camcorders record it."""
    ffmpeg(
        *("-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=50:duration=2"),
        *("-f", "lavfi", "-i", "sine=duration=2"),
        *("-vf", "tinterlace=mode=interleave_top,setfield=tff", "-c:v", "libx264", "-preset", "ultrafast"),
        *("-flags", "+ilme+ildct", "-x264-params", "tff=1", "-pix_fmt", "yuv420p", "-c:a", "ac3"),
        *("-f", "mpegts", str(path)),
    )
    return path


def make_10bit_mp4(path: Path) -> Path:
    """H.264 High 10 (yuv420p10le) in MP4: MP4 and H.264, but not what browsers decode."""
    ffmpeg(*scenes_source(2), "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p10le", str(path))
    return path


def make_remuxed(path: Path, source: Path) -> Path:
    """`source`'s streams as they are, in the container `path`'s name says."""
    ffmpeg("-i", str(source), "-c", "copy", str(path))
    return path


SPEECH = (
    "Protesters gathered in the square on Tuesday morning, and the police arrived shortly after nine "
    "o'clock. Several people were seen running towards the river while others stayed near the fountain.",
    "The weather forecast says rain tomorrow afternoon, followed by a cold and windy evening near the coast. "
    "Farmers in the valley expect a late harvest, and the markets open an hour earlier on Saturday.",
    "Trains to the north are delayed by forty minutes because of works on the bridge. Passengers for the "
    "airport should change at the central station and take the blue line instead.",
    "In the second half the visitors scored twice within five minutes, and the crowd went quiet. The coach "
    "said afterwards that his team had simply stopped running.",
)


def make_soundtrack(path: Path, seed: int, seconds: int = 20) -> Path:
    """A WAV of `seconds` that sounds like no other seed's: espeak-ng speech (SPEECH[seed % 4]),
    over tones at pseudo-random pitches that change about twice a second, and bursts of noise at
    pseudo-random times, all from `seed`."""
    speech = path.with_name(f"speech-{path.stem}.wav")
    subprocess.run(
        ["espeak-ng", "-s", str(150 + 7 * seed), "-p", str(30 + 5 * seed), "-w", str(speech), SPEECH[seed % 4]],
        check=True,
        timeout=60,
    )
    pitch = f"mod(abs(sin(floor(t*2.3)*12.9898+{seed}*78.233))*43758.5453,1)"
    burst = f"mod(abs(sin(floor(t*1.7)*39.3468+{seed}*11.135))*24634.6345,1)"
    ffmpeg(
        "-i",
        str(speech),
        "-f",
        "lavfi",
        "-i",
        f"aevalsrc='0.15*sin(2*PI*(250+900*{pitch})*t)':s=22050:d={seconds}",
        "-f",
        "lavfi",
        "-i",
        f"anoisesrc=seed={seed}:a=0.25:d={seconds}:r=22050,volume='gt({burst},0.7)':eval=frame",
        "-filter_complex",
        f"[0]aresample=22050,apad,atrim=duration={seconds}[s];[s][1][2]amix=inputs=3:normalize=0",
        "-ac",
        "1",
        str(path),
    )
    speech.unlink()
    return path


def make_with_sound(path: Path, picture: str, sound: Path | str, *, start_s: float = 0, seconds: int = 10) -> Path:
    """`seconds` of a lavfi `picture` at 320×240 over the sound from `start_s` of `sound` (a file,
    or a lavfi source such as "anullsrc"), encoded as H.264 and 64 kbit/s AAC: one clip's sound
    laid under another clip's pictures, as a repost with its picture replaced would be."""
    source = ["-f", "lavfi", "-i", str(sound)] if isinstance(sound, str) else ["-ss", str(start_s), "-i", str(sound)]
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"{picture},scale=320:240,trim=duration={seconds}",
        *source,
        "-t",
        str(seconds),
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-b:a",
        "64k",
        "-shortest",
        str(path),
    )
    return path
