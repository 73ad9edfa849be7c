"""Where the `verity` commands print: results on stdout, problems on stderr."""

from __future__ import annotations

import httpx
import typer
from rich.console import Console
from rich.markup import escape

console = Console()
err_console = Console(stderr=True)


def fail(message: str) -> typer.Exit:
    """Print the reason (on one line, however long: it may be piped or searched) and return the
    exit to raise (status 1)."""
    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


NO_KEY = "no API key: give --key or set VERITY_API_KEY"


def refusal(response: httpx.Response) -> str:
    """An error answer as one sentence: the status and the server's `detail`."""
    try:
        detail = response.json().get("detail", response.text)
    except (ValueError, AttributeError):
        detail = response.text
    return f"server answered {response.status_code}: {detail}"
