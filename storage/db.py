"""Database engine and sessions, and the one way the schema is created: Alembic migrations (plus,
on PostgreSQL, procrastinate's own SQL for the job queue's tables)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


# The execution option that marks an engine's transactions as reads (see `make_read_session_factory`).
READ_ONLY = "verity_read_only"


def make_engine(url: str, *, pool_size: int | None = None, pool_timeout_s: float = 30) -> Engine:
    """The engine for `url`; `pool_size` connections at most (SQLAlchemy's default of 5 + 10 when
    None), a caller waiting up to `pool_timeout_s` for one."""
    pool: dict[str, Any] = {"pool_timeout": pool_timeout_s}
    if pool_size is not None:
        pool |= {"pool_size": pool_size, "max_overflow": 0}
    if url.startswith("sqlite"):
        database = url.split("///", 1)[-1]
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        in_memory = not database or database == ":memory:"
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **({} if in_memory else pool)
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **pool)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control from pysqlite so that `begin` below decides how they start.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Without it an INSERT OR REPLACE deletes a row without firing its delete trigger, which is
    # what keeps the custody log and history append-only on SQLite.
    cursor.execute("PRAGMA recursive_triggers=ON")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def make_read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for reading only: on SQLite their transactions start deferred, so they never wait
    for the write lock (WAL readers see the last commit), and any write in them fails; on
    PostgreSQL they are READ ONLY transactions."""
    options: dict[str, Any] = {READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        options["postgresql_readonly"] = True
    return sessionmaker(engine.execution_options(**options), expire_on_commit=False)


def refresh_statistics(engine: Engine) -> None:
    """Gather the statistics SQLite's query planner picks indexes by (ANALYZE, reading a bounded
    sample of each index). Without them it takes the index of any equality filter: `status=ready`
    over 10,000 clips then read and sorted every clip row for a page of 25 (bench/pages.py).
    PostgreSQL's autovacuum keeps its own statistics: there this does nothing."""
    if engine.dialect.name != "sqlite":
        return
    with engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA analysis_limit=1000")
        connection.exec_driver_sql("ANALYZE")
    # A connection reads the statistics when it opens, and the pool keeps its connections: start
    # the pool afresh (connections in use close when they come back) so every query plans by them.
    engine.dispose()


# Held while a PostgreSQL database is upgraded, so that an API and workers starting together
# take turns instead of racing to create the same tables.
UPGRADE_LOCK_KEY = 0x7665726974790001


def upgrade_database(url: str, revision: str = "head") -> None:
    """Bring the schema at `url` up to `revision` through the migrations; on PostgreSQL also
    create or update the job queue's tables (storage/queue_schema.py)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if make_url(url).get_backend_name() != "postgresql":
        command.upgrade(config, revision)
        return
    from storage.queue_schema import ensure_queue_schema

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as lock:
            lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": UPGRADE_LOCK_KEY})
            lock.commit()
            try:
                command.upgrade(config, revision)
                with lock.begin():
                    ensure_queue_schema(lock)
            finally:
                lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": UPGRADE_LOCK_KEY})
                lock.commit()
    finally:
        engine.dispose()


def _sqlite_begin(connection: Any) -> None:
    if connection.get_execution_options().get(READ_ONLY):
        # A read takes no lock: it reads the snapshot of the last commit, beside any writer.
        connection.exec_driver_sql("PRAGMA query_only=ON")
        connection.exec_driver_sql("BEGIN")
        return
    # Writers queue up at BEGIN instead of failing at their first write after a read (SQLite's
    # snapshot upgrade error), so read-then-append code such as the custody chain is safe.
    connection.exec_driver_sql("PRAGMA query_only=OFF")
    connection.exec_driver_sql("BEGIN IMMEDIATE")
