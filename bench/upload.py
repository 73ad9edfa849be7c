"""Upload benchmark: a streamed multipart upload through the real server vs. `sha256sum`.

Generates a file of random bytes in a temporary folder, times `sha256sum` on it, starts
`verity serve` on 127.0.0.1 over a fresh embedded archive (SQLite + local folder) in that
folder, uploads the file to `POST /api/v1/clips` streaming it from disk, and samples the
server's resident memory while it does. Everything it creates is removed at the end.

    .venv/bin/python bench/upload.py [--size-mb 1024] [--client generator|httpx-files] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

HOST = "127.0.0.1"
MIB = 1024 * 1024
READ_CHUNK = MIB
SAMPLE_SECONDS = 0.05
GOAL_RATIO = 0.5
GOAL_RSS_MIB = 300


@dataclass
class Result:
    size_mib: float
    client: str
    sha256sum_seconds: float
    sha256sum_mib_s: float
    hashlib_mib_s: float
    upload_seconds: float
    upload_mib_s: float
    ratio: float
    server_rss_idle_mib: float
    server_rss_peak_mib: float
    rss_samples: int
    server_cpu_seconds: float
    client_cpu_seconds: float
    reply_after_body_seconds: float | None
    status_code: int
    sha256_match: bool


class BenchError(Exception):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def write_random_file(path: Path, size: int) -> None:
    remaining = size
    with path.open("wb") as out:
        while remaining > 0:
            chunk = os.urandom(min(16 * MIB, remaining))
            out.write(chunk)
            remaining -= len(chunk)
        out.flush()
        os.fsync(out.fileno())


def time_sha256sum(path: Path) -> tuple[str, float]:
    started = time.perf_counter()
    completed = subprocess.run(["sha256sum", str(path)], check=True, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    return completed.stdout.split()[0], elapsed


def time_hashlib(path: Path) -> tuple[str, float]:
    """SHA-256 via Python's hashlib (OpenSSL) with 1 MiB reads: what the server's hashing costs."""
    started = time.perf_counter()
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest(), time.perf_counter() - started


def verity_executable() -> str:
    beside = Path(sys.executable).parent / "verity"
    if beside.is_file():
        return str(beside)
    found = shutil.which("verity")
    if found is None:
        raise BenchError("the `verity` command is not installed (run with the project's .venv/bin/python)")
    return found


def create_key(verity: str, env: dict[str, str]) -> str:
    completed = subprocess.run(
        [verity, "keys", "create", "--name", "bench", "--role", "contributor"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if completed.returncode != 0:
        raise BenchError(f"`verity keys create` failed:\n{completed.stdout}{completed.stderr}")
    lines = completed.stdout.strip().splitlines()
    if not lines:
        raise BenchError("`verity keys create` printed no key")
    return lines[-1].strip()


def wait_healthy(base_url: str, server: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BenchError(f"the server exited with code {server.returncode} before it was healthy")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/healthz", timeout=2.0).status_code == 200:
                return
        time.sleep(0.1)
    raise BenchError(f"the server was not healthy after {timeout:.0f} s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=15)


def rss_bytes(process: psutil.Process) -> int:
    """RSS of the process and any children it has (uvicorn runs single-process here)."""
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += child.memory_info().rss
    return total


class RssSampler(threading.Thread):
    def __init__(self, process: psutil.Process) -> None:
        super().__init__(daemon=True)
        self.process = process
        self.peak = 0
        self.samples = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            with contextlib.suppress(psutil.Error):
                self.peak = max(self.peak, rss_bytes(self.process))
                self.samples += 1
            self._stop_event.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
        with contextlib.suppress(psutil.Error):
            self.peak = max(self.peak, rss_bytes(self.process))


@dataclass
class BodySent:
    """When the generator handed its last bytes to httpx (perf_counter), if it did."""

    at: float | None = None


def multipart_body(path: Path, boundary: str, sent: BodySent) -> tuple[int, Iterator[bytes]]:
    """A `multipart/form-data` body with one `file` part, read from disk in 1 MiB chunks."""
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    length = len(head) + path.stat().st_size + len(tail)

    def chunks() -> Iterator[bytes]:
        yield head
        with path.open("rb") as handle:
            while chunk := handle.read(READ_CHUNK):
                yield chunk
        yield tail
        sent.at = time.perf_counter()

    return length, chunks()


def upload(base_url: str, key: str, path: Path, client_kind: str, sent: BodySent) -> httpx.Response:
    url = f"{base_url}/api/v1/clips"
    headers = {"Authorization": f"Bearer {key}"}
    timeout = httpx.Timeout(600.0, write=None)
    with httpx.Client(timeout=timeout) as client:
        if client_kind == "httpx-files":
            # What `verity ingest --server` does: httpx streams the file object (64 KiB reads).
            with path.open("rb") as handle:
                return client.post(
                    url, headers=headers, files={"file": (path.name, handle, "application/octet-stream")}
                )
        boundary = uuid.uuid4().hex
        length, body = multipart_body(path, boundary, sent)
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        headers["Content-Length"] = str(length)
        return client.post(url, headers=headers, content=body)


def run(size_mib: int, client_kind: str, log: Any) -> Result:
    size = size_mib * MIB
    verity = verity_executable()
    workdir = Path(tempfile.mkdtemp(prefix="verity-bench-"))
    server: subprocess.Popen[bytes] | None = None
    server_log_path = workdir / "server.log"
    try:
        source = workdir / "random.bin"
        log(f"writing {size_mib} MiB of random bytes to {source} ...")
        write_random_file(source, size)

        log("timing sha256sum ...")
        expected, sha_seconds = time_sha256sum(source)
        hashlib_digest, hashlib_seconds = time_hashlib(source)
        if hashlib_digest != expected:
            raise BenchError("sha256sum and hashlib disagree about the file")

        data_dir = workdir / "archive"
        env = {**os.environ, "VERITY_DATA_DIR": str(data_dir)}
        for name in ("VERITY_DATABASE_URL", "VERITY_BLOB_BACKEND", "VERITY_BLOB_DIR"):
            env.pop(name, None)
        key = create_key(verity, env)

        port = free_port()
        base_url = f"http://{HOST}:{port}"
        log(f"starting verity serve on {base_url} (data dir {data_dir}) ...")
        with server_log_path.open("wb") as server_log:
            server = subprocess.Popen(
                [verity, "serve", "--host", HOST, "--port", str(port)],
                env=env,
                cwd=workdir,
                stdout=server_log,
                stderr=subprocess.STDOUT,
            )
        wait_healthy(base_url, server)

        process = psutil.Process(server.pid)
        idle_rss = rss_bytes(process)
        server_cpu_before = sum(process.cpu_times()[:2])
        client_cpu_before = time.process_time()
        sampler = RssSampler(process)
        sampler.start()
        log(f"uploading ({client_kind}) ...")
        sent = BodySent()
        started = time.perf_counter()
        try:
            response = upload(base_url, key, source, client_kind, sent)
        finally:
            finished = time.perf_counter()
            upload_seconds = finished - started
            sampler.stop()
        client_cpu = time.process_time() - client_cpu_before
        server_cpu = sum(process.cpu_times()[:2]) - server_cpu_before

        if response.status_code not in (200, 201):
            raise BenchError(f"upload answered {response.status_code}: {response.text[:500]}")
        got = response.json().get("sha256")
        sha_rate = size_mib / sha_seconds
        upload_rate = size_mib / upload_seconds
        return Result(
            size_mib=size_mib,
            client=client_kind,
            sha256sum_seconds=round(sha_seconds, 3),
            sha256sum_mib_s=round(sha_rate, 1),
            hashlib_mib_s=round(size_mib / hashlib_seconds, 1),
            upload_seconds=round(upload_seconds, 3),
            upload_mib_s=round(upload_rate, 1),
            ratio=round(upload_rate / sha_rate, 3),
            server_rss_idle_mib=round(idle_rss / MIB, 1),
            server_rss_peak_mib=round(sampler.peak / MIB, 1),
            rss_samples=sampler.samples,
            server_cpu_seconds=round(server_cpu, 2),
            client_cpu_seconds=round(client_cpu, 2),
            reply_after_body_seconds=None if sent.at is None else round(finished - sent.at, 3),
            status_code=response.status_code,
            sha256_match=got == expected,
        )
    except BaseException:
        if server_log_path.exists():
            tail = server_log_path.read_text(errors="replace").splitlines()[-30:]
            print("--- server log (tail) ---", *tail, "---", sep="\n", file=sys.stderr)
        raise
    finally:
        if server is not None:
            stop_server(server)
        shutil.rmtree(workdir, ignore_errors=True)


def print_table(result: Result) -> None:
    rss_note = f"(goal < {GOAL_RSS_MIB} MiB for a 2 GiB file)"
    rows = [
        ("file size", f"{result.size_mib:.0f} MiB"),
        ("sha256sum", f"{result.sha256sum_seconds:.2f} s   {result.sha256sum_mib_s:.1f} MiB/s"),
        ("sha256 in Python (hashlib)", f"{result.hashlib_mib_s:.1f} MiB/s   (reference only)"),
        (f"upload ({result.client})", f"{result.upload_seconds:.2f} s   {result.upload_mib_s:.1f} MiB/s"),
        ("ratio upload / sha256sum", f"{result.ratio:.2f}   (goal >= {GOAL_RATIO})"),
        (
            "server RSS idle / peak",
            f"{result.server_rss_idle_mib:.0f} / {result.server_rss_peak_mib:.0f} MiB   {rss_note}",
        ),
        ("CPU during upload", f"server {result.server_cpu_seconds:.1f} s, client {result.client_cpu_seconds:.1f} s"),
        (
            "reply after last byte sent",
            "n/a" if result.reply_after_body_seconds is None else f"{result.reply_after_body_seconds:.2f} s",
        ),
        ("sha256 matches", "yes" if result.sha256_match else "NO"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1024, help="file size in MiB (default 1024)")
    parser.add_argument(
        "--client",
        choices=("generator", "httpx-files"),
        default="generator",
        help="generator: hand-built multipart body, 1 MiB reads (default); httpx-files: httpx files= as the CLI does",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if args.size_mb <= 0:
        parser.error("--size-mb must be positive")

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        result = run(args.size_mb, args.client, log)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(asdict(result), indent=2))
    else:
        print_table(result)
    return 0 if result.sha256_match else 1


if __name__ == "__main__":
    # Turn SIGTERM into an exception too, so the finally blocks stop the server and clean up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
