"""Sending an original's bytes: whole or one range, hashed as they stream (a whole download that
is not the original's bytes is cut off and recorded as a fixity failure), each send a custody
event. For a download (`/original`, an attachment) and for playback in the workbench's player
(`/playback`, inline, only of a video a browser plays, as the type its container is), where a
person's playback of a clip is recorded once in `PLAYBACK_WINDOW_S`, whatever range it asks for
first: a player asks for many ranges as it seeks, and a log of each would bury the events that
matter, while recording only the request from byte 0 would let every other byte out unrecorded."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import OrderedDict
from pathlib import PurePosixPath
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import StreamingResponse

from api.ranges import not_modified, requested_range
from api.sources import hidden_of
from ingest.export_records import original_name
from ingest.fixity import Original, checked_original
from storage.access import Scope
from storage.archive import Archive
from storage.clips import record_download
from storage.models import Clip

PLAYBACK_WINDOW_S = 600.0
_REMEMBERED = 10_000  # (person, clip) playbacks kept in mind; the oldest forgotten first


class RecentPlaybacks:
    """The playbacks recorded in the last `window_s`, per (actor, clip), in this process (a second
    process records its own: more events, never fewer)."""

    def __init__(self, window_s: float = PLAYBACK_WINDOW_S) -> None:
        self.window_s = window_s
        self._recorded: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def first_in_window(self, actor: str, clip_id: str) -> bool:
        """Whether this playback is the first of `actor` on the clip in the window (then it is
        remembered as recorded)."""
        now, key = time.monotonic(), (actor, clip_id)
        with self._lock:
            last = self._recorded.get(key)
            if last is not None and now - last < self.window_s:
                return False
            self._recorded[key] = now
            self._recorded.move_to_end(key)
            while len(self._recorded) > _REMEMBERED:
                self._recorded.popitem(last=False)
            return True


def playable_type(clip: Clip) -> str:
    """The media type a browser plays the original as: from its probed container (never the
    type the uploader declared)."""
    container = json.loads(clip.media or "{}").get("container") or ""
    return "video/webm" if "webm" in container or "matroska" in container else "video/mp4"


def original_response(
    request: Request,
    archive: Archive,
    clip: Clip,
    actor: str,
    scope: Scope,
    *,
    playback: bool = False,
    record: bool = True,
) -> Response:
    # A file name handed into a case the caller may not see is not told: the bytes' hash names it.
    filename = hidden_of(clip, scope).filename(clip.filename)
    if filename != clip.filename:
        filename = PurePosixPath(original_name(clip)).name
    etag = f'"{clip.sha256}"'
    headers = {
        "ETag": etag,
        "Repr-Digest": f"sha-256=:{base64.b64encode(bytes.fromhex(clip.sha256)).decode()}:",
        "Accept-Ranges": "bytes",
        "Content-Disposition": f"{'inline' if playback else 'attachment'}; filename*=UTF-8''{quote(filename)}",
    }
    if not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    byte_range = requested_range(request, clip.size_bytes, etag)
    start, end = byte_range or (0, clip.size_bytes - 1)
    original = Original(clip.id, clip.blob_key, clip.sha256, clip.size_bytes)
    body = checked_original(archive, original, start, end, actor)
    if record:
        sent = (start, end) if byte_range else None
        record_download(archive.sessions, clip.id, actor, sent, end - start + 1, playback=playback)
    headers["Content-Length"] = str(end - start + 1)
    if byte_range:
        headers["Content-Range"] = f"bytes {start}-{end}/{clip.size_bytes}"
    return StreamingResponse(
        body,
        status_code=206 if byte_range else 200,
        headers=headers,
        media_type=playable_type(clip) if playback else clip.content_type or "application/octet-stream",
    )
