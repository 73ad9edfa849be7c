"""`verity incident|case|clip|link|unlink|review`: the evidence work of an investigator, through a
Verity server's API (so roles, ETags and custody events apply exactly as over HTTP)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import httpx
import typer
from rich.markup import escape

from api.cli_output import NO_KEY, console, fail, print_table, refusal

ServerOption = Annotated[str, typer.Option(envvar="VERITY_SERVER", help="Verity server URL.")]
KeyOption = Annotated[str, typer.Option(envvar="VERITY_API_KEY", help="API key.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's page as JSON instead of a table.")]
DEFAULT_SERVER = "http://127.0.0.1:8000"

incident_app = typer.Typer(help="Incidents, through a Verity server.", no_args_is_help=True)
case_app = typer.Typer(help="Cases (groups of incidents), through a Verity server.", no_args_is_help=True)
clip_app = typer.Typer(help="Find and inspect clips, through a Verity server.", no_args_is_help=True)


def request(
    method: str, server: str, key: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any
) -> httpx.Response:
    """One API call; any error answer ends the command with the server's reason."""
    if not key:
        raise fail(NO_KEY)
    headers = {"Authorization": f"Bearer {key}", **(headers or {})}
    try:
        response = httpx.request(method, server.rstrip("/") + path, headers=headers, timeout=60, **kwargs)
    except httpx.TransportError as exc:
        raise fail(f"cannot reach {server}: {exc}") from None
    if response.status_code >= 400:
        raise fail(refusal(response))
    return response


def call(method: str, server: str, key: str, path: str, **kwargs: Any) -> Any:
    return request(method, server, key, path, **kwargs).json()


def _params(**values: Any) -> dict[str, Any]:
    """Query parameters that were given, with times in ISO 8601."""
    return {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in values.items()
        if value is not None
    }


def _print(text: str) -> None:
    """A line holding what people typed (titles, notes, tags): printed as it is, never as markup."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


@incident_app.command("create")
def incident_create(
    title: Annotated[str, typer.Option()],
    starts_at: Annotated[datetime, typer.Option(help="ISO 8601 with a zone.")],
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
    ends_at: Annotated[datetime | None, typer.Option()] = None,
    precision: Annotated[str, typer.Option(help="exact, hour, day or approximate.")] = "approximate",
    description: Annotated[str, typer.Option()] = "",
    place: Annotated[str | None, typer.Option(help="Place name.")] = None,
    lat: Annotated[float | None, typer.Option()] = None,
    lon: Annotated[float | None, typer.Option()] = None,
    radius_m: Annotated[float | None, typer.Option(help="Location uncertainty, metres.")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Repeat for several tags.")] = None,
) -> None:
    """Record an incident; prints its id."""
    body = {
        "title": title,
        "description": description,
        "starts_at": starts_at.isoformat(),
        "ends_at": ends_at.isoformat() if ends_at else None,
        "time_precision": precision,
        "place_name": place,
        "lat": lat,
        "lon": lon,
        "radius_m": radius_m,
        "tags": tag or [],
    }
    _print(call("POST", server, key, "/api/v1/incidents", json=body)["id"])


@incident_app.command("list")
def incident_list(
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
    text: Annotated[str | None, typer.Option("--text", help="Text in title or description.")] = None,
    tag: Annotated[str | None, typer.Option()] = None,
    time_from: Annotated[datetime | None, typer.Option("--from", help="Incidents overlapping from…")] = None,
    time_to: Annotated[datetime | None, typer.Option("--to", help="…to.")] = None,
    bbox: Annotated[str | None, typer.Option(help="min_lat,min_lon,max_lat,max_lon")] = None,
    limit: Annotated[int, typer.Option()] = 50,
    as_json: JsonOption = False,
) -> None:
    """Incidents, latest first."""
    params = _params(q=text, tag=tag, time_from=time_from, time_to=time_to, bbox=bbox, limit=limit)
    page = call("GET", server, key, "/api/v1/incidents", params=params)
    if as_json:
        return _print_json(page)
    rows = [
        (item["id"], item["starts_at"], item["place_name"] or "", item["title"], ", ".join(item["tags"]))
        for item in page["items"]
    ]
    print_table(f"Incidents ({page['total']})", ("id", "starts at", "place", "title", "tags"), rows)


@incident_app.command("show")
def incident_show(incident_id: str, server: ServerOption = DEFAULT_SERVER, key: KeyOption = "") -> None:
    """One incident with the clip segments linked to it."""
    item = call("GET", server, key, f"/api/v1/incidents/{incident_id}")
    links = call("GET", server, key, f"/api/v1/incidents/{incident_id}/clips")
    console.print(f"[bold]{escape(item['title'])}[/bold]  ({item['id']}, version {item['version']})")
    _print(f"when: {item['starts_at']} – {item['ends_at'] or '…'} ({item['time_precision']})")
    where = item["place_name"] or ""
    if item["lat"] is not None:
        within = f" ± {item['radius_m']} m" if item["radius_m"] is not None else ", uncertainty not given"
        where += f" ({item['lat']}, {item['lon']}{within})"
    _print(f"where: {where or 'unknown'}")
    _print(f"tags: {', '.join(item['tags']) or '-'}")
    for link in links:
        _print(
            f"  link {link['id']} (version {link['version']}): clip {link['clip_id']}, {_segment(link)}"
            f"  {link['note'] or ''}"
        )


@incident_app.command("history")
def incident_history(
    incident_id: str, server: ServerOption = DEFAULT_SERVER, key: KeyOption = "", as_json: JsonOption = False
) -> None:
    """Every change to the incident (also once deleted); exits 1 if the history's chain does not verify."""
    _print_history("incidents", incident_id, server, key, as_json)


