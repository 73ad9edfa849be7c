"""Property tests of need-to-know access: in random small worlds (a few cases, incidents in some
of them, clips linked to incidents or handed into cases, links removed again) a guest with random
memberships (roles, ends past or future, a key maybe narrowed to some cases) is never named or
counted anything outside what it may see, by any list, count, filter or search.

What the guest may see is worked out here from the world as the test built it, not by asking
storage/access.py: its live memberships (within the key's cases, if narrowed), the incidents in
those cases, and the clips linked (and not unlinked) to those incidents or handed into the cases."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from api.app import create_app
from storage.archive import Archive
from storage.keys import Role, create_key
from storage.members import MEMBER_ROLES, set_member
from storage.models import Acquisition, CaseMember, utcnow
from storage.people import create_person, find_person
from tests import media
from tests.conftest import auth, open_test_archive
from tests.helpers.access import person_key
from tests.helpers.api_calls import INCIDENT, upload_analysed

HANDED_IN_BY, HANDED_IN_SOURCE = "property-hand-in", "a witness in the property world"
PAGE = {"limit": 500}


@dataclass
class Pool:
    """What every example shares on one backend: an admin key, and four analysed clips (an original,
    two transformed copies of it, which are near-duplicates of it and of each other, and an
    unrelated one), and every id any example made, for "nothing outside the visible set"."""

    client: TestClient
    archive: Archive
    admin: str
    clips: list[dict[str, Any]]
    known_cases: set[str] = field(default_factory=set)
    known_incidents: set[str] = field(default_factory=set)

    @property
    def clip_ids(self) -> list[str]:
        return [clip["id"] for clip in self.clips]


@pytest.fixture(scope="module")
def pool_footage(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("access-properties")
    source = media.make_source(folder / "source.mp4", seconds=6)
    return [
        source,
        media.make_copy(folder / "excerpt.mp4", source, "-ss", "1", "-t", "4", "-i", "-vf", "scale=320:180"),
        media.make_copy(folder / "mirror.mp4", source, "-i", "-vf", "hflip"),
        media.make_silent_clip(folder / "unrelated.mp4", seconds=2),
    ]


@pytest.fixture(scope="module", params=["embedded", pytest.param("scaled", marks=pytest.mark.slow)])
def pool(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pool_footage: list[Path]
) -> Iterator[Pool]:
    archive = open_test_archive(request, request.param, tmp_path_factory.mktemp(f"properties-{request.param}"))
    try:
        with archive.sessions.begin() as session:
            keys = {role: create_key(session, f"property-{role}", role)[1] for role in ("admin", "contributor")}
            keys["viewer"] = keys["admin"]
        with TestClient(create_app(archive=archive)) as client:
            clips = [upload_analysed(client, keys, path) for path in pool_footage]
            yield Pool(client=client, archive=archive, admin=keys["admin"], clips=clips)
    finally:
        archive.close()


@dataclass(frozen=True)
class Plan:
    """One world, by index: `incidents[i]` the cases incident i is in; `links` (clip, incident,
    removed again); `hand_ins` (clip, case); `memberships` case → (role, ended); `narrowed` the
    cases the guest's key is narrowed to (None: not narrowed)."""

    cases: int
    incidents: list[frozenset[int]]
    links: list[tuple[int, int, bool]]
    hand_ins: list[tuple[int, int]]
    memberships: dict[int, tuple[str, bool]]
    narrowed: frozenset[int] | None


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    cases = draw(st.integers(1, 3))
    case_index = st.integers(0, cases - 1)
    incidents = draw(st.lists(st.frozensets(case_index, max_size=2), max_size=3))
    links = (
        draw(st.lists(st.tuples(st.integers(0, 3), st.integers(0, len(incidents) - 1), st.booleans()), max_size=5))
        if incidents
        else []
    )
    hand_ins = draw(st.lists(st.tuples(st.integers(0, 3), case_index), max_size=2))
    roles = st.sampled_from([role.value for role in MEMBER_ROLES])
    memberships = draw(st.dictionaries(case_index, st.tuples(roles, st.booleans()), max_size=cases))
    narrowed = draw(st.none() | st.frozensets(case_index, min_size=1))
    return Plan(cases, incidents, links, hand_ins, memberships, narrowed)


