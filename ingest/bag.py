"""A BagIt bag (RFC 8493) written as a zip straight into the object store, in one pass: every
entry is stored (ZIP_STORED, no compression: video does not shrink) and hashed as it is written,
the manifests come last, and the zip's bytes flow through a small queue to a thread that hands
them to `BlobStore.put_stream`, so memory stays flat however large the bag and a failed bag leaves
no object behind. The zip is written as a stream (sizes after each entry, ZIP64 where needed)."""

from __future__ import annotations

import contextlib
import hashlib
import queue
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from storage.blobs import BlobStore, StoredBlob

SINK_CHUNK = 1024 * 1024
QUEUE_CHUNKS = 8  # chunks of the zip in flight between the writer and the store: 8 MiB at most
_END = object()


@dataclass(frozen=True)
class BagFile:
    name: str  # relative to the bag's folder, e.g. data/originals/<sha256>.mp4
    sha256: str
    size: int


class _StoreSink:
    """What `zipfile` writes to: counts and hashes the bytes and passes them, in chunks, to a thread
    that stores them under `key`. It has no `seek`, so zipfile writes a stream."""

    def __init__(self, blobs: BlobStore, key: str, size_hint: int | None) -> None:
        self.digest = hashlib.sha256()
        self.size = 0
        self._buffer = bytearray()
        self._queue: queue.Queue[object] = queue.Queue(maxsize=QUEUE_CHUNKS)
        self._stored: StoredBlob | None = None
        self._error: BaseException | None = None
        self._aborted = False
        self._thread = threading.Thread(
            target=self._store, args=(blobs, key, size_hint), name="verity-bag-store", daemon=True
        )
        self._thread.start()

    def _chunks(self) -> Iterator[bytes]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item  # put_stream then removes what it wrote
            assert isinstance(item, bytes)
            yield item

    def _store(self, blobs: BlobStore, key: str, size_hint: int | None) -> None:
        try:
            self._stored = blobs.put_stream(key, self._chunks(), size_hint=size_hint)
        except BaseException as exc:
            self._error = exc

    def _send(self, item: object) -> None:
        while True:
            if self._error is not None:
                raise self._error
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                if not self._thread.is_alive():
                    raise RuntimeError("the object store stopped taking the bag") from self._error

    def write(self, data: bytes) -> int:
        if self._aborted:
            return len(data)  # what zipfile still writes of a given-up bag (its close) goes nowhere
        self.digest.update(data)
        self.size += len(data)
        if len(data) >= SINK_CHUNK and not self._buffer:
            self._send(bytes(data))
        else:
            self._buffer += data
            if len(self._buffer) >= SINK_CHUNK:
                self._send(bytes(self._buffer))
                self._buffer.clear()
        return len(data)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass  # zipfile closes what it was given only if it opened it; `finish` ends the stream

    def finish(self) -> StoredBlob:
        if self._buffer:
            self._send(bytes(self._buffer))
            self._buffer.clear()
        self._send(_END)
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._stored is not None
        return self._stored

    def abort(self, why: BaseException) -> None:
        self._aborted = True
        if self._thread.is_alive():
            with contextlib.suppress(BaseException):
                self._send(why)
            self._thread.join(timeout=60)


@dataclass(frozen=True)
class WrittenBag:
    key: str
    size: int
    sha256: str  # of the whole zip
    manifest_sha256: str  # of manifest-sha256.txt


