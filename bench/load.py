"""Load benchmark: many parallel large uploads beside many mixed clients, on a real server.

For each archive asked for, starts a `verity serve` of its own on 127.0.0.1 (embedded: SQLite and
a local folder; scaled: a fresh PostgreSQL database, a SeaweedFS started as the tests start it,
procrastinate's queue and one `verity worker`), seeds a few small clips, then at once:

- `--uploads` parallel `POST /api/v1/clips` of `--upload-mb` MiB each (distinct bytes, streamed
  in 1 MiB pieces with a Content-Length), each checked against its SHA-256;
- `--clients` mixed clients for `--seconds` s, each in a loop: show a clip, its custody log,
  download its original, provenance by hash (`GET /api/v1/verify?sha256=`), list clips, and now
  and then a small upload (64 KiB).

It reports errors and timeouts of each kind, the read latencies while the uploads ran (p50, p99),
the uploads' aggregate rate against `sha256sum` of the same bytes, and the server's peak RSS.
Goals (issue 9): no errors or timeouts, read p99 <= 500 ms during the uploads, aggregate upload
rate >= 0.5 x sha256sum, server RSS <= 500 MiB. Bounded: every request has a timeout, every phase
a deadline; everything it starts is stopped and everything it writes removed at the end.

    .venv/bin/python bench/load.py [--archives embedded,scaled] [--uploads 20] [--upload-mb 100]
        [--clients 50] [--seconds 60] [--postgres-url URL] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import struct
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project's own test S3 server
from tests.helpers.s3_server import running_s3_server  # noqa: E402

HOST = "127.0.0.1"
MIB = 1024 * 1024
ROOT = Path(__file__).resolve().parent.parent
VERITY = str(Path(sys.executable).parent / "verity")
READ_TIMEOUT_S = 30
UPLOAD_TIMEOUT_S = 600
SMALL_UPLOAD_BYTES = 64 * 1024
SEED_CLIPS = 5
GOALS = {"read_p99_ms": 500, "ratio": 0.5, "rss_mib": 500}
OPERATIONS = ("clip", "custody", "download", "verify_hash", "list", "clip", "custody", "small_upload")


@dataclass
class Result:
    archive: str
    uploads: int
    upload_mib: int
    clients: int
    seconds: float
    uploads_ok: int = 0
    upload_errors: list[str] = field(default_factory=list)
    uploads_wall_s: float = 0.0
    aggregate_mib_s: float = 0.0
    sha256sum_mib_s: float = 0.0
    ratio: float = 0.0
    requests: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    timeouts: int = 0
    first_errors: list[str] = field(default_factory=list)
    read_p50_ms_during_uploads: float = 0.0
    read_p99_ms_during_uploads: float = 0.0
    read_p99_ms_overall: float = 0.0
    p99_ms_by_operation_during_uploads: dict[str, float] = field(default_factory=dict)
    reads_during_uploads: int = 0
    server_rss_peak_mib: float = 0.0
    server_with_children_rss_peak_mib: float = 0.0
    server_cpu_s: float = 0.0
    load_average: str = ""

    def goals_met(self) -> bool:
        return (
            not self.upload_errors
            and not self.errors
            and self.timeouts == 0
            and self.read_p99_ms_during_uploads <= GOALS["read_p99_ms"]
            and self.ratio >= GOALS["ratio"]
            and self.server_rss_peak_mib <= GOALS["rss_mib"]
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def upload_pieces(index: int, size: int, base: bytes) -> Iterator[bytes]:
    """Upload `index`'s bytes: `size` bytes, distinct from every other upload's, made cheaply."""
    for number in range(size // MIB):
        yield struct.pack(">QQ", index, number) + base[16:]


def expected_sha256(index: int, size: int, base: bytes) -> str:
    digest = hashlib.sha256()
    for piece in upload_pieces(index, size, base):
        digest.update(piece)
    return digest.hexdigest()


def sha256sum_rate(folder: Path, size: int, base: bytes) -> float:
    """MiB/s of coreutils `sha256sum` over the bytes of upload 0 (second run: from the page cache)."""
    path = folder / "sha256sum-input"
    with path.open("wb") as handle:
        for piece in upload_pieces(0, size, base):
            handle.write(piece)
    best = 0.0
    for _ in range(2):
        started = time.perf_counter()
        subprocess.run(["sha256sum", str(path)], check=True, capture_output=True)
        best = max(best, size / MIB / (time.perf_counter() - started))
    path.unlink()
    return best


@dataclass
class Server:
    url: str
    key: str
    process: subprocess.Popen[bytes]


@contextlib.contextmanager
def serving(folder: Path, env: dict[str, str], with_worker: bool, key_name: str = "admin") -> Iterator[Server]:
    port = free_port()
    env = {**os.environ, "VERITY_DATA_DIR": str(folder / "data"), **env}
    # serve shows a first admin key only on a terminal: make it as an operator would.
    created = subprocess.run(
        [VERITY, "keys", "create", "--name", key_name, "--role", "admin"], env=env, capture_output=True, text=True
    )
    assert created.returncode == 0, f"verity keys create failed: {created.stdout}{created.stderr}"
    admin_key = created.stdout.strip().splitlines()[-1]
    log = (folder / "serve.log").open("wb")
    process = subprocess.Popen(
        [VERITY, "serve", "--host", HOST, "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    worker: subprocess.Popen[bytes] | None = None
    url = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, f"verity serve exited: {(folder / 'serve.log').read_text()}"
            assert time.monotonic() < deadline, "verity serve did not answer /healthz within 120 s"
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                    break
            time.sleep(0.2)
        if with_worker:
            worker_log = (folder / "worker.log").open("wb")
            worker = subprocess.Popen([VERITY, "worker"], env=env, stdout=worker_log, stderr=subprocess.STDOUT)
        yield Server(url, admin_key, process)
    finally:
        for child in (worker, process):
            if child is not None and child.poll() is None:
                child.terminate()
                try:
                    child.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait(timeout=30)
        log.close()


@contextlib.contextmanager
def scaled_archive(folder: Path, postgres_url: str) -> Iterator[dict[str, str]]:
    """A fresh PostgreSQL database and a SeaweedFS on loopback; their VERITY_* settings."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if make_url(postgres_url).host not in (HOST, "localhost"):
        raise SystemExit("the load benchmark only runs against 127.0.0.1")
    name = f"verity_load_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        with running_s3_server(folder / "s3") as s3:
            yield {
                "VERITY_DATABASE_URL": make_url(postgres_url).set(database=name).render_as_string(hide_password=False),
                "VERITY_BLOB_BACKEND": "s3",
                "VERITY_S3_ENDPOINT": s3.endpoint,
                "VERITY_S3_BUCKET": "load",
                "VERITY_S3_ACCESS_KEY": s3.access_key,
                "VERITY_S3_SECRET_KEY": s3.secret_key,
                "VERITY_S3_SECURE": "false",
                "VERITY_JOB_RUNNER": "procrastinate",
            }
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.peak = 0
        self.peak_with_children = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.1):
            with contextlib.suppress(psutil.Error):
                alone = self.process.memory_info().rss
                children = 0
                for child in self.process.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        children += child.memory_info().rss
                self.peak = max(self.peak, alone)
                self.peak_with_children = max(self.peak_with_children, alone + children)


