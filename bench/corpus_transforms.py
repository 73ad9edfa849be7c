"""The matching benchmark's own transforms (issue 13 item 1), beside make-corpus.sh's nine.

`make-corpus.sh` (in ../shared, read-only) makes the sources and the first nine copies; the copies
below are made here from the same src-a, so the project holds every transform it is measured on.
Each writes `copies/src-a.<name>.mp4` and its rows of `truth-extra.csv`:

    copy,source,query_start_s,source_start_s,duration_s,rate

one row per stretch of src-a in the copy (a compilation has several), where query time t maps to
source time `source_start_s + (t - query_start_s) * rate` (rate 1.1: the copy plays 10 % fast).
The "other" footage (picture-in-picture backgrounds, the compilation's other shots) is generated
here and is in no index: matching it to anything is a false match.
"""

from __future__ import annotations

import csv
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ENCODE = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-g", "60", "-an"]
TRUTH_FILE = "truth-extra.csv"
WIDTH, HEIGHT = 1280, 720
VERTICAL_W = HEIGHT * 9 // 16  # 405: a 9:16 window of 16:9 footage, full height


class TransformError(Exception):
    pass


@dataclass(frozen=True)
class Stretch:
    query_start_s: float
    source_start_s: float
    duration_s: float
    rate: float = 1.0


@dataclass(frozen=True)
class Transform:
    name: str
    group: str  # the heading it answers
    # (source path, seconds) -> ffmpeg arguments between `-y` and the output path
    arguments: Callable[[Path, int], list[str]]
    # seconds -> where src-a is in the copy
    stretches: Callable[[int], list[Stretch]]


def _whole(seconds: int) -> list[Stretch]:
    return [Stretch(0, 0, seconds)]


def _filter(graph: str) -> Callable[[Path, int], list[str]]:
    return lambda source, _seconds: ["-i", str(source), "-vf", graph]


def _other(seconds: float, seed: int = 11) -> str:
    """Moving footage that shares nothing with the corpus (rule-30 cellular automaton, tinted)."""
    return (
        f"cellauto=size=320x180:rate=30:rule=30:seed={seed},scale={WIDTH}:{HEIGHT}:flags=neighbor,"
        f"format=yuv420p,hue=H=2*t:s=3,trim=duration={seconds},setpts=PTS-STARTPTS"
    )


