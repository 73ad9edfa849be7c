"""Protected sources (issue 11, items 4 and 5): who handed footage in and from where is shown only
to the sources permission (archive-wide admins, or granted in the case the acquisition was handed
into), else "redacted", in clips, custody logs and exports alike; exporting needs the export
permission over all it covers, and an export carries sources only when permitted and asked."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from storage.archive import Archive
from storage.models import Acquisition
from tests.conftest import auth
from tests.helpers.access import member_key
from tests.helpers.api_calls import INCIDENT, upload
from tests.helpers.evidence import edit
from tests.helpers.exports import export_and_wait, run_verify, unpack

SOURCE = {"source": "witness A, Aleppo", "source_url": "https://t.me/witness_a/17"}


def new_case(client: TestClient, keys: dict[str, str], title: str = "Case A") -> str:
    made = client.post("/api/v1/cases", headers=auth(keys["admin"]), json={"title": title})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def handed_in(client: TestClient, archive: Archive, case_id: str, data: bytes, **source: str) -> tuple[str, str]:
    """A clip handed into `case_id` by a new contributor of it: the clip's id and that uploader."""
    contributor = member_key(archive, case_id, "contributor")
    answer = upload(client, contributor, data, case_id=case_id, **(source or SOURCE))
    assert answer.status_code in (200, 201), answer.text
    clip_id = answer.json()["id"]
    with archive.sessions() as session:
        query = select(Acquisition.received_by).where(Acquisition.clip_id == clip_id).order_by(Acquisition.id.desc())
        return clip_id, str(session.scalars(query).first())


