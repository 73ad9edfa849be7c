"""Scratch folders of ingests: those whose process died are removed at start, those in use stay."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ingest.scratch import SETTLE_S, remove_abandoned, scratch_folder

HOLDER = "import sys, time; from pathlib import Path; from ingest.scratch import scratch_folder\n" + (
    "with scratch_folder(Path(sys.argv[1]), 'clip-') as folder:\n"
    "    (folder / 'original').write_bytes(b'x' * 1000)\n"
    "    print(folder, flush=True)\n"
    "    time.sleep(120)\n"
)


@contextmanager
def ingest_process(root: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """Another process analysing a clip in a scratch folder under `root`, until killed."""
    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(root)], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield process, Path(process.stdout.readline().strip())
    finally:
        process.kill()
        process.wait()


def settled(folder: Path) -> None:
    then = time.time() - SETTLE_S - 1
    os.utime(folder, (then, then))


def test_the_folder_of_a_killed_ingest_is_removed_and_one_in_use_stays(tmp_path: Path) -> None:
    with ingest_process(tmp_path) as (killed, dead_folder), ingest_process(tmp_path) as (_running, live_folder):
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        assert (dead_folder / "original").is_file()  # nothing cleaned up after it
        settled(dead_folder)
        settled(live_folder)

        assert remove_abandoned(tmp_path) == 1

        assert not dead_folder.exists()
        assert (live_folder / "original").is_file()


def test_a_folder_just_made_is_left_to_its_owner(tmp_path: Path) -> None:
    with ingest_process(tmp_path) as (killed, folder):
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        assert remove_abandoned(tmp_path) == 0  # its owner may not have locked it yet
        assert folder.is_dir()


def test_a_scratch_folder_is_removed_when_its_ingest_ends(tmp_path: Path) -> None:
    with scratch_folder(tmp_path, "clip-") as folder:
        (folder / "decode").mkdir()
        settled(folder)
        assert remove_abandoned(tmp_path) == 0  # held by this process
    assert list(tmp_path.iterdir()) == []
