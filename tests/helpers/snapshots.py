"""An archive built once and handed to each test as a copy of its own: for modules whose tests
all start from the same expensive state (clips uploaded, analysed and stamped), so that state is
made once per module and backend rather than once per test, and no test sees another's changes.

The embedded archive is copied as files (its SQLite database, objects and saved index); the
scaled one as a PostgreSQL database made from the built one as its template, and a new bucket
holding copies of the built one's objects (the saved index among them)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from minio import Minio
from minio.commonconfig import CopySource
from sqlalchemy.engine import make_url

from storage.archive import Archive, open_archive
from tests.conftest import drop_postgres_database, fresh_bucket, fresh_postgres_database
from tests.helpers.s3_server import S3Server
from verity.settings import Settings


@dataclass(frozen=True)
class ArchiveSnapshot:
    settings: Settings  # the built archive's, which is closed and only ever copied

    @contextmanager
    def copied(self, request: pytest.FixtureRequest, folder: Path) -> Iterator[Archive]:
        """A new archive in `folder` holding what the built one held, open for the block; its
        database and bucket are dropped with `request`."""
        archive = self._copy(request, folder)
        try:
            yield archive
        finally:
            archive.close()

    def _copy(self, request: pytest.FixtureRequest, folder: Path) -> Archive:
        built = self.settings
        database = make_url(built.resolved_database_url())
        assert database.database is not None
        if built.blob_backend == "local":
            shutil.copytree(built.data_dir, folder, dirs_exist_ok=True)  # its database is in it
            copied = database.set(database=str(folder / Path(database.database).relative_to(built.data_dir)))
            return open_archive(
                built.model_copy(update={"data_dir": folder, "database_url": copied.render_as_string()})
            )
        template = database.database
        url, name = fresh_postgres_database(template)
        request.addfinalizer(lambda: drop_postgres_database(name))
        server: S3Server = request.getfixturevalue("s3_server")
        bucket = fresh_bucket(request, server)
        client = Minio(server.endpoint, server.access_key, server.secret_key, secure=False)
        client.make_bucket(bucket)
        for item in client.list_objects(built.s3_bucket, recursive=True):
            assert item.object_name is not None
            client.copy_object(bucket, item.object_name, CopySource(built.s3_bucket, item.object_name))
        return open_archive(built.model_copy(update={"data_dir": folder, "database_url": url, "s3_bucket": bucket}))


def snapshot(archive: Archive) -> ArchiveSnapshot:
    """Close `archive` (built, its apps stopped) to be copied from then on."""
    archive.close()
    return ArchiveSnapshot(archive.settings)