class BagWriter:
    """Write a bag named `root` (the zip's one top folder) under `key`: payload files (`data/…`) and
    tag files (anything else) as they come, then `finish` adds the manifests and bag-info.txt.
    `size_hint`: about how large the bag will be (an S3 store picks its part size from it)."""

    def __init__(self, blobs: BlobStore, key: str, root: str, size_hint: int | None = None) -> None:
        self.key, self.root = key, root
        self.payload: list[BagFile] = []
        self.tags: list[BagFile] = []
        self._sink = _StoreSink(blobs, key, size_hint)
        self._zip = zipfile.ZipFile(self._sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True)
        self._moment = datetime.now(UTC).timetuple()[:6]
        self._closed = False

    @property
    def bytes_written(self) -> int:
        return self._sink.size

    def add(
        self,
        name: str,
        chunks: Iterable[bytes],
        *,
        size: int | None = None,
        executable: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> BagFile:
        """Write one file of the bag (payload when under data/, else a tag file), hashing it as it goes;
        `size`, when known, lets the zip give a large file its ZIP64 header. `progress` gets each
        chunk's length."""
        if name in ("manifest-sha256.txt", "tagmanifest-sha256.txt", "bag-info.txt") and not self._closed:
            raise ValueError(f"{name} is written by finish()")
        info = zipfile.ZipInfo(f"{self.root}/{name}", date_time=self._moment)
        info.compress_type = zipfile.ZIP_STORED
        info.external_attr = (0o755 if executable else 0o644) << 16
        if size is not None:
            info.file_size = size
        digest, written = hashlib.sha256(), 0
        with self._zip.open(info, "w", force_zip64=size is None or size >= zipfile.ZIP64_LIMIT) as entry:
            for chunk in chunks:
                digest.update(chunk)
                entry.write(chunk)
                written += len(chunk)
                if progress is not None:
                    progress(len(chunk))
        done = BagFile(name, digest.hexdigest(), written)
        (self.payload if name.startswith("data/") else self.tags).append(done)
        return done

    def add_bytes(self, name: str, data: bytes, *, executable: bool = False) -> BagFile:
        return self.add(name, [data], size=len(data), executable=executable)

    def payload_manifest(self) -> bytes:
        return manifest_text(self.payload)

    def finish(self, bag_info: dict[str, str], manifest: bytes | None = None) -> WrittenBag:
        """Add manifest-sha256.txt (`manifest`, as `payload_manifest` gave it, or made now), bag-info.txt
        (with Payload-Oxum and Bag-Size) and tagmanifest-sha256.txt, and close the zip."""
        manifest = manifest if manifest is not None else self.payload_manifest()
        payload_bytes = sum(item.size for item in self.payload)
        info = {
            **bag_info,
            "Payload-Oxum": f"{payload_bytes}.{len(self.payload)}",
            "Bag-Size": human_size(payload_bytes),
        }
        self._closed = True
        manifest_file = self.add_bytes("manifest-sha256.txt", manifest)
        self.add_bytes("bag-info.txt", bag_info_text(info))
        self.add_bytes("tagmanifest-sha256.txt", manifest_text(self.tags))
        self._zip.close()
        stored = self._sink.finish()
        return WrittenBag(stored.key, self._sink.size, self._sink.digest.hexdigest(), manifest_file.sha256)

    def abort(self, why: BaseException) -> None:
        """Give up the bag: nothing is left under its key."""
        self._sink.abort(why)


def encode_path(name: str) -> str:
    """A path as a BagIt manifest writes it (RFC 8493 §2.1.3: CR, LF and % percent-encoded)."""
    return name.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def manifest_text(files: Iterable[BagFile]) -> bytes:
    ordered = sorted(files, key=lambda item: item.name)
    return "".join(f"{item.sha256}  {encode_path(item.name)}\n" for item in ordered).encode()


def bag_info_text(info: dict[str, str]) -> bytes:
    """bag-info.txt: `Label: value` lines, a value's line breaks folded into spaces."""
    lines = [f"{label}: {' '.join(str(value).split())}" for label, value in info.items()]
    return ("\n".join(lines) + "\n").encode()


def human_size(size: int) -> str:
    amount = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if amount < 1000 or unit == "GB":
            return f"{amount:.0f} {unit}" if unit == "bytes" else f"{amount:.1f} {unit}"
        amount /= 1000
    return f"{size} bytes"


BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"


def throttled(every_s: float, report: Callable[[int], None]) -> Callable[[int], None]:
    """A progress callback that adds up byte counts and calls `report(total)` at most every `every_s`."""
    state = {"total": 0, "last": 0.0}

    def advance(count: int) -> None:
        state["total"] += count
        now = time.monotonic()
        if now - state["last"] >= every_s:
            state["last"] = now
            report(int(state["total"]))

    return advance
