"""The tus 1.0 resumable upload protocol's version and header formats
(https://tus.io/protocols/resumable-upload), without the web framework: the server's uploads
routes (api/tus.py, api/routes/uploads.py) and the CLI's uploader (api/cli.py) both speak them,
and the CLI starts faster for not importing FastAPI."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from verity.errors import InvalidInput

TUS_VERSION = "1.0.0"
# Only what is implemented: no creation-with-upload, no deferred length, no concatenation.
TUS_EXTENSIONS = ("creation", "termination", "expiration", "checksum")
CHECKSUM_ALGORITHMS = ("sha256",)
OFFSET_OCTET_STREAM = "application/offset+octet-stream"
# Upload-Metadata keys and the UploadCreate field each one fills (tus-js-client sends `filename`
# and `filetype`; `content_type` is the JSON body's name for the latter).
METADATA_FIELDS = {
    "filename": "filename",
    "filetype": "content_type",
    "content_type": "content_type",
    "source": "source",
    "source_url": "source_url",
    "captured_at": "captured_at",
    "note": "note",
    "case_id": "case_id",
    "sha256": "sha256",
}
# The longest Upload-Metadata header taken: every field at its limit fits (api/schemas.py),
# base64 adding a third.
METADATA_MAX_CHARS = 64 * 1024


def parse_metadata(header: str | None) -> dict[str, Any]:
    """`Upload-Metadata` (`key base64,key base64`, a key alone for an empty value) as the
    UploadCreate fields it names. An unknown or repeated key, or a value that is not base64 of
    UTF-8 text, is refused naming it."""
    if header is None or not header.strip():
        return {}
    if len(header) > METADATA_MAX_CHARS:
        raise InvalidInput(f"Upload-Metadata is longer than {METADATA_MAX_CHARS} characters")
    fields: dict[str, Any] = {}
    seen: set[str] = set()
    for pair in header.split(","):
        key, _, encoded = pair.strip().partition(" ")
        if not key:
            raise InvalidInput("Upload-Metadata has an empty pair; send `key base64value` pairs separated by commas")
        if key not in METADATA_FIELDS:
            known = ", ".join(METADATA_FIELDS)
            raise InvalidInput(f"Upload-Metadata: unknown key {key[:80]!r} (the keys taken are {known})")
        if key in seen or (METADATA_FIELDS[key] in fields and METADATA_FIELDS[key] != key):
            raise InvalidInput(f"Upload-Metadata: {key!r} is given twice (filetype and content_type are one field)")
        seen.add(key)
        fields[METADATA_FIELDS[key]] = _decoded(key, encoded.strip())
    return fields


def _decoded(key: str, encoded: str) -> str:
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"Upload-Metadata: the value of {key!r} is not base64") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"Upload-Metadata: the value of {key!r} is not UTF-8 text once decoded") from None


def encode_metadata(values: Mapping[str, str | None]) -> str:
    """Upload-Metadata for `values` (keys as `METADATA_FIELDS` names them), leaving out the unset."""
    return ",".join(
        f"{key} {base64.b64encode(value.encode('utf-8')).decode('ascii')}"
        for key, value in values.items()
        if value is not None
    )


def parse_length(header: str | None, deferred: str | None) -> int:
    """`Upload-Length`, which tus creation requires here: deferring it is not supported."""
    if header is None:
        if deferred is not None:
            raise InvalidInput("Upload-Defer-Length is not supported: send Upload-Length, the file's exact size")
        raise InvalidInput("Upload-Length is required: the file's exact size in bytes")
    if not header.isdigit() or len(header) > 19:
        raise InvalidInput(f"Upload-Length must be a whole number of bytes, not {header[:40]!r}")
    return int(header)


def parse_checksum(header: str | None) -> bytes | None:
    """The digest `Upload-Checksum: sha256 <base64>` declares for a chunk (None without one)."""
    if header is None:
        return None
    algorithm, _, encoded = header.strip().partition(" ")
    if algorithm.lower() not in CHECKSUM_ALGORITHMS:
        taken = ", ".join(CHECKSUM_ALGORITHMS)
        raise InvalidInput(f"Upload-Checksum: algorithm {algorithm[:40]!r} is not supported (only {taken})")
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("Upload-Checksum: the checksum is not base64") from None
    if len(digest) != 32:
        raise InvalidInput(f"Upload-Checksum: a SHA-256 digest is 32 bytes, not {len(digest)}")
    return digest


def http_date(moment: datetime) -> str:
    """A time as `Upload-Expires` gives it (RFC 7231's IMF-fixdate)."""
    return format_datetime(moment, usegmt=True)


def is_offset_stream(content_type: str | None) -> bool:
    return content_type is not None and content_type.split(";", 1)[0].strip().lower() == OFFSET_OCTET_STREAM