def _print_history(collection: str, record_id: str, server: str, key: str, as_json: bool) -> None:
    log = call("GET", server, key, f"/api/v1/{collection}/{record_id}/history")
    if as_json:
        _print_json(log)
    else:
        rows = [
            (str(entry["seq"]), entry["occurred_at"], entry["action"], entry["actor"], _change(entry["details"]))
            for entry in log["entries"]
        ]
        title = f"History of {log['kind']} {record_id}{' (deleted)' if log['deleted'] else ''}"
        print_table(title, ("seq", "when", "action", "actor", "what"), rows, whole=("seq", "when"))
    if not log["verified"]:
        raise fail(f"history chain DOES NOT VERIFY at entry {log['first_bad_seq']}: {log['reason']}")
    if not as_json:
        _print("history chain verifies")


def _change(details: dict[str, Any]) -> str:
    """An entry's details in a line: the record it kept, what changed, or the incident concerned."""
    if "record" in details:
        record = details["record"]
        return f"{json.dumps(record['title'], ensure_ascii=False)} (version {record['version']})"
    if "incident_id" in details:
        return f"incident {details['incident_id']}"
    before, after = details.get("before", {}), details.get("after", {})
    return "; ".join(
        f"{name}: {json.dumps(before.get(name), ensure_ascii=False)} → {json.dumps(value, ensure_ascii=False)}"
        for name, value in after.items()
    )


def _segment(link: dict[str, Any]) -> str:
    if link["start_s"] is None and link["end_s"] is None:
        return "whole clip"
    return f"{link['start_s'] or 0}–{link['end_s'] if link['end_s'] is not None else 'end'} s"


def link(
    clip_id: str,
    incident_id: str,
    start: Annotated[float | None, typer.Option("--from", help="Segment start, seconds.")] = None,
    end: Annotated[float | None, typer.Option("--to", help="Segment end, seconds.")] = None,
    note: Annotated[str | None, typer.Option()] = None,
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
) -> None:
    """Link a clip, or a segment of it, to an incident; prints the link id."""
    body = {"clip_id": clip_id, "start_s": start, "end_s": end, "note": note}
    _print(str(call("POST", server, key, f"/api/v1/incidents/{incident_id}/clips", json=body)["id"]))