def mixed_clients(
    url: str, key: str, clips: list[dict[str, str]], clients: int, seconds: float, go: Any, out: Any
) -> None:
    """Run in a process of its own (so the uploads' client threads do not slow it): `clients`
    threads looping over OPERATIONS for `seconds` s from when `go` is set; sends back
    (operation, start, latency, error) of every request."""
    records: list[tuple[str, float, float, str | None]] = []
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {key}"}
    out.send("ready")
    go.wait(120)
    stop_at = time.monotonic() + seconds

    def client(number: int) -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=READ_TIMEOUT_S) as session:
            step = number
            while time.monotonic() < stop_at:
                operation = OPERATIONS[step % len(OPERATIONS)]
                clip = clips[step % len(clips)]
                step += 1
                started_wall, started = time.time(), time.perf_counter()
                error = None
                try:
                    answer = request(session, operation, clip)
                    if answer.status_code not in (200, 201):
                        error = f"{operation}: {answer.status_code} {answer.text[:200]}"
                except httpx.TimeoutException as exc:
                    error = f"timeout: {operation}: {exc!r}"
                except httpx.HTTPError as exc:
                    error = f"{operation}: {exc!r}"
                with lock:
                    records.append((operation, started_wall, time.perf_counter() - started, error))

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + READ_TIMEOUT_S + 30)
    out.send(records)
    out.close()


