"""`verity case share|unshare|members` through the CLI on a local archive: a guest with no
archive-wide role let into one case, with an end, and the keys such a guest may then hold."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storage.archive import open_archive
from storage.cases import create_case
from storage.history import load_history
from tests.helpers.local_cli import run
from verity.settings import Settings

UNTIL = "2099-03-31T23:59:59+00:00"


@pytest.fixture
def case_id(tmp_path: Path) -> str:
    """A case in a fresh local archive, and a guest (no password, no archive-wide role)."""
    run(["users", "create", "lawyer", "--no-password"], tmp_path)
    archive = open_archive(Settings(data_dir=tmp_path))
    try:
        with archive.sessions.begin() as session:
            return create_case(session, "Aban 1398", "", "open", "owner").id
    finally:
        archive.close()


def members(tmp_path: Path, case_id: str) -> list[dict[str, object]]:
    listed: list[dict[str, object]] = json.loads(run(["case", "members", case_id, "--json"], tmp_path).stdout)
    return listed


def test_share_lets_a_guest_hold_a_key_narrowed_to_the_case_until_the_end(tmp_path: Path, case_id: str) -> None:
    key = ["keys", "create", "--name", "lawyer-laptop", "--role", "viewer", "--person", "lawyer"]
    refused = run([*key, "--case", case_id], tmp_path, ok=False)
    assert refused.returncode == 1 and "at most the role none" in refused.stderr
    shared = run(["case", "share", case_id, "lawyer", "--role", "viewer", "--until", UNTIL], tmp_path)
    assert f"'lawyer' is now a member of case {case_id}: viewer (no download, export or sources)" in shared.stdout
    assert "until 2099-03-31T23:59:59" in shared.stdout
    created = json.loads(run([*key, "--case", case_id, "--expires", UNTIL, "--json"], tmp_path).stdout)
    assert (created["person"], created["role"], created["cases"]) == ("lawyer", "viewer", [case_id])


def test_members_lists_role_permissions_and_end_as_shared(tmp_path: Path, case_id: str) -> None:
    command = ["case", "share", case_id, "lawyer", "--role", "viewer", "--permission", "download"]
    run([*command, "--permission", "export", "--until", UNTIL], tmp_path)
    [member] = members(tmp_path, case_id)
    assert (member["person"], member["role"], member["permissions"], member["live"]) == (
        "lawyer",
        "viewer",
        ["download", "export"],
        True,
    )
    assert str(member["expires_at"]).startswith("2099-03-31T23:59:59")
    assert str(member["added_by"]).startswith("local:")
    table = run(["case", "members", case_id], tmp_path).stdout
    assert "lawyer" in table and "download, export" in table and "2099-03-31T23:59:59+00:00" in table


def test_sharing_again_changes_the_membership_and_each_change_is_in_the_case_history(
    tmp_path: Path, case_id: str
) -> None:
    run(["case", "share", case_id, "lawyer", "--role", "viewer", "--permission", "download"], tmp_path)
    run(["case", "share", case_id, "lawyer", "--role", "analyst"], tmp_path)
    [member] = members(tmp_path, case_id)
    assert (member["role"], member["permissions"], member["expires_at"]) == ("analyst", [], None)
    run(["case", "unshare", case_id, "lawyer"], tmp_path)
    assert members(tmp_path, case_id) == []
    archive = open_archive(Settings(data_dir=tmp_path))
    try:
        with archive.sessions() as session:
            entries = load_history(session, "case", case_id).entries
            changes = [(entry.action, json.loads(entry.details).get("role")) for entry in entries[1:]]
    finally:
        archive.close()
    assert changes == [("member_set", "viewer"), ("member_set", "analyst"), ("member_removed", None)]


def test_unshare_of_someone_not_a_member_fails_saying_so(tmp_path: Path, case_id: str) -> None:
    refused = run(["case", "unshare", case_id, "lawyer"], tmp_path, ok=False)
    assert refused.returncode == 1 and f"'lawyer' is not a member of case {case_id}" in refused.stderr


REFUSED_SHARES = [
    (["--role", "none"], "a role in a case is one of viewer"),
    (["--role", "viewer", "--permission", "delete"], "unknown permission 'delete'"),
    (["--role", "viewer", "--until", "2099-03-31T23:59:59"], "--until needs a time zone"),
    (["--role", "viewer", "--until", "2001-01-01T00:00:00+00:00"], "expires_at must lie in the future"),
]


def test_share_refuses_what_no_membership_can_be(tmp_path: Path, case_id: str) -> None:
    for extra, says in REFUSED_SHARES:
        refused = run(["case", "share", case_id, "lawyer", *extra], tmp_path, ok=False)
        assert refused.returncode == 1 and says in refused.stderr, (extra, refused.stderr)
    assert members(tmp_path, case_id) == []


def test_members_of_an_unknown_case_fails_saying_so(tmp_path: Path, case_id: str) -> None:
    refused = run(["case", "members", "no-such-case"], tmp_path, ok=False)
    assert refused.returncode == 1 and "no-such-case" in refused.stderr
