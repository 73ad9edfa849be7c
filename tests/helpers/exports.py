"""Exports as the tests take them: wait for the job, download and unpack the bag, and run its
verify.py as a recipient would: the system's python3, outside Verity's virtualenv, clean env."""

from __future__ import annotations

import io
import subprocess
import time
import zipfile
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import auth

SYSTEM_PYTHON = "/usr/bin/python3"


def wait_for_export(client: TestClient, key: str, export_id: str, timeout_s: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(f"/api/v1/exports/{export_id}", headers=auth(key)).json()
        if body["status"] in ("ready", "failed"):
            return body
        time.sleep(0.1)
    raise AssertionError(f"export {export_id} still {body['status']} after {timeout_s} s")


def export_and_wait(client: TestClient, key: str, **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/exports", headers=auth(key), json=body)
    assert response.status_code == 202, response.text
    return wait_for_export(client, key, response.json()["id"])


def unpack(data: bytes, folder: Path) -> Path:
    """The bag's folder, unpacked from its zip under `folder`."""
    with zipfile.ZipFile(io.BytesIO(data)) as bag_zip:
        tops = {name.split("/", 1)[0] for name in bag_zip.namelist()}
        assert len(tops) == 1, f"a bag zip holds one folder, not {sorted(tops)}"
        bag_zip.extractall(folder)
    return folder / tops.pop()


def run_verify(bag: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """verify.py of the bag, run by the system's python3 with nothing of Verity's environment."""
    return subprocess.run(
        [SYSTEM_PYTHON, "-I", str(bag / "verify.py"), *args],
        cwd=bag,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        capture_output=True,
        text=True,
        timeout=120,
    )
