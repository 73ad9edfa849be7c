"""Resumable uploads: the size is declared up front, the bytes arrive in chunks that may be sent
again after a dropped connection, and the whole is archived like any other upload once the last
byte is in.

A chunk counts only once a locked check of the upload's offset has accepted it; a chunk that is
refused, cut short or overtaken is dropped. Where the object store keeps files (the local folder),
chunks are written in place into one spool file per upload (`storage/spool.py`), and the last
chunk's request hashes that file and links it into place as the original: the bytes are written
once. On S3, and for a chunk that arrives while another request holds the spool file (a client
resending after a dropped connection the server has not noticed yet), each chunk is its own
object; the next holder of the spool copies accepted ones into it. On S3 the last chunk's request
has the server join the chunk objects (parts of 5 MiB and more) and reads the whole back once
for the hash, or else streams them in order through `stage_original` (hashing on the way).
Either way `record_original` then recognises duplicates and records the acquisition and custody.

The request that archives an upload claims it (`completing_since`) and holds a hold that dies with
its process (`storage/holds.py`) while it works: a claim whose holder is gone (killed with -9, or
stopped in the middle of the start-up sweep) is taken over by the next request or sweep at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ingest.upload import Receipt, StagedOriginal, UploadResult, hash_staged, record_original, stage_original
from storage.archive import Archive
from storage.blobs import BlobStore, staging_key
from storage.holds import hold, is_held
from storage.models import Clip, Upload, UploadChunk, utcnow
from storage.spool import HeldSpool, hold_spool
from verity.errors import (
    BlobNotFound,
    ChecksumMismatch,
    ClipNotFound,
    Conflict,
    DeclaredDigestMismatch,
    EmptyUpload,
    InvalidInput,
    OffsetMismatch,
    UploadExpired,
    UploadNotFound,
    UploadTooLarge,
)

log = logging.getLogger("verity.ingest")

# How long archiving waits for the spool file's holder to finish before it copies the upload's
# bytes out beside it instead (the holder is then a request whose client is gone).
SPOOL_WAIT_S = 5.0


@dataclass(frozen=True)
class ChunkOutcome:
    """The upload after a chunk was accepted; `complete` when this request must now archive it."""

    upload: Upload
    complete: bool


def create_upload(archive: Archive, receipt: Receipt, size_bytes: int, *, sha256: str | None = None) -> Upload:
    """Declare an upload of `size_bytes` bytes; nothing is stored until its chunks arrive. With
    the whole file's `sha256` (lowercase hex), an unfinished, unexpired upload of the same caller
    declared the same way (digest, size and every field of `receipt`) is the same file: it is
    answered instead, so a client that lost the upload's address continues where it stands."""
    limit = archive.settings.max_upload_bytes
    if size_bytes <= 0:
        raise EmptyUpload("the file is empty")
    if size_bytes > limit:
        raise UploadTooLarge(f"the file is larger than the limit of {limit} bytes")
    with archive.sessions.begin() as session:
        if sha256 is not None and (same := _same_declaration(archive, session, receipt, size_bytes, sha256)):
            return same
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
            case_id=receipt.case_id,
            sha256=sha256,
        )
        session.add(upload)
        session.flush()
        return upload


def _same_declaration(
    archive: Archive, session: Session, receipt: Receipt, size_bytes: int, sha256: str
) -> Upload | None:
    """The caller's newest unfinished upload declared exactly as this one, if it has not expired."""
    query = (
        select(Upload)
        .where(
            Upload.created_by == receipt.received_by,
            Upload.sha256 == sha256,
            Upload.size_bytes == size_bytes,
            Upload.clip_id.is_(None),
            Upload.updated_at >= utcnow() - idle_limit(archive),
        )
        .order_by(Upload.updated_at.desc())
    )
    declared = (
        receipt.filename,
        receipt.content_type,
        receipt.source,
        receipt.source_url,
        receipt.captured_at,
        receipt.note,
        receipt.case_id,
    )
    for upload in session.scalars(query):
        stored = (
            upload.filename,
            upload.content_type,
            upload.source,
            upload.source_url,
            upload.captured_at,
            upload.note,
            upload.case_id,
        )
        if stored == declared:
            return upload
    return None


