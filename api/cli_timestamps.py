"""`verity timestamps anchor|retry`: anchor the chain heads that moved now, or try pending stamps
again now, rather than waiting for the schedule; on the local archive (the server's, when
VERITY_DATA_DIR or VERITY_DATABASE_URL name the same) or, for anchor, through a server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from api import cli_archive
from api.cli_output import fail, print_json, print_text
from api.cli_server import JsonOption, call
from verity.errors import VerityError

if TYPE_CHECKING:
    from verity.settings import Settings

timestamps_app = typer.Typer(help="Trusted timestamps (RFC 3161) and anchors of chain heads.", no_args_is_help=True)

ServerOption = Annotated[
    str | None, typer.Option(envvar="VERITY_SERVER", help="Ask this Verity server (with an admin key) instead.")
]
KeyOption = Annotated[str, typer.Option(envvar="VERITY_API_KEY", help="Admin API key for --server.")]


def _configured(settings: Settings) -> None:
    if not settings.timestamps_configured:
        raise fail("no time-stamping authority is configured: set VERITY_TIMESTAMP_URLS and VERITY_TIMESTAMP_CA_FILE")


@timestamps_app.command("anchor")
def anchor(server: ServerOption = None, key: KeyOption = "", as_json: JsonOption = False) -> None:
    """Anchor now the heads of every chain that moved since its last anchor: one stamp over their Merkle root."""
    made: dict[str, Any] | None
    if server is not None:
        made = call("POST", server, key, "/api/v1/anchors")
    else:
        settings = cli_archive.load_settings()
        _configured(settings)
        from ingest.anchors import anchor_chains

        cli_archive.announce(settings, "anchoring the chains of")
        archive = cli_archive.open_existing(settings)
        try:
            result = anchor_chains(archive)
        except VerityError as exc:
            raise fail(exc.detail) from None
        finally:
            archive.close()
        made = None
        if result is not None:
            made = {
                "id": result.anchor_id,
                "root": result.root,
                "chain_count": result.chain_count,
                "tsa": result.tsa_url,
                "time": result.time.isoformat(),
            }
    if as_json:
        return print_json(made)
    if not made:
        return print_text("no chain moved since its last anchor: nothing to anchor")
    print_text(f"anchor {made['id']}: {made['chain_count']} chain heads under root {made['root']}")
    print_text(f"stamped by {made['tsa']} at {made['time']}")


@timestamps_app.command("retry")
def retry(
    force: Annotated[
        bool, typer.Option("--force", help="Also failed stamps, and pending ones before their time.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Try now the stamps of originals that are due (pending past their back-off, or never stamped)."""
    settings = cli_archive.load_settings()
    _configured(settings)
    from ingest.timestamps import retry_stamps

    cli_archive.announce(settings, "stamping the originals of")
    archive = cli_archive.open_existing(settings)
    try:
        outcome = retry_stamps(archive, force=force)
    finally:
        archive.close()
    if as_json:
        return print_json(outcome)
    if not outcome:
        return print_text("no stamp was due")
    print_text(", ".join(f"{count} {state}" for state, count in sorted(outcome.items())))
    if outcome.get("failed") or outcome.get("pending"):
        raise typer.Exit(1)
