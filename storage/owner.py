"""One owner process for an embedded archive (a SQLite database): `verity serve`, a local
`verity ingest` or `verity worker` holds an exclusive `flock` on a file beside the database for
as long as it runs, and a second one is refused before it touches anything, told which process
holds it. The kernel releases the lock when its holder dies, however it dies.

An archive on PostgreSQL has no single owner: its API servers and workers share it, and claims
(ingest/pipeline.py) keep them from analysing one clip twice at once."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
from pathlib import Path

from sqlalchemy.engine import make_url

from verity.errors import ArchiveInUse
from verity.settings import Settings


class ArchiveOwner:
    """The held lock; released by `release`, or when the process ends."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def owner_file(settings: Settings) -> Path | None:
    """The lock file of the archive `settings` name, or None when it has no single owner (not
    SQLite, or an in-memory database)."""
    url = make_url(settings.resolved_database_url())
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    database = Path(url.database).resolve()
    return database.with_name(database.name + ".owner")


def take_ownership(settings: Settings, command: str | None = None) -> ArchiveOwner | None:
    """Become the archive's one owner, or raise `ArchiveInUse` naming the process that is (its
    pid and command line). None for an archive that has no single owner."""
    path = owner_file(settings)
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    # Not inherited by the ffmpeg and ffprobe it starts (os.open's files are not inheritable).
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _describe_holder(fd)
        os.close(fd)
        raise ArchiveInUse(
            f"the archive at {path.parent} is in use by {holder}; an embedded archive (SQLite) has one "
            "process at a time: stop that one first, or send this work to it (--server)"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    line = command or " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
    os.pwrite(fd, f"{os.getpid()}\n{line}\n".encode(), 0)
    return ArchiveOwner(path, fd)


def _describe_holder(fd: int) -> str:
    """'process <pid> (<command>)' from what the holder wrote into the lock file."""
    with contextlib.suppress(OSError):
        text = os.pread(fd, 4096, 0).decode("utf-8", "replace")
        pid, _, command = text.partition("\n")
        if pid.strip().isdigit():
            return f"process {pid.strip()} ({command.strip() or 'unknown command'})"
    return "another process (it has not written its name yet)"
