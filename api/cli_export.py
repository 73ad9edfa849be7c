"""`verity export`: have a Verity server build an evidence export (a BagIt zip) of a case, an
incident or clips, follow its job, and save the zip, kept only once its SHA-256 is the server's."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli_output import err_console, fail, print_json, print_text
from api.cli_server import DEFAULT_SERVER, JsonOption, KeyOption, ServerOption, call, streamed

CHUNK = 1024 * 1024
POLL_S = 1.0


def export(
    output: Annotated[Path, typer.Option("--output", "-o", help="The zip to write; nothing is overwritten.")],
    case: Annotated[str | None, typer.Option(help="Export this case: its incidents and their clips.")] = None,
    incident: Annotated[str | None, typer.Option(help="Export this incident and its clips.")] = None,
    clip: Annotated[list[str] | None, typer.Option(help="Export this clip (repeat for more).")] = None,
    originals: Annotated[bool, typer.Option("--originals/--no-originals", help="Include the original files.")] = True,
    keyframes: Annotated[bool, typer.Option("--keyframes", help="Include every keyframe JPEG.")] = False,
    probe: Annotated[bool, typer.Option("--probe", help="Include ffprobe's raw JSON of each clip.")] = False,
    sources: Annotated[
        bool,
        typer.Option(
            "--sources", help="Include who handed each clip in and from where (needs the sources permission)."
        ),
    ] = False,
    wait_limit: Annotated[float, typer.Option(help="Give up waiting for the export after this many seconds.")] = 3600,
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
    as_json: JsonOption = False,
) -> None:
    """Export a case, an incident or clips as one BagIt zip with REPORT.html and verify.py (analyst or
    admin); every clip's custody log records the export."""
    scopes = {"case_id": case, "incident_id": incident, "clip_ids": clip or None}
    given = {name: value for name, value in scopes.items() if value}
    if len(given) != 1:
        raise fail("give exactly one of --case, --incident or --clip")
    if output.exists():
        raise fail(f"{output} already exists: give another --output (nothing is overwritten)")
    body = {
        **given,
        "include_originals": originals,
        "include_keyframes": keyframes,
        "include_probe": probe,
        "include_sources": sources,
    }
    asked: dict[str, Any] = call("POST", server, key, "/api/v1/exports", json=body)
    done = _wait(server, key, asked["id"], time.monotonic() + wait_limit)
    if done["status"] != "ready":
        raise fail(f"export {done['id']} failed: {done['status_reason']}")
    _save(server, key, done, output)
    if as_json:
        return print_json({**done, "file": str(output)})
    print_text(f"{output}  sha256 {done['sha256']} checked, {done['size_bytes']} bytes, {len(done['clip_ids'])} clips")


def _wait(server: str, key: str, export_id: str, deadline: float) -> dict[str, Any]:
    shown = ""
    while True:
        state: dict[str, Any] = call("GET", server, key, f"/api/v1/exports/{export_id}")
        if state["status"] in ("ready", "failed"):
            return state
        line = f"export {export_id}: {state['status']} {state['step'] or ''} {state['progress']:.0%}"
        if line != shown:
            err_console.print(line, highlight=False, soft_wrap=True)
            shown = line
        if time.monotonic() >= deadline:
            raise fail(f"export {export_id} is still {state['status']}; `verity export` gave up waiting")
        time.sleep(POLL_S)


def _save(server: str, key: str, done: dict[str, Any], output: Path) -> None:
    """Stream the zip beside `output`, and put it in place only once its SHA-256 is the server's."""
    partial = output.with_name(f".{output.name}.{uuid.uuid4().hex[:8]}.part")
    digest = hashlib.sha256()
    try:
        with streamed(server, key, done["download_url"]) as response, partial.open("xb") as handle:
            for chunk in response.iter_bytes(CHUNK):
                digest.update(chunk)
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        if digest.hexdigest() != done["sha256"]:
            raise fail(f"the download's sha256 {digest.hexdigest()} is not the export's {done['sha256']}: nothing kept")
        os.link(partial, output)  # fails, rather than overwrites, if the name was taken meanwhile
    except FileExistsError:
        raise fail(f"{output} already exists: give another --output (nothing is overwritten)") from None
    finally:
        partial.unlink(missing_ok=True)