def idle_limit(archive: Archive) -> timedelta:
    """How long an unfinished upload may go without a chunk before it expires (and is swept)."""
    return timedelta(hours=archive.settings.upload_idle_hours)


def expires_at(archive: Archive, upload: Upload) -> datetime | None:
    """When the unfinished upload expires unless a chunk arrives first; None once it has every byte."""
    if upload.clip_id is not None or upload.received_bytes == upload.size_bytes:
        return None
    return upload.updated_at + idle_limit(archive)


def refuse_expired(archive: Archive, upload: Upload) -> None:
    """UploadExpired for an upload idle past its expiry (the hourly sweep deletes it soon)."""
    expiry = expires_at(archive, upload)
    if expiry is not None and expiry <= utcnow():
        raise UploadExpired(f"upload {upload.id} expired at {expiry.isoformat()}: nothing was sent to it for that long")


def load_upload(session: Session, upload_id: str, caller: str, *, admin: bool) -> Upload:
    """The upload, for the key that created it or an admin; anyone else is told it does not exist."""
    upload = session.get(Upload, upload_id)
    if upload is None or not (admin or upload.created_by == caller):
        raise UploadNotFound(f"no upload with id {upload_id}")
    return upload


def check_chunk(
    archive: Archive,
    upload_id: str,
    caller: str,
    *,
    admin: bool,
    offset: int,
    length: int | None,
    refuse_if_expired: bool = False,
) -> None:
    """Refuse a chunk before reading it when its offset or declared length cannot fit (or, when
    asked, when the upload has expired)."""
    with archive.sessions() as session:
        upload = load_upload(session, upload_id, caller, admin=admin)
        if refuse_if_expired:
            refuse_expired(archive, upload)
        _check_offset(archive, upload, offset)
        if length is not None and offset + length > upload.size_bytes:
            raise InvalidInput(_past_end(upload, offset))


def receive_chunk(
    archive: Archive, upload_id: str, offset: int, chunks: Iterable[bytes], *, sha256: bytes | None = None
) -> ChunkOutcome:
    """Store the chunk starting at `offset`, then accept it if the upload still stands there. With
    `sha256` (the digest its request declared) the chunk is hashed as it is stored and dropped,
    ChecksumMismatch, if its bytes have another."""
    with archive.sessions() as session:
        upload = session.get(Upload, upload_id)
        if upload is None:
            raise UploadNotFound(f"no upload with id {upload_id}")
        limited = _at_most(chunks, upload.size_bytes - offset, _past_end(upload, offset))
        if sha256 is not None:
            limited = _digest_checked(limited, sha256)
        archived = upload.clip_id is not None
    path = None if archived else archive.blobs.spool_path(spool_key(upload_id))
    if path is not None:
        with hold_spool(path) as spool:
            if spool is not None:
                outcome = _receive_in_place(archive, spool, upload_id, offset, limited)
                if outcome is not None:
                    return outcome
    return _receive_as_object(archive, upload_id, offset, limited)


def _receive_in_place(
    archive: Archive, spool: HeldSpool, upload_id: str, offset: int, chunks: Iterable[bytes]
) -> ChunkOutcome | None:
    """Write the chunk into the held spool file; None when the upload no longer takes chunks
    there (archived or gone meanwhile), for the caller to answer as for any chunk."""
    with archive.sessions() as session:
        upload = session.get(Upload, upload_id)
        if upload is None or upload.clip_id is not None:
            spool.remove()
            return None
        _check_offset(archive, upload, offset)
    filled = _fill_spool(archive, spool, upload_id)
    if filled != offset:  # a chunk at this offset was accepted as an object since the check above
        raise OffsetMismatch(f"upload {upload_id} stands at byte {filled}, not {offset}; continue from there", filled)
    accepted = False
    try:
        size = spool.write_at(offset, chunks)
        outcome = _accept(archive, upload_id, offset, size, spool_key(upload_id))
        accepted = size > 0
        return outcome
    finally:
        if not accepted:
            # Nothing of this chunk counts: cut it off (and drop a file that would stay empty).
            if filled == 0:
                spool.remove()
            else:
                spool.cut(filled)


