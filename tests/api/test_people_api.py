"""People (issue 11, item 1) through the API: signing in with a password and TOTP, keys that
belong to a person, expire and are narrowed, and the actor a person's key is recorded as."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from storage.archive import Archive
from storage.keys import create_key
from storage.models import ApiKey, Person, utcnow
from storage.people import create_person, enrol_totp, set_disabled
from tests.conftest import auth
from verity.errors import InvalidInput

PASSWORD = "correct horse battery staple"


def make_person(archive: Archive, name: str = "mina", role: str = "analyst", totp: bool = False) -> str | None:
    """A person with PASSWORD; their TOTP secret when `totp`."""
    with archive.sessions.begin() as session:
        person = create_person(session, name, role, PASSWORD)
        return enrol_totp(session, name)[0].totp_secret if totp else person.totp_secret


def sign_in(client: TestClient, name: str = "mina", password: str = PASSWORD, **extra: str) -> dict[str, object]:
    response = client.post("/api/v1/sessions", json={"name": name, "password": password, **extra})
    return {"status": response.status_code, "headers": response.headers, **response.json()}


def test_a_person_is_stored_with_an_argon2_hash_never_the_password(archive: Archive) -> None:
    make_person(archive)
    with archive.sessions() as session:
        stored = session.scalars(select(Person.password_hash)).one()
    assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored


def test_sign_in_answers_a_key_of_the_person_that_expires(client: TestClient, archive: Archive) -> None:
    make_person(archive, role="analyst")
    signed_in = sign_in(client)
    assert signed_in["status"] == 201 and signed_in["person"] == "mina" and signed_in["role"] == "analyst"
    assert isinstance(signed_in["expires_at"], str)
    with archive.sessions() as session:
        expires = session.scalars(select(ApiKey.expires_at).where(ApiKey.name == signed_in["name"])).one()
    assert expires is not None and timedelta(hours=11.9) < expires - utcnow() <= timedelta(hours=12)
    assert client.get("/api/v1/clips", headers=auth(str(signed_in["key"]))).status_code == 200


def test_sign_in_with_a_wrong_password_is_401_and_says_nothing_of_the_name(
    client: TestClient, archive: Archive
) -> None:
    make_person(archive)
    wrong = sign_in(client, password="not the password at all")
    unknown = sign_in(client, name="nobody")
    assert (wrong["status"], wrong["detail"]) == (401, "wrong name or password")
    assert (unknown["status"], unknown["detail"]) == (401, "wrong name or password")


def test_sign_in_with_totp_needs_the_current_code(client: TestClient, archive: Archive) -> None:
    secret = make_person(archive, totp=True)
    assert secret is not None
    missing = sign_in(client)
    wrong = sign_in(client, totp="000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    right = sign_in(client, totp=pyotp.TOTP(secret).now())
    assert (missing["status"], "TOTP code" in str(missing["detail"])) == (401, True)
    assert (wrong["status"], wrong["detail"]) == (401, "wrong TOTP code")
    assert right["status"] == 201 and right["person"] == "mina"


def test_a_totp_code_is_taken_only_once(client: TestClient, archive: Archive) -> None:
    secret = make_person(archive, totp=True)
    assert secret is not None
    code = pyotp.TOTP(secret).now()
    assert sign_in(client, totp=code)["status"] == 201
    again = sign_in(client, totp=code)
    assert again["status"] == 401 and "used already" in str(again["detail"])


def test_a_disabled_person_cannot_sign_in_and_their_keys_are_refused(client: TestClient, archive: Archive) -> None:
    make_person(archive)
    key = str(sign_in(client)["key"])
    with archive.sessions.begin() as session:
        set_disabled(session, "mina", True)
    refused = client.get("/api/v1/clips", headers=auth(key))
    assert (refused.status_code, refused.json()["detail"]) == (401, "this API key's person is disabled")
    assert (sign_in(client)["status"], sign_in(client)["detail"]) == (401, "this account is disabled")
    with archive.sessions.begin() as session:
        set_disabled(session, "mina", False)
    assert client.get("/api/v1/clips", headers=auth(key)).status_code == 200


def test_failed_sign_ins_to_one_account_are_limited_with_retry_after(client: TestClient, archive: Archive) -> None:
    make_person(archive)
    answers = [sign_in(client, password=f"wrong password {attempt}") for attempt in range(6)]
    assert [answer["status"] for answer in answers] == [401] * 5 + [429]
    assert 1 <= int(answers[-1]["headers"]["retry-after"]) <= 900  # type: ignore[index]
    # Even the right password waits: the limit is checked before the password.
    assert sign_in(client)["status"] == 429


def test_failed_sign_ins_from_one_address_are_limited_across_accounts(client: TestClient, archive: Archive) -> None:
    statuses = [sign_in(client, name=f"guess-{attempt}")["status"] for attempt in range(21)]
    assert statuses == [401] * 20 + [429]


def test_an_expired_key_is_401_saying_so(client: TestClient, archive: Archive) -> None:
    with archive.sessions.begin() as session:
        key, secret = create_key(session, "short", "viewer", expires_at=utcnow() + timedelta(minutes=5))
        session.execute(update(ApiKey).where(ApiKey.id == key.id).values(expires_at=utcnow() - timedelta(seconds=1)))
    refused = client.get("/api/v1/clips", headers=auth(secret))
    assert (refused.status_code, refused.json()["detail"]) == (401, "this API key has expired")


def test_a_key_above_its_persons_role_is_refused(client: TestClient, archive: Archive, keys: dict[str, str]) -> None:
    make_person(archive, role="contributor")
    body = {"name": "mina-admin", "role": "admin", "person": "mina"}
    refused = client.post("/api/v1/keys", headers=auth(keys["admin"]), json=body)
    assert refused.status_code == 403 and "at most the role contributor" in refused.json()["detail"]
    listed = client.get("/api/v1/keys", headers=auth(keys["admin"])).json()
    assert "mina-admin" not in [key["name"] for key in listed]


def test_a_key_acts_with_the_lower_of_its_role_and_its_persons(client: TestClient, archive: Archive) -> None:
    make_person(archive, role="analyst")
    with archive.sessions.begin() as session:
        _key, secret = create_key(session, "mina-laptop", "analyst", person="mina")
        session.execute(update(Person).where(Person.name == "mina").values(role="viewer"))
    assert client.get("/api/v1/clips", headers=auth(secret)).status_code == 200
    assert client.post("/api/v1/cases", headers=auth(secret), json={"title": "t"}).status_code == 403


def test_a_key_made_with_person_cases_and_expiry_shows_them(
    client: TestClient, archive: Archive, keys: dict[str, str]
) -> None:
    make_person(archive, role="analyst")
    case_id = client.post("/api/v1/cases", headers=auth(keys["analyst"]), json={"title": "Aban 1398"}).json()["id"]
    expires = (utcnow() + timedelta(days=30)).isoformat()
    body = {"name": "mina-laptop", "role": "viewer", "person": "mina", "cases": [case_id], "expires_at": expires}
    created = client.post("/api/v1/keys", headers=auth(keys["admin"]), json=body)
    assert created.status_code == 201
    [listed] = [
        key for key in client.get("/api/v1/keys", headers=auth(keys["admin"])).json() if key["name"] == "mina-laptop"
    ]
    assert (listed["person"], listed["role"], listed["cases"]) == ("mina", "viewer", [case_id])
    assert listed["expires_at"] is not None and listed == {k: v for k, v in created.json().items() if k != "key"}


def test_a_key_narrowed_to_an_unknown_case_is_refused(client: TestClient, keys: dict[str, str]) -> None:
    body = {"name": "lost", "role": "viewer", "cases": ["no-such-case"]}
    refused = client.post("/api/v1/keys", headers=auth(keys["admin"]), json=body)
    assert refused.status_code == 400 and "no case with id" in refused.json()["detail"]


def test_what_a_persons_key_does_is_recorded_as_person_slash_key(
    client: TestClient, archive: Archive, keys: dict[str, str]
) -> None:
    make_person(archive, role="analyst")
    with archive.sessions.begin() as session:
        _key, secret = create_key(session, "mina-laptop", "analyst", person="mina")
    mine = client.post("/api/v1/cases", headers=auth(secret), json={"title": "Aban 1398"}).json()["id"]
    theirs = client.post("/api/v1/cases", headers=auth(keys["analyst"]), json={"title": "Dey 1396"}).json()["id"]
    actors = [
        client.get(f"/api/v1/cases/{case_id}/history", headers=auth(keys["viewer"])).json()["entries"][0]["actor"]
        for case_id in (mine, theirs)
    ]
    # A key named after its person (as every migrated key is) is recorded by its name alone, as before.
    assert actors == ["mina/mina-laptop", "analyst-key"]


@pytest.mark.parametrize("name", ["a/b", " ", "x" * 65])
def test_a_person_name_with_a_slash_or_out_of_bounds_is_refused(archive: Archive, name: str) -> None:
    with archive.sessions.begin() as session, pytest.raises(InvalidInput):
        create_person(session, name, "viewer", PASSWORD)
