"""`verity clip`: find and read clips, their custody and their copies, and take the original and
the keyframes away, through a Verity server's API (every download is in the clip's custody log)."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.markup import escape

from api.cli_output import console, fail, print_json, print_table, print_text, segment
from api.cli_server import (
    DEFAULT_SERVER,
    AllOption,
    JsonOption,
    KeyOption,
    LimitOption,
    OffsetOption,
    ServerOption,
    call,
    fetch_page,
    query_params,
    request,
    say_if_partial,
    streamed,
)

CHUNK = 1024 * 1024
# A clip's status while it is waiting for, or in, analysis.
ANALYSING = ("queued", "processing")
POLL_S = 1.0

clip_app = typer.Typer(help="Find and inspect clips, through a Verity server.", no_args_is_help=True)


@clip_app.command("list")
def clip_list(
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
    bbox: Annotated[str | None, typer.Option(help="Recorded inside min_lat,min_lon,max_lat,max_lon.")] = None,
    recorded_from: Annotated[datetime | None, typer.Option(help="The file's own creation time, from.")] = None,
    recorded_to: Annotated[datetime | None, typer.Option()] = None,
    captured_from: Annotated[datetime | None, typer.Option(help="Capture time an uploader gave, from.")] = None,
    captured_to: Annotated[datetime | None, typer.Option()] = None,
    status: Annotated[str | None, typer.Option(help="queued, processing, ready, failed, unsupported.")] = None,
    verification: Annotated[str | None, typer.Option(help="unverified, in_review, verified, …")] = None,
    device: Annotated[str | None, typer.Option(help="Text in the device make.")] = None,
    source: Annotated[str | None, typer.Option(help="Text in an acquisition's source.")] = None,
    incident: Annotated[str | None, typer.Option(help="Linked to this incident.")] = None,
    case: Annotated[str | None, typer.Option(help="Linked to an incident of this case.")] = None,
    has_near_duplicates: Annotated[bool | None, typer.Option("--has-near-duplicates/--no-near-duplicates")] = None,
    limit: LimitOption = 50,
    offset: OffsetOption = 0,
    every: AllOption = False,
    as_json: JsonOption = False,
) -> None:
    """Clips matching every filter given, newest first."""
    params = query_params(
        bbox=bbox,
        recorded_from=recorded_from,
        recorded_to=recorded_to,
        captured_from=captured_from,
        captured_to=captured_to,
        status=status,
        verification_status=verification,
        device_make=device,
        source=source,
        incident_id=incident,
        case_id=case,
        has_near_duplicates=has_near_duplicates,
    )
    page = fetch_page(server, key, "/api/v1/clips", params, limit, offset, every)
    if as_json:
        return print_json(page)
    rows = []
    for item in page["items"]:
        media = item["media"] or {}
        where = media.get("location") or {}
        place = f"{where['lat']:.4f}, {where['lon']:.4f}" if where else ""
        recorded = _recorded(item.get("recorded")) or ""
        rows.append((item["id"], item["filename"], item["status"], item["verification_status"], recorded, place))
    columns = ("id", "file", "status", "verification", "recorded", "place")
    print_table(f"Clips ({page['total']})", columns, rows)
    say_if_partial(page)


@clip_app.command("show")
def clip_show(
    clip_id: str, server: ServerOption = DEFAULT_SERVER, key: KeyOption = "", as_json: JsonOption = False
) -> None:
    """A clip: what it is, when, where and on what it was recorded, who handed it in, what it
    documents and where it stands in analysis and review (--json: the clip with its `incident_links`)."""
    clip = call("GET", server, key, f"/api/v1/clips/{clip_id}")
    links = call("GET", server, key, f"/api/v1/clips/{clip_id}/incidents")
    if as_json:
        return print_json({**clip, "incident_links": links})
    console.print(f"[bold]{escape(clip['filename'])}[/bold]  ({clip['id']})")
    print_text(f"sha256 {clip['sha256']}, {clip['size_bytes']} bytes, {clip['status']}, {clip['verification_status']}")
    if clip["status_reason"]:
        print_text(f"{clip['status']}: {clip['status_reason']}")
    for line in _media_lines(clip["media"], clip["status"], clip.get("recorded")):
        print_text(line)
    if clip.get("integrity"):
        print_text(f"integrity: {'; '.join(clip['integrity']['warnings']) or 'decodes as far as it declares'}")
    credentials = clip.get("content_credentials") or {}
    if credentials.get("state") not in (None, "none", "not_read"):
        print_text(f"content credentials: {_credentials_line(credentials)}")
    print_text(f"timestamp: {_timestamp_line(clip.get('timestamp') or {})}")
    print_text(f"fixity: {_fixity_line(clip)}")
    for acquisition in clip["acquisitions"]:
        print_text(
            f"  received {acquisition['received_at']} by {acquisition['received_by']}"
            f" from {acquisition['source'] or 'unknown source'}"
        )
    for item in links:
        print_text(f"  documents incident {item['incident_id']}: {segment(item)}  {item['note'] or ''}")


def _timestamp_line(stamp: dict[str, Any]) -> str:
    """Where the trusted timestamp of the original stands, in a line."""
    state = stamp.get("state", "not configured")
    if state == "stamped":
        return f"stamped by {stamp['tsa']} at {stamp['time']}"
    if state == "pending":
        why = f" ({stamp['reason']})" if stamp.get("reason") else ""
        return f"pending, tried again at {stamp['next_attempt_at']}{why}"
    if state == "failed":
        return f"failed: {stamp.get('reason')}"
    return str(state)


def _fixity_line(clip: dict[str, Any]) -> str:
    """How the last fixity check of the original went, in a line."""
    status = clip.get("fixity", "unchecked")
    if status == "unchecked":
        return "not checked yet"
    checked = f" (checked {clip['fixity_checked_at']})" if clip.get("fixity_checked_at") else ""
    return ("ok" if status == "ok" else "FAILED: `verity fixity` says what differs") + checked


def _credentials_line(credentials: dict[str, Any]) -> str:
    """`invalid: Camera App/2.1, signed by Camera App signing: fails: assertion.bmffHash.mismatch (…)`."""
    signer = (credentials.get("signer") or {}).get("common_name")
    claim = ", ".join(
        part for part in (credentials.get("claim_generator"), f"signed by {signer}" if signer else None) if part
    )
    return ": ".join(part for part in (credentials["state"], claim, credentials.get("reason")) if part)


def _recorded(when: dict[str, Any] | None) -> str | None:
    """The file's own recording time, marked when the file gives no time zone."""
    if not when:
        return None
    return f"{when['at']}{'' if when['zone_known'] else ' (zone unknown)'}"


