"""The archive a `verity` command without `--server` works on: named on stderr before anything is
written, and never created by a command that only reads."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TYPE_CHECKING

from api.cli_output import err_console, fail

if TYPE_CHECKING:
    from storage.archive import Archive
    from verity.settings import Settings


def load_settings() -> Settings:
    """The settings from the environment, for a command that works on the archive itself. Imported
    here: pydantic-settings is ~50 ms of every command's start, and the commands that only talk to
    a server never read them."""
    from verity.settings import Settings

    return Settings()


def describe(settings: Settings) -> str:
    """Where the archive's database and objects are (the database password hidden)."""
    from sqlalchemy.engine import make_url

    database = make_url(settings.resolved_database_url()).render_as_string(hide_password=True)
    if settings.blob_backend == "s3":
        objects = f"S3 bucket {settings.s3_bucket} at {settings.s3_endpoint}"
    else:
        objects = str(settings.resolved_blob_dir())
    return f"database {database}, objects {objects}"


def announce(settings: Settings, doing: str) -> None:
    """Say on stderr which archive a command is about to write to, so a second archive made by
    mistake (another working directory, a missing VERITY_DATA_DIR) is noticed at once."""
    err_console.print(f"{doing} the archive at {describe(settings)}", highlight=False, soft_wrap=True)


def archive_exists(settings: Settings) -> bool:
    """Whether the configured database holds a Verity archive (without creating anything)."""
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.pool import NullPool

    url = make_url(settings.resolved_database_url())
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            return False
        if not Path(url.database).is_file():
            return False
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return inspect(connection).has_table("clips")
    except SQLAlchemyError as exc:
        raise fail(f"cannot read the archive's database ({describe(settings)}): {exc.__class__.__name__}") from None
    finally:
        engine.dispose()


def open_existing(settings: Settings) -> Archive:
    """The configured archive, or the command ends saying none is there (nothing is created)."""
    from storage.archive import open_archive

    if not archive_exists(settings):
        raise fail(
            f"no archive at {describe(settings)}: set VERITY_DATA_DIR (or VERITY_DATABASE_URL) to the "
            "archive's, or ask a server with --server URL (or VERITY_SERVER)"
        )
    return open_archive(settings, upgrade=True)


def local_actor() -> str:
    """Who a command on the local archive is recorded as: the machine's user, as `local:<name>`."""
    return f"local:{getpass.getuser()}"