def _receive_as_object(archive: Archive, upload_id: str, offset: int, chunks: Iterable[bytes]) -> ChunkOutcome:
    blobs = archive.blobs
    key = f"uploads/{upload_id}.{offset:016d}.{uuid.uuid4().hex[:12]}"
    size = blobs.put_stream(key, chunks).size
    accepted = False
    try:
        outcome = _accept(archive, upload_id, offset, size, key)
        accepted = size > 0
        return outcome
    finally:
        if not accepted:
            _discard(blobs, [key])


def _accept(archive: Archive, upload_id: str, offset: int, size: int, blob_key: str) -> ChunkOutcome:
    """Count the `size` bytes stored under `blob_key` as the chunk at `offset`, if the upload,
    locked, still stands there (OffsetMismatch otherwise); claims the archiving of a complete one."""
    with archive.sessions.begin() as session:
        upload = _lock(session, upload_id)
        _check_offset(archive, upload, offset)
        if size:
            session.add(UploadChunk(upload_id=upload.id, first_byte=offset, size_bytes=size, blob_key=blob_key))
            upload.received_bytes += size
            upload.updated_at = utcnow()
        complete = upload.received_bytes == upload.size_bytes
        if complete:
            _claim_completion(upload)
        return ChunkOutcome(upload, complete)


def _fill_spool(archive: Archive, spool: HeldSpool, upload_id: str) -> int:
    """Make the held spool file hold exactly the upload's accepted bytes: copy in the chunks that
    were accepted as objects of their own while another request held it, cut off the rest.
    Returns how many bytes it holds."""
    key = spool_key(upload_id)
    with archive.sessions() as session:
        chunks = _chunks_of(session, upload_id)
    in_place = sum(chunk.size_bytes for chunk in chunks if chunk.blob_key == key)
    if spool.size < in_place:
        raise Conflict(
            f"the stored bytes of upload {upload_id} are missing ({spool.size} of {in_place}); "
            "delete the upload and send the file again"
        )
    spool.cut(in_place)
    copied = [chunk for chunk in chunks if chunk.blob_key != key]
    for chunk in copied:
        if chunk.first_byte != spool.size:
            raise Conflict(f"upload {upload_id} has a gap at byte {spool.size}; delete it and send the file again")
        spool.write_at(chunk.first_byte, archive.blobs.open(chunk.blob_key))
    if copied:
        with archive.sessions.begin() as session:
            for chunk in copied:
                row = session.get(UploadChunk, chunk.id)
                if row is None:  # the upload was deleted meanwhile
                    raise UploadNotFound(f"no upload with id {upload_id}")
                row.blob_key = key
        _discard(archive.blobs, [chunk.blob_key for chunk in copied])
    return spool.size


def complete_upload(archive: Archive, upload_id: str) -> UploadResult:
    """Archive a fully received upload (its completion claimed by this request): its bytes in
    order become the original, exactly as a single-request upload's would. Held for as long as
    it runs; when another live process holds it, the client is told to ask again shortly."""
    with hold(archive, completion_hold(upload_id)) as held:
        if not held:
            with archive.sessions() as session:
                size = session.scalar(select(Upload.size_bytes).where(Upload.id == upload_id))
            raise OffsetMismatch(
                f"upload {upload_id} has all its bytes and is being archived; ask again shortly", size or 0
            )
        return _complete_held(archive, upload_id)


def completion_hold(upload_id: str) -> str:
    """The name of the hold of whoever archives the upload (storage/holds.py)."""
    return f"upload-{upload_id}"