def _media_lines(media: dict[str, Any] | None, status: str, when: dict[str, Any] | None) -> list[str]:
    """What the file says of itself: length, picture, recording time, place and device."""
    if media is None:
        return ["media: not read yet" if status in ANALYSING else "media: none (the file could not be read as media)"]
    duration = f"{media['duration_s']:.1f} s" if media.get("duration_s") is not None else "unknown"
    video = media.get("video") or {}
    picture = f", {video['width']}×{video['height']} {video['codec']}" if video.get("width") else ""
    recorded = _recorded(when)
    where = media.get("location")
    place = f"{where['lat']:.4f}, {where['lon']:.4f}" if where else "not in the file"
    if where and where.get("alt") is not None:
        place += f" (altitude {where['alt']:.0f} m)"
    device = media.get("device") or {}
    made = " ".join(part for part in (device.get("make"), device.get("model")) if part) or "not in the file"
    if device.get("software"):
        made += f" (software {device['software']})"
    return [
        f"duration: {duration}{picture}",
        f"recorded: {recorded or 'not in the file'}",
        f"place: {place}",
        f"device: {made}",
    ]


@clip_app.command("custody")
def clip_custody(
    clip_id: str, server: ServerOption = DEFAULT_SERVER, key: KeyOption = "", as_json: JsonOption = False
) -> None:
    """The clip's chain of custody, and whether it verifies: its hashes, and every field it vouches
    for against what it recorded (exit 1 if not, naming the fields)."""
    log = call("GET", server, key, f"/api/v1/clips/{clip_id}/custody")
    if as_json:
        print_json(log)
    else:
        rows = [
            (str(event["seq"]), event["occurred_at"], event["action"], event["actor"], event["hash"])
            for event in log["events"]
        ]
        columns = ("seq", "when", "action", "actor", "hash")
        print_table(f"Custody of clip {clip_id}", columns, rows, whole=("seq", "when", "hash"))
    if not log["verified"]:
        where = f" at event {log['first_bad_seq']}" if log["first_bad_seq"] is not None else ""
        differing = [mismatch["field"] for mismatch in log.get("mismatches", [])]
        fields = f" (fields that differ from their custody: {', '.join(differing)})" if differing else ""
        raise fail(f"custody chain DOES NOT VERIFY{where}: {log['reason']}{fields}")
    if not as_json:
        print_text("custody chain verifies")


