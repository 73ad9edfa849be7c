"""Where the `verity` commands print: results on stdout, problems on stderr."""

from __future__ import annotations

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def fail(message: str) -> typer.Exit:
    """Print the reason and return the exit to raise (status 1)."""
    err_console.print(f"[red]error:[/red] {message}")
    return typer.Exit(1)
