"""Finding clips and incidents by status, time, place, device, uploader, source, incident, case
and copies; paginated with totals."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests import media
from tests.conftest import auth
from tests.helpers.api_calls import INCIDENT, upload, wait_until_done


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("search")
    return {
        "tagged": media.make_tagged_clip(folder / "tagged.mov"),
        "plain": media.make_silent_clip(folder / "plain.mp4"),
    }


def ids(client: TestClient, key: str, query: str) -> set[str]:
    response = client.get(f"/api/v1/clips?{query}", headers=auth(key))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["items"])
    return {c["id"] for c in body["items"]}


def test_clips_are_found_by_what_the_file_and_the_uploader_say(
    client: TestClient, keys: dict[str, str], files: dict[str, Path]
) -> None:
    tagged = upload(client, keys["contributor"], files["tagged"].read_bytes(), source="Witness in Tehran").json()["id"]
    plain = upload(client, keys["admin"], files["plain"].read_bytes(), captured_at="2019-11-17T09:00:00Z").json()["id"]
    for clip_id in (tagged, plain):
        assert wait_until_done(client, keys["viewer"], clip_id)["status"] == "ready"
    viewer = keys["viewer"]
    assert ids(client, viewer, "status=ready") == {tagged, plain}
    assert ids(client, viewer, "bbox=35.6,51.2,35.8,51.5") == {tagged}
    assert ids(client, viewer, "bbox=40,0,41,1") == set()
    assert ids(client, viewer, "device_make=apple&device_model=iPhone") == {tagged}
    assert ids(client, viewer, "recorded_from=2019-11-16T00:00:00Z&recorded_to=2019-11-16T23:59:59Z") == {tagged}
    assert ids(client, viewer, "captured_from=2019-11-17T00:00:00Z") == {plain}
    # Who handed a clip in and from where are for holders of the sources permission (admins) to search by.
    assert ids(client, keys["admin"], "uploader=admin-key") == {plain}
    assert ids(client, keys["admin"], "source=tehran") == {tagged}
    assert ids(client, viewer, "uploader=admin-key") == ids(client, viewer, "source=tehran") == set()
    assert ids(client, viewer, "verification_status=unverified") == {tagged, plain}
    assert client.get("/api/v1/clips?bbox=1,2,3", headers=auth(viewer)).status_code == 400

    incident = client.post("/api/v1/incidents", headers=auth(keys["contributor"]), json=INCIDENT).json()["id"]
    client.post(f"/api/v1/incidents/{incident}/clips", headers=auth(keys["contributor"]), json={"clip_id": plain})
    case = client.post("/api/v1/cases", headers=auth(keys["contributor"]), json={"title": "report"}).json()["id"]
    client.put(f"/api/v1/cases/{case}/incidents/{incident}", headers=auth(keys["contributor"]))
    assert ids(client, viewer, f"incident_id={incident}") == {plain}
    assert ids(client, viewer, f"case_id={case}") == {plain}
    for name in ("incident_id", "case_id"):  # a typo in an id is reported, not answered with nothing
        missing = client.get("/api/v1/clips", headers=auth(viewer), params={name: "no-such-id"})
        assert missing.status_code == 404 and "no-such-id" in missing.json()["detail"]

    # Both clips are made from the same generated footage, so ingest found each a copy of the other.
    assert ids(client, viewer, "has_near_duplicates=true") == {tagged, plain}
    assert ids(client, viewer, "has_near_duplicates=false") == set()
    page = client.get("/api/v1/clips?limit=1&offset=1", headers=auth(viewer)).json()
    assert page["total"] == 2 and [c["id"] for c in page["items"]] == [tagged]


def test_incidents_are_found_by_time_place_tag_and_text(client: TestClient, keys: dict[str, str]) -> None:
    key = auth(keys["contributor"])
    tehran = client.post("/api/v1/incidents", headers=key, json=INCIDENT).json()["id"]
    shiraz = client.post(
        "/api/v1/incidents",
        headers=key,
        json={
            "title": "Funeral procession",
            "description": "crowd dispersed with tear gas",
            "starts_at": "2019-11-18T10:00:00Z",
            "ends_at": "2019-11-18T12:00:00Z",
            "lat": 29.59,
            "lon": 52.58,
            "tags": ["tear gas"],
        },
    ).json()["id"]

    def found(query: str) -> set[str]:
        body = client.get(f"/api/v1/incidents?{query}", headers=auth(keys["viewer"])).json()
        assert body["total"] == len(body["items"])
        return {i["id"] for i in body["items"]}

    assert found("") == {tehran, shiraz}
    assert found("time_from=2019-11-18T11:00:00Z") == {shiraz}
    assert found("time_to=2019-11-17T00:00:00Z") == {tehran}
    assert found("bbox=29,52,30,53") == {shiraz}
    assert found("tag=shooting") == {tehran}
    assert found("q=TEAR") == {shiraz}


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/v1/clips", "recorded_from"),
        ("/api/v1/clips", "recorded_to"),
        ("/api/v1/clips", "captured_from"),
        ("/api/v1/clips", "captured_to"),
        ("/api/v1/incidents", "time_from"),
        ("/api/v1/incidents", "time_to"),
    ],
)
def test_a_time_filter_without_a_zone_is_refused(
    client: TestClient, keys: dict[str, str], path: str, parameter: str
) -> None:
    response = client.get(path, headers=auth(keys["viewer"]), params={parameter: "2019-11-16T14:15:00"})
    assert response.status_code == 400, response.text
    assert response.json()["detail"].startswith(f"{parameter} needs a time zone, e.g. ")


@pytest.mark.parametrize(("parameter", "value"), [("status", "bogus"), ("verification_status", "approved")])
def test_a_misspelled_status_filter_is_refused(
    client: TestClient, keys: dict[str, str], parameter: str, value: str
) -> None:
    response = client.get("/api/v1/clips", headers=auth(keys["viewer"]), params={parameter: value})
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(f"{parameter}: Input should be ")


def test_an_incident_without_an_end_covers_what_its_precision_leaves_open(
    client: TestClient, keys: dict[str, str]
) -> None:
    key = auth(keys["contributor"])
    made = {}
    for precision in ("exact", "hour", "day"):
        body = {"title": precision, "starts_at": "2019-11-16T14:00:00Z", "time_precision": precision}
        made[precision] = client.post("/api/v1/incidents", headers=key, json=body).json()["id"]

    def found(time_from: str, time_to: str) -> set[str]:
        params = {"time_from": time_from, "time_to": time_to}
        items = client.get("/api/v1/incidents", headers=key, params=params).json()["items"]
        return {precision for precision, incident_id in made.items() if incident_id in {i["id"] for i in items}}

    assert found("2019-11-16T14:00:00Z", "2019-11-16T14:00:00Z") == {"exact", "hour", "day"}
    assert found("2019-11-16T14:30:00Z", "2019-11-16T14:45:00Z") == {"hour", "day"}  # within the hour
    assert found("2019-11-16T20:00:00Z", "2019-11-16T21:00:00Z") == {"day"}
    assert found("2019-11-17T15:00:00Z", "2019-11-17T16:00:00Z") == set()
    # A later edit that gives an end replaces what the precision left open.
    hour = client.get(f"/api/v1/incidents/{made['hour']}", headers=key)
    client.patch(
        f"/api/v1/incidents/{made['hour']}",
        headers={**key, "If-Match": hour.headers["etag"]},
        json={"ends_at": "2019-11-16T18:00:00Z"},
    )
    assert found("2019-11-16T17:00:00Z", "2019-11-16T17:30:00Z") == {"hour", "day"}
