"""Object storage behind one small interface: a local folder for the embedded archive, any S3
server (through the `minio` SDK) for the scaled one.

Keys are `/`-separated relative paths. Writes are all-or-nothing: a failed `put_stream` leaves
nothing under its key. `move` never overwrites: it is how a staged upload becomes an original.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from verity.errors import BlobNotFound, InvalidInput, StorageUnavailable
from verity.settings import Settings

READ_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredBlob:
    key: str
    size: int
    modified: datetime | None = None  # when it was last written, where `stat` tells


class BlobStore(Protocol):
    def put_stream(self, key: str, chunks: Iterable[bytes], *, size_hint: int | None = None) -> StoredBlob:
        """Write all chunks under `key`, replacing nothing half-written on failure. `size_hint`: about
        how large the object will be, when it may be larger than an upload (an export's bag)."""

    def open(self, key: str, start: int | None = None, end: int | None = None) -> Iterator[bytes]:
        """Yield the bytes of `key` from `start` to `end` inclusive (whole object by default)."""

    def stat(self, key: str) -> StoredBlob:
        """Size of the object and when it was last written; `BlobNotFound` if absent."""

    def exists(self, key: str) -> bool: ...

    def move(self, source: str, target: str) -> bool:
        """Rename `source` to `target` unless `target` exists; returns whether it was placed.
        `source` is gone afterwards either way."""

    def keys(self, prefix: str) -> Iterator[str]:
        """The keys that start with `prefix` (which ends with `/`), objects being written included
        where the store shows them (a local folder's temporary files)."""

    def join(self, keys: list[str], target: str) -> StoredBlob | None:
        """Concatenate the objects `keys`, in order, into a new object `target` on the store's side,
        without their bytes passing through this process; None where the store cannot (the
        caller then copies them)."""

    def delete(self, key: str) -> None:
        """Remove `key` if present. Only for staging objects, uncommitted writes and originals
        no clip refers to (ingest/upload.py `sweep_originals`)."""

    def abort_stale_writes(self, older_than: timedelta) -> int:
        """Abort writes begun more than `older_than` ago and never finished (S3 multipart uploads
        of a process that died mid-write, which hold their parts' space); returns how many. A
        folder's unfinished files are staging files, which `sweep_staging` removes."""

    def local_path(self, key: str) -> Path | None:
        """A filesystem path to read the object from directly, when the store has one."""

    def spool_path(self, key: str) -> Path | None:
        """A filesystem path where the caller may build the object `key` in place, when the store
        keeps objects as files (the local folder); None where objects are only written whole."""


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise InvalidInput(f"invalid object key {key!r}")
    return key


class LocalBlobStore:
    """Objects as files under `root`. Atomic writes: temp file in the target folder, fsync, rename."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def put_stream(self, key: str, chunks: Iterable[bytes], *, size_hint: int | None = None) -> StoredBlob:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        size = 0
        try:
            with os.fdopen(fd, "wb", buffering=0) as out:
                for chunk in chunks:
                    out.write(chunk)
                    size += len(chunk)
                os.fsync(out.fileno())
            os.replace(temp_name, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)
            raise
        _fsync_dir(path.parent)
        return StoredBlob(key, size)

    def open(self, key: str, start: int | None = None, end: int | None = None) -> Iterator[bytes]:
        path = self._path(key)
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            raise BlobNotFound(f"object {key} not found") from None
        return _read_range(handle, start, end)

    def stat(self, key: str) -> StoredBlob:
        try:
            found = self._path(key).stat()
        except FileNotFoundError:
            raise BlobNotFound(f"object {key} not found") from None
        return StoredBlob(key, found.st_size, datetime.fromtimestamp(found.st_mtime, UTC))

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def move(self, source: str, target: str) -> bool:
        source_path, target_path = self._path(source), self._path(target)
        target_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # A hard link fails when the target exists, so an original is never replaced.
            os.link(source_path, target_path)
            placed = True
        except FileExistsError:
            placed = False
        source_path.unlink()
        if placed:
            _fsync_dir(target_path.parent)
        return placed

    def keys(self, prefix: str) -> Iterator[str]:
        folder = self._path(prefix.rstrip("/"))
        if folder.is_dir():
            for path in folder.rglob("*"):
                if path.is_file():
                    yield str(path.relative_to(self.root))

    def join(self, keys: list[str], target: str) -> StoredBlob | None:
        return None  # a file system copies by reading and writing; resumable uploads use a spool file

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    def local_path(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.is_file() else None

    def spool_path(self, key: str) -> Path | None:
        return self._path(key)

    def abort_stale_writes(self, older_than: timedelta) -> int:
        return 0


def _read_range(handle: BinaryIO, start: int | None, end: int | None) -> Iterator[bytes]:
    with handle:
        if start:
            handle.seek(start)
        remaining = None if end is None else end - (start or 0) + 1
        while remaining is None or remaining > 0:
            chunk = handle.read(READ_CHUNK if remaining is None else min(READ_CHUNK, remaining))
            if not chunk:
                return
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _IterReader:
    """File-like view of a chunk iterator, for the minio SDK's `put_object`."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._rest: memoryview | None = None
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        # The answer is the only copy made: a part-sized buffer grown and then sliced cost three,
        # which for parallel uploads added up to hundreds of MiB.
        pieces: list[bytes | memoryview] = []
        have = 0
        pending = self._rest
        self._rest = None
        while n < 0 or have < n:
            piece = pending if pending is not None else next(self._chunks, None)
            pending = None
            if piece is None:
                break
            if n >= 0 and len(piece) > n - have:
                view = memoryview(piece)
                piece, self._rest = view[: n - have], view[n - have :]
            pieces.append(piece)
            have += len(piece)
        data = b"".join(pieces)
        self.size += len(data)
        return data


class S3BlobStore:
    """Objects in one bucket of an S3 server, written by streamed multipart upload."""

    # What one upload holds in memory is a few copies of one part (the SDK's among them), so parts
    # are as small as the largest object allows: S3's least, 5 MiB, unless that makes more than its
    # 10,000 parts. 16 MiB parts, two in flight, took twenty parallel uploads to 929 MiB.
    MIN_PART_SIZE = 5 * 1024 * 1024
    MAX_PARTS = 10_000
    MAX_SINGLE_COPY = 5 * 1024**3

    def __init__(
        self,
        endpoint: str,
        bucket: str,
        access_key: str | None,
        secret_key: str | None,
        *,
        secure: bool = True,
        region: str | None = None,
        largest_object: int = MIN_PART_SIZE * MAX_PARTS,
    ) -> None:
        from minio import Minio

        self.part_size = self.part_size_for(largest_object)
        self.bucket = bucket
        self.client = Minio(endpoint, access_key, secret_key, secure=secure, region=region)
        try:
            if not self.client.bucket_exists(bucket):
                self.client.make_bucket(bucket)
        except Exception as exc:
            raise StorageUnavailable(f"S3 server at {endpoint} is not usable: {exc}") from exc

    def put_stream(self, key: str, chunks: Iterable[bytes], *, size_hint: int | None = None) -> StoredBlob:
        reader = _IterReader(chunks)
        # length -1 makes the SDK stream multipart; it aborts the upload itself on failure.
        self.client.put_object(
            self.bucket,
            _check_key(key),
            reader,  # type: ignore[arg-type]
            length=-1,
            part_size=self.part_size_for(size_hint),
            num_parallel_uploads=1,
        )
        return StoredBlob(key, reader.size)

    def open(self, key: str, start: int | None = None, end: int | None = None) -> Iterator[bytes]:
        offset = start or 0
        length = 0 if end is None else end - offset + 1
        try:
            response = self.client.get_object(self.bucket, _check_key(key), offset=offset, length=length)
        except Exception as exc:
            if _is_missing(exc):
                raise BlobNotFound(f"object {key} not found") from None
            raise
        return _stream_response(response)

    def part_size_for(self, size: int | None) -> int:
        """The smallest part (whole MiB, at least S3's 5 MiB) that fits `size` in 10,000 parts; the
        store's own for an object of unknown size."""
        if size is None:
            return self.part_size
        mib = 1024 * 1024
        return max(self.MIN_PART_SIZE, -(-size // self.MAX_PARTS // mib) * mib)

    def stat(self, key: str) -> StoredBlob:
        try:
            info = self.client.stat_object(self.bucket, _check_key(key))
        except Exception as exc:
            if _is_missing(exc):
                raise BlobNotFound(f"object {key} not found") from None
            raise
        return StoredBlob(key, int(info.size or 0), info.last_modified)

    def exists(self, key: str) -> bool:
        try:
            self.stat(key)
        except BlobNotFound:
            return False
        return True

    def move(self, source: str, target: str) -> bool:
        from minio.commonconfig import ComposeSource, CopySource

        placed = False
        if not self.exists(target):
            size = self.stat(source).size
            if size <= self.MAX_SINGLE_COPY:
                self.client.copy_object(self.bucket, _check_key(target), CopySource(self.bucket, source))
            else:
                self.client.compose_object(self.bucket, _check_key(target), [ComposeSource(self.bucket, source)])
            placed = True
        self.delete(source)
        return placed

    def keys(self, prefix: str) -> Iterator[str]:
        for listed in self.client.list_objects(self.bucket, prefix=prefix, recursive=True):
            yield str(listed.object_name)

    def join(self, keys: list[str], target: str) -> StoredBlob | None:
        from minio.commonconfig import ComposeSource

        sources = [ComposeSource(self.bucket, _check_key(key)) for key in keys]
        try:
            self.client.compose_object(self.bucket, _check_key(target), sources)
        except ValueError:
            return None  # S3 joins parts of 5 MiB and more (but the last), 10,000 at most
        return self.stat(target)

    def delete(self, key: str) -> None:
        self.client.remove_object(self.bucket, _check_key(key))

    def local_path(self, key: str) -> Path | None:
        return None

    def spool_path(self, key: str) -> Path | None:
        return None

    def abort_stale_writes(self, older_than: timedelta) -> int:
        # The SDK's public API has no listing of multipart uploads; these are its own S3 calls.
        cutoff = datetime.now(UTC) - older_than
        stale: list[tuple[str, str]] = []
        marker: str | None = None
        while True:
            listed = self.client._list_multipart_uploads(self.bucket, key_marker=marker)
            for upload in listed.uploads:
                if upload.initiated_time is not None and upload.initiated_time <= cutoff and upload.upload_id:
                    stale.append((upload.object_name, upload.upload_id))
            if not listed.is_truncated or not listed.next_key_marker or listed.next_key_marker == marker:
                break
            marker = listed.next_key_marker
        for key, upload_id in stale:
            self.client._abort_multipart_upload(self.bucket, key, upload_id)
        return len(stale)


def _stream_response(response: Any) -> Iterator[bytes]:
    try:
        yield from response.stream(READ_CHUNK)
    finally:
        response.close()
        response.release_conn()


def _is_missing(exc: Exception) -> bool:
    return getattr(exc, "code", None) in ("NoSuchKey", "NoSuchObject", "NoSuchBucket")


def delete_untouched(blobs: BlobStore, keys: Iterable[str], older_than: timedelta) -> int:
    """Delete those of `keys` nobody has written to for `older_than` (what a process that died
    mid-write left); returns how many. One gone meanwhile is skipped."""
    cutoff = datetime.now(UTC) - older_than
    stale = []
    for key in keys:
        with contextlib.suppress(BlobNotFound):
            modified = blobs.stat(key).modified
            if modified is not None and modified <= cutoff:
                stale.append(key)
    for key in stale:
        blobs.delete(key)
    return len(stale)


def staging_key() -> str:
    return f"incoming/{uuid.uuid4().hex}"


def make_blob_store(settings: Settings) -> BlobStore:
    """The one place that picks the object store from settings."""
    if settings.blob_backend == "s3":
        assert settings.s3_endpoint, "Settings refuses s3 without an endpoint when it loads"
        secret = settings.s3_secret_key.get_secret_value() if settings.s3_secret_key else None
        return S3BlobStore(
            settings.s3_endpoint,
            settings.s3_bucket,
            settings.s3_access_key,
            secret,
            secure=settings.s3_secure,
            region=settings.s3_region,
            largest_object=settings.max_upload_bytes,
        )
    return LocalBlobStore(settings.resolved_blob_dir())
