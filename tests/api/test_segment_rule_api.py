"""A segment is only accepted once the clip's duration is known; the whole clip can always be linked."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import auth
from tests.helpers.api_calls import INCIDENT, upload, wait_until_done


def test_segment_of_a_clip_with_no_duration_is_refused_but_the_whole_clip_links(
    client: TestClient, keys: dict[str, str]
) -> None:
    key = auth(keys["contributor"])
    clip_id = upload(client, keys["contributor"], b"not a video, just notes\n" * 50, name="notes.txt").json()["id"]
    assert wait_until_done(client, keys["viewer"], clip_id)["status"] == "unsupported"
    incident = client.post("/api/v1/incidents", headers=key, json=INCIDENT).json()["id"]
    url = f"/api/v1/incidents/{incident}/clips"

    for segment in ({"start_s": 0, "end_s": 1}, {"start_s": 1}, {"end_s": 1}):
        refused = client.post(url, headers=key, json={"clip_id": clip_id, **segment})
        assert refused.status_code == 409, (segment, refused.text)
        assert "duration" in refused.json()["detail"] and "unsupported" in refused.json()["detail"]
    assert client.get(url, headers=key).json() == []

    whole = client.post(url, headers=key, json={"clip_id": clip_id})
    assert whole.status_code == 201, whole.text
    link = whole.json()
    # Nor can the whole-clip link be narrowed to a segment afterwards.
    changed = client.patch(
        f"{url}/{link['id']}", headers={**key, "If-Match": f'"{link["version"]}"'}, json={"end_s": 1}
    )
    assert changed.status_code == 409, changed.text