@dataclass
class Built:
    """The world a plan made: its ids, the guest's key, and what the guest may see."""

    token: str
    cases: list[str]
    incidents: list[str]
    guest_key: str
    visible_cases: set[str]
    visible_incidents: set[str]
    visible_clips: set[str]


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def build(pool: Pool, plan: Plan) -> Built:
    """Make the plan's world through the API as the archive's admin (hand-ins and ended
    memberships straight through storage: the API takes neither as a setup step)."""
    client, admin = pool.client, auth(pool.admin)
    token = uuid.uuid4().hex[:10]
    cases = [
        _ok(client.post("/api/v1/cases", headers=admin, json={"title": f"Case {token} {n}"}), 201)["id"]
        for n in range(plan.cases)
    ]
    incidents = []
    for n, in_cases in enumerate(plan.incidents):
        incident = {**INCIDENT, "title": f"Incident {token} {n}"}
        incident_id = _ok(client.post("/api/v1/incidents", headers=admin, json=incident), 201)["id"]
        for case in sorted(in_cases):
            _ok(client.put(f"/api/v1/cases/{cases[case]}/incidents/{incident_id}", headers=admin))
        incidents.append(incident_id)
    linked: set[tuple[int, int]] = set()  # (clip, incident) with a live link
    for clip, incident, removed in plan.links:
        if (clip, incident) in linked:
            continue  # a second live link of the same clip to the same incident is a conflict
        response = client.post(
            f"/api/v1/incidents/{incidents[incident]}/clips", headers=admin, json={"clip_id": pool.clip_ids[clip]}
        )
        link = _ok(response, 201)
        if removed:
            path = f"/api/v1/incidents/{incidents[incident]}/clips/{link['id']}"
            _ok(client.delete(path, headers={**admin, "If-Match": response.headers["etag"]}))
        else:
            linked.add((clip, incident))
    guest = f"guest-{token}"
    with pool.archive.sessions.begin() as session:
        for clip, case in plan.hand_ins:
            session.add(
                Acquisition(
                    clip_id=pool.clip_ids[clip],
                    received_by=HANDED_IN_BY,
                    filename="handed-in.mp4",
                    source=HANDED_IN_SOURCE,
                    case_id=cases[case],
                )
            )
        create_person(session, guest, "none")
        for case, (role, _ended) in plan.memberships.items():
            set_member(session, cases[case], guest, role, (), utcnow() + timedelta(days=30), "property-setup")
    with pool.archive.sessions.begin() as session:
        person = find_person(session, guest)
        assert person is not None
        for case, (_role, ended) in plan.memberships.items():
            if ended:  # a membership is made live and then aged: the API refuses an end in the past
                session.get_one(CaseMember, (cases[case], person.id)).expires_at = utcnow() - timedelta(minutes=1)
    live = {case: role for case, (role, ended) in plan.memberships.items() if not ended}
    seen = {case for case in live if plan.narrowed is None or case in plan.narrowed}
    key_role = max((Role(role) for role in live.values()), key=lambda role: role.rank, default=Role.none)
    narrowed_to = [cases[case] for case in sorted(plan.narrowed or ())]
    visible_incidents = {incidents[n] for n, in_cases in enumerate(plan.incidents) if in_cases & seen}
    visible_clips = {pool.clip_ids[clip] for clip, incident in linked if incidents[incident] in visible_incidents}
    visible_clips |= {pool.clip_ids[clip] for clip, case in plan.hand_ins if case in seen}
    pool.known_cases.update(cases)
    pool.known_incidents.update(incidents)
    return Built(
        token=token,
        cases=cases,
        incidents=incidents,
        guest_key=person_key(pool.archive, guest, key_role.value, narrowed_to),
        visible_cases={cases[case] for case in seen},
        visible_incidents=visible_incidents,
        visible_clips=visible_clips,
    )


