"""An embedded archive has one owner process: a second `verity serve`, a local `verity ingest`
or a `verity worker` on the same data folder is refused before it touches anything, told which
process holds the archive."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from storage.owner import take_ownership
from tests.conftest import VERITY, RunningServer, free_port, running_server
from verity.errors import ArchiveInUse
from verity.settings import Settings


def run_beside(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([VERITY, *args], env={**env, "COLUMNS": "200"}, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command", ["serve", "ingest", "worker"])
def test_a_second_process_on_an_embedded_archive_is_refused_naming_the_first(
    server: RunningServer, tmp_path: Path, command: str
) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(os.urandom(50_000))
    args = {"serve": ["serve", "--port", str(free_port())], "ingest": ["ingest", str(clip)], "worker": ["worker"]}
    done = run_beside(server.env, *args[command])
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"in use by process {server.pid} (verity serve --port" in done.stderr
    assert "Traceback" not in done.stderr
    listed = httpx.get(f"{server.url}/api/v1/clips", headers={"Authorization": f"Bearer {server.admin_key}"})
    assert listed.json()["items"] == []  # the refused ingest stored nothing


def test_a_refused_serve_touches_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    owner = take_ownership(Settings(data_dir=data), "investigator's script")
    assert owner is not None
    try:
        env = {**os.environ, "VERITY_DATA_DIR": str(data)}
        env.pop("VERITY_DATABASE_URL", None)
        done = run_beside(env, "serve", "--port", str(free_port()))
    finally:
        owner.release()
    assert done.returncode == 1
    assert f"in use by process {os.getpid()} (investigator's script)" in done.stderr
    assert sorted(p.name for p in data.iterdir()) == ["verity.db.owner"]  # no database, no folders


def test_the_archive_is_free_again_once_its_owner_is_killed(tmp_path: Path) -> None:
    with running_server(tmp_path, {}) as running:
        settings = Settings(data_dir=running.data_dir)
        with pytest.raises(ArchiveInUse, match=f"process {running.pid}"):
            take_ownership(settings)
        os.kill(running.pid, signal.SIGKILL)
        os.waitpid(running.pid, 0)
        owner = take_ownership(settings, "after the crash")
        assert owner is not None
        owner.release()


def test_an_app_that_opens_its_own_archive_takes_ownership_of_it(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app

    settings = Settings(data_dir=tmp_path / "data")
    with TestClient(create_app(settings)), pytest.raises(ArchiveInUse, match=f"process {os.getpid()}"):
        take_ownership(settings)
    owner = take_ownership(settings)  # released when the app stopped
    assert owner is not None
    owner.release()
