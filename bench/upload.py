"""Upload benchmark: uploads through the real server vs. `sha256sum`.

Generates a file of random bytes in a temporary folder, times `sha256sum` on it, then uploads
it with each method asked for, each to its own `verity serve` on 127.0.0.1 over a fresh
embedded archive (SQLite + local folder) in that folder, sampling the server's resident memory
while it does. Everything it creates is removed at the end. Methods:

- single: one `POST /api/v1/clips`, the file streamed from disk (`--client` says how);
- resumable: `POST /api/v1/uploads`, then one `PATCH` per `--chunk-mb` MiB streamed from disk
  (httpx, 1 MiB reads, as `verity ingest --server` sends them); the last one archives the file;
- cli: `verity ingest FILE --server URL --key KEY` as a subprocess (the same protocol, timed
  from start to exit, so Python's start-up is included).

With `--s3 HOST:PORT` the archives keep their objects on that S3 server instead (a bucket of
their own each, emptied and removed afterwards), e.g. one from ../shared/tools/s3-server.sh.

    .venv/bin/python bench/upload.py [--size-mb 1024] [--methods single,resumable,cli]
        [--client generator|httpx-files] [--chunk-mb 8] [--repeat 1] [--s3 HOST:PORT] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import resource
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
from dataclasses import asdict, dataclass, field
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
METHODS = ("single", "resumable", "cli")


@dataclass
class FileTimes:
    size_mib: float
    sha256sum_seconds: float
    sha256sum_mib_s: float
    hashlib_mib_s: float


@dataclass
class Measurement:
    """One upload of the file, to a server of its own."""

    method: str
    upload_seconds: float
    upload_mib_s: float
    ratio: float  # upload MiB/s over sha256sum MiB/s
    server_rss_idle_mib: float
    server_rss_peak_mib: float
    server_rss_own_peak_mib: float  # without children
    server_rss_after_mib: float
    rss_samples: int
    server_cpu_seconds: float
    client_cpu_seconds: float
    # From the client handing over its last byte to the response (the completing request's, for
    # a resumable upload): mostly the server's fsync, and for resumable the copy of the chunks.
    reply_after_body_seconds: float | None
    status_code: int
    sha256_match: bool
    chunks: int | None = None  # PATCH requests (resumable)
    final_request_seconds: float | None = None  # the whole completing PATCH (resumable)
    final_request_rss_peak_mib: float | None = None
    chunk_seconds_median: float | None = None  # a PATCH that does not complete the upload


@dataclass
class Report:
    file: FileTimes
    uploads: list[Measurement] = field(default_factory=list)
    load_average_before: tuple[float, float, float] | None = None
    load_average_after: tuple[float, float, float] | None = None
    started_utc: str = ""
    object_store: str = "local folder"


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
    total: int = process.memory_info().rss
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += child.memory_info().rss
    return total


class RssSampler(threading.Thread):
    def __init__(self, process: psutil.Process) -> None:
        super().__init__(daemon=True)
        self.process = process
        self.peak = 0
        self.peak_since_mark = 0
        self.own_peak = 0  # the server process alone, without children (ffprobe of an ingest job)
        self.samples = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            with contextlib.suppress(psutil.Error):
                self._take(rss_bytes(self.process))
                self.samples += 1
            self._stop_event.wait(SAMPLE_SECONDS)

    def _take(self, rss: int) -> None:
        self.peak = max(self.peak, rss)
        self.peak_since_mark = max(self.peak_since_mark, rss)
        with contextlib.suppress(psutil.Error):
            self.own_peak = max(self.own_peak, self.process.memory_info().rss)

    def mark(self) -> None:
        """Start a second peak from now (kept beside the overall one)."""
        self.peak_since_mark = 0
        with contextlib.suppress(psutil.Error):
            self._take(rss_bytes(self.process))

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
        with contextlib.suppress(psutil.Error):
            self._take(rss_bytes(self.process))


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
            # What `verity ingest --server` did before resumable uploads: httpx streams the file object (64 KiB reads).
            with path.open("rb") as handle:
                return client.post(
                    url, headers=headers, files={"file": (path.name, handle, "application/octet-stream")}
                )
        boundary = uuid.uuid4().hex
        length, body = multipart_body(path, boundary, sent)
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        headers["Content-Length"] = str(length)
        return client.post(url, headers=headers, content=body)


@dataclass
class Server:
    base_url: str
    key: str
    process: psutil.Process
    env: dict[str, str]


@dataclass(frozen=True)
class S3Target:
    endpoint: str
    access_key: str
    secret_key: str


@contextlib.contextmanager
def new_bucket(s3: S3Target) -> Iterator[str]:
    """A bucket name of its own on `s3`; its objects and the bucket are removed afterwards."""
    from minio import Minio
    from minio.deleteobjects import DeleteObject

    name = f"bench-{uuid.uuid4().hex[:12]}"
    try:
        yield name
    finally:
        client = Minio(s3.endpoint, s3.access_key, s3.secret_key, secure=False)
        with contextlib.suppress(Exception):
            if client.bucket_exists(name):
                objects = client.list_objects(name, recursive=True)
                for _error in client.remove_objects(name, (DeleteObject(o.object_name) for o in objects)):
                    pass
                client.remove_bucket(name)


@contextlib.contextmanager
def running_server(verity: str, folder: Path, log: Any, s3: S3Target | None = None) -> Iterator[Server]:
    """`verity serve` on a free port of 127.0.0.1 over a fresh embedded archive in `folder` (its
    objects in a new bucket on `s3` when given), with a contributor key; stopped and `folder`
    removed afterwards."""
    folder.mkdir()
    data_dir = folder / "archive"
    env = {**os.environ, "VERITY_DATA_DIR": str(data_dir)}
    for name in ("VERITY_DATABASE_URL", "VERITY_BLOB_BACKEND", "VERITY_BLOB_DIR", "VERITY_SERVER", "VERITY_API_KEY"):
        env.pop(name, None)
    with contextlib.ExitStack() as cleanup:
        if s3 is not None:
            env |= {
                "VERITY_BLOB_BACKEND": "s3",
                "VERITY_S3_ENDPOINT": s3.endpoint,
                "VERITY_S3_BUCKET": cleanup.enter_context(new_bucket(s3)),
                "VERITY_S3_ACCESS_KEY": s3.access_key,
                "VERITY_S3_SECRET_KEY": s3.secret_key,
                "VERITY_S3_SECURE": "false",
            }
        yield cleanup.enter_context(_serve(verity, folder, data_dir, env, log))


@contextlib.contextmanager
def _serve(verity: str, folder: Path, data_dir: Path, env: dict[str, str], log: Any) -> Iterator[Server]:
    server: subprocess.Popen[bytes] | None = None
    server_log_path = folder / "server.log"
    try:
        key = create_key(verity, env)
        port = free_port()
        base_url = f"http://{HOST}:{port}"
        log(f"starting verity serve on {base_url} (data dir {data_dir}) ...")
        with server_log_path.open("wb") as server_log:
            server = subprocess.Popen(
                [verity, "serve", "--host", HOST, "--port", str(port)],
                env=env,
                cwd=folder,
                stdout=server_log,
                stderr=subprocess.STDOUT,
            )
        wait_healthy(base_url, server)
        yield Server(base_url, key, psutil.Process(server.pid), env)
    except BaseException:
        if server_log_path.exists():
            tail = server_log_path.read_text(errors="replace").splitlines()[-30:]
            print("--- server log (tail) ---", *tail, "---", sep="\n", file=sys.stderr)
        raise
    finally:
        if server is not None:
            stop_server(server)
        shutil.rmtree(folder, ignore_errors=True)


def children_cpu_seconds() -> float:
    """CPU time of this process's children that have ended (the CLI, when it is the one timed)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Watch:
    """The server's RSS (sampled) and CPU time, and the client's CPU time (this process and the
    children that end meanwhile), from creation to `stop()`."""

    def __init__(self, process: psutil.Process) -> None:
        self.process = process
        self.idle_rss = rss_bytes(process)
        self._server_cpu = sum(process.cpu_times()[:2])
        self._client_cpu = time.process_time() + children_cpu_seconds()
        self.sampler = RssSampler(process)
        self.sampler.start()
        self.server_cpu = self.client_cpu = 0.0
        self.after_rss = 0

    def stop(self) -> None:
        self.sampler.stop()
        self.client_cpu = time.process_time() + children_cpu_seconds() - self._client_cpu
        with contextlib.suppress(psutil.Error):
            self.server_cpu = sum(self.process.cpu_times()[:2]) - self._server_cpu
            self.after_rss = rss_bytes(self.process)