def _complete_held(archive: Archive, upload_id: str) -> UploadResult:
    with archive.sessions() as session:
        upload = session.get(Upload, upload_id)
        if upload is None:
            raise UploadNotFound(f"no upload with id {upload_id}")
        chunks = _chunks_of(session, upload_id)
    keys = [chunk.blob_key for chunk in chunks]
    receipt = Receipt(
        received_by=upload.created_by,
        filename=upload.filename,
        content_type=upload.content_type,
        source=upload.source,
        source_url=upload.source_url,
        captured_at=upload.captured_at,
        note=upload.note,
        case_id=upload.case_id,
    )
    # The upload is marked done in the very transaction that records the acquisition, so a crash
    # in between cannot make a retry record the same upload twice.
    mark_done = partial(_mark_done, upload_id=upload_id)
    try:
        path = archive.blobs.spool_path(spool_key(upload_id))
        if path is None:
            staged = _stage_chunks(archive, upload, keys)
            _refuse_other_bytes(archive, upload, staged)
            result = record_original(archive, staged, receipt, also=mark_done)
        else:
            with hold_spool(path, wait_s=SPOOL_WAIT_S) as spool:
                if spool is None:  # held by a request whose client is gone, until its connection times out
                    staged = _stage_beside_holder(archive, upload, chunks)
                else:
                    staged = _stage_spool(archive, spool, upload)
                _refuse_other_bytes(archive, upload, staged)
                result = record_original(archive, staged, receipt, also=mark_done)
                if spool is not None:
                    spool.remove()
    except BaseException:
        with contextlib.suppress(Exception), archive.sessions.begin() as session:
            _lock(session, upload_id).completing_since = None
        raise
    _discard(archive.blobs, sorted(set(keys)))
    return result


def _refuse_other_bytes(archive: Archive, upload: Upload, staged: StagedOriginal) -> None:
    """When the upload declared its file's SHA-256 and the bytes it received have another, they
    are not that file (a client that changed the file between runs, or a corrupted transfer):
    nothing is archived, and the upload and every byte of it are deleted, for the client to send
    the file again."""
    if upload.sha256 is None or hmac.compare_digest(staged.sha256, upload.sha256):
        return
    archive.blobs.delete(staged.key)
    with archive.sessions.begin() as session:
        keys = _forget(session, _lock(session, upload.id))
    _discard(archive.blobs, keys)
    log.warning("upload %s refused: its bytes are not the declared SHA-256 %s", upload.id, upload.sha256)
    raise DeclaredDigestMismatch(
        f"the {upload.size_bytes} bytes received have SHA-256 {staged.sha256}, not the declared {upload.sha256}: "
        f"nothing is archived, and upload {upload.id} is deleted with its bytes; send the file again"
    )


def _stage_chunks(archive: Archive, upload: Upload, keys: list[str]) -> StagedOriginal:
    """The chunk objects, in order, as one staging object: joined by the store itself where it can
    (S3, for chunks of 5 MiB and more) and read back once for the hash, else copied through here
    and hashed on the way."""
    blobs, limit = archive.blobs, archive.settings.max_upload_bytes
    key = staging_key()
    if blobs.join(keys, key) is None:
        return _stage_chunks_from(archive, upload, _concatenated(blobs, keys))
    return _sized(blobs, upload, hash_staged(blobs, key, max_bytes=limit))


def _stage_chunks_from(archive: Archive, upload: Upload, chunks: Iterable[bytes]) -> StagedOriginal:
    """The upload's bytes streamed into a staging object, hashed on the way."""
    staged = stage_original(archive.blobs, chunks, max_bytes=archive.settings.max_upload_bytes)
    return _sized(archive.blobs, upload, staged)


def _sized(blobs: BlobStore, upload: Upload, staged: StagedOriginal) -> StagedOriginal:
    if staged.size != upload.size_bytes:
        blobs.delete(staged.key)
        raise Conflict(f"the stored chunks hold {staged.size} bytes, not the declared {upload.size_bytes}")
    return staged