def _picture_in_picture(fraction_of_area: float, where: str) -> Callable[[Path, int], list[str]]:
    def arguments(source: Path, seconds: int) -> list[str]:
        scale = fraction_of_area**0.5
        w, h = round(WIDTH * scale / 2) * 2, round(HEIGHT * scale / 2) * 2
        x, y = {"corner": (WIDTH - w - 24, 24), "centre": ((WIDTH - w) // 2, (HEIGHT - h) // 2)}[where]
        graph = f"{_other(seconds)}[bg];[0:v]scale={w}:{h}[fg];[bg][fg]overlay={x}:{y}:shortest=1[v]"
        return ["-i", str(source), "-filter_complex", graph, "-map", "[v]"]

    return arguments


def _screen(inset: int) -> str:
    """Footage shown on a screen and filmed again: a keystone (the screen seen 5-15 degrees off
    axis, `inset` px nearer on the far side), a fine grating multiplied in (moire), resampling
    blur, a brightness and contrast shift, and sensor noise."""
    near, far = f"{WIDTH - 8}", f"{inset}"
    corners = f"x0={far}:y0={inset // 2}:x1={near}:y1=4:x2={far}:y2={HEIGHT - inset // 2}:x3={near}:y3={HEIGHT - 4}"
    grating = (
        f"color=c=white:s={WIDTH}x{HEIGHT}:r=30,format=yuv420p,trim=end_frame=1,"
        "geq=lum='200+55*sin(2*PI*(X*0.995+Y*0.1)/3.3)':cb=128:cr=128,loop=loop=-1:size=1"
    )
    return (
        f"[0:v]perspective={corners}:sense=destination:interpolation=linear,format=yuv420p[screen];"
        f"{grating}[grating];"
        "[screen][grating]blend=c0_mode=multiply:c0_opacity=0.5:c1_mode=normal:c1_opacity=0:"
        "c2_mode=normal:c2_opacity=0:shortest=1,"
        "scale=960:540,scale=1280:720,eq=brightness=0.08:contrast=0.85:saturation=0.8,"
        "noise=alls=12:allf=t[v]"
    )


def _screen_arguments(inset: int) -> Callable[[Path, int], list[str]]:
    return lambda source, _seconds: ["-i", str(source), "-filter_complex", _screen(inset), "-map", "[v]"]


def _captions(font: str | None) -> str:
    """A caption band (20 % of the frame) and a sticker (10 %): 30 % covered."""
    band = "drawbox=x=0:y=ih*0.8:w=iw:h=ih*0.2:color=black@0.85:t=fill"
    sticker = "drawbox=x=iw*0.04:y=ih*0.06:w=iw*0.25:h=ih*0.4:color=yellow@0.95:t=fill"
    graph = f"{band},{sticker}"
    if font:
        graph += (
            f",drawtext=fontfile={font}:text='WITNESS FOOTAGE %{{eif\\:t\\:d}}':x=40:y=h*0.85:"
            "fontsize=56:fontcolor=white"
        )
    return graph


def _compilation_pieces(seconds: int) -> list[tuple[str, float, float]]:
    """("a" or "other", start in that footage, length): a cut every 2-3 s, src-a out of order."""
    lengths = [2.0, 3.0, 2.5, 2.0, 3.0, 2.5, 2.0, 3.0]
    starts = [0.18, 0.65, 0.05, 0.4, 0.85, 0.25, 0.55, 0.72]  # fractions of the source, spread over its scenes
    pieces: list[tuple[str, float, float]] = []
    other_at = 0.0
    for number, (length, start) in enumerate(zip(lengths, starts, strict=True)):
        at = min(round(start * seconds, 1), seconds - length)
        pieces.append(("a", at, length))
        other_length = lengths[(number + 3) % len(lengths)]
        pieces.append(("other", other_at, other_length))
        other_at += other_length
    return pieces


def _compilation_arguments(source: Path, seconds: int) -> list[str]:
    pieces = _compilation_pieces(seconds)
    other_total = sum(length for kind, _s, length in pieces if kind == "other")
    parts, labels = [f"{_other(other_total + 1, seed=23)}[other]"], []
    others = [p for p in pieces if p[0] == "other"]
    parts.append(f"[other]split={len(others)}" + "".join(f"[o{k}]" for k in range(len(others))))
    shots = len(pieces) - len(others)
    parts.append(f"[0:v]split={shots}" + "".join(f"[s{k}]" for k in range(shots)))
    a_number = o_number = 0
    for number, (kind, start, length) in enumerate(pieces):
        stream = f"[s{a_number}]" if kind == "a" else f"[o{o_number}]"
        a_number, o_number = a_number + (kind == "a"), o_number + (kind == "other")
        parts.append(f"{stream}trim=start={start}:duration={length},setpts=PTS-STARTPTS,setsar=1[p{number}]")
        labels.append(f"[p{number}]")
    parts.append("".join(labels) + f"concat=n={len(labels)}:v=1:a=0[v]")
    return ["-i", str(source), "-filter_complex", ";".join(parts), "-map", "[v]"]


def _compilation_stretches(seconds: int) -> list[Stretch]:
    out, at = [], 0.0
    for kind, start, length in _compilation_pieces(seconds):
        if kind == "a":
            out.append(Stretch(round(at, 3), start, length))
        at += length
    return out


def _speed(rate: float) -> Transform:
    percent = round((rate - 1) * 100)
    return Transform(
        f"speed{percent:+d}",
        "speed, frame rate, rotation",
        lambda source, _seconds: ["-i", str(source), "-vf", f"setpts=PTS/{rate},fps=30"],
        lambda seconds: [Stretch(0, 0, round(seconds / rate, 3), rate)],
    )


def transforms(font: str | None) -> list[Transform]:
    pan = f"crop={VERTICAL_W}:{HEIGHT}:'(iw-ow)*min(t/{{seconds}},1)':0,scale=720:1280"
    return [
        Transform("vertical-centre", "9:16 crop", _filter(f"crop={VERTICAL_W}:{HEIGHT},scale=720:1280"), _whole),
        Transform(
            "vertical-left", "9:16 crop", _filter(f"crop={VERTICAL_W}:{HEIGHT}:{WIDTH // 10}:0,scale=720:1280"), _whole
        ),
        Transform(
            "vertical-pan",
            "9:16 crop",
            lambda source, seconds: ["-i", str(source), "-vf", pan.format(seconds=seconds)],
            _whole,
        ),
        Transform("pip-corner25", "picture-in-picture", _picture_in_picture(0.25, "corner"), _whole),
        Transform("pip-centre50", "picture-in-picture", _picture_in_picture(0.5, "centre"), _whole),
        Transform("screen-5deg", "screen re-recording", _screen_arguments(40), _whole),
        Transform("screen-15deg", "screen re-recording", _screen_arguments(120), _whole),
        Transform("captions30", "captions and stickers", _filter(_captions(font)), _whole),
        _speed(1.1),
        _speed(0.9),
        Transform("fps24", "speed, frame rate, rotation", _filter("fps=24"), _whole),
        Transform("fps60", "speed, frame rate, rotation", _filter("fps=60"), _whole),
        Transform("rotate90", "speed, frame rate, rotation", _filter("transpose=clock"), _whole),
        Transform("rotate270", "speed, frame rate, rotation", _filter("transpose=cclock"), _whole),
        Transform("compilation-cuts", "compilation", _compilation_arguments, _compilation_stretches),
    ]


def _font() -> str | None:
    found = subprocess.run(
        ["fc-match", "-f", "%{file}", "DejaVu Sans:bold"], capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    return found.stdout.strip() or None if found.returncode == 0 else None


def build(directory: Path, seconds: int, log: Callable[[str], None]) -> None:
    """Make every missing copy (existing ones are kept, as make-corpus.sh does) and truth-extra.csv."""
    source = directory / "sources" / "src-a.mp4"
    rows = []
    for transform in transforms(_font()):
        name = f"src-a.{transform.name}.mp4"
        output = directory / "copies" / name
        if not output.exists() or output.stat().st_size == 0:
            log(f"corpus: making {name}")
            partial = output.with_suffix(".partial.mp4")
            command = [
                "ffmpeg", "-v", "error", "-nostdin", "-y",
                *transform.arguments(source, seconds), *ENCODE, str(partial),
            ]  # fmt: skip
            made = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
            if made.returncode != 0:
                partial.unlink(missing_ok=True)
                raise TransformError(f"ffmpeg could not make {name}: {made.stderr.strip()[-1500:]}")
            partial.rename(output)
        for stretch in transform.stretches(seconds):
            rows.append(
                [name, "src-a.mp4", stretch.query_start_s, stretch.source_start_s, stretch.duration_s, stretch.rate]
            )
    with (directory / TRUTH_FILE).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["copy", "source", "query_start_s", "source_start_s", "duration_s", "rate"])
        writer.writerows(rows)


def groups() -> dict[str, str]:
    """Transform name -> the issue's heading it answers."""
    return {t.name: t.group for t in transforms(None)}
