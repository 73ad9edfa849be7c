"""What the media says, truthfully, through the API: recorded times without a zone, the integrity
of files that promise more than they hold."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests import media
from tests.conftest import auth
from tests.helpers.api_calls import clip_ids, upload_analysed


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("media-truth")
    whole = media.make_in_container(folder / "whole.mkv", "mkv")
    cut = folder / "cut.mkv"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    return {
        "zoneless": media.make_zoneless_clip(folder / "zoneless.avi", "2012-09-10T20:52:00"),
        "utc": media.make_clip_recorded_at(folder / "utc.mov", "2012-09-10T12:00:00Z"),
        "later": media.make_clip_recorded_at(folder / "later.mov", "2012-09-11T12:00:00Z"),
        "whole": whole,
        "cut": cut,
    }


def test_zoneless_recorded_time_is_found_by_any_range_it_could_fall_in(
    client: TestClient, keys: dict[str, str], files: dict[str, Path]
) -> None:
    clip = upload_analysed(client, keys, files["zoneless"])
    assert clip["recorded"] == {
        "at": "2012-09-10T20:52:00",
        "zone_known": False,
        "earliest": "2012-09-10T06:52:00Z",  # as if written at UTC+14
        "latest": "2012-09-11T08:52:00Z",  # as if written at UTC−12
    }
    viewer = keys["viewer"]
    assert clip_ids(client, viewer, "recorded_from=2012-01-01T00:00:00Z&recorded_to=2013-01-01T00:00:00Z") == [
        clip["id"]
    ]
    # 20:52 local could be 08:00Z the next morning (UTC−12) or 07:00Z that morning (UTC+14)...
    assert clip_ids(client, viewer, "recorded_from=2012-09-11T08:00:00Z") == [clip["id"]]
    assert clip_ids(client, viewer, "recorded_to=2012-09-10T07:00:00Z") == [clip["id"]]
    # ...but under no zone on Earth after 08:52Z the next day, or before 06:52Z that day.
    assert clip_ids(client, viewer, "recorded_from=2012-09-11T09:00:00Z") == []
    assert clip_ids(client, viewer, "recorded_to=2012-09-10T06:50:00Z") == []


def test_zoned_recorded_time_matches_only_its_instant(
    client: TestClient, keys: dict[str, str], files: dict[str, Path]
) -> None:
    clip = upload_analysed(client, keys, files["utc"])
    assert clip["recorded"]["zone_known"] is True
    assert clip["recorded"]["earliest"] == clip["recorded"]["latest"] == "2012-09-10T12:00:00Z"
    viewer = keys["viewer"]
    assert clip_ids(client, viewer, "recorded_from=2012-09-10T11:59:00Z&recorded_to=2012-09-10T12:01:00Z") == [
        clip["id"]
    ]
    assert clip_ids(client, viewer, "recorded_from=2012-09-10T12:01:00Z") == []


def test_clips_sort_by_recorded_time_with_zoneless_ones_by_their_clock(
    client: TestClient, keys: dict[str, str], files: dict[str, Path]
) -> None:
    later = upload_analysed(client, keys, files["later"])["id"]  # 2012-09-11 12:00Z
    zoneless = upload_analysed(client, keys, files["zoneless"])["id"]  # 2012-09-10 20:52, zone unknown
    utc = upload_analysed(client, keys, files["utc"])["id"]  # 2012-09-10 12:00Z
    unrecorded = upload_analysed(client, keys, files["whole"])["id"]  # says nothing: last
    viewer = keys["viewer"]
    assert clip_ids(client, viewer, "order=recorded") == [later, zoneless, utc, unrecorded]
    assert clip_ids(client, viewer, "") == [unrecorded, utc, zoneless, later]  # received, newest first
    assert client.get("/api/v1/clips?order=filename", headers=auth(viewer)).status_code == 422


def test_cut_clip_shows_its_integrity_and_is_found_by_it(
    client: TestClient, keys: dict[str, str], files: dict[str, Path]
) -> None:
    cut = upload_analysed(client, keys, files["cut"])
    whole = upload_analysed(client, keys, files["whole"])
    integrity = cut["integrity"]
    assert isinstance(integrity, dict)
    assert integrity["declared_duration_s"] == pytest.approx(4.0, abs=0.05)
    assert integrity["decoded_duration_s"] < 2.5
    assert any(w.endswith("decode: the file is probably truncated") for w in integrity["warnings"])
    assert whole["integrity"]["warnings"] == []  # type: ignore[index]
    viewer = keys["viewer"]
    assert clip_ids(client, viewer, "has_integrity_warnings=true") == [cut["id"]]
    assert clip_ids(client, viewer, "has_integrity_warnings=false") == [whole["id"]]


@pytest.mark.parametrize("moment", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+01:00"])
def test_impossible_creation_date_is_a_metadata_warning_and_the_analysis_runs(
    client: TestClient, keys: dict[str, str], files: dict[str, Path], tmp_path: Path, moment: str
) -> None:
    """Years 10000 and 0 once converted to UTC: the tag is reported, everything else is analysed."""
    original = upload_analysed(client, keys, files["utc"])  # the same footage with a sound date
    impossible = media.make_clip_recorded_at(tmp_path / "impossible.mov", moment)
    verified = client.post(
        "/api/v1/verify", headers=auth(keys["viewer"]), files={"file": ("q.mov", impossible.read_bytes())}
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["not_analysed"] is None
    assert [m["clip_id"] for m in verified.json()["near_duplicates"]] == [original["id"]]

    clip = upload_analysed(client, keys, impossible)
    [warning] = clip["media"]["warnings"]  # type: ignore[index]
    assert moment in warning and "not a possible date-time" in warning
    events = client.get(f"/api/v1/clips/{clip['id']}/custody", headers=auth(keys["viewer"])).json()["events"]
    actions = [e["action"] for e in events]
    assert "fingerprinted" in actions and actions[-1] == "ingest_finished"
    assert [e["details"]["warnings"] for e in events if e["action"] == "probed"] == [[warning]]
    related = client.get(f"/api/v1/clips/{clip['id']}/related", headers=auth(keys["viewer"])).json()
    assert [r["clip_id"] for r in related["related"]] == [original["id"]]