def _stage_beside_holder(archive: Archive, upload: Upload, chunks: list[UploadChunk]) -> StagedOriginal:
    """The upload's bytes copied into a staging object while another request holds its spool
    file: the accepted part of the spool (which its holder never writes into) and then the chunk
    objects. The holder may copy those into the spool and delete them meanwhile; then the client
    is told to ask again."""
    blobs, key = archive.blobs, spool_key(upload.id)
    in_place = [chunk for chunk in chunks if chunk.blob_key == key]
    if chunks[: len(in_place)] != in_place:
        raise Conflict(f"upload {upload.id} has chunks out of order; delete it and send the file again")
    spooled = sum(chunk.size_bytes for chunk in in_place)

    def parts() -> Iterator[bytes]:
        if spooled:
            yield from blobs.open(key, 0, spooled - 1)
        for chunk in chunks[len(in_place) :]:
            yield from blobs.open(chunk.blob_key)

    try:
        return _stage_chunks_from(archive, upload, parts())
    except BlobNotFound:
        raise OffsetMismatch(
            f"upload {upload.id} has all its bytes and is being archived; ask again shortly", upload.size_bytes
        ) from None


def _stage_spool(archive: Archive, spool: HeldSpool, upload: Upload) -> StagedOriginal:
    """The held spool file, hashed and given a staging name (a second link, so the spool keeps
    the bytes until the original is recorded)."""
    _fill_spool(archive, spool, upload.id)
    if spool.size != upload.size_bytes:
        raise Conflict(f"the stored chunks hold {spool.size} bytes, not the declared {upload.size_bytes}")
    sha256 = spool.sha256(upload.size_bytes)
    key = staging_key()
    target = archive.blobs.spool_path(key)
    assert target is not None  # the store gave a spool path for the upload
    spool.link(target)
    return StagedOriginal(key, sha256, upload.size_bytes)


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
        if upload.received_bytes == upload.size_bytes:
            # Archived now, or by the next request that asks (an empty chunk at the end): a
            # client interrupted after sending its last byte must not delete what is evidence.
            raise Conflict(f"upload {upload_id} has all its bytes; it is archived as a clip, not deleted")
        keys = _forget(session, upload)
    _discard(archive.blobs, keys)


def sweep_abandoned(archive: Archive, idle_for: timedelta) -> int:
    """Delete the unfinished uploads nobody has sent a chunk to for `idle_for`, chunks and all;
    returns how many. Finished ones stay (they answer a client that asks again), and so do those
    that have all their bytes (`archive_stranded` archives them)."""
    cutoff = utcnow() - idle_for
    unfinished = Upload.clip_id.is_(None) & (Upload.received_bytes < Upload.size_bytes)
    with archive.sessions() as session:
        candidates = list(session.scalars(select(Upload.id).where(unfinished, Upload.updated_at < cutoff)))
    swept = 0
    for upload_id in candidates:
        with archive.sessions.begin() as session:
            upload = session.scalar(select(Upload).where(Upload.id == upload_id).with_for_update())
            if (
                upload is None
                or upload.clip_id is not None
                or upload.updated_at >= cutoff
                or _completing(archive, upload)
            ):
                continue  # finished, continued (its last byte too) or being archived since the look above
            keys = _forget(session, upload)
        _discard(archive.blobs, keys)
        swept += 1
    if swept:
        log.info("deleted %d unfinished uploads idle for more than %s", swept, idle_for)
    _sweep_leftovers(archive)
    return swept


def archive_stranded(archive: Archive) -> list[UploadResult]:
    """Archive the uploads that have all their bytes but whose archiving never finished (the
    process doing it died, or it failed and the client did not ask again); returns what each gave."""
    with archive.sessions() as session:
        query = select(Upload.id).where(Upload.clip_id.is_(None), Upload.received_bytes == Upload.size_bytes)
        candidates = list(session.scalars(query))
    results = []
    for upload_id in candidates:
        with archive.sessions.begin() as session:
            upload = session.scalar(select(Upload).where(Upload.id == upload_id).with_for_update())
            if upload is None or upload.clip_id is not None or _completing(archive, upload):
                continue  # archived, or being archived by a live process, since the look above
            _claim_completion(upload)
        try:
            results.append(complete_upload(archive, upload_id))
        except Exception:
            log.exception("could not archive upload %s, which has all its bytes; trying again later", upload_id)
    if results:
        log.info("archived %d uploads that had all their bytes but no clip yet", len(results))
    return results


