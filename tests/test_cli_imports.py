"""A `verity` command that only asks a server starts without the server's and the archive's code."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("fastapi", "sqlalchemy", "storage", "ingest", "api.schemas", "rfc3161_client", "numpy", "pydantic_settings")


def test_the_cli_loads_without_the_archive_and_server_code() -> None:
    probe = f"import sys, api.cli; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert loaded == [], f"importing api.cli loads {loaded}: import them inside the commands that need them"
