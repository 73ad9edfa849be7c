"""Handing footage into a case (issue 11): both upload paths and the CLI take a `case_id`; a caller
who sees only some cases must give one, and only a case where it is a contributor; a resumable
upload is its own key's (or an archive-wide admin's), never a case admin's."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from storage.access import cases_of_clip
from storage.archive import Archive, open_archive
from storage.cases import create_case
from storage.models import Acquisition, CustodyEvent
from tests.conftest import VERITY, auth
from tests.helpers.access import member_key
from tests.helpers.api_calls import row_counts, upload
from verity.settings import Settings


def new_case(client: TestClient, keys: dict[str, str], title: str = "Case A") -> str:
    made = client.post("/api/v1/cases", headers=auth(keys["admin"]), json={"title": title})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def start(client: TestClient, key: str, size: int, **fields: object) -> httpx.Response:
    body = {"filename": "VID_0002.mp4", "size_bytes": size, **fields}
    return client.post("/api/v1/uploads", headers=auth(key), json=body)


def send_all(client: TestClient, key: str, upload_id: str, data: bytes) -> httpx.Response:
    headers = {**auth(key), "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    return client.patch(f"/api/v1/uploads/{upload_id}", headers=headers, content=data)


def acquisition_cases(archive: Archive, clip_id: str) -> list[str | None]:
    with archive.sessions() as session:
        query = select(Acquisition.case_id).where(Acquisition.clip_id == clip_id).order_by(Acquisition.id)
        return list(session.scalars(query))


def test_a_guest_contributor_uploads_into_its_case_and_sees_the_clip(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    case_id = new_case(client, keys)
    guest = member_key(archive, case_id, "contributor")
    answer = upload(client, guest, os.urandom(50_000), case_id=case_id)
    assert answer.status_code == 201, answer.text
    clip_id = answer.json()["id"]
    assert acquisition_cases(archive, clip_id) == [case_id]
    with archive.sessions() as session:
        assert cases_of_clip(session, clip_id) == {case_id}
    seen = client.get(f"/api/v1/clips/{clip_id}", headers=auth(guest))
    assert seen.status_code == 200 and seen.json()["id"] == clip_id
    custody = client.get(f"/api/v1/clips/{clip_id}/custody", headers=auth(keys["admin"])).json()
    assert custody["verified"] and custody["events"][0]["details"]["case_id"] == case_id


def test_a_guest_contributor_hands_a_resumable_upload_into_its_case(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    case_id = new_case(client, keys)
    guest = member_key(archive, case_id, "contributor")
    data = os.urandom(70_000)
    created = start(client, guest, len(data), case_id=case_id)
    assert created.status_code == 201, created.text
    assert created.json()["case_id"] == case_id
    done = send_all(client, guest, created.json()["id"], data)
    assert done.status_code == 201, done.text
    clip_id = done.json()["clip_id"] if "clip_id" in done.json() else done.json()["id"]
    assert acquisition_cases(archive, clip_id) == [case_id]
    assert client.get(f"/api/v1/clips/{clip_id}", headers=auth(guest)).status_code == 200


def test_a_guest_who_gives_no_case_is_told_to_give_one_on_both_paths(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    case_id = new_case(client, keys)
    guest = member_key(archive, case_id, "contributor")
    before = row_counts(archive)
    refused = upload(client, guest, os.urandom(4_000))
    assert refused.status_code == 400 and "case_id" in refused.json()["detail"], refused.text
    declared = start(client, guest, 4_000)
    assert declared.status_code == 400 and "case_id" in declared.json()["detail"], declared.text
    assert row_counts(archive) == before


def test_an_upload_into_a_case_the_guest_is_not_in_is_404_and_a_viewer_case_403(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    mine, other, watched = new_case(client, keys, "A"), new_case(client, keys, "B"), new_case(client, keys, "C")
    guest = member_key(archive, mine, "contributor", person="lawyer")
    member_key(archive, watched, "viewer", person="lawyer")
    before = row_counts(archive)
    for case_id, status in ((other, 404), ("no-such-case", 404), (watched, 403)):
        assert upload(client, guest, os.urandom(4_000), case_id=case_id).status_code == status
        assert start(client, guest, 4_000, case_id=case_id).status_code == status
    assert row_counts(archive) == before


def test_a_duplicate_upload_into_a_case_makes_the_archived_clip_visible_there(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    data = os.urandom(30_000)
    clip_id = upload(client, keys["contributor"], data).json()["id"]
    case_id = new_case(client, keys)
    guest = member_key(archive, case_id, "contributor")
    with archive.sessions() as session:
        assert cases_of_clip(session, clip_id) == set()
    again = upload(client, guest, data, case_id=case_id)
    assert again.status_code == 200 and again.json()["duplicate"] is True, again.text
    assert acquisition_cases(archive, clip_id) == [None, case_id]
    with archive.sessions() as session:
        assert cases_of_clip(session, clip_id) == {case_id}
        actions = session.scalars(select(CustodyEvent).where(CustodyEvent.clip_id == clip_id)).all()
        duplicate = next(event for event in actions if event.action == "acquired_duplicate")
        assert json.loads(duplicate.details)["case_id"] == case_id


def test_a_resumable_upload_is_its_keys_or_an_archive_wide_admins_not_a_case_admins(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    case_id = new_case(client, keys)
    guest = member_key(archive, case_id, "contributor")
    case_admin = member_key(archive, case_id, "admin")
    upload_id = start(client, guest, 10_000, case_id=case_id).json()["id"]
    assert client.get(f"/api/v1/uploads/{upload_id}", headers=auth(guest)).status_code == 200
    assert client.get(f"/api/v1/uploads/{upload_id}", headers=auth(case_admin)).status_code == 404
    assert send_all(client, case_admin, upload_id, os.urandom(10_000)).status_code == 404
    assert client.delete(f"/api/v1/uploads/{upload_id}", headers=auth(case_admin)).status_code == 404
    assert client.get(f"/api/v1/uploads/{upload_id}", headers=auth(keys["admin"])).status_code == 200


@pytest.mark.slow
def test_cli_ingest_case_hands_local_footage_into_the_case(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    archive = open_archive(Settings(data_dir=data_dir), upgrade=True)
    try:
        with archive.sessions.begin() as session:
            case_id = create_case(session, "Case A", "", "open", "admin").id
    finally:
        archive.close()
    clip = tmp_path / "clip.bin"
    clip.write_bytes(os.urandom(20_000))
    env = {**os.environ, "VERITY_DATA_DIR": str(data_dir), "COLUMNS": "200"}

    def ingest(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([VERITY, "ingest", *args], capture_output=True, text=True, env=env, timeout=120)

    unknown = ingest(str(clip), "--case", "no-such-case")
    assert unknown.returncode == 1 and "no case with id no-such-case" in unknown.stderr
    done = ingest(str(clip), "--case", case_id, "--json")
    assert done.returncode == 0, done.stderr
    clip_id = json.loads(done.stdout)["id"]
    archive = open_archive(Settings(data_dir=data_dir))
    try:
        assert acquisition_cases(archive, clip_id) == [case_id]
    finally:
        archive.close()
