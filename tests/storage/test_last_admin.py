"""The last-admin rule under concurrency: two admins revoking each other at once (PostgreSQL runs
both transactions together; SQLite takes one writer at a time) leave one admin, never none."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage.cases import create_case
from storage.db import make_engine, make_session_factory
from storage.keys import create_key, revoke_key
from storage.models import ApiKey, Person, utcnow
from storage.people import create_person, set_disabled, set_role
from verity.errors import Conflict

TRIALS = 20


@pytest.fixture
def sessions(database_url: str) -> sessionmaker[Session]:
    return make_session_factory(make_engine(database_url))


def live_admins(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        query = select(func.count()).where(ApiKey.role == "admin", ApiKey.revoked_at.is_(None))
        return int(session.scalar(query) or 0)


def revoke_each_other(sessions: sessionmaker[Session], first: str, second: str) -> list[BaseException | None]:
    """`first` revokes `second` while `second` revokes `first`, each in its own transaction,
    started together; what each raised (None when its revocation committed)."""
    start = threading.Barrier(2)
    outcomes: list[BaseException | None] = [None, None]

    def revoke(slot: int, name: str) -> None:
        start.wait(timeout=30)
        try:
            with sessions.begin() as session:
                revoke_key(session, name)
        except BaseException as exc:  # noqa: BLE001 - the outcome is what the test looks at
            outcomes[slot] = exc

    threads = [threading.Thread(target=revoke, args=(0, second)), threading.Thread(target=revoke, args=(1, first))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_two_admins_revoking_each_other_at_once_leave_one_admin(sessions: sessionmaker[Session]) -> None:
    for trial in range(TRIALS):
        first, second = f"alice-{trial}", f"bob-{trial}"
        with sessions.begin() as session:
            # the previous trial's survivor is revoked so that these two are the only admins
            for key in session.scalars(select(ApiKey).where(ApiKey.revoked_at.is_(None))):
                key.revoked_at = utcnow()
            create_key(session, first, "admin")
            create_key(session, second, "admin")
        outcomes = revoke_each_other(sessions, first, second)
        assert live_admins(sessions) == 1, f"trial {trial}: {outcomes}"
        refused = [outcome for outcome in outcomes if outcome is not None]
        assert len(refused) == 1 and isinstance(refused[0], Conflict), outcomes
        assert "last admin key" in refused[0].detail


def test_only_keys_that_can_still_administer_count_as_the_last_admin(sessions: sessionmaker[Session]) -> None:
    """An admin key that has expired, is narrowed to a case, or whose person is disabled or no
    longer admin cannot administer the archive, so it does not keep the last one revocable."""
    with sessions.begin() as session:
        create_key(session, "keeper", "admin")
        create_person(session, "ops", "admin")
        case = create_case(session, "A", "", "open", "keeper")
        create_key(session, "narrowed", "admin", person="ops", cases=[case.id])
        create_key(session, "expired", "admin", person="ops", expires_at=utcnow() + timedelta(hours=1))
        session.execute(update(ApiKey).where(ApiKey.name == "expired").values(expires_at=utcnow() - timedelta(1)))
        create_person(session, "gone", "admin")
        create_key(session, "of-a-disabled-person", "admin", person="gone")
        session.execute(update(Person).where(Person.name == "gone").values(disabled_at=utcnow()))
    with sessions.begin() as session, pytest.raises(Conflict, match="last admin key"):
        revoke_key(session, "keeper")
    # Nor may the last admin's person be disabled or lose the role: nobody would be left.
    with sessions.begin() as session, pytest.raises(Conflict, match="last live admin"):
        set_disabled(session, "keeper", True)
    with sessions.begin() as session, pytest.raises(Conflict, match="last live admin"):
        set_role(session, "keeper", "analyst")
    with sessions.begin() as session:
        create_key(session, "ops-admin", "admin", person="ops")
    with sessions.begin() as session:
        set_disabled(session, "keeper", True)
    with sessions() as session:
        assert session.scalar(select(Person.disabled_at).where(Person.name == "keeper")) is not None
