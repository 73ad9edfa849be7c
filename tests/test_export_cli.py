"""`verity export` against a real `verity serve`: a case becomes one zip on disk whose verify.py
passes; a refused or failed export exits 1 with the reason."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import httpx
import pytest

from tests import media
from tests.conftest import RunningServer
from tests.helpers.exports import SYSTEM_PYTHON
from tests.helpers.investigator import Investigator

pytestmark = pytest.mark.slow  # a real `verity serve`


def test_export_of_a_case_writes_a_bag_zip_that_verifies(server: RunningServer, tmp_path: Path) -> None:
    api = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.admin_key}"}, timeout=60)
    clip = media.make_silent_clip(tmp_path / "clip.mp4", seconds=3)
    verity = Investigator(server, server.admin_key)
    clip_id = verity("ingest", str(clip), "--wait").stdout.split()[0]
    incident_id = (
        verity(
            "incident", "create", "--title", "Shelling", "--starts-at", "2019-11-16T14:00:00Z", "--precision", "hour"
        )
        .stdout.strip()
        .split()[-1]
    )
    verity("link", clip_id, incident_id, "--from", "0", "--to", "2")
    case_id = verity("case", "create", "--title", "Case", "--incident", incident_id).stdout.strip().split()[-1]
    out = tmp_path / "case.zip"
    saved = verity("export", "--case", case_id, "-o", str(out))
    assert saved.stdout.startswith(f"{out}  sha256 ") and "1 clips" in saved.stdout
    with zipfile.ZipFile(out) as bag_zip:
        assert any(name.endswith("/verify.py") for name in bag_zip.namelist())
    checked = subprocess.run(
        [SYSTEM_PYTHON, "-I", "-"],
        input=_verify_py(out),
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert "verdict: OK" in checked.stdout, checked.stdout + checked.stderr
    again = verity("export", "--case", case_id, "-o", str(out), ok=False)
    assert again.returncode == 1 and "already exists" in again.stderr
    custody = api.get(f"/api/v1/clips/{clip_id}/custody").json()
    assert [event["action"] for event in custody["events"]].count("exported") == 1


def _verify_py(bag_zip: Path) -> str:
    """A script that runs the bag's own verify.py on the zip, as a recipient would."""
    return (
        "import zipfile, runpy, sys, tempfile, pathlib\n"
        f"z = zipfile.ZipFile({str(bag_zip)!r}); d = tempfile.mkdtemp(); z.extractall(d)\n"
        "bag = next(pathlib.Path(d).iterdir())\n"
        "sys.argv = ['verify.py', str(bag)]\n"
        "runpy.run_path(str(bag / 'verify.py'), run_name='__main__')\n"
    )


def test_export_by_a_contributor_is_refused_with_the_reason(server: RunningServer, tmp_path: Path) -> None:
    api = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.admin_key}"}, timeout=60)
    key = api.post("/api/v1/keys", json={"name": "helper", "role": "contributor"}).json()["key"]
    refused = Investigator(server, key)("export", "--clip", "x", "-o", str(tmp_path / "x.zip"), ok=False)
    assert refused.returncode == 1 and "export needs the admin or analyst role" in refused.stderr
    assert not (tmp_path / "x.zip").exists()
