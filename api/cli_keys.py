"""`verity keys create|list|revoke`: API keys, in the local archive (the server's, when
VERITY_DATA_DIR or VERITY_DATABASE_URL name the same) or, for list and revoke, through a server."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from api import cli_archive
from api.cli_output import console, fail, print_json, print_table, print_text
from api.cli_server import JsonOption, call
from verity.errors import VerityError

keys_app = typer.Typer(help="API keys.", no_args_is_help=True)

ServerOption = Annotated[
    str | None,
    typer.Option(
        envvar="VERITY_SERVER", help="Ask this Verity server (with an admin key) instead of the local archive."
    ),
]
KeyOption = Annotated[str, typer.Option(envvar="VERITY_API_KEY", help="Admin API key for --server.")]


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="Who or what uses the key.")],
    role: Annotated[str, typer.Option(help="viewer, contributor, analyst, admin or none; at most the person's.")],
    person: Annotated[
        str | None,
        typer.Option(help="Whose key it is (`verity users create`); by default a person named after the key."),
    ] = None,
    case: Annotated[
        list[str] | None, typer.Option("--case", help="Narrow the key to this case id (repeat for more).")
    ] = None,
    expires: Annotated[
        datetime | None, typer.Option(help="When the key stops working, ISO 8601 with a time zone.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the key as POST /api/v1/keys answers, its secret in `key`.")
    ] = False,
) -> None:
    """Create an API key in the local archive (the server's, when VERITY_DATA_DIR or VERITY_DATABASE_URL
    name the same); the key is printed alone on the last line and never again."""
    if expires is not None and expires.tzinfo is None:
        raise fail("--expires needs a time zone, e.g. 2020-03-31T23:59:59+00:00")
    from api.schemas import KeyCreated, KeyOut
    from storage.archive import open_archive
    from storage.keys import create_key

    settings = cli_archive.load_settings()
    cli_archive.announce(settings, "creating the key in")
    archive = open_archive(settings, upgrade=True)
    try:
        with archive.sessions.begin() as session:
            key, secret = create_key(session, name, role, person=person, cases=case or (), expires_at=expires)
            created = KeyCreated(**KeyOut.of(key).model_dump(), key=secret)
    except VerityError as exc:
        raise fail(exc.detail) from None
    finally:
        archive.close()
    if as_json:
        return print_json(created.model_dump(mode="json"))
    console.print(
        f"created key {created.name!r} of {created.person!r} with role {created.role}; it is shown only now:",
        highlight=False,
        soft_wrap=True,
    )
    print(secret)


@keys_app.command("list")
def keys_list(server: ServerOption = None, key: KeyOption = "", as_json: JsonOption = False) -> None:
    """Every key: its name, role, when it was made and when revoked, its person, expiry and cases
    (never a secret: only hashes are kept)."""
    if server is not None:
        listed = call("GET", server, key, "/api/v1/keys")
    else:
        from api.schemas import KeyOut
        from storage.keys import list_keys

        archive = cli_archive.open_existing(cli_archive.load_settings())
        try:
            with archive.sessions() as session:
                listed = [KeyOut.of(row).model_dump(mode="json") for row in list_keys(session)]
        finally:
            archive.close()
    if as_json:
        return print_json(listed)
    rows = [
        (
            item["name"],
            item["role"],
            item["created_at"],
            item["revoked_at"] or "-",
            item["person"],
            item["expires_at"] or "-",
            " ".join(item["cases"]) or "-",
        )
        for item in listed
    ]
    print_table(
        f"API keys ({len(rows)})",
        ("name", "role", "created", "revoked", "person", "expires", "cases"),
        rows,
        whole=("name", "created", "revoked", "expires"),
    )


@keys_app.command("revoke")
def keys_revoke(name: str, server: ServerOption = None, key: KeyOption = "", as_json: JsonOption = False) -> None:
    """Revoke a key: it is refused from its next request on. The last admin key cannot be revoked."""
    revoked: dict[str, Any]
    if server is not None:
        revoked = call("DELETE", server, key, f"/api/v1/keys/{name}")
    else:
        from api.schemas import KeyOut
        from storage.keys import revoke_key

        settings = cli_archive.load_settings()
        cli_archive.announce(settings, "revoking the key in")
        archive = cli_archive.open_existing(settings)
        try:
            with archive.sessions.begin() as session:
                revoked = KeyOut.of(revoke_key(session, name)).model_dump(mode="json")
        except VerityError as exc:
            raise fail(exc.detail) from None
        finally:
            archive.close()
    if as_json:
        return print_json(revoked)
    print_text(f"revoked key {revoked['name']!r} (role {revoked['role']}) at {revoked['revoked_at']}")
