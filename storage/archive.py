"""The archive's stores, assembled once from settings and passed down."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage.blobs import BlobStore, make_blob_store
from storage.db import make_engine, make_read_session_factory, make_session_factory, upgrade_database
from verity.settings import Settings


@dataclass
class Archive:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    blobs: BlobStore
    reads: sessionmaker[Session]  # read-only sessions: they never wait for a writer (storage/db.py)

    def close(self) -> None:
        self.engine.dispose()


def open_archive(settings: Settings, *, upgrade: bool = False) -> Archive:
    """Connect to the database and object store named in `settings`; with `upgrade`, first bring
    the schema up to date (what the embedded archive does on start)."""
    url = settings.resolved_database_url()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if upgrade:
        upgrade_database(url)
    engine = make_engine(
        url, pool_size=settings.resolved_database_pool_size(), pool_timeout_s=settings.database_pool_timeout_s
    )
    blobs = make_blob_store(settings)
    return Archive(settings, engine, make_session_factory(engine), blobs, make_read_session_factory(engine))
