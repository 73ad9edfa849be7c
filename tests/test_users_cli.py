"""`verity users …` and `verity keys create --person/--case/--expires` through the CLI on a local
archive: passwords come from standard input (never argv), TOTP enrolment prints its URI once."""

from __future__ import annotations

import json
from pathlib import Path

import pyotp
from sqlalchemy import select

from storage.archive import open_archive
from storage.cases import create_case
from storage.models import Person
from storage.people import check_sign_in
from tests.helpers.local_cli import run
from verity.errors import SignInRefused
from verity.settings import Settings

PASSWORD = "correct horse battery staple"


def signs_in(data_dir: Path, name: str, password: str, code: str | None = None) -> bool:
    archive = open_archive(Settings(data_dir=data_dir))
    try:
        with archive.sessions() as session:
            check_sign_in(session, name, password, code)
        return True
    except SignInRefused:
        return False
    finally:
        archive.close()


def test_users_create_reads_the_password_from_stdin_and_stores_only_its_hash(tmp_path: Path) -> None:
    created = run(["users", "create", "mina", "--role", "analyst", "--password-stdin"], tmp_path, PASSWORD + "\n")
    assert "created 'mina' with archive-wide role analyst" in created.stdout
    assert signs_in(tmp_path, "mina", PASSWORD) and not signs_in(tmp_path, "mina", PASSWORD + "!")
    archive = open_archive(Settings(data_dir=tmp_path))
    with archive.sessions() as session:
        stored = session.scalars(select(Person.password_hash)).one()
    archive.close()
    assert stored is not None and stored.startswith("$argon2id$")


def test_users_create_without_a_terminal_or_stdin_flag_refuses(tmp_path: Path) -> None:
    refused = run(["users", "create", "mina"], tmp_path, ok=False)
    assert refused.returncode == 1 and "--password-stdin" in refused.stderr


def test_users_create_with_totp_prints_the_otpauth_uri_once(tmp_path: Path) -> None:
    created = run(["users", "create", "mina", "--password-stdin", "--totp"], tmp_path, PASSWORD + "\n")
    uri = created.stdout.strip().splitlines()[-1]
    assert uri.startswith("otpauth://totp/Verity:mina?") and "issuer=Verity" in uri
    listed = run(["users", "list"], tmp_path).stdout
    assert "otpauth" not in listed and "yes" in listed
    code = pyotp.parse_uri(uri).now()
    assert not signs_in(tmp_path, "mina", PASSWORD) and signs_in(tmp_path, "mina", PASSWORD, code)


def test_users_list_json_shows_each_person_without_secrets(tmp_path: Path) -> None:
    run(["users", "create", "mina", "--role", "viewer", "--password-stdin"], tmp_path, PASSWORD + "\n")
    run(["keys", "create", "--name", "field-team", "--role", "contributor"], tmp_path)
    listed = json.loads(run(["users", "list", "--json"], tmp_path).stdout)
    assert [(person["name"], person["role"], person["totp"]) for person in listed] == [
        ("mina", "viewer", False),
        ("field-team", "contributor", False),
    ]
    assert "argon2" not in json.dumps(listed)


def test_users_disable_and_enable_decide_whether_the_person_signs_in(tmp_path: Path) -> None:
    run(["users", "create", "mina", "--password-stdin"], tmp_path, PASSWORD + "\n")
    disabled = json.loads(run(["users", "disable", "mina", "--json"], tmp_path).stdout)
    assert disabled["disabled_at"] is not None and not signs_in(tmp_path, "mina", PASSWORD)
    enabled = json.loads(run(["users", "enable", "mina", "--json"], tmp_path).stdout)
    assert enabled["disabled_at"] is None and signs_in(tmp_path, "mina", PASSWORD)


def test_users_reset_password_replaces_the_old_one(tmp_path: Path) -> None:
    run(["users", "create", "mina", "--password-stdin"], tmp_path, PASSWORD + "\n")
    run(["users", "reset-password", "mina", "--password-stdin"], tmp_path, "a whole new passphrase\n")
    assert signs_in(tmp_path, "mina", "a whole new passphrase") and not signs_in(tmp_path, "mina", PASSWORD)


def test_users_reset_password_of_nobody_fails_saying_so(tmp_path: Path) -> None:
    run(["users", "create", "mina", "--password-stdin"], tmp_path, PASSWORD + "\n")
    refused = run(["users", "reset-password", "nobody", "--password-stdin"], tmp_path, PASSWORD + "\n", ok=False)
    assert refused.returncode == 1 and "no person named 'nobody'" in refused.stderr


def test_keys_create_for_a_person_with_a_case_and_an_expiry(tmp_path: Path) -> None:
    run(["users", "create", "mina", "--role", "analyst", "--password-stdin"], tmp_path, PASSWORD + "\n")
    archive = open_archive(Settings(data_dir=tmp_path))
    with archive.sessions.begin() as session:
        case_id = create_case(session, "Aban 1398", "", "open", "mina").id
    archive.close()
    command = ["keys", "create", "--name", "mina-laptop", "--role", "viewer", "--person", "mina"]
    created = json.loads(
        run([*command, "--case", case_id, "--expires", "2099-03-31T23:59:59+00:00", "--json"], tmp_path).stdout
    )
    assert (created["person"], created["role"], created["cases"]) == ("mina", "viewer", [case_id])
    assert created["expires_at"].startswith("2099-03-31T23:59:59")


def test_keys_create_above_the_persons_role_fails(tmp_path: Path) -> None:
    run(["users", "create", "mina", "--role", "viewer", "--password-stdin"], tmp_path, PASSWORD + "\n")
    refused = run(["keys", "create", "--name", "mina-admin", "--role", "admin", "--person", "mina"], tmp_path, ok=False)
    assert refused.returncode == 1 and "at most the role viewer" in refused.stderr
