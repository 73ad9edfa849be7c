"""Resumable uploads: the size is declared up front, the bytes arrive in chunks that may be sent
again after a dropped connection, and the whole is archived like any other upload once the last
byte is in.

Each chunk is stored through the object store as its own object (so any API process, on a local
folder or S3, can take the next one) and counts only once a locked check of the upload's offset
has accepted it; a chunk that is refused, cut short or overtaken is deleted. The last chunk's
request streams the chunks in order through `stage_original` (the hash is computed while the
original is written) and `record_original` (duplicates, acquisition, custody), then deletes them.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ingest.upload import Receipt, UploadResult, record_original, stage_original
from storage.archive import Archive
from storage.blobs import BlobStore
from storage.models import Clip, Upload, UploadChunk, utcnow
from verity.errors import (
    ClipNotFound,
    Conflict,
    EmptyUpload,
    InvalidInput,
    OffsetMismatch,
    UploadNotFound,
    UploadTooLarge,
)

log = logging.getLogger("verity.ingest")

# How long the request that received the last byte may take to archive the whole before another
# request may take over (its process is presumed dead).
COMPLETION_LEASE = timedelta(minutes=30)


@dataclass(frozen=True)
class ChunkOutcome:
    """The upload after a chunk was accepted; `complete` when this request must now archive it."""

    upload: Upload
    complete: bool


def create_upload(archive: Archive, receipt: Receipt, size_bytes: int) -> Upload:
    """Declare an upload of `size_bytes` bytes; nothing is stored until its chunks arrive."""
    limit = archive.settings.max_upload_bytes
    if size_bytes <= 0:
        raise EmptyUpload("the file is empty")
    if size_bytes > limit:
        raise UploadTooLarge(f"the file is larger than the limit of {limit} bytes")
    with archive.sessions.begin() as session:
        upload = Upload(
            created_by=receipt.received_by,
            filename=receipt.filename,
            content_type=receipt.content_type,
            size_bytes=size_bytes,
            received_bytes=0,
            source=receipt.source,
            source_url=receipt.source_url,
            captured_at=receipt.captured_at,
            note=receipt.note,
        )
        session.add(upload)
        session.flush()
        return upload


def load_upload(session: Session, upload_id: str, caller: str, *, admin: bool) -> Upload:
    """The upload, for the key that created it or an admin; anyone else is told it does not exist."""
    upload = session.get(Upload, upload_id)
    if upload is None or not (admin or upload.created_by == caller):
        raise UploadNotFound(f"no upload with id {upload_id}")
    return upload


def check_chunk(archive: Archive, upload_id: str, caller: str, *, admin: bool, offset: int, length: int | None) -> None:
    """Refuse a chunk before reading it when its offset or declared length cannot fit."""
    with archive.sessions() as session:
        upload = load_upload(session, upload_id, caller, admin=admin)
        _check_offset(upload, offset)
        if length is not None and offset + length > upload.size_bytes:
            raise InvalidInput(_past_end(upload, offset))


def receive_chunk(archive: Archive, upload_id: str, offset: int, chunks: Iterable[bytes]) -> ChunkOutcome:
    """Store the chunk starting at `offset`, then accept it if the upload still stands there."""
    with archive.sessions() as session:
        upload = session.get(Upload, upload_id)
        if upload is None:
            raise UploadNotFound(f"no upload with id {upload_id}")
        room = upload.size_bytes - offset
        message = _past_end(upload, offset)
    blobs = archive.blobs
    key = f"uploads/{upload_id}/{offset:016d}.{uuid.uuid4().hex[:12]}"
    size = blobs.put_stream(key, _at_most(chunks, room, message)).size
    accepted = False
    try:
        with archive.sessions.begin() as session:
            upload = _lock(session, upload_id)
            _check_offset(upload, offset)
            if size:
                session.add(UploadChunk(upload_id=upload.id, first_byte=offset, size_bytes=size, blob_key=key))
                upload.received_bytes += size
                upload.updated_at = utcnow()
            complete = upload.received_bytes == upload.size_bytes
            if complete:
                _claim_completion(upload)
            outcome = ChunkOutcome(upload, complete)
        accepted = size > 0
        return outcome
    finally:
        if not accepted:
            _discard(blobs, [key])


def complete_upload(archive: Archive, upload_id: str) -> UploadResult:
    """Archive a fully received upload (its completion claimed by this request): the chunks in
    order become the original, exactly as a single-request upload would."""
    blobs = archive.blobs
    with archive.sessions() as session:
        upload = session.get(Upload, upload_id)
        if upload is None:
            raise UploadNotFound(f"no upload with id {upload_id}")
        keys = list(
            session.scalars(
                select(UploadChunk.blob_key).where(UploadChunk.upload_id == upload_id).order_by(UploadChunk.first_byte)
            )
        )
    receipt = Receipt(
        received_by=upload.created_by,
        filename=upload.filename,
        content_type=upload.content_type,
        source=upload.source,
        source_url=upload.source_url,
        captured_at=upload.captured_at,
        note=upload.note,
    )
    try:
        staged = stage_original(blobs, _concatenated(blobs, keys), max_bytes=archive.settings.max_upload_bytes)
        if staged.size != upload.size_bytes:
            blobs.delete(staged.key)
            raise Conflict(f"the stored chunks hold {staged.size} bytes, not the declared {upload.size_bytes}")
        # The upload is marked done in the very transaction that records the acquisition, so a
        # crash in between cannot make a retry record the same upload twice.
        result = record_original(archive, staged, receipt, also=partial(_mark_done, upload_id=upload_id))
    except BaseException:
        with contextlib.suppress(Exception), archive.sessions.begin() as session:
            _lock(session, upload_id).completing_since = None
        raise
    _discard(blobs, keys)
    return result


def _mark_done(session: Session, result: UploadResult, *, upload_id: str) -> None:
    upload = _lock(session, upload_id)
    if upload.clip_id is not None:
        raise Conflict(f"upload {upload_id} was archived by another request meanwhile")
    upload.clip_id = result.clip.id
    upload.duplicate = result.duplicate
    upload.completing_since = None
    upload.updated_at = utcnow()
    session.execute(delete(UploadChunk).where(UploadChunk.upload_id == upload_id))


def completed_result(archive: Archive, upload: Upload) -> UploadResult:
    """What completing `upload` gave, for a client that asks again (its answer was lost)."""
    with archive.sessions() as session:
        clip = session.get(Clip, upload.clip_id) if upload.clip_id else None
        if clip is None:
            raise ClipNotFound(f"upload {upload.id} has no clip")
        return UploadResult(clip, bool(upload.duplicate))


def abandon_upload(archive: Archive, upload_id: str, caller: str, *, admin: bool) -> None:
    """Forget an unfinished upload and delete its chunks."""
    with archive.sessions.begin() as session:
        upload = load_upload(session, upload_id, caller, admin=admin)
        upload = _lock(session, upload_id)
        if upload.clip_id is not None:
            raise Conflict(f"upload {upload_id} is complete: its bytes are archived as clip {upload.clip_id}")
        if _completing(upload):
            raise Conflict(f"upload {upload_id} is being archived now")
        keys = _forget(session, upload)
    _discard(archive.blobs, keys)


def sweep_abandoned(archive: Archive, idle_for: timedelta) -> int:
    """Delete the unfinished uploads nobody has sent a chunk to for `idle_for`, chunks and all;
    returns how many. Finished ones stay (they answer a client that asks again)."""
    cutoff = utcnow() - idle_for
    with archive.sessions() as session:
        query = select(Upload.id).where(Upload.clip_id.is_(None), Upload.updated_at < cutoff)
        candidates = list(session.scalars(query))
    swept = 0
    for upload_id in candidates:
        with archive.sessions.begin() as session:
            upload = session.scalar(select(Upload).where(Upload.id == upload_id).with_for_update())
            if upload is None or upload.clip_id is not None or upload.updated_at >= cutoff or _completing(upload):
                continue  # finished, continued or being archived since the look above
            keys = _forget(session, upload)
        _discard(archive.blobs, keys)
        swept += 1
    if swept:
        log.info("deleted %d unfinished uploads idle for more than %s", swept, idle_for)
    return swept


def _forget(session: Session, upload: Upload) -> list[str]:
    """Delete the upload's rows; returns its chunk objects' keys, to delete once committed."""
    keys = list(session.scalars(select(UploadChunk.blob_key).where(UploadChunk.upload_id == upload.id)))
    session.execute(delete(UploadChunk).where(UploadChunk.upload_id == upload.id))
    session.delete(upload)
    return keys


def _lock(session: Session, upload_id: str) -> Upload:
    upload = session.scalar(select(Upload).where(Upload.id == upload_id).with_for_update())
    if upload is None:
        raise UploadNotFound(f"no upload with id {upload_id}")
    return upload


def _completing(upload: Upload) -> bool:
    since = upload.completing_since
    return since is not None and utcnow() - since < COMPLETION_LEASE


def _check_offset(upload: Upload, offset: int) -> None:
    if upload.clip_id is not None and offset == upload.size_bytes:
        return  # asking again for the answer of a completed upload
    if upload.clip_id is not None or _completing(upload):
        raise OffsetMismatch(
            f"upload {upload.id} has all its bytes and is being archived; ask again shortly",
            upload.received_bytes,
        )
    if offset != upload.received_bytes:
        raise OffsetMismatch(
            f"upload {upload.id} stands at byte {upload.received_bytes}, not {offset}; continue from there",
            upload.received_bytes,
        )


def _claim_completion(upload: Upload) -> None:
    if upload.clip_id is None:
        upload.completing_since = utcnow()


def _past_end(upload: Upload, offset: int) -> str:
    return (
        f"the chunk goes past the declared size of {upload.size_bytes} bytes "
        f"({upload.size_bytes - offset} bytes remain from byte {offset})"
    )


def _at_most(chunks: Iterable[bytes], room: int, message: str) -> Iterator[bytes]:
    received = 0
    for chunk in chunks:
        received += len(chunk)
        if received > room:
            raise InvalidInput(message)
        yield chunk


def _concatenated(blobs: BlobStore, keys: list[str]) -> Iterator[bytes]:
    for key in keys:
        yield from blobs.open(key)


def _discard(blobs: BlobStore, keys: list[str]) -> None:
    for key in keys:
        try:
            blobs.delete(key)
        except Exception:
            log.exception("could not delete chunk object %s; it is left behind", key)
