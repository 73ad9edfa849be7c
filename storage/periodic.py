"""The schedule of periodic tasks (ingest/periodic.py) as rows: when each last started and ended.
Claiming a run is one transaction, so of two processes that find a task due only one runs it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage.models import PeriodicRun, utcnow


def claim_run(sessions: sessionmaker[Session], name: str, every_s: float, now: datetime) -> bool:
    """Mark task `name` started at `now` if it is due (never run, or last started `every_s` ago)."""
    try:
        with sessions.begin() as session:
            run = session.scalar(select(PeriodicRun).where(PeriodicRun.name == name).with_for_update())
            if run is None:
                session.add(PeriodicRun(name=name, last_started_at=now))
                return True
            if run.last_started_at is not None and now < run.last_started_at + timedelta(seconds=every_s):
                return False
            run.last_started_at = now
            return True
    except IntegrityError:
        return False  # another process recorded its first run at the same moment


def finish_run(sessions: sessionmaker[Session], name: str, error: str | None) -> None:
    with sessions.begin() as session:
        run = session.get(PeriodicRun, name)
        if run is not None:
            run.last_finished_at, run.last_error = utcnow(), error


def next_run_at(session: Session, name: str, every_s: float) -> datetime | None:
    """When task `name` is due next; None if it never ran (due now)."""
    run = session.get(PeriodicRun, name)
    if run is None or run.last_started_at is None:
        return None
    return run.last_started_at + timedelta(seconds=every_s)


def load_run(session: Session, name: str) -> PeriodicRun | None:
    """When task `name` last started and ended, and how its last run ended (for a status page)."""
    return session.get(PeriodicRun, name)