def clip_as(client: TestClient, key: str, clip_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/clips/{clip_id}", headers=auth(key))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def sources_of(clip: dict[str, Any]) -> list[tuple[str | None, str | None, str]]:
    return [(a["source"], a["source_url"], a["received_by"]) for a in clip["acquisitions"]]


def test_sources_are_redacted_for_a_viewer_member_and_an_archive_wide_analyst(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    case_id = new_case(client, keys)
    clip_id, _uploader = handed_in(client, archive, case_id, os.urandom(20_000))
    viewer = member_key(archive, case_id, "viewer")
    for key in (viewer, keys["analyst"], keys["viewer"]):
        clip = clip_as(client, key, clip_id)
        assert sources_of(clip) == [("redacted", "redacted", "redacted")]
        assert clip["uploaded_by"] == "redacted"
        custody = client.get(f"/api/v1/clips/{clip_id}/custody", headers=auth(key)).json()
        uploaded = custody["events"][0]
        assert uploaded["action"] == "uploaded" and uploaded["actor"] == "redacted"
        assert (uploaded["details"]["source"], uploaded["details"]["source_url"]) == ("redacted", "redacted")
        assert custody["verified"] is True  # checked on what is stored, not on what is shown
        assert "witness A" not in json.dumps(clip) + json.dumps(custody)


def test_sources_are_shown_to_an_archive_wide_admin_and_a_member_granted_sources(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    case_id = new_case(client, keys)
    clip_id, uploader = handed_in(client, archive, case_id, os.urandom(20_000))
    granted = member_key(archive, case_id, "viewer", ["sources"])
    for key in (keys["admin"], granted):
        clip = clip_as(client, key, clip_id)
        assert sources_of(clip) == [(SOURCE["source"], SOURCE["source_url"], uploader)]
        assert clip["uploaded_by"] == uploader
        uploaded = client.get(f"/api/v1/clips/{clip_id}/custody", headers=auth(key)).json()["events"][0]
        assert (uploaded["actor"], uploaded["details"]["source"]) == (uploader, SOURCE["source"])


def test_an_acquisition_handed_into_case_b_is_never_shown_through_case_a(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    case_a, case_b = new_case(client, keys, "A"), new_case(client, keys, "B")
    data = os.urandom(20_000)
    clip_id, uploader_a = handed_in(client, archive, case_a, data)
    _same, uploader_b = handed_in(client, archive, case_b, data, source="the source of case B", source_url="b")
    assert _same == clip_id
    sees_a = member_key(archive, case_a, "viewer", ["sources"])
    assert sources_of(clip_as(client, sees_a, clip_id)) == [
        (SOURCE["source"], SOURCE["source_url"], uploader_a),
        ("redacted", "redacted", "redacted"),
    ]
    custody = client.get(f"/api/v1/clips/{clip_id}/custody", headers=auth(sees_a)).json()
    duplicate = next(event for event in custody["events"] if event["action"] == "acquired_duplicate")
    assert duplicate["actor"] == "redacted" and duplicate["details"]["source"] == "redacted"
    assert uploader_b not in json.dumps(custody) and "case B" not in json.dumps(custody)


def test_a_correction_of_a_hidden_source_shows_neither_value(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    clip_id = upload(client, keys["contributor"], os.urandom(20_000), **SOURCE).json()["id"]
    acquisition_id = clip_as(client, keys["admin"], clip_id)["acquisitions"][0]["id"]
    corrected = client.post(
        f"/api/v1/clips/{clip_id}/acquisitions/{acquisition_id}/corrections",
        headers=auth(keys["contributor"]),  # its own acquisition: the uploader may correct it
        json={"field": "source", "value": "witness B, Idlib", "why": "the first name was a mix-up"},
    )
    assert corrected.status_code == 201, corrected.text
    [correction] = corrected.json()["corrections"]
    assert (correction["old_value"], correction["new_value"], corrected.json()["source"]) == ("redacted",) * 3
    custody = client.get(f"/api/v1/clips/{clip_id}/custody", headers=auth(keys["viewer"])).json()
    event = next(e for e in custody["events"] if e["action"] == "acquisition_corrected")
    assert (event["details"]["old_value"], event["details"]["new_value"]) == ("redacted", "redacted")
    assert event["details"]["why"] == "the first name was a mix-up" and custody["verified"]
    shown = client.get(f"/api/v1/clips/{clip_id}/custody", headers=auth(keys["admin"])).json()
    event = next(e for e in shown["events"] if e["action"] == "acquisition_corrected")
    assert event["details"]["new_value"] == "witness B, Idlib"


def test_a_tampered_source_fails_the_chain_check_without_showing_either_value(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    clip_id = upload(client, keys["contributor"], os.urandom(20_000), **SOURCE).json()["id"]
    acquisition_id = clip_as(client, keys["admin"], clip_id)["acquisitions"][0]["id"]
    edit(archive, "UPDATE acquisitions SET source = 'witness Z' WHERE id = :id", id=acquisition_id)
    custody = client.get(f"/api/v1/clips/{clip_id}/custody", headers=auth(keys["viewer"])).json()
    assert custody["verified"] is False
    [mismatch] = custody["mismatches"]
    assert mismatch["field"] == f"acquisition {acquisition_id} source"
    assert (mismatch["recorded"], mismatch["found"]) == ("redacted", "redacted")
    assert "witness" not in json.dumps(custody)
    admin = client.get(f"/api/v1/clips/{clip_id}/custody", headers=auth(keys["admin"])).json()
    assert admin["mismatches"][0]["found"] == "witness Z" and "witness Z" in admin["reason"]


# --- exports -------------------------------------------------------------------------------


def exported_bag(client: TestClient, key: str, tmp_path: Path, **body: Any) -> tuple[dict[str, Any], Path]:
    done = export_and_wait(client, key, include_originals=False, **body)
    assert done["status"] == "ready", done
    download = client.get(done["download_url"], headers=auth(key))
    assert download.status_code == 200, download.text
    return done, unpack(download.content, tmp_path / done["id"])


def test_exporting_needs_the_export_permission_over_what_it_covers(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    case_a, case_b = new_case(client, keys, "A"), new_case(client, keys, "B")
    clip_a, _ = handed_in(client, archive, case_a, os.urandom(20_000))
    clip_b, _ = handed_in(client, archive, case_b, os.urandom(20_000))
    reviewer = member_key(archive, case_a, "analyst", person="reviewer")
    exporter = member_key(archive, case_a, "viewer", ["export"], person="exporter")
    member_key(archive, case_b, "viewer", person="reviewer")
    for key, body, status in (
        (reviewer, {"case_id": case_a}, 403),  # no export permission there: review without copies
        (reviewer, {"clip_ids": [clip_a]}, 403),
        (exporter, {"case_id": case_b}, 404),
        (exporter, {"clip_ids": [clip_a, clip_b]}, 404),
        (keys["viewer"], {"clip_ids": [clip_a]}, 403),
        (exporter, {"case_id": case_a, "include_sources": True}, 403),
    ):
        refused = client.post("/api/v1/exports", headers=auth(key), json=body)
        assert refused.status_code == status, (body, refused.text)


def test_an_export_leaves_sources_out_by_default_and_its_bag_still_verifies(
    client: TestClient, keys: dict[str, str], archive: Archive, tmp_path: Path
) -> None:
    case_id = new_case(client, keys)
    clip_id, uploader = handed_in(client, archive, case_id, os.urandom(20_000))
    exporter = member_key(archive, case_id, "viewer", ["export"])
    done, bag = exported_bag(client, exporter, tmp_path, case_id=case_id)
    assert done["clip_ids"] == [clip_id] and done["include_sources"] is False
    record = json.loads((bag / "data" / "clips" / f"{clip_id}.json").read_text())
    [acquisition] = record["acquisitions"]
    assert (acquisition["source"], acquisition["received_by"], record["clip"]["uploaded_by"]) == ("redacted",) * 3
    everything = "".join(path.read_text(errors="replace") for path in bag.rglob("*") if path.is_file())
    assert "witness A" not in everything and uploader not in everything
    first = json.loads((bag / "data" / "custody" / f"{clip_id}.jsonl").read_text().splitlines()[0])
    assert first["left_out"] == ["actor", "details.source", "details.source_url"]
    checked = run_verify(bag)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "1 with sources left out" in checked.stdout
    custody = client.get(f"/api/v1/clips/{clip_id}/custody", headers=auth(keys["admin"])).json()
    exported = [event for event in custody["events"] if event["action"] == "exported"]
    assert [event["details"]["sources"] for event in exported] == ["left out"] and custody["verified"]


def test_an_export_includes_sources_only_when_permitted_and_asked(
    client: TestClient, keys: dict[str, str], archive: Archive, tmp_path: Path
) -> None:
    case_id = new_case(client, keys)
    clip_id, uploader = handed_in(client, archive, case_id, os.urandom(20_000))
    exporter = member_key(archive, case_id, "viewer", ["export", "sources"])
    _unasked, bag = exported_bag(client, exporter, tmp_path, clip_ids=[clip_id])
    record = json.loads((bag / "data" / "clips" / f"{clip_id}.json").read_text())
    assert record["acquisitions"][0]["source"] == "redacted"
    done, bag = exported_bag(client, exporter, tmp_path, clip_ids=[clip_id], include_sources=True)
    assert done["include_sources"] is True
    record = json.loads((bag / "data" / "clips" / f"{clip_id}.json").read_text())
    assert (record["acquisitions"][0]["source"], record["acquisitions"][0]["received_by"]) == (
        SOURCE["source"],
        uploader,
    )
    assert "left_out" not in (bag / "data" / "custody" / f"{clip_id}.jsonl").read_text()
    checked = run_verify(bag)
    assert checked.returncode == 0 and "sources left out" not in checked.stdout, checked.stdout
    custody = client.get(f"/api/v1/clips/{clip_id}/custody", headers=auth(keys["admin"])).json()
    exported = [event["details"]["sources"] for event in custody["events"] if event["action"] == "exported"]
    assert exported == ["left out", "included"]


def test_an_export_is_read_only_by_its_exporter_or_an_archive_wide_admin(
    client: TestClient, keys: dict[str, str], archive: Archive, tmp_path: Path
) -> None:
    case_id = new_case(client, keys)
    clip_id, _ = handed_in(client, archive, case_id, os.urandom(20_000))
    exporter = member_key(archive, case_id, "viewer", ["export"])
    other = member_key(archive, case_id, "admin", ["export"])
    done, _bag = exported_bag(client, exporter, tmp_path, clip_ids=[clip_id])
    for key, status in ((other, 404), (keys["analyst"], 404), (keys["admin"], 200)):
        assert client.get(f"/api/v1/exports/{done['id']}", headers=auth(key)).status_code == status
        assert client.get(done["download_url"], headers=auth(key)).status_code == status


def test_a_guests_export_names_no_incident_or_link_of_another_case(
    client: TestClient, keys: dict[str, str], archive: Archive, tmp_path: Path
) -> None:
    """One clip in two cases: the bag a member of case A builds holds A's incident and link, and
    nothing of case B's (its incident, its id, its title, a link removed from it), nor does the
    custody log the API shows A's member; the chains still verify."""
    case_a, case_b = new_case(client, keys), new_case(client, keys, "Case B")
    admin = auth(keys["admin"])
    clip_id, _uploader = handed_in(client, archive, case_a, os.urandom(20_000))
    made = {}
    for case_id, title in ((case_a, "Protest at the square"), (case_b, "Raid on the newsroom")):
        incident = client.post(
            "/api/v1/incidents", headers=admin, json={**INCIDENT, "title": title, "case_id": case_id}
        )
        assert incident.status_code == 201, incident.text
        made[case_id] = incident.json()["id"]
        linked = client.post(f"/api/v1/incidents/{made[case_id]}/clips", headers=admin, json={"clip_id": clip_id})
        assert linked.status_code == 201, linked.text
    other = upload(client, keys["admin"], os.urandom(20_000)).json()["id"]
    removed = client.post(f"/api/v1/incidents/{made[case_a]}/clips", headers=admin, json={"clip_id": other}).json()
    etag = {"If-Match": f'"{removed["version"]}"'}
    gone = client.delete(f"/api/v1/incidents/{made[case_a]}/clips/{removed['id']}", headers={**admin, **etag})
    assert gone.status_code == 200 and gone.json()["unlinked_at"], gone.text
    exporter = member_key(archive, case_a, "viewer", ["export"])
    _done, bag = exported_bag(client, exporter, tmp_path, clip_ids=[clip_id])
    record = json.loads((bag / "data" / "clips" / f"{clip_id}.json").read_text())
    assert [link["incident_id"] for link in record["incident_links"]] == [made[case_a]]
    everything = "".join(path.read_text(errors="replace") for path in bag.rglob("*") if path.is_file())
    assert made[case_b] not in everything and "Raid on the newsroom" not in everything
    assert other not in everything  # the clip once linked to A's incident lies outside A now
    assert case_b not in everything
    checked = run_verify(bag)  # the chain's link to B's incident is followed by its hash
    assert checked.returncode == 0, checked.stdout + checked.stderr
    custody = client.get(f"/api/v1/clips/{clip_id}/custody", headers=auth(exporter)).json()
    assert custody["verified"] and made[case_b] not in json.dumps(custody)
    linked = [e["details"]["incident_id"] for e in custody["events"] if e["action"] == "linked"]
    assert linked == [made[case_a], "redacted"]
    assert "Protest at the square" in everything
    # The archive-wide admin's bag of the same clip holds both cases' incidents.
    _done, full = exported_bag(client, keys["admin"], tmp_path, clip_ids=[clip_id])
    record = json.loads((full / "data" / "clips" / f"{clip_id}.json").read_text())
    assert sorted(link["incident_id"] for link in record["incident_links"]) == sorted(made.values())


def test_handing_in_a_copy_of_archived_footage_does_not_reveal_who_first_sent_it(
    client: TestClient, keys: dict[str, str], archive: Archive
) -> None:
    """The archive's own acquisitions (handed in with no case) keep their sources from every case:
    a guest holding sources in its case who hands in a copy of the same bytes sees its own
    acquisition's source, and "redacted" for the first sender's, in the clip and in searches."""
    data = os.urandom(20_000)
    first = upload(client, keys["admin"], data, source="the first sender, a nurse")
    assert first.status_code == 201, first.text
    case_id = new_case(client, keys)
    guest = member_key(archive, case_id, "contributor", ["sources"])
    again = upload(client, guest, data, case_id=case_id, source="a second copy")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"], again.text
    clip = clip_as(client, guest, first.json()["id"])
    assert [a["source"] for a in clip["acquisitions"]] == ["redacted", "a second copy"]
    assert "nurse" not in json.dumps(client.get(f"/api/v1/clips/{clip['id']}/custody", headers=auth(guest)).json())
    found = client.get("/api/v1/clips", headers=auth(guest), params={"source": "nurse"}).json()
    assert found["total"] == 0
    assert client.get("/api/v1/clips", headers=auth(guest), params={"source": "second"}).json()["total"] == 1


B_SECRETS = ("b-secret-name", "safehouse", "B office", "asked to move", "B's link note", "B's changed note")


def test_a_member_sees_nothing_of_another_cases_acquisition_link_or_export_but_that_they_are(
    client: TestClient, keys: dict[str, str], archive: Archive, tmp_path: Path
) -> None:
    """A clip first handed into case B, corrected, linked and exported there, then linked into
    case A: A's member sees B's acquisition only as one (its filename, note, captured_at and
    correction left out, and the clip's own filename, which was B's), and the custody log and A's
    bag show B's receipt, correction, link and export without what they say; the chain verifies."""
    case_a, case_b = new_case(client, keys, "Case A"), new_case(client, keys, "Case B")
    admin = auth(keys["admin"])
    b_uploader = member_key(archive, case_b, "contributor", person="b-uploader")
    b_fields = {"case_id": case_b, "note": "met at the safehouse", "captured_at": "2024-05-01T10:00:00Z", **SOURCE}
    clip_id = upload(client, b_uploader, os.urandom(20_000), name="b-secret-name.mp4", **b_fields).json()["id"]
    acquisition_id = clip_as(client, keys["admin"], clip_id)["acquisitions"][0]["id"]
    correction = {"field": "note", "value": "met at the B office", "why": "the witness asked to move it"}
    corrections = f"/api/v1/clips/{clip_id}/acquisitions/{acquisition_id}/corrections"
    assert client.post(corrections, headers=auth(b_uploader), json=correction).status_code == 201
    b_member = member_key(archive, case_b, "contributor", ["export"], person="b-linker")
    incidents = {}
    for case_id, key, note in ((case_b, b_member, "B's link note"), (case_a, keys["admin"], "A's link note")):
        incidents[case_id] = client.post(
            "/api/v1/incidents", headers=admin, json={**INCIDENT, "case_id": case_id}
        ).json()["id"]
        linked = client.post(
            f"/api/v1/incidents/{incidents[case_id]}/clips", headers=auth(key), json={"clip_id": clip_id, "note": note}
        )
        assert linked.status_code == 201, linked.text
        if case_id == case_b:
            changed = client.patch(
                f"/api/v1/incidents/{incidents[case_b]}/clips/{linked.json()['id']}",
                headers={**auth(b_member), "If-Match": f'"{linked.json()["version"]}"'},
                json={"note": "B's changed note"},
            )
            assert changed.status_code == 200, changed.text
    b_export = export_and_wait(client, b_member, case_id=case_b, include_originals=False)["id"]
    beyond = (*B_SECRETS, "b-uploader", "b-linker", b_export, case_b, incidents[case_b], "2024-05-01")
    member = member_key(archive, case_a, "viewer", ["export", "sources", "download"])

    clip = clip_as(client, member, clip_id)
    assert (clip["filename"], clip["uploaded_by"]) == ("redacted", "redacted")
    original = client.get(f"/api/v1/clips/{clip_id}/original", headers=auth(member))
    assert original.headers["content-disposition"] == f"attachment; filename*=UTF-8''{clip['sha256']}.mp4"
    [acquisition] = clip["acquisitions"]
    assert (acquisition["filename"], acquisition["note"], acquisition["captured_at"]) == ("redacted", "redacted", None)
    [corrected] = acquisition["corrections"]
    assert corrected["field"] == "note"
    assert [corrected[name] for name in ("old_value", "new_value", "why", "corrected_by")] == ["redacted"] * 4
    custody = client.get(f"/api/v1/clips/{clip_id}/custody", headers=auth(member)).json()
    assert custody["verified"], custody
    shown = json.dumps(clip) + json.dumps(custody)
    assert [secret for secret in beyond if secret in shown] == []
    events = {(e["action"], e["details"].get("incident_id")): e for e in custody["events"]}
    uploaded = events[("uploaded", None)]
    assert uploaded["actor"] == "redacted"
    assert {uploaded["details"][name] for name in ("filename", "note", "captured_at", "case_id")} == {"redacted"}
    assert events[("acquisition_corrected", None)]["details"]["why"] == "redacted"
    linked_b = events[("linked", "redacted")]
    assert linked_b["actor"] == "redacted"
    assert [linked_b["details"][name] for name in ("note", "start_s", "end_s")] == ["redacted"] * 3
    assert events[("linked", incidents[case_a])]["details"]["note"] == "A's link note"
    link_changed = events[("link_changed", "redacted")]
    assert (link_changed["actor"], link_changed["details"]["before"], link_changed["details"]["after"]) == (
        "redacted",
        "redacted",
        "redacted",
    )
    exported = events[("exported", None)]
    assert exported["actor"] == "redacted" and exported["details"]["scope"] == "case"
    assert (exported["details"]["export_id"], exported["details"]["scope_id"]) == ("redacted", "redacted")
    everything_shown = client.get(f"/api/v1/clips/{clip_id}/custody", headers=admin).text
    assert "B's changed note" in everything_shown and b_export in everything_shown

    done, bag = exported_bag(client, member, tmp_path, clip_ids=[clip_id])
    everything = "".join(path.read_text(errors="replace") for path in bag.rglob("*") if path.is_file())
    assert [secret for secret in beyond if secret in everything] == []
    record = json.loads((bag / "data" / "clips" / f"{clip_id}.json").read_text())
    assert record["clip"]["filename"] == "redacted"
    [acquisition] = record["acquisitions"]
    assert (acquisition["filename"], acquisition["note"], acquisition["as_first_recorded"]["note"]) == ("redacted",) * 3
    lines = [json.loads(line) for line in (bag / "data" / "custody" / f"{clip_id}.jsonl").read_text().splitlines()]
    ours = [line for line in lines if line["action"] == "exported" and done["id"] in line["details"]]
    theirs = [line for line in lines if line["action"] == "exported" and line not in ours]
    assert len(ours) == 1 and "left_out" not in ours[0]  # an export of named clips stays as it is
    assert [line["left_out"] for line in theirs] == [["actor", "details.export_id", "details.scope_id"]]
    checked = run_verify(bag)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "its file name is left out for this export" in checked.stdout
    assert f"{sum('left_out' in line for line in lines)} with sources left out" in checked.stdout
