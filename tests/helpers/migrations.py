"""Taking a test database back to an older schema, as the migration tests do before they store
rows the way an older Verity did and upgrade again."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from storage.db import MIGRATIONS_DIR


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def downgrade_database(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)
