"""Trusted timestamps in the scaled deployment: a real `verity serve` with
VERITY_JOB_RUNNER=procrastinate queues each original's stamp, a real `verity worker` asks the
loopback TSA for it, and the worker's periodic task anchors the chains that moved."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import VERITY, auth, running_process, running_server
from tests.helpers.tsa import LoopbackTsa

pytestmark = pytest.mark.slow  # real workers and servers


def wait_for(client: httpx.Client, path: str, done: Any, timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = client.get(path).json()
        if done(body):
            return body
        time.sleep(0.2)
    raise AssertionError(f"{path} still {body} after {timeout_s} s")


def test_a_worker_stamps_each_original_and_anchors_the_chains_on_its_schedule(
    postgres_url: str, tsa: LoopbackTsa, tmp_path: Path
) -> None:
    env = {
        "VERITY_DATABASE_URL": postgres_url,
        "VERITY_JOB_RUNNER": "procrastinate",
        "VERITY_TIMESTAMP_URLS": tsa.url,
        "VERITY_TIMESTAMP_CA_FILE": str(tsa.certificates.ca_pem),
        "VERITY_ANCHOR_INTERVAL_S": "1",
    }
    with (
        running_server(tmp_path, env) as server,
        running_process([VERITY, "worker"], server.env, tmp_path / "worker.log"),
        httpx.Client(base_url=server.url, headers=auth(server.admin_key), timeout=60) as client,
    ):
        created = client.post("/api/v1/clips", files={"file": ("clip.mp4", b"scaled footage " * 200, "video/mp4")})
        assert created.status_code == 201, created.text
        clip_id = created.json()["id"]
        clip = wait_for(client, f"/api/v1/clips/{clip_id}", lambda body: body["timestamp"]["state"] == "stamped", 60)
        assert clip["timestamp"]["tsa"] == tsa.url
        # procrastinate looks at periodic tasks each minute: the clip's chain is anchored by the next.
        anchors = wait_for(client, "/api/v1/anchors", lambda body: body["total"] >= 1, 90)
        assert anchors["items"][0]["chain_count"] >= 1
    assert "verity.timestamp[" in (tmp_path / "worker.log").read_text()
