"""procrastinate's tables come with `upgrade_database` on PostgreSQL: created once, brought up to
date with the migration files a database lacks, and safe when several processes start at once."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from procrastinate.schema import SchemaManager
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from storage.db import upgrade_database
from storage.queue_schema import MARK, ensure_queue_schema


def queue_mark(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            mark: str | None = connection.scalar(
                text("SELECT obj_description(to_regclass('procrastinate_jobs'), 'pg_class')")
            )
            return mark
    finally:
        engine.dispose()


@pytest.fixture
def empty_postgres(postgres_template: str) -> Iterator[str]:
    """A PostgreSQL database with no tables at all (not a copy of the migrated template)."""
    admin_url = os.environ["VERITY_TEST_POSTGRES_URL"]
    name = f"verity_empty_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrade_creates_the_queue_tables_marked_with_the_latest_procrastinate_migration(empty_postgres: str) -> None:
    upgrade_database(empty_postgres)
    latest = sorted(Path(SchemaManager.get_migrations_path()).glob("*.sql"))[-1].stem
    assert queue_mark(empty_postgres) == MARK + latest
    upgrade_database(empty_postgres)  # a second run finds nothing to do
    assert queue_mark(empty_postgres) == MARK + latest


def test_upgrade_applies_only_the_queue_migrations_the_database_lacks(postgres_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "00.01.00_01_old.sql").write_text("CREATE TABLE must_not_run ();")  # older than the mark
    (folder / "90.00.00_01_first.sql").write_text(
        "CREATE TABLE queue_probe (n int); INSERT INTO queue_probe VALUES (1);"
    )
    (folder / "90.00.00_02_second.sql").write_text("INSERT INTO queue_probe VALUES (2); -- 100% in order")
    engine = create_engine(postgres_url)
    try:
        with engine.begin() as connection:
            assert ensure_queue_schema(connection, folder) == ["90.00.00_01_first.sql", "90.00.00_02_second.sql"]
        with engine.begin() as connection:
            assert ensure_queue_schema(connection, folder) == []
        with engine.connect() as connection:
            assert list(connection.scalars(text("SELECT n FROM queue_probe ORDER BY n"))) == [1, 2]
            assert connection.scalar(text("SELECT to_regclass('must_not_run')")) is None
    finally:
        engine.dispose()
    assert queue_mark(postgres_url) == MARK + "90.00.00_02_second"


def test_processes_upgrading_a_new_database_at_once_take_turns(empty_postgres: str) -> None:
    errors: list[BaseException] = []

    def upgrade() -> None:
        try:
            upgrade_database(empty_postgres)
        except BaseException as exc:  # reported below, with the thread's own traceback
            errors.append(exc)

    threads = [threading.Thread(target=upgrade) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "an upgrade is stuck"
    assert errors == []
    assert queue_mark(empty_postgres) is not None