def unlink(
    incident_id: str,
    link_id: int,
    if_match: Annotated[
        str, typer.Option(help="The link's version as you read it (`verity incident show` prints it).")
    ],
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
) -> None:
    """Remove a link (its history stays, and the clip's custody log records the removal)."""
    path = f"/api/v1/incidents/{incident_id}/clips/{link_id}"
    # The version the person read, never one fetched now: removing what nobody looked at is what
    # If-Match exists to prevent.
    removed = call("DELETE", server, key, path, headers={"If-Match": if_match})
    _print(f"unlinked clip {removed['clip_id']} from incident {incident_id}")


def review(
    clip_id: str,
    status: Annotated[str, typer.Argument(help="in_review, verified, disputed or rejected.")],
    rationale: Annotated[str, typer.Option(help="Why; kept with the change.")],
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
) -> None:
    """Move a clip through verification (analyst or admin key); prints the history."""
    body = {"status": status, "rationale": rationale}
    answer = call("POST", server, key, f"/api/v1/clips/{clip_id}/verification", json=body)
    _print(f"clip {clip_id} is now {answer['status']}")
    for change in answer["history"]:
        _print(
            f"  {change['changed_at']}  {change['from_status']} → {change['to_status']}"
            f"  by {change['reviewer']}: {change['rationale']}"
        )


@case_app.command("create")
def case_create(
    title: Annotated[str, typer.Option()],
    description: Annotated[str, typer.Option()] = "",
    incident: Annotated[list[str] | None, typer.Option(help="An incident to include; repeat for several.")] = None,
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
) -> None:
    """Open a case, optionally with incidents; prints its id."""
    _check_exist(server, key, None, incident or [])  # a typo leaves no half-made case behind
    created = call("POST", server, key, "/api/v1/cases", json={"title": title, "description": description})
    for incident_id in incident or []:
        call("PUT", server, key, f"/api/v1/cases/{created['id']}/incidents/{incident_id}")
    _print(created["id"])


@case_app.command("add")
def case_add(case_id: str, incident_ids: list[str], server: ServerOption = DEFAULT_SERVER, key: KeyOption = "") -> None:
    """Put incidents into a case (all or none of them: each is checked first)."""
    _check_exist(server, key, case_id, incident_ids)
    for incident_id in incident_ids:
        call("PUT", server, key, f"/api/v1/cases/{case_id}/incidents/{incident_id}")


def _check_exist(server: str, key: str, case_id: str | None, incident_ids: list[str]) -> None:
    """Stop before changing anything when the case or one of the incidents does not exist."""
    if case_id is not None:
        call("GET", server, key, f"/api/v1/cases/{case_id}")
    for incident_id in incident_ids:
        call("GET", server, key, f"/api/v1/incidents/{incident_id}")


@case_app.command("remove")
def case_remove(
    case_id: str, incident_ids: list[str], server: ServerOption = DEFAULT_SERVER, key: KeyOption = ""
) -> None:
    """Take incidents out of a case (the incidents themselves stay; all or none: each is checked first)."""
    _check_exist(server, key, case_id, incident_ids)
    for incident_id in incident_ids:
        call("DELETE", server, key, f"/api/v1/cases/{case_id}/incidents/{incident_id}")


@case_app.command("list")
def case_list(
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
    status: Annotated[str | None, typer.Option(help="open or closed.")] = None,
    text: Annotated[str | None, typer.Option("--text", help="Text in title or description.")] = None,
    limit: int = 50,
    as_json: JsonOption = False,
) -> None:
    """Cases, newest first."""
    page = call("GET", server, key, "/api/v1/cases", params=_params(status=status, q=text, limit=limit))
    if as_json:
        return _print_json(page)
    rows = [(item["id"], item["status"], str(len(item["incident_ids"])), item["title"]) for item in page["items"]]
    print_table(f"Cases ({page['total']})", ("id", "status", "incidents", "title"), rows)


