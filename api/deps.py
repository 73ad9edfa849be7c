"""FastAPI dependencies: the archive the app was built with, and a database session per request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from ingest.near_duplicates import NearDuplicateFinder
from ingest.runner import JobRunner
from storage.archive import Archive


def get_archive(request: Request) -> Archive:
    archive: Archive = request.app.state.archive
    return archive


ArchiveDep = Annotated[Archive, Depends(get_archive)]


def get_session(archive: ArchiveDep) -> Iterator[Session]:
    with archive.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_runner(request: Request) -> JobRunner:
    runner: JobRunner = request.app.state.runner
    return runner


RunnerDep = Annotated[JobRunner, Depends(get_runner)]


def get_finder(request: Request) -> NearDuplicateFinder:
    finder: NearDuplicateFinder = request.app.state.finder
    return finder


FinderDep = Annotated[NearDuplicateFinder, Depends(get_finder)]

# Largest integer a path or query parameter may carry: what every database column here can hold.
MAX_INT = 2**31 - 1
# The OpenAPI schema of a response that is raw bytes (an original, a thumbnail).
BINARY = {"type": "string", "format": "binary"}
