"""`verity case share|unshare|members`: who belongs to a case, in the local archive (the server's,
when VERITY_DATA_DIR or VERITY_DATABASE_URL name the same), as `verity users` and `verity keys
create` work. Each change is an entry in the case's history, made by the machine's user (a server's
case admins manage members over `PUT/DELETE /api/v1/cases/{id}/members/{person}` instead)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from api import cli_archive
from api.cli_output import fail, print_json, print_table, print_text
from api.cli_server import JsonOption
from verity.errors import VerityError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from api.schemas import MemberOut

T = TypeVar("T")


def _in_archive(doing: str | None, work: Callable[[Session], T]) -> T:
    """Run `work` in one transaction on the existing local archive (announced first if it writes)."""
    settings = cli_archive.load_settings()
    if doing is not None:
        cli_archive.announce(settings, doing)
    archive = cli_archive.open_existing(settings)
    try:
        with archive.sessions.begin() as session:
            return work(session)
    except VerityError as exc:
        raise fail(exc.detail) from None
    finally:
        archive.close()


def _grants(member: MemberOut) -> str:
    permissions = ", ".join(member.permissions) or "no download, export or sources"
    until = f"until {member.expires_at.isoformat()}" if member.expires_at else "with no end"
    return f"{member.role} ({permissions}), {until}"


def case_share(
    case_id: str,
    person: str,
    role: Annotated[str, typer.Option(help="Their role in the case: viewer, contributor, analyst or admin.")],
    permission: Annotated[
        list[str] | None,
        typer.Option("--permission", help="Also grant download, export or sources (repeat for more)."),
    ] = None,
    until: Annotated[datetime | None, typer.Option(help="When the membership ends, ISO 8601 with a time zone.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Make a person (`verity users create`) a member of a case, or change their membership: they
    then see the case, its incidents and their clips, and nothing else unless they hold more."""
    if until is not None and until.tzinfo is None:
        raise fail("--until needs a time zone, e.g. 2020-03-31T23:59:59+00:00")
    from api.schemas import MemberOut
    from storage.members import set_member

    actor = cli_archive.local_actor()
    member = _in_archive(
        "sharing the case in",
        lambda session: MemberOut.of(set_member(session, case_id, person, role, permission or (), until, actor)),
    )
    if as_json:
        return print_json(member.model_dump(mode="json"))
    print_text(f"{member.person!r} is now a member of case {case_id}: {_grants(member)}")


def case_unshare(case_id: str, person: str) -> None:
    """End a person's membership of a case at once: their keys see the case no more from their next request."""
    from storage.members import remove_member

    actor = cli_archive.local_actor()
    _in_archive("unsharing the case in", lambda session: remove_member(session, case_id, person, actor))
    print_text(f"{person!r} is no longer a member of case {case_id}")


def case_members(case_id: str, as_json: JsonOption = False) -> None:
    """Who belongs to a case, with their roles, permissions and ends (ended memberships too)."""
    from api.schemas import MemberOut
    from storage.members import members_of

    members = _in_archive(None, lambda session: [MemberOut.of(member) for member in members_of(session, case_id)])
    if as_json:
        return print_json([member.model_dump(mode="json") for member in members])
    rows = [
        (
            member.person,
            member.role,
            ", ".join(member.permissions) or "-",
            member.expires_at.isoformat() if member.expires_at else "-",
            "yes" if member.live else "ended",
        )
        for member in members
    ]
    columns = ("person", "role", "permissions", "until", "live")
    print_table(f"members of case {case_id} ({len(rows)})", columns, rows, whole=("until",))