def request(session: httpx.Client, operation: str, clip: dict[str, str]) -> httpx.Response:
    if operation == "clip":
        return session.get(f"/api/v1/clips/{clip['id']}")
    if operation == "custody":
        return session.get(f"/api/v1/clips/{clip['id']}/custody")
    if operation == "download":
        return session.get(f"/api/v1/clips/{clip['id']}/original")
    if operation == "verify_hash":
        return session.get("/api/v1/verify", params={"sha256": clip["sha256"]})
    if operation == "list":
        return session.get("/api/v1/clips", params={"limit": 20})
    files = {"file": ("small.bin", os.urandom(SMALL_UPLOAD_BYTES), "application/octet-stream")}
    return session.post("/api/v1/clips", files=files)


def big_upload(server: Server, index: int, size: int, base: bytes) -> tuple[str | None, float]:
    """One large upload; (its sha256 as the server answered, or None and the error; its end time)."""
    boundary = f"load-{index}"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="load-{index}.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        yield from upload_pieces(index, size, base)
        yield tail

    headers = {
        "Authorization": f"Bearer {server.key}",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(head) + size + len(tail)),
    }
    try:
        answer = httpx.post(f"{server.url}/api/v1/clips", headers=headers, content=body(), timeout=UPLOAD_TIMEOUT_S)
    except httpx.HTTPError as exc:
        return f"error: {exc!r}", time.time()
    if answer.status_code != 201:
        return f"error: {answer.status_code} {answer.text[:200]}", time.time()
    return str(answer.json()["sha256"]), time.time()


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run_archive(archive: str, args: argparse.Namespace, folder: Path, base: bytes, sha_rate: float) -> Result:
    size = args.upload_mb * MIB
    result = Result(archive, args.uploads, args.upload_mb, args.clients, args.seconds, sha256sum_mib_s=sha_rate)
    expected = [expected_sha256(i, size, base) for i in range(args.uploads)]
    with contextlib.ExitStack() as stack:
        env = stack.enter_context(scaled_archive(folder, args.postgres_url)) if archive == "scaled" else {}
        server = stack.enter_context(serving(folder, env, with_worker=archive == "scaled"))
        headers = {"Authorization": f"Bearer {server.key}"}
        clips = []
        for _ in range(SEED_CLIPS):
            seeded = httpx.post(
                f"{server.url}/api/v1/clips",
                headers=headers,
                files={"file": ("seed.bin", os.urandom(200_000), "application/octet-stream")},
                timeout=READ_TIMEOUT_S,
            )
            seeded.raise_for_status()
            clips.append({"id": seeded.json()["id"], "sha256": seeded.json()["sha256"]})
        sampler = RssSampler(server.process.pid)
        sampler.start()
        spawn = multiprocessing.get_context("spawn")
        receiving, sending = spawn.Pipe(duplex=False)
        go = spawn.Event()
        readers = spawn.Process(
            target=mixed_clients, args=(server.url, server.key, clips, args.clients, args.seconds, go, sending)
        )
        readers.start()
        if not receiving.poll(120) or receiving.recv() != "ready":
            raise SystemExit("the mixed clients' process did not start")
        server_process = psutil.Process(server.process.pid)
        cpu_before = sum(server_process.cpu_times()[:2])
        go.set()
        answers: list[tuple[str | None, float]] = [(None, 0.0)] * args.uploads
        uploads_started = time.time()

        def upload(index: int) -> None:
            answers[index] = big_upload(server, index, size, base)

        threads = [threading.Thread(target=upload, args=(i,), daemon=True) for i in range(args.uploads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(UPLOAD_TIMEOUT_S + 60)
        uploads_ended = max(end for _sha, end in answers) if all(end for _sha, end in answers) else time.time()
        records = receiving.recv() if receiving.poll(args.seconds + READ_TIMEOUT_S + 120) else []
        readers.join(30)
        if readers.is_alive():
            readers.kill()
        result.server_cpu_s = round(sum(server_process.cpu_times()[:2]) - cpu_before, 1)
        result.load_average = " ".join(f"{load:.1f}" for load in os.getloadavg())
        sampler.stop.set()
        sampler.join(5)
    for index, (answer, _end) in enumerate(answers):
        if answer == expected[index]:
            result.uploads_ok += 1
        else:
            result.upload_errors.append(f"upload {index}: {answer or 'no answer before the deadline'}")
    result.uploads_wall_s = round(uploads_ended - uploads_started, 2)
    result.aggregate_mib_s = round(args.uploads * args.upload_mb / max(result.uploads_wall_s, 1e-9), 1)
    result.sha256sum_mib_s = round(sha_rate, 1)
    result.ratio = round(result.aggregate_mib_s / sha_rate, 2)
    reads_during, reads_all = [], []
    by_operation: dict[str, list[float]] = {}
    for operation, started, latency, error in records:
        result.requests[operation] = result.requests.get(operation, 0) + 1
        if error is not None:
            result.errors[operation] = result.errors.get(operation, 0) + 1
            result.timeouts += error.startswith("timeout")
            if len(result.first_errors) < 5:
                result.first_errors.append(error)
            continue
        during = uploads_started <= started <= uploads_ended
        if during:
            by_operation.setdefault(operation, []).append(latency * 1000)
        if operation == "small_upload":
            continue
        reads_all.append(latency * 1000)
        if during:
            reads_during.append(latency * 1000)
    result.reads_during_uploads = len(reads_during)
    result.read_p50_ms_during_uploads = round(statistics.median(reads_during), 1) if reads_during else 0.0
    result.read_p99_ms_during_uploads = round(percentile(reads_during, 0.99), 1)
    result.read_p99_ms_overall = round(percentile(reads_all, 0.99), 1)
    result.p99_ms_by_operation_during_uploads = {op: round(percentile(v, 0.99), 1) for op, v in by_operation.items()}
    result.server_rss_peak_mib = round(sampler.peak / MIB, 1)
    result.server_with_children_rss_peak_mib = round(sampler.peak_with_children / MIB, 1)
    return result


def print_result(result: Result) -> None:
    print(
        f"\n== {result.archive}: {result.uploads} x {result.upload_mib} MiB uploads, {result.clients} clients, "
        f"{result.seconds:g} s"
    )
    print(f"uploads ok            {result.uploads_ok}/{result.uploads}  {'; '.join(result.upload_errors[:3])}")
    print(
        f"uploads wall          {result.uploads_wall_s} s, aggregate {result.aggregate_mib_s} MiB/s "
        f"= {result.ratio} x sha256sum ({result.sha256sum_mib_s} MiB/s)"
    )
    print(f"requests              {sum(result.requests.values())} {result.requests}")
    print(f"errors / timeouts     {sum(result.errors.values())} {result.errors} / {result.timeouts}")
    for error in result.first_errors:
        print(f"    {error}")
    print(
        f"reads during uploads  {result.reads_during_uploads}: p50 {result.read_p50_ms_during_uploads} ms, "
        f"p99 {result.read_p99_ms_during_uploads} ms (p99 over the whole run {result.read_p99_ms_overall} ms)"
    )
    print(f"p99 by operation      {result.p99_ms_by_operation_during_uploads} (during the uploads)")
    print(
        f"server RSS peak       {result.server_rss_peak_mib} MiB "
        f"(with children {result.server_with_children_rss_peak_mib} MiB)"
    )
    print(f"server CPU            {result.server_cpu_s} s; load average at the end {result.load_average}")
    print(f"goals                 {'met' if result.goals_met() else 'NOT met'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archives", default="embedded,scaled")
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--upload-mb", type=int, default=100)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--json", action="store_true", help="Print the results as JSON too.")
    args = parser.parse_args(argv)
    archives = [name.strip() for name in args.archives.split(",") if name.strip()]
    if not set(archives) <= {"embedded", "scaled"} or not 1 <= args.uploads <= 100 or not 1 <= args.clients <= 200:
        parser.error("archives: embedded,scaled; at most 100 uploads and 200 clients")
    if args.seconds > 600 or args.upload_mb > 4096:
        parser.error("at most 600 s and 4096 MiB per upload: the benchmark stays bounded")
    base = os.urandom(MIB)
    results = []
    with tempfile.TemporaryDirectory(prefix="verity-load-") as temporary:
        folder = Path(temporary)
        sha_rate = sha256sum_rate(folder, args.upload_mb * MIB, base)
        for archive in archives:
            archive_folder = folder / archive
            archive_folder.mkdir()
            result = run_archive(archive, args, archive_folder, base, sha_rate)
            shutil.rmtree(archive_folder, ignore_errors=True)
            print_result(result)
            results.append(result)
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    return 0 if all(r.goals_met() for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
