"""A throw-away PostgreSQL cluster for the tests, from Debian's `postgresql` package: made with
initdb in a temp folder, listening on a free port on 127.0.0.1 only, deleted when it stops."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests.helpers.children import start_server, stop_server
from tests.helpers.ports import free_port

BIN_GLOB = "/usr/lib/postgresql/*/bin"
# initdb and postgres refuse to run as root; the Debian package creates this user.
UNPRIVILEGED_USER = "postgres"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be started here; the message says what is missing."""


def postgres_bin_dir() -> Path:
    """The newest installed version's bin folder (with initdb and postgres)."""
    found = sorted(
        (path for path in Path("/").glob(BIN_GLOB.lstrip("/")) if (path / "initdb").exists()),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    if not found:
        raise PostgresUnavailable(
            f"no PostgreSQL server binaries in {BIN_GLOB}: run ./scripts/setup.sh (it installs Debian's "
            "postgresql package), or set VERITY_TEST_POSTGRES_URL to a server of your own"
        )
    return found[-1]


def _run_as(user: str | None, command: list[str], log: Path) -> None:
    done = subprocess.run(
        command,
        cwd=log.parent,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        user=user,
        group=user,
        extra_groups=[] if user else None,
    )
    log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise PostgresUnavailable(f"{command[0]} failed: {done.stdout}{done.stderr}")


def _answers(port: int) -> bool:
    try:
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres", connect_timeout=5):
            return True
    except psycopg.OperationalError:
        return False


@contextmanager
def throwaway_postgres(startup_timeout_s: float = 120) -> Iterator[str]:
    """A running cluster for as long as the block lasts; yields its admin URL (trust auth, user
    `postgres`). Durability is switched off: nothing in it outlives the block."""
    bin_dir = postgres_bin_dir()
    user = UNPRIVILEGED_USER if os.geteuid() == 0 else None
    # Not under pytest's temp folder: that is private to root, and the cluster runs as `postgres`.
    root = Path(tempfile.mkdtemp(prefix="verity-test-postgres-"))
    try:
        if user is not None:
            try:
                account = pwd.getpwnam(user)
            except KeyError as missing:
                raise PostgresUnavailable(
                    f"running as root, the test cluster needs the unprivileged user {user!r} "
                    "(Debian's postgresql package creates it)"
                ) from missing
            os.chown(root, account.pw_uid, account.pw_gid)
        data = root / "data"
        _run_as(
            user,
            [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
            + ["--locale=C", "--no-sync"],
            root / "initdb.log",
        )
        process, port = _start(bin_dir, data, root / "postgres.log", user, startup_timeout_s)
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        finally:
            stop_server(process, signal.SIGINT, timeout_s=30)  # a "fast" shutdown: disconnects clients
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _start(
    bin_dir: Path, data: Path, log: Path, user: str | None, startup_timeout_s: float
) -> tuple[subprocess.Popen[bytes], int]:
    for _attempt in range(3):  # a free port may be taken by someone else before the server binds it
        port = free_port()
        command = [str(bin_dir / "postgres"), "-D", str(data), "-p", str(port)]
        for setting in (
            "listen_addresses=127.0.0.1",
            "unix_socket_directories=",  # TCP on loopback only: no socket in /var/run/postgresql
            "fsync=off",
            "synchronous_commit=off",
            "full_page_writes=off",
            "max_connections=200",
        ):
            command += ["-c", setting]
        # SIGQUIT if pytest dies: an immediate shutdown that takes the server's backends with it.
        process = start_server(command, log, signal.SIGQUIT, user=user, cwd=log.parent)
        deadline = time.monotonic() + startup_timeout_s
        while process.poll() is None and time.monotonic() < deadline:
            if _answers(port):
                return process, port
            time.sleep(0.1)
        stop_server(process, signal.SIGQUIT)
        if "could not bind" not in log.read_text() and "Address already in use" not in log.read_text():
            break
    raise PostgresUnavailable(f"the test PostgreSQL did not start: {log.read_text()[-2000:]}")
