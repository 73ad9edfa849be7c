"""Malformed, oversized and careless JSON bodies: each gets a 4xx that says what is wrong and
where, never a 500, never a value silently stored, never the whole input echoed back."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from storage.archive import Archive
from tests.conftest import auth

INCIDENT = {"title": "Shooting at the bank", "starts_at": "2019-11-16T14:00:00+03:30"}


def post_raw(client: TestClient, key: str, path: str, raw: str | bytes, content_type: str | None = "application/json"):  # type: ignore[no-untyped-def]
    headers = auth(key) | ({"Content-Type": content_type} if content_type else {})
    return client.post(path, headers=headers, content=raw.encode() if isinstance(raw, str) else raw)


def incident_count(client: TestClient, keys: dict[str, str]) -> int:
    return int(client.get("/api/v1/incidents", headers=auth(keys["viewer"])).json()["total"])


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"title": "a\\ud800b", "starts_at": "2019-11-16T14:00:00Z"}', "title"),
        ('{"title": "t", "starts_at": "2019-11-16T14:00:00Z", "tags": ["ok", "\\udfff"]}', "tags.1"),
        ('{"title": "t", "starts_at": "2019-11-16T14:00:00Z", "lat": NaN, "lon": 1}', "lat"),
        ('{"title": "t", "starts_at": "2019-11-16T14:00:00Z", "radius_m": Infinity}', "radius_m"),
        ('{"title": "t", "starts_at": "2019-11-16T14:00:00Z", "lat": 1, "lon": -Infinity}', "lon"),
    ],
)
def test_malformed_text_or_a_non_finite_number_is_refused_naming_the_field(
    client: TestClient, keys: dict[str, str], raw: str, field: str
) -> None:
    response = post_raw(client, keys["contributor"], "/api/v1/incidents", raw)
    assert response.status_code in (400, 422), response.text
    assert response.json()["detail"].startswith(f"{field}: ")
    assert incident_count(client, keys) == 0


def test_a_lone_surrogate_in_a_field_name_is_refused_not_a_500(client: TestClient, keys: dict[str, str]) -> None:
    raw = '{"title": "t", "starts_at": "2019-11-16T14:00:00Z", "x\\ud800": 1}'
    response = post_raw(client, keys["contributor"], "/api/v1/incidents", raw)
    assert response.status_code == 422, response.text
    # pydantic itself writes the broken name with replacement characters
    assert response.json()["detail"].startswith("x\ufffd")
    assert ": is not valid text: it holds a lone UTF-16 surrogate (\\ud800)" in response.json()["detail"]


def test_a_lone_surrogate_in_a_resumable_upload_note_is_refused(client: TestClient, keys: dict[str, str]) -> None:
    raw = '{"filename": "a.mp4", "size_bytes": 10, "note": "\\ud83d"}'
    response = post_raw(client, keys["contributor"], "/api/v1/uploads", raw)
    assert response.status_code in (400, 422), response.text
    assert response.json()["detail"].startswith("note: ")


def test_a_paired_surrogate_escape_is_ordinary_text(client: TestClient, keys: dict[str, str]) -> None:
    raw = '{"title": "camera \\ud83d\\udcf7", "starts_at": "2019-11-16T14:00:00Z"}'
    response = post_raw(client, keys["contributor"], "/api/v1/incidents", raw)
    assert response.status_code == 201, response.text
    assert response.json()["title"] == "camera \U0001f4f7"


@pytest.mark.parametrize(
    ("field", "limit"),
    [("title", 300), ("description", 20_000), ("place_name", 300)],
)
def test_a_text_field_over_its_maximum_is_refused_without_echoing_it(
    client: TestClient, keys: dict[str, str], field: str, limit: int
) -> None:
    body = {**INCIDENT, field: "x" * (limit + 1)}
    response = client.post("/api/v1/incidents", headers=auth(keys["contributor"]), json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(f"{field}: ")
    assert len(response.content) < 1500
    assert incident_count(client, keys) == 0


def test_too_many_tags_or_too_long_a_tag_is_refused(client: TestClient, keys: dict[str, str]) -> None:
    many = client.post(
        "/api/v1/incidents", headers=auth(keys["contributor"]), json={**INCIDENT, "tags": [f"t{i}" for i in range(51)]}
    )
    assert many.status_code == 422 and many.json()["detail"].startswith("tags: "), many.text
    long = client.post("/api/v1/incidents", headers=auth(keys["contributor"]), json={**INCIDENT, "tags": ["x" * 101]})
    assert long.status_code == 422 and long.json()["detail"].startswith("tags.0: "), long.text


def test_a_validation_error_echoes_only_a_short_prefix_of_the_input(client: TestClient, keys: dict[str, str]) -> None:
    # The title is missing: pydantic's `input` for that is the whole body, here with a large description.
    body = {"starts_at": "2019-11-16T14:00:00Z", "description": "y" * 100_000}
    response = client.post("/api/v1/incidents", headers=auth(keys["contributor"]), json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("title: ")
    assert len(response.content) < 1500


def test_a_json_body_over_the_size_limit_is_refused_with_413_before_it_is_parsed(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    limit = archive.settings.max_json_body_bytes
    body = '{"title": "t", "starts_at": "2019-11-16T14:00:00Z", "description": "' + "z" * limit + '"}'
    response = post_raw(client, keys["contributor"], "/api/v1/incidents", body)
    assert response.status_code == 413, response.text
    assert str(limit) in response.json()["detail"]
    assert incident_count(client, keys) == 0


def test_a_json_body_over_the_size_limit_sent_without_a_length_is_refused_with_413(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    limit = archive.settings.max_json_body_bytes

    def chunks() -> Any:
        yield b'{"title": "t", "starts_at": "2019-11-16T14:00:00Z", "description": "'
        for _ in range(limit // 65536 + 2):
            yield b"z" * 65536
        yield b'"}'

    headers = auth(keys["contributor"]) | {"Content-Type": "application/json"}
    response = client.post("/api/v1/incidents", headers=headers, content=chunks())
    assert response.status_code == 413, response.text
    assert incident_count(client, keys) == 0


@pytest.mark.parametrize(
    ("raw", "line", "column"),
    [
        ('{"title": "t",\n "starts_at": "2019-11-16T14:00:00Z",}', 2, 38),
        ("{'title': 't'}", 1, 2),
        ('{"title": "t"', 1, 14),
    ],
)
def test_malformed_json_says_where(client: TestClient, keys: dict[str, str], raw: str, line: int, column: int) -> None:
    response = post_raw(client, keys["contributor"], "/api/v1/incidents", raw)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_json"
    assert response.json()["detail"].startswith(f"the body is not valid JSON (line {line}, column {column})")


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", None])
def test_json_without_the_json_content_type_says_so(
    client: TestClient, keys: dict[str, str], content_type: str | None
) -> None:
    import json

    response = post_raw(client, keys["contributor"], "/api/v1/incidents", json.dumps(INCIDENT), content_type)
    assert response.status_code == 415, response.text
    assert "Content-Type: application/json" in response.json()["detail"]
    assert (content_type or "no Content-Type") in response.json()["detail"]


def test_a_day_precision_incident_accepts_a_date(client: TestClient, keys: dict[str, str]) -> None:
    body = {"title": "Protest", "starts_at": "2019-11-16", "time_precision": "day"}
    response = client.post("/api/v1/incidents", headers=auth(keys["contributor"]), json=body)
    assert response.status_code == 201, response.text
    assert response.json()["starts_at"].startswith("2019-11-16T00:00:00")
    found = client.get(
        "/api/v1/incidents",
        headers=auth(keys["viewer"]),
        params={"time_from": "2019-11-16T20:00:00Z", "time_to": "2019-11-16T21:00:00Z"},
    ).json()
    assert found["total"] == 1


def test_a_date_without_a_time_is_refused_for_an_exact_incident(client: TestClient, keys: dict[str, str]) -> None:
    body = {"title": "Protest", "starts_at": "2019-11-16", "time_precision": "exact"}
    response = client.post("/api/v1/incidents", headers=auth(keys["contributor"]), json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("starts_at: ")


def test_a_day_precision_incident_takes_an_end_date_as_the_end_of_that_day(
    client: TestClient, keys: dict[str, str]
) -> None:
    body = {"title": "Protests", "starts_at": "2019-11-16", "ends_at": "2019-11-18", "time_precision": "day"}
    response = client.post("/api/v1/incidents", headers=auth(keys["contributor"]), json=body)
    assert response.status_code == 201, response.text
    assert response.json()["ends_at"].startswith("2019-11-19T00:00:00")
    patch = {"starts_at": "2019-11-17", "time_precision": "day"}
    headers = auth(keys["contributor"]) | {"If-Match": response.headers["ETag"]}
    changed = client.patch(f"/api/v1/incidents/{response.json()['id']}", headers=headers, json=patch)
    assert changed.status_code == 200, changed.text
    assert changed.json()["starts_at"].startswith("2019-11-17T00:00:00")


def test_a_nul_character_is_refused_naming_the_field_on_every_database(
    client: TestClient, keys: dict[str, str]
) -> None:
    raw = '{"title": "t", "starts_at": "2019-11-16T14:00:00Z", "place_name": "a\\u0000b"}'
    response = post_raw(client, keys["contributor"], "/api/v1/incidents", raw)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("place_name: ")
    assert incident_count(client, keys) == 0


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        (b'{"title": "caf\xe9"}', "not UTF-8"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"lat": ' + "9" * 5000 + "}", "not valid JSON"),
    ],
)
def test_a_body_json_cannot_decode_says_why(
    client: TestClient, keys: dict[str, str], raw: str | bytes, said: str
) -> None:
    response = post_raw(client, keys["contributor"], "/api/v1/incidents", raw)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_json"
    assert said in response.json()["detail"]
