"""Give an MP4/MOV file a display matrix, as phones write one for footage shot held upright:
ffmpeg 5.1's command line cannot (its `-display_rotation` came in 6.0), so the tests write the
matrix into the video track's header (ISO/IEC 14496-12 `tkhd`) themselves."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ONE_16_16 = 1 << 16
ONE_2_30 = 1 << 30
# cos and sin of the clockwise turn that shows the picture upright, by degrees.
TURNS = {0: (1, 0), 90: (0, 1), 180: (-1, 0), 270: (0, -1)}


@dataclass(frozen=True)
class Box:
    kind: bytes
    start: int  # of the box header
    body: int  # first byte after the header
    end: int


def _boxes(data: bytes | bytearray, start: int, end: int) -> Iterator[Box]:
    position = start
    while position + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, position)
        body = position + 8
        if size == 1:  # a 64-bit size follows the type
            (size,) = struct.unpack_from(">Q", data, body)
            body += 8
        elif size == 0:  # to the end of the enclosing box
            size = end - position
        if size < body - position or position + size > end:
            raise ValueError(f"malformed {kind!r} box at byte {position}")
        yield Box(kind, position, body, position + size)
        position += size


def _child(data: bytearray, parent: Box, kind: bytes) -> Box | None:
    return next((box for box in _boxes(data, parent.body, parent.end) if box.kind == kind), None)


def _is_video(data: bytearray, track: Box) -> bool:
    media = _child(data, track, b"mdia")
    handler = _child(data, media, b"hdlr") if media else None
    # hdlr: version and flags (4 bytes), pre_defined (4), then the handler type.
    return handler is not None and bytes(data[handler.body + 8 : handler.body + 12]) == b"vide"


def set_rotation(path: Path, degrees: int = 90) -> None:
    """Rewrite, in place, the display matrix of the first video track of `path` so that players
    turn the picture `degrees` clockwise to show it (0, 90, 180 or 270)."""
    cos, sin = TURNS[degrees]
    data = bytearray(path.read_bytes())
    movie = next((box for box in _boxes(data, 0, len(data)) if box.kind == b"moov"), None)
    if movie is None:
        raise ValueError(f"{path} has no moov box: not an MP4/MOV file")
    tracks = (box for box in _boxes(data, movie.body, movie.end) if box.kind == b"trak")
    track = next((box for box in tracks if _is_video(data, box)), None)
    header = _child(data, track, b"tkhd") if track else None
    if header is None:
        raise ValueError(f"{path} has no video track")
    version = data[header.body]
    # After version and flags: times, track id and duration (20 bytes, or 32 in version 1), then
    # reserved, layer, alternate group and volume (16): then the 3x3 matrix, width and height.
    matrix_at = header.body + 4 + (32 if version == 1 else 20) + 16
    width, height = (value / ONE_16_16 for value in struct.unpack_from(">II", data, matrix_at + 36))
    # The picture is turned about its origin, then moved back into view (as cameras write it).
    move_x = {0: 0, 90: height, 180: width, 270: 0}[degrees]
    move_y = {0: 0, 90: 0, 180: height, 270: width}[degrees]
    matrix = [cos, sin, 0, -sin, cos, 0, move_x, move_y, 1]
    fixed = [round(value * (ONE_2_30 if index % 3 == 2 else ONE_16_16)) for index, value in enumerate(matrix)]
    struct.pack_into(">9i", data, matrix_at, *fixed)
    path.write_bytes(bytes(data))
