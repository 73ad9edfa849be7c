"""procrastinate's tables (the job queue of the scaled deployment) in the archive's PostgreSQL.

procrastinate owns and versions this schema in its own SQL files, so it is applied from them
rather than frozen into an Alembic migration: a new database gets procrastinate's `schema.sql`,
an existing one the migration files it has not had yet, in order. The name of the last migration
the database includes is kept as the comment on `procrastinate_jobs`.
"""

from __future__ import annotations

from pathlib import Path

from procrastinate.schema import SchemaManager
from sqlalchemy import Connection, text

from verity.errors import ConfigurationError

MARK = "verity: procrastinate schema up to "


def _migration_files(folder: Path) -> list[Path]:
    # Names start with a zero-padded version and an order number, so they sort in order.
    return sorted(folder.glob("*.sql"))


def _run_script(connection: Connection, script: str) -> None:
    # Through the driver's cursor without parameters: psycopg then sends the script as it is
    # (many statements, `%` signs in PL/pgSQL messages) instead of parsing placeholders.
    cursor = connection.connection.cursor()
    try:
        cursor.execute(script)
    finally:
        cursor.close()


def _mark(connection: Connection, last: str) -> None:
    comment = (MARK + last).replace("'", "''")
    connection.exec_driver_sql(f"COMMENT ON TABLE procrastinate_jobs IS '{comment}'")


def ensure_queue_schema(connection: Connection, migrations_dir: Path | None = None) -> list[str]:
    """Create procrastinate's schema, or bring it up to the installed procrastinate, inside the
    connection's transaction. Returns what was applied: `["schema.sql"]`, the names of the
    migration files, or nothing when it was up to date."""
    folder = migrations_dir or Path(SchemaManager.get_migrations_path())
    files = _migration_files(folder)
    latest = files[-1].stem if files else ""
    if connection.scalar(text("SELECT to_regclass('procrastinate_jobs')")) is None:
        _run_script(connection, SchemaManager.get_schema())
        _mark(connection, latest)
        return ["schema.sql"]
    comment = connection.scalar(text("SELECT obj_description('procrastinate_jobs'::regclass, 'pg_class')")) or ""
    if not comment.startswith(MARK):
        raise ConfigurationError(
            "procrastinate_jobs exists but was not created by Verity, so which of procrastinate's "
            "migrations it has had is unknown; apply them by hand, then set its comment to "
            f"'{MARK}{latest}'"
        )
    applied = comment.removeprefix(MARK)
    pending = [path for path in files if path.stem > applied]
    for path in pending:
        _run_script(connection, path.read_text(encoding="utf-8"))
    if pending:
        _mark(connection, pending[-1].stem)
    return [path.name for path in pending]
