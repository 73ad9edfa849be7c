"""Where the `verity` commands print: results on stdout, problems on stderr."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

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


# The least a folding column may be given before a table is printed as records instead.
MIN_FOLDED_WIDTH = 8


def _print_records(title: str, columns: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    console.print(title, markup=False, highlight=False)
    label = max(len(column) for column in columns)
    for row in rows:
        console.print()
        for column, value in zip(columns, row, strict=True):
            console.print(f"  {column + ':':<{label + 1}} {value}", markup=False, highlight=False, soft_wrap=True)


def print_table(
    title: str, columns: tuple[str, ...], rows: Sequence[tuple[str, ...]], whole: tuple[str, ...] = ("id",)
) -> None:
    """Print a table whose `whole` columns (ids, hashes, times) are never cut: they get copied into
    the next command, and rich squeezes a table to 80 columns when stdout is not a terminal.
    Other text folds onto more lines instead of ending in "…". Where even that leaves too little
    room (the other columns would shrink to nothing), each row is printed as `column: value` lines."""
    widths = {
        index: max([len(column), *(len(row[index]) for row in rows)])
        for index, column in enumerate(columns)
        if column in whole
    }
    folded = len(columns) - len(widths)
    if sum(widths.values()) + MIN_FOLDED_WIDTH * folded + 3 * len(columns) + 1 > console.width:
        _print_records(title, columns, rows)
        return
    table = Table(title=Text(title))
    for index, column in enumerate(columns):
        if index in widths:
            table.add_column(column, no_wrap=True, min_width=widths[index])
        else:
            table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(Text(value) for value in row))  # what people typed, never markup
    console.print(table)


def print_text(text: str) -> None:
    """A line holding what people typed (titles, notes, tags): printed as it is, never as markup."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def segment(link: dict[str, Any]) -> str:
    if link["start_s"] is None and link["end_s"] is None:
        return "whole clip"
    return f"{link['start_s'] or 0}–{link['end_s'] if link['end_s'] is not None else 'end'} s"
