"""Taking a test database back to an older schema, as the migration tests do before they store
rows the way an older Verity did and upgrade again."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from storage.db import MIGRATIONS_DIR, make_engine


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def downgrade_database(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


STORED_AT = datetime(2026, 11, 30, 9, 0)
OLD_CLIP = (
    "INSERT INTO clips (id, sha256, size_bytes, filename, blob_key, status, created_at, uploaded_by,"
    " verification_status) VALUES ('old', :sha, 1, 'f', 'k', 'ready', :at, 'a', 'unverified')"
)


def execute_as_before(database_url: str, statement: str, **params: object) -> None:
    """Run `statement` as an older Verity wrote its rows; `:at` is STORED_AT as the dialect keeps
    it (SQLite without a zone)."""
    engine = make_engine(database_url)
    try:
        at = STORED_AT if engine.dialect.name == "sqlite" else STORED_AT.replace(tzinfo=UTC)
        with engine.begin() as connection:
            connection.execute(text(statement), {"at": at, **params})
    finally:
        engine.dispose()


def insert_old_clip(database_url: str) -> None:
    """A clip `old` stored as before the migration under test."""
    execute_as_before(database_url, OLD_CLIP, sha="0" * 64)
