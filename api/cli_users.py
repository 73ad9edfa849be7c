"""`verity users create|list|disable|enable|reset-password|totp`: people's accounts, in the local
archive (the server's, when VERITY_DATA_DIR or VERITY_DATABASE_URL name the same), as
`verity keys create` makes keys. A password is read from a hidden prompt, or from standard input
with --password-stdin: never from the command line, which other users of the machine can read."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api import cli_archive
from api.cli_output import console, fail, print_json, print_table, print_text
from api.cli_server import JsonOption
from verity.errors import VerityError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from storage.models import Person

users_app = typer.Typer(help="People's accounts.", no_args_is_help=True)

PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read the password from the first line of standard input instead of a prompt."
    ),
]


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    if not sys.stdin.isatty():
        raise fail("no terminal to ask for the password on: give it on standard input with --password-stdin")
    password = getpass.getpass("password: ")
    if getpass.getpass("the same again: ") != password:
        raise fail("the two passwords differ; nothing was changed")
    return password


def _change(doing: str, change: Callable[[Session], Person], *, creates: bool = False) -> dict[str, Any]:
    """Run `change` in one transaction on the local archive and return the person as JSON."""
    from api.schemas import PersonOut
    from storage.archive import open_archive

    settings = cli_archive.load_settings()
    cli_archive.announce(settings, doing)
    archive = open_archive(settings, upgrade=True) if creates else cli_archive.open_existing(settings)
    try:
        with archive.sessions.begin() as session:
            return PersonOut.of(change(session)).model_dump(mode="json")
    except VerityError as exc:
        raise fail(exc.detail) from None
    finally:
        archive.close()


def _show_enrolment(uri: str) -> None:
    console.print(
        "TOTP enrolled; add this to an authenticator app now (it is shown only once):", highlight=False, soft_wrap=True
    )
    print(uri)


@users_app.command("create")
def users_create(
    name: str,
    role: Annotated[str, typer.Option(help="Archive-wide role: viewer, contributor, analyst, admin or none.")] = "none",
    password_stdin: PasswordStdin = False,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="No password: the person only uses keys made for them.")
    ] = False,
    totp: Annotated[
        bool, typer.Option("--totp", help="Enrol a TOTP second factor; its otpauth URI is printed once.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Create a person who signs in with a password (POST /api/v1/sessions) and owns keys."""
    from storage.people import create_person, enrol_totp

    password = None if no_password else _read_password(password_stdin)
    uri: list[str] = []

    def create(session: Session) -> Person:
        person = create_person(session, name, role, password)
        if totp:
            uri.append(enrol_totp(session, person.name)[1])
        return person

    created = _change("creating the person in", create, creates=True)
    if as_json:
        return print_json({**created, "totp_uri": uri[0] if uri else None})
    print_text(f"created {created['name']!r} with archive-wide role {created['role']}")
    if uri:
        _show_enrolment(uri[0])


@users_app.command("list")
def users_list(as_json: JsonOption = False) -> None:
    """Every person: name, archive-wide role, whether TOTP is on, when made and when disabled."""
    from api.schemas import PersonOut
    from storage.people import list_people

    archive = cli_archive.open_existing(cli_archive.load_settings())
    try:
        with archive.sessions() as session:
            listed = [PersonOut.of(person).model_dump(mode="json") for person in list_people(session)]
    finally:
        archive.close()
    if as_json:
        return print_json(listed)
    rows = [
        (item["name"], item["role"], "yes" if item["totp"] else "no", item["created_at"], item["disabled_at"] or "-")
        for item in listed
    ]
    print_table(
        f"people ({len(rows)})", ("name", "role", "totp", "created", "disabled"), rows, whole=("created", "disabled")
    )


@users_app.command("disable")
def users_disable(name: str, as_json: JsonOption = False) -> None:
    """Disable a person: each of their keys is refused from its next request on, and they cannot sign in."""
    from storage.people import set_disabled

    changed = _change("disabling the person in", lambda session: set_disabled(session, name, True))
    if as_json:
        return print_json(changed)
    print_text(f"disabled {changed['name']!r} at {changed['disabled_at']}")


@users_app.command("enable")
def users_enable(name: str, as_json: JsonOption = False) -> None:
    """Enable a disabled person again (their keys that are neither revoked nor expired work again)."""
    from storage.people import set_disabled

    changed = _change("enabling the person in", lambda session: set_disabled(session, name, False))
    if as_json:
        return print_json(changed)
    print_text(f"enabled {changed['name']!r}")


@users_app.command("reset-password")
def users_reset_password(name: str, password_stdin: PasswordStdin = False, as_json: JsonOption = False) -> None:
    """Give a person a new password (their keys are kept: revoke those with `verity keys revoke`)."""
    from storage.people import set_password

    password = _read_password(password_stdin)
    changed = _change("setting the password in", lambda session: set_password(session, name, password))
    if as_json:
        return print_json(changed)
    print_text(f"set a new password for {changed['name']!r}")


@users_app.command("totp")
def users_totp(
    name: str,
    remove: Annotated[bool, typer.Option("--remove", help="Remove the second factor instead.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Enrol a TOTP second factor (a new secret, replacing any; its otpauth URI printed once), or remove it."""
    from storage.people import enrol_totp, remove_totp

    uri: list[str] = []

    def enrol(session: Session) -> Person:
        person, link = enrol_totp(session, name)
        uri.append(link)
        return person

    if remove:
        changed = _change("removing TOTP in", lambda session: remove_totp(session, name))
    else:
        changed = _change("enrolling TOTP in", enrol)
    if as_json:
        return print_json({**changed, "totp_uri": uri[0] if uri else None})
    if remove:
        return print_text(f"removed TOTP from {changed['name']!r}")
    _show_enrolment(uri[0])