def _sweep_leftovers(archive: Archive) -> None:
    """Delete what the store still holds for uploads that are archived or gone: what a process
    killed between committing and cleaning up leaves (a spool file's name, copied chunk objects,
    a chunk written for an upload deleted meanwhile)."""
    held: dict[str, list[str]] = {}
    for key in archive.blobs.keys("uploads/"):
        held.setdefault(_upload_of(key), []).append(key)
    if not held:
        return
    with archive.sessions() as session:
        open_uploads = set(
            session.scalars(select(Upload.id).where(Upload.id.in_(list(held)), Upload.clip_id.is_(None)))
        )
    leftovers = [key for upload_id, keys in held.items() if upload_id not in open_uploads for key in keys]
    if leftovers:
        log.info("deleting %d objects left behind by archived or deleted uploads", len(leftovers))
        _discard(archive.blobs, leftovers)


def _upload_of(key: str) -> str:
    """The upload id in a key under `uploads/`: `<id>.spool`, `<id>.<offset>.<tag>`, a local
    store's `.<name>.<random>.part` while one is written, or an older `<id>/<offset>.<tag>`."""
    name = key.removeprefix("uploads/").split("/")[0].lstrip(".")
    return name.split(".")[0]


def _forget(session: Session, upload: Upload) -> list[str]:
    """Delete the upload's rows; returns the keys of its stored bytes, to delete once committed."""
    keys = set(session.scalars(select(UploadChunk.blob_key).where(UploadChunk.upload_id == upload.id)))
    session.execute(delete(UploadChunk).where(UploadChunk.upload_id == upload.id))
    session.delete(upload)
    return sorted(keys | {spool_key(upload.id)})


def spool_key(upload_id: str) -> str:
    """Where the upload's chunks are written in place, on a store that keeps files."""
    return f"uploads/{upload_id}.spool"


def _chunks_of(session: Session, upload_id: str) -> list[UploadChunk]:
    """The upload's accepted chunks, in order."""
    query = select(UploadChunk).where(UploadChunk.upload_id == upload_id).order_by(UploadChunk.first_byte)
    return list(session.scalars(query))


def _lock(session: Session, upload_id: str) -> Upload:
    upload = session.scalar(select(Upload).where(Upload.id == upload_id).with_for_update())
    if upload is None:
        raise UploadNotFound(f"no upload with id {upload_id}")
    return upload


def _completing(archive: Archive, upload: Upload) -> bool:
    """Whether a live process is archiving the upload: it is claimed, and its holder's hold is
    held (the holder's death drops it, so a dead holder's claim is taken over at once)."""
    return upload.completing_since is not None and is_held(archive, completion_hold(upload.id))


def _check_offset(archive: Archive, upload: Upload, offset: int) -> None:
    if upload.clip_id is not None and offset == upload.size_bytes:
        return  # asking again for the answer of a completed upload
    if upload.clip_id is not None:
        raise OffsetMismatch(
            f"upload {upload.id} is complete, archived as clip {upload.clip_id}; an empty chunk at byte "
            f"{upload.size_bytes} repeats the answer",
            upload.size_bytes,
        )
    if _completing(archive, upload):
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


def _digest_checked(chunks: Iterable[bytes], expected: bytes) -> Iterator[bytes]:
    """The chunks, hashed on the way; after the last, ChecksumMismatch if they are not `expected`
    (raised into whoever stores them, so the stored part is dropped before it could count)."""
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
        yield chunk
    if not hmac.compare_digest(digest.digest(), expected):
        raise ChecksumMismatch(
            f"the chunk's bytes have SHA-256 {digest.hexdigest()}, not the declared {expected.hex()}; "
            "it is dropped: send it again"
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