@clip_app.command("related")
def clip_related(
    clip_id: str, server: ServerOption = DEFAULT_SERVER, key: KeyOption = "", as_json: JsonOption = False
) -> None:
    """Archived copies of the clip's footage (excerpts, re-encodings, mirror images), best first,
    and which of them was archived first."""
    answer = call("GET", server, key, f"/api/v1/clips/{clip_id}/related")
    if as_json:
        return print_json(answer)
    first = answer["first_seen_clip_id"]
    print_text(f"first seen: clip {first}{' (this one)' if first == answer['clip_id'] else ''}")
    if answer["related"]:
        print_near_duplicates("Copies of its footage (best first)", answer["related"], "this clip → copy")
    else:
        print_text("no archived copies of this clip's footage")
    if answer.get("rejected"):
        print_text("rejected (never suggested again): " + ", ".join(item["clip_id"] for item in answer["rejected"]))


NoteOption = Annotated[str, typer.Option(help="Why; kept in both clips' custody.")]


def _decide(clip_id: str, other_id: str, decision: str, note: str, server: str, key: str, as_json: bool) -> None:
    path = f"/api/v1/clips/{clip_id}/related/{other_id}/decision"
    answer = call("PUT", server, key, path, json={"decision": decision, "note": note})
    if as_json:
        return print_json(answer)
    print_text(f"clip {clip_id} and clip {other_id}: {answer['decision']} by {answer['decided_by']}")


@clip_app.command("confirm")
def clip_confirm(
    clip_id: str,
    other_id: str,
    note: NoteOption,
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
    as_json: JsonOption = False,
) -> None:
    """Confirm a suggested copy (see `clip related`): the two are one family (analyst key)."""
    _decide(clip_id, other_id, "confirmed", note, server, key, as_json)


@clip_app.command("reject")
def clip_reject(
    clip_id: str,
    other_id: str,
    note: NoteOption,
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
    as_json: JsonOption = False,
) -> None:
    """Reject a suggested copy: the pair is never suggested again (analyst key)."""
    _decide(clip_id, other_id, "rejected", note, server, key, as_json)


@clip_app.command("family")
def clip_family(
    clip_id: str, server: ServerOption = DEFAULT_SERVER, key: KeyOption = "", as_json: JsonOption = False
) -> None:
    """The clip and its confirmed copies, transitively, first seen first."""
    answer = call("GET", server, key, f"/api/v1/clips/{clip_id}/family")
    if as_json:
        return print_json(answer)
    rows = [
        (
            item["clip_id"],
            item["filename"],
            str(item["first_seen_at"]),
            "yes" if item["first_seen"] else "",
            item["verification_status"],
        )
        for item in answer["clips"]
    ]
    columns = ("clip", "file", "first received", "first seen", "review")
    print_table(f"Family of clip {clip_id}", columns, rows, whole=("clip", "first received"))


def print_near_duplicates(title: str, items: list[dict[str, Any]], direction: str) -> None:
    """Matched clips as a table: score, seconds in common and where they sit in each, and an
    analyst's decision on each pair when any is decided."""
    decided = any(item.get("decision") for item in items)
    rows = []
    for item in items:
        segments = ", ".join(
            f"{s['query_start_s']:.1f}–{s['query_start_s'] + s['duration_s']:.1f} → "
            f"{s['clip_start_s']:.1f}–{s['clip_start_s'] + s['duration_s']:.1f}"
            for s in item["segments"]
        )
        rows.append(
            (
                item["clip_id"],
                item["filename"],
                f"{item['score']:.2f}",
                f"{item['matched_seconds']:.1f}",
                "yes" if item["mirrored"] else "no",
                " + ".join(item["signals"]),
                str(item["first_seen_at"]),
                item["verification_status"],
                segments,
                *([item.get("decision") or "suggested"] if decided else []),
            )
        )
    columns = (
        *("clip", "file", "score", "matched s", "mirrored", "found by", "first seen", "review"),
        f"segments ({direction}, s)",
    )
    print_table(title, (*columns, *(["decision"] if decided else [])), rows, whole=("clip", "first seen"))


OutputOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="File, or folder, to write to; nothing is overwritten.")
]


@clip_app.command("download")
def clip_download(
    clip_id: str,
    output: OutputOption = None,
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
    as_json: JsonOption = False,
) -> None:
    """Save the original bytes (default: under the clip's filename, in the current folder), kept only
    once their SHA-256 is the archived one; the download is recorded in the clip's custody log."""
    clip = call("GET", server, key, f"/api/v1/clips/{clip_id}")
    name = Path(clip["filename"]).name
    name = name if name not in ("", ".", "..") else clip_id
    target = output / name if output is not None and output.is_dir() else output or Path(name)
    if target.exists():
        raise fail(f"{target} already exists: give another --output (nothing is overwritten)")
    # Written beside the target and put in place only once checked, so no file of that name ever
    # holds bytes that are not the archived ones.
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
    digest, size = hashlib.sha256(), 0
    try:
        with streamed(server, key, f"/api/v1/clips/{clip_id}/original") as response, partial.open("xb") as handle:
            try:
                for chunk in response.iter_bytes(CHUNK):
                    digest.update(chunk)
                    handle.write(chunk)
                    size += len(chunk)
            except httpx.RemoteProtocolError:
                raise fail(
                    f"the download ended after {size} of {clip['size_bytes']} bytes: nothing was kept (the server "
                    "cuts a download off when the original's bytes are not the archived ones, and records a fixity "
                    "failure on the clip: `verity fixity` lists them)"
                ) from None
            handle.flush()
            os.fsync(handle.fileno())
        if digest.hexdigest() != clip["sha256"]:
            raise fail(
                f"the download's sha256 {digest.hexdigest()} does not match the archived sha256 {clip['sha256']}: "
                "nothing was kept (if this happens again, the archived original may be damaged: tell its administrator)"
            )
        os.link(partial, target)  # fails, rather than overwrites, if the name was taken meanwhile
    except FileExistsError:
        raise fail(f"{target} already exists: give another --output (nothing is overwritten)") from None
    finally:
        partial.unlink(missing_ok=True)
    if as_json:
        return print_json({"clip_id": clip_id, "file": str(target), "sha256": clip["sha256"], "size_bytes": size})
    print_text(f"{target}  sha256 {clip['sha256']} checked, {size} bytes")


@clip_app.command("keyframes")
def clip_keyframes(
    clip_id: str,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Folder for the JPEGs (default: CLIP_ID-keyframes here); nothing is overwritten."
        ),
    ] = None,
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
    as_json: JsonOption = False,
) -> None:
    """Save the clip's keyframes (upright JPEG thumbnails) into a folder, named by index and time."""
    listed = call("GET", server, key, f"/api/v1/clips/{clip_id}/keyframes")
    folder = output or Path(f"{clip_id}-keyframes")
    paths = [folder / f"keyframe-{item['index']:04d}-{item['time_s']:.3f}s.jpg" for item in listed]
    if taken := [path for path in paths if path.exists()]:
        raise fail(f"{taken[0]} already exists: give another --output (nothing is overwritten)")
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for item, path in zip(listed, paths, strict=True):
        image = request("GET", server, key, item["url"]).content
        if len(image) != item["size_bytes"]:
            raise fail(f"keyframe {item['index']} arrived with {len(image)} of its {item['size_bytes']} bytes")
        with path.open("xb") as handle:
            handle.write(image)
        saved.append({**item, "file": str(path)})
    if as_json:
        return print_json(saved)
    if not saved:
        print_text(f"clip {clip_id} has no keyframes (yet: `verity clip show` gives its status)")
        return
    rows = [(str(item["index"]), f"{item['time_s']:.3f}", item["reason"], item["file"]) for item in saved]
    print_table(f"Keyframes of clip {clip_id}", ("index", "time s", "reason", "file"), rows, whole=("index", "file"))


def analysed_clip(server: str, key: str, clip_id: str, deadline: float) -> dict[str, Any] | None:
    """The clip once its analysis has ended, or None if it has not by `deadline` (monotonic)."""
    while True:
        clip: dict[str, Any] = call("GET", server, key, f"/api/v1/clips/{clip_id}")
        if clip["status"] not in ANALYSING:
            return clip
        if time.monotonic() >= deadline:
            return None
        time.sleep(POLL_S)
