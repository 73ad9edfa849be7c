"""Scratch folders for analysing a clip, under the work directory. Each is held (an `flock` on a
`.held` file inside it) for as long as the process using it lives, so the folders of processes
that died mid-ingest can be removed at start without touching those of processes still running
on the same work directory."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger("verity.ingest")

HELD = ".held"
# A folder must be this old before it may be removed: its owner locks it just after making it.
SETTLE_S = 60.0


@contextlib.contextmanager
def scratch_folder(root: Path, prefix: str) -> Iterator[Path]:
    """A new folder under `root`, held until the block ends, then removed."""
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=root))
    fd = os.open(folder / HELD, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        os.close(fd)


def remove_abandoned(root: Path) -> int:
    """Remove the scratch folders under `root` that nobody holds any more; returns how many."""
    removed = 0
    for folder in root.iterdir() if root.is_dir() else []:
        try:
            removed += _remove_if_abandoned(folder)
        except OSError as exc:  # not ours to open (another user's), or gone meanwhile: leave it
            log.warning("could not check scratch folder %s: %s", folder, exc)
    if removed:
        log.info("removed %d scratch folders of ingests whose process died, under %s", removed, root)
    return removed


def _remove_if_abandoned(folder: Path) -> bool:
    if not (folder / HELD).is_file() or time.time() - folder.stat().st_mtime < SETTLE_S:
        return False
    try:
        fd = os.open(folder / HELD, os.O_RDWR)
    except FileNotFoundError:
        return False  # its owner finished meanwhile
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # in use
    else:
        shutil.rmtree(folder, ignore_errors=True)
        return True
    finally:
        os.close(fd)
