"""The `verity` command run as a person at a terminal would, for the CLI tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import VERITY, RunningServer


class Investigator:
    """Runs `verity` as a person at a terminal would, against one server."""

    def __init__(self, server: RunningServer, key: str) -> None:
        self.server, self.key = server, key

    def __call__(
        self, *args: str, ok: bool = True, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {**self.server.env, "VERITY_SERVER": self.server.url, "VERITY_API_KEY": self.key, **(env or {})}
        result = subprocess.run([VERITY, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120)
        if ok and result.returncode != 0:
            raise AssertionError(f"verity {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result

    def as_key(self, key: str) -> Investigator:
        return Investigator(self.server, key)
