"""ffmpeg and ffprobe die with the process that started them, even one killed with -9: a server
or worker killed mid-analysis must not leave them running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

# Each starts the tool on a FIFO nobody writes to: it blocks opening it, for as long as it lives.
RUNS = {
    "ffprobe": "from ingest.ffmpeg import Limits, run_ffprobe\nrun_ffprobe(FIFO, Limits(600, 1024))",
    "ffmpeg": (
        "from ingest.decode import decode\nfrom ingest.ffmpeg import DecodePlan, Limits\n"
        "decode(FIFO, DecodePlan(10, 0.3, 320, 2, 64), WORK, Limits(600, 1024))"
    ),
}


def wait_for_child(parent: psutil.Process, name: str, timeout_s: float = 60) -> psutil.Process:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for child in parent.children(recursive=True):
            try:
                if child.name() == name:
                    return child
            except psutil.NoSuchProcess:
                continue
        time.sleep(0.05)
    raise AssertionError(f"{name} did not start within {timeout_s} s")


@pytest.mark.parametrize("tool", ["ffprobe", "ffmpeg"])
def test_the_tool_dies_when_the_process_running_it_is_killed(tmp_path: Path, tool: str) -> None:
    fifo = tmp_path / "never-written.mp4"
    os.mkfifo(fifo)
    (tmp_path / "work").mkdir()
    script = (
        f"from pathlib import Path\nFIFO = Path({str(fifo)!r})\nWORK = Path({str(tmp_path / 'work')!r})\n" + RUNS[tool]
    )
    runner = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[2])
    try:
        child = wait_for_child(psutil.Process(runner.pid), tool)
        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=30)
        try:
            child.wait(timeout=30)
        except psutil.TimeoutExpired:
            child.kill()
            raise AssertionError(f"{tool} (pid {child.pid}) outlived the process killed with -9") from None
    finally:
        if runner.poll() is None:
            runner.kill()
