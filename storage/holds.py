"""Holds that die with their holder: a named claim that a process is doing something (archiving a
resumable upload, say), which others can see is still held, and which the kernel or the database
drops the moment the holder's process dies, however it dies, so its work can be taken over at
once instead of after a lease runs out.

On PostgreSQL a hold is a session advisory lock on a connection of its own (visible to every
process in `pg_locks`, released when that connection closes); on SQLite, whose archive lives on
one machine, an `flock` on a file in the data folder."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text

from storage.archive import Archive


@contextlib.contextmanager
def hold(archive: Archive, name: str, *, wait: bool = False) -> Iterator[bool]:
    """Hold `name` for the block: True if this caller got it, False if someone alive has it
    (with `wait`, it waits for them instead, and is always True)."""
    if archive.engine.dialect.name == "postgresql":
        with _advisory_hold(archive, name, wait) as held:
            yield held
    else:
        with _file_hold(_hold_file(archive, name), wait) as held:
            yield held


def is_held(archive: Archive, name: str) -> bool:
    """Whether a live process holds `name`."""
    if archive.engine.dialect.name == "postgresql":
        high, low = divmod(_key(name) % (1 << 64), 1 << 32)
        query = text(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = :high AND objid = :low AND objsubid = 1)"
        )
        with archive.engine.connect() as connection:
            return bool(connection.scalar(query, {"high": high, "low": low}))
    path = _hold_file(archive, name)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _key(name: str) -> int:
    """A signed 64-bit advisory lock key for `name`."""
    return int.from_bytes(hashlib.sha256(f"verity-hold:{name}".encode()).digest()[:8], "big", signed=True)


@contextlib.contextmanager
def _advisory_hold(archive: Archive, name: str, wait: bool) -> Iterator[bool]:
    key = {"key": _key(name)}
    with archive.engine.connect() as connection:
        if wait:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), key)
            held = True
        else:
            held = bool(connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), key))
        connection.commit()  # the lock outlives the transaction; the connection must not idle in one
        try:
            yield held
        finally:
            if held:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)
                connection.commit()


def _hold_file(archive: Archive, name: str) -> Path:
    return archive.settings.data_dir.resolve() / "holds" / f"{name}.lock"


@contextlib.contextmanager
def _file_hold(path: Path, wait: bool) -> Iterator[bool]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        yield False
        return
    try:
        # The holder before may have removed the file after we opened it: only the one at the path counts.
        try:
            current = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            current = False
        if not current:
            with _file_hold(path, wait) as held:
                yield held
            return
        try:
            yield True
        finally:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    finally:
        os.close(fd)