def hidden_ids(pool: Pool, built: Built) -> set[str]:
    everything = pool.known_cases | pool.known_incidents | set(pool.clip_ids)
    return everything - built.visible_cases - built.visible_incidents - built.visible_clips


def answer(pool: Pool, built: Built, path: str, **params: Any) -> Any:
    """The guest's answer to one read; it names nothing the guest may not see, anywhere in it (but
    the id it asked about, which a 404 repeats)."""
    response = pool.client.get(path, headers=auth(built.guest_key), params=params)
    asked = {path, *(str(value) for value in params.values())}
    hidden = {record_id for record_id in hidden_ids(pool, built) if not any(record_id in text for text in asked)}
    named = sorted(record_id for record_id in hidden if record_id in response.text)
    assert named == [], f"GET {path} {params} named {named}: {response.text}"
    return response


def page_ids(pool: Pool, built: Built, path: str, **params: Any) -> set[str]:
    """The ids a list answers, its `total` checked to count exactly those. A filter naming a record
    the guest may not see may instead be a 404, if it is the one an unknown id gets."""
    response = answer(pool, built, path, **PAGE, **params)
    if response.status_code == 404:
        unknown = {name: str(uuid.uuid4()) if name.endswith("_id") else value for name, value in params.items()}
        as_unknown = answer(pool, built, path, **PAGE, **unknown)
        assert (as_unknown.status_code, as_unknown.json()["error"]) == (404, response.json()["error"]), response.text
        return set()
    body = _ok(response)
    ids = {item["id"] for item in body["items"]}
    assert body["total"] == len(body["items"]) == len(ids), body
    return ids


def check_lists(pool: Pool, built: Built) -> None:
    assert page_ids(pool, built, "/api/v1/cases") == built.visible_cases
    assert page_ids(pool, built, "/api/v1/incidents") == built.visible_incidents
    assert page_ids(pool, built, "/api/v1/clips") == built.visible_clips
    assert page_ids(pool, built, "/api/v1/cases", q=built.token) <= built.visible_cases
    assert page_ids(pool, built, "/api/v1/incidents", q=built.token) <= built.visible_incidents
    assert page_ids(pool, built, "/api/v1/incidents", tag=INCIDENT["tags"][0]) <= built.visible_incidents


def check_clip_filters(pool: Pool, built: Built) -> None:
    filters: list[dict[str, Any]] = [
        {"status": "ready"},
        {"uploader": HANDED_IN_BY},
        {"source": "witness"},
        {"has_near_duplicates": True},
        {"order": "recorded"},
        *({"incident_id": incident_id} for incident_id in built.incidents),
        *({"case_id": case_id} for case_id in built.cases),
    ]
    for params in filters:
        assert page_ids(pool, built, "/api/v1/clips", **params) <= built.visible_clips, params


def check_copies_and_verify(pool: Pool, built: Built) -> None:
    for clip in pool.clips:
        related = answer(pool, built, f"/api/v1/clips/{clip['id']}/related")
        if clip["id"] in built.visible_clips:
            assert {copy["clip_id"] for copy in _ok(related)["related"]} <= built.visible_clips
        else:
            assert related.status_code == 404, related.text
        verified = _ok(answer(pool, built, "/api/v1/verify", sha256=clip["sha256"]))
        if clip["id"] in built.visible_clips:
            assert verified["exact_match"]["clip"]["id"] == clip["id"]


@settings(max_examples=12, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=plans())
def test_a_guest_is_shown_and_counted_only_what_its_cases_hold(pool: Pool, plan: Plan) -> None:
    note(f"{plan}")
    built = build(pool, plan)
    if not built.visible_cases:
        # No live membership its key reaches: the guest holds no role anywhere; every read is refused.
        for path in ("/api/v1/cases", "/api/v1/incidents", "/api/v1/clips"):
            assert answer(pool, built, path).status_code == 403
        return
    check_lists(pool, built)
    check_clip_filters(pool, built)
    check_copies_and_verify(pool, built)