def measurement(
    method: str,
    seconds: float,
    size_mib: float,
    sha_rate: float,
    watch: Watch,
    reply_after_body: float | None,
    status_code: int,
    sha256_match: bool,
    **extra: Any,
) -> Measurement:
    rate = size_mib / seconds
    return Measurement(
        method=method,
        upload_seconds=round(seconds, 3),
        upload_mib_s=round(rate, 1),
        ratio=round(rate / sha_rate, 3),
        server_rss_idle_mib=round(watch.idle_rss / MIB, 1),
        server_rss_peak_mib=round(watch.sampler.peak / MIB, 1),
        server_rss_own_peak_mib=round(watch.sampler.own_peak / MIB, 1),
        server_rss_after_mib=round(watch.after_rss / MIB, 1),
        rss_samples=watch.sampler.samples,
        server_cpu_seconds=round(watch.server_cpu, 2),
        client_cpu_seconds=round(watch.client_cpu, 2),
        reply_after_body_seconds=None if reply_after_body is None else round(reply_after_body, 3),
        status_code=status_code,
        sha256_match=sha256_match,
        **extra,
    )


def measure_single(server: Server, path: Path, client_kind: str, expected: str, sha_rate: float) -> Measurement:
    size_mib = path.stat().st_size / MIB
    watch = Watch(server.process)
    sent = BodySent()
    started = time.perf_counter()
    try:
        response = upload(server.base_url, server.key, path, client_kind, sent)
    finally:
        finished = time.perf_counter()
        watch.stop()
    if response.status_code not in (200, 201):
        raise BenchError(f"upload answered {response.status_code}: {response.text[:500]}")
    return measurement(
        f"single ({client_kind})",
        finished - started,
        size_mib,
        sha_rate,
        watch,
        None if sent.at is None else finished - sent.at,
        response.status_code,
        response.json().get("sha256") == expected,
    )


