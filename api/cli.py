"""`verity`: the command-line front door (serve, worker, db, keys, ingest, verify; the evidence
commands are in api/cli_evidence.py, timestamps in api/cli_timestamps.py).

The `verity` modules import SQLAlchemy, FastAPI, storage, ingest, the API's schemas and the
settings (`cli_archive.load_settings`) inside the commands that work on a local archive, not at
the top: a command through a server then starts in
a fraction of the time (each start paid ~1.7 s of imports; tests/test_cli_imports.py keeps it so)."""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import mimetypes
import signal
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO

import httpx
import typer
from pydantic import ValidationError
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from api import cli_archive, cli_clips, cli_evidence, cli_export, cli_fixity, cli_keys, cli_timestamps, cli_users
from api.cli_output import NO_KEY, console, err_console, fail, print_json, refusal
from api.cli_server import call, shared_client
from api.tus_headers import OFFSET_OCTET_STREAM, TUS_VERSION, encode_metadata
from verity.errors import VerityError
from verity.memory import cap_malloc_arenas

if TYPE_CHECKING:
    from storage.archive import Archive
    from storage.owner import ArchiveOwner
    from verity.settings import Settings

app = typer.Typer(help="Verity: verified-video evidence archive.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(cli_keys.keys_app, name="keys")
app.add_typer(cli_users.users_app, name="users")
app.add_typer(cli_evidence.incident_app, name="incident")
app.add_typer(cli_evidence.case_app, name="case")
app.add_typer(cli_clips.clip_app, name="clip")
app.add_typer(cli_timestamps.timestamps_app, name="timestamps")
app.command(name="export")(cli_export.export)

CHUNK = 1024 * 1024
# Bytes per request of a resumable upload: what a dropped connection costs at most.
UPLOAD_CHUNK = 8 * 1024 * 1024


class RemoteRefused(VerityError):
    """The server answered an upload with an error."""


def _own(settings: Settings) -> ArchiveOwner | None:
    """Become the one process on an embedded archive, or stop, before touching it, naming the
    process that is (storage/owner.py). Held until this process ends."""
    from storage.owner import take_ownership

    try:
        return take_ownership(settings)
    except VerityError as exc:
        raise fail(exc.detail) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Upgrade the database and serve the API. On an archive without keys, run at a terminal, it
    shows a first admin key there (elsewhere it says how to make one: never into a log)."""
    import uvicorn

    from api.app import create_app
    from storage.archive import open_archive

    settings = cli_archive.load_settings()  # refuses the job queue on SQLite, among others, when it loads
    cap_malloc_arenas(settings.malloc_arenas)
    _owner = _own(settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    archive = open_archive(settings, upgrade=True)
    _first_admin_key(archive)
    console.print(f"Verity archive: {cli_archive.describe(settings)}", highlight=False, soft_wrap=True)
    proxies = (settings.forwarded_allow_ips or "").strip()
    uvicorn.run(
        create_app(archive=archive),
        host=host,
        port=port,
        log_level="info",
        # uvicorn would otherwise trust 127.0.0.1 (or $FORWARDED_ALLOW_IPS); Verity trusts whom its settings name.
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
    )


def _first_admin_key(archive: Archive) -> None:
    """On an archive without keys: at a terminal, make an admin key and show it there, only there
    (a log is read by more people, and kept longer, than a key should be); elsewhere, say how to
    make one."""
    from storage.keys import create_key, has_any_key

    with archive.sessions.begin() as session:
        if has_any_key(session):
            return
        if not sys.stdout.isatty():
            console.print(
                "no API keys exist: create the first admin key with `verity keys create --name admin --role admin` "
                "where this server's VERITY_* settings apply (it is shown once, on the terminal)",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
            return
        # The key is named after its person, so what it does is recorded as "admin", as before people.
        _key, secret = create_key(session, "admin", "admin")
    console.print(
        "No API keys existed; created person 'admin' and their key 'admin' (role admin). Keep it safe, it is "
        "shown once (give the person a password with `verity users reset-password admin` to sign in):"
    )
    console.print(secret, markup=False, highlight=False, soft_wrap=True)


@app.command()
def worker() -> None:
    """Analyse clips from the job queue (VERITY_JOB_RUNNER=procrastinate, PostgreSQL) until SIGTERM
    or Ctrl-C; a running job is finished first. Start as many as the machines allow."""
    from ingest.queue import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    settings = cli_archive.load_settings()
    cap_malloc_arenas(settings.malloc_arenas)
    _owner = _own(settings)
    try:
        run_worker(settings)
    except VerityError as exc:
        raise fail(exc.detail) from None


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations to the configured database."""
    from sqlalchemy.engine import make_url

    from storage.db import upgrade_database

    url = cli_archive.load_settings().resolved_database_url()
    upgrade_database(url)
    shown = make_url(url).render_as_string(hide_password=True)  # stdout ends up in logs
    console.print(f"database at {shown} is up to date", highlight=False, soft_wrap=True)


def _file_chunks(path: Path, advance: Any) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            advance(len(chunk))
            yield chunk


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True)],
    source: Annotated[str | None, typer.Option(help="Who or where the footage came from.")] = None,
    source_url: Annotated[str | None, typer.Option(help="Where it was published, if anywhere.")] = None,
    note: Annotated[str | None, typer.Option()] = None,
    captured_at: Annotated[
        datetime | None,
        typer.Option(
            help="When the uploader says it was recorded, ISO 8601 with a time zone (the file's own time is "
            "recorded_at, read from its metadata)."
        ),
    ] = None,
    case: Annotated[
        str | None,
        typer.Option(
            "--case",
            help="Hand the footage into this case (its members see it); needed with a key that sees only some cases.",
        ),
    ] = None,
    server: Annotated[
        str | None,
        typer.Option(envvar="VERITY_SERVER", help="Upload to this Verity server instead of the local archive."),
    ] = None,
    key: Annotated[str | None, typer.Option(envvar="VERITY_API_KEY", help="API key for --server.")] = None,
    retries: Annotated[
        int, typer.Option(min=1, help="Attempts in a row, with --server, before giving up on a failing connection.")
    ] = 8,
    chunk_bytes: Annotated[int, typer.Option(hidden=True, min=1, help="Bytes per upload request.")] = UPLOAD_CHUNK,
    read_timeout: Annotated[
        float, typer.Option(hidden=True, min=0.1, help="Seconds to wait for the server's answer.")
    ] = 60.0,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="Wait until the server has analysed each file, print its final status and reason, and exit 1 if "
            "any ended failed or unsupported (without --server the analysis is always waited for).",
        ),
    ] = False,
    wait_limit: Annotated[
        float, typer.Option("--wait-limit", min=1, help="With --wait: seconds to wait for all the analyses.")
    ] = 3600.0,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the clip as the API answers an upload (with `duplicate`; with --wait once analysed) "
            "instead: one FILE gives an object, several a list.",
        ),
    ] = False,
) -> None:
    """Put footage into the archive, printing each clip's id and SHA-256."""
    if captured_at is not None and captured_at.tzinfo is None:
        raise fail("--captured-at needs a time zone, e.g. 2019-11-16T14:15:00+03:30")
    if server is not None and not key:
        raise fail(NO_KEY)
    if server is not None:
        # A stop signal interrupts like Ctrl-C, so the unfinished upload is deleted on the way out.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    fields = {
        name: value
        for name, value in {
            "source": source,
            "source_url": source_url,
            "note": note,
            "captured_at": captured_at.isoformat() if captured_at else None,
            "case_id": case,
        }.items()
        if value is not None
    }
    failures = 0
    archived: list[tuple[Path, dict[str, Any]]] = []
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err_console,
    ) as progress:
        if server is None:
            from storage.archive import open_archive

            settings = cli_archive.load_settings()
            _owner = _own(settings)
            cli_archive.announce(settings, "archiving into")
            archive = open_archive(settings, upgrade=True)
            # The command says how each analysis ended itself (_ingest_local), with the file's name.
            logging.getLogger("verity.ingest").addFilter(lambda record: not hasattr(record, "analysis_ended"))
        for path in files:
            task = progress.add_task(path.name, total=path.stat().st_size)
            try:
                if server is None:
                    clip = _ingest_local(archive, path, fields, progress, task)
                else:
                    assert key is not None
                    clip = _ingest_remote(server, key, path, fields, progress, task, retries, chunk_bytes, read_timeout)
            except (VerityError, httpx.HTTPError, OSError) as exc:
                failures += 1
                detail = exc.detail if isinstance(exc, VerityError) else str(exc)
                progress.console.print(f"[red]{path}: {detail}[/red]")
                continue
            if not as_json:
                flag = f"  (duplicate: already archived, {clip['status']})" if clip["duplicate"] else ""
                console.print(f"{clip['id']}  {clip['sha256']}  {path}{flag}", highlight=False, soft_wrap=True)
            archived.append((path, clip))
            if wait and server is None and clip["status"] in UNANALYSED:
                failures += 1
        if server is None:
            archive.close()
    if wait and server is not None:
        assert key is not None
        failures += _await_analyses(server, key, archived, wait_limit)
    if as_json:
        clips = [clip for _path, clip in archived]
        if len(files) > 1:
            print_json(clips)
        elif clips:
            print_json(clips[0])
    if failures:
        raise typer.Exit(1)