@case_app.command("show")
def case_show(case_id: str, server: ServerOption = DEFAULT_SERVER, key: KeyOption = "") -> None:
    """A case with its incidents and the clips linked to them."""
    case = call("GET", server, key, f"/api/v1/cases/{case_id}")
    console.print(f"[bold]{escape(case['title'])}[/bold]  ({case['id']}, {case['status']}, version {case['version']})")
    if case["description"]:
        _print(case["description"])
    for incident_id in case["incident_ids"]:
        incident = call("GET", server, key, f"/api/v1/incidents/{incident_id}")
        links = call("GET", server, key, f"/api/v1/incidents/{incident_id}/clips")
        _print(f"incident {incident_id}: {incident['title']} ({incident['starts_at']}), {len(links)} clip link(s)")
        for item in links:
            _print(f"  clip {item['clip_id']}, {_segment(item)}")


@case_app.command("history")
def case_history(
    case_id: str, server: ServerOption = DEFAULT_SERVER, key: KeyOption = "", as_json: JsonOption = False
) -> None:
    """Every change to the case (also once deleted); exits 1 if the history's chain does not verify."""
    _print_history("cases", case_id, server, key, as_json)


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
    limit: Annotated[int, typer.Option()] = 50,
    as_json: JsonOption = False,
) -> None:
    """Clips matching every filter given, newest first."""
    params = _params(
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
        limit=limit,
    )
    page = call("GET", server, key, "/api/v1/clips", params=params)
    if as_json:
        return _print_json(page)
    rows = []
    for item in page["items"]:
        media = item["media"] or {}
        where = media.get("location") or {}
        place = f"{where['lat']:.4f}, {where['lon']:.4f}" if where else ""
        when = item.get("recorded") or {}
        recorded = f"{when['at']}{'' if when['zone_known'] else ' (zone unknown)'}" if when else ""
        rows.append((item["id"], item["filename"], item["status"], item["verification_status"], recorded, place))
    columns = ("id", "file", "status", "verification", "recorded", "place")
    print_table(f"Clips ({page['total']})", columns, rows)


@clip_app.command("show")
def clip_show(clip_id: str, server: ServerOption = DEFAULT_SERVER, key: KeyOption = "") -> None:
    """A clip: what it is, who handed it in, what it documents and where it stands in review."""
    clip = call("GET", server, key, f"/api/v1/clips/{clip_id}")
    console.print(f"[bold]{escape(clip['filename'])}[/bold]  ({clip['id']})")
    _print(f"sha256 {clip['sha256']}, {clip['size_bytes']} bytes, {clip['status']}, {clip['verification_status']}")
    if clip.get("integrity"):
        _print(f"integrity: {'; '.join(clip['integrity']['warnings']) or 'decodes as far as it declares'}")
    for acquisition in clip["acquisitions"]:
        _print(
            f"  received {acquisition['received_at']} by {acquisition['received_by']}"
            f" from {acquisition['source'] or 'unknown source'}"
        )
    for item in call("GET", server, key, f"/api/v1/clips/{clip_id}/incidents"):
        _print(f"  documents incident {item['incident_id']}: {_segment(item)}  {item['note'] or ''}")


@clip_app.command("custody")
def clip_custody(clip_id: str, server: ServerOption = DEFAULT_SERVER, key: KeyOption = "") -> None:
    """The clip's chain of custody, and whether its hash chain verifies."""
    log = call("GET", server, key, f"/api/v1/clips/{clip_id}/custody")
    rows = [
        (str(event["seq"]), event["occurred_at"], event["action"], event["actor"], event["hash"][:16])
        for event in log["events"]
    ]
    columns = ("seq", "when", "action", "actor", "hash")
    print_table(f"Custody of clip {clip_id}", columns, rows, whole=("seq", "when", "hash"))
    if log["verified"]:
        _print("custody chain verifies")
    else:
        raise fail(f"custody chain DOES NOT VERIFY at event {log['first_bad_seq']}: {log['reason']}")
