"""Periodic tasks: work each domain does on a schedule (anchoring chain heads, retrying pending
timestamps, auditing fixity, SQLite's planner statistics). The embedded archive runs them on one background
thread of the API process (`PeriodicScheduler`, started and stopped by api/app.py); the scaled
one as procrastinate periodic tasks in `verity worker` (ingest/queue.py), each under a lock so two
never run at once. Either way a run is claimed in the database first (storage/periodic.py), so
the schedule survives restarts and one due run happens once.

To add a task: a `PeriodicTask` in `TASKS`, with a name that never changes (it keys the schedule
and the procrastinate task). A run should be short (a bounded slice of work that resumes where the
last one stopped, as `retry_stamps` does): the embedded scheduler lets a running task finish before
the API process stops, waiting at most `stop`'s timeout."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ingest.anchors import anchor_chains
from ingest.fixity import fixity_tick_s, scheduled_fixity_audit
from ingest.timestamps import retry_stamps
from storage.archive import Archive
from storage.db import refresh_statistics
from storage.models import utcnow
from storage.periodic import claim_run, finish_run, next_run_at
from verity.settings import Settings

log = logging.getLogger("verity.periodic")


def _always(_settings: Settings) -> bool:
    return True


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    every_s: Callable[[Settings], float]
    run: Callable[[Archive], object]
    enabled: Callable[[Settings], bool] = field(default=_always)


def _timestamps_configured(settings: Settings) -> bool:
    return settings.timestamps_configured


def _on_sqlite(settings: Settings) -> bool:
    return settings.resolved_database_url().startswith("sqlite")


# How often SQLite's planner statistics are gathered again: an archive grows by hand-ins, so
# hourly keeps them near its size (a run takes milliseconds at 10,000 clips).
STATISTICS_EVERY_S = 3600.0


TASKS: tuple[PeriodicTask, ...] = (
    PeriodicTask("anchor_chains", lambda s: s.anchor_interval_s, anchor_chains, _timestamps_configured),
    PeriodicTask(
        "retry_timestamps", lambda s: min(s.timestamp_retry_initial_s, 60), retry_stamps, _timestamps_configured
    ),
    # Called every minute: each call resumes the audit under way, or starts one once
    # VERITY_FIXITY_INTERVAL_S has passed since the last (ingest/fixity.py keeps that schedule).
    PeriodicTask("fixity_audit", fixity_tick_s, scheduled_fixity_audit),
    PeriodicTask(
        "database_statistics",
        lambda _s: STATISTICS_EVERY_S,
        lambda archive: refresh_statistics(archive.engine),
        _on_sqlite,
    ),
)


def periodic_tasks(settings: Settings) -> list[PeriodicTask]:
    """The tasks these settings call for."""
    return [task for task in TASKS if task.enabled(settings)]


def run_if_due(archive: Archive, task: PeriodicTask) -> bool:
    """Run `task` now if it is due and no other process claimed this run; whether it ran. An error
    is logged and kept with the run, never raised: the next run comes all the same."""
    if not claim_run(archive.sessions, task.name, task.every_s(archive.settings), utcnow()):
        return False
    error = None
    try:
        task.run(archive)
    except Exception as exc:
        error = f"{exc.__class__.__name__}: {exc}"
        log.exception("periodic task %s failed", task.name)
    finish_run(archive.sessions, task.name, error)
    return True


class PeriodicScheduler:
    """The embedded archive's scheduler: one thread running each due task in turn. `stop` wakes
    it at once; a task already running is let finish (up to `stop`'s timeout)."""

    def __init__(self, archive: Archive, tasks: list[PeriodicTask]) -> None:
        self.archive = archive
        self.tasks = tasks
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="verity-periodic", daemon=True)

    def start(self) -> None:
        if self.tasks:
            self._thread.start()

    def stop(self, timeout_s: float = 10) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("a periodic task is still running after %.0f s; leaving it", timeout_s)

    def _loop(self) -> None:
        next_due = {task.name: 0.0 for task in self.tasks}
        while not self._stop.is_set():
            for task in self.tasks:
                if self._stop.is_set():
                    return
                if time.monotonic() < next_due[task.name]:
                    continue
                every_s = task.every_s(self.archive.settings)
                try:
                    run_if_due(self.archive, task)
                    with self.archive.reads() as session:
                        due_at = next_run_at(session, task.name, every_s)
                    wait_s = (due_at - utcnow()).total_seconds() if due_at is not None else 0.0
                except Exception:
                    log.exception("could not schedule periodic task %s; trying again in a minute", task.name)
                    wait_s = 60.0
                next_due[task.name] = time.monotonic() + min(max(wait_s, 0.05), every_s)
            self._stop.wait(max(0.05, min(next_due.values()) - time.monotonic()))
