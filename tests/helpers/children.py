"""Server processes the test session starts: each in a session of its own (so a Ctrl-C at the
terminal reaches pytest, which stops them in order) and bound to die with pytest (so a pytest
killed with -9 leaves no server behind)."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def dying_with_this_process(death_signal: signal.Signals) -> Callable[[], None]:
    """A `preexec_fn` that has the kernel send `death_signal` to the child once this process is
    gone. It runs after Popen's user switch, which would otherwise clear the setting."""
    parent = os.getpid()

    def arrange() -> None:
        if _libc.prctl(_PR_SET_PDEATHSIG, int(death_signal), 0, 0, 0) != 0:
            os._exit(127)
        if os.getppid() != parent:  # the parent died before the setting took hold
            os._exit(1)

    return arrange


def start_server(
    command: list[str], log_path: Path, death_signal: signal.Signals, user: str | None = None, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """`command` running with its output in `log_path`, as `user` if given (for servers that
    refuse to run as root)."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            user=user,
            group=user,
            extra_groups=[] if user else None,
            preexec_fn=dying_with_this_process(death_signal),
        )


def stop_server(process: subprocess.Popen[bytes], stop_signal: signal.Signals, timeout_s: float = 60) -> None:
    """Ask the server to stop; kill it if it has not within `timeout_s`."""
    if process.poll() is None:
        process.send_signal(stop_signal)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout_s)
