"""The periodic-task schedule (ingest/periodic.py): a run is claimed once per interval whichever
process asks, errors are kept with the run, the embedded scheduler runs due tasks on its thread
and stops promptly, and the scaled archive has one procrastinate periodic task per task, locked."""

from __future__ import annotations

import time

from ingest.periodic import TASKS, PeriodicScheduler, PeriodicTask, periodic_tasks, run_if_due
from ingest.queue import make_queue_app, periodic_task_name
from storage.archive import Archive
from storage.models import PeriodicRun
from tests.helpers.tsa import LoopbackTsa, stamping


def counting(name: str, every_s: float, runs: list[float], fail: bool = False) -> PeriodicTask:
    def run(_archive: Archive) -> None:
        runs.append(time.monotonic())
        if fail:
            raise RuntimeError("the audit found its store gone")

    return PeriodicTask(name, lambda _settings: every_s, run)


def test_a_due_task_runs_once_until_its_interval_has_passed(archive: Archive) -> None:
    runs: list[float] = []
    task = counting("hourly", 3600, runs)
    assert run_if_due(archive, task) is True
    assert run_if_due(archive, task) is False
    assert len(runs) == 1
    with archive.sessions() as session:
        run = session.get(PeriodicRun, "hourly")
        assert run is not None and run.last_finished_at is not None and run.last_error is None


def test_a_failing_task_keeps_its_error_and_runs_at_its_next_time(archive: Archive) -> None:
    runs: list[float] = []
    task = counting("fragile", 0.05, runs, fail=True)
    assert run_if_due(archive, task) is True
    time.sleep(0.1)
    assert run_if_due(archive, task) is True
    assert len(runs) == 2
    with archive.sessions() as session:
        run = session.get(PeriodicRun, "fragile")
        assert run is not None and run.last_error == "RuntimeError: the audit found its store gone"


def test_the_embedded_scheduler_runs_due_tasks_and_stops_promptly(archive: Archive) -> None:
    runs: list[float] = []
    scheduler = PeriodicScheduler(archive, [counting("often", 0.1, runs), counting("rarely", 3600, [])])
    scheduler.start()
    deadline = time.monotonic() + 20
    while len(runs) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    stopping = time.monotonic()
    scheduler.stop()
    assert time.monotonic() - stopping < 2
    assert len(runs) >= 3
    # Each run waits its interval after the one before started: never more often than every 0.1 s.
    assert len(runs) <= (runs[-1] - runs[0]) / 0.1 + 1.5
    count = len(runs)
    time.sleep(0.3)
    assert len(runs) == count  # stopped means stopped


def test_timestamp_tasks_are_scheduled_only_with_an_authority(archive: Archive, tsa: LoopbackTsa) -> None:
    statistics = ["database_statistics"] if archive.engine.dialect.name == "sqlite" else []
    assert [task.name for task in periodic_tasks(archive.settings)] == ["fixity_audit", *statistics]
    stamping(archive, tsa)
    names = [task.name for task in periodic_tasks(archive.settings)]
    assert names == ["anchor_chains", "retry_timestamps", "fixity_audit", *statistics]


def test_sqlite_planner_statistics_are_gathered_by_a_periodic_task(archive: Archive) -> None:
    """Without them SQLite sorts every clip for a page of a search by status (bench/pages.py)."""
    (task,) = [task for task in TASKS if task.name == "database_statistics"]
    if archive.engine.dialect.name != "sqlite":
        assert task not in periodic_tasks(archive.settings)  # PostgreSQL's autovacuum keeps its own
        return
    with archive.engine.connect() as connection:
        assert not connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'").all()
    assert run_if_due(archive, task) is True
    with archive.engine.connect() as connection:
        analysed = {row[0] for row in connection.exec_driver_sql("SELECT tbl FROM sqlite_stat1")}
    assert "periodic_runs" in analysed  # tables with rows (an empty one has nothing to say)


def test_each_task_is_a_procrastinate_periodic_task_that_never_runs_twice_at_once() -> None:
    app = make_queue_app("dbname=unused")
    registered = {task.task.name: task for task in app.periodic_registry.periodic_tasks.values()}
    for task in TASKS:
        name = periodic_task_name(task)
        assert registered[name].cron == "* * * * *"
        assert app.tasks[name].lock == name
        assert app.tasks[name].queueing_lock == name
