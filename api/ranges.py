"""HTTP `Range: bytes=...` for one range (RFC 9110 §14); several ranges are served whole."""

from __future__ import annotations

import re

from fastapi import Request

from verity.errors import RangeNotSatisfiable

_SINGLE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (start, end) asked for, or None to send the whole object."""
    if not header:
        return None
    match = _SINGLE.match(header)
    if not match or (not match.group(1) and not match.group(2)):
        return None  # unparseable or multi-range: a server may ignore Range and send 200
    first, last = match.group(1), match.group(2)
    if first:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
        if last and int(last) < start:
            return None
    else:
        suffix = int(last)
        if suffix == 0:
            raise RangeNotSatisfiable("an empty suffix range selects nothing", size)
        start, end = max(size - suffix, 0), size - 1
    if start >= size:
        raise RangeNotSatisfiable(f"range starts at {start}, the object has {size} bytes", size)
    return start, end


def not_modified(request: Request, etag: str) -> bool:
    """The client's copy (`If-None-Match`) is the one tagged `etag`."""
    return etag in [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]


def requested_range(request: Request, size: int, etag: str) -> tuple[int, int] | None:
    """The request's `Range` over an object of `size` bytes tagged `etag`; None (send it whole)
    when there is none, or `If-Range` names another version."""
    byte_range = parse_range(request.headers.get("range"), size)
    return None if request.headers.get("if-range") not in (None, etag) else byte_range
