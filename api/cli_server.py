"""How the evidence commands talk to a Verity server: the options every one takes, one API call
that ends the command with the server's reason on an error, and paging through a list."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

import httpx
import typer

from api.cli_output import NO_KEY, err_console, fail, refusal

ServerOption = Annotated[str, typer.Option(envvar="VERITY_SERVER", help="Verity server URL.")]
KeyOption = Annotated[str, typer.Option(envvar="VERITY_API_KEY", help="API key.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's answer as JSON instead.")]
LimitOption = Annotated[int, typer.Option(min=1, max=500, help="How many to show (the API gives at most 500 a page).")]
OffsetOption = Annotated[int, typer.Option(min=0, help="How many to skip: the next page starts at --offset + --limit.")]
AllOption = Annotated[bool, typer.Option("--all", help="Every match: follow the pages (of --limit each) to the end.")]
IfMatchOption = Annotated[
    str, typer.Option(help="The version you read (`show` prints it); refused if it changed since.")
]
DEFAULT_SERVER = "http://127.0.0.1:8000"


@functools.cache
def shared_client() -> httpx.Client:
    """The command's one client: its calls share one TLS context (a new client per call builds one
    each time, ~20 ms of CPU) and keep their connection open between them."""
    return httpx.Client(timeout=60)


def request(
    method: str, server: str, key: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any
) -> httpx.Response:
    """One API call; any error answer ends the command with the server's reason."""
    if not key:
        raise fail(NO_KEY)
    headers = {"Authorization": f"Bearer {key}", **(headers or {})}
    try:
        response = shared_client().request(method, server.rstrip("/") + path, headers=headers, **kwargs)
    except httpx.TransportError as exc:
        raise fail(f"cannot reach {server}: {exc}") from None
    if response.status_code >= 400:
        raise fail(refusal(response))
    return response


def call(method: str, server: str, key: str, path: str, **kwargs: Any) -> Any:
    return request(method, server, key, path, **kwargs).json()


def query_params(**values: Any) -> dict[str, Any]:
    """Query parameters that were given, with times in ISO 8601."""
    return {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in values.items()
        if value is not None
    }


def fetch_page(
    server: str, key: str, path: str, params: dict[str, Any], limit: int, offset: int, every: bool
) -> dict[str, Any]:
    """One page of a list, or with `every` all pages from `offset` on, as one page."""
    page: dict[str, Any] = call("GET", server, key, path, params={**params, "limit": limit, "offset": offset})
    if not every:
        return page
    items, seen = list(page["items"]), {item["id"] for item in page["items"]}
    position = offset + len(page["items"])
    while page["items"] and position < page["total"]:
        page = call("GET", server, key, path, params={**params, "limit": limit, "offset": position})
        position += len(page["items"])
        # Something added meanwhile shifts the pages (newest first): never show an item twice.
        items += [item for item in page["items"] if item["id"] not in seen]
        seen |= {item["id"] for item in page["items"]}
    return {"items": items, "total": page["total"], "limit": len(items), "offset": offset}


def say_if_partial(page: dict[str, Any]) -> None:
    """On stderr, when the page shown is not all there is: where it stands and how to see the rest."""
    shown, start = len(page["items"]), page["offset"]
    if start + shown < page["total"] and shown:
        err_console.print(
            f"showing {start + 1}–{start + shown} of {page['total']}; --offset {start + shown} for the next page,"
            " --all for every one",
            highlight=False,
            soft_wrap=True,
        )


@contextmanager
def streamed(server: str, key: str, path: str) -> Iterator[httpx.Response]:
    """A GET whose body is read as it arrives (an original may be larger than memory); an error
    answer ends the command with the server's reason."""
    if not key:
        raise fail(NO_KEY)
    headers = {"Authorization": f"Bearer {key}"}
    try:
        with shared_client().stream(
            "GET", server.rstrip("/") + path, headers=headers, timeout=httpx.Timeout(60, read=300)
        ) as response:
            if response.status_code >= 400:
                response.read()
                raise fail(refusal(response))
            yield response
    except httpx.TransportError as exc:
        raise fail(f"cannot reach {server} (or it stopped answering): {exc}") from None
