"""The `verity` command run on a local archive (VERITY_DATA_DIR, never a server), for the tests of
the commands that work there: users, keys create, case share|unshare|members."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import VERITY


def run(args: list[str], data_dir: Path, stdin: str = "", ok: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VERITY_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    env.pop("VERITY_SERVER", None)
    result = subprocess.run([VERITY, *args], capture_output=True, text=True, env=env, input=stdin, timeout=120)
    if ok and result.returncode != 0:
        raise AssertionError(f"verity {args} failed: {result.stdout}{result.stderr}")
    return result
