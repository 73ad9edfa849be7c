"""Provenance checks: is this exact file archived, and which archived clips share its footage?

A queried file is hashed and fingerprinted in a scratch folder (`ingest/scratch.py`: held while
the query runs, removed at the next start if its process died) and then deleted; all that is kept
of the query is an audit event (and, on an exact match, a custody event on that clip).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from ingest.match import Match
from ingest.near_duplicates import NearDuplicateFinder, relations_of
from ingest.pipeline import analyse_query
from ingest.scratch import scratch_folder
from storage.archive import Archive
from storage.chain import canonical_json
from storage.custody import append_event
from storage.models import AuditEvent, Clip
from verity.errors import MediaFailed, TooManyRequests, UnsupportedMedia, UploadTooLarge

# Whether the caller may see a clip (storage/access.py); the CLI's own archive sees every one.
Sees = Callable[[str], bool]


def _sees_all(_clip_id: str) -> bool:
    return True


# What a caller refused for having too many analyses running is told to wait, in seconds.
RETRY_AFTER_S = 5


class AnalysisSlots:
    """How many provenance queries with a file each key has running in this process, bounded per
    key: each analyses a whole file, and a viewer may start them."""

    def __init__(self, per_key: int) -> None:
        self.per_key = per_key
        self._running: dict[str, int] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def hold(self, key_name: str) -> Iterator[None]:
        """One slot of `key_name`'s for the block, or `TooManyRequests` at once if it has none free."""
        with self._lock:
            running = self._running.get(key_name, 0)
            if running >= self.per_key:
                raise TooManyRequests(
                    f"this key already has {running} provenance queries with a file running (the limit is "
                    f"{self.per_key}); ask again when one has finished",
                    RETRY_AFTER_S,
                )
            self._running[key_name] = running + 1
        try:
            yield
        finally:
            with self._lock:
                self._running[key_name] -= 1
                if not self._running[key_name]:
                    del self._running[key_name]


@dataclass(frozen=True)
class QueryFile:
    path: Path
    sha256: str
    size: int
    filename: str
    # Holds the scratch folder the file is in until `discard_query` (shared by copies of this).
    scratch: contextlib.ExitStack = field(default_factory=contextlib.ExitStack, compare=False, repr=False)


@dataclass
class Verification:
    sha256: str
    exact_clip_id: str | None
    near_duplicates: list[Match] = field(default_factory=list)
    not_analysed: str | None = None  # why the file's footage could not be compared, if it could not


def spool_query(chunks: Iterable[bytes], workdir: Path, *, filename: str, max_bytes: int) -> QueryFile:
    """Write a queried file to a scratch folder under `workdir`, hashing it on the way; the folder
    stays held until `discard_query`."""
    scratch = contextlib.ExitStack()
    path = scratch.enter_context(scratch_folder(workdir, "verify-")) / "query"
    digest, size = hashlib.sha256(), 0
    try:
        with path.open("wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise UploadTooLarge(f"the file is larger than the limit of {max_bytes} bytes")
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        scratch.close()
        raise
    return QueryFile(path, digest.hexdigest(), size, filename, scratch)


def discard_query(query: QueryFile) -> None:
    """Delete the queried file and its scratch folder."""
    query.scratch.close()


def _find_exact(archive: Archive, sha256: str) -> str | None:
    with archive.sessions() as session:
        return session.scalar(select(Clip.id).where(Clip.sha256 == sha256))


def _record(archive: Archive, actor: str, action: str, result: Verification, extra: dict[str, object]) -> None:
    with archive.sessions.begin() as session:
        details = {
            "sha256": result.sha256,
            "exact_clip_id": result.exact_clip_id,
            "near_duplicates": [m.clip_id for m in result.near_duplicates],
            **extra,
        }
        session.add(AuditEvent(actor=actor, action=action, details=canonical_json(details)))
        if result.exact_clip_id:
            append_event(session, result.exact_clip_id, "provenance_checked", actor, {"by": action})


def verify_sha256(archive: Archive, sha256: str, actor: str, sees: Sees = _sees_all) -> Verification:
    """By hash alone: the exact clip, and the copies found of it when it was ingested. An exact clip
    the caller may not see is looked no further into, as for a hash the archive does not hold (the
    audit still records it)."""
    sha256 = sha256.lower()
    result = Verification(sha256, _find_exact(archive, sha256))
    if result.exact_clip_id and sees(result.exact_clip_id):
        with archive.sessions() as session:
            result.near_duplicates = relations_of(session, result.exact_clip_id)
    _record(archive, actor, "verify_sha256", result, {})
    return result


def verify_file(
    archive: Archive, finder: NearDuplicateFinder, query: QueryFile, actor: str, sees: Sees = _sees_all
) -> Verification:
    """By file: the exact clip if these bytes are archived, and every clip sharing footage with it.
    An exact clip the caller may not see is not used: the file is analysed and matched as one the
    archive does not hold would be, so the answer cannot tell the two apart."""
    result = Verification(query.sha256, _find_exact(archive, query.sha256))
    if result.exact_clip_id and sees(result.exact_clip_id):
        with archive.sessions() as session:
            result.near_duplicates = relations_of(session, result.exact_clip_id)
    else:
        settings = archive.settings
        try:
            analysed = analyse_query(query.path, settings, query.path.parent / "decode")
        except (UnsupportedMedia, MediaFailed) as exc:
            result.not_analysed = exc.detail
        else:
            result.near_duplicates = finder.find(
                analysed.print_,
                analysed.mirrored,
                sample_step_s=1 / settings.sample_fps,
                audio=analysed.sound,
                turned=analysed.turned,
                insets=analysed.insets,
            )
    _record(archive, actor, "verify_file", result, {"size_bytes": query.size, "filename": query.filename})
    return result
