"""Tampering with the append-only chains (custody events, history entries) as raw database access could."""

from __future__ import annotations

from sqlalchemy import text

from storage.db import make_engine


def tamper_table(
    database_url: str, statement: str, table: str = "custody_events", params: dict[str, object] | None = None
) -> None:
    """What someone with raw database access could do to an append-only table: lift the guard
    (the triggers its migration made), then edit (`statement` with bound `params`)."""
    engine = make_engine(database_url)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only"))
        else:
            connection.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_update"))
            connection.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_delete"))
        connection.execute(text(statement), params or {})
    engine.dispose()


def tamper(database_url: str, statement: str) -> None:
    tamper_table(database_url, statement, "history_entries")
