"""The one file a resumable upload's chunks are written into, in place, where the object store is a
local folder: finishing the upload then only reads it for the hash and links it into place, with
no second write of the whole file.

One request at a time holds the file, under an exclusive `flock` that the kernel releases when the
holder's process dies. A holder cuts off whatever lies past the bytes the database has accepted
(left by a write that was cut short) before it writes, so the file's first bytes are always the
accepted ones. Who holds it, and what counts, is decided by `ingest/resumable.py`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from verity.errors import Conflict

READ_CHUNK = 1024 * 1024


class HeldSpool:
    """An open spool file this caller alone holds."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd

    @property
    def size(self) -> int:
        return os.fstat(self._fd).st_size

    def cut(self, length: int) -> None:
        """Drop everything from byte `length` on (never makes the file longer)."""
        if self.size > length:
            os.ftruncate(self._fd, length)

    def write_at(self, offset: int, chunks: Iterable[bytes]) -> int:
        """Write the chunks from byte `offset` and make them durable; returns how many bytes."""
        position = offset
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                written = os.pwrite(self._fd, view, position)
                position += written
                view = view[written:]
        os.fsync(self._fd)
        return position - offset

    def sha256(self, length: int) -> str:
        """SHA-256 of the file's first `length` bytes."""
        hasher = hashlib.sha256()
        position = 0
        while position < length:
            block = os.pread(self._fd, min(READ_CHUNK, length - position), position)
            if not block:
                raise Conflict(f"{self.path.name} holds {position} bytes, not {length}")
            hasher.update(block)
            position += len(block)
        return hasher.hexdigest()

    def link(self, target: Path) -> None:
        """Give the file a second name (`target` must not exist)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(self.path, target)

    def remove(self) -> None:
        """Remove the file's name; whoever waits for it then locks a new file."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


@contextlib.contextmanager
def hold_spool(path: Path, *, wait_s: float = 0.0) -> Iterator[HeldSpool | None]:
    """The spool file at `path` (created if absent), locked for this caller alone; None when
    another caller still holds it after `wait_s` seconds."""
    deadline = time.monotonic() + wait_s
    fd = _lock(path, deadline)
    if fd is None:
        yield None
        return
    try:
        yield HeldSpool(path, fd)
    finally:
        os.close(fd)  # releases the lock


def _lock(path: Path, deadline: float) -> int | None:
    while True:
        fd = _open(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)
            continue
        # The holder before us may have removed or replaced the file: only the one at the path counts.
        try:
            current = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            current = False
        if current:
            return fd
        os.close(fd)


def _open(path: Path) -> int:
    """The file at `path`, created (and its name made durable) if absent."""
    try:
        return os.open(path, os.O_RDWR)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
    return fd
