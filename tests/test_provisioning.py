"""The test set-up provisions its own servers: with no VERITY_TEST_* variable, no PostgreSQL and
no S3 server running, the PostgreSQL and S3 tests run (not skip), and the servers started for them
are gone when pytest ends, whether it finishes, is interrupted (Ctrl-C) or is killed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

PROBES = '''
import os
import threading
from pathlib import Path

from minio import Minio
from sqlalchemy import create_engine, text


def test_postgresql(postgres_url):
    engine = create_engine(postgres_url)
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT current_database()")) != "postgres"
    engine.dispose()


def test_s3(s3_server):
    client = Minio(s3_server.endpoint, s3_server.access_key, s3_server.secret_key, secure=False)
    client.make_bucket("probe")
    assert client.bucket_exists("probe")
    client.remove_bucket("probe")


def test_held_open(postgres_url, s3_server):
    """Both servers up, then waits until the outer test stops this pytest."""
    Path(os.environ["PROBE_READY"]).write_text("ready")
    threading.Event().wait(600)
'''


def bare_env(tmp_path: Path) -> dict[str, str]:
    """This environment without anything that names a test server."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("VERITY_", "PYTEST_"))}
    return {**env, "PROBE_READY": str(tmp_path / "ready")}


def inner_pytest(tmp_path: Path, *args: str) -> list[str]:
    probes = tmp_path / "test_probes.py"
    probes.write_text(PROBES)
    # The project's conftest as a plugin: the probes sit outside tests/, in this test's folder.
    return [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider", "-q"] + [
        f"--rootdir={ROOT}",
        f"--basetemp={tmp_path / 'inner'}",
        str(probes),
        *args,
    ]


def test_postgresql_and_s3_tests_run_without_any_test_server_given(tmp_path: Path) -> None:
    done = subprocess.run(
        inner_pytest(tmp_path, "-k", "not held_open"),
        cwd=ROOT,
        env=bare_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout and "skipped" not in done.stdout, done.stdout


def servers_of(pytest_process: psutil.Process) -> dict[psutil.Process, tuple[str, list[str]]]:
    """The processes the inner pytest started (PostgreSQL with its backends, SeaweedFS), with
    their names and command lines; a backend may come and go meanwhile."""
    found = {}
    for child in pytest_process.children(recursive=True):
        try:
            found[child] = (child.name(), child.cmdline())
        except psutil.NoSuchProcess:
            continue
    return {child: seen for child, seen in found.items() if seen[0] in ("postgres", "weed")}


def gone(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE  # dead; its new parent has not reaped it yet
    except psutil.NoSuchProcess:
        return True


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_the_servers_started_for_a_session_stop_with_it(tmp_path: Path, stop: signal.Signals) -> None:
    env = bare_env(tmp_path)
    inner = subprocess.Popen(
        inner_pytest(tmp_path, "-k", "held_open"),
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    clusters: list[Path] = []
    try:
        deadline = time.monotonic() + 300
        while not Path(env["PROBE_READY"]).exists():
            assert inner.poll() is None, inner.communicate()[0]
            assert time.monotonic() < deadline, "the servers did not start"
            time.sleep(0.1)
        servers = servers_of(psutil.Process(inner.pid))
        assert {name for name, _ in servers.values()} == {"postgres", "weed"}
        lines = [line for _, line in servers.values()]
        clusters = [Path(part).parent for line in lines for part in line if "verity-test-postgres-" in part]
        assert clusters

        inner.send_signal(stop)
        try:
            inner.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            inner.kill()
            pytest.fail(f"pytest did not stop within 300 s of {stop.name}: {inner.communicate()[0]}")

        deadline = time.monotonic() + 60
        while not all(gone(server) for server in servers):
            assert time.monotonic() < deadline, f"still running: {[servers[s] for s in servers if not gone(s)]}"
            time.sleep(0.1)
        if stop == signal.SIGINT:  # pytest itself cleaned up: the cluster's folder is gone too
            assert not any(cluster.exists() for cluster in clusters)
    finally:
        if inner.poll() is None:
            inner.kill()
            inner.wait()
        for cluster in clusters:  # what a killed pytest could not remove
            shutil.rmtree(cluster, ignore_errors=True)
