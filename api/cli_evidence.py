"""`verity incident|case|link|unlink|review`: the evidence work of an investigator, through a
Verity server's API (so roles, ETags and custody events apply exactly as over HTTP)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.markup import escape

from api.cli_members import case_members, case_share, case_unshare
from api.cli_output import console, fail, print_json, print_table, print_text, segment
from api.cli_server import (
    DEFAULT_SERVER,
    AllOption,
    IfMatchOption,
    JsonOption,
    KeyOption,
    LimitOption,
    OffsetOption,
    ServerOption,
    call,
    fetch_page,
    query_params,
    say_if_partial,
)

incident_app = typer.Typer(help="Incidents, through a Verity server.", no_args_is_help=True)
case_app = typer.Typer(
    help="Cases (groups of incidents), through a Verity server; members in the local archive.", no_args_is_help=True
)


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
    case: Annotated[
        str | None,
        typer.Option(help="Put it into this case at once (needed if you contribute only to some cases)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Record an incident; prints its id."""
    body: dict[str, object] = {
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
    if case is not None:
        body["case_id"] = case
    created = call("POST", server, key, "/api/v1/incidents", json=body)
    print_json(created) if as_json else print_text(created["id"])


@incident_app.command("list")
def incident_list(
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
    text: Annotated[str | None, typer.Option("--text", help="Text in title or description.")] = None,
    tag: Annotated[str | None, typer.Option()] = None,
    time_from: Annotated[datetime | None, typer.Option("--from", help="Incidents overlapping from…")] = None,
    time_to: Annotated[datetime | None, typer.Option("--to", help="…to.")] = None,
    bbox: Annotated[str | None, typer.Option(help="min_lat,min_lon,max_lat,max_lon")] = None,
    limit: LimitOption = 50,
    offset: OffsetOption = 0,
    every: AllOption = False,
    as_json: JsonOption = False,
) -> None:
    """Incidents, latest first."""
    params = query_params(q=text, tag=tag, time_from=time_from, time_to=time_to, bbox=bbox)
    page = fetch_page(server, key, "/api/v1/incidents", params, limit, offset, every)
    if as_json:
        return print_json(page)
    rows = [
        (item["id"], item["starts_at"], item["place_name"] or "", item["title"], ", ".join(item["tags"]))
        for item in page["items"]
    ]
    print_table(f"Incidents ({page['total']})", ("id", "starts at", "place", "title", "tags"), rows)
    say_if_partial(page)


@incident_app.command("show")
def incident_show(
    incident_id: str, server: ServerOption = DEFAULT_SERVER, key: KeyOption = "", as_json: JsonOption = False
) -> None:
    """One incident with the clip segments linked to it (--json: the incident with its `links`)."""
    item = call("GET", server, key, f"/api/v1/incidents/{incident_id}")
    links = call("GET", server, key, f"/api/v1/incidents/{incident_id}/clips")
    if as_json:
        return print_json({**item, "links": links})
    console.print(f"[bold]{escape(item['title'])}[/bold]  ({item['id']}, version {item['version']})")
    print_text(f"when: {item['starts_at']} – {item['ends_at'] or '…'} ({item['time_precision']})")
    where = item["place_name"] or ""
    if item["lat"] is not None:
        within = f" ± {item['radius_m']} m" if item["radius_m"] is not None else ", uncertainty not given"
        where += f" ({item['lat']}, {item['lon']}{within})"
    print_text(f"where: {where or 'unknown'}")
    print_text(f"tags: {', '.join(item['tags']) or '-'}")
    for link in links:
        print_text(
            f"  link {link['id']} (version {link['version']}): clip {link['clip_id']}, {segment(link)}"
            f"  {link['note'] or ''}"
        )


# What `incident update --clear` can empty, and the fields each name stands for.
CLEARABLE: dict[str, dict[str, Any]] = {
    "ends-at": {"ends_at": None},
    "place": {"place_name": None},
    "location": {"lat": None, "lon": None, "radius_m": None},
    "radius": {"radius_m": None},
    "tags": {"tags": []},
}


@incident_app.command("update")
def incident_update(
    incident_id: str,
    if_match: IfMatchOption,
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
    title: Annotated[str | None, typer.Option()] = None,
    description: Annotated[str | None, typer.Option()] = None,
    starts_at: Annotated[datetime | None, typer.Option(help="ISO 8601 with a zone.")] = None,
    ends_at: Annotated[datetime | None, typer.Option(help="ISO 8601 with a zone.")] = None,
    precision: Annotated[str | None, typer.Option(help="exact, hour, day or approximate.")] = None,
    place: Annotated[str | None, typer.Option(help="Place name.")] = None,
    lat: Annotated[float | None, typer.Option()] = None,
    lon: Annotated[float | None, typer.Option()] = None,
    radius_m: Annotated[float | None, typer.Option(help="Location uncertainty, metres.")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="The new tags (replace the old); repeat for several.")] = None,
    clear: Annotated[
        list[str] | None, typer.Option(help=f"Empty a field: {', '.join(CLEARABLE)}; repeat for several.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Change the fields given (the rest stay as they are); prints the incident's new version."""
    given = {
        "title": title,
        "description": description,
        "starts_at": starts_at.isoformat() if starts_at else None,
        "ends_at": ends_at.isoformat() if ends_at else None,
        "time_precision": precision,
        "place_name": place,
        "lat": lat,
        "lon": lon,
        "radius_m": radius_m,
        "tags": tag,
    }
    changes: dict[str, Any] = {name: value for name, value in given.items() if value is not None}
    for name in clear or []:
        if name not in CLEARABLE:
            raise fail(f"--clear takes {', '.join(CLEARABLE)}, not {name!r}")
        if both := sorted(set(CLEARABLE[name]) & set(changes)):
            raise fail(f"--clear {name} and a new value for {', '.join(both)}: give one or the other")
        changes.update(CLEARABLE[name])
    if not changes:
        raise fail("nothing to change: give a new value (see --help) or --clear")
    path = f"/api/v1/incidents/{incident_id}"
    changed = call("PATCH", server, key, path, headers={"If-Match": if_match}, json=changes)
    if as_json:
        return print_json(changed)
    print_text(f"incident {incident_id} is now version {changed['version']}")


@incident_app.command("history")
def incident_history(
    incident_id: str, server: ServerOption = DEFAULT_SERVER, key: KeyOption = "", as_json: JsonOption = False
) -> None:
    """Every change to the incident (also once deleted); exits 1 if the history's chain does not verify."""
    _print_history("incidents", incident_id, server, key, as_json)


def _print_history(collection: str, record_id: str, server: str, key: str, as_json: bool) -> None:
    log = call("GET", server, key, f"/api/v1/{collection}/{record_id}/history")
    if as_json:
        print_json(log)
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
        print_text("history chain verifies")


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


def link(
    clip_id: str,
    incident_id: str,
    start: Annotated[float | None, typer.Option("--from", help="Segment start, seconds.")] = None,
    end: Annotated[float | None, typer.Option("--to", help="Segment end, seconds.")] = None,
    note: Annotated[str | None, typer.Option()] = None,
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
    as_json: JsonOption = False,
) -> None:
    """Link a clip, or a segment of it, to an incident; prints the link id."""
    body = {"clip_id": clip_id, "start_s": start, "end_s": end, "note": note}
    created = call("POST", server, key, f"/api/v1/incidents/{incident_id}/clips", json=body)
    print_json(created) if as_json else print_text(str(created["id"]))


def unlink(
    incident_id: str,
    link_id: int,
    if_match: Annotated[
        str, typer.Option(help="The link's version as you read it (`verity incident show` prints it).")
    ],
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
    as_json: JsonOption = False,
) -> None:
    """Remove a link (its history stays, and the clip's custody log records the removal)."""
    path = f"/api/v1/incidents/{incident_id}/clips/{link_id}"
    # The version the person read, never one fetched now: removing what nobody looked at is what
    # If-Match exists to prevent.
    removed = call("DELETE", server, key, path, headers={"If-Match": if_match})
    if as_json:
        return print_json(removed)
    print_text(f"unlinked clip {removed['clip_id']} from incident {incident_id}")


def review(
    clip_id: str,
    status: Annotated[str, typer.Argument(help="in_review, verified, disputed or rejected.")],
    rationale: Annotated[str, typer.Option(help="Why; kept with the change.")],
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
    as_json: JsonOption = False,
) -> None:
    """Move a clip through verification (analyst or admin key); prints the history."""
    body = {"status": status, "rationale": rationale}
    answer = call("POST", server, key, f"/api/v1/clips/{clip_id}/verification", json=body)
    if as_json:
        return print_json(answer)
    print_text(f"clip {clip_id} is now {answer['status']}")
    for change in answer["history"]:
        print_text(
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
    as_json: JsonOption = False,
) -> None:
    """Open a case, optionally with incidents; prints its id."""
    _check_exist(server, key, None, incident or [])  # a typo leaves no half-made case behind
    created = call("POST", server, key, "/api/v1/cases", json={"title": title, "description": description})
    for incident_id in incident or []:
        created = call("PUT", server, key, f"/api/v1/cases/{created['id']}/incidents/{incident_id}")
    print_json(created) if as_json else print_text(created["id"])


@case_app.command("add")
def case_add(
    case_id: str,
    incident_ids: list[str],
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
    as_json: JsonOption = False,
) -> None:
    """Put incidents into a case (all or none of them: each is checked first)."""
    _check_exist(server, key, case_id, incident_ids)
    for incident_id in incident_ids:
        case = call("PUT", server, key, f"/api/v1/cases/{case_id}/incidents/{incident_id}")
    if as_json:
        print_json(case)


def _check_exist(server: str, key: str, case_id: str | None, incident_ids: list[str]) -> None:
    """Stop before changing anything when the case or one of the incidents does not exist."""
    if case_id is not None:
        call("GET", server, key, f"/api/v1/cases/{case_id}")
    for incident_id in incident_ids:
        call("GET", server, key, f"/api/v1/incidents/{incident_id}")


@case_app.command("remove")
def case_remove(
    case_id: str,
    incident_ids: list[str],
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
    as_json: JsonOption = False,
) -> None:
    """Take incidents out of a case (the incidents themselves stay; all or none: each is checked first)."""
    _check_exist(server, key, case_id, incident_ids)
    for incident_id in incident_ids:
        case = call("DELETE", server, key, f"/api/v1/cases/{case_id}/incidents/{incident_id}")
    if as_json:
        print_json(case)


@case_app.command("list")
def case_list(
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
    status: Annotated[str | None, typer.Option(help="open or closed.")] = None,
    text: Annotated[str | None, typer.Option("--text", help="Text in title or description.")] = None,
    limit: LimitOption = 50,
    offset: OffsetOption = 0,
    every: AllOption = False,
    as_json: JsonOption = False,
) -> None:
    """Cases, newest first."""
    page = fetch_page(server, key, "/api/v1/cases", query_params(status=status, q=text), limit, offset, every)
    if as_json:
        return print_json(page)
    rows = [(item["id"], item["status"], str(len(item["incident_ids"])), item["title"]) for item in page["items"]]
    print_table(f"Cases ({page['total']})", ("id", "status", "incidents", "title"), rows)
    say_if_partial(page)


@case_app.command("show")
def case_show(
    case_id: str, server: ServerOption = DEFAULT_SERVER, key: KeyOption = "", as_json: JsonOption = False
) -> None:
    """A case with its incidents and the clips linked to them (--json: the case as the API gives it)."""
    case = call("GET", server, key, f"/api/v1/cases/{case_id}")
    if as_json:
        return print_json(case)
    console.print(f"[bold]{escape(case['title'])}[/bold]  ({case['id']}, {case['status']}, version {case['version']})")
    if case["description"]:
        print_text(case["description"])
    for incident_id in case["incident_ids"]:
        incident = call("GET", server, key, f"/api/v1/incidents/{incident_id}")
        links = call("GET", server, key, f"/api/v1/incidents/{incident_id}/clips")
        print_text(f"incident {incident_id}: {incident['title']} ({incident['starts_at']}), {len(links)} clip link(s)")
        for item in links:
            print_text(f"  clip {item['clip_id']}, {segment(item)}")


def _set_case_status(case_id: str, status: str, if_match: str, server: str, key: str, as_json: bool) -> None:
    path = f"/api/v1/cases/{case_id}"
    case = call("PATCH", server, key, path, headers={"If-Match": if_match}, json={"status": status})
    if as_json:
        return print_json(case)
    print_text(f"case {case_id} is {case['status']} (version {case['version']})")


@case_app.command("close")
def case_close(
    case_id: str,
    if_match: IfMatchOption,
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
    as_json: JsonOption = False,
) -> None:
    """Close a case: it keeps its incidents as they are (none added or removed) until reopened."""
    _set_case_status(case_id, "closed", if_match, server, key, as_json)


@case_app.command("reopen")
def case_reopen(
    case_id: str,
    if_match: IfMatchOption,
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = "",
    as_json: JsonOption = False,
) -> None:
    """Reopen a closed case, so incidents can be added or removed again."""
    _set_case_status(case_id, "open", if_match, server, key, as_json)


@case_app.command("history")
def case_history(
    case_id: str, server: ServerOption = DEFAULT_SERVER, key: KeyOption = "", as_json: JsonOption = False
) -> None:
    """Every change to the case (also once deleted); exits 1 if the history's chain does not verify."""
    _print_history("cases", case_id, server, key, as_json)


# Membership commands work on the local archive, as `verity users` does (api/cli_members.py).
case_app.command("share")(case_share)
case_app.command("unshare")(case_unshare)
case_app.command("members")(case_members)