# Where an analysis ends when the file could not be analysed; `--wait` exits 1 on it.
UNANALYSED = ("failed", "unsupported")


def _await_analyses(server: str, key: str, archived: list[tuple[Path, dict[str, Any]]], limit_s: float) -> int:
    """Wait until the server has analysed each clip, printing its final status and reason and
    updating its answer in `archived` to the clip as it then is; how many ended failed or
    unsupported (or were not done within `limit_s`)."""
    deadline = time.monotonic() + limit_s
    failures = 0
    for path, uploaded in archived:
        clip = cli_clips.analysed_clip(server, key, uploaded["id"], deadline)
        if clip is None:
            err_console.print(f"{path.name}: not analysed after {limit_s:.0f} s; still being analysed", highlight=False)
            uploaded.update(call("GET", server, key, f"/api/v1/clips/{uploaded['id']}"))
            failures += 1
            continue
        uploaded.update(clip)  # keeps what only the upload's answer says: `duplicate`, `upload_id`
        reason = f": {clip['status_reason']}" if clip["status_reason"] else ""
        err_console.print(f"{path.name}: {clip['status']}{reason}", markup=False, highlight=False, soft_wrap=True)
        failures += clip["status"] in UNANALYSED
    return failures


def _ingest_local(archive: Any, path: Path, fields: dict[str, str], progress: Progress, task: Any) -> dict[str, Any]:
    """Archive and analyse one file; the clip as POST /api/v1/clips answers it (with `duplicate`),
    once analysed."""
    from api.schemas import UploadOut
    from api.sources import clip_out
    from ingest.near_duplicates import NearDuplicateFinder
    from ingest.pipeline import run_ingest
    from ingest.timestamps import stamp_clip
    from ingest.upload import Receipt, receive_original
    from storage.access import EVERYTHING, hand_in
    from storage.clips import load_clip

    captured = fields.get("captured_at")
    if fields.get("case_id"):
        with archive.reads() as session:
            hand_in(session, EVERYTHING, fields["case_id"])  # the owner may, into a case that exists
    receipt = Receipt(
        received_by=f"local:{getpass.getuser()}",
        filename=path.name,
        content_type=mimetypes.guess_type(path.name)[0],
        source=fields.get("source"),
        source_url=fields.get("source_url"),
        captured_at=datetime.fromisoformat(captured) if captured else None,
        note=fields.get("note"),
        case_id=fields.get("case_id"),
    )
    result = receive_original(archive, _file_chunks(path, lambda n: progress.advance(task, n)), receipt)
    if not result.duplicate:
        # The embedded archive analyses in-process: do it now rather than at the next `serve`.
        stamped = stamp_clip(archive, result.clip.id)
        if stamped != "not configured":
            progress.console.print(f"{path.name}: timestamp {stamped}", highlight=False)
        outcome = run_ingest(archive, NearDuplicateFinder(archive.sessions), result.clip.id)
        reason = f": {outcome.reason}" if outcome.reason else ""
        progress.console.print(
            f"{path.name}: analysis of clip {result.clip.id} ended {outcome.status}{reason}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    with archive.sessions() as session:
        clip = clip_out(load_clip(session, result.clip.id), EVERYTHING).model_dump()
    return UploadOut.model_validate({**clip, "duplicate": result.duplicate}).model_dump(mode="json")


def _ingest_remote(
    server: str,
    key: str,
    path: Path,
    fields: dict[str, str],
    progress: Progress,
    task: Any,
    retries: int,
    chunk_bytes: int,
    read_timeout: float,
) -> dict[str, Any]:
    """Upload through /api/v1/uploads with tus: declare the file with its SHA-256, send it in
    chunks, and after a dropped connection or a server error ask where the upload stands and
    continue from there. The declared digest makes a second run continue the first one's upload
    (the server answers it for the same file declared the same way) and has the server refuse
    bytes that are not the file. The clip, with `duplicate` and `upload_id`."""
    size = path.stat().st_size
    sha256 = _file_sha256(path, progress, task)
    declaration = {"filename": path.name, "filetype": mimetypes.guess_type(path.name)[0], **fields, "sha256": sha256}
    headers = {"Authorization": f"Bearer {key}", "Tus-Resumable": TUS_VERSION}
    timeout = httpx.Timeout(read_timeout, write=None)
    with (
        httpx.Client(base_url=server.rstrip("/"), headers=headers, timeout=timeout) as client,
        path.open("rb") as handle,
    ):
        retry = _Retry(retries, path.name, progress)
        creation = {"Upload-Length": str(size), "Upload-Metadata": encode_metadata(declaration)}
        while True:
            try:
                response = client.post("/api/v1/uploads", headers=creation)
            except httpx.TransportError as exc:
                retry.after(str(exc) or type(exc).__name__)
                continue
            if response.status_code >= 500:
                retry.after(refusal(response))
                continue
            if response.status_code != 201:
                raise RemoteRefused(refusal(response))
            break
        location = response.headers["location"]
        offset = int(response.headers.get("upload-offset", "0"))
        if offset:
            progress.console.print(
                f"{path.name}: continuing the upload an earlier run began, from byte {offset}", highlight=False
            )
        try:
            return _send_file(client, handle, location, size, offset, chunk_bytes, retries, progress, task, path.name)
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (see ingest): the user gives the upload up
            _abandon(client, location, path.name, progress)
            raise


def _file_sha256(path: Path, progress: Progress, task: Any) -> str:
    """The file's SHA-256, read once before the upload (the bar shows the reading, then starts again)."""
    digest = hashlib.sha256()
    progress.update(task, description=f"{path.name} (hashing)")
    for chunk in _file_chunks(path, lambda n: progress.advance(task, n)):
        digest.update(chunk)
    progress.update(task, description=path.name, completed=0)
    return digest.hexdigest()


def _send_file(
    client: httpx.Client,
    handle: BinaryIO,
    location: str,
    size: int,
    start: int,
    chunk_bytes: int,
    retries: int,
    progress: Progress,
    task: Any,
    name: str,
) -> dict[str, Any]:
    """The chunks of an upload from byte `start` to the end, continuing from where the server
    stands after a failure; the clip the last one completed."""
    offset: int | None = start
    progress.update(task, completed=start)
    retry = _Retry(retries, name, progress)
    archiving = _ArchiveWait(name, progress)
    while True:
        try:
            if offset is None:
                offset = _upload_offset(client, location)
                progress.update(task, completed=offset)
                progress.console.print(f"{name}: resuming from byte {offset}", highlight=False)
            length = min(chunk_bytes, size - offset)
            response = client.patch(
                location,
                headers={
                    "Upload-Offset": str(offset),
                    "Content-Type": OFFSET_OCTET_STREAM,
                    "Content-Length": str(length),
                },
                content=_file_range(handle, offset, length, lambda n: progress.advance(task, n)),
            )
        except httpx.TransportError as exc:
            offset = None
            retry.after(str(exc) or type(exc).__name__)
            continue
        if response.status_code >= 500:
            offset = None
            retry.after(refusal(response))
            continue
        if response.status_code == 409 and "upload-offset" in response.headers:
            # Not where the server stands (or it is archiving the last byte): take its offset.
            offset = int(response.headers["upload-offset"])
            progress.update(task, completed=offset)
            if offset == size:
                archiving.wait()  # not a failure: archiving a large file takes a while
            continue
        if response.status_code != 204:
            raise RemoteRefused(refusal(response))
        if clip_id := response.headers.get("verity-clip-id"):
            return _archived_clip(client, clip_id, response.headers["verity-duplicate"] == "true", location)
        offset = int(response.headers["upload-offset"])
        progress.update(task, completed=offset)
        retry.succeeded()


def _archived_clip(client: httpx.Client, clip_id: str, duplicate: bool, location: str) -> dict[str, Any]:
    """The clip an upload became, as the JSON upload route answers its last chunk."""
    response = client.get(f"/api/v1/clips/{clip_id}")
    if response.status_code != 200:
        raise RemoteRefused(refusal(response))
    return {**response.json(), "duplicate": duplicate, "upload_id": location.rstrip("/").rsplit("/", 1)[1]}


def _abandon(client: httpx.Client, location: str, name: str, progress: Progress) -> None:
    """Delete an upload the user interrupted; one the server already has whole is archived anyway."""
    try:
        response = client.delete(location, timeout=10)
    except httpx.HTTPError:
        progress.console.print(
            f"{name}: interrupted; the server did not answer, so what was sent stays until it expires"
        )
        return
    if response.status_code == 204:
        progress.console.print(f"{name}: interrupted; what was sent is deleted", highlight=False)
    elif response.status_code == 409:
        progress.console.print(
            f"{name}: interrupted after the server had every byte: it archives the file as a clip all the "
            f"same (GET {location} gives its clip_id once done); running this again records a second "
            "acquisition of it",
            highlight=False,
            soft_wrap=True,
        )
    else:
        progress.console.print(f"{name}: interrupted, but {refusal(response)}", highlight=False)


class _ArchiveWait:
    """Waiting, without counting failures, while the server archives an upload whose last byte it
    has (its answer to the last chunk may come after the read timeout), up to a bound past the
    server's lease on the work (after which another request takes it over)."""

    LIMIT_S = 45 * 60
    POLL_S = 2.0

    def __init__(self, name: str, progress: Progress) -> None:
        self.name, self.progress = name, progress
        self.since: float | None = None

    def wait(self) -> None:
        if self.since is None:
            self.since = time.monotonic()
            self.progress.console.print(f"{self.name}: the server is archiving the upload; waiting", highlight=False)
        elif time.monotonic() - self.since > self.LIMIT_S:
            raise RemoteRefused(f"the server has been archiving the upload for over {self.LIMIT_S // 60} minutes")
        time.sleep(self.POLL_S)


class _Retry:
    """Failures in a row of one upload: waits longer after each, gives up after `attempts`."""

    def __init__(self, attempts: int, name: str, progress: Progress) -> None:
        self.attempts, self.name, self.progress = attempts, name, progress
        self.failures = 0

    def after(self, problem: str) -> None:
        self.failures += 1
        if self.failures >= self.attempts:
            raise RemoteRefused(f"gave up after {self.failures} attempts: {problem}")
        self.progress.console.print(f"{self.name}: {problem.rstrip('.')}; trying again", highlight=False)
        time.sleep(min(2 ** (self.failures - 1), 30))

    def succeeded(self) -> None:
        self.failures = 0


def _upload_offset(client: httpx.Client, location: str) -> int:
    """Where the upload stands (tus HEAD, which has no body to say why it fails)."""
    response = client.head(location)
    if response.status_code >= 500:
        raise httpx.TransportError(f"server answered {response.status_code}")
    if response.status_code in (404, 410):
        raise RemoteRefused(
            f"server answered {response.status_code}: the upload is gone (expired or deleted); run the command again"
        )
    if response.status_code != 200:
        raise RemoteRefused(f"server answered {response.status_code} when asked where the upload stands")
    return int(response.headers["upload-offset"])


def _file_range(handle: BinaryIO, offset: int, length: int, advance: Any) -> Iterator[bytes]:
    handle.seek(offset)
    while length > 0:
        data = handle.read(min(CHUNK, length))
        if not data:
            raise OSError(f"{handle.name} is shorter than when the upload began")
        length -= len(data)
        advance(len(data))
        yield data


@app.command()
def verify(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON answer.")] = False,
    server: Annotated[
        str | None,
        typer.Option(envvar="VERITY_SERVER", help="Ask this Verity server instead of the local archive."),
    ] = None,
    key: Annotated[str | None, typer.Option(envvar="VERITY_API_KEY", help="API key for --server.")] = None,
) -> None:
    """Is FILE archived, and which archived clips share its footage (with time offsets)?"""
    if server is None:
        answer = _verify_local(file)
    else:
        if not key:
            raise fail(NO_KEY)
        try:
            with file.open("rb") as handle:
                response = shared_client().post(
                    server.rstrip("/") + "/api/v1/verify",
                    headers={"Authorization": f"Bearer {key}"},
                    files={"file": (file.name, handle, "application/octet-stream")},
                    timeout=httpx.Timeout(600.0),
                )
        except httpx.TransportError as exc:
            raise fail(f"cannot reach {server}: {exc}") from None
        if response.status_code != 200:
            raise fail(refusal(response))
        answer = response.json()
    if as_json:
        print(json.dumps(answer, indent=2))
        return
    _print_verification(file, answer)


def _verify_local(file: Path) -> dict[str, Any]:
    from api.routes.verify import verification_answer
    from ingest.near_duplicates import NearDuplicateFinder
    from ingest.verify import discard_query, spool_query, verify_file
    from storage.access import EVERYTHING

    settings = cli_archive.load_settings()
    archive = cli_archive.open_existing(settings)
    try:
        with file.open("rb") as handle:
            query = spool_query(
                iter(lambda: handle.read(CHUNK), b""),
                settings.resolved_work_dir(),
                filename=file.name,
                max_bytes=settings.max_upload_bytes,
            )
        try:
            result = verify_file(archive, NearDuplicateFinder(archive.sessions), query, f"local:{getpass.getuser()}")
        finally:
            discard_query(query)
        with archive.sessions() as session:
            answer = verification_answer(session, result, scope=EVERYTHING, reveals_restricted=False)
            return answer.model_dump(mode="json")
    finally:
        archive.close()


def _print_verification(file: Path, answer: dict[str, Any]) -> None:
    console.print(f"[bold]{file}[/bold]  sha256 {answer['sha256']}", highlight=False)
    exact = answer.get("exact_match")
    if exact:
        clip, first = exact["clip"], exact["first_acquisition"]
        chain = "verifies" if exact["custody_verified"] else "[red]DOES NOT VERIFY[/red]"
        console.print(
            f"Exact match: clip {clip['id']} ({clip['filename']}), archived {clip['created_at']},"
            f" review status {clip['verification_status']}",
            highlight=False,
            soft_wrap=True,
        )
        console.print(
            f"  first received {first['received_at']} by {first['received_by']}"
            f" from {first['source'] or 'unknown source'}; {len(exact['acquisitions'])} acquisition(s);"
            f" custody chain {chain}",
            highlight=False,
        )
    else:
        console.print("Exact match: none (these bytes are not in the archive)")
    if answer.get("not_analysed"):
        console.print(f"Footage not compared: {answer['not_analysed']}", highlight=False)
    near = answer.get("near_duplicates") or []
    if not near:
        console.print("Near-duplicates: none")
        return
    cli_clips.print_near_duplicates("Near-duplicates (best first)", near, "query → clip")


# The evidence commands talk to a server; they live in api/cli_evidence.py.
for command in (cli_evidence.link, cli_evidence.unlink, cli_evidence.review):
    app.command()(command)
app.command()(cli_fixity.fixity)


def main() -> None:
    """The `verity` command: the app, with settings that do not load reported as what to change
    (exit 1) rather than as a traceback."""
    try:
        app()
    except ValidationError as exc:
        if exc.title != "Settings":  # the model verity.settings loads; any other is a bug
            raise
        from verity.settings import describe_settings_error

        err_console.print(
            f"error: the settings do not fit: {describe_settings_error(exc)}",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
