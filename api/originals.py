"""Sending an original's bytes: whole or one range, hashed as they stream (a whole download that
is not the original's bytes is cut off and recorded as a fixity failure), each send a custody
event. For a download (`/original`, an attachment) and for playback in the workbench's player
(`/playback`, inline), where only the request from byte 0 is recorded: a player asks for many
ranges as it seeks, and a log of each would bury the events that matter."""

from __future__ import annotations

import base64
from pathlib import PurePosixPath
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import StreamingResponse

from api.ranges import parse_range
from api.sources import hidden_of
from ingest.export_records import original_name
from ingest.fixity import Original, checked_original
from storage.access import Scope
from storage.archive import Archive
from storage.clips import record_download
from storage.models import Clip


def original_response(
    request: Request, archive: Archive, clip: Clip, actor: str, scope: Scope, *, playback: bool = False
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
    if etag in [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    byte_range = parse_range(request.headers.get("range"), clip.size_bytes)
    if request.headers.get("if-range") not in (None, etag):
        byte_range = None
    start, end = byte_range or (0, clip.size_bytes - 1)
    original = Original(clip.id, clip.blob_key, clip.sha256, clip.size_bytes)
    body = checked_original(archive, original, start, end, actor)
    if not playback or start == 0:
        sent = (start, end) if byte_range else None
        record_download(archive.sessions, clip.id, actor, sent, end - start + 1, playback=playback)
    headers["Content-Length"] = str(end - start + 1)
    if byte_range:
        headers["Content-Range"] = f"bytes {start}-{end}/{clip.size_bytes}"
    return StreamingResponse(
        body,
        status_code=206 if byte_range else 200,
        headers=headers,
        media_type=clip.content_type or "application/octet-stream",
    )
