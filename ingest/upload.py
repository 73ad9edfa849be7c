"""Receiving an original: stream → SHA-256 → object store in one pass, then the clip, its
acquisition and its custody event in one transaction.

The bytes go to a staging object while they are hashed (the only temporary copy); once the hash
is known the staging object becomes `originals/<sha256>`, or is dropped when those bytes are
already archived. Any failure leaves neither a staging object nor a database row behind; an
original placed but never recorded (its process died in between) is taken up by the next upload
of the same bytes, or removed by the sweep once a grace period has passed (`sweep_originals`).
An original is placed and recorded under a hold on its hash, which the sweep takes too, so it
never removes one that an upload is recording.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.archive import Archive
from storage.blobs import BlobStore, delete_untouched, staging_key
from storage.chain import timestamp
from storage.custody import append_event
from storage.holds import hold
from storage.models import Acquisition, Clip, utcnow
from storage.timestamps import mark_pending
from storage.vocabulary import ClipStatus
from verity.errors import BlobNotFound, EmptyUpload, UploadTooLarge

log = logging.getLogger("verity.ingest")


@dataclass(frozen=True)
class Receipt:
    """What the person handing in the file tells us about it."""

    received_by: str
    filename: str
    content_type: str | None = None
    source: str | None = None
    source_url: str | None = None
    captured_at: datetime | None = None
    note: str | None = None
    case_id: str | None = None  # the case it is handed into (None: archive-wide); the caller checks it may


@dataclass(frozen=True)
class StagedOriginal:
    key: str
    sha256: str
    size: int


@dataclass(frozen=True)
class UploadResult:
    clip: Clip
    duplicate: bool


def original_key(sha256: str) -> str:
    return f"originals/{sha256[:2]}/{sha256}"


class _Digest:
    """Hashes and counts chunks as they pass through, refusing to pass more than `limit` bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.hasher = hashlib.sha256()

    def through(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self.size += len(chunk)
            if self.size > self.limit:
                raise UploadTooLarge(f"the file is larger than the limit of {self.limit} bytes")
            self.hasher.update(chunk)
            yield chunk


def stage_original(blobs: BlobStore, chunks: Iterable[bytes], *, max_bytes: int) -> StagedOriginal:
    """Write the stream to a staging object, hashing it on the way."""
    key = staging_key()
    digest = _Digest(max_bytes)
    blobs.put_stream(key, digest.through(chunks))
    if digest.size == 0:
        blobs.delete(key)
        raise EmptyUpload("the file is empty")
    return StagedOriginal(key, digest.hasher.hexdigest(), digest.size)


def hash_staged(blobs: BlobStore, key: str, *, max_bytes: int) -> StagedOriginal:
    """A staging object put together in the store (not streamed through here), hashed by reading
    it once; removed if that fails."""
    digest = _Digest(max_bytes)
    try:
        for _chunk in digest.through(blobs.open(key)):
            pass
    except BaseException:
        with contextlib.suppress(Exception):
            blobs.delete(key)
        raise
    return StagedOriginal(key, digest.hasher.hexdigest(), digest.size)


# Called inside the transaction that records an original, so what it writes commits with it.
AlsoRecord = Callable[[Session, UploadResult], None]


def record_original(
    archive: Archive, staged: StagedOriginal, receipt: Receipt, also: AlsoRecord | None = None
) -> UploadResult:
    """Turn a staged object into an archived original, or a new acquisition of an existing one;
    `also` writes whatever must commit together with that record (or not at all)."""
    with hold(archive, original_hold(staged.sha256), wait=True):
        return _place_and_record(archive, staged, receipt, also)


def original_hold(sha256: str) -> str:
    """The hold (storage/holds.py) under which an original is placed and recorded, or swept."""
    return f"original-{sha256}"


def _place_and_record(
    archive: Archive, staged: StagedOriginal, receipt: Receipt, also: AlsoRecord | None
) -> UploadResult:
    blobs = archive.blobs
    try:
        blobs.move(staged.key, original_key(staged.sha256))
    except BaseException:
        with contextlib.suppress(Exception):
            blobs.delete(staged.key)
        raise
    try:
        return _record(archive, staged, receipt, also)
    except IntegrityError:
        # Another upload of the same bytes committed first: this one is a duplicate of it.
        return _record(archive, staged, receipt, also)
    # On any other failure the original stays, even if this upload placed it: an upload of the
    # same bytes may have found it there and recorded its clip meanwhile. Unrecorded, it is
    # taken up by the next upload of those bytes.


def _record(archive: Archive, staged: StagedOriginal, receipt: Receipt, also: AlsoRecord | None) -> UploadResult:
    with archive.sessions.begin() as session:
        clip = session.scalar(select(Clip).where(Clip.sha256 == staged.sha256))
        duplicate = clip is not None
        if clip is None:
            clip = Clip(
                sha256=staged.sha256,
                size_bytes=staged.size,
                filename=receipt.filename,
                content_type=receipt.content_type,
                blob_key=original_key(staged.sha256),
                status=ClipStatus.queued,
                uploaded_by=receipt.received_by,
            )
            session.add(clip)
            session.flush()
            if archive.settings.timestamps_configured:
                mark_pending(session, clip.id)  # stamped by the job queued with its ingest
        received_at = utcnow()
        acquisition = Acquisition(
            clip_id=clip.id,
            received_at=received_at,
            received_by=receipt.received_by,
            filename=receipt.filename,
            source=receipt.source,
            source_url=receipt.source_url,
            captured_at=receipt.captured_at,
            note=receipt.note,
            case_id=receipt.case_id,
        )
        session.add(acquisition)
        session.flush()
        append_event(
            session,
            clip.id,
            "acquired_duplicate" if duplicate else "uploaded",
            receipt.received_by,
            {
                "acquisition_id": acquisition.id,
                "filename": receipt.filename,
                "sha256": staged.sha256,
                "size_bytes": staged.size,
                "source": receipt.source,
                "source_url": receipt.source_url,
                # What the chain check holds the acquisition's row to (storage/vouched.py).
                "captured_at": receipt.captured_at.astimezone(UTC).isoformat() if receipt.captured_at else None,
                "note": receipt.note,
                "received_at": timestamp(received_at),
                "case_id": receipt.case_id,
            },
        )
        session.refresh(clip, ["acquisitions", "timestamp", "viewing_copy"])
        result = UploadResult(clip, duplicate)
        if also is not None:
            also(session, result)
        return result


# A staging object lives from its first byte until it is moved into place, moments after its
# last; one untouched this long was left by a process that died in between.
STAGING_ABANDONED_AFTER = timedelta(days=1)


def sweep_staging(blobs: BlobStore, older_than: timedelta = STAGING_ABANDONED_AFTER) -> int:
    """Delete the staging objects (on a folder, also files being written into one) nobody has
    written to for `older_than`, and abort the store's writes (S3 multipart uploads) begun that
    long ago and never finished; returns how many staging objects."""
    aborted = blobs.abort_stale_writes(older_than)
    if aborted:
        log.info("aborted %d unfinished multipart uploads left by processes that died mid-write", aborted)
    deleted = delete_untouched(blobs, blobs.keys("incoming/"), older_than)
    if deleted:
        log.info("deleted %d staging objects left by uploads whose process died", deleted)
    return deleted


def sweep_originals(archive: Archive, older_than: timedelta) -> int:
    """Delete the originals no clip refers to that nobody has written for `older_than` (placed by
    an upload whose process died before recording it), each re-checked under its hold so that an
    upload of the same bytes recording it meanwhile keeps it; returns how many."""
    blobs = archive.blobs
    cutoff = datetime.now(UTC) - older_than
    with archive.sessions() as session:
        referenced = set(session.scalars(select(Clip.blob_key)))
    candidates = [key for key in blobs.keys("originals/") if key not in referenced and not _being_written(key)]
    removed = 0
    for key in candidates:
        sha256 = key.rsplit("/", 1)[-1]
        with hold(archive, original_hold(sha256)) as held:
            if not held:
                continue  # an upload of these bytes is placing or recording it right now
            with archive.sessions() as session:
                if session.scalar(select(Clip.id).where(Clip.blob_key == key)) is not None:
                    continue
            try:
                modified = blobs.stat(key).modified
            except BlobNotFound:
                continue
            if modified is None or modified > cutoff:
                continue
            blobs.delete(key)
            removed += 1
    if removed:
        log.info("deleted %d originals no clip refers to (their uploads died before recording them)", removed)
    return removed


def _being_written(key: str) -> bool:
    """A local folder's temporary file of a write in progress (`.<name>.<random>.part`)."""
    return key.rsplit("/", 1)[-1].startswith(".")


def receive_original(archive: Archive, chunks: Iterable[bytes], receipt: Receipt) -> UploadResult:
    """The whole upload for callers that have the stream and the receipt together (CLI, tests)."""
    staged = stage_original(archive.blobs, chunks, max_bytes=archive.settings.max_upload_bytes)
    return record_original(archive, staged, receipt)
