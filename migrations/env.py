"""Alembic environment: runs the migrations against the URL set by `storage.db.upgrade_database`
(or `-x url=...` / `VERITY_DATABASE_URL` when alembic is called directly)."""

from __future__ import annotations

from alembic import context

from storage.db import make_engine
from verity.settings import Settings

config = context.config
url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
if not url:
    url = Settings().resolved_database_url()

engine = make_engine(url)
with engine.connect() as connection:
    context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
