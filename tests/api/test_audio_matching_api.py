"""Sound as a matching signal through the API: /related, /verify and the CLI say which signal
matched, for a copy whose pictures were replaced and its sound kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import auth
from tests.helpers.api_calls import upload_analysed
from tests.helpers.sound import make_sound_footage


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_sound_footage(tmp_path_factory.mktemp("sound-api"))


def test_related_says_a_copy_with_replaced_pictures_was_found_by_its_sound(
    client: TestClient, keys: dict[str, str], footage: dict[str, Path]
) -> None:
    original = upload_analysed(client, keys, footage["original"])["id"]
    copy = upload_analysed(client, keys, footage["resound"])["id"]
    same_pictures = upload_analysed(client, keys, footage["same_pictures"])["id"]
    body = client.get(f"/api/v1/clips/{original}/related", headers=auth(keys["viewer"])).json()
    found = {related["clip_id"]: related for related in body["related"]}
    assert found[copy]["signals"] == ["audio"] and found[same_pictures]["signals"] == ["picture"]
    [segment] = found[copy]["segments"]  # in the original's time: its sound from 5 s on
    assert segment["query_start_s"] == pytest.approx(5, abs=1) and segment["clip_start_s"] == pytest.approx(0, abs=1)


def test_verify_finds_the_original_of_a_file_whose_pictures_were_replaced_by_its_sound(
    client: TestClient, keys: dict[str, str], footage: dict[str, Path]
) -> None:
    original = upload_analysed(client, keys, footage["original"])["id"]
    with footage["resound"].open("rb") as handle:
        answer = client.post("/api/v1/verify", headers=auth(keys["viewer"]), files={"file": ("q.mp4", handle)})
    assert answer.status_code == 200, answer.text
    [near] = answer.json()["near_duplicates"]
    assert near["clip_id"] == original and near["signals"] == ["audio"]
    [segment] = near["segments"]
    assert segment["clip_start_s"] - segment["query_start_s"] == pytest.approx(5, abs=1)
