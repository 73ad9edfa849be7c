"""`verity keys create|list|revoke`: API keys, in the local archive (the server's, when
VERITY_DATA_DIR or VERITY_DATABASE_URL name the same) or, for list and revoke, through a server."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from api import cli_archive
from api.cli_output import console, fail, print_json, print_table, print_text
from api.cli_server import JsonOption, call
from api.schemas import KeyCreated, KeyOut
from storage.archive import open_archive
from storage.keys import create_key, list_keys, revoke_key
from verity.errors import VerityError
from verity.settings import Settings

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
    role: Annotated[str, typer.Option(help="viewer, contributor, analyst or admin.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the key as POST /api/v1/keys answers, its secret in `key`.")
    ] = False,
) -> None:
    """Create an API key in the local archive (the server's, when VERITY_DATA_DIR or VERITY_DATABASE_URL
    name the same); the key is printed alone on the last line and never again."""
    settings = Settings()
    cli_archive.announce(settings, "creating the key in")
    archive = open_archive(settings, upgrade=True)
    try:
        with archive.sessions.begin() as session:
            key, secret = create_key(session, name, role)
            created = KeyCreated.model_validate({**KeyOut.model_validate(key).model_dump(), "key": secret})
    except VerityError as exc:
        raise fail(exc.detail) from None
    finally:
        archive.close()
    if as_json:
        return print_json(created.model_dump(mode="json"))
    console.print(f"created key {created.name!r} with role {created.role}; it is shown only now:")
    print(secret)


@keys_app.command("list")
def keys_list(server: ServerOption = None, key: KeyOption = "", as_json: JsonOption = False) -> None:
    """Every key: its name, role, when it was made and when revoked (never a secret: only hashes are kept)."""
    if server is not None:
        listed = call("GET", server, key, "/api/v1/keys")
    else:
        archive = cli_archive.open_existing(Settings())
        try:
            with archive.sessions() as session:
                listed = [KeyOut.model_validate(row).model_dump(mode="json") for row in list_keys(session)]
        finally:
            archive.close()
    if as_json:
        return print_json(listed)
    rows = [(item["name"], item["role"], item["created_at"], item["revoked_at"] or "-") for item in listed]
    print_table(
        f"API keys ({len(rows)})", ("name", "role", "created", "revoked"), rows, whole=("name", "created", "revoked")
    )


@keys_app.command("revoke")
def keys_revoke(name: str, server: ServerOption = None, key: KeyOption = "", as_json: JsonOption = False) -> None:
    """Revoke a key: it is refused from its next request on. The last admin key cannot be revoked."""
    revoked: dict[str, Any]
    if server is not None:
        revoked = call("DELETE", server, key, f"/api/v1/keys/{name}")
    else:
        settings = Settings()
        cli_archive.announce(settings, "revoking the key in")
        archive = cli_archive.open_existing(settings)
        try:
            with archive.sessions.begin() as session:
                revoked = KeyOut.model_validate(revoke_key(session, name)).model_dump(mode="json")
        except VerityError as exc:
            raise fail(exc.detail) from None
        finally:
            archive.close()
    if as_json:
        return print_json(revoked)
    print_text(f"revoked key {revoked['name']!r} (role {revoked['role']}) at {revoked['revoked_at']}")
