"""FastAPI dependencies: the archive the app was built with, a database session per request, and
the thread pool for request bodies."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor
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


# Methods whose handlers only read; their sessions never wait for (or take) a write lock.
READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request, archive: ArchiveDep) -> Iterator[Session]:
    """A session for the request, whose transaction the request owns: committed when the handler
    returns, rolled back when it raises (routes never commit). Read-only for GET and HEAD (a
    handler of those that writes, such as a download's custody event, opens a transaction of its
    own), else one that writes."""
    sessions = archive.reads if request.method in READING_METHODS else archive.sessions
    with sessions() as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        session.commit()


# Closed when the handler returns, before the answer is sent: no connection waits on a slow client.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_runner(request: Request) -> JobRunner:
    runner: JobRunner = request.app.state.runner
    return runner


RunnerDep = Annotated[JobRunner, Depends(get_runner)]


def get_finder(request: Request) -> NearDuplicateFinder:
    finder: NearDuplicateFinder = request.app.state.finder
    return finder


FinderDep = Annotated[NearDuplicateFinder, Depends(get_finder)]


def get_body_threads(request: Request) -> Executor:
    threads: Executor = request.app.state.threads.bodies
    return threads


BodyThreadsDep = Annotated[Executor, Depends(get_body_threads)]

# Largest integer a path or query parameter may carry: what every database column here can hold.
MAX_INT = 2**31 - 1
# The OpenAPI schema of a response that is raw bytes (an original, a thumbnail).
BINARY = {"type": "string", "format": "binary"}