def file_range(handle: Any, offset: int, length: int, sent: BodySent) -> Iterator[bytes]:
    """`length` bytes of the file from `offset`, in 1 MiB reads (as the CLI sends a chunk)."""
    handle.seek(offset)
    while length > 0:
        data = handle.read(min(READ_CHUNK, length))
        if not data:
            raise BenchError(f"{handle.name} is shorter than expected")
        length -= len(data)
        yield data
    sent.at = time.perf_counter()


@dataclass
class ChunkedUpload:
    response: httpx.Response
    chunk_seconds: list[float]  # the PATCHes that did not complete the upload
    final_seconds: float
    final_reply_after_body: float | None
    final_rss_peak: int


def resumable_upload(base_url: str, key: str, path: Path, chunk_bytes: int, sampler: RssSampler) -> ChunkedUpload:
    """Declare the file (POST /api/v1/uploads), then PATCH it chunk by chunk at the server's
    offset; the PATCH that carries the last byte archives the file and answers with the clip."""
    size = path.stat().st_size
    declaration = {"filename": path.name, "size_bytes": size, "content_type": "application/octet-stream"}
    headers = {"Authorization": f"Bearer {key}"}
    timeout = httpx.Timeout(600.0, write=None)
    with httpx.Client(base_url=base_url, headers=headers, timeout=timeout) as client, path.open("rb") as handle:
        response = client.post("/api/v1/uploads", json=declaration)
        if response.status_code != 201:
            raise BenchError(f"POST /api/v1/uploads answered {response.status_code}: {response.text[:500]}")
        location = f"/api/v1/uploads/{response.json()['id']}"
        offset = 0
        chunk_seconds: list[float] = []
        while True:
            length = min(chunk_bytes, size - offset)
            last = offset + length == size
            if last:
                sampler.mark()
            sent = BodySent()
            started = time.perf_counter()
            response = client.patch(
                location,
                headers={
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                    "Content-Length": str(length),
                },
                content=file_range(handle, offset, length, sent),
            )
            finished = time.perf_counter()
            if response.status_code not in (200, 201):
                raise BenchError(f"PATCH at byte {offset} answered {response.status_code}: {response.text[:500]}")
            body = response.json()
            if last:
                if "sha256" not in body:
                    raise BenchError(f"the last chunk did not complete the upload: {body}")
                return ChunkedUpload(
                    response,
                    chunk_seconds,
                    finished - started,
                    None if sent.at is None else finished - sent.at,
                    sampler.peak_since_mark,
                )
            chunk_seconds.append(finished - started)
            if int(body["received_bytes"]) != offset + length:
                raise BenchError(f"the server stands at {body['received_bytes']}, not {offset + length}")
            offset += length


