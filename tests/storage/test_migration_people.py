"""Migration 0019: every key made before it gets a person named after it with the key's role, and
still authenticates with that role, recording the same actor; it goes back down."""

from __future__ import annotations

from sqlalchemy import inspect

from storage.db import make_engine, make_session_factory, upgrade_database
from storage.keys import actor_of, authenticate, effective_role, hash_secret
from tests.helpers.migrations import downgrade_database, execute_as_before

SECRET = "vrt_made-before-people-existed"


def test_a_key_made_before_0019_authenticates_with_its_role_afterwards(database_url: str) -> None:
    downgrade_database(database_url, "0018")
    execute_as_before(
        database_url,
        "INSERT INTO api_keys (name, role, key_hash, created_at) VALUES ('field-team', 'contributor', :h, :at)",
        h=hash_secret(SECRET),
    )
    upgrade_database(database_url)
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        key = authenticate(session, SECRET)
        assert (key.name, key.role, key.person.name, key.person.role) == (
            "field-team",
            "contributor",
            "field-team",
            "contributor",
        )
        assert (effective_role(key), actor_of(key), key.expires_at, key.case_ids) == (
            "contributor",
            "field-team",
            None,
            [],
        )
        assert key.person.password_hash is None and key.person.disabled_at is None
    engine.dispose()
    downgrade_database(database_url, "0018")
    engine = make_engine(database_url)
    assert "people" not in inspect(engine).get_table_names()
    assert {column["name"] for column in inspect(engine).get_columns("api_keys")} == {
        "id",
        "name",
        "role",
        "key_hash",
        "created_at",
        "revoked_at",
    }
    engine.dispose()
