"""A search form sends every one of its fields, the blank ones as `name=`. On the workbench's
pages a blank field means "any", so it is dropped before the filters are parsed; the API itself
still refuses a blank where a value is due."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Receive, Scope, Send


class BlankFieldsDropped:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = scope.get("query_string", b"") if scope["type"] == "http" else b""
        if query and scope["method"] == "GET" and not scope["path"].startswith(("/api/", "/static/")):
            kept = [
                (name, value) for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True) if value
            ]
            scope = {**scope, "query_string": urlencode(kept).encode("latin-1")}
        await self.app(scope, receive, send)
