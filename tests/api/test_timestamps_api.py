"""Trusted timestamps through the API, against the loopback TSA: each original stamped at ingest
(embedded and scaled), its token downloadable and verifiable with openssl and rfc3161-client, a
TSA that is down leaving the stamp pending until it is back, and no TSA saying so."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from storage.archive import Archive
from tests.conftest import auth
from tests.helpers.api_calls import upload, wait_for_stamp
from tests.helpers.tsa import LoopbackTsa, openssl_verify, stamping
from verity.timestamp_tokens import verify_stored_token


@pytest.fixture
def stamped_client(archive: Archive, tsa: LoopbackTsa) -> Iterator[TestClient]:
    """The app over an archive stamping with the loopback TSA, pending stamps retried quickly."""
    stamping(archive, tsa, timestamp_retry_initial_s=0.2, timestamp_retry_max_s=0.5)
    with TestClient(create_app(archive=archive)) as test_client:
        yield test_client


def test_an_original_is_stamped_at_ingest_by_the_configured_authority(
    stamped_client: TestClient, keys: dict[str, str], tsa: LoopbackTsa
) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    created = upload(stamped_client, keys["contributor"], b"witness footage " * 100).json()
    assert created["timestamp"]["state"] in ("pending", "stamped")
    stamp = wait_for_stamp(stamped_client, keys["viewer"], created["id"], "stamped")
    assert stamp["tsa"] == tsa.url
    assert stamp["reason"] is None
    asserted = datetime.fromisoformat(stamp["time"])
    assert before - timedelta(seconds=2) <= asserted <= datetime.now(UTC) + timedelta(seconds=2)
    custody = stamped_client.get(f"/api/v1/clips/{created['id']}/custody", headers=auth(keys["viewer"])).json()
    stamped = [event for event in custody["events"] if event["action"] == "timestamped"]
    assert [event["details"]["sha256"] for event in stamped] == [created["sha256"]]
    assert custody["verified"] is True


def test_a_clips_token_verifies_with_openssl_and_rfc3161_client(
    stamped_client: TestClient, keys: dict[str, str], tsa: LoopbackTsa, tmp_path: Path
) -> None:
    created = upload(stamped_client, keys["contributor"], b"a second clip " * 100).json()
    wait_for_stamp(stamped_client, keys["viewer"], created["id"], "stamped")
    answer = stamped_client.get(f"/api/v1/clips/{created['id']}/timestamp", headers=auth(keys["viewer"]))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/timestamp-reply"
    verified = openssl_verify(answer.content, created["sha256"], tsa, tmp_path)
    assert verified.returncode == 0, verified.stderr
    assert "Verification: OK" in verified.stdout
    certificates = stamped_client.get(
        f"/api/v1/clips/{created['id']}/timestamp/certificates", headers=auth(keys["viewer"])
    ).text
    assert certificates.count("BEGIN CERTIFICATE") == 2  # the TSA's, then the root's
    checked = verify_stored_token(answer.content, created["sha256"], tsa.certificates.ca_pem.read_bytes())
    assert checked.tsa_certs_pem == tsa.certificates.tsa_pem.read_text()
    other = "0" * 64
    assert openssl_verify(answer.content, other, tsa, tmp_path).returncode != 0


def test_an_unreachable_authority_leaves_the_stamp_pending_until_it_is_back(
    stamped_client: TestClient, keys: dict[str, str], tsa: LoopbackTsa
) -> None:
    tsa.mode = "down"
    created = upload(stamped_client, keys["contributor"], b"uploaded while the TSA is down " * 50).json()
    deadline = time.monotonic() + 30
    while True:
        stamp = stamped_client.get(f"/api/v1/clips/{created['id']}", headers=auth(keys["viewer"])).json()["timestamp"]
        if stamp["reason"] is not None or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert stamp["state"] == "pending"
    assert tsa.url in stamp["reason"] and "not reachable" in stamp["reason"]
    assert stamp["next_attempt_at"] is not None
    tsa.mode = "ok"
    stamped = wait_for_stamp(stamped_client, keys["viewer"], created["id"], "stamped")
    assert stamped["tsa"] == tsa.url
    assert stamped["next_attempt_at"] is None


def test_without_an_authority_a_clip_says_timestamp_not_configured(client: TestClient, keys: dict[str, str]) -> None:
    created = upload(client, keys["contributor"], b"no TSA here " * 100).json()
    assert created["timestamp"] == {
        "state": "not configured",
        "tsa": None,
        "time": None,
        "reason": None,
        "next_attempt_at": None,
    }
    shown = client.get(f"/api/v1/clips/{created['id']}", headers=auth(keys["viewer"])).json()
    assert shown["timestamp"]["state"] == "not configured"
    token = client.get(f"/api/v1/clips/{created['id']}/timestamp", headers=auth(keys["viewer"]))
    assert token.status_code == 404
    assert "not configured" in token.json()["detail"]
    assert client.post("/api/v1/anchors", headers=auth(keys["admin"])).status_code == 409
