"""`verity fixity` on the local archive and through a server: it checks what it is asked to, says
where the audits stand, and exits 1 naming each clip that failed."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from storage.archive import open_archive
from storage.models import Clip
from tests.conftest import VERITY, RunningServer, scaled_settings_env
from tests.helpers.evidence import archived_clip
from verity.settings import Settings


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([VERITY, "fixity", *args], capture_output=True, text=True, env=env, timeout=120)


def local_env(data_dir: Path) -> dict[str, str]:
    env = {**os.environ, "VERITY_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    env.pop("VERITY_SERVER", None)
    return env


def archive_with_one_broken_clip(data_dir: Path, settings: Settings | None = None) -> tuple[str, str]:
    """Two clips in a new archive (embedded in `data_dir` unless `settings` say otherwise), the
    second's original deleted: their ids."""
    archive = open_archive(settings or Settings(data_dir=data_dir), upgrade=True)
    try:
        intact, _ = archived_clip(archive)
        broken, _ = archived_clip(archive)
        with archive.sessions() as session:
            archive.blobs.delete(session.get_one(Clip, broken).blob_key)
        return intact, broken
    finally:
        archive.close()


def test_fixity_all_audits_every_clip_and_exits_1_naming_the_failed_one(tmp_path: Path) -> None:
    intact, broken = archive_with_one_broken_clip(tmp_path)
    result = run(["--all"], local_env(tmp_path))
    assert result.returncode == 1
    assert f"{intact}  ok" in result.stdout and f"{broken}  FAILED" in result.stdout
    assert "2 clips checked" in result.stdout
    [verdict] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert verdict.startswith(
        f"error: 1 clip FAILED the fixity check: {broken} (VID_0001.mp4): the original is missing"
    )
    assert intact not in verdict


def test_fixity_without_options_reports_the_last_audit_and_the_failing_clips(tmp_path: Path) -> None:
    _intact, broken = archive_with_one_broken_clip(tmp_path)
    run(["--all"], local_env(tmp_path))
    result = run([], local_env(tmp_path))
    assert result.returncode == 1
    assert "2 clips checked, 1 failed" in result.stdout
    assert "clips failing now: 1" in result.stdout
    assert broken in result.stderr


def test_fixity_of_an_intact_clip_exits_0(tmp_path: Path) -> None:
    intact, _broken = archive_with_one_broken_clip(tmp_path)
    result = run(["--clip", intact], local_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert f"{intact}  ok" in result.stdout


def test_fixity_through_a_server_checks_a_clip_and_reports(server: RunningServer, tmp_path: Path) -> None:
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    uploaded = httpx.post(
        f"{server.url}/api/v1/clips", headers=headers, files={"file": ("a.mp4", os.urandom(10_000), "video/mp4")}
    )
    clip_id = uploaded.json()["id"]
    env = {**os.environ, "VERITY_SERVER": server.url, "VERITY_API_KEY": server.admin_key}
    checked = run(["--clip", clip_id], env)
    assert checked.returncode == 0, checked.stderr
    assert f"{clip_id}  ok  a.mp4" in checked.stdout
    report = run([], env)
    assert report.returncode == 0 and "clips failing now: 0" in report.stdout
    refused = run(["--all"], env)
    assert refused.returncode == 1 and "without --server" in refused.stderr


@pytest.mark.slow
def test_fixity_all_on_a_scaled_archive_names_the_failed_clip(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**local_env(tmp_path), **scaled_settings_env(request)}
    for name, value in env.items():
        if name.startswith("VERITY_"):
            monkeypatch.setenv(name, value)
    intact, broken = archive_with_one_broken_clip(tmp_path, Settings())
    result = run(["--all"], env)
    assert result.returncode == 1, result.stderr
    assert f"{intact}  ok" in result.stdout and f"{broken}  FAILED" in result.stdout