def measure_resumable(server: Server, path: Path, chunk_bytes: int, expected: str, sha_rate: float) -> Measurement:
    size_mib = path.stat().st_size / MIB
    watch = Watch(server.process)
    started = time.perf_counter()
    try:
        done = resumable_upload(server.base_url, server.key, path, chunk_bytes, watch.sampler)
    finally:
        finished = time.perf_counter()
        watch.stop()
    chunk_seconds = sorted(done.chunk_seconds)
    return measurement(
        f"resumable ({chunk_bytes // MIB} MiB)",
        finished - started,
        size_mib,
        sha_rate,
        watch,
        done.final_reply_after_body,
        done.response.status_code,
        done.response.json().get("sha256") == expected,
        chunks=len(chunk_seconds) + 1,
        final_request_seconds=round(done.final_seconds, 3),
        final_request_rss_peak_mib=round(done.final_rss_peak / MIB, 1),
        chunk_seconds_median=round(chunk_seconds[len(chunk_seconds) // 2], 4) if chunk_seconds else None,
    )


def measure_cli(verity: str, server: Server, path: Path, expected: str, sha_rate: float) -> Measurement:
    size_mib = path.stat().st_size / MIB
    command = [verity, "ingest", str(path), "--server", server.base_url, "--key", server.key]
    watch = Watch(server.process)
    started = time.perf_counter()
    try:
        completed = subprocess.run(command, env=server.env, capture_output=True, text=True, timeout=3600)
    finally:
        finished = time.perf_counter()
        watch.stop()
    if completed.returncode != 0:
        raise BenchError(f"`verity ingest --server` failed:\n{completed.stdout}{completed.stderr[-2000:]}")
    # It prints "CLIP_ID  SHA256  PATH" for the file.
    words = completed.stdout.split()
    return measurement(
        "cli (verity ingest --server)",
        finished - started,
        size_mib,
        sha_rate,
        watch,
        None,
        completed.returncode,
        len(words) >= 2 and words[1] == expected,
    )


def run(
    size_mib: int, methods: list[str], client_kind: str, chunk_mib: int, repeat: int, log: Any, s3: S3Target | None
) -> Report:
    size = size_mib * MIB
    verity = verity_executable()
    workdir = Path(tempfile.mkdtemp(prefix="verity-bench-"))
    try:
        load_before = os.getloadavg()
        started_utc = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        source = workdir / "random.bin"
        log(f"writing {size_mib} MiB of random bytes to {source} ...")
        write_random_file(source, size)

        log("timing sha256sum ...")
        expected, sha_seconds = time_sha256sum(source)
        hashlib_digest, hashlib_seconds = time_hashlib(source)
        if hashlib_digest != expected:
            raise BenchError("sha256sum and hashlib disagree about the file")
        sha_rate = size_mib / sha_seconds
        report = Report(
            file=FileTimes(
                size_mib=size_mib,
                sha256sum_seconds=round(sha_seconds, 3),
                sha256sum_mib_s=round(sha_rate, 1),
                hashlib_mib_s=round(size_mib / hashlib_seconds, 1),
            ),
            load_average_before=load_before,
            started_utc=started_utc,
            object_store=f"S3 at {s3.endpoint}" if s3 else "local folder",
        )

        # Each upload goes to a server and archive of its own: the same bytes again would be a
        # duplicate, and an archive left from one must not weigh on the next.
        for round_number in range(1, repeat + 1):
            for method in methods:
                with running_server(verity, workdir / f"{method}-{round_number}", log, s3) as server:
                    log(f"uploading ({method}, round {round_number}/{repeat}) ...")
                    if method == "single":
                        result = measure_single(server, source, client_kind, expected, sha_rate)
                    elif method == "resumable":
                        result = measure_resumable(server, source, chunk_mib * MIB, expected, sha_rate)
                    else:
                        result = measure_cli(verity, server, source, expected, sha_rate)
                report.uploads.append(result)
                log(f"  {result.method}: {result.upload_seconds:.2f} s, {result.upload_mib_s:.1f} MiB/s")
        report.load_average_after = os.getloadavg()
        return report
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def seconds_or_na(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"


def print_report(report: Report) -> None:
    file = report.file
    before, after = (
        "/".join(f"{value:.2f}" for value in load) if load else "?"
        for load in (report.load_average_before, report.load_average_after)
    )
    print(f"started {report.started_utc}; load average (1/5/15 min) before {before}, after {after}")
    print(f"object store                {report.object_store}")
    print(f"file size                   {file.size_mib:.0f} MiB")
    print(f"sha256sum                   {file.sha256sum_seconds:.2f} s   {file.sha256sum_mib_s:.1f} MiB/s")
    print(f"sha256 in Python (hashlib)  {file.hashlib_mib_s:.1f} MiB/s   (reference only)")
    singles = [m.upload_mib_s for m in report.uploads if m.method.startswith("single")]
    single_rate = sorted(singles)[len(singles) // 2] if singles else None
    header = (
        "method",
        "time",
        "MiB/s",
        "/sha256sum",
        "/single",
        "RSS idle/peak (own)/after MiB",
        "CPU server/client",
        "reply after last byte",
        "final request (its RSS peak)",
    )
    rows = [header]
    for m in report.uploads:
        final = "n/a"
        if m.final_request_seconds is not None:
            final = f"{m.final_request_seconds:.2f} s ({m.final_request_rss_peak_mib:.0f} MiB)"
        rows.append(
            (
                m.method + ("" if m.sha256_match else " SHA-256 MISMATCH"),
                f"{m.upload_seconds:.2f} s",
                f"{m.upload_mib_s:.1f}",
                f"{m.ratio:.2f}",
                "n/a" if single_rate is None else f"{m.upload_mib_s / single_rate:.2f}",
                f"{m.server_rss_idle_mib:.0f} / {m.server_rss_peak_mib:.0f} ({m.server_rss_own_peak_mib:.0f})"
                f" / {m.server_rss_after_mib:.0f}",
                f"{m.server_cpu_seconds:.1f} / {m.client_cpu_seconds:.1f} s",
                seconds_or_na(m.reply_after_body_seconds),
                final,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    for m in report.uploads:
        if m.chunks is not None:
            print(f"{m.method}: {m.chunks} PATCH requests, median {m.chunk_seconds_median} s for one not completing")
    print(
        f"goals: upload >= {GOAL_RATIO} x sha256sum MiB/s; server peak RSS < {GOAL_RSS_MIB} MiB and flat in file size"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1024, help="file size in MiB (default 1024)")
    parser.add_argument(
        "--methods",
        default=",".join(METHODS),
        help=f"comma-separated, in this order, from {', '.join(METHODS)} (default all)",
    )
    parser.add_argument(
        "--client",
        choices=("generator", "httpx-files"),
        default="generator",
        help="for single: hand-built multipart body, 1 MiB reads (default); httpx-files: httpx files=",
    )
    parser.add_argument("--chunk-mb", type=int, default=8, help="MiB per PATCH for resumable (default 8, as the CLI)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of all methods, interleaved (default 1)")
    parser.add_argument("--s3", metavar="HOST:PORT", help="keep the archives' objects on this S3 server (plain HTTP)")
    parser.add_argument("--s3-access-key", default="verity", help="(default verity, as s3-server.sh)")
    parser.add_argument("--s3-secret-key", default="verity-secret", help="(default verity-secret, as s3-server.sh)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    methods = [name.strip() for name in args.methods.split(",") if name.strip()]
    if not methods or any(name not in METHODS for name in methods):
        parser.error(f"--methods takes names from {', '.join(METHODS)}")
    if args.size_mb <= 0 or args.chunk_mb <= 0 or args.repeat <= 0:
        parser.error("--size-mb, --chunk-mb and --repeat must be positive")

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        s3 = S3Target(args.s3, args.s3_access_key, args.s3_secret_key) if args.s3 else None
        report = run(args.size_mb, methods, args.client, args.chunk_mb, args.repeat, log, s3)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(asdict(report), indent=2))
    else:
        print_report(report)
    return 0 if all(m.sha256_match for m in report.uploads) else 1


if __name__ == "__main__":
    # Turn SIGTERM into an exception too, so the finally blocks stop the servers and clean up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
