"""`verity ingest --server --wait`: the command returns once the server has analysed each file,
with its final status and reason, and fails when a file could not be analysed; the server logs
every analysis that failed."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from tests import media
from tests.conftest import RunningServer
from tests.helpers.investigator import Investigator


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("wait")
    text = folder / "notes.txt"
    text.write_text("a text file, not footage\n" * 100)
    return {
        "clip": media.make_h264_aac(folder / "street.mp4", seconds=2),
        "text": text,
        "undecodable": media.make_undecodable(folder / "undecodable.mp4"),
    }


def clip_of(server: RunningServer, clip_id: str) -> dict[str, str]:
    answer = httpx.get(f"{server.url}/api/v1/clips/{clip_id}", headers={"Authorization": f"Bearer {server.admin_key}"})
    clip: dict[str, str] = answer.json()
    return clip


def test_ingest_wait_returns_once_the_clip_is_analysed(server: RunningServer, footage: dict[str, Path]) -> None:
    verity = Investigator(server, server.admin_key)
    done = verity("ingest", str(footage["clip"]), "--server", server.url, "--wait")
    clip_id = done.stdout.split()[0]
    assert clip_of(server, clip_id)["status"] == "ready"
    assert "street.mp4: ready" in done.stderr, done.stderr


def test_ingest_wait_fails_with_the_reason_when_a_file_cannot_be_analysed(
    server: RunningServer, footage: dict[str, Path]
) -> None:
    verity = Investigator(server, server.admin_key)
    done = verity("ingest", str(footage["clip"]), str(footage["text"]), "--server", server.url, "--wait", ok=False)
    assert done.returncode == 1, done.stderr
    clip_ids = [line.split()[0] for line in done.stdout.strip().splitlines()]
    assert [clip_of(server, clip_id)["status"] for clip_id in clip_ids] == ["ready", "unsupported"]
    reason = clip_of(server, clip_ids[1])["status_reason"]
    assert f"notes.txt: unsupported: {reason}" in done.stderr, done.stderr


def test_ingest_wait_json_gives_each_clip_once_analysed(server: RunningServer, footage: dict[str, Path]) -> None:
    verity = Investigator(server, server.admin_key)
    done = verity(
        "ingest", str(footage["clip"]), str(footage["text"]), "--server", server.url, "--wait", "--json", ok=False
    )
    assert done.returncode == 1, done.stderr
    clips = json.loads(done.stdout)  # several files: a list, in their order
    assert [(clip["filename"], clip["duplicate"]) for clip in clips] == [("street.mp4", False), ("notes.txt", False)]
    for clip in clips:
        served = clip_of(server, clip["id"])
        assert (clip["status"], clip["status_reason"]) == (served["status"], served["status_reason"])
    assert [clip["status"] for clip in clips] == ["ready", "unsupported"]
    assert clips[0]["media"]["duration_s"] == pytest.approx(2, abs=0.5)
    again = json.loads(verity("ingest", str(footage["clip"]), "--server", server.url, "--wait", "--json").stdout)
    assert (again["id"], again["status"], again["duplicate"]) == (clips[0]["id"], "ready", True)


def test_ingest_wait_of_a_duplicate_reports_the_archived_status(
    server: RunningServer, footage: dict[str, Path]
) -> None:
    verity = Investigator(server, server.admin_key)
    verity("ingest", str(footage["text"]), "--server", server.url, "--wait", ok=False)
    again = verity("ingest", str(footage["text"]), "--server", server.url, "--wait", ok=False)
    assert again.returncode == 1 and "notes.txt: unsupported:" in again.stderr, again.stderr


def test_the_server_logs_each_failed_analysis_with_clip_id_and_reason(
    server: RunningServer, footage: dict[str, Path], tmp_path: Path
) -> None:
    api = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.admin_key}"}, timeout=60)
    for name in ("undecodable", "text"):
        path = footage[name]
        clip_id = api.post("/api/v1/clips", files={"file": (path.name, path.read_bytes())}).json()["id"]
        deadline = time.monotonic() + 90
        while (clip := api.get(f"/api/v1/clips/{clip_id}").json())["status"] in ("queued", "processing"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert clip["status"] in ("failed", "unsupported")
        wanted = f"analysis of clip {clip_id} ended {clip['status']}: {clip['status_reason']}"
        log = next(tmp_path.glob("serve-*.log"))
        while wanted not in log.read_text():  # the line comes right after the status is stored
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
